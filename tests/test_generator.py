"""Tests for the synthetic lead generator and the shipped sample."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import opencc
import pandas as pd
import pytest
from stdnum.cn import uscc

from linkage.datasets import SAMPLE_PATH, generate_leads, load_sample
from linkage.datasets.generator import COLUMNS
from linkage.errors import ConfigError

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
