"""The record store serves many threads of one process: a check-on-create web service calls
``check_one`` from a thread per request, and a second store object on the same file sees
the first one's writes."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import linkage
from linkage.datasets import generate_leads, load_sample
from linkage.errors import StoreError
from linkage.store import RecordStore

# The slow tier: a store served by many threads, on real files.
pytestmark = pytest.mark.slow

TRUTH = ["true_person_id", "true_account_id"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A project file holding a store of the shipped sample (built once), and the records."""
    path = tmp_path_factory.mktemp("threads") / "crm.linkage"
    records = load_sample().drop(columns=TRUTH)
    result = linkage.link(records, seed=0, queue=path)
    RecordStore.build(result).close()
    return path, result, records


@pytest.fixture
def store_path(template, tmp_path) -> Path:
    path = tmp_path / "crm.linkage"
    shutil.copy(template[0], path)
    return path


def _enquiries(template, n: int) -> list[dict]:
    """Forms as a service sees them: known customers enquiring again under a new lead id,
    and strangers."""
    _, result, records = template
    golden = result.golden.set_index("entity_id")
    entities = golden[golden["n_records"] >= 2].index[: n // 2]
    first = result.entities.drop_duplicates("entity_id").set_index("entity_id")["lead_id"]
    by_id = records.set_index("lead_id")
    known = [
        {**by_id.loc[first[e]].to_dict(), "lead_id": f"NEW-{i}"} for i, e in enumerate(entities)
    ]
    strangers = generate_leads(n - len(known), seed=99).drop(columns=TRUTH)
    strangers["lead_id"] = "S" + strangers["lead_id"]
    return known + strangers.to_dict("records")


def _answer(found) -> tuple:
    weight = None if found.match_weight is None else round(found.match_weight, 9)
    return found.decision, found.entity_id, found.matched_record, weight


@pytest.mark.parametrize(
    "n_checks",
    [
        pytest.param(200, id="200 checks"),
        pytest.param(1000, id="1000 checks", marks=pytest.mark.slow),
    ],
)
def test_eight_threads_checking_get_the_sequential_answers(
    template, store_path, n_checks: int
) -> None:
    forms = _enquiries(template, n_checks // 8)
    with RecordStore.open(store_path) as store:
        expected = [_answer(store.check_one(form)) for form in forms]
        assert sum(e[0] == "auto_merge" for e in expected) >= len(forms) // 3  # known found
        batch = pd.DataFrame(forms[:10])
        expected_batch = store.check(batch)[["decision", "entity_id"]]
        calls = [i % len(forms) for i in range(n_checks)]
        barrier = threading.Barrier(8)

        def worker(part: list[int]) -> list[tuple[int, tuple]]:
            barrier.wait()  # all eight start together
            out = [(i, _answer(store.check_one(forms[i]))) for i in part]
            frame = store.check(batch)[["decision", "entity_id"]]
            pd.testing.assert_frame_equal(frame, expected_batch)
            return out

        with ThreadPoolExecutor(8) as pool:
            parts = [calls[k::8] for k in range(8)]
            answers = [a for chunk in pool.map(worker, parts) for a in chunk]
    assert len(answers) == n_checks
    wrong = [(i, got, expected[i]) for i, got in answers if got != expected[i]]
    assert wrong == []


def test_checks_keep_answering_while_another_thread_imports(template, store_path) -> None:
    forms = _enquiries(template, 40)
    fresh = generate_leads(300, seed=12).drop(columns=TRUTH)
    fresh["lead_id"] = "I" + fresh["lead_id"]
    with RecordStore.open(store_path) as store:
        expected = [_answer(store.check_one(form)) for form in forms]
        done = threading.Event()
        errors: list[BaseException] = []
        answers: list[tuple[int, tuple]] = []

        def checker(offset: int) -> None:
            try:
                i = offset
                while not done.is_set() or i < offset + len(forms):
                    form = forms[i % len(forms)]
                    answers.append((i % len(forms), _answer(store.check_one(form))))
                    i += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=checker, args=(k,)) for k in range(3)]
        for thread in threads:
            thread.start()
        store.add(fresh)
        done.set()
        for thread in threads:
            thread.join()
        assert errors == []
        # The import adds other people: the known customers stay with their entities (the
        # weights move a little, with the term frequencies).
        known = {i for i, e in enumerate(expected) if e[0] == "auto_merge"}
        moved = [(i, a) for i, a in answers if i in known and a[:2] != expected[i][:2]]
        assert len(answers) >= 3 * len(forms) and known and moved == []
        again = store.check_one({**fresh.iloc[0].to_dict(), "lead_id": "I-again"})
        entity = store.entities.set_index("lead_id").loc[fresh["lead_id"].iloc[0]]
        assert again.decision == "auto_merge" and again.entity_id == entity["entity_id"]


def test_a_second_store_object_on_the_file_sees_the_first_ones_writes(store_path) -> None:
    first_batch = generate_leads(200, seed=31).drop(columns=TRUTH)
    first_batch["lead_id"] = "A" + first_batch["lead_id"]
    second_batch = generate_leads(200, seed=32).drop(columns=TRUTH)
    second_batch["lead_id"] = "B" + second_batch["lead_id"]
    with RecordStore.open(store_path) as one, RecordStore.open(store_path) as two:
        n = one.n_records
        one.add(first_batch)
        # The second object checks against what the first added ...
        lead = {**first_batch.iloc[0].to_dict(), "lead_id": "A-again"}
        entity = one.entities.set_index("lead_id").loc[first_batch["lead_id"].iloc[0]]
        found = two.check_one(lead)
        assert found.decision == "auto_merge" and found.entity_id == entity["entity_id"]
        # ... and adds after it without taking its row ids.
        two.add(second_batch)
        assert one.n_records == two.n_records == n + 400
        assert len(two.entities) == n + 400
        # Re-adding a record the other object stored is refused by name, not by DuckDB.
        with pytest.raises(linkage.InputError, match="in the store already"):
            one.add(second_batch.iloc[:1])
        retrained = one.retrain(seed=1)
        assert two.model_version == retrained
    with RecordStore.open(store_path) as again:
        assert again.n_records == n + 400


def test_a_closed_store_says_so_in_every_thread(store_path) -> None:
    store = RecordStore.open(store_path)
    store.check_one({"name": "王伟", "mobile": "13800138000"})
    store.close()
    store.close()  # twice is harmless

    def check() -> None:
        store.check_one({"name": "王伟", "mobile": "13800138000"})

    with ThreadPoolExecutor(2) as pool:
        with pytest.raises(StoreError, match="closed"):
            pool.submit(check).result()
