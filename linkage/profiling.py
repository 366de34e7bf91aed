"""What a column's values look like: the evidence for a role no header names, and the
comparison a column that no role claims gets.

A CRM export brings columns nobody mapped (``Col3`` holding phone numbers, ``Program Name``,
``birth_place``). Each is profiled once from a sample of its distinct non-blank values and
given a *kind*:

=============  ==========================================  ================================
kind           values                                      what becomes of the column
=============  ==========================================  ================================
``phone``      7 to 15 digits, phone punctuation            the ``phone`` role, if free
``email``      ``local@domain.tld``                         the ``email`` role, if free
``website``    ``www.x.org``, ``http://...``                the ``website`` role, if free
``date``       dates and timestamps                         compared as dates
``year``       whole numbers 1000-2100                      compared in difference bands
``number``     other numbers                                compared in difference bands
``list``       ``a**b**c``, ``a;b;c``                       compared by set overlap
``code``       short tokens without spaces                  compared exactly
``category``   few distinct values, repeated                compared exactly (weak)
``text``       names and words                              Jaro-Winkler and token overlap
=============  ==========================================  ================================

Columns that cannot help are listed as unused with the reason: fewer than two distinct
values, every value distinct (an id, not evidence), free text (long sentences), or a header
that names an earlier answer (``cluster``, ``true_id``, ``entity_id``: comparing it would
copy that answer instead of finding one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ColumnProfile", "LABEL_HEADER", "profile_column"]

_SAMPLE = 2_000  # distinct values looked at per column

_PHONE_RE = re.compile(r"^\+?[\d\s().\-/]{7,24}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_URL_RE = re.compile(
    r"^(https?://|www\.)[^\s]+$|^[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|org|net|edu|gov|cn|io|co|uk|de|nl)(/\S*)?$",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")
_DATE_RE = re.compile(
    r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?([ T]\d{1,2}:\d{2}(:\d{2})?)?$"
    r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$"
)
_LIST_SEPARATORS = ("**", ";", "|", "；")
_WORD_RE = re.compile(r"\w+")

#: Headers that name an answer, not evidence: a cluster or truth label, or the entity id
#: of an earlier run.
LABEL_HEADER = re.compile(
    r"^(true|truth|gold|ground)[\s_\-]*|[\s_\-]*(cluster|cluster_?id|entity_?id|label)$"
    r"|^cluster|^group$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ColumnProfile:
    """A column's kind, and why a column is left unused (``kind == "unused"``).

    Attributes:
        kind: one of the kinds in the module docstring, or ``"unused"``.
        reason: for an unused column, why; for a used one, what was seen.
        distinct: distinct non-blank values in the column.
        filled: share of rows with a value.
    """

    kind: str
    reason: str
    distinct: int
    filled: float


def profile_column(header: object, values: pd.Series) -> ColumnProfile:
    """The kind of one column, from its header (labels only) and its values."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    n_rows = max(len(values), 1)
    filled = len(text) / n_rows
    distinct_values = text.unique()
    distinct = len(distinct_values)
    if LABEL_HEADER.search(str(header).strip()):
        return ColumnProfile(
            "unused",
            "its header names a label or an earlier answer (a cluster or entity id): "
            "comparing it would copy that answer",
            distinct,
            filled,
        )
    if distinct < 2:
        return ColumnProfile("unused", "fewer than two distinct values", distinct, filled)
    sample = pd.Series(distinct_values[:_SAMPLE])
    kind = _kind_of(sample, distinct, len(text))
    if kind == "free_text":
        return ColumnProfile("unused", "free text (long sentences)", distinct, filled)
    if kind in ("code", "number") and distinct == len(text) and len(text) >= 20:
        # Codes and numbers compare exactly: when no two records share one, it is an id.
        return ColumnProfile(
            "unused", "every value is distinct: an id, not evidence", distinct, filled
        )
    return ColumnProfile(kind, f"values look like {kind}", distinct, filled)


def _kind_of(sample: pd.Series, distinct: int, filled_rows: int) -> str:
    def share(pattern: re.Pattern[str]) -> float:
        return float(sample.str.match(pattern).mean())

    if share(_EMAIL_RE) >= 0.8:
        return "email"
    if share(_URL_RE) >= 0.8:
        return "website"
    if share(_DATE_RE) >= 0.8:
        return "date"
    numeric = sample.str.match(_NUMBER_RE)
    if numeric.mean() >= 0.9:
        numbers = pd.to_numeric(sample[numeric], errors="coerce")
        digits = sample[numeric].str.replace(r"\D", "", regex=True).str.len()
        if (digits.between(7, 15)).mean() >= 0.9 and (numbers % 1 == 0).all():
            return "phone"
        if ((numbers % 1 == 0) & numbers.between(1000, 2100)).mean() >= 0.9:
            return "year"
        if distinct <= 50 and distinct * 5 <= filled_rows:
            return "category"
        return "number"
    digits = sample.str.count(r"\d")
    if share(_PHONE_RE) >= 0.8 and (digits.between(7, 15)).mean() >= 0.8:
        return "phone"
    for separator in _LIST_SEPARATORS:
        if sample.str.contains(separator, regex=False).mean() >= 0.5:
            return "list"
    words = sample.map(lambda v: len(_WORD_RE.findall(v)))
    if words.median() > 12 or sample.str.len().median() > 120:
        return "free_text"
    if distinct <= 50 and distinct * 5 <= filled_rows:
        return "category"
    if (words <= 1).mean() >= 0.9 and sample.str.len().median() <= 20:
        return "code"
    return "text"


def list_separator(values: Sequence[str]) -> str | None:
    """The separator of a list-valued column (``**``, ``;``, ``|``), or None."""
    sample = pd.Series(list(values)[:_SAMPLE], dtype=object).dropna().astype(str)
    for separator in _LIST_SEPARATORS:
        if len(sample) and sample.str.contains(separator, regex=False).mean() >= 0.5:
            return separator
    return None


def numeric_values(values: pd.Series) -> np.ndarray:
    """Values as floats (NaN where not a number)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


# -- comparable forms of generic columns ----------------------------------------------------


def derive_extra(name: str, kind: str, raw: pd.Series) -> dict[str, pd.Series]:
    """The columns an extra column is compared on: ``<name>_value`` (and
    ``<name>_tokens`` for text), one value per row of ``raw``."""
    from linkage.standardize import simple_text

    codes, uniques = pd.factorize(raw, use_na_sentinel=True)

    def per_distinct(func) -> pd.Series:
        values = [func(u) for u in uniques] + [None]
        return pd.Series(np.array(values, dtype=object)[codes], index=raw.index, dtype=object)

    if kind in ("number", "year"):
        return {f"{name}_value": pd.Series(numeric_values(raw), index=raw.index)}
    if kind == "date":
        return {f"{name}_value": pd.to_datetime(raw, errors="coerce", format="mixed").dt.date}
    if kind == "list":
        separator = list_separator(raw.dropna().astype(str).tolist()) or ";"

        def items(value: object) -> list[str] | None:
            parts = [simple_text(p) for p in str(value).split(separator)]
            kept = sorted({p for p in parts if p})
            return kept or None

        return {f"{name}_value": per_distinct(items)}
    if kind == "phone":
        return {f"{name}_value": per_distinct(lambda v: _digits(v) or None)}
    value = per_distinct(simple_text)
    out = {f"{name}_value": value}
    if kind == "text":
        out[f"{name}_tokens"] = per_distinct(_tokens)
    return out


_STOP_WORDS = frozenset({"the", "of", "and", "a", "an", "de", "la", "le", "du", "der", "von"})


def _tokens(value: object) -> list[str] | None:
    from linkage.standardize import simple_text

    text = simple_text(value)
    if not text:
        return None
    words = sorted({w for w in _WORD_RE.findall(text) if w not in _STOP_WORDS})
    return words or None


def _digits(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return re.sub(r"\D", "", str(value))
