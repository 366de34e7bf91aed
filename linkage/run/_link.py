"""``link``: records in, entities, scored pairs, decisions and the review list out.

This module wires the stages of DESIGN.md together; each stage's logic lives in its own
module. The steps a run shares with :meth:`LinkageModel.fit <linkage.model.LinkageModel.fit>`
(reading the inputs, the working frame, standardizing, blocking, training) are in
:mod:`linkage.model`; this module adds the project file, scoring, decisions and clusters.
Data lives in DuckDB during a run; pandas appears at the edges (reading input, the
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
    _memory,
    _splink,
    blocking,
    decisions,
    schema,
    survivorship,
)
from linkage import model as model_mod
from linkage import project as project_mod
from linkage._sql import run
from linkage.errors import ConfigError
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
    memory_limit: str | int | None = None,
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
        model: a fitted model (``LinkageModel(...).fit(records)`` or
            ``LinkageModel.load(path)``): score without training. The model is never
            changed (with ``thresholds`` or ``routing_rules``, the result holds a new model
            with the new policy).
        link_type: with several inputs, ``"link_and_dedupe"`` (default) or ``"link_only"``.
        seed: makes the random sampling in training, and so the whole run, repeatable.
        max_block_size: a blocking key value shared by more records than this is not used
            for blocking (a switchboard, a placeholder); it is reported.
        max_pairs: refuse to run when blocking would generate more candidate pairs.
        pair_budget: loose blocking rules (catching pairs with typos everywhere) are used
            only while the candidate pairs stay within this many, and when the strict
            rules alone make more, their biggest blocks are left out (reported). Default:
            15 per record, at least 2,000,000, at most ``max_pairs``.
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
        memory_limit: DuckDB's share of memory, e.g. ``"2GB"`` (default: ``1.5GB``, or
            ``$LINKAGE_MEMORY_LIMIT``), beyond which it spills to a temporary directory
            that is removed afterwards; the process as a whole needs more (pandas frames
            of the records). Applied to ``connection`` only when given. The run's peak is
            ``result.peak_memory``.

    Returns:
        a :class:`LinkResult`.

    Raises:
        InputError, SchemaError, ConfigError: with what was wrong and how to fix it.
        ModelError: ``model`` is not fitted, or nothing could be learned from the records.
        ProjectError: the project file cannot be used (other data, newer version, busy).
    """
    with _memory.PeakMemory() as peak:
        result = _link(
            data,
            roles=roles,
            comparisons=comparisons,
            blocking_rules=blocking_rules,
            thresholds=thresholds,
            routing_rules=routing_rules,
            model=model,
            link_type=link_type,
            seed=seed,
            max_block_size=max_block_size,
            max_pairs=max_pairs,
            pair_budget=pair_budget,
            keep_apart_below=keep_apart_below,
            cluster_method=cluster_method,
            standardize=standardize,
            connection=connection,
            queue=queue,
            survivorship_rules=survivorship_rules,
            source_priority=source_priority,
            level=level,
            country=country,
            memory_limit=memory_limit,
        )
    # Set once, as the result is handed out (the dataclass is read-only to callers).
    object.__setattr__(result, "peak_memory", peak.peak)
    return result


def _link(
    data: Any,
    *,
    roles: Any,
    comparisons: Any,
    blocking_rules: Any,
    thresholds: Any,
    routing_rules: Any,
    model: Any,
    link_type: Any,
    seed: Any,
    max_block_size: Any,
    max_pairs: Any,
    pair_budget: Any,
    keep_apart_below: Any,
    cluster_method: Any,
    standardize: Any,
    connection: Any,
    queue: Any,
    survivorship_rules: Any,
    source_priority: Any,
    level: Any,
    country: Any,
    memory_limit: Any,
) -> LinkResult:
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
    frames, mappings = model_mod.read_inputs(data, roles, model)
    project = _sync.open_queue(queue, memory_limit)
    frames = _sync.leave_out_erased(project, frames, mappings, len(frames) > 1)
    records = model_mod.working_records(
        frames, mappings, link_type=link_type, level=level, model=model
    )
    keys = _sync.record_keys(records.work, records.multi)
    project.check_data(
        [records.mappings[name].roles["record_id"] for name in records.frames],
        list(records.frames),
        keys,
    )
    if survivorship_rules is not None:
        survivorship.check_rules(records.role_set, survivorship_rules)
    lap("read")

    records = model_mod.standardize_records(
        records, country=country, standardize=standardize, model=model
    )
    lap("standardize")
    if len(records.work) < 2:
        # One record has no pair to compare: it is its own entity.
        return single_record_result(
            records.work,
            records.derived,
            records.problems,
            records.frames,
            records.mappings,
            model,
            timings,
            project=project,
            keys=keys,
            survivorship_rules=survivorship_rules,
            source_priority=source_priority,
        )

    if connection is None:
        con = _memory.connect(memory_limit)
    else:
        con = connection
        _memory.limit_connection(con, memory_limit)
    tables = model_mod.prepare_tables(
        records,
        con,
        comparisons=comparisons,
        blocking_rules=blocking_rules,
        max_block_size=max_block_size,
        pair_budget=pair_budget,
        max_pairs=max_pairs,
    )
    # The standardized columns now live in DuckDB (``linkage_records``): the pandas copy
    # goes, so that a million records are not held twice (about 1 GB).
    records = dataclasses.replace(records, derived=None)
    lap("blocking")

    if model is None:
        # The arguments that configure a model are its parameters (LinkageModel.fit's).
        estimator = model_mod.LinkageModel(
            roles=roles,
            level=level,
            country=country,
            comparisons=comparisons,
            blocking_rules=blocking_rules,
            thresholds=thresholds,
            routing_rules=routing_rules,
            link_type=link_type,
            seed=seed,
            max_block_size=max_block_size,
            max_pairs=max_pairs,
            pair_budget=pair_budget,
        )
        state, linker = model_mod.train_model(
            estimator.get_params(),
            records,
            tables,
            keep_apart_below=keep_apart_below,
            cluster_method=cluster_method,
        )
        trained = model_mod.LinkageModel.from_fitted(state)
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
            blocking.block_on_key(r) for r in tables.rules
        ]
        linker = model_mod.make_linker(con, tables.tables, settings)

    # Scores without the records' values beside each pair: charts join them back.
    predictions = _splink.predict_scores(linker)
    lap("score")
    context = RunContext(
        con=con,
        linker=linker,
        predictions_table=predictions.physical_name,
        records_table=tables.records_table,
        work=records.work,
        frames=records.frames,
        mappings=records.mappings,
        report=tables.report,
        problems=records.problems,
        multi=records.multi,
        keep_apart_below=keep_apart_below,
        cluster_method=cluster_method,
        queue=project,
        keys=keys,
        survivorship_rules=survivorship_rules,
        source_priority=list(source_priority) if source_priority is not None else None,
    )
    return decide_and_cluster(context, trained, timings, new_run=True)


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
        golden = tables.golden_frame(scratch)
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
