"""Tests for linkage.standardize: per-value tables per role, then frame-level behaviour."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import stdnum.cn.uscc

from linkage.errors import ConfigError, InputError, SchemaError
from linkage.schema import SIMPLE_ROLES
from linkage.standardize import (
    DERIVED_COLUMNS,
    ROLE_NAMES,
    Standardized,
    add_simple_clean,
    credit_code,
    derive_value,
    is_missing,
    minimal_clean,
    parse_timestamp,
    person_name,
    phone,
    scalar_to_text,
    simple_text,
    standardize,
    standardize_company,
    standardize_credit_code,
    standardize_email,
    standardize_person_name,
    standardize_phone,
    standardize_place,
    standardize_records,
)

# --------------------------------------------------------------------------------------------
# Phones: (input, e164, kind, extension, valid, problem-or-None)
# --------------------------------------------------------------------------------------------

PHONES = [
    ("13800138000", "+8613800138000", "mobile", None, True, None),
    ("138 0013 8000", "+8613800138000", "mobile", None, True, None),
    ("138-0013-8000", "+8613800138000", "mobile", None, True, None),
    ("+86 138 0013 8000", "+8613800138000", "mobile", None, True, None),
    ("8613800138000", "+8613800138000", "mobile", None, True, None),
    ("0086 13800138000", "+8613800138000", "mobile", None, True, None),
    ("(+86)13800138000", "+8613800138000", "mobile", None, True, None),
    ("１３８００１３８０００", "+8613800138000", "mobile", None, True, None),
    (13800138000, "+8613800138000", "mobile", None, True, None),
    (13800138000.0, "+8613800138000", "mobile", None, True, None),
    ("13800138000.0", "+8613800138000", "mobile", None, True, None),
    ("1.38001380e10", "+8613800138000", "mobile", None, True, None),
    ("1.38001380E+10", "+8613800138000", "mobile", None, True, None),
    ("010-62345678", "+861062345678", "landline", None, True, None),
    ("021 6234 5678", "+862162345678", "landline", None, True, None),
    ("(0755) 2345 6789", "+8675523456789", "landline", None, True, None),
    ("+86 21 62345678", "+862162345678", "landline", None, True, None),
    ("0755-23456789 转 801", "+8675523456789", "landline", "801", True, None),
    ("0755-23456789-801", "+8675523456789", "landline", "801", True, None),
    ("0755-23456789 ext. 801", "+8675523456789", "landline", "801", True, None),
    ("0755-23456789 x801", "+8675523456789", "landline", "801", True, None),
    ("0755-23456789分机801", "+8675523456789", "landline", "801", True, None),
    ("0755-23456789/801", "+8675523456789", "landline", "801", True, None),
    ("400-812-3456", "+864008123456", "landline", None, True, None),
    ("+1 415 555 2671", "+14155552671", "foreign", None, True, None),
    ("+852 2345 6789", "+85223456789", "foreign", None, True, None),
    ("13800138000/13900139000", "+8613800138000", "mobile", None, True, "several numbers"),
    ("11111111111", None, None, None, False, "placeholder number"),
    ("13800000000", None, None, None, False, "placeholder number"),
    ("13988888888", None, None, None, False, "placeholder number"),
    ("12345678901", None, None, None, False, "placeholder number"),
    ("12345678", None, None, None, False, "placeholder number"),
    ("010-12345678", None, None, None, False, "placeholder number"),
    ("+1 212 555 0123", None, None, None, False, "placeholder number"),
    ("62345678", None, None, None, False, "landline without area code"),
    ("1380013800", None, None, None, False, "wrong number of digits for a mobile"),
    ("0755-2345678", None, None, None, False, "not a valid number"),
    ("abc", None, None, None, False, "not a phone number"),
    ("见备注", None, None, None, False, "not a phone number"),
    (None, None, None, None, None, None),
    (float("nan"), None, None, None, None, None),
    ("  ", None, None, None, None, None),
    ("无", None, None, None, None, None),
    ("N/A", None, None, None, None, None),
    ("-", None, None, None, None, None),
]


@pytest.mark.parametrize(("value", "e164", "kind", "ext", "valid", "problem"), PHONES)
def test_standardize_phone(value, e164, kind, ext, valid, problem):
    result = standardize_phone(value)
    assert (result.e164, result.kind, result.extension, result.valid) == (e164, kind, ext, valid)
    if problem is None:
        assert result.problem is None
    else:
        assert result.problem is not None and result.problem.startswith(problem)


def test_phone_fast_path_agrees_with_full_parser():
    """The vectorized CN path and the phonenumbers path must give identical answers."""
    rng = np.random.default_rng(7)
    prefixes = ["130", "139", "147", "150", "166", "170", "177", "188", "199", "140", "120"]
    values = [f"{rng.choice(prefixes)}{rng.integers(0, 10**8):08d}" for _ in range(300)]
    values += [f"0{a}-{rng.integers(2 * 10**7, 10**8)}" for a in ("10", "21", "755", "571")]
    values += [f"0{rng.integers(100, 999)}-{rng.integers(10**6, 10**8)}" for _ in range(200)]
    values += [f"{rng.integers(10**6, 10**8)}" for _ in range(100)]
    fast = phone.phone_batch(pa.array(values), "CN")
    for i, value in enumerate(values):
        e164, kind, ext, valid, problem = phone.parse_phone_slow(value, "CN")
        got = tuple(fast[k][i].as_py() for k in ("e164", "kind", "extension", "valid", "problem"))
        assert got == (e164, kind, ext, valid, problem), value


def test_phone_other_default_region():
    assert standardize_phone("(415) 555-2671", default_region="US").e164 == "+14155552671"
    assert standardize_phone("13800138000", default_region="US").valid is False
    assert standardize_phone("+86 13800138000", default_region="US").kind == "foreign"
    with pytest.raises(ConfigError):
        standardize_phone("13800138000", default_region="XX")


# --------------------------------------------------------------------------------------------
# E-mail: (input, clean, domain, is_free, company_domain, valid, problem-prefix)
# --------------------------------------------------------------------------------------------

EMAILS = [
    ("zhang.san@qq.com", "zhang.san@qq.com", "qq.com", True, None, True, None),
    ("Zhang.San@QQ.COM", "zhang.san@qq.com", "qq.com", True, None, True, None),
    ("  li@163.com ", "li@163.com", "163.com", True, None, True, None),
    ("wang＠126.com", "wang@126.com", "126.com", True, None, True, None),
    ("ｗａｎｇ＠ｓｉｎａ．ｃｏｍ", "wang@sina.com", "sina.com", True, None, True, None),
    ("li @ gmail.com", "li@gmail.com", "gmail.com", True, None, True, None),
    ("li@qq。com", "li@qq.com", "qq.com", True, None, True, None),
    ("mailto:li@huaxin.cn", "li@huaxin.cn", "huaxin.cn", False, "huaxin.cn", True, None),
    (
        "a.b@huaxin-tech.com.cn",
        "a.b@huaxin-tech.com.cn",
        "huaxin-tech.com.cn",
        False,
        "huaxin-tech.com.cn",
        True,
        None,
    ),  # fmt: skip
    (
        "sales+crm@huaxin.com",
        "sales+crm@huaxin.com",
        "huaxin.com",
        False,
        "huaxin.com",
        True,
        None,
    ),  # fmt: skip
    ("x@outlook.com", "x@outlook.com", "outlook.com", True, None, True, None),
    ("x@foxmail.com", "x@foxmail.com", "foxmail.com", True, None, True, None),
    ("123456789@qq.com", "123456789@qq.com", "qq.com", True, None, True, None),
    ("test@huaxin.com", None, None, None, None, False, "placeholder address"),
    ("none@none.com", None, None, None, None, False, "placeholder address"),
    ("abc@163.com", None, None, None, None, False, "placeholder address"),
    ("123@qq.com", None, None, None, None, False, "placeholder address"),
    ("noreply@huaxin.com", None, None, None, None, False, "placeholder address"),
    ("li@example.com", None, None, None, None, False, "placeholder address"),
    ("zhang@test.com", None, None, None, None, False, "placeholder address"),
    ("zhang@qq.con", None, None, None, None, False, "domain typo"),
    ("zhang@gmial.com", None, None, None, None, False, "domain typo"),
    ("zhangsan", None, None, None, None, False, "not an email address"),
    ("zhang@@qq.com", None, None, None, None, False, "not an email address"),
    ("zhang@qq", None, None, None, None, False, "not an email address"),
    ("zhang san@qq.com", None, None, None, None, False, "not an email address"),
    (None, None, None, None, None, None, None),
    ("", None, None, None, None, None, None),
]


@pytest.mark.parametrize(
    ("value", "clean", "domain", "is_free", "company_domain", "valid", "problem"), EMAILS
)
def test_standardize_email(value, clean, domain, is_free, company_domain, valid, problem):
    result = standardize_email(value)
    assert result.clean == clean
    assert result.domain == domain
    assert result.is_free == is_free
    assert result.company_domain == company_domain
    assert result.valid is valid
    if problem is None:
        assert result.problem is None
    else:
        assert result.problem is not None and result.problem.startswith(problem)
    if clean is not None:
        assert result.local == clean.split("@")[0]


# --------------------------------------------------------------------------------------------
# Company names: (input, clean, core, legal_form, region, valid)
# --------------------------------------------------------------------------------------------

COMPANIES = [
    ("北京華信科技有限公司", "北京华信科技有限公司", "华信科技", "有限公司", "北京", True),
    ("华信科技(北京)有限公司", "华信科技(北京)有限公司", "华信科技", "有限公司", "北京", True),
    ("华信科技（北京）有限公司", "华信科技(北京)有限公司", "华信科技", "有限公司", "北京", True),
    (
        "北京华信科技股份有限公司",
        "北京华信科技股份有限公司",
        "华信科技",
        "股份有限公司",
        "北京",
        True,
    ),  # fmt: skip
    (
        "北京市华信科技有限责任公司",
        "北京市华信科技有限责任公司",
        "华信科技",
        "有限公司",
        "北京",
        True,
    ),  # fmt: skip
    ("华信 科技 （北京） 有限公司", "华信科技(北京)有限公司", "华信科技", "有限公司", "北京", True),
    ("华信科技【北京】有限公司", "华信科技(北京)有限公司", "华信科技", "有限公司", "北京", True),
    ("华信科技有限公司(北京)", "华信科技有限公司(北京)", "华信科技", "有限公司", "北京", True),
    (
        "广东省深圳市华信科技有限公司",
        "广东省深圳市华信科技有限公司",
        "华信科技",
        "有限公司",
        "深圳",
        True,
    ),  # fmt: skip
    (
        "深圳市腾讯计算机系统有限公司",
        "深圳市腾讯计算机系统有限公司",
        "腾讯计算机系统",
        "有限公司",
        "深圳",
        True,
    ),  # fmt: skip
    (
        "华信科技有限公司北京分公司",
        "华信科技有限公司北京分公司",
        "华信科技",
        "有限公司分公司",
        "北京",
        True,
    ),  # fmt: skip
    ("华信集团有限公司", "华信集团有限公司", "华信", "集团有限公司", None, True),
    ("华信(集团)有限公司", "华信(集团)有限公司", "华信", "集团有限公司", None, True),
    ("阿里巴巴(中国)有限公司", "阿里巴巴(中国)有限公司", "阿里巴巴", "有限公司", "中国", True),
    ("中山装饰有限公司", "中山装饰有限公司", "中山装饰", "有限公司", None, True),
    ("北京有限公司", "北京有限公司", "北京", "有限公司", None, True),
    (
        "Huaxin Technology Co., Ltd.",
        "huaxin technology co., ltd.",
        "huaxin technology",
        "co ltd",
        None,
        True,
    ),  # fmt: skip
    (
        "Beijing Huaxin Technology Co., Ltd",
        "beijing huaxin technology co., ltd",
        "huaxin technology",
        "co ltd",
        "北京",
        True,
    ),  # fmt: skip
    (
        "HUAXIN TECHNOLOGY (BEIJING) CO LTD",
        "huaxin technology (beijing) co ltd",
        "huaxin technology",
        "co ltd",
        "北京",
        True,
    ),  # fmt: skip
    ("Apple Inc.", "apple inc.", "apple", "inc", None, True),
    (
        "Siemens (China) Co., Limited",
        "siemens (china) co., limited",
        "siemens",
        "co ltd",
        "中国",
        True,
    ),  # fmt: skip
    ("ＡＢＣ贸易公司", "abc贸易公司", "abc贸易", "公司", None, True),
    ("个人", None, None, None, None, False),
    ("测试", None, None, None, None, False),
    ("暂无", None, None, None, None, False),
    ("不详", None, None, None, None, False),
    ("公司", None, None, None, None, False),
    ("有限公司", None, None, None, None, False),
    ("xxx", None, None, None, None, False),
    ("Test", None, None, None, None, False),
    ("123456", None, None, None, None, False),
    (None, None, None, None, None, None),
    ("无", None, None, None, None, None),
]


@pytest.mark.parametrize(("value", "clean", "core", "legal", "region", "valid"), COMPANIES)
def test_standardize_company(value, clean, core, legal, region, valid):
    result = standardize_company(value)
    assert (result.clean, result.core, result.legal_form, result.region, result.valid) == (
        clean,
        core,
        legal,
        region,
        valid,
    )
    assert (result.problem is not None) == (valid is False)


# --------------------------------------------------------------------------------------------
# Credit codes: (input, clean, valid, problem)
# --------------------------------------------------------------------------------------------

GOOD_CODE = "91110000600037341L"
CREDIT_CODES = [
    (GOOD_CODE, GOOD_CODE, True, None),
    ("91110000600037341l", GOOD_CODE, True, None),
    ("9111 0000 6000 3734 1L", GOOD_CODE, True, None),
    ("91110000-600037341L", GOOD_CODE, True, None),
    ("９１１１００００６０００３７３４１Ｌ", GOOD_CODE, True, None),
    (" 91110000600037341L ", GOOD_CODE, True, None),
    ("91310000MA1FL0LX2T", None, None, None),  # validity decided by stdnum below
    ("91110000600037341M", "91110000600037341M", False, "bad checksum (likely typo)"),
    ("91110000600037342L", "91110000600037342L", False, "bad checksum (likely typo)"),
    ("9111000060003734", None, False, "wrong length"),
    ("91110000600037341LX", None, False, "wrong length"),
    ("110000600037341", None, False, "wrong length"),
    ("A1110000600037341L", None, False, "invalid characters"),
    ("9111000060003734IL", None, False, "invalid characters"),
    ("911100006000373O1L", None, False, "invalid characters"),
    ("000000000000000000", "000000000000000000", False, "placeholder code"),
    ("无", None, None, None),
    (None, None, None, None),
]


@pytest.mark.parametrize(("value", "clean", "valid", "problem"), CREDIT_CODES)
def test_standardize_credit_code(value, clean, valid, problem):
    result = standardize_credit_code(value)
    if value == "91310000MA1FL0LX2T":  # agree with python-stdnum on a real-looking code
        assert result.valid == stdnum.cn.uscc.is_valid(value)
        return
    assert (result.clean, result.valid, result.problem) == (clean, valid, problem)


def test_credit_code_checksum_matches_stdnum():
    rng = np.random.default_rng(3)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    codes = [
        "".join(rng.choice(list("0123456789"), 8)) + "".join(rng.choice(list(alphabet), 10))
        for _ in range(500)
    ]
    codes += [c[:17] + stdnum.cn.uscc.calc_check_digit(c[:17]) for c in codes[:200]]
    result = credit_code.credit_code_batch(pa.array(codes))
    ours = result["valid"].to_pylist()
    theirs = [stdnum.cn.uscc.is_valid(c) for c in codes]
    assert ours == theirs
    assert sum(theirs) >= 200


# --------------------------------------------------------------------------------------------
# Person names: (input, clean, key, surname, is_honorific, valid)
# --------------------------------------------------------------------------------------------

NAMES = [
    ("张伟", "张伟", "wei zhang", "zhang", False, True),
    ("Zhang Wei", "zhang wei", "wei zhang", "zhang", False, True),
    ("ZHANG Wei", "zhang wei", "wei zhang", "zhang", False, True),
    ("Wei Zhang", "wei zhang", "wei zhang", "zhang", False, True),
    ("wei zhang", "wei zhang", "wei zhang", "zhang", False, True),
    ("zhangwei", "zhangwei", "wei zhang", "zhang", False, True),
    ("ZhangWei", "zhangwei", "wei zhang", "zhang", False, True),
    ("Zhang, Wei", "zhang, wei", "wei zhang", "zhang", False, True),
    ("張偉", "张伟", "wei zhang", "zhang", False, True),
    ("张 伟", "张伟", "wei zhang", "zhang", False, True),
    ("ＺＨＡＮＧ　ＷＥＩ", "zhang wei", "wei zhang", "zhang", False, True),
    ("王小明", "王小明", "ming wang xiao", "wang", False, True),
    ("Xiaoming Wang", "xiaoming wang", "ming wang xiao", "wang", False, True),
    ("欧阳娜娜", "欧阳娜娜", "na na ou yang", "ouyang", False, True),
    ("Ouyang Nana", "ouyang nana", "na na ou yang", "ouyang", False, True),
    ("曾小贤", "曾小贤", "xian xiao zeng", "zeng", False, True),
    ("单田芳", "单田芳", "fang shan tian", "shan", False, True),
    ("吕布", "吕布", "bu lv", "lv", False, True),
    ("张先生", "张", "zhang", "zhang", True, True),
    ("王女士", "王", "wang", "wang", True, True),
    ("李总", "李", "li", "li", True, True),
    ("张伟经理", "张伟", "wei zhang", "zhang", True, True),
    ("Mr. John Smith", "john smith", "john smith", None, True, True),
    ("John Smith", "john smith", "john smith", None, False, True),
    ("test", None, None, None, None, False),
    ("测试", None, None, None, None, False),
    ("客户", None, None, None, None, False),
    ("先生", None, None, None, None, False),
    ("女士", None, None, None, None, False),
    ("xxx", None, None, None, None, False),
    ("13800138000", None, None, None, None, False),
    ("华信科技有限公司", None, None, None, None, False),
    ("无", None, None, None, None, None),
    (None, None, None, None, None, None),
]


@pytest.mark.parametrize(("value", "clean", "key", "surname", "honorific", "valid"), NAMES)
def test_standardize_person_name(value, clean, key, surname, honorific, valid):
    result = standardize_person_name(value)
    assert (result.clean, result.key, result.surname, result.is_honorific, result.valid) == (
        clean,
        key,
        surname,
        honorific,
        valid,
    )
    if key is not None:
        assert result.keys[0] == key
        assert len(result.keys) <= 8
        assert result.phonetic
    assert (result.problem is not None) == (valid is False)


@pytest.mark.parametrize(
    ("value", "reading"),
    [("曾小贤", "ceng xian xiao"), ("单田芳", "dan fang tian"), ("解晓东", "dong jie xiao")],
)
def test_person_name_keys_cover_heteronyms(value, reading):
    assert reading in standardize_person_name(value).keys


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

PLACES = [
    ("北京市", "province", "北京"),
    ("北京", "province", "北京"),
    ("Beijing", "province", "北京"),
    ("BEIJING", "province", "北京"),
    ("京", "province", "北京"),
    ("广东省", "province", "广东"),
    ("廣東省", "province", "广东"),
    ("Guangdong Province", "province", "广东"),
    ("粤", "province", "广东"),
    ("内蒙古自治区", "province", "内蒙古"),
    ("Inner Mongolia", "province", "内蒙古"),
    ("广西壮族自治区", "province", "广西"),
    ("新疆维吾尔自治区", "province", "新疆"),
    ("香港特别行政区", "province", "香港"),
    ("Hong Kong", "province", "香港"),
    ("上海市", "city", "上海"),
    ("深圳市", "city", "深圳"),
    ("Shenzhen", "city", "深圳"),
    ("SHANGHAI", "city", "上海"),
    ("Guangzhou City", "city", "广州"),
    ("廣州", "city", "广州"),
    ("苏州市", "city", "苏州"),
    ("昆山市", "city", "昆山"),
    (" 广州 ", "city", "广州"),
    ("浦东新区", "city", "浦东新区"),
    ("无", "city", None),
    (None, "province", None),
]


@pytest.mark.parametrize(("value", "level", "expected"), PLACES)
def test_standardize_place(value, level, expected):
    assert standardize_place(value, level) == expected


def test_standardize_place_rejects_unknown_level():
    with pytest.raises(ConfigError):
        standardize_place("北京", "country")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------

TIMESTAMPS = [
    ("2024-03-05 14:22:01", dt.datetime(2024, 3, 5, 14, 22, 1)),
    ("2024/3/5 14:22", dt.datetime(2024, 3, 5, 14, 22)),
    ("2024/03/05 14:22:01", dt.datetime(2024, 3, 5, 14, 22, 1)),
    ("2024-03-05T14:22:01Z", dt.datetime(2024, 3, 5, 14, 22, 1)),
    ("2024-03-05T14:22:01+08:00", dt.datetime(2024, 3, 5, 14, 22, 1)),
    ("2024-03-05 14:22:01.123", dt.datetime(2024, 3, 5, 14, 22, 1, 123000)),
    ("2024年3月5日", dt.datetime(2024, 3, 5)),
    ("2024年3月5日 14:22", dt.datetime(2024, 3, 5, 14, 22)),
    ("２０２４年３月５日", dt.datetime(2024, 3, 5)),
    ("2024.03.05", dt.datetime(2024, 3, 5)),
    ("20240305", dt.datetime(2024, 3, 5)),
    ("20240305142201", dt.datetime(2024, 3, 5, 14, 22, 1)),
    ("45356.6", dt.datetime(2024, 3, 5, 14, 24)),
    (45356.6, dt.datetime(2024, 3, 5, 14, 24)),
    ("45356", dt.datetime(2024, 3, 5)),
    ("1709648521", dt.datetime(2024, 3, 5, 14, 22, 1)),
    (dt.datetime(2024, 3, 5, 14, 22, 1), dt.datetime(2024, 3, 5, 14, 22, 1)),
    ("2024-02-29", dt.datetime(2024, 2, 29)),
    ("2023-02-29", None),
    ("2024-02-30", None),
    ("2024-13-05", None),
    ("2024-03-05 24:00", None),
    ("1800-01-01", None),
    ("yesterday", None),
    ("无", None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), TIMESTAMPS)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


# --------------------------------------------------------------------------------------------
# Frame level
# --------------------------------------------------------------------------------------------


def _crm_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
            "公司": [
                "北京華信科技有限公司",
                "华信科技（北京）有限公司",
                "个人",
                None,
                "Apple Inc.",
                "华信科技有限公司",
                "测试",
            ],  # fmt: skip
            "姓名": ["张伟", "Zhang Wei", "wei zhang", "李娜", "王芳", "刘强", "陈静"],
            "手机": [
                "13800138000",
                "+86 138 0013 8000",
                "138-0013-8000",
                "11111111111",
                None,
                "13912345670",
                "abc",
            ],  # fmt: skip
            "座机": [
                "010-62345678",
                "010-62345678 转 801",
                "010-62345678",
                "010-62345678",
                "62345678",
                None,
                "010-62345678",
            ],  # fmt: skip
            "邮箱": [
                "zhangwei@huaxin.com",
                "ZHANGWEI@HUAXIN.COM",
                "test@test.com",
                None,
                "li@qq.com",
                "bad",
                "x@163.com",
            ],  # fmt: skip
            "信用代码": [GOOD_CODE, "91110000600037341M", None, "123", None, None, None],
            "创建时间": [
                "2024-03-05 14:22:01",
                "2024/3/5 14:22",
                "45356.6",
                "garbage",
                None,
                "20240305",
                "2024-03-05T14:22:01Z",
            ],  # fmt: skip
            "省份": ["北京市", "Beijing", "京", "广东省", None, "火星", "上海"],
            "备注": [1, 2, 3, 4, 5, 6, 7],
        }
    )


ROLES = {
    "record_id": "id",
    "company": "公司",
    "person_name": "姓名",
    "mobile": "手机",
    "phone": "座机",
    "email": "邮箱",
    "credit_code": "信用代码",
    "created_at": "创建时间",
    "province": "省份",
}


def test_standardize_keeps_input_and_adds_columns():
    df = _crm_frame()
    before = df.copy(deep=True)
    result = standardize(df, ROLES)
    assert isinstance(result, Standardized)
    pd.testing.assert_frame_equal(df, before)  # input not mutated
    frame = result.frame
    assert list(frame.columns[: len(df.columns)]) == list(df.columns)
    pd.testing.assert_frame_equal(frame[list(df.columns)], before)
    expected = {
        "mobile_e164", "mobile_kind", "mobile_extension", "mobile_valid", "mobile_problem",
        "mobile_shared", "phone_e164", "phone_shared", "email_clean", "email_local",
        "email_domain", "email_is_free", "company_domain", "email_valid", "email_problem",
        "company_clean", "company_core", "company_legal_form", "company_region",
        "company_valid", "company_problem", "credit_code_clean", "credit_code_valid",
        "credit_code_problem", "person_name_clean", "person_name_key", "person_name_keys",
        "person_surname", "person_name_is_honorific", "person_name_phonetic",
        "person_name_valid", "person_name_problem", "created_at_ts", "province_clean",
    }  # fmt: skip
    assert expected <= set(frame.columns)
    assert frame["company_core"].tolist()[:2] == ["华信科技", "华信科技"]
    assert frame["mobile_e164"].tolist()[:3] == ["+8613800138000"] * 3
    assert frame["phone_extension"].tolist()[1] == "801"
    assert frame["company_domain"].tolist()[:2] == ["huaxin.com", "huaxin.com"]
    assert frame["province_clean"].tolist()[:4] == ["北京", "北京", "北京", "广东"]
    assert pd.api.types.is_datetime64_any_dtype(frame["created_at_ts"])
    assert frame["created_at_ts"].iloc[0] == pd.Timestamp("2024-03-05 14:22:01")
    assert pd.isna(frame["created_at_ts"].iloc[3])
    assert frame["person_name_keys"].iloc[0] == ["wei zhang"]
    assert pd.isna(frame["mobile_valid"].iloc[4])  # missing is not invalid
    assert pd.notna(frame["mobile_valid"].iloc[3]) and not frame["mobile_valid"].iloc[3]


def test_problems_point_at_the_right_records():
    result = standardize(_crm_frame(), ROLES)
    problems = result.problems
    assert list(problems.columns) == ["record_id", "role", "column", "value", "reason"]
    got = {(r.record_id, r.role) for r in problems.itertuples()}
    assert ("L4", "mobile") in got and ("L7", "mobile") in got
    assert ("L3", "company") in got and ("L7", "company") in got
    assert ("L3", "email") in got and ("L6", "email") in got
    assert ("L2", "credit_code") in got and ("L4", "credit_code") in got
    assert ("L4", "created_at") in got
    assert ("L5", "phone") in got
    assert ("L6", "province") in got
    row = problems[(problems.record_id == "L2") & (problems.role == "credit_code")].iloc[0]
    assert row.column == "信用代码"
    assert row.value == "91110000600037341M"
    assert row.reason == "bad checksum (likely typo)"
    # Missing values are never problems.
    assert not ((problems.record_id == "L5") & (problems.role == "mobile")).any()
    assert not ((problems.record_id == "L4") & (problems.role == "company")).any()


def test_shared_phone_flags_switchboard_but_not_one_person():
    result = standardize(_crm_frame(), ROLES)
    frame = result.frame
    # 010-62345678 is used by 张伟 / 李娜 / 陈静 (and 张伟 spelled twice more): a switchboard.
    assert frame["phone_shared"].tolist() == [True, True, True, True, False, False, True]
    # The mobile is shared by one person written three ways: not a switchboard.
    assert not frame["mobile_shared"].any()


def test_shared_phone_threshold_and_no_name_role():
    roles = {k: v for k, v in ROLES.items() if k != "person_name"}
    frame = standardize(_crm_frame(), roles).frame
    assert not frame["phone_shared"].any()
    frame = standardize(_crm_frame(), ROLES, shared_phone_min_names=5).frame
    assert not frame["phone_shared"].any()


def test_numeric_phone_column():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "mobile": [13800138000.0, 1.3900139e10, np.nan, 11111111111.0],
        }
    )
    result = standardize(df, {"record_id": "id", "mobile": "mobile"})
    assert df["mobile"].dtype == np.float64
    assert result.frame["mobile_e164"].tolist()[:2] == ["+8613800138000", "+8613900139000"]
    assert pd.isna(result.frame["mobile_e164"].iloc[2])
    assert result.problems["record_id"].tolist() == [4]
    assert result.problems["value"].tolist() == ["11111111111"]
    ints = pd.DataFrame({"id": [1], "mobile": pd.array([13800138000], dtype="Int64")})
    frame = standardize(ints, {"record_id": "id", "mobile": "mobile"}).frame
    assert frame["mobile_e164"].tolist() == ["+8613800138000"]


def test_first_and_last_name_are_combined():
    df = pd.DataFrame(
        {"id": [1, 2, 3], "first": ["伟", "Wei", None], "last": ["张", "Zhang", "李"]}
    )
    frame = standardize(df, {"record_id": "id", "first_name": "first", "last_name": "last"}).frame
    assert frame["person_name_clean"].tolist() == ["张伟", "wei zhang", "李"]
    assert frame["person_name_key"].tolist() == ["wei zhang", "wei zhang", "li"]


def test_other_roles():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "unionid": ["oX2k-ypBcogPmO9FRANT8pJbJHlf", "short", None],
            "dob": ["1985-03-05", "2999-01-01", "1985年3月5日"],
            "zip": [100080, 10000, None],
            "addr": ["北京市 海淀區  中关村大街1号", None, "ＡＢＣ路"],
            "city": ["深圳市", "Shenzhen", None],
            "updated": pd.to_datetime(
                ["2024-03-05 14:22:01", None, "2024-01-01"], format="ISO8601"
            ),
            "owner": ["a", "b", "c"],
        }
    )
    roles = {
        "record_id": "id", "wechat_unionid": "unionid", "dob": "dob", "postcode": "zip",
        "address": "addr", "city": "city", "updated_at": "updated", "owner": "owner",
    }  # fmt: skip
    result = standardize(df, roles)
    frame = result.frame
    assert frame["wechat_unionid_clean"].tolist()[0] == "oX2k-ypBcogPmO9FRANT8pJbJHlf"
    assert pd.isna(frame["wechat_unionid_clean"].iloc[1])
    assert frame["dob_date"].iloc[0] == dt.date(1985, 3, 5)
    assert frame["dob_date"].iloc[2] == dt.date(1985, 3, 5)
    assert pd.isna(frame["dob_date"].iloc[1])
    assert frame["postcode_clean"].tolist()[:2] == ["100080", "010000"]
    assert frame["address_clean"].tolist()[0] == "北京市 海淀区 中关村大街1号"
    assert frame["address_clean"].tolist()[2] == "ABC路"
    assert frame["city_clean"].tolist()[:2] == ["深圳", "深圳"]
    assert frame["updated_at_ts"].iloc[0] == pd.Timestamp("2024-03-05 14:22:01")
    assert set(result.problems["role"]) == {"wechat_unionid", "dob"}


def test_argument_errors():
    df = _crm_frame()
    with pytest.raises(SchemaError):
        standardize(df, {"company": "公司"})  # no record_id
    with pytest.raises(SchemaError):
        standardize(df, {"record_id": "id", "company": "no such column"})
    with pytest.raises(SchemaError):
        standardize(df, {"record_id": "id", "fax": "公司"})
    with pytest.raises(InputError):
        standardize([1, 2], {"record_id": "id"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        standardize(df, ROLES, shared_phone_min_names=1)
    with pytest.raises(ConfigError):
        standardize(df, ROLES, default_region="ZZ")
    clash = df.assign(company_core="x")
    with pytest.raises(SchemaError):
        standardize(clash, ROLES)


def test_empty_frame():
    df = _crm_frame().iloc[:0]
    result = standardize(df, ROLES)
    assert len(result.frame) == 0
    assert "mobile_e164" in result.frame.columns
    assert list(result.problems.columns) == ["record_id", "role", "column", "value", "reason"]
    assert len(result.problems) == 0


def test_one_parse_per_distinct_value(monkeypatch):
    """Python-level parsing runs once per distinct value, not once per row."""
    calls: list[str] = []
    original = person_name.person_name_one

    def counting(text: str):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(person_name, "person_name_one", counting)
    df = pd.DataFrame({"id": range(3000), "name": ["张伟", "李娜", "Zhang Wei"] * 1000})
    standardize(df, {"record_id": "id", "person_name": "name"})
    assert sorted(calls) == sorted(["张伟", "李娜", "zhang wei"])


# --------------------------------------------------------------------------------------------
# Derived column names, per-value and record-level entry points
# --------------------------------------------------------------------------------------------

ALL_ROLES = sorted({*ROLE_NAMES, *SIMPLE_ROLES})


@pytest.mark.parametrize("role", ALL_ROLES)
def test_derived_columns_are_what_standardize_derives(role):
    df = pd.DataFrame({"id": ["1", "2"], "value": ["13800138000", None]})
    roles = {"record_id": "id"} if role == "record_id" else {"record_id": "id", role: "value"}
    derived = standardize(df, roles).frame.columns[len(df.columns) :]
    assert tuple(c for c in derived if not c.endswith("_problem")) == DERIVED_COLUMNS[role]


def test_derived_columns_cover_every_role_mapped_together():
    assert set(DERIVED_COLUMNS) == set(ALL_ROLES)
    all_roles = {role: role for role in ROLE_NAMES if role not in ("first_name", "last_name")}
    df = pd.DataFrame({role: ["1"] for role in all_roles})
    derived = standardize(df, all_roles).frame.columns[len(df.columns) :]
    expected = [c for role in all_roles for c in DERIVED_COLUMNS[role]]
    assert sorted(c for c in derived if not c.endswith("_problem")) == sorted(expected)


def _valid_credit_code(base: str) -> str:
    return base + stdnum.cn.uscc.calc_check_digit(base)


# Realistic, messy values per role: each is judged once by derive_value and once in a frame.
VALUES_BY_ROLE: dict[str, list[object]] = {
    "person_name": ["张伟", "Zhang Wei", "wei zhang", "ZHANGWEI", "欧阳娜娜", "王 芳", "單文",
                    "李总", "Mr. John Smith", "Anna Smith", "测试", "华信科技有限公司", "", "无",
                    None],
    "mobile": ["13800138000", "+86 138 0013 8000", "+86 13800138000", "(+86)138-0013-8000",
               "１３８００１３８０００", 13800138000.0, "1.38001380E+10", "13800138000 转 8",
               "13800000000", "12345678", "+1 415 555 2671", "abc", None],
    "phone": ["010-62345678", "010 6234 5678 转 801", "0755-23456789-801", "+86 10 6234 5678",
              "62345678", "400-810-8888", "+852 2123 4567", "13800138000;13900139000", ""],
    "email": ["Zhang.Wei@Example-Corp.cn", " wei@QQ.COM ", "mailto:li.na@huaxin.com.cn",
              "wang @ 163.com", "test@test.com", "li@qq.con", "not an email", "张伟@公司.中国",
              None],
    "company": ["华信科技(北京)有限公司", "北京华信科技有限公司", "北京華信科技有限公司",
                "华信科技（北京）有限公司", "华信科技有限公司上海分公司",
                "深圳市腾讯计算机系统有限公司",
                "Beijing Huaxin Technology Co., Ltd.", "Apple Inc.", "中山装饰有限公司", "个人",
                "12345", "", None],
    "credit_code": [_valid_credit_code("91110108551385082"),
                    _valid_credit_code("91440300708461136").lower(),
                    " 9111 0108 5513 8508 2" + stdnum.cn.uscc.calc_check_digit("91110108551385082"),
                    "911101085513850820", "91110108551385O82X", "123", None],
    "wechat_unionid": ["oABCD1234efgh5678ijklmnopq", " o_abc-DEF123456789012345 ", "short", None],
    "province": ["北京市", "Beijing", "京", "广东省", "广东", "內蒙古自治區", "Inner Mongolia",
                 "火星", "", None],
    "city": ["深圳市", "Shenzhen", "xi'an", "北京", "台北市", "吉林市", None],
    "address": ["北京市朝阳区 建国路 88号", "  臺北市信義區  ", "Room 5, 88 Jianguo Rd", "-", None],
    "created_at": ["2024-03-05 14:22:01", "2024/3/5 14:22", "2024-03-05T14:22:01Z", "2024年3月5日",
                   "20240305", "45356.6", "1700000000", "2024-02-30", "1850-01-01", "yesterday",
                   None],
    "updated_at": ["2024-03-05 14:22:01.123", "1700000000123", "", None],
}  # fmt: skip


def _plain(value: object) -> object:
    """One cell as a plain Python value, so that batch and per-value results compare."""
    if isinstance(value, list | np.ndarray):
        return list(value)
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@pytest.mark.parametrize("role", sorted(VALUES_BY_ROLE))
def test_derive_value_equals_the_batch_path(role):
    values = VALUES_BY_ROLE[role]
    df = pd.DataFrame({"id": [str(i) for i in range(len(values))], "value": values}, dtype=object)
    frame = standardize(df, {"record_id": "id", role: "value"}).frame
    for i, value in enumerate(values):
        one = derive_value(role, scalar_to_text(value))
        assert tuple(column for column, _ in one) == DERIVED_COLUMNS[role], value
        batch = {column: _plain(frame[column].iloc[i]) for column in DERIVED_COLUMNS[role]}
        assert {column: _plain(v) for column, v in one} == batch, value


@pytest.mark.parametrize("role", SIMPLE_ROLES)
def test_derive_value_of_a_simple_role_equals_add_simple_clean(role):
    values = ["  ＭＡＬＥ ", "Senior  Engineer", 110101199001011234.0, "", None, "女"]
    derived = add_simple_clean(pd.DataFrame({role: pd.Series(values, dtype=object)}), {role})
    for i, value in enumerate(values):
        one = dict(derive_value(role, scalar_to_text(value)))
        assert one == {f"{role}_clean": _plain(derived[f"{role}_clean"].iloc[i])}, value


def test_standardize_records_one_record_equals_a_batch():
    roles = ["person_name", "mobile", "email", "company", "credit_code", "province", "gender"]
    work = pd.DataFrame(
        {
            "person_name": ["张伟", "Zhang Wei"],
            "mobile": ["+86 138 0013 8000", "13800138000"],
            "email": ["Zhang.Wei@Huaxin.cn", "test@test.com"],
            "company": ["华信科技(北京)有限公司", "北京华信科技有限公司"],
            "credit_code": [_valid_credit_code("91110108551385082"), "123"],
            "province": ["北京市", "Beijing"],
            "gender": ["男", " M "],
        }
    )
    batch = standardize_records(work, roles)
    assert not any(c.endswith("_problem") for c in batch.columns)
    for i in range(len(work)):
        one = standardize_records(work.iloc[[i]].reset_index(drop=True), roles)
        assert set(one.columns) == set(batch.columns)  # the order may differ
        for column in batch.columns:
            assert _plain(one[column].iloc[0]) == _plain(batch[column].iloc[i]), column


def test_simple_text():
    assert simple_text("  Senior \u3000 ＥＮＧＩＮＥＥＲ ") == "senior engineer"
    assert simple_text(110101.0) == "110101"
    assert simple_text(2.5) == "2.5"
    assert simple_text(7) == "7"
    assert simple_text(None) is None
    assert simple_text(float("nan")) is None
    assert simple_text("   ") is None


def test_add_simple_clean_leaves_its_input_alone():
    derived = pd.DataFrame({"gender": ["男", " F ", None], "mobile": ["1", "2", "3"]})
    before = derived.copy()
    out = add_simple_clean(derived, {"gender", "mobile"})
    pd.testing.assert_frame_equal(derived, before)
    assert [_plain(v) for v in out["gender_clean"]] == ["男", "f", None]
    assert "mobile_clean" not in out.columns


def test_minimal_clean_only_trims_and_lower_cases():
    work = pd.DataFrame(
        {
            "mobile": [" 138 0013 8000 ", "", None],
            "email": ["Zhang.Wei@Huaxin.CN ", None, "x@y.com"],
            "person_name": [" Zhang Wei", "张伟", None],
            "company": ["华信科技有限公司", "  ", "ACME"],
        }
    )
    before = work.copy()
    out = minimal_clean(work, {"mobile": "mobile", "email": "email", "person_name": "person_name",
                               "company": "company"})  # fmt: skip
    pd.testing.assert_frame_equal(work, before)
    assert out["mobile_e164"].tolist()[:1] == ["138 0013 8000"]
    assert out["mobile_e164"].isna().tolist() == [False, True, True]
    assert out["mobile_shared"].tolist() == [False] * 3
    assert out["email_local"].iloc[0] == "zhang.wei"
    assert out["company_domain"].iloc[0] == "huaxin.cn"
    assert out["person_name_keys"].iloc[0] == ["zhang wei"]
    assert is_missing(out["person_name_keys"].iloc[2])
    assert out["person_surname"].iloc[1] == "张"
    assert out["company_core"].tolist()[::2] == ["华信科技有限公司", "acme"]
    assert pd.isna(out["company_core"].iloc[1])


def test_is_missing():
    assert is_missing(None) and is_missing(float("nan")) and is_missing(pd.NA)
    assert is_missing(pd.NaT) and is_missing(np.datetime64("NaT"))
    assert not is_missing("") and not is_missing(0) and not is_missing(False)
    assert not is_missing(["wei zhang"]) and not is_missing(np.array([np.nan]))
