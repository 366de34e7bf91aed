"""The project file's tables and the small operations every user of the file shares
(internal): its schema and format version, metadata, the event log, erasure marks, record
keys and stable entity ids.

The review queue (:mod:`linkage.project._queue`) and the record store
(:mod:`linkage.store`) both write through these, each inside its own transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import duckdb

from linkage._sql import run

FORMAT_VERSION = 1

VERDICTS = ("match", "non_match", "skip")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS linkage_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS project_records (
        record_key VARCHAR, source_dataset VARCHAR, record_id VARCHAR, entity_id VARCHAR,
        last_run INTEGER)""",
    "CREATE TABLE IF NOT EXISTS project_entity_ids (entity_id VARCHAR, issued_run INTEGER)",
    "CREATE SEQUENCE IF NOT EXISTS review_item_ids START 1",
    """CREATE TABLE IF NOT EXISTS review_items (
        item_id INTEGER PRIMARY KEY, key_l VARCHAR NOT NULL, key_r VARCHAR NOT NULL,
        kind VARCHAR NOT NULL, status VARCHAR NOT NULL, decision VARCHAR,
        match_weight DOUBLE, match_probability DOUBLE, reason VARCHAR,
        sample_weight DOUBLE, records_affected INTEGER, values_l VARCHAR, values_r VARCHAR,
        first_run INTEGER, last_run INTEGER, created_at TIMESTAMP, updated_at TIMESTAMP,
        UNIQUE (key_l, key_r))""",
    "CREATE SEQUENCE IF NOT EXISTS verdict_ids START 1",
    """CREATE TABLE IF NOT EXISTS verdicts (
        verdict_id INTEGER PRIMARY KEY, item_id INTEGER, key_l VARCHAR NOT NULL,
        key_r VARCHAR NOT NULL, verdict VARCHAR NOT NULL, reviewer VARCHAR NOT NULL,
        note VARCHAR, origin VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL)""",
    "CREATE SEQUENCE IF NOT EXISTS event_ids START 1",
    """CREATE TABLE IF NOT EXISTS project_events (
        event_id INTEGER PRIMARY KEY, "at" TIMESTAMP NOT NULL, event VARCHAR NOT NULL,
        entity_id VARCHAR, record_key VARCHAR, actor VARCHAR, note VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS erasures (key_hash VARCHAR PRIMARY KEY, erased_at TIMESTAMP)",
)


def record_key(record: str | tuple[str, str]) -> str:
    """The key of a record in the project file: its id, or ``"input:id"`` when several
    inputs were linked (``("customers", "C001")`` and ``"customers:C001"`` are the same)."""
    if isinstance(record, tuple):
        source, record_id = record
        return f"{source}:{record_id}"
    return str(record)


def canonical(key_a: str, key_b: str) -> tuple[str, str]:
    """A pair's keys in the order the queue stores them."""
    return (key_a, key_b) if key_a <= key_b else (key_b, key_a)


def now() -> dt.datetime:
    """The current time, naive UTC (how the project file stores times)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def first_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a result, reading it to the end (DuckDB 2 refuses further work on
    a connection while a result is unfinished)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def read_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = first_row(con.execute("SELECT value FROM linkage_meta WHERE key = ?", [key]))
    return row[0] if row else None


def write_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    run(con, "INSERT OR REPLACE INTO linkage_meta VALUES (?, ?)", [key, value])


def log_event(
    con: duckdb.DuckDBPyConnection,
    event: str,
    entity_id: str | None,
    key: str | None,
    actor: str | None,
    note: str | None,
    at: dt.datetime | None = None,
) -> None:
    run(
        con,
        "INSERT INTO project_events VALUES (nextval('event_ids'), ?, ?, ?, ?, ?, ?)",
        [at or now(), event, entity_id, key, actor, note],
    )


def erase_key(con: duckdb.DuckDBPyConnection, key: str, at: dt.datetime) -> None:
    run(con, "DELETE FROM review_items WHERE key_l = ? OR key_r = ?", [key, key])
    run(con, "DELETE FROM verdicts WHERE key_l = ? OR key_r = ?", [key, key])
    run(con, "DELETE FROM project_records WHERE record_key = ?", [key])
    run(con, "UPDATE project_events SET record_key = NULL WHERE record_key = ?", [key])
    run(
        con,
        "UPDATE project_events SET note = NULL WHERE note LIKE ? ESCAPE '\\'",
        ["%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
    )
    # A one-way hash, so that the record is left out if the CRM sends it again.
    run(
        con,
        "INSERT OR REPLACE INTO erasures VALUES (sha256(?), ?)",
        [key, at],
    )


def ensure_item(con: duckdb.DuckDBPyConnection, key_l: str, key_r: str, kind: str) -> int:
    row = first_row(
        con.execute(
            "SELECT item_id FROM review_items WHERE key_l = ? AND key_r = ?", [key_l, key_r]
        )
    )
    if row:
        return int(row[0])
    run_number = int(read_meta(con, "runs") or 0)
    values = first_row(
        con.execute(
            "SELECT any_value(values_l) FILTER (WHERE key_l = ?), "
            "any_value(values_r) FILTER (WHERE key_r = ?) FROM review_items",
            [key_l, key_r],
        )
    )
    return int(
        first_row(
            con.execute(
                "INSERT INTO review_items (item_id, key_l, key_r, kind, status, values_l, "
                "values_r, first_run, last_run, created_at, updated_at) "
                "VALUES (nextval('review_item_ids'), ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) "
                "RETURNING item_id",
                [key_l, key_r, kind, values[0], values[1], run_number, run_number, now(), now()],
            )
        )[0]
    )


def pause_for_tests() -> None:
    """A test hook: hold the open transaction (to kill the process inside it)."""
    seconds = os.environ.get("LINKAGE_TEST_PAUSE_IN_TRANSACTION")
    if seconds:
        marker = os.environ.get("LINKAGE_TEST_PAUSE_MARKER")
        if marker:
            Path(marker).write_text(str(os.getpid()))
        time.sleep(float(seconds))
