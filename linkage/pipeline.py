"""``link``: records in, entities, scored pairs, decisions and the review list out.

This module wires the stages of DESIGN.md together; each stage's logic lives in its own
module. Data lives in DuckDB during a run; pandas appears at the edges (reading input, the
standardizer's distinct-value parsing, the result frames).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import blocking as blocking_mod
from linkage import clustering, decisions, review, schema, survivorship, workflow
from linkage import comparisons as comparisons_mod
from linkage import model as model_mod
from linkage._sql import run
from linkage.errors import ConfigError, InputError, ModelError

logger = logging.getLogger("linkage")

# Roles the standardizer does not derive columns for, cleaned here with a light touch.
_SIMPLE_ROLES = ("first_name", "last_name", "national_id", "gender", "job_title")
# Roles copied into the working table; everything else is carried through untouched in the
# caller's frame and never enters SQL.
_PASS_THROUGH_ROLES = {"record_id", "source", "owner"}


@dataclass
class LinkResult:
    """What :func:`link` found.

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
        queue: the :class:`~linkage.review.ReviewQueue` this result is synced with (the
            project file passed as ``queue=``, or an in-memory one).
        golden, lineage: one golden record per entity, and where each of its values came
            from (see :mod:`linkage.survivorship`); built on first access.
    """

    entities: pd.DataFrame
    model: model_mod.LinkageModel | None
    roles: dict[str, schema.RoleMapping]
    blocking: blocking_mod.BlockingReport
    problems: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    records: pd.DataFrame | None = None
    connection: duckdb.DuckDBPyConnection | None = None
    # Pairs can run to millions of rows: they stay in DuckDB (table ``linkage_pairs``)
    # until first asked for, so a pipeline that only needs entities never pays for them.
    pairs_table: str | None = None
    labels: np.ndarray | None = field(default=None, repr=False)
    _pairs_query: Callable[[str], pd.DataFrame] | None = field(default=None, repr=False)
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _context: Any = field(default=None, repr=False)
    queue: review.ReviewQueue | None = field(default=None, repr=False)
    _entity_ids: np.ndarray | None = field(default=None, repr=False)
    _links: pd.DataFrame | None = field(default=None, repr=False)

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
        return _decide_and_cluster(
            self._context,
            model,
            {},
            source_table=source,
            recluster=recluster,
            labels=self.labels,
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
            list(self._context.linker._input_tables_dict.values()),
            blocking_rules=[block_on_key(blocking_mod.BlockingRule(**r)) for r in rules],
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
            self._cache["golden"] = self.connection.execute(f"SELECT * FROM {tables.golden}").df()
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
                merge_log=workflow.merge_log(self),
            )
        return self._cache["lineage"]

    def history(self, entity_id: str | None = None) -> pd.DataFrame:
        """The customer's history: every record of an entity (or of all entities) in time
        order, with its input, source channel, timestamps and values.

        Raises:
            ConfigError: no such entity.
        """
        return workflow.history(self, entity_id)

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
        return workflow.undo(self, record=record, reviewer=reviewer, note=note)

    def split(self, entity_id: str, *, reviewer: str, note: str | None = None) -> LinkResult:
        """Undo an entity: split it back into its records, each kept apart from the others
        on later runs; the split is logged. Returns the new result.

        Raises:
            ConfigError: unknown entity.
        """
        return workflow.undo(self, entity_id=entity_id, reviewer=reviewer, note=note)

    def forget(self, record: str | tuple[str, str]) -> LinkResult:
        """Erase a record (a data subject's request): its values leave golden records,
        lineage, pairs and the queue, later runs leave it out if it comes again, and the
        log keeps only that a record was erased, and when. Returns the new result.

        Raises:
            ConfigError: unknown record.
        """
        return workflow.forget(self, record)

    def recluster(self) -> LinkResult:
        """Cluster again with the queue's current verdicts (no rescoring): what the next
        ``link`` would give for the same data."""
        if self._context is None or self.model is None:
            raise ModelError("this result has no scored pairs to re-cluster")
        return _decide_and_cluster(
            self._context,
            self.model,
            {},
            source_table=f"(SELECT * EXCLUDE (decision, reason) FROM {self.pairs_table})",
            previous=self,
        )

    def _golden_tables(self) -> survivorship.GoldenTables:
        if self._context is None:
            raise ModelError("golden records need a linked result (more than one record)")
        if "golden_tables" not in self._cache:
            self._cache["golden_tables"] = workflow.golden_tables(self)  # type: ignore[assignment]
        return self._cache["golden_tables"]  # type: ignore[return-value]

    @property
    def pairs(self) -> pd.DataFrame:
        """Every candidate pair, strongest first (built from DuckDB on first access)."""
        if "pairs" not in self._cache:
            self._cache["pairs"] = (
                self._pairs_query("pairs") if self._pairs_query else (_empty_pairs())
            )
        return self._cache["pairs"]

    @property
    def review(self) -> pd.DataFrame:
        """The pairs with decision ``review``, both records' values side by side."""
        if "review" not in self._cache:
            self._cache["review"] = (
                self._pairs_query("review") if self._pairs_query else (_empty_pairs().iloc[:, :6])
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
        return "\n".join(lines)


@contextlib.contextmanager
def _quiet_splink():
    """Hold back splink's log messages (EM progress, levels it could not train) unless the
    caller asked for them: what matters of them is in ``result.model.training_log_``, and
    ``logging.getLogger("linkage")`` reports each stage."""
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    if not splink_logger.isEnabledFor(logging.INFO):
        splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(level)


def _splink_quiet(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _quiet_splink():
            return func(*args, **kwargs)

    return wrapper


@_splink_quiet
def link(
    data: Any,
    *,
    roles: Mapping[str, str | None] | None = None,
    comparisons: Mapping[str, Any] | None = None,
    blocking_rules: Sequence[blocking_mod.BlockingRule] | None = None,
    thresholds: decisions.Thresholds | None = None,
    routing_rules: Sequence[decisions.RoutingRule] | None = None,
    model: model_mod.LinkageModel | None = None,
    link_type: str | None = None,
    seed: int = 0,
    max_block_size: int = 1000,
    max_pairs: int = 50_000_000,
    pair_budget: int | None = None,
    keep_apart_below: float = -8.0,
    cluster_method: str = "constrained",
    standardize: bool = True,
    connection: duckdb.DuckDBPyConnection | None = None,
    queue: review.ReviewQueue | str | os.PathLike[str] | None = None,
    survivorship_rules: Mapping[str, str | Sequence[str] | None] | None = None,
    source_priority: Sequence[str] | None = None,
) -> LinkResult:
    """Find the records that are the same customer.

    Args:
        data: the records: a pandas DataFrame, pyarrow Table, DuckDB relation, or a CSV or
            Parquet path. To link several inputs (leads against customers), pass a dict
            ``{name: records}`` or a list.
        roles: role -> column, for columns detection misses or gets wrong; ``None`` as a
            value switches a detected role off. See :data:`linkage.schema.ROLES`.
        comparisons: role -> splink comparison, replacing a default (``None`` drops it).
        blocking_rules: replaces the default blocking rules.
        thresholds: match-weight thresholds for review and auto-merge.
        routing_rules: replaces the default routing rules.
        model: a trained model (``LinkageModel.load(path)``): score without training.
        link_type: with several inputs, ``"link_and_dedupe"`` (default) or ``"link_only"``.
        seed: makes the random sampling in training, and so the whole run, repeatable.
        max_block_size: a blocking key value shared by more records than this is not used
            for blocking (a switchboard, a placeholder); it is reported.
        max_pairs: refuse to run when blocking would generate more candidate pairs.
        pair_budget: loose blocking rules (catching pairs with typos everywhere) are used
            only while the candidate pairs stay within this many (default: 20 per record,
            at least 2,000,000).
        keep_apart_below: records whose pair evidence (match weight less the prior) is
            below this many bits are never put in one entity.
        cluster_method: ``"constrained"`` (default) or ``"connected_components"``.
        standardize: clean values before matching (switch off only to measure its effect).
        connection: a DuckDB connection to work in (default: a new in-memory one).
        queue: the project file (a path or an open :class:`~linkage.review.ReviewQueue`):
            its verdicts steer clustering, its entity ids are kept, this run's review pairs
            go into it. Default: an in-memory queue (``result.queue``).
        survivorship_rules: golden column -> rule, overriding
            :data:`linkage.survivorship.DEFAULT_RULES`.
        source_priority: input names and source channels, best first, for the
            ``source_priority`` rule (default: the inputs in the order given).

    Returns:
        a :class:`LinkResult`.

    Raises:
        InputError, SchemaError, ConfigError: with what was wrong and how to fix it.
        QueueError: the project file cannot be used (other data, newer version, busy).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now
        logger.info("%s: %.2fs", stage, timings[stage])

    if cluster_method not in ("constrained", "connected_components"):
        raise ConfigError(
            f"cluster_method must be 'constrained' or 'connected_components', "
            f"not {cluster_method!r}"
        )
    inputs = _named_inputs(data)
    frames: dict[str, pd.DataFrame] = {}
    mappings: dict[str, schema.RoleMapping] = {}
    for name, item in inputs.items():
        frame = schema.read_records(item)
        mapping = schema.resolve_roles(list(frame.columns), roles)
        if "record_id" not in mapping.roles:
            frame = frame.copy()  # validate_records adds the generated id column to it
        mapping = schema.validate_records(frame, mapping)
        frames[name], mappings[name] = frame, mapping
        logger.info("input %r: %d records, roles:\n%s", name, len(frame), mapping.describe())
    multi = len(frames) > 1
    project = workflow.open_queue(queue)
    frames = workflow.leave_out_erased(project, frames, mappings, multi)
    if link_type is None:
        link_type = "link_and_dedupe" if multi else "dedupe_only"
    if link_type not in ("dedupe_only", "link_and_dedupe", "link_only"):
        raise ConfigError(
            f"link_type must be dedupe_only, link_and_dedupe or link_only, not {link_type!r}"
        )
    if link_type != "dedupe_only" and not multi:
        raise ConfigError(f"link_type={link_type!r} needs several inputs: pass a dict or list")
    role_set = set.intersection(*(set(m.roles) for m in mappings.values()))
    work = _working_frame(frames, mappings, role_set)
    keys = workflow.record_keys(work, multi)
    project.check_data([mappings[name].roles["record_id"] for name in frames], list(frames), keys)
    if survivorship_rules is not None:
        survivorship.check_rules(role_set, survivorship_rules)
    lap("read")

    match_roles = {r: r for r in role_set if r not in _PASS_THROUGH_ROLES}
    match_roles["record_id"] = "record_id"
    if standardize:
        from linkage import standardize as standardize_mod

        std = standardize_mod.standardize(work, match_roles)
        derived, problems = std.frame, std.problems
    else:
        derived, problems = _minimal_clean(work, match_roles), _empty_problems()
    derived = _add_simple_clean(derived, role_set)
    lap("standardize")
    if len(work) < 2:
        # One record has no pair to compare: it is its own entity.
        return workflow.single_record_result(
            work,
            derived,
            problems,
            frames,
            mappings,
            model,
            timings,
            project=project,
            keys=keys,
            survivorship_rules=survivorship_rules,
            source_priority=source_priority,
        )

    con = connection or duckdb.connect()
    records_view = _register_working_table(con, derived, work.columns)
    records_table = "linkage_records"
    rules = (
        list(blocking_rules) if blocking_rules is not None else blocking_mod.default_rules(role_set)
    )
    if pair_budget is None:
        pair_budget = max(2_000_000, 20 * len(work))
    rules, report = blocking_mod.add_block_keys(
        con,
        records_table,
        rules,
        max_block_size=max_block_size,
        pair_budget=pair_budget,
        source=records_view,
    )
    con.unregister(records_view)
    upper_bound = report.pairs_upper_bound
    if upper_bound > max_pairs:
        worst = max(report.pairs_per_rule, key=report.pairs_per_rule.get)
        raise ConfigError(
            f"blocking would generate up to {upper_bound:,} pairs (more than max_pairs="
            f"{max_pairs:,}); rule {worst!r} alone makes {report.pairs_per_rule[worst]:,}. "
            "Lower max_block_size, pass stricter blocking_rules, or raise max_pairs."
        )
    logger.info("blocking:\n%s", report.describe())
    lap("blocking")

    comparison_map = comparisons_mod.default_comparisons(role_set, comparisons)
    tables = _split_by_source(con, records_table, list(frames)) if multi else [records_table]
    if model is None:
        settings = model_mod.build_settings(comparison_map, rules, link_type=link_type)
        linker = model_mod.make_linker(con, tables, settings)
        available = {c for c in derived.columns if c not in work.columns or c == "rid"}
        comparison_columns = _comparison_columns(linker)
        training_log = model_mod.train(
            linker, available, comparison_columns, n_records=len(work), seed=seed
        )
        policy = decisions.DecisionPolicy(
            thresholds=thresholds or decisions.Thresholds(),
            rules=tuple(
                routing_rules
                if routing_rules is not None
                else decisions.default_rules(comparison_map)
            ),
        )
        trained = model_mod.LinkageModel(
            settings=linker.misc.save_model_to_json(),
            policy=policy,
            config={
                "roles": sorted(role_set),
                "blocking_rules": [
                    {"name": r.name, "columns": list(r.columns), "roles": list(r.roles)}
                    for r in rules
                ],
                "max_block_size": max_block_size,
                "keep_apart_below": keep_apart_below,
                "cluster_method": cluster_method,
                "link_type": link_type,
                "seed": seed,
            },
            training_log=training_log,
        )
        lap("train")
    else:
        trained = model
        if thresholds is not None or routing_rules is not None:
            trained.policy = decisions.DecisionPolicy(
                thresholds=thresholds or trained.policy.thresholds,
                rules=tuple(routing_rules) if routing_rules is not None else trained.policy.rules,
            )
        settings = dict(trained.settings_)
        settings["blocking_rules_to_generate_predictions"] = [block_on_key(r) for r in rules]
        linker = model_mod.make_linker(con, tables, settings)

    predictions = linker.inference.predict()
    lap("score")
    context = _RunContext(
        con=con,
        linker=linker,
        predictions_table=predictions.physical_name,
        records_table=records_table,
        work=work,
        frames=frames,
        mappings=mappings,
        report=report,
        problems=problems,
        multi=multi,
        keep_apart_below=keep_apart_below,
        cluster_method=cluster_method,
        queue=project,
        keys=keys,
        survivorship_rules=survivorship_rules,
        source_priority=list(source_priority) if source_priority is not None else None,
    )
    return _decide_and_cluster(context, trained, timings, new_run=True)


@dataclass
class _RunContext:
    """What a result needs to re-decide and re-cluster without rescoring."""

    con: duckdb.DuckDBPyConnection
    linker: Any
    predictions_table: str
    records_table: str
    work: pd.DataFrame
    frames: dict[str, pd.DataFrame]
    mappings: dict[str, schema.RoleMapping]
    report: blocking_mod.BlockingReport
    problems: pd.DataFrame
    multi: bool
    keep_apart_below: float
    cluster_method: str
    queue: review.ReviewQueue | None = None
    keys: np.ndarray | None = None
    survivorship_rules: Mapping[str, Any] | None = None
    source_priority: list[str] | None = None
    erased: set[int] = field(default_factory=set)
    generation: int = 0

    def next_pairs_table(self) -> str:
        self.generation += 1
        return f"linkage_pairs_{self.generation}"


@_splink_quiet
def _decide_and_cluster(
    ctx: _RunContext,
    trained: model_mod.LinkageModel,
    timings: dict[str, float],
    source_table: str | None = None,
    recluster: bool = True,
    labels: np.ndarray | None = None,
    previous: LinkResult | None = None,
    pending: _Pending | None = None,
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
        clustered = _cluster(ctx, trained, pairs_table, pending or _Pending())
        labels = clustered.labels
        entity_ids = workflow.sync(ctx, pairs_table, clustered, pending or _Pending(), new_run)
        links = clustered.links
        timings["cluster"] = time.perf_counter() - started
        logger.info("cluster: %.2fs", timings["cluster"])
    else:
        entity_ids, links = previous._entity_ids, previous._links
    result = _assemble(ctx, labels, trained, pairs_table, entity_ids)
    result.timings = timings
    result.queue = ctx.queue
    result._entity_ids = entity_ids
    result._links = links
    return result


def _cluster(
    ctx: _RunContext, trained: model_mod.LinkageModel, pairs_table: str, pending: _Pending
) -> _Clustered:
    """Entities from auto-merge links and reviewers' verdicts (a ``match`` is a link
    stronger than any score, a ``non_match`` a keep-apart that beats any chain)."""
    n = len(ctx.work)
    auto = ctx.con.execute(
        f"SELECT rid_l, rid_r, match_weight, match_probability, reason FROM {pairs_table} "
        "WHERE decision = 'auto_merge' ORDER BY rid_l, rid_r"
    ).df()
    verdicts = _verdict_pairs(ctx, pending)
    matches = verdicts[verdicts["verdict"] == "match"]
    apart = verdicts[verdicts["verdict"] == "non_match"]
    links = pd.concat(
        [
            auto.assign(how="auto_merge"),
            pd.DataFrame(
                {
                    "rid_l": matches["rid_l"].to_numpy(),
                    "rid_r": matches["rid_r"].to_numpy(),
                    "match_weight": np.inf,
                    "reason": "verdict match",
                    "reviewer": matches["reviewer"].to_numpy(),
                    "note": matches["note"].to_numpy(),
                    "decided_at": matches["decided_at"].to_numpy(),
                    "how": "verdict",
                }
            ),
        ],
        ignore_index=True,
    )
    if ctx.erased:
        gone = list(ctx.erased)
        links = links[~(links["rid_l"].isin(gone) | links["rid_r"].isin(gone))]
    left = links["rid_l"].to_numpy(np.int64)
    right = links["rid_r"].to_numpy(np.int64)
    weight = links["match_weight"].to_numpy(float)
    if ctx.cluster_method == "connected_components":
        evidence = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    else:
        prior = trained.probability_two_random_records_match
        prior_weight = math.log2(prior / (1 - prior))
        evidence = _keep_apart_pairs(
            ctx,
            {"rid_l": left, "rid_r": right},
            n,
            prior_weight + ctx.keep_apart_below,
            pairs_table,
        )
        # A reviewer's match overrides the evidence against that very pair.
        if len(matches):
            said = set(zip(matches["rid_l"].tolist(), matches["rid_r"].tolist()))
            keep = np.array(
                [
                    (min(a, b), max(a, b)) not in said
                    for a, b in zip(evidence[0].tolist(), evidence[1].tolist())
                ],
                dtype=bool,
            )
            evidence = (evidence[0][keep], evidence[1][keep])
    outcome = clustering.cluster_links(
        n,
        left,
        right,
        weight,
        evidence[0],
        evidence[1],
        apart["rid_l"].to_numpy(np.int64),
        apart["rid_r"].to_numpy(np.int64),
    )
    logger.info(
        "clustering refused %d links that would join records kept apart (%d by a reviewer)",
        int(outcome.refused.sum()),
        int(outcome.refused_by_hard.sum()),
    )
    # A link refused by a keep-apart on that very pair is the person's decision, not a
    # conflict; one refused because of a keep-apart elsewhere in the group (a chain), or a
    # reviewer's match that could not be honoured, needs a person.
    said_apart = set(zip(apart["rid_l"].tolist(), apart["rid_r"].tolist()))
    own = np.array(
        [(min(a, b), max(a, b)) in said_apart for a, b in zip(left.tolist(), right.tolist())],
        dtype=bool,
    )
    needs_person = (outcome.refused_by_hard & ~own) | (
        outcome.refused & (links["how"] == "verdict").to_numpy()
    )
    conflicts = links[needs_person].copy()
    conflicts["reason"] = "a keep-apart verdict refused this link: " + conflicts["reason"].astype(
        str
    )
    conflicts["decision"] = np.where(conflicts["how"] == "verdict", None, "auto_merge")
    return _Clustered(
        labels=outcome.labels,
        links=links[outcome.accepted].reset_index(drop=True),
        conflicts=conflicts,
    )


@dataclass
class _Pending:
    """Verdicts, log lines and erasures to write with the next clustering, as keys."""

    verdicts: list[tuple[str, str, str, str, str | None, str]] = field(default_factory=list)
    events: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    erase: list[str] = field(default_factory=list)


@dataclass
class _Clustered:
    labels: np.ndarray
    links: pd.DataFrame  # the links that built the entities, for the merge log
    conflicts: pd.DataFrame  # links a reviewer's keep-apart refused


def _verdict_pairs(ctx: _RunContext, pending: _Pending) -> pd.DataFrame:
    """The queue's current verdicts (and pending ones) between records of this run."""
    current = ctx.queue.constraints() if ctx.queue is not None else pd.DataFrame()
    if pending.verdicts:
        extra = pd.DataFrame(
            pending.verdicts,
            columns=["key_l", "key_r", "verdict", "reviewer", "note", "origin"],
        ).assign(decided_at=review.now())
        current = pd.concat([current, extra], ignore_index=True)
    columns = ["rid_l", "rid_r", "verdict", "reviewer", "note", "decided_at"]
    if current.empty:
        return pd.DataFrame(columns=columns)
    keys = pd.Index(ctx.keys)
    a, b = keys.get_indexer(current["key_l"]), keys.get_indexer(current["key_r"])
    known = (a >= 0) & (b >= 0) & (a != b)
    if ctx.erased:
        gone = list(ctx.erased)
        known &= ~(np.isin(a, gone) | np.isin(b, gone))
    current = current[known]
    a, b = a[known], b[known]
    frame = pd.DataFrame(
        {
            "rid_l": np.minimum(a, b),
            "rid_r": np.maximum(a, b),
            "verdict": current["verdict"].to_numpy(),
            "reviewer": current["reviewer"].to_numpy(),
            "note": current["note"].to_numpy(),
            "decided_at": current["decided_at"].to_numpy(),
        }
    )
    # The latest verdict on a pair counts (pending ones come last).
    return frame.drop_duplicates(["rid_l", "rid_r"], keep="last")[columns]


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "record_id_l",
            "record_id_r",
            "match_weight",
            "match_probability",
            "decision",
            "reason",
            "entity_id_l",
            "entity_id_r",
        ]
    )


def block_on_key(rule: blocking_mod.BlockingRule) -> dict[str, str]:
    """The splink blocking rule (as a dict) for a rule's key column."""
    return {"blocking_rule": f'l."{rule.key_column}" = r."{rule.key_column}"'}


# -- input handling ------------------------------------------------------------------------


def _named_inputs(data: Any) -> dict[str, Any]:
    if isinstance(data, Mapping):
        if not data:
            raise InputError("no inputs given: the dict of inputs is empty")
        names = [str(k) for k in data]
        for name in names:
            if not name.replace("_", "").isalnum():
                raise InputError(f"input name {name!r} must be letters, digits and underscores")
        return {str(k): v for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        if not data:
            raise InputError("no inputs given: the list of inputs is empty")
        if len(data) == 1:
            return {"records": data[0]}
        return {f"input_{i + 1}": item for i, item in enumerate(data)}
    return {"records": data}


def _working_frame(
    frames: dict[str, pd.DataFrame], mappings: dict[str, schema.RoleMapping], role_set: set[str]
) -> pd.DataFrame:
    """One frame with ``rid`` (0..n-1), ``source_dataset`` and one column per role."""
    parts = []
    offset = 0
    for name, frame in frames.items():
        roles = mappings[name].roles
        part = pd.DataFrame(
            {role: frame[roles[role]].to_numpy() for role in sorted(role_set)},
        )
        part.insert(0, "source_dataset", name)
        part.insert(0, "rid", np.arange(offset, offset + len(frame), dtype=np.int64))
        offset += len(frame)
        parts.append(part)
    work = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    work["record_id"] = work["record_id"].astype(str)
    return work


def _minimal_clean(work: pd.DataFrame, roles: Mapping[str, str]) -> pd.DataFrame:
    """The derived columns with only trimming and lower-casing (standardize=False)."""
    out = work.copy()

    def text(role: str) -> pd.Series:
        s = work[role].astype("string").str.strip().str.lower()
        return s.mask(s == "")

    for role in roles:
        if role in ("mobile", "phone"):
            out[f"{role}_e164"] = text(role)
            out[f"{role}_shared"] = False
            out[f"{role}_extension"] = None
        elif role == "email":
            out["email_clean"] = text(role)
            out["email_local"] = out["email_clean"].str.split("@").str[0]
            out["email_domain"] = out["email_clean"].str.split("@").str[-1]
            out["company_domain"] = out["email_domain"]
        elif role == "company":
            out["company_clean"] = out["company_core"] = text(role)
            out["company_region"] = None
        elif role == "person_name":
            out["person_name_clean"] = out["person_name_key"] = text(role)
            out["person_name_keys"] = out["person_name_key"].map(
                lambda v: [v] if isinstance(v, str) else None
            )
            out["person_surname"] = out["person_name_key"].str[:1]
            out["person_name_is_honorific"] = False
        elif role in ("credit_code", "wechat_unionid", "address", "postcode"):
            out[f"{role}_clean"] = text(role)
        elif role in ("province", "city"):
            out[f"{role}_clean"] = text(role)
        elif role == "dob":
            out["dob_date"] = pd.to_datetime(work[role], errors="coerce").dt.date
    return out


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame(columns=["record_id", "role", "column", "value", "reason"])


def _add_simple_clean(derived: pd.DataFrame, role_set: set[str]) -> pd.DataFrame:
    """``<role>_clean`` for roles without a dedicated standardizer: NFKC, trimmed, lower."""
    for role in _SIMPLE_ROLES:
        if role in role_set and f"{role}_clean" not in derived.columns:
            values = derived[role]
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            cleaned = np.array([_simple_text(u) for u in uniques] + [None], dtype=object)
            derived[f"{role}_clean"] = cleaned[codes]
    return derived


def _simple_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(unicodedata.normalize("NFKC", str(value)).lower().split())
    return text or None


def _register_working_table(
    con: duckdb.DuckDBPyConnection, derived: pd.DataFrame, raw_columns: Sequence[str]
) -> str:
    """Register the standardized columns (not the raw ones) with DuckDB as a view."""
    keep = ["rid", "source_dataset"] + [
        c for c in derived.columns if c not in raw_columns and not c.endswith("_problem")
    ]
    # Only registered here: add_block_keys makes the table, keys included, in one copy.
    con.register("linkage_records_view", derived[keep])
    return "linkage_records_view"


def _split_by_source(con: duckdb.DuckDBPyConnection, table: str, sources: list[str]) -> list[str]:
    tables = []
    for i, source in enumerate(sources):
        name = f"linkage_records_{i}"
        run(
            con,
            f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {table} WHERE source_dataset = ?",
            [source],
        )
        tables.append(name)
    return tables


def _comparison_columns(linker: Any) -> dict[str, set[str]]:
    """comparison name -> the input columns it reads (to choose EM passes)."""
    out = {}
    for comparison in linker._settings_obj.comparisons:
        cols = {c.input_name for c in comparison._input_columns_used_by_case_statement}
        out[comparison.output_column_name] = cols
    return out


# -- clustering support -------------------------------------------------------------------


def _keep_apart_pairs(
    ctx: _RunContext,
    auto: dict[str, np.ndarray],
    n: int,
    weight_floor: float,
    pairs_table: str,
    max_group_size: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that must not share an entity: scored pairs with evidence below the floor,
    including pairs inside candidate groups that blocking never proposed.

    Only pairs inside one connected component of the links can ever end in one entity, so
    only those are fetched: a few thousand rows instead of every weak pair.
    """
    con = ctx.con
    groups = clustering.connected_components(n, auto["rid_l"], auto["rid_r"])
    sizes = clustering.group_sizes(groups)
    linked = np.flatnonzero(sizes >= 2)
    con.register("linkage_linked_view", pd.DataFrame({"rid": linked, "group_id": groups[linked]}))
    scored = con.execute(
        f"SELECT p.rid_l, p.rid_r FROM {pairs_table} p "
        "JOIN linkage_linked_view gl ON gl.rid = p.rid_l "
        "JOIN linkage_linked_view gr ON gr.rid = p.rid_r "
        "WHERE gl.group_id = gr.group_id AND p.match_weight < ?",
        [weight_floor],
    ).fetchnumpy()
    con.unregister("linkage_linked_view")
    left, right = [scored["rid_l"]], [scored["rid_r"]]
    candidate = (sizes >= 3) & (sizes <= max_group_size)
    if candidate.any():
        from splink import block_on

        members = pd.DataFrame({"rid": np.flatnonzero(candidate), "group_id": groups[candidate]})
        group_table = f"linkage_group_records_{ctx.generation}"
        con.register("linkage_groups_view", members)
        run(
            con,
            f"CREATE OR REPLACE TABLE {group_table} AS SELECT r.*, g.group_id "
            f"FROM {ctx.records_table} r JOIN linkage_groups_view g USING (rid)",
        )
        con.unregister("linkage_groups_view")
        sdf = ctx.linker._db_api.register(group_table, table_name=f"{group_table}_input")
        within = ctx.linker.inference.predict_within(
            sdf,
            link_type="dedupe_only",
            blocking_rules_to_generate_predictions=[block_on("group_id")],
        )
        extra = con.execute(
            f"SELECT rid_l, rid_r FROM {within.physical_name} WHERE match_weight < ?",
            [weight_floor],
        ).fetchnumpy()
        left.append(extra["rid_l"])
        right.append(extra["rid_r"])
    return np.concatenate(left), np.concatenate(right)


# -- results -------------------------------------------------------------------------------


def _assemble(
    ctx: _RunContext,
    labels: np.ndarray,
    trained: model_mod.LinkageModel,
    pairs_table: str,
    entity_ids: np.ndarray,
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
        front["record_id_l"] = original_ids[rid_l]
        if multi:
            front["source_dataset_r"] = sources[rid_r]
        front["record_id_r"] = original_ids[rid_r]
        pairs = pd.concat([pd.DataFrame(front), pairs], axis=1)
        if which == "review":
            pairs = pairs.drop(columns=[c for c in pairs if c.startswith("gamma_")])
            for role in side_roles:
                values = work[role].to_numpy()
                pairs[f"{role}_l"] = values[rid_l]
                pairs[f"{role}_r"] = values[rid_r]
            return pairs.drop(columns=["decision"])
        pairs["entity_id_l"] = entity_ids[rid_l]
        pairs["entity_id_r"] = entity_ids[rid_r]
        return pairs

    return LinkResult(
        entities=entities,
        model=trained,
        roles=mappings,
        blocking=ctx.report,
        problems=ctx.problems,
        records=work.drop(index=sorted(ctx.erased)) if ctx.erased else work,
        connection=con,
        pairs_table=pairs_table,
        labels=labels,
        _pairs_query=query,
        _context=ctx,
    )
