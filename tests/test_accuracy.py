"""Accuracy against ground truth, at the default settings, through ``link`` alone.

Every set is linked with its default roles (no ``roles=``): the first real file a user
tries must work. The generator's truth is person level (``generate_accounts``:
organization level); the shared benchmark sets are splink's own (their README gives
splink's reference figures with its documented settings); the Chicago sites are real
records labelled by people. Truth columns stay in the frames: linkage must leave them out
on its own (``cluster``, ``true_*`` name an answer, not evidence).
"""

from __future__ import annotations

import pandas as pd
import pytest

import linkage
from linkage.evaluation import clustered_accuracy, evaluate


@pytest.fixture(scope="module")
def generated():
    from linkage.datasets import generate_leads

    return generate_leads(10_000, seed=11)


@pytest.mark.slow
def test_generator_person_level_accuracy_at_defaults(generated) -> None:
    result = linkage.link(generated)
    accuracy = evaluate(result, "true_person_id", generated)
    assert accuracy["pairwise"].f1 >= 0.93, accuracy
    assert accuracy["clustered"].f1 >= 0.90, accuracy


@pytest.mark.slow
def test_constrained_clustering_beats_connected_components(generated) -> None:
    constrained = linkage.link(generated)
    components = linkage.link(generated, cluster_method="connected_components")
    f1_constrained = evaluate(constrained, "true_person_id", generated)["clustered"]
    f1_components = evaluate(components, "true_person_id", generated)["clustered"]
    # same pairs, same decisions: only the clustering differs
    assert f1_constrained.precision > f1_components.precision
    assert f1_constrained.f1 >= f1_components.f1


@pytest.mark.slow
def test_fake_1000(shared) -> None:
    df = pd.read_csv(shared("splink_datasets/fake_1000.csv"))
    accuracy = evaluate(linkage.link(df), "cluster", df)
    assert accuracy["clustered"].f1 >= 0.92, accuracy


def _febrl(shared, name: str) -> pd.DataFrame:
    df = pd.read_csv(shared(f"splink_datasets/febrl/{name}"), dtype=str)
    df.columns = df.columns.str.strip()
    return df


@pytest.mark.slow
def test_febrl3(shared) -> None:
    df = _febrl(shared, "dataset3.csv")
    df["truth"] = df["rec_id"].str.extract(r"rec-(\d+)")[0]
    accuracy = evaluate(linkage.link(df), "truth", df)
    assert accuracy["clustered"].f1 >= 0.99, accuracy
    assert accuracy["pairwise"].f1 >= 0.99, accuracy


@pytest.mark.slow
def test_febrl4_links_two_files(shared) -> None:
    result = linkage.link(
        {"a": _febrl(shared, "dataset4a.csv"), "b": _febrl(shared, "dataset4b.csv")},
        link_type="link_only",
    )
    entities = result.entities
    truth = entities["rec_id"].str.extract(r"rec-(\d+)")[0]
    accuracy = clustered_accuracy(entities["entity_id"], truth)
    assert accuracy.f1 >= 0.99, accuracy


@pytest.mark.slow
def test_historical_50k(shared) -> None:
    df = pd.read_parquet(shared("splink_datasets/historical_figures_with_errors_50k.parquet"))
    result = linkage.link(df)
    # full_name (titles, epithets) gives way to first_name + surname; first_and_surname
    # repeats them and is not compared twice; birth_place and postcode_fake are known.
    assert "full_name" in result.unused and "first_and_surname" in result.unused
    assert {"birth_place", "postcode"} <= set(result.roles["records"].roles)
    accuracy = evaluate(result, "cluster", df)
    assert accuracy["clustered"].f1 >= 0.85, accuracy


@pytest.mark.slow
def test_chicago_sites_real_data_above_splink_by_hand(chicago_sites) -> None:
    records, truth = chicago_sites
    result = linkage.link(records)
    assert result.level == "organization"
    accuracy = evaluate(result, "True Id", truth)
    # splink configured by hand for this file: 0.885 pairwise / 0.836 clustered.
    assert accuracy["pairwise"].f1 >= 0.885, accuracy
    assert accuracy["clustered"].f1 >= 0.85, accuracy


@pytest.mark.slow
def test_organization_mode_of_the_generator() -> None:
    from linkage.datasets import generate_accounts

    accounts = generate_accounts(5_000, seed=3)
    result = linkage.link(accounts)
    assert result.level == "organization"
    accuracy = evaluate(result, "true_account_id", accounts)
    assert accuracy["pairwise"].f1 >= 0.95, accuracy
    assert accuracy["clustered"].f1 >= 0.95, accuracy


@pytest.mark.slow
def test_standardization_is_what_finds_formatting_duplicates(generated) -> None:
    on = evaluate(linkage.link(generated), "true_person_id", generated)["pairwise"]
    off = evaluate(linkage.link(generated, standardize=False), "true_person_id", generated)
    assert on.f1 >= off["pairwise"].f1 + 0.2, (on, off["pairwise"])
