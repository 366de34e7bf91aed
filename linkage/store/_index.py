"""Where a check finds its candidates (internal): the blocking-key lookups held in memory
as hash-sorted arrays, and the probes staged for one check or one import.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage._sql import quote
from linkage.errors import (
    StoreError,
)
from linkage.store._records import json_payloads

logger = logging.getLogger("linkage")


class MemoryIndex:
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
        wanted = np.array([lookup_hash(k) for k in lookups], dtype=np.uint64)
        low = np.searchsorted(self.hashes, wanted, "left")
        high = np.searchsorted(self.hashes, wanted, "right")
        out = []
        for lookup, start, stop in zip(lookups, low.tolist(), high.tolist(), strict=True):
            out.extend((lookup, int(v)) for v in self.values[start:stop].tolist())
        return out


@dataclass
class StoreIndex:
    keys: MemoryIndex
    counts: MemoryIndex
    records: MemoryIndex
    rows: RecordTable


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

    def stored(self, rids: Sequence[int]) -> list[int]:
        """Those of ``rids`` that are stored."""
        if not len(self.rids):
            return []
        wanted = np.asarray(rids, dtype=np.int64)
        positions = np.minimum(np.searchsorted(self.rids, wanted), len(self.rids) - 1)
        return wanted[self.rids[positions] == wanted].tolist()

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

    One read of the table (an Arrow table, sorted by the key's hash), then the rows a
    write changed, read again after it commits (:meth:`with_rows`): a new object each
    time, so a check holding the old one reads it unchanged. Once those outnumber
    ``1/8`` of the table, the table is read whole again.

    Memory, measured on generated leads: ~250 bytes per record for the payloads (18
    columns), ~390 bytes per entity for golden records (22 columns).
    """

    def __init__(
        self,
        hashes: np.ndarray,
        table: Any,
        key_column: str,
        changed: dict[Any, dict[str, Any] | None],
        read: tuple[str, str],
    ) -> None:
        self.hashes = hashes
        self.table = table
        self.key_column = key_column
        self.changed = changed
        self._read = read  # (select list, table): how to read rows again

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, select: str, table: str, key: str) -> HeldRows:
        """Hold ``SELECT <select> FROM <table>``, found by the column ``key``."""
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
        for i, key in enumerate(keys):
            if key in self.changed:
                out[i] = self.changed[key]
            else:
                looked.append(i)
        if not looked or not len(self.hashes):
            return out
        wanted = np.array([_hash(keys[i]) for i in looked], dtype=np.uint64)
        low = np.searchsorted(self.hashes, wanted, "left")
        high = np.searchsorted(self.hashes, wanted, "right")
        positions = [p for a, b in zip(low.tolist(), high.tolist()) for p in range(a, b)]
        if not positions:
            return out
        found = self.table.take(pa.array(positions, type=pa.int64())).to_pylist()
        by_key = {row[self.key_column]: row for row in found}  # a hash may collide
        for i in looked:
            out[i] = by_key.get(keys[i])
        return out

    def with_rows(self, con: duckdb.DuckDBPyConnection, keys: Sequence[Any]) -> HeldRows:
        """This table with the rows of ``keys`` read again (after a write changed them;
        a key without a row now reads None)."""
        keys = list(dict.fromkeys(keys))
        if len(self.changed) + len(keys) > max(len(self.hashes) // 8, 10_000):
            select, table = self._read
            return HeldRows.read(con, select, table, self.key_column)
        changed = dict(self.changed)
        changed.update(dict.fromkeys(keys))
        if keys:
            select, table = self._read
            column = quote(self.key_column)
            kind = "BIGINT" if isinstance(keys[0], int) else "VARCHAR"
            result = con.execute(
                f"SELECT {select} FROM {table} WHERE {column} IN (SELECT unnest(?::{kind}[]))",
                [keys],
            )
            names = [d[0] for d in result.description]
            for values in result.fetchall():
                row = dict(zip(names, values, strict=True))
                changed[row[self.key_column]] = row
        return HeldRows(self.hashes, self.table, self.key_column, changed, self._read)

    @property
    def nbytes(self) -> int:
        """Bytes of the table held (the rows changed since are not counted)."""
        return int(self.table.nbytes + self.hashes.nbytes)


def _hash_sql(key: str) -> str:
    """The key's hash in SQL (:func:`lookup_hash` of its text in Python)."""
    return f"md5_number_upper(CAST({quote(key)} AS VARCHAR))"


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

    def payload_list(self, columns: Sequence[str]) -> list[str]:
        if self.payloads is None:
            self.payloads = json_payloads(self.derived, columns)
        return self.payloads
