"""One value, fast: the batch parsers' decisions in plain Python, for a form check.

The batch functions (``phone_batch``, ``company_batch``, ...) pay ~10-100 us of pyarrow call
and re2 compile overhead per step, whatever the number of values: one lead of nine fields
took ~19 ms (p50), nearly all of it overhead.  :func:`derive_one` runs the same steps on one
Python string with the same patterns (the re2 pattern strings of the role modules, compiled
once by Python's ``re``) and the same tables, in ~0.2 ms per lead.

Equality with the batch path is the contract (``tests/test_standardize_one.py``).  re2 and
Python's ``re`` differ outside ASCII (``\\s``, ``\\d``, ``\\b``), and pyarrow's NFKC and
lower-casing come from utf8proc, not ``unicodedata``: so the fast path takes only values made
of characters on which the two agree (printable ASCII, CJK ideographs, full-width forms and
a few CJK punctuation marks; :data:`_SAFE_RE`) and returns None for anything else, which the
caller sends to the batch path.  Roles without a fast path return None too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from linkage.standardize import address as address_mod
from linkage.standardize import company as company_mod
from linkage.standardize import email_address as email_mod
from linkage.standardize import phone as phone_mod
from linkage.standardize import wechat as wechat_mod
from linkage.standardize._text import HAN_RE2, MISSING_TOKENS, t2s_converter
from linkage.standardize.person_name import person_name_one
from linkage.standardize.place import place_one

__all__ = ["derive_one"]

# Characters on which NFKC, lower-casing, whitespace and the regex classes agree between
# pyarrow (utf8proc, re2) and Python (unicodedata, re): printable ASCII, U+3000-3002 and
# the CJK brackets U+3008-3011, CJK ideographs (extension A and the unified block),
# full-width ASCII forms, the middle dot, the em dash and curly quotes.
_SAFE_RE = re.compile(
    "[\x20-\x7e\u3000-\u3002\u3008-\u3011\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e"
    "\u00b7\u2014\u2018\u2019\u201c\u201d]*"
)
_MISSING = frozenset(MISSING_TOKENS)


def derive_one(role: str, text: str | None, country: str) -> tuple[tuple[str, Any], ...] | None:
    """The ``(column, value)`` pairs :func:`linkage.standardize.derive_value` gives, or None
    when this value (or role) must take the batch path."""
    if text is not None and not _SAFE_RE.fullmatch(text):
        return None
    if role in ("mobile", "phone"):
        region = phone_mod.check_region(country, "country")
        e164, kind, extension, valid, _problem, tail = _phone(text, region)
        return (
            (f"{role}_e164", e164), (f"{role}_kind", kind), (f"{role}_extension", extension),
            (f"{role}_valid", valid), (f"{role}_tail", tail), (f"{role}_shared", False),
        )  # fmt: skip
    if role == "email":
        clean, local, domain, is_free, company_domain, valid = _email(text)
        return (
            ("email_clean", clean), ("email_local", local), ("email_domain", domain),
            ("email_is_free", is_free), ("company_domain", company_domain),
            ("email_valid", valid),
        )  # fmt: skip
    if role == "company":
        found = _company(text)
        if found is None:
            return None
        fields = ("clean", "core", "tokens", "first_token", "legal_form", "region", "valid")
        return tuple((f"company_{f}", v) for f, v in zip(fields, found, strict=True))
    if role == "person_name":
        return _person_name(text)
    if role in ("province", "city"):
        clean = None if (t := _simplified(_nfkc(text))) is None else place_one(t, role)
        return ((f"{role}_clean", clean),)
    if role == "address":
        fields = address_mod.ADDRESS_FIELDS
        return tuple((f"address_{f}", v) for f, v in zip(fields, _address(text), strict=True))
    if role == "wechat_unionid":
        clean = _nfkc(text)
        if clean is not None and not _WECHAT_RE.search(clean):
            clean = None
        return (("wechat_unionid_clean", clean),)
    return None


# --------------------------------------------------------------------------------------------
# Text: nfkc_clean and to_simplified on one (safe) value
# --------------------------------------------------------------------------------------------


def _nfkc(text: str | None) -> str | None:
    """``nfkc_clean`` of one safe value (only the space is whitespace after NFKC)."""
    if text is None:
        return None
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if "  " in text:
        text = _SPACES_RE.sub(" ", text)
    text = text.strip(" ")
    return None if text.lower() in _MISSING else text


def _simplified(text: str | None) -> str | None:
    if text is None or text.isascii():
        return text
    return t2s_converter().convert(text)


def _py(pattern: str) -> re.Pattern[str]:
    """A re2 pattern of the role modules compiled by Python (``\\x{hhhh}`` spelled out)."""
    return re.compile(re.sub(r"\\x\{([0-9a-fA-F]+)\}", lambda m: chr(int(m[1], 16)), pattern))


def _group(match: re.Match[str] | None, name: str) -> str | None:
    """A named group as ``match_group`` gives it: None unless it matched something."""
    if match is None:
        return None
    return match.group(name) or None


_SPACES_RE = re.compile(" +")
_HAN_RE = _py(f"[{HAN_RE2}]")
_WECHAT_RE = re.compile(wechat_mod.UNIONID_PATTERN)

# --------------------------------------------------------------------------------------------
# Phones (phone_batch)
# --------------------------------------------------------------------------------------------

_WORDED_RE = _py(phone_mod.WORDED_EXTENSION_PATTERN)
_WORDED_GATE_RE = re.compile(phone_mod.WORDED_GATE_PATTERN)
_SCI_RE = re.compile(phone_mod.SCIENTIFIC_PATTERN)
_DASHED_RE = re.compile(phone_mod.DASHED_EXTENSION_PATTERN)
_LOCAL_ONLY_RE = re.compile(phone_mod.LOCAL_ONLY_PATTERN)
_FLOAT_TAIL_RE = re.compile(phone_mod.FLOAT_TAIL_PATTERN)
_COMPACT_RE = re.compile(phone_mod.COMPACT_PATTERN)
_MOBILE_N_RE = re.compile(phone_mod.CN_MOBILE_PATTERN)
_LAND_N_RE = re.compile(phone_mod.CN_LANDLINE_PATTERN)
_NON_DIGIT_RE = re.compile(r"\D")


@lru_cache(maxsize=1)
def _cn_compiled() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    mobile, other = phone_mod._cn_patterns()
    return re.compile(mobile), re.compile(other), _py(phone_mod._PHONE_PLACEHOLDER_RE2)


def _phone(raw: str | None, region: str) -> tuple[Any, ...]:
    text = _nfkc(raw)
    if text is None:
        return None, None, None, None, None, None
    e164 = kind = extension = problem = None
    valid: bool | None = True
    slow = True
    if region == "CN":
        mobile_re, other_re, placeholder_re = _cn_compiled()
        worded = _WORDED_RE.search(text) if _WORDED_GATE_RE.search(text) else None
        main = _group(worded, "main") or text
        worded_ext = _group(worded, "ext")
        if _SCI_RE.search(main):
            number = float(main)
            main = str(int(number)) if number == int(number) else "x"
        national, is_mobile, is_land = _cn_fast(main)
        dash_ext = None
        if not (is_mobile or is_land) and "-" in main and (dashed := _DASHED_RE.search(main)):
            d_national, d_mobile, d_land = _cn_fast(_group(dashed, "main"))
            if (d_mobile or d_land) and worded_ext is None:
                national, is_mobile, is_land = d_national, d_mobile, d_land
                dash_ext = _group(dashed, "ext")
                worded_ext = None
        if is_mobile or is_land:
            e164, kind = "+86" + national, "mobile" if is_mobile else "landline"
            extension = dash_ext if dash_ext is not None else worded_ext
            slow = False
        elif (
            _LOCAL_ONLY_RE.search(text)
            and not placeholder_re.search(text)
            and not other_re.search(text)
        ):
            valid, problem, slow = False, "landline without area code", False
    if slow:
        e164, kind, extension, valid, problem = phone_mod.parse_phone_slow(text, region)
    digits = _NON_DIGIT_RE.sub("", text)
    written = digits[-7:] if 7 <= len(digits) <= 15 else None
    tail = e164[-7:] if e164 is not None else written
    return e164, kind, extension, valid, problem, tail


def _cn_fast(candidate: str | None) -> tuple[str | None, bool, bool]:
    """``_cn_phone_fast`` on one value: (national number, is_mobile, is_landline)."""
    if candidate is None:
        return None, False, False
    mobile_re, other_re, placeholder_re = _cn_compiled()
    compact = _COMPACT_RE.sub("", _FLOAT_TAIL_RE.sub(r"\1", candidate))
    mobile_n = _group(_MOBILE_N_RE.search(compact), "n")
    land_n = _group(_LAND_N_RE.search(compact), "n")
    is_mobile = mobile_n is not None and bool(mobile_re.search(mobile_n))
    is_land = land_n is not None and bool(other_re.search(land_n))
    is_land = is_land and not mobile_re.search(land_n)
    national = mobile_n if mobile_n is not None else land_n
    if (is_mobile or is_land) and placeholder_re.search(national):
        return national, False, False
    return national, is_mobile, is_land


# --------------------------------------------------------------------------------------------
# E-mail (email_batch)
# --------------------------------------------------------------------------------------------

_MAILTO_RE = re.compile(email_mod.WRAPPER_PATTERN)
_AT_RE = re.compile(email_mod.AT_SPACES_PATTERN)
_EMAIL_FAST_RE = re.compile(email_mod._EMAIL_FAST_RE2)
_SPECIAL_TLD_RE = re.compile(email_mod._SPECIAL_USE_TLD_RE2)
_EMAIL_PARTS_RE = re.compile(email_mod.LOCAL_DOMAIN_PATTERN)


def _email(raw: str | None) -> tuple[Any, ...]:
    text = _nfkc(raw)
    if text is None:
        return None, None, None, None, None, None
    text = _AT_RE.sub("@", _MAILTO_RE.sub("", text.lower())).replace("。", ".")
    problem = None
    if _EMAIL_FAST_RE.search(text) and not _SPECIAL_TLD_RE.search(text) and len(text) <= 254:
        clean: str | None = text
    else:
        clean, problem = email_mod._email_slow(text)
    parts = _EMAIL_PARTS_RE.search(clean) if clean is not None else None
    local, domain = _group(parts, "local"), _group(parts, "domain")
    long_local = local is not None and len(local) > 64
    if long_local:
        problem = "not an email address"
    placeholder = (
        local is not None
        and domain is not None
        and (local in email_mod._PLACEHOLDER_EMAIL_LOCALS
             or domain in email_mod._PLACEHOLDER_EMAIL_DOMAINS)
    )  # fmt: skip
    if placeholder and not long_local:
        problem = "placeholder address"
    if domain in email_mod._DOMAIN_TYPOS and not placeholder and not long_local:
        problem = f"domain typo (did you mean {email_mod._DOMAIN_TYPOS[domain]}?)"
    if problem is not None:
        return None, None, None, None, None, False
    is_free = None if domain is None else domain in email_mod.FREE_EMAIL_DOMAINS
    company_domain = domain if is_free is False else None
    return clean, local, domain, is_free, company_domain, True


# --------------------------------------------------------------------------------------------
# Company names (company_batch)
# --------------------------------------------------------------------------------------------

_OPEN_RE = re.compile(company_mod.OPEN_BRACKET_PATTERN)
_CLOSE_RE = re.compile(company_mod.CLOSE_BRACKET_PATTERN)
_SPACE_RE = re.compile(r"\s")
_HAN_GAP_RE = _py(rf"([{HAN_RE2}()])\s+([{HAN_RE2}()])")
_BRACKET_GATE_RE = re.compile(r"\)$")
_PROVINCE_SUFFIX_RE = re.compile(company_mod.PROVINCE_SUFFIX_PATTERN)
_DIGITS_ONLY_RE = re.compile(company_mod.DIGITS_ONLY_PATTERN)
_FILLER_RE = re.compile(company_mod.FILLER_PATTERN)
_FIRST_WORD_RE = re.compile(company_mod.FIRST_WORD_PATTERN)


@lru_cache(maxsize=1)
def _company_compiled() -> dict[str, re.Pattern[str]]:
    cut = {"branch", "bracket", "legal", "legal_latin", "en_lead", "en_trail"}
    compiled = {
        name: _py(f"(?P<_cut>{p})" if name in cut else p)
        for name, p in company_mod._company_patterns().items()
    }
    compiled["_bracket_gate"] = _BRACKET_GATE_RE
    return compiled


def _cut(
    text: str | None, name: str, *, anchor: str, gate: str | None = None, where: bool = True
) -> tuple[str | None, re.Match[str] | None]:
    """``company._cut`` on one value."""
    pat = _company_compiled()
    if text is None or not where or (gate is not None and not pat[gate].search(text)):
        return text, None
    match = pat[name].search(text)
    if match is None:
        return text, None
    cut = match.group("_cut")
    return (text[: len(text) - len(cut)] if anchor == "end" else text[len(cut) :]), match


def _company(raw: str | None) -> tuple[Any, ...] | None:
    text = _simplified(_nfkc(raw))
    if text is None:
        return None, None, None, None, None, None, None
    text = _CLOSE_RE.sub(")", _OPEN_RE.sub("(", text.lower()))
    if _SPACE_RE.search(text):
        for _ in range(2):
            text = _HAN_GAP_RE.sub(r"\1\2", text)
    clean = text
    latin = not _HAN_RE.search(clean)
    if latin and not clean.isascii():
        return None  # accents and Unicode classes: the batch path decides
    provinces, cities, bracket_words = company_mod._company_region_words()

    def cut_bracket(values: str | None) -> tuple[str | None, str | None]:
        stripped, match = _cut(values, "bracket", anchor="end", gate="_bracket_gate")
        word = _group(match, "reg")
        if word is not None and (
            word in bracket_words or _PROVINCE_SUFFIX_RE.sub("", word) in bracket_words
        ):
            return stripped, word
        return values, None

    rest, branch = _cut(clean, "branch", anchor="end", gate="branch_gate")
    branch_region = _group(branch, "r1") or _group(branch, "r2")
    has_branch = _group(branch, "br") is not None
    rest, bracket_after = cut_bracket(rest)
    rest, legal = _cut(rest, "legal", anchor="end", where=not latin)
    rest, legal_latin = _cut(rest, "legal_latin", anchor="end", where=latin)
    rest, _inner = _cut(rest, "legal_latin", anchor="end", where=latin and legal_latin is not None)
    legal_form = _group(legal, "cn") or _group(legal, "en") or _group(legal_latin, "en")
    rest, bracket_before = cut_bracket(rest)

    after_province, p_reg = _cut_prefix(rest, provinces)
    stripped, c_reg = _cut_prefix(after_province, cities)
    prefix_region = None
    if stripped is not None and len(stripped) >= 2 and (p_reg or c_reg):
        rest, prefix_region = stripped, c_reg or p_reg

    rest, lead = _cut(rest, "en_lead", anchor="start", gate="en_lead_gate")
    rest, trail = _cut(rest, "en_trail", anchor="end", gate="en_trail_gate")
    core = _latin_core(rest) if latin else rest.strip(" ,.-·&()_/")
    core = core or None

    region_text = (
        prefix_region or bracket_before or bracket_after
        or _group(lead, "reg") or _group(trail, "reg") or branch_region
    )  # fmt: skip
    region = None if region_text is None else company_mod._region_canonical(region_text)
    legal_norm = None if legal_form is None else company_mod._legal_form_canonical(legal_form)
    if has_branch:
        legal_norm = (legal_norm or "") + "分公司"
    placeholder = (
        clean in company_mod._COMPANY_PLACEHOLDERS
        or _FILLER_RE.search(clean) is not None
        or core is None
    )
    if placeholder or _DIGITS_ONLY_RE.search(clean):
        return None, None, None, None, None, None, False
    first = _FIRST_WORD_RE.search(core)
    first_token = first.group("word") or None if first is not None else None
    return clean, core, company_mod._tokens_one(core), first_token, legal_norm, region, True


def _cut_prefix(text: str | None, words: frozenset[str]) -> tuple[str | None, str | None]:
    """``company._cut_prefix`` on one value: the longest prefix from ``words`` cut."""
    if text is None:
        return None, None
    matched = None
    for k in _prefix_lengths(words):
        head = text[:k]
        if head in words:
            matched = head
    if not matched:
        return text, matched
    return text[len(matched) :], matched


@lru_cache(maxsize=8)
def _prefix_lengths(words: frozenset[str]) -> tuple[int, ...]:
    return tuple(sorted({len(w) for w in words}))


_LETTER_DOT_RE = re.compile(r"([a-zA-Z])\.")
_QUOTES_RE = re.compile(r"['’`]")
_AMPERSAND_RE = re.compile(r"([a-zA-Z0-9])&([a-zA-Z0-9])")
_JOINERS_RE = re.compile(r"&|\band\b|[^a-zA-Z0-9]+", re.ASCII)
_WHITESPACE_RE = re.compile(r"\s+", re.ASCII)
_LEADING_THE_RE = re.compile(company_mod.LEADING_THE_PATTERN, re.ASCII)


def _latin_core(rest: str) -> str:
    """``company._latin_core`` on one ASCII value (\\pL is [a-zA-Z] there)."""
    text = _LETTER_DOT_RE.sub(r"\1", rest)
    text = _QUOTES_RE.sub("", text)
    text = _AMPERSAND_RE.sub(r"\1\2", text)
    text = _JOINERS_RE.sub(" ", text)
    text = _WHITESPACE_RE.sub(" ", text).strip()
    return _LEADING_THE_RE.sub("", text)


# --------------------------------------------------------------------------------------------
# Person names, addresses
# --------------------------------------------------------------------------------------------

_HAN_PAIR_RE = _py(rf"([{HAN_RE2}]) ([{HAN_RE2}])")


def _person_name(raw: str | None) -> tuple[tuple[str, Any], ...]:
    text = _simplified(_nfkc(raw))
    if text is not None:
        text = text.lower()
        if " " in text:
            for _ in range(2):
                text = _HAN_PAIR_RE.sub(r"\1\2", text)
    if text is None:
        found: tuple[Any, ...] = (None,) * 8
    else:
        found = person_name_one(text)
    keys = found[2]
    return (
        ("person_name_clean", found[0]),
        ("person_name_key", found[1]),
        ("person_name_keys", None if keys is None else list(keys)),
        ("person_surname", found[3]),
        ("person_name_is_honorific", found[4]),
        ("person_name_phonetic", found[5]),
        ("person_name_valid", None if text is None else found[6]),
    )


_HAN_POSTCODE_RE = _py(address_mod._HAN_POSTCODE_RE2)
_HAN_ADDRESS_RE = _py(address_mod._HAN_ADDRESS_RE2)
_SIX_DIGITS_RE = re.compile(address_mod.POSTCODE_PATTERN)
_DIGIT_RE = re.compile(r"\d")
_LEAD_POSTCODE_RE = re.compile(address_mod.LEADING_POSTCODE_PATTERN)
_TAIL_POSTCODE_RE = re.compile(address_mod.TRAILING_POSTCODE_PATTERN)
_UNIT_GAPS_RE = re.compile(address_mod.SEPARATORS_PATTERN)


def _address(raw: str | None) -> tuple[Any, ...]:
    clean = _simplified(_nfkc(raw))
    if clean is None:
        return (None,) * len(address_mod.ADDRESS_FIELDS)
    if not _HAN_RE.search(clean):
        # No line breaks in a safe value: the text is nfkc_clean's, as in the batch path.
        return address_mod._latin_address(_nfkc(raw))
    text = clean.lower()
    postcode = _HAN_POSTCODE_RE.search(text) if _SIX_DIGITS_RE.search(text) else None
    lead, tail = _group(postcode, "lead"), _group(postcode, "tail")
    if lead is not None:
        text = _LEAD_POSTCODE_RE.sub("", text)
    if tail is not None:
        text = _TAIL_POSTCODE_RE.sub("", text)
    parts = _HAN_ADDRESS_RE.search(text) if _DIGIT_RE.search(text) else None
    unit = _group(parts, "unit")
    unit = _UNIT_GAPS_RE.sub("", unit) or None if unit is not None else None
    return clean, _group(parts, "number"), _group(parts, "street"), unit, lead or tail
