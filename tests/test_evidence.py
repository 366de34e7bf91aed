"""Evidence counted once (issue 13): a namesake at another company is not auto-merged.

冯华 at 宁波鼎海诚新能源 (``fenghua@dinghaicheng.cn``) and 冯华 at 安睿信息技术(苏州)
(``FENGHUA@ANRUI.CN``), with different mobiles, agree on the name and on an email local
part that is nothing but the name in pinyin. Counted as two independent pieces of
evidence, they merged at a positive weight, both in ``link`` and in the record store's
checks. Here they sit among realistic generated leads, in one city, as in the report.
"""

from __future__ import annotations

import pandas as pd
import pytest

import linkage
from linkage.datasets import generate_leads
from linkage.decisions import Thresholds

TRUTH = ["true_person_id", "true_account_id"]
FENG_HUA = [
    {
        "lead_id": "X0000001",
        "name": "冯华",
        "mobile": "+86 180 5741 2296",
        "company": "宁波鼎海诚新能源有限公司",
        "email": "fenghua@dinghaicheng.cn",
        "province": "江苏省",
        "city": "苏州市",
    },
    {
        "lead_id": "X0000002",
        "name": "冯华",
        "mobile": "+86 139 6271 8354",
        "company": "安睿信息技术(苏州)有限公司",
        "email": "FENGHUA@ANRUI.CN",
        "province": "江苏省",
        "city": "苏州市",
    },
]
# A third 冯华, checked against the store on a form.
FORM = {
    "name": "冯华",
    "mobile": "+86 158 0623 4471",
    "company": "苏州博远精密机械有限公司",
    "email": "fenghua@boyuanjx.com",
    "city": "苏州市",
}


@pytest.fixture(scope="module")
def linked() -> linkage.LinkResult:
    leads = generate_leads(1000, seed=1).drop(columns=TRUTH)
    return linkage.link(pd.concat([leads, pd.DataFrame(FENG_HUA)], ignore_index=True))


def _pair(result: linkage.LinkResult, left: str, right: str) -> pd.Series:
    pairs = result.pairs
    ids = {left, right}
    row = pairs[pairs["lead_id_l"].isin(ids) & pairs["lead_id_r"].isin(ids)]
    assert len(row) == 1, "blocking should propose two records sharing a name"
    return row.iloc[0]


def test_link_does_not_merge_a_namesake_at_another_company(linked) -> None:
    pair = _pair(linked, "X0000001", "X0000002")
    assert pair["decision"] != "auto_merge", pair
    entities = linked.entities.set_index("lead_id")["entity_id"]
    assert entities["X0000001"] != entities["X0000002"]


def test_a_store_check_does_not_merge_a_namesake_at_another_company(linked, tmp_path) -> None:
    store = linkage.RecordStore.build(linked, tmp_path / "crm.linkage")
    try:
        answer = store.check_one(FORM)
    finally:
        store.close()
    assert answer.decision != "auto_merge", answer


def test_the_email_local_part_spelled_from_the_name_adds_no_evidence(linked) -> None:
    """The email falls on a null level: the name comparison already counted it."""
    pair = _pair(linked, "X0000001", "X0000002")
    assert pair["gamma_email"] == -1


def test_the_saved_policy_caps_a_namesake_in_link_and_in_the_store(linked, tmp_path) -> None:
    """Whatever the weights: under thresholds so low that every pair scores above
    auto_merge, the namesake rule (saved with the model's policy) holds the pair at
    review, in ``link`` and in a store check alike."""
    low = Thresholds(review=-60, auto_merge=-50)
    result = linked.redecide(thresholds=low, recluster=False)
    pair = _pair(result, "X0000001", "X0000002")
    assert (pair["decision"], pair["reason"].split(":")[0]) == ("review", "namesake_elsewhere")
    store = linkage.RecordStore.build(result, tmp_path / "crm.linkage")
    try:
        assert store.model.policy.thresholds == low
        candidates = store.check_one(FORM).candidates
    finally:
        store.close()
    entities = result.entities.set_index("lead_id")["entity_id"]
    feng_hua = candidates[candidates["entity_id"].isin(entities[["X0000001", "X0000002"]])]
    assert len(feng_hua) == 2, candidates
    assert (feng_hua["decision"] == "review").all(), feng_hua
    assert feng_hua["reason"].str.startswith("namesake_elsewhere").all(), feng_hua
