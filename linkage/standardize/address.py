"""Addresses: the address role, cleaned and split into house number, street, unit and postcode.

Chinese addresses (any Han character) keep the clean text they always had (NFKC, whitespace
collapsed, simplified Chinese) and are split by one re2 pattern, run on the distinct values:
province, city, district and sub-district (``街道``, ``镇``, ``乡``) prefixes are passed over,
the street is the road name before the house number (``文一西路``, ``中山大道``, ``苏州大道东``)
and the unit is what follows ``号`` (``A座18层``).

Latin-script addresses (US, UK, and continental ones written street-first) are rewritten to one
normal form, so that ``316 N Pulaski Rd`` and ``316 North Pulaski Road.`` are the same text:
lower case, accents and punctuation dropped, a direction before the street name abbreviated
(``North`` -> ``n``), the street type abbreviated as the US postal service does (``Road`` ->
``rd``, ``Avenue``/``Av`` -> ``ave``, ``Steet`` -> ``st``), unit designators too (``Suite`` ->
``ste``, ``2nd Floor`` -> ``fl 2``).  Line breaks and commas separate the parts.  The parse
looks for the segment that starts with a house number; the street runs to its last street
type word (``Cottage Grove Avenue``), else to a unit or a city-state-zip tail (in
``27 Washington Oak Park IL 60302`` the street is ``washington``).  Town, state and postcode
stay in ``address_clean``; a US zip, UK postcode or continental postcode also becomes
``address_postcode`` (upper case without spaces, as ``postcode_clean`` gives it).  This part is
plain Python, once per distinct value (~20 us each).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardize._text import (
    HAN_RE2,
    extract_where,
    first_item,
    match_group,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    replace_masked,
    to_simplified,
)

__all__ = ["ADDRESS_FIELDS", "AddressResult", "address_batch", "standardize_address"]

# Patterns shared by the batch code here and the one-value path (``_one.py``).
#: A Chinese postcode.
POSTCODE_PATTERN = r"\d{6}"
#: A postcode written before the address.
LEADING_POSTCODE_PATTERN = r"^\D*\d{6}\s+"
#: A postcode written after the address.
TRAILING_POSTCODE_PATTERN = r"\s*(?:邮编|邮政编码)?[:]?\s*\d{6}$"
#: Spaces and commas between the parts of an address.
SEPARATORS_PATTERN = r"[\s,，]+"

ADDRESS_FIELDS: tuple[str, ...] = ("clean", "number", "street", "unit", "postcode")
"""The keys of :func:`address_batch`'s result, in the order of the ``address_*`` columns."""


@dataclass(frozen=True)
class AddressResult:
    """A standardized address; fields match the ``address_*`` derived columns."""

    clean: str | None
    number: str | None
    street: str | None
    unit: str | None
    postcode: str | None


def standardize_address(value: object) -> AddressResult:
    """Clean one address and split it into house number, street, unit and postcode.

    >>> standardize_address("316 North Pulaski Road")
    AddressResult(clean='316 n pulaski rd', number='316', street='n pulaski rd', unit=None, postcode=None)
    >>> standardize_address("浙江省杭州市拱墅区文一西路21号B座3层").street
    '文一西路'
    """  # noqa: E501
    cols = address_batch(one_text_array(value))
    return AddressResult(*(first_item(cols[k]) for k in ADDRESS_FIELDS))


def address_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """Address columns per distinct value (keys :data:`ADDRESS_FIELDS`)."""
    n = len(raw)
    clean = to_simplified(nfkc_clean(raw))
    han = matches(clean, f"[{HAN_RE2}]")
    out = {field: null_strings(n) for field in ADDRESS_FIELDS}
    out["clean"] = clean
    if han.any():
        _han_parts(clean, han, out)
    latin = np.asarray(clean.is_valid()) & ~han
    if latin.any():
        # Line breaks separate the parts of an address; nfkc_clean makes them spaces.
        lines = pc.replace_substring_regex(
            raw.filter(pa.array(latin)), r"\s*[\r\n\x{2028}]+\s*", ", "
        )
        texts = nfkc_clean(lines).to_pylist()
        parsed = [_latin_address(t) if t else (None,) * len(ADDRESS_FIELDS) for t in texts]
        for field, values in zip(ADDRESS_FIELDS, zip(*parsed, strict=True), strict=True):
            out[field] = replace_masked(out[field], latin, values)
    return out


# --------------------------------------------------------------------------------------------
# Chinese addresses: one re2 pattern
# --------------------------------------------------------------------------------------------

_ADMIN_NAME = r"[^\s\d][^\s\d省市区县旗]{1,6}?"  # '市中区' is a district
_HAN_ADDRESS_RE2 = (
    rf"^(?:{_ADMIN_NAME}(?:省|自治区|特别行政区)\s*)?"
    rf"(?:{_ADMIN_NAME}(?:市|自治州|地区|盟)\s*)?"
    rf"(?:{_ADMIN_NAME}(?:新区|区|县|市|旗)\s*)?"
    rf"(?:{_ADMIN_NAME}(?:街道|镇|乡)\s*)?"
    r"(?P<street>[^\s\d]{1,20}?(?:大街|大道|公路|胡同|路|街|巷|道|里)"
    r"(?:[东西南北中]段?|[一二三四五六七八九十]+段)?)\s*"
    r"(?P<number>\d+(?:[-之]\d+)?)\s*(?:号|弄|$)\s*(?P<unit>.*)$"
)
_HAN_POSTCODE_RE2 = (
    r"(?:^(?:邮编|邮政编码)?[:]?\s*(?P<lead>\d{6})\s+)"
    r"|(?:(?:[^\d]\s*(?:邮编|邮政编码)[:]?|[^\d])\s*(?P<tail>\d{6})$)"
)


def _han_parts(clean: pa.Array, han: np.ndarray, out: dict[str, pa.Array]) -> None:
    """Fill ``out``'s number, street, unit and postcode for the Chinese addresses."""
    text = pc.utf8_lower(clean)
    postcode = extract_where(text, han & matches(text, POSTCODE_PATTERN), _HAN_POSTCODE_RE2)
    lead, tail = match_group(postcode, "lead"), match_group(postcode, "tail")
    out["postcode"] = pc.coalesce(lead, tail)
    # The postcode is no part of the unit: cut it before the split.
    text = pc.if_else(
        lead.is_valid(), pc.replace_substring_regex(text, LEADING_POSTCODE_PATTERN, ""), text
    )
    text = pc.if_else(
        tail.is_valid(),
        pc.replace_substring_regex(text, TRAILING_POSTCODE_PATTERN, ""),
        text,
    )
    parts = extract_where(text, han & matches(text, r"\d"), _HAN_ADDRESS_RE2)
    out["street"] = match_group(parts, "street")
    out["number"] = match_group(parts, "number")
    unit = pc.replace_substring_regex(match_group(parts, "unit"), SEPARATORS_PATTERN, "")
    out["unit"] = pc.if_else(pc.equal(unit, ""), null_strings(len(text)), unit)


# --------------------------------------------------------------------------------------------
# Latin-script addresses: tokens, once per distinct value
# --------------------------------------------------------------------------------------------

_DIRECTIONS = {
    "n": "n", "north": "n", "s": "s", "south": "s", "e": "e", "east": "e", "w": "w",
    "west": "w", "ne": "ne", "northeast": "ne", "nw": "nw", "northwest": "nw", "se": "se",
    "southeast": "se", "sw": "sw", "southwest": "sw",
}  # fmt: skip

# USPS Publication 28, appendix C1 (the common ones), the UK's usual ones, and typos seen in
# real CRM files ('steet', 'av').
_STREET_TYPES = {
    "st": "st", "street": "st", "str": "st", "strt": "st", "steet": "st", "stret": "st",
    "ave": "ave", "av": "ave", "avenue": "ave", "aven": "ave", "avenu": "ave", "avn": "ave",
    "avnue": "ave", "rd": "rd", "road": "rd", "blvd": "blvd", "boulevard": "blvd",
    "boul": "blvd", "boulv": "blvd", "dr": "dr", "drive": "dr", "drv": "dr", "ln": "ln",
    "lane": "ln", "ct": "ct", "court": "ct", "pl": "pl", "place": "pl", "pkwy": "pkwy",
    "parkway": "pkwy", "pky": "pkwy", "hwy": "hwy", "highway": "hwy", "ter": "ter",
    "terrace": "ter", "terr": "ter", "cir": "cir", "circle": "cir", "sq": "sq", "square": "sq",
    "way": "way", "wy": "way", "trl": "trl", "trail": "trl", "plz": "plz", "plaza": "plz",
    "expy": "expy", "expressway": "expy", "fwy": "fwy", "freeway": "fwy", "aly": "aly",
    "alley": "aly", "cres": "cres", "crescent": "cres", "hts": "hts", "heights": "hts",
    "sqr": "sq", "tpke": "tpke", "turnpike": "tpke", "row": "row", "walk": "walk",
    "loop": "loop", "close": "close", "mews": "mews", "grove": "grove", "gdns": "gdns",
    "gardens": "gdns",
}  # fmt: skip

_UNIT_DESIGNATORS = {
    "suite": "ste", "ste": "ste", "apartment": "apt", "apt": "apt", "unit": "unit",
    "room": "rm", "rm": "rm", "floor": "fl", "fl": "fl", "flr": "fl", "building": "bldg",
    "bldg": "bldg", "department": "dept", "dept": "dept", "flat": "flat", "office": "ofc",
    "ofc": "ofc", "#": "#", "no": "#", "number": "#", "lot": "lot", "space": "spc",
    "spc": "spc", "box": "box",
}  # fmt: skip
_ORDINAL_WORDS = {
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
    "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "ground": "g",
    "basement": "b", "lower": "l", "upper": "u",
}  # fmt: skip

_US_STATES = frozenset(
    "al ak az ar ca co ct dc de fl ga hi ia id il in ks ky la ma md me mi mn mo ms mt nc nd ne "
    "nh nj nm nv ny oh ok or pa ri sc sd tn tx ut va vt wa wi wv pr gu vi".split()
)
_US_STATE_NAMES = frozenset(
    "alabama alaska arizona arkansas california colorado connecticut delaware florida georgia "
    "hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts "
    "michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon "
    "pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming".split()
)
_US_TWO_WORD_STATES = frozenset({
    ("new", "hampshire"), ("new", "jersey"), ("new", "mexico"), ("new", "york"),
    ("north", "carolina"), ("south", "carolina"), ("north", "dakota"), ("south", "dakota"),
    ("west", "virginia"), ("rhode", "island"),
})  # fmt: skip

_HOUSE_NUMBER_RE = re.compile(r"\d+[a-z]?(?:-\d+[a-z]?)?|\d+-?[a-z]")
_ORDINAL_RE = re.compile(r"(\d+)(?:st|nd|rd|th)")
_ZIP_RE = re.compile(r"\d{5}(?:-\d{4})?")
_UK_OUTWARD_RE = re.compile(r"[a-z]{1,2}\d[a-z\d]?")
_UK_INWARD_RE = re.compile(r"\d[a-z]{2}")
_UK_FULL_RE = re.compile(r"[a-z]{1,2}\d[a-z\d]?\d[a-z]{2}")
_CONTINENTAL_POSTCODE_RE = re.compile(r"\d{4,5}")


def _latin_address(text: str) -> tuple[str | None, ...]:
    """(clean, number, street, unit, postcode) of one Latin-script address."""
    segments = _segments(text)
    if not segments:
        return (None,) * len(ADDRESS_FIELDS)
    tail_from, postcode = _locality_tail(segments)
    found = _find_street_segment(segments, tail_from)
    number = street = unit = None
    rebuilt: list[list[str]] = [list(s) for s in segments]
    if found is not None:
        seg, number_at, number_first = found
        tokens = segments[seg]
        stop = tail_from[1] if tail_from is not None and tail_from[0] == seg else len(tokens)
        if number_first:
            lead_unit, lead_tokens = _unit_prefix(tokens[:number_at])
            number, body_at = tokens[number_at], number_at + 1
            if tokens[body_at].isdigit():  # '358 370 e 71st' is 358-370
                number, body_at = f"{number}-{tokens[body_at]}", body_at + 1
            body = tokens[body_at:stop]
            street_tokens, trailing_unit, rest = _split_street(body, stop < len(tokens))
            unit = lead_unit or trailing_unit
            street = " ".join(street_tokens) or None
            rebuilt[seg] = [*lead_tokens, number, *street_tokens]
            rebuilt[seg] += ([trailing_unit] if trailing_unit else []) + rest + tokens[stop:]
        else:  # continental: 'kalverstraat 92'
            number = tokens[number_at]
            street = " ".join(tokens[:number_at])
        if street is None:
            number = None
    if unit is None:  # 'Room 5, 88 Jianguo Rd' or '11 E Adams, Suite 1500'
        for i, tokens in enumerate(segments):
            if found is not None and i == found[0]:
                continue
            lead_unit, unit_tokens = _unit_prefix(tokens)
            if lead_unit is not None:
                unit = lead_unit
                rebuilt[i] = [*unit_tokens, *tokens[_unit_length(tokens) :]]
                break
    if found is None:
        rebuilt = [_normalize_loose(tokens) for tokens in rebuilt]
    clean = " ".join(token for tokens in rebuilt for token in tokens) or None
    return clean, number, street, unit, postcode


def _segments(text: str) -> list[list[str]]:
    """Lower-case, accent-free tokens per comma-separated part of the address."""
    text = _fold(text.lower())
    text = re.sub(r"(?<=[a-z])\.", "", text)  # 'n.' -> 'n', 's.w.' -> 'sw', 'st.' -> 'st'
    text = re.sub(r"['’`]", "", text)
    text = re.sub(r"\s+-+\s+|[;|]", ",", text)
    text = re.sub(r"#\s*", " #", text)  # '#300' and '# 300' -> ' #300'
    text = re.sub(r"\b(\d+)\s+(th|nd|rd)\b", r"\1\2", text)  # '24 th' -> '24th'
    text = re.sub(r"\b(\d+)-(\d+(?:st|nd|rd|th))\b", r"\1 \2", text)  # '4800-60th st'
    text = re.sub(r"[^\w\s,#/&-]|_", " ", text)
    return [part.split() for part in text.split(",") if part.split()]


def _fold(text: str) -> str:
    """Accents dropped ('é' -> 'e'); a few letters that do not decompose spelled out."""
    if text.isascii():
        return text
    text = "".join(_SPELLED.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_SPELLED = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "þ": "th"}


def _locality_tail(segments: list[list[str]]) -> tuple[tuple[int, int] | None, str | None]:
    """((segment, token) where a trailing state/postcode starts, postcode) at the end."""
    seg = len(segments) - 1
    tokens = segments[seg]
    n = len(tokens)
    total = sum(len(s) for s in segments)
    last = tokens[-1]
    if total >= 3 and _ZIP_RE.fullmatch(last) and not _is_designator(tokens, n - 2):
        start = n - 1
        if n >= 2 and (tokens[-2] in _US_STATES or tokens[-2] in _US_STATE_NAMES):
            start = n - 2
        if n >= 3 and (tokens[-3], tokens[-2]) in _US_TWO_WORD_STATES:
            start = n - 3
        return (seg, start), last[:5]
    if total >= 3 and n >= 2 and _UK_OUTWARD_RE.fullmatch(tokens[-2]):
        if _UK_INWARD_RE.fullmatch(last):
            return (seg, n - 2), (tokens[-2] + last).upper()
    if total >= 3 and _UK_FULL_RE.fullmatch(last) and not _is_designator(tokens, n - 2):
        return (seg, n - 1), last.upper()
    earlier_number = any(any(c.isdigit() for c in t) for s in segments[:seg] for t in s)
    if earlier_number and n >= 2 and _CONTINENTAL_POSTCODE_RE.fullmatch(tokens[0]):
        if tokens[1].isalpha() and tokens[1] not in _DIRECTIONS:  # '1012 ph amsterdam'
            code = tokens[0]
            if len(code) == 4 and len(tokens[1]) == 2 and n >= 3:
                code += tokens[1].upper()
            return (seg, 0), code
    state = (last in _US_STATES or (seg > 0 and last in _US_STATE_NAMES)) and (
        last not in _DIRECTIONS
        and not _unit_length(tokens[-2:])
        and not _is_designator(tokens, n - 2)
    )
    if state and (seg > 0 or n >= 4):  # '..., oak park, il' or '27 washington oak park il'
        return (seg, n - 1), None
    return None, None


def _is_designator(tokens: Sequence[str], i: int) -> bool:
    return i >= 0 and (tokens[i] in _UNIT_DESIGNATORS or tokens[i].startswith("#"))


def _find_street_segment(
    segments: list[list[str]], tail_from: tuple[int, int] | None
) -> tuple[int, int, bool] | None:
    """(segment, index of the house number, number first?) or None.

    The number and at least one street word must come before the city/state/zip tail.
    """

    def limit(i: int) -> int:
        return tail_from[1] if tail_from is not None and tail_from[0] == i else len(segments[i])

    for i, tokens in enumerate(segments):
        if tokens[0] in _PO_BOX_WORDS:
            continue
        skip = _unit_length(tokens)  # 'flat 3 27 baker street'
        for at in dict.fromkeys((0, skip)):
            if limit(i) > at + 1 and _HOUSE_NUMBER_RE.fullmatch(tokens[at]):
                if not tokens[at + 1].isdigit() and not _is_designator(tokens, at + 1):
                    return i, at, True
                if tokens[at + 1].isdigit() and limit(i) > at + 2:
                    if tokens[at + 2] in _DIRECTIONS or tokens[at + 2].isalpha():
                        return i, at, True  # a range written '358 370 e 71st'
    for i, tokens in enumerate(segments):
        head = tokens[: limit(i)]
        if (
            len(head) >= 2
            and _HOUSE_NUMBER_RE.fullmatch(head[-1])
            and all(t.isalpha() for t in head[:-1])
            and head[0] not in _UNIT_DESIGNATORS
            and head[0] not in _PO_BOX_WORDS
        ):
            return i, len(head) - 1, False
    return None


_PO_BOX_WORDS = frozenset({"po", "p", "pob", "box", "postbox", "postfach"})


def _unit_length(tokens: Sequence[str]) -> int:
    """How many leading tokens make a unit ('suite 300', '#300', '2nd floor'), else 0."""
    if not tokens:
        return 0
    first = tokens[0]
    if first.startswith("#") and len(first) > 1:
        return 1
    if first in _UNIT_DESIGNATORS:
        if first in ("no", "number", "box") and (len(tokens) < 2 or not tokens[1][0].isdigit()):
            return 0
        if len(tokens) >= 2 and (any(c.isdigit() for c in tokens[1]) or len(tokens[1]) <= 2):
            return 2
        return 1
    if len(tokens) >= 2 and _UNIT_DESIGNATORS.get(tokens[1]) == "fl":
        if _ORDINAL_RE.fullmatch(first) or first in _ORDINAL_WORDS:
            return 2
    return 0


def _unit_prefix(tokens: Sequence[str]) -> tuple[str | None, list[str]]:
    """(normalized unit, its tokens) when ``tokens`` start with a unit, else (None, [])."""
    length = _unit_length(tokens)
    if not length:
        return None, []
    first = tokens[0]
    if first.startswith("#") and len(first) > 1:
        normal = ["#", first[1:]]
    elif first in _UNIT_DESIGNATORS:
        normal = [_UNIT_DESIGNATORS[first], *tokens[1:length]]
        if normal[0] == "fl" and len(normal) == 2:
            normal[1] = _floor_number(normal[1])
    else:  # '2nd floor', 'ground floor'
        normal = ["fl", _floor_number(first)]
    return " ".join(normal), normal


def _floor_number(token: str) -> str:
    ordinal = _ORDINAL_RE.fullmatch(token)
    if ordinal:
        return ordinal.group(1)
    return _ORDINAL_WORDS.get(token, token)


def _split_street(body: list[str], has_tail: bool) -> tuple[list[str], str | None, list[str]]:
    """(normalized street tokens, unit, leftover tokens) of what follows the house number.

    ``has_tail``: a city/state/zip tail follows in the same segment, so a street without a
    type word is taken to be one word long.
    """
    end = next((i for i in range(len(body)) if _unit_length(body[i:])), len(body))
    name, after = body[:end], body[end:]
    unit = None
    if after:
        unit, unit_tokens = _unit_prefix(after)
        after = after[_unit_length(after) :]
    predir = 1 if len(name) >= 2 and name[0] in _DIRECTIONS else 0
    typed = [i for i in range(predir + 1, len(name)) if name[i] in _STREET_TYPES]
    if typed:
        stop = typed[-1] + 1
        if stop < len(name) and name[stop] in _DIRECTIONS:
            stop += 1  # post-direction: 'main st nw'
    elif has_tail or after:
        stop = min(len(name), predir + 1)
    else:
        stop = len(name)
    street, leftover = name[:stop], name[stop:]
    if unit is None and leftover and any(c.isdigit() for c in leftover[0]):
        if not _ORDINAL_RE.fullmatch(leftover[0]):  # '610 s canal st 170c'
            unit, leftover = leftover[0], leftover[1:]
    if (
        not typed
        and unit is None
        and len(street) > predir + 1
        and any(c.isdigit() for c in street[-1])
    ):
        if not _ORDINAL_RE.fullmatch(street[-1]):
            unit, street = street[-1], street[:-1]
    return _normalize_street(street, bool(typed)), unit, leftover + after


def _normalize_street(tokens: list[str], typed: bool) -> list[str]:
    """Directions and the street type abbreviated, in place of the words written."""
    out = list(tokens)
    if len(out) >= 2 and out[0] in _DIRECTIONS:
        out[0] = _DIRECTIONS[out[0]]
    if typed:
        last = len(out) - 1
        if out[last] in _DIRECTIONS and last >= 1 and out[last - 1] in _STREET_TYPES:
            out[last] = _DIRECTIONS[out[last]]
            last -= 1
        out[last] = _STREET_TYPES[out[last]]
    return out


def _normalize_loose(tokens: list[str]) -> list[str]:
    """A part of an address nothing was parsed from: its street words abbreviated anyway."""
    if len(tokens) >= 2 and tokens[-1] in _STREET_TYPES:
        return _normalize_street(tokens, typed=True)
    return tokens
