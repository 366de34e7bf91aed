"""CRM comparisons: which comparison each role gets, its levels in order, and the level real
pairs land on when scored through splink and DuckDB (``result.pairs``' ``gamma_*``)."""

from __future__ import annotations

import pandas as pd
import pytest
import splink.comparison_level_library as cll
import splink.comparison_library as cl

import linkage
from linkage import ConfigError
from linkage.comparisons import (
    default_comparisons,
    last_name_comparison,
    mobile_comparison,
    person_name_comparison,
)

TRUTH = ["true_person_id", "true_account_id"]
SAMPLE_ROLES = {
    "record_id",
    "company",
    "credit_code",
    "person_name",
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
}


def _labels(comparison: dict) -> list[str]:
    """Level labels of a comparison (as splink serializes it), null level first."""
    return [
        "null" if level.get("is_null_level") else level.get("label_for_charts")
        for level in comparison["comparison_levels"]
    ]


def _as_dict(comparison) -> dict:
    return comparison.get_comparison("duckdb").as_dict()


def _gamma_to_label(model: linkage.LinkageModel, name: str) -> dict[int, str]:
    """gamma value -> level label. splink numbers a comparison's levels from the top: the
    null level is -1, the first other level n-1, ... "anything else" 0."""
    comparison = next(c for c in model.settings_["comparisons"] if c["output_column_name"] == name)
    labels = _labels(comparison)
    others = [label for label in labels if label != "null"]
    return {-1: "null", **{len(others) - 1 - i: label for i, label in enumerate(others)}}


# -- which comparison for which role --------------------------------------------------------


def test_the_sample_roles_get_one_comparison_each_and_one_for_the_account() -> None:
    comparisons = default_comparisons(SAMPLE_ROLES)
    assert set(comparisons) == {
        "account",
        "person_name",
        "mobile",
        "phone",
        "email",
        "wechat_unionid",
    }
    # company, credit code, address and city are judged inside the account comparison only
    account = _labels(_as_dict(comparisons["account"]))
    for level in (
        "Exact match on credit_code_clean",
        "same company and address",
        "same company",
        "Exact match on address_clean",
        "same switchboard",
        "Exact match on city_clean",
    ):
        assert level in account


def test_account_levels_follow_the_fields_present() -> None:
    # no address, no switchboard, no city: only the company and credit code levels
    account = _labels(_as_dict(default_comparisons({"company", "credit_code"})["account"]))
    assert account == [
        "null",
        "Exact match on credit_code_clean",
        "same company",
        "Damerau-Levenshtein distance of credit_code_clean <= 1",
        "same company name, different region",
        "Jaro-Winkler distance of company_core >= 0.9",
        "All other comparisons",
    ]


def test_without_a_company_city_and_province_form_a_location_comparison() -> None:
    comparisons = default_comparisons({"person_name", "mobile", "city", "province", "address"})
    assert set(comparisons) == {"person_name", "mobile", "location", "address"}
    assert _labels(_as_dict(comparisons["location"])) == [
        "null",
        "Exact match on city_clean",
        "Exact match on province_clean",
        "All other comparisons",
    ]
    city_only = default_comparisons({"mobile", "city"})["location"]
    assert "Exact match on province_clean" not in _labels(_as_dict(city_only))


def test_a_full_name_makes_first_and_last_name_comparisons_redundant() -> None:
    both = default_comparisons({"person_name", "first_name", "last_name", "mobile"})
    assert set(both) == {"person_name", "mobile"}
    parts = default_comparisons({"first_name", "last_name", "mobile"})
    assert {"first_name", "last_name"} <= set(parts) and "person_name" not in parts
    # first and last name swapped between records is checked right after an exact match
    assert _labels(_as_dict(last_name_comparison()))[1:3] == [
        "Exact match on last_name_clean",
        "first and last name swapped",
    ]


def test_mobile_and_person_name_levels_in_order() -> None:
    assert _labels(_as_dict(mobile_comparison())) == [
        "null",
        "Exact match on mobile_e164",
        "same last 8 digits",
        "Damerau-Levenshtein distance of mobile_e164 <= 1",
        "All other comparisons",
    ]
    assert _labels(_as_dict(person_name_comparison())) == [
        "null",
        "Exact match on person_name_clean",
        "Exact match on person_name_key",
        "same pinyin, another reading",
        "honorific, same surname",
        "pinyin Jaro-Winkler >= 0.88",
        "All other comparisons",
    ]


def test_the_email_reads_the_name_only_when_the_data_has_one() -> None:
    with_name = _labels(_as_dict(default_comparisons({"person_name", "email"})["email"]))
    assert with_name[:4] == [
        "null",
        "Exact match on email_clean",
        "null",  # same local part, only the name: no evidence beyond the name
        "same local part",
    ]
    split = _labels(_as_dict(default_comparisons({"first_name", "last_name", "email"})["email"]))
    assert split == with_name
    alone = _labels(_as_dict(default_comparisons({"mobile", "email"})["email"]))
    assert alone == [label for i, label in enumerate(with_name) if i != 2]


def test_a_comparison_for_no_column_at_all_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no comparisons"):
        default_comparisons({"record_id", "source", "owner"})


# -- levels of real pairs, scored with the model trained on the sample ------------------------

# One block (every record has province 广东; no comparison reads the province when a
# company is present), so every pair of these records is scored.
ONE_BLOCK = [linkage.BlockingRule("one_block", ("province_clean",), ("province",))]
CRAFTED = [
    # mobile
    {"lead_id": "M1", "mobile": "13905713682"},
    {"lead_id": "M2", "mobile": "+86 139-0571-3682"},
    {"lead_id": "M3", "mobile": "15905713682"},  # other carrier prefix, same last 8 digits
    {"lead_id": "M4", "mobile": "13905713628"},  # last two digits swapped
    {"lead_id": "M5", "mobile": "18622334491"},
    {"lead_id": "M6", "mobile": "13800000000"},  # a placeholder
    {"lead_id": "M7", "mobile": "１３９０５７１３６８２"},  # full-width digits
    {"lead_id": "M8", "mobile": 13905713682.0},  # read by a spreadsheet as a float
    # person name
    {"lead_id": "N1", "name": "张伟"},
    {"lead_id": "N2", "name": "張偉"},
    {"lead_id": "N3", "name": "Zhang Wei"},
    {"lead_id": "N4", "name": "WEI ZHANG"},
    {"lead_id": "N5", "name": "张玮"},  # a homophone typed through a pinyin IME
    {"lead_id": "N6", "name": "张先生"},
    {"lead_id": "N7", "name": "庄伟"},
    {"lead_id": "N8", "name": "李娜"},
    {"lead_id": "N9", "name": "单伟"},  # 单: shan as a surname, dan otherwise
    {"lead_id": "N10", "name": "Dan Wei"},
    {"lead_id": "N11", "name": "曾志强"},  # 曾: zeng as a surname, ceng otherwise
    {"lead_id": "N12", "name": "Ceng Zhiqiang"},
    # email
    {"lead_id": "E1", "email": "zhangwei@huaxin.com"},
    {"lead_id": "E2", "email": " ZhangWei@HuaXin.com "},
    {"lead_id": "E3", "email": "zhangwei@qq.com"},
    {"lead_id": "E4", "email": "zhangwie@huaxin.com"},
    {"lead_id": "E5", "email": "lina@huaxin.com"},  # a colleague at the same domain
    {"lead_id": "E6", "email": "test@test.com"},  # a placeholder
    # email beside a name: two 冯华 at two companies (issue 13)
    {"lead_id": "E7", "name": "冯华", "email": "fenghua@anrui.cn"},
    {"lead_id": "E8", "name": "冯华", "email": "FENGHUA@dinghaicheng.cn"},
    {"lead_id": "E9", "name": "Hua Feng", "email": "feng.h@anrui.cn"},
    {"lead_id": "E10", "name": "冯华", "email": "feng.h@qq.com"},
    {"lead_id": "E11", "name": "冯华", "email": "fenghua85@anrui.cn"},
    {"lead_id": "E12", "name": "冯华", "email": "fenghua85@qq.com"},
    {"lead_id": "E13", "email": "fenghua@qq.com"},  # no name
    {"lead_id": "E14", "name": "冯华", "email": "fenghua@dinghaichegn.cn"},  # a domain typo
    # account
    {"lead_id": "C1", "company": "华信科技(北京)有限公司", "credit_code": "91320104675449383D"},
    {"lead_id": "C2", "company": "北京華信科技有限公司"},
    {"lead_id": "C3", "company": "华信科技(上海)有限公司"},
    {"lead_id": "C4", "company": "宏达贸易有限公司", "credit_code": "91320104675449383D"},
    {"lead_id": "C5", "company": "远景物流有限公司", "credit_code": "91320104675449384D"},
    {"lead_id": "C6", "company": "华信科技发展有限公司"},
    {"lead_id": "C7", "company": "金桥建材有限公司", "address": "海淀区中关村大街1号"},
    {"lead_id": "C8", "company": "天成食品有限公司", "address": "海淀区中关村大街1号"},
    {"lead_id": "C9", "company": "金桥建材有限公司", "address": "海淀区中关村大街1号"},
    {"lead_id": "C10", "company": "瑞丰电子有限公司", "phone": "010-62345678"},
    {"lead_id": "C11", "company": "博远咨询有限公司", "phone": "(010) 6234 5678"},
    {"lead_id": "C12", "company": "青松印刷有限公司", "city": "苏州市"},
    {"lead_id": "C13", "company": "蓝海传媒有限公司", "city": "苏州"},
    {"lead_id": "C14", "company": "青山环保有限公司"},
    # two colleagues: every account field the same, two different people
    *(
        {
            "lead_id": lead,
            "name": name,
            "mobile": mobile,
            "email": email,
            "company": "杭州云帆网络科技有限公司",
            "credit_code": "91350214734112394X",
            "address": "西湖区文三路90号5层",
            "phone": "0571-87654321",
            "city": "杭州市",
        }
        for lead, name, mobile, email in (
            ("K1", "王芳", "13757112046", "wangfang@yunfan.cn"),
            ("K2", "刘洋", "18968034517", "liuyang@yunfan.cn"),
        )
    ),
]


@pytest.fixture(scope="module")
def crafted(sample, sample_result) -> tuple[pd.DataFrame, linkage.LinkageModel]:
    """Every pair of the crafted records, scored by the sample's model (no training)."""
    columns = [c for c in sample.columns if c not in TRUTH]
    records = pd.DataFrame(CRAFTED).reindex(columns=columns).assign(province="广东")
    result = linkage.link(records, model=sample_result.model, blocking_rules=ONE_BLOCK)
    n = len(records)
    assert len(result.pairs) == n * (n - 1) // 2  # one block: every pair scored
    return result.pairs, sample_result.model


def _level(crafted, name: str, left: str, right: str) -> str:
    pairs, model = crafted
    row = pairs[
        ((pairs["lead_id_l"] == left) & (pairs["lead_id_r"] == right))
        | ((pairs["lead_id_l"] == right) & (pairs["lead_id_r"] == left))
    ]
    assert len(row) == 1, (left, right)
    return _gamma_to_label(model, name)[int(row[f"gamma_{name}"].iloc[0])]


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("M1", "M2", "Exact match on mobile_e164"),
        ("M1", "M7", "Exact match on mobile_e164"),
        ("M1", "M8", "Exact match on mobile_e164"),
        ("M1", "M3", "same last 8 digits"),
        ("M1", "M4", "Damerau-Levenshtein distance of mobile_e164 <= 1"),
        ("M3", "M4", "All other comparisons"),  # other prefix *and* a swap: two edits
        ("M1", "M5", "All other comparisons"),
        ("M1", "M6", "null"),  # a placeholder is no evidence either way
    ],
)
def test_mobile_levels_of_real_pairs(crafted, left, right, level) -> None:
    assert _level(crafted, "mobile", left, right) == level


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("N1", "N2", "Exact match on person_name_clean"),  # traditional characters
        ("N1", "N3", "Exact match on person_name_key"),  # 张伟 ~ Zhang Wei
        ("N1", "N4", "Exact match on person_name_key"),  # any order and case
        ("N3", "N4", "Exact match on person_name_key"),
        ("N1", "N5", "Exact match on person_name_key"),  # homophone 玮
        ("N9", "N10", "same pinyin, another reading"),  # 单 read dan
        ("N11", "N12", "same pinyin, another reading"),  # 曾 read ceng
        ("N1", "N6", "honorific, same surname"),  # 张先生 might be 张伟
        ("N1", "N7", "pinyin Jaro-Winkler >= 0.88"),  # zhang / zhuang
        ("N1", "N8", "All other comparisons"),
        ("N6", "N8", "All other comparisons"),  # 张先生 is not 李娜
    ],
)
def test_person_name_levels_of_real_pairs(crafted, left, right, level) -> None:
    assert _level(crafted, "person_name", left, right) == level


def test_chinese_and_pinyin_forms_of_a_name_agree_at_a_high_level(crafted) -> None:
    """张伟 vs Zhang Wei is the second-best name level, above any fuzzy level."""
    labels = _gamma_to_label(crafted[1], "person_name")
    by_label = {label: gamma for gamma, label in labels.items()}
    pairs = crafted[0]
    pinyin = pairs[(pairs["lead_id_l"] == "N1") & (pairs["lead_id_r"] == "N3")]
    gamma = int(pinyin["gamma_person_name"].iloc[0])
    assert gamma == max(labels) - 1
    assert gamma > by_label["pinyin Jaro-Winkler >= 0.88"] > by_label["All other comparisons"]
    # ... and the trained model weighs it as evidence for a match
    params = crafted[1].parameters()
    weight = params[(params["comparison"] == "person_name") & (params["level"] == labels[gamma])][
        "match_weight"
    ].iloc[0]
    assert weight > 0


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("E1", "E2", "Exact match on email_clean"),  # case and spaces
        ("E1", "E3", "same local part"),  # work and private address
        ("E1", "E4", "local part Jaro-Winkler >= 0.88, same domain"),  # a typo
        ("E1", "E5", "All other comparisons"),  # a colleague: same domain is no evidence
        ("E1", "E6", "null"),
        # a local part spelled from both records' name is the name's evidence, counted
        # once by the name comparison: no evidence here
        ("E7", "E8", "null"),
        ("E9", "E10", "null"),  # initials, any order, any script of the name
        ("E11", "E12", "same local part"),  # digits the name does not explain
        ("E7", "E13", "same local part"),  # no name on one side: the email is the name
        ("E8", "E14", "same local part"),  # one mailbox, its company domain mistyped
    ],
)
def test_email_levels_of_real_pairs(crafted, left, right, level) -> None:
    assert _level(crafted, "email", left, right) == level


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("C1", "C4", "Exact match on credit_code_clean"),  # other names, one company
        ("C7", "C9", "same company and address"),
        ("C1", "C2", "same company"),  # region in brackets or in front, traditional
        ("C1", "C5", "Damerau-Levenshtein distance of credit_code_clean <= 1"),
        ("C7", "C8", "Exact match on address_clean"),
        ("C10", "C11", "same switchboard"),
        ("C1", "C6", "Jaro-Winkler distance of company_core >= 0.9"),
        ("C12", "C13", "Exact match on city_clean"),  # 苏州市 ~ 苏州
        ("C1", "C14", "All other comparisons"),
        ("N1", "N2", "null"),  # no account field on either side
    ],
)
def test_account_levels_of_real_pairs(crafted, left, right, level) -> None:
    assert _level(crafted, "account", left, right) == level


def test_a_namesake_in_another_region_gets_its_own_level(crafted) -> None:
    assert _level(crafted, "account", "C1", "C3") == "same company name, different region"


def test_colleagues_sharing_every_account_field_count_the_account_once(crafted) -> None:
    pairs, model = crafted
    # one account column, none for the fields inside it
    gammas = {c for c in pairs.columns if c.startswith("gamma_")}
    assert "gamma_account" in gammas
    assert not gammas & {
        "gamma_company",
        "gamma_credit_code",
        "gamma_address",
        "gamma_city",
    }
    assert _level(crafted, "account", "K1", "K2") == "Exact match on credit_code_clean"
    colleagues = pairs[(pairs["lead_id_l"] == "K1") & (pairs["lead_id_r"] == "K2")].iloc[0]
    assert colleagues["decision"] != "auto_merge"  # two people, not one


# -- overrides -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def overridden(sample):
    return linkage.link(
        sample,
        seed=0,
        comparisons={"email": cl.ExactMatch("email_clean"), "wechat_unionid": None},
    )


def test_an_override_replaces_the_default_and_none_drops_one(overridden, sample_result) -> None:
    assert "wechat_unionid" not in overridden.model.comparison_names
    assert "gamma_wechat_unionid" not in overridden.pairs.columns
    assert "gamma_wechat_unionid" in sample_result.pairs.columns
    email = next(
        c for c in overridden.model.settings_["comparisons"] if c["output_column_name"] == "email"
    )
    assert len(email["comparison_levels"]) == 3  # null / exact / else
    assert set(overridden.pairs["gamma_email"]) <= {-1, 0, 1}


def test_an_override_scores_real_pairs_with_its_own_levels(overridden, sample_result) -> None:
    """The same pairs under both models: exact emails agree in both, the default's partial
    levels (same local part, a typo) are 'anything else' under a plain exact match."""
    keys = ["lead_id_l", "lead_id_r"]  # the sample's id column, lead_id
    both = sample_result.pairs[[*keys, "gamma_email"]].merge(
        overridden.pairs[[*keys, "gamma_email"]], on=keys, suffixes=("_default", "_exact")
    )
    assert len(both) == len(sample_result.pairs)  # same blocking, same pairs
    exact = _gamma_to_label(sample_result.model, "email")
    default_level = both["gamma_email_default"].map(exact)
    # the default's null levels: an email missing (null under both), or a local part that
    # is only the name (two addresses: "anything else" under an exact match)
    assert (both.loc[default_level == "null", "gamma_email_exact"] <= 0).all()
    assert (both.loc[both["gamma_email_exact"] == -1, "gamma_email_default"] == -1).all()
    assert (both.loc[default_level == "Exact match on email_clean", "gamma_email_exact"] == 1).all()
    partial = default_level.isin(
        ["same local part", "local part Jaro-Winkler >= 0.88, same domain"]
    )
    assert partial.any()
    assert (both.loc[partial, "gamma_email_exact"] == 0).all()


def test_an_override_of_the_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"comparisons\['mobile'\] must be a splink comparison"):
        default_comparisons({"mobile", "person_name"}, {"mobile": "exact"})
    # a comparison *level* is a common slip for a comparison
    with pytest.raises(ConfigError, match="ComparisonLevel|not .*Level"):
        default_comparisons({"mobile"}, {"mobile": cll.ExactMatchLevel("mobile_e164")})


def test_link_refuses_a_wrong_override_before_training(sample) -> None:
    with pytest.raises(ConfigError, match=r"comparisons\['email'\]"):
        linkage.link(sample.head(200), comparisons={"email": ["email_clean"]})


def _edits(text: str, rng) -> list[str]:
    """Every string one edit from ``text`` at a random position of each kind, and a few
    two edits away."""
    alphabet = "0123456789X华信科"
    out = []
    for _ in range(3):
        i = int(rng.integers(0, len(text) + 1))
        c = alphabet[int(rng.integers(0, len(alphabet)))]
        out.append(text[:i] + c + text[i:])  # insertion
        if text:
            j = min(i, len(text) - 1)
            out.append(text[:j] + text[j + 1 :])  # deletion
            out.append(text[:j] + c + text[j + 1 :])  # substitution
            if j + 1 < len(text):
                out.append(text[:j] + text[j + 1] + text[j] + text[j + 2 :])  # swap
    out.append(out[0][:1] + out[-1][1:])  # usually two edits
    return out


def test_the_one_edit_level_is_exactly_splinks_damerau_levenshtein_level() -> None:
    """The filter in front of the distance must never change a level: checked against
    splink's own level on strings one and two edits apart at every length around the
    filter's bounds (E.164 mobiles, 18-character codes), Chinese text included."""
    import duckdb
    import numpy as np

    from linkage.comparisons import _one_edit_level

    rng = np.random.default_rng(15)
    pairs = []
    for length in range(0, 21):
        for _ in range(60):
            text = "".join(rng.choice(list("0123456789华")) for _ in range(length))
            pairs += [(text, other) for other in _edits(text, rng)]
            pairs.append((text, "".join(rng.choice(list("0123")) for _ in range(length))))
    frame = pd.DataFrame(pairs, columns=["c_l", "c_r"])
    ours = _one_edit_level("c").get_comparison_level("duckdb").sql_condition
    splinks = cll.DamerauLevenshteinLevel("c", 1).get_comparison_level("duckdb").sql_condition
    con = duckdb.connect()
    con.register("pairs", frame)
    got = con.sql(f"SELECT ({ours}) AS ours, ({splinks}) AS splinks, c_l, c_r FROM pairs").df()
    assert got["splinks"].sum() > len(frame) // 3  # most pairs are one edit apart
    assert (~got["splinks"]).sum() > 1000
    differ = got[got["ours"] != got["splinks"]]
    assert differ.empty, differ.head()
