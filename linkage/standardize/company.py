"""Company names: the company role, split into core name, legal form and region.

'华信科技(北京)有限公司', '北京华信科技有限公司' and 'Beijing Huaxin Technology Co., Ltd.' keep
their legal form and region apart from the core name, so that the cores compare.  Every cut
is an anchored re2 pattern (or a hash look-up of a prefix) run on the distinct values.

Names written in Latin script only (no Han character) take a wider set of legal forms, those
of many countries ('Inc.', 'L.L.C.', 'PLC', 'N.V.', 'B.V.', 'S.p.A.', 'AG', 'GmbH & Co. KG',
'SE', 'AB', 'Oy', 'A/S', ...), and their core loses a leading 'The', accents, punctuation and
'&'/'and': 'The Procter & Gamble Company' and 'Procter and Gamble Co.' both give
'procter gamble'.  Names with Han characters are cut exactly as before.

``company_tokens`` holds the core's distinct words, sorted, without stop words ('of', 'the',
'and', ...): a list column for token-set comparisons (splink's ``ArrayIntersectLevel``).  A Han
run is one token, so a Chinese core is a single token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardize._text import (
    HAN_RE2,
    extract_where,
    first_item,
    map_distinct,
    match_group,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    replace_masked,
    set_where,
    strip_regex,
    to_simplified,
    value_set,
)
from linkage.standardize.place import CITIES, PROVINCES, place_one

__all__ = ["CompanyResult", "company_batch", "standardize_company"]

# Patterns shared by the batch code here and the one-value path (``_one.py``).
#: Opening brackets read as (.
OPEN_BRACKET_PATTERN = r"[\[【〔〖{〈]"
#: Closing brackets read as ).
CLOSE_BRACKET_PATTERN = r"[\]】〕〗}〉]"
#: The suffix of a province or municipality.
PROVINCE_SUFFIX_PATTERN = r"(?:省|市)$"
#: A name that is only a number.
DIGITS_ONLY_PATTERN = r"^[\d\s\-+.]+$"
#: A name that is only filler (xxx, ???, ...).
FILLER_PATTERN = r"^(?:x+|\?+|\.+|_+)$"
#: A name's first word.
FIRST_WORD_PATTERN = r"^\s*(?P<word>[^\s,&/.()\-–—]+)"
#: A leading English article.
LEADING_THE_PATTERN = r"^the(?:\s+|$)"


@dataclass(frozen=True)
class CompanyResult:
    """A standardized company name; fields match the ``company_*`` derived columns."""

    clean: str | None
    core: str | None
    legal_form: str | None
    region: str | None
    valid: bool | None
    problem: str | None
    tokens: tuple[str, ...] | None = None


def standardize_company(value: object) -> CompanyResult:
    """Clean one company name and split it into core name, legal form and region.

    >>> standardize_company("Koninklijke Philips N.V.").core
    'koninklijke philips'
    """
    cols = company_batch(one_text_array(value))
    keys = ("clean", "core", "legal_form", "region", "valid", "problem")
    tokens = first_item(cols["tokens"])
    return CompanyResult(
        *(first_item(cols[k]) for k in keys), tokens=None if tokens is None else tuple(tokens)
    )


def company_batch(raw: pa.Array) -> dict[str, pa.Array | np.ndarray]:
    """Company columns per distinct value (``tokens``: a numpy array of lists or None)."""
    n = len(raw)
    pat = _company_patterns()
    text = to_simplified(nfkc_clean(raw))
    text = pc.utf8_lower(text)
    text = pc.replace_substring_regex(text, OPEN_BRACKET_PATTERN, "(")
    text = pc.replace_substring_regex(text, CLOSE_BRACKET_PATTERN, ")")
    if matches(text, r"\s").any():
        for _ in range(2):  # no spaces between Han characters / brackets ("华信 (北京)")
            text = pc.replace_substring_regex(text, rf"([{HAN_RE2}()])\s+([{HAN_RE2}()])", r"\1\2")
    clean = text
    latin = np.asarray(clean.is_valid()) & ~matches(clean, f"[{HAN_RE2}]")

    rest, branch = _cut(clean, pat["branch"], anchor="end", gate=pat["branch_gate"])
    branch_region = pc.coalesce(match_group(branch, "r1"), match_group(branch, "r2"))
    has_branch = np.asarray(match_group(branch, "br").is_valid())
    provinces, cities, bracket_words = _company_region_words()

    def cut_bracket(values: pa.Array) -> tuple[pa.Array, pa.Array]:
        stripped, match = _cut(values, pat["bracket"], anchor="end", gate=r"\)$")
        word = match_group(match, "reg")
        is_region = pc.or_(
            pc.is_in(word, value_set=value_set(bracket_words)),
            pc.is_in(
                strip_regex(word, PROVINCE_SUFFIX_PATTERN), value_set=value_set(bracket_words)
            ),
        )
        is_region = pc.fill_null(is_region, False)
        return pc.if_else(is_region, stripped, values), pc.if_else(is_region, word, None)

    rest, bracket_after = cut_bracket(rest)
    rest, legal = _cut(rest, pat["legal"], anchor="end", where=~latin)
    rest, legal_latin = _cut(rest, pat["legal_latin"], anchor="end", where=latin)
    # A second form behind the first ('Foo Co., Inc.') is noise too; the outer one is kept.
    twice = latin & np.asarray(legal_latin.is_valid())
    rest, _inner = _cut(rest, pat["legal_latin"], anchor="end", where=twice)
    legal_form = pc.coalesce(
        match_group(legal, "cn"), match_group(legal, "en"), match_group(legal_latin, "en")
    )
    rest, bracket_before = cut_bracket(rest)

    after_province, p_reg = _cut_prefix(rest, provinces)
    stripped, c_reg = _cut_prefix(after_province, cities)
    # Keep the region when nothing (or one character) would be left: "北京有限公司".
    has_prefix = np.asarray(pc.fill_null(pc.greater_equal(pc.utf8_length(stripped), 2), False))
    has_prefix &= np.asarray(pc.fill_null(pc.or_(p_reg.is_valid(), c_reg.is_valid()), False))
    rest = pc.if_else(pa.array(has_prefix), stripped, rest)
    prefix_region = pc.if_else(pa.array(has_prefix), pc.coalesce(c_reg, p_reg), null_strings(n))

    rest, lead = _cut(rest, pat["en_lead"], anchor="start", gate=pat["en_lead_gate"])
    rest, trail = _cut(rest, pat["en_trail"], anchor="end", gate=pat["en_trail_gate"])

    core = pc.utf8_trim(rest, characters=" ,.-·&()_/")
    if latin.any():
        core = replace_masked(core, latin, _latin_core(rest.filter(pa.array(latin))))
    core = pc.if_else(pc.equal(core, ""), null_strings(n), core)

    region_text = pc.coalesce(
        prefix_region, bracket_before, bracket_after,
        match_group(lead, "reg"), match_group(trail, "reg"), branch_region,
    )  # fmt: skip
    region = map_distinct(region_text, _region_canonical)
    legal_norm = map_distinct(legal_form, _legal_form_canonical)
    legal_norm = pc.if_else(
        pa.array(has_branch),
        pc.binary_join_element_wise(pc.fill_null(legal_norm, ""), "分公司", ""),
        legal_norm,
    )

    given = np.asarray(clean.is_valid())
    problem = null_strings(n)
    digits_only = matches(clean, DIGITS_ONLY_PATTERN)
    placeholder = (
        np.asarray(pc.fill_null(pc.is_in(clean, pa.array(_COMPANY_PLACEHOLDERS)), False))
        | matches(clean, FILLER_PATTERN)
        | (given & ~np.asarray(core.is_valid()))
    )
    problem = set_where(problem, placeholder, "placeholder name")
    problem = set_where(problem, digits_only, "digits only")
    invalid = given & np.asarray(problem.is_valid())
    none = null_strings(n)
    inv = pa.array(invalid)
    return {
        "clean": pc.if_else(inv, none, clean),
        "core": pc.if_else(inv, none, core),
        "legal_form": pc.if_else(inv, none, legal_norm),
        "region": pc.if_else(inv, none, region),
        "valid": pc.if_else(pa.array(given), pa.array(~invalid), pa.scalar(None, pa.bool_())),
        "problem": problem,
        "tokens": _core_tokens(pc.if_else(inv, none, core)),
        "first_token": _first_tokens(pc.if_else(inv, none, core)),
    }


def _latin_core(rest: pa.Array) -> pa.Array:
    """The core of Latin-script names: no leading 'the', accents, punctuation or '&'/'and'."""
    text = rest
    non_ascii = np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(text)), False))
    if non_ascii.any():
        folded = text.filter(pa.array(non_ascii))
        for letter, spelled in _SPELLED_LETTERS.items():
            folded = pc.replace_substring(folded, letter, spelled)
        folded = strip_regex(pc.utf8_normalize(folded, "NFKD"), r"\pM")
        text = replace_masked(text, non_ascii, folded)
    text = pc.replace_substring_regex(text, r"(\pL)\.", r"\1")  # 'j.p. morgan' -> 'jp morgan'
    text = strip_regex(text, r"['’`]")  # "mcdonald's" -> 'mcdonalds'
    text = pc.replace_substring_regex(text, r"([\pL\pN])&([\pL\pN])", r"\1\2")  # 'at&t' -> 'att'
    text = pc.replace_substring_regex(text, r"&|\band\b|[^\pL\pN]+", " ")
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"\s+", " "))
    return strip_regex(text, LEADING_THE_PATTERN)


_SPELLED_LETTERS = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "þ": "th"}

# Words a token-set comparison should not count (articles and joining words in the languages
# of the legal forms above).
_TOKEN_STOP_WORDS = frozenset({
    "the", "of", "and", "for", "a", "an", "at", "in", "on", "to", "de", "del", "la", "le",
    "les", "du", "des", "der", "die", "das", "und", "et", "y", "e", "di", "da", "van", "von",
})  # fmt: skip
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(f"[{_HAN_CLASS}]+|[^\\W_{_HAN_CLASS}]+")


def _core_tokens(core: pa.Array) -> np.ndarray:
    """Per value, the sorted distinct words of the core without stop words (None if none)."""
    encoded = pc.dictionary_encode(core)
    distinct = encoded.dictionary.to_pylist()
    per_core = np.empty(len(distinct) + 1, dtype=object)  # the last one: a null core
    for i, text in enumerate(distinct):
        per_core[i] = _tokens_one(text)
    indices = pc.fill_null(encoded.indices, len(distinct)).to_numpy(zero_copy_only=False)
    return per_core[indices.astype(np.int64)]


def _first_tokens(core: pa.Array) -> pa.Array:
    """Per value, the core's first word (a whole Chinese core, which has no spaces): the
    organization level's loose blocking key."""
    word = pc.extract_regex(core, FIRST_WORD_PATTERN).field("word")
    return pc.if_else(pc.equal(word, ""), pa.scalar(None, pa.string()), word)


def _tokens_one(core: str) -> list[str] | None:
    words = {w for w in _TOKEN_RE.findall(core) if w not in _TOKEN_STOP_WORDS}
    return sorted(words) or None


# City names that are also ordinary words at the start of company names ("中山装饰",
# "金华科技", "大庆石化" are fine to strip, but 中山/金华 are very common trade names).
_AMBIGUOUS_COMPANY_PREFIXES = frozenset({"中山", "金华", "吉林"})


_COMPANY_PLACEHOLDERS = ("个人", "无", "test", "测试", "暂无", "不详", "n/a", "na", "none", "个体",
                         "xxx", "公司", "null", "未知", "unknown", "无单位", "个体户", "待定",
                         "tbd", "其他", "其它", "散户")  # fmt: skip
_CN_LEGAL_FORMS = ("集团股份有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "有限公司",
                   "(集团)股份有限公司", "(集团)有限公司", "(集团)", "(有限合伙)", "(普通合伙)",
                   "有限合伙", "普通合伙", "集团", "公司")  # fmt: skip
_EN_LEGAL_RE2 = (
    r"(?:(?:group|holdings?)[\s,]+)?(?:"
    r"co\.?,?\s*ltd\.?|company\s+limited|co\.?,?\s*limited|pte\.?\s*ltd\.?|pty\.?\s*ltd\.?"
    r"|limited|ltd\.?|incorporated|inc\.?|corporation|corp\.?|l\.?l\.?c\.?|gmbh|plc|ag"
    r"|s\.a\.|b\.v\.|bv|co\.?|company)"
)
# Latin-script names only: the forms above and those of many more countries.  Each ends the
# name and follows a space or comma; dots are optional ('n.v.', 'nv', 'n. v.').
_LATIN_LEGAL_RE2 = (
    r"(?:(?:group|holdings?)[\s,]+)?(?:"
    r"co\.?,?\s*ltd\.?|company\s+limited|co\.?,?\s*limited|pte\.?\s*ltd\.?|pty\.?\s*ltd\.?"
    r"|sdn\.?\s*bhd\.?|public\s+limited\s+company|limited\s+liability\s+company"
    r"|limited\s+partnership|limited|ltd\.?|incorporated|inc\.?|corporation|corp\.?"
    r"|l\.?\s?l\.?\s?c\.?|p\.?\s?l\.?\s?l\.?\s?c\.?|l\.?\s?l\.?\s?p\.?|l\.\s?p\.|lp"
    r"|p\.?\s?l\.?\s?c\.?"
    r"|(?:gmbh|ag|se)\s*(?:&|und)\s*co\.?\s*(?:kgaa|kg|ohg)|kgaa|kg|ohg"
    r"|gmbh|ag|aktiengesellschaft|gesellschaft\s+mit\s+beschr(?:ä|ae|a)nkter\s+haftung"
    r"|n\.?\s?v\.?|b\.?\s?v\.?|naamloze\s+vennootschap|besloten\s+vennootschap"
    r"|s\.?\s?a\.?\s?s\.?|s\.?\s?a\.?\s?u\.?|s\.?\s?a\.?(?:\s?b\.?)?(?:\s+de\s+c\.?\s?v\.?)?"
    r"|s\.?\s?p\.?\s?a\.?|s\.?\s?r\.?\s?l\.?|s\.?\s?(?:a|à)\.?\s?r\.?\s?l\.?"
    r"|s\.\s?l\.|sl|ltda\.?|soci(?:é|e)t(?:é|e)\s+anonyme|sociedad\s+an(?:ó|o)nima"
    r"|societ(?:à|a)\s+per\s+azioni|se|ab(?:\s*\(publ\))?|aktiebolag|oyj?|a/s|as|asa|aps"
    r"|k\.\s?k\.|kk|kabushiki\s+kaisha|co\.?|company)"
)
_LEGAL_FORM_SYNONYMS = {
    "有限责任公司": "有限公司", "(有限合伙)": "有限合伙", "(集团)有限公司": "集团有限公司",
    "(集团)股份有限公司": "集团股份有限公司", "(集团)": "集团", "(普通合伙)": "普通合伙",
    "company limited": "co ltd", "co limited": "co ltd", "limited": "ltd",
    "incorporated": "inc", "corporation": "corp", "l l c": "llc", "company": "co",
    "pte ltd": "pte ltd", "b v": "bv", "s a": "sa",
    "public limited company": "plc", "limited liability company": "llc",
    "limited partnership": "lp", "aktiengesellschaft": "ag",
    "gesellschaft mit beschrankter haftung": "gmbh", "gesellschaft mit beschränkter haftung":
    "gmbh", "gesellschaft mit beschraenkter haftung": "gmbh", "naamloze vennootschap": "nv",
    "besloten vennootschap": "bv", "societe anonyme": "sa", "société anonyme": "sa",
    "sociedad anonima": "sa", "sociedad anónima": "sa", "societa per azioni": "spa",
    "società per azioni": "spa", "aktiebolag": "ab", "ab (publ)": "ab", "kabushiki kaisha": "kk",
    "sarl": "sarl", "sàrl": "sarl", "s à r l": "sarl", "gmbh und co kg": "gmbh & co kg",
}  # fmt: skip


def _re2_alternation(words: Sequence[str]) -> str:
    """Longest-first alternation of literal words, escaped for re2."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _company_patterns() -> dict[str, str]:
    english = [a for _c, _f, aliases in PROVINCES for a in aliases if len(a) > 2]
    english += [a for _c, aliases in CITIES for a in aliases]
    english = [a for a in english if a.isascii()]
    all_cn = [c for c, _f, _a in PROVINCES] + [c for c, _a in CITIES]
    return {
        # Every pattern matches only the part to cut off (a suffix or a prefix), so re2 can
        # find it with its DFA instead of capturing the whole name: ~5x faster.
        "branch": (
            rf"(?P<br>\(?(?:\((?P<r1>{_re2_alternation(all_cn)})(?:省|市)?\)"
            rf"|(?P<r2>{_re2_alternation(all_cn)})(?:省|市)?)?(?:分公司|分店|分厂|办事处)\)?)$"
        ),
        "bracket": r"\s*\((?P<reg>[^()]{2,24})\)$",
        "legal": (
            rf"(?:\s*(?P<cn>{_re2_alternation(_CN_LEGAL_FORMS)})"
            rf"|(?:^|[\s,]+)(?P<en>{_EN_LEGAL_RE2}))$"
        ),
        "legal_latin": rf"(?:^|[\s,]+)(?P<en>{_LATIN_LEGAL_RE2})$",
        "en_lead": rf"^(?P<reg>{_re2_alternation(english)})\s+",
        "en_trail": rf"\s+(?P<reg>{_re2_alternation(english)})$",
        # Gates (see _cut): what every match of the pattern above them starts or ends with.
        "branch_gate": r"(?:分公司|分店|分厂|办事处)\)?$",
        "en_lead_gate": f"^[{_re2_class({w[0] for w in english})}]",
        "en_trail_gate": f"[{_re2_class({w[-1] for w in english})}]$",
    }


def _re2_class(chars: set[str]) -> str:
    """A re2 character class body matching exactly ``chars`` (letters and digits only)."""
    if not all(c.isascii() and c.isalnum() for c in chars):
        raise ValueError(f"only ASCII letters and digits expected, got {sorted(chars)}")
    return "".join(sorted(chars))


@lru_cache(maxsize=1)
def _company_region_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(province prefixes, city prefixes, bracketed region words) for company names."""
    provinces = {c for c, _f, _a in PROVINCES} | {f for _c, f, _a in PROVINCES}
    provinces |= {c + suffix for c, _f, _a in PROVINCES for suffix in ("省", "市")}
    cities = {c for c, _a in CITIES if c not in _AMBIGUOUS_COMPANY_PREFIXES}
    cities |= {c + "市" for c, _a in CITIES}
    bracket = {*provinces, *cities, *(c for c, _a in CITIES), "中国", "china"}
    bracket |= {a for _c, _f, aliases in PROVINCES for a in aliases if len(a) > 2}
    bracket |= {a for _c, aliases in CITIES for a in aliases}
    return frozenset(provinces), frozenset(cities), frozenset(bracket)


def _cut_prefix(text: pa.Array, words: frozenset[str]) -> tuple[pa.Array, pa.Array]:
    """(text without its longest prefix from ``words``, that prefix or null).

    Hash look-ups of the first k characters instead of one huge regex alternation, which
    re2 runs slowly on multi-byte (Han) text.
    """
    matched = null_strings(len(text))
    for k in sorted({len(w) for w in words}):  # longer prefixes overwrite shorter ones
        head = pc.utf8_slice_codeunits(text, 0, k)
        hit = pc.fill_null(pc.is_in(head, value_set=value_set(words)), False)
        matched = pc.if_else(hit, head, matched)
    lengths = pc.fill_null(pc.utf8_length(matched), 0).to_numpy(zero_copy_only=False)
    if not lengths.any():
        return text, matched
    rest = text.to_pylist()
    for i in np.flatnonzero(lengths):
        rest[i] = rest[i][lengths[i] :]
    return pa.array(rest, type=pa.string()), matched


def _cut(
    text: pa.Array,
    pattern: str,
    *,
    anchor: str,
    gate: str | None = None,
    where: np.ndarray | None = None,
) -> tuple[pa.Array, pa.Array]:
    """(text with the first match of ``pattern`` removed, the ``extract_regex`` match).

    ``pattern`` is anchored: it matches a suffix (``anchor="end"``) or a prefix
    (``"start"``), so the cut is a slice of the matched length and re2 compiles the
    pattern once, not twice. ``gate``: a small pattern every match must also match (a
    suffix every alternative ends with): the big pattern runs on those values only, and
    not at all when none passes (a form check is one value). ``where``: only these values.
    """
    if anchor not in ("start", "end"):
        raise ValueError(f"anchor must be 'start' or 'end', not {anchor!r}")
    candidates = np.asarray(text.is_valid())
    if where is not None:
        candidates &= where
    if gate is not None:
        candidates = matches(text, gate, where=candidates)
    match = extract_where(text, candidates, f"(?P<_cut>{pattern})")
    matched = np.asarray(match.is_valid())
    if not matched.any():
        return text, match
    keep = pa.array(matched)
    values = text.filter(keep).to_pylist()
    cuts = pc.struct_field(match, "_cut").filter(keep).to_pylist()
    if anchor == "end":
        rest = [v[: len(v) - len(c)] for v, c in zip(values, cuts, strict=True)]
    else:
        rest = [v[len(c) :] for v, c in zip(values, cuts, strict=True)]
    return replace_masked(text, matched, rest), match


def _region_canonical(text: str) -> str | None:
    if text in ("中国", "china"):
        return "中国"
    as_province = place_one(text, "province")
    if as_province in {c for c, _f, _a in PROVINCES}:
        return as_province
    return place_one(text, "city")


def _legal_form_canonical(text: str) -> str | None:
    key = re.sub(r"[.,]", " ", text.lower())
    key = re.sub(r"\s+", " ", key).strip()
    if key in _LEGAL_FORM_SYNONYMS:
        return _LEGAL_FORM_SYNONYMS[key]
    # Initials written apart ('n v', 's p a', 'l l c') are one word.
    key = re.sub(r"\b[a-z](?: [a-z]\b)+", lambda m: m.group().replace(" ", ""), key)
    key = re.sub(r"(gmbh|ag|se) ?& ?co", r"\1 & co", key)
    return _LEGAL_FORM_SYNONYMS.get(key, key) or None
