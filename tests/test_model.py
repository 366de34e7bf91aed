"""The model: the training recipe on the shipped sample, what the training log says, JSON
save and load, refusing newer files, seeded runs, too little data to train, and files of
any shape (a list of company names alone, a real directory file, a dozen records) that
train with fallbacks the log names."""

from __future__ import annotations

import dataclasses
import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
import splink.comparison_library as cl

import linkage
from linkage import ModelError, _splink
from linkage import model as model_mod
from linkage.model import FORMAT_VERSION, LinkageModel, TrainingLog


@pytest.fixture(scope="module")
def model(sample_result) -> LinkageModel:
    return sample_result.model


def _sql_of(model: LinkageModel, name: str) -> str:
    comparison = next(c for c in model.settings_["comparisons"] if c["output_column_name"] == name)
    return " ".join(level["sql_condition"] for level in comparison["comparison_levels"])


def _reads(sql: str, column: str) -> bool:
    return re.search(rf'"?{re.escape(column)}_[lr]"?', sql) is not None


# -- the training recipe --------------------------------------------------------------------


def test_the_prior_is_a_probability_close_to_the_truth(sample, model) -> None:
    prior = model.probability_two_random_records_match
    assert 0.0 < prior < 1.0
    assert model.training_log_.probability_two_random_records_match == pytest.approx(prior)
    # The truth on the sample: pairs of records of one person among all pairs.
    sizes = sample["true_person_id"].value_counts()
    n = len(sample)
    true_prior = (sizes * (sizes - 1) / 2).sum() / (n * (n - 1) / 2)
    # Deterministic rules with an assumed recall of 0.7 are an estimate, not a count:
    # within a factor of two of the truth is what the recipe is for.
    assert true_prior / 2 < prior < true_prior * 2


def test_prior_rules_use_only_fields_the_data_has(model) -> None:
    rules = model.training_log_.prior_rules
    assert rules, "the sample has mobiles, names and emails: the prior comes from rules"
    assert ("mobile_e164", "person_name_key") in rules  # the most reliable rule comes first
    assert rules[0] == ("mobile_e164", "person_name_key")
    compared = " ".join(_sql_of(model, name) for name in model.comparison_names)
    for rule in rules:
        for column in rule:
            assert _reads(compared, column), (rule, column)
    # the sample has no date of birth, personal id or split names: no rule on them
    used = {column for rule in rules for column in rule}
    assert not used & {"dob_date", "national_id_clean", "first_name_clean", "last_name_clean"}


def test_the_u_sample_is_sized_to_the_data(sample, model) -> None:
    u_pairs = model.training_log_.u_max_pairs
    # at least 20 pairs per record and 200,000 in all (rare levels need it), at most 3 million
    assert max(20 * len(sample), 200_000) <= u_pairs <= 3_000_000


def test_em_passes_estimate_every_comparison_at_least_once(model) -> None:
    passes = model.training_log_.em_passes
    assert len(passes) >= 2
    assert passes[0] == ("mobile_e164",)  # the preferred pass when mobiles are present
    # splink fixes a comparison's parameters in a pass that blocks on a column it reads;
    # each comparison needs a pass that does not.
    for name in model.comparison_names:
        sql = _sql_of(model, name)
        assert any(not any(_reads(sql, column) for column in columns) for columns in passes), (
            f"no EM pass estimated {name}"
        )


def test_untrained_levels_are_reported(model) -> None:
    """Every level left without an m (or u) probability is named in the training log,
    and every comparison the log names has such a level."""
    params = model.parameters()
    untrained = model.training_log_.untrained
    assert all(isinstance(line, str) and line for line in untrained)
    for kind, column in (("m values", "m_probability"), ("u values", "u_probability")):
        missing = set(params.loc[params[column].isna(), "comparison"])
        named = {
            re.search(r"'([^']+)'", line).group(1)
            for line in untrained
            if kind in line and re.search(r"'([^']+)'", line)
        }
        assert missing == named, kind


def test_trained_weights_point_the_right_way(model) -> None:
    params = model.parameters().set_index(["comparison", "level"])
    assert params.loc[("mobile", "Exact match on mobile_e164"), "match_weight"] > 5
    assert params.loc[("mobile", "All other comparisons"), "match_weight"] < 0
    assert params.loc[("email", "Exact match on email_clean"), "match_weight"] > 5
    trained = params.dropna(subset=["m_probability", "u_probability"])
    assert ((trained["m_probability"] > 0) & (trained["m_probability"] <= 1)).all()
    assert ((trained["u_probability"] > 0) & (trained["u_probability"] <= 1)).all()


# -- save and load --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("model") / "model.json")


def test_the_json_file_holds_everything_needed_to_score(model, saved) -> None:
    data = json.loads(saved.read_text())
    assert data["format"] == "linkage-model"
    assert data["format_version"] == FORMAT_VERSION
    assert data["linkage_version"] == linkage.__version__
    assert data["config"]["roles"] == model.config["roles"]
    assert data["config"]["blocking_rules"] == model.config["blocking_rules"]
    assert data["training_log"]["estimates"] == model.training_log_.estimates
    loaded = LinkageModel.load(saved)
    assert loaded.settings_ == model.settings_
    assert loaded.policy == model.policy
    assert loaded.config == model.config
    assert loaded.training_log_ == model.training_log_  # rules and passes back as tuples
    assert loaded.to_dict() == model.to_dict()


def test_a_model_file_written_before_the_training_log_was_saved_still_loads(
    saved, tmp_path
) -> None:
    data = json.loads(saved.read_text())
    del data["training_log"]
    older = tmp_path / "older.json"
    older.write_text(json.dumps(data, ensure_ascii=False))
    loaded = LinkageModel.load(older)
    assert loaded.training_log_ == TrainingLog()
    assert loaded.settings_ == data["splink_settings"]


def test_a_loaded_model_scores_every_pair_identically(sample, sample_result, saved) -> None:
    again = linkage.link(sample, model=LinkageModel.load(saved))
    keys = ["lead_id_l", "lead_id_r"]
    both = sample_result.pairs.merge(again.pairs, on=keys, suffixes=("_trained", "_loaded"))
    assert len(both) == len(sample_result.pairs) == len(again.pairs)
    np.testing.assert_allclose(
        both["match_weight_loaded"], both["match_weight_trained"], rtol=0, atol=1e-9
    )
    assert (both["decision_loaded"] == both["decision_trained"]).all()
    for name in sample_result.model.comparison_names:
        assert (both[f"gamma_{name}_loaded"] == both[f"gamma_{name}_trained"]).all()
    pd.testing.assert_frame_equal(again.entities, sample_result.entities)


def test_a_model_file_from_a_newer_format_is_refused(saved, tmp_path) -> None:
    data = json.loads(saved.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    newer = tmp_path / "from_the_future.json"
    newer.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(ModelError, match="newer linkage") as caught:
        LinkageModel.load(newer)
    assert "from_the_future.json" in str(caught.value)  # says which file
    assert "upgrade" in str(caught.value)  # and what to do
    data["format_version"] = FORMAT_VERSION
    newer.write_text(json.dumps(data, ensure_ascii=False))
    assert LinkageModel.load(newer).to_dict()["format_version"] == FORMAT_VERSION


def test_an_unreadable_model_file_is_a_model_error(saved, tmp_path) -> None:
    truncated = tmp_path / "truncated.json"
    truncated.write_text(saved.read_text()[:500])
    with pytest.raises(ModelError, match="cannot read model file"):
        LinkageModel.load(truncated)
    with pytest.raises(ModelError, match="cannot read model file"):
        LinkageModel.load(tmp_path / "missing.json")


# -- seeds ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(sample):
    """The sample linked again with the seed of ``sample_result`` (0), and with another.
    3,000 records make ~4.5 million pairs, far more than the u sample: the seed matters."""
    return linkage.link(sample, seed=0), linkage.link(sample, seed=1)


def test_the_same_seed_gives_the_same_model_and_pairs(sample_result, seeded) -> None:
    again, _ = seeded
    # Same parameters up to the last bits of a float: DuckDB sums EM's expectations in
    # parallel, so the order of additions (and the 16th digit) may differ between runs.
    pd.testing.assert_frame_equal(
        again.model.parameters(), sample_result.model.parameters(), check_exact=False, rtol=1e-9
    )
    assert again.model.probability_two_random_records_match == pytest.approx(
        sample_result.model.probability_two_random_records_match, rel=1e-12
    )
    # pairs are sorted by weight: pairs of equal weight may swap places, so match on ids
    keys = ["lead_id_l", "lead_id_r"]
    both = sample_result.pairs.merge(again.pairs, on=keys, suffixes=("_first", "_again"))
    assert len(both) == len(sample_result.pairs) == len(again.pairs)
    np.testing.assert_allclose(both["match_weight_again"], both["match_weight_first"], atol=1e-9)
    for column in ["decision", *(f"gamma_{n}" for n in sample_result.model.comparison_names)]:
        assert (both[f"{column}_again"] == both[f"{column}_first"]).all(), column
    pd.testing.assert_frame_equal(again.entities, sample_result.entities)
    assert again.model.config == sample_result.model.config


def test_another_seed_draws_another_u_sample(sample_result, seeded) -> None:
    _, other = seeded
    assert other.model.config["seed"] == 1
    u_first = sample_result.model.parameters()["u_probability"].to_numpy(float)
    u_other = other.model.parameters()["u_probability"].to_numpy(float)
    assert not np.allclose(u_first, u_other, equal_nan=True)
    assert 0.0 < other.model.probability_two_random_records_match < 1.0
    # ... and the decisions barely move: the seed is not what finds duplicates
    keys = ["lead_id_l", "lead_id_r"]
    both = sample_result.pairs.merge(other.pairs, on=keys)
    assert len(both) == len(sample_result.pairs)
    assert (both["decision_x"] == both["decision_y"]).mean() > 0.98


# -- too little data ------------------------------------------------------------------------


def test_too_few_records_to_train_says_what_to_do_and_the_advice_works(sample, model) -> None:
    few = sample.head(10)
    with pytest.raises(ModelError) as caught:
        linkage.link(few)
    message = str(caught.value)
    assert "could not train" in message
    assert "mobile_e164: no pairs" in message  # which passes found nothing
    assert "model=LinkageModel.load" in message  # and how to proceed
    scored = linkage.link(few, model=model)  # scoring with a trained model works
    assert sorted(scored.entities["lead_id"]) == sorted(few["lead_id"])


# -- files of any shape: training falls back, names it, and never crashes ----------------


def _assert_every_probability_is_strictly_inside_0_1(model: LinkageModel) -> None:
    assert 0.0 < model.probability_two_random_records_match < 1.0
    for comparison in model.settings_["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if key in level:  # a level never observed keeps splink's default (None)
                    assert 0.0 < level[key] < 1.0, (comparison["output_column_name"], level)
    weights = model.parameters()["match_weight"].dropna()
    assert np.isfinite(weights).all()


def _assert_the_log_says_how_each_comparison_was_estimated(model: LinkageModel) -> None:
    log = model.training_log_
    assert list(log.estimates) == model.comparison_names
    for name, entry in log.estimates.items():
        assert entry["m"].startswith(("EM pass", "fallback")), (name, entry)
        assert entry["u"].startswith(("random sampling", "fallback")), (name, entry)
    for name in log.fallbacks:
        # a fallback comparison keeps no splink default: every level has its m and u
        comparison = next(
            c for c in model.settings_["comparisons"] if c["output_column_name"] == name
        )
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert "m_probability" in level and "u_probability" in level, (name, level)
        assert name in log.describe()


def test_a_list_of_company_names_alone_trains_with_a_named_fallback(sample) -> None:
    """The only comparison reads the only blocking column: splink would leave it out of
    the EM pass and run EM on nothing (a DuckDB syntax error, before). Training skips the
    pass, takes m from the fallback ladder and u from random sampling, and says so."""
    companies = sample[["lead_id", "company"]].head(200)
    result = linkage.link(companies)
    assert sorted(result.entities["lead_id"]) == sorted(companies["lead_id"])
    model = result.model
    log = model.training_log_
    assert log.em_passes == []
    assert any(why.startswith("company_core: nothing to estimate") for why in log.skipped_passes), (
        log.skipped_passes
    )
    assert set(log.fallbacks) == set(model.comparison_names)
    for entry in log.fallbacks.values():
        assert "no EM pass could run" in entry["m"]
    assert log.estimates[model.comparison_names[0]]["u"].startswith("random sampling")
    _assert_every_probability_is_strictly_inside_0_1(model)
    _assert_the_log_says_how_each_comparison_was_estimated(model)
    # the fallback ladder: agreement levels weigh no less the stronger they are, and
    # "anything else" counts against a match
    weights = model.parameters()["match_weight"].tolist()
    assert weights[-1] < 0 < weights[0]
    assert all(a >= b for a, b in zip(weights[:-1], weights[1:-1])), weights
    assert "fallback" in log.describe() and "nothing to estimate" in log.describe()
    # the log travels with the model
    assert LinkageModel.from_dict(model.to_dict()).training_log_ == log


def test_the_chicago_directory_trains_and_every_parameter_is_a_probability(chicago_sites) -> None:
    """A real file (early childhood sites, Chicago): on it the deterministic rules could
    find no pair, and EM's log2 of a prior of 0 raised ``math domain error``."""
    records, _ = chicago_sites
    result = linkage.link(records)
    assert sorted(result.entities["Id"]) == sorted(records["Id"])
    log = result.model.training_log_
    assert log.em_passes, log.describe()
    _assert_every_probability_is_strictly_inside_0_1(result.model)
    _assert_the_log_says_how_each_comparison_was_estimated(result.model)
    assert log.prior_method


def test_a_small_random_subset_trains_with_fallbacks_the_log_names(sample) -> None:
    """Twelve random leads: no pair agrees on a strong identifier, so the deterministic
    rules put the prior at 0, and EM's log2 of it raised a bare ``math domain error``
    (this test was a strict xfail expecting ModelError). A ModelError would be wrong here:
    the city pass does find pairs. So the prior falls back to 1/(records - 1), EM runs on
    that pass, and the comparisons it cannot estimate get a fallback the log names.
    (ModelError stays for records where no pass finds any pair: see
    ``test_too_few_records_to_train_says_what_to_do_and_the_advice_works``.)"""
    few = sample.sample(12, random_state=1)
    result = linkage.link(few)
    assert sorted(result.entities["lead_id"]) == sorted(few["lead_id"])
    log = result.model.training_log_
    assert log.prior_method.startswith("fallback: 1/(records - 1)")
    assert result.model.probability_two_random_records_match == pytest.approx(1 / 11)
    assert log.em_passes
    assert "account" in log.fallbacks  # the only pass blocks on a column it reads
    assert "blocks on a column it reads" in log.fallbacks["account"]["m"]
    _assert_every_probability_is_strictly_inside_0_1(result.model)
    _assert_the_log_says_how_each_comparison_was_estimated(result.model)


@pytest.mark.parametrize(("size", "seed"), [(12, 3), (40, 0), (40, 4)])
def test_small_subsets_train_or_raise_model_error_never_a_math_error(sample, size, seed):
    try:
        result = linkage.link(sample.sample(size, random_state=seed))
    except ModelError as exc:
        assert "could not train" in str(exc)
    else:
        _assert_every_probability_is_strictly_inside_0_1(result.model)
        _assert_the_log_says_how_each_comparison_was_estimated(result.model)


# -- the recipe's parameters --------------------------------------------------------------


@pytest.fixture
def derived_linker(sample):
    """A linker over already derived columns of the sample (mobile, email, name), with
    one exact comparison each, as ``link`` builds it; the recipe is then train's to run."""

    def make(**settings_changes):
        records = pd.DataFrame(
            {
                "rid": range(len(sample)),
                "mobile_e164": sample["mobile"].astype("string").str.replace(r"\D", "", regex=True),
                "email_clean": sample["email"].astype("string").str.strip().str.lower(),
                "person_name_key": sample["name"].astype("string"),
            }
        )
        con = duckdb.connect()
        con.register("derived", records)
        con.execute("CREATE TABLE records AS SELECT * FROM derived")
        comparisons = {
            "mobile": cl.ExactMatch("mobile_e164"),
            "email": cl.ExactMatch("email_clean"),
            "person_name": cl.ExactMatch("person_name_key"),
        }
        settings = model_mod.build_settings(comparisons, [], link_type="dedupe_only")
        settings = dataclasses.replace(settings, **settings_changes)
        linker = model_mod.make_linker(con, ["records"], settings)
        return linker, set(records.columns), _splink.comparison_input_columns(linker)

    return make


def test_em_passes_and_prior_rules_are_arguments(sample, derived_linker) -> None:
    linker, available, columns = derived_linker()
    log = model_mod.train(
        linker,
        available,
        columns,
        n_records=len(sample),
        seed=0,
        em_passes=[("email_clean",), ("person_name_key",), ("mobile_e164",)],
        deterministic_rules=[("email_clean",)],
    )
    assert log.prior_rules == [("email_clean",)]
    assert log.prior_method.startswith("deterministic rules email_clean ")
    # in the order given, until every comparison was estimated by a pass, at least two
    assert log.em_passes == [("email_clean",), ("person_name_key",)]
    # (on these three exact comparisons the pass on emails may take all 25 iterations)
    assert re.fullmatch(
        r"EM passes email_clean( \(not converged\))?; person_name_key",
        log.estimates["mobile"]["m"],
    )
    assert log.estimates["email"]["m"] == "EM pass person_name_key"
    assert log.fallbacks == {}
    # the defaults are today's recipe: mobile first
    linker, available, columns = derived_linker()
    assert model_mod.train(linker, available, columns, n_records=len(sample), seed=0).em_passes[
        0
    ] == ("mobile_e164",)


def test_field_families_are_an_argument(sample, derived_linker) -> None:
    """With mobile and email declared one field, a pass on either would let EM "learn"
    that the other always agrees: both are skipped, and the one on names runs."""
    linker, available, columns = derived_linker()
    log = model_mod.train(
        linker,
        available,
        columns,
        n_records=len(sample),
        seed=0,
        em_passes=[("mobile_e164",), ("email_clean",), ("person_name_key",)],
        families=[frozenset({"mobile_e164", "email_clean"})],
    )
    assert log.em_passes == [("person_name_key",)]
    assert "person_name" in log.fallbacks  # the one pass blocks on the column it reads
    assert "email" not in log.fallbacks and "mobile" not in log.fallbacks


def test_em_that_does_not_converge_keeps_its_estimates_and_says_so(sample, derived_linker):
    linker, available, columns = derived_linker(max_iterations=1, em_convergence=1e-12)
    log = model_mod.train(linker, available, columns, n_records=len(sample), seed=0)
    assert log.em_passes and log.fallbacks == {}
    assert all("not converged" in entry["m"] for entry in log.estimates.values())
    assert any("did not converge in 1 iterations" in note for note in log.notes), log.notes
