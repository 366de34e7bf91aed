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
