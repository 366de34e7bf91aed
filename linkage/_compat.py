"""Old names that keep working for one release, each with a ``DeprecationWarning``
(internal).

Ids once had several names: ``record_id_l``/``record_id_r`` in ``result.pairs``,
``record_l``/``record_r`` in ``queue.pending()``, ``record_key`` in ``queue.events()``,
``record_id`` in ``store.entities()``. They are now the user's own id column everywhere a
user reads them (``lead_id_l``, ``lead_id``). A frame returned under the new names still
answers to the old ones, for indexing (``frame["record_id_l"]``) and attribute access
(``frame.record_id_l``, ``row.record_l`` in ``itertuples`` does not: rename there).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

SINCE = "0.2"


def warn_renamed(old: str, new: str, what: str = "name") -> None:
    warnings.warn(
        f"the {what} {old!r} is deprecated since linkage {SINCE} and will be removed in the "
        f"next release: use {new!r}",
        DeprecationWarning,
        stacklevel=4,
    )


class RenamedColumns(pd.DataFrame):
    """A frame whose columns were renamed: an old name still reads the new column, and
    warns. Frames derived from it (``head()``, filters) are plain frames."""

    _metadata = ["_renamed"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _translate(self, key: Any) -> Any:
        renamed: Mapping[str, str] = getattr(self, "_renamed", {}) or {}
        if isinstance(key, str) and key in renamed and key not in self.columns:
            warn_renamed(key, renamed[key], "column")
            return renamed[key]
        if isinstance(key, list) and any(isinstance(k, str) and k in renamed for k in key):
            return [self._translate(k) for k in key]
        return key

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._translate(key))

    def __getattr__(self, name: str) -> Any:
        renamed = object.__getattribute__(self, "__dict__").get("_renamed") or {}
        if name in renamed:
            return self[name]
        return super().__getattr__(name)


def renamed_columns(frame: pd.DataFrame, renamed: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` answering to old column names too (``renamed``: old -> new); only the
    pairs whose new name is a column of ``frame`` and differs from the old one count."""
    pairs = {old: new for old, new in renamed.items() if old != new and new in frame.columns}
    if not pairs:
        return frame
    out = RenamedColumns(frame)
    out._renamed = pairs
    return out


class CallableFrame(RenamedColumns):
    """A frame that a caller of the old method (``store.entities()``) may still call:
    calling it warns and returns it."""

    _metadata = ["_renamed", "_old_call"]

    def __call__(self) -> pd.DataFrame:
        old = object.__getattribute__(self, "__dict__").get("_old_call", "this")
        warnings.warn(
            f"{old}() is deprecated since linkage {SINCE} and will be removed in the next "
            f"release: it is a property now, read {old} without calling it",
            DeprecationWarning,
            stacklevel=2,
        )
        return self


def callable_frame(frame: pd.DataFrame, old_call: str, renamed: Mapping[str, str]) -> pd.DataFrame:
    out = CallableFrame(frame)
    out._renamed = {o: n for o, n in renamed.items() if o != n and n in frame.columns}
    out._old_call = old_call
    return out
