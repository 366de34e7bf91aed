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

from typing import TYPE_CHECKING

from linkage._version import __version__ as __version__
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

if TYPE_CHECKING:
    from linkage.blocking import BlockingRule
    from linkage.decisions import DecisionPolicy, RoutingRule, Thresholds
    from linkage.model import LinkageModel
    from linkage.project import ReviewQueue
    from linkage.run import LinkResult, link
    from linkage.schema import ROLES, RoleMapping, detect_roles
    from linkage.store import CheckResult, RecordStore, check_all

# Imported on first use (PEP 562): ``import linkage`` stays cheap, so the ``linkage``
# command prints within a second, before pandas, DuckDB and splink load (about 2-3 s).
_LAZY = {
    "BlockingRule": "linkage.blocking",
    "CheckResult": "linkage.store",
    "DecisionPolicy": "linkage.decisions",
    "LinkResult": "linkage.run",
    "LinkageModel": "linkage.model",
    "ROLES": "linkage.schema",
    "RecordStore": "linkage.store",
    "ReviewQueue": "linkage.project",
    "RoleMapping": "linkage.schema",
    "RoutingRule": "linkage.decisions",
    "Thresholds": "linkage.decisions",
    "check_all": "linkage.store",
    "detect_roles": "linkage.schema",
    "link": "linkage.run",
}

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
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once: later lookups do not come here
        return value
    # Old names kept for one release (see linkage.errors).
    from linkage import errors

    if name in errors.DEPRECATED_NAMES:
        return getattr(errors, name)
    if not name.startswith("__"):
        # A submodule (``linkage.datasets``, ``linkage.charts``) as an attribute, as when
        # the package imported everything up front.
        try:
            return importlib.import_module(f"linkage.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"linkage.{name}":
                raise
    raise AttributeError(f"module 'linkage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
