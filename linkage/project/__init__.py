"""The project file: one DuckDB file that holds a project's review queue, reviewers'
verdicts, stable entity ids, the log of undos and erasures, and the store of records for
incremental checks.

- :mod:`linkage.project._file`: :class:`ProjectFile` (opening, the lock, transactions,
  format version, metadata, the rewrite after erasures; who holds the file, in its
  docstring) and the small operations every user of the file shares;
- :mod:`linkage.project._erase`: a record erased from every table of the file;
- :mod:`linkage.project._queue`: :class:`ReviewQueue`, the pairs for a person and their
  verdicts (leases, withdrawals, reviewers' tokens for the desk), and the sync of a run's
  entities with the file;
- :mod:`linkage.project._evidence`: an item's per-field evidence, the model's own levels
  and partial match weights;
- :mod:`linkage.project._reviewers`: reviewers' tokens, made and checked (salted hashes).

The names below the queue's are for the package's other writers (the record store), each
used inside a transaction of its own.
"""

from __future__ import annotations

from linkage.project._erase import erase_records
from linkage.project._evidence import (
    evidence_levels,
    gammas_json,
    item_evidence,
    weight_in_words,
)
from linkage.project._file import (
    FORMAT_VERSION,
    VERDICTS,
    WITHDRAWN,
    ProjectFile,
    canonical,
    ensure_item,
    log_event,
    now,
    pause_for_tests,
    read_meta,
    record_key,
    write_meta,
)
from linkage.project._queue import ReviewQueue, RunSync, StaleVerdictError, check_verdict

__all__ = [
    "FORMAT_VERSION",
    "VERDICTS",
    "ProjectFile",
    "ReviewQueue",
    "RunSync",
    "StaleVerdictError",
    "WITHDRAWN",
    "canonical",
    "check_verdict",
    "ensure_item",
    "erase_records",
    "evidence_levels",
    "gammas_json",
    "item_evidence",
    "log_event",
    "now",
    "pause_for_tests",
    "read_meta",
    "record_key",
    "weight_in_words",
    "write_meta",
]
