"""``LinkResult``: what a run found, and the operations that change its entities
(re-decide, re-cluster, take out, split, forget), each returning a new result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import (
    _compat,
    _splink,
    blocking,
    decisions,
    project,
    schema,
    survivorship,
)
from linkage import model as model_mod
from linkage.errors import ModelError, StaleResultError
from linkage.run import _golden, _undo
from linkage.run._cluster import cluster_entities
from linkage.run._state import Pending, RunContext, empty_pairs
from linkage.run._sync import audit_candidates, sync

logger = logging.getLogger("linkage")


@dataclass(frozen=True)
class LinkResult:
    """What :func:`link` found: a read-only view of one run. Its fields cannot be
    reassigned; the operations that change entities (:meth:`redecide`, :meth:`recluster`,
    :meth:`take_out`, :meth:`split`, :meth:`forget`) return a new result and leave this
    one as it was (after :meth:`forget`, this one refuses to be used: it may hold the
    erased record).

    Attributes:
        entities: one row per input record: ``source_dataset`` (when linking several
            inputs), the record id under its own column name, and ``entity_id``.
        pairs: every candidate pair: ids, ``match_weight``, ``match_probability``,
            ``decision``, ``reason`` and the agreement level of each comparison (``gamma_*``).
        review: the pairs with decision ``review``, both records side by side.
        model: the trained :class:`~linkage.model.LinkageModel` (the one passed in, when
            scoring with a trained model; ``None`` for a single record without a model).
        roles: the role mapping used, per input.
        blocking: pair counts per blocking rule and the values the guard left out.
        problems: one row per invalid value found by standardization.
        timings: seconds per stage.
        peak_memory: the highest resident memory of the process during the run, in bytes
            (DuckDB and everything outside it; ``None`` for results derived from a run).
        queue: the :class:`~linkage.project.ReviewQueue` this result is synced with (the
            project file passed as ``queue=``, or an in-memory one).
        golden, lineage: one golden record per entity, and where each of its values came
            from (see :mod:`linkage.survivorship`); built on first access.
    """

    entities: pd.DataFrame
    model: model_mod.LinkageModel | None
    roles: dict[str, schema.RoleMapping]
    blocking: blocking.BlockingReport
    problems: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    records: pd.DataFrame | None = None
    peak_memory: int | None = None
    connection: duckdb.DuckDBPyConnection | None = None
    # Pairs can run to millions of rows: they stay in DuckDB (table ``linkage_pairs``)
    # until first asked for, so a pipeline that only needs entities never pays for them.
    pairs_table: str | None = None
    cluster_labels: np.ndarray | None = field(default=None, repr=False)
    _pairs_query: Callable[[str], pd.DataFrame] | None = field(default=None, repr=False)
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _context: Any = field(default=None, repr=False)
    queue: project.ReviewQueue | None = field(default=None, repr=False)
    _entity_ids: np.ndarray | None = field(default=None, repr=False)
    _links: pd.DataFrame | None = field(default=None, repr=False)
    _erasures_seen: int = field(default=0, repr=False)

    def __getattribute__(self, name: str) -> Any:
        if name in _STALE_WHEN_ERASED:
            ctx = object.__getattribute__(self, "_context")
            if ctx is not None and ctx.erasures != object.__getattribute__(self, "_erasures_seen"):
                raise StaleResultError(
                    f"this result was made before a record was erased (result.forget) and may "
                    f"still hold its values; use the result forget returned (asked for "
                    f"{name!r})"
                )
        return object.__getattribute__(self, name)

    @property
    def labels(self) -> np.ndarray | None:
        """Deprecated name of :attr:`cluster_labels` (``queue.labels()`` are verdicts)."""
        _compat.warn_renamed("LinkResult.labels", "LinkResult.cluster_labels", "attribute")
        return self.cluster_labels

    @property
    def id_column(self) -> str:
        """The name of the records' id column (of the first input): pairs, the review
        queue, events and the merge log name ids ``<id_column>``, ``<id_column>_l`` and
        ``<id_column>_r``."""
        return next(iter(self.roles.values())).roles["record_id"]

    def __repr__(self) -> str:
        ctx = object.__getattribute__(self, "_context")
        if ctx is not None and ctx.erasures != object.__getattribute__(self, "_erasures_seen"):
            return "<LinkResult: stale, made before an erasure>"
        entities = object.__getattribute__(self, "entities")
        return (
            f"<LinkResult: {len(entities):,} records, "
            f"{entities['entity_id'].nunique():,} entities, level {self.level}>"
        )

    @property
    def level(self) -> str:
        """The entity level of this run: ``"person"`` or ``"organization"`` (why: in
        ``result.roles[...].notes``)."""
        config = self.model.config if self.model is not None else {}
        return str(config.get("level", "person"))

    @property
    def country(self) -> str | None:
        """The country phone numbers without a country code were read in (given, or the
        one in which most of them are valid)."""
        config = self.model.config if self.model is not None else {}
        return config.get("country")

    @property
    def unused(self) -> dict[str, str]:
        """Columns of the input that played no part in matching, with the reason."""
        out: dict[str, str] = {}
        for mapping in self.roles.values():
            out.update(mapping.unused)
        return out

    @property
    def linker(self) -> Any:
        """The splink Linker behind this result, for splink's own charts and tools."""
        return self._context.linker if self._context is not None else None

    def redecide(
        self,
        thresholds: decisions.Thresholds | None = None,
        routing_rules: Sequence[decisions.RoutingRule] | None = None,
        *,
        recluster: bool = True,
    ) -> LinkResult:
        """Decide again under new thresholds or rules: no retraining, no rescoring.

        The new policy is stored on the model (so ``result.model.save`` keeps it). With
        ``recluster=False`` the entities of this result are kept as they are (decisions
        only, for tuning a threshold interactively); otherwise entities follow the new
        auto-merge links.

        Raises:
            ModelError: this result has no scored pairs to re-decide (a single record).
        """
        if self._context is None or self.model is None or self.pairs_table is None:
            raise ModelError("this result has no scored pairs to re-decide")
        policy = decisions.DecisionPolicy(
            thresholds=thresholds or self.model.policy.thresholds,
            rules=tuple(routing_rules) if routing_rules is not None else self.model.policy.rules,
        )
        model = model_mod.LinkageModel(
            settings=self.model.settings_,
            policy=policy,
            config=self.model.config,
            training_log=self.model.training_log_,
        )
        source = f"(SELECT * EXCLUDE (decision, reason) FROM {self.pairs_table})"
        return decide_and_cluster(
            self._context,
            model,
            {},
            source_table=source,
            recluster=recluster,
            labels=self.cluster_labels,
            previous=self,
        )

    # -- the merge workflow: golden records, lineage, history, undo, erasure -----------------

    def blocking_analysis(self, record_sample_proportion: float = 1.0) -> pd.DataFrame:
        """splink's blocking analysis of the rules this run used: per rule, the pairs it adds
        beyond the rules before it (``marginal``) and the running total (``cumulative``).

        ``result.blocking`` has linkage's own per-rule counts (taken before scoring, with
        the values the guard left out); this is splink's count of distinct pairs.
        """
        from splink.blocking_analysis import count_comparisons_from_blocking_rules

        if self._context is None or self.model is None:
            raise ModelError("this result has no blocking to analyse (a single record)")
        rules = self.model.config["blocking_rules"]
        counted = count_comparisons_from_blocking_rules(
            _splink.input_tables(self._context.linker),
            blocking_rules=[blocking.block_on_key(blocking.BlockingRule(**r)) for r in rules],
            link_type=self.model.config["link_type"],
            unique_id_column_name="rid",
            record_sample_proportion=record_sample_proportion,
        )
        frame = pd.DataFrame(counted)  # splink returns one TypedDict per rule
        frame.insert(0, "rule", [r["name"] for r in rules])
        return frame

    @property
    def golden(self) -> pd.DataFrame:
        """One golden record per entity: ``entity_id``, ``n_records``, ``record_ids``, then
        one column per field chosen by its survivorship rule (``<role>_all`` are lists)."""
        if "golden" not in self._cache:
            tables = self._golden_tables()
            self._cache["golden"] = tables.golden_frame(self.connection)
        return self._cache["golden"]

    @property
    def lineage(self) -> survivorship.Lineage:
        """Where each golden value came from (``lineage.fields``) and which links built
        each entity (``lineage.merge_log``), with the undos and erasures that touched it."""
        if "lineage" not in self._cache:
            tables = self._golden_tables()
            self._cache["lineage"] = survivorship.Lineage(
                fields=self.connection.execute(
                    f"SELECT * FROM {tables.lineage} ORDER BY entity_id, field, record_id"
                ).df(),
                merge_log=_golden.merge_log(self),
            )
        return self._cache["lineage"]

    def history(self, entity_id: str | None = None) -> pd.DataFrame:
        """The customer's history: every record of an entity (or of all entities) in time
        order, with its input, source channel, timestamps and values.

        Raises:
            ConfigError: no such entity.
        """
        return _golden.history(self, entity_id)

    def take_out(
        self, record: str | tuple[str, str], *, reviewer: str, note: str | None = None
    ) -> LinkResult:
        """Undo a merge: take one record out of its entity.

        The record is kept apart from every other record of that entity on this and every
        later run (a ``non_match`` verdict with origin ``undo``), the undo is logged, and
        golden records and lineage follow. Returns the new result.

        Raises:
            ConfigError: unknown record, or the record is alone in its entity.
        """
        return self._changed(_undo.undo(self, record=record, reviewer=reviewer, note=note))

    def split(self, entity_id: str, *, reviewer: str, note: str | None = None) -> LinkResult:
        """Undo an entity: split it back into its records, each kept apart from the others
        on later runs; the split is logged. Returns the new result.

        Raises:
            ConfigError: unknown entity.
        """
        return self._changed(_undo.undo(self, entity_id=entity_id, reviewer=reviewer, note=note))

    def forget(self, record: str | tuple[str, str]) -> LinkResult:
        """Erase a record (a data subject's request): its values leave golden records,
        lineage, pairs and the queue, later runs leave it out if it comes again, and the
        log keeps only that a record was erased, and when. Returns the new result.

        Raises:
            ConfigError: unknown record.
        """
        return self._changed(_undo.forget(self, record))

    def recluster(self) -> LinkResult:
        """Cluster again with the queue's current verdicts (no rescoring): what the next
        ``link`` would give for the same data."""
        if self._context is None or self.model is None:
            raise ModelError("this result has no scored pairs to re-cluster")
        return decide_and_cluster(
            self._context,
            self.model,
            {},
            source_table=f"(SELECT * EXCLUDE (decision, reason) FROM {self.pairs_table})",
            previous=self,
        )

    def audit_sample(self, sizes: Mapping[str, int], seed: int = 0) -> pd.DataFrame:
        """A seeded random sample of pairs per decision (``{"auto_merge": 50, ...}``), as
        review-queue items with a sampling weight; what
        :meth:`~linkage.project.ReviewQueue.add_audit_sample` puts in the queue."""
        return audit_candidates(self, sizes, seed)

    def _changed(self, pending: Pending) -> LinkResult:
        """The result after writing ``pending`` verdicts, events and erasures with a new
        clustering (no rescoring)."""
        return decide_and_cluster(
            self._context,
            self.model,
            {},
            source_table=f"(SELECT * EXCLUDE (decision, reason) FROM {self.pairs_table})",
            previous=self,
            pending=pending,
        )

    def _golden_tables(self) -> survivorship.GoldenTables:
        if self._context is None:
            raise ModelError("golden records need a linked result (more than one record)")
        if "golden_tables" not in self._cache:
            self._cache["golden_tables"] = _golden.golden_tables(self)  # type: ignore[assignment]
        return self._cache["golden_tables"]  # type: ignore[return-value]

    @property
    def pairs(self) -> pd.DataFrame:
        """Every candidate pair, strongest first (built from DuckDB on first access)."""
        if "pairs" not in self._cache:
            self._cache["pairs"] = (
                self._pairs_query("pairs") if self._pairs_query else empty_pairs(self.id_column)
            )
        return self._cache["pairs"]

    @property
    def review(self) -> pd.DataFrame:
        """The pairs with decision ``review``, both records' values side by side."""
        if "review" not in self._cache:
            self._cache["review"] = (
                self._pairs_query("review")
                if self._pairs_query
                else empty_pairs(self.id_column).iloc[:, :6]
            )
        return self._cache["review"]

    @property
    def n_records(self) -> int:
        return len(self.entities)

    @property
    def n_entities(self) -> int:
        return int(self.entities["entity_id"].nunique())

    def decision_counts(self) -> dict[str, int]:
        """Pairs per decision."""
        if "pairs" in self._cache or self.connection is None:
            counts = self.pairs["decision"].value_counts().to_dict()
        else:
            counts = dict(
                self.connection.execute(
                    f"SELECT decision, count(*) FROM {self.pairs_table} GROUP BY 1"
                ).fetchall()
            )
        return {d: int(counts.get(d, 0)) for d in ("auto_merge", "review", "distinct")}

    def summary(self) -> str:
        """A few lines a person can read: records, entities, decisions, seconds."""
        counts = self.decision_counts()
        seconds = sum(self.timings.values())
        lines = [
            f"records:      {self.n_records:,}",
            f"entities:     {self.n_entities:,}",
            f"pairs scored: {sum(counts.values()):,}",
            f"auto-merged:  {counts['auto_merge']:,} pairs",
            f"for review:   {counts['review']:,} pairs",
            f"distinct:     {counts['distinct']:,} pairs",
            f"problems:     {len(self.problems):,} invalid values flagged",
            f"seconds:      {seconds:.1f}",
        ]
        if self.peak_memory:
            lines.append(f"peak memory:  {self.peak_memory / 1e9:.2f} GB")
        return "\n".join(lines)


# What a result from before an erasure refuses: everything that shows records or changes
# entities.
_STALE_WHEN_ERASED = frozenset(
    {
        "entities",
        "records",
        "problems",
        "pairs",
        "review",
        "golden",
        "lineage",
        "history",
        "labels",
        "cluster_labels",
        "take_out",
        "split",
        "forget",
        "recluster",
        "redecide",
        "audit_sample",
        "blocking_analysis",
    }
)


@_splink.quiet
def decide_and_cluster(
    ctx: RunContext,
    trained: model_mod.LinkageModel,
    timings: dict[str, float],
    source_table: str | None = None,
    recluster: bool = True,
    labels: np.ndarray | None = None,
    previous: LinkResult | None = None,
    pending: Pending | None = None,
    new_run: bool = False,
) -> LinkResult:
    """Decide every pair under the model's policy, then cluster and sync the queue: the
    shared tail of :func:`link`, :meth:`LinkResult.redecide` and the undo methods.

    ``pending`` verdicts, events and erasures are written in the same transaction as the
    entities they produce."""
    started = time.perf_counter()
    pairs_table = ctx.next_pairs_table()
    levels = decisions.agreement_levels(trained.settings_)
    decisions.decide(
        ctx.con,
        source_table or ctx.predictions_table,
        levels,
        trained.policy,
        pairs_table,
        columns=["rid_l", "rid_r", "match_weight", "match_probability"],
    )
    timings["decide"] = time.perf_counter() - started
    logger.info("decide: %.2fs", timings["decide"])
    if recluster or labels is None or previous is None:
        started = time.perf_counter()
        clustered = cluster_entities(ctx, trained, pairs_table, pending or Pending())
        labels = clustered.labels
        entity_ids = sync(ctx, pairs_table, clustered, pending or Pending(), new_run)
        links = clustered.links
        timings["cluster"] = time.perf_counter() - started
        logger.info("cluster: %.2fs", timings["cluster"])
    else:
        entity_ids, links = previous._entity_ids, previous._links
    return assemble(ctx, labels, trained, pairs_table, entity_ids, timings=timings, links=links)


def assemble(
    ctx: RunContext,
    labels: np.ndarray,
    trained: model_mod.LinkageModel,
    pairs_table: str,
    entity_ids: np.ndarray,
    *,
    timings: dict[str, float],
    links: pd.DataFrame,
) -> LinkResult:
    con, work, frames, mappings, multi = ctx.con, ctx.work, ctx.frames, ctx.mappings, ctx.multi
    sources = work["source_dataset"].to_numpy()
    first_mapping = next(iter(mappings.values()))
    id_column = first_mapping.roles["record_id"]
    original_ids = (
        np.concatenate(
            [frames[name][mappings[name].roles["record_id"]].to_numpy() for name in frames]
        )
        if multi
        else frames[next(iter(frames))][id_column].to_numpy()
    )
    entities = pd.DataFrame({id_column: original_ids, "entity_id": entity_ids})
    old_ids = {"record_id_l": f"{id_column}_l", "record_id_r": f"{id_column}_r"}
    if multi:
        entities.insert(0, "source_dataset", sources)
    if ctx.erased:
        entities = entities.drop(index=sorted(ctx.erased)).reset_index(drop=True)

    gamma_cols = ", ".join(f'"gamma_{c}"' for c in trained.comparison_names)
    side_roles = [r for r in work.columns if r not in ("rid", "source_dataset", "record_id")]

    def query(which: str) -> pd.DataFrame:
        where = "WHERE decision = 'review'" if which == "review" else ""
        pairs = con.execute(
            f"SELECT rid_l, rid_r, match_weight, match_probability, decision, reason, "
            f"{gamma_cols} FROM {pairs_table} {where} "
            "ORDER BY match_weight DESC, rid_l, rid_r"
        ).df()
        rid_l, rid_r = pairs.pop("rid_l").to_numpy(), pairs.pop("rid_r").to_numpy()
        front = {}
        if multi:
            front["source_dataset_l"] = sources[rid_l]
        front[f"{id_column}_l"] = original_ids[rid_l]
        if multi:
            front["source_dataset_r"] = sources[rid_r]
        front[f"{id_column}_r"] = original_ids[rid_r]
        pairs = pd.concat([pd.DataFrame(front), pairs], axis=1)
        if which == "review":
            pairs = pairs.drop(columns=[c for c in pairs if c.startswith("gamma_")])
            for role in side_roles:
                values = work[role].to_numpy()
                pairs[f"{role}_l"] = values[rid_l]
                pairs[f"{role}_r"] = values[rid_r]
            return _compat.renamed_columns(pairs.drop(columns=["decision"]), old_ids)
        pairs["entity_id_l"] = entity_ids[rid_l]
        pairs["entity_id_r"] = entity_ids[rid_r]
        return _compat.renamed_columns(pairs, old_ids)

    return LinkResult(
        entities=entities,
        model=trained,
        roles=mappings,
        blocking=ctx.report,
        problems=ctx.problems,
        records=work.drop(index=sorted(ctx.erased)) if ctx.erased else work,
        connection=con,
        pairs_table=pairs_table,
        cluster_labels=labels,
        _pairs_query=query,
        _context=ctx,
        _erasures_seen=ctx.erasures,
        timings=timings,
        queue=ctx.queue,
        _entity_ids=entity_ids,
        _links=links,
    )
