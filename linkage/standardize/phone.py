"""Phones: the mobile and phone roles, to E.164 with kind, extension and validity.

Plain Chinese numbers take a vectorized fast path (re2 patterns built from ``phonenumbers``'
own CN metadata); everything else goes through :func:`parse_phone_slow`, which
``phonenumbers`` backs and which words every reason a number is refused.  The two paths give
identical answers (a test holds them to it).

Numbers written without a country code are read in one country, the *default country*.
:func:`infer_country` picks it from the data when the caller does not: the candidate country
in which most of a column's numbers are valid.  Trying every candidate with the full parser
would cost 0.1-0.2 s per candidate on a few thousand numbers, so candidates are first screened
with re2 patterns built from each country's ``phonenumbers`` metadata (vectorized, under a
millisecond each) and only those within reach of the leader are parsed in full.  A number
written with ``+CC`` or ``00CC`` keeps its own country whatever the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import ConfigError
from linkage.standardize._text import (
    extract_where,
    factorize_text,
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

__all__ = [
    "COMMON_CRM_COUNTRIES",
    "CountryGuess",
    "PhoneResult",
    "check_region",
    "infer_country",
    "parse_phone_slow",
    "phone_batch",
    "standardize_phone",
]

# Patterns shared by the batch code here and the one-value path (``_one.py``).
#: A number and a worded extension (转 / 分机 / ext / x / #).
WORDED_EXTENSION_PATTERN = (
    r"(?i)^(?P<main>.*?\d)\s*(?:转分机|分机号?|转|ext(?:ension)?\.?|extn\.?|x|#)"
    r"\s*[:：]?\s*(?P<ext>\d{1,6})$"
)
#: Characters other than digits, spaces and - + ( ) .: a worded extension may follow.
WORDED_GATE_PATTERN = r"[^\d\s\-+().]"
#: Excel's scientific notation of a number (1.38001380E+10).
SCIENTIFIC_PATTERN = r"^\d\.\d{1,14}[eE]\+?1[0-4]$"
#: A number and a '-801' extension.
DASHED_EXTENSION_PATTERN = r"^(?P<main>.*\d{4})\s*-\s*(?P<ext>\d{1,5})$"
#: A landline without its area code.
LOCAL_ONLY_PATTERN = r"^[2-9]\d{6,7}$"
#: A number a spreadsheet read as a float ('13800138000.0').
FLOAT_TAIL_PATTERN = r"^(\+?\d+)\.0+$"
#: The separators a number is written with.
COMPACT_PATTERN = r"[ \-()]"
#: A Chinese mobile number, with or without +86.
CN_MOBILE_PATTERN = r"^(?:\+86|0086|86)?(?P<n>1\d{10})$"
#: A Chinese landline with its area code.
CN_LANDLINE_PATTERN = r"^(?:(?:\+86|0086)0?|0)(?P<n>[1-9]\d{8,10})$"

COMMON_CRM_COUNTRIES: tuple[str, ...] = (
    "US", "GB", "HK", "TW", "SG", "JP", "KR", "DE", "FR", "AU", "CA", "MO", "MY",
)  # fmt: skip
"""Countries :func:`infer_country` always tries (after CN and the numbers' own ``+CC``)."""

INFER_SAMPLE_SIZE = 2000
"""Distinct numbers :func:`infer_country` looks at, at most (a random sample, fixed seed)."""


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


@dataclass(frozen=True)
class CountryGuess:
    """The default country :func:`infer_country` finds for a column of phone numbers.

    ``country``: ISO 3166 alpha-2 code of the winner.  ``share``: share of the numbers looked
    at that read as a number (an E.164) with ``country`` as the default: the valid ones, and
    fictional 555-01xx numbers, read but flagged.  Numbers written with their own ``+CC``
    count under every default.  ``runner_up``: the best
    candidate with another country calling code (None when no other was tried), and
    ``runner_up_share`` its share, estimated from the numbering-plan patterns when it was
    not close enough to the winner to be parsed in full.  ``numbers``: how many distinct
    numbers were looked at (0: no numbers, the guess is CN).
    """

    country: str
    share: float
    runner_up: str | None
    runner_up_share: float
    numbers: int


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
            matches(text, WORDED_GATE_PATTERN),
            WORDED_EXTENSION_PATTERN,
        )
        main = pc.coalesce(match_group(worded, "main"), text)
        worded_ext = match_group(worded, "ext")
        # Excel scientific notation (1.38001380E+10): exact as long as it fits a double.
        sci = matches(main, SCIENTIFIC_PATTERN)
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
            DASHED_EXTENSION_PATTERN,
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
        local_only = matches(text, LOCAL_ONLY_PATTERN, where=~fast)
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
            "problem": problem, "tail": _tails(text, e164)}  # fmt: skip


def _tails(text: pa.Array, e164: pa.Array) -> pa.Array:
    """The last seven digits: of the E.164 form, or of the digits as written when the
    number did not parse (7 to 15 digits), so that a local number written without its area
    code (``265-3830``) still meets its full form."""
    digits = pc.replace_substring_regex(pc.fill_null(text, ""), r"\D", "")
    length = pc.utf8_length(digits)
    written = pc.if_else(
        pc.and_(pc.greater_equal(length, 7), pc.less_equal(length, 15)),
        pc.utf8_slice_codeunits(digits, -7),
        pa.scalar(None, pa.string()),
    )
    return pc.coalesce(pc.utf8_slice_codeunits(e164, -7), written)


def infer_country(
    values: Iterable[object] | pa.Array, *, sample_size: int = INFER_SAMPLE_SIZE
) -> CountryGuess:
    """The country in which most of ``values`` (phone numbers) are valid.

    Candidates: CN, then the countries of the numbers' own ``+CC``/``00CC`` prefixes (most
    frequent first), then :data:`COMMON_CRM_COUNTRIES`.  Each distinct number counts once;
    at most ``sample_size`` of them are looked at (a random sample with a fixed seed, so the
    same values give the same guess).  Candidates within 5% of the numbers of the best are
    tied: a tie goes to the numbering plan more of the numbers belong to (a column of
    ``+44`` numbers is British, although they read under any default), then to CN, then to
    the earlier candidate (permissive plans must not win on a few odd numbers).

    Args:
        values: raw cells (a pandas Series, a list, ...); missing values and missing-value
            tokens are skipped.  A pyarrow string array is taken to hold distinct texts
            already (it is sampled before it is deduplicated).
        sample_size: the most distinct numbers to look at.

    Returns:
        A :class:`CountryGuess`; CN with share 0.0 when there is no number at all.

    >>> guess = infer_country(["(617) 495-1000", "212.736.5000", "312/265-3830", "+44 20 79460123"])
    >>> guess.country, guess.share, guess.runner_up
    ('US', 1.0, 'CN')
    """
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise ConfigError(f"sample_size must be a positive integer, got {sample_size!r}")
    text = _distinct_numbers(values, sample_size)
    n = len(text)
    if n == 0:
        return CountryGuess("CN", 0.0, None, 0.0, 0)
    home = phone_batch(text, "CN")  # the vectorized fast path: cheap on Chinese data
    own_code, own_national = _explicit_numbers(text, home["e164"])
    explicit = own_code > 0
    national = _national_digits(text, ~explicit)

    candidates = ["CN"]
    codes, counts = np.unique(own_code[explicit], return_counts=True)
    for code in codes[np.argsort(-counts, kind="stable")]:
        region = phonenumbers.region_code_for_country_code(int(code))
        if region in phonenumbers.SUPPORTED_REGIONS and region not in candidates:
            candidates.append(region)
    candidates += [c for c in COMMON_CRM_COUNTRIES if c not in candidates]
    code_of = {c: phonenumbers.country_code_for_region(c) for c in candidates}

    # Numbers read per calling code: exact (full parser) for CN and for any code that comes
    # within reach of the best exact count, the re2 screen for the others.
    read = {86: int(np.count_nonzero(home["e164"].is_valid()))}
    exact = {86}
    in_plan = {code: _plan_matches(code, national) for code in code_of.values() if code != 86}
    screen = {code: int(np.count_nonzero(explicit | ok)) for code, ok in in_plan.items()}
    for code in sorted(screen, key=lambda c: -screen[c]):
        read[code] = screen[code]
        if screen[code] >= _CLOSE_CONTEST * max(read[c] for c in exact):
            first = next(c for c in candidates if code_of[c] == code)
            read[code] = int(np.count_nonzero(phone_batch(text, first)["e164"].is_valid()))
            exact.add(code)

    def plan_numbers(code: int) -> tuple[int, bool, int]:
        if code == 86:
            domestic = np.asarray(pc.fill_null(pc.not_equal(home["kind"], "foreign"), False))
        else:
            domestic = (own_code == code) | in_plan[code]
        first = min(i for i, c in enumerate(candidates) if code_of[c] == code)
        return int(np.count_nonzero(domestic)), code == 86, -first

    def region_numbers(region: str) -> tuple[int, int]:
        dialled, bare = _region_patterns(region)
        own = matches(national, dialled)
        own |= matches(own_national, bare, where=own_code == code_of[region])
        return int(np.count_nonzero(own)), -candidates.index(region)

    # Candidates within _NEAR_TIE of the best count as tied.  A tie goes to the plan more of
    # the numbers belong to (+44 numbers read under any default, yet the column is British),
    # then to CN, then to the earlier candidate: permissive plans (Germany reads 70% of
    # Chinese mobiles, India most British numbers) must not win on a few odd numbers.
    # Within a plan shared by several countries (+1) it goes to the country of more numbers.
    best = max(read.values())
    tied = [c for c in candidates if read[code_of[c]] >= best - _NEAR_TIE * n]
    plans = list(dict.fromkeys(code_of[c] for c in tied))
    plan = plans[0] if len(plans) == 1 else max(plans, key=plan_numbers)
    in_winning_plan = [c for c in tied if code_of[c] == plan]
    winner = in_winning_plan[0]
    if len(in_winning_plan) > 1:
        winner = max(in_winning_plan, key=region_numbers)
    others = [c for c in candidates if code_of[c] != code_of[winner]]
    runner_up = max(others, key=lambda c: (read[code_of[c]], -candidates.index(c)), default=None)
    return CountryGuess(
        country=winner,
        share=read[code_of[winner]] / n,
        runner_up=runner_up,
        runner_up_share=0.0 if runner_up is None else read[code_of[runner_up]] / n,
        numbers=n,
    )


def check_region(region: object, argument: str = "default_region") -> str:
    """``region`` as a region code ``phonenumbers`` knows (upper-cased), else :class:`ConfigError`.

    ``argument`` names the caller's argument in the message.
    """
    code = region.strip().upper() if isinstance(region, str) else region
    if code not in phonenumbers.SUPPORTED_REGIONS:
        hint = " (the United Kingdom is 'GB')" if code == "UK" else ""
        raise ConfigError(
            f"{argument} {region!r} is not a country phonenumbers knows{hint}; use an ISO 3166 "
            "alpha-2 code such as 'CN', 'HK', 'US' or 'GB'"
        )
    return str(code)


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
# An area code, a slash, the subscriber number: one number (read whole only if valid).
_AREA_CODE_SLASH_RE = re.compile(r"(\(?\d{2,5}\)?)\s*/\s*(\d[\d \-.]{4,}\d)")
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
    if (m := _AREA_CODE_SLASH_RE.fullmatch(s)) and _is_valid(
        _parse_candidate(f"{m.group(1)} {m.group(2)}", region)
    ):
        s = f"{m.group(1)} {m.group(2)}"  # 312/555-0100, 030/1234567: not two numbers
    parts = [p.strip() for p in _MULTI_SEPARATOR_RE.split(s) if p and p.strip()]
    extension = None
    if len(parts) > 1:
        if re.fullmatch(r"\d{1,5}", parts[1]) and len(parts) == 2:
            s, extension = parts[0], parts[1]  # 0755-23456789/801
        else:
            s, note = parts[0], "several numbers; first kept"
    if extension is None and (m := _EXTENSION_RE.search(s)) and m.start() > 0:
        s, extension = s[: m.start()], m.group(1)

    number = _parse_candidate(s, region)
    if extension is None and not _is_valid(number):
        if m := _DASH_EXTENSION_RE.fullmatch(s):  # 0755-23456789-801
            head = _parse_candidate(m.group(1), region)
            if _is_valid(head):
                number, extension = head, m.group(2)
    if number is None or not re.search(r"\d", s):
        return None, None, None, False, "not a phone number"
    if number.extension and extension is None:
        extension = number.extension
    national = str(number.national_number)
    fictional = False
    if _PHONE_PLACEHOLDER_PY.search(national):
        return None, None, None, False, "placeholder number"
    if number.country_code == 1 and _NANP_FICTIONAL_RE.match(national):
        fictional = True  # read in full (the E.164 is real), flagged all the same
    if not phonenumbers.is_valid_number(number):
        possible = phonenumbers.is_possible_number_with_reason(number)
        reason = "not a valid number"
        if possible == phonenumbers.ValidationResult.TOO_SHORT:
            reason = "too short"
        elif possible == phonenumbers.ValidationResult.TOO_LONG:
            reason = "too long"
        elif possible == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
            reason = "landline without area code"  # 386-5286: dialled inside its area only
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
    if fictional:
        return e164, kind, extension, False, "placeholder number (fictional 555-01xx)"
    return e164, kind, extension, True, note


def _parse_candidate(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse`` of one candidate text, after the fixes CRM data needs; None
    when it cannot be read at all."""
    digits = re.sub(r"[^\d+]", "", candidate)
    # '86'/'0086' glued to an 11-digit mobile without the '+'.
    if m := re.fullmatch(r"(?:\+?86|0086)0?(1\d{10})", digits):
        candidate = "+86" + m.group(1)
    elif digits.startswith("00") and (region != "CN" or not digits.startswith("0086")):
        # 00CC keeps its country whatever the default (US dials out with 011, not 00).
        candidate = "+" + digits[2:]
    try:
        return phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None


def _is_valid(number: phonenumbers.PhoneNumber | None) -> bool:
    return number is not None and phonenumbers.is_valid_number(number)


def _cn_phone_fast(candidate: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Vectorized check of plain CN numbers: (national number, is_mobile, is_landline).

    Only numbers that are valid and not placeholders come back True; everything else is
    left to the full parser so that reasons are worded in one place.
    """
    compact = pc.replace_substring_regex(candidate, FLOAT_TAIL_PATTERN, r"\1")
    compact = strip_regex(compact, COMPACT_PATTERN)
    mobile_n = match_group(pc.extract_regex(compact, CN_MOBILE_PATTERN), "n")
    land_n = match_group(pc.extract_regex(compact, CN_LANDLINE_PATTERN), "n")
    mobile_re, other_re = _cn_patterns()
    is_mobile = matches(mobile_n, mobile_re)
    is_land = matches(land_n, other_re)
    is_land &= ~matches(land_n, mobile_re, where=is_land)
    national = pc.coalesce(mobile_n, land_n)
    ok = ~matches(national, _PHONE_PLACEHOLDER_RE2, where=is_mobile | is_land)
    return national, is_mobile & ok, is_land & ok


# Within this share of the best exact count, a candidate is parsed in full (the screen may
# miss a few shapes: dash extensions, several numbers in one cell).
_CLOSE_CONTEST = 0.9
# Candidates within this share of the numbers of the best count as tied with it.
_NEAR_TIE = 0.05

_PHONE_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
    "voip", "pager", "uan", "voicemail",
)  # fmt: skip


def _distinct_numbers(values: Iterable[object] | pa.Array, size: int) -> pa.Array:
    """Cleaned distinct non-missing texts of ``values``, at most ``size`` (a seeded sample)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array) and pa.types.is_string(values.type):
        # Taken as one text per distinct value (as ``factorize_text`` gives them): hashing a
        # few hundred thousand strings again would cost more than the whole guess.
        raw = values.drop_null()
    else:
        if isinstance(values, pa.Array):
            values = values.to_pylist()
        series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
        _codes, raw = factorize_text(series)
    if len(raw) > size:
        picked = np.sort(np.random.default_rng(0).choice(len(raw), size, replace=False))
        raw = raw.take(pa.array(picked))
    return pc.unique(nfkc_clean(raw)).drop_null()


def _explicit_numbers(text: pa.Array, e164: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Per number written with its country code (``+CC``, ``00CC``, ``86`` glued to a mobile)
    and readable: (its calling code, else 0; its national number, else null)."""
    compact = strip_regex(text, r"[\s\-().\[\]]")
    written = matches(compact, r"^(?:\+|00|(?:86|0086)0?1\d{10}$)") & np.asarray(e164.is_valid())
    codes = np.zeros(len(text), dtype=np.int64)
    national: list[str | None] = [None] * len(text)
    for i in np.flatnonzero(written):
        number = e164[int(i)].as_py()
        code = next(
            int(number[1 : 1 + k])
            for k in (1, 2, 3)
            if int(number[1 : 1 + k]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        )
        codes[i] = code
        national[i] = number[1 + len(str(code)) :]
    return codes, pa.array(national, type=pa.string())


def _national_digits(text: pa.Array, where: np.ndarray) -> pa.Array:
    """The digits of numbers written in national format (null outside ``where``): worded
    extension and separators dropped, for the re2 screen of :func:`infer_country`."""
    main = pc.replace_substring_regex(
        text,
        r"(?i)(\d)\s*(?:转分机|分机号?|转|ext(?:ension)?\.?|extn\.?|x|#)\s*[:：]?\s*\d{1,6}$",
        r"\1",
    )
    main = pc.replace_substring_regex(main, r"^(\d+)\.0+$", r"\1")
    digits = strip_regex(main, r"[\s\-().\/]")
    return pc.if_else(pa.array(where), digits, pa.scalar(None, pa.string()))


def _plan_matches(code: int, national: pa.Array) -> np.ndarray:
    """Which national-format numbers the numbering plan of calling code ``code`` accepts
    (any of the regions sharing it: +1 is the US, Canada and the Caribbean)."""
    accepted = np.zeros(len(national), dtype=bool)
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        if region in phonenumbers.SUPPORTED_REGIONS:
            accepted |= matches(national, _region_patterns(region)[0])
    return accepted


@lru_cache(maxsize=256)
def _region_patterns(region: str) -> tuple[str, str]:
    """re2 patterns a valid number of ``region`` matches: as dialled at home (with an optional
    national prefix) and as a bare national number.  Built from ``phonenumbers`` metadata."""
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    described = (getattr(md, kind) for kind in _PHONE_TYPES)
    patterns = [d.national_number_pattern for d in described if d and d.national_number_pattern]
    valid = "|".join(f"(?:{p})" for p in patterns) or "$^"
    prefix = md.national_prefix_for_parsing or md.national_prefix
    dialled = f"^(?:{prefix})?(?:{valid})$" if prefix else f"^(?:{valid})$"
    return dialled, f"^(?:{valid})$"
