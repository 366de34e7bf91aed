"""Coordinates: the latitude and longitude roles, as decimal degrees.

``41.8781``, ``41,8781`` (a decimal comma), ``41.8781° N``, ``N 41.8781`` and ``41°52'41"N``
all give ``41.8781`` (to rounding); a southern or western hemisphere letter makes the value
negative.  A value that is no number of degrees, a hemisphere letter of the other axis
(``87.6 W`` as a latitude), minutes or seconds of 60 or more, or a value out of range
(latitude beyond +-90, longitude beyond +-180) is a problem, and its ``<role>_num`` is NaN.
One re2 pattern on the distinct values, then numpy.

Both roles are simple roles too (``linkage.schema.SIMPLE_ROLES``), so they also get their
``<role>_clean`` text from :func:`linkage.standardize.add_simple_clean`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import ConfigError
from linkage.standardize._text import (
    match_group,
    nfkc_clean,
    null_strings,
    one_text_array,
    set_where,
)

__all__ = ["COORDINATE_ROLES", "coordinate_batch", "standardize_coordinate"]

COORDINATE_ROLES: tuple[str, ...] = ("latitude", "longitude")
"""The roles :func:`coordinate_batch` reads; each derives ``<role>_num``."""


def standardize_coordinate(value: object, role: str) -> float | None:
    """Decimal degrees of one latitude or longitude; None when missing or invalid.

    >>> standardize_coordinate("41°52'41\\"N", "latitude")
    41.878055555555555
    """
    degrees, _problem = coordinate_batch(one_text_array(value), role)
    return None if np.isnan(degrees[0]) else float(degrees[0])


def coordinate_batch(raw: pa.Array, role: str) -> tuple[np.ndarray, pa.Array]:
    """(float64 degrees, NaN when missing or bad; problem) per distinct value."""
    if role not in COORDINATE_ROLES:
        raise ConfigError(f"role must be one of {list(COORDINATE_ROLES)}, got {role!r}")
    n = len(raw)
    text = pc.utf8_upper(nfkc_clean(raw))
    given = np.asarray(text.is_valid())
    parts = pc.extract_regex(text, _COORDINATE_RE2)
    parsed = np.asarray(parts.is_valid()) & given

    def number(group: str) -> np.ndarray:
        values = pc.replace_substring(match_group(parts, group), ",", ".")
        return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False))

    degrees = number("deg")
    minutes, seconds = number("min"), number("sec")
    has_minutes = ~np.isnan(minutes)
    fractional = np.asarray(
        pc.fill_null(pc.match_substring_regex(match_group(parts, "deg"), r"[.,]"), False)
    )
    bad_parts = (np.nan_to_num(minutes) >= 60) | (np.nan_to_num(seconds) >= 60)
    bad_parts |= has_minutes & fractional  # '41.5°30\'' has no single reading
    value = degrees + np.nan_to_num(minutes) / 60 + np.nan_to_num(seconds) / 3600
    hemisphere = pc.coalesce(match_group(parts, "h1"), match_group(parts, "h2"))
    negative = np.asarray(pc.fill_null(pc.is_in(hemisphere, pa.array(["S", "W"])), False))
    negative ^= np.asarray(pc.fill_null(pc.equal(match_group(parts, "sign"), "-"), False))
    value = np.where(negative, -value, value)
    own = ("N", "S") if role == "latitude" else ("E", "W")
    wrong_axis = np.asarray(hemisphere.is_valid()) & ~np.asarray(
        pc.fill_null(pc.is_in(hemisphere, pa.array(own)), False)
    )
    limit = 90.0 if role == "latitude" else 180.0
    readable = parsed & ~bad_parts
    with np.errstate(invalid="ignore"):
        out_of_range = readable & ~wrong_axis & (np.abs(value) > limit)
    problem = null_strings(n)
    problem = set_where(problem, given & ~readable, f"not a {role}")
    problem = set_where(problem, readable & wrong_axis, f"not a {role} (other axis' hemisphere)")
    problem = set_where(problem, out_of_range, f"{role} out of range")
    ok = readable & ~wrong_axis & ~out_of_range
    return np.where(ok, value, np.nan), problem


# Degrees (a decimal point or comma), optional minutes and seconds, a sign or a hemisphere
# letter before or after.  NFKC has made '″' two primes and 'º' an 'O'; upper-cased.
_COORDINATE_RE2 = (
    r"^(?P<h1>[NSEW])?\s*(?P<sign>[+\-])?\s*(?P<deg>\d{1,3}(?:[.,]\d+)?)\s*(?:°|O|DEG)?\s*"
    r"(?:(?P<min>\d{1,2}(?:[.,]\d+)?)\s*(?:'|′|’)\s*)?"
    r"(?:(?P<sec>\d{1,2}(?:[.,]\d+)?)\s*(?:\"|′′|''|″|”)?\s*)?"
    r"(?P<h2>[NSEW])?$"
)
