"""The writing side of the record store (internal): making a store from a ``link``
result, importing a batch, editing a record, retraining, re-clustering.

Every write is one transaction on the project file (the review queue's), so a process
killed in the middle leaves the store as it was before, or as it is after.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from linkage import blocking, clustering, project, survivorship
from linkage import standardize as standardize_mod
from linkage._sql import md5_hash, quote, run
from linkage.errors import (
    InputError,
    StoreError,
)
from linkage.run import link
from linkage.store._index import Appended, MemoryIndex, RecordTable, Rewritten, lookup_hash
from linkage.store._records import (
    STORE_FORMAT_VERSION,
    AddResult,
    CheckResult,
    StoreState,
    is_missing,
    json_payloads,
    one_result,
    timer,
)
from linkage.store._scorer import Scorer

if TYPE_CHECKING:
    from linkage.store._store import RecordStore

logger = logging.getLogger("linkage")


# The store's tables built from a link result (besides store_models, the model versions).
STORE_TABLES = (
    "store_records",
    "store_lookup",
    "store_keys",
    "store_counts",
    "store_phone_names",
    "store_golden",
)

_QUEUE_TABLES = (
    "project_records",
    "project_entity_ids",
    "review_items",
    "verdicts",
    "project_events",
    "erasures",
)


def build_store(
    result: Any,
    path: str | os.PathLike[str] | None,
    object_name: str,
    replace: bool,
    timeout: float,
    discard: bool = False,
    memory_limit: str | int | None = None,
) -> project.ReviewQueue:
    """Write the store tables for ``result`` into its project file; returns the queue."""

    ctx = getattr(result, "_context", None)
    if ctx is None or result.model is None:
        raise StoreError("a store is made from a linked result of two or more records")
    extras = result.model.config.get("extras") or []
    if extras:
        columns = ", ".join(f"{e['column']!r} ({e['kind']})" for e in extras)
        raise StoreError(
            f"the model compares columns no role claims ({columns}); the record store checks "
            "roles only. Link with those columns mapped to roles, or left out "
            "(comparisons={'extra_1': None, ...}), then build the store"
        )
    source_queue = result.queue
    if path is None:
        if source_queue is None or source_queue.path is None:
            raise StoreError(
                "this result's review queue is in memory: pass path='crm.linkage' to build "
                "the store in a project file (or link with queue='crm.linkage')"
            )
        path = source_queue.path
    path = Path(path)
    copy_queue = source_queue is None or source_queue.path is None
    if not copy_queue and Path(source_queue.path).resolve() != path.resolve():
        raise StoreError(
            f"this result is synced with {source_queue.path}; build its store there "
            "(path=None), or link again with queue=path"
        )
    queue = project.ReviewQueue.open(path, timeout=timeout, memory_limit=memory_limit)
    con = queue.hold()
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "store_records" in tables and not replace:
            raise StoreError(
                f"{path} holds a store already: open it with RecordStore.open, or pass "
                "replace=True to make it again"
            )
        if "store_records" in tables and not discard:
            _refuse_losing_store_changes(con, path, np.asarray(ctx.keys, dtype=object))
        scorer = Scorer(result.model, _types(ctx.con, ctx.records_table))
        work = ctx.work
        active = np.ones(len(work), dtype=bool)
        active[list(ctx.erased)] = False
        entity_ids = np.asarray(result._entity_ids, dtype=object)
        rules = [blocking.BlockingRule(**r) for r in result.model.config["blocking_rules"]]
        roles = [c for c in work.columns if c not in ("rid", "source_dataset")]
        raw = work[roles].copy()
        for column in raw.columns:
            raw[column] = _texts(raw[column])
        rec = pd.DataFrame(
            {
                "rid": work["rid"].to_numpy(np.int64),
                "record_key": np.asarray(ctx.keys, dtype=object),
                "entity_id": entity_ids,
            }
        )
        rec = pd.concat([rec, raw.add_prefix("raw_")], axis=1)[active].reset_index(drop=True)
        con_r = ctx.con
        con_r.register("store_rec_view", rec)
        with tempfile.TemporaryDirectory() as folder:
            files = _export(
                con_r, folder, scorer, rules, ctx.records_table, result, copy_queue, source_queue
            )
            con_r.unregister("store_rec_view")
            # Non-null counts over the run's records: the denominators of splink's
            # term frequencies.
            totals = {
                column: int(
                    con_r.execute(
                        f"SELECT count({quote(column)}) FROM {ctx.records_table}"
                    ).fetchall()[0][0]
                )
                for column in scorer.tf_columns
            }
            guarded: dict[str, list[str]] = {}
            for item in result.blocking.guarded:
                rule = next((r for r in rules if r.name == item["rule"]), None)
                if rule is not None:
                    guarded.setdefault(rule.key_column, []).append(str(item["value"]))
            mapping = next(iter(ctx.mappings.values())).roles
            with queue.file.transaction() as tx:
                # store_lineage: kept by stores built before lineage was built on request.
                for table in ("store_models", *STORE_TABLES, "store_lineage"):
                    run(tx, f"DROP TABLE IF EXISTS {table}")
                if copy_queue:
                    for table in _QUEUE_TABLES:
                        run(tx, f"DELETE FROM {table}")
                        run(
                            tx, f"INSERT INTO {table} SELECT * FROM read_parquet(?)", [files[table]]
                        )
                    # The run count, and what the file was made for (its id columns
                    # name the queue's columns).
                    source_meta = dict(
                        source_queue.file.connect()
                        .execute(
                            "SELECT key, value FROM linkage_meta "
                            "WHERE key IN ('runs', 'id_columns', 'inputs')"
                        )
                        .fetchall()
                    )
                    project.write_meta(tx, "runs", source_meta.pop("runs", "1"))
                    for key, value in source_meta.items():
                        project.write_meta(tx, key, value)
                    for sequence, table, column in (
                        ("review_item_ids", "review_items", "item_id"),
                        ("verdict_ids", "verdicts", "verdict_id"),
                        ("event_ids", "project_events", "event_id"),
                    ):
                        top = tx.execute(f"SELECT coalesce(max({column}), 0) FROM {table}")
                        start = int(top.fetchall()[0][0]) + 1
                        run(tx, f"DROP SEQUENCE IF EXISTS {sequence}")
                        run(tx, f"CREATE SEQUENCE {sequence} START {start}")
                run(
                    tx,
                    "CREATE TABLE store_models (version INTEGER PRIMARY KEY, "
                    "created_at TIMESTAMP, note VARCHAR, model VARCHAR)",
                )
                run(
                    tx,
                    "INSERT INTO store_models VALUES (1, ?, ?, ?)",
                    [project.now(), "from link", json.dumps(result.model.to_dict(), default=str)],
                )
                for table in STORE_TABLES:
                    run(
                        tx, f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)", [files[table]]
                    )
                # No ART index: checks find keys, records and golden records in memory,
                # and DuckDB writes each index whole at every checkpoint (2.1 s of an
                # import's commit at a million records, with five). Counts are found by
                # their hash's zone maps (the table is sorted by it).
                meta = {
                    "store_format_version": str(STORE_FORMAT_VERSION),
                    "store_object": object_name,
                    "store_model_version": "1",
                    "store_roles": json.dumps(sorted(set(roles) | {"record_id"})),
                    "store_columns": json.dumps(dict(mapping)),
                    "store_rules": json.dumps(
                        [
                            {"name": r.name, "columns": list(r.columns), "roles": list(r.roles)}
                            for r in rules
                        ]
                    ),
                    "store_guarded": json.dumps(guarded, ensure_ascii=False),
                    "store_types": json.dumps(_types(ctx.con, ctx.records_table)),
                    "store_tf_totals": json.dumps(totals),
                    "store_next_rid": str(int(work["rid"].max()) + 1),
                    "store_n_records": str(int(active.sum())),
                    "store_trained_records": str(int(active.sum())),
                    "store_max_block_size": str(int(result.model.config["max_block_size"])),
                    "store_multi": "true" if ctx.multi else "false",
                    # The run's survivorship settings: the store's golden records are
                    # rebuilt, and its lineage built, by the rules the run used.
                    survivorship.SETTINGS_KEY: result._golden_tables().settings,
                }
                for key, value in meta.items():
                    project.write_meta(tx, key, value)
        queue.file.checkpoint()
    except BaseException:
        queue.release()
        raise
    queue.release()
    return queue


def _refuse_losing_store_changes(
    con: duckdb.DuckDBPyConnection, path: Path, keys: np.ndarray
) -> None:
    """A rebuild from a run must not silently drop what the store gained since it was
    built: records added with ``store.add`` that the run does not hold, and retrained
    model versions."""
    con.register("rebuild_keys", pd.DataFrame({"record_key": keys}))
    try:
        extra = [
            r[0]
            for r in con.execute(
                "SELECT record_key FROM store_records ANTI JOIN rebuild_keys USING (record_key) "
                "ORDER BY rid"
            ).fetchall()
        ]
    finally:
        con.unregister("rebuild_keys")
    versions = int(con.execute("SELECT count(*) FROM store_models").fetchall()[0][0])
    if not extra and versions <= 1:
        return
    lost = []
    if extra:
        shown = ", ".join(map(repr, extra[:3])) + (", ..." if len(extra) > 3 else "")
        lost.append(f"{len(extra):,} records this run does not hold ({shown})")
    if versions > 1:
        lost.append(f"{versions - 1} retrained model version(s)")
    raise StoreError(
        f"rebuilding the store in {path} from this run would drop {' and '.join(lost)}, "
        "added since the store was built. Link an export that holds every record, or add "
        "the new records with store.add (CLI: linkage add); to rebuild on purpose and drop "
        "them, pass discard=True (CLI: --rebuild-store)"
    )


def _export(
    con: duckdb.DuckDBPyConnection,
    folder: str,
    scorer: Any,
    rules: list[blocking.BlockingRule],
    records_table: str,
    result: Any,
    copy_queue: bool,
    source_queue: project.ReviewQueue | None,
) -> dict[str, str]:
    """Write each store table of the result as Parquet (fast to load in one statement)."""
    files = {}

    def write(name: str, sql: str, connection: duckdb.DuckDBPyConnection = con) -> None:
        target = str(Path(folder) / f"{name}.parquet")
        run(connection, f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
        files[name] = target

    write(
        "store_records",
        f"SELECT v.rid, v.record_key, CAST(v.raw_record_id AS VARCHAR) AS record_id, "
        f"r.source_dataset, v.entity_id, 1 AS scored_by, "
        f"CAST(NULL AS TIMESTAMP) AS added_at, v.* EXCLUDE (rid, record_key, entity_id), "
        f"r.* EXCLUDE (rid, source_dataset) "
        f"FROM store_rec_view v JOIN {records_table} r USING (rid) ORDER BY v.rid",
    )
    payload = ", ".join(f"{quote(c)} := r.{quote(c)}" for c in scorer.payload_columns)
    write(
        "store_lookup",
        f"SELECT v.rid, v.record_key, v.entity_id, "
        f"CAST(to_json(struct_pack({payload})) AS VARCHAR) AS payload "
        f"FROM store_rec_view v JOIN {records_table} r USING (rid) ORDER BY v.rid",
    )
    keys = " UNION ALL ".join(
        f"SELECT '{r.name}:' || r.{quote(r.key_column)} AS lookup, r.rid FROM {records_table} r "
        f"SEMI JOIN store_rec_view v USING (rid) WHERE r.{quote(r.key_column)} IS NOT NULL"
        for r in rules
    )
    # Ordered by the lookup's hash: opening the store reads it straight into a sorted index.
    write(
        "store_keys",
        f"SELECT lookup, rid, {md5_hash('lookup')} AS lookup_hash FROM ({keys}) "
        "ORDER BY lookup_hash, rid",
    )
    counts = [
        f"SELECT 'tf:{c}=' || CAST({quote(c)} AS VARCHAR) AS lookup, count(*) AS n "
        f"FROM {records_table} WHERE {quote(c)} IS NOT NULL GROUP BY {quote(c)}"
        for c in scorer.tf_columns
    ]
    names_sql = _phone_names_sql(con, records_table)
    write("store_phone_names", names_sql)
    counts.append(f"SELECT 'pc:' || e164 AS lookup, count(*) AS n FROM ({names_sql}) GROUP BY e164")
    counts.append(f"SELECT 'pn:' || e164 || '|' || name_key AS lookup, 1 AS n FROM ({names_sql})")
    write(
        "store_counts",
        f"SELECT lookup, n, {md5_hash('lookup')} AS lookup_hash "
        f"FROM ({' UNION ALL '.join(counts)}) ORDER BY lookup_hash",
    )
    # Straight from the run's DuckDB tables: a million golden records never pass pandas.
    tables = result._golden_tables()
    write("store_golden", f"SELECT * FROM {tables.golden}")
    if copy_queue and source_queue is not None:
        source = source_queue.file.connect()
        for table in _QUEUE_TABLES:
            write(table, f"SELECT * FROM {table}", source)
    return files


def _phone_names_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Distinct (number, name key) pairs over both phone columns (how the standardizer
    pools them when it flags a shared number)."""
    columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    parts = [
        f"SELECT {quote(p)} AS e164, person_name_key AS name_key FROM {table} "
        f"WHERE {quote(p)} IS NOT NULL AND person_name_key IS NOT NULL"
        for p in ("mobile_e164", "phone_e164")
        if p in columns and "person_name_key" in columns
    ]
    if not parts:
        return "SELECT CAST(NULL AS VARCHAR) AS e164, CAST(NULL AS VARCHAR) AS name_key LIMIT 0"
    return f"SELECT DISTINCT e164, name_key FROM ({' UNION ALL '.join(parts)})"


def _types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _texts(column: pd.Series) -> list[str | None]:
    """:func:`_text` of each value: text as it is (most values) without the call."""
    return [v if type(v) is str else _text(v) for v in column.to_numpy(object).tolist()]


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    return str(value)


def add_batch(
    store: RecordStore,
    state: StoreState,
    frame: pd.DataFrame,
    roles: Mapping[str, str | None] | None,
    actor: str | None,
) -> tuple[AddResult, StoreState, Appended]:
    """Import a batch (``store`` finds and scores its candidates, under ``state``);
    returns what was done, the state it leaves and what it appended to the index."""
    import time

    timings: dict[str, float] = {}
    started = time.perf_counter()
    con = store._cursor()
    scorer = store._scorer(state.model_version)
    work, ids = store._role_frame(frame, roles, require_ids=True)
    if pd.isna(pd.Series(ids)).any():
        raise InputError("every record to add needs an id: some ids are empty")
    keys = np.array([str(i) for i in ids], dtype=object)
    if state.multi:
        keys = np.array([f"records:{i}" for i in ids], dtype=object)
    if len(set(keys)) != len(keys):
        dupes = pd.Series(keys)[pd.Series(keys).duplicated()].unique()[:5].tolist()
        raise InputError(f"ids must be unique within the batch; duplicated: {dupes}")
    con.register("incoming_keys", pd.DataFrame({"record_key": keys}))
    known = [
        r[0]
        for r in con.execute(
            "SELECT record_key FROM store_lookup SEMI JOIN incoming_keys USING (record_key)"
        ).fetchall()
    ]
    con.unregister("incoming_keys")
    if known:
        raise InputError(
            f"{len(known)} record(s) are in the store already (e.g. {known[:5]}): change "
            "them with store.edit(record_id, values), or leave them out of the import"
        )
    erased = store.queue.erased_among(keys)
    if erased.any():
        work, ids, keys = work[~erased].reset_index(drop=True), ids[~erased], keys[~erased]
    with timer(timings, "standardize"):
        derived = standardize_mod.standardize_records(
            work, scorer.needed_roles(work.columns), country=scorer.country
        )
    with timer(timings, "candidates"):
        probes = store._prepare(con, work, ids, scorer, derived=derived)
        probes.keys = keys
        pairs, batch_pairs = _all_pairs(store, probes, state.max_block_size)
    with timer(timings, "score"):
        scored = store._score(con, scorer, probes, pairs, batch_pairs)
        # As link does: pairs inside each group that auto-merge links would form, which
        # blocking never proposed, are scored too, to keep apart what they argue against.
        group_store, group_batch = _group_pairs(store._index().rows, probes, scored)
        evidence = store._score(con, scorer, probes, group_store, group_batch, more=True)
    with timer(timings, "cluster"):
        plan = _cluster_batch(scorer.model, probes, scored, evidence)
        plan["gammas"] = _item_gammas(con, scorer, scored, plan["conflicts"])
    with timer(timings, "write"):
        review_count, conflicts, state, appended = _write_batch(
            store.queue,
            state,
            scorer,
            work,
            ids,
            probes,
            derived,
            scored,
            plan,
            actor,
            store._index().counts,
        )
    timings["total"] = time.perf_counter() - started
    decision, weight = _best_links(probes.rids, scored)
    entities = pd.DataFrame(
        {
            "record_id": ids,
            "entity_id": plan["entity_id"],
            "outcome": plan["outcome"],
            "decision": decision,
            "match_weight": weight,
        }
    )
    result = AddResult(
        entities=entities,
        review_items=review_count,
        conflicts=conflicts,
        model_version=state.model_version,
        timings=timings,
        untrained_records=state.untrained,
        retrain_advised=state.retrain_advised,
    )
    return result, state, appended


def _best_links(rids: np.ndarray, scored: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Per record of the batch (``rids``, in order): the decision and match weight of its
    strongest scored pair, with a stored record or another of the batch; missing where it
    had no candidate. Ties go to the pair scored first (pairs are sorted by rid)."""
    weight = scored["match_weight"].to_numpy(np.float64)
    # Each pair counts for each of its records that is in the batch: per record, the end
    # of greatest weight, the first scored among equals (positions break ties).
    ends = np.concatenate([scored["rid_l"].to_numpy(np.int64), scored["rid_r"].to_numpy(np.int64)])
    wanted = np.asarray(rids, dtype=np.int64)
    # Only the batch's ends (half of them): a stable sort keeps the first among equals.
    mine = np.flatnonzero(np.isin(ends, wanted))
    if not len(mine):  # no pairs, or none of the batch's
        return pd.Series([None] * len(rids), dtype=object), np.full(len(rids), np.nan)
    ends = ends[mine]
    order = np.lexsort((-np.concatenate([weight, weight])[mine], ends))
    first = order[np.r_[True, ends[order][1:] != ends[order][:-1]]]
    best_rid = ends[first]
    at = np.minimum(np.searchsorted(best_rid, wanted), len(best_rid) - 1)
    found = best_rid[at] == wanted
    pick = mine[first[at]] % len(weight)
    decisions = scored["decision"].to_numpy(object)[pick]
    decision = pd.Series(np.where(found, decisions, None), dtype=object)
    return decision, np.where(found, weight[pick], np.nan)


def _add_item_evidence(tx: duckdb.DuckDBPyConnection, frame: pd.DataFrame, run_number: int) -> None:
    """The model's evidence of each item (``key_l, key_r, gammas``), for the desk: an item
    that has some keeps it (its levels do not change when the model is retrained)."""
    frame = frame[frame["gammas"].notna()]
    if frame.empty:
        return
    tx.register("new_evidence", frame)
    try:
        run(
            tx,
            """
            INSERT INTO review_evidence
            SELECT i.item_id, any_value(n.gammas), ? FROM new_evidence n
            JOIN review_items i USING (key_l, key_r)
            WHERE i.item_id NOT IN (SELECT item_id FROM review_evidence)
            GROUP BY i.item_id
            """,
            [run_number],
        )
    finally:
        tx.unregister("new_evidence")


def _item_gammas(
    con: duckdb.DuckDBPyConnection, scorer: Scorer, scored: pd.DataFrame, conflicts: pd.DataFrame
) -> pd.DataFrame:
    """The comparison vector of each pair that becomes a review item (the review band and
    the refused links), as a run keeps it for the desk's evidence: ``rid_l, rid_r,
    gammas`` (JSON ``{comparison: gamma}``). Scored again on the rows the import staged:
    a few hundred pairs, where keeping every pair's levels would cost the whole batch."""
    wanted = pd.concat(
        [
            scored.loc[scored["decision"] == "review", ["rid_l", "rid_r"]],
            conflicts[["rid_l", "rid_r"]],
        ],
        ignore_index=True,
    ).drop_duplicates()
    if wanted.empty:
        return pd.DataFrame(columns=["rid_l", "rid_r", "gammas"])
    levels = scorer.score_levels(con, wanted["rid_l"], wanted["rid_r"])
    columns = [c for c in levels.columns if c.startswith("gamma_")]
    names = [c.removeprefix("gamma_") for c in columns]
    gammas = project.gammas_json(names, levels[columns].to_numpy().tolist())
    return pd.DataFrame(
        {
            "rid_l": levels["rid_l"].to_numpy(np.int64),
            "rid_r": levels["rid_r"].to_numpy(np.int64),
            "gammas": gammas,
        }
    )


def _all_pairs(
    store: RecordStore, probes: Any, max_block_size: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs with the store and pairs within the batch, sharing a blocking key."""
    pairs = store._candidate_pairs(probes, exclude_self=False)
    keys = probes.block_keys
    counts = keys.groupby("lookup")["probe"].transform("size")
    keys = keys[counts < max_block_size]
    inner = keys.merge(keys, on="lookup", suffixes=("_a", "_b"))
    inner = inner[inner["probe_a"] < inner["probe_b"]]
    batch_pairs = (
        inner.rename(columns={"probe_a": "a", "probe_b": "b"})[["a", "b"]]
        .drop_duplicates()
        .reset_index(drop=True)
    )
    return pairs, batch_pairs


def _group_pairs(
    rows: RecordTable, probes: Any, scored: pd.DataFrame, max_group_size: int = 60
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unscored pairs inside the groups auto-merge links would form: a new record with
    every member of an entity it links to (``rows``: the stored records, in memory), and
    the records of a new group of 3 or more."""
    empty = (pd.DataFrame({"probe": [], "rid": []}), pd.DataFrame({"a": [], "b": []}))
    auto = scored[scored["decision"] == "auto_merge"]
    if auto.empty:
        return empty
    position = pd.Series(np.arange(len(probes.rids)), index=probes.rids)
    to_store = auto[auto["entity_id"].notna()]
    store_pairs = empty[0]
    if len(to_store):
        members = rows.members(to_store["entity_id"].unique().tolist())
        sizes = members.groupby("entity_id")["rid"].transform("size")
        members = members[sizes <= max_group_size]
        joined = (
            to_store[["probe_rid", "entity_id"]].drop_duplicates().merge(members, on="entity_id")
        )
        # pairs scored already (a probe with a stored record: the probe is on the left)
        done = scored[["probe_rid", "other"]].rename(columns={"other": "rid"})
        joined = joined.merge(done.drop_duplicates(), how="left", indicator=True)
        joined = joined[joined["_merge"] == "left_only"]
        store_pairs = pd.DataFrame(
            {
                "probe": position.reindex(joined["probe_rid"]).to_numpy(np.int64),
                "rid": joined["rid"].to_numpy(np.int64),
            }
        ).drop_duplicates()
    inside = auto[auto["entity_id"].isna()]
    batch_pairs = empty[1]
    if len(inside):
        a = position.reindex(inside["probe_rid"]).to_numpy(np.int64)
        b = position.reindex(inside["other"]).to_numpy(np.int64)
        groups = clustering.connected_components(len(probes.rids), a, b)
        sizes = clustering.group_sizes(groups)
        candidate = np.flatnonzero((sizes >= 3) & (sizes <= max_group_size))
        shared = _shared_groups(candidate, groups[candidate])
        within = scored[scored["entity_id"].isna()] if shared else scored.iloc[:0]
        done = set(zip(within["probe_rid"].tolist(), within["other"].tolist()))
        done |= {(b, a) for a, b in done}
        pairs = []
        for nodes in shared:
            nodes = nodes.tolist()
            for i, x in enumerate(nodes):
                for y in nodes[i + 1 :]:
                    if (probes.rids[x], probes.rids[y]) not in done:
                        pairs.append((x, y))
        if pairs:
            batch_pairs = pd.DataFrame(pairs, columns=["a", "b"])
    return store_pairs, batch_pairs


def _shared_groups(nodes: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """``nodes`` grouped by ``labels`` (in label order, nodes in their order), groups of
    two or more only: a pandas groupby-to-list runs Python per group, most of which here
    are single records."""
    if len(nodes) == 0:
        return []
    order = np.argsort(labels, kind="stable")
    nodes, labels = nodes[order], labels[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    stops = np.r_[starts[1:], len(labels)]
    return [nodes[a:b] for a, b in zip(starts, stops, strict=True) if b - a >= 2]


def _cluster_batch(
    model: Any, probes: Any, scored: pd.DataFrame, evidence: pd.DataFrame
) -> dict[str, Any]:
    """Entities for the new records: strongest link first, never across a keep-apart,
    never joining two existing entities (that link becomes a conflict for review)."""
    n = len(probes.rids)
    position = pd.Series(np.arange(n), index=probes.rids)
    prior = model.probability_two_random_records_match
    floor = math.log2(prior / (1 - prior)) + float(model.config.get("keep_apart_below", -8.0))
    with_store = scored[scored["entity_id"].notna()]
    within = scored[scored["entity_id"].isna()]
    weak = evidence[evidence["match_weight"] < floor] if len(evidence) else evidence
    weak_store = weak[weak["entity_id"].notna()] if len(weak) else weak
    weak_within = weak[weak["entity_id"].isna()] if len(weak) else weak
    entity_names = pd.Index(
        pd.unique(pd.concat([with_store["entity_id"], weak_store.get("entity_id", pd.Series([]))]))
    )
    node_of_entity = pd.Series(np.arange(n, n + len(entity_names)), index=entity_names)

    def ends(frame: pd.DataFrame, inside: bool) -> tuple[np.ndarray, np.ndarray]:
        a = position.reindex(frame["probe_rid"].to_numpy()).to_numpy(np.int64)
        if inside:
            b = position.reindex(frame["other"].to_numpy()).to_numpy(np.int64)
        else:
            b = node_of_entity.reindex(frame["entity_id"].to_numpy()).to_numpy(np.int64)
        return a, b

    parts = [(within, True), (with_store, False)]
    link_l, link_r, link_w, apart_l, apart_r = [], [], [], [], []
    for frame, inside in parts:
        auto = frame[frame["decision"] == "auto_merge"]
        a, b = ends(auto, inside)
        link_l.append(a)
        link_r.append(b)
        link_w.append(auto["match_weight"].to_numpy(float))
        below = frame[frame["match_weight"] < floor]
        if inside and len(weak_within):
            below = pd.concat([below, weak_within])
        if not inside and len(weak_store):
            below = pd.concat([below, weak_store])
        a, b = ends(below, inside)
        apart_l.append(a)
        apart_r.append(b)
    left, right = np.concatenate(link_l), np.concatenate(link_r)
    weight = np.concatenate(link_w)
    total = n + len(entity_names)
    groups = clustering.connected_components(total, left, right)
    hard_l, hard_r = [], []
    entity_nodes = np.arange(n, total)
    for members in _shared_groups(entity_nodes, groups[entity_nodes]):
        members = members.tolist()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                hard_l.append(a)
                hard_r.append(b)
    outcome = clustering.cluster_links(
        total,
        left,
        right,
        weight,
        np.concatenate(apart_l),
        np.concatenate(apart_r),
        np.asarray(hard_l, dtype=np.int64),
        np.asarray(hard_r, dtype=np.int64),
    )
    labels = outcome.labels
    # A label holds one stored entity at most (hard keep-aparts): the entity it names.
    entity_of_label = dict(
        zip(labels[node_of_entity.to_numpy()].tolist(), entity_names.tolist(), strict=True)
    )
    mine = labels[:n]
    joined = np.isin(mine, np.fromiter(entity_of_label, dtype=np.int64))
    entity = np.full(n, None, dtype=object)
    entity[joined] = [entity_of_label[label] for label in mine[joined].tolist()]
    together = np.bincount(mine, minlength=total)[mine] > 1
    outcome_text = np.where(joined, "joined", np.where(together, "merged_in_batch", "new")).astype(
        object
    )
    # New clusters, each by its first record, in the order of those records.
    alone = np.flatnonzero(~joined)
    new_labels, first = np.unique(mine[alone], return_index=True)
    order = np.argsort(alone[first], kind="stable")
    fresh = dict(zip(new_labels[order].tolist(), alone[first][order].tolist(), strict=True))
    # Links refused because they would have joined two existing entities.
    conflict_links = np.flatnonzero(outcome.refused_by_hard)
    link_pairs = pd.concat(
        [
            within[within["decision"] == "auto_merge"],
            with_store[with_store["decision"] == "auto_merge"],
        ],
        ignore_index=True,
    )
    conflicts = link_pairs.iloc[conflict_links] if len(conflict_links) else link_pairs.iloc[:0]
    return {
        "entity_id": entity,
        "outcome": outcome_text,
        "fresh": fresh,
        "labels": labels[:n],
        "conflicts": conflicts,
        "links": link_pairs[outcome.accepted] if len(link_pairs) else link_pairs,
    }


def _write_batch(
    queue: project.ReviewQueue,
    state: StoreState,
    scorer: Scorer,
    work: pd.DataFrame,
    ids: np.ndarray,
    probes: Any,
    derived: pd.DataFrame,
    scored: pd.DataFrame,
    plan: dict[str, Any],
    actor: str | None,
    counts: MemoryIndex | None = None,
) -> tuple[int, int, StoreState, Appended]:
    """One transaction: records, keys, counts, entities, review items, golden records.
    Returns the review items and conflicts made, the state the batch leaves and what it
    appended to the index. ``counts``: the store's counts as held in memory (which
    lookups ``store_counts`` holds)."""

    n = len(probes.rids)
    stamp = project.now()
    first_rid = state.next_rid
    with queue.file.transaction() as tx:
        project.pause_for_tests()
        _drop_old_indexes(tx)
        run_number = int(project.read_meta(tx, "runs") or 0)
        # Entity ids for new clusters: the first record's key (suffixed when issued before).
        entity = plan["entity_id"].copy()
        wanted = {label: probes.keys[i] for label, i in plan["fresh"].items()}
        if wanted:
            tx.register("wanted_ids", pd.DataFrame({"entity_id": list(wanted.values())}))
            taken = {
                r[0]
                for r in tx.execute(
                    "SELECT entity_id FROM project_entity_ids SEMI JOIN wanted_ids "
                    "USING (entity_id)"
                ).fetchall()
            }
            tx.unregister("wanted_ids")
            issued = {}
            for label, candidate in wanted.items():
                name, suffix = candidate, 2
                while name in taken:
                    name = f"{candidate}#{suffix}"
                    suffix += 1
                issued[label] = name
            for i in range(n):
                if entity[i] is None:
                    entity[i] = issued[int(plan["labels"][i])]
            tx.register(
                "issued_ids",
                pd.DataFrame({"entity_id": list(issued.values()), "run": run_number}),
            )
            run(tx, "INSERT INTO project_entity_ids SELECT entity_id, run FROM issued_ids")
            tx.unregister("issued_ids")
        plan["entity_id"] = entity
        # Records.
        raw = work.copy()
        for column in raw.columns:
            raw[column] = _texts(raw[column])
        raw.insert(0, "record_id", [str(i) for i in ids])
        rows = pd.concat(
            [
                pd.DataFrame(
                    {
                        "rid": probes.rids,
                        "record_key": probes.keys,
                        "record_id": [str(i) for i in ids],
                        "source_dataset": "records",
                        "entity_id": entity,
                        "scored_by": state.model_version,
                        "added_at": stamp,
                    }
                ),
                raw.add_prefix("raw_"),
                _storable(derived),
                _key_columns(probes, state.rules),
            ],
            axis=1,
        )
        tx.register("new_records", rows)
        stored_columns = {r[0] for r in tx.execute("DESCRIBE store_records").fetchall()}
        keep = [c for c in rows.columns if c in stored_columns]
        run(
            tx,
            f"INSERT INTO store_records BY NAME SELECT {', '.join(map(quote, keep))} "
            "FROM new_records",
        )
        tx.unregister("new_records")
        payloads = probes.payload_list(scorer.payload_columns)
        tx.register(
            "new_lookup",
            pd.DataFrame(
                {
                    "rid": probes.rids,
                    "record_key": probes.keys,
                    "entity_id": entity,
                    "payload": payloads,
                }
            ),
        )
        run(
            tx,
            "INSERT INTO store_lookup SELECT rid, record_key, entity_id, payload FROM new_lookup",
        )
        tx.unregister("new_lookup")
        keys = probes.block_keys.assign(rid=probes.rids[probes.block_keys["probe"].to_numpy()])
        tx.register("new_keys", keys[["lookup", "rid"]])
        run(
            tx,
            f"INSERT INTO store_keys SELECT lookup, rid, {md5_hash('lookup')} FROM new_keys",
        )
        tx.unregister("new_keys")
        count_hashes, count_deltas = _update_counts(tx, derived, scorer, counts)
        # The entity mapping of the project file.
        tx.register(
            "new_mapping",
            pd.DataFrame(
                {
                    "record_key": probes.keys,
                    "source_dataset": "records",
                    "record_id": [str(i) for i in ids],
                    "entity_id": entity,
                    "last_run": run_number,
                }
            ),
        )
        run(tx, "INSERT INTO project_records SELECT * FROM new_mapping")
        tx.unregister("new_mapping")
        # The stored rows the review items show and the golden records are built from,
        # read in one pass: their rows lie scattered over the file, and each pass
        # decompresses the values of every record (a seventh of a second at a million).
        touched = sorted(set(entity))
        tx.register(
            "linkage_needed_records", _needed_records(tx, touched, _item_rids(scored, plan))
        )
        try:
            review_count = _insert_review_items(
                tx, probes, scored, plan, run_number, stamp, source="linkage_needed_records"
            )
            # Golden records of every entity that received a record.
            golden = _rebuild_golden(tx, touched, source="linkage_needed_records")
        finally:
            tx.unregister("linkage_needed_records")
        n_conflicts = len(plan["conflicts"])
        project.log_event(
            tx,
            "imported",
            None,
            None,
            actor,
            f"{n} records: {int((plan['outcome'] == 'joined').sum())} joined existing "
            f"entities, {len(set(entity) - set(plan['entity_id'][plan['outcome'] == 'joined']))}"
            f" new entities, {review_count} review items, {n_conflicts} conflicts",
            stamp,
        )
        state = state.but(
            next_rid=int(probes.rids.max()) + 1,
            n_records=state.n_records + n,
            totals=_new_totals(state.totals, derived, scorer),
        )
        _write_state(tx, state)
    return (
        review_count,
        n_conflicts,
        state,
        Appended(first_rid, count_hashes, count_deltas, golden),
    )


# ART indexes that stores built by older versions of linkage hold: nothing reads them
# any more, and DuckDB rewrites each whole at every checkpoint (a second of each import's
# commit at a million records).
_OLD_INDEXES = (
    "store_lookup_rid",
    "store_lookup_key",
    "store_keys_lookup",
    "store_counts_lookup",
    "store_golden_entity",
)


def _drop_old_indexes(tx: duckdb.DuckDBPyConnection) -> None:
    """Drop the indexes of :data:`_OLD_INDEXES` a store still has, in the caller's write."""
    names = {r[0] for r in tx.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    for name in _OLD_INDEXES:
        if name in names:
            run(tx, f"DROP INDEX {quote(name)}")


def _write_state(tx: duckdb.DuckDBPyConnection, state: StoreState) -> None:
    """The counters of the state in the file's metadata (the rest never changes after
    the build, or is written where it changes: the model version)."""
    project.write_meta(tx, "store_next_rid", str(state.next_rid))
    project.write_meta(tx, "store_n_records", str(state.n_records))
    project.write_meta(tx, "store_tf_totals", json.dumps(dict(state.totals)))
    project.write_meta(tx, "store_trained_records", str(state.trained_on))


def _storable(derived: pd.DataFrame) -> pd.DataFrame:
    out = derived.copy()
    if "person_name_keys" in out.columns:
        out["person_name_keys"] = [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else list(v)
            for v in out["person_name_keys"]
        ]
    return out.reset_index(drop=True)


def _key_columns(probes: Any, rules: list[blocking.BlockingRule]) -> pd.DataFrame:
    n = len(probes.rids)
    out = pd.DataFrame(index=range(n))
    keys = probes.block_keys
    for rule in rules:
        column = np.full(n, None, dtype=object)
        mine = keys[keys["lookup"].str.startswith(rule.name + ":")]
        for probe, lookup in zip(mine["probe"].to_numpy(), mine["lookup"].to_numpy()):
            column[probe] = lookup[len(rule.name) + 1 :]
        out[rule.key_column] = column
    return out


def _new_totals(totals: Mapping[str, int], derived: pd.DataFrame, scorer: Any) -> dict[str, int]:
    out = dict(totals)
    for column in scorer.tf_columns:
        if column in derived.columns:
            out[column] = int(out.get(column, 0)) + int(derived[column].notna().sum())
    return out


def _update_counts(
    tx: duckdb.DuckDBPyConnection,
    derived: pd.DataFrame,
    scorer: Any,
    counts: MemoryIndex | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Term-frequency counts and shared-number counts follow the new records. Returns the
    hashes of the lookups whose counts changed, and by how much (``counts``: as for
    :func:`_add_counts`)."""
    parts = []
    for column in scorer.tf_columns:
        if column in derived.columns:
            values = derived[column].dropna().astype(str)
            parts.append(("tf:" + column + "=" + values).value_counts())
    names = []
    if "person_name_key" in derived.columns:
        for phone in ("mobile_e164", "phone_e164"):
            if phone in derived.columns:
                both = derived[[phone, "person_name_key"]].dropna()
                names.append(
                    pd.DataFrame(
                        {
                            "e164": both[phone].astype(str),
                            "name_key": both["person_name_key"].astype(str),
                        }
                    )
                )
    if names:
        pairs = pd.concat(names, ignore_index=True).drop_duplicates()
        tx.register("batch_names", pairs)
        fresh = tx.execute(
            "SELECT * FROM batch_names ANTI JOIN store_phone_names USING (e164, name_key)"
        ).df()
        tx.unregister("batch_names")
        if len(fresh):
            tx.register("fresh_names", fresh)
            run(tx, "INSERT INTO store_phone_names SELECT e164, name_key FROM fresh_names")
            tx.unregister("fresh_names")
            parts.append(("pc:" + fresh["e164"]).value_counts())
            parts.append(pd.Series(1, index="pn:" + fresh["e164"] + "|" + fresh["name_key"]))
    if not parts:
        return np.array([], dtype=np.uint64), np.array([], dtype=np.int64)
    summed = pd.concat(parts).groupby(level=0).sum()
    return _add_counts(tx, pd.DataFrame({"lookup": summed.index, "n": summed.to_numpy()}), counts)


def _add_counts(
    tx: duckdb.DuckDBPyConnection, deltas: pd.DataFrame, counts: MemoryIndex | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Add ``deltas`` (``lookup``, ``n``; one row per lookup) to ``store_counts``, inserting
    the lookups it lacks. Returns the lookups' hashes and their deltas. ``counts``: the
    table's counts as held in memory, which say (by hash) which lookups it holds without
    a scan of its millions of rows (a lookup whose hash another one has, never seen, is
    found missing by the UPDATE and inserted).

    An UPDATE, then an INSERT of the rest, rather than an upsert: an upsert needs a unique
    index, which DuckDB writes whole at every checkpoint (0.9 s of an import's commit at a
    million records). An import joins on the hash column; an edit's few lookups each find
    their row by the hash's zone maps (the table is built sorted by it)."""
    if len(deltas) <= _FEW_COUNTS:
        hashes, amounts = [], []
        for lookup, n in zip(deltas["lookup"].tolist(), deltas["n"].tolist()):
            h, n = lookup_hash(lookup), int(n)
            changed = tx.execute(
                "UPDATE store_counts SET n = n + ? WHERE lookup_hash = ? AND lookup = ?",
                [n, h, lookup],
            ).fetchall()[0][0]
            if not changed:
                run(tx, "INSERT INTO store_counts VALUES (?, ?, ?)", [lookup, n, h])
            hashes.append(h)
            amounts.append(n)
        return np.array(hashes, dtype=np.uint64), np.array(amounts, dtype=np.int64)
    tx.register("count_deltas_frame", deltas)
    try:
        hashed = f"{md5_hash('lookup')} AS h FROM count_deltas_frame"
        expected = None  # rows the UPDATE must change, when the index said which are held
        if counts is not None:
            found = tx.sql(f"SELECT lookup, CAST(n AS BIGINT) AS n, {hashed}").to_arrow_table()
            held = counts.holds(found.column("h").to_numpy())
            expected = int(held.sum())
            import pyarrow as pa

            tx.register("count_deltas_held", found.append_column("held", pa.array(held)))
            source = "SELECT * FROM count_deltas_held"
        else:
            # Which lookups the table holds, read before it changes (a scan after the
            # UPDATE reads through the transaction's versions of the rows it changed).
            source = (
                "SELECT d.lookup, d.n, d.h, c.lookup IS NOT NULL AS held FROM (SELECT lookup, "
                f"CAST(n AS BIGINT) AS n, {hashed}) d "
                "LEFT JOIN store_counts c ON c.lookup_hash = d.h AND c.lookup = d.lookup"
            )
        run(tx, f"CREATE OR REPLACE TEMP TABLE count_deltas AS {source}")
        run(tx, "INSERT INTO store_counts SELECT lookup, n, h FROM count_deltas WHERE NOT held")
        updated = tx.execute(
            "UPDATE store_counts c SET n = c.n + d.n FROM count_deltas d "
            "WHERE d.held AND c.lookup_hash = d.h AND c.lookup = d.lookup"
        ).fetchall()[0][0]
        if expected is not None and updated != expected:  # a hash held for another lookup
            run(
                tx,
                "INSERT INTO store_counts SELECT lookup, n, h FROM count_deltas d WHERE held "
                "AND NOT EXISTS (SELECT 1 FROM store_counts c "
                "WHERE c.lookup_hash = d.h AND c.lookup = d.lookup)",
            )
        hashes = tx.execute("SELECT h, n FROM count_deltas").fetchnumpy()
        run(tx, "DROP TABLE count_deltas")
    finally:
        tx.unregister("count_deltas_frame")
        if counts is not None:
            tx.unregister("count_deltas_held")
    return np.asarray(hashes["h"], dtype=np.uint64), np.asarray(hashes["n"], dtype=np.int64)


# Up to this many lookups, each is updated on its own (found by zone maps); more are joined.
_FEW_COUNTS = 16


def _set_count(
    tx: duckdb.DuckDBPyConnection, lookup: str, expression: str, touched: set[int]
) -> None:
    """``n = <expression>`` on one lookup's count (a row found by its hash's zone maps);
    its hash joins ``touched``."""
    h = lookup_hash(lookup)
    run(
        tx,
        f"UPDATE store_counts SET n = {expression} WHERE lookup_hash = ? AND lookup = ?",
        [h, lookup],
    )
    touched.add(h)


def _insert_review_items(
    tx: duckdb.DuckDBPyConnection,
    probes: Any,
    scored: pd.DataFrame,
    plan: dict[str, Any],
    run_number: int,
    stamp: dt.datetime,
    source: str | None = None,
) -> int:
    """Borderline pairs, and links refused because they would join two entities
    (``source``: as for :func:`_fill_item_values`)."""
    key_of = pd.Series(probes.keys, index=probes.rids)
    band = scored[scored["decision"] == "review"]
    conflicts = plan["conflicts"]
    frames = []
    for frame, kind in ((band, "review"), (conflicts, "conflict")):
        if frame.empty:
            continue
        a = key_of.reindex(frame["probe_rid"].to_numpy()).to_numpy()
        b = np.where(
            frame["record_key"].notna(),
            frame["record_key"].to_numpy(),
            key_of.reindex(frame["other"].to_numpy()).to_numpy(),
        )
        reason = frame["reason"].astype(str).to_numpy()
        if kind == "conflict":
            reason = np.array(
                [
                    f"would join two existing entities (with {e}): {r}"
                    for e, r in zip(frame["entity_id"].to_numpy(), reason)
                ],
                dtype=object,
            )
        gammas = frame[["rid_l", "rid_r"]].merge(
            plan["gammas"], on=["rid_l", "rid_r"], how="left", validate="many_to_one"
        )["gammas"]
        frames.append(
            pd.DataFrame(
                {
                    "key_l": np.where(a <= b, a, b),
                    "key_r": np.where(a <= b, b, a),
                    "kind": kind,
                    "decision": frame["decision"].to_numpy(),
                    "match_weight": frame["match_weight"].to_numpy(float),
                    "match_probability": frame["match_probability"].to_numpy(float),
                    "reason": reason,
                    "gammas": gammas.to_numpy(object),
                }
            )
        )
    if not frames:
        return 0
    items = pd.concat(frames, ignore_index=True).drop_duplicates(["key_l", "key_r"])
    tx.register("new_items", items)
    before = tx.execute("SELECT count(*) FROM review_items").fetchall()[0][0]
    run(
        tx,
        """
        INSERT INTO review_items
        SELECT nextval('review_item_ids'), n.key_l, n.key_r, n.kind,
               CASE n.kind WHEN 'conflict' THEN 'conflict' ELSE 'pending' END,
               n.decision, n.match_weight, n.match_probability, n.reason, NULL, 2,
               NULL, NULL, ?, ?, ?, ?
        FROM new_items n ANTI JOIN review_items i USING (key_l, key_r)
        """,
        [run_number, run_number, stamp, stamp],
    )
    tx.unregister("new_items")
    _add_item_evidence(tx, items[["key_l", "key_r", "gammas"]], run_number)
    _fill_item_values(tx, _item_rids(scored, plan), source)
    after = tx.execute("SELECT count(*) FROM review_items").fetchall()[0][0]
    return int(after - before)


def _item_rids(scored: pd.DataFrame, plan: dict[str, Any]) -> np.ndarray:
    """The rids of both records of every review item an import makes, sorted."""
    band = scored[scored["decision"] == "review"]
    ends = [
        np.concatenate([f["probe_rid"], f["other"]]) for f in (band, plan["conflicts"]) if len(f)
    ]
    return np.unique(np.concatenate(ends).astype(np.int64)) if ends else np.array([], np.int64)


def _needed_records(
    tx: duckdb.DuckDBPyConnection, entities: Sequence[str], rids: np.ndarray
) -> Any:
    """The rows of ``store_records`` of these entities' members and of these ``rids``, as
    an Arrow table of the columns survivorship and the review items read."""
    stored = [r[0] for r in tx.execute("DESCRIBE store_records").fetchall()]
    raw = [c for c in stored if c.startswith("raw_") and c != "raw_record_id"]
    columns = list(dict.fromkeys([*survivorship.member_columns(stored), "record_key", *raw]))
    return survivorship.stored_rows(tx, columns, entities, np.asarray(rids, np.int64).tolist())


def _fill_item_values(
    tx: duckdb.DuckDBPyConnection, rids: np.ndarray | None = None, source: str | None = None
) -> None:
    """Both records' raw values (JSON, by role) on items that have none yet (``rids``:
    of those records among these, found by rid where a key is a scan of every record's;
    ``source``: a table of some rows of ``store_records``, among them those of ``rids``,
    read instead of it)."""
    raw = [
        r[0]
        for r in tx.execute("DESCRIBE store_records").fetchall()
        if r[0].startswith("raw_") and r[0] != "raw_record_id"
    ]
    fields = ", ".join(f"{quote(c[4:])} := s.{quote(c)}" for c in raw)
    if rids is not None:
        tx.register("linkage_item_rids", pd.DataFrame({"rid": np.asarray(rids, np.int64)}))
        among = "SELECT rid FROM linkage_item_rids"
    else:
        among = " UNION ".join(
            f"SELECT rid FROM store_records SEMI JOIN review_items i "
            f"ON i.key_{side} = record_key AND i.values_{side} IS NULL"
            for side in ("l", "r")
        )
    try:
        # One read of the records for both sides: their rows lie scattered over the file.
        run(
            tx,
            f"""
            CREATE OR REPLACE TEMP TABLE linkage_item_values AS
            SELECT s.record_key, CAST(to_json(struct_pack({fields})) AS VARCHAR) AS values
            FROM {source or "store_records"} s WHERE s.rid IN ({among})
            """,
        )
        for side in ("l", "r"):
            run(
                tx,
                f"""
                UPDATE review_items i SET values_{side} = v.values FROM linkage_item_values v
                WHERE i.key_{side} = v.record_key AND i.values_{side} IS NULL
                """,
            )
        run(tx, "DROP TABLE linkage_item_values")
    finally:
        if rids is not None:
            tx.unregister("linkage_item_rids")


def _rebuild_golden(
    tx: duckdb.DuckDBPyConnection, entities: list[str], source: str | None = None
) -> Any:
    """Golden records of these entities, from their stored members; returns the golden
    rows written (see :func:`linkage.survivorship.rebuild_stored`)."""
    return survivorship.rebuild_stored(tx, entities, source)


def edit_record(
    store: RecordStore,
    state: StoreState,
    record_id: str,
    values: dict[str, Any],
    roles: Mapping[str, str | None] | None,
    actor: str | None,
) -> tuple[CheckResult, StoreState, Rewritten]:
    """Change a stored record and check it again (``store`` checks, under ``state``);
    returns the check, the state the edit leaves and the lookups it rewrote."""
    con = store._cursor()
    key = state.record_key(record_id)
    found = con.execute("SELECT * FROM store_records WHERE record_key = ?", [key]).df()
    if found.empty:
        raise StoreError(f"no record {record_id!r} in the store: add it with store.add")
    row = found.iloc[0]
    raw = {c[4:]: row[c] for c in found.columns if c.startswith("raw_")}
    columns = state.columns
    by_column = {c: r for r, c in columns.items()}
    for name, value in values.items():
        role = name if name in raw else by_column.get(name)
        if role is None:
            raise InputError(
                f"{name!r} is neither a role nor a column of this store; known: {sorted(raw)}"
            )
        raw[role] = value
    raw["record_id"] = record_id
    frame = pd.DataFrame([raw])
    scorer = store._scorer(state.model_version)
    work, ids = store._role_frame(frame, {r: r for r in raw}, require_ids=True)
    checked = store._check_frame(frame, {r: r for r in raw}, all_candidates=True, exclude_self=True)
    entity = row["entity_id"]
    mine = checked[checked["entity_id"] == entity]
    left = bool(
        (found.shape[0] and (mine.empty or mine.iloc[0]["decision"] != "auto_merge"))
        and con.execute(
            "SELECT count(*) FROM store_lookup WHERE entity_id = ?", [entity]
        ).fetchall()[0][0]
        > 1
    )
    derived = standardize_mod.standardize_records(
        work, scorer.needed_roles(work.columns), country=scorer.country
    )
    rid = int(row["rid"])
    probes = store._prepare(con, work, ids, scorer, known_ids=True, derived=derived)
    with store.queue.file.transaction() as tx:
        _drop_old_indexes(tx)
        sets = {f"raw_{r}": _text(v) for r, v in raw.items() if f"raw_{r}" in found.columns}
        stored = _storable(derived).iloc[0].to_dict()
        for column, value in stored.items():
            if column in found.columns:
                sets[column] = None if is_missing(value) else value
        for column, value in _key_columns(probes, state.rules).iloc[0].items():
            sets[column] = value
        assignments = ", ".join(f"{quote(c)} = ?" for c in sets)
        run(tx, f"UPDATE store_records SET {assignments} WHERE rid = ?", [*sets.values(), rid])
        run(
            tx,
            "UPDATE store_lookup SET payload = ? WHERE rid = ?",
            [json_payloads(derived, scorer.payload_columns)[0], rid],
        )
        old_keys = tx.execute(
            "DELETE FROM store_keys WHERE rid = ? RETURNING lookup_hash", [rid]
        ).fetchall()
        for lookup in probes.block_keys["lookup"]:
            run(
                tx,
                f"INSERT INTO store_keys VALUES (?, ?, {md5_hash('?')})",
                [lookup, rid, lookup],
            )
        key_hashes = {int(h) for (h,) in old_keys}
        key_hashes.update(lookup_hash(k) for k in probes.block_keys["lookup"])
        counts: set[int] = set()
        state = state.but(totals=_adjust_tf(tx, state.totals, row, derived, scorer, counts))
        _write_state(tx, state)
        _adjust_phone_names(tx, rid, row, derived, counts)
        if left:
            best = con.execute(
                "SELECT record_key FROM store_lookup WHERE entity_id = ? AND rid <> ? "
                "ORDER BY rid LIMIT 1",
                [entity, rid],
            ).fetchall()[0][0]
            weight = None if mine.empty else float(mine.iloc[0]["match_weight"])
            note = (
                f"after the edit the record no longer matches its entity {entity} "
                f"(decision {'distinct' if mine.empty else mine.iloc[0]['decision']}, "
                f"weight {weight})"
            )
            project.log_event(tx, "edit_left_entity", entity, key, actor, note)
            key_l, key_r = project.canonical(key, best)
            item = project.ensure_item(tx, key_l, key_r, "review")
            run(
                tx,
                "UPDATE review_items SET reason = ?, match_weight = ?, status = 'pending', "
                "decision = ? WHERE item_id = ?",
                [note, weight, "distinct" if mine.empty else mine.iloc[0]["decision"], item],
            )
            _fill_item_values(tx)
        else:
            project.log_event(tx, "edited", entity, key, actor, None)
        _rebuild_golden(tx, [entity])
    result = one_result(checked, state.object_name)
    result.candidates = result.candidates.assign(left_entity=left)
    rewritten = Rewritten(
        np.array(sorted(key_hashes), dtype=np.uint64), np.array(sorted(counts), dtype=np.uint64)
    )
    return result, state, rewritten


def _adjust_tf(
    tx: duckdb.DuckDBPyConnection,
    totals: Mapping[str, int],
    row: pd.Series,
    derived: pd.DataFrame,
    scorer: Any,
    touched: set[int],
) -> dict[str, int]:
    """Term-frequency counts follow an edited record; returns the new totals (the hashes
    of the counts changed join ``touched``)."""
    totals = dict(totals)
    for column in scorer.tf_columns:
        old = row.get(column)
        new = derived[column].iloc[0] if column in derived.columns else None
        old = None if is_missing(old) else str(old)
        new = None if is_missing(new) else str(new)
        if old == new:
            continue
        if old is not None:
            _set_count(tx, f"tf:{column}={old}", "n - 1", touched)
            totals[column] = int(totals.get(column, 0)) - 1
        if new is not None:
            lookups = pd.DataFrame({"lookup": [f"tf:{column}={new}"], "n": [1]})
            touched.update(_add_counts(tx, lookups)[0].tolist())
            totals[column] = int(totals.get(column, 0)) + 1
    return totals


def _adjust_phone_names(
    tx: duckdb.DuckDBPyConnection,
    rid: int,
    row: pd.Series,
    derived: pd.DataFrame,
    touched: set[int],
) -> None:
    """Shared-number counts follow an edit: a (number, name) pair only this record held
    is no longer counted, a pair it brings in is (a number with three or more names is a
    switchboard, as when the store was built). The hashes of the counts changed join
    ``touched``."""

    def pairs(value: Any) -> set[tuple[str, str]]:
        name = value("person_name_key")
        if is_missing(name):
            return set()
        return {
            (str(value(p)), str(name))
            for p in ("mobile_e164", "phone_e164")
            if not is_missing(value(p))
        }

    old = pairs(lambda c: row.get(c))
    new = pairs(lambda c: derived[c].iloc[0] if c in derived.columns else None)
    if old == new:
        return
    stored = {r[0] for r in tx.execute("DESCRIBE store_records").fetchall()}
    phones = [p for p in ("mobile_e164", "phone_e164") if p in stored]

    def held_elsewhere(number: str, name: str) -> bool:
        either = " OR ".join(f"{quote(p)} = ?" for p in phones)
        return bool(
            tx.execute(
                f"SELECT count(*) FROM store_records WHERE rid <> ? AND person_name_key = ? "
                f"AND ({either})",
                [rid, name, *([number] * len(phones))],
            ).fetchall()[0][0]
        )

    for number, name in sorted(old - new):
        if phones and not held_elsewhere(number, name):
            run(tx, "DELETE FROM store_phone_names WHERE e164 = ? AND name_key = ?", [number, name])
            # Set to 0 rather than deleted: under the unique index of a store built by an
            # older linkage a deleted key cannot come back within one transaction.
            _set_count(tx, f"pn:{number}|{name}", "0", touched)
            _set_count(tx, f"pc:{number}", "n - 1", touched)
    for number, name in sorted(new - old):
        known = tx.execute(
            "SELECT count(*) FROM store_phone_names WHERE e164 = ? AND name_key = ?",
            [number, name],
        ).fetchall()[0][0]
        if not known:
            run(tx, "INSERT INTO store_phone_names VALUES (?, ?)", [number, name])
            # A pair's count is 1 while the pair is held, 0 (or absent) otherwise.
            pairs = [f"pn:{number}|{name}", f"pc:{number}"]
            touched.update(
                _add_counts(tx, pd.DataFrame({"lookup": pairs, "n": [1, 1]}))[0].tolist()
            )


def retrain(
    con: duckdb.DuckDBPyConnection,
    queue: project.ReviewQueue,
    state: StoreState,
    old: Any,
    seed: int,
    note: str | None,
) -> StoreState:
    """A new model version trained on the stored records (nothing is rescored), with the
    thresholds, rules and settings of ``old``; returns the state it leaves. The desk's
    level table (``evidence_levels``) becomes the new model's: imports score by it from
    now on, and a recluster scores every item again by it."""

    frame = con.execute("SELECT * FROM store_records ORDER BY rid").df()
    raw = [c for c in frame.columns if c.startswith("raw_")]
    records = frame[raw].rename(columns={c: c[4:] for c in raw})
    roles = {c: c for c in records.columns}
    rules = list(state.rules)
    result = link(
        records,
        roles=roles,
        blocking_rules=rules,
        thresholds=old.policy.thresholds,
        routing_rules=old.policy.rules,
        seed=seed,
        max_block_size=state.max_block_size,
        keep_apart_below=float(old.config.get("keep_apart_below", -8.0)),
    )
    version = state.model_version + 1
    state = state.but(model_version=version, trained_on=len(records))
    with queue.file.transaction() as tx:
        run(
            tx,
            "INSERT INTO store_models VALUES (?, ?, ?, ?)",
            [
                version,
                project.now(),
                note or f"retrained on {len(records):,} stored records",
                json.dumps(result.model.to_dict(), default=str),
            ],
        )
        project.write_meta(tx, "store_model_version", str(version))
        # The desk explains items by the model in use: the new one scores from now on.
        project.write_meta(
            tx, "evidence_levels", json.dumps(project.evidence_levels(result.linker))
        )
        _write_state(tx, state)
        project.log_event(tx, "retrained", None, None, None, f"model version {version}")
    return state


# Candidate pairs of the whole store: records that share a blocking key held by no more
# records than the block limit (the pairs link finds: a bigger block is guarded).
_STORE_PAIRS = """
    SELECT DISTINCT a.rid AS rid_l, b.rid AS rid_r
    FROM store_keys a JOIN store_keys b ON a.lookup = b.lookup AND a.rid < b.rid
    WHERE a.lookup IN (SELECT lookup FROM store_keys GROUP BY lookup
                       HAVING count(*) >= 2 AND count(*) <= ?)
"""


def recluster(
    store: RecordStore, state: StoreState, actor: str | None
) -> tuple[pd.DataFrame, StoreState]:
    """Every stored record's entity again, as ``link`` clusters a run, with the current
    model (``store`` stages and scores, under ``state``); one transaction.

    Returns:
        the records that changed entity (``record_id, entity_before, entity_id``), and
        the state it leaves.
    """
    con = store._cursor()
    scorer = store._scorer(state.model_version)
    stored = con.execute(
        "SELECT rid, record_key, record_id, entity_id FROM store_records ORDER BY rid"
    ).df()
    rids = stored["rid"].to_numpy(np.int64)
    scorer.stage_batch(con, [], [], [], [], rids, state.totals)
    scored = scorer.score_query(con, _STORE_PAIRS, [state.max_block_size])
    # DuckDB returns rows in any order (threads): sorted, ties break the same every run.
    scored = scored.sort_values(["rid_l", "rid_r"], kind="stable", ignore_index=True)
    verdicts = _verdicts_between(store.queue.constraints(), stored)
    labels, conflicts = _cluster_store(con, scorer, rids, scored, verdicts)
    gammas = _item_gammas(con, scorer, scored, conflicts)
    stamp = project.now()
    with store.queue.file.transaction() as tx:
        project.pause_for_tests()
        run_number = int(project.read_meta(tx, "runs") or 0)
        entity = _stable_entity_ids(tx, stored, labels, run_number)
        before = stored["entity_id"].to_numpy(dtype=object)
        moved = entity != before
        moves = pd.DataFrame(
            {
                "rid": rids[moved],
                "record_key": stored["record_key"].to_numpy(dtype=object)[moved],
                "entity_id": entity[moved],
            }
        )
        tx.register("recluster_moves", moves)
        for table in ("store_records", "store_lookup"):
            run(
                tx,
                f"UPDATE {table} t SET entity_id = m.entity_id FROM recluster_moves m "
                "WHERE t.rid = m.rid",
            )
        run(
            tx,
            "UPDATE project_records p SET entity_id = m.entity_id FROM recluster_moves m "
            "WHERE p.record_key = m.record_key",
        )
        tx.unregister("recluster_moves")
        run(tx, "UPDATE store_records SET scored_by = ?", [state.model_version])
        key_of = pd.Series(stored["record_key"].to_numpy(dtype=object), index=rids)
        sizes = pd.Series(entity).value_counts()
        entity_of = pd.Series(entity, index=rids)
        items = _sync_store_items(
            tx, key_of, entity_of, sizes, scored, conflicts, run_number, stamp
        )
        key_l, key_r = _item_keys(key_of, gammas)
        _add_item_evidence(
            tx,
            pd.DataFrame({"key_l": key_l, "key_r": key_r, "gammas": gammas["gammas"]}),
            run_number,
        )
        _rebuild_golden(tx, sorted(set(before[moved]) | set(entity[moved])))
        project.log_event(
            tx,
            "reclustered",
            None,
            None,
            actor,
            f"model version {state.model_version}: {len(scored):,} pairs scored, "
            f"{int(moved.sum()):,} of {len(rids):,} records changed entity, "
            f"{len(sizes):,} entities, {items} new review items, {len(conflicts)} conflicts",
            stamp,
        )
    result = pd.DataFrame(
        {
            "record_id": stored["record_id"].to_numpy(dtype=object)[moved],
            "entity_before": before[moved],
            "entity_id": entity[moved],
        }
    )
    return result, state


def _verdicts_between(constraints: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The current ``match`` / ``non_match`` verdicts between stored records, by rid."""
    columns = ["rid_l", "rid_r", "verdict"]
    if constraints.empty:
        return pd.DataFrame(columns=columns)
    rid_of = pd.Series(stored["rid"].to_numpy(np.int64), index=stored["record_key"].to_numpy())
    a = rid_of.reindex(constraints["key_l"].to_numpy()).to_numpy()
    b = rid_of.reindex(constraints["key_r"].to_numpy()).to_numpy()
    known = ~(np.isnan(a) | np.isnan(b)) & (a != b)
    a, b = a[known].astype(np.int64), b[known].astype(np.int64)
    return pd.DataFrame(
        {
            "rid_l": np.minimum(a, b),
            "rid_r": np.maximum(a, b),
            "verdict": constraints["verdict"].to_numpy()[known],
        }
    )


def _cluster_store(
    con: duckdb.DuckDBPyConnection,
    scorer: Scorer,
    rids: np.ndarray,
    scored: pd.DataFrame,
    verdicts: pd.DataFrame,
    max_group_size: int = 60,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Entities of every stored record, by link's method (``linkage.run``'s clustering):
    auto-merge links and ``match`` verdicts (stronger than any score) merged strongest
    first, never across a pair whose evidence is below ``keep_apart_below`` (pairs inside
    a candidate group that blocking never proposed are scored for that) nor across a
    ``non_match``. Returns a label per record (the position of its cluster's first
    record) and the links that need a person (``rid_l, rid_r, match_weight,
    match_probability, decision, reason``)."""
    n = len(rids)
    node = pd.Series(np.arange(n), index=rids)
    model = scorer.model
    auto = scored[scored["decision"] == "auto_merge"]
    matches = verdicts[verdicts["verdict"] == "match"]
    apart = verdicts[verdicts["verdict"] == "non_match"]
    links = pd.concat(
        [
            auto[["rid_l", "rid_r", "match_weight", "match_probability", "reason"]].assign(
                how="auto_merge"
            ),
            pd.DataFrame(
                {
                    "rid_l": matches["rid_l"].to_numpy(np.int64),
                    "rid_r": matches["rid_r"].to_numpy(np.int64),
                    "match_weight": np.inf,
                    "match_probability": 1.0,
                    "reason": "verdict match",
                    "how": "verdict",
                }
            ),
        ],
        ignore_index=True,
    )
    left = node.reindex(links["rid_l"].to_numpy()).to_numpy(np.int64)
    right = node.reindex(links["rid_r"].to_numpy()).to_numpy(np.int64)
    prior = model.probability_two_random_records_match
    floor = math.log2(prior / (1 - prior)) + float(model.config.get("keep_apart_below", -8.0))
    groups = clustering.connected_components(n, left, right)
    pair_l = node.reindex(scored["rid_l"].to_numpy()).to_numpy(np.int64)
    pair_r = node.reindex(scored["rid_r"].to_numpy()).to_numpy(np.int64)
    weak = (scored["match_weight"].to_numpy(float) < floor) & (groups[pair_l] == groups[pair_r])
    apart_l, apart_r = [pair_l[weak]], [pair_r[weak]]
    # Pairs inside a candidate group of 3 or more that blocking never proposed.
    sizes = clustering.group_sizes(groups)
    candidate = np.flatnonzero((sizes >= 3) & (sizes <= max_group_size))
    done = set(zip(pair_l.tolist(), pair_r.tolist()))
    unscored = [
        (a, b)
        for nodes in _shared_groups(candidate, groups[candidate])
        for i, a in enumerate(nodes.tolist())
        for b in nodes.tolist()[i + 1 :]
        if (a, b) not in done
    ]
    if unscored:
        within = np.asarray(unscored, dtype=np.int64)
        con.register(
            "recluster_group_pairs",
            pd.DataFrame({"rid_l": rids[within[:, 0]], "rid_r": rids[within[:, 1]]}),
        )
        try:
            extra = scorer.score_query(con, "SELECT rid_l, rid_r FROM recluster_group_pairs")
        finally:
            con.unregister("recluster_group_pairs")
        extra = extra[extra["match_weight"].to_numpy(float) < floor]
        apart_l.append(node.reindex(extra["rid_l"].to_numpy()).to_numpy(np.int64))
        apart_r.append(node.reindex(extra["rid_r"].to_numpy()).to_numpy(np.int64))
    evidence_l, evidence_r = np.concatenate(apart_l), np.concatenate(apart_r)
    # A reviewer's match overrides the evidence against that very pair.
    said = set(zip(matches["rid_l"].tolist(), matches["rid_r"].tolist()))
    if said:
        keep = np.array(
            [
                (min(rids[a], rids[b]), max(rids[a], rids[b])) not in said
                for a, b in zip(evidence_l.tolist(), evidence_r.tolist())
            ],
            dtype=bool,
        )
        evidence_l, evidence_r = evidence_l[keep], evidence_r[keep]
    hard_l = node.reindex(apart["rid_l"].to_numpy()).to_numpy(np.int64)
    hard_r = node.reindex(apart["rid_r"].to_numpy()).to_numpy(np.int64)
    outcome = clustering.cluster_links(
        n,
        left,
        right,
        links["match_weight"].to_numpy(float),
        evidence_l,
        evidence_r,
        hard_l,
        hard_r,
    )
    # As in link: a link refused by a keep-apart on that very pair is the person's
    # decision; one refused by a keep-apart elsewhere in the group, or a reviewer's
    # match that could not be honoured, needs a person.
    said_apart = set(zip(apart["rid_l"].tolist(), apart["rid_r"].tolist()))
    own = np.array(
        [(a, b) in said_apart for a, b in zip(links["rid_l"].tolist(), links["rid_r"].tolist())],
        dtype=bool,
    )
    needs_person = (outcome.refused_by_hard & ~own) | (
        outcome.refused & (links["how"] == "verdict").to_numpy()
    )
    conflicts = links[needs_person].copy()
    conflicts["reason"] = "a keep-apart verdict refused this link: " + conflicts["reason"].astype(
        str
    )
    conflicts["decision"] = np.where(conflicts["how"] == "verdict", None, "auto_merge")
    return outcome.labels, conflicts.drop(columns="how").reset_index(drop=True)


def _stable_entity_ids(
    tx: duckdb.DuckDBPyConnection, stored: pd.DataFrame, labels: np.ndarray, run_number: int
) -> np.ndarray:
    """Entity ids that stay where their records stay, as a run of ``link`` keeps them:
    each previous id goes to the cluster holding most of its records, each cluster keeps
    the id most of its records had (ties: the lower label, the smaller id); a cluster
    with none takes its first record's key (``#2``, ``#3`` when issued before)."""
    frame = pd.DataFrame({"old": stored["entity_id"].to_numpy(dtype=object), "label": labels})
    counts = frame.dropna().groupby(["old", "label"]).size().rename("n").reset_index()
    home = counts.sort_values(["old", "n", "label"], ascending=[True, False, True])
    home = home.drop_duplicates("old")
    kept = home.sort_values(["label", "n", "old"], ascending=[True, False, True])
    kept = kept.drop_duplicates("label")
    ids = dict(zip(kept["label"].tolist(), kept["old"].tolist()))
    fresh = [label for label in np.unique(labels).tolist() if label not in ids]
    if fresh:
        issued_before = {
            r[0] for r in tx.execute("SELECT entity_id FROM project_entity_ids").fetchall()
        }
        taken = issued_before | set(frame["old"].dropna()) | set(ids.values())
        keys = stored["record_key"].to_numpy(dtype=object)
        issued = []
        for label in fresh:
            candidate = name = str(keys[label])
            suffix = 2
            while name in taken:
                name = f"{candidate}#{suffix}"
                suffix += 1
            taken.add(name)
            ids[label] = name
            issued.append(name)
        tx.register("issued_ids", pd.DataFrame({"entity_id": issued, "run": run_number}))
        run(tx, "INSERT INTO project_entity_ids SELECT entity_id, run FROM issued_ids")
        tx.unregister("issued_ids")
    return np.array([ids[label] for label in labels.tolist()], dtype=object)


def _item_keys(key_of: pd.Series, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The record keys of each pair of ``frame`` (``rid_l, rid_r``; ``key_of`` by rid), in
    the order review items keep them: the smaller key first."""
    a = key_of.reindex(frame["rid_l"].to_numpy()).to_numpy(dtype=object)
    b = key_of.reindex(frame["rid_r"].to_numpy()).to_numpy(dtype=object)
    first = np.array([x <= y for x, y in zip(a.tolist(), b.tolist())], dtype=bool)
    return np.where(first, a, b), np.where(first, b, a)


def _sync_store_items(
    tx: duckdb.DuckDBPyConnection,
    key_of: pd.Series,
    entity_of: pd.Series,
    sizes: pd.Series,
    scored: pd.DataFrame,
    conflicts: pd.DataFrame,
    run_number: int,
    stamp: dt.datetime,
) -> int:
    """Review items follow a re-clustering as they follow a run of ``link``: pairs in the
    review band in (or back to ``pending``), pairs that left it marked ``left_band``,
    refused links flagged as conflicts. Returns the items made."""

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        key_l, key_r = _item_keys(key_of, frame)
        left_entity = entity_of.reindex(frame["rid_l"].to_numpy()).to_numpy(dtype=object)
        right_entity = entity_of.reindex(frame["rid_r"].to_numpy()).to_numpy(dtype=object)
        size_l = sizes.reindex(left_entity).fillna(1).to_numpy(np.int64)
        size_r = sizes.reindex(right_entity).fillna(1).to_numpy(np.int64)
        return pd.DataFrame(
            {
                "key_l": key_l,
                "key_r": key_r,
                "decision": frame["decision"].to_numpy(dtype=object),
                "match_weight": frame["match_weight"].to_numpy(float),
                "match_probability": frame["match_probability"].to_numpy(float),
                "reason": frame["reason"].astype(str).to_numpy(dtype=object),
                "records_affected": np.where(left_entity == right_entity, size_l, size_l + size_r),
            }
        )

    before = tx.execute("SELECT count(*) FROM review_items").fetchall()[0][0]
    tx.register("recluster_scored", keyed(scored))
    run(
        tx,
        """
        UPDATE review_items i SET match_weight = s.match_weight,
            match_probability = s.match_probability, reason = s.reason, decision = 'review',
            records_affected = s.records_affected, last_run = ?, updated_at = ?,
            status = CASE WHEN i.status = 'left_band' THEN 'pending' ELSE i.status END
        FROM recluster_scored s
        WHERE i.key_l = s.key_l AND i.key_r = s.key_r AND s.decision = 'review'
        """,
        [run_number, stamp],
    )
    run(
        tx,
        """
        INSERT INTO review_items
        SELECT nextval('review_item_ids'), s.key_l, s.key_r, 'review',
               CASE WHEN v.verdict IS NULL THEN 'pending'
                    WHEN v.verdict = 'skip' THEN 'skipped' ELSE 'decided' END,
               'review', s.match_weight, s.match_probability, s.reason, NULL,
               s.records_affected, NULL, NULL, ?, ?, ?, ?
        FROM recluster_scored s
        LEFT JOIN (
            SELECT key_l, key_r, verdict FROM verdicts
            QUALIFY row_number() OVER (PARTITION BY key_l, key_r ORDER BY verdict_id DESC) = 1
        ) v ON v.key_l = s.key_l AND v.key_r = s.key_r
        ANTI JOIN review_items i ON i.key_l = s.key_l AND i.key_r = s.key_r
        WHERE s.decision = 'review'
        """,
        [run_number, run_number, stamp, stamp],
    )
    # Tracked pairs whose new score left the band: marked, not dropped.
    run(
        tx,
        """
        UPDATE review_items i SET decision = s.decision, match_weight = s.match_weight,
            match_probability = s.match_probability, updated_at = ?,
            status = CASE WHEN i.kind = 'review' AND i.status IN ('pending', 'skipped')
                          THEN 'left_band' ELSE i.status END
        FROM recluster_scored s
        WHERE i.key_l = s.key_l AND i.key_r = s.key_r AND s.decision <> 'review'
          AND i.kind <> 'audit'
        """,
        [stamp],
    )
    tx.unregister("recluster_scored")
    if len(conflicts):
        tx.register("recluster_conflicts", keyed(conflicts))
        run(
            tx,
            """
            UPDATE review_items i SET status = 'conflict', reason = c.reason, updated_at = ?,
                records_affected = c.records_affected
            FROM recluster_conflicts c WHERE i.key_l = c.key_l AND i.key_r = c.key_r
            """,
            [stamp],
        )
        run(
            tx,
            """
            INSERT INTO review_items
            SELECT nextval('review_item_ids'), c.key_l, c.key_r, 'conflict', 'conflict',
                   c.decision, c.match_weight, c.match_probability, c.reason, NULL,
                   c.records_affected, NULL, NULL, ?, ?, ?, ?
            FROM recluster_conflicts c
            ANTI JOIN review_items i ON i.key_l = c.key_l AND i.key_r = c.key_r
            """,
            [run_number, run_number, stamp, stamp],
        )
        tx.unregister("recluster_conflicts")
    _fill_item_values(tx)
    after = tx.execute("SELECT count(*) FROM review_items").fetchall()[0][0]
    return int(after - before)
