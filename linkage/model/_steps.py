"""Records in, a fitted model's state out: the steps :meth:`LinkageModel.fit
<linkage.model.LinkageModel.fit>` and :func:`linkage.link` share.

Fitting needs the records read, standardized and blocked as ``link`` does, so both call
these, in order: :func:`read_inputs`, :func:`working_records`, :func:`standardize_records`,
:func:`prepare_tables`, :func:`train_model`. ``link`` runs them with its project file in
between (erased records left out before the working frame is built, the file's record ids
checked after it), then scores, decides and clusters; ``fit`` runs them back to back and
keeps only the model: one code path trains both. (They sit in :mod:`linkage.model`, not in
:mod:`linkage.run`, because ``run`` imports the model: the estimator cannot import it back.)

:func:`train_model` returns the :class:`FittedState` a model is made of, not a model: the
estimator calls these steps, so they cannot construct it
(:meth:`LinkageModel.from_fitted <linkage.model.LinkageModel.from_fitted>` does).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
from splink import Linker

from linkage import _splink, blocking, decisions, profiling, schema
from linkage import comparisons as comparisons_mod
from linkage import standardize as standardize_mod
from linkage._sql import run
from linkage.blocking import BlockingRule
from linkage.decisions import DecisionPolicy, Thresholds
from linkage.errors import ConfigError, InputError, ModelError, SchemaError
from linkage.model._checks import check_input
from linkage.model._training import (
    TrainingLog,
    build_settings,
    make_linker,
    train,
    with_output_name,
)

if TYPE_CHECKING:
    from linkage.model._estimator import LinkageModel

logger = logging.getLogger("linkage")


def read_inputs(
    data: Any,
    roles: Mapping[str, str | None] | None,
    model: LinkageModel | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, schema.RoleMapping]]:
    """Each input read, its roles resolved and validated: frames and role mappings by input
    name (``"records"`` for a single input).

    With a fitted ``model``, the input's extra columns are the ones the model compares
    (found by header); without one, columns no role claims are profiled.

    Raises:
        InputError, SchemaError: an input that cannot be read or used as given (with a
            ``model``: one that lacks a role the model compares, see :func:`check_input`).
        ModelError: ``model`` is not fitted.
    """
    if model is not None and not model.is_fitted:
        raise ModelError(
            "link(model=...) needs a fitted model, and this one is not fitted: call "
            "model.fit(records) first, read a saved one with LinkageModel.load(path), or "
            "leave model out to train on these records"
        )
    frames: dict[str, pd.DataFrame] = {}
    mappings: dict[str, schema.RoleMapping] = {}
    inputs = _named_inputs(data)
    for name, item in inputs.items():
        frame = schema.read_records(item)
        mapping = schema.resolve_roles(list(frame.columns), roles)
        if "record_id" not in mapping.roles:
            frame = frame.copy()  # validate_records adds the generated id column to it
        mapping = schema.validate_records(frame, mapping)
        if model is None:
            mapping = schema.profile_columns(frame, mapping)
        else:
            # Every role the model compares, checked before splink meets a missing column.
            check_input(
                model, mapping.roles, frame.columns, input_name=name if len(inputs) > 1 else None
            )
            mapping = _extras_of_model(frame, mapping, model)
        frames[name], mappings[name] = frame, mapping
        logger.info("input %r: %d records, roles:\n%s", name, len(frame), mapping.describe())
    return frames, mappings


@dataclass
class WorkingRecords:
    """The records of one fit or run, as the model reads them.

    Attributes:
        frames, mappings: each input as read, and its role mapping (the first input's notes
            say the entity level and which roles were left out, and why).
        work: one frame: ``rid`` (0..n-1), ``source_dataset``, one column per role.
        role_set: the roles matched on.
        level: ``"person"`` or ``"organization"``.
        link_type: splink's link type.
        extras: the columns no role claims that every input has, compared by kind.
        derived, problems, country: set by :func:`standardize_records`: the standardized
            columns, the invalid values found, the country of phone numbers.
    """

    frames: dict[str, pd.DataFrame]
    mappings: dict[str, schema.RoleMapping]
    work: pd.DataFrame
    role_set: set[str]
    level: str
    link_type: str
    extras: list[schema.ExtraColumn]
    derived: pd.DataFrame | None = None
    problems: pd.DataFrame | None = None
    country: str | None = None

    @property
    def multi(self) -> bool:
        """Several inputs (linked with each other), not one."""
        return len(self.frames) > 1


def working_records(
    frames: dict[str, pd.DataFrame],
    mappings: dict[str, schema.RoleMapping],
    *,
    link_type: str | None,
    level: str | None,
    model: LinkageModel | None = None,
) -> WorkingRecords:
    """One working frame over the inputs, the entity level, the roles to match on.

    A fitted ``model`` brings its level, and keeps its comparisons for roles that carry
    nothing here; without one, such roles are left out. ``mappings`` is not changed (the
    returned mappings carry the notes).

    Raises:
        ConfigError: an unknown link type or level, or a link type that needs several inputs.
    """
    multi = len(frames) > 1
    if link_type is None:
        link_type = "link_and_dedupe" if multi else "dedupe_only"
    if link_type not in ("dedupe_only", "link_and_dedupe", "link_only"):
        raise ConfigError(
            f"link_type must be dedupe_only, link_and_dedupe or link_only, not {link_type!r}"
        )
    if link_type != "dedupe_only" and not multi:
        raise ConfigError(f"link_type={link_type!r} needs several inputs: pass a dict or list")
    role_set = set.intersection(*(set(m.roles) for m in mappings.values()))
    first = next(iter(frames))
    if model is None:
        level, level_reason = schema.choose_level(frames[first], mappings[first], level)
    else:
        level, level_reason = model.config.get("level", "person"), "the model's level"
    extras = _common_extras(mappings)
    work = _working_frame(frames, mappings, role_set)
    notes = [f"entity level: {level} ({level_reason})"]
    if len(work) > 1:
        kept, dropped = _roles_that_carry_something(work, role_set)
        if model is None:
            role_set = kept
            notes += [f"{role} left out of matching: {why}" for role, why in dropped.items()]
        else:
            # A trained model keeps its comparisons: an empty column scores every pair at
            # that comparison's null level (no evidence either way).
            notes += [
                f"{role} carries nothing in this data ({why}): its comparison is null for "
                "every pair"
                for role, why in dropped.items()
            ]
    mappings = dict(mappings)
    mappings[first] = dataclasses.replace(mappings[first], notes=(*mappings[first].notes, *notes))
    logger.info("input %r: %s", first, notes[0])
    for note in notes[1:]:
        logger.warning("input %r: %s", first, note)
    return WorkingRecords(
        frames=frames,
        mappings=mappings,
        work=work,
        role_set=role_set,
        level=level,
        link_type=link_type,
        extras=extras,
    )


def standardize_records(
    records: WorkingRecords,
    *,
    country: str | None,
    standardize: bool = True,
    model: LinkageModel | None = None,
) -> WorkingRecords:
    """``records`` with standardized columns (``derived``), the invalid values found
    (``problems``) and the country phone numbers were read in.

    Args:
        country: of phone numbers without a country code; ``None``: the fitted model's, or
            else the country in which most numbers are valid.
        standardize: ``False`` only cleans minimally (to measure what standardizing adds).
    """
    work, role_set = records.work, records.role_set
    match_roles = {
        r: r
        for r in role_set
        if r not in schema.PASS_THROUGH_ROLES
        and (r in standardize_mod.ROLE_NAMES or r in schema.SIMPLE_ROLES)
    }
    match_roles["record_id"] = "record_id"
    if standardize:
        if country is None and model is not None:
            country = model.config.get("country") or "CN"
        std = standardize_mod.standardize(work, match_roles, country=country)
        derived, problems = std.frame, std.problems
        if std.country_inferred and std.country_guess is not None:
            guess = std.country_guess
            logger.info(
                "phone numbers read as %s: %.0f%% of them are valid there",
                guess.country,
                100 * guess.share,
            )
        country = std.country
    else:
        derived, problems = standardize_mod.minimal_clean(work, match_roles), _empty_problems()
    derived = standardize_mod.add_simple_clean(derived, role_set)
    derived = _add_generic_columns(derived, records.frames, records.extras)
    return dataclasses.replace(records, derived=derived, problems=problems, country=country)


@dataclass
class PreparedTables:
    """The standardized records in DuckDB with their blocking keys, and the comparisons
    over them: what training and scoring read.

    Attributes:
        con: the DuckDB connection holding the tables.
        records_table: all records (``linkage_records``).
        tables: the tables splink reads: one per input when linking several, else
            ``records_table``.
        rules: the blocking rules used (after the pair budget and the block-size guard).
        report: pair counts per rule and the values the guard left out.
        available: the standardized columns the records have.
        comparisons: comparison name -> splink comparison.
        extras: the extra columns compared (those ``comparisons`` did not drop).
    """

    con: duckdb.DuckDBPyConnection
    records_table: str
    tables: list[str]
    rules: list[BlockingRule]
    report: blocking.BlockingReport
    available: set[str]
    comparisons: dict[str, Any]
    extras: list[schema.ExtraColumn]


def prepare_tables(
    records: WorkingRecords,
    con: duckdb.DuckDBPyConnection,
    *,
    comparisons: Mapping[str, Any] | None,
    blocking_rules: Sequence[BlockingRule] | None,
    max_block_size: int,
    pair_budget: int | None,
    max_pairs: int,
) -> PreparedTables:
    """The standardized ``records`` (see :func:`standardize_records`) as tables in ``con``
    with blocking keys, and the comparisons to make over them.

    Raises:
        ConfigError: blocking would make more than ``max_pairs`` pairs; a comparison that
            is not a splink comparison.
    """
    work, derived = records.work, records.derived
    records_view = _register_working_table(con, derived, work.columns)
    records_table = "linkage_records"
    available = {c for c in derived.columns if c not in work.columns or c == "rid"}
    rules = (
        list(blocking_rules)
        if blocking_rules is not None
        else blocking.default_rules(records.role_set, records.level, available)
    )
    if pair_budget is None:
        # 15 per record: on a million generated leads, 20 let the loose address rule in (2 M
        # pairs, 2,804 true) and cost 0.005 clustered F1 in false merges; 15 keeps F1 at
        # 0.970 with 13.7 M pairs. Below 133,000 records the 2 M floor decides; above
        # 3.3 million, max_pairs (the strict rules' biggest blocks are left out to fit).
        pair_budget = min(max(2_000_000, 15 * len(work)), max_pairs)
    rules, report = blocking.add_block_keys(
        con,
        records_table,
        rules,
        max_block_size=max_block_size,
        pair_budget=pair_budget,
        source=records_view,
    )
    con.unregister(records_view)
    upper_bound = report.pairs_upper_bound
    if upper_bound > max_pairs:
        worst = max(report.pairs_per_rule, key=report.pairs_per_rule.get)
        raise ConfigError(
            f"blocking would generate up to {upper_bound:,} pairs (more than max_pairs="
            f"{max_pairs:,}); rule {worst!r} alone makes {report.pairs_per_rule[worst]:,}. "
            "Lower max_block_size, pass stricter blocking_rules, or raise max_pairs."
        )
    logger.info("blocking:\n%s", report.describe())
    comparison_map = comparisons_mod.default_comparisons(
        records.role_set, comparisons, level=records.level, columns=available, extras=records.extras
    )
    extras = [e for e in records.extras if e.name in comparison_map]  # comparisons={name: None}
    tables = (
        _split_by_source(con, records_table, list(records.frames))
        if records.multi
        else [records_table]
    )
    return PreparedTables(
        con=con,
        records_table=records_table,
        tables=tables,
        rules=rules,
        report=report,
        available=available,
        comparisons=comparison_map,
        extras=extras,
    )


@dataclass(frozen=True)
class FittedState:
    """What :func:`train_model` learned and chose: the state of a fitted
    :class:`~linkage.model.LinkageModel` (``LinkageModel.from_fitted(state)`` makes one).

    Attributes:
        settings: the splink settings dict with trained m and u parameters.
        policy: the decision policy (thresholds and routing rules).
        config: roles, blocking rules and options trained with, and the parameters
            (``"params"``).
        training_log: what the training recipe did.
    """

    settings: dict[str, Any]
    policy: DecisionPolicy
    config: dict[str, Any]
    training_log: TrainingLog


def train_model(
    params: Mapping[str, Any],
    records: WorkingRecords,
    tables: PreparedTables,
    *,
    keep_apart_below: float = -8.0,
    cluster_method: str = "constrained",
) -> tuple[FittedState, Linker]:
    """Train on prepared tables with an estimator's parameters: the training both
    :meth:`LinkageModel.fit` and :func:`linkage.link` run.

    Args:
        params: the estimator's parameters, as ``LinkageModel.get_params()`` gives them
            (seed, thresholds, routing rules; all are recorded). Not changed.
        records, tables: from :func:`standardize_records` and :func:`prepare_tables`.
        keep_apart_below, cluster_method: the run's clustering settings, recorded in the
            config (a record store built from the model uses them).

    Returns:
        the fitted state (for ``LinkageModel.from_fitted``), and the trained splink linker
        over ``tables`` (for scoring them).

    Raises:
        ModelError: nothing could be learned from the records (see :func:`train`).
    """
    settings = build_settings(tables.comparisons, tables.rules, link_type=records.link_type)
    linker = make_linker(tables.con, tables.tables, settings)
    comparison_columns = _splink.comparison_input_columns(linker)
    recipe = {}
    if records.level == "organization":
        prior_rules = [r for r in blocking.ORGANIZATION_PRIOR_RULES if set(r) <= tables.available]
        recipe = {
            "em_passes": blocking.ORGANIZATION_EM_PASSES,
            # With nothing but a name, the prior comes from records sharing a name.
            "deterministic_rules": prior_rules or [("company_core",)],
            "families": blocking.ORGANIZATION_FAMILIES,
        }
    training_log = train(
        linker,
        tables.available,
        comparison_columns,
        n_records=len(records.work),
        seed=params["seed"],
        **recipe,
    )
    policy = DecisionPolicy(
        thresholds=params["thresholds"] or Thresholds(),
        rules=tuple(
            params["routing_rules"]
            if params["routing_rules"] is not None
            else decisions.default_rules(tables.comparisons, records.level)
        ),
    )
    state = FittedState(
        settings=linker.misc.save_model_to_json(),
        policy=policy,
        config={
            "roles": sorted(records.role_set),
            "blocking_rules": [
                {"name": r.name, "columns": list(r.columns), "roles": list(r.roles)}
                for r in tables.rules
            ],
            "max_block_size": params["max_block_size"],
            "keep_apart_below": keep_apart_below,
            "cluster_method": cluster_method,
            "link_type": records.link_type,
            "seed": params["seed"],
            "level": records.level,
            "country": records.country,
            "extras": [{"name": e.name, "column": e.column, "kind": e.kind} for e in tables.extras],
            "params": _parameter_record(params, tables.comparisons),
        },
        training_log=training_log,
    )
    return state, linker


def _named_inputs(data: Any) -> dict[str, Any]:
    if isinstance(data, Mapping):
        if not data:
            raise InputError("no inputs given: the dict of inputs is empty")
        names = [str(k) for k in data]
        for name in names:
            if not name.replace("_", "").isalnum():
                raise InputError(f"input name {name!r} must be letters, digits and underscores")
        return {str(k): v for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        if not data:
            raise InputError("no inputs given: the list of inputs is empty")
        if len(data) == 1:
            return {"records": data[0]}
        return {f"input_{i + 1}": item for i, item in enumerate(data)}
    return {"records": data}


def _working_frame(
    frames: dict[str, pd.DataFrame], mappings: dict[str, schema.RoleMapping], role_set: set[str]
) -> pd.DataFrame:
    """One frame with ``rid`` (0..n-1), ``source_dataset`` and one column per role."""
    parts = []
    offset = 0
    for name, frame in frames.items():
        roles = mappings[name].roles
        part = pd.DataFrame(
            {role: _by_position(frame[roles[role]]) for role in sorted(role_set)},
        )
        part.insert(0, "source_dataset", name)
        part.insert(0, "rid", np.arange(offset, offset + len(frame), dtype=np.int64))
        offset += len(frame)
        parts.append(part)
    work = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    work["record_id"] = work["record_id"].astype(str)
    return work


def _by_position(column: pd.Series) -> Any:
    """The column's values without its index. Text columns keep their Arrow strings: as
    a NumPy array each value would become a Python object, and be read back into Arrow
    by the frame (3 s at a million records), to the same column."""
    dtype = column.dtype
    same = (
        isinstance(dtype, pd.StringDtype)
        and dtype.storage == "pyarrow"
        and dtype.na_value is np.nan
    )  # pandas' default "str" (the nullable "string" would keep pd.NA: NumPy's path gives NaN)
    return column.array if same else column.to_numpy()


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame(columns=["record_id", "role", "column", "value", "reason"])


def _register_working_table(
    con: duckdb.DuckDBPyConnection, derived: pd.DataFrame, raw_columns: Sequence[str]
) -> str:
    """Register the standardized columns (not the raw ones) with DuckDB as a view."""
    keep = ["rid", "source_dataset"] + [
        c for c in derived.columns if c not in raw_columns and not c.endswith("_problem")
    ]
    # Only registered here: add_block_keys makes the table, keys included, in one copy.
    con.register("linkage_records_view", derived[keep])
    return "linkage_records_view"


def _split_by_source(con: duckdb.DuckDBPyConnection, table: str, sources: list[str]) -> list[str]:
    tables = []
    for i, source in enumerate(sources):
        name = f"linkage_records_{i}"
        run(
            con,
            f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {table} WHERE source_dataset = ?",
            [source],
        )
        tables.append(name)
    return tables


def _extras_of_model(
    frame: pd.DataFrame, mapping: schema.RoleMapping, model: LinkageModel
) -> schema.RoleMapping:
    """The extra columns a saved model compares, found in a new input by their header."""
    extras = []
    for extra in model.config.get("extras", []):
        if extra["column"] not in frame.columns:
            raise SchemaError(
                f"the model compares column {extra['column']!r} ({extra['kind']}), which is "
                f"not in the input. Columns present: {', '.join(map(repr, frame.columns))}."
            )
        extras.append(schema.ExtraColumn(extra["name"], extra["column"], extra["kind"]))
    return dataclasses.replace(mapping, extras=tuple(extras))


def _common_extras(mappings: Mapping[str, schema.RoleMapping]) -> list[schema.ExtraColumn]:
    """Extra columns every input has (same header, same kind), named as in the first."""
    first, *rest = mappings.values()
    return [
        e
        for e in first.extras
        if all(any((o.column, o.kind) == (e.column, e.kind) for o in m.extras) for m in rest)
    ]


def _roles_that_carry_something(
    work: pd.DataFrame, role_set: set[str]
) -> tuple[set[str], dict[str, str]]:
    """Roles whose column has at least two distinct values in this run; the others are
    left out of comparisons and rules (an all-blank or one-valued column says nothing)."""
    kept, dropped = set(role_set), {}
    for role in sorted(role_set):
        if role in schema.PASS_THROUGH_ROLES or role == "record_id":
            continue
        distinct = _distinct_up_to_two(work[role])
        if distinct < 2:
            kept.discard(role)
            dropped[role] = "blank in every row" if distinct == 0 else "one value in every row"
    return kept, dropped


def _distinct_up_to_two(column: pd.Series) -> int:
    """How many distinct non-blank values ``column`` has, counting to two: its first
    rows nearly always show two (1.4 s saved at a million records over counting all)."""
    for part in (column.iloc[:10_000], column):
        values = part.dropna().astype(str).str.strip()
        values = values[values != ""]
        if len(values) and bool((values != values.iloc[0]).any()):
            return 2
    return 1 if len(values) else 0


def _add_generic_columns(
    derived: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    extras: Sequence[schema.ExtraColumn],
) -> pd.DataFrame:
    """Columns for the extra columns (``extra_<n>_value``, and ``_tokens`` for text)."""
    out = derived.copy()
    for extra in extras:
        raw = pd.concat([f[extra.column] for f in frames.values()], ignore_index=True)
        for column, values in profiling.derive_extra(extra.name, extra.kind, raw).items():
            out[column] = values
    return out


def _parameter_record(params: Mapping[str, Any], comparisons: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as JSON data, saved in the model's config (``"params"``): a loaded
    model has the parameters it was fitted with (``LinkageModel`` reads them back). A splink
    comparison is saved as splink's dict of it (named as in ``comparisons``, the comparisons
    the model was built with)."""
    record = dict(params)
    if params["roles"] is not None:
        record["roles"] = dict(params["roles"])
    if params["comparisons"] is not None:
        record["comparisons"] = {
            key: _comparison_record(key, comparison, comparisons)
            for key, comparison in params["comparisons"].items()
        }
    if params["thresholds"] is not None:
        record["thresholds"] = asdict(params["thresholds"])
    for name in ("blocking_rules", "routing_rules"):
        if params[name] is not None:
            record[name] = [asdict(rule) for rule in params[name]]
    return json.loads(json.dumps(record, ensure_ascii=False, default=str))


def _comparison_record(key: str, comparison: Any, comparisons: Mapping[str, Any]) -> Any:
    if comparison is None or isinstance(comparison, dict):
        return comparison
    # The name it was used under, so the dict gives the same gamma_<name> when fitted again.
    name = next((n for n, used in comparisons.items() if used is comparison), key)
    return with_output_name(comparison, name)
