"""The merge workflow on a project file: golden records picked by survivorship, lineage and
the merge log, a customer's history, and undo (take_out, split) and erasure (forget) as they
hold on later runs.

One customer, 欧阳娜娜, is added to 600 leads of the shipped sample three times, so every
survivorship pick below can be worked out by hand from ``linkage.survivorship.DEFAULT_RULES``.
(What test_review.py and test_survivorship.py already cover is not repeated here.)
"""

from __future__ import annotations

import pandas as pd
import pytest

import linkage
from linkage import ConfigError

TRUTH = ["true_person_id", "true_account_id"]

# Three leads of one customer. X2 is the latest update; X3 came through WeChat with a
# pinyin name, a +86 number and a mistyped email.
OUYANG = [
    {
        "lead_id": "X1",
        "name": "欧阳娜娜",
        "mobile": "13905713682",
        "email": "ouyang@huaxin.com",
        "company": "华信科技有限公司",
        "source": "web_form",
        "created_at": "2023-01-05 09:00:00",
        "updated_at": "2023-01-05 09:30:00",
        "owner": "李娜",
    },
    {
        "lead_id": "X2",
        "name": "欧阳娜娜",
        "mobile": "139 0571 3682",
        "email": "nana.ouyang@huaxin.com",
        "company": "华信科技有限公司",
        "source": "trade_show",
        "created_at": "2023-03-01 10:00:00",
        "updated_at": "2023-06-01 10:00:00",
        "owner": "王强",
    },
    {
        "lead_id": "X3",
        "name": "Ouyang Nana",
        "mobile": "+86 13905713682",
        "email": "ouyang@@huaxin",
        "company": "華信科技有限公司",
        "source": "wechat",
        "created_at": "2023-02-01 08:00:00",
        "updated_at": "2023-02-02 08:00:00",
    },
]


@pytest.fixture(scope="module")
def records(sample) -> pd.DataFrame:
    base = sample.head(600).drop(columns=TRUTH)
    return pd.concat([base, pd.DataFrame(OUYANG)], ignore_index=True)


@pytest.fixture(scope="module")
def linked(records, tmp_path_factory):
    """A project file after one run; the result is only read, never undone."""
    path = tmp_path_factory.mktemp("workflow") / "crm.linkage"
    return path, linkage.link(records, queue=path, seed=0)


@pytest.fixture
def fresh(records, linked, tmp_path):
    """A project file of its own (scored with the trained model: no retraining), for tests
    that undo or erase."""
    path = tmp_path / "crm.linkage"
    return path, linkage.link(records, queue=path, model=linked[1].model)


def _entity_of(result: linkage.LinkResult) -> dict[str, str]:
    return dict(zip(result.entities["lead_id"], result.entities["entity_id"]))


def _golden_of(result: linkage.LinkResult, record: str) -> pd.Series:
    golden = result.golden.set_index("entity_id")
    return golden.loc[_entity_of(result)[record]]


# -- golden records -----------------------------------------------------------------------


def test_the_three_leads_are_one_entity_named_after_its_first_record(linked) -> None:
    _, result = linked
    entity = _entity_of(result)
    assert entity["X1"] == entity["X2"] == entity["X3"] == "X1"
    golden = _golden_of(result, "X1")
    assert golden["n_records"] == 3
    assert sorted(golden["record_ids"]) == ["X1", "X2", "X3"]


def test_survivorship_picks_each_field_by_its_rule(linked) -> None:
    golden = _golden_of(linked[1], "X1")
    # person_name: most_frequent -> 欧阳娜娜 (X1 and X2) over Ouyang Nana (X3)
    assert golden["person_name"] == "欧阳娜娜"
    # email: valid_first drops X3's ouyang@@huaxin, most_recent picks X2 (updated in June)
    assert golden["email"] == "nana.ouyang@huaxin.com"
    # mobile: all three valid, most_recent -> X2, as the CRM wrote it (never overwritten) ...
    assert golden["mobile"] == "139 0571 3682"
    # ... and the list of numbers holds the one number they share, standardized
    assert list(golden["mobile_all"]) == ["+8613905713682"]
    # created_at and source: earliest -> X1, the first touch came through the web form
    assert golden["created_at"] == "2023-01-05 09:00:00"
    assert golden["source"] == "web_form"
    assert sorted(golden["source_all"]) == ["trade_show", "web_form", "wechat"]
    # updated_at: most_recent -> X2
    assert golden["updated_at"] == "2023-06-01 10:00:00"


def test_every_golden_value_names_its_record_and_rule(linked) -> None:
    _, result = linked
    fields = result.lineage.of("X1").fields
    chosen = fields[fields["chosen"]].set_index("field")
    expected = {
        "person_name": "X2",  # a tie between X1 and X2 falls to the most recent record
        "email": "X2",
        "mobile": "X2",
        "created_at": "X1",
        "source": "X1",
        "updated_at": "X2",
    }
    for field, record in expected.items():
        assert chosen.loc[field, "record_id"] == record, field
        assert chosen.loc[field, "rule"].startswith(f"{field}:")
    assert chosen.index.is_unique  # one chosen value per field
    # every value of every record is there, the ones that lost included
    assert set(fields["record_id"]) == {"X1", "X2", "X3"}
    assert ("X3", "email", "ouyang@@huaxin") in set(
        zip(fields["record_id"], fields["field"], fields["value"])
    )


def test_lineage_and_merge_log_name_every_record(linked, records) -> None:
    _, result = linked
    fields = result.lineage.fields
    assert set(fields["record_id"]) == set(records["lead_id"])  # every record has values
    log = result.lineage.merge_log
    sizes = result.entities["entity_id"].value_counts()
    for entity in sizes[sizes > 1].index:
        members = set(result.entities.loc[result.entities["entity_id"] == entity, "lead_id"])
        built = log[(log["entity_id"] == entity) & log["event"].isin(["auto_merged"])]
        named = set(built["lead_id_l"]) | set(built["lead_id_r"])
        assert named == members, entity  # the links reach every record of the entity
    ouyang = log[log["entity_id"] == "X1"]
    assert len(ouyang) == 2  # two links join three records
    assert (ouyang["match_probability"] > 0.99).all()


def test_history_tells_the_customers_story_in_time_order(linked) -> None:
    history = linked[1].history("X1")
    # created 5 January (web form), 1 February (WeChat), 1 March (trade show)
    assert history["lead_id"].tolist() == ["X1", "X3", "X2"]
    assert history["source"].tolist() == ["web_form", "wechat", "trade_show"]
    assert history["person_name"].tolist() == ["欧阳娜娜", "Ouyang Nana", "欧阳娜娜"]
    assert (history["entity_id"] == "X1").all()


# -- undo ---------------------------------------------------------------------------------


def test_take_out_returns_a_new_result_and_the_entity_follows(fresh) -> None:
    path, first = fresh
    second = first.take_out("X3", reviewer="li.na", note="the WeChat lead is her assistant")
    after = _entity_of(second)
    assert after["X1"] == after["X2"] == "X1" and after["X3"] != "X1"
    assert _entity_of(first)["X3"] == "X1"  # the earlier result is left as it was
    golden = _golden_of(second, "X1")
    assert golden["n_records"] == 2 and sorted(golden["record_ids"]) == ["X1", "X2"]
    assert sorted(golden["source_all"]) == ["trade_show", "web_form"]
    alone = _golden_of(second, "X3")
    assert alone["n_records"] == 1 and alone["person_name"] == "Ouyang Nana"
    # the undo is a keep-apart verdict against every other record of the entity, logged
    verdicts = linkage.ReviewQueue.open(path).verdicts()
    apart = verdicts[(verdicts["lead_id_l"] == "X3") | (verdicts["lead_id_r"] == "X3")]
    assert set(apart["verdict"]) == {"non_match"} and set(apart["reviewer"]) == {"li.na"}
    pairs = {frozenset(p) for p in zip(apart["lead_id_l"], apart["lead_id_r"])}
    assert pairs == {frozenset({"X1", "X3"}), frozenset({"X2", "X3"})}
    log = second.lineage.of("X1").merge_log
    taken = log[log["event"] == "take_out"].iloc[0]
    assert taken["lead_id_l"] == "X3" and taken["note"] == "the WeChat lead is her assistant"


def test_a_take_out_holds_when_later_data_makes_the_match_stronger(fresh, records) -> None:
    path, first = fresh
    first.take_out("X3", reviewer="li.na")
    # The CRM corrects X3 to look exactly like X2, and a fourth copy of X1 arrives that
    # links to everyone: neither the stronger score nor the chain brings X3 back.
    later = records.copy()
    later.loc[later["lead_id"] == "X3", ["name", "email", "mobile"]] = [
        "欧阳娜娜",
        "nana.ouyang@huaxin.com",
        "139 0571 3682",
    ]
    later = pd.concat([later, pd.DataFrame([{**OUYANG[0], "lead_id": "X4"}])], ignore_index=True)
    again = linkage.link(later, queue=path, model=first.model)
    after = _entity_of(again)
    assert after["X1"] == after["X2"] == "X1"
    assert after["X3"] != "X1"
    scored = again.pairs.set_index(["lead_id_l", "lead_id_r"])
    x2_x3 = scored.loc[("X2", "X3")] if ("X2", "X3") in scored.index else scored.loc[("X3", "X2")]
    assert x2_x3["decision"] == "auto_merge"  # the model alone would merge them
    assert after["X4"] in {after["X1"], after["X3"]}  # the new copy joins one side only


def test_a_split_holds_on_a_later_run(fresh, records) -> None:
    path, first = fresh
    split = first.split("X1", reviewer="wang.fang", note="three people at one desk")
    after = _entity_of(split)
    assert len({after["X1"], after["X2"], after["X3"]}) == 3
    assert "X1" in {after["X1"], after["X2"], after["X3"]}  # one part keeps the id
    parts = [after[r] for r in ("X1", "X2", "X3")]
    assert (split.golden.set_index("entity_id").loc[parts, "n_records"] == 1).all()
    log = split.lineage.merge_log
    assert (log.loc[log["event"] == "split", "actor"] == "wang.fang").any()
    again = _entity_of(linkage.link(records, queue=path, model=first.model))
    assert len({again["X1"], again["X2"], again["X3"]}) == 3
    assert [again[r] for r in ("X1", "X2", "X3")] == parts  # and keep their ids


def test_undo_errors_are_named(linked) -> None:
    _, result = linked
    with pytest.raises(ConfigError, match="no record 'NOPE'"):
        result.take_out("NOPE", reviewer="li.na")
    with pytest.raises(ConfigError, match="reviewer"):
        result.take_out("X3", reviewer="  ")
    with pytest.raises(ConfigError, match="no entity 'NOPE'"):
        result.split("NOPE", reviewer="li.na")
    with pytest.raises(ConfigError, match="no record 'NOPE'"):
        result.forget("NOPE")
    assert _entity_of(result)["X3"] == "X1"  # nothing happened


# -- erasure ------------------------------------------------------------------------------


def test_forget_takes_the_values_out_and_the_golden_record_picks_again(fresh) -> None:
    path, first = fresh
    erased = first.forget("X2")
    golden = _golden_of(erased, "X1")
    assert golden["n_records"] == 2 and sorted(golden["record_ids"]) == ["X1", "X3"]
    # Without X2: email valid_first -> X1 (X3's is invalid); mobile and updated_at
    # most_recent -> X3 (updated 2 February, after X1's 5 January)
    assert golden["email"] == "ouyang@huaxin.com"
    assert golden["mobile"] == "+86 13905713682"
    assert golden["updated_at"] == "2023-02-02 08:00:00"
    # X2's own values are nowhere: golden records, lineage, history, merge log, queue
    gone = ("nana.ouyang@huaxin.com", "139 0571 3682", "2023-06-01 10:00:00")
    text = erased.golden.astype(str).to_string() + erased.lineage.fields.to_string()
    text += erased.history().astype(str).to_string() + erased.lineage.merge_log.to_string()
    text += linkage.ReviewQueue.open(path).items().astype(str).to_string()
    for value in gone:
        assert value not in text
    assert "X2" not in set(erased.lineage.fields["record_id"])
    log = erased.lineage.of("X1").merge_log
    assert not ((log["lead_id_l"] == "X2") | (log["lead_id_r"] == "X2")).any()
    erasure = log[log["event"] == "erased"]
    assert len(erasure) == 1 and erasure["lead_id_l"].isna().all()  # that, and when
    assert erased.history("X1")["lead_id"].tolist() == ["X1", "X3"]
