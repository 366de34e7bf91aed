"""The fast one-value path (``linkage.standardize._one``) gives the batch path's output.

A form check standardizes one record with :func:`linkage.standardize.derive_value`, which
takes the pure-Python path when it can and the batch code otherwise.  Equality is the
contract: on every distinct value of the shipped sample, the generator, the real data, hostile
values and random text, the fast path's columns equal those the batch functions give (the
frame path on the whole column, and the batch code on one value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.datasets import generate_leads, load_sample
from linkage.standardize import derive_value, is_missing, scalar_to_text, standardize_records
from linkage.standardize._one import derive_one
from linkage.standardize._records import derive_batch

# Role -> the generator's (and the sample's) column.
LEAD_COLUMNS = {
    "person_name": "name", "company": "company", "mobile": "mobile", "phone": "phone",
    "email": "email", "province": "province", "city": "city", "address": "address",
    "wechat_unionid": "wechat_unionid",
}  # fmt: skip
FAST_ROLES = tuple(LEAD_COLUMNS)


def _as_python(value: object) -> object:
    if isinstance(value, np.ndarray | list):
        return list(value)
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def assert_column_equal(role: str, values: list[object], country: str = "CN") -> int:
    """Fast path vs the frame's batch path on every distinct value; returns how many took
    the fast path."""
    texts = list(dict.fromkeys(scalar_to_text(v) for v in values))
    frame = standardize_records(
        pd.DataFrame({role: pd.Series(texts + [None], dtype=object)}), [role], country=country
    )
    fast_count = 0
    for i, text in enumerate(texts):
        fast = derive_one(role, text, country)
        if fast is None:
            continue
        fast_count += 1
        expected = {c: _as_python(frame.at[i, c]) for c, _v in fast}
        expected.update({c: False for c, _v in fast if c.endswith("_shared")})
        assert dict(fast) == expected, (role, text)
    return fast_count


@pytest.fixture(scope="module")
def sample_leads() -> pd.DataFrame:
    return load_sample()


@pytest.mark.parametrize("role", FAST_ROLES)
def test_sample_values_equal_batch(sample_leads: pd.DataFrame, role: str) -> None:
    column = LEAD_COLUMNS[role]
    assert assert_column_equal(role, sample_leads[column].tolist()) > 0


@pytest.mark.parametrize("role", FAST_ROLES)
def test_generated_values_equal_batch(role: str) -> None:
    leads = generate_leads(800)
    assert assert_column_equal(role, leads[LEAD_COLUMNS[role]].tolist()) > 0


@pytest.mark.slow
@pytest.mark.parametrize("role", FAST_ROLES)
def test_generated_5000_equal_batch(role: str) -> None:
    leads = generate_leads(5000)
    assert assert_column_equal(role, leads[LEAD_COLUMNS[role]].tolist()) > 0


@pytest.mark.slow
def test_real_values_equal_batch(shared) -> None:  # noqa: ANN001 - the conftest fixture
    sites = pd.read_csv(shared("real/chicago_early_childhood.csv"), dtype=str)
    for role, column in {
        "company": "Site name",
        "address": "Address",
        "phone": "Phone",
        "email": "Email Address",
        "person_name": "Center Director",
    }.items():
        for country in ("US", "CN") if role == "phone" else ("CN",):
            assert_column_equal(role, sites[column].tolist(), country)


HOSTILE = [
    None,
    "",
    " ",
    float("nan"),
    "nan",
    "无",
    "--",
    "N/A",
    "　",
    "\t13800138000\n",
    "１３８００１３８０００",
    "＋８６　１３８－００１３－８０００",
    "138 0013 8000 转 123",
    "0755-23456789-801",
    "0755-23456789/801",
    "010 12345678",
    "12345678",
    "2653830",
    "1.38001380E+10",
    "13800138000.0",
    "13800000000",
    "+1 (617) 495-1000",
    "+44 20 7946 0123",
    "00852 2123 4567",
    "138001380001380013800",
    "13800138000;13900139000",
    "（北京）华信科技有限公司",
    "華信科技（北京）有限公司",
    "北京華信科技有限公司分公司",
    "Beijing Huaxin Technology Co., Ltd.",
    "The Procter & Gamble Company",
    "Société Générale",
    "ＡＢＣ有限公司",
    "个人",
    "xxx",
    "123456",
    "有限公司",
    "北京",
    "【上海】某某贸易有限公司",
    "TEST@QQ.COM",
    "mailto:<a.b@example.com>",
    "张三@公司.中国",
    "a@qq.con",
    "x" * 70 + "@a.com",
    "浙江省杭州市拱墅区文一西路21号B座3层",
    "邮编310000 杭州市文三路28号",
    "文三路28号 310000",
    "316 North Pulaski Road",
    "Flat 3, 27 Baker Street, London NW1 6XE",
    "臺北市中山區",
    "\ud800abc",
    "abc\udfff",
    "a\u0301",
    "İstanbul",
    "ß",
    "\u200b13800138000\ufeff",
    "张" * 5000,
    "1" * 10000,
    "华信 (北京) 科技",
    "ｏＷＸ1234567890abcdefghij",
    "o" * 28,
    "黑龍江",
    "Guangdong",
    "內蒙古自治區",
    "马 晶",
    "Wang Wei",
    "王先生",
    "Dr. John Smith",
]


@pytest.mark.parametrize("role", FAST_ROLES)
@pytest.mark.parametrize("country", ["CN", "US", "GB"])
def test_hostile_values_equal_batch(role: str, country: str) -> None:
    if country != "CN" and role not in ("mobile", "phone"):
        pytest.skip("only phones read the country")
    for value in HOSTILE:
        text = scalar_to_text(value)
        fast = derive_one(role, text, country)
        if fast is not None:
            assert fast == derive_batch(role, text, country), (role, value)
    assert_column_equal(role, [v for v in HOSTILE if "\ud800" not in str(v)
                               and "\udfff" not in str(v)], country)  # fmt: skip


def test_unsafe_characters_take_the_batch_path() -> None:
    for text in ("\ud800abc", "a\u0301", "İstanbul", "\u200b138", "line\nbreak", "＂x＂\u00a0"):
        assert derive_one("company", text, "CN") is None


def test_derive_value_uses_the_fast_path_and_stays_cached() -> None:
    derive_value.cache_clear()
    assert derive_value("mobile", "+86 138 0013 8000", "cn") == derive_batch(
        "mobile", "+86 138 0013 8000", "CN"
    )
    assert derive_value.cache_info().currsize == 1


_ALPHABET = st.sampled_from(
    list("0123456789+-()# .,@_/&xX转分机号")
    + list("北京华信科技有限公司路号座层省市區東")
    + list("abcdefghijklmnopqrstuvwxyzABCZ")
    + list("１２（）＠　，。")
    + ["\u00e9", "\u0301"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(_ALPHABET, max_size=30) | st.text(max_size=12),
       role=st.sampled_from(FAST_ROLES), country=st.sampled_from(["CN", "US", "HK"]))  # fmt: skip
def test_random_text_equals_batch(text: str, role: str, country: str) -> None:
    fast = derive_one(role, text, country)
    if fast is not None:
        assert fast == derive_batch(role, text, country)
