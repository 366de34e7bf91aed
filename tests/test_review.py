"""The review queue in a project file: items, verdicts that steer clustering, stable entity
ids across runs, labels, the audit sample, crash safety and two processes at once."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import linkage
from linkage.cli import main
from linkage.decisions import Thresholds
from linkage.errors import (
    ConfigError,
    ProjectBusyError,
    ProjectDataError,
    ProjectError,
    ProjectVersionError,
)
from linkage.review import ReviewQueue

N_RECORDS = 1200


@pytest.fixture(scope="module")
def records(sample) -> pd.DataFrame:
    return sample.head(N_RECORDS).copy()


@pytest.fixture(scope="module")
def template(records, tmp_path_factory) -> tuple[Path, linkage.LinkResult]:
    """A project file after one run of link (copy it before changing it)."""
    path = tmp_path_factory.mktemp("project") / "crm.linkage"
    result = linkage.link(records, queue=path, seed=0)
    return path, result


@pytest.fixture
def project(template, tmp_path) -> Path:
    path = tmp_path / "crm.linkage"
    shutil.copy(template[0], path)
    return path


def _entity_of(result: linkage.LinkResult) -> dict[str, str]:
    return dict(zip(result.entities["lead_id"], result.entities["entity_id"]))


def test_link_puts_review_pairs_in_the_queue_once(template, records, project) -> None:
    _, result = template
    queue = ReviewQueue.open(project)
    items = queue.items()
    assert len(items) == len(result.review) > 0
    assert (items["kind"] == "review").all() and (items["status"] == "pending").all()
    assert not items.duplicated(["lead_id_l", "lead_id_r"]).any()
    # both records side by side, with their scores and the reason they were routed
    for column in ("match_probability", "reason", "person_name_l", "person_name_r", "mobile_l"):
        assert column in items
    again = linkage.link(records, queue=project, seed=0)
    assert len(queue.items()) == len(items) == len(again.review)


def test_pending_lists_the_least_certain_first(project) -> None:
    pending = ReviewQueue.open(project).pending()
    doubt = np.minimum(pending["match_probability"], 1 - pending["match_probability"])
    assert doubt.is_monotonic_decreasing
    assert len(ReviewQueue.open(project).pending(limit=3)) == 3


def test_verdicts_change_skip_and_keep_their_history(project) -> None:
    queue = ReviewQueue.open(project)
    first, second = queue.pending(2)["item_id"].tolist()
    queue.decide(first, "match", reviewer="li.na")
    queue.decide(first, "non_match", reviewer="wang.fang", note="different mobiles")
    queue.decide(second, "skip", reviewer="li.na")
    current = queue.verdicts()
    assert len(current) == 2
    assert queue.item(first)["verdict"] == "non_match"
    assert queue.item(first)["reviewer"] == "wang.fang"
    assert len(queue.verdicts(history=True)) == 3
    pending = queue.pending()
    assert first not in pending["item_id"].tolist()
    assert pending["item_id"].iloc[-1] == second  # skipped items come last
    with pytest.raises(ConfigError, match="verdict must be"):
        queue.decide(first, "maybe", reviewer="li.na")
    with pytest.raises(ConfigError, match="reviewer"):
        queue.decide(first, "match", reviewer=" ")
    with pytest.raises(ProjectError, match="no item 99999"):
        queue.decide(99999, "match", reviewer="li.na")


def test_show_puts_two_records_side_by_side(project) -> None:
    queue = ReviewQueue.open(project)
    item = int(queue.pending(1)["item_id"].iloc[0])
    side = queue.show(item)
    assert list(side.columns) == ["role", "left", "right", "same"]
    assert {"person_name", "mobile", "company", "record_id"} <= set(side["role"])


def test_verdicts_steer_the_next_run_and_entity_ids_stay_stable(records, template, project):
    _, first = template
    truth = dict(zip(records["lead_id"], records["true_person_id"]))
    before = _entity_of(first)
    queue = ReviewQueue.open(project)
    pending = queue.pending()
    apart_now = pending[
        [before[a] != before[b] for a, b in zip(pending["lead_id_l"], pending["lead_id_r"])]
    ]
    same = apart_now[
        [truth[a] == truth[b] for a, b in zip(apart_now.lead_id_l, apart_now.lead_id_r)]
    ]
    other = apart_now[
        [truth[a] != truth[b] for a, b in zip(apart_now.lead_id_l, apart_now.lead_id_r)]
    ]
    matched = same.head(2)[["item_id", "lead_id_l", "lead_id_r"]]
    kept_apart = other.head(3)
    assert len(matched) == 2 and len(kept_apart) == 3
    for item in matched["item_id"]:
        queue.decide(int(item), "match", reviewer="li.na")
    # a person also matches two records that were never proposed as a pair
    proposed = set(zip(first.pairs["lead_id_l"], first.pairs["lead_id_r"]))
    people = records.groupby("true_person_id")["lead_id"].apply(list)
    never = next(
        (ids[0], other_id)
        for ids in people
        for other_id in ids[1:]
        if before[ids[0]] != before[other_id]
        and (ids[0], other_id) not in proposed
        and (other_id, ids[0]) not in proposed
    )
    queue.decide_pair(never[0], never[1], "match", reviewer="wang.fang", note="same WeChat")
    matched = pd.concat(
        [matched, pd.DataFrame({"item_id": [0], "lead_id_l": [never[0]], "lead_id_r": [never[1]]})]
    )
    for item in kept_apart["item_id"]:
        queue.decide(int(item), "non_match", reviewer="li.na")
    # a person also splits an auto-merged pair of two records that were never in the queue
    sizes = first.entities["entity_id"].value_counts()
    pairs = first.pairs
    twos = pairs[
        (pairs["decision"] == "auto_merge")
        & (pairs["entity_id_l"] == pairs["entity_id_r"])
        & (pairs["entity_id_l"].map(sizes) == 2)
    ].iloc[0]
    queue.decide_pair(twos["lead_id_l"], twos["lead_id_r"], "non_match", reviewer="wang.fang")

    second = linkage.link(records, queue=project, seed=0)
    after = _entity_of(second)
    for a, b in zip(matched["lead_id_l"], matched["lead_id_r"]):
        assert after[a] == after[b]
    for a, b in zip(kept_apart["lead_id_l"], kept_apart["lead_id_r"]):
        assert after[a] != after[b]
    assert after[twos["lead_id_l"]] != after[twos["lead_id_r"]]

    # entities no verdict touched keep their records and their ids
    touched_records = set(matched["lead_id_l"]) | set(matched["lead_id_r"])
    touched_records |= {twos["lead_id_l"], twos["lead_id_r"]}
    touched = {before[r] for r in touched_records}
    for record, entity in before.items():
        if entity not in touched:
            assert after[record] == entity
    # an entity keeps its id as records join it: each merge keeps one of the two ids
    for a, b in zip(matched["lead_id_l"], matched["lead_id_r"]):
        assert after[a] in (before[a], before[b])

    # the counts add up: every record once; entities = before - joins + the split
    groups = {e: {e} for e in set(before.values())}
    joins = 0
    for a, b in zip(matched["lead_id_l"], matched["lead_id_r"]):
        ga, gb = groups[before[a]], groups[before[b]]
        if ga is not gb:
            joins += 1
            ga |= gb
            for e in gb:
                groups[e] = ga
    assert len(second.entities) == len(records)
    assert second.n_entities == first.n_entities - joins + 1
    counts = ReviewQueue.open(project).items()["status"].value_counts()
    assert counts["decided"] == 7
    # the merge log says who joined the never-proposed pair
    log = second.lineage.merge_log
    by_verdict = log[log["event"] == "merged_by_verdict"]
    assert "wang.fang" in set(by_verdict["actor"])
    assert counts["pending"] == len(second.review) - 5  # 5 of the 7 verdicts were on review pairs


def test_grown_data_keeps_verdicts_and_ids(records, tmp_path) -> None:
    path = tmp_path / "grow.linkage"
    first = linkage.link(records.head(1000), queue=path, seed=0)
    queue = ReviewQueue.open(path)
    for item in queue.pending(3)["item_id"]:
        queue.decide(int(item), "non_match", reviewer="li.na")
    second = linkage.link(records, queue=path, seed=0)
    items = queue.items()
    assert not items.duplicated(["lead_id_l", "lead_id_r"]).any()
    assert (items["status"] == "decided").sum() == 3 == len(queue.verdicts())
    before, after = _entity_of(first), _entity_of(second)
    kept = np.mean([after[r] == e for r, e in before.items()])
    assert kept > 0.95
    assert set(queue.entity_map()["lead_id"]) == set(records["lead_id"])
    # items whose new score left the band are marked, not dropped
    in_band = set(zip(second.review["lead_id_l"], second.review["lead_id_r"]))
    in_band |= {(b, a) for a, b in in_band}
    for _, item in items.iterrows():
        if (item["lead_id_l"], item["lead_id_r"]) not in in_band:
            assert item["status"] in ("left_band", "decided")


def test_an_item_that_leaves_the_band_is_marked(template, project) -> None:
    _, result = template
    queue = ReviewQueue.open(project)
    # the template result, pointed at this copy of its project file
    result = dataclasses.replace(result, queue=queue)
    result._context.queue = queue
    before = queue.items()
    narrower = result.redecide(Thresholds(review=-1.0, auto_merge=0.0))
    items = queue.items().set_index("item_id")
    assert len(items) == len(before)
    left = items[items["status"] == "left_band"]
    assert len(left) > 0
    assert (left["match_weight"] < -1.0).all()
    assert (left["decision"] == "distinct").all()
    assert (items["status"] == "pending").sum() == len(narrower.review)


def test_a_queue_for_other_data_is_refused(records, project) -> None:
    with pytest.raises(ProjectDataError, match="other data"):
        linkage.link(records.rename(columns={"lead_id": "customer_id"}).head(300), queue=project)
    other = records.head(300).assign(lead_id=lambda f: "X" + f["lead_id"])
    with pytest.raises(ProjectDataError, match="none of its"):
        linkage.link(other, queue=project)


def test_a_newer_or_foreign_file_is_refused(project, tmp_path) -> None:
    with duckdb.connect(str(project)) as con:
        con.execute("UPDATE linkage_meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(ProjectVersionError, match="newer linkage"):
        ReviewQueue.open(project)
    foreign = tmp_path / "other.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE sales (x INTEGER)")
    with pytest.raises(ProjectError, match="not a linkage project file"):
        ReviewQueue.open(foreign)
    garbage = tmp_path / "garbage.linkage"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ProjectError, match="cannot open"):
        ReviewQueue.open(garbage)


def test_labels_follow_splink_format_and_feed_its_accuracy_tools(template, project) -> None:
    _, result = template
    queue = ReviewQueue.open(project)
    for item, verdict in zip(queue.pending(4)["item_id"], ["match", "non_match", "skip", "match"]):
        queue.decide(int(item), verdict, reviewer="li.na")
    labels = queue.labels()
    assert list(labels.columns) == [
        "source_dataset_l",
        "unique_id_l",
        "source_dataset_r",
        "unique_id_r",
        "clerical_match_score",
    ]
    assert sorted(labels["clerical_match_score"]) == [0.0, 1.0, 1.0]
    assert labels["unique_id_l"].str.startswith("L").all()
    by_rid = queue.labels(result)
    linker = result.linker
    table = linker.table_management.register_table(by_rid, "linkage_labels", overwrite=True)
    accuracy = linker.evaluation.accuracy_analysis_from_labels_table(table, output_type="table")
    frame = accuracy.as_pandas_dataframe()
    assert int(frame["p"].max()) == 2 and int(frame["n"].max()) == 1


def test_audit_sample_is_marked_weighted_and_estimates_precision(template, project) -> None:
    _, result = template
    queue = ReviewQueue.open(project)
    added = queue.add_audit_sample(result, n_auto_merge=10, n_distinct=10, seed=3)
    assert added == 20
    assert queue.add_audit_sample(result, n_auto_merge=10, n_distinct=10, seed=3) == 0
    items = queue.items()
    audit = items[items["kind"] == "audit"]
    assert set(audit["decision"]) == {"auto_merge", "distinct"}
    pending = queue.pending()
    assert (pending["kind"].head(20) == "audit").all()  # audit first: worthless half done
    truth = dict(zip(result.records["record_id"], result.records.index))
    sample = linkage.datasets.load_sample().set_index("lead_id")["true_person_id"]
    for _, item in audit.iterrows():
        same = sample[item["lead_id_l"]] == sample[item["lead_id_r"]]
        queue.decide(int(item["item_id"]), "match" if same else "non_match", reviewer="audit")
    estimate = queue.audit_estimate().set_index("decision")
    counts = result.decision_counts()
    assert estimate.loc["auto_merge", "population"] == pytest.approx(counts["auto_merge"])
    assert estimate.loc["distinct", "population"] == pytest.approx(counts["distinct"])
    assert estimate.loc["auto_merge", "match_rate"] >= 0.8
    assert estimate.loc["distinct", "match_rate"] <= 0.2
    assert 0 < estimate.loc["auto_merge", "recall"] <= 1
    assert truth  # the records frame keeps the ids the sample was drawn from


def test_the_entity_map_exports_for_the_crm(template, project, records) -> None:
    _, result = template
    mapping = ReviewQueue.open(project).entity_map()
    assert list(mapping.columns) == ["source_dataset", "lead_id", "entity_id"]
    merged = mapping.merge(result.entities, on="lead_id")
    assert len(merged) == len(records)
    assert (merged["entity_id_x"] == merged["entity_id_y"]).all()


# -- crash safety and two processes -------------------------------------------------------


def _decide_in_subprocess(
    project: Path, item: int, reviewer: str, *, pause: float = 0, marker: Path | None = None
) -> subprocess.Popen:
    env = dict(os.environ)
    if pause:
        env["LINKAGE_TEST_PAUSE_IN_TRANSACTION"] = str(pause)
        env["LINKAGE_TEST_PAUSE_MARKER"] = str(marker)
    command = [sys.executable, "-m", "linkage.cli", "review", "decide", str(project), str(item)]
    command += ["match", "--reviewer", reviewer, "--timeout", "60"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the subprocess never reached its transaction"
        time.sleep(0.05)


def test_a_process_killed_mid_verdict_leaves_all_or_none_of_it(project, tmp_path) -> None:
    queue = ReviewQueue.open(project)
    item = int(queue.pending(1)["item_id"].iloc[0])
    n_verdicts = len(queue.verdicts(history=True))
    marker = tmp_path / "inside-transaction"
    process = _decide_in_subprocess(project, item, "killed", pause=60, marker=marker)
    _wait_for(marker, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    reopened = ReviewQueue.open(project)
    verdicts = reopened.verdicts(history=True)
    status = reopened.item(item)["status"]
    # all of it or none of it: the verdict row and the item's status move together
    assert (len(verdicts) == n_verdicts) == (status == "pending")
    assert len(verdicts) == n_verdicts  # killed before its commit: none of it
    reopened.decide(item, "match", reviewer="after the crash")
    assert reopened.item(item)["status"] == "decided"


def test_two_processes_deciding_at_once_both_succeed_or_one_is_told(project, tmp_path) -> None:
    queue = ReviewQueue.open(project)
    first, second, third = (int(i) for i in queue.pending(3)["item_id"])
    marker = tmp_path / "holding"
    holder = _decide_in_subprocess(project, first, "holder", pause=2, marker=marker)
    _wait_for(marker, holder)
    waiter = _decide_in_subprocess(project, second, "waiter")  # waits up to 60 s: succeeds
    assert holder.wait(timeout=60) == 0
    assert waiter.wait(timeout=60) == 0, waiter.stderr.read().decode()

    marker.unlink()
    holder = _decide_in_subprocess(project, first, "holder again", pause=3, marker=marker)
    _wait_for(marker, holder)
    impatient = ReviewQueue(project, timeout=0.3)
    with pytest.raises(ProjectBusyError, match="in use by another process"):
        impatient.decide(third, "match", reviewer="impatient")
    assert holder.wait(timeout=60) == 0

    reopened = ReviewQueue.open(project)
    reviewers = set(reopened.verdicts(history=True)["reviewer"])
    assert reviewers == {"holder", "waiter", "holder again"}
    assert reopened.item(third)["status"] == "pending"


# -- the command line ---------------------------------------------------------------------


def test_cli_review_lists_shows_and_decides(project, capsys) -> None:
    assert main(["review", "list", str(project), "--limit", "5"]) == 0
    listing = capsys.readouterr().out
    item = int(listing.splitlines()[1].split()[0])
    assert "person_name_l" in listing.splitlines()[0]
    assert main(["review", "show", str(project), str(item)]) == 0
    shown = capsys.readouterr().out
    assert f"item {item}" in shown and "mobile" in shown and "probability" in shown
    assert (
        main(["review", "decide", str(project), str(item), "non_match", "--reviewer", "ops"]) == 0
    )
    assert "non_match by ops" in capsys.readouterr().out
    assert ReviewQueue.open(project).item(item)["verdict"] == "non_match"
    assert main(["review", "decide", str(project), str(item), "match"]) == 2
    assert "--reviewer" in capsys.readouterr().err
    out = project.parent / "entities.csv"
    assert main(["review", "entities", str(project), "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == N_RECORDS
    assert main(["review", "list", str(project.parent / "missing.linkage")]) == 4  # unusable
    assert "no project file" in capsys.readouterr().err
