"""Seeded synthetic Chinese B2B sales leads with ground truth, as messy as a real CRM export.

The generative story
--------------------
1. **Accounts** (customer companies). Each account gets a company core name such as ``华信科技``
   (an invented brand of two or three characters plus an industry word), a registration city,
   a legal suffix (``有限公司`` / ``有限责任公司`` / ``股份有限公司`` / ``集团有限公司``), a valid
   unified social credit code (GB 32100-2015 check digit), an email domain derived from the pinyin
   of the brand (``huaxin-tech.com``), a switchboard landline with a real area code, a street
   address in that city and an owning sales rep. A few popular cores (``华信科技``) are reused by
   *different* accounts in different cities, so a company name alone does not identify an account.
2. **People** (contacts at an account). Accounts have 1-8 people (skewed: most have 1-2). Each
   person gets a Chinese name drawn from realistic surname frequencies (very common full names
   like 张伟 or 王芳 are reused across companies on purpose), a gender, a mobile, an optional direct
   line and extension, a work and/or free-mail address and a WeChat UnionID.
3. **Records** (lead rows). Each person arrives 1-6 times (skewed: about 40 % of rows belong to
   someone with more than one row). Every row re-renders the person's and the account's
   values with the variation real CRMs hold: phone formats (``+86 138-0013-8000``, full-width
   digits, Excel floats), digit typos, placeholder values (``13800000000``, ``test@test.com``),
   company-name variants (region prefix vs bracket, suffix changes, traditional characters, an
   English name, typos), name variants (pinyin orderings, traditional characters, ``张先生``,
   homophone typos), mixed timestamp formats, and missing values everywhere.

Colleagues share the company name, switchboard, email domain, province, city and address, so a
model that leans on those fields chains a whole company into one cluster. The same person's rows
agree on mobile, name, email and WeChat most of the time, so a good model can separate them.

Truth columns
-------------
``true_person_id``
    Integer id of the real person behind the row. Rows with the same value are duplicates; this is
    the level the linkage models are scored on.
``true_account_id``
    Integer id of the company the person works for. Every person belongs to exactly one account;
    rows of different people at one account are colleagues, *not* duplicates.

Everything is driven by one ``numpy.random.Generator`` seeded with ``seed``, so the same
``(n_records, seed)`` always returns the identical frame. The heavy lifting is vectorised with
numpy; per-row Python string work only happens on the rows that a given variant applies to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from linkage.errors import ConfigError

__all__ = ["COLUMNS", "SAMPLE_PATH", "generate_leads", "load_sample"]

SAMPLE_PATH: Path = Path(__file__).with_name("sample_leads.csv")

COLUMNS: tuple[str, ...] = (
    "lead_id",
    "company",
    "credit_code",
    "name",
    "mobile",
    "phone",
    "email",
    "wechat_unionid",
    "province",
    "city",
    "address",
    "source",
    "created_at",
    "updated_at",
    "owner",
    "true_person_id",
    "true_account_id",
)
TRUTH_COLUMNS: tuple[str, ...] = ("true_person_id", "true_account_id")

# --------------------------------------------------------------------------------------------
# Reference pools
# --------------------------------------------------------------------------------------------


class _City(NamedTuple):
    province: str  # 广东省 / 北京市
    province_short: str  # 广东 / 北京
    city: str  # 深圳市
    city_short: str  # 深圳
    pinyin: str  # Shenzhen (English company names, de-duplicating domains)
    area_code: str  # 0755, with the trunk prefix 0
    division: str  # first 4 digits of the administrative division code (credit code chars 3-8)
    weight: float  # share of accounts registered here
    districts: tuple[str, ...]
    streets: tuple[str, ...]


_CITY_TABLE = """
北京市 北京市 Beijing 010 1101 14
    海淀区 朝阳区 东城区 西城区 丰台区 昌平区
    中关村大街 知春路 建国路 望京街 酒仙桥路 上地十街 学院路
上海市 上海市 Shanghai 021 3101 14
    浦东新区 徐汇区 闵行区 静安区 长宁区 杨浦区
    张江路 陆家嘴环路 宜山路 南京西路 淮海中路 碧波路 祖冲之路
广东省 深圳市 Shenzhen 0755 4403 10
    南山区 福田区 宝安区 龙岗区 龙华区
    科技南十二路 深南大道 高新南七道 福华三路 南海大道
广东省 广州市 Guangzhou 020 4401 8
    天河区 海珠区 越秀区 番禺区 黄埔区
    天河路 珠江东路 科学大道 体育西路 中山大道
浙江省 杭州市 Hangzhou 0571 3301 7
    西湖区 滨江区 余杭区 拱墅区 上城区
    文三路 江南大道 网商路 文一西路 古墩路
四川省 成都市 Chengdu 028 5101 5
    武侯区 高新区 锦江区 青羊区 成华区
    天府大道 天府三街 人民南路 蜀锦路 益州大道
湖北省 武汉市 Wuhan 027 4201 4
    洪山区 江汉区 武昌区 东湖高新区 江岸区
    光谷大道 珞喻路 解放大道 中北路 关山大道
江苏省 南京市 Nanjing 025 3201 4
    鼓楼区 玄武区 建邺区 江宁区 秦淮区
    中山路 江东中路 珠江路 龙眠大道 汉中路
天津市 天津市 Tianjin 022 1201 3
    和平区 南开区 河西区 滨海新区 西青区
    南京路 卫津路 友谊路 黄海路 第三大街
重庆市 重庆市 Chongqing 023 5001 3
    渝中区 江北区 渝北区 南岸区 九龙坡区
    民族路 建新北路 金开大道 南坪西路 科园一路
江苏省 苏州市 Suzhou 0512 3205 4
    工业园区 姑苏区 吴中区 相城区 虎丘区
    星湖街 金鸡湖大道 干将路 苏州大道东 狮山路
陕西省 西安市 Xian 029 6101 3
    雁塔区 碑林区 未央区 长安区
    科技路 高新路 锦业路 长安南路 凤城八路
湖南省 长沙市 Changsha 0731 4301 2
    岳麓区 芙蓉区 天心区 开福区 雨花区
    麓谷大道 五一大道 芙蓉中路 韶山路 岳麓大道
河南省 郑州市 Zhengzhou 0371 4101 2
    金水区 郑东新区 二七区 中原区 高新区
    花园路 金水路 商务外环路 农业路 科学大道
山东省 青岛市 Qingdao 0532 3702 2
    市南区 崂山区 市北区 黄岛区 李沧区
    香港中路 海尔路 株洲路 辽阳西路 东海西路
山东省 济南市 Jinan 0531 3701 2
    历下区 高新区 市中区 槐荫区
    经十路 舜华路 泉城路 工业南路
福建省 厦门市 Xiamen 0592 3502 2
    思明区 湖里区 集美区 海沧区
    观日路 湖滨南路 嘉禾路 环岛东路
福建省 福州市 Fuzhou 0591 3501 1.5
    鼓楼区 台江区 仓山区 晋安区
    五四路 工业路 杨桥中路 江滨西大道
安徽省 合肥市 Hefei 0551 3401 2
    蜀山区 包河区 庐阳区 高新区
    长江西路 望江西路 创新大道 黄山路
浙江省 宁波市 Ningbo 0574 3302 2
    鄞州区 海曙区 江北区 北仑区
    天童南路 中山西路 扬帆路 明州路
广东省 东莞市 Dongguan 0769 4419 2
    南城区 东城区 松山湖 长安镇
    鸿福路 东城中路 工业南路 莲湖路
广东省 佛山市 Foshan 0757 4406 1.5
    禅城区 南海区 顺德区
    季华五路 桂澜北路 佛山大道
辽宁省 沈阳市 Shenyang 024 2101 1.5
    和平区 沈河区 浑南区 铁西区
    青年大街 南京北街 创新路 北一路
辽宁省 大连市 Dalian 0411 2102 1
    中山区 沙河口区 甘井子区 高新园区
    人民路 中山路 黄浦路 软件园路
云南省 昆明市 Kunming 0871 5301 1
    五华区 盘龙区 西山区 官渡区
    东风西路 北京路 滇池路 春城路
江苏省 无锡市 Wuxi 0510 3202 1.5
    新吴区 梁溪区 滨湖区 锡山区
    长江路 中山路 太湖大道 清源路
"""


def _parse_city(head: str, districts: str, streets: str) -> _City:
    """One table entry: ``province city pinyin area division weight``, districts, streets.

    Municipalities repeat their name as province and city (北京市 北京市).
    """
    province, city, pinyin, area, division, weight = head.split()
    return _City(
        province=province,
        province_short=province.removesuffix("省").removesuffix("市"),
        city=city,
        city_short=city.removesuffix("市"),
        pinyin=pinyin,
        area_code=area,
        division=division,
        weight=float(weight),
        districts=tuple(districts.split()),
        streets=tuple(streets.split()),
    )


# 26 large cities with real area codes (all 8-digit local numbers) and division-code prefixes.
_CITY_LINES = _CITY_TABLE.strip().splitlines()
_CITIES: tuple[_City, ...] = tuple(
    _parse_city(*_CITY_LINES[i : i + 3]) for i in range(0, len(_CITY_LINES), 3)
)


# Brand characters: core = A + B (+ C) + industry, e.g. 华 + 信 + 科技. 40 x 40 x 20 brands and 30
# industries give about a million cores, so large benchmark frames still have distinct names.
_BRAND_A = "华中蓝鼎宏金天恒瑞东新海博创泰康盛嘉卓联汇正安永德远同易凯方明信万佳朗思智启润英龙"
_BRAND_B = "信科海盛图桥宇达泰通源腾讯云诚辉光锐鑫隆美捷航仁丰益星峰晟元邦弘睿拓驰力成迅维"
_BRAND_C = "通达兴旺发利顺和昌源泰安华强富祥瑞嘉威宏"


class _Industry(NamedTuple):
    cn: str  # 科技
    en: str  # Technology (English company name)
    slug: str  # tech (email domain)


_INDUSTRIES: tuple[_Industry, ...] = tuple(
    _Industry(*row.split("|"))
    for row in (
        "科技|Technology|tech",
        "软件|Software|soft",
        "数据|Data|data",
        "智能|Intelligent|ai",
        "物流|Logistics|logistics",
        "医疗|Medical|med",
        "电子|Electronics|elec",
        "信息技术|Information Technology|it",
        "网络|Network|net",
        "实业|Industrial|ind",
        "贸易|Trading|trade",
        "机械|Machinery|mach",
        "新材料|New Materials|material",
        "环保|Environmental|eco",
        "生物科技|Biotech|bio",
        "能源|Energy|energy",
        "文化传媒|Media|media",
        "教育科技|Education Technology|edu",
        "供应链管理|Supply Chain Management|scm",
        "自动化|Automation|auto",
        "云计算|Cloud Computing|cloud",
        "电气|Electric|electric",
        "食品|Foods|food",
        "建设工程|Construction Engineering|build",
        "咨询|Consulting|consult",
        "汽车零部件|Auto Parts|autoparts",
        "光电|Optoelectronics|opto",
        "化工|Chemical|chem",
        "半导体|Semiconductor|semi",
        "医药|Pharmaceutical|pharma",
    )
)

# (brand, industry index) pairs that many unrelated companies in different cities are named after.
_POPULAR_CORES: tuple[tuple[str, int], ...] = tuple(
    (brand, ind)
    for brand, ind in (
        ("华信", 0),
        ("中科", 1),
        ("蓝海", 2),
        ("鼎盛", 3),
        ("宏图", 4),
        ("金桥", 5),
        ("天宇", 6),
        ("恒通", 7),
        ("东方", 8),
        ("新华", 9),
        ("博达", 10),
        ("创新", 11),
        ("泰和", 12),
        ("康达", 14),
        ("盛世", 15),
        ("联创", 0),
        ("汇通", 4),
        ("正泰", 21),
        ("安达", 19),
        ("永信", 7),
        ("华通", 8),
        ("中联", 1),
        ("金鑫", 10),
        ("海天", 22),
        ("瑞达", 0),
        ("天诚", 24),
        ("明星", 16),
        ("万通", 18),
        ("佳信", 2),
        ("思源", 3),
    )
)

_LEGAL_SUFFIXES: tuple[str, ...] = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
_LEGAL_SUFFIX_P = (0.62, 0.16, 0.15, 0.07)

# Surname frequencies (per cent of population, rounded) incl. compound 欧阳 and heteronyms 曾, 单.
_SURNAMES: tuple[tuple[str, float], ...] = tuple(
    (s, float(w))
    for s, w in (
        row.split(":")
        for row in (
            "王:7.1 李:7.0 张:6.9 刘:5.4 陈:4.6 杨:3.1 黄:2.5 赵:2.3 吴:2.0 周:2.0 徐:1.7 孙:1.5 "
            "马:1.5 朱:1.3 胡:1.3 郭:1.2 何:1.2 高:1.1 林:1.1 罗:1.0 郑:1.0 梁:0.9 谢:0.8 宋:0.8 "
            "唐:0.8 许:0.7 韩:0.7 冯:0.7 邓:0.7 曹:0.6 彭:0.6 曾:0.6 肖:0.6 田:0.5 董:0.5 袁:0.5 "
            "潘:0.5 于:0.5 蒋:0.5 蔡:0.5 余:0.5 杜:0.4 叶:0.4 程:0.4 苏:0.4 魏:0.4 吕:0.4 丁:0.4 "
            "任:0.4 沈:0.4 姚:0.3 卢:0.3 姜:0.3 崔:0.3 钟:0.3 谭:0.3 陆:0.3 汪:0.3 范:0.3 金:0.3 "
            "石:0.3 廖:0.3 贾:0.3 夏:0.3 韦:0.3 欧阳:0.08 单:0.08"
        ).split()
    )
)
# Surnames whose reading differs from pypinyin's default single-character reading.
_SURNAME_PINYIN_OVERRIDES = {"曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu"}

_GIVEN_MALE = "伟强磊军洋勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊峰建国志文博亮成龙海晨"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲婷雪慧红梅琳颖倩洁燕萍佳欣怡璐晶琪蕾薇悦丹"

# Very common full names, shared by many unrelated people at different companies on purpose.
_COMMON_NAMES: tuple[tuple[str, str, bool], ...] = (
    ("张", "伟", True),
    ("王", "伟", True),
    ("王", "芳", False),
    ("李", "娜", False),
    ("刘", "洋", True),
    ("李", "静", False),
    ("张", "敏", False),
    ("王", "静", False),
    ("李", "强", True),
    ("张", "丽", False),
    ("王", "磊", True),
    ("刘", "伟", True),
)

# Extra characters used only to find same-pinyin replacements (IME homophone typos).
_HOMOPHONE_EXTRAS = (
    "玮炜维薇方纺纳敬婧靖镜闵珉莉力立利墙蔷垒阳扬章彰黎柳沉舟州洲伍武午照兆霖贺鹤旭影亭捷洁君钧"
    "桦铭鸣萍徽艳雁侠韬彬潮峻骏朋菲非雨语羽昊豪凝宏鸿玫媚铃欣新馨锋丰建剑靓京精茜晓孝笑"
    "话画化心芯星兴科可克嗨害胜圣升达大答图涂途桥侨乔"
)

_SALES_REPS: tuple[str, ...] = tuple(
    "陈晓东 李明轩 王思远 张雨桐 刘子豪 赵一鸣 孙嘉怡 周文杰 吴佳琪 郑浩然 黄诗涵 林志强 何雅婷 "
    "高俊杰 罗晓燕 马天宇 朱梦瑶 胡建华 郭欣然 谢宇航 宋佳慧 唐子轩 许可馨 韩冬 冯磊".split()
)

_SOURCES: tuple[str, ...] = (
    "web_form",
    "trade_show",
    "webinar",
    "wechat",
    "ad_baidu",
    "livestream",
    "import",
    "referral",
    "cold_call",
    "partner",
    "400_hotline",
)
_SOURCE_P = (0.22, 0.12, 0.09, 0.12, 0.10, 0.06, 0.10, 0.06, 0.05, 0.04, 0.04)

_MOBILE_PREFIXES = np.array(
    [
        *range(130, 140),
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        173,
        175,
        176,
        177,
        178,
        *range(180, 190),
        191,
        193,
        195,
        196,
        197,
        198,
        199,
    ],
    dtype=np.int64,
)
_PLACEHOLDER_MOBILES = ("13800000000", "12345678901", "11111111111")
_PLACEHOLDER_EMAILS = ("test@test.com", "none@none.com", "无", "123@qq.com", "na@na.com")

# GB 32100-2015: 31-character alphabet (no I O Z S V) and position weights for the check character.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
# GB 11714 organisation code check weights (credit code characters 9-17).
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])

_UNIONID_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", dtype=np.uint8
)

_FULLWIDTH = str.maketrans("0123456789-+() ", "０１２３４５６７８９－＋（）\u3000")
_NO_LEADING_ZERO = {f"{i:02d}": str(i) for i in range(100)}

_EPOCH_2022 = int(np.datetime64("2022-01-01T00:00:00", "s").astype(np.int64))
_EPOCH_2026 = int(np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64))

# Records per person (1..6) and people per account (1..8): skewed so most are small. With these
# weights about 40 % of rows belong to someone with more than one row.
_RECORDS_PER_PERSON_P = (0.80, 0.12, 0.045, 0.02, 0.01, 0.005)
_PEOPLE_PER_ACCOUNT_P = (0.30, 0.25, 0.14, 0.10, 0.08, 0.06, 0.04, 0.03)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


@functools.cache
def _s2t_table() -> dict[int, str]:
    """Simplified -> traditional mapping for every character the generator can emit.

    Converting character by character with OpenCC and applying ``str.translate`` is orders of
    magnitude faster than calling OpenCC on a million strings, and our strings are built from
    these pools anyway.
    """
    import opencc

    converter = opencc.OpenCC("s2t")
    pool = set(_BRAND_A + _BRAND_B + _BRAND_C + _GIVEN_MALE + _GIVEN_FEMALE + _HOMOPHONE_EXTRAS)
    pool |= set("".join(s for s, _ in _SURNAMES) + "".join(b for b, _ in _POPULAR_CORES))
    pool |= set("".join(i.cn for i in _INDUSTRIES) + "".join(_LEGAL_SUFFIXES) + "先生女士")
    for c in _CITIES:
        pool |= set(c.province + c.city + "".join(c.districts) + "".join(c.streets))
    table: dict[int, str] = {}
    for ch in sorted(pool):
        converted = converter.convert(ch)
        if converted != ch and len(converted) == 1:
            table[ord(ch)] = converted
    return table


@functools.cache
def _pinyin_table() -> dict[str, str]:
    """Toneless pinyin (pypinyin Style.NORMAL) of every pool character, surnames corrected."""
    from pypinyin import Style, lazy_pinyin

    chars = set(_BRAND_A + _BRAND_B + _BRAND_C + _GIVEN_MALE + _GIVEN_FEMALE + _HOMOPHONE_EXTRAS)
    chars |= set("".join(s for s, _ in _SURNAMES) + "".join(b for b, _ in _POPULAR_CORES))
    chars |= set("".join(i.cn for i in _INDUSTRIES))
    # One character per call: pypinyin's phrase matching must not glue unrelated neighbours.
    return {ch: lazy_pinyin(ch, style=Style.NORMAL)[0] for ch in sorted(chars)}


def _surname_pinyin(surname: str) -> str:
    """Pinyin of a surname using the surname reading (曾 -> zeng, not ceng)."""
    if surname in _SURNAME_PINYIN_OVERRIDES:
        return _SURNAME_PINYIN_OVERRIDES[surname]
    table = _pinyin_table()
    return "".join(table[ch] for ch in surname)


@functools.cache
def _homophones() -> dict[str, tuple[str, ...]]:
    """Characters a pinyin IME could swap in for each pool character (same toneless pinyin)."""
    by_sound: dict[str, list[str]] = {}
    for ch, sound in _pinyin_table().items():
        by_sound.setdefault(sound, []).append(ch)
    return {
        ch: tuple(sorted(set(by_sound[sound]) - {ch}))
        for ch, sound in _pinyin_table().items()
        if len(by_sound[sound]) > 1
    }


def _choice(rng: np.random.Generator, probs: Sequence[float], size: int) -> np.ndarray:
    """Draw ``size`` category codes 0..len(probs)-1 with the given (re-normalised) weights."""
    p = np.asarray(probs, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def _objects(values: Sequence[object]) -> np.ndarray:
    """A 1-d object array holding ``values`` as-is (np.array would try to infer a dtype)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _compose(
    codes: np.ndarray, builders: Sequence[Callable[[np.ndarray], Sequence[object]] | None]
) -> np.ndarray:
    """Render one column: rows with ``codes == k`` are filled by ``builders[k](row_indices)``.

    Rows whose code has no builder (``None``) or is negative stay ``None`` (missing). Each row is
    rendered exactly once, by the variant it drew, which keeps per-row Python work minimal.
    """
    out = np.full(codes.shape[0], None, dtype=object)
    for code, build in enumerate(builders):
        if build is None:
            continue
        rows = np.flatnonzero(codes == code)
        if rows.size:
            out[rows] = _objects(build(rows))
    return out


def _draw_group_sizes(rng: np.random.Generator, probs: Sequence[float], total: int) -> np.ndarray:
    """Group sizes drawn from ``probs`` (size k has weight probs[k-1]) that sum exactly to total."""
    mean = sum((k + 1) * p for k, p in enumerate(probs))
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < total:
        missing = total - int(sizes.sum())
        extra = _choice(rng, probs, int(missing / mean * 1.1) + 16) + 1
        sizes = np.concatenate([sizes, extra])
    last = int(np.searchsorted(np.cumsum(sizes), total))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(sizes.sum()) - total  # trim the last group so the total is exact
    return sizes


def _unique_random_ints(
    rng: np.random.Generator, draw: Callable[[int], np.ndarray], size: int, taken: set[int]
) -> np.ndarray:
    """Draw ``size`` distinct integers with ``draw`` (redrawing collisions), avoiding ``taken``."""
    values = draw(size)
    for _ in range(100):
        dup = pd.Series(values).duplicated().to_numpy() | np.isin(values, list(taken))
        if not dup.any():
            return values
        values[dup] = draw(int(dup.sum()))
    raise RuntimeError("could not draw unique numbers")  # pragma: no cover - astronomically rare


# --------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------


class _Accounts(NamedTuple):
    city: np.ndarray  # index into _CITIES
    brand: np.ndarray  # object: 华信 / 华信达
    industry: np.ndarray  # index into _INDUSTRIES
    core: np.ndarray  # object: 华信科技
    suffix: np.ndarray  # index into _LEGAL_SUFFIXES
    bracket_style: np.ndarray  # bool: legal name is 华信科技(北京)有限公司 rather than 北京华信...
    credit_code: np.ndarray  # object, valid USCC
    domain: np.ndarray  # object: huaxin-tech.com
    switchboard: np.ndarray  # int64 local number (8 digits)
    address: np.ndarray  # object: 海淀区中关村大街27号A座
    address_short: np.ndarray  # object: 海淀区中关村大街27号
    owner: np.ndarray  # index into _SALES_REPS


def _draw_cores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (city, brand, industry) per account; popular cores repeat, (core, city) is unique."""
    city_w = np.array([c.weight for c in _CITIES])
    city = _choice(rng, city_w, n)
    a = rng.integers(0, len(_BRAND_A), n)
    b = rng.integers(0, len(_BRAND_B), n)
    c = np.where(rng.random(n) < 0.4, rng.integers(0, len(_BRAND_C), n), -1)
    industry = rng.integers(0, len(_INDUSTRIES), n)
    brand = _objects(
        [
            _BRAND_A[i] + _BRAND_B[j] + (_BRAND_C[k] if k >= 0 else "")
            for i, j, k in zip(a.tolist(), b.tolist(), c.tolist(), strict=True)
        ]
    )
    # About 12 % of accounts carry a popular core; cap so each (core, city) is used once.
    n_popular = min(int(round(0.12 * n)), len(_POPULAR_CORES) * len(_CITIES) // 2)
    if n_popular:
        slots = rng.choice(len(_POPULAR_CORES) * len(_CITIES), size=n_popular, replace=False)
        who = rng.choice(n, size=n_popular, replace=False)
        core_i, city_i = np.divmod(slots, len(_CITIES))
        brand[who] = _objects([_POPULAR_CORES[i][0] for i in core_i.tolist()])
        industry[who] = [_POPULAR_CORES[i][1] for i in core_i.tolist()]
        city[who] = city_i
    # Two unrelated companies cannot register the same name in one city: redraw collisions.
    for _ in range(100):
        key = pd.Series(brand).astype(str) + "|" + pd.Series(industry * 100 + city).astype(str)
        dup = key.duplicated().to_numpy()
        if not dup.any():
            break
        k = int(dup.sum())
        brand[dup] = _objects(
            [
                _BRAND_A[i] + _BRAND_B[j] + _BRAND_C[m]
                for i, j, m in zip(
                    rng.integers(0, len(_BRAND_A), k).tolist(),
                    rng.integers(0, len(_BRAND_B), k).tolist(),
                    rng.integers(0, len(_BRAND_C), k).tolist(),
                    strict=True,
                )
            ]
        )
    return city, brand, industry


def _credit_codes(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    """Valid 18-character unified social credit codes (GB 32100-2015), vectorised.

    Layout: 9 (registered by market regulator) + 1 (enterprise) + 6-digit division code +
    9-character organisation code (8 digits + GB 11714 check) + 1 GB 32100 check character.
    """
    n = city.shape[0]
    digits = np.empty((n, 17), dtype=np.int64)
    digits[:, 0] = 9
    digits[:, 1] = 1
    division = np.array([[int(ch) for ch in c.division] for c in _CITIES], dtype=np.int64)
    digits[:, 2:6] = division[city]
    district = rng.integers(1, 20, n)
    digits[:, 6] = district // 10
    digits[:, 7] = district % 10
    body = rng.integers(0, 10, (n, 8))
    digits[:, 8:16] = body
    org_check = (11 - (body @ _ORG_WEIGHTS) % 11) % 11  # 10 is written X
    digits[:, 16] = np.where(org_check == 10, _USCC_ALPHABET.index("X"), org_check)
    check = (31 - (digits @ _USCC_WEIGHTS) % 31) % 31
    alphabet = np.array(list(_USCC_ALPHABET))
    chars = np.concatenate([alphabet[digits], alphabet[check][:, None]], axis=1)
    return _objects(["".join(row) for row in chars.tolist()])


def _domains(
    rng: np.random.Generator, brand: np.ndarray, industry: np.ndarray, city: np.ndarray
) -> np.ndarray:
    """Company email domains from the brand's pinyin; unique per account (domains are owned)."""
    py = _pinyin_table()
    brand_py = [("".join(py[ch] for ch in b)) for b in brand.tolist()]
    initials = [
        "".join(py[ch][0] for ch in b + _INDUSTRIES[i].cn)
        for b, i in zip(brand.tolist(), industry.tolist(), strict=True)
    ]
    ind_py = ["".join(py[ch] for ch in ind.cn) for ind in _INDUSTRIES]
    form = _choice(rng, (0.30, 0.20, 0.15, 0.10, 0.10, 0.15), brand.shape[0]).tolist()
    out = []
    for b, ini, i, f in zip(brand_py, initials, industry.tolist(), form, strict=True):
        slug = _INDUSTRIES[i].slug
        out.append(
            (
                f"{b}-{slug}.com",
                f"{b}{ind_py[i]}.com.cn",
                f"{b}{slug}.com",
                f"{b}.com.cn",
                f"{ini}.com.cn",
                f"{b}{ind_py[i]}.com",
            )[f]
        )
    domains = pd.Series(out, dtype=object)
    dup = domains.duplicated().to_numpy()
    if dup.any():  # taken: add the city, as real companies do (huaxin-tech-sz.com)
        cities = [_CITIES[c].pinyin.lower().replace("'", "") for c in city[dup].tolist()]
        domains[dup] = [
            d.replace(".", f"{c}.", 1) for d, c in zip(domains[dup].tolist(), cities, strict=True)
        ]
    dup = domains.duplicated().to_numpy()
    if dup.any():  # still taken: fall back to a number, also common (huaxin2008.cn)
        domains[dup] = [
            f"{b}{i}.cn" for b, i in zip(np.array(brand_py)[dup], np.flatnonzero(dup), strict=True)
        ]
    return domains.to_numpy(dtype=object)


def _make_accounts(rng: np.random.Generator, n: int) -> _Accounts:
    """Draw every account-level attribute that colleagues share."""
    city, brand, industry = _draw_cores(rng, n)
    core = _objects(
        [b + _INDUSTRIES[i].cn for b, i in zip(brand.tolist(), industry.tolist(), strict=True)]
    )
    suffix = _choice(rng, _LEGAL_SUFFIX_P, n)
    bracket_style = rng.random(n) < 0.25
    switchboard = rng.integers(2, 9, n) * 10_000_000 + rng.integers(0, 10_000_000, n)
    # Street address: district + street + number (+ building and floor for office towers).
    district_pick = rng.random(n)
    street_pick = rng.random(n)
    number = np.minimum(rng.geometric(0.02, n), 999)
    tower = rng.integers(0, 6, n)  # 0-2: none, 3: A座, 4: B座, 5: 号楼
    floor = rng.integers(2, 30, n)
    address, address_short = [], []
    for c, dp, sp, no, t, fl in zip(
        city.tolist(),
        district_pick.tolist(),
        street_pick.tolist(),
        number.tolist(),
        tower.tolist(),
        floor.tolist(),
        strict=True,
    ):
        info = _CITIES[c]
        base = (
            f"{info.districts[int(dp * len(info.districts))]}"
            f"{info.streets[int(sp * len(info.streets))]}{no}号"
        )
        address_short.append(base)
        extra = ("", "", "", f"A座{fl}层", f"B座{fl}{t:02d}室", f"{t}号楼{fl}层")[t]
        address.append(base + extra)
    return _Accounts(
        city=city,
        brand=brand,
        industry=industry,
        core=core,
        suffix=suffix,
        bracket_style=bracket_style,
        credit_code=_credit_codes(rng, city),
        domain=_domains(rng, brand, industry, city),
        switchboard=switchboard,
        address=_objects(address),
        address_short=_objects(address_short),
        owner=rng.integers(0, len(_SALES_REPS), n),
    )


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


class _People(NamedTuple):
    account: np.ndarray  # int: account index
    surname: np.ndarray  # object: 张 / 欧阳
    given: np.ndarray  # object: 伟 / 秀英
    male: np.ndarray  # bool
    sur_py: np.ndarray  # object: zhang
    given_py: np.ndarray  # object: xiuying
    mobile: np.ndarray  # object: 13800138000
    mobile2: np.ndarray  # object or None: a second number the person sometimes gives
    direct: np.ndarray  # int64 direct-line local number, 0 = none
    extension: np.ndarray  # object or None: 801
    work_email: np.ndarray  # object or None
    free_email: np.ndarray  # object or None
    unionid: np.ndarray  # object: 28-char WeChat UnionID


def _make_people(
    rng: np.random.Generator, account: np.ndarray, account_domain: np.ndarray
) -> _People:
    """Draw every person-level attribute, given each person's account and its email domain."""
    n = account.shape[0]
    surnames = [s for s, _ in _SURNAMES]
    sur_idx = _choice(rng, [w for _, w in _SURNAMES], n)
    surname = np.array(surnames, dtype=object)[sur_idx]
    male = rng.random(n) < 0.5
    two_chars = rng.random(n) < 0.72
    male_chars, female_chars = np.array(list(_GIVEN_MALE)), np.array(list(_GIVEN_FEMALE))
    first = np.where(
        male,
        male_chars[rng.integers(0, male_chars.size, n)],
        female_chars[rng.integers(0, female_chars.size, n)],
    )
    # Second characters mostly follow the gender, sometimes not (建华, 秀英 cross over in life).
    second_male = np.where(rng.random(n) < 0.85, male, ~male)
    second_char = np.where(
        second_male,
        male_chars[rng.integers(0, male_chars.size, n)],
        female_chars[rng.integers(0, female_chars.size, n)],
    )
    second = np.where(two_chars, second_char, "")
    given = _objects([a + b for a, b in zip(first.tolist(), second.tolist(), strict=True)])
    common = np.flatnonzero(rng.random(n) < 0.06)
    if common.size:
        pick = rng.integers(0, len(_COMMON_NAMES), common.size)
        surname[common] = [_COMMON_NAMES[i][0] for i in pick.tolist()]
        given[common] = [_COMMON_NAMES[i][1] for i in pick.tolist()]
        male[common] = [_COMMON_NAMES[i][2] for i in pick.tolist()]

    py = _pinyin_table()
    sur_py_of = {s: _surname_pinyin(s) for s in surnames}
    sur_py = _objects([sur_py_of[s] for s in surname.tolist()])
    given_py = _objects(["".join(py[ch] for ch in g) for g in given.tolist()])

    # Mobiles are unique per person; placeholders are kept out so they only appear as mess.
    def draw_mobile(k: int) -> np.ndarray:
        prefix = _MOBILE_PREFIXES[rng.integers(0, _MOBILE_PREFIXES.size, k)]
        return prefix * 100_000_000 + rng.integers(0, 100_000_000, k)

    placeholders = {int(m) for m in _PLACEHOLDER_MOBILES}
    numbers = _unique_random_ints(rng, draw_mobile, 2 * n, placeholders)
    mobile = numbers[:n].astype(str).astype(object)
    mobile2 = numbers[n:].astype(str).astype(object)
    mobile2[rng.random(n) >= 0.06] = None  # only ~6 % of people have a second phone

    direct = np.where(
        rng.random(n) < 0.25, rng.integers(2, 9, n) * 10_000_000 + rng.integers(0, 10**7, n), 0
    )
    ext_len = rng.integers(3, 5, n)
    ext_num = rng.integers(100, 10_000, n)
    extension = _objects(
        [
            str(e)[:k] if has else None
            for e, k, has in zip(
                ext_num.tolist(), ext_len.tolist(), (rng.random(n) < 0.35).tolist(), strict=True
            )
        ]
    )

    work_email, free_email = _emails(rng, account_domain[account], sur_py, given_py, mobile)

    # WeChat UnionID: "o" + 27 characters of [A-Za-z0-9_-], built as bytes in one go.
    raw = _UNIONID_ALPHABET[rng.integers(0, _UNIONID_ALPHABET.size, (n, 28))]
    raw[:, 0] = ord("o")
    unionid = np.ascontiguousarray(raw).view("S28").ravel().astype(str).astype(object)

    return _People(
        account=account,
        surname=surname,
        given=given,
        male=male,
        sur_py=sur_py,
        given_py=given_py,
        mobile=mobile,
        mobile2=mobile2,
        direct=direct,
        extension=extension,
        work_email=work_email,
        free_email=free_email,
        unionid=unionid,
    )


def _emails(
    rng: np.random.Generator,
    domain: np.ndarray,
    sur_py: np.ndarray,
    given_py: np.ndarray,
    mobile: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per person a work address at the company domain and/or a free-mail address."""
    n = domain.shape[0]
    mode = _choice(rng, (0.50, 0.25, 0.25), n)  # work only / free only / both
    style = _choice(rng, (0.35, 0.20, 0.10, 0.10, 0.10, 0.05, 0.10), n).tolist()
    suffix_no = rng.integers(1, 100, n).tolist()
    work = []
    for s, g, d, st, no, m in zip(
        sur_py.tolist(),
        given_py.tolist(),
        domain.tolist(),
        style,
        suffix_no,
        mode.tolist(),
        strict=True,
    ):
        if m == 1:
            work.append(None)
            continue
        local = (
            f"{s}{g}",
            f"{g}.{s}",
            f"{s}.{g[0]}",
            f"{s}{g}{no:02d}",
            f"{g[0]}{s}",
            f"{s}_{g}",
            f"{g}{s}",
        )[st]
        work.append(f"{local}@{d}")
    provider = _choice(rng, (0.40, 0.20, 0.10, 0.08, 0.07, 0.05, 0.10), n).tolist()
    qq = rng.integers(10_000, 3_000_000_000, n).tolist()
    year = rng.integers(70, 100, n).tolist()
    free = []
    for s, g, mob, m, p, q, y in zip(
        sur_py.tolist(),
        given_py.tolist(),
        mobile.tolist(),
        mode.tolist(),
        provider,
        qq,
        year,
        strict=True,
    ):
        if m == 0:
            free.append(None)
            continue
        free.append(
            (
                f"{q}@qq.com",
                f"{s}{g}{y}@163.com",
                f"{g}{s}@126.com",
                f"{s}{g}@sina.com",
                f"{g}.{s}{y}@gmail.com",
                f"{s}{g}@foxmail.com",
                f"{mob}@139.com",
            )[p]
        )
    return _objects(work), _objects(free)


# --------------------------------------------------------------------------------------------
# Record-level rendering
# --------------------------------------------------------------------------------------------


def _mobile_digit_typos(rng: np.random.Generator, numbers: list[str], kind: np.ndarray) -> list:
    """Change one digit (kind 1) or swap two neighbours (kind 2) after the 3-digit prefix."""
    pos = rng.integers(3, 10, len(numbers)).tolist()
    delta = rng.integers(1, 10, len(numbers)).tolist()
    out = []
    for s, k, p, d in zip(numbers, kind.tolist(), pos, delta, strict=True):
        if k == 1:
            s = f"{s[:p]}{(int(s[p]) + d) % 10}{s[p + 1 :]}"
        elif k == 2:
            s = f"{s[:p]}{s[p + 1]}{s[p]}{s[p + 2 :]}"
        out.append(s)
    return out


def _render_mobile(rng: np.random.Generator, n: int, people: _People, person: np.ndarray):
    """The ``mobile`` column: one number per person written many ways, typos and placeholders."""
    base = people.mobile[person].copy()
    second = people.mobile2[person]
    use_second = pd.notna(second) & (rng.random(n) < 0.4)
    base[use_second] = second[use_second]
    corruption = _choice(rng, (0.955, 0.025, 0.015, 0.005), n)  # ok / typo / swap / placeholder
    hit = np.flatnonzero((corruption == 1) | (corruption == 2))
    if hit.size:
        base[hit] = _objects(_mobile_digit_typos(rng, base[hit].tolist(), corruption[hit]))
    ph = np.flatnonzero(corruption == 3)
    base[ph] = np.array(_PLACEHOLDER_MOBILES, dtype=object)[rng.integers(0, 3, ph.size)]

    fmt = _choice(rng, (0.47, 0.07, 0.04, 0.02, 0.09, 0.06, 0.05, 0.03, 0.01, 0.01, 0.03, 0.12), n)
    fmt[ph] = 0  # placeholders are typed plainly

    def each(render: Callable[[str], str]) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [render(s) for s in base[rows].tolist()]

    return _compose(
        fmt,
        [
            each(lambda s: s),
            each(lambda s: f"+86 {s[:3]}-{s[3:7]}-{s[7:]}"),
            each(lambda s: f"86 {s}"),
            each(lambda s: f"0086-{s[:3]} {s[3:7]} {s[7:]}"),
            each(lambda s: f"{s[:3]} {s[3:7]} {s[7:]}"),
            each(lambda s: f"{s[:3]}-{s[3:7]}-{s[7:]}"),
            each(lambda s: f"+86{s}"),
            each(lambda s: s.translate(_FULLWIDTH)),
            each(lambda s: f"{s[0]}.{s[1:]}e10"),  # Excel scientific, e.g. 1.3800138000e10
            each(lambda s: f"{s[0]}.{s[1:].rstrip('0') or '0'}E+10"),
            each(lambda s: f"{s}.0"),  # Excel float re-exported as text
            None,  # missing
        ],
    )


def _render_phone(
    rng: np.random.Generator,
    n: int,
    accounts: _Accounts,
    people: _People,
    person: np.ndarray,
    account: np.ndarray,
) -> np.ndarray:
    """The ``phone`` column: mostly the shared company switchboard, sometimes a direct line."""
    has_direct = people.direct[person] > 0
    r = rng.random(n)
    # kind: 0 switchboard, 1 direct line, 2 the mobile typed into the landline field, 3 missing
    kind = np.where(
        has_direct,
        np.select([r < 0.45, r < 0.70, r < 0.73], [1, 0, 2], 3),
        np.select([r < 0.62, r < 0.65], [0, 2], 3),
    )
    local = np.where(kind == 1, people.direct[person], accounts.switchboard[account])
    local_s = local.astype(str).astype(object)
    area = np.array([c.area_code for c in _CITIES], dtype=object)[accounts.city[account]]
    ext = people.extension[person].copy()
    ext[(kind != 0) | (rng.random(n) < 0.4)] = None  # extensions only follow the switchboard

    fmt = _choice(rng, (0.35, 0.10, 0.08, 0.15, 0.10, 0.07, 0.04, 0.03, 0.05, 0.03), n)
    fmt[kind >= 2] = -1

    def each(render: Callable[[str, str], str]) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [
            render(a, x) for a, x in zip(area[rows].tolist(), local_s[rows], strict=True)
        ]

    phone = _compose(
        fmt,
        [
            each(lambda a, x: f"{a}-{x}"),
            each(lambda a, x: f"({a}) {x[:4]} {x[4:]}"),
            each(lambda a, x: f"+86 {a[1:]} {x[:4]} {x[4:]}"),
            each(lambda a, x: f"{a}{x}"),
            each(lambda a, x: f"{a} {x}"),
            each(lambda a, x: x),  # local number only, no area code
            each(lambda a, x: f"0086-{a[1:]}-{x}"),
            each(lambda a, x: f"{a}-{x}".translate(_FULLWIDTH)),
            each(lambda a, x: f"{a}-{x[:4]}-{x[4:]}"),
            each(lambda a, x: f"+86-{a[1:]}-{x}"),
        ],
    )
    with_ext = np.flatnonzero(pd.notna(ext))
    if with_ext.size:
        style = _choice(rng, (0.35, 0.25, 0.15, 0.10, 0.10, 0.05), with_ext.size).tolist()
        forms = ("{p}转{e}", "{p}-{e}", "{p} ext. {e}", "{p} x{e}", "{p}分机{e}", "{p}#{e}")
        phone[with_ext] = _objects(
            [
                forms[s].format(p=p, e=e)
                for p, e, s in zip(
                    phone[with_ext].tolist(), ext[with_ext].tolist(), style, strict=True
                )
            ]
        )
    mob = np.flatnonzero(kind == 2)
    phone[mob] = people.mobile[person[mob]]
    return phone


def _legal_name(region: str, core: str, suffix: str, bracket: int) -> str:
    """北京华信科技有限公司 (0), 华信科技(北京)有限公司 (1), 华信科技（北京）有限公司 (2)."""
    if bracket == 1:
        return f"{core}({region}){suffix}"
    if bracket == 2:
        return f"{core}（{region}）{suffix}"
    return f"{region}{core}{suffix}"


def _company_typo(core: str, r1: float, r2: float) -> str:
    """Replace one character of the core with a homophone (IME slip) or a similar brand char."""
    pos = int(r1 * len(core))
    options = _homophones().get(core[pos]) or tuple(_BRAND_B)
    new = options[int(r2 * len(options))]
    if new == core[pos]:
        new = options[(int(r2 * len(options)) + 1) % len(options)]
    return core[:pos] + new + core[pos + 1 :]


def _render_company(
    rng: np.random.Generator, n: int, accounts: _Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``company`` column: the account's legal name and its many real-world variants."""
    region = np.array([c.city_short for c in _CITIES], dtype=object)[accounts.city[account]]
    core = accounts.core[account]
    suffix_i = accounts.suffix[account]
    canon_bracket = np.where(accounts.bracket_style[account], 2, 0)
    other_suffix = (suffix_i + rng.integers(1, len(_LEGAL_SUFFIXES), n)) % len(_LEGAL_SUFFIXES)
    r1, r2 = rng.random(n), rng.random(n)
    english_style = _choice(rng, (0.40, 0.25, 0.10, 0.10, 0.15), n)
    code = _choice(rng, (0.50, 0.08, 0.07, 0.06, 0.09, 0.05, 0.04, 0.04, 0.02, 0.02, 0.03), n)
    sfx = _LEGAL_SUFFIXES
    t2t = _s2t_table()

    def canonical(rows: np.ndarray) -> list[str]:
        return [
            _legal_name(r, c, sfx[s], b)
            for r, c, s, b in zip(
                region[rows].tolist(),
                core[rows].tolist(),
                suffix_i[rows].tolist(),
                canon_bracket[rows].tolist(),
                strict=True,
            )
        ]

    def styled(bracket: int) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [
            _legal_name(r, c, sfx[s], bracket)
            for r, c, s in zip(
                region[rows].tolist(), core[rows].tolist(), suffix_i[rows].tolist(), strict=True
            )
        ]

    def no_region(rows: np.ndarray) -> list[str]:
        return [
            c + sfx[s] for c, s in zip(core[rows].tolist(), suffix_i[rows].tolist(), strict=True)
        ]

    def other_legal_suffix(rows: np.ndarray) -> list[str]:
        return [
            _legal_name(r, c, sfx[s], b)
            for r, c, s, b in zip(
                region[rows].tolist(),
                core[rows].tolist(),
                other_suffix[rows].tolist(),
                canon_bracket[rows].tolist(),
                strict=True,
            )
        ]

    def typo(rows: np.ndarray) -> list[str]:
        return [
            _legal_name(r, _company_typo(c, a, b), sfx[s], br)
            for r, c, s, br, a, b in zip(
                region[rows].tolist(),
                core[rows].tolist(),
                suffix_i[rows].tolist(),
                canon_bracket[rows].tolist(),
                r1[rows].tolist(),
                r2[rows].tolist(),
                strict=True,
            )
        ]

    def english(rows: np.ndarray) -> list[str]:
        py = _pinyin_table()
        out = []
        acct = account[rows]
        for brand, ind, city, s, style in zip(
            accounts.brand[acct].tolist(),
            accounts.industry[acct].tolist(),
            accounts.city[acct].tolist(),
            suffix_i[rows].tolist(),
            english_style[rows].tolist(),
            strict=True,
        ):
            name = "".join(py[ch] for ch in brand).capitalize()
            ind_en = _INDUSTRIES[ind].en
            legal = "Group Co., Ltd." if s == 3 else "Co., Ltd."
            city_en = _CITIES[city].pinyin
            out.append(
                (
                    f"{name} {ind_en} {legal}",
                    f"{city_en} {name} {ind_en} {legal}",
                    f"{name} {ind_en} ({city_en}) {legal}",
                    f"{name} {ind_en} {legal}".upper(),
                    f"{name} {ind_en} {legal.replace(', ', ',').rstrip('.')}",
                )[style]
            )
        return out

    return _compose(
        code,
        [
            canonical,
            styled(0),
            styled(1),
            styled(2),
            no_region,
            lambda rows: core[rows].tolist(),
            other_legal_suffix,
            lambda rows: [s.translate(t2t) for s in canonical(rows)],
            typo,
            english,
            None,
        ],
    )


def _credit_code_column(
    rng: np.random.Generator, n: int, accounts: _Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``credit_code`` column: present on ~35 % of rows, a few with one wrong character."""
    code = np.full(n, -1)
    present = rng.random(n) < 0.35
    code[present] = _choice(rng, (0.93, 0.04, 0.03), int(present.sum()))  # ok / typo / lowercase
    value = accounts.credit_code[account]
    pos = rng.integers(0, 18, n)
    shift = rng.integers(1, len(_USCC_ALPHABET), n)

    def typo(rows: np.ndarray) -> list[str]:
        out = []
        for s, p, k in zip(
            value[rows].tolist(), pos[rows].tolist(), shift[rows].tolist(), strict=True
        ):
            # Any single-character change breaks the mod-31 check, since 31 is prime.
            new = _USCC_ALPHABET[(_USCC_ALPHABET.index(s[p]) + k) % len(_USCC_ALPHABET)]
            out.append(s[:p] + new + s[p + 1 :])
        return out

    return _compose(
        code,
        [
            lambda rows: value[rows].tolist(),
            typo,
            lambda rows: [s.lower() for s in value[rows].tolist()],
        ],
    )


def _render_name(rng: np.random.Generator, n: int, people: _People, person: np.ndarray):
    """The ``name`` column: Chinese, pinyin in several orders, traditional, 先生/女士, typos."""
    sur, given = people.surname[person], people.given[person]
    sur_py, given_py = people.sur_py[person], people.given_py[person]
    male = people.male[person]
    r1, r2 = rng.random(n), rng.random(n)
    code = _choice(rng, (0.66, 0.06, 0.03, 0.04, 0.03, 0.04, 0.05, 0.03, 0.03, 0.03), n)
    t2t = _s2t_table()
    homophones = _homophones()

    def zipped(rows: np.ndarray, render: Callable[[str, str], str]) -> list[str]:
        return [render(s, g) for s, g in zip(sur[rows].tolist(), given[rows].tolist(), strict=True)]

    def zipped_py(rows: np.ndarray, render: Callable[[str, str], str]) -> list[str]:
        return [
            render(s, g)
            for s, g in zip(sur_py[rows].tolist(), given_py[rows].tolist(), strict=True)
        ]

    def homophone_typo(rows: np.ndarray) -> list[str]:
        out = []
        for s, g, a, b in zip(
            sur[rows].tolist(), given[rows].tolist(), r1[rows], r2[rows], strict=True
        ):
            full = s + g
            # Prefer swapping a given-name character; surnames are typed more carefully.
            candidates = [i for i in range(len(s), len(full)) if full[i] in homophones]
            if not candidates:
                candidates = [i for i in range(len(full)) if full[i] in homophones]
            if candidates:
                i = candidates[int(a * len(candidates))]
                options = homophones[full[i]]
                full = full[:i] + options[int(b * len(options))] + full[i + 1 :]
            out.append(full)
        return out

    return _compose(
        code,
        [
            lambda rows: zipped(rows, lambda s, g: s + g),
            lambda rows: zipped_py(rows, lambda s, g: f"{s.capitalize()} {g.capitalize()}"),
            lambda rows: zipped_py(rows, lambda s, g: f"{s.upper()} {g.capitalize()}"),
            lambda rows: zipped_py(rows, lambda s, g: f"{g.capitalize()} {s.capitalize()}"),
            lambda rows: zipped_py(rows, lambda s, g: s + g),
            lambda rows: zipped(rows, lambda s, g: (s + g).translate(t2t)),
            lambda rows: [
                s + ("先生" if m else "女士")
                for s, m in zip(sur[rows].tolist(), male[rows], strict=True)
            ],
            homophone_typo,
            lambda rows: zipped(rows, lambda s, g: f"{s} {g}"),
            None,
        ],
    )


def _render_email(
    rng: np.random.Generator,
    n: int,
    accounts: _Accounts,
    people: _People,
    person: np.ndarray,
    account: np.ndarray,
) -> np.ndarray:
    """The ``email`` column: work or free-mail per row, case and whitespace noise, placeholders."""
    work, free = people.work_email[person], people.free_email[person]
    has_work, has_free = pd.notna(work), pd.notna(free)
    use_free = has_free & (~has_work | (rng.random(n) < 0.4))
    chosen = np.where(use_free, free, work)
    code = _choice(rng, (0.61, 0.02, 0.02, 0.02, 0.015, 0.015, 0.30), n)
    placeholder = np.array(_PLACEHOLDER_EMAILS, dtype=object)[
        rng.integers(0, len(_PLACEHOLDER_EMAILS), n)
    ]
    noreply = rng.random(n) < 0.3  # some placeholders are noreply@<company domain>
    domain = accounts.domain[account]

    return _compose(
        code,
        [
            lambda rows: chosen[rows].tolist(),
            lambda rows: [s.upper() for s in chosen[rows].tolist()],
            lambda rows: [s[0].upper() + s[1:] for s in chosen[rows].tolist()],
            lambda rows: [f" {s} " if i % 2 else f"{s} " for i, s in enumerate(chosen[rows])],
            lambda rows: [
                f"noreply@{d}" if nr else p
                for d, nr, p in zip(
                    domain[rows].tolist(), noreply[rows], placeholder[rows], strict=True
                )
            ],
            lambda rows: [s.replace("@", " @ ") for s in chosen[rows].tolist()],
            None,
        ],
    )


def _render_region_and_address(
    rng: np.random.Generator, n: int, accounts: _Accounts, account: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``province``, ``city`` and ``address``: consistent with the account, written many ways."""
    city_i = accounts.city[account]
    province_full = np.array([c.province for c in _CITIES], dtype=object)[city_i]
    province_short = np.array([c.province_short for c in _CITIES], dtype=object)[city_i]
    city_full = np.array([c.city for c in _CITIES], dtype=object)[city_i]
    city_short = np.array([c.city_short for c in _CITIES], dtype=object)[city_i]
    is_municipality = province_full == city_full

    province = _compose(
        _choice(rng, (0.45, 0.35, 0.20), n),
        [lambda rows: province_full[rows], lambda rows: province_short[rows], None],
    )
    city = _compose(
        _choice(rng, (0.50, 0.35, 0.15), n),
        [lambda rows: city_full[rows], lambda rows: city_short[rows], None],
    )
    addr, addr_short = accounts.address[account], accounts.address_short[account]
    address = _compose(
        _choice(rng, (0.45, 0.15, 0.05, 0.10, 0.03, 0.22), n),
        [
            lambda rows: addr[rows],
            lambda rows: [
                c + a for c, a in zip(city_full[rows].tolist(), addr[rows].tolist(), strict=True)
            ],
            lambda rows: [
                (c if m else p + c) + a
                for p, c, m, a in zip(
                    province_full[rows].tolist(),
                    city_full[rows].tolist(),
                    is_municipality[rows].tolist(),
                    addr[rows].tolist(),
                    strict=True,
                )
            ],
            lambda rows: addr_short[rows],
            lambda rows: [a.translate(_FULLWIDTH) for a in addr[rows].tolist()],
            None,
        ],
    )
    return province, city, address


def _render_timestamps(
    rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``created_at`` / ``updated_at`` strings in mixed export formats, plus created seconds.

    ``updated_at`` is at least a minute after ``created_at`` so that formats which drop the
    seconds can never make it parse earlier than the creation time.
    """
    created = rng.integers(_EPOCH_2022, _EPOCH_2026, n)
    gap = 60 + np.where(
        rng.random(n) < 0.3, rng.integers(0, 600, n), rng.exponential(30 * 86_400, n).astype(int)
    )
    updated = created + gap
    # One export format per row: each row came out of one system's export.
    fmt = _choice(rng, (0.50, 0.20, 0.15, 0.08, 0.04, 0.03), n)
    renderers: tuple[Callable[[str], str], ...] = (
        lambda s: f"{s[:10]} {s[11:]}",
        lambda s: f"{s[:4]}/{_NO_LEADING_ZERO[s[5:7]]}/{_NO_LEADING_ZERO[s[8:10]]} {s[11:16]}",
        lambda s: f"{s}Z",
        lambda s: f"{s[:4]}/{s[5:7]}/{s[8:10]} {s[11:]}",
        lambda s: f"{s[:4]}年{_NO_LEADING_ZERO[s[5:7]]}月{_NO_LEADING_ZERO[s[8:10]]}日 {s[11:16]}",
        lambda s: f"{s[:10]} {s[11:]}.000",
    )

    def render(seconds: np.ndarray) -> np.ndarray:
        iso = np.datetime_as_string(seconds.astype("datetime64[s]"))

        def build(render_one: Callable[[str], str]) -> Callable[[np.ndarray], list[str]]:
            return lambda rows: [render_one(s) for s in iso[rows].tolist()]

        return _compose(fmt, [build(r) for r in renderers])

    return render(created), render(updated), created


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _empty_frame() -> pd.DataFrame:
    """A zero-row frame with the documented columns and dtypes."""
    data: dict[str, object] = {c: pd.Series([], dtype=object) for c in COLUMNS}
    for c in TRUTH_COLUMNS:
        data[c] = pd.Series([], dtype="int64")
    return pd.DataFrame(data, columns=list(COLUMNS))


def generate_leads(n_records: int = 3000, *, seed: int = 0) -> pd.DataFrame:
    """Generate ``n_records`` synthetic Chinese B2B sales leads with ground truth.

    Args:
        n_records: number of rows to return (>= 0).
        seed: seed for ``numpy.random.default_rng``; the same ``(n_records, seed)`` gives an
            identical frame.

    Returns:
        A DataFrame with the columns in :data:`COLUMNS`: string columns (missing values as
        None/NaN) and the integer truth columns ``true_person_id`` and ``true_account_id``.
        Rows are ordered by creation time with ascending ``lead_id``, so row order does not
        reveal who is who.

    Raises:
        ConfigError: ``n_records`` is not a non-negative integer.
    """
    if isinstance(n_records, bool) or not isinstance(n_records, (int, np.integer)):
        raise ConfigError(f"n_records must be an integer, got {n_records!r}")
    if n_records < 0:
        raise ConfigError(f"n_records must be >= 0, got {n_records}")
    n = int(n_records)
    if n == 0:
        return _empty_frame()
    rng = np.random.default_rng(seed)

    # Structure: records -> people -> accounts, all as index arrays.
    records_per_person = _draw_group_sizes(rng, _RECORDS_PER_PERSON_P, n)
    n_people = records_per_person.size
    people_per_account = _draw_group_sizes(rng, _PEOPLE_PER_ACCOUNT_P, n_people)
    n_accounts = people_per_account.size
    account_of_person = np.repeat(np.arange(n_accounts), people_per_account)
    person = np.repeat(np.arange(n_people), records_per_person)
    account = account_of_person[person]

    accounts = _make_accounts(rng, n_accounts)
    people = _make_people(rng, account_of_person, accounts.domain)

    source_i = _choice(rng, _SOURCE_P, n)
    source = np.array(_SOURCES, dtype=object)[source_i]
    # UnionIDs come from WeChat logins, so they sit mostly on wechat / livestream leads.
    via_wechat = np.isin(source, ["wechat", "livestream"])
    has_unionid = rng.random(n) < np.where(via_wechat, 0.85, 0.12)
    unionid = np.where(has_unionid, people.unionid[person], None)

    owner_code = _choice(rng, (0.90, 0.06, 0.04), n)  # account owner / reassigned rep / missing
    reps = np.array(_SALES_REPS, dtype=object)
    owner = np.where(
        owner_code == 0, reps[accounts.owner[account]], reps[rng.integers(0, reps.size, n)]
    )
    owner[owner_code == 2] = None

    province, city, address = _render_region_and_address(rng, n, accounts, account)
    created_at, updated_at, created_s = _render_timestamps(rng, n)
    columns: dict[str, np.ndarray] = {
        "company": _render_company(rng, n, accounts, account),
        "credit_code": _credit_code_column(rng, n, accounts, account),
        "name": _render_name(rng, n, people, person),
        "mobile": _render_mobile(rng, n, people, person),
        "phone": _render_phone(rng, n, accounts, people, person, account),
        "email": _render_email(rng, n, accounts, people, person, account),
        "wechat_unionid": unionid,
        "province": province,
        "city": city,
        "address": address,
        "source": source,
        "created_at": created_at,
        "updated_at": updated_at,
        "owner": owner,
        "true_person_id": person.astype(np.int64),
        "true_account_id": account.astype(np.int64),
    }

    # Shuffle first (so ties are broken randomly), then order by creation time as a CRM would.
    shuffled = rng.permutation(n)
    order = shuffled[np.argsort(created_s[shuffled], kind="stable")]
    width = max(7, len(str(n)))
    data: dict[str, object] = {
        "lead_id": [f"L{i:0{width}d}" for i in range(1, n + 1)],
    }
    for name in COLUMNS[1:]:
        data[name] = columns[name][order]
    return pd.DataFrame(data, columns=list(COLUMNS))


def load_sample() -> pd.DataFrame:
    """Read the shipped 3,000-row sample (``generate_leads(3000, seed=42)``).

    Every data column is read as text so phones keep their leading zeros and Excel-style
    ``.0`` suffixes; empty cells become missing values. Only empty cells count as missing: the
    pandas default NA tokens (``NA``, ``None``, ``null`` ...) could be legitimate CRM text.
    The truth columns are read as integers, as :func:`generate_leads` returns them.
    """
    dtypes: dict[str, str] = {c: "str" for c in COLUMNS}
    dtypes.update({c: "int64" for c in TRUTH_COLUMNS})
    return pd.read_csv(
        SAMPLE_PATH, dtype=dtypes, keep_default_na=False, na_values=[""], encoding="utf-8"
    )


def _write_sample(path: Path = SAMPLE_PATH) -> None:
    """Regenerate the shipped sample after changing the generator::

    python -c "from linkage.datasets.generator import _write_sample; _write_sample()"
    """
    generate_leads(3000, seed=42).to_csv(path, index=False, encoding="utf-8")
