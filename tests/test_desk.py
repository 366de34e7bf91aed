"""The reviewer's desk without a browser: the queue's leases, withdrawals, evidence and
tokens, and the web page's rules (token on every request, masking in every response,
malformed, stale and replayed verdicts refused with nothing changed), through Flask's
test client. The browser tests are in ``tests/test_desk_browser.py``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

import linkage
from linkage.datasets import generate_leads
from linkage.desk import create_app, mask_email, mask_phone
from linkage.project import FORMAT_VERSION, ReviewQueue, StaleVerdictError


@pytest.fixture(scope="module")
def leads():
    return generate_leads(600, seed=3)


@pytest.fixture(scope="module")
def built(tmp_path_factory, leads) -> Path:
    path = tmp_path_factory.mktemp("desk") / "crm.linkage"
    linkage.link(leads, queue=path)
    return path


@pytest.fixture
def project(built, tmp_path) -> Path:
    path = tmp_path / "crm.linkage"
    shutil.copy(built, path)
    return path


def _signed_in(project: Path, name: str, masked: bool = False):
    token = ReviewQueue.open(project).add_reviewer(name, masked=masked)
    client = create_app(project, idle_release=0.05).test_client()
    assert client.get(f"/?token={token}").status_code == 303
    return client, token


def _form(page: str) -> dict[str, str]:
    page = page.split("id='pair'", 1)[1]  # the verdict form, not the withdrawal's
    return {
        "item_id": re.search(r"name='item_id' value='(\d+)'", page).group(1),
        "lease_id": re.search(r"name='lease_id' value='([^']+)'", page).group(1),
    }


def _state(project: Path) -> tuple:
    with ReviewQueue(project).file.transaction() as con:
        return (
            con.execute("SELECT * FROM verdicts ORDER BY verdict_id").fetchall(),
            con.execute("SELECT item_id, status FROM review_items ORDER BY item_id").fetchall(),
        )


# -- the queue ----------------------------------------------------------------------------


def test_two_reviewers_are_leased_different_pairs_until_a_verdict_or_expiry(project):
    queue = ReviewQueue.open(project)
    first = queue.lease("li.na")
    second = queue.lease("wang")
    assert first["item_id"] != second["item_id"]
    assert queue.lease("li.na")["item_id"] == first["item_id"]  # the same pair again
    queue.decide(first["item_id"], "match", reviewer="li.na", lease=first["lease_id"])
    assert queue.lease("li.na")["item_id"] not in (first["item_id"], second["item_id"])
    short = queue.lease("zhao", seconds=0.01)
    import time

    time.sleep(0.05)
    assert queue.lease("qian")["item_id"] == short["item_id"]  # the lease expired


def test_every_verdict_keeps_who_and_when_and_a_withdrawal_reopens_the_item(project):
    queue = ReviewQueue.open(project)
    item = int(queue.pending()["item_id"].iloc[0])
    queue.decide(item, "match", reviewer="li.na")
    assert queue.item(item)["status"] == "decided"
    taken = queue.withdraw(reviewer="li.na")
    assert taken == {**taken, "item_id": item, "verdict": "match", "reviewer": "li.na"}
    assert queue.item(item)["status"] == "pending" and not queue.item(item)["verdict"]
    history = queue.verdicts(history=True)
    assert history["verdict"].tolist() == ["match", "withdrawn"]
    assert history["reviewer"].tolist() == ["li.na", "li.na"]
    assert history["decided_at"].notna().all()
    assert queue.verdicts().empty and queue.constraints().empty
    with pytest.raises(StaleVerdictError):
        queue.withdraw(item, reviewer="li.na")


def test_a_withdrawn_verdict_no_longer_steers_the_next_run(project, leads):
    queue = ReviewQueue.open(project)
    pending = queue.pending()
    item = pending.iloc[0]
    left, right = item["lead_id_l"], item["lead_id_r"]
    queue.decide(int(item["item_id"]), "match", reviewer="li.na")
    result = linkage.link(leads, queue=project)
    entity = result.entities.set_index("lead_id")["entity_id"]
    assert entity[left] == entity[right]
    queue.withdraw(int(item["item_id"]), reviewer="li.na")
    result = linkage.link(leads, queue=project)
    entity = result.entities.set_index("lead_id")["entity_id"]
    assert entity[left] != entity[right]  # a review pair: not merged without the verdict


def test_an_items_evidence_is_the_models_partial_weights(project):
    queue = ReviewQueue.open(project)
    for item in queue.pending().head(5).itertuples():
        evidence = queue.evidence(item.item_id)
        assert evidence, "every run-made item carries its comparison vector"
        levels = json.loads(queue.file.meta("evidence_levels"))
        total = levels["prior_weight"] + sum(row["weight"] for row in evidence)
        # The partial weights add up to the pair's match weight (term frequencies aside).
        assert total == pytest.approx(item.match_weight, abs=1.5)
        assert {row["state"] for row in evidence} <= {"agrees", "differs", "partly", "missing"}


def test_tokens_are_stored_salted_and_hashed(project):
    queue = ReviewQueue.open(project)
    token = queue.add_reviewer("li.na", masked=True)
    assert queue.reviewer_for_token(token) == ("li.na", True)
    assert queue.reviewer_for_token(token + "x") is None
    assert queue.reviewer_for_token("garbage") is None
    assert token.split(".", 1)[1].encode() not in project.read_bytes()
    assert "token_hash" not in queue.reviewers().columns
    assert queue.revoke_reviewer("li.na") == 1
    assert queue.reviewer_for_token(token) is None


def test_an_older_project_file_is_migrated(project):
    con = duckdb.connect(str(project))
    for table in ("review_leases", "review_evidence", "reviewers"):
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE linkage_meta SET value = '1' WHERE key = 'format_version'")
    con.close()
    queue = ReviewQueue.open(project)
    assert queue.file.meta("format_version") == str(FORMAT_VERSION)
    assert queue.lease("li.na") is not None
    assert "migrated" in queue.events()["event"].tolist()


def test_masking():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("+86 158-2983-4229") == "+86 158****4229"
    assert mask_email("zhang.wei@example.com") == "z***@example.com"


# -- the page -----------------------------------------------------------------------------


def test_without_a_valid_token_nothing_is_served(project):
    client = create_app(project, idle_release=0.05).test_client()
    pending = ReviewQueue.open(project).pending()
    names = [v for v in pending["person_name_l"].dropna().head(5)]
    for path in ("/", "/?token=nope", "/anything", "/?item=1"):
        response = client.get(path)
        assert response.status_code == 401
        assert not any(name in response.get_data(as_text=True) for name in names)
    for path in ("/verdict", "/withdraw"):
        assert client.post(path, data={"item_id": 1, "verdict": "match"}).status_code == 401
    client.set_cookie("linkage_desk_token", "0123456789abcdef.wrong")
    assert client.get("/").status_code == 401
    assert _state(project)[0] == []


def test_a_masked_reviewer_never_receives_a_full_phone_or_email(project, leads):
    client, _ = _signed_in(project, "wang", masked=True)
    bodies = []

    def get(path: str) -> str:
        response = client.get(path, follow_redirects=True)
        bodies.append(response.get_data(as_text=True))
        return bodies[-1]

    page = get("/")
    for _ in range(6):  # a few verdicts, a withdrawal, a stale form, filters
        form = _form(page)
        response = client.post("/verdict", data={**form, "verdict": "skip"}, follow_redirects=True)
        bodies.append(response.get_data(as_text=True))
        page = bodies[-1]
    vid = re.search(r"name='verdict_id' value='(\d+)'", page).group(1)
    item = re.search(r"name='item_id' value='(\d+)'", page.split("id='withdraw'")[1]).group(1)
    bodies.append(
        client.post(
            "/withdraw", data={"verdict_id": vid, "item_id": item}, follow_redirects=True
        ).get_data(as_text=True)
    )
    bodies.append(client.post("/verdict", data={**form, "verdict": "match"}).get_data(as_text=True))
    for source in ("webinar", "livestream"):
        get(f"/?source={source}")
    secrets = set()
    for column in ("mobile", "phone", "email"):
        for value in leads[column].dropna().astype(str):
            secrets.add(value)
            if column != "email":
                digits = re.sub(r"\D", "", value)
                if len(digits) >= 7:
                    secrets.add(digits)
    text = "\n".join(bodies)
    assert "****" in text and "***@" in text  # the page did show masked values
    leaked = [s for s in secrets if s in text or s.lower() in text.lower()]
    assert leaked == []


def test_malformed_stale_and_replayed_verdicts_change_nothing(project):
    client, _ = _signed_in(project, "li.na")
    other, _ = _signed_in(project, "wang")
    page = client.get("/").get_data(as_text=True)
    form = _form(page)
    before = _state(project)
    for bad in (
        {"item_id": "x", "lease_id": form["lease_id"], "verdict": "match"},
        {"item_id": form["item_id"], "lease_id": form["lease_id"], "verdict": "maybe"},
        {"item_id": form["item_id"], "verdict": "match"},
        {},
    ):
        response = client.post("/verdict", data=bad)
        assert response.status_code == 400 and "malformed" in response.get_data(as_text=True)
    forged = client.post("/verdict", data={**form, "lease_id": "forged", "verdict": "match"})
    assert forged.status_code == 409 and "no longer yours" in forged.get_data(as_text=True)
    # Another reviewer's form for this item (its lease is li.na's).
    theirs = other.post("/verdict", data={**form, "verdict": "non_match"})
    assert theirs.status_code == 409
    assert _state(project) == before
    assert client.post("/verdict", data={**form, "verdict": "match"}).status_code == 303
    after = _state(project)
    replay = client.post("/verdict", data={**form, "verdict": "non_match"})
    assert replay.status_code == 409 and "decided already" in replay.get_data(as_text=True)
    assert _state(project) == after
    # A withdrawal sent twice: the second is refused.
    page = client.get("/").get_data(as_text=True)
    vid = re.search(r"name='verdict_id' value='(\d+)'", page).group(1)
    withdrawal = {"verdict_id": vid, "item_id": form["item_id"]}
    assert client.post("/withdraw", data=withdrawal).status_code == 303
    after = _state(project)
    assert client.post("/withdraw", data=withdrawal).status_code == 409
    assert _state(project) == after


def test_the_page_shows_the_rule_the_weights_and_progress(project):
    client, _ = _signed_in(project, "li.na")
    page = client.get("/").get_data(as_text=True)
    assert "Routed here by" in page and "id='evidence'" in page
    weights = re.findall(r"class='num weight'>([+-]\d+\.\d\d)<", page)
    assert weights and any(float(w) != 0 for w in weights)
    assert re.search(r"pending \d+ · total \d+", page)
    assert "evidence for a match" in page or "evidence against a match" in page
