"""Timestamps and dates: the created_at, updated_at and dob roles.

Dates are matched by re2 and assembled from their parts in numpy (no strptime), with
calendar checks; Excel serial numbers and Unix epochs are recognised.  A date of birth
allows earlier years than a CRM timestamp but none in the future.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardize._text import (
    match_group,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    set_where,
)

__all__ = ["dob_batch", "parse_timestamp", "timestamp_batch"]


def parse_timestamp(value: object) -> dt.datetime | None:
    """Parse one timestamp in any of the CRM export formats; None when missing or unparseable.

    Accepts '2024-03-05 14:22:01', '2024/3/5 14:22', '2024-03-05T14:22:01Z', '2024年3月5日',
    '20240305', Excel serial numbers ('45356.6') and Unix epochs.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    stamps, _problem = timestamp_batch(one_text_array(value))
    if np.isnat(stamps[0]):
        return None
    return pd.Timestamp(stamps[0]).to_pydatetime()


def dob_batch(raw: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(date or NaT per distinct value, as objects; problem) for the dob role.

    Years from 1000 are accepted (genealogy and historical records are real data); a date
    after today is an implausible date of birth.
    """
    stamps, problem = timestamp_batch(raw, earliest_year=1000)
    today = np.datetime64(dt.date.today(), "us")
    implausible = ~np.isnat(stamps) & (stamps > today)
    problem = set_where(problem, implausible, "implausible date of birth")
    stamps[implausible] = np.datetime64("NaT")
    dates = pd.DatetimeIndex(stamps).date.astype(object)
    dates[pd.isna(stamps)] = pd.NaT
    return dates, problem


def timestamp_batch(raw: pa.Array, earliest_year: int = 1900) -> tuple[np.ndarray, pa.Array]:
    """(datetime64[us] per distinct value, problem).

    A year before ``earliest_year`` or after 2100 is implausible for a CRM timestamp; dates
    of birth pass an earlier bound (genealogy and historical records are real data).

    Time-zone designators ('Z', '+08:00') are dropped: the wall-clock time is kept so that
    all sources compare in the same (local) clock.
    """
    n = len(raw)
    text = nfkc_clean(raw)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    parsed, ok, stamp = _assemble_timestamps(pc.extract_regex(text, _DATE_RE2))
    out[ok] = stamp[ok]
    compact = matches(text, r"^\d{8}(?:\d{6})?$")
    if compact.any():
        idx = np.flatnonzero(compact)
        sub_parsed, sub_ok, sub_stamp = _assemble_timestamps(
            pc.extract_regex(text.take(pa.array(idx)), _COMPACT_DATE_RE2)
        )
        parsed[idx] = sub_parsed
        out[idx[sub_ok]] = sub_stamp[sub_ok]
    # Excel serial day numbers (45356.6 = 2024-03-05 14:24) and Unix epochs.
    serial = matches(text, r"^\d{5}(?:\.\d+)?$") & ~parsed
    if serial.any():
        days = pc.cast(text.filter(pa.array(serial)), pa.float64()).to_numpy()
        ok = (days >= 1000) & (days < 80000)
        micros = np.round(days * 86_400_000_000).astype(np.int64)
        stamps = _EXCEL_EPOCH + micros.astype("timedelta64[us]")
        out[serial] = np.where(ok, stamps, np.datetime64("NaT"))
        parsed |= serial
    for shape, unit in ((r"^1\d{9}$", "s"), (r"^1\d{12}$", "ms")):
        hit = matches(text, shape) & ~parsed
        if hit.any():
            ints = pc.cast(text.filter(pa.array(hit)), pa.int64()).to_numpy()
            out[hit] = ints.astype(f"datetime64[{unit}]").astype("datetime64[us]")
            parsed |= hit
    given = np.asarray(text.is_valid())
    problem = null_strings(n)
    problem = set_where(problem, given & ~parsed, "unrecognised date format")
    bad_value = given & parsed & np.isnat(out)
    problem = set_where(problem, bad_value, "invalid date")
    years = out.astype("datetime64[Y]").astype(np.int64) + 1970
    implausible = given & ~np.isnat(out) & ((years < earliest_year) | (years > 2100))
    problem = set_where(problem, implausible, "implausible date")
    out[implausible] = np.datetime64("NaT")
    return out, problem


_DATE_RE2 = (
    r"(?i)^(?P<y>\d{4})[-/.年](?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?"
    r"(?:[ t]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?"
    r" ?(?:z|utc|[+-]\d{2}:?\d{2})?$"
)
_COMPACT_DATE_RE2 = (
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2}))?$"
)
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "us")


def _int_field(match: pa.Array, name: str) -> np.ndarray:
    """Integer value of a numeric named group; 0 where absent."""
    group = pc.fill_null(match_group(match, name), "0")
    return pc.cast(group, pa.int64()).to_numpy(zero_copy_only=False)


def _assemble_timestamps(match: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(matched, calendar-valid, datetime64[us]) from a ``_DATE_RE2``-style match.

    Dates are assembled from their parts in numpy (no strptime), with calendar checks so
    that 2024-02-30 is an error rather than March 1.
    """
    matched = np.asarray(match.is_valid())
    year, month, day = (_int_field(match, k) for k in ("y", "mo", "d"))
    hour, minute, second = (_int_field(match, k) for k in ("h", "mi", "s"))
    if "f" in [field.name for field in match.type]:
        fraction = pc.utf8_slice_codeunits(
            pc.utf8_rpad(pc.fill_null(match_group(match, "f"), "0"), 6, "0"), 0, 6
        )
        micros = pc.cast(fraction, pa.int64()).to_numpy(zero_copy_only=False)
    else:
        micros = np.zeros(len(match), dtype=np.int64)
    ok = matched & (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60)
    ok &= (second < 60) & (year >= 1000)
    month_index = (np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1
    first = month_index.astype("datetime64[M]").astype("datetime64[D]")
    next_first = (month_index + 1).astype("datetime64[M]").astype("datetime64[D]")
    ok &= day <= (next_first - first).astype(np.int64)
    offset = ((day - 1) * 86_400_000_000 + hour * 3_600_000_000 + minute * 60_000_000
              + second * 1_000_000 + micros)  # fmt: skip
    stamp = first.astype("datetime64[us]") + np.where(ok, offset, 0).astype("timedelta64[us]")
    return matched, ok, stamp
