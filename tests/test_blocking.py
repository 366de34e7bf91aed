"""Blocking keys, the big-block guard, and the pair budget."""

from __future__ import annotations

import duckdb
import pandas as pd

from linkage.blocking import BlockingRule, add_block_keys, default_rules


def _table(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("frame_view", frame)
    con.execute("CREATE TABLE records AS SELECT * FROM frame_view")
    return con


def test_a_value_shared_by_too_many_records_is_left_out_and_reported() -> None:
    mobiles = ["+8613800000000"] * 50 + [f"+86139{i:08d}" for i in range(20)] * 2
    con = _table(pd.DataFrame({"rid": range(len(mobiles)), "mobile_e164": mobiles}))
    rules = [BlockingRule("mobile", ("mobile_e164",), ("mobile",))]
    kept, report = add_block_keys(con, "records", rules, max_block_size=10)
    assert kept == rules
    assert report.guarded == [{"rule": "mobile", "value": "+8613800000000", "records": 50}]
    assert report.pairs_per_rule == {"mobile": 20}  # the 20 real numbers, twice each
    keys = con.execute("SELECT count(block_mobile) FROM records").fetchall()[0][0]
    assert keys == 40
    assert "shared by 50 records" in report.describe()


def test_multi_column_keys_need_every_column() -> None:
    frame = pd.DataFrame(
        {
            "rid": [0, 1, 2, 3],
            "person_name_key": ["wei zhang", "wei zhang", "wei zhang", None],
            "company_core": ["华信科技", "华信科技", None, "华信科技"],
        }
    )
    con = _table(frame)
    rule = BlockingRule("name_company", ("person_name_key", "company_core"), ())
    _, report = add_block_keys(con, "records", [rule], max_block_size=100)
    assert report.pairs_per_rule == {"name_company": 1}


def test_loose_rules_stay_within_the_pair_budget() -> None:
    frame = pd.DataFrame({"rid": range(60), "a": ["x"] * 60, "b": [str(i % 2) for i in range(60)]})
    con = _table(frame)
    strict = BlockingRule("b", ("b",), ())
    loose = BlockingRule("a", ("a",), (), loose=True)
    kept, report = add_block_keys(
        con, "records", [strict, loose], max_block_size=1000, pair_budget=1000
    )
    assert kept == [strict]
    assert report.skipped == ["a"]
    kept, _ = add_block_keys(
        _table(frame), "records", [strict, loose], max_block_size=1000, pair_budget=10_000
    )
    assert kept == [strict, loose]


def test_strict_rules_over_the_pair_budget_give_up_their_biggest_blocks() -> None:
    # A name within a city grows blocks with the data; a mobile number does not. Over the
    # budget, the blocks of 20 go (the name rule's), those of 2 and 3 stay.
    names = [f"n{i}" for i in range(10) for _ in range(3)] + ["wang"] * 20 + ["li"] * 20
    frame = pd.DataFrame(
        {
            "rid": range(len(names)),
            "name": names,
            "mobile": [f"m{i // 2}" if i < 40 else None for i in range(len(names))],
        }
    )
    name = BlockingRule("name_city", ("name",), ())
    mobile = BlockingRule("mobile", ("mobile",), ())
    con = _table(frame)
    kept, report = add_block_keys(
        con, "records", [mobile, name], max_block_size=1000, pair_budget=100
    )
    assert kept == [mobile, name]
    assert report.block_cap == 3
    assert report.pairs_per_rule == {"mobile": 20, "name_city": 30}
    assert report.capped == {"name_city": (2, 40)}
    rows = con.execute("SELECT rid, name, block_name_city, block_mobile FROM records").df()
    assert rows["rid"].tolist() == list(range(len(names)))  # every record, in its order
    assert rows["block_name_city"].isna().tolist() == [n in ("wang", "li") for n in names]
    assert rows["block_mobile"].notna().sum() == 40  # small blocks keep their keys
    assert "blocks of more than 3 records left out: name_city 2 values" in report.describe()
    # Within the budget nothing is left out.
    _, roomy = add_block_keys(
        _table(frame), "records", [mobile, name], max_block_size=1000, pair_budget=500
    )
    assert roomy.block_cap is None and roomy.pairs_per_rule["name_city"] == 410


def test_the_email_local_part_with_a_surname_waits_for_the_pair_budget() -> None:
    # Shared local parts (info@, sales@) with common surnames: blocks grow with the data, so
    # the rule is used only while the budget allows, after the rules on identifiers.
    rules = default_rules({"mobile", "email", "person_name"})
    budgeted = [r.name for r in rules if r.loose]
    assert "email_local_surname" in budgeted
    assert not any(r.loose for r in rules if r.name in ("mobile", "email", "name_city"))
    n = 400
    frame = pd.DataFrame(
        {
            "rid": range(n),
            "mobile_e164": [f"+86139{i // 2:08d}" for i in range(n)],
            "email_local": ["info"] * n,
            "person_surname": ["zhang"] * n,
        }
    )
    mobile = BlockingRule("mobile", ("mobile_e164",), ("mobile",))
    local = next(r for r in rules if r.name == "email_local_surname")
    kept, report = add_block_keys(
        _table(frame), "records", [mobile, local], max_block_size=1000, pair_budget=10_000
    )
    assert kept == [mobile] and report.skipped == ["email_local_surname"]
    assert report.pairs_per_rule == {"mobile": n // 2}


def test_default_rules_follow_the_roles_present() -> None:
    names = {r.name for r in default_rules({"mobile", "person_name", "company"})}
    assert {"mobile", "name_company"} <= names
    assert "first_last" not in names
    assert {r.name for r in default_rules({"company"})} == {"company_only_name"}
