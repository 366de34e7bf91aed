"""Text helpers every role module shares: distinct values as pyarrow strings.

Every parser in :mod:`linkage.standardize` works on the *distinct* values of a column, held
as a pyarrow string array: :func:`factorize_text` makes that array (one text per distinct
value, a code per row), :func:`nfkc_clean` and :func:`to_simplified` clean it, and the re2
helpers (:func:`matches`, :func:`extract_where`, :func:`match_group`, ...) do the vectorized
work.  :func:`one_text_array` and :func:`first_item` let the per-value functions run the
very same batch code on one value.

The names here are public so that the role modules can share them; the package does not
re-export them (only :func:`scalar_to_text`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import opencc
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.schema import replace_lone_surrogates

__all__ = [
    "HAN_CHAR_RE",
    "HAN_RE2",
    "MISSING_TOKENS",
    "STR_DTYPE",
    "extract_where",
    "factorize_text",
    "first_item",
    "map_distinct",
    "match_group",
    "matches",
    "nfkc_clean",
    "null_strings",
    "one_text_array",
    "replace_masked",
    "scalar_to_text",
    "set_where",
    "strip_regex",
    "t2s_converter",
    "to_simplified",
    "value_set",
]


try:  # pandas >= 2.3: the default ``str`` dtype (pyarrow-backed, NaN for missing)
    STR_DTYPE: Any = pd.StringDtype("pyarrow", na_value=np.nan)
except TypeError:  # pragma: no cover - older pandas 2.x
    STR_DTYPE = pd.StringDtype("pyarrow")


# Values that mean "nobody filled this in".  Compared after NFKC, trim and lower-casing.
# 'nan', '<na>', 'nat' and 'none' come from str() of missing values in earlier exports.
_MISSING_TOKENS = ("", "无", "-", "--", "---", "—", "——", "n/a", "null", "nan", "<na>", "nat",
                   "#n/a")  # fmt: skip

MISSING_TOKENS: tuple[str, ...] = _MISSING_TOKENS
"""Cleaned texts :func:`nfkc_clean` reads as missing (compared lower-cased)."""

HAN_RE2 = r"\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}\x{f900}-\x{faff}"  # re2 class body for CJK
HAN_CHAR_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def scalar_to_text(value: object) -> str | None:
    """Safe str() of one cell: integral floats lose '.0', missing values become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if value != value:  # NaN
            return None
        if float(value).is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _uniques_to_arrow(uniques: Any) -> pa.StringArray:
    """Text of every distinct value returned by ``pd.factorize`` (no nulls in input)."""
    if isinstance(uniques, pd.Index | pd.api.extensions.ExtensionArray):
        dtype = uniques.dtype
    else:
        dtype = np.asarray(uniques).dtype
    if pd.api.types.is_float_dtype(dtype):
        vals = np.asarray(uniques, dtype="float64")
        integral = np.isfinite(vals) & (np.floor(vals) == vals) & (np.abs(vals) < 1e18)
        out = np.empty(len(vals), dtype=object)
        # Spreadsheets store phone numbers as floats: 13800138000.0 must give '13800138000'.
        out[integral] = vals[integral].astype(np.int64).astype(str)
        out[~integral] = [repr(float(v)) for v in vals[~integral]]
        return pa.array(out, type=pa.string())
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return pa.array(np.asarray(uniques).astype(str).astype(object), type=pa.string())
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    values = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        values = np.array([scalar_to_text(v) for v in values], dtype=object)
    try:
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800"), which UTF-8 cannot hold: read as U+FFFD, and the
        # frame driver lists the value among the problems.
        repaired = [None if v is None else replace_lone_surrogates(v) for v in values]
        return pa.array(repaired, type=pa.string())


def factorize_text(column: pd.Series) -> tuple[np.ndarray, pa.StringArray]:
    """``(codes, raw_text)``: one text per distinct value; code -1 marks a null cell."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), _uniques_to_arrow(uniques)


def nfkc_clean(raw: pa.Array) -> pa.Array:
    """NFKC, whitespace collapsed, trimmed; missing-value tokens become null."""
    # Both passes run only on the values that need them (most are plain ASCII, one space).
    text = raw
    non_ascii = np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(raw)), False))
    if non_ascii.any():
        normalized = pc.utf8_normalize(raw.filter(pa.array(non_ascii)), "NFKC")
        text = replace_masked(text, non_ascii, normalized)
    odd_space = matches(text, r"[^\S ]|  |\x{200b}|\x{feff}")
    if odd_space.any():
        collapsed = pc.replace_substring_regex(
            text.filter(pa.array(odd_space)), r"[\s\x{200b}\x{feff}]+", " "
        )
        text = replace_masked(text, odd_space, collapsed)
    text = pc.utf8_trim_whitespace(text)
    missing = pc.is_in(pc.utf8_lower(text), value_set=value_set(tuple(_MISSING_TOKENS)))
    return pc.if_else(missing, pa.scalar(None, pa.string()), text)


@lru_cache(maxsize=1)
def _t2s_converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def t2s_converter() -> opencc.OpenCC:
    """The shared opencc traditional -> simplified converter (built once)."""
    return _t2s_converter()


def to_simplified(text: pa.Array) -> pa.Array:
    """Traditional -> simplified Chinese, one opencc call for the whole array.

    Values must not contain newlines (``nfkc_clean`` collapsed all whitespace to spaces).
    """
    needs = np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(text)), False))
    if not needs.any():
        return text
    idx = np.flatnonzero(needs)
    values = text.take(pa.array(idx)).to_pylist()
    converted = _t2s_converter().convert("\n".join(values)).split("\n")
    if len(converted) != len(values):  # pragma: no cover - defensive, opencc kept all '\n'
        converted = [_t2s_converter().convert(v) for v in values]
    return pc.replace_with_mask(text, pa.array(needs), pa.array(converted, type=pa.string()))


def matches(text: pa.Array, pattern: str, where: np.ndarray | None = None) -> np.ndarray:
    """numpy bool: does the (re2) pattern match; False for null (and outside ``where``).

    re2 compiles the pattern on every call, which costs more than matching when the array
    is short (a single form check) and the pattern a big alternation: null-only input and
    an empty ``where`` skip the call altogether.
    """
    if where is not None:
        if not where.any():
            return np.zeros(len(text), dtype=bool)
        if not where.all():
            out = np.zeros(len(text), dtype=bool)
            idx = np.flatnonzero(where)
            out[idx] = matches(text.take(pa.array(idx, type=pa.int64())), pattern)
            return out
    if text.null_count == len(text):
        return np.zeros(len(text), dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring_regex(text, pattern), False))


@lru_cache(maxsize=64)
def value_set(words: frozenset[str] | tuple[str, ...]) -> pa.Array:
    """A word set as the arrow array ``pc.is_in`` wants (built once per set)."""
    return pa.array(sorted(words), type=pa.string())


def null_strings(n: int) -> pa.Array:
    """``n`` null strings (the starting point of a derived column)."""
    return pa.nulls(n, pa.string())


def set_where(base: pa.Array, mask: np.ndarray, value: Any) -> pa.Array:
    """``base`` with ``value`` (scalar) wherever ``mask``."""
    return pc.if_else(pa.array(mask), pa.scalar(value, base.type), base)


def replace_masked(base: pa.Array, mask: np.ndarray, values: Sequence[Any] | pa.Array) -> pa.Array:
    """``base`` with ``values`` (one per True of ``mask``, in order) written in."""
    if not mask.any():
        return base
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=base.type)
    return pc.replace_with_mask(base, pa.array(mask), values.cast(base.type))


def extract_where(text: pa.Array, mask: np.ndarray, pattern: str) -> pa.Array:
    """``pc.extract_regex`` run only where ``mask`` (null elsewhere): a cheap pre-filter
    keeps re2's slow capture pass (and, with nothing to match, its compile) off the values
    that cannot match."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return pa.nulls(len(text), _extract_type(pattern))
    if len(idx) == len(text):
        return pc.extract_regex(text, pattern)
    match = pc.extract_regex(text.take(pa.array(idx, type=pa.int64())), pattern)
    positions = np.full(len(text), -1, dtype=np.int64)
    positions[idx] = np.arange(len(idx))
    return match.take(pa.array(positions, mask=positions < 0))


@lru_cache(maxsize=256)
def _extract_type(pattern: str) -> pa.DataType:
    """The struct type ``pc.extract_regex`` gives for ``pattern`` (its named groups)."""
    return pc.extract_regex(pa.array([], type=pa.string()), pattern).type


def map_distinct(text: pa.Array, func: Callable[[str], str | None]) -> pa.Array:
    """Apply a Python function once per distinct non-null string (low-cardinality columns)."""
    encoded = pc.dictionary_encode(text)
    mapped = pa.array([func(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return mapped.take(encoded.indices)


def match_group(match: pa.Array, name: str) -> pa.Array:
    """Named group of a ``pc.extract_regex`` result; null where the regex did not match.

    An optional group that did not take part comes back as '' from re2; it becomes null too,
    so ``pc.coalesce`` over alternative groups picks the one that matched.
    (``StructArray.field`` ignores the struct's own validity, hence ``pc.struct_field``.)
    """
    group = pc.struct_field(match, name)
    return pc.if_else(pc.equal(group, ""), pa.scalar(None, pa.string()), group)


def strip_regex(text: pa.Array, pattern: str) -> pa.Array:
    """``text`` with every match of the (re2) ``pattern`` removed."""
    return pc.replace_substring_regex(text, pattern, "")


def one_text_array(value: object) -> pa.Array:
    """One cell as a one-element string array, for the batch code's per-value use."""
    return pa.array([scalar_to_text(value)], type=pa.string())


def first_item(column: Any) -> Any:
    """The first value of a batch result column (numpy or arrow) as a Python object."""
    if isinstance(column, np.ndarray):
        return column[0]
    return column[0].as_py()
