"""Standardize raw CRM fields into comparable, validated columns.

``standardize(df, roles)`` adds derived columns (E.164 phones, cleaned e-mails, company cores,
pinyin name keys, parsed timestamps, ...) next to the untouched input columns and lists every
bad value in a ``problems`` table.

Speed: every parser runs once per *distinct* value of a column (``pandas.factorize``) and the
results are taken back to rows by code.  Most of the work is vectorized in pyarrow compute
(re2 regexes); only values that miss the fast path (rare formats, bad values) go through the
pure-Python parsers (``phonenumbers``, ``email_validator``, ``pypinyin``).

The per-value functions (``standardize_phone`` ...) run the very same batch code on a
one-element array, so a single record is judged exactly as it would be inside a frame.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

import email_validator
import jellyfish
import numpy as np
import opencc
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import Style, pinyin

from linkage.errors import ConfigError, InputError, SchemaError

__all__ = [
    "ROLE_NAMES",
    "CompanyResult",
    "CreditCodeResult",
    "EmailResult",
    "PersonNameResult",
    "PhoneResult",
    "Standardized",
    "parse_timestamp",
    "standardize",
    "standardize_company",
    "standardize_credit_code",
    "standardize_email",
    "standardize_person_name",
    "standardize_phone",
    "standardize_place",
]

# Roles another part of linkage knows but this module derives nothing for; accepted so the
# same role mapping can be passed straight through.
_EXTRA_PASS_THROUGH_ROLES = ("national_id", "gender", "job_title")

ROLE_NAMES: tuple[str, ...] = (
    "record_id", "company", "credit_code", "person_name", "first_name", "last_name", "mobile",
    "phone", "email", "wechat_unionid", "dob", "province", "city", "address", "postcode",
    "source", "created_at", "updated_at", "owner",
)  # fmt: skip
"""Every role name ``standardize`` accepts as a key of ``roles``."""

PROBLEM_COLUMNS: tuple[str, ...] = ("record_id", "role", "column", "value", "reason")
"""Columns of ``Standardized.problems``."""

try:  # pandas >= 2.3: the default ``str`` dtype (pyarrow-backed, NaN for missing)
    _STR_DTYPE: Any = pd.StringDtype("pyarrow", na_value=np.nan)
except TypeError:  # pragma: no cover - older pandas 2.x
    _STR_DTYPE = pd.StringDtype("pyarrow")

# Values that mean "nobody filled this in".  Compared after NFKC, trim and lower-casing.
# 'nan', '<na>', 'nat' and 'none' come from str() of missing values in earlier exports.
_MISSING_TOKENS = ("", "无", "-", "--", "---", "—", "——", "n/a", "null", "nan", "<na>", "nat",
                   "#n/a")  # fmt: skip

_HAN = r"\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}\x{f900}-\x{faff}"  # re2 class body for CJK
_HAN_PY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Standardized:
    """Output of :func:`standardize`.

    ``frame``: every input column unchanged and in order, followed by the derived columns.
    ``problems``: one row per (record, role) with a bad value; columns ``PROBLEM_COLUMNS``.
    """

    frame: pd.DataFrame
    problems: pd.DataFrame


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
class EmailResult:
    """A standardized e-mail address; fields match the ``email_*`` derived columns."""

    clean: str | None
    local: str | None
    domain: str | None
    is_free: bool | None
    company_domain: str | None
    valid: bool | None
    problem: str | None


@dataclass(frozen=True)
class CompanyResult:
    """A standardized company name; fields match the ``company_*`` derived columns."""

    clean: str | None
    core: str | None
    legal_form: str | None
    region: str | None
    valid: bool | None
    problem: str | None


@dataclass(frozen=True)
class CreditCodeResult:
    """A standardized unified social credit code (统一社会信用代码)."""

    clean: str | None
    valid: bool | None
    problem: str | None


@dataclass(frozen=True)
class PersonNameResult:
    """A standardized person name; fields match the ``person_*`` derived columns."""

    clean: str | None
    key: str | None
    keys: tuple[str, ...] | None
    surname: str | None
    is_honorific: bool | None
    phonetic: str | None
    valid: bool | None
    problem: str | None


# --------------------------------------------------------------------------------------------
# Generic text helpers (pyarrow, vectorized over distinct values)
# --------------------------------------------------------------------------------------------


def _scalar_to_text(value: object) -> str | None:
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
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        return pa.array(values, type=pa.string())
    return pa.array([_scalar_to_text(v) for v in values], type=pa.string())


def _factorize_text(column: pd.Series) -> tuple[np.ndarray, pa.StringArray]:
    """``(codes, raw_text)``: one text per distinct value; code -1 marks a null cell."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), _uniques_to_arrow(uniques)


def _nfkc_clean(raw: pa.Array) -> pa.Array:
    """NFKC, whitespace collapsed, trimmed; missing-value tokens become null."""
    # Both passes run only on the values that need them (most are plain ASCII, one space).
    text = raw
    non_ascii = np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(raw)), False))
    if non_ascii.any():
        normalized = pc.utf8_normalize(raw.filter(pa.array(non_ascii)), "NFKC")
        text = _replace_masked(text, non_ascii, normalized)
    odd_space = _matches(text, r"[^\S ]|  |\x{200b}|\x{feff}")
    if odd_space.any():
        collapsed = pc.replace_substring_regex(
            text.filter(pa.array(odd_space)), r"[\s\x{200b}\x{feff}]+", " "
        )
        text = _replace_masked(text, odd_space, collapsed)
    text = pc.utf8_trim_whitespace(text)
    missing = pc.is_in(pc.utf8_lower(text), value_set=_value_set(tuple(_MISSING_TOKENS)))
    return pc.if_else(missing, pa.scalar(None, pa.string()), text)


@lru_cache(maxsize=1)
def _t2s_converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _to_simplified(text: pa.Array) -> pa.Array:
    """Traditional -> simplified Chinese, one opencc call for the whole array.

    Values must not contain newlines (``_nfkc_clean`` collapsed all whitespace to spaces).
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


def _matches(text: pa.Array, pattern: str, where: np.ndarray | None = None) -> np.ndarray:
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
            out[idx] = _matches(text.take(pa.array(idx, type=pa.int64())), pattern)
            return out
    if text.null_count == len(text):
        return np.zeros(len(text), dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring_regex(text, pattern), False))


@lru_cache(maxsize=64)
def _value_set(words: frozenset[str] | tuple[str, ...]) -> pa.Array:
    """A word set as the arrow array ``pc.is_in`` wants (built once per set)."""
    return pa.array(sorted(words), type=pa.string())


def _null_strings(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def _set_where(base: pa.Array, mask: np.ndarray, value: Any) -> pa.Array:
    """``base`` with ``value`` (scalar) wherever ``mask``."""
    return pc.if_else(pa.array(mask), pa.scalar(value, base.type), base)


def _replace_masked(base: pa.Array, mask: np.ndarray, values: Sequence[Any] | pa.Array) -> pa.Array:
    """``base`` with ``values`` (one per True of ``mask``, in order) written in."""
    if not mask.any():
        return base
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=base.type)
    return pc.replace_with_mask(base, pa.array(mask), values.cast(base.type))


def _extract_where(text: pa.Array, mask: np.ndarray, pattern: str) -> pa.Array:
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


def _map_distinct(text: pa.Array, func: Callable[[str], str | None]) -> pa.Array:
    """Apply a Python function once per distinct non-null string (low-cardinality columns)."""
    encoded = pc.dictionary_encode(text)
    mapped = pa.array([func(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return mapped.take(encoded.indices)


def _group(match: pa.Array, name: str) -> pa.Array:
    """Named group of a ``pc.extract_regex`` result; null where the regex did not match.

    An optional group that did not take part comes back as '' from re2; it becomes null too,
    so ``pc.coalesce`` over alternative groups picks the one that matched.
    (``StructArray.field`` ignores the struct's own validity, hence ``pc.struct_field``.)
    """
    group = pc.struct_field(match, name)
    return pc.if_else(pc.equal(group, ""), pa.scalar(None, pa.string()), group)


def _strip_regex(text: pa.Array, pattern: str) -> pa.Array:
    return pc.replace_substring_regex(text, pattern, "")


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

# (canonical, official full name, other aliases incl. English/pinyin and one-character
# abbreviations).  All 34 provincial-level divisions.
_PROVINCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("北京", "北京市", ("beijing", "peking", "京")),
    ("天津", "天津市", ("tianjin", "津")),
    ("上海", "上海市", ("shanghai", "沪", "申")),
    ("重庆", "重庆市", ("chongqing", "渝")),
    ("河北", "河北省", ("hebei", "冀")),
    ("山西", "山西省", ("shanxi", "晋")),
    ("内蒙古", "内蒙古自治区", ("inner mongolia", "neimenggu", "nei mongol", "蒙")),
    ("辽宁", "辽宁省", ("liaoning", "辽")),
    ("吉林", "吉林省", ("jilin", "吉")),
    ("黑龙江", "黑龙江省", ("heilongjiang", "黑")),
    ("江苏", "江苏省", ("jiangsu", "苏")),
    ("浙江", "浙江省", ("zhejiang", "浙")),
    ("安徽", "安徽省", ("anhui", "皖")),
    ("福建", "福建省", ("fujian", "闽")),
    ("江西", "江西省", ("jiangxi", "赣")),
    ("山东", "山东省", ("shandong", "鲁")),
    ("河南", "河南省", ("henan", "豫")),
    ("湖北", "湖北省", ("hubei", "鄂")),
    ("湖南", "湖南省", ("hunan", "湘")),
    ("广东", "广东省", ("guangdong", "粤")),
    ("广西", "广西壮族自治区", ("guangxi", "桂")),
    ("海南", "海南省", ("hainan", "琼")),
    ("四川", "四川省", ("sichuan", "川", "蜀")),
    ("贵州", "贵州省", ("guizhou", "黔", "贵")),
    ("云南", "云南省", ("yunnan", "滇", "云")),
    ("西藏", "西藏自治区", ("tibet", "xizang", "藏")),
    ("陕西", "陕西省", ("shaanxi", "陕", "秦")),
    ("甘肃", "甘肃省", ("gansu", "甘", "陇")),
    ("青海", "青海省", ("qinghai", "青")),
    ("宁夏", "宁夏回族自治区", ("ningxia", "宁")),
    ("新疆", "新疆维吾尔自治区", ("xinjiang", "新")),
    ("香港", "香港特别行政区", ("hong kong", "hongkong", "hk", "hksar", "港")),
    ("澳门", "澳门特别行政区", ("macau", "macao", "澳")),
    ("台湾", "台湾省", ("taiwan", "台")),
)

# Major prefecture-level cities (canonical, English/pinyin aliases).
_CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("北京", ("beijing", "peking")), ("上海", ("shanghai",)), ("天津", ("tianjin",)),
    ("重庆", ("chongqing",)), ("香港", ("hong kong", "hongkong")), ("澳门", ("macau", "macao")),
    ("深圳", ("shenzhen",)), ("广州", ("guangzhou", "canton")), ("杭州", ("hangzhou",)),
    ("南京", ("nanjing",)), ("苏州", ("suzhou",)), ("成都", ("chengdu",)), ("武汉", ("wuhan",)),
    ("西安", ("xian", "xi'an")), ("青岛", ("qingdao",)), ("大连", ("dalian",)),
    ("宁波", ("ningbo",)), ("厦门", ("xiamen", "amoy")), ("沈阳", ("shenyang",)),
    ("长沙", ("changsha",)), ("郑州", ("zhengzhou",)), ("济南", ("jinan",)),
    ("哈尔滨", ("harbin", "haerbin")), ("长春", ("changchun",)), ("福州", ("fuzhou",)),
    ("合肥", ("hefei",)), ("昆明", ("kunming",)), ("南昌", ("nanchang",)),
    ("南宁", ("nanning",)), ("贵阳", ("guiyang",)), ("太原", ("taiyuan",)),
    ("石家庄", ("shijiazhuang",)), ("兰州", ("lanzhou",)), ("乌鲁木齐", ("urumqi", "wulumuqi")),
    ("呼和浩特", ("hohhot", "huhehaote")), ("银川", ("yinchuan",)), ("西宁", ("xining",)),
    ("拉萨", ("lhasa", "lasa")), ("海口", ("haikou",)), ("三亚", ("sanya",)),
    ("无锡", ("wuxi",)), ("常州", ("changzhou",)), ("佛山", ("foshan",)),
    ("东莞", ("dongguan",)), ("珠海", ("zhuhai",)), ("中山", ("zhongshan",)),
    ("惠州", ("huizhou",)), ("温州", ("wenzhou",)), ("绍兴", ("shaoxing",)),
    ("嘉兴", ("jiaxing",)), ("金华", ("jinhua",)), ("台州", ("taizhou",)),
    ("烟台", ("yantai",)), ("潍坊", ("weifang",)), ("泉州", ("quanzhou",)),
    ("唐山", ("tangshan",)), ("保定", ("baoding",)), ("徐州", ("xuzhou",)),
    ("南通", ("nantong",)), ("扬州", ("yangzhou",)), ("洛阳", ("luoyang",)),
    ("芜湖", ("wuhu",)), ("宜昌", ("yichang",)), ("襄阳", ("xiangyang",)),
    ("株洲", ("zhuzhou",)), ("柳州", ("liuzhou",)), ("桂林", ("guilin",)),
    ("绵阳", ("mianyang",)), ("汕头", ("shantou",)), ("江门", ("jiangmen",)),
    ("湛江", ("zhanjiang",)), ("临沂", ("linyi",)), ("淄博", ("zibo",)),
    ("济宁", ("jining",)), ("廊坊", ("langfang",)), ("邯郸", ("handan",)),
    ("镇江", ("zhenjiang",)), ("盐城", ("yancheng",)), ("泰州", ()), ("湖州", ("huzhou",)),
    ("大庆", ("daqing",)), ("鞍山", ("anshan",)), ("包头", ("baotou",)),
    ("鄂尔多斯", ("ordos",)), ("吉林", ("jilin city",)),
)  # fmt: skip

# City names that are also ordinary words at the start of company names ("中山装饰",
# "金华科技", "大庆石化" are fine to strip, but 中山/金华 are very common trade names).
_AMBIGUOUS_COMPANY_PREFIXES = frozenset({"中山", "金华", "吉林"})

_PLACE_SUFFIX_RE = re.compile(
    r"(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$"
    r"|\s+(?:province|city|municipality|shi|sheng|sar)$"
)


@lru_cache(maxsize=1)
def _place_tables() -> tuple[dict[str, str], dict[str, str]]:
    """``(province_alias -> canonical, city_alias -> canonical)``, keys lower-case."""
    province: dict[str, str] = {}
    for canonical, full, aliases in _PROVINCES:
        for alias in (canonical, full, *aliases):
            province[alias.lower()] = canonical
    city: dict[str, str] = {}
    for canonical, aliases in _CITIES:
        for alias in (canonical, canonical + "市", *aliases):
            city.setdefault(alias.lower(), canonical)
    for canonical, full, _aliases in _PROVINCES[:4] + _PROVINCES[-3:-1]:
        city.setdefault(full, canonical)  # 北京市, 香港特别行政区 ... are cities too
    return province, city


def _place_one(text: str, level: str) -> str | None:
    """Canonical place name of one cleaned (NFKC, simplified) text."""
    province, city = _place_tables()
    table = province if level == "province" else city
    key = text.strip().lower().replace("\u00b7", " ")
    if not key:
        return None
    if key in table:
        return table[key]
    stripped = _PLACE_SUFFIX_RE.sub("", key).strip()
    if len(stripped) < 2 and _HAN_PY.search(stripped or "x"):
        stripped = key  # "X市" with a one-character name: keep the suffix
    if stripped in table:
        return table[stripped]
    # Unknown place: cleaned, suffix removed (English lower-cased so spellings compare).
    return stripped or None


def _place_batch(raw: pa.Array, level: str) -> tuple[pa.Array, pa.Array]:
    """(clean, problem) per distinct value for the province or city role."""
    text = _to_simplified(_nfkc_clean(raw))
    clean = _map_distinct(text, lambda v: _place_one(v, level))
    problem = _null_strings(len(raw))
    if level == "province":
        known = frozenset(c for c, _f, _a in _PROVINCES)
        unknown = np.asarray(
            pc.fill_null(pc.invert(pc.is_in(clean, pa.array(sorted(known)))), False)
        )
        unknown &= np.asarray(clean.is_valid())
        problem = _set_where(problem, unknown, "unknown province")
    return clean, problem


# --------------------------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------------------------

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


def _parse_phone_slow(
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
    compact = _strip_regex(compact, r"[ \-()]")
    mobile_n = _group(pc.extract_regex(compact, r"^(?:\+86|0086|86)?(?P<n>1\d{10})$"), "n")
    land_n = _group(pc.extract_regex(compact, r"^(?:(?:\+86|0086)0?|0)(?P<n>[1-9]\d{8,10})$"), "n")
    mobile_re, other_re = _cn_patterns()
    is_mobile = _matches(mobile_n, mobile_re)
    is_land = _matches(land_n, other_re)
    is_land &= ~_matches(land_n, mobile_re, where=is_land)
    national = pc.coalesce(mobile_n, land_n)
    ok = ~_matches(national, _PHONE_PLACEHOLDER_RE2, where=is_mobile | is_land)
    return national, is_mobile & ok, is_land & ok


def _phone_batch(raw: pa.Array, region: str) -> dict[str, pa.Array]:
    """Phone columns per distinct value: e164, kind, extension, valid, problem."""
    n = len(raw)
    text = _nfkc_clean(raw)
    e164 = _null_strings(n)
    kind = _null_strings(n)
    extension = _null_strings(n)
    valid = pc.if_else(text.is_valid(), pa.scalar(True), pa.scalar(None, pa.bool_()))
    problem = _null_strings(n)
    slow = np.asarray(text.is_valid())
    if region == "CN":
        # Fast path, same decisions as _parse_phone_slow for the common shapes: an optional
        # worded extension (转/分机/ext/x/#), a whole number, else a '-801' dash extension.
        worded = _extract_where(
            text,
            _matches(text, r"[^\d\s\-+().]"),
            r"(?i)^(?P<main>.*?\d)\s*(?:转分机|分机号?|转|ext(?:ension)?\.?|extn\.?|x|#)"
            r"\s*[:：]?\s*(?P<ext>\d{1,6})$",
        )
        main = pc.coalesce(_group(worded, "main"), text)
        worded_ext = _group(worded, "ext")
        # Excel scientific notation (1.38001380E+10): exact as long as it fits a double.
        sci = _matches(main, r"^\d\.\d{1,14}[eE]\+?1[0-4]$")
        if sci.any():
            numbers = pc.cast(main.filter(pa.array(sci)), pa.float64()).to_numpy()
            integral = np.floor(numbers) == numbers
            as_text = np.where(integral, numbers.astype(np.int64).astype(str), "x")
            main = _replace_masked(main, sci, as_text.tolist())
        national, is_mobile, is_land = _cn_phone_fast(main)
        whole_ok = is_mobile | is_land
        dashed = _extract_where(
            main,
            ~whole_ok & _matches(main, "-"),
            r"^(?P<main>.*\d{4})\s*-\s*(?P<ext>\d{1,5})$",
        )
        dash_main = _group(dashed, "main")
        d_national, d_mobile, d_land = _cn_phone_fast(dash_main)
        use_dash = ~whole_ok & (d_mobile | d_land) & np.asarray(worded_ext.is_null())
        national = pc.if_else(pa.array(use_dash), d_national, national)
        is_mobile = np.where(use_dash, d_mobile, is_mobile)
        is_land = np.where(use_dash, d_land, is_land)
        fast = is_mobile | is_land
        ext = pc.if_else(pa.array(use_dash), _group(dashed, "ext"), worded_ext)
        e164 = pc.if_else(pa.array(fast), pc.binary_join_element_wise("+86", national, ""), e164)
        kind = _set_where(kind, is_mobile, "mobile")
        kind = _set_where(kind, is_land, "landline")
        extension = pc.if_else(pa.array(fast), ext, extension)
        # 7-8 digit local numbers: no area code, cannot be dialled from outside the city.
        local_only = _matches(text, r"^[2-9]\d{6,7}$", where=~fast)
        local_only &= ~_matches(text, _PHONE_PLACEHOLDER_RE2, where=local_only)
        # A few 8-digit service numbers are valid.
        local_only &= ~_matches(text, _cn_patterns()[1], where=local_only)
        valid = _set_where(valid, local_only, False)
        problem = _set_where(problem, local_only, "landline without area code")
        slow &= ~fast & ~local_only
    if slow.any():
        results = [_parse_phone_slow(v, region) for v in text.filter(pa.array(slow)).to_pylist()]
        cols = list(zip(*results, strict=True))
        e164 = _replace_masked(e164, slow, cols[0])
        kind = _replace_masked(kind, slow, cols[1])
        extension = _replace_masked(extension, slow, cols[2])
        valid = _replace_masked(valid, slow, cols[3])
        problem = _replace_masked(problem, slow, cols[4])
    return {"e164": e164, "kind": kind, "extension": extension, "valid": valid,
            "problem": problem}  # fmt: skip


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------

FREE_EMAIL_DOMAINS: frozenset[str] = frozenset({
    "qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "vip.163.com",
    "vip.126.com", "188.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "139.com",
    "189.cn", "wo.cn", "aliyun.com", "tom.com", "21cn.com", "gmail.com", "googlemail.com",
    "hotmail.com", "outlook.com", "live.com", "live.cn", "msn.com", "yahoo.com", "yahoo.com.cn",
    "yahoo.cn", "icloud.com", "me.com", "mac.com", "protonmail.com", "proton.me", "aol.com",
    "mail.com", "gmx.com", "yandex.com", "hotmail.co.uk", "outlook.cn", "263.net", "2980.com",
})  # fmt: skip
"""Consumer mail providers: their domain says nothing about the employer."""

_PLACEHOLDER_EMAIL_LOCALS = ("test", "none", "null", "noreply", "no-reply", "nobody", "na",
                             "xxx", "abc", "123", "example", "admin@test", "nomail")  # fmt: skip
_PLACEHOLDER_EMAIL_DOMAINS = ("test.com", "example.com", "none.com", "xxx.com", "example.org",
                              "example.net", "test.cn", "abc.com", "null.com", "email.com",
                              "mail.example.com")  # fmt: skip
# Typing slips in the big free-mail domains; the address cannot receive mail as written.
_DOMAIN_TYPOS: dict[str, str] = {
    "qq.con": "qq.com", "qq.cn": "qq.com", "qq.om": "qq.com", "qq.co": "qq.com",
    "qq.comm": "qq.com", "163.con": "163.com", "163.cn": "163.com", "163.cm": "163.com",
    "126.con": "126.com", "126.cm": "126.com", "gmial.com": "gmail.com",
    "gmai.com": "gmail.com", "gamil.com": "gmail.com", "gmail.con": "gmail.com",
    "hotmial.com": "hotmail.com", "hotmail.con": "hotmail.com", "sina.con": "sina.com",
    "foxmail.con": "foxmail.com", "outlook.con": "outlook.com", "yahoo.con": "yahoo.com",
}  # fmt: skip

_EMAIL_FAST_RE2 = (
    r"^[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
    r"[a-z]{2,24}$"
)
_SPECIAL_USE_TLD_RE2 = r"\.(?:test|example|invalid|localhost|local|onion|arpa)$"


def _email_slow(text: str) -> tuple[str | None, str | None]:
    """(normalized address or None, problem) via email_validator; no network."""
    try:
        info = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None, "not an email address"
    return info.normalized.lower(), None


def _email_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """E-mail columns per distinct value."""
    n = len(raw)
    text = _nfkc_clean(raw)
    text = pc.utf8_lower(text)
    text = _strip_regex(text, r"^mailto:|^<|>$")
    text = pc.replace_substring_regex(text, r"\s*@\s*", "@")
    text = pc.replace_substring_regex(text, r"。", ".")  # Chinese full stop typed for '.'
    given = np.asarray(text.is_valid())
    fast = (
        _matches(text, _EMAIL_FAST_RE2)
        & ~_matches(text, _SPECIAL_USE_TLD_RE2)
        & np.asarray(pc.fill_null(pc.less_equal(pc.utf8_length(text), 254), False))
    )
    clean = pc.if_else(pa.array(fast), text, _null_strings(n))
    problem = _null_strings(n)
    slow = given & ~fast
    if slow.any():
        results = [_email_slow(v) for v in text.filter(pa.array(slow)).to_pylist()]
        cols = list(zip(*results, strict=True))
        clean = _replace_masked(clean, slow, cols[0])
        problem = _replace_masked(problem, slow, cols[1])
    parts = pc.extract_regex(clean, r"^(?P<local>.+)@(?P<domain>[^@]+)$")
    local, domain = _group(parts, "local"), _group(parts, "domain")
    long_local = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(local), 64), False))
    problem = _set_where(problem, long_local, "not an email address")
    placeholder = np.asarray(
        pc.fill_null(
            pc.or_(
                pc.is_in(local, pa.array(_PLACEHOLDER_EMAIL_LOCALS)),
                pc.is_in(domain, pa.array(_PLACEHOLDER_EMAIL_DOMAINS)),
            ),
            False,
        )
    )
    problem = _set_where(problem, placeholder & ~long_local, "placeholder address")
    typo = np.asarray(pc.fill_null(pc.is_in(domain, pa.array(list(_DOMAIN_TYPOS))), False))
    typo &= ~placeholder & ~long_local
    if typo.any():
        bad = domain.filter(pa.array(typo)).to_pylist()
        problem = _replace_masked(
            problem, typo, [f"domain typo (did you mean {_DOMAIN_TYPOS[d]}?)" for d in bad]
        )
    invalid = given & np.asarray(problem.is_valid())
    none = _null_strings(n)
    clean = pc.if_else(pa.array(invalid), none, clean)
    local = pc.if_else(pa.array(invalid), none, local)
    domain = pc.if_else(pa.array(invalid), none, domain)
    is_free = pc.is_in(domain, pa.array(sorted(FREE_EMAIL_DOMAINS)))
    is_free = pc.if_else(domain.is_valid(), is_free, pa.scalar(None, pa.bool_()))
    company_domain = pc.if_else(pc.fill_null(is_free, True), none, domain)
    valid = pc.if_else(pa.array(given), pa.array(~invalid), pa.scalar(None, pa.bool_()))
    return {"clean": clean, "local": local, "domain": domain, "is_free": is_free,
            "company_domain": company_domain, "valid": valid, "problem": problem}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Company names
# --------------------------------------------------------------------------------------------

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
_LEGAL_FORM_SYNONYMS = {
    "有限责任公司": "有限公司", "(有限合伙)": "有限合伙", "(集团)有限公司": "集团有限公司",
    "(集团)股份有限公司": "集团股份有限公司", "(集团)": "集团", "(普通合伙)": "普通合伙",
    "company limited": "co ltd", "co limited": "co ltd", "limited": "ltd",
    "incorporated": "inc", "corporation": "corp", "l l c": "llc", "company": "co",
    "pte ltd": "pte ltd", "b v": "bv", "s a": "sa",
}  # fmt: skip


def _re2_alternation(words: Sequence[str]) -> str:
    """Longest-first alternation of literal words, escaped for re2."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _company_patterns() -> dict[str, str]:
    english = [a for _c, _f, aliases in _PROVINCES for a in aliases if len(a) > 2]
    english += [a for _c, aliases in _CITIES for a in aliases]
    english = [a for a in english if a.isascii()]
    all_cn = [c for c, _f, _a in _PROVINCES] + [c for c, _a in _CITIES]
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
    provinces = {c for c, _f, _a in _PROVINCES} | {f for _c, f, _a in _PROVINCES}
    provinces |= {c + suffix for c, _f, _a in _PROVINCES for suffix in ("省", "市")}
    cities = {c for c, _a in _CITIES if c not in _AMBIGUOUS_COMPANY_PREFIXES}
    cities |= {c + "市" for c, _a in _CITIES}
    bracket = {*provinces, *cities, *(c for c, _a in _CITIES), "中国", "china"}
    bracket |= {a for _c, _f, aliases in _PROVINCES for a in aliases if len(a) > 2}
    bracket |= {a for _c, aliases in _CITIES for a in aliases}
    return frozenset(provinces), frozenset(cities), frozenset(bracket)


def _cut_prefix(text: pa.Array, words: frozenset[str]) -> tuple[pa.Array, pa.Array]:
    """(text without its longest prefix from ``words``, that prefix or null).

    Hash look-ups of the first k characters instead of one huge regex alternation, which
    re2 runs slowly on multi-byte (Han) text.
    """
    matched = _null_strings(len(text))
    for k in sorted({len(w) for w in words}):  # longer prefixes overwrite shorter ones
        head = pc.utf8_slice_codeunits(text, 0, k)
        hit = pc.fill_null(pc.is_in(head, value_set=_value_set(words)), False)
        matched = pc.if_else(hit, head, matched)
    lengths = pc.fill_null(pc.utf8_length(matched), 0).to_numpy(zero_copy_only=False)
    if not lengths.any():
        return text, matched
    rest = text.to_pylist()
    for i in np.flatnonzero(lengths):
        rest[i] = rest[i][lengths[i] :]
    return pa.array(rest, type=pa.string()), matched


def _cut(
    text: pa.Array, pattern: str, *, anchor: str, gate: str | None = None
) -> tuple[pa.Array, pa.Array]:
    """(text with the first match of ``pattern`` removed, the ``extract_regex`` match).

    ``pattern`` is anchored: it matches a suffix (``anchor="end"``) or a prefix
    (``"start"``), so the cut is a slice of the matched length and re2 compiles the
    pattern once, not twice. ``gate``: a small pattern every match must also match (a
    suffix every alternative ends with): the big pattern runs on those values only, and
    not at all when none passes (a form check is one value).
    """
    if anchor not in ("start", "end"):
        raise ValueError(f"anchor must be 'start' or 'end', not {anchor!r}")
    candidates = np.asarray(text.is_valid())
    if gate is not None:
        candidates = _matches(text, gate, where=candidates)
    match = _extract_where(text, candidates, f"(?P<_cut>{pattern})")
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
    return _replace_masked(text, matched, rest), match


def _region_canonical(text: str) -> str | None:
    if text in ("中国", "china"):
        return "中国"
    as_province = _place_one(text, "province")
    if as_province in {c for c, _f, _a in _PROVINCES}:
        return as_province
    return _place_one(text, "city")


def _legal_form_canonical(text: str) -> str | None:
    key = re.sub(r"[.,]", " ", text.lower())
    key = re.sub(r"\s+", " ", key).strip()
    return _LEGAL_FORM_SYNONYMS.get(key, key) or None


def _company_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """Company columns per distinct value."""
    n = len(raw)
    pat = _company_patterns()
    text = _to_simplified(_nfkc_clean(raw))
    text = pc.utf8_lower(text)
    text = pc.replace_substring_regex(text, r"[\[【〔〖{〈]", "(")
    text = pc.replace_substring_regex(text, r"[\]】〕〗}〉]", ")")
    if _matches(text, r"\s").any():
        for _ in range(2):  # no spaces between Han characters / brackets ("华信 (北京)")
            text = pc.replace_substring_regex(text, rf"([{_HAN}()])\s+([{_HAN}()])", r"\1\2")
    clean = text

    rest, branch = _cut(clean, pat["branch"], anchor="end", gate=pat["branch_gate"])
    branch_region = pc.coalesce(_group(branch, "r1"), _group(branch, "r2"))
    has_branch = np.asarray(_group(branch, "br").is_valid())
    provinces, cities, bracket_words = _company_region_words()

    def cut_bracket(values: pa.Array) -> tuple[pa.Array, pa.Array]:
        stripped, match = _cut(values, pat["bracket"], anchor="end", gate=r"\)$")
        word = _group(match, "reg")
        is_region = pc.or_(
            pc.is_in(word, value_set=_value_set(bracket_words)),
            pc.is_in(_strip_regex(word, r"(?:省|市)$"), value_set=_value_set(bracket_words)),
        )
        is_region = pc.fill_null(is_region, False)
        return pc.if_else(is_region, stripped, values), pc.if_else(is_region, word, None)

    rest, bracket_after = cut_bracket(rest)
    rest, legal = _cut(rest, pat["legal"], anchor="end")
    legal_form = pc.coalesce(_group(legal, "cn"), _group(legal, "en"))
    rest, bracket_before = cut_bracket(rest)

    after_province, p_reg = _cut_prefix(rest, provinces)
    stripped, c_reg = _cut_prefix(after_province, cities)
    # Keep the region when nothing (or one character) would be left: "北京有限公司".
    has_prefix = np.asarray(pc.fill_null(pc.greater_equal(pc.utf8_length(stripped), 2), False))
    has_prefix &= np.asarray(pc.fill_null(pc.or_(p_reg.is_valid(), c_reg.is_valid()), False))
    rest = pc.if_else(pa.array(has_prefix), stripped, rest)
    prefix_region = pc.if_else(pa.array(has_prefix), pc.coalesce(c_reg, p_reg), _null_strings(n))

    rest, lead = _cut(rest, pat["en_lead"], anchor="start", gate=pat["en_lead_gate"])
    rest, trail = _cut(rest, pat["en_trail"], anchor="end", gate=pat["en_trail_gate"])

    core = pc.utf8_trim(rest, characters=" ,.-·&()_/")
    core = pc.if_else(pc.equal(core, ""), _null_strings(n), core)

    region_text = pc.coalesce(
        prefix_region, bracket_before, bracket_after,
        _group(lead, "reg"), _group(trail, "reg"), branch_region,
    )  # fmt: skip
    region = _map_distinct(region_text, _region_canonical)
    legal_norm = _map_distinct(legal_form, _legal_form_canonical)
    legal_norm = pc.if_else(
        pa.array(has_branch),
        pc.binary_join_element_wise(pc.fill_null(legal_norm, ""), "分公司", ""),
        legal_norm,
    )

    given = np.asarray(clean.is_valid())
    problem = _null_strings(n)
    digits_only = _matches(clean, r"^[\d\s\-+.]+$")
    placeholder = (
        np.asarray(pc.fill_null(pc.is_in(clean, pa.array(_COMPANY_PLACEHOLDERS)), False))
        | _matches(clean, r"^(?:x+|\?+|\.+|_+)$")
        | (given & ~np.asarray(core.is_valid()))
    )
    problem = _set_where(problem, placeholder, "placeholder name")
    problem = _set_where(problem, digits_only, "digits only")
    invalid = given & np.asarray(problem.is_valid())
    none = _null_strings(n)
    inv = pa.array(invalid)
    return {
        "clean": pc.if_else(inv, none, clean),
        "core": pc.if_else(inv, none, core),
        "legal_form": pc.if_else(inv, none, legal_norm),
        "region": pc.if_else(inv, none, region),
        "valid": pc.if_else(pa.array(given), pa.array(~invalid), pa.scalar(None, pa.bool_())),
        "problem": problem,
    }


# --------------------------------------------------------------------------------------------
# Unified social credit code
# --------------------------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _ch in enumerate(_USCC_ALPHABET):
    _USCC_VALUE[ord(_ch)] = _i


def _credit_code_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """Credit-code columns per distinct value; the check digit is verified in numpy."""
    n = len(raw)
    text = pc.utf8_upper(_nfkc_clean(raw))
    text = _strip_regex(text, r"[\s\-_.]")
    given = np.asarray(text.is_valid())
    length_ok = np.asarray(pc.fill_null(pc.equal(pc.utf8_length(text), 18), False))
    # Same rule as stdnum.cn.uscc: 8 digits, then 10 characters of the code alphabet.
    chars_ok = _matches(text, r"^\d{8}[0-9A-HJ-NP-RTUWXY]{10}$")
    check_ok = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(chars_ok)
    if idx.size:
        block = text.take(pa.array(idx)).cast(pa.binary())
        buf = np.frombuffer(block.buffers()[2], dtype=np.uint8)
        offsets = np.frombuffer(block.buffers()[1], dtype=np.int32)
        start = int(offsets[block.offset])  # all 18 bytes long, so values are contiguous
        matrix = buf[start : start + 18 * len(idx)].reshape(len(idx), 18)
        values = _USCC_VALUE[matrix]
        total = (values[:, :17] * _USCC_WEIGHTS).sum(axis=1)
        check_ok[idx] = values[:, 17] == (31 - total % 31) % 31
    same_char = _matches(text, "^(?:" + "|".join(f"{c}+" for c in _USCC_ALPHABET) + ")$")
    problem = _null_strings(n)
    problem = _set_where(problem, given & ~length_ok, "wrong length")
    problem = _set_where(problem, given & length_ok & ~chars_ok, "invalid characters")
    problem = _set_where(problem, chars_ok & ~check_ok, "bad checksum (likely typo)")
    problem = _set_where(problem, chars_ok & check_ok & same_char, "placeholder code")
    valid = chars_ok & check_ok & ~same_char
    keep = chars_ok  # malformed values have nothing worth comparing
    return {
        "clean": pc.if_else(pa.array(keep), text, _null_strings(n)),
        "valid": pc.if_else(pa.array(given), pa.array(valid), pa.scalar(None, pa.bool_())),
        "problem": problem,
    }


# --------------------------------------------------------------------------------------------
# Person names
# --------------------------------------------------------------------------------------------

_PINYIN_SYLLABLES = frozenset(
    """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang
cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan
chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei deng di dia dian
diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu
ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang
hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin
jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang
kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou
lu luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou
mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo
nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian
qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua
ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi
shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang
tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu
xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo
yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei
zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun
zuo
""".split()
)

# Common Chinese surnames in pinyin, most frequent first (used to guess the surname of a
# romanized name: the more common surname wins, so "Wei Zhang" -> zhang).
_SURNAME_PINYIN = tuple(
    """
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang
xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du ye cheng su
wei lv ding ren shen yao lu cui zhong tan fan jin shi liao jia xia fu fang bai zou meng xiong
qin qiu yin xue yan duan lei hou long tao gu mao hao gong shao wan qian dai mo kong xiang chang
kang niu hong qi wen zhuang yi ni geng guan ou bao tu an yue ke zhan lai mu lan ge ning
ouyang situ shangguan zhuge sima huangfu murong linghu gongsun dongfang xiahou zhangsun yuwen
""".split()
)
_SURNAME_RANK = {s: i for i, s in enumerate(_SURNAME_PINYIN)}
_COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "慕容", "皇甫", "令狐", "尉迟", "公孙", "东方", "夏侯", "长孙",
    "宇文", "司徒", "端木", "澹台", "万俟", "西门", "南宫", "独孤", "轩辕", "呼延", "闻人", "申屠",
})  # fmt: skip
_COMPOUND_SURNAME_PINYIN = frozenset(_SURNAME_PINYIN[_SURNAME_PINYIN.index("ouyang") :])
# Surname readings that differ from the character's most common reading.
_SURNAME_READING = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao", "查": "zha",
    "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "种": "chong", "缪": "miao", "秘": "bi",
    "尉": "yu", "召": "shao", "员": "yun", "长": "chang", "沈": "shen", "重": "chong",
    "折": "she", "牟": "mu", "能": "nai", "葛": "ge", "宿": "su", "纪": "ji", "柏": "bai",
    "薄": "bo", "藏": "zang", "石": "shi", "华": "hua", "任": "ren", "祭": "zhai", "句": "gou",
    "繁": "po", "万": "wan", "传": "chuan", "都": "du", "适": "kuo", "朝": "chao",
}  # fmt: skip
_COMMON_HAN_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪"
)
_CN_HONORIFICS = (
    "总经理", "董事长", "先生", "女士", "小姐", "老师", "经理", "总监", "总裁", "主任",
    "教授", "博士", "医生", "律师", "师傅", "阿姨", "老板", "主管", "同学",
)  # fmt: skip
_CN_SHORT_HONORIFICS = ("总", "工", "姐", "哥", "叔", "姨", "董", "生")  # only after a bare surname
_EN_HONORIFIC_RE = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle)\.?\s+")
_NAME_PLACEHOLDERS = frozenset({
    "test", "测试", "无", "客户", "先生", "女士", "小姐", "xxx", "未知", "unknown", "匿名",
    "某某", "test test", "none", "null", "na", "n/a", "老板", "经理", "联系人", "客户经理", "不详",
})  # fmt: skip
_LATIN_VARIANTS = {"lyu": "lv", "lü": "lv", "nyu": "nv", "nü": "nv", "lue": "lve"}


@lru_cache(maxsize=65536)
def _han_readings(char: str) -> tuple[str, ...]:
    """Tone-less pinyin readings of one Han character, most common first."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    out = tuple(dict.fromkeys(r.lower().replace("ü", "v") for r in readings if r.isascii()))
    return out or (char,)


@lru_cache(maxsize=65536)
def _split_pinyin(token: str) -> tuple[str, ...]:
    """Split run-together pinyin ('zhangwei' -> zhang, wei); other tokens unchanged."""
    token = _LATIN_VARIANTS.get(token, token)
    if token in _PINYIN_SYLLABLES or len(token) > 24 or not token.isascii():
        return (token,)
    n = len(token)
    # best[i] = cheapest split of token[i:]: fewest syllables, then fewest syllables after the
    # first that start with a vowel (pinyin would need an apostrophe there: "na na", not
    # "nan a"), then the longer first syllable.
    best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[n] = (0, 0, ())
    for i in range(n - 1, -1, -1):
        for j in range(min(n, i + 6), i, -1):
            piece = token[i:j]
            tail = best[j]
            if piece not in _PINYIN_SYLLABLES or tail is None:
                continue
            vowel_starts = tail[1] + (1 if tail[2] and tail[2][0][0] in "aeo" else 0)
            candidate = (tail[0] + 1, vowel_starts, (piece, *tail[2]))
            current = best[i]
            if current is None or candidate[:2] < current[:2]:
                best[i] = candidate
    found = best[0]
    if found is None or found[0] > 4:
        return (token,)
    return found[2]


def _strip_honorific(name: str) -> tuple[str, bool]:
    """(name without honorific, whether one was removed)."""
    m = _EN_HONORIFIC_RE.match(name)
    if m and len(name) > m.end():
        return name[m.end() :].strip(), True
    for title in _CN_HONORIFICS:
        if name.endswith(title) and 1 <= len(name) - len(title) <= 3:
            return name[: -len(title)].strip(), True
    if len(name) == 2 and name[1] in _CN_SHORT_HONORIFICS and _HAN_PY.match(name[0]):
        return name[0], True  # 张总, 李工
    if len(name) == 2 and name[0] in "老小阿" and name[1] in _COMMON_HAN_SURNAMES:
        return name[1], True  # 老王, 小李
    return name, False


_HAN_NAME_RE = re.compile(r"[\u4e00-\u9fff]{2,4}")
_HONORIFIC_LAST_CHARS = frozenset(t[-1] for t in _CN_HONORIFICS) | frozenset(_CN_SHORT_HONORIFICS)


def _han_name_keys(name: str) -> tuple[Any, ...]:
    """Fast path of ``_person_name_one`` for a plain 2-4 character Chinese name."""
    readings = [_han_readings(c) for c in name]
    head = name[0]
    if head in _SURNAME_READING:
        first = _SURNAME_READING[head]
        readings[0] = (first, *(r for r in readings[0] if r != first))
    readings = [r[:3] for r in readings]
    key = " ".join(sorted(r[0] for r in readings))
    keys = [key]
    if any(len(r) > 1 for r in readings):
        for combo in itertools.islice(itertools.product(*readings), 64):
            candidate = " ".join(sorted(combo))
            if candidate not in keys:
                keys.append(candidate)
                if len(keys) == 8:
                    break
    compound = name[:2] in _COMPOUND_SURNAMES
    surname = readings[0][0] + readings[1][0] if compound else readings[0][0]
    return name, key, keys, surname, False, jellyfish.metaphone(key) or None, True, None


_LATIN_NAME_RE = re.compile(r"[a-z]{2,}(?: [a-z]{2,}){0,2}")
_EN_HONORIFIC_WORDS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam",
                                 "mme", "mlle"})  # fmt: skip


def _latin_name_keys(name: str) -> tuple[Any, ...]:
    """Fast path of ``_person_name_one`` for 'zhang wei' / 'zhangwei' / 'john smith'."""
    tokens = name.split(" ")
    syllables = [s for t in tokens for s in _split_pinyin(t)]
    key = " ".join(sorted(syllables))
    surname = None
    if all(s in _PINYIN_SYLLABLES for s in syllables):
        candidates = [tokens[0], _split_pinyin(tokens[0])[0], tokens[-1]]
        if tokens[0] in _COMPOUND_SURNAME_PINYIN:
            candidates = candidates[:1]
        ranked = [c for c in candidates if c in _SURNAME_RANK]
        surname = min(ranked, key=_SURNAME_RANK.__getitem__) if ranked else None
    return name, key, [key], surname, False, jellyfish.metaphone(key) or None, True, None


def _person_name_one(text: str) -> tuple[Any, ...]:
    """(clean, key, keys, surname, is_honorific, phonetic, valid, problem) for one text.

    ``text`` is already NFKC-normalized, simplified, lower-cased and whitespace-collapsed.
    """
    if (
        _HAN_NAME_RE.fullmatch(text)
        and text[-1] not in _HONORIFIC_LAST_CHARS
        and text[0] not in "老小阿"
        and text not in _NAME_PLACEHOLDERS
    ):
        return _han_name_keys(text)
    if (
        _LATIN_NAME_RE.fullmatch(text)
        and text not in _NAME_PLACEHOLDERS
        and text.split(" ", 1)[0] not in _EN_HONORIFIC_WORDS
        and not re.search(r"\b(?:co|ltd|inc|limited|test|xxx)\b", text)
    ):
        return _latin_name_keys(text)
    name = text.strip(" .,;:-_·'\"()")
    # "张 伟" -> "张伟": spaces between Han characters are typing noise.
    name = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", name)
    invalid = (None, None, None, None, None, None, False)
    if name in _NAME_PLACEHOLDERS or re.fullmatch(r"[\d\s+\-*#.]+|x+|\?+", name or "x"):
        return (*invalid, "placeholder name")
    if "公司" in name or re.search(r"\b(?:co|ltd|inc|limited)\b", name):
        return (*invalid, "company name in person field")
    name, honorific = _strip_honorific(name)
    if not name or name in _NAME_PLACEHOLDERS:
        return (*invalid, "placeholder name")
    readings: list[tuple[str, ...]] = []
    han = [c for c in name if _HAN_PY.match(c)]
    if han:
        compound = "".join(han[:2]) in _COMPOUND_SURNAMES
    for pos, token in enumerate(re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\d_]+", name)):
        if _HAN_PY.match(token):
            options = _han_readings(token)
            if pos == 0 and token in _SURNAME_READING:
                first = _SURNAME_READING[token]
                options = (first, *(r for r in options if r != first))
            readings.append(options[:3])
        else:
            readings.extend((syllable,) for syllable in _split_pinyin(token))
    if not readings:
        return (*invalid, "no letters")
    key = " ".join(sorted(r[0] for r in readings))
    keys = [key]
    for combo in itertools.islice(itertools.product(*readings), 64):
        candidate = " ".join(sorted(combo))
        if candidate not in keys:
            keys.append(candidate)
            if len(keys) == 8:
                break
    if han:
        surname = "".join(r[0] for r in readings[: 2 if compound else 1])
    else:
        tokens = re.findall(r"[^\W\d_]+", name)
        candidates = [tokens[0], _split_pinyin(tokens[0])[0], tokens[-1]] if tokens else []
        if candidates and candidates[0] in _COMPOUND_SURNAME_PINYIN:
            candidates = candidates[:1]
        pinyin_only = all(
            syllable in _PINYIN_SYLLABLES for t in tokens for syllable in _split_pinyin(t)
        )
        # A romanized Chinese name is all pinyin; "Anna Smith" gets no surname guess.
        ranked = [c for c in candidates if c in _SURNAME_RANK] if pinyin_only else []
        surname = min(ranked, key=_SURNAME_RANK.__getitem__) if ranked else None
    phonetic = jellyfish.metaphone(key) or None
    return name, key, keys, surname, honorific, phonetic, True, None


def _person_name_batch(raw: pa.Array) -> dict[str, Any]:
    """Person-name columns per distinct value (Python per distinct name, cached pinyin)."""
    n = len(raw)
    text = pc.utf8_lower(_to_simplified(_nfkc_clean(raw)))
    if _matches(text, " ").any():
        for _ in range(2):  # "马 晶" -> "马晶": spaces between Han characters are typing noise
            text = pc.replace_substring_regex(text, rf"([{_HAN}]) ([{_HAN}])", r"\1\2")
    values = text.to_pylist()
    results = [(None,) * 7 + (None,) if v is None else _person_name_one(v) for v in values]
    cols = list(zip(*results, strict=True)) if results else [()] * 8
    keys = np.empty(n, dtype=object)
    keys[:] = list(cols[2]) if n else []
    return {
        "clean": pa.array(cols[0], type=pa.string()),
        "key": pa.array(cols[1], type=pa.string()),
        "keys": keys,
        "surname": pa.array(cols[3], type=pa.string()),
        "is_honorific": pa.array(cols[4], type=pa.bool_()),
        "phonetic": pa.array(cols[5], type=pa.string()),
        "valid": pa.array(
            [None if v is None else r for v, r in zip(values, cols[6], strict=True)],
            type=pa.bool_(),
        ),
        "problem": pa.array(cols[7], type=pa.string()),
    }


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------

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
    group = pc.fill_null(_group(match, name), "0")
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
            pc.utf8_rpad(pc.fill_null(_group(match, "f"), "0"), 6, "0"), 0, 6
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


def _timestamp_batch(raw: pa.Array, earliest_year: int = 1900) -> tuple[np.ndarray, pa.Array]:
    """(datetime64[us] per distinct value, problem).

    A year before ``earliest_year`` or after 2100 is implausible for a CRM timestamp; dates
    of birth pass an earlier bound (genealogy and historical records are real data).

    Time-zone designators ('Z', '+08:00') are dropped: the wall-clock time is kept so that
    all sources compare in the same (local) clock.
    """
    n = len(raw)
    text = _nfkc_clean(raw)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    parsed, ok, stamp = _assemble_timestamps(pc.extract_regex(text, _DATE_RE2))
    out[ok] = stamp[ok]
    compact = _matches(text, r"^\d{8}(?:\d{6})?$")
    if compact.any():
        idx = np.flatnonzero(compact)
        sub_parsed, sub_ok, sub_stamp = _assemble_timestamps(
            pc.extract_regex(text.take(pa.array(idx)), _COMPACT_DATE_RE2)
        )
        parsed[idx] = sub_parsed
        out[idx[sub_ok]] = sub_stamp[sub_ok]
    # Excel serial day numbers (45356.6 = 2024-03-05 14:24) and Unix epochs.
    serial = _matches(text, r"^\d{5}(?:\.\d+)?$") & ~parsed
    if serial.any():
        days = pc.cast(text.filter(pa.array(serial)), pa.float64()).to_numpy()
        ok = (days >= 1000) & (days < 80000)
        micros = np.round(days * 86_400_000_000).astype(np.int64)
        stamps = _EXCEL_EPOCH + micros.astype("timedelta64[us]")
        out[serial] = np.where(ok, stamps, np.datetime64("NaT"))
        parsed |= serial
    for shape, unit in ((r"^1\d{9}$", "s"), (r"^1\d{12}$", "ms")):
        hit = _matches(text, shape) & ~parsed
        if hit.any():
            ints = pc.cast(text.filter(pa.array(hit)), pa.int64()).to_numpy()
            out[hit] = ints.astype(f"datetime64[{unit}]").astype("datetime64[us]")
            parsed |= hit
    given = np.asarray(text.is_valid())
    problem = _null_strings(n)
    problem = _set_where(problem, given & ~parsed, "unrecognised date format")
    bad_value = given & parsed & np.isnat(out)
    problem = _set_where(problem, bad_value, "invalid date")
    years = out.astype("datetime64[Y]").astype(np.int64) + 1970
    implausible = given & ~np.isnat(out) & ((years < earliest_year) | (years > 2100))
    problem = _set_where(problem, implausible, "implausible date")
    out[implausible] = np.datetime64("NaT")
    return out, problem


# --------------------------------------------------------------------------------------------
# Small roles
# --------------------------------------------------------------------------------------------


def _wechat_batch(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    text = pc.utf8_trim_whitespace(_nfkc_clean(raw))
    ok = _matches(text, r"^[A-Za-z0-9_\-]{20,40}$")
    given = np.asarray(text.is_valid())
    problem = _set_where(_null_strings(len(raw)), given & ~ok, "not a WeChat unionid")
    return pc.if_else(pa.array(ok), text, _null_strings(len(raw))), problem


def _postcode_batch(raw: pa.Array, numeric_source: bool) -> pa.Array:
    text = _strip_regex(_nfkc_clean(raw), r"\s")
    if numeric_source:  # a spreadsheet dropped the leading zero of 010000
        text = pc.replace_substring_regex(text, r"^(\d{5})$", r"0\1")
    return text


def _address_batch(raw: pa.Array) -> pa.Array:
    return _to_simplified(_nfkc_clean(raw))


# --------------------------------------------------------------------------------------------
# Public per-value functions
# --------------------------------------------------------------------------------------------


def _one(value: object) -> pa.Array:
    return pa.array([_scalar_to_text(value)], type=pa.string())


def _first(column: Any) -> Any:
    if isinstance(column, np.ndarray):
        return column[0]
    return column[0].as_py()


def standardize_phone(value: object, default_region: str = "CN") -> PhoneResult:
    """Parse one phone number: E.164, kind, extension, validity and the reason when invalid.

    >>> standardize_phone("+86 138-0013-8000").e164
    '+8613800138000'
    """
    _check_region(default_region)
    cols = _phone_batch(_one(value), default_region)
    return PhoneResult(*(_first(cols[k]) for k in ("e164", "kind", "extension", "valid",
                                                   "problem")))  # fmt: skip


def standardize_email(value: object) -> EmailResult:
    """Clean one e-mail address (no network); placeholders and typos are invalid."""
    cols = _email_batch(_one(value))
    keys = ("clean", "local", "domain", "is_free", "company_domain", "valid", "problem")
    return EmailResult(*(_first(cols[k]) for k in keys))


def standardize_company(value: object) -> CompanyResult:
    """Clean one company name and split it into core name, legal form and region."""
    cols = _company_batch(_one(value))
    keys = ("clean", "core", "legal_form", "region", "valid", "problem")
    return CompanyResult(*(_first(cols[k]) for k in keys))


def standardize_credit_code(value: object) -> CreditCodeResult:
    """Clean one unified social credit code and verify its check digit."""
    cols = _credit_code_batch(_one(value))
    return CreditCodeResult(*(_first(cols[k]) for k in ("clean", "valid", "problem")))


def standardize_person_name(value: object) -> PersonNameResult:
    """Clean one person name and compute its order-free pinyin key(s)."""
    cols = _person_name_batch(_one(value))
    keys = _first(cols["keys"])
    return PersonNameResult(
        clean=_first(cols["clean"]),
        key=_first(cols["key"]),
        keys=None if keys is None else tuple(keys),
        surname=_first(cols["surname"]),
        is_honorific=_first(cols["is_honorific"]),
        phonetic=_first(cols["phonetic"]),
        valid=_first(cols["valid"]),
        problem=_first(cols["problem"]),
    )


def standardize_place(value: object, level: Literal["province", "city"]) -> str | None:
    """Canonical province or city name ('北京市', 'Beijing', '京' -> '北京'); None if missing."""
    if level not in ("province", "city"):
        raise ConfigError(f"level must be 'province' or 'city', got {level!r}")
    clean, _problem = _place_batch(_one(value), level)
    return _first(clean)


def parse_timestamp(value: object) -> dt.datetime | None:
    """Parse one timestamp in any of the CRM export formats; None when missing or unparseable.

    Accepts '2024-03-05 14:22:01', '2024/3/5 14:22', '2024-03-05T14:22:01Z', '2024年3月5日',
    '20240305', Excel serial numbers ('45356.6') and Unix epochs.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    stamps, _problem = _timestamp_batch(_one(value))
    if np.isnat(stamps[0]):
        return None
    return pd.Timestamp(stamps[0]).to_pydatetime()


# --------------------------------------------------------------------------------------------
# Frame-level driver
# --------------------------------------------------------------------------------------------


def _check_region(region: str) -> None:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"default_region {region!r} is not a region phonenumbers knows; use an ISO 3166 "
            "code such as 'CN', 'HK' or 'US'"
        )


def _validate_arguments(df: Any, roles: Mapping[str, str], min_names: int) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"standardize() needs a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(roles, Mapping):
        raise SchemaError("roles must be a mapping of role name -> column name")
    unknown = sorted(set(roles) - set(ROLE_NAMES) - set(_EXTRA_PASS_THROUGH_ROLES))
    if unknown:
        raise SchemaError(f"unknown role(s) {unknown}; valid roles are {list(ROLE_NAMES)}")
    if "record_id" not in roles:
        raise SchemaError("roles must map 'record_id' to the column holding the record ids")
    missing = {role: col for role, col in roles.items() if col not in df.columns}
    if missing:
        raise SchemaError(
            f"roles point at columns that are not in the frame: {missing}; "
            f"available columns: {list(df.columns)}"
        )
    if not df.columns.is_unique:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise InputError(f"duplicate column names in the input: {dupes}; rename them first")
    if isinstance(min_names, bool) or not isinstance(min_names, int) or min_names < 2:
        raise ConfigError(f"shared_phone_min_names must be an integer >= 2, got {min_names!r}")


class _Builder:
    """Collects derived columns and problem rows while roles are processed."""

    def __init__(self, df: pd.DataFrame, record_col: Hashable) -> None:
        self.index = df.index
        self.record_column = df[record_col]
        self.columns: dict[str, pd.Series | Any] = {}
        self.problem_parts: list[tuple[np.ndarray, str, str, np.ndarray, np.ndarray]] = []

    @staticmethod
    def take(values: pa.Array, codes: np.ndarray) -> pa.Array:
        return values.take(pa.array(codes, mask=codes < 0))

    def add_arrow(self, name: str, values: pa.Array, codes: np.ndarray) -> None:
        taken = self.take(values, codes)
        if pa.types.is_boolean(taken.type):
            data = np.asarray(taken.fill_null(False), dtype=bool)
            mask = np.asarray(taken.is_null(), dtype=bool)
            array: Any = pd.arrays.BooleanArray(data, mask)
        else:
            array = pd.array(taken, dtype=_STR_DTYPE)
        self.columns[name] = pd.Series(array, index=self.index, name=name)

    def add_numpy(self, name: str, values: np.ndarray, codes: np.ndarray, fill: Any) -> None:
        padded = np.empty(len(values) + 1, dtype=values.dtype)
        padded[:-1] = values
        padded[-1] = fill
        self.columns[name] = pd.Series(padded[codes], index=self.index, name=name)

    def add_problems(
        self, role: str, column: str, problem_u: pa.Array, codes: np.ndarray, raw_u: pa.Array
    ) -> None:
        bad = np.asarray(problem_u.is_valid())
        if not bad.any():
            return
        lookup = np.append(bad, False)
        rows = np.flatnonzero(lookup[codes])
        reasons = np.asarray(problem_u.to_pandas(), dtype=object)
        raws = np.asarray(raw_u.to_pandas(), dtype=object)
        self.problem_parts.append((rows, role, column, raws[codes[rows]], reasons[codes[rows]]))

    def problems(self) -> pd.DataFrame:
        if not self.problem_parts:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in PROBLEM_COLUMNS})
        rows = np.concatenate([p[0] for p in self.problem_parts])
        order = np.argsort(rows, kind="stable")
        frame = pd.DataFrame({
            "record_id": self.record_column.take(rows).to_numpy(),
            "role": np.concatenate([np.full(len(p[0]), p[1], dtype=object)
                                    for p in self.problem_parts]),
            "column": np.concatenate([np.full(len(p[0]), p[2], dtype=object)
                                      for p in self.problem_parts]),
            "value": np.concatenate([p[3] for p in self.problem_parts]),
            "reason": np.concatenate([p[4] for p in self.problem_parts]),
        })  # fmt: skip
        return frame.iloc[order].reset_index(drop=True)


def _combined_name_column(df: pd.DataFrame, first_col: str, last_col: str) -> pd.Series:
    """'last first' for Chinese names ('张' + '伟'), 'first last' for romanized ones."""
    first = pa.array(
        df[first_col].map(_scalar_to_text, na_action="ignore").astype(object),
        type=pa.string(),
        from_pandas=True,
    )
    last = pa.array(
        df[last_col].map(_scalar_to_text, na_action="ignore").astype(object),
        type=pa.string(),
        from_pandas=True,
    )
    first = pc.utf8_trim_whitespace(first)
    last = pc.utf8_trim_whitespace(last)
    han = pc.or_(
        pc.fill_null(pc.match_substring_regex(first, f"[{_HAN}]"), False),
        pc.fill_null(pc.match_substring_regex(last, f"[{_HAN}]"), False),
    )
    # Nulls become "" before joining: pyarrow 26's null_handling="skip" drops rows
    # (returns a shorter array) when both sides of a row are null.
    first, last = pc.fill_null(first, ""), pc.fill_null(last, "")
    chinese = pc.binary_join_element_wise(last, first, "")
    latin = pc.binary_join_element_wise(first, last, " ")
    combined = pc.utf8_trim_whitespace(pc.if_else(han, chinese, latin))
    combined = pc.if_else(pc.equal(combined, ""), _null_strings(len(combined)), combined)
    return pd.Series(pd.array(combined, dtype=_STR_DTYPE), index=df.index)


def _row_ids(values_u: pa.Array, codes: np.ndarray) -> tuple[np.ndarray, int]:
    """(id per row of the distinct string behind each row, -1 for null; number of ids)."""
    encoded = pc.dictionary_encode(values_u)
    ids_u = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    ids = np.append(ids_u, -1)[codes]  # code -1 (null cell) -> the appended -1
    return ids, len(encoded.dictionary)


def _shared_flags(
    phones: list[tuple[pa.Array, np.ndarray]], names: tuple[pa.Array, np.ndarray], min_names: int
) -> list[np.ndarray]:
    """Per phone column: does its number appear with >= min_names distinct name keys?

    ``phones`` holds, per phone column, (E.164 per distinct value, row codes); ``names``
    the same for the person-name key.  Numbers are pooled across the phone columns (a
    switchboard may sit in 'mobile' for some records and 'phone' for others).
    """
    all_e164 = pa.concat_arrays([values for values, _codes in phones])
    offsets = np.cumsum([0] + [len(values) for values, _codes in phones])
    all_codes = np.concatenate(
        [np.where(codes >= 0, codes + offsets[i], -1) for i, (_v, codes) in enumerate(phones)]
    )
    phone_ids, n_phones = _row_ids(all_e164, np.where(all_codes >= 0, all_codes, len(all_e164)))
    name_ids, n_names = _row_ids(names[0], names[1])
    name_ids = np.tile(name_ids, len(phones))
    both = (phone_ids >= 0) & (name_ids >= 0)
    combo = phone_ids[both] * (n_names + 1) + name_ids[both]
    distinct_pairs = pd.unique(combo)
    counts = np.bincount(distinct_pairs // (n_names + 1), minlength=n_phones)
    shared = np.append(counts >= min_names, False)
    flags = shared[phone_ids]  # -1 -> the appended False
    n_rows = len(names[1])
    return [flags[i * n_rows : (i + 1) * n_rows] for i in range(len(phones))]


def standardize(
    df: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    default_region: str = "CN",
    shared_phone_min_names: int = 3,
) -> Standardized:
    """Add standardized columns for every role in ``roles`` and list the bad values.

    ``roles`` maps role name -> column of ``df`` (``record_id`` is required).  The input frame
    is never modified; ``frame`` holds all its columns unchanged and in order followed by the
    derived columns.  ``problems`` has one row per record and bad value (missing values are not
    problems).  Parsing runs once per distinct value, so 1M rows take seconds, not minutes.
    """
    _validate_arguments(df, roles, shared_phone_min_names)
    _check_region(default_region)
    builder = _Builder(df, roles["record_id"])

    def prepare(column: pd.Series) -> tuple[np.ndarray, pa.Array]:
        return _factorize_text(column)

    phone_pairs: list[tuple[str, np.ndarray]] = []
    phone_e164_u: dict[str, pa.Array] = {}
    for role in ("mobile", "phone"):
        if role not in roles:
            continue
        col = roles[role]
        codes, raw = prepare(df[col])
        result = _phone_batch(raw, default_region)
        for field in ("e164", "kind", "extension", "valid", "problem"):
            builder.add_arrow(f"{role}_{field}", result[field], codes)
        builder.columns[f"{role}_shared"] = None  # placeholder keeps the column order
        builder.add_problems(role, col, result["problem"], codes, raw)
        phone_pairs.append((role, codes))
        phone_e164_u[role] = result["e164"]

    if "email" in roles:
        col = roles["email"]
        codes, raw = prepare(df[col])
        result = _email_batch(raw)
        for field in ("clean", "local", "domain", "is_free"):
            builder.add_arrow(f"email_{field}", result[field], codes)
        builder.add_arrow("company_domain", result["company_domain"], codes)
        builder.add_arrow("email_valid", result["valid"], codes)
        builder.add_arrow("email_problem", result["problem"], codes)
        builder.add_problems("email", col, result["problem"], codes, raw)

    if "company" in roles:
        col = roles["company"]
        codes, raw = prepare(df[col])
        result = _company_batch(raw)
        for field in ("clean", "core", "legal_form", "region", "valid", "problem"):
            builder.add_arrow(f"company_{field}", result[field], codes)
        builder.add_problems("company", col, result["problem"], codes, raw)

    if "credit_code" in roles:
        col = roles["credit_code"]
        codes, raw = prepare(df[col])
        result = _credit_code_batch(raw)
        for field in ("clean", "valid", "problem"):
            builder.add_arrow(f"credit_code_{field}", result[field], codes)
        builder.add_problems("credit_code", col, result["problem"], codes, raw)

    name_source: tuple[pd.Series, str] | None = None
    if "person_name" in roles:
        name_source = (df[roles["person_name"]], roles["person_name"])
    elif "first_name" in roles and "last_name" in roles:
        label = f"{roles['last_name']}+{roles['first_name']}"
        name_source = (_combined_name_column(df, roles["first_name"], roles["last_name"]), label)
    elif "first_name" in roles or "last_name" in roles:
        only = roles.get("first_name") or roles["last_name"]
        name_source = (df[only], only)
    name_keys_u: pa.Array | None = None
    if name_source is not None:
        codes, raw = prepare(name_source[0])
        result = _person_name_batch(raw)
        builder.add_arrow("person_name_clean", result["clean"], codes)
        builder.add_arrow("person_name_key", result["key"], codes)
        builder.add_numpy("person_name_keys", result["keys"], codes, None)
        builder.add_arrow("person_surname", result["surname"], codes)
        builder.add_arrow("person_name_is_honorific", result["is_honorific"], codes)
        builder.add_arrow("person_name_phonetic", result["phonetic"], codes)
        builder.add_arrow("person_name_valid", result["valid"], codes)
        builder.add_arrow("person_name_problem", result["problem"], codes)
        builder.add_problems("person_name", name_source[1], result["problem"], codes, raw)
        name_keys_u = result["key"]
        name_codes = codes

    if phone_pairs:
        if name_keys_u is None:
            for role, _codes in phone_pairs:
                builder.columns[f"{role}_shared"] = pd.Series(
                    np.zeros(len(df), dtype=bool), index=df.index, name=f"{role}_shared"
                )
        else:
            phones = [(phone_e164_u[role], codes) for role, codes in phone_pairs]
            flags = _shared_flags(phones, (name_keys_u, name_codes), shared_phone_min_names)
            for (role, _codes), role_flags in zip(phone_pairs, flags, strict=True):
                builder.columns[f"{role}_shared"] = pd.Series(
                    role_flags, index=df.index, name=f"{role}_shared"
                )

    if "wechat_unionid" in roles:
        col = roles["wechat_unionid"]
        codes, raw = prepare(df[col])
        clean, problem = _wechat_batch(raw)
        builder.add_arrow("wechat_unionid_clean", clean, codes)
        builder.add_problems("wechat_unionid", col, problem, codes, raw)

    if "dob" in roles:
        col = roles["dob"]
        codes, raw = prepare(df[col])
        stamps, problem = _timestamp_batch(raw, earliest_year=1000)
        today = np.datetime64(dt.date.today(), "us")
        implausible = ~np.isnat(stamps) & (stamps > today)
        problem = _set_where(problem, implausible, "implausible date of birth")
        stamps[implausible] = np.datetime64("NaT")
        dates = pd.DatetimeIndex(stamps).date.astype(object)
        dates[pd.isna(stamps)] = pd.NaT
        builder.add_numpy("dob_date", dates, codes, pd.NaT)
        builder.add_problems("dob", col, problem, codes, raw)

    for role in ("province", "city"):
        if role in roles:
            col = roles[role]
            codes, raw = prepare(df[col])
            clean, problem = _place_batch(raw, role)
            builder.add_arrow(f"{role}_clean", clean, codes)
            builder.add_problems(role, col, problem, codes, raw)

    if "address" in roles:
        codes, raw = prepare(df[roles["address"]])
        builder.add_arrow("address_clean", _address_batch(raw), codes)

    if "postcode" in roles:
        column = df[roles["postcode"]]
        codes, raw = prepare(column)
        numeric = pd.api.types.is_numeric_dtype(column.dtype)
        builder.add_arrow("postcode_clean", _postcode_batch(raw, numeric), codes)

    for role in ("created_at", "updated_at"):
        if role not in roles:
            continue
        col = roles[role]
        column = df[col]
        name = f"{role}_ts"
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            # Already typed: keep the wall-clock time, drop any time zone.
            values = column.dt.tz_localize(None) if column.dt.tz is not None else column
            builder.columns[name] = pd.Series(
                values.to_numpy(dtype="datetime64[us]"), index=df.index, name=name
            )
            continue
        codes, raw = prepare(column)
        stamps, problem = _timestamp_batch(raw)
        builder.add_numpy(name, stamps, codes, np.datetime64("NaT"))
        builder.add_problems(role, col, problem, codes, raw)

    clashes = sorted(set(builder.columns) & {str(c) for c in df.columns})
    if clashes:
        raise SchemaError(
            f"the input already has columns named like derived columns: {clashes}; rename or "
            "drop them before standardizing (derived columns are never overwritten silently)"
        )
    derived = pd.DataFrame(builder.columns, index=df.index)
    frame = pd.concat([df, derived], axis=1) if len(derived.columns) else df.copy()
    return Standardized(frame=frame, problems=builder.problems())
