"""One exception hierarchy for everything ``linkage`` raises on purpose.

Every message says what was wrong, where (the column, row or argument) and what to do.

::

    LinkageError
    ├── InputError (also a ValueError)      the records cannot be used as given
    │   └── SchemaError                     a role or column is missing, unknown, or wrong
    ├── ConfigError (also a ValueError)     an argument or setting is invalid
    ├── ModelError                          a model cannot be trained, loaded or used
    └── QueueError                          the project file cannot be used as asked
        ├── QueueBusyError                  another process holds the file
        ├── QueueVersionError               written by a newer linkage
        ├── QueueDataError                  made for other data
        └── StoreError                      the record store in the file
"""

from __future__ import annotations


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


class QueueError(LinkageError):
    """The review queue (the project file) cannot be used as asked."""


class QueueBusyError(QueueError):
    """Another process holds the project file; the operation did not happen."""


class QueueVersionError(QueueError):
    """The project file was written by a newer version of ``linkage``."""


class QueueDataError(QueueError):
    """The project file was made for other data (other ids, inputs or id column)."""


class StoreError(QueueError):
    """The store of records for incremental checks cannot be used as asked (no store in
    the file, a closed store, an unknown record)."""
