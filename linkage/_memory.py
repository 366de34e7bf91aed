"""Memory: DuckDB's limit and spill directory, and the peak a run reached (internal).

DuckDB takes up to 80% of the machine by default and spills into ``.tmp`` under the working
directory. A run of ``link`` also holds pandas and numpy frames outside DuckDB (the records,
their standardized columns, the result frames), so the process needs more than DuckDB's own
limit: :data:`DEFAULT_MEMORY_LIMIT` is DuckDB's share, chosen so that a run over a million
records stays under 4 GB in all (measured in ``benchmarks/RESULTS.md``). Beyond its limit
DuckDB spills to a temporary directory of its own, removed when the connection goes.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import sys
import tempfile
import threading
import weakref
from typing import Any

import duckdb

from linkage.errors import ConfigError

#: DuckDB's share of memory when nothing else is said (``memory_limit=`` or the
#: ``LINKAGE_MEMORY_LIMIT`` environment variable).
DEFAULT_MEMORY_LIMIT = "1.5GB"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*$", re.IGNORECASE)
_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


def parse_size(value: str | int | float) -> int:
    """Bytes in ``value``: a number of bytes or a string such as ``"2GB"``, ``"512 MiB"``."""
    if isinstance(value, bool):
        raise ConfigError(f"memory_limit must be a size such as '2GB', not {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise ConfigError(f"memory_limit must be positive, not {value!r}")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ConfigError(
            f"memory_limit {value!r} is not a size: write a number and a unit, e.g. '2GB', "
            "'1500MB' or '4GiB'"
        )
    size = float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()]
    if size < 64 * 1000**2:
        raise ConfigError(f"memory_limit {value!r} is too small: DuckDB needs at least 64MB")
    return int(size)


def resolve_limit(memory_limit: str | int | float | None) -> int:
    """DuckDB's limit in bytes: the argument, else ``$LINKAGE_MEMORY_LIMIT``, else the
    default."""
    if memory_limit is None:
        memory_limit = os.environ.get("LINKAGE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    return parse_size(memory_limit)


def connect(memory_limit: str | int | float | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection held to the memory limit, spilling to a temporary
    directory that is removed when the connection is closed or collected."""
    spill = tempfile.mkdtemp(prefix="linkage-spill-")
    try:
        con = duckdb.connect(
            config={
                "memory_limit": f"{resolve_limit(memory_limit)}B",
                "temp_directory": spill,
            }
        )
    except BaseException:
        shutil.rmtree(spill, ignore_errors=True)
        raise
    weakref.finalize(con, shutil.rmtree, spill, ignore_errors=True)
    # Progress is linkage's to show (the command line), not DuckDB's bar on the terminal.
    try:
        con.execute("SET enable_progress_bar = false").fetchall()
    except duckdb.Error:
        pass  # in Jupyter without ipywidgets DuckDB refuses to touch the setting at all
    return con


def limit_connection(
    con: duckdb.DuckDBPyConnection, memory_limit: str | int | float | None
) -> None:
    """Hold a caller's connection to ``memory_limit`` (only when one is given: a
    connection the caller configured keeps its own settings otherwise)."""
    if memory_limit is None:
        return
    con.execute(f"SET memory_limit = '{resolve_limit(memory_limit)}B'")


def current_rss() -> int | None:
    """Resident memory of this process now, in bytes (Linux: ``/proc``), else ``None``."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def lifetime_peak() -> int:
    """The highest resident memory of this process since it started, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class PeakMemory:
    """Samples the process's resident memory in a background thread while in use; ``peak``
    is the highest value seen (bytes). Where ``/proc`` is missing it falls back to the
    process's lifetime peak, which may predate the work measured."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak: int = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while True:
            rss = current_rss()
            if rss is not None and rss > self.peak:
                self.peak = rss
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        if current_rss() is None:
            return self
        self.peak = current_rss() or 0
        self._thread = threading.Thread(target=self._sample, name="linkage-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._thread is None:
            self.peak = lifetime_peak()
            return
        self._stop.set()
        self._thread.join()
        rss = current_rss()
        if rss is not None and rss > self.peak:
            self.peak = rss
