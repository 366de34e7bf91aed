"""Speed of checks and imports against a store of generated records (issue 7).

Builds a store from ``link`` over N generated leads (default 1,000,000), then measures:
opening the store, checking one record 1,000 times (median and 99th percentile), and
importing a batch of 10,000 new records (check, merge, commit).

    python benchmarks/bench_incremental.py                 # 1,000,000 records
    python benchmarks/bench_incremental.py --records 100000
    python benchmarks/bench_incremental.py --reuse         # keep the store of the last run

The built store is kept pristine: each run measures a copy of it (the import writes).

Targets: check median <= 30 ms, p99 <= 150 ms; import of 10,000 <= 15 s; open <= 2 s.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

import linkage
from linkage import RecordStore
from linkage.datasets import generate_leads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--reuse", action="store_true", help="reuse the store file if present")
    parser.add_argument("--memory-limit", default="10GB", help="DuckDB memory limit for link")
    args = parser.parse_args()

    store_path = args.path / f"bench_incremental_{args.records}.linkage"
    # The generator draws new records from the same population: the first N are stored,
    # the rest are checked and imported (some are duplicates of stored people).
    extra = args.checks + args.batch
    leads = generate_leads(args.records + extra, seed=7).drop(
        columns=["true_person_id", "true_account_id"]
    )
    leads = leads.sample(frac=1.0, random_state=7).reset_index(drop=True)
    stored, fresh = leads.iloc[: args.records], leads.iloc[args.records :]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}"
    )
    if not (args.reuse and store_path.exists()):
        for suffix in ("", ".wal"):
            Path(str(store_path) + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        # DuckDB's default limit (80% of RAM) leaves Python too little at 1M records.
        connection = duckdb.connect(
            config={"memory_limit": args.memory_limit, "temp_directory": str(args.path)}
        )
        result = linkage.link(stored, seed=0, queue=store_path, connection=connection)
        linked = time.perf_counter() - started
        RecordStore.build(result).close()
        built = time.perf_counter() - started
        print(
            f"link over {args.records:,} records: {linked:.1f} s; store built: "
            f"{built - linked:.1f} s more ({built:.1f} s in all)"
        )
        del result
        connection.close()

    # The import writes: measure a copy, so that --reuse always starts from the build.
    work_path = store_path.with_suffix(".work.linkage")
    for suffix in ("", ".wal"):
        Path(str(work_path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(store_path, work_path)
    if Path(str(store_path) + ".wal").exists():
        shutil.copyfile(str(store_path) + ".wal", str(work_path) + ".wal")

    # Measure as a server process that has the store open would: without the million-row
    # frames of the build in its heap (Python's collector walks every live object).
    del stored, leads
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    store = RecordStore.open(work_path)
    opened = time.perf_counter() - started
    print(f"open: {opened * 1000:.0f} ms ({store})")

    checks = fresh.iloc[: args.checks].to_dict("records")
    store.check_one(checks[0])  # the first call generates the model's SQL once
    times = []
    decisions: dict[str, int] = {}
    for record in checks:
        started = time.perf_counter()
        answer = store.check_one(record)
        times.append(time.perf_counter() - started)
        decisions[answer.decision] = decisions.get(answer.decision, 0) + 1
    times_ms = np.array(times) * 1000
    print(
        f"check one record x{len(times)}: median {statistics.median(times_ms):.1f} ms, "
        f"p99 {np.percentile(times_ms, 99):.1f} ms, max {times_ms.max():.1f} ms; {decisions}"
    )

    batch = fresh.iloc[args.checks :]
    started = time.perf_counter()
    added = store.add(batch)
    seconds = time.perf_counter() - started
    outcomes = added.entities["outcome"].value_counts().to_dict()
    print(
        f"add {len(batch):,} records: {seconds:.1f} s "
        f"({', '.join(f'{k} {v:.1f}s' for k, v in added.timings.items())}); {outcomes}; "
        f"{added.review_items} review items, {added.conflicts} conflicts"
    )
    store.close()


if __name__ == "__main__":
    main()
