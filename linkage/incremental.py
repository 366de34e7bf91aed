"""Old import path of the record store, kept so that code written against it keeps
working: the store now lives in :mod:`linkage.store`."""

from __future__ import annotations

from linkage.standardize import standardize_records
from linkage.store import STORE_FORMAT_VERSION, AddResult, CheckResult, RecordStore, check_all

__all__ = [
    "STORE_FORMAT_VERSION",
    "AddResult",
    "CheckResult",
    "RecordStore",
    "check_all",
    "standardize_records",
]
