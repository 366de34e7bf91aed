"""Check new records on create, edit and import, against a store of existing records.

A *store* lives in the project file, beside the review queue: the standardized records of a
``link`` run with their entities, golden records and lineage, the trained model (JSON,
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

Where a check's time goes (a store of a million records, ~27 ms in all): DuckDB binding and
planning splink's scoring statement (~13 ms: it re-binds a prepared statement on every
execution), standardizing the new values (~6 ms), fetching the candidates' stored values and
staging them (~8 ms), the golden record (~3 ms). A form check computes term frequencies in
Python from the counts in memory; an import computes them in SQL, so that the candidates'
stored values never travel through Python (``benchmarks/RESULTS.md``).

Adding records
--------------
:meth:`RecordStore.add` checks a batch against the store and within itself, clusters the
new records with the same constrained method as ``link`` (strongest link first, never across
pairs whose evidence is below ``keep_apart_below``), and writes records, entities, golden
records, lineage, review items and a log line in one transaction. A new record never merges
two existing entities: the link that would do so becomes a review item (kind ``conflict``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import blocking, decisions, review, schema, survivorship
from linkage import model as model_mod
from linkage._sql import quote, run
from linkage.errors import (
    ConfigError,
    InputError,
    QueueVersionError,
    StoreError,
)

logger = logging.getLogger("linkage")

STORE_FORMAT_VERSION = 1
"""The store layout this version writes; a store written by a newer version is refused."""

# Roles that carry no matching value: kept as raw values, never standardized.
_PASS_THROUGH_ROLES = ("record_id", "source", "owner")
_SIMPLE_ROLES = ("first_name", "last_name", "national_id", "gender", "job_title")
# Derived columns survivorship reads, besides the raw values and ``*_valid``.
_GOLDEN_DERIVED = survivorship.DERIVED_COLUMNS
_SHARED_NAMES = 3  # the standardizer's shared_phone_min_names


@dataclass
class CheckResult:
    """The answer for one checked record.

    Attributes:
        decision: ``auto_merge``, ``review`` or ``distinct`` (the best candidate entity's).
        is_new: no candidate entity is better than ``distinct``.
        entity_id: the best candidate entity (``None`` when there is no candidate).
        matched_object: what the store holds (``lead``, ``contact``, ``customer``).
        matched_record: the entity's member that scored best.
        match_weight, match_probability: the best member's score.
        reason: why the decision (the threshold band or the routing rule).
        owner: the entity's owner (the ``owner`` role of its golden record).
        golden: the entity's golden record, as a dict.
        candidates: one row per candidate entity, best first.
    """

    decision: str
    is_new: bool
    entity_id: str | None
    matched_object: str
    matched_record: str | None
    match_weight: float | None
    match_probability: float | None
    reason: str
    owner: str | None
    golden: dict[str, Any] | None
    candidates: pd.DataFrame = field(repr=False)


@dataclass
class AddResult:
    """What :meth:`RecordStore.add` did.

    Attributes:
        entities: one row per added record: ``record_id``, ``entity_id``, ``outcome``
            (``new``, ``joined`` an existing entity, or ``merged_in_batch`` with other new
            records), ``decision`` and ``match_weight`` of its best link.
        review_items: review items created (borderline pairs and refused links).
        conflicts: links refused because they would have joined two existing entities.
        model_version: the model version that scored the batch.
        timings: seconds per stage.
    """

    entities: pd.DataFrame
    review_items: int
    conflicts: int
    model_version: int
    timings: dict[str, float]


class RecordStore:
    """The store of existing records, in a project file. Open it with :meth:`open`, or
    make it from a ``link`` result with :meth:`build`; close it (or use ``with``) to let
    another process write the file."""

    def __init__(self, queue: review.ReviewQueue) -> None:
        self.queue = queue
        self._con: duckdb.DuckDBPyConnection | None = None
        self._state: dict[str, Any] = {}
        self._scorers: dict[int, _Scorer] = {}
        self._mappings: dict[Any, tuple[dict[str, str], str | None]] = {}
        self._memory_index: _StoreIndex | None = None

    # -- making and opening ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        result: Any,
        path: str | os.PathLike[str] | None = None,
        *,
        object_name: str = "lead",
        replace: bool = False,
        timeout: float = 10.0,
    ) -> RecordStore:
        """Make a store from a ``link`` result, in its project file.

        Args:
            result: a :class:`~linkage.LinkResult` (of one input).
            path: the project file; default the file the result's queue is in. A result
                linked with an in-memory queue has its queue copied into ``path``.
            object_name: what the records are (``lead``, ``contact``, ``customer``):
                checks report it as ``matched_object``.
            replace: replace a store already in the file.
            timeout: seconds to wait for another process holding the file.

        Raises:
            StoreError: the result cannot make a store, or the file holds one already.
        """
        from linkage._store_build import build_store

        if not re.fullmatch(r"[a-z][a-z0-9_]*", object_name):
            raise ConfigError(f"object_name must be a lower-case word, not {object_name!r}")
        queue = build_store(result, path, object_name, replace, timeout)
        return cls._opened(queue)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, timeout: float = 10.0) -> RecordStore:
        """Open the store in a project file (nothing is retrained or rescanned).

        Raises:
            StoreError: the file holds no store.
            QueueVersionError: the store was written by a newer ``linkage``.
            QueueBusyError: another process held the file for longer than ``timeout``.
        """
        path = Path(path)
        if not path.exists():
            raise StoreError(f"{path} does not exist: build a store with RecordStore.build")
        return cls._opened(review.ReviewQueue.open(path, timeout=timeout))

    @classmethod
    def _opened(cls, queue: review.ReviewQueue) -> RecordStore:
        store = cls(queue)
        store._con = queue.hold()
        try:
            store._load_state()
            store._index()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Close the project file."""
        self._con = None
        self.queue.release()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RecordStore({self.queue.path}, {self.object_name}, "
            f"{self._state.get('n_records', 0):,} records, model v{self.model_version})"
        )

    def _load_state(self) -> None:
        con = self._cursor()
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        meta = dict(con.execute("SELECT key, value FROM linkage_meta").fetchall())
        if "store_format_version" not in meta or "store_records" not in tables:
            raise StoreError(
                f"{self.queue.path} holds no store of records: make one with "
                "RecordStore.build(linkage.link(...))"
            )
        if int(meta["store_format_version"]) > STORE_FORMAT_VERSION:
            from linkage._version import __version__

            raise QueueVersionError(
                f"the store in {self.queue.path} was written by a newer linkage (store "
                f"format {meta['store_format_version']}; linkage {__version__} reads "
                f"format {STORE_FORMAT_VERSION} and older): upgrade linkage to open it"
            )
        self._state = {
            "object": meta["store_object"],
            "model_version": int(meta["store_model_version"]),
            "roles": json.loads(meta["store_roles"]),
            "columns": json.loads(meta["store_columns"]),
            "rules": [blocking.BlockingRule(**r) for r in json.loads(meta["store_rules"])],
            "guarded": {k: set(v) for k, v in json.loads(meta["store_guarded"]).items()},
            "types": json.loads(meta["store_types"]),
            "totals": json.loads(meta["store_tf_totals"]),
            "next_rid": int(meta["store_next_rid"]),
            "n_records": int(meta["store_n_records"]),
            "max_block_size": int(meta["store_max_block_size"]),
            "multi": meta.get("store_multi") == "true",
        }

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError("this store is closed: open it again with RecordStore.open")
        return self._con

    # -- what it holds ---------------------------------------------------------------------

    @property
    def object_name(self) -> str:
        """What the records are: ``lead``, ``contact``, ``customer``."""
        return self._state.get("object", "?")

    @property
    def model_version(self) -> int:
        """The model version that scores checks and imports now."""
        return int(self._state.get("model_version", 0))

    @property
    def roles(self) -> dict[str, str]:
        """role -> column name of the records the store was built from."""
        return dict(self._state["columns"])

    @property
    def n_records(self) -> int:
        return int(self._state["n_records"])

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

    def entities(self) -> pd.DataFrame:
        """``record_id, entity_id, scored_by`` (model version) for every stored record."""
        return (
            self._cursor()
            .execute(
                "SELECT record_key AS record_id, entity_id, scored_by FROM store_records "
                "ORDER BY rid"
            )
            .df()
        )

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
        """Where each golden value of an entity came from."""
        return (
            self._cursor()
            .execute(
                "SELECT * FROM store_lineage WHERE entity_id = ? ORDER BY field, record_id",
                [entity_id],
            )
            .df()
        )

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
        present = [r for r, v in values.items() if _present(v) and r in matching]
        if not present:
            raise InputError(
                f"the record has none of the fields this store matches on "
                f"({', '.join(self._matching_roles())}); it has {list(map(str, record))}"
            )
        if "person_name" not in values and ("first_name" in values or "last_name" in values):
            # A name split in two is joined by the batch standardizer.
            found = self._check_frame(pd.DataFrame([dict(record)]), roles, all_candidates=True)
            return _one_result(found, self.object_name)
        derived: dict[str, Any] = {}
        for role, value in values.items():
            if role in ("dob", "postcode"):
                derived.update(
                    standardize_records(pd.DataFrame({role: [value]}), [role]).iloc[0].to_dict()
                )
            else:
                derived.update(_derive_value(role, _cache_text(value)))
        key = None
        own_rid = None
        if id_column is not None and _present(record.get(id_column)):
            key = _record_key(self._state["multi"], "records", _id_text(record[id_column]))
            # Is it a stored record (an edit or a re-check)? Its key's hash finds the rids,
            # the keys held in memory confirm one (a hash may collide): no query.
            hashed = [rid for _, rid in self._index().records.get([key])]
            if hashed:
                stored_keys, _ = self._index().rows.get(hashed)
                own_rid = next((r for r, k in zip(hashed, stored_keys) if k == key), None)
        rid = own_rid if own_rid is not None else self._state["next_rid"]
        lookups = _record_lookups(derived, self._state["rules"], self._state["guarded"])
        candidates: list[tuple[int, str, str, str]] = []
        if lookups:
            hits = self._index().keys.get(lookups)
            sizes: dict[str, int] = {}
            for lookup, _rid in hits:
                sizes[lookup] = sizes.get(lookup, 0) + 1
            limit = self._state["max_block_size"]
            wanted = sorted({r for lookup, r in hits if sizes[lookup] < limit and r != own_rid})
            if wanted:
                placeholders = ", ".join("?" for _ in wanted)
                fetched = con.execute(
                    f"SELECT rid, payload FROM store_lookup WHERE rid IN ({placeholders})",
                    wanted,
                ).fetchall()
                keys, entities = self._index().rows.get([r for r, _ in fetched])
                candidates = [
                    (r, k, e, p) for (r, p), k, e in zip(fetched, keys, entities, strict=True)
                ]
        best_rows: list[dict[str, Any]] = []
        if candidates:
            payload = {c: _json_value(derived.get(c)) for c in scorer.payload_columns}
            scorer.stage_rows(
                con,
                self._index().counts.get,
                [rid],
                [payload],
                [own_rid is None],
                [derived.get("person_name_key")],
                [c[0] for c in candidates],
                [c[3] for c in candidates],
                self._state["totals"],
            )
            scored = scorer.score_probes(con)
            info = {c[0]: (c[1], c[2]) for c in candidates}
            per_entity: dict[str, dict[str, Any]] = {}
            for rid_l, rid_r, weight, probability, decision, reason in scored:
                other = rid_l if rid_r == rid else rid_r
                record_key, entity = info[other]
                entry = {
                    "entity_id": entity,
                    "matched_record": record_key,
                    "match_weight": weight,
                    "match_probability": probability,
                    "decision": decision,
                    "reason": reason,
                }
                rank = (_RANK[decision], weight, record_key)
                held = per_entity.get(entity)
                if held is None or rank > held["_rank"]:
                    per_entity[entity] = {**entry, "_rank": rank}
            best_rows = sorted(
                per_entity.values(),
                key=lambda e: (-e["_rank"][0], -e["_rank"][1], e["_rank"][2]),
            )
        if best_rows:
            top = best_rows[0]
            golden = _golden_rows(con, [top["entity_id"]]).get(top["entity_id"])
            is_new = top["decision"] == "distinct"
        else:
            golden = None
            is_new = True
        fields = ["entity_id", "matched_record", "match_weight", "match_probability"]
        fields += ["decision", "reason"]
        frame = pd.DataFrame(
            {
                "matched_object": [self.object_name] * len(best_rows),
                **{f: [row[f] for row in best_rows] for f in fields},
            }
        )
        if not best_rows:
            return CheckResult(
                decision="distinct",
                is_new=True,
                entity_id=None,
                matched_object=self.object_name,
                matched_record=None,
                match_weight=None,
                match_probability=None,
                reason="no stored record shares a blocking key",
                owner=None,
                golden=None,
                candidates=frame,
            )
        return CheckResult(
            decision=top["decision"],
            is_new=is_new,
            entity_id=top["entity_id"],
            matched_object=self.object_name,
            matched_record=top["matched_record"],
            match_weight=float(top["match_weight"]),
            match_probability=float(top["match_probability"]),
            reason=top["reason"],
            owner=(golden or {}).get("owner"),
            golden=golden,
            candidates=frame,
        )

    def _index(self) -> _StoreIndex:
        """The blocking keys and counts in memory, sorted by hash (read at open, and again
        after this store writes): a check looks them up in microseconds."""
        if self._memory_index is None:
            con = self._cursor()
            self._memory_index = _StoreIndex(
                keys=_MemoryIndex(con, "store_keys", "rid"),
                counts=_MemoryIndex(con, "store_counts", "n"),
                records=_MemoryIndex(con, "store_lookup", "rid", "record_key"),
                rows=_RecordTable(con),
            )
        return self._memory_index

    def _matching_roles(self) -> list[str]:
        return [
            r
            for r in self._state["roles"]
            if r not in _PASS_THROUGH_ROLES and r not in ("created_at", "updated_at")
        ]

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
        for role, column in self._state["columns"].items():
            if column in columns:
                explicit.setdefault(role, column)
        mapping = schema.resolve_roles(list(columns), explicit).roles
        id_column = mapping.get("record_id")
        store_roles = set(self._state["roles"])
        used = {
            r: c
            for r, c in mapping.items()
            if r in store_roles
            and r not in _PASS_THROUGH_ROLES
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
        frame = _as_frame(records)
        return self._check_frame(frame, roles, all_candidates=all_candidates)

    def _check_frame(
        self,
        frame: pd.DataFrame,
        roles: Mapping[str, str | None] | None,
        *,
        all_candidates: bool,
        exclude_self: bool = False,
    ) -> pd.DataFrame:
        con = self._cursor()
        scorer = self._scorer()
        work, ids = self._role_frame(frame, roles, require_ids=False)
        probes = self._prepare(con, work, ids, scorer, known_ids=exclude_self)
        pairs = self._candidate_pairs(con, probes, exclude_self=exclude_self)
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
        transaction (records, entities, golden records, lineage, review items, log).

        Args:
            records: a DataFrame, a list of dicts, or a CSV, Excel or Parquet path; each
                record needs an id (the ``record_id`` role) not yet in the store.
            roles: role -> column, for names detection misses.
            actor: who imported (kept in the log).

        Raises:
            InputError: ids missing, duplicated or already stored (use :meth:`edit`),
                or a record with none of the matching fields.
            QueueBusyError: another process holds the file; nothing was written.
        """
        from linkage._store_build import add_batch

        frame = _as_frame(records)
        return add_batch(self, frame, roles, actor)

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
        from linkage._store_build import edit_record

        return edit_record(self, str(record_id), dict(values), roles, actor)

    def retrain(self, *, seed: int = 0, note: str | None = None) -> int:
        """Train a new model version on the stored records (the current one stays in the
        store; records keep the version that scored them). Returns the new version."""
        from linkage._store_build import retrain

        return retrain(self, seed, note)

    # -- internals shared with _store_build ------------------------------------------------

    def _scorer(self, version: int | None = None) -> _Scorer:
        version = version or self.model_version
        if version not in self._scorers:
            row = (
                self._cursor()
                .execute("SELECT model FROM store_models WHERE version = ?", [version])
                .fetchall()
            )
            if not row:
                raise StoreError(f"model version {version} is not in {self.queue.path}")
            model = model_mod.LinkageModel.from_dict(json.loads(row[0][0]))
            self._scorers[version] = _Scorer(model, self._state["types"])
        return self._scorers[version]

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
        stored = {r: c for r, c in self._state["columns"].items() if c in frame.columns}
        for role, column in stored.items():
            explicit.setdefault(role, column)
        mapping = schema.resolve_roles(list(frame.columns), explicit)
        store_roles = set(self._state["roles"])
        matching = [r for r in mapping.roles if r in store_roles and r not in _PASS_THROUGH_ROLES]
        matching = [r for r in matching if r not in ("created_at", "updated_at")]
        if not matching:
            usable = sorted(r for r in store_roles if r not in _PASS_THROUGH_ROLES)
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
            ids = frame[mapping.roles["record_id"]].map(_id_text).to_numpy(dtype=object)
        elif require_ids:
            raise InputError(
                "records to add need an id column (the record_id role: 'id', 'lead_id', "
                "'线索编号', ...) or roles={'record_id': '<your column>'}"
            )
        values = work[[r for r in matching]].map(_present)
        empty = ~values.any(axis=1).to_numpy()
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
        scorer: _Scorer,
        *,
        known_ids: bool = False,
        derived: pd.DataFrame | None = None,
    ) -> _Probes:
        """Standardize the records and make their scoring rows (payload, keys)."""
        if derived is None:
            derived = standardize_records(work, scorer.needed_roles(work.columns))
        n = len(work)
        keys = (
            np.array([_record_key(self._state["multi"], "records", i) for i in ids], dtype=object)
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
        next_rid = self._state["next_rid"]
        rids = np.array([existing.get(k, next_rid + i) for i, k in enumerate(keys)], dtype=np.int64)
        is_new = np.array([k not in existing for k in keys], dtype=bool)
        probe_keys = _block_keys(derived, self._state["rules"], self._state["guarded"])
        return _Probes(
            rids=rids,
            keys=keys,
            is_new=is_new,
            derived=derived,
            block_keys=probe_keys,
        )

    def _candidate_pairs(
        self, con: duckdb.DuckDBPyConnection, probes: _Probes, *, exclude_self: bool
    ) -> pd.DataFrame:
        """(probe position, store rid) pairs sharing a blocking key."""
        lookups = probes.block_keys
        if lookups.empty:
            return pd.DataFrame({"probe": [], "rid": []})
        values = lookups["lookup"].unique().tolist()
        if len(values) <= 64:
            # A handful of keys: index lookups (an IN list on the indexed column).
            placeholders = ", ".join("?" for _ in values)
            rows = con.execute(
                f"SELECT lookup, rid FROM store_keys WHERE lookup IN ({placeholders})", values
            ).fetchnumpy()
            found = pd.DataFrame({"lookup": rows["lookup"], "rid": rows["rid"]})
        else:
            con.register("probe_lookups", pd.DataFrame({"lookup": values}))
            found = con.execute(
                "SELECT k.lookup, k.rid FROM store_keys k SEMI JOIN probe_lookups p USING (lookup)"
            ).df()
            con.unregister("probe_lookups")
        # A key shared by more records than the block limit is not used, as in link.
        sizes = found.groupby("lookup")["rid"].transform("size")
        found = found[sizes < self._state["max_block_size"]]
        pairs = lookups.merge(found, on="lookup")[["probe", "rid"]].drop_duplicates()
        if exclude_self:
            own = probes.rids[pairs["probe"].to_numpy()]
            pairs = pairs[pairs["rid"].to_numpy() != own]
        return pairs.reset_index(drop=True)

    def _score(
        self,
        con: duckdb.DuckDBPyConnection,
        scorer: _Scorer,
        probes: _Probes,
        pairs: pd.DataFrame,
        batch_pairs: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Score and decide probe-store pairs (and probe-probe pairs, when importing):
        ``rid_l, rid_r, match_weight, match_probability, decision, reason``, the probe's
        rid, the other record's rid and, for a stored one, its entity and key."""
        columns = ["rid_l", "rid_r", "match_weight", "match_probability", "decision", "reason"]
        store_rids = np.unique(pairs["rid"].to_numpy(np.int64)) if len(pairs) else np.array([])
        left = probes.rids[pairs["probe"].to_numpy(np.int64)] if len(pairs) else np.array([])
        right = pairs["rid"].to_numpy(np.int64) if len(pairs) else np.array([])
        if batch_pairs is not None and len(batch_pairs):
            left = np.concatenate([left, probes.rids[batch_pairs["a"].to_numpy(np.int64)]])
            right = np.concatenate([right, probes.rids[batch_pairs["b"].to_numpy(np.int64)]])
        if len(left) == 0:
            return pd.DataFrame(columns=[*columns, "probe_rid", "other", "entity_id", "record_key"])
        keys, entities = self._index().rows.get(store_rids)
        stored = pd.DataFrame({"rid": np.asarray(store_rids, dtype=np.int64)})
        stored["record_key"], stored["entity_id"] = keys, entities
        scorer.stage_batch(
            con,
            probes.rids,
            probes.payload_list(scorer.payload_columns),
            probes.is_new,
            (
                probes.derived["person_name_key"].tolist()
                if "person_name_key" in probes.derived.columns
                else [None] * len(probes.rids)
            ),
            store_rids,
            self._state["totals"],
        )
        pair_frame = pd.DataFrame(
            {
                "l": np.minimum(left, right).astype(np.int64),
                "r": np.maximum(left, right).astype(np.int64),
            }
        ).drop_duplicates()
        scored = pd.DataFrame(scorer.score(con, pair_frame["l"], pair_frame["r"]), columns=columns)
        # DuckDB returns rows in any order (threads): sort, so ties break the same every run.
        scored = scored.sort_values(["rid_l", "rid_r"], kind="stable", ignore_index=True)
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
        probes: _Probes,
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
        golden = _golden_rows(con, entities)
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


# -- the in-memory index ---------------------------------------------------------------------


class _MemoryIndex:
    """``lookup -> values`` of a store table, as arrays sorted by the lookup's hash
    (``md5_number_upper``, the same in DuckDB and here): the ART index on disk is loaded
    lazily and costs milliseconds per random key, these cost microseconds."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        value_column: str,
        key_column: str | None = None,
    ) -> None:
        # ``key_column``: hash that column on reading (a table without a hash column).
        hashed = f"md5_number_upper({key_column})" if key_column else "lookup_hash"
        data = con.execute(
            f"SELECT {hashed} AS lookup_hash, {value_column} FROM {table}"
        ).fetchnumpy()
        hashes = np.asarray(data["lookup_hash"], dtype=np.uint64)
        values = np.asarray(data[value_column], dtype=np.int64)
        if len(hashes) > 1 and not bool((hashes[1:] >= hashes[:-1]).all()):
            order = np.argsort(hashes, kind="stable")  # rows added since the build
            hashes, values = hashes[order], values[order]
        self.hashes, self.values = hashes, values

    def get(self, lookups: Sequence[str]) -> list[tuple[str, int]]:
        """``(lookup, value)`` for every stored row of each lookup."""
        if not lookups:
            return []
        wanted = np.array([_lookup_hash(k) for k in lookups], dtype=np.uint64)
        low = np.searchsorted(self.hashes, wanted, "left")
        high = np.searchsorted(self.hashes, wanted, "right")
        out = []
        for lookup, start, stop in zip(lookups, low.tolist(), high.tolist(), strict=True):
            out.extend((lookup, int(v)) for v in self.values[start:stop].tolist())
        return out


@dataclass
class _StoreIndex:
    keys: _MemoryIndex
    counts: _MemoryIndex
    records: _MemoryIndex
    rows: _RecordTable


class _RecordTable:
    """``rid -> (record key, entity)`` of every stored record, in memory (~32 MB at a
    million records, read in a tenth of a second). Reading these two short columns for
    scattered rows from the file costs more than the payloads themselves: DuckDB
    decompresses a whole vector of each column per row."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        data = con.sql(
            "SELECT rid, record_key, entity_id FROM store_lookup ORDER BY rid"
        ).to_arrow_table()
        self.rids = np.asarray(data.column("rid").to_numpy(), dtype=np.int64)
        self.keys = data.column("record_key").combine_chunks()
        self.entities = data.column("entity_id").combine_chunks()

    def get(self, rids: Sequence[int] | np.ndarray) -> tuple[list[Any], list[Any]]:
        """Record keys and entities of stored ``rids`` (each must be stored)."""
        import pyarrow as pa

        wanted = np.asarray(rids, dtype=np.int64)
        positions = np.searchsorted(self.rids, wanted)
        inside = positions < len(self.rids)
        if not inside.all() or not (self.rids[positions] == wanted).all():
            raise StoreError("the store changed underneath this process: open it again")
        index = pa.array(positions, type=pa.int64())
        return self.keys.take(index).to_pylist(), self.entities.take(index).to_pylist()


def _lookup_hash(lookup: str) -> int:
    """DuckDB's ``md5_number_upper``: the first 8 bytes of the MD5, little-endian."""
    return int.from_bytes(hashlib.md5(lookup.encode()).digest()[:8], "little")


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class _Probes:
    rids: np.ndarray  # provisional rids of new records, stored rids of known ones
    keys: np.ndarray  # record keys (None when the input has no ids)
    is_new: np.ndarray
    derived: pd.DataFrame  # standardized columns
    block_keys: pd.DataFrame  # probe, lookup ("rule:key")
    payloads: list[str] | None = None  # comparison columns as JSON, made once

    def payload_list(self, columns: Sequence[str]) -> list[str]:
        if self.payloads is None:
            self.payloads = _payloads(self.derived, columns)
        return self.payloads


class _Scorer:
    """The model's comparison, weight and decision SQL, generated by splink once.

    Rows to score sit in a scratch table, ``linkage_check_rows``: the stored JSON payload
    (the model's columns) plus the columns that depend on the store as a whole, typed: the
    term frequencies (``tf_<column>``) and the shared-number flags (``<phone>_shared``).
    A single check fills them in Python from the in-memory counts; an import fills them in
    SQL (:meth:`stage_batch`), so the candidates' payloads never leave DuckDB.
    """

    def __init__(self, model: model_mod.LinkageModel, types: Mapping[str, str]) -> None:
        from splink.internals.pipeline import CTEPipeline
        from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
        from splink.internals.settings_creator import SettingsCreator

        self.model = model
        # Blocking rules play no part in a score; without them splink does not carry the
        # columns they read through every step (less SQL for DuckDB to bind per check).
        scoring = {**model.settings_, "blocking_rules_to_generate_predictions": []}
        settings = SettingsCreator.from_path_or_dict(scoring).get_settings("duckdb")
        # gamma_* reach the output only with the matching columns (splink 5); the outer
        # SELECT keeps what the decisions need.
        settings._retain_matching_columns = True
        settings._retain_intermediate_calculation_columns = False
        uid = settings.column_info_settings.unique_id_column_name
        blocked_columns = settings._columns_to_select_for_blocking
        read = []
        for column in blocked_columns:
            found = re.match(r'"l"\."([^"]+)"', column)
            if found and found.group(1) not in read:
                read.append(found.group(1))
        self.tf_columns = [c.unquote().name for c in settings._term_frequency_columns]
        self.payload_columns = [c for c in read if c != uid and not c.startswith("tf_")]
        missing = [c for c in self.payload_columns if c not in types]
        if missing:
            raise StoreError(f"the model reads columns the store does not hold: {missing}")
        self.types = {c: types[c] for c in self.payload_columns}
        self.shared_phones = [
            p for p in ("mobile", "phone") if f"{p}_shared" in self.payload_columns
        ]
        # A number's names are pooled over both phone columns, as the standardizer does.
        self.pooled_phones = [p for p in ("mobile", "phone") if f"{p}_e164" in self.types]
        # Store-wide columns: typed columns of the scratch table, not part of the payload.
        self.extra_columns = {f"tf_{c}": "DOUBLE" for c in self.tf_columns}
        self.extra_columns.update({f"{p}_shared": "BOOLEAN" for p in self.shared_phones})
        structure = {c: t for c, t in self.types.items() if c not in self.extra_columns}
        self.structure = json.dumps(structure)
        extras = "".join(f", r.{quote(c)}" for c in self.extra_columns)
        self.rows_table = f"linkage_check_rows_{next(_SCORER_IDS)}"
        levels = decisions.agreement_levels(model.settings_)
        vector_columns = ", ".join(settings._columns_to_select_for_comparison_vector_values)

        def scoring_sql(pairs: str) -> str:
            pipe = CTEPipeline()
            pipe.enqueue_sql(
                f"SELECT r.rid AS {quote(uid)}, unnest(json_transform(r.payload, "
                f"'{self.structure}')){extras} FROM {self.rows_table} r",
                "check_rows",
            )
            pipe.enqueue_sql(
                f"SELECT {', '.join(blocked_columns)}, 0 AS match_key FROM ({pairs}) p "
                f"JOIN check_rows l ON l.{quote(uid)} = p.rid_l "
                f"JOIN check_rows r ON r.{quote(uid)} = p.rid_r",
                "__splink__blocked",
            )
            pipe.enqueue_sql(
                f"SELECT {vector_columns} FROM __splink__blocked",
                "__splink__df_comparison_vectors",
            )
            pipe.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(settings))
            decided = decisions.decision_query(
                f"({pipe.generate_cte_pipeline_sql()})",
                levels,
                model.policy,
                columns=[f"{uid}_l", f"{uid}_r", "match_weight", "match_probability"],
            )
            return (
                f"SELECT {quote(uid + '_l')} AS rid_l, {quote(uid + '_r')} AS rid_r, "
                f"match_weight, match_probability, decision, reason FROM ({decided})"
            )

        # Pairs listed in a scratch table (an import), or every staged record against the
        # probe (a form check: nothing more to stage).
        self.sql = scoring_sql("SELECT rid_l, rid_r FROM linkage_check_pairs")
        self.probe_sql = scoring_sql(
            f"SELECT least(a.rid, b.rid) AS rid_l, greatest(a.rid, b.rid) AS rid_r "
            f"FROM {self.rows_table} a JOIN {self.rows_table} b "
            "ON a.is_probe AND NOT b.is_probe"
        )
        self.uid = uid
        self._prepared: dict[int, tuple[str, str]] = {}

    def needed_roles(self, available: Sequence[str]) -> list[str]:
        """Roles whose standardized columns the model or the blocking keys read."""
        return [r for r in available if r not in _PASS_THROUGH_ROLES]

    # -- the scratch tables ------------------------------------------------------------------

    def _prepare(self, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
        """Scratch tables and the prepared scoring statements of this connection:
        ``(pairs statement, probe statement)``."""
        names = self._prepared.get(id(con))
        if names is None:
            # Temporary: nothing reaches the file. One rows table per scorer (model
            # versions differ in their extra columns).
            extras = "".join(f", {quote(c)} {t}" for c, t in self.extra_columns.items())
            run(
                con,
                f"CREATE TEMP TABLE IF NOT EXISTS {self.rows_table} "
                f"(rid BIGINT, payload VARCHAR, is_probe BOOLEAN{extras})",
            )
            run(
                con,
                "CREATE TEMP TABLE IF NOT EXISTS linkage_check_pairs (rid_l BIGINT, rid_r BIGINT)",
            )
            base = f"linkage_score_{id(self)}_{len(self._prepared)}"
            names = (base, f"{base}_probe")
            run(con, f"PREPARE {names[0]} AS {self.sql}")
            run(con, f"PREPARE {names[1]} AS {self.probe_sql}")
            self._prepared[id(con)] = names
        return names

    def stage_rows(
        self,
        con: duckdb.DuckDBPyConnection,
        lookup_counts: Any,
        probe_rids: Sequence[int],
        probe_payloads: Sequence[dict[str, Any]],
        is_new: Sequence[bool],
        probe_names: Sequence[Any],
        stored_rids: Sequence[int],
        stored_payloads: Sequence[str],
        totals: Mapping[str, int],
    ) -> None:
        """Scratch rows for a few records (a form check): the probes and their stored
        candidates, with term frequencies and shared-number flags computed here from
        ``lookup_counts`` (the store's counts, in memory)."""
        self._prepare(con)
        seen = set()
        rids: list[int] = []
        payloads: list[str] = []
        parsed: list[dict[str, Any]] = []
        for rid, payload in zip(probe_rids, probe_payloads, strict=True):
            if rid not in seen:
                seen.add(rid)
                rids.append(int(rid))
                payloads.append(json.dumps(payload, ensure_ascii=False, default=str))
                parsed.append(payload)
        for rid, payload in zip(stored_rids, stored_payloads, strict=True):
            if rid not in seen:
                seen.add(rid)
                rids.append(int(rid))
                payloads.append(payload)
                parsed.append(json.loads(payload))
        n_probes = len(probe_rids)
        wanted: set[str] = set()
        for row in parsed:
            for column in self.tf_columns:
                if row.get(column) is not None:
                    wanted.add(_count_key("tf", column, row[column]))
        new_pairs: set[tuple[str, str]] = set()
        if self.shared_phones:
            for row in parsed:
                for phone in self.shared_phones:
                    if row.get(f"{phone}_e164") is not None:
                        wanted.add(f"pc:{row[f'{phone}_e164']}")
            for position in range(n_probes):
                name = probe_names[position]
                if not is_new[position] or _missing(name):
                    continue
                for phone in self.pooled_phones:
                    number = probe_payloads[position].get(f"{phone}_e164")
                    if number is not None:
                        new_pairs.add((number, str(name)))
            wanted |= {f"pn:{e}|{n}" for e, n in new_pairs}
        counts = dict(lookup_counts(sorted(wanted)))
        extras: dict[str, list[Any]] = {c: [] for c in self.extra_columns}
        # A number used with three or more names is shared (a switchboard), counted over
        # the store and the new records, as the standardizer counts a whole run.
        added: dict[str, int] = {}
        for number, _name in new_pairs:
            if not counts.get(f"pn:{number}|{_name}"):
                added[number] = added.get(number, 0) + 1
        # Term frequencies as the full run computes them: count / non-null count, over the
        # store plus the new records.
        new_counts: dict[str, int] = {}
        new_totals: dict[str, int] = {}
        for position in range(n_probes):
            if not is_new[position]:
                continue
            row = probe_payloads[position]
            for column in self.tf_columns:
                value = row.get(column)
                if value is not None:
                    key = _count_key("tf", column, value)
                    new_counts[key] = new_counts.get(key, 0) + 1
                    new_totals[column] = new_totals.get(column, 0) + 1
        for row in parsed:
            for phone in self.shared_phones:
                number = row.get(f"{phone}_e164")
                extras[f"{phone}_shared"].append(
                    number is not None
                    and counts.get(f"pc:{number}", 0) + added.get(number, 0) >= _SHARED_NAMES
                )
            for column in self.tf_columns:
                value = row.get(column)
                tf = None
                if value is not None:
                    key = _count_key("tf", column, value)
                    n = counts.get(key, 0) + new_counts.get(key, 0)
                    total = int(totals.get(column, 0)) + new_totals.get(column, 0)
                    if total and n:
                        tf = float(n) / float(total)
                extras[f"tf_{column}"].append(tf)
        run(con, f"DELETE FROM {self.rows_table}")
        columns = ["rid", "payload", "is_probe", *self.extra_columns]
        types = ["BIGINT", "VARCHAR", "BOOLEAN", *self.extra_columns.values()]
        probe_set = {int(r) for r in probe_rids}
        run(
            con,
            f"INSERT INTO {self.rows_table} ({', '.join(quote(c) for c in columns)}) SELECT "
            + ", ".join(f"unnest(?::{t}[])" for t in types),
            [rids, payloads, [r in probe_set for r in rids], *extras.values()],
        )

    def stage_batch(
        self,
        con: duckdb.DuckDBPyConnection,
        probe_rids: np.ndarray,
        probe_payloads: Sequence[str],
        is_new: np.ndarray,
        names: Sequence[Any],
        stored_rids: np.ndarray,
        totals: Mapping[str, int],
    ) -> None:
        """Scratch rows for an import: the probes (JSON payloads) and the stored records
        ``stored_rids`` (read from the store inside DuckDB), with term frequencies and
        shared-number flags computed in SQL by the same rules as :meth:`stage_rows`."""
        self._prepare(con)
        probes = pd.DataFrame(
            {
                "rid": np.asarray(probe_rids, dtype=np.int64),
                "payload": pd.array(list(probe_payloads), dtype=object),
                "is_new": np.asarray(is_new, dtype=bool),
                "name": pd.array([None if _missing(n) else str(n) for n in names], dtype=object),
            }
        ).drop_duplicates("rid")
        stored = np.setdiff1d(np.asarray(stored_rids, dtype=np.int64), probes["rid"].to_numpy())
        typed = {c: self.types[c] for c in self._typed_columns()}
        con.register("linkage_batch_probes", probes)
        con.register("linkage_batch_stored", pd.DataFrame({"rid": stored}))
        try:
            run(con, f"DELETE FROM {self.rows_table}")
            run(con, self._batch_sql(typed, totals))
        finally:
            con.unregister("linkage_batch_probes")
            con.unregister("linkage_batch_stored")

    def _typed_columns(self) -> list[str]:
        """Payload columns the store-wide columns are computed from."""
        columns = list(self.tf_columns)
        if self.shared_phones:
            columns += [f"{p}_e164" for p in self.pooled_phones]
        return [c for c in dict.fromkeys(columns) if c in self.types]

    def _batch_sql(self, typed: Mapping[str, str], totals: Mapping[str, int]) -> str:
        """The INSERT that stages an import: one long table of the values the store-wide
        columns depend on, one pass over ``store_counts`` for all of their counts, then
        one row per record again."""

        def v(column: str) -> str:
            return f"CAST(t.v.{quote(column)} AS VARCHAR)"

        source = (
            "SELECT rid, payload FROM linkage_batch_probes UNION ALL "
            "SELECT l.rid, l.payload FROM store_lookup l "
            "SEMI JOIN linkage_batch_stored w USING (rid)"
        )
        if not self.extra_columns:
            return f"INSERT INTO {self.rows_table} (rid, payload) {source}"
        structure = json.dumps(dict(typed)).replace("'", "''")
        ctes = [
            "src AS (SELECT rid, payload, is_new, name FROM linkage_batch_probes UNION ALL "
            "SELECT l.rid, l.payload, false, NULL FROM store_lookup l "
            "SEMI JOIN linkage_batch_stored w USING (rid))",
            f"t AS (SELECT rid, payload, is_new, CAST(name AS VARCHAR) AS name, "
            f"json_transform(payload, '{structure}') AS v FROM src)",
        ]
        # vals: (rid, is_new, slot, value, lookup); slot i < 1000 is the i-th term-frequency
        # column, 1000 + j the j-th phone with a shared flag.
        parts = []
        tf_slots = [i for i, c in enumerate(self.tf_columns) if c in typed]
        for i in tf_slots:
            column = self.tf_columns[i]
            parts.append(
                f"SELECT t.rid, t.is_new, {i} AS slot, {v(column)} AS value, "
                f"'{_count_key('tf', column, '')}' || {v(column)} AS lookup "
                f"FROM t WHERE {v(column)} IS NOT NULL"
            )
        for j, phone in enumerate(self.shared_phones):
            number = v(f"{phone}_e164")
            parts.append(
                f"SELECT t.rid, t.is_new, {1000 + j}, {number}, 'pc:' || {number} "
                f"FROM t WHERE {number} IS NOT NULL"
            )
        if not parts:
            parts.append(
                "SELECT NULL::BIGINT, NULL::BOOLEAN, NULL::INTEGER, NULL::VARCHAR, "
                "NULL::VARCHAR LIMIT 0"
            )
        ctes.append(
            "vals (rid, is_new, slot, value, lookup) AS (" + " UNION ALL ".join(parts) + ")"
        )
        # New (number, name) pairs: a number's names, pooled over both phone columns.
        pairs = " UNION ALL ".join(
            f"SELECT {v(p + '_e164')} AS number, t.name FROM t "
            f"WHERE t.is_new AND {v(p + '_e164')} IS NOT NULL AND t.name IS NOT NULL"
            for p in self.pooled_phones
        )
        if not (pairs and self.shared_phones):
            pairs = "SELECT NULL::VARCHAR AS number, NULL::VARCHAR AS name LIMIT 0"
        ctes.append(f"pairs AS (SELECT DISTINCT number, name FROM ({pairs}))")
        ctes.append(
            "counted AS (SELECT lookup, n FROM store_counts SEMI JOIN ("
            "SELECT lookup FROM vals UNION "
            "SELECT 'pn:' || number || '|' || name FROM pairs) w USING (lookup))"
        )
        ctes.append(
            "added AS (SELECT p.number, count(*) AS n FROM pairs p LEFT JOIN counted c "
            "ON c.lookup = 'pn:' || p.number || '|' || p.name "
            "WHERE coalesce(c.n, 0) = 0 GROUP BY p.number)"
        )
        ctes.append(
            "fresh AS (SELECT lookup, count(*) AS n FROM vals WHERE is_new AND slot < 1000 "
            "GROUP BY lookup)"
        )
        ctes.append(
            "fresh_totals AS (SELECT slot, count(*) AS n FROM vals WHERE is_new AND slot < 1000 "
            "GROUP BY slot)"
        )
        selects = []
        for i, column in enumerate(self.tf_columns):
            if i not in tf_slots:  # not read by the model: no frequency to adjust by
                selects.append(f"CAST(NULL AS DOUBLE) AS {quote('tf_' + column)}")
                continue
            total = (
                f"({int(totals.get(column, 0))} + coalesce((SELECT n FROM fresh_totals "
                f"WHERE slot = {i}), 0))"
            )
            count = "nullif(coalesce(c.n, 0) + coalesce(f.n, 0), 0)"
            selects.append(
                f"max(CASE WHEN x.slot = {i} AND {total} > 0 THEN "
                f"CAST({count} AS DOUBLE) / CAST({total} AS DOUBLE) END) "
                f"AS {quote('tf_' + column)}"
            )
        for j, phone in enumerate(self.shared_phones):
            selects.append(
                f"bool_or(x.slot = {1000 + j} AND coalesce(c.n, 0) + coalesce(a.n, 0) "
                f">= {_SHARED_NAMES}) AS {quote(phone + '_shared')}"
            )
        ctes.append(
            f"per AS (SELECT x.rid, {', '.join(selects)} FROM vals x "
            "LEFT JOIN counted c USING (lookup) LEFT JOIN fresh f USING (lookup) "
            "LEFT JOIN added a ON x.slot >= 1000 AND a.number = x.value GROUP BY x.rid)"
        )
        extras = [
            f"coalesce(per.{quote(c)}, false)" if c.endswith("_shared") else f"per.{quote(c)}"
            for c in self.extra_columns
        ]
        columns = ", ".join(quote(c) for c in ["rid", "payload", *self.extra_columns])
        return (
            f"INSERT INTO {self.rows_table} ({columns}) WITH {', '.join(ctes)} "
            f"SELECT t.rid, t.payload, {', '.join(extras)} FROM t LEFT JOIN per USING (rid)"
        )

    def score(
        self,
        con: duckdb.DuckDBPyConnection,
        left: Sequence[int] | np.ndarray,
        right: Sequence[int] | np.ndarray,
    ) -> list[tuple[Any, ...]]:
        """Scored and decided pairs of staged rows: ``(rid_l, rid_r, match_weight,
        match_probability, decision, reason)``. The statement is prepared once per
        connection."""
        name = self._prepare(con)[0]
        run(con, "DELETE FROM linkage_check_pairs")
        if len(left) > 1000:
            pairs = pd.DataFrame(
                {"rid_l": np.asarray(left, np.int64), "rid_r": np.asarray(right, np.int64)}
            )
            con.register("linkage_batch_pairs", pairs)
            try:
                run(con, "INSERT INTO linkage_check_pairs SELECT * FROM linkage_batch_pairs")
            finally:
                con.unregister("linkage_batch_pairs")
        else:
            run(
                con,
                "INSERT INTO linkage_check_pairs SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[])",
                [[int(x) for x in left], [int(x) for x in right]],
            )
        return con.execute(f"EXECUTE {name}").fetchall()

    def score_probes(self, con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
        """Like :meth:`score`, for every pair of a staged probe and a staged stored record
        (what :meth:`stage_rows` staged for a form check)."""
        return con.execute(f"EXECUTE {self._prepare(con)[1]}").fetchall()


_SCORER_IDS = itertools.count(1)


def _payloads(derived: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Each row's comparison columns as JSON (the form the store keeps them in)."""
    present = [c for c in columns if c in derived.columns]
    records = derived[present].astype(object).where(derived[present].notna(), None)
    out = []
    for values in records.itertuples(index=False, name=None):
        row = {}
        for column, value in zip(present, values, strict=True):
            row[column] = _json_value(value)
        out.append(json.dumps(row, ensure_ascii=False))
    return out


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.ndarray, list, tuple)):
        return [str(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    return str(value) if not isinstance(value, (int, float)) else value


def _count_key(kind: str, column: str, value: Any) -> str:
    return f"{kind}:{column}={value}"


def _golden_rows(con: duckdb.DuckDBPyConnection, entities: Sequence[str]) -> dict[str, dict]:
    if not entities:
        return {}
    placeholders = ", ".join("?" for _ in entities)
    result = con.execute(
        f"SELECT * FROM store_golden WHERE entity_id IN ({placeholders})", list(entities)
    )
    names = [d[0] for d in result.description]
    out = {}
    for values in result.fetchall():
        row = dict(zip(names, values, strict=True))
        out[row["entity_id"]] = row
    return out


def _missing(value: Any) -> bool:
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _block_keys(
    derived: pd.DataFrame, rules: Sequence[blocking.BlockingRule], guarded: Mapping[str, set]
) -> pd.DataFrame:
    """``probe, lookup`` for every rule key of every record (``rule:key``), leaving out
    the values the link run guarded (shared by too many records)."""
    probes, lookups = [], []
    for rule in rules:
        if not all(c in derived.columns for c in rule.columns):
            continue
        parts = [derived[c] for c in rule.columns]
        present = np.ones(len(derived), dtype=bool)
        for part in parts:
            present &= part.notna().to_numpy()
        texts = [part.map(_key_text, na_action="ignore") for part in parts]
        values = texts[0] if len(texts) == 1 else texts[0].str.cat(texts[1:], sep="|")
        blocked = guarded.get(rule.key_column, set())
        positions = np.flatnonzero(present)
        texts_present = values.to_numpy(dtype=object)[positions].tolist()
        for position, value in zip(positions.tolist(), texts_present, strict=True):
            if value in blocked:
                continue
            probes.append(position)
            lookups.append(f"{rule.name}:{value}")
    return pd.DataFrame({"probe": np.asarray(probes, dtype=np.int64), "lookup": lookups})


def _record_lookups(
    derived: Mapping[str, Any],
    rules: Sequence[blocking.BlockingRule],
    guarded: Mapping[str, set],
) -> list[str]:
    """``rule:key`` lookups of one standardized record (as :func:`_block_keys`)."""
    out = []
    for rule in rules:
        parts = [derived.get(c) for c in rule.columns]
        if any(_missing(p) or p is None for p in parts):
            continue
        value = "|".join(_key_text(p) for p in parts)
        if value in guarded.get(rule.key_column, ()):
            continue
        out.append(f"{rule.name}:{value}")
    return out


_RANK = {"distinct": 0, "review": 1, "auto_merge": 2}


def _key_text(value: Any) -> str:
    """A value as ``CAST(x AS VARCHAR)`` writes it (the form block keys take)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return str(value)


# -- standardizing -------------------------------------------------------------------------


def standardize_records(work: pd.DataFrame, roles: Sequence[str]) -> pd.DataFrame:
    """Standardized columns of records (one column per role in ``work``), exactly as
    ``link`` derives them. One record takes the per-value path, cached per distinct value
    (a form check); a batch takes the batch path."""
    from linkage import standardize as standardize_mod

    roles = [r for r in roles if r in work.columns]
    combined_name = "person_name" not in roles and ("first_name" in roles or "last_name" in roles)
    if len(work) == 1 and not combined_name and not set(roles) & {"dob", "postcode"}:
        derived: dict[str, Any] = {}
        for role in roles:
            for column, value in _derive_value(role, _cache_text(work[role].iloc[0])):
                derived[column] = [value]
        return pd.DataFrame(derived)
    frame = work[roles].copy()
    frame.insert(0, "_row", np.arange(len(frame)).astype(str))
    mapping = {"record_id": "_row", **{r: r for r in roles if r not in _SIMPLE_ROLES}}
    standardized = standardize_mod.standardize(frame, mapping).frame
    out = standardized.drop(columns=["_row", *roles])
    out = out[[c for c in out.columns if not c.endswith("_problem")]]
    for role in _SIMPLE_ROLES:
        if role in roles:
            out[f"{role}_clean"] = [_simple(v) for v in work[role]]
    return out.reset_index(drop=True)


def _cache_text(value: Any) -> Any:
    from linkage import standardize as standardize_mod

    return standardize_mod._scalar_to_text(value)


@functools.lru_cache(maxsize=200_000)
def _derive_value(role: str, text: str | None) -> tuple[tuple[str, Any], ...]:
    """The standardized columns one value derives (the batch code on one element)."""
    import pyarrow as pa

    from linkage import standardize as s

    raw = pa.array([text], type=pa.string())

    def first(column: Any) -> Any:
        value = column[0] if isinstance(column, np.ndarray) else column[0].as_py()
        return None if _missing(value) else value

    if role in ("mobile", "phone"):
        cols = s._phone_batch(raw, "CN")
        out = [(f"{role}_{f}", first(cols[f])) for f in ("e164", "kind", "extension", "valid")]
        return (*out, (f"{role}_shared", False))
    if role == "email":
        cols = s._email_batch(raw)
        fields = ("clean", "local", "domain", "is_free")
        out = [(f"email_{f}", first(cols[f])) for f in fields]
        out += [("company_domain", first(cols["company_domain"]))]
        return (*out, ("email_valid", first(cols["valid"])))
    if role == "company":
        cols = s._company_batch(raw)
        fields = ("clean", "core", "legal_form", "region", "valid")
        return tuple((f"company_{f}", first(cols[f])) for f in fields)
    if role == "credit_code":
        cols = s._credit_code_batch(raw)
        return tuple((f"credit_code_{f}", first(cols[f])) for f in ("clean", "valid"))
    if role == "person_name":
        cols = s._person_name_batch(raw)
        keys = cols["keys"][0]
        return (
            ("person_name_clean", first(cols["clean"])),
            ("person_name_key", first(cols["key"])),
            ("person_name_keys", None if keys is None else list(keys)),
            ("person_surname", first(cols["surname"])),
            ("person_name_is_honorific", first(cols["is_honorific"])),
            ("person_name_phonetic", first(cols["phonetic"])),
            ("person_name_valid", first(cols["valid"])),
        )
    if role == "wechat_unionid":
        clean, _problem = s._wechat_batch(raw)
        return (("wechat_unionid_clean", first(clean)),)
    if role in ("province", "city"):
        clean, _problem = s._place_batch(raw, role)
        return ((f"{role}_clean", first(clean)),)
    if role == "address":
        return (("address_clean", first(s._address_batch(raw))),)
    if role in ("created_at", "updated_at"):
        stamps, _problem = s._timestamp_batch(raw)
        value = None if np.isnat(stamps[0]) else pd.Timestamp(stamps[0]).to_pydatetime()
        return ((f"{role}_ts", value),)
    if role in _SIMPLE_ROLES:
        return ((f"{role}_clean", _simple(text)),)
    return ()


def _simple(value: Any) -> str | None:
    from linkage.pipeline import _simple_text

    return _simple_text(value)


# -- small helpers ----------------------------------------------------------------------------


def _as_frame(records: Any) -> pd.DataFrame:
    """Records as a frame: a DataFrame, a list of dicts, or a CSV, Excel or Parquet path."""
    if isinstance(records, pd.DataFrame):
        return records.reset_index(drop=True)
    if isinstance(records, Mapping):
        raise InputError(
            "one record was given where a table of records is expected: use check_one() "
            "for one record, or pass a list of dicts"
        )
    if isinstance(records, (list, tuple)):
        if not all(isinstance(r, Mapping) for r in records):
            kinds = sorted({type(r).__name__ for r in records if not isinstance(r, Mapping)})
            raise InputError(f"records must be dicts of column -> value; got {', '.join(kinds)}")
        return pd.DataFrame(list(records))
    if isinstance(records, (str, os.PathLike)):
        return schema.read_records(records).reset_index(drop=True)
    try:
        return schema.read_records(records).reset_index(drop=True)
    except (InputError, TypeError, ValueError) as exc:
        raise InputError(
            f"records must be a DataFrame, a list of dicts or a file path, not "
            f"{type(records).__name__}"
        ) from exc


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, str) and not value.strip():
        return False
    return not (value is pd.NA or value is pd.NaT)


def _id_text(value: Any) -> str | None:
    if not _present(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _record_key(multi: bool, source: str, record_id: Any) -> str | None:
    if record_id is None:
        return None
    return f"{source}:{record_id}" if multi else str(record_id)


def _one_result(found: pd.DataFrame, object_name: str) -> CheckResult:
    best = found.iloc[0]
    has_entity = best["entity_id"] is not None and not _missing(best["entity_id"])
    return CheckResult(
        decision=str(best["decision"]),
        is_new=bool(best["is_new"]),
        entity_id=best["entity_id"] if has_entity else None,
        matched_object=object_name,
        matched_record=best["matched_record"] if has_entity else None,
        match_weight=None if _missing(best["match_weight"]) else float(best["match_weight"]),
        match_probability=None
        if _missing(best["match_probability"])
        else float(best["match_probability"]),
        reason=str(best["reason"]),
        owner=best["owner"],
        golden=best["golden"],
        candidates=found[found["entity_id"].notna()].reset_index(drop=True),
    )


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


@contextlib.contextmanager
def _timer(timings: dict[str, float], stage: str):
    started = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


__all__ = [
    "AddResult",
    "CheckResult",
    "RecordStore",
    "STORE_FORMAT_VERSION",
    "check_all",
    "standardize_records",
]
