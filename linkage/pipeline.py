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
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import blocking as blocking_mod
from linkage import clustering, decisions, schema
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
        )

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

    Returns:
        a :class:`LinkResult`.

    Raises:
        InputError, SchemaError, ConfigError: with what was wrong and how to fix it.
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
        mapping = schema.validate_records(frame, mapping)
        frames[name], mappings[name] = frame, mapping
        logger.info("input %r: %d records, roles:\n%s", name, len(frame), mapping.describe())
    multi = len(frames) > 1
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
    lap("read")
    if len(work) < 2:
        # One record has no pair to compare: it is its own entity.
        return _single_record_result(work, frames, mappings, model, timings)

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

    con = connection or duckdb.connect()
    records_table = _register_working_table(con, derived, work.columns)
    rules = (
        list(blocking_rules) if blocking_rules is not None else blocking_mod.default_rules(role_set)
    )
    if pair_budget is None:
        pair_budget = max(2_000_000, 20 * len(work))
    rules, report = blocking_mod.add_block_keys(
        con, records_table, rules, max_block_size=max_block_size, pair_budget=pair_budget
    )
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
    )
    return _decide_and_cluster(context, trained, timings)


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
    generation: int = 0

    def next_pairs_table(self) -> str:
        self.generation += 1
        return f"linkage_pairs_{self.generation}"


def _decide_and_cluster(
    ctx: _RunContext,
    trained: model_mod.LinkageModel,
    timings: dict[str, float],
    source_table: str | None = None,
    recluster: bool = True,
    labels: np.ndarray | None = None,
) -> LinkResult:
    """Decide every pair under the model's policy, then cluster: the shared tail of
    :func:`link` and :meth:`LinkResult.redecide`."""
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
    if recluster or labels is None:
        started = time.perf_counter()
        labels = _cluster(ctx, trained, pairs_table)
        timings["cluster"] = time.perf_counter() - started
        logger.info("cluster: %.2fs", timings["cluster"])
    result = _assemble(ctx, labels, trained, pairs_table)
    result.timings = timings
    return result


def _cluster(ctx: _RunContext, trained: model_mod.LinkageModel, pairs_table: str) -> np.ndarray:
    n = len(ctx.work)
    auto = ctx.con.execute(
        f"SELECT rid_l, rid_r, match_weight FROM {pairs_table} WHERE decision = 'auto_merge'"
    ).fetchnumpy()
    if ctx.cluster_method == "connected_components":
        return clustering.connected_components(n, auto["rid_l"], auto["rid_r"])
    prior = trained.probability_two_random_records_match
    prior_weight = math.log2(prior / (1 - prior))
    apart = _keep_apart_pairs(ctx, auto, n, prior_weight + ctx.keep_apart_below, pairs_table)
    labels, refused = clustering.constrained_clusters(
        n, auto["rid_l"], auto["rid_r"], auto["match_weight"], apart[0], apart[1]
    )
    logger.info("clustering refused %d links that would join records kept apart", refused)
    return labels


def _single_record_result(work, frames, mappings, model, timings) -> LinkResult:
    name = next(iter(frames))
    id_column = mappings[name].roles["record_id"]
    entities = pd.DataFrame(
        {id_column: frames[name][id_column].to_numpy(), "entity_id": work["record_id"].to_numpy()}
    )
    logger.info("one record: nothing to compare, it is its own entity")
    return LinkResult(
        entities=entities,
        model=model,
        roles=mappings,
        blocking=blocking_mod.BlockingReport(),
        problems=_empty_problems(),
        timings=timings,
        records=work,
    )


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
    """Copy the standardized columns (not the raw ones) into DuckDB as ``linkage_records``."""
    keep = ["rid", "source_dataset"] + [
        c for c in derived.columns if c not in raw_columns and not c.endswith("_problem")
    ]
    con.register("linkage_records_view", derived[keep])
    run(con, "CREATE OR REPLACE TABLE linkage_records AS SELECT * FROM linkage_records_view")
    con.unregister("linkage_records_view")
    return "linkage_records"


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
    including pairs inside candidate groups that blocking never proposed."""
    con = ctx.con
    scored = con.execute(
        f"SELECT rid_l, rid_r FROM {pairs_table} WHERE match_weight < ?", [weight_floor]
    ).fetchnumpy()
    left, right = [scored["rid_l"]], [scored["rid_r"]]
    groups = clustering.connected_components(n, auto["rid_l"], auto["rid_r"])
    sizes = clustering.group_sizes(groups)
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
    ctx: _RunContext, labels: np.ndarray, trained: model_mod.LinkageModel, pairs_table: str
) -> LinkResult:
    con, work, frames, mappings, multi = ctx.con, ctx.work, ctx.frames, ctx.mappings, ctx.multi
    record_ids = work["record_id"].to_numpy()
    sources = work["source_dataset"].to_numpy()
    if multi:
        keys = np.char.add(np.char.add(sources.astype(str), ":"), record_ids.astype(str))
    else:
        keys = record_ids.astype(str)
    entity_ids = keys[labels]
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
        records=work,
        connection=con,
        pairs_table=pairs_table,
        labels=labels,
        _pairs_query=query,
        _context=ctx,
    )
