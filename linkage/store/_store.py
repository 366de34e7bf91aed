"""Check new records on create, edit and import, against a store of existing records.

A *store* lives in the project file, beside the review queue: the standardized records of a
``link`` run with their entities and golden records (lineage is built from an entity's
members when asked), the trained model (JSON,
versioned), the blocking rules and the values they leave out, and the counts behind the
term-frequency adjustments. Opening a store retrains and rescans nothing.

    >>> result = linkage.link(customers, queue="crm.linkage")          # doctest: +SKIP
    >>> store = RecordStore.build(result, object_name="contact")       # doctest: +SKIP
    >>> store.check_one({"name": "王伟", "mobile": "13800138000"})      # doctest: +SKIP
    CheckResult(decision='auto_merge', entity_id='C0012', owner='li.na', ...)
    >>> store.add(todays_leads)     # deduplicated on import, in one transaction  # doctest: +SKIP

How a check scores
------------------
Candidates come from lookups on the blocking keys (a long table of ``rule:key -> rid``,
held in memory as hash-sorted arrays once the store is open), never from a scan of the store.
The candidate pairs are then scored by the model's own comparison and weight SQL, generated
by splink once per model version and prepared per connection, with the term frequencies the
full run would have used (counts kept in the store, so ``tf = count / total`` as splink
computes it), and decided by :func:`linkage.decisions.decision_query` under the model's
policy. A pair therefore scores exactly as it does in ``link``. An entity's score is its
best-scoring member; a record whose every candidate entity is ``distinct`` is new.

A form check reads nothing from the file: the candidates' comparison values (typed as
the model's SQL reads them, ~250 bytes per record) and the golden records (~390 bytes per
entity) are held in memory beside the index (:class:`linkage.store._index.HeldRows`), and
the model compiled to Python (:mod:`linkage.store._fast`) scores the few pairs; DuckDB
finds one row by its key in ~3 ms and plans splink's statement in ~13 ms. An import or an
edit reads again only the rows it changed; anything else (a retrain, a re-cluster, an
erasure, another store object's write) reads them whole. A model or a value the fast path
cannot reproduce exactly is scored with splink's SQL, the reference. An import computes
term frequencies in SQL, so that the candidates' stored values never travel through
Python (``benchmarks/RESULTS.md``).

Adding records
--------------
:meth:`RecordStore.add` checks a batch against the store and within itself, clusters the
new records with the same constrained method as ``link`` (strongest link first, never across
pairs whose evidence is below ``keep_apart_below``), and writes records, entities, golden
records, review items and a log line in one transaction. A new record never merges
two existing entities: the link that would do so becomes a review item (kind ``conflict``).

Staying as good as one link
---------------------------
Imports drift from what one ``link`` over every record would find, for two reasons: the
model was trained on the records the store was built from, and each batch is clustered
against entities it may not change. The store counts the records its model was not trained
on; once they outnumber the trained ones, ``add`` says so (``AddResult.retrain_advised``,
a :class:`RetrainAdvised` warning, a log line). :meth:`RecordStore.retrain` then
:meth:`RecordStore.recluster` re-score every stored candidate pair and cluster the store as
``link`` would, verdicts honoured. Measured on the CRM generator (8,000 leads in ten
imports, the first tenth linked with its own training): clustered F1 0.9751 without,
0.9804 retrained when told, one link 0.9847; with the same model, re-clustering alone
takes ten imports from 0.9800 to 0.9847.

Threads
-------
A service holds the store open and checks from many threads: each thread reads through a
DuckDB cursor of its own, and a check reads one view of the store (the state and the
in-memory index, replaced whole after a write), so checks take no lock and cost what they
cost alone (~3 µs more). Writes take turns per file in the process; store objects on one
file share the turn and a count of writes, and read again when another one wrote.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import _compat, project, schema, survivorship
from linkage import model as model_mod
from linkage import standardize as standardize_mod
from linkage._sql import quote
from linkage.errors import (
    ConfigError,
    InputError,
    ProjectBusyError,
    StoreError,
)
from linkage.store import _write
from linkage.store._index import (
    Appended,
    HeldRows,
    MemoryIndex,
    Probes,
    RecordTable,
    Rewritten,
    StoreIndex,
    spans,
)
from linkage.store._records import (
    RANK,
    AddResult,
    CheckResult,
    RetrainAdvised,
    StoreState,
    as_frame,
    block_keys,
    golden_rows,
    has_value,
    id_text,
    json_value,
    one_result,
    record_lookups,
    store_key,
)
from linkage.store._scorer import Scorer

logger = logging.getLogger("linkage")


@dataclass(eq=False)
class _SharedFile:
    """What every store object on one file in this process shares: one writer at a time,
    and the count of writes, so that an object that sees the count move reads the state
    and the in-memory index again before its next check."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    writes: int = 0
    builds: int = 0


# By resolved path; an entry lives as long as a store object holds it.
_OPEN_FILES: weakref.WeakValueDictionary[str, _SharedFile] = weakref.WeakValueDictionary()
_OPEN_FILES_LOCK = threading.Lock()


def _shared_file(path: str | os.PathLike[str] | None) -> _SharedFile:
    if path is None:
        return _SharedFile()
    name = str(Path(path).resolve())
    with _OPEN_FILES_LOCK:
        shared = _OPEN_FILES.get(name)
        if shared is None:
            shared = _SharedFile()
            _OPEN_FILES[name] = shared
        return shared


@dataclass(frozen=True)
class _View:
    """What a check reads, consistent with itself: the state, the in-memory index read
    after it was written, and the count of the file's writes they reflect."""

    state: StoreState
    index: StoreIndex
    writes: int
    # The candidates' comparison values (rid -> row, typed as the model's SQL reads them)
    # and the golden records (entity -> row), held in memory; None: read from the file.
    payloads: HeldRows | None = None
    golden: HeldRows | None = None


class RecordStore:
    """The store of existing records, in a project file. Open it with :meth:`open`, or
    make it from a ``link`` result with :meth:`build`; close it (or use ``with``) to let
    another process write the file.

    One process, many threads: a check service opens the store once and calls
    :meth:`check_one` and :meth:`check` from as many threads as it likes. Each thread
    reads through a DuckDB cursor of its own (a connection is not for sharing between
    threads; its cursors are), and a check reads one consistent view of the store (its
    state and in-memory index, replaced whole after a write), so checks take no lock.
    Writes (:meth:`add`, :meth:`edit`, :meth:`retrain`, :meth:`recluster`) take turns,
    one at a time per file in the process; checks keep running meanwhile, on the view
    from before the write until it commits. Close the store after the last check.

    Two store objects on one file in one process see each other's writes: a write by one
    is read by the other before its next check or write (they share the writers' turn and
    a count of writes). Another process cannot open the file while a store holds it.
    """

    def __init__(self, queue: project.ReviewQueue) -> None:
        self.queue = queue
        self._con: duckdb.DuckDBPyConnection | None = None
        self._shared = _shared_file(queue.path)
        self._view: _View | None = None
        # Per thread: its cursor (and the connection it came from), the view it reads.
        self._local = threading.local()
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        self._scorers: dict[int, Scorer] = {}
        self._mappings: dict[Any, tuple[dict[str, str], str | None]] = {}
        self._cache_lock = threading.Lock()
        self._builds_seen = self._shared.builds

    # -- making and opening ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        result: Any,
        path: str | os.PathLike[str] | None = None,
        *,
        object_name: str = "lead",
        replace: bool = False,
        discard: bool = False,
        timeout: float = 10.0,
        memory_limit: str | int | None = None,
    ) -> RecordStore:
        """Make a store from a ``link`` result, in its project file.

        Args:
            result: a :class:`~linkage.LinkResult` (of one input).
            path: the project file; default the file the result's queue is in. A result
                linked with an in-memory queue has its queue copied into ``path``.
            object_name: what the records are (``lead``, ``contact``, ``customer``):
                checks report it as ``matched_object``.
            replace: replace a store already in the file. It refuses when that store
                holds records added since it was built that ``result`` does not hold, or
                retrained model versions.
            discard: with ``replace``, rebuild even so, dropping them.
            timeout: seconds to wait for another process holding the file.
            memory_limit: DuckDB's share of memory while the store is open, e.g. ``"1GB"``
                (default ``1.5GB``, or ``$LINKAGE_MEMORY_LIMIT``); beyond it DuckDB spills
                next to the file. The values checks read are held outside it, in Arrow
                (about 560 bytes per stored record).

        Raises:
            StoreError: the result cannot make a store, or the file holds one already.
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]*", object_name):
            raise ConfigError(f"object_name must be a lower-case word, not {object_name!r}")
        queue = _write.build_store(
            result, path, object_name, replace, timeout, discard, memory_limit
        )
        # Store objects already open on this file read the new store before their next use.
        shared = _shared_file(queue.path)
        with shared.lock:
            shared.writes += 1
            shared.builds += 1
        return cls._opened(queue)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        memory_limit: str | int | None = None,
    ) -> RecordStore:
        """Open the store in a project file (nothing is retrained or rescanned).
        ``memory_limit``: DuckDB's share of memory while it is open (as in :meth:`build`).

        Raises:
            StoreError: the file holds no store.
            ProjectVersionError: the store was written by a newer ``linkage``.
            ProjectBusyError: another process held the file for longer than ``timeout``.
        """
        path = Path(path)
        if not path.exists():
            raise StoreError(f"{path} does not exist: build a store with RecordStore.build")
        return cls._opened(
            project.ReviewQueue.open(path, timeout=timeout, memory_limit=memory_limit)
        )

    @classmethod
    def _opened(cls, queue: project.ReviewQueue) -> RecordStore:
        store = cls(queue)
        store._con = queue.hold()
        try:
            store._current()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Close the project file (after the last check: a check running in another
        thread meanwhile fails)."""
        with self._shared.lock:
            if self._let_go():
                self.queue.release()

    def _let_go(self) -> bool:
        """Stop using the held connection and close every thread's cursor of it (a cursor
        keeps the database open); whether there was one."""
        con, self._con = self._con, None
        for cursor in list(self._cursors):
            with contextlib.suppress(duckdb.Error):
                cursor.close()
        return con is not None

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        view = self._view
        n_records = view.state.n_records if view is not None else 0
        return (
            f"RecordStore({self.queue.path}, {self.object_name}, "
            f"{n_records:,} records, model v{self.model_version})"
        )

    # -- the view a check reads, the turn a write takes ------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor of the held file."""
        con = self._con
        if con is None:
            raise StoreError("this store is closed: open it again with RecordStore.open")
        local = self._local
        if getattr(local, "parent", None) is not con:
            local.cursor = con.cursor()
            local.parent = con
            self._cursors.add(local.cursor)
        return local.cursor

    @property
    def _state(self) -> StoreState:
        """The state this thread reads (pinned for the length of a check or a write)."""
        return self._current().state

    def _index(self) -> StoreIndex:
        """The blocking keys and counts in memory, sorted by hash (read at open, and again
        after each write): a check looks them up in microseconds."""
        return self._current().index

    def _current(self) -> _View:
        pinned: _View | None = getattr(self._local, "view", None)
        if pinned is not None:
            return pinned
        view = self._view
        if view is None or view.writes != self._shared.writes:
            view = self._reload()
        return view

    def _reload(self) -> _View:
        """Read the state and the index from the file, when another object (or an
        erasure) wrote since this one last read them."""
        with self._shared.lock:
            view = self._view
            if view is not None and view.writes == self._shared.writes:
                return view
            con = self._cursor()
            state = StoreState.load(con, self.queue.path)
            if self._builds_seen != self._shared.builds:
                # The store was made again: model version 1 may be another model now.
                with self._cache_lock:
                    self._scorers = {}
                self._mappings = {}
                self._builds_seen = self._shared.builds
            self._view = self._read_view(con, state, None)
            return self._view

    @contextlib.contextmanager
    def _reading(self) -> Iterator[_View]:
        """Pin the current view for this thread while one check runs (a write in another
        thread replaces the view, never changes it)."""
        pinned = getattr(self._local, "view", None)
        if pinned is not None:
            yield pinned
            return
        self._local.view = view = self._current()
        try:
            yield view
        finally:
            self._local.view = None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[StoreState]:
        """This file's writers' turn, on the current state (re-read when another object
        wrote). Call :meth:`_publish` with the state a committed write leaves; a write
        that fails leaves the view to be read again from the file."""
        with self._shared.lock:
            previous = getattr(self._local, "view", None)
            self._local.view = None
            try:
                self._local.view = view = self._current()
                yield view.state
            except (InputError, ConfigError, ProjectBusyError):
                raise  # refused before anything was written
            except BaseException:
                # Whatever was or was not committed, the file says what holds now.
                self._shared.writes += 1
                raise
            finally:
                self._local.view = previous

    def _publish(
        self,
        state: StoreState,
        changed: Sequence[int] | None = None,
        appended: Appended | None = None,
        rewritten: Rewritten | None = None,
    ) -> None:
        """After a committed write, in the writers' turn: the new state and the index read
        again, replacing the view whole (checks running meanwhile keep the old one).

        ``changed``: the rids the write added or changed, when it changed no other record
        nor golden records but theirs entities' (an import, an edit): only their rows
        held in memory are read again. None: every row is. ``appended``: what the write
        added to the index, when that is all it changed of it (an import); ``rewritten``:
        the lookups whose rows it rewrote, when that is all (an edit)."""
        previous = self._view
        self._shared.writes += 1
        self._view = self._read_view(self._cursor(), state, previous, changed, appended, rewritten)
        self._local.view = self._view

    def _read_view(
        self,
        con: duckdb.DuckDBPyConnection,
        state: StoreState,
        previous: _View | None,
        changed: Sequence[int] | None = None,
        appended: Appended | None = None,
        rewritten: Rewritten | None = None,
    ) -> _View:
        """The view of ``state``: the index read from the file (or the ``previous`` one
        and what a write ``appended`` or ``rewritten``), and the rows held in memory read
        whole or, after a write that says which rids it ``changed`` (with a ``previous``
        view of the same model), those rows only."""
        if appended is not None and previous is not None:
            index = previous.index.after(con, appended)
        elif rewritten is not None and previous is not None:
            index = previous.index.rewritten(con, rewritten)
        else:
            index = _read_index(con)
        scorer = self._scorer(state.model_version, state)
        same_model = previous is not None and previous.state.model_version == state.model_version
        if changed is not None and same_model and previous.payloads is not None:
            rids = [int(r) for r in changed]
            payloads: HeldRows | None = previous.payloads.with_rows(con, rids)
            _, entities = index.rows.get(index.rows.stored(rids))
            golden = (
                previous.golden.with_rows(
                    con,
                    [e for e in entities if e is not None],
                    appended.golden if appended is not None else None,
                )
                if previous.golden is not None
                else None
            )
        else:
            # The payloads held for checks, from the records' own columns where it can.
            stored = [r[0] for r in con.execute("DESCRIBE store_records").fetchall()]
            payloads = (
                HeldRows.read(con, *scorer.held_source(stored), "rid")
                if scorer.structure != "{}"
                else None
            )
            golden = HeldRows.read(con, "*", "store_golden", "entity_id")
            if not _plain_types(golden.table.schema):
                golden = None  # values whose Python form Arrow may give otherwise than DuckDB
        return _View(state, index, self._shared.writes, payloads, golden)

    def _load_state(self) -> None:
        """Read the state and the in-memory index again (after a change of the file)."""
        with self._shared.lock:
            self._shared.writes += 1
            self._reload()

    # -- what it holds ---------------------------------------------------------------------

    @property
    def object_name(self) -> str:
        """What the records are: ``lead``, ``contact``, ``customer``."""
        state = self._known_state()
        return state.object_name if state is not None else "?"

    @property
    def model_version(self) -> int:
        """The model version that scores checks and imports now."""
        state = self._known_state()
        return state.model_version if state is not None else 0

    @property
    def roles(self) -> dict[str, str]:
        """role -> column name of the records the store was built from."""
        return dict(self._state.columns)

    @property
    def n_records(self) -> int:
        """Records stored."""
        return self._state.n_records

    @property
    def untrained_records(self) -> int:
        """Stored records the current model was not trained on (added since it was)."""
        return self._state.untrained

    def _known_state(self) -> StoreState | None:
        """The current state, or the last one read when the store is closed."""
        if self._con is not None:
            return self._state
        return self._view.state if self._view is not None else None

    @property
    def model(self) -> model_mod.LinkageModel:
        """The current model."""
        return self._scorer().model

    def models(self) -> pd.DataFrame:
        """Every model version: ``version, created_at, note, records_scored``."""
        return (
            self._cursor()
            .execute(
                "SELECT m.version, m.created_at, m.note, count(r.rid) AS records_scored "
                "FROM store_models m LEFT JOIN store_records r ON r.scored_by = m.version "
                "GROUP BY ALL ORDER BY m.version"
            )
            .df()
        )

    @property
    def entities(self) -> pd.DataFrame:
        """One row per stored record, like ``result.entities``: the record id under the
        store's id column name, ``entity_id`` and ``scored_by`` (the model version).
        (``store.entities()``, the method it was, still works for one release, and
        warns, as does the old column name ``record_id``.)"""
        id_column = self.roles.get("record_id") or "record_id"
        frame = (
            self._cursor()
            .execute(
                f"SELECT record_key AS {quote(id_column)}, entity_id, scored_by "
                "FROM store_records ORDER BY rid"
            )
            .df()
        )
        return _compat.callable_frame(frame, "store.entities", {"record_id": id_column})

    def golden(self, entity_id: str | None = None) -> pd.DataFrame:
        """Golden records (all, or one entity's)."""
        if entity_id is None:
            return self._cursor().execute("SELECT * FROM store_golden ORDER BY entity_id").df()
        return (
            self._cursor()
            .execute("SELECT * FROM store_golden WHERE entity_id = ?", [entity_id])
            .df()
        )

    def lineage(self, entity_id: str) -> pd.DataFrame:
        """Where each golden value of an entity came from: ``entity_id, field, value,
        record_id, source_dataset, chosen, rule``, one row per member and field with a
        value, by field and record. Built from the entity's members when asked, by the
        rules its golden record was built with (an unknown entity: no rows)."""
        return survivorship.stored_lineage(self._cursor(), entity_id)

    def events(self) -> pd.DataFrame:
        """The project file's log (imports, edits that left their entity, ...)."""
        return self.queue.events()

    # -- checking --------------------------------------------------------------------------

    def check_one(
        self, record: Mapping[str, Any], *, roles: Mapping[str, str | None] | None = None
    ) -> CheckResult:
        """Check one record (a form being filled in) against the store.

        Args:
            record: column -> value; columns are mapped to roles as in ``link`` (the
                store's own column names, names detection knows, or ``roles``).
            roles: role -> column, for names detection misses.

        Returns:
            a :class:`CheckResult`: the decision in the words of ``link``, the best
            candidate entity with its golden record and owner, and every candidate.

        Raises:
            InputError: the record is not a mapping, or has none of the matching fields.
        """
        with self._reading():
            return self._check_one(record, roles)

    def _check_one(
        self, record: Mapping[str, Any], roles: Mapping[str, str | None] | None
    ) -> CheckResult:
        if not isinstance(record, Mapping):
            raise InputError(
                f"check_one expects one record as a dict of column -> value, not "
                f"{type(record).__name__}; use check() for a table of records"
            )
        con = self._cursor()
        scorer = self._scorer()
        mapping, id_column = self._mapping_for(tuple(record), roles)
        values = {role: record.get(column) for role, column in mapping.items()}
        matching = self._matching_roles()
        present = [r for r, v in values.items() if has_value(v) and r in matching]
        if not present:
            raise InputError(
                f"the record has none of the fields this store matches on "
                f"({', '.join(self._matching_roles())}); it has {list(map(str, record))}"
            )
        if "person_name" not in values and ("first_name" in values or "last_name" in values):
            # A name split in two is joined by the batch standardizer.
            found = self._check_frame(pd.DataFrame([dict(record)]), roles, all_candidates=True)
            return one_result(found, self.object_name)
        derived: dict[str, Any] = {}
        for role, value in values.items():
            if role in ("dob", "postcode"):
                derived.update(
                    standardize_mod.standardize_records(
                        pd.DataFrame({role: [value]}), [role], country=scorer.country
                    )
                    .iloc[0]
                    .to_dict()
                )
            else:
                derived.update(
                    standardize_mod.derive_value(
                        role, standardize_mod.scalar_to_text(value), scorer.country
                    )
                )
        key = None
        own_rid = None
        if id_column is not None and has_value(record.get(id_column)):
            key = store_key(self._state.multi, "records", id_text(record[id_column]))
            # Is it a stored record (an edit or a re-check)? Its key's hash finds the rids,
            # the keys held in memory confirm one (a hash may collide): no query.
            hashed = [rid for _, rid in self._index().records.get([key])]
            if hashed:
                stored_keys, _ = self._index().rows.get(hashed)
                own_rid = next((r for r, k in zip(hashed, stored_keys) if k == key), None)
        rid = own_rid if own_rid is not None else self._state.next_rid
        view = self._current()
        lookups = record_lookups(derived, self._state.rules, self._state.guarded)
        wanted: list[int] = []
        if lookups:
            hits = view.index.keys.get(lookups)
            sizes: dict[str, int] = {}
            for lookup, _rid in hits:
                sizes[lookup] = sizes.get(lookup, 0) + 1
            limit = self._state.max_block_size
            wanted = sorted({r for lookup, r in hits if sizes[lookup] < limit and r != own_rid})
        best_rows: list[dict[str, Any]] = []
        if wanted:
            keys, entities = view.index.rows.get(wanted)
            info = {r: (k, e) for r, k, e in zip(wanted, keys, entities, strict=True)}
            payload = {c: json_value(derived.get(c)) for c in scorer.payload_columns}
            name = derived.get("person_name_key")
            counts = view.index.counts.get
            totals = self._state.totals
            # The model compiled to Python scores a form's few pairs from the candidates'
            # values held in memory, without DuckDB planning splink's statement or
            # finding rows; SQL when it cannot (linkage.store._fast).
            scored = None
            held = view.payloads.get(wanted) if view.payloads is not None else None
            if held is not None and all(row is not None for row in held):
                stored = dict(zip(wanted, held, strict=True))
                scored = scorer.score_held(
                    counts, rid, payload, own_rid is None, name, stored, totals
                )
            if scored is None:
                placeholders = ", ".join("?" for _ in wanted)
                fetched = con.execute(
                    f"SELECT rid, payload FROM store_lookup WHERE rid IN ({placeholders})",
                    wanted,
                ).fetchall()
                arguments = (
                    counts,
                    [rid],
                    [payload],
                    [own_rid is None],
                    [name],
                    [r for r, _ in fetched],
                    [p for _, p in fetched],
                    totals,
                )
                scored = scorer.score_rows_fast(*arguments)
                if scored is None:
                    scorer.stage_rows(con, *arguments)
                    scored = scorer.score_probes(con)
            per_entity: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
            for rid_l, rid_r, weight, probability, decision, reason in scored:
                other = rid_l if rid_r == rid else rid_r
                record_key, entity = info[other]
                rank = (RANK[decision], weight, record_key)
                held_rank = per_entity.get(entity)
                if held_rank is None or rank > held_rank[0]:
                    entry = (entity, record_key, weight, probability, decision, reason)
                    per_entity[entity] = (rank, entry)
            best_rows = [
                dict(zip(_CANDIDATE_FIELDS, entry, strict=True))
                for rank, entry in sorted(
                    per_entity.values(), key=lambda e: (-e[0][0], -e[0][1], e[0][2])
                )
            ]
        object_name = self._state.object_name
        candidates = _candidate_frame(object_name, best_rows)
        if not best_rows:
            return CheckResult(
                decision="distinct",
                is_new=True,
                entity_id=None,
                matched_object=object_name,
                matched_record=None,
                match_weight=None,
                match_probability=None,
                reason="no stored record shares a blocking key",
                owner=None,
                golden=None,
                candidates=candidates,
            )
        top = best_rows[0]
        if view.golden is not None:
            golden = view.golden.get([top["entity_id"]])[0]
        else:
            golden = golden_rows(con, [top["entity_id"]]).get(top["entity_id"])
        return CheckResult(
            decision=top["decision"],
            is_new=top["decision"] == "distinct",
            entity_id=top["entity_id"],
            matched_object=object_name,
            matched_record=top["matched_record"],
            match_weight=float(top["match_weight"]),
            match_probability=float(top["match_probability"]),
            reason=top["reason"],
            owner=(golden or {}).get("owner"),
            golden=golden,
            candidates=candidates,
        )

    def _matching_roles(self) -> list[str]:
        return self._state.matching_roles

    def _mapping_for(
        self, columns: tuple[Any, ...], roles: Mapping[str, str | None] | None
    ) -> tuple[dict[str, str], str | None]:
        """role -> column for a record's columns (cached: a form has the same fields
        every time), and the id column."""
        cache_key = (columns, tuple(sorted((roles or {}).items())))
        cached = self._mappings.get(cache_key)
        if cached is not None:
            return cached
        explicit = dict(roles or {})
        for role, column in self._state.columns.items():
            if column in columns:
                explicit.setdefault(role, column)
        mapping = schema.resolve_roles(list(columns), explicit).roles
        id_column = mapping.get("record_id")
        store_roles = set(self._state.roles)
        used = {
            r: c
            for r, c in mapping.items()
            if r in store_roles
            and r not in schema.PASS_THROUGH_ROLES
            and r not in ("created_at", "updated_at")
        }
        self._mappings[cache_key] = (used, id_column)
        return used, id_column

    def check(
        self,
        records: Any,
        *,
        roles: Mapping[str, str | None] | None = None,
        all_candidates: bool = False,
    ) -> pd.DataFrame:
        """Check a batch of records against the store (nothing is written).

        Term frequencies count the batch as if it were imported together (so a check
        predicts what :meth:`add` will do); :meth:`check_one` counts the one record.

        Args:
            records: a DataFrame, a list of dicts, or a CSV, Excel or Parquet path.
            roles: role -> column, for names detection misses.
            all_candidates: one row per (record, candidate entity), instead of one row
                per record with its best entity.

        Returns:
            ``row`` (position in the input), ``record_id`` (when the input has ids),
            ``decision``, ``is_new``, ``entity_id``, ``matched_object``,
            ``matched_record``, ``match_weight``, ``match_probability``, ``reason``,
            ``owner``, ``golden`` (a dict).

        Raises:
            InputError: records in the wrong shape, or a record with none of the matching
                fields.
        """
        frame = as_frame(records)
        with self._reading():
            return self._check_frame(frame, roles, all_candidates=all_candidates)

    def _check_frame(
        self,
        frame: pd.DataFrame,
        roles: Mapping[str, str | None] | None,
        *,
        all_candidates: bool,
        exclude_self: bool = False,
    ) -> pd.DataFrame:
        with self._reading():
            con = self._cursor()
            scorer = self._scorer()
            work, ids = self._role_frame(frame, roles, require_ids=False)
            probes = self._prepare(con, work, ids, scorer, known_ids=exclude_self)
            pairs = self._candidate_pairs(probes, exclude_self=exclude_self)
            scored = self._score(con, scorer, probes, pairs)
            return self._by_entity(con, probes, scored, all_candidates)

    # -- importing -------------------------------------------------------------------------

    def add(
        self,
        records: Any,
        *,
        roles: Mapping[str, str | None] | None = None,
        actor: str | None = None,
    ) -> AddResult:
        """Import a batch: deduplicated within itself and against the store, in one
        transaction (records, entities, golden records, review items, log).

        Args:
            records: a DataFrame, a list of dicts, or a CSV, Excel or Parquet path; each
                record needs an id (the ``record_id`` role) not yet in the store.
            roles: role -> column, for names detection misses.
            actor: who imported (kept in the log).

        Raises:
            InputError: ids missing, duplicated or already stored (use :meth:`edit`),
                or a record with none of the matching fields.
            ProjectBusyError: another process holds the file; nothing was written.
        """
        frame = as_frame(records)
        with self._writing() as before:
            result, state, appended = _write.add_batch(self, before, frame, roles, actor)
            # An import adds records and rebuilds their entities' golden records only.
            self._publish(state, changed=range(before.next_rid, state.next_rid), appended=appended)
        if result.retrain_advised:
            message = (
                f"{result.untrained_records:,} of the {state.n_records:,} records in "
                f"{self.queue.path} were added since the model was trained on "
                f"{state.trained_on:,}: checks and imports score them with a model that "
                "never saw data like theirs. Call store.retrain() and then "
                "store.recluster() (one link's accuracy, verdicts kept)"
            )
            logger.warning(message)
            warnings.warn(message, RetrainAdvised, stacklevel=2)
        return result

    def edit(
        self,
        record_id: str,
        values: Mapping[str, Any],
        *,
        roles: Mapping[str, str | None] | None = None,
        actor: str | None = None,
    ) -> CheckResult:
        """Change a stored record and check it again.

        The record keeps its entity. When it no longer matches its entity (the entity's
        decision for it is not ``auto_merge``), that is logged (event
        ``edit_left_entity``) and a review item pairs it with the entity's closest
        member: a person decides, nothing is split silently.

        Returns:
            the check of the edited record against the rest of the store (its own
            entity included); ``candidates`` has ``left_entity`` set on every row.

        Raises:
            StoreError: no such record.
        """
        with self._writing() as state:
            result, state, rewritten = _write.edit_record(
                self, state, str(record_id), dict(values), roles, actor
            )
            # An edit changes its record and rebuilds its entity's golden record only.
            rids = self._cursor().execute(
                "SELECT rid FROM store_lookup WHERE record_key = ?",
                [state.record_key(str(record_id))],
            )
            self._publish(state, changed=[r for (r,) in rids.fetchall()], rewritten=rewritten)
        return result

    def retrain(self, *, seed: int = 0, note: str | None = None) -> int:
        """Train a new model version on the stored records (the current one stays in the
        store; records keep the version that scored them). Returns the new version."""
        with self._writing() as state:
            state = _write.retrain(self._cursor(), self.queue, state, self.model, seed, note)
            self._publish(state)
        return state.model_version

    def recluster(self, *, actor: str | None = None) -> pd.DataFrame:
        """Cluster every stored record again, as one ``link`` over all of them would,
        with the current model: every candidate pair of the store scored again (records
        that share a blocking key), auto-merge links and reviewers' ``match`` verdicts
        merged strongest first, never across evidence against a match
        (``keep_apart_below``) nor a reviewer's ``non_match``. Entity ids stay with most
        of their records; review items follow the new scores (pairs in the review band
        in, pairs that left it marked ``left_band``, links a verdict refused as
        conflicts); golden records of the entities that changed are rebuilt; every record
        is marked as scored by the current model. One transaction.

        Why: an import clusters a batch against entities it may not change (a new
        record never merges two existing entities), and with the model of the day. After
        :meth:`retrain` (which :class:`AddResult` ``.retrain_advised`` asks for) this
        brings the store back to the accuracy of one link over everything; on the CRM
        generator, ten imports of a tenth each, the first trained on its tenth alone,
        end within 0.01 clustered F1 of one link (``tests/test_incremental.py``). It
        costs about what scoring and clustering cost in ``link`` over the same records.

        Returns:
            the records that changed entity: ``record_id, entity_before, entity_id``.
        """
        with self._writing() as state:
            moves, state = _write.recluster(self, state, actor)
            self._publish(state)
        return moves

    def decide(
        self, item_id: int, verdict: str, *, reviewer: str, note: str | None = None
    ) -> pd.DataFrame:
        """Give a verdict on a review or conflict item (one the store's imports made, or
        a run's), and let the store's entities follow it: the verdict is written, then
        the store clusters again under every verdict (:meth:`recluster`).

        Returns:
            the records that changed entity: ``record_id, entity_before, entity_id``.
        """
        self.queue.decide(item_id, verdict, reviewer=reviewer, note=note)
        return self.recluster(actor=reviewer)

    def forget(self, *record_ids: Any, compact: bool = True) -> dict[str, str]:
        """Erase records (a data subject's request) from every table of the project file
        in one transaction: the store's records, keys, counts and golden records,
        and the queue's items, verdicts and mapping. The log keeps only that a record was
        erased, and when; an entity id named after an erased record is re-issued.

        Then the file is rewritten so that no freed block keeps the values: that needs the
        file to itself, so the store closes it for a second or so per 100,000 records, and
        a check from another thread meanwhile fails with a ``StoreError`` (run erasures
        when the service is quiet). To erase in a batch, pass ``compact=False`` to each
        call and call :meth:`compact` once; the file carries a mark until then, and
        whoever opens it next finishes it.

        Returns:
            the entity ids re-issued (old -> new).

        Raises:
            StoreError: a record id the store does not hold.
        """
        multi = self._state.multi
        keys = [store_key(multi, "records", id_text(r)) for r in record_ids]
        con = self._cursor()
        known = {
            r[0]
            for r in con.execute(
                "SELECT record_key FROM store_records WHERE record_key IN "
                f"({', '.join('?' for _ in keys)})",
                keys,
            ).fetchall()
        } if keys else set()  # fmt: skip
        missing = [r for r, k in zip(record_ids, keys) if k not in known]
        if missing:
            raise StoreError(
                f"no record {missing[0]!r} in the store {self.queue.path}: "
                "list them with store.entities()"
            )
        with self._writing():  # the writers' turn: no import or edit in between
            reissued = self.queue.forget(*keys, compact=False)
            self._refresh()
        if compact:
            self.compact()
        return reissued

    def compact(self) -> bool:
        """Rewrite the project file so that erased values leave its bytes (see
        :meth:`forget`); the store closes the file for the rewrite and opens it again."""
        if not self.queue.file.compaction_pending():
            return False
        self._let_go()
        try:
            self.queue.release()  # the last release rewrites a file marked for it
        finally:
            self._con = self.queue.hold()
            self._refresh()
        return True

    def _refresh(self) -> None:
        """Read the state and the in-memory index again after a change of the file."""
        self._load_state()

    # -- internals shared with the write path (linkage.store._write) -------------------------

    def _scorer(self, version: int | None = None, state: StoreState | None = None) -> Scorer:
        """The scorer of a model version (default the current one); ``state``: the
        state to read the store's column types from (default the current one)."""
        state = state or self._state
        version = version or state.model_version
        scorer = self._scorers.get(version)
        if scorer is not None:
            return scorer
        with self._cache_lock:
            if version in self._scorers:
                return self._scorers[version]
            row = (
                self._cursor()
                .execute("SELECT model FROM store_models WHERE version = ?", [version])
                .fetchall()
            )
            if not row:
                raise StoreError(f"model version {version} is not in {self.queue.path}")
            model = model_mod.LinkageModel.from_dict(json.loads(row[0][0]))
            scorer = Scorer(model, state.types)
            self._scorers[version] = scorer
        return scorer

    def _role_frame(
        self, frame: pd.DataFrame, roles: Mapping[str, str | None] | None, *, require_ids: bool
    ) -> tuple[pd.DataFrame, np.ndarray | None]:
        """Role columns of the input (one per store role; missing roles are empty)."""
        if frame.empty:
            raise InputError("no records given: the input has no rows")
        if len(frame.columns) != len(set(map(str, frame.columns))):
            raise InputError("duplicate column names: rename them so each column has one name")
        explicit = dict(roles or {})
        # The store's own column names map first, then detection (a lead has other names).
        stored = {r: c for r, c in self._state.columns.items() if c in frame.columns}
        for role, column in stored.items():
            explicit.setdefault(role, column)
        mapping = schema.resolve_roles(list(frame.columns), explicit)
        store_roles = set(self._state.roles)
        matching = [
            r for r in mapping.roles if r in store_roles and r not in schema.PASS_THROUGH_ROLES
        ]
        matching = [r for r in matching if r not in ("created_at", "updated_at")]
        if not matching:
            usable = sorted(r for r in store_roles if r not in schema.PASS_THROUGH_ROLES)
            raise InputError(
                f"none of the columns {list(map(str, frame.columns))} maps to a field this "
                f"store matches on ({', '.join(usable)}): name the columns as a CRM does or "
                "pass roles={'mobile': '<your column>', ...}"
            )
        work = pd.DataFrame(index=range(len(frame)))
        for role in sorted(store_roles):
            if role == "record_id":
                continue
            column = mapping.roles.get(role)
            work[role] = frame[column].to_numpy(dtype=object) if column is not None else None
        ids = None
        if "record_id" in mapping.roles:
            ids = frame[mapping.roles["record_id"]].map(id_text).to_numpy(dtype=object)
        elif require_ids:
            raise InputError(
                "records to add need an id column (the record_id role: 'id', 'lead_id', "
                "'线索编号', ...) or roles={'record_id': '<your column>'}"
            )
        empty = np.ones(len(work), dtype=bool)
        for role in matching:
            # Text that is not blank has a value (most values); anything else: has_value.
            empty &= [
                not (v.strip() if type(v) is str else has_value(v))
                for v in work[role].to_numpy(object).tolist()
            ]
        if empty.any():
            rows = np.flatnonzero(empty)[:5].tolist()
            raise InputError(
                f"{int(empty.sum())} record(s) have none of the fields this store matches on "
                f"({', '.join(matching)}), first at row(s) {rows}: fill at least one, or "
                "leave them out"
            )
        return work, ids

    def _prepare(
        self,
        con: duckdb.DuckDBPyConnection,
        work: pd.DataFrame,
        ids: np.ndarray | None,
        scorer: Scorer,
        *,
        known_ids: bool = False,
        derived: pd.DataFrame | None = None,
    ) -> Probes:
        """Standardize the records and make their scoring rows (payload, keys)."""
        if derived is None:
            derived = standardize_mod.standardize_records(
                work, scorer.needed_roles(work.columns), country=scorer.country
            )
        n = len(work)
        keys = (
            np.array([store_key(self._state.multi, "records", i) for i in ids], dtype=object)
            if ids is not None
            else np.array([None] * n, dtype=object)
        )
        existing: dict[str, int] = {}
        if known_ids and ids is not None:
            rows = con.execute(
                "SELECT record_key, rid FROM store_lookup WHERE record_key IN "
                "(SELECT unnest($1::VARCHAR[]))",
                [keys.tolist()],
            ).fetchall()
            existing = dict(rows)
        next_rid = self._state.next_rid
        rids = np.array([existing.get(k, next_rid + i) for i, k in enumerate(keys)], dtype=np.int64)
        is_new = np.array([k not in existing for k in keys], dtype=bool)
        probe_keys = block_keys(derived, self._state.rules, self._state.guarded)
        return Probes(
            rids=rids,
            keys=keys,
            is_new=is_new,
            derived=derived,
            block_keys=probe_keys,
        )

    def _candidate_pairs(self, probes: Probes, *, exclude_self: bool) -> pd.DataFrame:
        """(probe position, store rid) pairs sharing a blocking key."""
        lookups = probes.block_keys
        if lookups.empty:
            return pd.DataFrame({"probe": [], "rid": []})
        codes, values = pd.factorize(lookups["lookup"])
        # The keys held in memory, as a check finds them (a record another thread's write
        # committed after this view was read is not there: the next check finds it).
        which, rids = self._index().keys.find(values.tolist())  # grouped by lookup
        # A key shared by more records than the block limit is not used, as in link.
        keep = np.bincount(which, minlength=len(values))[which] < self._state.max_block_size
        which, rids = which[keep], rids[keep]
        # Each blocking key of each probe joined to the key's records, in the order a merge
        # of the two would give (the probes' keys in order, each key's records in order).
        per_key = np.bincount(which, minlength=len(values))
        first = np.cumsum(per_key) - per_key
        n = per_key[codes]
        pairs = pd.DataFrame(
            {
                "probe": np.repeat(lookups["probe"].to_numpy(np.int64), n),
                "rid": rids[spans(first[codes], n)],
            }
        ).drop_duplicates()
        if exclude_self:
            own = probes.rids[pairs["probe"].to_numpy()]
            pairs = pairs[pairs["rid"].to_numpy() != own]
        return pairs.reset_index(drop=True)

    def _score(
        self,
        con: duckdb.DuckDBPyConnection,
        scorer: Scorer,
        probes: Probes,
        pairs: pd.DataFrame,
        batch_pairs: pd.DataFrame | None = None,
        more: bool = False,
    ) -> pd.DataFrame:
        """Score and decide probe-store pairs (and probe-probe pairs, when importing):
        ``rid_l, rid_r, match_weight, match_probability, decision, reason``, the probe's
        rid, the other record's rid and, for a stored one, its entity and key. ``more``:
        the same probes were scored last on this cursor, with other pairs: their rows
        staged then are kept."""
        columns = ["rid_l", "rid_r", "match_weight", "match_probability", "decision", "reason"]
        store_rids = np.unique(pairs["rid"].to_numpy(np.int64)) if len(pairs) else np.array([])
        left = probes.rids[pairs["probe"].to_numpy(np.int64)] if len(pairs) else np.array([])
        right = pairs["rid"].to_numpy(np.int64) if len(pairs) else np.array([])
        if batch_pairs is not None and len(batch_pairs):
            left = np.concatenate([left, probes.rids[batch_pairs["a"].to_numpy(np.int64)]])
            right = np.concatenate([right, probes.rids[batch_pairs["b"].to_numpy(np.int64)]])
        if len(left) == 0:
            return pd.DataFrame(columns=[*columns, "probe_rid", "other", "entity_id", "record_key"])
        view = self._current()
        keys, entities = view.index.rows.get(store_rids)
        held = None
        if view.payloads is not None and scorer is self._scorer(view.state.model_version):
            held = view.payloads.take([int(r) for r in store_rids])
        stored = pd.DataFrame({"rid": np.asarray(store_rids, dtype=np.int64)})
        stored["record_key"], stored["entity_id"] = keys, entities
        scorer.stage_batch(
            con,
            probes.rids,
            probes.payload_arrow(scorer.payload_columns),
            probes.is_new,
            (
                probes.derived["person_name_key"].tolist()
                if "person_name_key" in probes.derived.columns
                else [None] * len(probes.rids)
            ),
            store_rids,
            view.state.totals,
            stored_rows=held,
            counts=view.index.counts,
            append=more,
        )
        pair_frame = pd.DataFrame(
            {
                "l": np.minimum(left, right).astype(np.int64),
                "r": np.maximum(left, right).astype(np.int64),
            }
        ).drop_duplicates()
        # Sorted by the pair (by the statement), so ties break the same every run.
        scored = scorer.score(con, pair_frame["l"], pair_frame["r"])[columns]
        probe_set = set(probes.rids.tolist())
        l_is_probe = scored["rid_l"].isin(probe_set).to_numpy()
        r_is_probe = scored["rid_r"].isin(probe_set).to_numpy()
        # The probe side of each pair: the new record (both are, within an import batch).
        flip = r_is_probe & ~l_is_probe
        scored["probe_rid"] = np.where(flip, scored["rid_r"], scored["rid_l"])
        other = np.where(flip, scored["rid_l"], scored["rid_r"])
        scored["other"] = other
        lookup = stored.set_index("rid")
        inside = l_is_probe & r_is_probe
        scored["entity_id"] = np.where(
            inside, None, lookup["entity_id"].reindex(other).to_numpy(dtype=object)
        )
        scored["record_key"] = np.where(
            inside, None, lookup["record_key"].reindex(other).to_numpy(dtype=object)
        )
        return scored

    def _by_entity(
        self,
        con: duckdb.DuckDBPyConnection,
        probes: Probes,
        scored: pd.DataFrame,
        all_candidates: bool,
    ) -> pd.DataFrame:
        """Per probe and candidate entity: the best member's score and decision."""
        position = pd.Series(np.arange(len(probes.rids)), index=probes.rids)
        columns = [
            "row",
            "record_id",
            "decision",
            "is_new",
            "entity_id",
            "matched_object",
            "matched_record",
            "match_weight",
            "match_probability",
            "reason",
            "owner",
            "golden",
        ]
        if len(scored):
            scored = scored[scored["entity_id"].notna()].copy()
            scored["row"] = position.reindex(scored["probe_rid"].to_numpy()).to_numpy()
            scored["rank"] = scored["decision"].map({"distinct": 0, "review": 1, "auto_merge": 2})
            scored = scored.sort_values(
                ["row", "rank", "match_weight", "record_key"],
                ascending=[True, False, False, True],
                kind="stable",
            )
            best = scored.drop_duplicates(["row", "entity_id"])
        else:
            best = pd.DataFrame(
                columns=[
                    "row",
                    "entity_id",
                    "record_key",
                    "match_weight",
                    "match_probability",
                    "decision",
                    "reason",
                ]
            )
        if not all_candidates:
            best = best.drop_duplicates(["row"])
        entities = best["entity_id"].dropna().unique().tolist()
        golden = golden_rows(con, entities)
        out = pd.DataFrame(
            {
                "row": best["row"].to_numpy(np.int64),
                "entity_id": best["entity_id"].to_numpy(),
                "matched_record": best["record_key"].to_numpy(),
                "match_weight": best["match_weight"].to_numpy(float),
                "match_probability": best["match_probability"].to_numpy(float),
                "decision": best["decision"].to_numpy(),
                "reason": best["reason"].to_numpy(),
            }
        )
        missing = np.setdiff1d(np.arange(len(probes.rids)), out["row"].to_numpy())
        if len(missing):
            none = pd.DataFrame(
                {
                    "row": missing,
                    "entity_id": None,
                    "matched_record": None,
                    "match_weight": np.nan,
                    "match_probability": np.nan,
                    "decision": "distinct",
                    "reason": "no stored record shares a blocking key",
                }
            )
            out = pd.concat([out, none], ignore_index=True) if len(out) else none
        out = out.sort_values(["row"], kind="stable").reset_index(drop=True)
        new_rows = out.groupby("row")["decision"].agg(lambda d: bool((d == "distinct").all()))
        out["is_new"] = new_rows.reindex(out["row"]).to_numpy()
        out["record_id"] = probes.keys[out["row"].to_numpy()]
        out["matched_object"] = self.object_name
        out["golden"] = [golden.get(e) for e in out["entity_id"]]
        out["owner"] = [g.get("owner") if g else None for g in out["golden"]]
        return out[columns]


def check_all(
    record: Mapping[str, Any],
    stores: Sequence[RecordStore],
    *,
    roles: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Check one record against several stores (leads, contacts, customers), best first.

    Each store matches on the fields its model knows (a customer store on company, credit
    code, phone and address); a store the record shares no field with is skipped. Rows say
    which store matched in ``matched_object``.
    """
    frames = []
    for store in stores:
        try:
            frames.append(
                store.check(pd.DataFrame([dict(record)]), roles=roles, all_candidates=True)
            )
        except InputError:
            continue
    if not frames:
        raise InputError("the record has none of the fields any of these stores matches on")
    found = pd.concat(frames, ignore_index=True)
    rank = found["decision"].map({"distinct": 0, "review": 1, "auto_merge": 2})
    return (
        found.assign(_rank=rank)
        .sort_values(["_rank", "match_weight"], ascending=[False, False], na_position="last")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def _read_index(con: duckdb.DuckDBPyConnection) -> StoreIndex:
    """The blocking keys, counts and record table of the store, read into memory."""
    return StoreIndex(
        keys=MemoryIndex(con, "store_keys", "rid"),
        counts=MemoryIndex(con, "store_counts", "n"),
        records=MemoryIndex(con, "store_lookup", "rid", "record_key"),
        rows=RecordTable(con),
    )


def _plain_types(schema: Any) -> bool:
    """Whether every column of an Arrow schema reads in Python as DuckDB's own rows do
    (text, numbers, booleans, dates, lists of them)."""
    import pyarrow as pa

    def plain(kind: Any) -> bool:
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            return plain(kind.value_type)
        return (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_date(kind)
            or pa.types.is_null(kind)
        )

    return all(plain(f.type) for f in schema)


_CANDIDATE_FIELDS = (
    "entity_id",
    "matched_record",
    "match_weight",
    "match_probability",
    "decision",
    "reason",
)


def _candidate_frame(object_name: str, best_rows: list[dict[str, Any]]) -> Any:
    """``CheckResult.candidates`` of a check, made when first read (a DataFrame costs
    about as much as the rest of a check)."""

    def frame() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "matched_object": [object_name] * len(best_rows),
                **{f: [row[f] for row in best_rows] for f in _CANDIDATE_FIELDS},
            }
        )

    return frame
