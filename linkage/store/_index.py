"""Where a check finds its candidates (internal): the blocking-key lookups held in memory
as hash-sorted arrays, and the probes staged for one check or one import.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage._sql import md5_hash, quote
from linkage.errors import (
    StoreError,
)
from linkage.store._records import json_payloads

logger = logging.getLogger("linkage")


class MemoryIndex:
    """``lookup -> values`` of a store table, as arrays sorted by the lookup's hash
    (``md5_number_upper``, the same in DuckDB and here): a point query on the file costs
    milliseconds per random key, these cost microseconds.

    Rows written since the table was read whole are held apart, in a second pair of
    sorted arrays, until they outnumber an eighth of the rest: putting an import's rows
    into arrays of millions copies all of those (a tenth of a second per import)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        value_column: str,
        key_column: str | None = None,
    ) -> None:
        # ``key_column``: hash that column on reading (a table without a hash column).
        self._read = (table, value_column, key_column)
        hashes, values = self._select(con, "")
        if len(hashes) > 1 and not bool((hashes[1:] >= hashes[:-1]).all()):
            order = np.argsort(hashes, kind="stable")  # rows added since the build
            hashes, values = hashes[order], values[order]
        self._parts: list[tuple[np.ndarray, np.ndarray]] = [(hashes, values)]

    def _with_parts(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> MemoryIndex:
        made = object.__new__(MemoryIndex)
        made._read = self._read
        made._parts = parts
        return made

    @property
    def hashes(self) -> np.ndarray:
        """Every row's hash, sorted (the parts merged: a copy)."""
        return self._whole()[0]

    @property
    def values(self) -> np.ndarray:
        """Every row's value, in the order of :attr:`hashes`."""
        return self._whole()[1]

    def _whole(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._parts) == 1:
            return self._parts[0]
        return _insert_sorted(*self._parts[0], *self._parts[1])

    def arrow(self) -> Any:
        """``lookup_hash, value`` of every row, as an Arrow table (the arrays, uncopied)."""
        import pyarrow as pa

        return pa.table(
            {
                "lookup_hash": pa.chunked_array([h for h, _ in self._parts], type=pa.uint64()),
                "value": pa.chunked_array([v for _, v in self._parts], type=pa.int64()),
            }
        )

    def _select(
        self, con: duckdb.DuckDBPyConnection, where: str, params: Sequence[Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        table, value_column, key_column = self._read
        hashed = md5_hash(key_column) if key_column else "lookup_hash"
        data = con.execute(
            f"SELECT {hashed} AS lookup_hash, {value_column} FROM {table} {where}", params
        ).fetchnumpy()
        hashes = np.asarray(data["lookup_hash"], dtype=np.uint64)
        return hashes, np.asarray(data[value_column], dtype=np.int64)

    def with_new_rows(self, con: duckdb.DuckDBPyConnection, first_rid: int) -> MemoryIndex:
        """This index and the rows of rids from ``first_rid`` on, added since it was read
        (an import appends rows and changes none: they are merged into the sorted arrays
        instead of reading a table of millions of rows again)."""
        hashes, values = self._select(con, "WHERE rid >= ?", [int(first_rid)])
        return self._merged(hashes, values)

    def with_hashes(self, con: duckdb.DuckDBPyConnection, hashes: np.ndarray) -> MemoryIndex:
        """This index with every row of the lookups hashed ``hashes`` read again (a write
        added, changed or deleted those rows only)."""
        wanted = pd.DataFrame({"lookup_hash": np.unique(np.asarray(hashes, dtype=np.uint64))})
        if not len(wanted):
            return self
        con.register("linkage_index_hashes", wanted)
        try:
            found = self._select(
                con, "WHERE lookup_hash IN (SELECT lookup_hash FROM linkage_index_hashes)"
            )
        finally:
            con.unregister("linkage_index_hashes")
        return self._merged(*found, drop=wanted["lookup_hash"].to_numpy())

    def with_deltas(
        self, con: duckdb.DuckDBPyConnection, hashes: np.ndarray, deltas: np.ndarray
    ) -> MemoryIndex:
        """This index after its table's ``n`` of each lookup hashed ``hashes`` grew by
        ``deltas`` (a lookup not yet counted starts at its delta). When a hash
        is not one lookup's alone, the rows of those hashes are read again instead."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        deltas = np.asarray(deltas, dtype=np.int64)
        if not len(hashes):
            return self
        found = []
        for part_hashes, _ in self._parts:
            low, high = search_range(part_hashes, hashes)
            found.append((low, high - low))
        held = sum(lengths for _, lengths in found)
        if (held > 1).any() or len(np.unique(hashes)) != len(hashes):
            return self.with_hashes(con, hashes)
        parts = []
        for (part_hashes, part_values), (low, lengths) in zip(self._parts, found, strict=True):
            there = lengths == 1
            if there.any():
                part_values = part_values.copy()
                part_values[low[there]] += deltas[there]
            parts.append((part_hashes, part_values))
        return self._with_parts(parts)._merged(hashes[held == 0], deltas[held == 0])

    def _merged(
        self, hashes: np.ndarray, values: np.ndarray, *, drop: np.ndarray | None = None
    ) -> MemoryIndex:
        """A new index: these arrays with ``hashes -> values`` put in, after every row of
        the hashes ``drop`` (unique) was taken out."""
        order = np.argsort(hashes, kind="stable")
        hashes, values = hashes[order], values[order]
        parts = []
        for part_hashes, part_values in self._parts:
            if drop is not None and len(drop) and len(part_hashes):
                gone = _positions(part_hashes, np.asarray(drop, dtype=np.uint64))
                if len(gone):
                    keep = np.ones(len(part_hashes), dtype=bool)
                    keep[gone] = False
                    part_hashes, part_values = part_hashes[keep], part_values[keep]
            parts.append((part_hashes, part_values))
        base = parts[0]
        added = _insert_sorted(*parts[1], hashes, values) if len(parts) > 1 else (hashes, values)
        if len(added[0]) > len(base[0]) // 8:
            return self._with_parts([_insert_sorted(*base, *added)])
        return self._with_parts([base, added])

    def holds(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each of ``hashes`` is a row's hash."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        found = np.zeros(len(hashes), dtype=bool)
        for part_hashes, _ in self._parts:
            if len(part_hashes):
                at = np.minimum(search_sorted(part_hashes, hashes), len(part_hashes) - 1)
                found |= part_hashes[at] == hashes
        return found

    def get(self, lookups: Sequence[str]) -> list[tuple[str, int]]:
        """``(lookup, value)`` for every stored row of each lookup."""
        which, values = self.find(lookups)
        return [(lookups[i], v) for i, v in zip(which.tolist(), values.tolist(), strict=True)]

    def find(self, lookups: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every stored row of each lookup: the lookup's position in ``lookups`` and the
        row's value, by lookup."""
        if not len(lookups):
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        wanted = np.array([lookup_hash(k) for k in lookups], dtype=np.uint64)
        which, values = [], []
        for part_hashes, part_values in self._parts:
            low, high = search_range(part_hashes, wanted)
            lengths = high - low
            which.append(np.repeat(np.arange(len(wanted)), lengths))
            values.append(part_values[spans(low, lengths)])
        order = np.argsort(np.concatenate(which), kind="stable")
        return np.concatenate(which)[order], np.concatenate(values)[order]


def search_sorted(values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``np.searchsorted(values, queries)`` (left), see :func:`search_range`."""
    return search_range(values, queries, right=False)[0]


def search_range(
    values: np.ndarray, queries: np.ndarray, *, right: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Where each query's run of equal values starts and ends in sorted ``values`` (the
    left and right ``np.searchsorted``; without ``right``, the start twice), the queries
    taken in their order: a hundred thousand random hashes find their places in millions
    five times sooner sorted (the array is walked once, not at random)."""
    queries = np.asarray(queries)
    if len(queries) < 1024:
        low = np.searchsorted(values, queries, "left")
        return low, np.searchsorted(values, queries, "right") if right else low
    order = np.argsort(queries, kind="stable")
    ordered = queries[order]
    low = np.empty(len(queries), dtype=np.intp)
    low[order] = np.searchsorted(values, ordered, "left")
    if not right:
        return low, low
    high = np.empty(len(queries), dtype=np.intp)
    high[order] = np.searchsorted(values, ordered, "right")
    return low, high


def _insert_sorted(
    hashes: np.ndarray, values: np.ndarray, more_hashes: np.ndarray, more_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two hash-sorted pairs of arrays as one (the second's rows after equal hashes)."""
    at = np.searchsorted(hashes, more_hashes, "right")
    return np.insert(hashes, at, more_hashes), np.insert(values, at, more_values)


@dataclass
class StoreIndex:
    keys: MemoryIndex
    counts: MemoryIndex
    records: MemoryIndex
    rows: RecordTable

    def after(self, con: duckdb.DuckDBPyConnection, appended: Appended) -> StoreIndex:
        """This index after a write that only ``appended``: ~0.1 s at a million records,
        where reading the whole index again takes a second."""
        return StoreIndex(
            keys=self.keys.with_new_rows(con, appended.first_rid),
            counts=self.counts.with_deltas(con, appended.count_hashes, appended.count_deltas),
            records=self.records.with_new_rows(con, appended.first_rid),
            rows=self.rows.with_new_rows(con, appended.first_rid),
        )

    def rewritten(self, con: duckdb.DuckDBPyConnection, rewritten: Rewritten) -> StoreIndex:
        """This index after a write that only ``rewritten`` some lookups' rows (an edit):
        those rows read again, where reading the whole index again takes a second."""
        return StoreIndex(
            keys=self.keys.with_hashes(con, rewritten.key_hashes),
            counts=self.counts.with_hashes(con, rewritten.count_hashes),
            records=self.records,
            rows=self.rows,
        )


@dataclass(frozen=True)
class Rewritten:
    """What an edit changed of the index: the rows of the blocking keys hashed
    ``key_hashes`` and of the counts hashed ``count_hashes``; nothing else (the record
    keeps its key and its entity)."""

    key_hashes: np.ndarray
    count_hashes: np.ndarray


@dataclass(frozen=True)
class Appended:
    """What an import changed of the index: records from ``first_rid`` on were added
    (with their blocking keys), the counts of the lookups hashed ``count_hashes`` grew
    by ``count_deltas``; nothing else. ``golden``: the golden rows it wrote, those of every
    entity that received a record (an Arrow table of ``store_golden``), when known."""

    first_rid: int
    count_hashes: np.ndarray
    count_deltas: np.ndarray
    golden: Any = None


class RecordTable:
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

    def with_new_rows(self, con: duckdb.DuckDBPyConnection, first_rid: int) -> RecordTable:
        """This table and the records of rids from ``first_rid`` on (an import's)."""
        import pyarrow as pa

        data = con.sql(
            f"SELECT rid, record_key, entity_id FROM store_lookup WHERE rid >= {int(first_rid)} "
            "ORDER BY rid"
        ).to_arrow_table()
        rids = np.asarray(data.column("rid").to_numpy(), dtype=np.int64)
        if len(self.rids) and len(rids) and rids[0] <= self.rids[-1]:
            return RecordTable(con)  # not appended after the rest: read whole
        merged = object.__new__(RecordTable)
        merged.rids = np.concatenate([self.rids, rids])
        merged.keys = pa.concat_arrays(
            [self.keys, data.column("record_key").combine_chunks().cast(self.keys.type)]
        )
        merged.entities = pa.concat_arrays(
            [self.entities, data.column("entity_id").combine_chunks().cast(self.entities.type)]
        )
        return merged

    def stored(self, rids: Sequence[int]) -> list[int]:
        """Those of ``rids`` that are stored."""
        if not len(self.rids):
            return []
        wanted = np.asarray(rids, dtype=np.int64)
        positions = np.minimum(np.searchsorted(self.rids, wanted), len(self.rids) - 1)
        return wanted[self.rids[positions] == wanted].tolist()

    def members(self, entities: Sequence[str]) -> pd.DataFrame:
        """``rid, entity_id`` of every stored record of these entities, by rid."""
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = pa.array(list(entities), type=pa.string())
        inside = pc.is_in(self.entities.cast(pa.string()), value_set=wanted)
        inside = inside.fill_null(False).to_numpy(zero_copy_only=False)
        found = self.entities.filter(pa.array(inside)).to_pylist()
        return pd.DataFrame({"rid": self.rids[inside], "entity_id": found})

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


class HeldRows:
    """Rows of a store table held in memory, found by a key: the candidates' comparison
    values (``rid ->`` the payload as SQL types it) or the golden records
    (``entity_id ->`` the row). A check reads them in microseconds; DuckDB finds one
    row by an indexed key in ~3 ms, decompressing a vector of each column per row.

    One read of the table (an Arrow table, sorted by the key or its hash), then the rows a
    write changed, read again after it commits (:meth:`with_rows`) into a second Arrow
    table, ``delta`` (``changed``: key -> its row's position there, None when the key has
    no row now): a new object each time, so a check holding the old one reads it
    unchanged. Once those outnumber ``1/8`` of the table, the table is read whole again.

    Memory, measured on generated leads: ~250 bytes per record for the payloads (18
    columns), ~390 bytes per entity for golden records (22 columns).
    """

    def __init__(
        self,
        hashes: np.ndarray,
        table: Any,
        key_column: str,
        changed: dict[Any, int | None],
        read: tuple[str, str],
        by_int: list[tuple[np.ndarray, np.ndarray]] | None = None,
        delta: Any = None,
    ) -> None:
        self.hashes = hashes
        self.table = table
        self.key_column = key_column
        self.changed = changed
        self.delta = delta if delta is not None else table.slice(0, 0)
        self._read = read  # (select list, table): how to read rows again
        # Integer keys (rids), sorted, and their rows' positions: given by read() (the rows
        # are in key order), else made at the first take(); shared with the objects
        # with_rows() makes (they hold the same table).
        self._by_int: list[tuple[np.ndarray, np.ndarray]] = by_int if by_int is not None else []

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, select: str, table: str, key: str) -> HeldRows:
        """Hold ``SELECT <select> FROM <table>``, found by the column ``key``: sorted by
        the key when it is an integer (rids: the order they are stored in, and a row is
        found by a binary search, no sorted copy made), else by the key's hash."""
        kind = con.sql(f"SELECT {quote(key)} FROM {table} LIMIT 0").types[0]
        if str(kind) in _INTEGER_TYPES:
            rows = con.sql(f"SELECT {select} FROM {table} ORDER BY {quote(key)}").to_arrow_table()
            rows = rows.combine_chunks()
            keys = np.asarray(rows.column(key).to_numpy(), dtype=np.int64)
            by_int = [(keys, np.arange(len(keys), dtype=np.int64))]
            return cls(np.array([], dtype=np.uint64), rows, key, {}, (select, table), by_int)
        data = con.sql(
            f"SELECT {_hash_sql(key)} AS linkage_held_hash, {select} FROM {table} "
            "ORDER BY linkage_held_hash"
        ).to_arrow_table()
        hashes = np.asarray(data.column("linkage_held_hash").to_numpy(), dtype=np.uint64)
        rows = data.drop_columns(["linkage_held_hash"]).combine_chunks()
        return cls(hashes, rows, key, {}, (select, table))

    def get(self, keys: Sequence[Any]) -> list[dict[str, Any] | None]:
        """The row of each key (None: no such row)."""
        import pyarrow as pa

        out: list[dict[str, Any] | None] = [None] * len(keys)
        looked: list[int] = []
        again: dict[int, int] = {}  # i -> position in delta
        for i, key in enumerate(keys):
            if key in self.changed:
                at = self.changed[key]
                if at is not None:
                    again[i] = at
            else:
                looked.append(i)
        if again:
            rows = self.delta.take(pa.array(list(again.values()), type=pa.int64())).to_pylist()
            for i, row in zip(again, rows):
                out[i] = row
        if not looked or not self.table.num_rows:
            return out
        if self._int_keyed:
            positions, _ = self._int_rows([keys[i] for i in looked])
            positions = positions.tolist()
        else:
            wanted = np.array([_hash(keys[i]) for i in looked], dtype=np.uint64)
            low, high = search_range(self.hashes, wanted)
            positions = [p for a, b in zip(low.tolist(), high.tolist()) for p in range(a, b)]
        if not positions:
            return out
        found = self.table.take(pa.array(positions, type=pa.int64())).to_pylist()
        by_key = {row[self.key_column]: row for row in found}  # a hash may collide
        for i in looked:
            out[i] = by_key.get(keys[i])
        return out

    def take(self, keys: Sequence[Any]) -> Any:
        """The rows of ``keys`` as an Arrow table of this table's columns, in any order;
        None when one of them has no row."""
        import pyarrow as pa
        import pyarrow.compute as pc

        keys = list(dict.fromkeys(keys))
        again = [self.changed[k] for k in keys if k in self.changed]
        if any(at is None for at in again):
            return None
        looked = [k for k in keys if k not in self.changed]
        parts = [self.delta.take(pa.array(again, type=pa.int64()))] if again else []
        if looked and self._int_keyed:
            positions, every = self._int_rows(looked)
            if not every:
                return None
            parts.append(self.table.take(pa.array(positions, type=pa.int64())))
        elif looked:
            wanted = np.array([_hash(k) for k in looked], dtype=np.uint64)
            positions = _positions(self.hashes, wanted)
            found = self.table.take(pa.array(positions, type=pa.int64()))
            column = found.column(self.key_column)
            # a hash may collide: keep the rows of the keys asked for
            found = found.filter(pc.is_in(column, value_set=pa.array(looked, type=column.type)))
            if found.num_rows != len(looked):
                return None
            parts.append(found)
        if not parts:
            return self.table.slice(0, 0)
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    @property
    def _int_keyed(self) -> bool:
        import pyarrow as pa

        return pa.types.is_integer(self.table.schema.field(self.key_column).type)

    def _int_rows(self, keys: Sequence[int]) -> tuple[np.ndarray, bool]:
        """Positions in the table of the rows of the integer ``keys`` that have one, by
        binary search, and whether every key has one."""
        keys_sorted, order = self._int_positions()
        wanted = np.asarray(keys, dtype=np.int64)
        if not len(keys_sorted):
            return np.array([], dtype=np.int64), not len(wanted)
        at = np.minimum(search_sorted(keys_sorted, wanted), len(keys_sorted) - 1)
        hit = keys_sorted[at] == wanted
        return order[at[hit]], bool(hit.all())

    def _int_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """The table's integer keys sorted, and the position of each one's row."""
        with _BY_INT_LOCK:
            if not self._by_int:
                keys = np.asarray(self.table.column(self.key_column).to_numpy(), dtype=np.int64)
                order = np.argsort(keys, kind="stable")
                self._by_int.append((keys[order], order))
            return self._by_int[0]

    def with_rows(
        self, con: duckdb.DuckDBPyConnection, keys: Sequence[Any], rows: Any = None
    ) -> HeldRows:
        """This table with the rows of ``keys`` read again (after a write changed them;
        a key without a row now reads None). ``rows``: those rows as the write inserted
        them (an Arrow table of this table's columns and types), read instead of the
        file; a key they lack is read from the file."""
        import pyarrow as pa
        import pyarrow.compute as pc

        keys = list(dict.fromkeys(keys))
        if len(self.changed) + len(keys) > max(self.table.num_rows // 8, 10_000):
            select, table = self._read
            return HeldRows.read(con, select, table, self.key_column)
        changed = dict(self.changed)
        changed.update(dict.fromkeys(keys))
        delta = self.delta
        given = _matching(rows, self.table.schema)
        parts = [delta]
        if given is not None and keys:
            given = given.filter(pc.is_in(given.column(self.key_column), value_set=pa.array(keys)))
            parts.append(given)
            # A key the rows given do not hold may still have a row: read those.
            held = set(given.column(self.key_column).to_pylist())
            keys = [k for k in keys if k not in held]
        if keys:
            select, table = self._read
            column = quote(self.key_column)
            kind = "BIGINT" if isinstance(keys[0], int) else "VARCHAR"
            # Through Arrow, as the table itself was read (and faster than fetchall).
            read = con.sql(
                f"SELECT {select} FROM {table} WHERE {column} IN (SELECT unnest(?::{kind}[]))",
                params=[keys],
            ).to_arrow_table()
            parts.append(read.cast(delta.schema))
        if len(parts) > 1:  # the rows given are cast already (_matching)
            offset = delta.num_rows
            delta = pa.concat_tables(parts).combine_chunks()
            found_keys = delta.column(self.key_column).slice(offset).to_pylist()
            changed.update(zip(found_keys, range(offset, offset + len(found_keys))))
        return HeldRows(
            self.hashes, self.table, self.key_column, changed, self._read, self._by_int, delta
        )

    @property
    def nbytes(self) -> int:
        """Bytes of the table held (the rows changed since are not counted)."""
        return int(self.table.nbytes + self.hashes.nbytes)


def _matching(rows: Any, schema: Any) -> Any:
    """``rows`` when they hold ``schema``'s columns in its order with types it casts to
    safely, else None (read them from the file)."""
    if rows is None or rows.column_names != schema.names:
        return None
    try:
        return rows.cast(schema)
    except (ValueError, TypeError, NotImplementedError):  # pyarrow's ArrowInvalid and kin
        return None


_BY_INT_LOCK = threading.Lock()
_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)


def _positions(sorted_hashes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Every position of ``sorted_hashes`` that holds one of ``wanted`` (in the order of
    ``wanted``), without a Python loop over them."""
    low, high = search_range(sorted_hashes, wanted)
    return spans(low, high - low)


def spans(low: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``low[i] .. low[i] + lengths[i] - 1`` of every i, in order."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    return np.repeat(low, lengths) + np.arange(total) - np.repeat(ends - lengths, lengths)


def _hash_sql(key: str) -> str:
    """The key's hash in SQL (:func:`lookup_hash` of its text in Python)."""
    return md5_hash(f"CAST({quote(key)} AS VARCHAR)")


def _hash(key: Any) -> int:
    return lookup_hash(str(key))


def lookup_hash(lookup: str) -> int:
    """DuckDB's ``md5_number_upper``: the first 8 bytes of the MD5, little-endian."""
    return int.from_bytes(hashlib.md5(lookup.encode()).digest()[:8], "little")


@dataclass
class Probes:
    rids: np.ndarray  # provisional rids of new records, stored rids of known ones
    keys: np.ndarray  # record keys (None when the input has no ids)
    is_new: np.ndarray
    derived: pd.DataFrame  # standardized columns
    block_keys: pd.DataFrame  # probe, lookup ("rule:key")
    payloads: list[str] | None = None  # comparison columns as JSON, made once
    payload_array: Any = None  # the same as an Arrow array, made once

    def payload_list(self, columns: Sequence[str]) -> list[str]:
        if self.payloads is None:
            self.payloads = json_payloads(self.derived, columns)
        return self.payloads

    def payload_arrow(self, columns: Sequence[str]) -> Any:
        """:meth:`payload_list` as an Arrow string array (an import stages the probes
        twice: converting 10,000 payloads costs 45 ms)."""
        if self.payload_array is None:
            import pyarrow as pa

            self.payload_array = pa.array(self.payload_list(columns), pa.string())
        return self.payload_array
