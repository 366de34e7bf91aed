"""Training: splink settings over the working tables, and the recipe that sets their m, u
and prior.

Training is unsupervised and follows splink's recommended recipe, chosen from the roles
present:

1. the probability that two random records match, from deterministic rules (records that
   agree on a strong identifier such as mobile plus name) with an assumed recall;
2. u probabilities by random sampling of pairs (seeded, sample sized to the data);
3. m probabilities by expectation maximisation over at least two blocking passes, chosen so
   that every comparison is estimated in at least one pass.

Real CRM files do not always let every step work: a list of company names alone leaves EM
nothing to estimate (splink leaves out of a pass every comparison that reads a blocking
column), sparse identifiers let the deterministic rules find no pair, a few dozen records
let EM drive its match probability to 0 or 1. Training lets no exception of splink or
DuckDB through and leaves no comparison at splink's default parameters:

- a failed step is undone (splink narrows the linker's comparisons before an EM pass and
  restores them only on success) and written to the log; an EM pass that breaks is tried
  once more with the prior held fixed, so the pass's match probability cannot reach 0 or 1;
- a pass with no comparison left to estimate is skipped before splink sees it;
- an EM pass that reaches ``max_iterations`` without converging keeps its estimates (after
  25 iterations they are close, and better than a hand-set default), with a note;
- a comparison no EM pass estimated gets a conservative m ladder (the "anything else" level
  m 0.05, the agreement levels sharing the rest, stronger levels more), named in the log;
- the prior falls back to ``1 / (records - 1)`` (about one other record of the same customer
  per record) when the deterministic rules find no pair or fail;
- the prior stays within ``PRIOR_BOUNDS`` and every m and u within ``M_U_BOUNDS``, strictly
  inside (0, 1): splink takes ``log2`` of m / u and of the prior's odds.

Training raises :class:`ModelError` only when nothing can be learned: EM passes fit the
columns but none found pairs to learn from (too few records), or u could not be sampled and
no EM pass ran. :class:`TrainingLog` says, per comparison, how its m and u were estimated.

This module knows splink and the recipe, not the records: :mod:`linkage.model._steps`
prepares the tables it trains on and turns what it learned into a model's state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from linkage import _splink
from linkage.blocking import BlockingRule
from linkage.errors import ModelError

logger = logging.getLogger("linkage")

# Deterministic rules for the prior, most reliable first; a rule is used when its columns
# exist. Recall is the share of true matches these rules are assumed to catch.
DETERMINISTIC_RULES: tuple[tuple[str, ...], ...] = (
    ("mobile_e164", "person_name_key"),
    ("email_clean",),
    ("wechat_unionid_clean",),
    ("national_id_clean",),
    ("credit_code_clean", "person_name_key"),
    ("first_name_clean", "last_name_clean", "dob_date"),
    ("person_name_key", "dob_date"),
)
_DETERMINISTIC_RECALL = 0.7

# Candidate EM blocking passes, in order of preference.
EM_PASSES: tuple[tuple[str, ...], ...] = (
    ("mobile_e164",),
    ("person_name_key", "company_core"),
    ("email_clean",),
    ("person_name_key",),
    ("first_name_clean", "last_name_clean"),
    ("dob_date",),
    ("postcode_clean",),
    ("city_clean",),
    ("company_core",),
)

# Columns derived from the same field. Splink leaves out of an EM pass only the comparisons
# that read a blocking column by name; blocking on person_name_key while first_name_clean is
# compared would let EM "learn" that names always agree. Such passes are skipped.
FIELD_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "person_name_key",
            "person_name_clean",
            "person_name_keys",
            "person_surname",
            "person_name_is_honorific",
            "first_name_clean",
            "last_name_clean",
        }
    ),
    frozenset(
        {
            "company_core",
            "company_clean",
            "company_region",
            "credit_code_clean",
            "address_clean",
            "city_clean",
            "province_clean",
        }
    ),
    frozenset({"email_clean", "email_local", "email_domain", "company_domain"}),
)

# Every m and u is kept within these bounds, strictly inside (0, 1): splink takes log2 of
# m / u and of the prior's odds. 1e-6 is splink's own stand-in for a level it never saw,
# and caps one level's evidence at about 20 bits. The prior's floor is far lower: a million
# records make 5e11 pairs, and a prior of 1e-6 would claim 500,000 matching pairs.
M_U_BOUNDS = (1e-6, 1 - 1e-6)
PRIOR_BOUNDS = (1e-12, 1 - 1e-6)

# The fallback m ladder, for a comparison no EM pass could estimate: a true match lands on
# "anything else" 5% of the time (typos, a moved customer); the agreement levels share the
# rest linearly, strongest first. (A halving ladder, over the ten levels of the account
# comparison, gave the weakest levels, such as "same city", an m far below their u: a
# weight against a match, stronger than "anything else".)
_FALLBACK_ELSE_M = 0.05
# The fallback u ladder, only when random sampling fails or sees none of a comparison's
# values: the agreement levels share 5% of random pairs, the weakest the most.
_FALLBACK_AGREE_U = 0.05
_EM_MAX_PAIRS = 2_000_000


@dataclass
class TrainingLog:
    """What training did, for reports and debugging; saved with the model.

    Attributes:
        prior_rules: the deterministic rules tried for the prior (those whose columns exist).
        u_max_pairs: the size of the random sample for u.
        em_passes: the EM blocking passes that ran, in order.
        probability_two_random_records_match: the prior the model holds.
        untrained: splink's lines naming levels whose m or u no step estimated (no pair
            was seen there; those levels keep splink's default).
        prior_method: how the prior was set: the rules, splink's default, or a fallback.
        skipped_passes: candidate passes that did not run or failed, with why
            (``"company_core: nothing to estimate ..."``, ``"mobile_e164: no pairs"``).
        estimates: comparison -> ``{"m": how, "u": how}``, e.g. ``{"m": "EM pass
            mobile_e164", "u": "random sampling (up to 200,000 pairs, seed 0)"}``; a
            fallback's entry starts with ``"fallback"``.
        notes: anything else worth knowing (EM that did not converge, values clamped,
            steps that failed).
    """

    prior_rules: list[tuple[str, ...]] = field(default_factory=list)
    u_max_pairs: int = 0
    em_passes: list[tuple[str, ...]] = field(default_factory=list)
    probability_two_random_records_match: float | None = None
    untrained: list[str] = field(default_factory=list)
    prior_method: str = ""
    skipped_passes: list[str] = field(default_factory=list)
    estimates: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def fallbacks(self) -> dict[str, dict[str, str]]:
        """The comparisons with an m or u from a fallback: name -> {"m" or "u": how}."""
        return {
            name: {kind: how for kind, how in entry.items() if how.startswith("fallback")}
            for name, entry in self.estimates.items()
            if any(how.startswith("fallback") for how in entry.values())
        }

    def to_dict(self) -> dict[str, Any]:
        """The log as JSON-ready data (rules and passes as lists)."""
        return {
            "prior_rules": [list(rule) for rule in self.prior_rules],
            "prior_method": self.prior_method,
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "u_max_pairs": self.u_max_pairs,
            "em_passes": [list(columns) for columns in self.em_passes],
            "skipped_passes": list(self.skipped_passes),
            "estimates": {name: dict(entry) for name, entry in self.estimates.items()},
            "notes": list(self.notes),
            "untrained": list(self.untrained),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingLog:
        """A log from :meth:`to_dict`; missing keys take their defaults."""
        prior = data.get("probability_two_random_records_match")
        return cls(
            prior_rules=[tuple(rule) for rule in data.get("prior_rules", [])],
            u_max_pairs=int(data.get("u_max_pairs", 0)),
            em_passes=[tuple(columns) for columns in data.get("em_passes", [])],
            probability_two_random_records_match=None if prior is None else float(prior),
            untrained=list(data.get("untrained", [])),
            prior_method=str(data.get("prior_method", "")),
            skipped_passes=list(data.get("skipped_passes", [])),
            estimates={name: dict(entry) for name, entry in data.get("estimates", {}).items()},
            notes=list(data.get("notes", [])),
        )

    def describe(self) -> str:
        """The log as text: the prior, the passes, and how each comparison was estimated.

        Example::

            print(result.model.training_log_.describe())
        """
        prior = self.probability_two_random_records_match
        lines = [
            "prior (probability two random records match): "
            + (f"{prior:.3g}" if prior is not None else "not set")
            + (f", {self.prior_method}" if self.prior_method else ""),
            f"u sample: up to {self.u_max_pairs:,} pairs",
            "EM passes: " + ("; ".join("+".join(c) for c in self.em_passes) or "none"),
        ]
        if self.skipped_passes:
            lines.append("passes skipped or failed:")
            lines.extend(f"  - {why}" for why in self.skipped_passes)
        if self.estimates:
            lines.append("how each comparison was estimated:")
            width = max(len(name) for name in self.estimates)
            for name, entry in self.estimates.items():
                lines.append(f"  {name:<{width}}  m: {entry.get('m', 'not recorded')}")
                lines.append(f"  {'':<{width}}  u: {entry.get('u', 'not recorded')}")
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        if self.untrained:
            lines.append("left at splink's default (nothing observed to estimate them):")
            lines.extend(f"  - {' '.join(line.split())}" for line in self.untrained)
        return "\n".join(lines)


def build_settings(
    comparisons: dict[str, Any],
    rules: Sequence[BlockingRule],
    *,
    link_type: str,
) -> SettingsCreator:
    """Splink settings over the working table (unique id ``rid``)."""
    named = []
    for name, comparison in comparisons.items():
        if hasattr(comparison, "configure") and not isinstance(comparison, dict):
            # Fix the output name, so decisions can refer to gamma_<name>.
            comparison = with_output_name(comparison, name)
        named.append(comparison)
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="rid",
        comparisons=named,
        blocking_rules_to_generate_predictions=[block_on(r.key_column) for r in rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        max_iterations=25,
        em_convergence=0.001,
    )


def with_output_name(comparison: Any, name: str) -> Any:
    """``comparison`` named ``name`` (its ``gamma_<name>`` column): a splink comparison
    creator as splink's dict of it, renamed; anything else as it is."""
    # splink's ComparisonCreator keeps the name in `_output_column_name` for custom
    # comparisons and derives it from the column otherwise; `configure` has no name option,
    # so go through the dict form, which splink accepts everywhere.
    if isinstance(comparison, _splink.ComparisonCreator):
        as_dict = comparison.get_comparison("duckdb").as_dict()
        as_dict["output_column_name"] = name
        return as_dict
    return comparison


def make_linker(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    settings: SettingsCreator | dict[str, Any],
) -> Linker:
    """A splink Linker over working tables already in ``con``."""
    db_api = DuckDBAPI(connection=con)
    sdfs = [db_api.register(t, dataset_display_name=t) for t in tables]
    return Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings, log_level=None)


def train(
    linker: Linker,
    available_columns: set[str],
    comparisons_columns: dict[str, set[str]],
    *,
    n_records: int,
    seed: int,
    em_passes: Sequence[Sequence[str]] | None = None,
    deterministic_rules: Sequence[Sequence[str]] | None = None,
    families: Sequence[frozenset[str]] | None = None,
) -> TrainingLog:
    """Run the training recipe on ``linker`` (parameters are set in place).

    Args:
        linker: a splink linker over the working tables (see :func:`make_linker`).
        available_columns: the derived columns the records have.
        comparisons_columns: comparison output name -> the input columns it reads.
        n_records: records in all (sizes the u sample and the fallback prior).
        seed: for the u sample.
        em_passes: candidate EM blocking passes (tuples of columns), in order of
            preference; default :data:`EM_PASSES`.
        deterministic_rules: rules for the prior, most reliable first; default
            :data:`DETERMINISTIC_RULES`.
        families: sets of columns derived from one field (a pass blocking on one while
            another is compared is skipped); default :data:`FIELD_FAMILIES`.

    Returns:
        what training did, per comparison (see :class:`TrainingLog`).

    Raises:
        ModelError: nothing could be learned: EM passes fit the data but none found pairs
            to learn from (too few records), or u could not be sampled and no EM ran.
    """
    passes = EM_PASSES if em_passes is None else tuple(tuple(p) for p in em_passes)
    rules = (
        DETERMINISTIC_RULES
        if deterministic_rules is None
        else tuple(tuple(r) for r in deterministic_rules)
    )
    families = FIELD_FAMILIES if families is None else tuple(frozenset(f) for f in families)
    log = TrainingLog()

    _estimate_prior(linker, available_columns, rules, n_records, log)
    # The u sample: enough pairs for rare levels, not so many that it dominates the run
    # (measured: 1e7 pairs took 20 s of a 25 s run at 100k records).
    max_pairs = int(min(max(n_records * 20, 200_000), 3_000_000))
    log.u_max_pairs = max_pairs
    u_method = _estimate_u(linker, max_pairs, seed, log)

    em = _run_em_passes(linker, available_columns, comparisons_columns, passes, families, log)
    if not em.done and (em.attempted or u_method is None):
        raise ModelError(
            "could not train the model: no EM blocking pass could learn from these records "
            f"({'; '.join(log.skipped_passes) or 'no candidate pass fits the columns'})"
            + ("" if u_method else "; random sampling for u failed too")
            + ". Link more records at once, or score with a trained model: "
            "link(df, model=LinkageModel.load(path))"
        )
    if not em.done:
        log.notes.append(
            "no EM pass could run on these columns: every m is a fallback, every "
            "comparison's evidence is an assumption"
        )
        logger.warning("training: %s", log.notes[-1])
    sampled_pairs = min(max_pairs, max(n_records * (n_records - 1) // 2, 1))
    _fill_what_training_missed(linker, em, u_method, sampled_pairs, log)
    _clamp_probabilities(linker, log)
    log.untrained = _splink.not_trained_messages(linker)
    return log


def _estimate_prior(
    linker: Linker,
    available: set[str],
    rules: Sequence[tuple[str, ...]],
    n_records: int,
    log: TrainingLog,
) -> None:
    """The prior from the deterministic rules whose columns exist, or a fallback."""
    usable = [rule for rule in rules if set(rule) <= available]
    log.prior_rules = usable
    why_not = ""
    if usable:
        try:
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*rule) for rule in usable], recall=_DETERMINISTIC_RECALL
            )
        except Exception as exc:  # e.g. more matches than the recall allows
            why_not = f"the deterministic rules failed: {first_line(exc)}"
        else:
            prior = _splink.probability_two_random_records_match(linker)
            if prior <= 0:
                why_not = "the deterministic rules found no pair of records"
            elif prior >= 1:
                why_not = "the deterministic rules matched every pair of records"
            else:
                log.prior_method = (
                    f"deterministic rules {', '.join('+'.join(r) for r in usable)} "
                    f"(assumed recall {_DETERMINISTIC_RECALL})"
                )
    else:
        prior = _splink.probability_two_random_records_match(linker)
        log.prior_method = f"splink's default {prior:g}: no deterministic rule fits the columns"
    if why_not:
        prior = 1 / max(n_records - 1, 1)
        _splink.set_probability_two_random_records_match(linker, prior)
        log.prior_method = (
            f"fallback: 1/(records - 1), about one other record of the same customer per "
            f"record ({why_not})"
        )
        logger.warning("training: prior %s", log.prior_method)
    low, high = PRIOR_BOUNDS
    prior = _splink.probability_two_random_records_match(linker)
    if not low <= prior <= high:
        kept = min(max(prior, low), high)
        _splink.set_probability_two_random_records_match(linker, kept)
        log.notes.append(f"prior {prior:g} clamped to {kept:g} (bounds {low:g}..{high!r})")
    log.probability_two_random_records_match = _splink.probability_two_random_records_match(linker)


def _estimate_u(linker: Linker, max_pairs: int, seed: int, log: TrainingLog) -> str | None:
    """u by random sampling; how, or None when sampling failed (the model is untouched)."""
    snapshot = _splink.model_snapshot(linker)
    try:
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    except Exception as exc:
        _splink.restore_model(linker, snapshot)
        log.notes.append(f"random sampling for u failed: {first_line(exc)}")
        logger.warning("training: %s", log.notes[-1])
        return None
    return f"random sampling (up to {max_pairs:,} pairs, seed {seed})"


@dataclass
class _EMPasses:
    """The EM passes: which ran, which comparisons each estimated (and could have: it
    reads no blocking column), how many were tried."""

    done: list[tuple[str, ...]] = field(default_factory=list)
    estimated_by: dict[str, list[str]] = field(default_factory=dict)
    estimable_in: dict[str, list[str]] = field(default_factory=dict)
    attempted: int = 0


def _run_em_passes(
    linker: Linker,
    available: set[str],
    comparison_columns: dict[str, set[str]],
    candidates: Sequence[tuple[str, ...]],
    families: Sequence[frozenset[str]],
    log: TrainingLog,
) -> _EMPasses:
    """EM over blocking passes until every comparison was estimated by one, at least two.

    A pass that yields no pairs (small or sparse data) or fails is skipped for the next
    candidate, and so is a pass that would leave nothing to estimate.
    """
    em = _EMPasses(estimated_by={name: [] for name in comparison_columns})
    uncovered = set(comparison_columns)
    for columns in candidates:
        if not set(columns) <= available:
            continue
        label = "+".join(columns)
        estimable = {n for n, used in comparison_columns.items() if not used & set(columns)}
        covers = estimable & uncovered
        if not covers and len(em.done) >= 2:
            continue
        if not _pass_is_safe(columns, comparison_columns, families):
            log.skipped_passes.append(
                f"{label}: a comparison reads another column of the same field"
            )
            continue
        if not estimable:
            # splink would leave out every comparison and run EM on none (a SQL error)
            log.skipped_passes.append(
                f"{label}: nothing to estimate (every comparison reads {label})"
            )
            continue
        em.attempted += 1
        outcome, how = _em_pass(linker, columns)
        if outcome is None:
            log.skipped_passes.append(f"{label}: {how}")
            continue
        em.done.append(columns)
        if not outcome.converged:
            log.notes.append(
                f"EM pass {label} did not converge in {outcome.max_iterations} iterations: "
                "its estimates are kept"
            )
            logger.warning("training: %s", log.notes[-1])
            how = f"{how}, not converged" if how else "not converged"
        described = f"{label} ({how})" if how else label
        for name in outcome.estimated:
            em.estimated_by.setdefault(name, []).append(described)
        for name in estimable:
            em.estimable_in.setdefault(name, []).append(label)
        # Covered once a pass could estimate it, seen or not (as the passes were always
        # chosen); a comparison no pass saw gets a fallback afterwards.
        uncovered -= covers
        if not uncovered and len(em.done) >= 2:
            break
    log.em_passes = list(em.done)
    return em


def _em_pass(linker: Linker, columns: tuple[str, ...]) -> tuple[_splink.EMOutcome | None, str]:
    """One EM pass: its outcome and a qualifier, or None and why it failed.

    A pass that breaks (in a few dozen records EM can drive the pass's match probability to
    0 or 1, and splink's log2 of it raises) is tried once more with the prior held fixed.
    A failed attempt leaves the linker's model as it was before.
    """
    failure = ""
    for fix_prior in (False, True):
        snapshot = _splink.model_snapshot(linker)
        try:
            session = linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns),
                fix_probability_two_random_records_match=fix_prior,
                max_pairs=_EM_MAX_PAIRS,
            )
        except _splink.EMTrainingException as exc:
            _splink.restore_model(linker, snapshot)
            return None, "no pairs" if "no record pairs" in str(exc) else first_line(exc)
        except Exception as exc:  # splink or DuckDB: a log entry, never the user's problem
            _splink.restore_model(linker, snapshot)
            failure = f"EM failed ({type(exc).__name__}: {first_line(exc)})"
            continue
        return _splink.em_outcome(linker, session), "prior held fixed" if fix_prior else ""
    return None, f"{failure}, also with the prior held fixed"


def _fill_what_training_missed(
    linker: Linker, em: _EMPasses, u_method: str | None, sampled_pairs: int, log: TrainingLog
) -> None:
    """Fallback m (and u) for comparisons no step estimated; the log's per-comparison entries.

    A comparison counts as estimated by EM when a pass saw at least one of its levels; the
    levels EM never saw keep splink's default (listed in ``untrained``), as before. A
    fallback comparison keeps no splink default at all.
    """
    ran = ", ".join("+".join(columns) for columns in em.done)
    for name, levels in _splink.level_probabilities(linker).items():
        passes = em.estimated_by.get(name, [])
        u = [level.u for level in levels]
        if u_method is None:
            u = _fallback_u(len(levels))
            u_how = (
                f"fallback: default ladder, agreement levels u {_FALLBACK_AGREE_U} in all "
                "(random sampling failed)"
            )
            _splink.set_level_probabilities(linker, name, u=u, description=u_how)
        elif not passes and all(value is None for value in u):
            u = _fallback_u(len(levels))
            u_how = (
                f"fallback: default ladder, agreement levels u {_FALLBACK_AGREE_U} in all "
                "(random sampling saw no pair with it on both sides)"
            )
            _splink.set_level_probabilities(linker, name, u=u, description=u_how)
        elif not passes and None in u:
            # An agreement level the sample never saw is rarer than one pair in the sample;
            # "anything else" takes what the other levels leave.
            unseen = [level.label for level in levels if level.u is None]
            u = [1 / sampled_pairs if value is None else value for value in u[:-1]]
            rest = levels[-1].u if levels[-1].u is not None else 1 - sum(u)
            u.append(max(rest, M_U_BOUNDS[0]))
            u_how = (
                f"{u_method}; fallback 1/{sampled_pairs:,} for levels never sampled "
                f"({', '.join(map(repr, unseen))})"
            )
            _splink.set_level_probabilities(linker, name, u=u, description=u_how)
        else:
            u_how = u_method
        if passes:
            m_how = ("EM pass " if len(passes) == 1 else "EM passes ") + "; ".join(passes)
        else:
            if not em.done:
                why = "no EM pass could run"
            elif em.estimable_in.get(name):
                why = (
                    f"no pair in EM passes {', '.join(em.estimable_in[name])} had it on both sides"
                )
            else:
                why = f"every EM pass that ran ({ran}) blocks on a column it reads"
            m_how = f"fallback: default ladder, else-level m {_FALLBACK_ELSE_M} ({why})"
            m = _no_stronger_than_above(_fallback_m(len(levels)), u)
            _splink.set_level_probabilities(linker, name, m=m, description=m_how)
            logger.warning("training: m of %s from a %s", name, m_how)
        log.estimates[name] = {"m": m_how, "u": u_how}


def _fallback_m(n_levels: int) -> list[float]:
    """m for the non-null levels (strongest first, "anything else" last): else-level m
    ``_FALLBACK_ELSE_M``, the agreement levels sharing the rest linearly, strongest most."""
    agreement = n_levels - 1
    if agreement < 1:
        return [1.0] * n_levels  # a comparison of one level carries no evidence
    total = agreement * (agreement + 1) / 2
    share = 1 - _FALLBACK_ELSE_M
    return [share * (agreement - i) / total for i in range(agreement)] + [_FALLBACK_ELSE_M]


def _fallback_u(n_levels: int) -> list[float]:
    """u for the non-null levels when random sampling failed or saw none of the
    comparison's values: agreement levels share ``_FALLBACK_AGREE_U`` linearly, the
    strongest least; "anything else" the rest."""
    agreement = n_levels - 1
    if agreement < 1:
        return [1.0] * n_levels
    total = agreement * (agreement + 1) / 2
    return [_FALLBACK_AGREE_U * (i + 1) / total for i in range(agreement)] + [1 - _FALLBACK_AGREE_U]


def _no_stronger_than_above(m: list[float], u: Sequence[float | None]) -> list[float]:
    """The fallback ``m`` lowered where an agreement level would outweigh the level above
    it (a rare fuzzy level's small u would otherwise give it more weight than exact
    agreement); the "anything else" level is left as it is."""
    capped = list(m)
    for i in range(1, len(capped) - 1):
        above, here = u[i - 1], u[i]
        if above and here and capped[i] / here > capped[i - 1] / above:
            capped[i] = here * capped[i - 1] / above
    return capped


def _clamp_probabilities(linker: Linker, log: TrainingLog) -> None:
    """Every m and u into ``M_U_BOUNDS``; each value moved is noted."""
    low, high = M_U_BOUNDS

    def clamp(value: float | None) -> float | None:
        if value is None or low <= value <= high:
            return None
        return min(max(value, low), high)

    for name, levels in _splink.level_probabilities(linker).items():
        m = [clamp(level.m) for level in levels]
        u = [clamp(level.u) for level in levels]
        if not any(v is not None for v in m + u):
            continue
        _splink.set_level_probabilities(
            linker, name, m=m, u=u, description=f"clamped into {low:g}..{high!r}"
        )
        moved = [
            f"{level.label!r} {kind} {old:g}"
            for level, new_m, new_u in zip(levels, m, u)
            for kind, old, new in (("m", level.m, new_m), ("u", level.u, new_u))
            if new is not None
        ]
        log.notes.append(f"{name}: clamped into {low:g}..{high!r}: {', '.join(moved)}")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for a log entry
    or an error message; the exception's type when it has no message."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _pass_is_safe(
    columns: Sequence[str],
    comparison_columns: dict[str, set[str]],
    families: Sequence[frozenset[str]] = FIELD_FAMILIES,
) -> bool:
    """True when every comparison is either excluded by splink (it reads a blocking column)
    or shares no field family with the blocking columns."""
    blocked = set(columns)
    related = set().union(*(f for f in families if f & blocked)) if blocked else set()
    for used in comparison_columns.values():
        if used & blocked:
            continue  # splink fixes this comparison's parameters in this pass
        if used & related:
            return False
    return True
