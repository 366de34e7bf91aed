"""Erasure reaches every table of the project file and leaves no byte of the erased record
in it: the queue, verdicts and their notes, the record store (records, keys, counts,
golden records, lineage), entity ids named after the record, and freed blocks.

DuckDB compresses strings, so these tests run with compression forced off
(``LINKAGE_TEST_UNCOMPRESSED``): a byte search of the file can then see any value left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import linkage
from linkage import datasets
from linkage.cli import main
from linkage.errors import StaleResultError, StoreError

# The slow tier: a project file written, erased, rewritten or served per test.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _uncompressed(monkeypatch) -> None:
    monkeypatch.setenv("LINKAGE_TEST_UNCOMPRESSED", "1")


@pytest.fixture(scope="module")
def leads() -> pd.DataFrame:
    return datasets.generate_leads(1000, seed=11).drop(
        columns=["true_person_id", "true_account_id"]
    )


def _unique_values(leads: pd.DataFrame, record_id: str) -> list[str]:
    """The erased record's values that no other record holds (raw and standardized)."""
    row = leads.set_index("lead_id").loc[record_id]
    others = leads[leads["lead_id"] != record_id]

    def digits(value: object) -> str:
        text = str(value).removesuffix(".0")  # a number Excel wrote as a float
        return "".join(ch for ch in text if ch.isdigit())[-11:]

    out = []
    for column in ("email", "mobile", "wechat_unionid"):
        value = row[column]
        if not isinstance(value, str) or len(value) < 8:
            continue
        if column == "mobile":
            if not others[column].dropna().map(digits).eq(digits(value)).any():
                out += [value, digits(value)]  # raw, and in its E.164 form
        elif column == "email":
            if not others[column].dropna().str.strip().str.lower().eq(value.lower()).any():
                out += [value, value.strip().lower()]
        elif not (others[column] == value).any():
            out.append(value)
    return list(dict.fromkeys(out))


def _pick(result: linkage.LinkResult, leads: pd.DataFrame) -> str:
    """A record of a multi-record entity that names the entity (its first record) and has
    values of its own; one in a review pair when there is one."""
    entities = result.entities
    sizes = entities["entity_id"].map(entities["entity_id"].value_counts())
    pairs = result.review
    side = "lead_id" if "lead_id_l" in pairs.columns else "record_id"
    review = set(pairs[f"{side}_l"]) | set(pairs[f"{side}_r"])
    found = [
        record_id
        for record_id, entity_id, size in zip(entities["lead_id"], entities["entity_id"], sizes)
        if size > 1 and entity_id == record_id and len(_unique_values(leads, record_id)) >= 2
    ]
    assert found, "no record to erase in the test data"
    return next((r for r in found if r in review), found[0])


def _assert_gone(path: Path, values: list[str]) -> None:
    assert values
    for file in (path, Path(str(path) + ".wal")):
        if file.exists():
            data = file.read_bytes()
            for value in values:
                assert value.encode("utf-8") not in data, (file.name, value)
    con = duckdb.connect(str(path), read_only=True)
    try:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            columns = [
                r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall() if "VARCHAR" in r[1]
            ]
            for column in columns:
                for value in values:
                    found = con.execute(
                        f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [value]
                    ).fetchall()[0][0]
                    assert found == 0, (table, column, value)
    finally:
        con.close()


@pytest.fixture(scope="module")
def project(leads, tmp_path_factory) -> tuple[Path, linkage.LinkResult, str]:
    os.environ["LINKAGE_TEST_UNCOMPRESSED"] = "1"
    try:
        path = tmp_path_factory.mktemp("erasure") / "crm.linkage"
        result = linkage.link(leads, queue=path, seed=0)
        target = _pick(result, leads)
        phone = leads.set_index("lead_id").loc[target, "mobile"]
        queue = linkage.ReviewQueue.open(path)
        entities = result.entities
        entity = entities.loc[entities["lead_id"] == target, "entity_id"].iloc[0]
        other = entities.loc[
            (entities["entity_id"] == entity) & (entities["lead_id"] != target), "lead_id"
        ].iloc[0]
        queue.decide_pair(target, other, "skip", reviewer="li.na", note=f"rang {phone}")
        linkage.RecordStore.build(result, object_name="lead").close()
    finally:
        del os.environ["LINKAGE_TEST_UNCOMPRESSED"]
    return path, result, target


def test_the_values_are_in_the_file_before_erasure(project, leads) -> None:
    """The byte search can see values: without this the other tests prove nothing."""
    path, _, target = project
    data = path.read_bytes()
    assert any(v.encode() in data for v in _unique_values(leads, target))


def test_forget_leaves_no_byte_of_the_record_in_the_file(project, leads, tmp_path) -> None:
    path = tmp_path / "crm.linkage"
    path.write_bytes(project[0].read_bytes())
    result, target = project[1], project[2]
    queue = linkage.ReviewQueue.open(path)
    result = linkage.link(leads, queue=queue, seed=0)
    after = result.forget(target)

    values = _unique_values(leads, target)
    _assert_gone(path, values)
    assert not path.with_name(path.name + ".compacting").exists()
    # The store no longer finds the erased person, nor shows their golden record.
    row = leads.set_index("lead_id").loc[target]
    with linkage.RecordStore.open(path) as store:
        check = store.check_one({"email": row["email"], "mobile": row["mobile"]})
        assert check.matched_record != target
        assert target not in set(store.entities["lead_id"])
        assert target not in set(store.golden()["entity_id"])
    # The result it returns carries nothing of the record.
    assert target not in set(after.entities["lead_id"])
    assert target not in set(after.entities["entity_id"])
    for frame in (after.problems, after.golden, after.pairs):
        text = frame.astype(str).to_csv()
        assert target not in text
        assert not any(v in text for v in values)
    # The log keeps only that an erasure happened, and when.
    events = queue.events()
    assert (events["event"] == "erased").sum() == 1
    assert "entity_reissued" in set(events["event"])


def test_a_result_from_before_the_erasure_says_it_is_stale(project, leads, tmp_path) -> None:
    path = tmp_path / "crm.linkage"
    path.write_bytes(project[0].read_bytes())
    result = linkage.link(leads, queue=path, seed=0)
    result.forget(project[2])
    with pytest.raises(StaleResultError, match="erased"):
        result.golden  # noqa: B018
    with pytest.raises(StaleResultError):
        result.pairs  # noqa: B018


def test_a_record_added_to_the_store_can_be_erased(project, leads, tmp_path) -> None:
    path = tmp_path / "crm.linkage"
    path.write_bytes(project[0].read_bytes())
    new = {
        "lead_id": "NEW-0001",
        "name": "欧阳 澜清",
        "mobile": "+86 139-7777-0421",
        "email": "ouyang.lanqing.zz@example.cn",
        "company": "宁波鼎海诚新能源有限公司",
    }
    with linkage.RecordStore.open(path) as store:
        store.add(pd.DataFrame([new]))
        assert "NEW-0001" in set(store.entities["lead_id"])
        n = store.n_records
        store.forget("NEW-0001")
        assert store.n_records == n - 1
        assert "NEW-0001" not in set(store.entities["lead_id"])
        check = store.check_one({"email": new["email"]})
        assert check.matched_record is None
        with pytest.raises(StoreError, match="NOPE"):
            store.forget("NOPE")
    _assert_gone(path, ["ouyang.lanqing.zz", "13977770421", "澜清"])


def test_erasures_in_a_batch_and_the_command_line(project, leads, tmp_path, capsys) -> None:
    path = tmp_path / "crm.linkage"
    path.write_bytes(project[0].read_bytes())
    target = project[2]
    assert main(["forget", str(path), target]) == 0
    assert "erased 1 record" in capsys.readouterr().out
    _assert_gone(path, _unique_values(leads, target))
    with linkage.RecordStore.open(path) as store:
        assert target not in set(store.entities["lead_id"])


def test_a_kill_during_erasure_leaves_the_record_whole_or_gone(project, leads, tmp_path) -> None:
    target = project[2]
    values = _unique_values(leads, target)
    for variable in ("LINKAGE_TEST_PAUSE_IN_TRANSACTION", "LINKAGE_TEST_PAUSE_IN_COMPACTION"):
        path = tmp_path / f"{variable}.linkage"
        path.write_bytes(project[0].read_bytes())
        marker = tmp_path / f"{variable}.marker"
        code = f"import linkage, sys\nlinkage.ReviewQueue.open({str(path)!r}).forget({target!r})\n"
        env = {
            **os.environ,
            variable: "60",
            "LINKAGE_TEST_PAUSE_MARKER": str(marker),
            "LINKAGE_TEST_UNCOMPRESSED": "1",
        }
        process = subprocess.Popen([sys.executable, "-c", code], env=env)
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "the erasing process ended early"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        queue = linkage.ReviewQueue.open(path)  # opens; finishes a pending rewrite
        present = target in set(queue.entity_map()["lead_id"])
        with linkage.RecordStore.open(path) as store:
            assert (target in set(store.entities["lead_id"])) == present
        if variable == "LINKAGE_TEST_PAUSE_IN_TRANSACTION":
            assert present  # killed before its commit: none of it
        else:
            assert not present  # committed; the rewrite was finished on open
            _assert_gone(path, values)
