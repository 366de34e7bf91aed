"""Phones: the mobile and phone roles, to E.164 with kind, extension and validity.

Plain Chinese numbers take a vectorized fast path (re2 patterns built from ``phonenumbers``'
own CN metadata); everything else goes through :func:`parse_phone_slow`, which
``phonenumbers`` backs and which words every reason a number is refused.  The two paths give
identical answers (a test holds them to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import ConfigError
from linkage.standardize._text import (
    extract_where,
    first_item,
    match_group,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    replace_masked,
    set_where,
    strip_regex,
)

__all__ = ["PhoneResult", "check_region", "parse_phone_slow", "phone_batch", "standardize_phone"]


@dataclass(frozen=True)
class PhoneResult:
    """A standardized phone number; fields match the ``R_*`` derived columns.

    ``valid`` is None when the value is missing, False when given but unusable.
    """

    e164: str | None
    kind: str | None
    extension: str | None
    valid: bool | None
    problem: str | None


def standardize_phone(value: object, default_region: str = "CN") -> PhoneResult:
    """Parse one phone number: E.164, kind, extension, validity and the reason when invalid.

    >>> standardize_phone("+86 138-0013-8000").e164
    '+8613800138000'
    """
    check_region(default_region)
    cols = phone_batch(one_text_array(value), default_region)
    return PhoneResult(*(first_item(cols[k]) for k in ("e164", "kind", "extension", "valid",
                                                   "problem")))  # fmt: skip


def phone_batch(raw: pa.Array, region: str) -> dict[str, pa.Array]:
    """Phone columns per distinct value: e164, kind, extension, valid, problem."""
    n = len(raw)
    text = nfkc_clean(raw)
    e164 = null_strings(n)
    kind = null_strings(n)
    extension = null_strings(n)
    valid = pc.if_else(text.is_valid(), pa.scalar(True), pa.scalar(None, pa.bool_()))
    problem = null_strings(n)
    slow = np.asarray(text.is_valid())
    if region == "CN":
        # Fast path, same decisions as parse_phone_slow for the common shapes: an optional
        # worded extension (转/分机/ext/x/#), a whole number, else a '-801' dash extension.
        worded = extract_where(
            text,
            matches(text, r"[^\d\s\-+().]"),
            r"(?i)^(?P<main>.*?\d)\s*(?:转分机|分机号?|转|ext(?:ension)?\.?|extn\.?|x|#)"
            r"\s*[:：]?\s*(?P<ext>\d{1,6})$",
        )
        main = pc.coalesce(match_group(worded, "main"), text)
        worded_ext = match_group(worded, "ext")
        # Excel scientific notation (1.38001380E+10): exact as long as it fits a double.
        sci = matches(main, r"^\d\.\d{1,14}[eE]\+?1[0-4]$")
        if sci.any():
            numbers = pc.cast(main.filter(pa.array(sci)), pa.float64()).to_numpy()
            integral = np.floor(numbers) == numbers
            as_text = np.where(integral, numbers.astype(np.int64).astype(str), "x")
            main = replace_masked(main, sci, as_text.tolist())
        national, is_mobile, is_land = _cn_phone_fast(main)
        whole_ok = is_mobile | is_land
        dashed = extract_where(
            main,
            ~whole_ok & matches(main, "-"),
            r"^(?P<main>.*\d{4})\s*-\s*(?P<ext>\d{1,5})$",
        )
        dash_main = match_group(dashed, "main")
        d_national, d_mobile, d_land = _cn_phone_fast(dash_main)
        use_dash = ~whole_ok & (d_mobile | d_land) & np.asarray(worded_ext.is_null())
        national = pc.if_else(pa.array(use_dash), d_national, national)
        is_mobile = np.where(use_dash, d_mobile, is_mobile)
        is_land = np.where(use_dash, d_land, is_land)
        fast = is_mobile | is_land
        ext = pc.if_else(pa.array(use_dash), match_group(dashed, "ext"), worded_ext)
        e164 = pc.if_else(pa.array(fast), pc.binary_join_element_wise("+86", national, ""), e164)
        kind = set_where(kind, is_mobile, "mobile")
        kind = set_where(kind, is_land, "landline")
        extension = pc.if_else(pa.array(fast), ext, extension)
        # 7-8 digit local numbers: no area code, cannot be dialled from outside the city.
        local_only = matches(text, r"^[2-9]\d{6,7}$", where=~fast)
        local_only &= ~matches(text, _PHONE_PLACEHOLDER_RE2, where=local_only)
        # A few 8-digit service numbers are valid.
        local_only &= ~matches(text, _cn_patterns()[1], where=local_only)
        valid = set_where(valid, local_only, False)
        problem = set_where(problem, local_only, "landline without area code")
        slow &= ~fast & ~local_only
    if slow.any():
        results = [parse_phone_slow(v, region) for v in text.filter(pa.array(slow)).to_pylist()]
        cols = list(zip(*results, strict=True))
        e164 = replace_masked(e164, slow, cols[0])
        kind = replace_masked(kind, slow, cols[1])
        extension = replace_masked(extension, slow, cols[2])
        valid = replace_masked(valid, slow, cols[3])
        problem = replace_masked(problem, slow, cols[4])
    return {"e164": e164, "kind": kind, "extension": extension, "valid": valid,
            "problem": problem}  # fmt: skip


def check_region(region: str) -> None:
    """Raise :class:`ConfigError` unless ``region`` is a region ``phonenumbers`` knows."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"default_region {region!r} is not a region phonenumbers knows; use an ISO 3166 "
            "code such as 'CN', 'HK' or 'US'"
        )


_SAME_DIGIT_RUN = "|".join(f"{d}{{8}}" for d in "0123456789")
_ALL_SAME_DIGIT = "|".join(f"{d}+" for d in "0123456789")
# Placeholder national numbers (re2 has no back-references, hence the alternations).
_PHONE_PLACEHOLDER_RE2 = (
    rf"^(?:{_ALL_SAME_DIGIT})$"  # 11111111111
    rf"|^1\d\d(?:{_SAME_DIGIT_RUN})$"  # 13800000000, 13988888888
    r"|(?:12345678|87654321)$"  # 13912345678, 010-12345678
    r"|^(?:1234567|123456789|1234567890|12345678901|0123456789|01234567)$"
)
_PHONE_PLACEHOLDER_PY = re.compile(
    r"^(\d)\1+$|^1\d\d(\d)\2{7}$|(?:12345678|87654321)$"
    r"|^(?:1234567|123456789|1234567890|12345678901|0123456789|01234567)$"
)
# North-American fictional numbers (NXX-555-01XX) are test numbers by definition.
_NANP_FICTIONAL_RE = re.compile(r"^\d{3}55501\d\d$")

_EXTENSION_RE = re.compile(
    r"\s*(?:转分机|分机号?|转|ext(?:ension)?\.?|extn\.?|x|#)\s*[:：]?\s*(\d{1,6})\s*$", re.I
)
_DASH_EXTENSION_RE = re.compile(r"(.*\d)\s*[-/]\s*(\d{1,5})")
_EXCEL_FLOAT_RE = re.compile(r"[+]?\d+(?:\.\d+)?[eE][+]?\d+")
_FLOAT_ZERO_RE = re.compile(r"(\+?\d+)\.0+")
_MULTI_SEPARATOR_RE = re.compile(r"[;；,，、|/\\]+")
_TWO_MOBILES_RE = re.compile(r"(1\d{10})\s+(1\d{10})")

_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


@lru_cache(maxsize=1)
def _cn_patterns() -> tuple[str, str]:
    """re2 patterns for valid CN mobile and non-mobile national numbers (from phonenumbers)."""
    md = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = md.mobile.national_number_pattern
    others = [
        desc.national_number_pattern
        for desc in (md.fixed_line, md.toll_free, md.shared_cost, md.premium_rate)
        if desc is not None and desc.national_number_pattern
    ]
    return f"^(?:{mobile})$", "^(?:" + "|".join(f"(?:{p})" for p in others) + ")$"


def _is_placeholder_number(national: str, country_code: int) -> bool:
    if _PHONE_PLACEHOLDER_PY.search(national):
        return True
    return country_code == 1 and bool(_NANP_FICTIONAL_RE.match(national))


def parse_phone_slow(
    text: str, region: str
) -> tuple[str | None, str | None, str | None, bool, str | None]:
    """Full phone parser for one cleaned (NFKC, trimmed) non-missing text.

    Returns ``(e164, kind, extension, valid, problem)``.
    """
    s = text
    note = None
    if _EXCEL_FLOAT_RE.fullmatch(s):
        try:
            number = Decimal(s)
            if number == number.to_integral_value():
                s = str(int(number))
        except InvalidOperation:
            pass
    elif m := _FLOAT_ZERO_RE.fullmatch(s):
        s = m.group(1)
    if m := _TWO_MOBILES_RE.fullmatch(s):
        s = m.group(1) + ";" + m.group(2)
    parts = [p.strip() for p in _MULTI_SEPARATOR_RE.split(s) if p and p.strip()]
    extension = None
    if len(parts) > 1:
        if re.fullmatch(r"\d{1,5}", parts[1]) and len(parts) == 2:
            s, extension = parts[0], parts[1]  # 0755-23456789/801
        else:
            s, note = parts[0], "several numbers; first kept"
    if extension is None and (m := _EXTENSION_RE.search(s)) and m.start() > 0:
        s, extension = s[: m.start()], m.group(1)

    def parse(candidate: str) -> phonenumbers.PhoneNumber | None:
        digits = re.sub(r"[^\d+]", "", candidate)
        # '86'/'0086' glued to an 11-digit mobile without the '+'.
        if mm := re.fullmatch(r"(?:\+?86|0086)0?(1\d{10})", digits):
            candidate = "+86" + mm.group(1)
        elif digits.startswith("00") and not digits.startswith("0086"):
            candidate = "+" + digits[2:]
        try:
            return phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return None

    number = parse(s)
    if extension is None and (number is None or not phonenumbers.is_valid_number(number)):
        if m := _DASH_EXTENSION_RE.fullmatch(s):  # 0755-23456789-801
            head = parse(m.group(1))
            if head is not None and phonenumbers.is_valid_number(head):
                number, extension = head, m.group(2)
    if number is None or not re.search(r"\d", s):
        return None, None, None, False, "not a phone number"
    if number.extension and extension is None:
        extension = number.extension
    national = str(number.national_number)
    if _is_placeholder_number(national, number.country_code):
        return None, None, None, False, "placeholder number"
    if not phonenumbers.is_valid_number(number):
        possible = phonenumbers.is_possible_number_with_reason(number)
        reason = "not a valid number"
        if possible == phonenumbers.ValidationResult.TOO_SHORT:
            reason = "too short"
        elif possible == phonenumbers.ValidationResult.TOO_LONG:
            reason = "too long"
        if number.country_code == 86:
            if len(national) == 11 and national.startswith("1"):
                reason = "unknown mobile prefix"
            elif (
                len(national) in (10, 12)
                and national.startswith("1")
                and not (national.startswith("10"))
            ):
                reason = "wrong number of digits for a mobile"
            elif 7 <= len(national) <= 8 and not number.italian_leading_zero:
                reason = "landline without area code"
        return None, None, None, False, reason
    number.extension = None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    home_code = phonenumbers.country_code_for_region(region)
    if number.country_code != home_code:
        kind = "foreign"
    elif phonenumbers.number_type(number) in _MOBILE_TYPES:
        kind = "mobile"
    else:
        kind = "landline"  # fixed line, 400/800 service numbers
    return e164, kind, extension, True, note


def _cn_phone_fast(candidate: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Vectorized check of plain CN numbers: (national number, is_mobile, is_landline).

    Only numbers that are valid and not placeholders come back True; everything else is
    left to the full parser so that reasons are worded in one place.
    """
    compact = pc.replace_substring_regex(candidate, r"^(\+?\d+)\.0+$", r"\1")
    compact = strip_regex(compact, r"[ \-()]")
    mobile_n = match_group(pc.extract_regex(compact, r"^(?:\+86|0086|86)?(?P<n>1\d{10})$"), "n")
    land_n = match_group(
        pc.extract_regex(compact, r"^(?:(?:\+86|0086)0?|0)(?P<n>[1-9]\d{8,10})$"), "n"
    )
    mobile_re, other_re = _cn_patterns()
    is_mobile = matches(mobile_n, mobile_re)
    is_land = matches(land_n, other_re)
    is_land &= ~matches(land_n, mobile_re, where=is_land)
    national = pc.coalesce(mobile_n, land_n)
    ok = ~matches(national, _PHONE_PLACEHOLDER_RE2, where=is_mobile | is_land)
    return national, is_mobile & ok, is_land & ok
