"""``link``: records in, entities, scored pairs, decisions and the review list out.

This module wires the stages of DESIGN.md together; each stage's logic lives in its own
module. Data lives in DuckDB during a run; pandas appears at the edges (reading input, the
standardizer's distinct-value parsing, the result frames).
"""

from __future__ import annotations

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
    schema,
    survivorship,
)
from linkage import comparisons as comparisons_mod
from linkage import model as model_mod
from linkage import project as project_mod
from linkage import standardize as standardize_mod
from linkage._sql import run
from linkage.errors import ConfigError, InputError
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
    work = _working_frame(frames, mappings, role_set)
    keys = _sync.record_keys(work, multi)
    project.check_data([mappings[name].roles["record_id"] for name in frames], list(frames), keys)
    if survivorship_rules is not None:
        survivorship.check_rules(role_set, survivorship_rules)
    lap("read")

    match_roles = {r: r for r in role_set if r not in schema.PASS_THROUGH_ROLES}
    match_roles["record_id"] = "record_id"
    if standardize:
        std = standardize_mod.standardize(work, match_roles)
        derived, problems = std.frame, std.problems
    else:
        derived, problems = standardize_mod.minimal_clean(work, match_roles), _empty_problems()
    derived = standardize_mod.add_simple_clean(derived, role_set)
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
    rules = list(blocking_rules) if blocking_rules is not None else blocking.default_rules(role_set)
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

    comparison_map = comparisons_mod.default_comparisons(role_set, comparisons)
    tables = _split_by_source(con, records_table, list(frames)) if multi else [records_table]
    if model is None:
        settings = model_mod.build_settings(comparison_map, rules, link_type=link_type)
        linker = model_mod.make_linker(con, tables, settings)
        available = {c for c in derived.columns if c not in work.columns or c == "rid"}
        comparison_columns = _splink.comparison_input_columns(linker)
        training_log = model_mod.train(
            linker, available, comparison_columns, n_records=len(work), seed=seed
        )
        policy = decisions.DecisionPolicy(
            thresholds=thresholds or decisions.Thresholds(),
            rules=tuple(
                routing_rules
                if routing_rules is not None
                else decisions.default_rules(comparison_map)
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
            },
            training_log=training_log,
        )
        lap("train")
    else:
        trained = model
        if thresholds is not None or routing_rules is not None:
            trained.policy = decisions.DecisionPolicy(
                thresholds=thresholds or trained.policy.thresholds,
                rules=tuple(routing_rules) if routing_rules is not None else trained.policy.rules,
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
