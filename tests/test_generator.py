"""Tests for the synthetic lead and account-list generators and the shipped sample."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import opencc
import pandas as pd
import pytest
from stdnum.cn import uscc

from linkage.datasets import SAMPLE_PATH, generate_accounts, generate_leads, load_sample
from linkage.datasets.generator import ACCOUNT_COLUMNS, COLUMNS
from linkage.errors import ConfigError
from linkage.schema import detect_roles

EXPECTED_COLUMNS = [
    "lead_id", "company", "credit_code", "name", "mobile", "phone", "email", "wechat_unionid",
    "province", "city", "address", "source", "created_at", "updated_at", "owner",
    "true_person_id", "true_account_id",
]  # fmt: skip
PLACEHOLDER_MOBILES = {"13800000000", "12345678901", "11111111111"}
FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@pytest.fixture(scope="module")
def leads() -> pd.DataFrame:
    return generate_leads(4000, seed=7)


def _digits(value: object) -> str:
    """All ASCII digits of a cell, after folding full-width digits."""
    if not isinstance(value, str):
        return ""
    return re.sub(r"\D", "", value.translate(FULLWIDTH_DIGITS))


def _mobile_key(value: object) -> str | None:
    """The 11-digit national mobile in a cell, undoing +86 / 0086 / Excel-float renderings."""
    if not isinstance(value, str):
        return None
    text = value.translate(FULLWIDTH_DIGITS).strip()
    if re.fullmatch(r"\d\.\d+[eE]\+?10", text):
        text = str(int(float(text)))
    elif text.endswith(".0"):
        text = text[:-2]
    digits = re.sub(r"\D", "", text)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if len(digits) == 11 else None


def _parse_timestamp(value: str) -> datetime:
    """Parse every export format the generator writes (digits in y m d H M [S] order)."""
    parts = [int(p) for p in re.findall(r"\d+", value)][:6]
    return datetime(*parts)  # type: ignore[arg-type]


def test_columns_and_order(leads: pd.DataFrame) -> None:
    assert list(leads.columns) == EXPECTED_COLUMNS
    assert list(COLUMNS) == EXPECTED_COLUMNS
    assert leads["true_person_id"].dtype == np.int64
    assert leads["true_account_id"].dtype == np.int64
    text = leads.drop(columns=["true_person_id", "true_account_id"])
    for column in text.columns:
        assert all(isinstance(v, str) for v in text[column].dropna().tolist()), column


@pytest.mark.parametrize("n", [1, 7, 2000])
def test_exact_row_count_and_unique_lead_ids(n: int) -> None:
    df = generate_leads(n, seed=3)
    assert len(df) == n
    assert df["lead_id"].is_unique
    assert df["lead_id"].str.fullmatch(r"L\d{7}").all()


def test_zero_rows_and_bad_arguments() -> None:
    empty = generate_leads(0)
    assert list(empty.columns) == EXPECTED_COLUMNS and empty.empty
    with pytest.raises(ConfigError):
        generate_leads(-1)
    with pytest.raises(ConfigError):
        generate_leads(10.5)  # type: ignore[arg-type]


def test_same_seed_same_frame_different_seed_different_frame() -> None:
    first = generate_leads(2000, seed=11)
    pd.testing.assert_frame_equal(first, generate_leads(2000, seed=11))
    other = generate_leads(2000, seed=12)
    assert not first.equals(other)
    assert (first["name"] != other["name"]).mean() > 0.5


def test_every_person_belongs_to_exactly_one_account(leads: pd.DataFrame) -> None:
    accounts_per_person = leads.groupby("true_person_id")["true_account_id"].nunique()
    assert (accounts_per_person == 1).all()
    people_per_account = leads.groupby("true_account_id")["true_person_id"].nunique()
    assert people_per_account.max() <= 8
    assert (people_per_account >= 5).sum() > 20  # some big accounts to chain colleagues


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicate_rate_in_band(seed: int) -> None:
    df = generate_leads(5000, seed=seed)
    rows_per_person = df["true_person_id"].map(df["true_person_id"].value_counts())
    assert 0.35 <= (rows_per_person > 1).mean() <= 0.45
    assert rows_per_person.max() >= 4  # some people arrive 3-6 times


def test_row_order_does_not_reveal_truth(leads: pd.DataFrame) -> None:
    position = pd.Series(np.arange(len(leads)))
    assert abs(position.corr(leads["true_person_id"], method="spearman")) < 0.1
    # Rows of one person are scattered, not adjacent.
    same_as_next = leads["true_person_id"].to_numpy()[1:] == leads["true_person_id"].to_numpy()[:-1]
    assert same_as_next.mean() < 0.01


def test_mobile_mess(leads: pd.DataFrame) -> None:
    mobile = leads["mobile"].dropna()
    assert mobile.str.startswith("+86").any()
    assert mobile.str.contains("[０-９]").any()
    assert mobile.str.fullmatch(r"\d\.\d+[eE]\+?10").any()
    assert mobile.str.endswith(".0").any()
    assert mobile.str.contains(" ").any() and mobile.str.contains("-").any()
    placeholders = leads[leads["mobile"].isin(PLACEHOLDER_MOBILES)]
    assert placeholders["true_person_id"].nunique() >= 2
    plain = mobile[mobile.str.fullmatch(r"[0-9]{11}") & ~mobile.isin(PLACEHOLDER_MOBILES)]
    assert plain.str.fullmatch(r"1[35789][0-9]{9}").all()
    assert 0.05 < leads["mobile"].isna().mean() < 0.2


def test_same_person_rows_mostly_agree_on_mobile(leads: pd.DataFrame) -> None:
    keys = leads.assign(key=leads["mobile"].map(_mobile_key)).dropna(subset=["key"])
    keys = keys[~keys["key"].isin(PLACEHOLDER_MOBILES)]
    pairs = keys.merge(keys, on="true_person_id")
    pairs = pairs[pairs["lead_id_x"] < pairs["lead_id_y"]]
    agreement = (pairs["key_x"] == pairs["key_y"]).mean()
    assert 0.8 < agreement < 1.0  # mostly agree, with typos and second numbers
    # Different people never share a real (non-placeholder) mobile.
    assert (keys.groupby("key")["true_person_id"].nunique() == 1).mean() > 0.99


def test_colleagues_share_switchboard(leads: pd.DataFrame) -> None:
    phones = leads.dropna(subset=["phone"])
    people_per_phone = phones.groupby("phone")["true_person_id"].nunique()
    assert (people_per_phone > 1).sum() > 20
    shared = people_per_phone[people_per_phone > 1].index
    accounts = phones[phones["phone"].isin(shared)].groupby("phone")["true_account_id"].nunique()
    assert (accounts == 1).all()  # a shared landline is one company's switchboard
    assert phones["phone"].str.contains("转|ext|分机").any()
    assert phones["phone"].str.startswith(("010", "021", "0755", "(0", "+86", "0086")).any()


def test_company_name_mess(leads: pd.DataFrame) -> None:
    company = leads["company"].dropna()
    t2s = opencc.OpenCC("t2s")
    traditional = company[company.map(lambda s: t2s.convert(s) != s)]
    assert len(traditional) > 20
    assert company.str.contains(r"Co\.|CO\.").any()  # English names
    assert company.str.contains("（").any() and company.str.contains(r"\(").any()
    assert company.str.endswith("股份有限公司").any() and company.str.endswith("集团有限公司").any()
    # One account appears under several spellings.
    assert (leads.groupby("true_account_id")["company"].nunique() > 1).sum() > 100
    # Popular cores (华信科技) belong to several unrelated accounts.
    cores = company.str.replace(r"[（(].*?[)）]|有限.*|股份.*|集团.*", "", regex=True)
    core_accounts = leads.loc[company.index].groupby(cores)["true_account_id"].nunique()
    assert (core_accounts > 1).any()


def test_name_mess(leads: pd.DataFrame) -> None:
    name = leads["name"].dropna()
    assert name.str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").any()  # Zhang Wei / Wei Zhang
    assert name.str.fullmatch(r"[A-Z]+ [A-Z][a-z]+").any()  # ZHANG Wei
    assert name.str.fullmatch(r"[a-z]+").any()  # zhangwei
    assert name.str.endswith(("先生", "女士")).any()
    common = leads[leads["name"].isin(["张伟", "王芳", "李娜", "刘洋", "王伟", "李静"])]
    assert common["true_person_id"].nunique() > 20
    assert common["true_account_id"].nunique() > 20


def test_credit_codes(leads: pd.DataFrame) -> None:
    codes = leads["credit_code"].dropna()
    assert 0.28 < len(codes) / len(leads) < 0.42
    assert codes.str.len().eq(18).all()
    valid = codes.map(uscc.is_valid)
    assert 0 < (~valid).sum() < 0.1 * len(codes)
    # Each account has one valid code, shared by all its rows that carry a valid one.
    good = leads.loc[valid[valid].index]
    assert (
        good.groupby("true_account_id")["credit_code"].agg(lambda s: s.str.upper().nunique()) == 1
    ).all()
    assert (good.groupby(good["credit_code"].str.upper())["true_account_id"].nunique() == 1).all()


def test_email_and_wechat(leads: pd.DataFrame) -> None:
    email = leads["email"]
    assert 0.25 < email.isna().mean() < 0.35
    present = email.dropna()
    assert present.isin(["test@test.com", "none@none.com", "无"]).any()
    assert present.str.contains("@qq.com").any() and present.str.contains("@163.com").any()
    assert (present != present.str.strip()).any() and (present != present.str.lower()).any()
    unionid = leads["wechat_unionid"].dropna()
    assert 0.2 < len(unionid) / len(leads) < 0.3
    assert unionid.str.fullmatch(r"o[A-Za-z0-9_-]{27}").all()
    assert (leads.groupby("true_person_id")["wechat_unionid"].nunique() <= 1).all()
    on_wechat = leads["source"].isin(["wechat", "livestream"])
    assert leads.loc[on_wechat, "wechat_unionid"].notna().mean() > 0.7


def test_region_consistent_with_account(leads: pd.DataFrame) -> None:
    city = leads["city"].dropna().str.removesuffix("市")
    assert (city.groupby(leads.loc[city.index, "true_account_id"]).nunique() == 1).all()
    assert leads["province"].isin(["广东省"]).any() and leads["province"].isin(["广东"]).any()


def test_timestamps(leads: pd.DataFrame) -> None:
    created = leads["created_at"].map(_parse_timestamp)
    updated = leads["updated_at"].map(_parse_timestamp)
    assert (updated >= created).all()
    assert created.min() >= datetime(2022, 1, 1) and created.max() < datetime(2026, 1, 1)
    assert leads["created_at"].str.endswith("Z").any()
    assert leads["created_at"].str.contains("/").any()
    assert leads["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").any()


def test_load_sample_is_the_shipped_generator_output() -> None:
    sample = load_sample()
    assert SAMPLE_PATH.name == "sample_leads.csv" and SAMPLE_PATH.exists()
    assert list(sample.columns) == EXPECTED_COLUMNS
    assert len(sample) == 3000
    # If this fails, the generator changed: regenerate with
    # python -c "from linkage.datasets.generator import _write_sample; _write_sample()"
    pd.testing.assert_frame_equal(sample, generate_leads(3000, seed=42), check_dtype=False)


# Organization mode: the account list.

EXPECTED_ACCOUNT_COLUMNS = [
    "account_id", "company", "credit_code", "address", "city", "province", "phone", "website",
    "email", "industry", "owner", "source", "created_at", "true_account_id", "true_group_id",
]  # fmt: skip
LEGAL_FORM = r"集团有限公司$|股份有限公司$|有限责任公司$|有限公司$"


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    return generate_accounts(5000, seed=7)


CITY_PREFIX = re.compile(
    "^(?:北京|上海|深圳|广州|杭州|成都|武汉|南京|天津|重庆|苏州|西安|长沙|郑州|青岛|济南|厦门|福州"
    "|合肥|宁波|东莞|佛山|沈阳|大连|昆明|无锡)"
)


def _core(company: str) -> str:
    """The brand core: 华信科技 from 北京华信科技有限公司 or 华信科技(北京)分公司."""
    name = re.sub(r"[(（].*?[)）]", "", company)
    name = re.sub(r"(?:有限|股份|集团).*$|..分公司$", "", name)
    return CITY_PREFIX.sub("", name)


def test_account_columns_and_types(accounts: pd.DataFrame) -> None:
    assert list(accounts.columns) == EXPECTED_ACCOUNT_COLUMNS == list(ACCOUNT_COLUMNS)
    assert accounts["true_account_id"].dtype == np.int64
    assert accounts["true_group_id"].dtype == np.int64
    text = accounts.drop(columns=["true_account_id", "true_group_id"])
    for column in text.columns:
        assert all(isinstance(v, str) for v in text[column].dropna().tolist()), column
    assert accounts["account_id"].is_unique
    assert accounts["account_id"].str.fullmatch(r"A\d{7}").all()
    # Every header but the website and industry is one the role detector knows.
    roles = detect_roles(list(accounts.columns)).roles
    assert roles["record_id"] == "account_id"
    assert {"company", "credit_code", "address", "city", "province", "phone", "email"} <= set(roles)


def test_accounts_same_seed_same_frame() -> None:
    first = generate_accounts(2000, seed=11)
    pd.testing.assert_frame_equal(first, generate_accounts(2000, seed=11), check_exact=True)
    other = generate_accounts(2000, seed=12)
    assert (first["company"] != other["company"]).mean() > 0.5


def test_accounts_do_not_disturb_the_leads() -> None:
    before = generate_leads(500, seed=5)
    generate_accounts(500, seed=5)
    pd.testing.assert_frame_equal(before, generate_leads(500, seed=5), check_exact=True)
    # Same seed, its own stream: the two modes share no draws.
    assert generate_accounts(500, seed=5)["company"].iloc[0] != before["company"].iloc[0]


@pytest.mark.parametrize("n", [1, 2, 9, 60])
def test_accounts_exact_row_count(n: int) -> None:
    df = generate_accounts(n, seed=3)
    assert len(df) == n and list(df.columns) == EXPECTED_ACCOUNT_COLUMNS


def test_accounts_zero_rows_and_bad_arguments() -> None:
    empty = generate_accounts(0)
    assert list(empty.columns) == EXPECTED_ACCOUNT_COLUMNS and empty.empty
    with pytest.raises(ConfigError):
        generate_accounts(-1)
    with pytest.raises(ConfigError):
        generate_accounts("100")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [0, 1])
def test_accounts_truth_shape(seed: int) -> None:
    df = generate_accounts(5000, seed=seed)
    per_account = df["true_account_id"].value_counts()
    assert 2.0 <= per_account.mean() <= 3.0  # several records per account on average
    assert 0.35 <= (per_account == 1).mean() <= 0.55  # many singletons
    assert per_account.max() >= 6
    # An account belongs to one group; a group's id is its head office's account id.
    assert (df.groupby("true_account_id")["true_group_id"].nunique() == 1).all()
    heads = df.loc[df["true_group_id"] == df["true_account_id"], "true_account_id"]
    assert set(df["true_group_id"]) <= set(heads)


def test_accounts_rows_do_not_reveal_truth(accounts: pd.DataFrame) -> None:
    truth = accounts["true_account_id"].to_numpy()
    assert (truth[1:] == truth[:-1]).mean() < 0.01


def test_branches_and_subsidiaries_are_other_accounts_of_one_group(
    accounts: pd.DataFrame,
) -> None:
    accounts_per_group = accounts.groupby("true_group_id")["true_account_id"].nunique()
    assert (accounts_per_group > 1).sum() > 50
    assert (accounts_per_group > 2).sum() > 5  # some groups have several branches
    grouped = accounts[accounts["true_group_id"].isin(accounts_per_group[lambda s: s > 1].index)]
    # A group's accounts sit in different cities ...
    city = grouped["city"].dropna().str.removesuffix("市")
    cities = city.groupby(grouped.loc[city.index, "true_group_id"]).nunique()
    assert (cities > 1).mean() > 0.9
    # ... and share the brand: the same core name, different accounts.
    named = grouped.dropna(subset=["company"])
    named = named[~named["company"].str.contains("[A-Za-z]")]
    core_accounts = named.groupby(named["company"].map(_core))["true_account_id"].nunique()
    assert (core_accounts > 1).sum() > 30
    # Branches: 华信科技(上海)分公司 and 北京华信科技有限公司上海分公司 forms.
    branch = accounts.dropna(subset=["company"])
    branch = branch[branch["company"].str.endswith("分公司")]
    assert branch["company"].str.contains(r"\(..\)分公司$|（..）分公司$").any()
    assert branch["company"].str.contains(r"(?:有限公司|有限责任公司)..分公司$").any()
    assert (branch["true_account_id"] != branch["true_group_id"]).all()
    # The head office is an account of its own in the list.
    assert branch["true_group_id"].isin(accounts["true_account_id"]).all()
    # Group members often share the group's website: a website is not an account.
    site = (
        grouped["website"]
        .dropna()
        .str.lower()
        .str.replace(r"^(https?://)?(www\.)?", "", regex=True)
    )
    site_accounts = (
        grouped.loc[site.index].groupby(site.str.rstrip("/"))["true_account_id"].nunique()
    )
    assert (site_accounts > 1).sum() > 20


def test_same_brand_in_different_cities_are_unrelated_accounts(accounts: pd.DataFrame) -> None:
    named = accounts.dropna(subset=["company", "city"])
    named = named[~named["company"].str.contains("[A-Za-z]|分公司")]
    by_core = named.groupby(named["company"].map(_core))
    unrelated = by_core["true_group_id"].nunique()
    assert (unrelated > 1).sum() > 20  # e.g. 华信科技 in 北京 and in 深圳, different groups


def test_building_mates_share_an_address_or_a_switchboard(accounts: pd.DataFrame) -> None:
    def digits(value: str) -> str:
        return re.sub(r"\D", "", value.translate(FULLWIDTH_DIGITS))[-8:]

    phone = accounts["phone"].dropna().map(digits)
    phone_groups = phone.groupby(phone).apply(
        lambda s: accounts.loc[s.index, "true_group_id"].nunique()
    )
    assert (phone_groups > 1).sum() > 10  # one switchboard, unrelated companies
    address = accounts["address"].dropna()
    street = address.str.replace(r"^.*?市", "", regex=True).str.extract(r"^(.*?号)")[0]
    street_groups = accounts.loc[street.dropna().index].groupby(street.dropna())["true_group_id"]
    assert (street_groups.nunique() > 1).sum() > 30  # one building, unrelated companies
    exact = accounts.groupby(address)["true_account_id"].nunique()
    assert (exact > 1).sum() > 10  # registered at the very same address


def test_account_noise_families(accounts: pd.DataFrame) -> None:
    company = accounts["company"].dropna()
    t2s = opencc.OpenCC("t2s")
    assert (company.map(lambda s: t2s.convert(s) != s)).sum() > 20  # traditional characters
    assert company.str.contains("（").any() and company.str.contains(r"\(").any()
    assert company.str.contains(r"Co\.|CO\.").any() and company.str.contains("Branch").any()
    for form in ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司"):
        assert company.str.endswith(form).any(), form
    # Region prefix and parenthesised region for one account: 北京华信科技 / 华信科技(北京).
    one_account = accounts.dropna(subset=["company"]).groupby("true_account_id")["company"]
    assert (one_account.nunique() > 1).sum() > 300
    prefixed = company.str.match(r"^(北京|上海|深圳|广州|杭州)")
    bracketed = company.str.contains(r"[(（](?:北京|上海|深圳|广州|杭州)[)）]")
    assert prefixed.sum() > 100 and bracketed.sum() > 100
    assert accounts["address"].dropna().str.contains("[０-９]").any()  # full-width
    assert accounts["phone"].dropna().str.contains("[０-９]").any()
    # Typos: one account's Chinese names with one core character changed.
    cores = accounts.dropna(subset=["company"])
    cores = cores[~cores["company"].str.contains("[A-Za-z]|分公司")]
    core_names = cores.groupby("true_account_id")["company"].agg(
        lambda s: s.map(_core).map(t2s.convert).nunique()
    )
    assert (core_names > 1).sum() > 20
    # Missing fields everywhere, credit codes sometimes, mostly valid.
    assert 0.01 < accounts["company"].isna().mean() < 0.08
    codes = accounts["credit_code"].dropna()
    assert 0.5 < len(codes) / len(accounts) < 0.75
    assert codes.map(uscc.is_valid).mean() > 0.9
    for column in ("address", "city", "province", "phone", "website", "email", "industry"):
        assert 0.05 < accounts[column].isna().mean() < 0.45, column


def test_account_values_stay_consistent(accounts: pd.DataFrame) -> None:
    city = accounts["city"].dropna().str.removesuffix("市")
    assert (city.groupby(accounts.loc[city.index, "true_account_id"]).nunique() == 1).all()
    codes = accounts["credit_code"].dropna()
    good = accounts.loc[codes[codes.map(uscc.is_valid)].index]
    upper = good["credit_code"].str.upper()
    assert (
        good.groupby("true_account_id")["credit_code"].agg(lambda s: s.str.upper().nunique()) == 1
    ).all()
    assert (good.groupby(upper)["true_account_id"].nunique() == 1).all()  # branches have their own
    # Registry look-ups and ERP syncs carry the credit code; business cards rarely do.
    has_code = accounts["credit_code"].notna().groupby(accounts["source"]).mean()
    assert has_code["qichacha"] > 0.9 and has_code["trade_show"] < 0.5
