"""The project file: one DuckDB file that holds a project's review queue, reviewers'
verdicts, stable entity ids, the log of undos and erasures, and the store of records for
incremental checks.

- :mod:`linkage.project._file`: the file's tables, format version, metadata, event log,
  erasure marks and record keys, shared by every user of the file;
- :mod:`linkage.project._queue`: :class:`ReviewQueue`, the pairs for a person and their
  verdicts, and the sync of a run's entities with the file.

The names below the queue's are for the package's other writers (the record store), each
used inside a transaction of its own.
"""

from __future__ import annotations

from linkage.project._file import (
    FORMAT_VERSION,
    VERDICTS,
    canonical,
    ensure_item,
    log_event,
    now,
    pause_for_tests,
    read_meta,
    record_key,
    write_meta,
)
from linkage.project._queue import ReviewQueue, RunSync, check_verdict

__all__ = [
    "FORMAT_VERSION",
    "VERDICTS",
    "ReviewQueue",
    "RunSync",
    "canonical",
    "check_verdict",
    "ensure_item",
    "log_event",
    "now",
    "pause_for_tests",
    "read_meta",
    "record_key",
    "write_meta",
]
