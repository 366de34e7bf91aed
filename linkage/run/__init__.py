"""One run of the flow: :func:`link` and the :class:`LinkResult` it returns.

Modules, bottom up (each imports only those above it in this list):

- ``_state``: the run's state after scoring (``RunContext``), and what a change of entities
  waits to write (``Pending``);
- ``_sync``: the run and its project file: keys, erased records, the sync of entities and
  queue items, the audit sample;
- ``_cluster``: entities from auto-merge links and verdicts, never across evidence against;
- ``_golden``: golden records, lineage, the merge log, a customer's history;
- ``_undo``: take-out, split and erasure, as verdicts and events to write;
- ``_result``: ``LinkResult`` and the shared tail that decides, clusters and assembles it;
- ``_link``: ``link`` itself; the steps it shares with ``LinkageModel.fit`` (reading,
  standardizing, blocking, training) are in :mod:`linkage.model`, below this package.
"""

from __future__ import annotations

from linkage.run._link import link
from linkage.run._result import LinkResult

__all__ = ["LinkResult", "link"]
