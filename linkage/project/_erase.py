"""Erasure (internal): a record removed from every table of the project file, in one
transaction: the review queue, verdicts and their notes, the entity mapping, the event
log, and the record store's records, blocking keys, lookups, counts, golden records and
lineage.

What is left is only that an erasure happened, and when: an ``erased`` event without id
or values, and a one-way hash of the record key (so the record is left out if the CRM
sends it again). Entity ids are named after a record (the first record of an entity): an
id named after an erased record is re-issued to the entity's remaining members, logged
as an ``entity_reissued`` event that names the new id and the old id's hash, never the
old id.

The transaction leaves a *compaction pending* mark: DuckDB does not zero freed blocks, so
erased values stay in the file's bytes until :meth:`ProjectFile.compact` rewrites it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

import duckdb
import pandas as pd

from linkage import survivorship
from linkage._sql import quote, run
from linkage.project._file import first_row, log_event, read_meta, write_meta

PHONES = ("mobile_e164", "phone_e164")


def erase_records(
    con: duckdb.DuckDBPyConnection, keys: Sequence[str], at: dt.datetime
) -> dict[str, str]:
    """Erase these record keys from every table, inside the caller's transaction.

    Returns:
        the entity ids re-issued, old -> new (the caller must not log the old ones).
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.register("erased_keys", pd.DataFrame({"record_key": keys}))
    try:
        entity_of = dict(
            con.execute(
                "SELECT record_key, entity_id FROM project_records SEMI JOIN erased_keys "
                "USING (record_key) WHERE entity_id IS NOT NULL"
            ).fetchall()
        )
        store_entities: set[str] = set()
        if "store_records" in tables:
            store_of = _erase_from_store(con)
            store_entities = set(store_of.values())
            entity_of = {**store_of, **entity_of}
        entities = set(entity_of.values())
        survivors = _survivors(con, entities, tables)
        _erase_from_queue(con, keys, at)
        reissued = _reissue(con, keys, entities, tables, at)
        for entity in sorted(store_entities):
            survivorship.rebuild_stored(con, [reissued.get(entity, entity)])
        # Only that a record was erased, and when: no id, no values. The entity is named
        # when it lives on in other records (so its merge log shows the gap).
        for key in keys:
            entity = entity_of.get(key)
            named = reissued.get(entity, entity) if entity in survivors else None
            log_event(con, "erased", named, None, None, None, at)
        write_meta(con, "compaction_pending", at.isoformat())
    finally:
        con.unregister("erased_keys")
    return reissued


def _survivors(con: duckdb.DuckDBPyConnection, entities: set[str], tables: set[str]) -> set[str]:
    if not entities:
        return set()
    con.register("erased_entities", pd.DataFrame({"entity_id": sorted(entities)}))
    try:
        out = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT entity_id FROM project_records SEMI JOIN erased_entities "
                "USING (entity_id) ANTI JOIN erased_keys USING (record_key)"
            ).fetchall()
        }
        if "store_records" in tables:
            out |= {
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT entity_id FROM store_records SEMI JOIN erased_entities "
                    "USING (entity_id)"
                ).fetchall()
            }
    finally:
        con.unregister("erased_entities")
    return out


def _erase_from_queue(con: duckdb.DuckDBPyConnection, keys: list[str], at: dt.datetime) -> None:
    run(
        con,
        "DELETE FROM review_items WHERE key_l IN (SELECT record_key FROM erased_keys) "
        "OR key_r IN (SELECT record_key FROM erased_keys)",
    )
    run(
        con,
        "DELETE FROM verdicts WHERE key_l IN (SELECT record_key FROM erased_keys) "
        "OR key_r IN (SELECT record_key FROM erased_keys)",
    )
    run(con, "DELETE FROM project_records WHERE record_key IN (SELECT record_key FROM erased_keys)")
    run(
        con,
        "UPDATE project_events SET record_key = NULL, note = NULL "
        "WHERE record_key IN (SELECT record_key FROM erased_keys)",
    )
    for key in keys:
        pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        run(con, "UPDATE project_events SET note = NULL WHERE note LIKE ? ESCAPE '\\'", [pattern])
        run(
            con,
            "UPDATE review_items SET reason = NULL WHERE reason LIKE ? ESCAPE '\\'",
            [pattern],
        )
        # A one-way hash, so that the record is left out if the CRM sends it again.
        run(con, "INSERT OR REPLACE INTO erasures VALUES (sha256(?), ?)", [key, at])


def _erase_from_store(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The store's rows of the erased records, and the counts they added to; returns the
    store entity of each erased record."""
    columns = {r[0] for r in con.execute("DESCRIBE store_records").fetchall()}
    rows = con.execute("SELECT * FROM store_records SEMI JOIN erased_keys USING (record_key)").df()
    if rows.empty:
        return {}
    con.register("erased_rids", rows[["rid"]])
    try:
        # Term-frequency counts: a count key holds the value, so a count that reaches
        # zero is deleted, not kept at zero.
        totals = json.loads(read_meta(con, "store_tf_totals") or "{}")
        for column in list(totals):
            if column not in columns:
                continue
            values = rows[column].dropna().astype(str)
            for value, n in values.value_counts().items():
                lookup = f"tf:{column}={value}"
                run(con, "UPDATE store_counts SET n = n - ? WHERE lookup = ?", [int(n), lookup])
                totals[column] = int(totals[column]) - int(n)
        write_meta(con, "store_tf_totals", json.dumps(totals))
        run(con, "DELETE FROM store_keys WHERE rid IN (SELECT rid FROM erased_rids)")
        run(con, "DELETE FROM store_lookup WHERE rid IN (SELECT rid FROM erased_rids)")
        run(con, "DELETE FROM store_records WHERE rid IN (SELECT rid FROM erased_rids)")
        # Shared-number counts: a (number, name) pair no remaining record holds is no
        # longer counted.
        phones = [p for p in PHONES if p in columns]
        if "person_name_key" in columns and phones:
            pairs = {
                (str(row[p]), str(row["person_name_key"]))
                for _, row in rows.iterrows()
                for p in phones
                if pd.notna(row[p]) and pd.notna(row["person_name_key"])
            }
            either = " OR ".join(f"{quote(p)} = ?" for p in phones)
            for number, name in sorted(pairs):
                held = first_row(
                    con.execute(
                        f"SELECT count(*) FROM store_records WHERE person_name_key = ? "
                        f"AND ({either})",
                        [name, *([number] * len(phones))],
                    )
                )[0]
                if held:
                    continue
                run(
                    con,
                    "DELETE FROM store_phone_names WHERE e164 = ? AND name_key = ?",
                    [number, name],
                )
                run(con, "DELETE FROM store_counts WHERE lookup = ?", [f"pn:{number}|{name}"])
                run(con, "UPDATE store_counts SET n = n - 1 WHERE lookup = ?", [f"pc:{number}"])
        run(con, "DELETE FROM store_counts WHERE n <= 0")
        n_records = int(read_meta(con, "store_n_records") or 0) - len(rows)
        write_meta(con, "store_n_records", str(max(n_records, 0)))
    finally:
        con.unregister("erased_rids")
    known = rows.dropna(subset=["entity_id"])
    return dict(zip(known["record_key"].astype(str), known["entity_id"].astype(str)))


def _named_after(entity: str, keys: list[str]) -> bool:
    return any(entity == k or entity.startswith(k + "#") for k in keys)


def _reissue(
    con: duckdb.DuckDBPyConnection,
    keys: list[str],
    entities: set[str],
    tables: set[str],
    at: dt.datetime,
) -> dict[str, str]:
    """A new id for each entity named after an erased record: the first remaining
    member's key (suffixed when issued before), everywhere the old one was written."""
    reissued: dict[str, str] = {}
    issued = {r[0] for r in con.execute("SELECT entity_id FROM project_entity_ids").fetchall()}
    has_store = "store_records" in tables
    for old in sorted(e for e in entities if _named_after(e, keys)):
        members = [
            r[0]
            for r in con.execute(
                "SELECT record_key FROM project_records WHERE entity_id = ? "
                + (
                    "UNION SELECT record_key FROM store_records WHERE entity_id = ? "
                    if has_store
                    else ""
                )
                + "ORDER BY 1",
                [old, old] if has_store else [old],
            ).fetchall()
        ]
        run(con, "DELETE FROM project_entity_ids WHERE entity_id = ?", [old])
        old_hash = hashlib.sha256(old.encode("utf-8")).hexdigest()
        if not members:
            run(con, "UPDATE project_events SET entity_id = NULL WHERE entity_id = ?", [old])
            continue
        new, suffix = members[0], 2
        while new in issued:
            new = f"{members[0]}#{suffix}"
            suffix += 1
        issued.add(new)
        reissued[old] = new
        run(con, "INSERT INTO project_entity_ids VALUES (?, ?)",
            [new, int(read_meta(con, "runs") or 0)])  # fmt: skip
        updates = ["project_records", "project_events"]
        if has_store:
            updates += ["store_records", "store_lookup", "store_golden", "store_lineage"]
        for table in updates:
            if table in tables:
                run(con, f"UPDATE {table} SET entity_id = ? WHERE entity_id = ?", [new, old])
        log_event(
            con,
            "entity_reissued",
            new,
            None,
            None,
            f"re-issued after an erasure: the old id named the erased record "
            f"(its sha256 begins {old_hash[:16]})",
            at,
        )
    return reissued
