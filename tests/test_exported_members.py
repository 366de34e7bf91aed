"""The public surface is a contract: nothing leaks into it or vanishes from it by accident.

A name added on purpose is added here too, in the same commit.
"""

from __future__ import annotations

import linkage

EXPORTED = {
    "BlockingRule",
    "CheckResult",
    "ConfigError",
    "DecisionPolicy",
    "InputError",
    "LinkResult",
    "LinkageError",
    "LinkageModel",
    "ModelError",
    "ProjectBusyError",
    "ProjectDataError",
    "ProjectError",
    "ProjectVersionError",
    "ROLES",
    "RecordStore",
    "ReviewQueue",
    "RoleMapping",
    "RoutingRule",
    "SchemaError",
    "StaleResultError",
    "StoreError",
    "Thresholds",
    "check_all",
    "detect_roles",
    "link",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(linkage.__all__) == EXPORTED
    assert len(linkage.__all__) == len(EXPORTED)  # no name listed twice


def test_every_exported_name_exists_and_says_where_it_lives() -> None:
    for name in linkage.__all__:
        member = getattr(linkage, name)
        module = getattr(member, "__module__", "linkage")
        assert module.startswith("linkage"), (name, module)


def test_the_version_is_a_public_attribute() -> None:
    from linkage._version import __version__

    assert linkage.__version__ == __version__
    assert __version__.count(".") == 2


def test_the_old_error_names_warn_and_still_work() -> None:
    import pytest

    from linkage import errors

    for old, new in errors.DEPRECATED_NAMES.items():
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*use {new}"):
            cls = getattr(linkage, old)
        assert cls is getattr(linkage, new)
        with pytest.warns(DeprecationWarning):
            assert getattr(errors, old) is cls
    # An old name still catches what the new code raises.
    with pytest.warns(DeprecationWarning):
        queue_error = linkage.QueueError
    assert issubclass(linkage.StoreError, queue_error)
