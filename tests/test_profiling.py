"""Columns no header names: their kind from their values, or why they are left unused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.profiling import derive_extra, profile_column

RNG = np.random.default_rng(5)


def _series(values: list[object]) -> pd.Series:
    return pd.Series(values, dtype=object)


@pytest.mark.parametrize(
    ("header", "values", "kind"),
    [
        ("Col3", [f"138{RNG.integers(10**7, 10**8)}" for _ in range(200)], "phone"),
        ("tel2", [f"(312) 555-{RNG.integers(1000, 9999)}" for _ in range(200)], "phone"),
        ("contact", [f"user{i}@example{i % 7}.com" for i in range(200)], "email"),
        ("site", [f"www.site{i}.org" for i in range(200)], "website"),
        ("born", [f"19{RNG.integers(10, 99)}" for _ in range(400)], "year"),
        ("amount", [f"{RNG.integers(1, 10**6) / 100:.2f}" for _ in range(150)] * 2, "number"),
        (
            "signed",
            [f"2021-0{RNG.integers(1, 9)}-1{RNG.integers(0, 9)}" for _ in range(300)],
            "date",
        ),
        ("tags", [f"a{i % 5}**b{i % 3}**c{i % 11}" for i in range(300)], "list"),
        ("program", ["Head Start", "Child Care", "Early Head Start"] * 100, "category"),
        ("sku", [f"X{RNG.integers(10**5, 10**6)}" for _ in range(100)] * 2, "code"),
        (
            "occupation",
            [f"{w} {v}" for w, v in zip(["senior", "junior", "chief"] * 100, range(300))],
            "text",
        ),
    ],
)
def test_the_kind_comes_from_the_values(header: str, values: list[object], kind: str) -> None:
    assert profile_column(header, _series(values)).kind == kind


@pytest.mark.parametrize(
    ("header", "values", "reason"),
    [
        ("cluster", ["1", "2", "1", "3"] * 10, "label"),
        ("true_person_id", ["1", "2", "1", "3"] * 10, "label"),
        ("entity_id", ["E1", "E2", "E1", "E3"] * 10, "label"),
        ("country", ["中国"] * 50, "fewer than two"),
        ("blank", [None, "", "  "] * 20, "fewer than two"),
        ("row", [str(i) for i in range(100)], "every value is distinct"),
        (
            "notes",
            [
                f"customer {i} called about the order and asked us to call back "
                "next week after the holidays are over for everyone in the office"
                for i in range(50)
            ]
            * 2,
            "free text",
        ),
    ],
)
def test_columns_that_cannot_help_say_why(header: str, values: list[object], reason: str) -> None:
    profile = profile_column(header, _series(values))
    assert profile.kind == "unused"
    assert reason in profile.reason


def test_text_extras_get_a_clean_value_and_tokens() -> None:
    raw = pd.Series(["Bethel New Life - Lake", "bethel new life", None])
    derived = derive_extra("extra_1", "text", raw)
    assert derived["extra_1_value"].tolist() == ["bethel new life - lake", "bethel new life", None]
    assert derived["extra_1_tokens"].tolist() == [
        ["bethel", "lake", "life", "new"],
        ["bethel", "life", "new"],
        None,
    ]
    years = derive_extra("extra_2", "year", pd.Series(["1956", "x", None]))["extra_2_value"]
    assert years.iloc[0] == 1956 and np.isnan(years.iloc[1]) and np.isnan(years.iloc[2])
    items = derive_extra("extra_3", "list", pd.Series(["A**b**a", None]))["extra_3_value"]
    assert items.tolist() == [["a", "b"], None]
