"""Fit once, link many: ``LinkageModel(...).fit(records)`` beside ``link``, scikit-learn style."""

from __future__ import annotations

import json
import math

import pytest
import splink.comparison_library as cl

import linkage
from linkage.datasets import generate_leads
from linkage.errors import ConfigError, InputError, LinkageError, ModelError
from linkage.evaluation import evaluate
from linkage.model import LinkageModel

# The slow tier: models fitted on whole exports, several per test.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def export_a():
    return generate_leads(1000, seed=10)


@pytest.fixture(scope="module")
def fitted(export_a) -> LinkageModel:
    return LinkageModel(seed=1).fit(export_a)


def _saved(model: LinkageModel) -> str:
    return json.dumps(model.to_dict(), sort_keys=True, ensure_ascii=False, default=str)


def _probabilities(model: LinkageModel) -> list[tuple[str, str, float | None, float | None]]:
    return [
        (
            c["output_column_name"],
            level["sql_condition"],
            level.get("m_probability"),
            level.get("u_probability"),
        )
        for c in model.settings_["comparisons"]
        for level in c["comparison_levels"]
    ]


def _assert_same_probabilities(one: LinkageModel, other: LinkageModel) -> None:
    # DuckDB sums in parallel: the last digits of a probability may differ from run to run.
    left, right = _probabilities(one), _probabilities(other)
    assert [row[:2] for row in left] == [row[:2] for row in right]
    for a, b in zip(left, right):
        for x, y in zip(a[2:], b[2:]):
            assert (x is None and y is None) or math.isclose(x, y, rel_tol=1e-9), (a, b)
    assert math.isclose(
        one.probability_two_random_records_match,
        other.probability_two_random_records_match,
        rel_tol=1e-9,
    )


# -- fit ------------------------------------------------------------------------------------


def test_fit_returns_the_model_fitted_with_its_parameters(fitted) -> None:
    assert fitted.is_fitted
    assert fitted.get_params()["seed"] == 1
    assert fitted.config["seed"] == 1
    assert fitted.config["level"] == "person"
    assert "mobile" in fitted.comparison_names
    assert fitted.training_log_.em_passes  # it was trained, and the log says how
    assert repr(fitted) == "LinkageModel(seed=1)"


def test_fit_learns_what_link_learns(export_a, fitted) -> None:
    # One training code path: link's model of an export is fit's model of it.
    trained_by_link = linkage.link(export_a, seed=1).model
    _assert_same_probabilities(fitted, trained_by_link)
    assert fitted.policy == trained_by_link.policy
    assert fitted.config == trained_by_link.config
    assert fitted.get_params() == trained_by_link.get_params()
    assert fitted.training_log_.em_passes == trained_by_link.training_log_.em_passes


def test_fitting_again_replaces_what_was_learned(export_a) -> None:
    model = LinkageModel(seed=0).fit(export_a.head(400))
    first = _saved(model)
    assert model.set_params(thresholds=linkage.Thresholds(review=-3, auto_merge=1)) is model
    assert _saved(model) == first  # set_params alone changes no learned state
    assert model.fit(export_a.head(400)) is model
    assert model.policy.thresholds == linkage.Thresholds(review=-3, auto_merge=1)


# -- parameters -----------------------------------------------------------------------------


def test_get_params_and_set_params_follow_scikit_learn() -> None:
    rules = [linkage.BlockingRule("mobile", ("mobile_e164",), ("mobile",))]
    model = LinkageModel(level="person", country="CN", blocking_rules=rules, seed=3)
    params = model.get_params(deep=True)
    assert params == model.get_params(deep=False)
    assert set(params) == {
        "roles",
        "level",
        "country",
        "comparisons",
        "blocking_rules",
        "thresholds",
        "routing_rules",
        "link_type",
        "seed",
        "max_block_size",
        "max_pairs",
        "pair_budget",
    }
    assert params["blocking_rules"] is rules and params["seed"] == 3
    # As scikit-learn's clone does: the same parameters make an unfitted twin.
    twin = LinkageModel(**params)
    assert not twin.is_fitted
    assert all(twin.get_params()[name] is value for name, value in params.items())
    assert model.set_params(seed=4, max_block_size=500) is model
    assert (model.seed, model.max_block_size, model.level) == (4, 500, "person")
    assert model.set_params() is model


def test_set_params_names_the_parameter_it_does_not_know() -> None:
    with pytest.raises(ConfigError, match=r"no parameter 'sed' \(did you mean 'seed'\?\)"):
        LinkageModel().set_params(sed=1)


def test_a_saved_model_keeps_its_parameters(export_a, tmp_path) -> None:
    model = LinkageModel(
        roles={"wechat_unionid": None},
        comparisons={"email": None},
        thresholds=linkage.Thresholds(review=-3, auto_merge=1),
        seed=2,
        level="person",
    ).fit(export_a.head(500))
    assert "email" not in model.comparison_names
    assert "wechat_unionid" not in model.config["roles"]
    loaded = LinkageModel.load(model.save(tmp_path / "model.json"))
    assert loaded.get_params() == model.get_params()
    assert loaded.policy.thresholds == linkage.Thresholds(review=-3, auto_merge=1)


def test_a_custom_comparison_is_saved_so_that_fitting_again_learns_the_same(
    export_a, tmp_path
) -> None:
    records = export_a.head(500)
    model = LinkageModel(comparisons={"email": cl.ExactMatch("email_clean")}).fit(records)
    loaded = LinkageModel.load(model.save(tmp_path / "model.json"))
    saved = loaded.get_params()["comparisons"]["email"]
    assert isinstance(saved, dict) and saved["output_column_name"] == "email"
    again = LinkageModel(**loaded.get_params()).fit(records)
    assert again.comparison_names == model.comparison_names
    _assert_same_probabilities(again, model)


# -- link with a fitted model -----------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [{}, {"thresholds": linkage.Thresholds(review=-2, auto_merge=2)}],
    ids=["model only", "with thresholds"],
)
def test_link_with_a_model_leaves_the_model_unchanged(fitted, policy) -> None:
    saved, params = _saved(fitted), dict(fitted.get_params())
    thresholds = fitted.policy.thresholds
    result = linkage.link(generate_leads(300, seed=20), model=fitted, **policy)
    assert _saved(fitted) == saved
    assert fitted.get_params() == params
    assert fitted.policy.thresholds == thresholds
    if policy:
        assert result.model is not fitted  # the new policy lives on a new model
        assert result.model.policy.thresholds == policy["thresholds"]
        assert result.model.settings_ == fitted.settings_
    else:
        assert result.model is fitted


def test_fit_once_and_link_two_other_exports_without_training(fitted) -> None:
    saved = _saved(fitted)
    for seed in (11, 12):
        export = generate_leads(1000, seed=seed)
        result = linkage.link(export, model=fitted)
        assert "train" not in result.timings  # scored with the model, nothing trained
        assert result.model is fitted
        assert _saved(fitted) == saved
        accuracy = evaluate(result, "true_person_id", export)
        # The bars tests/test_accuracy.py holds link to when it trains on the export itself.
        assert accuracy["pairwise"].f1 >= 0.93, accuracy["pairwise"]
        assert accuracy["clustered"].f1 >= 0.90, accuracy["clustered"]


# -- errors ---------------------------------------------------------------------------------


def test_link_with_an_unfitted_model_says_to_fit_it() -> None:
    with pytest.raises(ModelError, match=r"not fitted: call model\.fit\(records\) first"):
        linkage.link(generate_leads(50, seed=1), model=LinkageModel())


def test_an_unfitted_model_has_no_learned_state_and_says_why(tmp_path) -> None:
    model = LinkageModel()
    assert not model.is_fitted
    assert not hasattr(model, "settings_")
    with pytest.raises(AttributeError, match="not fitted, so it has no policy"):
        model.policy  # noqa: B018
    with pytest.raises(AttributeError, match="not fitted, so it has no comparison_names"):
        model.comparison_names  # noqa: B018
    with pytest.raises(ModelError, match="not fitted: there is nothing to save"):
        model.save(tmp_path / "model.json")
    assert not (tmp_path / "model.json").exists()


def test_fit_refuses_records_it_cannot_learn_from(export_a) -> None:
    with pytest.raises(InputError, match="no rows"):
        LinkageModel().fit(export_a.head(0))
    with pytest.raises(ModelError, match="cannot fit on 1 record"):
        LinkageModel().fit(export_a.head(1))
    with pytest.raises(LinkageError):
        LinkageModel().fit({})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seed": "0"}, r"seed must be a whole number >= 0, not '0'"),
        ({"max_block_size": 0}, r"max_block_size must be a whole number >= 1"),
        ({"thresholds": (-4, 0)}, r"thresholds must be a Thresholds or None"),
        ({"blocking_rules": ["mobile"]}, r"blocking_rules must hold BlockingRule objects"),
        ({"level": "household"}, r"level must be 'person' or 'organization'"),
        ({"link_type": "link_only"}, r"needs several inputs"),
    ],
)
def test_fit_refuses_a_parameter_that_is_not_valid(export_a, params, message) -> None:
    with pytest.raises(ConfigError, match=message):
        LinkageModel(**params).fit(export_a.head(50))


def test_a_fitted_state_is_given_whole_and_without_parameters(fitted) -> None:
    with pytest.raises(ConfigError, match=r"settings, policy and config together \(config"):
        LinkageModel(fitted.settings_, fitted.policy)
    with pytest.raises(ConfigError, match=r"or parameters \(seed\), not both"):
        LinkageModel(fitted.settings_, fitted.policy, fitted.config, seed=5)
    rebuilt = LinkageModel(fitted.settings_, fitted.policy, fitted.config, fitted.training_log_)
    assert rebuilt.get_params() == fitted.get_params()  # read from the config
