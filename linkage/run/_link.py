"""``link``: records in, entities, scored pairs, decisions and the review list out.

This module wires the stages of DESIGN.md together; each stage's logic lives in its own
module. Data lives in DuckDB during a run; pandas appears at the edges (reading input, the
standardizer's distinct-value parsing, the result frames).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import (
    _splink,
    blocking,
    decisions,
    profiling,
    schema,
    survivorship,
)
from linkage import comparisons as comparisons_mod
from linkage import model as model_mod
from linkage import project as project_mod
from linkage import standardize as standardize_mod
from linkage._sql import run
from linkage.errors import ConfigError, InputError, SchemaError
from linkage.run import _golden, _sync
from linkage.run._result import LinkResult, decide_and_cluster
from linkage.run._state import RunContext

logger = logging.getLogger("linkage")


@_splink.quiet
def link(
    data: Any,
    *,
    roles: Mapping[str, str | None] | None = None,
    comparisons: Mapping[str, Any] | None = None,
    blocking_rules: Sequence[blocking.BlockingRule] | None = None,
    thresholds: decisions.Thresholds | None = None,
    routing_rules: Sequence[decisions.RoutingRule] | None = None,
    model: model_mod.LinkageModel | None = None,
    link_type: str | None = None,
    seed: int = 0,
    max_block_size: int = 1000,
    max_pairs: int = 50_000_000,
    pair_budget: int | None = None,
    keep_apart_below: float = -8.0,
    cluster_method: str = "constrained",
    standardize: bool = True,
    connection: duckdb.DuckDBPyConnection | None = None,
    queue: project_mod.ReviewQueue | str | os.PathLike[str] | None = None,
    survivorship_rules: Mapping[str, str | Sequence[str] | None] | None = None,
    source_priority: Sequence[str] | None = None,
    level: str | None = None,
    country: str | None = None,
) -> LinkResult:
    """Find the records that are the same customer.

    Args:
        data: the records: a pandas DataFrame, pyarrow Table, DuckDB relation, or a CSV or
            Parquet path. To link several inputs (leads against customers), pass a dict
            ``{name: records}`` or a list.
        roles: role -> column, for columns detection misses or gets wrong; ``None`` as a
            value switches a detected role off. See :data:`linkage.schema.ROLES`.
        comparisons: role -> splink comparison, replacing a default (``None`` drops it).
        blocking_rules: replaces the default blocking rules.
        thresholds: match-weight thresholds for review and auto-merge.
        routing_rules: replaces the default routing rules.
        model: a trained model (``LinkageModel.load(path)``): score without training.
        link_type: with several inputs, ``"link_and_dedupe"`` (default) or ``"link_only"``.
        seed: makes the random sampling in training, and so the whole run, repeatable.
        max_block_size: a blocking key value shared by more records than this is not used
            for blocking (a switchboard, a placeholder); it is reported.
        max_pairs: refuse to run when blocking would generate more candidate pairs.
        pair_budget: loose blocking rules (catching pairs with typos everywhere) are used
            only while the candidate pairs stay within this many (default: 20 per record,
            at least 2,000,000).
        keep_apart_below: records whose pair evidence (match weight less the prior) is
            below this many bits are never put in one entity.
        cluster_method: ``"constrained"`` (default) or ``"connected_components"``.
        standardize: clean values before matching (switch off only to measure its effect).
        connection: a DuckDB connection to work in (default: a new in-memory one).
        queue: the project file (a path or an open :class:`~linkage.project.ReviewQueue`):
            its verdicts steer clustering, its entity ids are kept, this run's review pairs
            go into it. Default: an in-memory queue (``result.queue``).
        survivorship_rules: golden column -> rule, overriding
            :data:`linkage.survivorship.DEFAULT_RULES`.
        source_priority: input names and source channels, best first, for the
            ``source_priority`` rule (default: the inputs in the order given).
        level: ``"person"`` (leads, contacts) or ``"organization"`` (accounts, sites,
            customer companies); default: organization when no column names a person or
            the person's name is mostly blank, else person (``result.level`` says which
            and why).
        country: the country of phone numbers written without a country code (``"CN"``,
            ``"US"``, ...); default: the country in which most numbers are valid.

    Returns:
        a :class:`LinkResult`.

    Raises:
        InputError, SchemaError, ConfigError: with what was wrong and how to fix it.
        QueueError: the project file cannot be used (other data, newer version, busy).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now
        logger.info("%s: %.2fs", stage, timings[stage])

    if cluster_method not in ("constrained", "connected_components"):
        raise ConfigError(
            f"cluster_method must be 'constrained' or 'connected_components', "
            f"not {cluster_method!r}"
        )
    inputs = _named_inputs(data)
    frames: dict[str, pd.DataFrame] = {}
    mappings: dict[str, schema.RoleMapping] = {}
    for name, item in inputs.items():
        frame = schema.read_records(item)
        mapping = schema.resolve_roles(list(frame.columns), roles)
        if "record_id" not in mapping.roles:
            frame = frame.copy()  # validate_records adds the generated id column to it
        mapping = schema.validate_records(frame, mapping)
        if model is None:
            mapping = schema.profile_columns(frame, mapping)
        else:
            mapping = _extras_of_model(frame, mapping, model)
        frames[name], mappings[name] = frame, mapping
        logger.info("input %r: %d records, roles:\n%s", name, len(frame), mapping.describe())
    multi = len(frames) > 1
    project = _sync.open_queue(queue)
    frames = _sync.leave_out_erased(project, frames, mappings, multi)
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
    mappings[first] = dataclasses.replace(mappings[first], notes=(*mappings[first].notes, *notes))
    logger.info("input %r: %s", first, notes[0])
    for note in notes[1:]:
        logger.warning("input %r: %s", first, note)
    keys = _sync.record_keys(work, multi)
    project.check_data([mappings[name].roles["record_id"] for name in frames], list(frames), keys)
    if survivorship_rules is not None:
        survivorship.check_rules(role_set, survivorship_rules)
    lap("read")

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
    derived = _add_generic_columns(derived, frames, extras)
    lap("standardize")
    if len(work) < 2:
        # One record has no pair to compare: it is its own entity.
        return single_record_result(
            work,
            derived,
            problems,
            frames,
            mappings,
            model,
            timings,
            project=project,
            keys=keys,
            survivorship_rules=survivorship_rules,
            source_priority=source_priority,
        )

    con = connection or duckdb.connect()
    records_view = _register_working_table(con, derived, work.columns)
    records_table = "linkage_records"
    available = {c for c in derived.columns if c not in work.columns or c == "rid"}
    rules = (
        list(blocking_rules)
        if blocking_rules is not None
        else blocking.default_rules(role_set, level, available)
    )
    if pair_budget is None:
        pair_budget = max(2_000_000, 20 * len(work))
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
    lap("blocking")

    comparison_map = comparisons_mod.default_comparisons(
        role_set, comparisons, level=level, columns=available, extras=extras
    )
    extras = [e for e in extras if e.name in comparison_map]  # comparisons={name: None}
    tables = _split_by_source(con, records_table, list(frames)) if multi else [records_table]
    if model is None:
        settings = model_mod.build_settings(comparison_map, rules, link_type=link_type)
        linker = model_mod.make_linker(con, tables, settings)
        comparison_columns = _splink.comparison_input_columns(linker)
        recipe = {}
        if level == "organization":
            prior_rules = [r for r in blocking.ORGANIZATION_PRIOR_RULES if set(r) <= available]
            recipe = {
                "em_passes": blocking.ORGANIZATION_EM_PASSES,
                # With nothing but a name, the prior comes from records sharing a name.
                "deterministic_rules": prior_rules or [("company_core",)],
                "families": blocking.ORGANIZATION_FAMILIES,
            }
        training_log = model_mod.train(
            linker, available, comparison_columns, n_records=len(work), seed=seed, **recipe
        )
        policy = decisions.DecisionPolicy(
            thresholds=thresholds or decisions.Thresholds(),
            rules=tuple(
                routing_rules
                if routing_rules is not None
                else decisions.default_rules(comparison_map, level)
            ),
        )
        trained = model_mod.LinkageModel(
            settings=linker.misc.save_model_to_json(),
            policy=policy,
            config={
                "roles": sorted(role_set),
                "blocking_rules": [
                    {"name": r.name, "columns": list(r.columns), "roles": list(r.roles)}
                    for r in rules
                ],
                "max_block_size": max_block_size,
                "keep_apart_below": keep_apart_below,
                "cluster_method": cluster_method,
                "link_type": link_type,
                "seed": seed,
                "level": level,
                "country": country,
                "extras": [{"name": e.name, "column": e.column, "kind": e.kind} for e in extras],
            },
            training_log=training_log,
        )
        lap("train")
    else:
        trained = model
        if thresholds is not None or routing_rules is not None:
            # A new model with the new policy: the caller's model is never changed.
            trained = model_mod.LinkageModel(
                settings=model.settings_,
                policy=decisions.DecisionPolicy(
                    thresholds=thresholds or model.policy.thresholds,
                    rules=tuple(routing_rules) if routing_rules is not None else model.policy.rules,
                ),
                config=model.config,
                training_log=model.training_log_,
            )
        settings = dict(trained.settings_)
        settings["blocking_rules_to_generate_predictions"] = [
            blocking.block_on_key(r) for r in rules
        ]
        linker = model_mod.make_linker(con, tables, settings)

    predictions = linker.inference.predict()
    lap("score")
    context = RunContext(
        con=con,
        linker=linker,
        predictions_table=predictions.physical_name,
        records_table=records_table,
        work=work,
        frames=frames,
        mappings=mappings,
        report=report,
        problems=problems,
        multi=multi,
        keep_apart_below=keep_apart_below,
        cluster_method=cluster_method,
        queue=project,
        keys=keys,
        survivorship_rules=survivorship_rules,
        source_priority=list(source_priority) if source_priority is not None else None,
    )
    return decide_and_cluster(context, trained, timings, new_run=True)


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
            {role: frame[roles[role]].to_numpy() for role in sorted(role_set)},
        )
        part.insert(0, "source_dataset", name)
        part.insert(0, "rid", np.arange(offset, offset + len(frame), dtype=np.int64))
        offset += len(frame)
        parts.append(part)
    work = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    work["record_id"] = work["record_id"].astype(str)
    return work


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


def single_record_result(
    work: pd.DataFrame,
    derived: pd.DataFrame,
    problems: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    mappings: dict[str, schema.RoleMapping],
    model: Any,
    timings: dict[str, float],
    *,
    project: project_mod.ReviewQueue,
    keys: np.ndarray,
    survivorship_rules: Mapping[str, Any] | None,
    source_priority: Sequence[str] | None,
) -> LinkResult:
    """A run over one record: nothing to compare, so it is its own entity; it is still
    standardized (its problems listed), registered in the project file, and given a golden
    record and lineage like any entity."""
    no_pairs = pd.DataFrame(
        {
            "key_l": pd.Series(dtype=object),
            "key_r": pd.Series(dtype=object),
            "match_weight": pd.Series(dtype=float),
            "match_probability": pd.Series(dtype=float),
            "reason": pd.Series(dtype=object),
            "decision": pd.Series(dtype=object),
            "values_l": pd.Series(dtype=object),
            "values_r": pd.Series(dtype=object),
        }
    )
    tracked = no_pairs[["key_l", "key_r", "decision", "match_weight", "match_probability"]]
    entity_ids = project.sync(
        project_mod.RunSync(
            keys=keys,
            source_dataset=work["source_dataset"].to_numpy(),
            record_id=work["record_id"].to_numpy(),
            labels=np.zeros(len(work), dtype=np.int64),
            active=np.ones(len(work), dtype=bool),
            review=no_pairs,
            tracked=tracked,
            conflicts=no_pairs,
            new_run=True,
        )
    )
    members = work.assign(entity_id=entity_ids)
    for column in members.columns:
        if members[column].dtype == object and column != "entity_id":
            members[column] = members[column].map(_golden.as_text)
    for column in derived.columns:
        if column not in members.columns and (
            column.endswith("_valid") or column in survivorship.DERIVED_COLUMNS
        ):
            members[column] = derived[column].to_numpy()
    roles = [c for c in work.columns if c not in ("rid", "source_dataset", "record_id")]
    scratch = duckdb.connect()
    try:
        scratch.register("members_frame", members)
        run(scratch, "CREATE TABLE members AS SELECT * FROM members_frame")
        tables = survivorship.build(
            scratch,
            "members",
            roles,
            rules=survivorship_rules,
            source_priority=list(source_priority) if source_priority is not None else None,
        )
        golden = scratch.execute(f"SELECT * FROM {tables.golden}").df()
        fields = scratch.execute(
            f"SELECT * FROM {tables.lineage} ORDER BY entity_id, field, record_id"
        ).df()
    finally:
        scratch.close()
    name = next(iter(frames))
    id_column = mappings[name].roles["record_id"]
    entities = pd.DataFrame(
        {id_column: frames[name][id_column].to_numpy(), "entity_id": entity_ids}
    )
    logger.info("one record: nothing to compare, it is its own entity")
    result = LinkResult(
        entities=entities,
        model=model,
        roles=mappings,
        blocking=blocking.BlockingReport(),
        problems=problems,
        timings=timings,
        records=work,
    )
    no_links = pd.DataFrame(columns=_golden.MERGE_LOG_COLUMNS)
    result._cache["golden"] = golden
    result._cache["lineage"] = survivorship.Lineage(fields=fields, merge_log=no_links)
    return result


# -- roles and columns of one run ----------------------------------------------------------


def _extras_of_model(
    frame: pd.DataFrame, mapping: schema.RoleMapping, model: model_mod.LinkageModel
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
        values = work[role].dropna().astype(str).str.strip()
        distinct = values[values != ""].nunique()
        if distinct < 2:
            kept.discard(role)
            dropped[role] = "blank in every row" if distinct == 0 else "one value in every row"
    return kept, dropped


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
