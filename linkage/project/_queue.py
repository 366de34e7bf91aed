"""The persistent review queue: pairs for a person, their verdicts, and the project file.

A *project file* is one DuckDB file. It holds the review queue (items and verdicts), the
record-to-entity mapping of the last run (so entity ids stay stable across runs), the log
of undos and erasures, and later the store of records for incremental checks. Every change
(a verdict, an undo with its new entities, a run's sync) is one transaction: a process
killed in the middle leaves all of it or none of it.

    >>> queue = ReviewQueue.open("crm.linkage")                       # doctest: +SKIP
    >>> result = linkage.link(leads, queue=queue)                     # doctest: +SKIP
    >>> queue.pending().head()                                        # doctest: +SKIP
    >>> queue.decide(12, "match", reviewer="li.na", note="same mobile")  # doctest: +SKIP
    >>> result = linkage.link(leads, queue=queue)   # entities follow the verdicts

Items, verdicts and the order of the list
-----------------------------------------
An item is a pair of records (``kind``: ``review`` for pairs routed to review, ``audit`` for
the random audit sample, ``manual`` for a pair a person decided without it being proposed,
``conflict`` for a link that a keep-apart refused). Its ``status`` is ``pending``,
``skipped``, ``decided``, ``conflict`` or ``left_band`` (its score left the review band on a
later run; kept, not dropped). A verdict is ``match``, ``non_match`` or ``skip``; a person
can change it later, and the latest verdict on a pair counts.

:meth:`ReviewQueue.pending` lists the most useful items first:

1. conflicts: a reviewer's keep-apart refused a link, so an entity needs a person;
2. the audit sample: small and fixed, and worthless unless it is reviewed in full (it gives
   precision and recall estimates that are not biased to the review band);
3. review pairs, least certain first (``min(p, 1 - p)`` largest: the pair whose automatic
   decision is most likely wrong, and whose label teaches threshold tuning most), ties
   broken towards the verdict that affects most records;
4. skipped items last.

Concurrency: DuckDB lets one process write a file at a time. Each operation opens the file,
does its transaction and closes it; a process that finds the file locked retries until
``timeout`` seconds have passed, then raises :class:`~linkage.errors.ProjectBusyError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import operator
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import _compat, _splink, survivorship
from linkage._sql import run
from linkage.errors import (
    ConfigError,
    ProjectDataError,
    ProjectError,
)
from linkage.project import _reviewers
from linkage.project._erase import erase_records
from linkage.project._evidence import item_evidence
from linkage.project._file import (
    VERDICTS,
    WITHDRAWN,
    ProjectFile,
    canonical,
    ensure_item,
    first_row,
    log_event,
    now,
    pause_for_tests,
    read_meta,
    record_key,
    write_meta,
)

# The latest verdict on each pair: a person can change their mind, or take the verdict
# back (a ``withdrawn`` row: the pair has no verdict until the next one).
CURRENT_VERDICTS = """
    SELECT * FROM (
        SELECT * FROM verdicts
        QUALIFY row_number() OVER (PARTITION BY key_l, key_r ORDER BY verdict_id DESC) = 1
    ) WHERE verdict <> 'withdrawn'
"""

# Statuses an item waits in; the desk hands these out.
WAITING = ("conflict", "pending", "skipped")

#: How long a pair handed to a reviewer stays theirs without a verdict (seconds).
LEASE_SECONDS = 600.0

QUEUE_ORDER = """
    CASE status WHEN 'conflict' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END,
    CASE kind WHEN 'conflict' THEN 0 WHEN 'audit' THEN 1 ELSE 2 END,
    least(coalesce(match_probability, 0.5), 1 - coalesce(match_probability, 0.5)) DESC,
    coalesce(records_affected, 0) DESC,
    item_id
"""


@dataclass
class RunSync:
    """What one clustering tells the project file (built by the pipeline).

    Attributes:
        keys, source_dataset, record_id: per working row (``rid``).
        labels: cluster label per row (lowest rid of its cluster).
        active: rows that take part (erased rows are ``False``).
        review: the pairs in the review band: ``key_l, key_r, match_weight,
            match_probability, reason, values_l, values_r`` (canonical key order).
        tracked: the current decision and score of pairs the queue already holds:
            ``key_l, key_r, decision, match_weight, match_probability``.
        conflicts: links a reviewer's keep-apart refused, columns as ``review``.
        verdicts: new verdicts to record in the same transaction:
            ``(key_a, key_b, verdict, reviewer, note, origin)``.
        events: log lines ``(event, record_key or None, actor, note)``; the entity id is
            the record's entity before this sync.
        erase: record keys to forget.
        new_run: count this as a new run of ``link`` (not an undo or re-clustering).
        evidence: the comparison vector of each scored pair the queue holds or receives:
            ``key_l, key_r, gammas`` (JSON ``{comparison: gamma}``); ``None``: none.
        levels: the model's level table (:func:`~linkage.project._evidence.evidence_levels`)
            that gives those gammas their labels and weights.
    """

    keys: np.ndarray
    source_dataset: np.ndarray
    record_id: np.ndarray
    labels: np.ndarray
    active: np.ndarray
    review: pd.DataFrame
    tracked: pd.DataFrame
    conflicts: pd.DataFrame
    verdicts: list[tuple[str, str, str, str, str | None, str]] = field(default_factory=list)
    events: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    erase: list[str] = field(default_factory=list)
    new_run: bool = True
    evidence: pd.DataFrame | None = None
    levels: dict[str, Any] | None = None


class StaleVerdictError(ProjectError):
    """A verdict or withdrawal given on a form that no longer holds: the item was decided
    meanwhile, its lease ended or went to another reviewer, or the form was sent twice.
    Nothing was written."""


class ReviewQueue:
    """The review queue in a project file (or in memory, for a session without a file).

    Open it with :meth:`open`; pass it to :func:`linkage.link` as ``queue=``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | ProjectFile | None,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.file = path if isinstance(path, ProjectFile) else ProjectFile(path, timeout=timeout)

    @property
    def path(self) -> Path | None:
        """The project file's path (``None`` in memory)."""
        return self.file.path

    @property
    def timeout(self) -> float:
        return self.file.timeout

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        memory_limit: str | int | None = None,
    ) -> ReviewQueue:
        """Open a project file, creating it when it does not exist.

        Args:
            path: the DuckDB project file.
            timeout: seconds to wait for another process that holds the file.
            memory_limit: DuckDB's share of memory while the file is open, e.g. ``"1GB"``
                (default ``1.5GB``, or ``$LINKAGE_MEMORY_LIMIT``).

        Raises:
            ProjectVersionError: the file was written by a newer ``linkage``.
            ProjectError: the file is not a ``linkage`` project file.
            ProjectBusyError: another process held the file for longer than ``timeout``.
        """
        return cls(ProjectFile.open(path, timeout=timeout, memory_limit=memory_limit))

    @classmethod
    def in_memory(cls) -> ReviewQueue:
        """A queue that lives as long as this object (what ``link`` uses without a file)."""
        return cls(ProjectFile.in_memory())

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "in memory"
        return f"ReviewQueue({where})"

    @property
    def id_column(self) -> str:
        """The records' id column (of the first input linked with this project):
        :meth:`pending`, :meth:`verdicts`, :meth:`events` and :meth:`entity_map` name ids
        after it (``lead_id_l``, ``lead_id``); ``record_id`` before the first run. With
        several inputs an id is written ``input:id``."""
        stored = self.file.meta("id_columns")
        columns = json.loads(stored) if stored else []
        return str(columns[0]) if columns else "record_id"

    def _pair_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``record_l, record_r`` renamed to the id column's ``_l, _r`` (old names warn)."""
        name = self.id_column
        renamed = {"record_l": f"{name}_l", "record_r": f"{name}_r"}
        return _compat.renamed_columns(frame.rename(columns=renamed), renamed)

    def _transaction(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.file.transaction()

    def hold(self) -> duckdb.DuckDBPyConnection:
        """Keep the project file open (see :meth:`ProjectFile.hold`)."""
        return self.file.hold()

    def release(self) -> None:
        """Undo one :meth:`hold` (see :meth:`ProjectFile.release`)."""
        self.file.release()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return self.file.connect()

    # -- reading ---------------------------------------------------------------------------

    def pending(self, limit: int | None = None, *, include_skipped: bool = True) -> pd.DataFrame:
        """Items waiting for a verdict, most useful first (see the module docstring).

        Returns:
            one row per item: ``item_id, kind, status``, the two ids as
            ``<id column>_l, <id column>_r`` (see :attr:`id_column`), ``match_weight,
            match_probability, reason`` and each role's values as ``<role>_l``, ``<role>_r``.
        """
        statuses = ["conflict", "pending"] + (["skipped"] if include_skipped else [])
        return self._item_frame("status IN (SELECT unnest(?))", [statuses], limit)

    def items(self, status: str | None = None) -> pd.DataFrame:
        """Every item (or those with one status), in the order of :meth:`pending`,
        with the current verdict, its reviewer and time."""
        if status is None:
            return self._item_frame("TRUE", [], None)
        return self._item_frame("status = ?", [status], None)

    def show(self, item_id: int) -> pd.DataFrame:
        """One item's two records side by side: one row per role, ``left``, ``right`` and
        whether they are the same.

        Raises:
            ProjectError: no such item.
        """
        row = self._item_row(item_id)
        left, right = json.loads(row["values_l"] or "{}"), json.loads(row["values_r"] or "{}")
        roles = list(dict.fromkeys([*left, *right]))
        frame = pd.DataFrame(
            {
                "role": roles,
                "left": [left.get(r) for r in roles],
                "right": [right.get(r) for r in roles],
            }
        )
        frame["same"] = frame["left"].notna() & (frame["left"] == frame["right"])
        return frame

    def item(self, item_id: int) -> dict[str, Any]:
        """One item's fields as a dict (scores, reason, status, current verdict).

        Raises:
            ProjectError: no such item.
        """
        row = self._item_row(item_id)
        return {k: v for k, v in row.items() if k not in ("values_l", "values_r")}

    def verdicts(self, *, history: bool = False) -> pd.DataFrame:
        """The current verdict on each pair (or every verdict ever given, with
        ``history=True``): ``<id column>_l, <id column>_r, verdict, reviewer, note, origin,
        decided_at, item_id``."""
        source = "verdicts" if history else f"({CURRENT_VERDICTS})"
        with self._transaction() as con:
            frame = con.execute(
                f"SELECT key_l AS record_l, key_r AS record_r, verdict, reviewer, note, origin, "
                f"decided_at, item_id FROM {source} ORDER BY verdict_id"
            ).df()
        return self._pair_names(frame)

    def labels(self, result: Any = None) -> pd.DataFrame:
        """The verdicts as a splink labels table (``skip`` left out).

        splink 5 joins a labels table on ``<unique id column>_l/_r`` and, when the job has
        one, ``<source dataset column>_l/_r``, with ``clerical_match_score`` (1.0 for
        ``match``, 0.0 for ``non_match``). Without ``result`` the columns are splink's
        default names, ``source_dataset_l, unique_id_l, source_dataset_r, unique_id_r,
        clerical_match_score``, holding record ids. With a :class:`~linkage.LinkResult`
        they are named and numbered as that run's linker expects, so the table feeds
        splink's accuracy charts and threshold tools directly::

            labels = queue.labels(result)
            table = result.linker.table_management.register_table(labels, "labels")
            result.linker.evaluation.accuracy_analysis_from_labels_table(table)
        """
        with self._transaction() as con:
            current = con.execute(
                f"SELECT key_l, key_r, verdict FROM ({CURRENT_VERDICTS}) "
                "WHERE verdict <> 'skip' ORDER BY verdict_id"
            ).df()
            records = con.execute(
                "SELECT record_key, source_dataset, record_id FROM project_records"
            ).df()
        score = (current["verdict"] == "match").astype(float)
        if result is not None:
            keys = pd.Index(result._context.keys)
            rid_l, rid_r = keys.get_indexer(current["key_l"]), keys.get_indexer(current["key_r"])
            known = (rid_l >= 0) & (rid_r >= 0)
            sources = result._context.work["source_dataset"].to_numpy()
            uid, source = _splink.unique_id_and_source_columns(result.linker)
            frame = pd.DataFrame(
                {
                    f"{uid}_l": rid_l[known],
                    f"{uid}_r": rid_r[known],
                    "clerical_match_score": score[known].to_numpy(),
                }
            )
            if source:
                frame.insert(0, f"{source}_l", sources[rid_l[known]])
                frame.insert(2, f"{source}_r", sources[rid_r[known]])
            return frame
        lookup = records.set_index("record_key")
        left = lookup.reindex(current["key_l"])
        right = lookup.reindex(current["key_r"])
        return pd.DataFrame(
            {
                "source_dataset_l": left["source_dataset"].to_numpy(),
                "unique_id_l": left["record_id"].fillna(current["key_l"]).to_numpy(),
                "source_dataset_r": right["source_dataset"].to_numpy(),
                "unique_id_r": right["record_id"].fillna(current["key_r"]).to_numpy(),
                "clerical_match_score": score.to_numpy(),
            }
        )

    def entity_map(self) -> pd.DataFrame:
        """The record-to-entity mapping of the last run, to write back to the CRM:
        ``source_dataset, <id column>, entity_id`` (erased records are not in it)."""
        with self._transaction() as con:
            frame = con.execute(
                "SELECT source_dataset, record_id, entity_id FROM project_records "
                "ORDER BY source_dataset, record_id"
            ).df()
        renamed = {"record_id": self.id_column}
        return _compat.renamed_columns(frame.rename(columns=renamed), renamed)

    def events(self) -> pd.DataFrame:
        """The log of undos, splits, manual verdicts, imports and erasures: ``at, event,
        entity_id, <id column>, actor, note`` (an erasure keeps only its time and entity)."""
        with self._transaction() as con:
            frame = con.execute(
                'SELECT "at", event, entity_id, record_key, actor, note FROM project_events '
                "ORDER BY event_id"
            ).df()
        renamed = {"record_key": self.id_column}
        return _compat.renamed_columns(frame.rename(columns=renamed), renamed)

    def audit_estimate(self) -> pd.DataFrame:
        """Precision and recall of the automatic decisions, estimated from verdicts.

        One row per decision stratum (``auto_merge``, ``review``, ``distinct``):
        ``population`` (pairs the stratum stands for), ``reviewed``, ``matches`` and
        ``match_rate`` among reviewed items (audit items weighted by their sampling
        fraction). The ``auto_merge`` row's ``match_rate`` estimates the precision of
        auto-merging; ``recall`` on that row is its share of all estimated true matches
        among scored pairs (pairs blocking never proposed are not covered).
        """
        with self._transaction() as con:
            frame = con.execute(
                f"""
                WITH judged AS (
                    SELECT i.decision, i.kind, coalesce(i.sample_weight, 1.0) AS weight,
                           v.verdict
                    FROM review_items i LEFT JOIN ({CURRENT_VERDICTS}) v
                      ON v.key_l = i.key_l AND v.key_r = i.key_r
                    WHERE i.kind IN ('audit', 'review') AND i.decision IS NOT NULL
                )
                SELECT decision,
                       sum(weight) AS population,
                       count(*) FILTER (WHERE verdict IN ('match', 'non_match')) AS reviewed,
                       count(*) FILTER (WHERE verdict = 'match') AS matches
                FROM judged GROUP BY decision ORDER BY decision
                """
            ).df()
        frame["match_rate"] = frame["matches"] / frame["reviewed"].where(frame["reviewed"] > 0)
        estimated = frame["population"] * frame["match_rate"]
        total = estimated.sum(min_count=1)
        frame["recall"] = np.where(frame["decision"] == "auto_merge", estimated / total, np.nan)
        return frame

    # -- verdicts --------------------------------------------------------------------------

    def decide(
        self,
        item_id: int,
        verdict: str,
        *,
        reviewer: str,
        note: str | None = None,
        lease: str | None = None,
    ) -> int:
        """Give (or change) the verdict on an item; its who and when are kept (see
        :meth:`verdicts`), and a lease on it ends.

        Args:
            item_id: from :meth:`pending`.
            verdict: ``match``, ``non_match`` or ``skip``.
            reviewer: who decided (kept with the verdict, in the merge log).
            note: why, optionally.
            lease: the lease id :meth:`lease` handed out with the item (the desk sends
                it): the verdict is written only while that lease is this reviewer's and
                the item waits for a verdict, so a stale or replayed form changes nothing.

        Returns:
            the verdict's id.

        Raises:
            ConfigError: an unknown verdict or an empty reviewer name.
            StaleVerdictError: ``lease`` given and no longer valid (nothing written).
            ProjectError: no such item; ProjectBusyError: the file stayed locked.
        """
        check_verdict(verdict, reviewer)
        item_id = _item_id(item_id)
        with self._transaction() as con:
            row = first_row(
                con.execute(
                    "SELECT key_l, key_r, status FROM review_items WHERE item_id = ?", [item_id]
                )
            )
            if row is None:
                raise ProjectError(f"no item {item_id} in {self}: list them with pending()")
            if lease is not None:
                _check_lease(con, item_id, lease, reviewer, row[2])
            verdict_id = insert_verdict(
                con, item_id, row[0], row[1], verdict, reviewer, note, "review"
            )
            pause_for_tests()
            run(
                con,
                "UPDATE review_items SET status = ?, updated_at = ? WHERE item_id = ?",
                ["skipped" if verdict == "skip" else "decided", now(), item_id],
            )
            run(con, "DELETE FROM review_leases WHERE item_id = ?", [item_id])
        return verdict_id

    def withdraw(
        self,
        item_id: int | None = None,
        *,
        reviewer: str,
        verdict_id: int | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Take a verdict back: the item waits again (``pending``, or ``conflict`` for a
        conflict item) and the next ``link`` (or ``store.recluster()``) no longer follows
        the verdict. The verdict stays in the history (``verdicts(history=True)``), with a
        ``withdrawn`` row saying who took it back and when.

        Args:
            item_id: the item; ``None``: the latest verdict ``reviewer`` gave that still
                stands.
            reviewer: who withdraws.
            verdict_id: the verdict meant (the desk sends it): refused unless it is the
                item's current verdict, so a replayed withdrawal changes nothing.
            note: why, optionally.

        Returns:
            ``item_id, verdict_id, verdict, reviewer`` of the verdict taken back.

        Raises:
            ProjectError: nothing to withdraw; StaleVerdictError: ``verdict_id`` is not
            the item's current verdict (nothing written).
        """
        if not reviewer or not str(reviewer).strip():
            raise ConfigError("reviewer must name who withdraws (e.g. reviewer='li.na')")
        item_id = None if item_id is None else _item_id(item_id)
        with self._transaction() as con:
            if item_id is None:
                found = first_row(
                    con.execute(
                        f"SELECT item_id FROM ({CURRENT_VERDICTS}) WHERE reviewer = ? "
                        "AND item_id IS NOT NULL ORDER BY verdict_id DESC LIMIT 1",
                        [reviewer],
                    )
                )
                if found is None:
                    raise ProjectError(f"{reviewer} has no verdict to withdraw in {self}")
                item_id = int(found[0])
            current = first_row(
                con.execute(
                    f"SELECT v.verdict_id, v.verdict, v.reviewer, i.key_l, i.key_r "
                    f"FROM review_items i JOIN ({CURRENT_VERDICTS}) v "
                    "ON v.key_l = i.key_l AND v.key_r = i.key_r WHERE i.item_id = ?",
                    [item_id],
                )
            )
            if current is None:
                raise StaleVerdictError(
                    f"item {item_id} has no verdict to withdraw in {self} (withdrawn "
                    "already, or never decided); nothing was changed"
                )
            if verdict_id is not None and int(current[0]) != int(verdict_id):
                raise StaleVerdictError(
                    f"verdict {verdict_id} is no longer the current verdict on item "
                    f"{item_id} (that is verdict {current[0]}: {current[1]} by {current[2]}); "
                    "nothing was changed"
                )
            insert_verdict(
                con,
                item_id,
                current[3],
                current[4],
                WITHDRAWN,
                reviewer,
                note or f"withdraws verdict {current[0]} ({current[1]} by {current[2]})",
                "withdrawal",
            )
            run(
                con,
                "UPDATE review_items SET status = CASE kind WHEN 'conflict' THEN 'conflict' "
                "ELSE 'pending' END, updated_at = ? WHERE item_id = ?",
                [now(), item_id],
            )
            log_event(
                con,
                "withdrawn",
                None,
                current[3],
                reviewer,
                f"{current[1]} with {current[4]} (verdict {current[0]}) withdrawn",
            )
        return {
            "item_id": int(item_id),
            "verdict_id": int(current[0]),
            "verdict": current[1],
            "reviewer": current[2],
        }

    # -- the desk: leases, evidence, reviewers ----------------------------------------------

    def lease(
        self,
        reviewer: str,
        *,
        seconds: float = LEASE_SECONDS,
        reason: str | None = None,
        source: str | None = None,
        item_id: int | None = None,
    ) -> dict[str, Any] | None:
        """Hand the next waiting item to ``reviewer`` for ``seconds``: no one else is
        handed it until the lease expires or a verdict lands. A reviewer holds one lease
        at a time; asking again returns the same item (renewed) while it still fits.

        Args:
            reviewer: who reviews.
            seconds: how long the item stays theirs without a verdict.
            reason: only items routed by this reason (the ``reason`` column).
            source: only pairs with a record from this source channel (the ``source``
                role).
            item_id: this item (one the reviewer just withdrew a verdict on), when it
                waits and no one else holds it; else the next one as usual.

        Returns:
            the item (as :meth:`item`, with both records' values as JSON, ``values_l``
            and ``values_r``, and the lease's ``lease_id`` and ``expires_at``), or
            ``None`` when nothing is left for this reviewer.
        """
        if not reviewer or not str(reviewer).strip():
            raise ConfigError("reviewer must name who reviews (e.g. reviewer='li.na')")
        if item_id is not None:
            return self._lease_item(reviewer, int(item_id), seconds)
        stamp = now()
        expires = stamp + dt.timedelta(seconds=seconds)
        filters, params = _filters(reason, source)
        with self._transaction() as con:
            if first_row(
                con.execute("SELECT 1 FROM review_leases WHERE expires_at <= ? LIMIT 1", [stamp])
            ):
                run(con, "DELETE FROM review_leases WHERE expires_at <= ?", [stamp])
            held = first_row(
                con.execute(
                    f"SELECT l.item_id, l.lease_id, l.expires_at FROM review_leases l "
                    f"JOIN review_items i USING (item_id) WHERE l.reviewer = ? "
                    f"AND i.status IN ('conflict', 'pending', 'skipped') {filters}",
                    [reviewer, *params],
                )
            )
            if held is not None:
                item_id, lease_id = int(held[0]), held[1]
                if held[2] < stamp + dt.timedelta(seconds=seconds / 2):
                    # Renewed once half of it is gone (a write per page view is not needed).
                    run(
                        con,
                        "UPDATE review_leases SET expires_at = ? WHERE item_id = ?",
                        [expires, item_id],
                    )
                else:
                    expires = held[2]
            else:
                found = first_row(
                    con.execute(
                        f"""
                        SELECT item_id FROM review_items i
                        WHERE status IN ('conflict', 'pending', 'skipped') {filters}
                          AND item_id NOT IN (SELECT item_id FROM review_leases)
                          AND (status <> 'skipped' OR item_id NOT IN (
                              SELECT item_id FROM verdicts
                              WHERE reviewer = ? AND verdict = 'skip' AND item_id IS NOT NULL))
                        ORDER BY {QUEUE_ORDER} LIMIT 1
                        """,
                        [*params, reviewer],
                    )
                )
                run(con, "DELETE FROM review_leases WHERE reviewer = ?", [reviewer])
                if found is None:
                    return None
                item_id, lease_id = int(found[0]), _reviewers.new_lease_id()
                run(
                    con,
                    "INSERT INTO review_leases VALUES (?, ?, ?, ?, ?)",
                    [item_id, reviewer, lease_id, stamp, expires],
                )
        item = self._item_row(item_id)
        item.update(lease_id=lease_id, expires_at=expires)
        return item

    def _lease_item(self, reviewer: str, item_id: int, seconds: float) -> dict[str, Any] | None:
        stamp = now()
        with self._transaction() as con:
            run(con, "DELETE FROM review_leases WHERE expires_at <= ?", [stamp])
            free = first_row(
                con.execute(
                    "SELECT item_id FROM review_items WHERE item_id = ? AND status IN "
                    "('conflict', 'pending', 'skipped') AND item_id NOT IN "
                    "(SELECT item_id FROM review_leases WHERE reviewer <> ?)",
                    [item_id, reviewer],
                )
            )
            if free is not None:
                run(con, "DELETE FROM review_leases WHERE reviewer = ?", [reviewer])
                lease_id = _reviewers.new_lease_id()
                run(
                    con,
                    "INSERT INTO review_leases VALUES (?, ?, ?, ?, ?)",
                    [item_id, reviewer, lease_id, stamp, stamp + dt.timedelta(seconds=seconds)],
                )
        if free is None:
            return self.lease(reviewer, seconds=seconds)
        item = self._item_row(item_id)
        item.update(lease_id=lease_id, expires_at=stamp + dt.timedelta(seconds=seconds))
        return item

    def last_verdict(self, reviewer: str) -> dict[str, Any] | None:
        """The latest verdict ``reviewer`` gave that still stands (what a withdrawal takes
        back): ``verdict_id, item_id, verdict, decided_at``, or ``None``."""
        with self._transaction() as con:
            row = first_row(
                con.execute(
                    f"SELECT verdict_id, item_id, verdict, decided_at FROM ({CURRENT_VERDICTS}) "
                    "WHERE reviewer = ? AND item_id IS NOT NULL ORDER BY verdict_id DESC LIMIT 1",
                    [reviewer],
                )
            )
        if row is None:
            return None
        return {
            "verdict_id": int(row[0]),
            "item_id": int(row[1]),
            "verdict": row[2],
            "decided_at": row[3],
        }

    def release_lease(self, reviewer: str) -> None:
        """End ``reviewer``'s lease, if any (the item can go to someone else at once)."""
        with self._transaction() as con:
            run(con, "DELETE FROM review_leases WHERE reviewer = ?", [reviewer])

    def leases(self) -> pd.DataFrame:
        """The leases that hold now: ``item_id, reviewer, leased_at, expires_at``."""
        with self._transaction() as con:
            return con.execute(
                "SELECT item_id, reviewer, leased_at, expires_at FROM review_leases "
                "WHERE expires_at > ? ORDER BY item_id",
                [now()],
            ).df()

    def evidence(self, item_id: int) -> list[dict[str, Any]]:
        """The model's evidence on an item, one row per comparison, strongest first:
        ``comparison, inputs, gamma, label, weight`` (the partial match weight, log2 of
        the level's m/u), ``state`` (``agrees``, ``differs``, ``partly``, ``missing``)
        and ``words``. Empty when the file has none for it (an item no run scored since
        format 2, or a pair decided by hand)."""
        with self._transaction() as con:
            row = first_row(
                con.execute("SELECT gammas FROM review_evidence WHERE item_id = ?", [item_id])
            )
            levels = read_meta(con, "evidence_levels")
        return item_evidence(levels, row[0] if row else None)

    def caused_by(self, item_id: int) -> pd.DataFrame:
        """For a conflict item, the verdicts that caused it: the current ``non_match``
        verdicts between a record of one side's entity and a record of the other's (a
        keep-apart that refused this link): ``verdict_id, item_id, key_l, key_r, verdict,
        reviewer, decided_at``. Empty for other items."""
        with self._transaction() as con:
            return con.execute(
                f"""
                WITH pair AS (SELECT key_l, key_r FROM review_items WHERE item_id = ?),
                sides AS (
                    SELECT 'l' AS side, p.record_key FROM project_records p
                    WHERE p.entity_id = (SELECT entity_id FROM project_records
                                         WHERE record_key = (SELECT key_l FROM pair))
                       OR p.record_key = (SELECT key_l FROM pair)
                    UNION
                    SELECT 'r', p.record_key FROM project_records p
                    WHERE p.entity_id = (SELECT entity_id FROM project_records
                                         WHERE record_key = (SELECT key_r FROM pair))
                       OR p.record_key = (SELECT key_r FROM pair)
                )
                SELECT v.verdict_id, v.item_id, v.key_l, v.key_r, v.verdict, v.reviewer,
                       v.decided_at
                FROM ({CURRENT_VERDICTS}) v
                WHERE v.verdict = 'non_match'
                  AND (SELECT kind = 'conflict' OR status = 'conflict' FROM review_items
                       WHERE item_id = ?)
                  AND ((v.key_l IN (SELECT record_key FROM sides WHERE side = 'l')
                        AND v.key_r IN (SELECT record_key FROM sides WHERE side = 'r'))
                    OR (v.key_l IN (SELECT record_key FROM sides WHERE side = 'r')
                        AND v.key_r IN (SELECT record_key FROM sides WHERE side = 'l')))
                ORDER BY v.verdict_id
                """,
                [item_id, item_id],
            ).df()

    def entity_records(self, record: str, limit: int = 20) -> pd.DataFrame:
        """The other records of ``record``'s entity (as of the last run): ``record_key,
        entity_id`` and each role's values where the file keeps them (a record seen in a
        queue item); at most ``limit``."""
        return self.entity_members([record], limit)[record]

    def entity_members(self, records: Sequence[str], limit: int = 20) -> dict[str, pd.DataFrame]:
        """:meth:`entity_records` of several records at once (one scan of the queue)."""
        with self._transaction() as con:
            members = {
                record: con.execute(
                    "SELECT record_key, entity_id FROM project_records WHERE entity_id = "
                    "(SELECT entity_id FROM project_records WHERE record_key = ?) "
                    "AND record_key <> ? ORDER BY record_key LIMIT ?",
                    [record, record, int(limit)],
                ).fetchall()
                for record in records
            }
            keys = sorted({m[0] for rows in members.values() for m in rows})
            found: dict[str, str] = {}
            if keys:
                marks = ", ".join("?" for _ in keys)
                for key_l, key_r, values_l, values_r in con.execute(
                    f"SELECT key_l, key_r, values_l, values_r FROM review_items "
                    f"WHERE key_l IN ({marks}) OR key_r IN ({marks})",
                    [*keys, *keys],
                ).fetchall():
                    found.setdefault(key_l, values_l)
                    found.setdefault(key_r, values_r)
        out = {}
        for record, rows in members.items():
            frame = pd.DataFrame(rows, columns=["record_key", "entity_id"])
            parsed = [
                json.loads(found[k]) if isinstance(found.get(k), str) else {}
                for k in frame["record_key"]
            ]
            roles = list(dict.fromkeys(k for row in parsed for k in row if k != "record_id"))
            for role in roles:
                frame[role] = [row.get(role) for row in parsed]
            out[record] = frame
        return out

    def progress(self) -> dict[str, int]:
        """How far the queue is: ``decided``, ``skipped``, ``pending`` (conflicts
        included), ``left_band`` and ``total`` items."""
        with self._transaction() as con:
            counts = dict(
                con.execute("SELECT status, count(*) FROM review_items GROUP BY status").fetchall()
            )
        return {
            "decided": int(counts.get("decided", 0)),
            "skipped": int(counts.get("skipped", 0)),
            "pending": int(counts.get("pending", 0) + counts.get("conflict", 0)),
            "left_band": int(counts.get("left_band", 0)),
            "total": int(sum(counts.values())),
        }

    def reasons(self) -> list[str]:
        """The routing reasons of waiting items, most common first (for a filter)."""
        with self._transaction() as con:
            return [
                r[0]
                for r in con.execute(
                    "SELECT reason FROM review_items WHERE status IN "
                    "('conflict', 'pending', 'skipped') AND reason IS NOT NULL "
                    "GROUP BY reason ORDER BY count(*) DESC, reason"
                ).fetchall()
            ]

    def sources(self) -> list[str]:
        """The source channels (the ``source`` role) of waiting items' records."""
        with self._transaction() as con:
            return [
                r[0]
                for r in con.execute(
                    "SELECT s FROM (SELECT json_extract_string(values_l, '$.source') AS s "
                    "FROM review_items WHERE status IN ('conflict', 'pending', 'skipped') "
                    "UNION ALL SELECT json_extract_string(values_r, '$.source') "
                    "FROM review_items WHERE status IN ('conflict', 'pending', 'skipped')) "
                    "WHERE s IS NOT NULL GROUP BY s ORDER BY count(*) DESC, s"
                ).fetchall()
            ]

    def add_reviewer(self, name: str, *, masked: bool = False) -> str:
        """Give a reviewer a token for the desk; only its salted hash is kept, so the
        token is shown this once.

        Args:
            name: the reviewer (kept with each verdict they give).
            masked: they see phones and emails masked (``138****8000``,
                ``z***@example.com``), never in full.

        Returns:
            the token (``<token id>.<secret>``).
        """
        if not name or not str(name).strip():
            raise ConfigError("a reviewer needs a name (e.g. li.na)")
        token_id, secret, salt, digest = _reviewers.new_token()
        with self._transaction() as con:
            run(
                con,
                "INSERT INTO reviewers VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [token_id, str(name).strip(), salt, digest, bool(masked), now()],
            )
        return f"{token_id}.{secret}"

    def reviewer_for_token(self, token: str | None) -> tuple[str, bool] | None:
        """The reviewer a token belongs to and whether they see masked values, or
        ``None`` for a token that is unknown, revoked or malformed."""
        parsed = _reviewers.parse_token(token)
        if parsed is None:
            return None
        with self._transaction() as con:
            row = first_row(
                con.execute(
                    "SELECT reviewer, salt, token_hash, masked FROM reviewers "
                    "WHERE token_id = ? AND revoked_at IS NULL",
                    [parsed[0]],
                )
            )
        if row is None or not _reviewers.token_matches(parsed[1], row[1], row[2]):
            return None
        return str(row[0]), bool(row[3])

    def reviewers(self) -> pd.DataFrame:
        """The desk's reviewers: ``token_id, reviewer, masked, created_at, revoked_at``
        (never a token or its hash)."""
        with self._transaction() as con:
            return con.execute(
                "SELECT token_id, reviewer, masked, created_at, revoked_at FROM reviewers "
                "ORDER BY created_at"
            ).df()

    def revoke_reviewer(self, name: str) -> int:
        """Revoke every token of a reviewer; returns how many."""
        with self._transaction() as con:
            rows = con.execute(
                "UPDATE reviewers SET revoked_at = ? WHERE reviewer = ? "
                "AND revoked_at IS NULL RETURNING token_id",
                [now(), name],
            ).fetchall()
        return len(rows)

    def decide_pair(
        self,
        record_a: str | tuple[str, str],
        record_b: str | tuple[str, str],
        verdict: str,
        *,
        reviewer: str,
        note: str | None = None,
    ) -> int:
        """Match or keep apart two records that were never proposed as a pair.

        The pair becomes a ``manual`` item (or its existing item is decided). The next
        ``link`` (or ``result.recluster()``) follows the verdict.

        Returns:
            the item id.

        Raises:
            ConfigError: an unknown verdict, an empty reviewer, or the same record twice.
        """
        check_verdict(verdict, reviewer)
        key_l, key_r = canonical(record_key(record_a), record_key(record_b))
        if key_l == key_r:
            raise ConfigError(f"a pair needs two records; got {key_l!r} twice")
        with self._transaction() as con:
            item_id = ensure_item(con, key_l, key_r, "manual")
            insert_verdict(con, item_id, key_l, key_r, verdict, reviewer, note, "manual")
            run(
                con,
                "UPDATE review_items SET status = ?, updated_at = ? WHERE item_id = ?",
                ["skipped" if verdict == "skip" else "decided", now(), item_id],
            )
            log_event(
                con, f"manual_{verdict}", None, key_l, reviewer, f"with {key_r}: {note or ''}"
            )
        return item_id

    def add_audit_sample(
        self, result: Any, n_auto_merge: int = 50, n_distinct: int = 50, *, seed: int = 0
    ) -> int:
        """Put a random sample of auto-merged and of distinct pairs in the queue, as audit.

        Each audit item carries the sampling weight (pairs in its stratum / pairs
        sampled), so that :meth:`audit_estimate` is not biased to the review band.

        Returns:
            how many items were added (pairs already in the queue are not added again).
        """
        sample = result.audit_sample({"auto_merge": n_auto_merge, "distinct": n_distinct}, seed)
        if sample.empty:
            return 0
        with self._transaction() as con:
            con.register("audit_sample", sample)
            before = first_row(con.execute("SELECT count(*) FROM review_items"))[0]
            run_number = int(read_meta(con, "runs") or 0)
            run(
                con,
                """
                INSERT INTO review_items
                SELECT nextval('review_item_ids'), s.key_l, s.key_r, 'audit', 'pending',
                       s.decision, s.match_weight, s.match_probability, s.reason,
                       s.sample_weight, NULL, s.values_l, s.values_r, ?, ?, ?, ?
                FROM audit_sample s ANTI JOIN review_items i USING (key_l, key_r)
                """,
                [run_number, run_number, now(), now()],
            )
            after = first_row(con.execute("SELECT count(*) FROM review_items"))[0]
            con.unregister("audit_sample")
        return int(after - before)

    # -- what the pipeline uses ------------------------------------------------------------

    def check_data(
        self, id_columns: Sequence[str], inputs: Sequence[str], keys: np.ndarray
    ) -> None:
        """Refuse a queue made for other data; remember the data's shape on first use.

        Raises:
            ProjectDataError: other id column, other inputs, or none of the stored records.
        """
        with self._transaction() as con:
            stored_columns = read_meta(con, "id_columns")
            stored_inputs = read_meta(con, "inputs")
            if stored_columns is None:
                write_meta(con, "id_columns", json.dumps(list(id_columns)))
                write_meta(con, "inputs", json.dumps(list(inputs)))
                return
            if json.loads(stored_columns) != list(id_columns) or json.loads(stored_inputs) != list(
                inputs
            ):
                raise ProjectDataError(
                    f"{self} was made for other data: inputs {json.loads(stored_inputs)} with "
                    f"id columns {json.loads(stored_columns)}, not inputs {list(inputs)} with "
                    f"{list(id_columns)}. Open another project file for this data."
                )
            n_stored = first_row(con.execute("SELECT count(*) FROM project_records"))[0]
            if n_stored:
                con.register("incoming_keys", pd.DataFrame({"record_key": keys}))
                shared = first_row(
                    con.execute(
                        "SELECT count(*) FROM project_records JOIN incoming_keys USING (record_key)"
                    )
                )[0]
                con.unregister("incoming_keys")
                if shared == 0:
                    raise ProjectDataError(
                        f"{self} was made for other data: none of its {n_stored:,} records "
                        "is in this input. Open another project file for this data."
                    )

    def erased_among(self, keys: np.ndarray) -> np.ndarray:
        """Which of these record keys were erased before (to leave them out again)."""
        with self._transaction() as con:
            if not first_row(con.execute("SELECT count(*) FROM erasures"))[0]:
                return np.zeros(len(keys), dtype=bool)
            con.register("incoming_keys", pd.DataFrame({"record_key": keys}))
            erased = con.execute(
                "SELECT sha256(record_key) IN (SELECT key_hash FROM erasures) FROM incoming_keys"
            ).fetchnumpy()
            con.unregister("incoming_keys")
        return np.asarray(next(iter(erased.values())), dtype=bool)

    def constraints(self) -> pd.DataFrame:
        """The current ``match`` and ``non_match`` verdicts: ``key_l, key_r, verdict,
        reviewer, note, origin, decided_at``."""
        with self._transaction() as con:
            return con.execute(
                f"SELECT key_l, key_r, verdict, reviewer, note, origin, decided_at "
                f"FROM ({CURRENT_VERDICTS}) WHERE verdict IN ('match', 'non_match')"
            ).df()

    def tracked_pairs(self) -> pd.DataFrame:
        """The pairs the queue holds items for: ``key_l, key_r``."""
        with self._transaction() as con:
            return con.execute("SELECT key_l, key_r FROM review_items").df()

    def sync(self, state: RunSync) -> np.ndarray:
        """Write one clustering to the project file, in one transaction: stable entity
        ids, review items, conflicts, new verdicts, events and erasures.

        Returns:
            the entity id per working row (``None`` for inactive rows).
        """
        with self._transaction() as con:
            run_number = int(read_meta(con, "runs") or 0) + (1 if state.new_run else 0)
            write_meta(con, "runs", str(run_number))
            stamp = now()
            previous = (
                con.execute("SELECT record_key, entity_id FROM project_records")
                .df()
                .set_index("record_key")["entity_id"]
            )
            for event, key, actor, note in state.events:
                entity = previous.get(key) if key is not None else None
                log_event(con, event, entity, key, actor, note, stamp)
            if state.erase:
                erase_records(con, state.erase, stamp)
            for key_a, key_b, verdict, reviewer, note, origin in state.verdicts:
                key_l, key_r = canonical(key_a, key_b)
                item_id = ensure_item(con, key_l, key_r, "manual")
                insert_verdict(con, item_id, key_l, key_r, verdict, reviewer, note, origin)
                run(con, "UPDATE review_items SET status = 'decided' WHERE item_id = ?", [item_id])
            entity_ids = assign_entity_ids(con, state, run_number)
            sync_items(con, state, run_number, stamp, entity_ids)
            sync_evidence(con, state, run_number)
            store_follows_mapping(con)
        if state.erase:
            self.file.compact()
        return entity_ids

    def _checkpoint(self) -> None:
        """Fold the write-ahead log into the file, so erased values leave the log too."""
        self.file.checkpoint()

    # -- erasing ---------------------------------------------------------------------------

    def forget(self, *records: str | tuple[str, str], compact: bool = True) -> dict[str, str]:
        """Erase records from every table of the project file, the record store's
        included, in one transaction; then rewrite the file so that no freed block keeps
        their values (``compact=False`` leaves that to :meth:`compact`, to erase in a
        batch). The log keeps only that a record was erased, and when.
        ``result.forget`` also re-clusters; ``store.forget`` also refreshes the store.

        Returns:
            the entity ids re-issued because they were named after an erased record
            (old -> new).
        """
        keys = [record_key(r) for r in records]
        with self._transaction() as con:
            pause_for_tests()
            reissued = erase_records(con, keys, now())
        if compact:
            self.file.compact()
        return reissued

    def compact(self) -> bool:
        """Finish the erasures: rewrite the file (see :meth:`ProjectFile.compact`)."""
        return self.file.compact()

    # -- helpers ---------------------------------------------------------------------------

    def _item_frame(self, where: str, params: list[Any], limit: int | None) -> pd.DataFrame:
        limit_sql = f"LIMIT {int(limit)}" if limit is not None else ""
        with self._transaction() as con:
            frame = con.execute(
                f"""
                SELECT i.item_id, i.kind, i.status, i.key_l AS record_l, i.key_r AS record_r,
                       i.match_weight, i.match_probability, i.decision, i.reason,
                       v.verdict, v.reviewer, v.decided_at, i.values_l, i.values_r
                FROM review_items i LEFT JOIN ({CURRENT_VERDICTS}) v
                  ON v.key_l = i.key_l AND v.key_r = i.key_r
                WHERE {where}
                ORDER BY {QUEUE_ORDER} {limit_sql}
                """,
                params,
            ).df()
        return self._pair_names(expand_values(frame))

    def _item_row(self, item_id: int) -> dict[str, Any]:
        # One item and its pair's verdicts only: the window over every verdict (what the
        # lists use) costs milliseconds per request on a large queue.
        item_id = _item_id(item_id)
        with self._transaction() as con:
            cursor = con.execute("SELECT * FROM review_items WHERE item_id = ?", [item_id])
            rows = cursor.fetchall()
            names = [d[0] for d in cursor.description]
            if not rows:
                raise ProjectError(f"no item {item_id} in {self}: list them with pending()")
            row = dict(zip(names, rows[0]))
            verdict = first_row(
                con.execute(
                    "SELECT verdict, reviewer, note, decided_at FROM verdicts "
                    "WHERE key_l = ? AND key_r = ? ORDER BY verdict_id DESC LIMIT 1",
                    [row["key_l"], row["key_r"]],
                )
            )
        if verdict is None or verdict[0] == WITHDRAWN:
            verdict = (None, None, None, None)
        row.update(zip(("verdict", "reviewer", "note", "decided_at"), verdict))
        return {k: (np.nan if v is None and k in _FLOAT_COLUMNS else v) for k, v in row.items()}


_FLOAT_COLUMNS = ("match_weight", "match_probability", "sample_weight")


def _item_id(item_id: Any) -> int:
    # An id read from pending() is a numpy integer, which DuckDB refuses as a parameter.
    try:
        return int(operator.index(item_id))
    except TypeError:
        raise ConfigError(
            f"item_id must be an integer from pending()['item_id'], not {item_id!r}"
        ) from None


def check_verdict(verdict: str, reviewer: str) -> None:
    if verdict not in VERDICTS:
        raise ConfigError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not reviewer or not str(reviewer).strip():
        raise ConfigError("reviewer must name who decided (e.g. reviewer='li.na')")


def insert_verdict(
    con: duckdb.DuckDBPyConnection,
    item_id: int | None,
    key_l: str,
    key_r: str,
    verdict: str,
    reviewer: str,
    note: str | None,
    origin: str,
) -> int:
    """Write one verdict row (who and when with it); returns its id."""
    row = first_row(
        con.execute(
            "INSERT INTO verdicts VALUES (nextval('verdict_ids'), ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING verdict_id",
            [item_id, key_l, key_r, verdict, reviewer, note, origin, now()],
        )
    )
    return int(row[0])


def _check_lease(
    con: duckdb.DuckDBPyConnection, item_id: int, lease: str, reviewer: str, status: str
) -> None:
    """Refuse a verdict whose lease no longer holds (StaleVerdictError): nothing written."""
    held = first_row(
        con.execute(
            "SELECT reviewer, lease_id, expires_at FROM review_leases WHERE item_id = ?",
            [item_id],
        )
    )
    if status not in WAITING:
        raise StaleVerdictError(
            f"item {item_id} was decided already (a verdict landed since this form was "
            "shown, or the form was sent twice); nothing was changed"
        )
    if held is None or held[1] != lease:
        raise StaleVerdictError(
            f"the lease on item {item_id} is no longer yours (it expired, or the item went "
            "to another reviewer); nothing was changed: take the next pair"
        )
    if held[0] != reviewer:
        raise StaleVerdictError(
            f"item {item_id} is leased to another reviewer; nothing was changed"
        )
    if held[2] <= now():
        raise StaleVerdictError(
            f"the lease on item {item_id} expired at {held[2]:%H:%M:%S} UTC; nothing was "
            "changed: take the next pair"
        )


def _filters(reason: str | None, source: str | None) -> tuple[str, list[Any]]:
    """SQL conditions (with their parameters) for the desk's filters."""
    parts: list[str] = []
    params: list[Any] = []
    if reason:
        parts.append("AND i.reason = ?")
        params.append(reason)
    if source:
        parts.append(
            "AND (json_extract_string(i.values_l, '$.source') = ? "
            "OR json_extract_string(i.values_r, '$.source') = ?)"
        )
        params += [source, source]
    return " ".join(parts), params


def sync_evidence(con: duckdb.DuckDBPyConnection, state: RunSync, run_number: int) -> None:
    """The comparison vectors of the run's pairs, by item, and the model's level table;
    rows of items that are gone (erased) leave."""
    if state.levels is not None:
        write_meta(con, "evidence_levels", json.dumps(state.levels))
    if state.evidence is not None and len(state.evidence):
        con.register("pair_evidence", state.evidence[["key_l", "key_r", "gammas"]])
        run(
            con,
            "DELETE FROM review_evidence WHERE item_id IN (SELECT i.item_id FROM review_items i "
            "JOIN pair_evidence e USING (key_l, key_r))",
        )
        run(
            con,
            "INSERT INTO review_evidence SELECT i.item_id, any_value(e.gammas), ? "
            "FROM review_items i JOIN pair_evidence e USING (key_l, key_r) GROUP BY i.item_id",
            [run_number],
        )
        con.unregister("pair_evidence")
    for table in ("review_evidence", "review_leases"):
        run(con, f"DELETE FROM {table} WHERE item_id NOT IN (SELECT item_id FROM review_items)")


def sync_items(
    con: duckdb.DuckDBPyConnection,
    state: RunSync,
    run_number: int,
    stamp: dt.datetime,
    entity_ids: np.ndarray,
) -> None:
    """Review pairs in, scores refreshed, pairs that left the band marked, conflicts flagged."""
    sizes = pd.Series(entity_ids[state.active]).value_counts()
    keys = pd.Index(state.keys)

    def affected(frame: pd.DataFrame) -> np.ndarray:
        if frame.empty:
            return np.array([], dtype=np.int64)
        left = entity_ids[keys.get_indexer(frame["key_l"])]
        right = entity_ids[keys.get_indexer(frame["key_r"])]
        size_l = sizes.reindex(left).fillna(1).to_numpy()
        size_r = sizes.reindex(right).fillna(1).to_numpy()
        return np.where(left == right, size_l, size_l + size_r).astype(np.int64)

    review = state.review.assign(records_affected=affected(state.review))
    con.register("band", review)
    run(
        con,
        """
        UPDATE review_items i SET match_weight = b.match_weight,
            match_probability = b.match_probability, reason = b.reason, decision = 'review',
            records_affected = b.records_affected, last_run = ?, updated_at = ?,
            status = CASE WHEN i.status = 'left_band' THEN 'pending' ELSE i.status END
        FROM band b WHERE i.key_l = b.key_l AND i.key_r = b.key_r
        """,
        [run_number, stamp],
    )
    run(
        con,
        f"""
        INSERT INTO review_items
        SELECT nextval('review_item_ids'), b.key_l, b.key_r, 'review',
               CASE WHEN v.verdict IS NULL THEN 'pending'
                    WHEN v.verdict = 'skip' THEN 'skipped' ELSE 'decided' END,
               'review', b.match_weight, b.match_probability, b.reason, NULL,
               b.records_affected, b.values_l, b.values_r, ?, ?, ?, ?
        FROM band b
        LEFT JOIN ({CURRENT_VERDICTS}) v ON v.key_l = b.key_l AND v.key_r = b.key_r
        ANTI JOIN review_items i ON i.key_l = b.key_l AND i.key_r = b.key_r
        """,
        [run_number, run_number, stamp, stamp],
    )
    # Tracked pairs whose new score left the band: marked, not dropped.
    con.register("tracked", state.tracked)
    run(
        con,
        """
        UPDATE review_items i SET decision = t.decision, match_weight = t.match_weight,
            match_probability = t.match_probability, updated_at = ?,
            status = CASE WHEN i.kind = 'review' AND i.status IN ('pending', 'skipped')
                          THEN 'left_band' ELSE i.status END
        FROM tracked t
        WHERE i.key_l = t.key_l AND i.key_r = t.key_r AND t.decision IS DISTINCT FROM 'review'
          AND i.kind <> 'audit'
        """,
        [stamp],
    )
    conflicts = state.conflicts.assign(records_affected=affected(state.conflicts))
    con.register("conflicts", conflicts)
    run(
        con,
        """
        UPDATE review_items i SET status = 'conflict', reason = c.reason, updated_at = ?,
            records_affected = c.records_affected
        FROM conflicts c WHERE i.key_l = c.key_l AND i.key_r = c.key_r
        """,
        [stamp],
    )
    run(
        con,
        """
        INSERT INTO review_items
        SELECT nextval('review_item_ids'), c.key_l, c.key_r, 'conflict', 'conflict',
               c.decision, c.match_weight, c.match_probability, c.reason, NULL,
               c.records_affected, c.values_l, c.values_r, ?, ?, ?, ?
        FROM conflicts c ANTI JOIN review_items i ON i.key_l = c.key_l AND i.key_r = c.key_r
        """,
        [run_number, run_number, stamp, stamp],
    )
    for view in ("band", "tracked", "conflicts"):
        con.unregister(view)


def store_follows_mapping(con: duckdb.DuckDBPyConnection) -> int:
    """The record store's entities follow the project's mapping, in the caller's
    transaction: a run's verdicts, take-outs and splits move the store's records as they
    move the run's, and golden records of the entities they touch are rebuilt.

    Returns:
        how many stored records changed entity.
    """
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "store_records" not in tables:
        return 0
    changed = con.execute(
        "SELECT s.rid, s.entity_id AS entity_before, p.entity_id AS entity_after "
        "FROM store_records s JOIN project_records p USING (record_key) "
        "WHERE s.entity_id IS DISTINCT FROM p.entity_id AND p.entity_id IS NOT NULL"
    ).df()
    if changed.empty:
        return 0
    con.register("moved_records", changed)
    try:
        for table in ("store_records", "store_lookup"):
            run(
                con,
                f"UPDATE {table} SET entity_id = m.entity_after FROM moved_records m "
                f"WHERE {table}.rid = m.rid",
            )
    finally:
        con.unregister("moved_records")
    touched = set(changed["entity_before"].dropna()) | set(changed["entity_after"])
    survivorship.rebuild_stored(con, sorted(touched))
    write_meta(con, "store_changed_at", now().isoformat())
    return len(changed)


def expand_values(frame: pd.DataFrame) -> pd.DataFrame:
    """``values_l``/``values_r`` (JSON) to ``<role>_l``/``<role>_r`` columns."""
    left = [json.loads(v) if isinstance(v, str) else {} for v in frame.pop("values_l")]
    right = [json.loads(v) if isinstance(v, str) else {} for v in frame.pop("values_r")]
    roles = list(dict.fromkeys(k for row in left + right for k in row))
    for role in roles:
        if role == "record_id":  # the ids are the pair's own columns
            continue
        frame[f"{role}_l"] = [row.get(role) for row in left]
        frame[f"{role}_r"] = [row.get(role) for row in right]
    return frame


def assign_entity_ids(
    con: duckdb.DuckDBPyConnection, state: RunSync, run_number: int
) -> np.ndarray:
    """Stable entity ids: each previous id goes to the cluster holding most of its records
    and each cluster keeps the id that most of its records had; a cluster with none gets
    the id of its first record (with ``#2``, ``#3`` when that id was issued before)."""
    active = np.asarray(state.active, dtype=bool)
    current = pd.DataFrame(
        {"record_key": state.keys[active], "label": np.asarray(state.labels)[active]}
    )
    con.register("current_clusters", current)
    kept = con.execute(
        """
        WITH counts AS (
            SELECT p.entity_id, c.label, count(*) AS n
            FROM current_clusters c JOIN project_records p USING (record_key)
            WHERE p.entity_id IS NOT NULL GROUP BY ALL
        ),
        home AS (  -- each previous id goes to one cluster: the one with most of its records
            SELECT entity_id, arg_min(label, (-n, label)) AS label FROM counts GROUP BY ALL
        )
        SELECT h.label, arg_min(h.entity_id, (-c.n, h.entity_id)) AS entity_id
        FROM home h JOIN counts c USING (entity_id, label) GROUP BY ALL
        """
    ).df()
    labels = np.asarray(state.labels)
    cluster_labels = np.unique(labels[active])
    by_label = pd.Series(kept["entity_id"].to_numpy(), index=kept["label"].to_numpy())
    ids = by_label.reindex(cluster_labels)
    fresh = ids.isna().to_numpy()
    candidates = pd.Series(state.keys[cluster_labels[fresh]], index=cluster_labels[fresh])
    if fresh.any():
        con.register("candidate_ids", pd.DataFrame({"entity_id": candidates.to_numpy()}))
        taken = set(
            con.execute(
                "SELECT entity_id FROM project_entity_ids JOIN candidate_ids USING (entity_id)"
            )
            .df()["entity_id"]
            .tolist()
        )
        con.unregister("candidate_ids")
        taken |= set(by_label.tolist()) & set(candidates.tolist())
        if taken:
            everything = set(
                con.execute("SELECT entity_id FROM project_entity_ids").df()["entity_id"]
            ) | set(by_label.tolist())
            for label, candidate in candidates.items():
                if candidate in taken:
                    suffix = 2
                    while f"{candidate}#{suffix}" in everything:
                        suffix += 1
                    candidates[label] = f"{candidate}#{suffix}"
                    everything.add(candidates[label])
        ids[fresh] = candidates.to_numpy()
        con.register(
            "issued_ids", pd.DataFrame({"entity_id": candidates.to_numpy(), "run": run_number})
        )
        run(con, "INSERT INTO project_entity_ids SELECT entity_id, run FROM issued_ids")
        con.unregister("issued_ids")
    per_row = np.full(len(labels), None, dtype=object)
    lookup = pd.Series(ids.to_numpy(), index=cluster_labels)
    per_row[active] = lookup.reindex(labels[active]).to_numpy()
    mapping = pd.DataFrame(
        {
            "record_key": state.keys[active],
            "source_dataset": np.asarray(state.source_dataset)[active],
            "record_id": np.asarray(state.record_id)[active].astype(str),
            "entity_id": per_row[active].astype(str),
        }
    )
    con.register("current_mapping", mapping)
    # Records not in this run (deleted in the CRM, or a smaller extract) keep their last id.
    run(
        con,
        """
        CREATE OR REPLACE TEMP TABLE next_records AS
        SELECT record_key, source_dataset, record_id, entity_id, ? AS last_run
        FROM current_mapping
        UNION ALL
        SELECT p.* FROM project_records p ANTI JOIN current_mapping USING (record_key)
        """,
        [run_number],
    )
    run(con, "DELETE FROM project_records")
    run(con, "INSERT INTO project_records SELECT * FROM next_records")
    run(con, "DROP TABLE next_records")
    con.unregister("current_mapping")
    con.unregister("current_clusters")
    return per_row
