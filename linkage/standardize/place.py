"""Places: the province, city and postcode roles.

Provinces and cities become one canonical Chinese name ('北京市', 'Beijing', '京' -> '北京');
an unknown province is a problem, an unknown city is kept cleaned.  Postcodes get back the
leading zero a spreadsheet dropped.  (Addresses have their own module,
:mod:`linkage.standardize.address`.)
The province and city tables also serve :mod:`linkage.standardize.company`, which cuts
regions off company names.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import ConfigError
from linkage.standardize._text import (
    HAN_CHAR_RE,
    first_item,
    map_distinct,
    nfkc_clean,
    null_strings,
    one_text_array,
    set_where,
    strip_regex,
    to_simplified,
)

__all__ = [
    "CITIES",
    "PROVINCES",
    "place_batch",
    "place_one",
    "postcode_batch",
    "standardize_place",
]


def standardize_place(value: object, level: Literal["province", "city"]) -> str | None:
    """Canonical province or city name ('北京市', 'Beijing', '京' -> '北京'); None if missing."""
    if level not in ("province", "city"):
        raise ConfigError(f"level must be 'province' or 'city', got {level!r}")
    clean, _problem = place_batch(one_text_array(value), level)
    return first_item(clean)


def place_batch(raw: pa.Array, level: str) -> tuple[pa.Array, pa.Array]:
    """(clean, problem) per distinct value for the province or city role."""
    text = to_simplified(nfkc_clean(raw))
    clean = map_distinct(text, lambda v: place_one(v, level))
    problem = null_strings(len(raw))
    if level == "province":
        known = frozenset(c for c, _f, _a in PROVINCES)
        unknown = np.asarray(
            pc.fill_null(pc.invert(pc.is_in(clean, pa.array(sorted(known)))), False)
        )
        unknown &= np.asarray(clean.is_valid())
        problem = set_where(problem, unknown, "unknown province")
    return clean, problem


def postcode_batch(raw: pa.Array, numeric_source: bool) -> pa.Array:
    """Clean postcode per distinct value; ``numeric_source``: the column was numeric."""
    text = strip_regex(nfkc_clean(raw), r"\s")
    if numeric_source:  # a spreadsheet dropped the leading zero of 010000
        text = pc.replace_substring_regex(text, r"^(\d{5})$", r"0\1")
    return text


# (canonical, official full name, other aliases incl. English/pinyin and one-character
# abbreviations).  All 34 provincial-level divisions.
PROVINCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
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
CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
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


_PLACE_SUFFIX_RE = re.compile(
    r"(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$"
    r"|\s+(?:province|city|municipality|shi|sheng|sar)$"
)


@lru_cache(maxsize=1)
def _place_tables() -> tuple[dict[str, str], dict[str, str]]:
    """``(province_alias -> canonical, city_alias -> canonical)``, keys lower-case."""
    province: dict[str, str] = {}
    for canonical, full, aliases in PROVINCES:
        for alias in (canonical, full, *aliases):
            province[alias.lower()] = canonical
    city: dict[str, str] = {}
    for canonical, aliases in CITIES:
        for alias in (canonical, canonical + "市", *aliases):
            city.setdefault(alias.lower(), canonical)
    for canonical, full, _aliases in PROVINCES[:4] + PROVINCES[-3:-1]:
        city.setdefault(full, canonical)  # 北京市, 香港特别行政区 ... are cities too
    return province, city


def place_one(text: str, level: str) -> str | None:
    """Canonical place name of one cleaned (NFKC, simplified) text."""
    province, city = _place_tables()
    table = province if level == "province" else city
    key = text.strip().lower().replace("\u00b7", " ")
    if not key:
        return None
    if key in table:
        return table[key]
    stripped = _PLACE_SUFFIX_RE.sub("", key).strip()
    if len(stripped) < 2 and HAN_CHAR_RE.search(stripped or "x"):
        stripped = key  # "X市" with a one-character name: keep the suffix
    if stripped in table:
        return table[stripped]
    # Unknown place: cleaned, suffix removed (English lower-cased so spellings compare).
    return stripped or None
