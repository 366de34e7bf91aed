"""One vocabulary for ids: the user's own id column wherever a user reads an id (pairs,
review, the merge log, the queue, verdicts, events, the entity map, the store); every old
name still works for one release, and warns."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import linkage
from linkage import charts


@pytest.fixture(scope="module")
def linked(sample, tmp_path_factory) -> tuple[linkage.LinkResult, linkage.ReviewQueue]:
    path = tmp_path_factory.mktemp("vocabulary") / "crm.linkage"
    records = sample.head(600).drop(columns=["true_person_id", "true_account_id"])
    result = linkage.link(records, queue=path, seed=0)
    queue = linkage.ReviewQueue.open(path)
    item = queue.pending(1)
    queue.decide(int(item["item_id"].iloc[0]), "match", reviewer="li.na")
    return result, queue


def _no_warning(read) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return read()


def _old_name_warns(frame: pd.DataFrame, old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated.*use '{new}'"):
        values = frame[old]
    assert values.tolist() == frame[new].tolist()


def test_every_id_is_named_after_the_users_id_column(linked) -> None:
    result, queue = linked
    assert result.id_column == "lead_id"
    for frame in (
        result.pairs,
        result.review,
        result.lineage.merge_log,
        queue.pending(),
        queue.items(),
        queue.verdicts(),
    ):
        _no_warning(lambda f=frame: f[["lead_id_l", "lead_id_r"]])
        assert not {"record_id_l", "record_l", "record_key"} & set(frame.columns)
    assert "lead_id" in queue.events().columns
    assert "lead_id" in queue.entity_map().columns
    assert queue.id_column == "lead_id"


def test_old_column_names_warn_and_work(linked) -> None:
    result, queue = linked
    _old_name_warns(result.pairs, "record_id_l", "lead_id_l")
    _old_name_warns(result.review, "record_id_r", "lead_id_r")
    _old_name_warns(result.lineage.merge_log, "record_id_l", "lead_id_l")
    _old_name_warns(queue.pending(), "record_l", "lead_id_l")
    _old_name_warns(queue.verdicts(), "record_r", "lead_id_r")
    _old_name_warns(queue.events(), "record_key", "lead_id")
    _old_name_warns(queue.entity_map(), "record_id", "lead_id")
    with pytest.warns(DeprecationWarning):
        assert result.pairs.record_id_l.tolist() == result.pairs["lead_id_l"].tolist()


def test_cluster_labels_and_their_old_name(linked) -> None:
    result, _ = linked
    labels = _no_warning(lambda: result.cluster_labels)
    with pytest.warns(DeprecationWarning, match="LinkResult.labels.*cluster_labels"):
        old = result.labels
    assert np.array_equal(old, labels)


def test_charts_read_labels_in_either_name(linked) -> None:
    result, _ = linked
    pairs = result.pairs.head(40)
    labels = pd.DataFrame(
        {
            "lead_id_l": pairs["lead_id_l"],
            "lead_id_r": pairs["lead_id_r"],
            "is_match": pairs["decision"] == "auto_merge",
        }
    )
    _no_warning(lambda: charts.threshold_explorer(result, labels=labels))
    old = labels.rename(columns={"lead_id_l": "record_id_l", "lead_id_r": "record_id_r"})
    with pytest.warns(DeprecationWarning, match="record_id_l"):
        charts.threshold_explorer(result, labels=old)


def test_store_entities_is_a_property_like_the_results(sample, tmp_path) -> None:
    records = sample.head(300).drop(columns=["true_person_id", "true_account_id"])
    result = linkage.link(records, seed=0)
    path = Path(tmp_path) / "store.linkage"
    with linkage.RecordStore.build(result, path) as store:
        entities = _no_warning(lambda: store.entities)
        assert list(entities.columns[:2]) == ["lead_id", "entity_id"]
        assert set(entities["lead_id"]) == set(result.entities["lead_id"])
        with pytest.warns(DeprecationWarning, match=r"entities\(\) is deprecated"):
            called = store.entities()
        assert called["lead_id"].tolist() == entities["lead_id"].tolist()
        _old_name_warns(entities, "record_id", "lead_id")
