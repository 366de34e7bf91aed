"""Thresholds and routing rules turn scores into auto_merge / review / distinct."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from linkage.decisions import (
    DecisionPolicy,
    RoutingRule,
    Thresholds,
    decide,
    default_rules,
)
from linkage.errors import ConfigError

COMPARISONS = ["person_name", "account", "mobile", "phone", "email"]
# Agreement levels as agreement_levels() reads them from trained settings: gamma values
# that count as agreement (the account comparison's weak levels 1-2 do not).
LEVELS = {
    "person_name": [1, 2, 3, 4],
    "account": [3, 4],
    "mobile": [1, 2, 3],
    "phone": [1],
    "email": [1, 2, 3],
}


def _decide(rows: list[dict], policy: DecisionPolicy) -> pd.DataFrame:
    con = duckdb.connect()
    frame = pd.DataFrame(rows)
    for name in COMPARISONS:
        column = f"gamma_{name}"
        if column not in frame:
            frame[column] = -1
    con.register("scored_view", frame)
    con.execute("CREATE TABLE scored AS SELECT * FROM scored_view")
    decide(con, "scored", LEVELS, policy, "decided")
    return con.execute("SELECT * FROM decided ORDER BY id").df()


def test_thresholds_split_scores_into_three_bands() -> None:
    policy = DecisionPolicy(Thresholds(review=0, auto_merge=5))
    out = _decide(
        [
            {"id": 1, "match_weight": 7.0},
            {"id": 2, "match_weight": 5.0},
            {"id": 3, "match_weight": 2.0},
            {"id": 4, "match_weight": -1.0},
        ],
        policy,
    )
    assert out["decision"].tolist() == ["auto_merge", "auto_merge", "review", "distinct"]
    assert out["reason"].str.contains("threshold|band").all()


def test_phone_alone_is_at_most_a_review() -> None:
    policy = DecisionPolicy(Thresholds(0, 5), tuple(default_rules(COMPARISONS)))
    out = _decide(
        [
            # only the mobile agrees, other fields missing: high score, but capped
            {"id": 1, "match_weight": 12.0, "gamma_mobile": 3},
            # mobile and name agree: stays auto_merge
            {"id": 2, "match_weight": 12.0, "gamma_mobile": 3, "gamma_person_name": 4},
        ],
        policy,
    )
    assert out["decision"].tolist() == ["review", "auto_merge"]
    assert out["reason"][0].startswith("phone_only")


def test_company_and_phone_together_is_a_duplicate() -> None:
    policy = DecisionPolicy(Thresholds(0, 10), tuple(default_rules(COMPARISONS)))
    out = _decide(
        [
            {"id": 1, "match_weight": 3.0, "gamma_mobile": 3, "gamma_account": 4},
            # colleague: same company and phone, but the names differ
            {
                "id": 2,
                "match_weight": 3.0,
                "gamma_mobile": 3,
                "gamma_account": 4,
                "gamma_person_name": 0,
            },
            # a switchboard (a weak account level) with a personal phone is no duplicate
            {"id": 3, "match_weight": 3.0, "gamma_mobile": 3, "gamma_account": 2},
        ],
        policy,
    )
    assert out["decision"].tolist() == ["auto_merge", "review", "review"]
    assert out["reason"][0].startswith("company_and_phone")


# A namesake elsewhere (issue 13): the name agrees, the accounts are compared and do not
# agree (0: all differ), the mobiles differ, and the email too.
NAMESAKE = {"gamma_person_name": 4, "gamma_account": 0, "gamma_mobile": 0, "gamma_email": 0}


@pytest.mark.parametrize(
    ("changes", "decision"),
    [
        ({}, "review"),
        ({"gamma_account": 1}, "auto_merge"),  # a switchboard: one company written twice?
        ({"gamma_email": 3}, "review"),  # an email agreeing is no company or phone
        ({"gamma_phone": 0}, "review"),  # the landlines differ as well
        ({"gamma_account": 4}, "auto_merge"),  # same company: a new mobile
        ({"gamma_mobile": 3}, "auto_merge"),  # same mobile: a new job
        ({"gamma_mobile": -1}, "auto_merge"),  # no phone to tell
        ({"gamma_mobile": -1, "gamma_phone": 1}, "auto_merge"),  # same personal line
        ({"gamma_account": -1}, "auto_merge"),  # no company to tell
    ],
)
def test_a_name_match_at_another_company_with_another_phone_is_at_most_a_review(
    changes, decision
) -> None:
    policy = DecisionPolicy(Thresholds(0, 5), tuple(default_rules(COMPARISONS)))
    out = _decide([{"id": 1, "match_weight": 9.0, **NAMESAKE, **changes}], policy)
    assert out["decision"].iloc[0] == decision
    if decision == "review":
        assert out["reason"].iloc[0].startswith("namesake_elsewhere")


def test_only_the_city_agreeing_is_another_company() -> None:
    """The account's "same city" level is a conflict: every company field differs."""
    from linkage.decisions import agreement_flags_sql, agreement_levels

    labels = ["same company", "same switchboard", "Exact match on city_clean"]
    settings = {
        "comparisons": [
            {
                "output_column_name": "account",
                "comparison_levels": [
                    {"is_null_level": True, "label_for_charts": "null"},
                    *({"label_for_charts": label} for label in labels),
                    {"label_for_charts": "All other comparisons"},
                ],
            }
        ]
    }
    levels = agreement_levels(settings)
    assert levels == {"account": [3]} and levels.conflicts == {"account": [1]}
    con = duckdb.connect()
    flags = con.execute(
        f"SELECT gamma_account, {agreement_flags_sql(levels)} "
        "FROM (VALUES (3), (2), (1), (0), (-1)) t(gamma_account) ORDER BY gamma_account DESC"
    ).fetchall()
    assert [(gamma, agree, conflict) for gamma, agree, conflict in flags] == [
        (3, True, False),
        (2, False, False),  # a switchboard: neither
        (1, False, True),  # only the city
        (0, False, True),
        (-1, False, False),
    ]


def test_the_namesake_rule_needs_a_company_a_phone_and_a_name() -> None:
    def names(comparisons: list[str]) -> set[str]:
        return {rule.name for rule in default_rules(comparisons)}

    assert "namesake_elsewhere" in names(COMPARISONS)
    assert "namesake_elsewhere" not in names(["person_name", "mobile", "email"])
    assert "namesake_elsewhere" not in names(["person_name", "account", "email"])
    assert "namesake_elsewhere" not in names(["account", "mobile", "email"])
    split = default_rules(["first_name", "last_name", "account", "mobile", "wechat_unionid"])
    rule = next(rule for rule in split if rule.name == "namesake_elsewhere")
    # both halves of a split name agree; a WeChat UnionID agreeing names the person
    assert "agree_first_name AND agree_last_name" in rule.when
    assert "NOT agree_wechat_unionid" in rule.when


def test_thresholds_must_be_ordered_numbers() -> None:
    with pytest.raises(ConfigError, match="must not be above"):
        Thresholds(review=5, auto_merge=1)
    with pytest.raises(ConfigError, match="number"):
        Thresholds(review=float("nan"), auto_merge=1)


def test_thresholds_from_probabilities() -> None:
    t = Thresholds.from_probabilities(review=0.5, auto_merge=0.8)
    assert t.review == pytest.approx(0.0)
    assert t.auto_merge == pytest.approx(2.0)
    with pytest.raises(ConfigError):
        Thresholds.from_probabilities(review=0, auto_merge=0.8)


def test_rules_are_validated_and_bad_sql_is_reported() -> None:
    with pytest.raises(ConfigError, match="action"):
        RoutingRule("x", "true", "raise", "review", "why")
    with pytest.raises(ConfigError, match="decision"):
        RoutingRule("x", "true", "cap", "merge", "why")
    bad = DecisionPolicy(Thresholds(0, 5), (RoutingRule("x", "agree_nope", "cap", "review", "r"),))
    with pytest.raises(ConfigError, match="agree_<c>"):
        _decide([{"id": 1, "match_weight": 1.0}], bad)


def test_agreement_levels_skip_weak_account_levels() -> None:
    from linkage.decisions import agreement_levels

    settings = {
        "comparisons": [
            {
                "output_column_name": "account",
                "comparison_levels": [
                    {"is_null_level": True, "label_for_charts": "null"},
                    {"label_for_charts": "same company"},
                    {"label_for_charts": "same switchboard"},
                    {"label_for_charts": "All other comparisons"},
                ],
            }
        ]
    }
    assert agreement_levels(settings) == {"account": [2]}


def test_policy_round_trips_through_a_dict() -> None:
    policy = DecisionPolicy(Thresholds(1, 6), tuple(default_rules(COMPARISONS)))
    assert DecisionPolicy.from_dict(policy.to_dict()) == policy
