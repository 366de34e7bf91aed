"""link() end to end: outputs, inputs of every kind, bad input, models that save and load."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import linkage
from linkage.errors import ConfigError, InputError, ModelError, SchemaError


def test_every_input_record_is_in_entities_exactly_once(sample, sample_result) -> None:
    entities = sample_result.entities
    assert list(entities.columns) == ["lead_id", "entity_id"]
    assert len(entities) == len(sample)
    assert entities["lead_id"].is_unique
    assert set(entities["lead_id"]) == set(sample["lead_id"])
    assert sample_result.n_entities < len(sample)  # duplicates were found


def test_pairs_carry_score_decision_and_reason(sample_result) -> None:
    pairs = sample_result.pairs
    for column in (
        "lead_id_l",
        "lead_id_r",
        "match_weight",
        "match_probability",
        "decision",
        "reason",
        "gamma_person_name",
        "gamma_mobile",
    ):
        assert column in pairs
    assert set(pairs["decision"]) <= {"auto_merge", "review", "distinct"}
    assert pairs["reason"].notna().all()
    assert pairs["match_probability"].between(0, 1).all()
    assert not pairs.duplicated(["lead_id_l", "lead_id_r"]).any()
    # auto-merged pairs end in one entity unless a keep-apart split them
    auto = pairs[pairs["decision"] == "auto_merge"]
    assert (auto["entity_id_l"] == auto["entity_id_r"]).mean() > 0.95


def test_review_lists_the_borderline_pairs_side_by_side(sample_result) -> None:
    review = sample_result.review
    n_review = (sample_result.pairs["decision"] == "review").sum()
    assert len(review) == n_review > 0
    for column in ("name_l", "name_r", "mobile_l", "mobile_r", "company_l", "reason"):
        assert column in review.columns or column.replace("name", "person_name") in review


def test_phone_only_agreement_goes_to_review(sample_result) -> None:
    reasons = sample_result.pairs["reason"]
    assert reasons.str.startswith("phone_only").any()
    phone_only = sample_result.pairs[reasons.str.startswith("phone_only")]
    assert (phone_only["decision"] == "review").all()


def test_summary_reports_the_counts(sample_result) -> None:
    text = sample_result.summary()
    for word in ("records", "entities", "auto-merged", "for review", "distinct", "seconds"):
        assert word in text
    counts = sample_result.decision_counts()
    assert sum(counts.values()) == len(sample_result.pairs)


def test_same_seed_same_result(sample) -> None:
    subset = sample.head(800)
    first = linkage.link(subset, seed=7)
    second = linkage.link(subset, seed=7)
    pd.testing.assert_frame_equal(first.entities, second.entities)
    pd.testing.assert_series_equal(first.pairs["match_weight"], second.pairs["match_weight"])


def test_input_frame_is_not_modified(sample) -> None:
    subset = sample.head(500).copy()
    before = subset.copy()
    linkage.link(subset)
    pd.testing.assert_frame_equal(subset, before)


@pytest.mark.parametrize("kind", ["pyarrow", "duckdb", "csv", "parquet"])
def test_accepts_pyarrow_duckdb_csv_and_parquet(sample, tmp_path, kind) -> None:
    subset = sample.head(600)
    if kind == "pyarrow":
        data = pa.Table.from_pandas(subset)
    elif kind == "duckdb":
        data = duckdb.connect().from_df(subset)
    elif kind == "csv":
        data = tmp_path / "leads.csv"
        subset.to_csv(data, index=False)
    else:
        data = tmp_path / "leads.parquet"
        subset.to_parquet(data)
    result = linkage.link(data)
    assert sorted(result.entities["lead_id"]) == sorted(subset["lead_id"])


def test_links_leads_against_customers(sample) -> None:
    customers = sample.iloc[:1200].copy()
    leads = sample.iloc[1200:2000].rename(columns={"lead_id": "id", "name": "姓名"})
    result = linkage.link({"customers": customers, "leads": leads})
    entities = result.entities
    assert list(entities.columns[:2]) == ["source_dataset", "lead_id"]
    assert len(entities) == 2000
    assert (entities["source_dataset"] == "leads").sum() == 800
    assert {"source_dataset_l", "source_dataset_r"} <= set(result.pairs.columns)
    cross = result.pairs[result.pairs["source_dataset_l"] != result.pairs["source_dataset_r"]]
    assert (cross["decision"] == "auto_merge").any()


def test_model_saves_loads_and_scores_without_training(sample, tmp_path) -> None:
    subset = sample.head(1500)
    result = linkage.link(subset, seed=3)
    path = result.model.save(tmp_path / "model.json")
    loaded = linkage.LinkageModel.load(path)
    assert loaded.policy == result.model.policy
    again = linkage.link(subset, model=loaded)
    np.testing.assert_allclose(
        np.sort(again.pairs["match_weight"].to_numpy()),
        np.sort(result.pairs["match_weight"].to_numpy()),
        rtol=1e-6,
    )
    params = loaded.parameters()
    assert {"comparison", "level", "m_probability", "u_probability"} <= set(params.columns)


def test_a_model_from_a_newer_version_is_refused(tmp_path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": "linkage-model", "format_version": 999}')
    with pytest.raises(ModelError, match="newer"):
        linkage.LinkageModel.load(path)
    path.write_text("{}")
    with pytest.raises(ModelError, match="not a linkage model"):
        linkage.LinkageModel.load(path)


# -- bad input ----------------------------------------------------------------------------


def test_no_id_column_generates_stable_ids(sample) -> None:
    subset = sample.head(600).drop(columns=["lead_id"])
    first = linkage.link(subset)
    second = linkage.link(subset)
    id_column = first.entities.columns[0]
    assert id_column == "linkage_id"
    assert first.entities[id_column].is_unique
    assert first.entities[id_column].tolist() == second.entities[id_column].tolist()
    assert first.roles["records"].generated_id
    assert "linkage_id" not in subset.columns  # the caller's frame is left alone


def test_duplicate_ids_get_a_clear_error(sample) -> None:
    subset = sample.head(100).copy()
    subset.loc[5, "lead_id"] = subset.loc[6, "lead_id"]
    with pytest.raises(InputError, match="duplicated"):
        linkage.link(subset)


def test_empty_frame_gets_a_clear_error(sample) -> None:
    with pytest.raises(InputError, match="no rows"):
        linkage.link(sample.head(0))


def test_a_column_of_nulls_is_carried_and_reported(sample) -> None:
    subset = sample.head(800).copy()
    subset["email"] = None
    result = linkage.link(subset)
    assert len(result.entities) == 800
    assert any("email" in note for note in result.roles["records"].notes)


def test_phones_read_by_a_spreadsheet_as_floats_still_match(sample) -> None:
    subset = sample.head(1500).copy()
    digits = subset["mobile"].str.replace(r"\D", "", regex=True).str[-11:]
    subset["mobile"] = pd.to_numeric(digits, errors="coerce").astype(float)  # 1.38e10
    result = linkage.link(subset)
    assert (result.pairs["gamma_mobile"] > 0).any()


def test_hostile_column_names_never_reach_sql(sample) -> None:
    hostile = {
        "name": 'na"me',
        "mobile": "mobile'); DROP TABLE linkage_records; --",
        "company": "company name with spaces",
        "email": "e\"mail'",
    }
    subset = sample.head(800).rename(columns=hostile)
    roles = {
        "person_name": 'na"me',
        "mobile": hostile["mobile"],
        "company": "company name with spaces",
        "email": "e\"mail'",
    }
    result = linkage.link(subset, roles=roles)
    assert len(result.entities) == 800
    assert result.decision_counts()["auto_merge"] > 0


def test_one_row_is_its_own_entity(sample, tmp_path) -> None:
    """Nothing to compare, but nothing skipped: standardized, registered, a golden record."""
    one = sample.head(1).assign(mobile="12345")
    project = tmp_path / "crm.linkage"
    result = linkage.link(one, queue=project)
    lead = str(sample["lead_id"][0])
    assert result.entities["entity_id"].tolist() == [lead]
    assert result.pairs.empty
    assert "mobile" in set(result.problems["role"])  # the bad number is flagged
    golden = result.golden.iloc[0]
    assert golden["entity_id"] == lead and golden["n_records"] == 1
    assert golden["person_name"] == sample["name"][0]
    assert set(result.lineage.fields["entity_id"]) == {lead}
    assert result.lineage.merge_log.empty
    with duckdb.connect(str(project), read_only=True) as con:
        held = con.execute("SELECT record_key, entity_id FROM project_records").fetchall()
    assert held == [(lead, lead)]


def test_too_few_records_to_train_says_how_to_proceed(sample) -> None:
    with pytest.raises(ModelError, match="LinkageModel.load"):
        linkage.link(sample.head(10))


def test_unknown_role_and_missing_column_are_named(sample) -> None:
    with pytest.raises(SchemaError, match="mobil"):
        linkage.link(sample.head(50), roles={"mobil": "mobile"})
    with pytest.raises(SchemaError, match="'cell'"):
        linkage.link(sample.head(50), roles={"mobile": "cell"})


def test_bad_options_are_named() -> None:
    df = pd.DataFrame({"id": ["1", "2"], "mobile": ["13800138000", "13800138000"]})
    with pytest.raises(ConfigError, match="cluster_method"):
        linkage.link(df, cluster_method="magic")
    with pytest.raises(ConfigError, match="link_type"):
        linkage.link(df, link_type="link_only")


def test_redecide_changes_decisions_not_scores(sample_result) -> None:
    before = sample_result.decision_counts()
    stricter = sample_result.redecide(linkage.Thresholds(review=-2, auto_merge=8))
    after = stricter.decision_counts()
    assert after["auto_merge"] < before["auto_merge"]
    assert sum(after.values()) == sum(before.values())
    np.testing.assert_allclose(
        np.sort(stricter.pairs["match_weight"].to_numpy()),
        np.sort(sample_result.pairs["match_weight"].to_numpy()),
    )
    assert stricter.model.policy.thresholds.auto_merge == 8
    assert sample_result.model.policy.thresholds.auto_merge == 0  # the original is untouched
    assert sample_result.decision_counts() == before
    assert stricter.n_entities > sample_result.n_entities
    same_entities = sample_result.redecide(linkage.Thresholds(-2, 8), recluster=False)
    pd.testing.assert_frame_equal(same_entities.entities, sample_result.entities)


def test_splink_blocking_analysis_counts_the_pairs_scored(sample_result) -> None:
    analysis = sample_result.blocking_analysis()
    assert analysis["rule"].tolist() == [
        r["name"] for r in sample_result.model.config["blocking_rules"]
    ]
    assert analysis["cumulative_comparison_count"].iloc[-1] == len(sample_result.pairs)
    assert (analysis["marginal_comparison_count"] >= 0).all()


# -- real files of any shape -----------------------------------------------------------------


def _without_truth(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.startswith("true_")])


@pytest.mark.parametrize("column", ["mobile", "name", "company"])
def test_a_column_blank_in_every_row_is_left_out_with_a_note(sample, column) -> None:
    records = _without_truth(sample).assign(**{column: None})
    result = linkage.link(records)
    notes = " ".join(result.roles["records"].notes)
    assert "left out of matching: blank in every row" in notes
    assert len(result.entities) == len(records)
    assert result.level == "person"  # mobile, email and the rest still say who
    assert not any(name.endswith(column) for name in result.model.comparison_names)


def test_a_one_valued_column_is_left_out(sample) -> None:
    records = _without_truth(sample).assign(city="上海市")
    result = linkage.link(records)
    assert "city left out of matching: one value in every row" in " ".join(
        result.roles["records"].notes
    )
    assert "location" not in result.model.comparison_names


def test_a_list_of_only_ids_and_company_names_links(sample) -> None:
    records = sample[["lead_id", "company"]]
    result = linkage.link(records)
    assert result.level == "organization"
    assert len(result.entities) == len(records)
    log = result.model.training_log_
    assert "fallback" in log.describe()
    # Records sharing a name are at least put in front of a person.
    pairs = result.pairs
    assert (pairs["decision"] != "distinct").mean() > 0.9


def test_phone_numbers_under_a_header_no_role_knows_are_used(sample) -> None:
    records = _without_truth(sample).rename(columns={"mobile": "Col3"})
    result = linkage.link(records)
    assert result.roles["records"].roles["mobile"] == "Col3"
    assert "mobile" in result.model.comparison_names


def test_columns_no_role_claims_are_compared_or_listed_unused(sample) -> None:
    records = sample.assign(
        industry=np.where(np.arange(len(sample)) % 3 == 0, "software", "hardware"),
        remark=[
            f"called on day {i % 30}: asked for the price list and a visit from the sales "
            "team next month, call back after the trade show closes"
            for i in range(len(sample))
        ],
    )
    result = linkage.link(records)
    mapping = result.roles["records"]
    assert [(e.column, e.kind) for e in mapping.extras] == [("industry", "category")]
    assert "extra_1" in result.model.comparison_names
    assert "label" in result.unused["true_person_id"]
    assert set(result.unused) == {"true_person_id", "true_account_id", "remark"}


def test_the_entity_level_is_chosen_and_reported(sample) -> None:
    assert linkage.link(_without_truth(sample)).level == "person"
    accounts = sample[["lead_id", "company", "phone", "address", "city"]]
    result = linkage.link(accounts)
    assert result.level == "organization"
    assert "company" in result.model.comparison_names  # not the person level's account
    with pytest.raises(ConfigError, match="level must be"):
        linkage.link(accounts, level="household")
    assert linkage.link(accounts, level="person").level == "person"


def test_phones_of_another_country_are_read_in_it() -> None:
    records = pd.DataFrame(
        {
            "id": [f"R{i}" for i in range(8)],
            "company": ["Acme Tools Inc", "ACME Tools", "Bolt Works LLC", "Bolt Works"] * 2,
            "phone": ["(312) 265-3830", "312/265-3830", "+1 773 555 2368", "773-555-2368"] * 2,
            "address": ["316 N Pulaski Rd", "316 North Pulaski Road", "27 Washington St"] * 2
            + ["27 Washington Street", "27 Washington St"],
        }
    )
    result = linkage.link(records)
    assert result.country == "US"
    assert result.problems.empty or "phone" not in set(result.problems["role"])
    assert linkage.link(records, country="GB").country == "GB"


def test_a_saved_model_scores_a_file_whose_column_is_blank(sample, sample_result) -> None:
    records = sample.assign(mobile=None)
    again = linkage.link(records, model=sample_result.model)
    assert len(again.entities) == len(records)
    assert (again.pairs["gamma_mobile"] == -1).all()  # the null level, no crash
    assert "mobile carries nothing in this data" in " ".join(again.roles["records"].notes)


def test_scoring_with_new_thresholds_leaves_the_callers_model_unchanged(sample, sample_result):
    model = sample_result.model
    before = model.to_dict()
    again = linkage.link(
        sample, model=model, thresholds=linkage.Thresholds(review=-2.0, auto_merge=3.0)
    )
    assert again.model.policy.thresholds.auto_merge == 3.0
    assert model.to_dict() == before


def test_scores_equal_splinks_predict_without_the_values(sample_result):
    """link scores with splink's own steps but keeps no records' values beside each pair:
    every column it keeps equals splink's predict, and what it leaves out is exactly the
    values (``<column>_l``, ``<column>_r``) that charts join back."""
    from linkage import _splink

    con, linker = sample_result.connection, sample_result.linker
    ours = sample_result._context.predictions_table
    theirs = linker.inference.predict().physical_name
    kept = [c[0] for c in con.execute(f"DESCRIBE {ours}").fetchall()]
    splinks = [c[0] for c in con.execute(f"DESCRIBE {theirs}").fetchall()]
    values = {f"{c}_{side}" for c in _splink.predicted_value_columns(linker) for side in "lr"}
    assert set(splinks) - set(kept) == values
    assert set(kept) <= set(splinks)
    assert kept[:2] == ["match_weight", "match_probability"]
    assert {"gamma_person_name", "gamma_mobile", "mw_mobile"} <= set(kept)
    order = " ORDER BY rid_l, rid_r"
    listed = ", ".join(f'"{c}"' for c in kept)
    a = con.execute(f"SELECT {listed} FROM {ours}{order}").df()
    b = con.execute(f"SELECT {listed} FROM {theirs}{order}").df()
    assert len(a) > 10_000
    pd.testing.assert_frame_equal(a, b)
