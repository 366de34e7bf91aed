"""The reviewer's desk: time to serve one pair (GET /: token check, lease, the pair with
its evidence, entities and progress, rendered) with a 100,000-item queue. Target: < 50 ms.

    python benchmarks/bench_desk.py [--items 100000] [--requests 50]

The queue is a real run's items (600 generated leads) copied until it holds ``--items``
items, evidence included, so every request does what a reviewer's does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

import linkage
from linkage.datasets import generate_leads
from linkage.desk import create_app
from linkage.project import ReviewQueue


def build(path: Path, items: int) -> None:
    linkage.link(generate_leads(600, seed=3), queue=path)
    con = duckdb.connect(str(path))
    n = con.execute("SELECT count(*) FROM review_items").fetchall()[0][0]
    con.execute(
        """
        INSERT INTO review_items
        SELECT nextval('review_item_ids'), key_l || '#' || g, key_r || '#' || g, kind,
               'pending', decision, match_weight + (g % 97) / 1000.0, match_probability,
               reason, sample_weight, records_affected, values_l, values_r, first_run,
               last_run, created_at, updated_at
        FROM review_items, range(1, ?) t(g)
        """,
        [items // n + 1],
    )
    con.execute(
        """
        INSERT INTO review_evidence
        SELECT i.item_id, e.gammas, e.model_run FROM review_items i
        JOIN review_items o ON split_part(i.key_l, '#', 1) = o.key_l
         AND split_part(i.key_r, '#', 1) = o.key_r AND i.item_id <> o.item_id
        JOIN review_evidence e ON e.item_id = o.item_id
        """
    )
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crm.linkage"
        build(path, args.items)
        queue = ReviewQueue.open(path)
        total = queue.progress()["total"]
        token = queue.add_reviewer("bench")
        client = create_app(path).test_client()
        started = time.perf_counter()
        client.get(f"/?token={token}")
        assert client.get("/").status_code == 200
        cold = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get("/")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and b"id='pair'" in response.data
        # Each verdict leases a new pair: the pair after a verdict, from the same queue.
        moving = []
        for _ in range(10):
            page = client.get("/").get_data(as_text=True).split("id='pair'", 1)[1]
            item = page.split("name='item_id' value='", 1)[1].split("'", 1)[0]
            lease = page.split("name='lease_id' value='", 1)[1].split("'", 1)[0]
            started = time.perf_counter()
            client.post("/verdict", data={"item_id": item, "lease_id": lease, "verdict": "skip"})
            client.get("/")
            moving.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"queue: {total:,} items")
    print(f"first page (file opened): {cold:.1f} ms")
    print(
        f"one pair served: median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(len(times) * 0.9)]:.1f} ms over {len(times)} requests (target < 50 ms)"
    )
    print(f"verdict + next pair: median {statistics.median(moving):.1f} ms")


if __name__ == "__main__":
    main()
