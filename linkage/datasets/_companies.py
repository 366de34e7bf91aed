"""Accounts: the customer companies behind the leads and everything colleagues share.

Reference pools (26 cities with area codes, districts and streets; brand characters,
industries and popular company cores; legal suffixes; sales reps) and :func:`make_accounts`,
which draws per account a core name, city, legal suffix, a valid unified social credit code
(GB 32100-2015), an email domain from the brand's pinyin, a switchboard, a street address and
an owning rep.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from linkage.datasets._hanzi import pinyin_table
from linkage.datasets._sampling import choice, objects

__all__ = [
    "BRAND_B",
    "CITIES",
    "CORE_CHARS",
    "INDUSTRIES",
    "LEGAL_SUFFIXES",
    "SALES_REPS",
    "USCC_ALPHABET",
    "Accounts",
    "City",
    "Industry",
    "make_accounts",
    "office_unit",
]


class City(NamedTuple):
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


def _parse_city(head: str, districts: str, streets: str) -> City:
    """One table entry: ``province city pinyin area division weight``, districts, streets.

    Municipalities repeat their name as province and city (北京市 北京市).
    """
    province, city, pinyin, area, division, weight = head.split()
    return City(
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
CITIES: tuple[City, ...] = tuple(
    _parse_city(*_CITY_LINES[i : i + 3]) for i in range(0, len(_CITY_LINES), 3)
)


# Brand characters: core = A + B (+ C) + industry, e.g. 华 + 信 + 科技. 40 x 40 x 20 brands and 30
# industries give about a million cores, so large benchmark frames still have distinct names.
_BRAND_A = "华中蓝鼎宏金天恒瑞东新海博创泰康盛嘉卓联汇正安永德远同易凯方明信万佳朗思智启润英龙"
BRAND_B = "信科海盛图桥宇达泰通源腾讯云诚辉光锐鑫隆美捷航仁丰益星峰晟元邦弘睿拓驰力成迅维"
_BRAND_C = "通达兴旺发利顺和昌源泰安华强富祥瑞嘉威宏"


class Industry(NamedTuple):
    cn: str  # 科技
    en: str  # Technology (English company name)
    slug: str  # tech (email domain)


INDUSTRIES: tuple[Industry, ...] = tuple(
    Industry(*row.split("|"))
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

LEGAL_SUFFIXES: tuple[str, ...] = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
_LEGAL_SUFFIX_P = (0.62, 0.16, 0.15, 0.07)

# Every character a company core can hold: the pinyin and traditional-script pools.
CORE_CHARS: str = (
    _BRAND_A
    + BRAND_B
    + _BRAND_C
    + "".join(b for b, _ in _POPULAR_CORES)
    + "".join(i.cn for i in INDUSTRIES)
)

SALES_REPS: tuple[str, ...] = tuple(
    "陈晓东 李明轩 王思远 张雨桐 刘子豪 赵一鸣 孙嘉怡 周文杰 吴佳琪 郑浩然 黄诗涵 林志强 何雅婷 "
    "高俊杰 罗晓燕 马天宇 朱梦瑶 胡建华 郭欣然 谢宇航 宋佳慧 唐子轩 许可馨 韩冬 冯磊".split()
)

# GB 32100-2015: 31-character alphabet (no I O Z S V) and position weights for the check character.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
# GB 11714 organisation code check weights (credit code characters 9-17).
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])


class Accounts(NamedTuple):
    city: np.ndarray  # index into CITIES
    brand: np.ndarray  # object: 华信 / 华信达
    industry: np.ndarray  # index into INDUSTRIES
    core: np.ndarray  # object: 华信科技
    suffix: np.ndarray  # index into LEGAL_SUFFIXES
    bracket_style: np.ndarray  # bool: legal name is 华信科技(北京)有限公司 rather than 北京华信...
    credit_code: np.ndarray  # object, valid USCC
    domain: np.ndarray  # object: huaxin-tech.com
    switchboard: np.ndarray  # int64 local number (8 digits)
    address: np.ndarray  # object: 海淀区中关村大街27号A座
    address_short: np.ndarray  # object: 海淀区中关村大街27号
    owner: np.ndarray  # index into SALES_REPS


def _draw_cores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (city, brand, industry) per account; popular cores repeat, (core, city) is unique."""
    city_w = np.array([c.weight for c in CITIES])
    city = choice(rng, city_w, n)
    a = rng.integers(0, len(_BRAND_A), n)
    b = rng.integers(0, len(BRAND_B), n)
    c = np.where(rng.random(n) < 0.4, rng.integers(0, len(_BRAND_C), n), -1)
    industry = rng.integers(0, len(INDUSTRIES), n)
    brand = objects(
        [
            _BRAND_A[i] + BRAND_B[j] + (_BRAND_C[k] if k >= 0 else "")
            for i, j, k in zip(a.tolist(), b.tolist(), c.tolist(), strict=True)
        ]
    )
    # About 12 % of accounts carry a popular core; cap so each (core, city) is used once.
    n_popular = min(int(round(0.12 * n)), len(_POPULAR_CORES) * len(CITIES) // 2)
    if n_popular:
        slots = rng.choice(len(_POPULAR_CORES) * len(CITIES), size=n_popular, replace=False)
        who = rng.choice(n, size=n_popular, replace=False)
        core_i, city_i = np.divmod(slots, len(CITIES))
        brand[who] = objects([_POPULAR_CORES[i][0] for i in core_i.tolist()])
        industry[who] = [_POPULAR_CORES[i][1] for i in core_i.tolist()]
        city[who] = city_i
    # Two unrelated companies cannot register the same name in one city: redraw collisions.
    for _ in range(100):
        key = pd.Series(brand).astype(str) + "|" + pd.Series(industry * 100 + city).astype(str)
        dup = key.duplicated().to_numpy()
        if not dup.any():
            break
        k = int(dup.sum())
        brand[dup] = objects(
            [
                _BRAND_A[i] + BRAND_B[j] + _BRAND_C[m]
                for i, j, m in zip(
                    rng.integers(0, len(_BRAND_A), k).tolist(),
                    rng.integers(0, len(BRAND_B), k).tolist(),
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
    division = np.array([[int(ch) for ch in c.division] for c in CITIES], dtype=np.int64)
    digits[:, 2:6] = division[city]
    district = rng.integers(1, 20, n)
    digits[:, 6] = district // 10
    digits[:, 7] = district % 10
    body = rng.integers(0, 10, (n, 8))
    digits[:, 8:16] = body
    org_check = (11 - (body @ _ORG_WEIGHTS) % 11) % 11  # 10 is written X
    digits[:, 16] = np.where(org_check == 10, USCC_ALPHABET.index("X"), org_check)
    check = (31 - (digits @ _USCC_WEIGHTS) % 31) % 31
    alphabet = np.array(list(USCC_ALPHABET))
    chars = np.concatenate([alphabet[digits], alphabet[check][:, None]], axis=1)
    return objects(["".join(row) for row in chars.tolist()])


def _domains(
    rng: np.random.Generator, brand: np.ndarray, industry: np.ndarray, city: np.ndarray
) -> np.ndarray:
    """Company email domains from the brand's pinyin; unique per account (domains are owned)."""
    py = pinyin_table(CORE_CHARS)
    brand_py = [("".join(py[ch] for ch in b)) for b in brand.tolist()]
    initials = [
        "".join(py[ch][0] for ch in b + INDUSTRIES[i].cn)
        for b, i in zip(brand.tolist(), industry.tolist(), strict=True)
    ]
    ind_py = ["".join(py[ch] for ch in ind.cn) for ind in INDUSTRIES]
    form = choice(rng, (0.30, 0.20, 0.15, 0.10, 0.10, 0.15), brand.shape[0]).tolist()
    out = []
    for b, ini, i, f in zip(brand_py, initials, industry.tolist(), form, strict=True):
        slug = INDUSTRIES[i].slug
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
        cities = [CITIES[c].pinyin.lower().replace("'", "") for c in city[dup].tolist()]
        domains[dup] = [
            d.replace(".", f"{c}.", 1) for d, c in zip(domains[dup].tolist(), cities, strict=True)
        ]
    dup = domains.duplicated().to_numpy()
    if dup.any():  # still taken: fall back to a number, also common (huaxin2008.cn)
        domains[dup] = [
            f"{b}{i}.cn" for b, i in zip(np.array(brand_py)[dup], np.flatnonzero(dup), strict=True)
        ]
    return domains.to_numpy(dtype=object)


def office_unit(tower: int, floor: int) -> str:
    """The part of an address after the street number: 0-2 none, 3 A座, 4 B座 room, 5 号楼."""
    return ("", "", "", f"A座{floor}层", f"B座{floor}{tower:02d}室", f"{tower}号楼{floor}层")[tower]


def make_accounts(rng: np.random.Generator, n: int) -> Accounts:
    """Draw every account-level attribute that colleagues share."""
    city, brand, industry = _draw_cores(rng, n)
    core = objects(
        [b + INDUSTRIES[i].cn for b, i in zip(brand.tolist(), industry.tolist(), strict=True)]
    )
    suffix = choice(rng, _LEGAL_SUFFIX_P, n)
    bracket_style = rng.random(n) < 0.25
    switchboard = rng.integers(2, 9, n) * 10_000_000 + rng.integers(0, 10_000_000, n)
    # Street address: district + street + number (+ building and floor for office towers).
    district_pick = rng.random(n)
    street_pick = rng.random(n)
    number = np.minimum(rng.geometric(0.02, n), 999)
    tower = rng.integers(0, 6, n)  # see office_unit
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
        info = CITIES[c]
        base = (
            f"{info.districts[int(dp * len(info.districts))]}"
            f"{info.streets[int(sp * len(info.streets))]}{no}号"
        )
        address_short.append(base)
        address.append(base + office_unit(t, fl))
    return Accounts(
        city=city,
        brand=brand,
        industry=industry,
        core=core,
        suffix=suffix,
        bracket_style=bracket_style,
        credit_code=_credit_codes(rng, city),
        domain=_domains(rng, brand, industry, city),
        switchboard=switchboard,
        address=objects(address),
        address_short=objects(address_short),
        owner=rng.integers(0, len(SALES_REPS), n),
    )
