"""linkage: find and merge duplicate customer records in CRM data.

The public API: :func:`link` runs the whole flow; the objects below configure it.

    >>> import linkage
    >>> result = linkage.link(linkage.datasets.load_sample())   # doctest: +SKIP
    >>> result.entities, result.pairs, result.review, result.model  # doctest: +SKIP
    >>> result = linkage.link(leads, queue="crm.linkage")  # verdicts, stable ids  # doctest: +SKIP
    >>> result.golden, result.lineage, result.history(entity_id)  # doctest: +SKIP
    >>> store = linkage.RecordStore.build(result)  # checks as records come  # doctest: +SKIP
    >>> store.check_one({"name": "王伟", "mobile": "13800138000"})  # doctest: +SKIP
"""

from __future__ import annotations

from linkage._version import __version__ as __version__
from linkage.blocking import BlockingRule
from linkage.decisions import DecisionPolicy, RoutingRule, Thresholds
from linkage.errors import (
    ConfigError,
    InputError,
    LinkageError,
    ModelError,
    ProjectBusyError,
    ProjectDataError,
    ProjectError,
    ProjectVersionError,
    SchemaError,
    StaleResultError,
    StoreError,
)
from linkage.model import LinkageModel
from linkage.project import ReviewQueue
from linkage.run import LinkResult, link
from linkage.schema import ROLES, RoleMapping, detect_roles
from linkage.store import CheckResult, RecordStore, check_all

__all__ = [
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
]


def __getattr__(name: str) -> object:
    # Old names kept for one release (see linkage.errors).
    from linkage import errors

    if name in errors.DEPRECATED_NAMES:
        return getattr(errors, name)
    raise AttributeError(f"module 'linkage' has no attribute {name!r}")
