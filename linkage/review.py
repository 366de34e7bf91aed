"""Old import path of the review queue, kept so that code written against it keeps
working: the project file and its queue now live in :mod:`linkage.project`."""

from __future__ import annotations

from linkage.project import (
    FORMAT_VERSION,
    VERDICTS,
    ReviewQueue,
    RunSync,
    canonical,
    now,
    record_key,
)

__all__ = ["FORMAT_VERSION", "VERDICTS", "ReviewQueue", "RunSync", "canonical", "now", "record_key"]
