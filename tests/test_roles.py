"""The role registry holds together: every stage that reads it finds what it needs."""

from __future__ import annotations

from collections import Counter

import pytest

from linkage import comparisons, schema, standardize
from linkage.roles import REGISTRY, by_name


def test_every_header_word_names_one_role() -> None:
    words = Counter(word for role in REGISTRY for word in role.headers)
    assert [word for word, n in words.items() if n > 1] == []
    assert all(role.headers for role in REGISTRY)


def test_the_schema_is_the_registry() -> None:
    assert list(schema.ROLES) == [role.name for role in REGISTRY]
    for role in REGISTRY:
        for header in role.headers:
            assert schema.detect_roles([header]).roles == {role.name: header}


@pytest.mark.parametrize("role", REGISTRY, ids=lambda r: r.name)
def test_every_role_is_standardized(role) -> None:
    if role.standardizer == "own":
        assert role.name in standardize.ROLE_NAMES
        assert standardize.DERIVED_COLUMNS[role.name] or role.name == "record_id"
    else:
        assert role.standardizer in ("simple", "pass")
        assert role.name not in standardize.ROLE_NAMES or role.name in (
            "first_name",
            "last_name",
            "record_id",
            "source",
            "owner",
        )


@pytest.mark.parametrize("role", REGISTRY, ids=lambda r: r.name)
def test_every_role_that_is_compared_has_its_comparison(role) -> None:
    if role.comparison is not None:
        assert role.comparison in comparisons.BUILDERS
        built = comparisons.default_comparisons({role.name})
        assert role.comparison in built or role.account_field
    if role.organization_comparison is not None:
        built = comparisons.default_comparisons({role.name}, level="organization")
        assert role.organization_comparison in built
    if role.matching and role.standardizer != "pass":
        assert (
            role.comparison
            or role.account_field
            or role.organization_comparison
            or (role.name in ("latitude", "longitude"))
        )


def test_lookups_by_name() -> None:
    assert by_name()["mobile"].value_kind == "phone"
    assert by_name()["record_id"].standardizer == "pass"
