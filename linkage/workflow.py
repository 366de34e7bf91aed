"""The merge workflow behind a :class:`~linkage.pipeline.LinkResult`.

``link`` scores, decides and clusters; this module ties a run to its project file (review
items, verdicts and stable entity ids through :meth:`ReviewQueue.sync`), builds golden
records and lineage, keeps the merge log and a customer's history, and undoes or erases on
request. ``LinkResult``'s methods call these functions; the store of records
(``_store_build``) reuses the golden-record build.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from linkage import blocking, pipeline, review, schema, survivorship
from linkage._sql import quote, run
from linkage.errors import ConfigError, ModelError
from linkage.survivorship import DERIVED_COLUMNS as _GOLDEN_DERIVED

if TYPE_CHECKING:
    from linkage.pipeline import LinkResult, _Clustered, _Pending, _RunContext

logger = logging.getLogger("linkage")

_MERGE_LOG_COLUMNS = (
    "entity_id",
    "event",
    "record_id_l",
    "record_id_r",
    "match_weight",
    "match_probability",
    "reason",
    "actor",
    "note",
    "at",
)

# Names for the tables each golden build leaves in DuckDB, unique within the process.
_BUILDS = itertools.count(1)


def open_queue(queue: review.ReviewQueue | str | os.PathLike[str] | None) -> review.ReviewQueue:
    if queue is None:
        return review.ReviewQueue.in_memory()
    if isinstance(queue, review.ReviewQueue):
        return queue
    if isinstance(queue, (str, os.PathLike)):
        return review.ReviewQueue.open(queue)
    raise ConfigError(
        f"queue must be a path to a project file or a ReviewQueue, not {type(queue).__name__}"
    )


def record_keys(work: pd.DataFrame, multi: bool) -> np.ndarray:
    """A record's key in the project file: its id, or ``input:id`` with several inputs."""
    ids = work["record_id"].astype(str)
    if multi:
        ids = work["source_dataset"].astype(str) + ":" + ids
    return ids.to_numpy(dtype=object)


def leave_out_erased(
    project: review.ReviewQueue,
    frames: dict[str, pd.DataFrame],
    mappings: dict[str, schema.RoleMapping],
    multi: bool,
) -> dict[str, pd.DataFrame]:
    """Records erased on request stay out, even when the CRM sends them again."""
    out = {}
    for name, frame in frames.items():
        ids = frame[mappings[name].roles["record_id"]].astype(str)
        keys = (name + ":" + ids) if multi else ids
        erased = project.erased_among(keys.to_numpy(dtype=object))
        if erased.any():
            logger.warning("input %r: %d erased records left out", name, int(erased.sum()))
            frame = frame[~erased].reset_index(drop=True)
        out[name] = frame
    return out


def sync(
    ctx: _RunContext, pairs_table: str, clustered: _Clustered, pending: _Pending, new_run: bool
) -> np.ndarray:
    """Write the clustering to the project file: entity ids come back stable."""
    con = ctx.con
    band = con.execute(
        f"SELECT rid_l, rid_r, match_weight, match_probability, reason FROM {pairs_table} "
        "WHERE decision = 'review'"
    ).df()
    tracked_keys = ctx.queue.tracked_pairs()
    keys = pd.Index(ctx.keys)
    a = keys.get_indexer(tracked_keys["key_l"])
    b = keys.get_indexer(tracked_keys["key_r"])
    known = (a >= 0) & (b >= 0)
    wanted = pd.DataFrame(
        {
            "key_l": tracked_keys["key_l"].to_numpy()[known],
            "key_r": tracked_keys["key_r"].to_numpy()[known],
            "rid_l": np.minimum(a, b)[known],
            "rid_r": np.maximum(a, b)[known],
        }
    )
    con.register("linkage_tracked_view", wanted)
    tracked = con.execute(
        f"SELECT w.key_l, w.key_r, p.decision, p.match_weight, p.match_probability "
        f"FROM linkage_tracked_view w LEFT JOIN {pairs_table} p USING (rid_l, rid_r)"
    ).df()
    con.unregister("linkage_tracked_view")
    conflicts = clustered.conflicts
    active = np.ones(len(ctx.work), dtype=bool)
    active[list(ctx.erased)] = False
    run_sync = review.RunSync(
        keys=ctx.keys,
        source_dataset=ctx.work["source_dataset"].to_numpy(),
        record_id=ctx.work["record_id"].to_numpy(),
        labels=clustered.labels,
        active=active,
        review=pair_items(ctx, band),
        tracked=tracked,
        conflicts=pair_items(ctx, conflicts),
        verdicts=pending.verdicts,
        events=pending.events,
        erase=pending.erase,
        new_run=new_run,
    )
    return ctx.queue.sync(run_sync)


def pair_items(ctx: _RunContext, pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs (``rid_l, rid_r`` and scores) as queue items: canonical keys, both records'
    values as JSON."""
    columns = ["key_l", "key_r", "match_weight", "match_probability", "reason", "decision"]
    if pairs.empty:
        return pd.DataFrame(columns=[*columns, "values_l", "values_r"]).astype(
            {"match_weight": float, "match_probability": float}
        )
    a = pairs["rid_l"].to_numpy(np.int64)
    b = pairs["rid_r"].to_numpy(np.int64)
    swap = ctx.keys[a] > ctx.keys[b]
    first, second = np.where(swap, b, a), np.where(swap, a, b)
    shown = [c for c in ctx.work.columns if c != "rid" and (ctx.multi or c != "source_dataset")]
    values = ctx.work[shown]

    def as_json(rids: np.ndarray) -> list[str]:
        text = values.iloc[rids].to_json(orient="records", lines=True, force_ascii=False)
        return text.splitlines()

    return pd.DataFrame(
        {
            "key_l": ctx.keys[first],
            "key_r": ctx.keys[second],
            "match_weight": pairs["match_weight"].to_numpy(float),
            "match_probability": pairs.get(
                "match_probability", pd.Series(np.nan, index=pairs.index)
            ).to_numpy(float),
            "reason": pairs["reason"].astype(str).to_numpy(),
            "decision": pairs.get("decision", pd.Series("review", index=pairs.index)).to_numpy(),
            "values_l": as_json(first),
            "values_r": as_json(second),
        }
    )


def audit_candidates(result: LinkResult, sizes: Mapping[str, int], seed: int) -> pd.DataFrame:
    """A seeded random sample of pairs per decision, as queue items with a sampling weight
    (pairs in the stratum / pairs sampled). Used by ``ReviewQueue.add_audit_sample``."""
    if result._context is None or result.pairs_table is None:
        raise ModelError("an audit sample needs a linked result with scored pairs")
    ctx, parts = result._context, []
    for decision, size in sizes.items():
        if size <= 0:
            continue
        population = ctx.con.execute(
            f"SELECT count(*) FROM {result.pairs_table} WHERE decision = ?", [decision]
        ).fetchall()[0][0]
        sample = ctx.con.execute(
            f"SELECT rid_l, rid_r, match_weight, match_probability, reason, decision "
            f"FROM {result.pairs_table} WHERE decision = ? "
            "ORDER BY hash(rid_l, rid_r, ?), rid_l, rid_r LIMIT ?",
            [decision, seed, int(size)],
        ).df()
        if sample.empty:
            continue
        items = pair_items(ctx, sample)
        items["sample_weight"] = population / len(sample)
        parts.append(items)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _members_view(result: LinkResult) -> str:
    """A view of this result's records (raw values, entity id, derived columns)."""
    ctx = result._context
    con = ctx.con
    name = f"linkage_members_{next(_BUILDS)}"
    work = ctx.work.assign(entity_id=result._entity_ids)
    if ctx.erased:
        work = work.drop(index=sorted(ctx.erased))
    # Mixed-type object columns (a phone read as a float) go to DuckDB as text.
    for column in work.columns:
        if work[column].dtype == object and column not in ("entity_id",):
            work[column] = work[column].map(_as_text)
    con.register(f"{name}_work", work)
    derived = {r[0] for r in con.execute(f"SELECT * FROM {ctx.records_table} LIMIT 0").description}
    wanted = [c for c in derived if c.endswith("_valid") or c in _GOLDEN_DERIVED]
    picked = "".join(f", d.{quote(c)}" for c in wanted if c not in work.columns)
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT w.*{picked} FROM {name}_work w "
        f"LEFT JOIN {ctx.records_table} d USING (rid)",
    )
    return name


def _as_text(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def golden_tables(result: LinkResult) -> survivorship.GoldenTables:
    ctx = result._context
    members = _members_view(result)
    roles = [c for c in ctx.work.columns if c not in ("rid", "source_dataset", "record_id")]
    priority = ctx.source_priority
    if priority is None and ctx.multi:
        priority = list(ctx.frames)
    return survivorship.build(
        ctx.con,
        members,
        roles,
        rules=ctx.survivorship_rules,
        source_priority=priority,
        prefix=f"linkage_{next(_BUILDS)}",
    )


def merge_log(result: LinkResult) -> pd.DataFrame:
    """Which links built each entity, plus the undos and erasures logged against it."""
    ctx = result._context
    links = result._links if result._links is not None else pd.DataFrame()
    record_ids = ctx.work["record_id"].to_numpy()
    columns = list(_MERGE_LOG_COLUMNS)
    if links.empty:
        log = pd.DataFrame(columns=columns)
    else:
        a = links["rid_l"].to_numpy(np.int64)
        b = links["rid_r"].to_numpy(np.int64)
        log = pd.DataFrame(
            {
                "entity_id": result._entity_ids[a],
                "event": np.where(links["how"] == "verdict", "merged_by_verdict", "auto_merged"),
                "record_id_l": record_ids[a],
                "record_id_r": record_ids[b],
                "match_weight": links["match_weight"].to_numpy(float),
                "match_probability": links.get("match_probability"),
                "reason": links["reason"].to_numpy(),
                "actor": links.get("reviewer"),
                "note": links.get("note"),
                "at": links.get("decided_at"),
            }
        )
        if ctx.multi:
            log["record_id_l"] = ctx.keys[a]
            log["record_id_r"] = ctx.keys[b]
    events = ctx.queue.events() if ctx.queue is not None else pd.DataFrame()
    if not events.empty:
        events = events[events["entity_id"].isin(set(pd.Series(result._entity_ids).dropna()))]
        events = pd.DataFrame(
            {
                "entity_id": events["entity_id"],
                "event": events["event"],
                "record_id_l": events["record_key"],
                "actor": events["actor"],
                "note": events["note"],
                "at": events["at"],
            }
        )
        log = pd.concat([log, events], ignore_index=True)
    return log.sort_values(["entity_id", "at"], na_position="first", kind="stable").reset_index(
        drop=True
    )[columns]


def history(result: LinkResult, entity_id: str | None) -> pd.DataFrame:
    if result._context is None:
        raise ModelError("a history needs a linked result (more than one record)")
    ctx = result._context
    members = _members_view(result)
    names = {r[0] for r in ctx.con.execute(f"SELECT * FROM {members} LIMIT 0").description}
    time_columns = [c for c in ("created_at_ts", "updated_at_ts") if c in names]
    order = f"coalesce({', '.join(time_columns)})" if time_columns else "NULL"
    first = ["entity_id"] + (["source_dataset"] if ctx.multi else []) + ["record_id"]
    first += [c for c in ("source", "created_at", "updated_at") if c in names]
    rest = [c for c in ctx.work.columns if c not in first and c not in ("rid", "source_dataset")]
    where, params = ("WHERE entity_id = ?", [entity_id]) if entity_id is not None else ("", [])
    frame = ctx.con.execute(
        f"SELECT {', '.join(quote(c) for c in first + rest)}, {order} AS at FROM {members} "
        f"{where} ORDER BY entity_id, {order} NULLS LAST, rid",
        params,
    ).df()
    if entity_id is not None and frame.empty:
        raise ConfigError(f"no entity {entity_id!r} in this result")
    id_column = next(iter(ctx.mappings.values())).roles["record_id"]
    return frame.rename(columns={"record_id": id_column})


def _rid_of(result: LinkResult, record: str | tuple[str, str]) -> int:
    ctx = result._context
    if ctx is None:
        raise ModelError("this needs a linked result (more than one record)")
    key = review.record_key(record)
    position = pd.Index(ctx.keys).get_indexer([key])[0]
    if position < 0 or position in ctx.erased:
        hint = " (with several inputs, name it 'input:id' or (input, id))" if ctx.multi else ""
        raise ConfigError(f"no record {key!r} in this result{hint}")
    return int(position)


def undo(
    result: LinkResult,
    *,
    reviewer: str,
    note: str | None,
    record: str | tuple[str, str] | None = None,
    entity_id: str | None = None,
) -> LinkResult:
    review._check_verdict("non_match", reviewer)
    ctx, ids = result._context, result._entity_ids
    if record is not None:
        rid = _rid_of(result, record)
        members = np.flatnonzero(ids == ids[rid])
        if len(members) < 2:
            raise ConfigError(f"record {ctx.keys[rid]!r} is alone in its entity: nothing to undo")
        pairs = [(rid, int(m)) for m in members if m != rid]
        event = ("take_out", ctx.keys[rid], reviewer, note)
    else:
        if ctx is None:
            raise ModelError("this needs a linked result (more than one record)")
        members = np.flatnonzero(ids == entity_id)
        if len(members) == 0:
            raise ConfigError(f"no entity {entity_id!r} in this result")
        pairs = [(int(a), int(b)) for i, a in enumerate(members) for b in members[i + 1 :]]
        event = ("split", ctx.keys[members[0]], reviewer, note)
    pending = pipeline._Pending(
        verdicts=[
            (ctx.keys[a], ctx.keys[b], "non_match", reviewer, note, "undo") for a, b in pairs
        ],
        events=[event],
    )
    return pipeline._decide_and_cluster(
        ctx,
        result.model,
        {},
        source_table=f"(SELECT * EXCLUDE (decision, reason) FROM {result.pairs_table})",
        previous=result,
        pending=pending,
    )


def forget(result: LinkResult, record: str | tuple[str, str]) -> LinkResult:
    rid = _rid_of(result, record)
    ctx = result._context
    key = ctx.keys[rid]
    ctx.erased.add(rid)
    _scrub(ctx, rid)
    return pipeline._decide_and_cluster(
        ctx,
        result.model,
        {},
        source_table=f"(SELECT * EXCLUDE (decision, reason) FROM {result.pairs_table})",
        previous=result,
        pending=pipeline._Pending(erase=[key]),
    )


def _scrub(ctx: _RunContext, rid: int) -> None:
    """Remove an erased record's values from every table of the run (never the caller's
    own input frame)."""
    values = [c for c in ctx.work.columns if c not in ("rid", "source_dataset", "record_id")]
    ctx.work.loc[ctx.work["rid"] == rid, values] = None
    # Golden records and lineage built before the erasure: dropped, rebuilt on demand.
    for name, kind in ctx.con.execute(
        "SELECT table_name, 'TABLE' FROM duckdb_tables() UNION ALL "
        "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE NOT internal"
    ).fetchall():
        if re.fullmatch(r"linkage_\d+_(golden|lineage|lineage_values)|linkage_members_\d+", name):
            run(ctx.con, f"DROP {kind} IF EXISTS {quote(name)}")
    for name in [r[0] for r in ctx.con.execute("SHOW TABLES").fetchall()]:
        if re.fullmatch(r"linkage_members_\d+_work", name):
            ctx.con.unregister(name)
    tables = [r[0] for r in ctx.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    for table in tables:
        columns = {
            r[0] for r in ctx.con.execute(f"SELECT * FROM {quote(table)} LIMIT 0").description
        }
        if "rid" in columns:
            run(ctx.con, f"DELETE FROM {quote(table)} WHERE rid = ?", [rid])
        elif {"rid_l", "rid_r"} <= columns:
            run(ctx.con, f"DELETE FROM {quote(table)} WHERE rid_l = ? OR rid_r = ?", [rid, rid])


def single_record_result(
    work: pd.DataFrame,
    derived: pd.DataFrame,
    problems: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    mappings: dict[str, schema.RoleMapping],
    model: Any,
    timings: dict[str, float],
    *,
    project: review.ReviewQueue,
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
        review.RunSync(
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
            members[column] = members[column].map(_as_text)
    for column in derived.columns:
        if column not in members.columns and (
            column.endswith("_valid") or column in _GOLDEN_DERIVED
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
    result = pipeline.LinkResult(
        entities=entities,
        model=model,
        roles=mappings,
        blocking=blocking.BlockingReport(),
        problems=problems,
        timings=timings,
        records=work,
    )
    no_links = pd.DataFrame(columns=_MERGE_LOG_COLUMNS)
    result._cache["golden"] = golden
    result._cache["lineage"] = survivorship.Lineage(fields=fields, merge_log=no_links)
    return result
