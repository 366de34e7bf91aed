"""The project file (:class:`ProjectFile`) and the small operations every user of it
shares: its schema and format version, metadata, the event log, erasure marks, record keys
and stable entity ids.

The review queue (:mod:`linkage.project._queue`) and the record store
(:mod:`linkage.store`) both hold a :class:`ProjectFile` and write through it, each change
inside one transaction of its own.

Who holds the file
------------------
DuckDB lets one process write a file, and a process that has it open holds it. The rule
every entry point follows:

* **Short bursts.** ``link(queue=...)``, the review CLI, ``ReviewQueue`` methods and
  ``linkage forget`` open the file for one transaction and close it. A process that finds
  the file held retries for ``timeout`` seconds, then raises
  :class:`~linkage.errors.ProjectBusyError` (nothing written).
* **One long holder.** A check service opens a :class:`~linkage.RecordStore` and keeps the
  file for its lifetime (a check must not pay for opening a file). Everything else that
  must happen while it runs (verdicts, erasures, imports) goes *through that process*:
  its ``store.queue`` (the same :class:`ProjectFile`) decides pairs, its ``store.forget``
  erases, its ``store.add`` imports. A reviewer's web page is served by the same process.
* **Erasure needs the file to itself** for its last step, a rewrite of the file that
  leaves no freed block holding erased bytes. The erasure itself (every table, one
  transaction) happens at once; the rewrite happens as soon as no one in this process
  holds the file (at once for a short burst, at ``store.close()`` for a holder). Until
  then the file carries a *compaction pending* mark, and whoever opens it next finishes
  the rewrite first; a kill in the middle of a rewrite leaves the old file whole, marked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from linkage import _memory
from linkage._sql import run
from linkage._version import __version__
from linkage.errors import (
    ProjectBusyError,
    ProjectDataError,
    ProjectError,
    ProjectVersionError,
)

FORMAT_VERSION = 2

# What each format version added, applied in order to an older file when it is opened
# (one transaction with the opening checks). Format 2: the reviewer's desk (leases, the
# model's per-field evidence of each item, reviewers' hashed tokens) and withdrawn
# verdicts (a ``withdrawn`` row in ``verdicts``, which format 1 would read as a verdict:
# hence a new format that older linkage refuses). Its tables are in SCHEMA, created with
# ``IF NOT EXISTS``, so a migration only has to say what SCHEMA cannot.
MIGRATIONS: dict[int, tuple[str, ...]] = {2: ()}

VERDICTS = ("match", "non_match", "skip")

#: The verdict row that takes the verdict before it back (the item is pending again).
WITHDRAWN = "withdrawn"

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
    # The desk (format 2). Keyed by item id, never by record key: erasing a record's items
    # leaves nothing of the record here (rows of gone items are dropped on the next write).
    """CREATE TABLE IF NOT EXISTS review_leases (
        item_id INTEGER PRIMARY KEY, reviewer VARCHAR NOT NULL, lease_id VARCHAR NOT NULL,
        leased_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS review_evidence (
        item_id INTEGER PRIMARY KEY, gammas VARCHAR NOT NULL, model_run INTEGER)""",
    """CREATE TABLE IF NOT EXISTS reviewers (
        token_id VARCHAR PRIMARY KEY, reviewer VARCHAR NOT NULL, salt VARCHAR NOT NULL,
        token_hash VARCHAR NOT NULL, masked BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP)""",
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


def pause_for_tests(variable: str = "LINKAGE_TEST_PAUSE_IN_TRANSACTION") -> None:
    """A test hook: hold the open transaction (to kill the process inside it)."""
    seconds = os.environ.get(variable)
    if seconds:
        marker = os.environ.get("LINKAGE_TEST_PAUSE_MARKER")
        if marker:
            Path(marker).write_text(str(os.getpid()))
        time.sleep(float(seconds))


# Files this process holds open, by resolved path: a rewrite must wait for all of them
# (DuckDB shares one database instance between connections to a file in a process).
_HOLDERS: dict[str, int] = {}
# DuckDB's file header: a main header and two database headers of 4 KiB each.
_HEADER_BYTES = 3 * 4096

_HOLDERS_LOCK = threading.Lock()


def _hold_count(path: Path, change: int) -> int:
    name = str(path.resolve())
    with _HOLDERS_LOCK:
        count = _HOLDERS.get(name, 0) + change
        if count:
            _HOLDERS[name] = count
        else:
            _HOLDERS.pop(name, None)
        return count


class ProjectFile:
    """One project file (or an in-memory one): opening with retries, the lock, one
    transaction per change, format versions, metadata, events and the rewrite that
    erasure needs. The review queue and the record store share one of these.

    Open it with :meth:`open` (created when missing) or :meth:`in_memory`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        timeout: float = 10.0,
        memory_limit: str | int | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.timeout = timeout
        # DuckDB's share of memory for this file (default: linkage's, not DuckDB's 80% of
        # the machine); checked now, so a bad size fails before the file is touched.
        self.memory_limit = _memory.resolve_limit(memory_limit)
        self._memory: duckdb.DuckDBPyConnection | None = None
        self._holders = 0
        self._lock = threading.RLock()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        memory_limit: str | int | None = None,
    ) -> ProjectFile:
        """Open a project file, creating it when it does not exist, and finish a rewrite
        that an erasure left pending. ``memory_limit``: DuckDB's share of memory while the
        file is open (default ``1.5GB`` or ``$LINKAGE_MEMORY_LIMIT``); beyond it DuckDB
        spills next to the file (``<file>.tmp``).

        Raises:
            ProjectVersionError: the file was written by a newer ``linkage``.
            ProjectError: the file is not a ``linkage`` project file.
            ProjectBusyError: another process held the file for longer than ``timeout``.
        """
        file = cls(path, timeout=timeout, memory_limit=memory_limit)
        file.initialise()
        if file.compaction_pending():
            file.compact()
        return file

    @classmethod
    def in_memory(cls) -> ProjectFile:
        """A project that lives as long as this object (what ``link`` uses without a file)."""
        file = cls(None)
        file._memory = duckdb.connect()
        file._holders = 1
        file.initialise()
        return file

    def __repr__(self) -> str:
        return f"ProjectFile({self.path if self.path else 'in memory'})"

    def initialise(self) -> None:
        """Create the tables of a new file; refuse a file this version cannot read."""
        try:
            self._initialise()
        except (duckdb.IOException, duckdb.InternalException, duckdb.SerializationException) as exc:
            raise ProjectDataError(
                f"cannot read {self.path} as a project file ({_first_line(exc)}): it is damaged "
                "or not a DuckDB file; restore it from a backup or give another path"
            ) from exc

    def _initialise(self) -> None:
        with self.transaction() as con:
            self._check_length(con)
            tables = {
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
            if tables and "linkage_meta" not in tables:
                raise ProjectError(
                    f"{self.path} is a DuckDB file but not a linkage project file "
                    f"(it holds {', '.join(sorted(tables)[:5])}); give another path"
                )
            if "linkage_meta" in tables:
                stored = read_meta(con, "format_version")
                if stored is not None and not stored.isdigit():
                    raise ProjectDataError(
                        f"{self.path} is damaged: its format version is {stored!r}, not a "
                        "number; restore the file from a backup"
                    )
                if stored is not None and int(stored) > FORMAT_VERSION:
                    raise ProjectVersionError(
                        f"{self.path} was written by a newer linkage (project format "
                        f"{stored}; linkage {__version__} reads format {FORMAT_VERSION} and "
                        f"older, last written by linkage {read_meta(con, 'linkage_version')}): "
                        "upgrade linkage to open it"
                    )
            for statement in SCHEMA:
                run(con, statement)
            _check_tables(con, self.path)
            stored = read_meta(con, "format_version")
            if stored is None:
                write_meta(con, "format_version", str(FORMAT_VERSION))
                write_meta(con, "linkage_version", __version__)
                write_meta(con, "runs", "0")
            elif int(stored) < FORMAT_VERSION:
                _migrate(con, int(stored))

    # -- connections -----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on the project file: all of it is written, or none."""
        con = self.connect()
        try:
            run(con, "BEGIN TRANSACTION")
            try:
                yield con
                run(con, "COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    run(con, "ROLLBACK")
                raise
        except duckdb.TransactionException as exc:
            raise ProjectBusyError(
                f"another change to {self} was made at the same time; nothing was written, "
                f"try again ({exc})"
            ) from exc
        finally:
            con.close()

    def hold(self) -> duckdb.DuckDBPyConnection:
        """Keep the file open until as many :meth:`release` calls (the record store does,
        so that a check costs no file opening); every operation then runs on a cursor of
        it, and another process waits, as it does for any writer.

        Raises:
            ProjectBusyError: another process held the file for longer than ``timeout``.
        """
        with self._lock:
            if self._memory is None:
                self._memory = self.connect()
                _hold_count(self.path, +1)
            self._holders += 1
            return self._memory

    def release(self) -> None:
        """Undo one :meth:`hold`; the last one closes the file (other processes may open
        it again) and finishes a pending rewrite."""
        with self._lock:
            if self.path is None or self._holders == 0:
                return
            self._holders -= 1
            if self._holders == 0 and self._memory is not None:
                self._memory.close()
                self._memory = None
                _hold_count(self.path, -1)
                if self.compaction_pending():
                    self.compact()

    def _check_length(self, con: duckdb.DuckDBPyConnection) -> None:
        """Refuse a file cut short (a copy that stopped, a full disk): DuckDB opens it and
        only fails later, on the first read of a block that is not there. The file must at
        least hold its header and every block in use (blocks may sit anywhere in it)."""
        if self.path is None:
            return
        used, block = con.execute(
            "SELECT used_blocks, block_size FROM pragma_database_size()"
        ).fetchall()[0]
        needed = _HEADER_BYTES + int(used) * int(block)
        size = os.path.getsize(self.path)
        if size < needed:
            raise ProjectDataError(
                f"cannot read {self.path} as a project file (it is {size:,} bytes but holds "
                f"{used} blocks of {block:,}): it is damaged or not a DuckDB file (cut short?); "
                "restore it from a backup or give another path"
            )

    @property
    def held(self) -> bool:
        """Whether this object keeps the file open."""
        return self._memory is not None

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own (close it): a cursor of the held file, or the file
        opened, retrying while another process holds it."""
        if self._memory is not None:
            return self._memory.cursor()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                con = duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" not in text.lower():
                    raise ProjectDataError(
                        f"cannot open {self.path} as a project file ({text}): it is damaged or "
                        "not a DuckDB file; restore it from a backup or give another path"
                    ) from exc
                if time.monotonic() >= deadline:
                    raise ProjectBusyError(
                        f"{self.path} is in use by another process (waited {self.timeout:g}s); "
                        "nothing was written. Try again when it is done, or raise timeout. "
                        f"DuckDB said: {text}"
                    ) from exc
                time.sleep(0.05)
                continue
            except duckdb.Error as exc:
                raise ProjectDataError(
                    f"cannot open {self.path} as a project file ({exc}): it is damaged or not "
                    "a DuckDB file; restore it from a backup or give another path"
                ) from exc
            run(con, f"SET memory_limit = '{self.memory_limit}B'")
            if os.environ.get("LINKAGE_TEST_UNCOMPRESSED"):
                # A test hook: store values as they are, so a byte search can see them.
                run(con, "SET force_compression = 'uncompressed'")
            return con

    # -- what it holds ---------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """One metadata value (``None`` when unset)."""
        con = self.connect()
        try:
            return read_meta(con, key)
        finally:
            con.close()

    def tables(self) -> set[str]:
        con = self.connect()
        try:
            return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        finally:
            con.close()

    def compaction_pending(self) -> bool:
        """Whether an erasure's rewrite of the file is still to be done."""
        return self.path is not None and self.meta("compaction_pending") is not None

    # -- erasure's last step ---------------------------------------------------------------

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file."""
        con = self.connect()
        try:
            run(con, "FORCE CHECKPOINT")
        finally:
            con.close()

    def compact(self) -> bool:
        """Rewrite the file so that no freed block keeps erased values: copy every table,
        sequence and index to a new file, then put it in place of the old one.

        Needs the file to itself: while anyone in this process holds it (an open
        store), the rewrite waits for the last release, and the *compaction pending*
        mark stays. A kill leaves
        either the old file, still marked, or the new one.

        Returns:
            whether the file was rewritten.
        """
        with self._lock:
            if self.path is None or self._memory is not None or _hold_count(self.path, 0):
                return False
            fresh = self.path.with_name(self.path.name + ".compacting")
            fresh.unlink(missing_ok=True)
            Path(str(fresh) + ".wal").unlink(missing_ok=True)
            con = self.connect()
            try:
                run(con, "FORCE CHECKPOINT")
                name = con.execute("SELECT current_database()").fetchall()[0][0]
                run(con, f"ATTACH '{_sql_text(fresh)}' AS linkage_compacting")
                run(con, f'COPY FROM DATABASE "{name}" TO linkage_compacting')
                run(
                    con,
                    "DELETE FROM linkage_compacting.linkage_meta WHERE key = 'compaction_pending'",
                )
                pause_for_tests("LINKAGE_TEST_PAUSE_IN_COMPACTION")
                run(con, "DETACH linkage_compacting")
            finally:
                con.close()
            os.replace(fresh, self.path)
            Path(str(self.path) + ".wal").unlink(missing_ok=True)
            return True


def _expected_columns() -> dict[str, list[str]]:
    con = duckdb.connect()
    try:
        for statement in SCHEMA:
            run(con, statement)
        return _columns(con)
    finally:
        con.close()


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() ORDER BY table_name, column_index"
    ).fetchall():
        out.setdefault(table, []).append(column)
    return out


_EXPECTED: dict[str, list[str]] = {}


def _check_tables(con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
    """A file whose tables or metadata were changed by hand is refused with what is wrong,
    not met later as a ``KeyError`` or a DuckDB binder error."""
    if not _EXPECTED:
        _EXPECTED.update(_expected_columns())
    found = _columns(con)
    for table, columns in _EXPECTED.items():
        if found.get(table) != columns:
            raise ProjectDataError(
                f"{path} is damaged: table {table} has columns {found.get(table)}, expected "
                f"{columns}; restore the file from a backup"
            )
    for key in ("format_version", "runs"):
        value = read_meta(con, key)
        if value is not None and not value.isdigit():
            raise ProjectDataError(
                f"{path} is damaged: its {key} is {value!r}, not a whole number; restore the "
                "file from a backup"
            )
    for key in ("id_columns", "inputs"):
        value = read_meta(con, key)
        if value is None:
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
            raise ProjectDataError(
                f"{path} is damaged: its {key} is {value!r}, not a list of names; restore "
                "the file from a backup"
            )


def _migrate(con: duckdb.DuckDBPyConnection, stored: int) -> None:
    """Bring a file of an older format to this one, in the caller's transaction (a kill
    leaves the old format whole), and log that it happened."""
    for version in range(stored + 1, FORMAT_VERSION + 1):
        for statement in MIGRATIONS.get(version, ()):
            run(con, statement)
    write_meta(con, "format_version", str(FORMAT_VERSION))
    write_meta(con, "linkage_version", __version__)
    log_event(con, "migrated", None, None, None, f"project format {stored} -> {FORMAT_VERSION}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")
