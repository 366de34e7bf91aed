"""The record store: check new records on create, edit and import against everything
already linked, without retraining (see :mod:`linkage.store._store` for how a check scores).

Modules, bottom up (each imports only those above it in this list):

- ``_records``: the store's state (``StoreState``); a stored record's payload, keys and
  lookups; ``CheckResult``, ``AddResult``;
- ``_index``: the blocking-key lookups in memory, and the probes of a check;
- ``_scorer``: splink's scoring SQL for the store's model, prepared per connection;
- ``_write``: building a store from a run, importing, editing, retraining;
- ``_store``: ``RecordStore`` and ``check_all``.
"""

from __future__ import annotations

from linkage.store._records import STORE_FORMAT_VERSION, AddResult, CheckResult, RetrainAdvised
from linkage.store._store import RecordStore, check_all

__all__ = [
    "STORE_FORMAT_VERSION",
    "AddResult",
    "CheckResult",
    "RecordStore",
    "RetrainAdvised",
    "check_all",
]
