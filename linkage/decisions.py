"""Decisions: each scored pair becomes ``auto_merge``, ``review`` or ``distinct``, with a reason.

Two thresholds on the match weight split pairs into three bands (``auto_merge`` at or above
``auto_merge``, ``review`` at or above ``review``, ``distinct`` below). Routing rules, held as
data, then adjust single pairs: a rule *caps* a decision (phone alone agreeing is at most a
review: it may be a switchboard or a reassigned number) or *floors* it (company and phone
agreeing together is a duplicate). Rules see one flag per comparison:

* ``agree_<comparison>``: the pair agrees on it (a level that counts as real agreement),
* ``conflict_<comparison>``: both records have a value and the values differ (for the
  account, also when only the city agrees: :data:`CONFLICT_LEVEL_LABELS`),

and are written as SQL boolean expressions over those flags, so analysts can add their own
without code. Re-deciding with new thresholds reuses the scores: no retraining, no rescoring.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import duckdb

from linkage._sql import run
from linkage.errors import ConfigError

DECISIONS = ("distinct", "review", "auto_merge")
_RANK = {d: i for i, d in enumerate(DECISIONS)}

#: Comparisons that say *who* a record is; a phone agreeing with none of them is weak.
IDENTITY_COMPARISONS = (
    "person_name",
    "first_name",
    "last_name",
    "email",
    "account",
    "company",
    "credit_code",
    "wechat_unionid",
    "national_id",
    "dob",
)


@dataclass(frozen=True)
class Thresholds:
    """Match-weight thresholds: ``auto_merge`` at or above ``auto_merge``, ``review`` at
    or above ``review``, else ``distinct``."""

    # Defaults measured on the CRM generator and on splink's benchmark sets: a pair more
    # likely than not to match (weight 0, probability 0.5) merges; down to about 6%
    # (weight -4) a person looks. benchmarks/RESULTS.md has the figures behind them.
    review: float = -4.0
    auto_merge: float = 0.0

    def __post_init__(self) -> None:
        for name in ("review", "auto_merge"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(value):
                raise ConfigError(f"threshold {name!r} must be a number, got {value!r}")
        if self.review > self.auto_merge:
            raise ConfigError(
                f"the review threshold ({self.review}) must not be above the auto_merge "
                f"threshold ({self.auto_merge})"
            )

    @classmethod
    def from_probabilities(cls, review: float, auto_merge: float) -> Thresholds:
        """Thresholds given as match probabilities (0 < p < 1) instead of weights."""
        return cls(review=_weight(review, "review"), auto_merge=_weight(auto_merge, "auto_merge"))


def _weight(p: float, name: str) -> float:
    if not 0 < p < 1:
        raise ConfigError(f"{name} probability must be strictly between 0 and 1, got {p}")
    return math.log2(p / (1 - p))


@dataclass(frozen=True)
class RoutingRule:
    """A rule that adjusts the decision of the pairs it matches.

    Attributes:
        name: short name, shown as the reason.
        when: SQL boolean expression over ``agree_<comparison>`` and
            ``conflict_<comparison>`` flags (and ``match_weight``).
        action: ``"cap"`` (at most ``decision``) or ``"floor"`` (at least ``decision``).
        decision: ``auto_merge``, ``review`` or ``distinct``.
        reason: the sentence a reviewer reads.
        min_weight: the rule only applies to pairs at or above this match weight
            (``None``: any weight), so a floor cannot lift a pair whose other fields
            argue strongly against it.
    """

    name: str
    when: str
    action: str
    decision: str
    reason: str
    min_weight: float | None = None

    def __post_init__(self) -> None:
        if self.action not in ("cap", "floor"):
            raise ConfigError(f"rule {self.name!r}: action must be 'cap' or 'floor'")
        if self.decision not in DECISIONS:
            raise ConfigError(
                f"rule {self.name!r}: decision must be one of {DECISIONS}, got {self.decision!r}"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ConfigError(f"rule name {self.name!r} must be an identifier")
        if ";" in self.when:
            raise ConfigError(f"rule {self.name!r}: 'when' must be one SQL expression")


def default_rules(comparisons: Iterable[str], level: str = "person") -> list[RoutingRule]:
    """The CRM defaults, for the comparisons present and the entity level."""
    names = set(comparisons)
    if level == "organization":
        return _organization_rules(names)
    phones = [f"agree_{c}" for c in ("mobile", "phone") if c in names]
    others = [f"agree_{c}" for c in IDENTITY_COMPARISONS if c in names]
    rules: list[RoutingRule] = []
    if phones:
        any_phone = " OR ".join(phones)
        no_other = " AND ".join(f"NOT {o}" for o in others) or "true"
        rules.append(
            RoutingRule(
                name="phone_only",
                when=f"({any_phone}) AND {no_other}",
                action="cap",
                decision="review",
                reason="only the phone agrees: it may be a shared or reassigned number",
            )
        )
    if phones and "account" in names:
        no_name_conflict = (
            " AND ".join(
                f"NOT conflict_{c}"
                for c in ("person_name", "first_name", "last_name")
                if c in names
            )
            or "true"
        )
        rules.append(
            RoutingRule(
                name="company_and_phone",
                when=f"agree_account AND ({' OR '.join(phones)}) AND {no_name_conflict}",
                action="floor",
                decision="auto_merge",
                reason="company and phone agree, and the names do not conflict",
                min_weight=0.0,
            )
        )
    if "person_name" in names:
        rules.append(
            RoutingRule(
                name="name_conflict",
                when="conflict_person_name",
                action="cap",
                decision="review",
                reason="the names differ: a colleague or a reassigned number is as likely",
            )
        )
    namesake = _namesake_elsewhere(names, phones)
    if namesake is not None:
        rules.append(namesake)
    return rules


def _namesake_elsewhere(names: set[str], phones: list[str]) -> RoutingRule | None:
    """A name agreeing at another company, with another phone, is at most a review.

    China has many 张伟: a namesake at another company matches the name (and often an
    email local part spelled from it), and nothing else. Whatever the weights add up to,
    such a pair needs a person (issue 13). "Another company": the account comparison
    conflicts (every account field both have differs, or only the city agrees: see
    :data:`CONFLICT_LEVEL_LABELS`). "Another phone": a phone differs and none agrees. A
    WeChat UnionID or personal id number agreeing names the person, not the name, and
    lifts the cap.

    On the generator (10,000 leads, seed 11) it holds 2 pairs at review, both namesakes.
    Counting the account's other weak levels (same address, switchboard) as another
    company too held 10, 6 of them one person: one company written in English and in
    Chinese.
    """
    if "account" not in names or not phones:
        return None
    if "person_name" in names:
        name_agrees = "agree_person_name"
    elif {"first_name", "last_name"} <= names:
        name_agrees = "agree_first_name AND agree_last_name"
    else:
        return None
    phone_differs = " OR ".join(f"conflict_{p.removeprefix('agree_')}" for p in phones)
    no_phone_agrees = " AND ".join(f"NOT {p}" for p in phones)
    identifiers = "".join(
        f" AND NOT agree_{c}" for c in ("wechat_unionid", "national_id") if c in names
    )
    return RoutingRule(
        name="namesake_elsewhere",
        when=(
            f"{name_agrees} AND conflict_account AND ({phone_differs}) "
            f"AND {no_phone_agrees}{identifiers}"
        ),
        action="cap",
        decision="review",
        reason="only the name agrees: another company and another phone, likely a namesake",
    )


def _organization_rules(names: set[str]) -> list[RoutingRule]:
    """Organizations: a phone agreeing alone is at most a review (businesses in one
    building share a switchboard; a number passes to the next tenant)."""
    phones = [f"agree_{c}" for c in ("phone", "mobile", "fax") if c in names]
    others = [
        f"agree_{c}"
        for c in ("company", "credit_code", "address", "website", "email", "coordinates")
        if c in names
    ]
    if not phones:
        return []
    no_other = " AND ".join(f"NOT {o}" for o in others) or "true"
    return [
        RoutingRule(
            name="phone_only",
            when=f"({' OR '.join(phones)}) AND {no_other}",
            action="cap",
            decision="review",
            reason="only the phone agrees: businesses in one building share a switchboard",
        )
    ]


@dataclass(frozen=True)
class DecisionPolicy:
    """Thresholds plus routing rules: everything that turns a score into a decision."""

    thresholds: Thresholds = Thresholds()
    rules: tuple[RoutingRule, ...] = ()

    def to_dict(self) -> dict:
        return {"thresholds": asdict(self.thresholds), "rules": [asdict(r) for r in self.rules]}

    @classmethod
    def from_dict(cls, data: dict) -> DecisionPolicy:
        return cls(
            thresholds=Thresholds(**data["thresholds"]),
            rules=tuple(RoutingRule(**r) for r in data.get("rules", [])),
        )


class AgreementLevels(dict[str, list[int]]):
    """comparison name -> the gamma values that count as agreement (a plain dict, as
    rules and callers always read it), plus ``conflicts``: comparison name -> the gamma
    values besides 0 ("anything else") that count as a conflict."""

    def __init__(self, agree: dict[str, list[int]], conflicts: dict[str, list[int]]) -> None:
        super().__init__(agree)
        self.conflicts = conflicts


def agreement_levels(splink_settings: dict) -> AgreementLevels:
    """comparison name -> the gamma values that count as agreement.

    Every level between null and "anything else" counts, except where a comparison's weak
    levels are named in :data:`WEAK_LEVEL_LABELS` (a namesake company in another city is
    not the same company). Levels named in :data:`CONFLICT_LEVEL_LABELS` count as a
    conflict, as "anything else" does (the result's ``conflicts``).
    """
    out: dict[str, list[int]] = {}
    conflicts: dict[str, list[int]] = {}
    for comparison in splink_settings["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]
        weak = WEAK_LEVEL_LABELS.get(name, ())
        conflicting = CONFLICT_LEVEL_LABELS.get(name, ())
        values = []
        for position, level in enumerate(levels):
            gamma = len(levels) - 1 - position
            label = level.get("label_for_charts", "")
            if gamma > 0 and label not in weak:
                values.append(gamma)
            if gamma > 0 and label in conflicting:
                conflicts.setdefault(name, []).append(gamma)
        out[name] = values
    return AgreementLevels(out, conflicts)


#: Levels that are weak evidence, by comparison and label: they do not count as agreement.
WEAK_LEVEL_LABELS: dict[str, tuple[str, ...]] = {
    "company": ("one name token in common", "Jaro-Winkler distance of company_core >= 0.85"),
    "address": ("same street, another house number", "different house numbers"),
    "account": (
        "same address",
        "same switchboard",
        "Jaro-Winkler distance of company_core >= 0.9",
        "same company name, different region",
        "Exact match on city_clean",
        "Exact match on address_clean",
        "Damerau-Levenshtein distance of credit_code_clean <= 1",
    ),
}

#: Levels that count as a conflict, as "anything else" does, by comparison and label. The
#: account's "same city": every company field both records have differs, only the city
#: agrees (two companies in one city). Its other weak levels (same address, switchboard,
#: a look-alike name) are as often one company written two ways (``信通汽车零部件`` ~
#: ``Xintong Auto Parts Co., Ltd.``), so they are neither agreement nor conflict.
CONFLICT_LEVEL_LABELS: dict[str, tuple[str, ...]] = {
    "account": ("Exact match on city_clean",),
}


def agreement_flags_sql(levels: dict[str, list[int]]) -> str:
    """SELECT-list fragments defining ``agree_*`` and ``conflict_*`` from ``gamma_*``.

    ``conflict_<c>`` is "anything else" (gamma 0), and the levels ``levels.conflicts``
    names when ``levels`` is an :class:`AgreementLevels`."""
    conflicts = getattr(levels, "conflicts", {})
    parts = []
    for name, values in levels.items():
        agree = f'"gamma_{name}" IN ({", ".join(map(str, values))})' if values else "false"
        conflict = ", ".join(map(str, [0, *conflicts.get(name, [])]))
        parts.append(f'coalesce({agree}, false) AS "agree_{name}"')
        parts.append(f'coalesce("gamma_{name}" IN ({conflict}), false) AS "conflict_{name}"')
    return ", ".join(parts)


def decide(
    con: duckdb.DuckDBPyConnection,
    scored_table: str,
    levels: dict[str, list[int]],
    policy: DecisionPolicy,
    output_table: str,
    columns: Sequence[str] | None = None,
) -> None:
    """Write ``output_table``: ``scored_table`` plus ``decision`` and ``reason``.

    ``columns`` limits the scored columns carried over (the ``gamma_*`` columns always
    are), so a wide predictions table is not copied whole.

    Runs in one SQL statement, so re-deciding a million pairs under new thresholds takes
    a fraction of a second and never touches the model.
    """
    query = decision_query(scored_table, levels, policy, columns)
    try:
        run(con, f"CREATE OR REPLACE TABLE {output_table} AS {query}")
    except duckdb.Error as exc:
        raise _rule_error(policy, levels, exc) from exc


def decision_query(
    scored_table: str,
    levels: dict[str, list[int]],
    policy: DecisionPolicy,
    columns: Sequence[str] | None = None,
) -> str:
    """The SELECT statement :func:`decide` runs: ``scored_table`` (a table name or a
    parenthesized query, ``linkage``'s own) plus ``decision`` and ``reason``. The
    incremental checks run it inside their scoring query, so one policy decides both."""
    t = policy.thresholds
    base = (
        f"CASE WHEN match_weight >= {float(t.auto_merge)!r} THEN 'auto_merge' "
        f"WHEN match_weight >= {float(t.review)!r} THEN 'review' ELSE 'distinct' END"
    )
    base_reason = (
        f"CASE WHEN match_weight >= {float(t.auto_merge)!r} THEN 'score at or above auto_merge "
        f"threshold' WHEN match_weight >= {float(t.review)!r} THEN 'score in review band' "
        "ELSE 'score below review threshold' END"
    )
    rank = "CASE {d} WHEN 'distinct' THEN 0 WHEN 'review' THEN 1 ELSE 2 END"
    comparisons = list(levels)
    flags = agreement_flags_sql(levels)
    # Rules apply in order, each a CTE step: a cap lowers, a floor raises the running decision.
    carried = "*"
    if columns is not None:
        carried = ", ".join(
            dict.fromkeys([*columns, "match_weight", *(f"gamma_{c}" for c in comparisons)])
        )
    steps = [
        f"SELECT {carried}, {flags}, {base} AS __d0, {base_reason} AS __r0 FROM {scored_table}"
    ]
    for i, rule in enumerate(policy.rules, start=1):
        target = _RANK[rule.decision]
        cond = f"({rule.when})"
        if rule.min_weight is not None:
            cond += f" AND match_weight >= {float(rule.min_weight)!r}"
        cmp = ">" if rule.action == "cap" else "<"
        fires = f"{cond} AND ({rank.format(d=f'__d{i - 1}')}) {cmp} {target}"
        reason_text = f"{rule.name}: {rule.reason}".replace("'", "''")
        steps.append(
            f"SELECT *, CASE WHEN {fires} THEN '{rule.decision}' ELSE __d{i - 1} END AS __d{i}, "
            f"CASE WHEN {fires} THEN '{reason_text}' ELSE __r{i - 1} END AS __r{i} "
            f"FROM step{i - 1}"
        )
    n = len(policy.rules)
    ctes = ", ".join(f"step{i} AS ({sql})" for i, sql in enumerate(steps))
    drop = ", ".join(
        [f"__d{i}" for i in range(n + 1)]
        + [f"__r{i}" for i in range(n + 1)]
        + [f'"agree_{c}"' for c in comparisons]
        + [f'"conflict_{c}"' for c in comparisons]
    )
    return (
        f"WITH {ctes} SELECT * EXCLUDE ({drop}), __d{n} AS decision, __r{n} AS reason FROM step{n}"
    )


def _rule_error(
    policy: DecisionPolicy, levels: dict[str, list[int]], exc: Exception
) -> ConfigError:
    names = ", ".join(r.name for r in policy.rules)
    return ConfigError(
        f"a routing rule could not be evaluated ({names}): {exc}. Rules may use "
        f"agree_<c> and conflict_<c> for comparisons {list(levels)} and match_weight"
    )
