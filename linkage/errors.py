"""One exception hierarchy for everything ``linkage`` raises on purpose.

Every message says what was wrong, where (the column, row, argument or file) and what to do.

::

    LinkageError
    ├── InputError (also a ValueError)      the records cannot be used as given
    │   └── SchemaError                     a role or column is missing, unknown, or wrong
    ├── ConfigError (also a ValueError)     an argument or setting is invalid
    ├── ModelError                          a model cannot be trained, loaded or used
    └── ProjectError                        the project file cannot be used as asked
        ├── ProjectBusyError                another process holds the file
        ├── ProjectVersionError             written by a newer linkage
        ├── ProjectDataError                made for other data, or damaged
        ├── StaleResultError                a result from before an erasure was used
        └── StoreError                      the record store in the file

The project file was first the review queue's file, and its errors were named after the
queue. Those names still work for one release and warn: ``QueueError`` is
``ProjectError``, ``QueueBusyError`` is ``ProjectBusyError``, ``QueueVersionError`` is
``ProjectVersionError`` and ``QueueDataError`` is ``ProjectDataError``.
"""

from __future__ import annotations

import warnings


class LinkageError(Exception):
    """Base class of every error ``linkage`` raises on purpose."""


class InputError(LinkageError, ValueError):
    """The input records cannot be used as given (missing column, duplicate ids, ...)."""


class SchemaError(InputError):
    """A column role is missing, unknown, or mapped to a column that does not exist."""


class ConfigError(LinkageError, ValueError):
    """An argument or setting is invalid (thresholds out of order, unknown rule, ...)."""


class ModelError(LinkageError):
    """The model cannot be trained, loaded or used as asked."""


class ProjectError(LinkageError):
    """The project file (review queue, verdicts, record store) cannot be used as asked."""


class ProjectBusyError(ProjectError):
    """Another process holds the project file; the operation did not happen."""


class ProjectVersionError(ProjectError):
    """The project file was written by a newer version of ``linkage``."""


class ProjectDataError(ProjectError):
    """The project file was made for other data (other ids, inputs or id column), or it is
    damaged."""


class StaleResultError(ProjectError):
    """A result from before an erasure was used: it may still hold the erased record."""


class StoreError(ProjectError):
    """The store of records for incremental checks cannot be used as asked (no store in
    the file, a closed store, an unknown record)."""


# Old names, one release: importing them warns.
DEPRECATED_NAMES = {
    "QueueError": "ProjectError",
    "QueueBusyError": "ProjectBusyError",
    "QueueVersionError": "ProjectVersionError",
    "QueueDataError": "ProjectDataError",
}


def deprecated(old: str, new: str, since: str = "0.2") -> None:
    """Warn that ``old`` is an old name of ``new`` (kept for one release)."""
    warnings.warn(
        f"{old} is deprecated since linkage {since} and will be removed in the next "
        f"release: use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


def __getattr__(name: str) -> type[ProjectError]:
    if name in DEPRECATED_NAMES:
        new = DEPRECATED_NAMES[name]
        deprecated(name, new)
        return globals()[new]
    raise AttributeError(f"module 'linkage.errors' has no attribute {name!r}")
