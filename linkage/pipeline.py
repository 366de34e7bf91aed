"""Old import path of :func:`linkage.link` and :class:`linkage.LinkResult`, kept so that
code written against it keeps working: the run now lives in :mod:`linkage.run`."""

from __future__ import annotations

from linkage.blocking import block_on_key
from linkage.run import LinkResult, link

__all__ = ["LinkResult", "block_on_key", "link"]
