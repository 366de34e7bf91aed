"""One truth in the project file: the record store follows what reviewers and undo do to a
run's entities, in the same transaction, and a re-run of ``link`` never silently drops what
the store gained since it was built."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import linkage
from linkage import datasets
from linkage.cli import main
from linkage.errors import StoreError

# The slow tier: a project file written, erased, rewritten or served per test.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def leads() -> pd.DataFrame:
    return datasets.generate_leads(500, seed=5).drop(columns=["true_person_id", "true_account_id"])


@pytest.fixture(scope="module")
def template(leads, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("truth") / "crm.linkage"
    linkage.RecordStore.build(linkage.link(leads, queue=path, seed=0)).close()
    return path


@pytest.fixture
def project(template, tmp_path) -> Path:
    path = tmp_path / "crm.linkage"
    path.write_bytes(template.read_bytes())
    return path


def _store_entities(path: Path) -> dict[str, str]:
    with linkage.RecordStore.open(path) as store:
        frame = store.entities
        return dict(zip(frame[frame.columns[0]], frame["entity_id"]))


def _a_big_entity(result: linkage.LinkResult) -> list[str]:
    entities = result.entities
    sizes = entities["entity_id"].value_counts()
    entity = sizes[sizes >= 3].index[0]
    return entities.loc[entities["entity_id"] == entity, "lead_id"].tolist()


def test_a_take_out_moves_the_record_in_the_store_too(leads, project) -> None:
    result = linkage.link(leads, queue=project, seed=0)
    members = _a_big_entity(result)
    before = _store_entities(project)
    assert len({before[m] for m in members}) == 1
    after = result.take_out(members[-1], reviewer="li.na", note="assistant's lead")
    mapped = dict(zip(after.entities["lead_id"], after.entities["entity_id"]))
    stored = _store_entities(project)
    assert stored == {k: mapped[k] for k in stored}  # one truth: the store maps as the run
    assert stored[members[-1]] != stored[members[0]]
    with linkage.RecordStore.open(project) as store:
        golden = store.golden(stored[members[0]])
        lineage = store.lineage(stored[members[0]])
    assert len(golden) == 1
    assert members[-1] not in set(lineage.astype(str).stack())


def test_verdicts_and_a_split_reach_the_store(leads, project) -> None:
    result = linkage.link(leads, queue=project, seed=0)
    members = _a_big_entity(result)
    queue = linkage.ReviewQueue.open(project)
    queue.decide_pair(members[0], members[1], "non_match", reviewer="li.na")
    again = result.recluster()
    mapped = dict(zip(again.entities["lead_id"], again.entities["entity_id"]))
    assert mapped[members[0]] != mapped[members[1]]
    stored = _store_entities(project)
    assert stored == {k: mapped[k] for k in stored}
    split = again.split(mapped[members[2]], reviewer="li.na")
    mapped = dict(zip(split.entities["lead_id"], split.entities["entity_id"]))
    assert _store_entities(project) == {k: mapped[k] for k in stored}


def test_a_rebuild_never_silently_drops_what_the_store_gained(leads, project, tmp_path) -> None:
    with linkage.RecordStore.open(project) as store:
        store.add(
            pd.DataFrame(
                [
                    {
                        "lead_id": "WEB-1",
                        "name": "欧阳澜清",
                        "mobile": "13977770421",
                        "company": "宁波鼎海诚新能源有限公司",
                    }
                ]  # fmt: skip
            )
        )
    result = linkage.link(leads, queue=project, seed=0)
    with pytest.raises(StoreError, match=r"1 records this run does not hold \('WEB-1'\)"):
        linkage.RecordStore.build(result, replace=True)
    assert "WEB-1" in _store_entities(project)  # nothing was dropped
    csv = tmp_path / "leads.csv"
    leads.to_csv(csv, index=False)
    out = tmp_path / "out"
    args = ["run", str(csv), "-o", str(out), "--project", str(project), "--store", "lead"]
    assert main(args) == 4  # the project file cannot be used as asked: a person decides
    assert "WEB-1" in _store_entities(project)
    assert main([*args, "--rebuild-store"]) == 0
    assert "WEB-1" not in _store_entities(project)  # on purpose


def test_a_verdict_given_through_the_store_moves_its_entities(project) -> None:
    with linkage.RecordStore.open(project) as store:
        items = store.queue.pending()
        entities = dict(zip(store.entities["lead_id"], store.entities["entity_id"]))
        apart = items[
            [entities[a] != entities[b] for a, b in zip(items["lead_id_l"], items["lead_id_r"])]
        ]
        item = apart.iloc[0]
        moves = store.decide(int(item["item_id"]), "match", reviewer="li.na")
        assert len(moves) >= 1
        after = dict(zip(store.entities["lead_id"], store.entities["entity_id"]))
        assert after[item["lead_id_l"]] == after[item["lead_id_r"]]
        assert store.queue.item(int(item["item_id"]))["status"] == "decided"
