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
- the input columns each comparison reads (to choose EM passes and chart columns);
- a DuckDB table seen as a splink frame, and the linker's input tables (splink's own charts
  and blocking analysis over linkage's tables);
- splink's prediction SQL for a settings dict (the store scores one record with the very SQL
  ``link`` used, without a ``Linker``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.exceptions import EMTrainingException
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.settings_creator import SettingsCreator

__all__ = [
    "ComparisonCreator",
    "CTEPipeline",
    "EMTrainingException",
    "ScoringSettings",
    "comparison_input_columns",
    "input_tables",
    "not_trained_messages",
    "probability_two_random_records_match",
    "quiet",
    "quiet_splink",
    "register_table",
    "scoring_settings",
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
