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
    CountryGuess,
    Standardized,
    add_simple_clean,
    credit_code,
    derive_value,
    infer_country,
    is_missing,
    minimal_clean,
    parse_timestamp,
    person_name,
    phone,
    scalar_to_text,
    simple_text,
    standardize,
    standardize_address,
    standardize_company,
    standardize_coordinate,
    standardize_credit_code,
    standardize_email,
    standardize_person_name,
    standardize_phone,
    standardize_place,
    standardize_records,
    standardize_website,
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
    # Fictional NANP numbers (555-01xx) are read (the E.164 is real) but still flagged.
    ("+1 212 555 0123", "+12125550123", "foreign", None, False, "placeholder number"),
    ("010/62345678", "+861062345678", "landline", None, True, None),  # area code / number
    ("0044 20 7123 4567", "+442071234567", "foreign", None, True, None),
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
# Phones beyond China: the country numbers without a country code are read in
# --------------------------------------------------------------------------------------------

_US_AREA_CODES = (312, 773, 212, 415, 646, 617, 202, 305, 713, 214, 404, 206, 303, 602, 503)


def _us_numbers(n: int, seed: int = 5) -> list[str]:
    """Realistic US numbers (real area codes, no 555 exchange) in the formats US CRMs use."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        area, line = rng.choice(_US_AREA_CODES), rng.integers(0, 10_000)
        exchange = rng.choice([x for x in range(200, 1000) if x != 555])
        out.append(
            [f"({area}) {exchange}-{line:04d}", f"{area}-{exchange}-{line:04d}",
             f"{area}/{exchange}-{line:04d}", f"{area}.{exchange}.{line:04d}",
             f"+1 {area} {exchange} {line:04d}", f"1-{area}-{exchange}-{line:04d}"][i % 6]
        )  # fmt: skip
    return out


@pytest.mark.parametrize("value", ["(312) 555-0100", "312/555-0100", "+1 312 555 0100"])
def test_us_formats_of_one_fictional_number(value):
    result = standardize_phone(value, default_region="US")
    assert result.e164 == "+13125550100"
    assert result.valid is False and result.problem.startswith("placeholder number")


@pytest.mark.parametrize(
    ("value", "e164"),
    [("(312) 265-3830", "+13122653830"), ("312/265-3830", "+13122653830"),
     ("+1 312 265 3830", "+13122653830"), ("773-265-3830", "+17732653830"),
     ("1-773-265-3830", "+17732653830"), ("(773) 265-3830 x12", "+17732653830")],
)  # fmt: skip
def test_us_formats(value, e164):
    result = standardize_phone(value, default_region="US")
    assert (result.e164, result.valid, result.problem) == (e164, True, None)


def test_seven_digit_us_number_without_area_code_is_not_given_one():
    result = standardize_phone("3865286", default_region="US")
    assert (result.e164, result.valid) == (None, False)
    assert result.problem == "landline without area code"


def test_infer_country_on_a_mostly_us_column():
    values = _us_numbers(300) + ["13800138000", "+44 20 7946 0123", None, "n/a"] * 5
    guess = infer_country(pd.Series(values))
    assert guess.country == "US"
    assert guess.share > 0.9
    assert guess.runner_up is not None and guess.runner_up_share < guess.share
    assert guess.numbers == 300 + 2  # distinct numbers; missing values are not numbers


def test_infer_country_on_the_generator_is_china():
    from linkage.datasets import generate_leads

    leads = generate_leads(3000, seed=2)
    guess = infer_country(pd.concat([leads["mobile"], leads["phone"]]))
    assert guess.country == "CN"
    assert guess.share > 0.9


def test_infer_country_edge_cases():
    assert infer_country([]) == CountryGuess("CN", 0.0, None, 0.0, 0)
    assert infer_country([None, "无", float("nan")]).numbers == 0
    # A column of +44 numbers reads under any default; it is British all the same.
    plus_44 = ["+44 20 7946 0123", "+44 7700 900456", "0044 161 496 0789"]
    assert infer_country(plus_44).country == "GB"
    # National-format UK numbers: other plans (India) read them too; the tie goes to the
    # country they belong to, then to the earlier candidate.
    assert infer_country(["020 7946 0123", "07911 123456", "0161 496 0789"]).country == "GB"
    many = _us_numbers(5000, seed=9)
    assert infer_country(many, sample_size=200).numbers == 200
    assert infer_country(many, sample_size=200) == infer_country(many, sample_size=200)
    with pytest.raises(ConfigError):
        infer_country(many, sample_size=0)


def _world_frame() -> pd.DataFrame:
    us = _us_numbers(12)
    others = ["+44 20 7946 0123", "+44 7911 123456", "020 7946 0456", "+86 138 0013 8000",
              "0086 10 6234 5678", None]  # fmt: skip
    names = [f"person {i}" for i in range(len(us) + len(others))]
    return pd.DataFrame({"id": range(len(names)), "name": names, "phone": us + others})


def test_standardize_infers_the_majority_country_and_keeps_explicit_foreign_numbers():
    df = _world_frame()
    result = standardize(df, {"record_id": "id", "person_name": "name", "mobile": "phone"})
    assert (result.country, result.country_inferred) == ("US", True)
    assert result.country_guess is not None and result.country_guess.country == "US"
    frame = result.frame.set_index("phone")
    assert frame["mobile_valid"].iloc[:12].all()
    assert frame["mobile_e164"].iloc[:12].str.startswith("+1").all()
    assert frame.loc["+44 20 7946 0123", "mobile_e164"] == "+442079460123"
    assert frame.loc["+44 7911 123456", "mobile_kind"] == "foreign"
    assert frame.loc["+86 138 0013 8000", "mobile_e164"] == "+8613800138000"
    assert frame.loc["0086 10 6234 5678", "mobile_e164"] == "+861062345678"
    # A UK number without its +44 does not read as a US number: flagged, not guessed.
    assert not frame.loc["020 7946 0456", "mobile_valid"]
    assert set(result.problems["value"]) == {"020 7946 0456"}


def test_standardize_with_a_given_country():
    df = _world_frame()
    roles = {"record_id": "id", "mobile": "phone"}
    given = standardize(df, roles, country="us")
    assert (given.country, given.country_inferred, given.country_guess) == ("US", False, None)
    inferred = standardize(df, roles)
    pd.testing.assert_frame_equal(given.frame, inferred.frame)
    # The caller's country wins over the data: read as Chinese, (312) 265-3830 is a Baoding
    # landline, and the +44/+86 numbers keep their own country.
    chinese = standardize(df, roles, country="CN").frame.set_index("phone")
    national = [v for v in df["phone"].iloc[:12] if not v.startswith("+")]
    assert not chinese.loc[national, "mobile_e164"].str.startswith("+1", na=False).any()
    assert chinese.loc["+1 206 292 8442", "mobile_e164"] == "+12062928442"
    assert chinese.loc["+44 20 7946 0123", "mobile_e164"] == "+442079460123"
    assert standardize(df, roles, default_region="US").country == "US"  # the older name


def test_country_of_a_frame_without_phones():
    df = pd.DataFrame({"id": [1], "name": ["张伟"]})
    result = standardize(df, {"record_id": "id", "person_name": "name"})
    assert (result.country, result.country_inferred, result.country_guess) == (None, False, None)
    assert standardize(df, {"record_id": "id"}, country="GB").country == "GB"


def test_records_are_read_in_the_country_given():
    work = pd.DataFrame({"mobile": ["(773) 265-3830", "13800138000"]})
    us = standardize_records(work, ["mobile"], country="US")
    assert us["mobile_e164"].tolist()[0] == "+17732653830"
    assert pd.isna(us["mobile_e164"].iloc[1])
    cn = standardize_records(work, ["mobile"])  # CN unless told: never inferred per batch
    assert cn["mobile_e164"].tolist()[1] == "+8613800138000"
    for i in range(len(work)):
        one = standardize_records(work.iloc[[i]].reset_index(drop=True), ["mobile"], country="US")
        assert _plain(one["mobile_e164"].iloc[0]) == _plain(us["mobile_e164"].iloc[i])
    assert dict(derive_value("mobile", "(773) 265-3830", "US"))["mobile_e164"] == "+17732653830"
    assert dict(derive_value("mobile", "(773) 265-3830"))["mobile_e164"] != "+17732653830"
    with pytest.raises(ConfigError):
        derive_value("mobile", "(773) 265-3830", "XX")


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


# Latin-script names from US, European and Japanese company lists: (input, core, legal form,
# tokens).  Legal forms of many countries leave the core; so do 'The', '&'/'and', accents and
# punctuation.  Chinese names are cut exactly as in COMPANIES above.
LATIN_COMPANIES = [
    ("Heineken N.V.", "heineken", "nv", ["heineken"]),
    ("Heineken Holding N.V.", "heineken", "holding nv", ["heineken"]),
    ("ASML Holding N.V.", "asml", "holding nv", ["asml"]),
    ("Koninklijke Philips N.V.", "koninklijke philips", "nv", ["koninklijke", "philips"]),
    ("Philips Nederland B.V.", "philips nederland", "bv", ["nederland", "philips"]),
    ("Apple Inc.", "apple", "inc", ["apple"]),
    ("Apple, Inc", "apple", "inc", ["apple"]),
    ("Apple Incorporated", "apple", "inc", ["apple"]),
    ("Acme L.L.C.", "acme", "llc", ["acme"]),
    ("ACME LLC", "acme", "llc", ["acme"]),
    ("Tesco PLC", "tesco", "plc", ["tesco"]),
    ("Rolls-Royce Holdings plc", "rolls royce", "holdings plc", ["rolls", "royce"]),
    ("Unilever Limited", "unilever", "ltd", ["unilever"]),
    ("Toyota Motor Corporation", "toyota motor", "corp", ["motor", "toyota"]),
    ("The Boeing Company", "boeing", "co", ["boeing"]),
    ("The Procter & Gamble Company", "procter gamble", "co", ["gamble", "procter"]),
    ("Procter and Gamble Co.", "procter gamble", "co", ["gamble", "procter"]),
    ("AT&T Inc.", "att", "inc", ["att"]),
    ("J.P. Morgan & Co. Incorporated", "jp morgan", "inc", ["jp", "morgan"]),
    ("McDonald's Corporation", "mcdonalds", "corp", ["mcdonalds"]),
    ("Bank of America Corporation", "bank of america", "corp", ["america", "bank"]),
    ("Siemens AG", "siemens", "ag", ["siemens"]),
    ("Robert Bosch GmbH", "robert bosch", "gmbh", ["bosch", "robert"]),
    ("Henkel AG & Co. KGaA", "henkel", "ag & co kgaa", ["henkel"]),
    ("SAP SE", "sap", "se", ["sap"]),
    ("Nestlé S.A.", "nestle", "sa", ["nestle"]),
    ("Société Générale S.A.", "societe generale", "sa", ["generale", "societe"]),
    ("Banco Santander, S.A.", "banco santander", "sa", ["banco", "santander"]),
    ("Ferrari S.p.A.", "ferrari", "spa", ["ferrari"]),
    ("Volvo AB", "volvo", "ab", ["volvo"]),
    ("Telefonaktiebolaget LM Ericsson AB (publ)", "telefonaktiebolaget lm ericsson", "ab",
     ["ericsson", "lm", "telefonaktiebolaget"]),
    ("Nokia Oyj", "nokia", "oyj", ["nokia"]),
    ("A.P. Møller - Mærsk A/S", "ap moller maersk", "a/s", ["ap", "maersk", "moller"]),
    ("Equinor ASA", "equinor", "asa", ["equinor"]),
    ("Grupo Bimbo, S.A.B. de C.V.", "grupo bimbo", "sab de cv", ["bimbo", "grupo"]),
    ("Chicago Commons Association", "chicago commons association", None,
     ["association", "chicago", "commons"]),
    (" Precious Little One's Learning Center, Inc.", "precious little ones learning center",
     "inc", ["center", "learning", "little", "ones", "precious"]),
    ("YMCA of Metropolitan Chicago - South Side YMCA",
     "ymca of metropolitan chicago south side ymca", None,
     ["chicago", "metropolitan", "side", "south", "ymca"]),
    ("Huaxin Technology Co., Ltd.", "huaxin technology", "co ltd", ["huaxin", "technology"]),
    ("华信科技(北京)有限公司", "华信科技", "有限公司", ["华信科技"]),
    ("ＡＢＣ贸易公司", "abc贸易", "公司", ["abc", "贸易"]),
    ("The Company", None, None, None),
    (None, None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("value", "core", "legal", "tokens"), LATIN_COMPANIES)
def test_company_legal_forms_of_many_countries(value, core, legal, tokens):
    result = standardize_company(value)
    assert (result.core, result.legal_form) == (core, legal)
    assert result.tokens == (None if tokens is None else tuple(tokens))


def test_company_tokens_work_in_splink_array_comparisons():
    """company_tokens is a list column DuckDB reads as VARCHAR[] (ArrayIntersectLevel)."""
    import duckdb

    df = pd.DataFrame(
        {"id": ["1", "2", "3"],
         "name": ["The Procter & Gamble Company", "Procter and Gamble Co.", None]}
    )  # fmt: skip
    frame = standardize(df, {"record_id": "id", "company": "name"}).frame
    assert frame["company_tokens"].tolist() == [["gamble", "procter"], ["gamble", "procter"], None]
    con = duckdb.connect()
    con.register("tokens", frame[["id", "company_tokens"]])
    column_type = con.execute("SELECT company_tokens FROM tokens").description[0][1]
    assert str(column_type) == "VARCHAR[]"
    # The test splink's ArrayIntersectLevel writes for DuckDB.
    overlap = con.execute(
        "SELECT array_length(list_intersect(l.company_tokens, r.company_tokens)) "
        "FROM tokens l, tokens r WHERE l.id = '1' AND r.id = '2'"
    ).fetchone()
    assert overlap == (2,)


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
# Addresses: (input, clean, number, street, unit, postcode)
# --------------------------------------------------------------------------------------------

ADDRESSES = [
    # Chicago early-childhood sites, as the city's files write them.
    ("316 N Pulaski Rd", "316 n pulaski rd", "316", "n pulaski rd", None, None),
    ("316 North Pulaski Road", "316 n pulaski rd", "316", "n pulaski rd", None, None),
    ("316 N. PULASKI RD. ", "316 n pulaski rd", "316", "n pulaski rd", None, None),
    ("27 Washington Oak Park IL 60302", "27 washington oak park il 60302", "27", "washington",
     None, "60302"),
    ("14424 Wentworth Avenue\nRiverdale, IL 60827", "14424 wentworth ave riverdale il 60827",
     "14424", "wentworth ave", None, "60827"),
    ("1139 Randolph Steet\nOak Park", "1139 randolph st oak park", "1139", "randolph st", None,
     None),
    ("4728 N. Wolcott Av ", "4728 n wolcott ave", "4728", "n wolcott ave", None, None),
    ("6350 S. Stewart ", "6350 s stewart", "6350", "s stewart", None, None),
    ("1600 W North Ave", "1600 w north ave", "1600", "w north ave", None, None),
    ("4314 S Cottage Grove Avenue", "4314 s cottage grove ave", "4314", "s cottage grove ave",
     None, None),
    ("33 West Monroe Street, Suite 2400", "33 w monroe st ste 2400", "33", "w monroe st",
     "ste 2400", None),
    ("225 North Michigan Avenue Suite E08-100 ", "225 n michigan ave ste e08-100", "225",
     "n michigan ave", "ste e08-100", None),
    ("5700 S Ashland Ave  1st Fl ", "5700 s ashland ave fl 1", "5700", "s ashland ave", "fl 1",
     None),
    ("219 South Dearborn Second Floor ", "219 s dearborn fl 2", "219", "s dearborn", "fl 2",
     None),
    ("Early Head Start Home Based\n11 E. Adams, Suite 1500\n",
     "early head start home based 11 e adams ste 1500", "11", "e adams", "ste 1500", None),
    ("123 Main St NW, Washington, DC 20001-1234", "123 main st nw washington dc 20001-1234",
     "123", "main st nw", None, "20001"),
    ("456 Elm Street Apt 2, Springfield, IL 62704", "456 elm st apt 2 springfield il 62704",
     "456", "elm st", "apt 2", "62704"),
    ("123 Main St #4B", "123 main st # 4b", "123", "main st", "# 4b", None),
    ("PO Box 123, Chicago IL 60601", "po box 123 chicago il 60601", None, None, None, "60601"),
    # UK and continental Europe.
    ("Flat 3, 27 Baker Street, London NW1 6XE", "flat 3 27 baker st london nw1 6xe", "27",
     "baker st", "flat 3", "NW16XE"),
    ("Kalverstraat 92, 1012 PH Amsterdam", "kalverstraat 92 1012 ph amsterdam", "92",
     "kalverstraat", None, "1012PH"),
    ("Hauptstraße 5, 80331 München", "hauptstrasse 5 80331 munchen", "5", "hauptstrasse", None,
     "80331"),
    ("Room 5, 88 Jianguo Rd", "rm 5 88 jianguo rd", "88", "jianguo rd", "rm 5", None),
    # Chinese: the clean text as before; province, city, district and 街道 passed over.
    ("浙江省杭州市拱墅区文一西路21号", "浙江省杭州市拱墅区文一西路21号", "21", "文一西路", None,
     None),
    ("番禺区中山大道81号", "番禺区中山大道81号", "81", "中山大道", None, None),
    ("北京市朝阳区 建国路 88号", "北京市朝阳区 建国路 88号", "88", "建国路", None, None),
    ("杭州市西湖区北山街道曙光路12号", "杭州市西湖区北山街道曙光路12号", "12", "曙光路", None,
     None),
    ("相城区苏州大道东50号", "相城区苏州大道东50号", "50", "苏州大道东", None, None),
    ("市中区经十路21号", "市中区经十路21号", "21", "经十路", None, None),
    ("宁波市镇海区镇海路8号", "宁波市镇海区镇海路8号", "8", "镇海路", None, None),
    ("朝阳区学院路64号A座18层", "朝阳区学院路64号A座18层", "64", "学院路", "a座18层", None),
    ("湖里区嘉禾路９９号A座１１层", "湖里区嘉禾路99号A座11层", "99", "嘉禾路", "a座11层", None),
    ("北京市海淀區中关村大街1号 100080", "北京市海淀区中关村大街1号 100080", "1", "中关村大街",
     None, "100080"),
    ("ＡＢＣ路", "ABC路", None, None, None, None),
    ("  臺北市信義區  ", "台北市信义区", None, None, None, None),
    ("-", None, None, None, None, None),
    (None, None, None, None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("value", "clean", "number", "street", "unit", "postcode"), ADDRESSES)
def test_standardize_address(value, clean, number, street, unit, postcode):
    result = standardize_address(value)
    assert (result.clean, result.number, result.street, result.unit, result.postcode) == (
        clean,
        number,
        street,
        unit,
        postcode,
    )


# --------------------------------------------------------------------------------------------
# Websites: (input, domain, problem)
# --------------------------------------------------------------------------------------------

WEBSITES = [
    ("http://www.ChicagoCommons.org/about", "chicagocommons.org", None),
    ("www.chicagocommons.org", "chicagocommons.org", None),
    ("WWW.CPS.EDU:443", "cps.edu", None),
    ("https://user@shop.heineken.nl/en?x=1#top", "shop.heineken.nl", None),
    ("http//www.asml.com", "asml.com", None),
    ("https://www2.philips.com.cn/", "philips.com.cn", None),
    ("huaxin.com.cn.", "huaxin.com.cn", None),
    ("www.huaxin。com", "huaxin.com", None),
    ("www.a.com; www.b.com", "a.com", None),
    ("公司.中国", "公司.中国", None),
    ("Yes", None, "not a website"),
    ("192.168.0.1", None, "not a website"),
    ("www.example.com", None, "placeholder website"),
    ("N/A", None, None),
    (None, None, None),
]


@pytest.mark.parametrize(("value", "domain", "problem"), WEBSITES)
def test_standardize_website(value, domain, problem):
    result = standardize_website(value)
    assert (result.domain, result.problem) == (domain, problem)


# --------------------------------------------------------------------------------------------
# Coordinates: (input, role, degrees)
# --------------------------------------------------------------------------------------------

COORDINATES = [
    ("41.8781", "latitude", 41.8781),
    (41.8781, "latitude", 41.8781),
    ("41,8781", "latitude", 41.8781),
    ("41.8781° N", "latitude", 41.8781),
    ("S 33.8688", "latitude", -33.8688),
    ("41°52'41\"N", "latitude", 41 + 52 / 60 + 41 / 3600),
    ("-87.6298", "longitude", -87.6298),
    ("87.6298 W", "longitude", -87.6298),
    ("+151.2093", "longitude", 151.2093),
    ("-180", "longitude", -180.0),
    ("87.6298 W", "latitude", None),
    ("95.1", "latitude", None),
    ("181", "longitude", None),
    ("41°65'", "latitude", None),
    ("41.8781, -87.6298", "latitude", None),
    ("abc", "longitude", None),
    (None, "latitude", None),
]


@pytest.mark.parametrize(("value", "role", "degrees"), COORDINATES)
def test_standardize_coordinate(value, role, degrees):
    assert standardize_coordinate(value, role) == (
        None if degrees is None else pytest.approx(degrees)
    )


def test_standardize_coordinate_rejects_unknown_role():
    with pytest.raises(ConfigError):
        standardize_coordinate("41.8", "altitude")


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


def test_organization_roles():
    """Sites of an early-childhood provider, as Chicago's files list them."""
    df = pd.DataFrame(
        {
            "Id": ["1958", "287", "301", "302", "400"],
            "Site name": ["Chicago Commons Association St Catherine's",
                          " Precious Little One's Learning Center, Inc.",
                          "CHICAGO COMMONS ASSOCIATION", "Chicago Commons Assn.", None],
            "Address": ["27 Washington Oak Park IL 60302", "221 E. 51st St. ",
                        "316 N Pulaski Rd", "316 North Pulaski Road\nChicago, IL 60624", None],
            "Website": ["www.chicagocommons.org", "No", "http://www.ChicagoCommons.org/about",
                        None, "www.example.com"],
            "Lat": [41.8857, "41.8026", "41.8781° N", "95.5", None],
            "Lon": [-87.7825, "-87.6200", "87.7253 W", "-87.7253", None],
        }
    )  # fmt: skip
    roles = {"record_id": "Id", "company": "Site name", "address": "Address",
             "website": "Website", "latitude": "Lat", "longitude": "Lon"}  # fmt: skip
    result = standardize(df, roles)
    frame = result.frame
    assert frame["address_clean"].tolist()[2:4] == [
        "316 n pulaski rd",
        "316 n pulaski rd chicago il 60624",
    ]
    assert frame["address_number"].tolist()[:4] == ["27", "221", "316", "316"]
    assert frame["address_street"].tolist()[:4] == ["washington", "e 51st st", "n pulaski rd",
                                                    "n pulaski rd"]  # fmt: skip
    postcodes = [_plain(v) for v in frame["address_postcode"]]
    assert postcodes == ["60302", None, None, "60624", None]
    assert frame["company_core"].iloc[2] == "chicago commons association"
    assert frame["company_tokens"].iloc[1] == ["center", "learning", "little", "ones", "precious"]
    domains = [_plain(v) for v in frame["website_domain"]]
    assert domains == ["chicagocommons.org", None, "chicagocommons.org", None, None]
    assert frame["latitude_num"].dtype == np.float64
    assert frame["latitude_num"].tolist()[:3] == pytest.approx([41.8857, 41.8026, 41.8781])
    assert frame["longitude_num"].tolist()[:3] == pytest.approx([-87.7825, -87.62, -87.7253])
    assert np.isnan(frame["latitude_num"].iloc[3])
    got = {(r.record_id, r.role, r.reason) for r in result.problems.itertuples()}
    assert got == {
        ("287", "website", "not a website"),
        ("400", "website", "placeholder website"),
        ("302", "latitude", "latitude out of range"),
    }


def test_chicago_sites_addresses_and_websites(shared):
    """Real US data: Chicago's early-childhood sites, one row per site and source file."""
    df = pd.read_csv(shared("real/chicago_early_childhood.csv"), dtype=str)
    roles = {"record_id": "Id", "company": "Site name", "address": "Address",
             "website": "Website"}  # fmt: skip
    result = standardize(df, roles)
    frame = result.frame
    given = frame["Address"].notna()
    parsed = frame["address_number"].notna() & frame["address_street"].notna()
    assert parsed[given].mean() > 0.99
    # Records of one site (same 'True Id') written differently now read the same: the
    # number of same-site pairs with equal address text doubles (1924 -> 3967 of 6608).
    raw = frame["Address"].str.lower().str.split().str.join(" ")

    def same_site_equal_pairs(values: pd.Series) -> int:
        pairs = pd.DataFrame({"site": frame["True Id"], "value": values}).dropna()
        counts = pairs.groupby(["site", "value"]).size()
        return int((counts * (counts - 1) // 2).sum())

    assert same_site_equal_pairs(frame["address_clean"]) > 2 * same_site_equal_pairs(raw)
    # The file's 'Website' column mostly says Yes/No: those are problems, not domains.
    websites = result.problems[result.problems["role"] == "website"]
    assert set(websites["value"]) == {"Yes", "No"}
    assert set(frame["website_domain"].dropna()) == {"chicagocommons.org", "cps.edu"}


def test_argument_errors():
    df = _crm_frame()
    with pytest.raises(SchemaError):
        standardize(df, {"company": "公司"})  # no record_id
    with pytest.raises(SchemaError):
        standardize(df, {"record_id": "id", "company": "no such column"})
    with pytest.raises(SchemaError):
        standardize(df, {"record_id": "id", "shoe_size": "公司"})
    with pytest.raises(InputError):
        standardize([1, 2], {"record_id": "id"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        standardize(df, ROLES, shared_phone_min_names=1)
    with pytest.raises(ConfigError):
        standardize(df, ROLES, default_region="ZZ")
    with pytest.raises(ConfigError, match="'GB'"):
        standardize(df, ROLES, country="UK")
    with pytest.raises(ConfigError, match="disagree"):
        standardize(df, ROLES, country="US", default_region="CN")
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
                "12345", "Heineken Holding N.V.", "The Procter & Gamble Company", "Nestlé S.A.",
                "Chicago Commons Association", "The Company", "", None],
    "credit_code": [_valid_credit_code("91110108551385082"),
                    _valid_credit_code("91440300708461136").lower(),
                    " 9111 0108 5513 8508 2" + stdnum.cn.uscc.calc_check_digit("91110108551385082"),
                    "911101085513850820", "91110108551385O82X", "123", None],
    "wechat_unionid": ["oABCD1234efgh5678ijklmnopq", " o_abc-DEF123456789012345 ", "short", None],
    "province": ["北京市", "Beijing", "京", "广东省", "广东", "內蒙古自治區", "Inner Mongolia",
                 "火星", "", None],
    "city": ["深圳市", "Shenzhen", "xi'an", "北京", "台北市", "吉林市", None],
    "address": ["北京市朝阳区 建国路 88号", "  臺北市信義區  ", "Room 5, 88 Jianguo Rd", "-", None,
                "杭州市西湖区北山街道曙光路12号B座3层", "北京市海淀区中关村大街1号 100080",
                "316 North Pulaski Road", "27 Washington Oak Park IL 60302",
                "14424 Wentworth Avenue\nRiverdale, IL 60827", "5700 S Ashland Ave  1st Fl ",
                "Flat 3, 27 Baker Street, London NW1 6XE", "P.O. Box 1128\nLake Villa"],
    "website": ["http://www.ChicagoCommons.org/about", "www.cps.edu", "WWW.CPS.EDU:443", "Yes",
                "www.example.com", "公司.中国", "", None],
    "latitude": ["41.8781", 41.8781, "41°52'41\"N", "41,8781", "95", "87.6 W", "abc", None],
    "longitude": ["-87.6298", -87.6298, "87.6298 W", "181", "41.8 N", "", None],
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
        # A simple role with a standardizer (coordinates) also gives its <role>_clean.
        simple = (f"{role}_clean",) if role in SIMPLE_ROLES else ()
        assert tuple(column for column, _ in one) == DERIVED_COLUMNS[role] + simple, value
        batch = {column: _plain(frame[column].iloc[i]) for column in DERIVED_COLUMNS[role]}
        one_derived = {column: _plain(v) for column, v in one if column not in simple}
        assert one_derived == batch, value


@pytest.mark.parametrize("role", SIMPLE_ROLES)
def test_derive_value_of_a_simple_role_equals_add_simple_clean(role):
    values = ["  ＭＡＬＥ ", "Senior  Engineer", 110101199001011234.0, "", None, "女"]
    derived = add_simple_clean(pd.DataFrame({role: pd.Series(values, dtype=object)}), {role})
    for i, value in enumerate(values):
        one = dict(derive_value(role, scalar_to_text(value)))
        assert one.pop(f"{role}_clean") == _plain(derived[f"{role}_clean"].iloc[i]), value
        assert set(one) <= set(DERIVED_COLUMNS[role]), value  # latitude_num, ...


def test_standardize_records_one_record_equals_a_batch():
    roles = ["person_name", "mobile", "email", "company", "credit_code", "province", "gender",
             "address", "website", "latitude", "longitude"]  # fmt: skip
    work = pd.DataFrame(
        {
            "person_name": ["张伟", "Zhang Wei"],
            "mobile": ["+86 138 0013 8000", "13800138000"],
            "email": ["Zhang.Wei@Huaxin.cn", "test@test.com"],
            "company": ["华信科技(北京)有限公司", "Heineken Holding N.V."],
            "credit_code": [_valid_credit_code("91110108551385082"), "123"],
            "province": ["北京市", "Beijing"],
            "gender": ["男", " M "],
            "address": ["北京市朝阳区建国路88号A座", "316 North Pulaski Road, Chicago, IL 60624"],
            "website": ["www.huaxin.cn", "http://www.ChicagoCommons.org/about"],
            "latitude": ["39.9087", "41°52'41\"N"],
            "longitude": [116.3975, "abc"],
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


def test_minimal_clean_gives_the_website_column_link_reads():
    work = pd.DataFrame({"website": [" WWW.CPS.EDU ", None]})
    out = minimal_clean(work, ["website"])
    assert [_plain(v) for v in out["website_domain"]] == ["www.cps.edu", None]


def test_is_missing():
    assert is_missing(None) and is_missing(float("nan")) and is_missing(pd.NA)
    assert is_missing(pd.NaT) and is_missing(np.datetime64("NaT"))
    assert not is_missing("") and not is_missing(0) and not is_missing(False)
    assert not is_missing(["wei zhang"]) and not is_missing(np.array([np.nan]))


def test_a_local_number_keeps_its_last_seven_digits() -> None:
    frame = pd.DataFrame({"id": ["1", "2", "3"], "phone": ["(312) 265-3830", "265-3830", "12"]})
    out = standardize(frame, {"record_id": "id", "phone": "phone"}, country="US").frame
    assert out["phone_tail"].tolist()[:2] == ["2653830", "2653830"]
    assert pd.isna(out["phone_tail"].iloc[2])


def test_an_organization_name_has_a_first_word_to_block_on() -> None:
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3"],
            "company": ["Bethel New Life - Lake", "华信科技(北京)有限公司", None],
        }
    )
    out = standardize(frame, {"record_id": "id", "company": "company"}).frame
    assert out["company_first_token"].tolist()[:2] == ["bethel", "华信科技"]
    assert pd.isna(out["company_first_token"].iloc[2])
