"""The one door to splink's internals (internal).

splink 5's public surface (``Linker``, ``SettingsCreator``, ``block_on``, the comparison
libraries, ``splink.exploratory``, ``splink.blocking_analysis``) is imported where it is
used. Everything else linkage needs from splink, names under ``splink.internals`` and the
underscore attributes of a ``Linker`` or its settings, is reached through this module
only, so that a splink 5.x release that moves them breaks one file, and the test suite says
which function.

What linkage borrows, and why:

- ``ComparisonCreator``: the type of a comparison from splink's libraries (to tell one from
  a dict, and to rename its output column).
- ``EMTrainingException``: EM's "no pairs to learn from", which training skips past.
- the trained prior and the "not trained" messages of a linker's settings (the training log);
- a snapshot of a linker's model to restore after a failed training step (splink's EM
  narrows the linker's comparisons before it runs and puts them back only on success), the
  m and u of each level to read and set (fallbacks and clamping), and what an EM session
  estimated and whether it converged;
- the input columns each comparison reads (to choose EM passes and chart columns), also of
  a saved model's settings dict, which splink reads here (a damaged or hand-edited one is a
  :class:`~linkage.errors.ModelError`, not sqlglot's or splink's exception);
- a DuckDB table seen as a splink frame, and the linker's input tables (splink's own charts
  and blocking analysis over linkage's tables);
- splink's prediction SQL for a settings dict (the store scores one record with the very SQL
  ``link`` used, without a ``Linker``);
- splink's own prediction steps for a linker, with one projection added at the end
  (:func:`predict_scores`): the pairs' scores without the records' values beside them.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_vector_values import (
    compute_comparison_vector_values_from_id_pairs_sqls,
)
from splink.internals.exceptions import EMTrainingException
from splink.internals.expectation_maximisation import (
    _max_change_in_parameters_comparison_levels,
)
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.settings import Settings
from splink.internals.settings_creator import SettingsCreator
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

from linkage.errors import ModelError

__all__ = [
    "ComparisonCreator",
    "CTEPipeline",
    "EMOutcome",
    "EMTrainingException",
    "LevelProbabilities",
    "ComparisonWeights",
    "LevelWeights",
    "ScoringSettings",
    "comparison_input_columns",
    "comparison_weights",
    "em_outcome",
    "input_tables",
    "level_probabilities",
    "model_snapshot",
    "not_trained_messages",
    "predict_scores",
    "predicted_value_columns",
    "probability_two_random_records_match",
    "quiet",
    "quiet_splink",
    "register_table",
    "restore_model",
    "scoring_settings",
    "settings_input_columns",
    "set_level_probabilities",
    "set_probability_two_random_records_match",
    "table_as_splink_frame",
    "unique_id_and_source_columns",
]


@contextlib.contextmanager
def quiet_splink() -> Iterator[None]:
    """Hold back splink's log messages (EM progress, levels it could not train) unless the
    caller asked for them: what matters of them is in ``result.model.training_log_``, and
    ``logging.getLogger("linkage")`` reports each stage."""
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    if not splink_logger.isEnabledFor(logging.INFO):
        splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(level)


def quiet(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with splink's log chatter held back (see :func:`quiet_splink`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with quiet_splink():
            return func(*args, **kwargs)

    return wrapper


# -- a linker's settings -------------------------------------------------------------------


def probability_two_random_records_match(linker: Any) -> float:
    """The prior the linker holds now (after training steps that set it)."""
    return linker._settings_obj._probability_two_random_records_match


def not_trained_messages(linker: Any) -> list[str]:
    """splink's lines naming comparison levels whose m or u was never estimated."""
    return [line.strip() for line in linker._settings_obj._not_trained_messages() if line.strip()]


def comparison_input_columns(linker: Any) -> dict[str, set[str]]:
    """comparison output name -> the input columns its levels read."""
    out = {}
    for comparison in linker._settings_obj.comparisons:
        cols = {c.input_name for c in comparison._input_columns_used_by_case_statement}
        out[comparison.output_column_name] = cols
    return out


def settings_input_columns(
    settings_dict: dict[str, Any], *, where: str = "the model"
) -> dict[str, set[str]]:
    """comparison output name -> the input columns its levels read, from a settings dict
    (a saved model's) without a linker; splink parses every level's SQL to say.

    Raises:
        ModelError: splink cannot read the settings (a level whose SQL does not parse, a
            field of the wrong shape): names the comparison and level when one alone fails.
    """
    try:
        return _input_columns_of(settings_dict)
    except Exception as exc:  # splink and sqlglot raise many kinds: all mean "damaged"
        raise ModelError(
            f"{where} is damaged: splink cannot read its splink_settings"
            f"{_first_unreadable_level(settings_dict)} ({type(exc).__name__}: "
            f"{_first_line(exc)}). Restore the file from a copy, or retrain the model "
            "(linkage.link(records).model.save(path))"
        ) from exc


def _input_columns_of(settings_dict: dict[str, Any]) -> dict[str, set[str]]:
    # Blocking rules play no part in what a comparison reads (and name block_* keys).
    readable = {**copy.deepcopy(settings_dict), "blocking_rules_to_generate_predictions": []}
    settings = SettingsCreator.from_path_or_dict(readable).get_settings("duckdb")
    return {
        comparison.output_column_name: {
            column.input_name for column in comparison._input_columns_used_by_case_statement
        }
        for comparison in settings.comparisons
    }


def _first_unreadable_level(settings_dict: dict[str, Any]) -> str:
    """``" (comparison 'mobile', level 1 'Exact match ...')"`` for the first comparison
    splink cannot read on its own, and its first level whose SQL does not parse; ``""``
    when every comparison reads alone."""
    import sqlglot  # splink's own SQL parser (a dependency of splink), on this error path only

    comparisons = settings_dict.get("comparisons")
    if not isinstance(comparisons, list):
        return ""
    for comparison in comparisons:
        try:
            _input_columns_of({**settings_dict, "comparisons": [comparison]})
        except Exception:
            pass
        else:
            continue
        name = comparison.get("output_column_name") if isinstance(comparison, dict) else None
        levels = comparison.get("comparison_levels") if isinstance(comparison, dict) else None
        for position, level in enumerate(levels if isinstance(levels, list) else []):
            sql = level.get("sql_condition") if isinstance(level, dict) else None
            if not isinstance(sql, str) or sql.strip().upper() == "ELSE":
                continue
            try:
                sqlglot.parse_one(sql, read="duckdb")
            except Exception:
                label = level.get("label_for_charts", "")
                return f" (comparison {name!r}, level {position}" + (
                    f" {label!r})" if label else ")"
                )
        return f" (comparison {name!r})"
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def set_probability_two_random_records_match(linker: Any, value: float) -> None:
    """Set the prior the linker holds (a fallback, or a clamped estimate)."""
    linker._settings_obj._probability_two_random_records_match = value


def model_snapshot(linker: Any) -> Any:
    """A copy of the linker's model (comparisons with their parameters, and the prior).

    splink's EM narrows the linker's own comparisons to those the pass can estimate before
    it runs, and sets them back only when the pass succeeds: after a failed pass, restore
    this snapshot with :func:`restore_model`.
    """
    return copy.deepcopy(linker._settings_obj.core_model_settings)


def restore_model(linker: Any, snapshot: Any) -> None:
    """Put back a model taken by :func:`model_snapshot`."""
    linker._settings_obj.core_model_settings = copy.deepcopy(snapshot)


@dataclass(frozen=True)
class LevelProbabilities:
    """One non-null comparison level: its label, and its trained m and u (None when
    nothing set them, so splink would use its default)."""

    label: str
    m: float | None
    u: float | None


def level_probabilities(linker: Any) -> dict[str, list[LevelProbabilities]]:
    """comparison output name -> its non-null levels in order (the else level last)."""

    def trained(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) else None

    return {
        comparison.output_column_name: [
            LevelProbabilities(
                label=level.label_for_charts,
                m=trained(level._m_probability),
                u=trained(level._u_probability),
            )
            for level in comparison._comparison_levels_excluding_null
        ]
        for comparison in linker._settings_obj.comparisons
    }


def level_weights(linker: Any) -> dict[str, list[tuple[str, float | None, float | None, float]]]:
    """comparison output name -> ``(label, m, u, weight)`` of each non-null level in order,
    as splink scores a pair: its m and u (its own stand-ins for a level never observed),
    and the partial match weight ``log2(m / u)`` (``bf_<comparison>`` in bits)."""

    def weight(level: Any) -> float:
        try:
            value = level._log2_bayes_factor
        except (TypeError, ValueError, ZeroDivisionError):
            return 0.0
        return float(value) if value is not None and math.isfinite(value) else 0.0

    return {
        comparison.output_column_name: [
            (level.label_for_charts, level.m_probability, level.u_probability, weight(level))
            for level in comparison._comparison_levels_excluding_null
        ]
        for comparison in linker._settings_obj.comparisons
    }


def set_level_probabilities(
    linker: Any,
    comparison_name: str,
    *,
    m: Sequence[float | None] | None = None,
    u: Sequence[float | None] | None = None,
    description: str = "set by linkage",
) -> None:
    """Set m and/or u of a comparison's non-null levels (in the order of
    :func:`level_probabilities`; None leaves a level as it is).

    The value is also recorded as a trained estimate with ``description``, as splink does
    for its own estimates, so splink counts the level as trained.
    """
    comparison = next(
        c for c in linker._settings_obj.comparisons if c.output_column_name == comparison_name
    )
    levels = comparison._comparison_levels_excluding_null
    for level, value in zip(levels, m or [None] * len(levels)):
        if value is not None:
            level.m_probability = value
            level._add_trained_m_probability(value, description)
    for level, value in zip(levels, u or [None] * len(levels)):
        if value is not None:
            level.u_probability = value
            level._add_trained_u_probability(value, description)


@dataclass(frozen=True)
class EMOutcome:
    """What one EM session did: the comparisons it estimated an m for (at least one level
    seen), its iterations, and whether it converged before ``max_iterations``."""

    estimated: frozenset[str]
    iterations: int
    max_iterations: int
    converged: bool


def em_outcome(linker: Any, session: Any) -> EMOutcome:
    """The outcome of ``session``, the object splink's EM training returns."""
    estimated = frozenset(
        c.output_column_name
        for c in session.core_model_settings.comparisons
        if any(
            isinstance(level._m_probability, (int, float))
            for level in c._comparison_levels_excluding_null
        )
    )
    history = session._core_model_settings_history
    iterations = max(len(history) - 1, 0)
    settings = linker._settings_obj.training_settings
    converged = iterations < settings.max_iterations
    if not converged and len(history) >= 2:
        change = _max_change_in_parameters_comparison_levels(history)
        converged = change["max_abs_change_value"] < settings.em_convergence
    return EMOutcome(estimated, iterations, settings.max_iterations, converged)


def unique_id_and_source_columns(linker: Any) -> tuple[str, str | None]:
    """The unique id column's name and the source dataset column's name (or None)."""
    info = linker._settings_obj.column_info_settings
    return info.unique_id_column_name, info.source_dataset_column_name


# -- tables seen by splink -----------------------------------------------------------------


def table_as_splink_frame(linker: Any, templated_name: str, physical_name: str) -> Any:
    """A DuckDB table of the linker's connection as a splink frame (for splink's charts)."""
    return linker._db_api.table_to_splink_dataframe(templated_name, physical_name)


def register_table(linker: Any, table: str, name: str) -> Any:
    """Register a DuckDB table with the linker's database API (for ``predict_within``)."""
    return linker._db_api.register(table, table_name=name)


def input_tables(linker: Any) -> list[Any]:
    """The linker's input tables, as splink frames."""
    return list(linker._input_tables_dict.values())


# -- scoring every candidate pair -----------------------------------------------------------


def predict_scores(linker: Any) -> Any:
    """``linker.inference.predict()`` without the records' input values beside each pair.

    splink's predict, with ``retain_matching_columns``, writes both records' values of
    every column a comparison reads into its output: at a million records 13.7 million
    rows of some fifty text columns, which DuckDB spills to disk under linkage's memory
    limit (57 s of scoring against 21 s without them, ``benchmarks/RESULTS.md``). Turning
    the setting off would also drop the ``gamma_`` columns that decisions read. So these
    are splink's own steps of a one-chunk predict (blocked pairs, term frequencies,
    comparison vectors, weights), with a last step that keeps what splink keeps in
    training: the ids, the ``gamma_`` columns and, with intermediate columns, the term
    frequencies and each comparison's match weight (``mw_``); ``match_weight`` and
    ``match_probability`` first, as in splink's output. The values are one join away
    (:func:`predicted_value_columns`).
    """
    settings = linker._settings_obj
    kept = Settings.columns_to_select_for_predict(
        unique_id_input_columns=settings.column_info_settings.unique_id_input_columns,
        comparisons=settings.comparisons,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=settings._retain_intermediate_calculation_columns,
        training_mode=True,
        additional_columns_to_retain=[],
    )
    blocked_pairs, cached = linker.inference._get_or_compute_blocked_pairs_for_predict_chunk(
        left_chunk=(1, 1), right_chunk=(1, 1)
    )
    try:
        pipeline = CTEPipeline([blocked_pairs])
        enqueue_df_concat_with_tf(linker, pipeline)
        pipeline.enqueue_list_of_sqls(
            compute_comparison_vector_values_from_id_pairs_sqls(
                settings._columns_to_select_for_blocking,
                settings._columns_to_select_for_comparison_vector_values,
                input_tablename_l="__splink__df_concat_with_tf",
                input_tablename_r="__splink__df_concat_with_tf",
                source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
                unique_id_input_column=settings.column_info_settings.unique_id_input_column,
                link_type=settings._link_type,
                sql_dialect_str=linker._sql_dialect_str,
            )
        )
        pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(settings))
        columns = ", ".join(["match_weight", "match_probability", *kept])
        pipeline.enqueue_sql(
            f"SELECT {columns} FROM __splink__df_predict", "__splink__df_predict_scores"
        )
        return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    finally:
        if not cached:
            blocked_pairs.drop_table_from_database_and_remove_from_cache()


def predicted_value_columns(linker: Any) -> list[str]:
    """The input columns whose values splink's predict puts beside each pair (``<c>_l``,
    ``<c>_r``) and :func:`predict_scores` leaves out: those its comparisons read and, as
    splink adds them, those its blocking rules read."""
    settings = linker._settings_obj
    uid = {c.unquote().name for c in settings.column_info_settings.unique_id_input_columns}
    names = [c.unquote().name for c in settings._columns_used_by_comparisons]
    names += settings._additional_column_names_to_retain
    return [name for name in dict.fromkeys(names) if name not in uid]


# -- splink's scoring SQL without a linker -------------------------------------------------


@dataclass(frozen=True)
class ScoringSettings:
    """What the store needs of splink's settings to score pairs with splink's own SQL.

    ``blocked_columns`` are the select expressions splink uses after blocking (over
    ``l`` and ``r``), ``read_columns`` the input columns they read (in order),
    ``vector_columns`` those of the comparison-vector step, ``predict_sqls`` the steps that
    turn vectors into weights and probabilities, ``tf_columns`` the columns with term
    frequencies.
    """

    unique_id: str
    blocked_columns: list[str]
    read_columns: list[str]
    vector_columns: list[str]
    tf_columns: list[str]
    predict_sqls: list[dict[str, str]]


def scoring_settings(settings_dict: dict[str, Any]) -> ScoringSettings:
    """splink's scoring pieces for a trained settings dict, with no blocking rules.

    Blocking rules play no part in a score; without them splink does not carry the columns
    they read through every step (less SQL for DuckDB to bind per check).
    """
    scoring = {**settings_dict, "blocking_rules_to_generate_predictions": []}
    settings = SettingsCreator.from_path_or_dict(scoring).get_settings("duckdb")
    # gamma_* reach the output only with the matching columns (splink 5); the caller's
    # outer SELECT keeps what it needs.
    settings._retain_matching_columns = True
    settings._retain_intermediate_calculation_columns = False
    uid = settings.column_info_settings.unique_id_column_name
    blocked = list(settings._columns_to_select_for_blocking)
    read: list[str] = []
    for column in blocked:
        found = re.match(r'"l"\."([^"]+)"', column)
        if found and found.group(1) not in read:
            read.append(found.group(1))
    return ScoringSettings(
        unique_id=uid,
        blocked_columns=blocked,
        read_columns=read,
        vector_columns=list(settings._columns_to_select_for_comparison_vector_values),
        tf_columns=[c.unquote().name for c in settings._term_frequency_columns],
        predict_sqls=predict_from_comparison_vectors_sqls_using_settings(settings),
    )


@dataclass(frozen=True)
class LevelWeights:
    """One comparison level as splink's prediction SQL scores it: its condition, its
    comparison-vector value (``gamma``, -1 for a null level), its match weight and its
    term-frequency adjustment (``tf_column`` None: none). The numbers are the very ones
    splink writes into its SQL."""

    sql_condition: str
    gamma: int
    is_null_level: bool
    is_else_level: bool
    match_weight: float | None
    tf_column: str | None = None
    tf_weight: float = 0.0
    tf_minimum_u: float = 0.0
    log2_u_exact: float = 0.0


@dataclass(frozen=True)
class ComparisonWeights:
    """A comparison's levels in splink's order (first match wins), and whether its
    term-frequency adjustment is a term of the weight's sum."""

    name: str
    levels: tuple[LevelWeights, ...]
    has_tf: bool


def comparison_weights(
    settings_dict: dict[str, Any],
) -> tuple[float, tuple[ComparisonWeights, ...]]:
    """The prior's match weight and each comparison's levels, as
    :func:`scoring_settings`'s SQL computes ``match_weight``: the prior plus, comparison by
    comparison in this order, the level's weight and (``has_tf``) its term-frequency
    adjustment."""
    from splink.internals.misc import prob_to_match_weight

    scoring = {**settings_dict, "blocking_rules_to_generate_predictions": []}
    settings = SettingsCreator.from_path_or_dict(scoring).get_settings("duckdb")
    core = settings.core_model_settings
    comparisons = []
    for comparison in core.comparisons:
        levels = []
        for level in comparison.comparison_levels:
            gamma = level.comparison_vector_value
            tf: dict[str, Any] = {}
            if (
                gamma != -1
                and level._has_tf_adjustments
                and level._tf_adjustment_weight != 0
                and not level._is_else_level
            ):
                u_exact = level._u_probability_corresponding_to_exact_match(
                    comparison.comparison_levels
                )
                tf = {
                    "tf_column": level._tf_adjustment_input_column.unquote().name,
                    "tf_weight": float(level._tf_adjustment_weight),
                    "tf_minimum_u": float(level._tf_minimum_u_value),
                    "log2_u_exact": math.log2(u_exact),
                }
            levels.append(
                LevelWeights(
                    sql_condition=level.sql_condition,
                    gamma=gamma,
                    is_null_level=bool(level.is_null_level),
                    is_else_level=bool(level._is_else_level),
                    match_weight=level._match_weight,
                    **tf,
                )
            )
        comparisons.append(
            ComparisonWeights(
                name=comparison.output_column_name,
                levels=tuple(levels),
                has_tf=bool(comparison._has_tf_adjustments),
            )
        )
    prior = prob_to_match_weight(core.probability_two_random_records_match)
    return prior, tuple(comparisons)
