"""Speed of checks and imports against a store of generated records (issue 7).

Builds a store from ``link`` over N generated leads (default 1,000,000), then measures:
opening the store, checking one record 1,000 times (median and 99th percentile), and
importing batches of 10,000 new records (check, merge, commit), three in a row
(``--imports``): the first after the build, the next ones as a store that has imported
before; one run varies by a tenth on a shared machine.

    python benchmarks/bench_incremental.py                 # 1,000,000 records
    python benchmarks/bench_incremental.py --records 100000
    python benchmarks/bench_incremental.py --reuse         # keep the store of the last run
    python benchmarks/bench_incremental.py --reuse --warm 20   # an import before the timed one

The built store is kept pristine: each run measures a copy of it (the import writes).

Checks score through the fast path (the model compiled to Python, issue 15); then every
checked pair is scored again through splink's SQL and compared: the same decision and
reason, weights within 1e-9 (``--sql-checks`` times checks on the SQL path as well).

Targets (issue 15): check median <= 5 ms, p99 <= 30 ms; import of 10,000 <= 5 s; open
<= 2 s.
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
import pandas as pd

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
    parser.add_argument(
        "--sql-checks", action="store_true", help="also time the checks on the SQL path"
    )
    parser.add_argument(
        "--warm",
        type=int,
        default=0,
        help="import this many of the checked records first, as a server that has imported "
        "before (the timed import then pays no first-call costs: modules, sorted copies)",
    )
    parser.add_argument(
        "--imports",
        type=int,
        default=3,
        help="import this many batches, one after another (the first after the build, "
        "the next ones as a store that has imported before)",
    )
    args = parser.parse_args()

    # The generator draws new records from the same population: the first N are stored,
    # the rest are checked and imported (some are duplicates of stored people). Which
    # records are stored depends on how many are drawn: the file's name says both.
    extra = args.checks + args.imports * args.batch
    store_path = args.path / f"bench_incremental_{args.records}_of_{args.records + extra}.linkage"
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
    _fresh_copy(store_path, work_path)

    # Measure as a server process that has the store open would: without the million-row
    # frames of the build in its heap (Python's collector walks every live object).
    del stored, leads
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    store = RecordStore.open(work_path)
    opened = time.perf_counter() - started
    view = store._current()  # a benchmark looks inside the store
    held = sum(h.nbytes for h in (view.payloads, view.golden) if h is not None)
    print(
        f"open: {opened * 1000:.0f} ms ({store}); rows held in memory: {held / 1e6:.0f} MB "
        f"({held / view.state.n_records:.0f} bytes per record)"
    )

    checks = fresh.iloc[: args.checks].to_dict("records")
    scorer = store._scorer()  # a benchmark looks inside the store
    print(f"fast path compiled: {scorer.fast is not None}")
    store.check_one(checks[0])  # the first call generates the model's SQL once
    times_ms, decisions = _time_checks(store, checks)
    print(
        f"check one record x{len(times_ms)} (fast path): median "
        f"{statistics.median(times_ms):.2f} ms, p99 {np.percentile(times_ms, 99):.2f} ms, "
        f"max {times_ms.max():.1f} ms; {decisions}"
    )
    compiled = scorer.fast
    if args.sql_checks:
        scorer.fast = None
        sql_ms, sql_decisions = _time_checks(store, checks)
        scorer.fast = compiled
        print(
            f"check one record x{len(sql_ms)} (SQL path): median "
            f"{statistics.median(sql_ms):.2f} ms, p99 {np.percentile(sql_ms, 99):.2f} ms; "
            f"{sql_decisions}"
        )
    pairs, largest, differ = _compare_paths(store, scorer, checks)
    print(
        f"fast vs SQL on every checked pair: {pairs:,} pairs, {differ} with another "
        f"decision or reason, largest weight difference {largest:.1e}"
    )

    # Imports one after another, as a server's store lives: the first after the build
    # (DuckDB's first checkpoint with deletions in the build's tables merges their row
    # groups), the next ones in the steady state.
    if args.warm:
        started = time.perf_counter()
        store.add(fresh.iloc[: args.warm])
        print(
            f"warm-up import of {args.warm} checked records: {time.perf_counter() - started:.2f} s"
        )
    seconds = []
    for attempt in range(args.imports):
        start = args.checks + attempt * args.batch
        seconds.append(_time_import(store, fresh.iloc[start : start + args.batch]))
    store.close()
    if len(seconds) > 1:
        print(
            f"add {args.batch:,} records, {len(seconds)} imports in a row: "
            f"{', '.join(f'{s:.2f}' for s in seconds)} s; median {statistics.median(seconds):.2f} s"
        )


def _fresh_copy(store_path: Path, work_path: Path) -> None:
    """A copy of the built store at ``work_path``, written to disk."""
    started = time.perf_counter()
    for suffix in ("", ".wal"):
        Path(str(work_path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(store_path, work_path)
    if Path(str(store_path) + ".wal").exists():
        shutil.copyfile(str(store_path) + ".wal", str(work_path) + ".wal")
    # Write the copy to disk before measuring: its gigabyte of dirty pages would otherwise
    # be flushed by the first fsync of the file, the import's checkpoint, which a server's
    # store (not copied a minute ago) never pays.
    for path in (work_path, Path(str(work_path) + ".wal")):
        if path.exists():
            _flush(path)
    print(f"copy of the built store, written to disk: {time.perf_counter() - started:.1f} s")


def _time_import(store: RecordStore, batch: pd.DataFrame) -> float:
    """Seconds to import ``batch``."""
    started = time.perf_counter()
    added = store.add(batch)
    seconds = time.perf_counter() - started
    outcomes = added.entities["outcome"].value_counts().to_dict()
    print(
        f"add {len(batch):,} records: {seconds:.1f} s "
        f"({', '.join(f'{k} {v:.1f}s' for k, v in added.timings.items())}); {outcomes}; "
        f"{added.review_items} review items, {added.conflicts} conflicts"
    )
    return seconds


def _flush(path: Path) -> None:
    """Wait until ``path``'s content is on disk (fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _time_checks(store: RecordStore, checks: list[dict]) -> tuple[np.ndarray, dict[str, int]]:
    times = []
    cpu = []
    decisions: dict[str, int] = {}
    for record in checks:
        started, started_cpu = time.perf_counter(), time.thread_time()
        answer = store.check_one(record)
        times.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
        decisions[answer.decision] = decisions.get(answer.decision, 0) + 1
    cpu_ms = np.array(cpu) * 1000
    # On a shared machine the wall clock counts other processes' turns: CPU time too.
    print(
        f"  (CPU time of the calling thread: median {statistics.median(cpu_ms):.2f} ms, "
        f"p99 {np.percentile(cpu_ms, 99):.2f} ms)"
    )
    return np.array(times) * 1000, decisions


def _compare_paths(store: RecordStore, scorer, checks: list[dict]) -> tuple[int, float, int]:
    """Score every pair the checks scored through both paths: pairs, the largest weight
    difference, pairs whose decision or reason differ. Each fast call is repeated on SQL
    with the same rows (the store's cursor, staged as a check stages them)."""
    compiled = scorer.fast
    fast_call = scorer.score_held
    seen = {"pairs": 0, "largest": 0.0, "differ": 0}

    def both(counts, rid, payload, is_new, name, stored, totals):
        fast = fast_call(counts, rid, payload, is_new, name, stored, totals)
        # The same pairs on SQL, from the payloads in the file (not the rows held).
        wanted = [r for r in stored if r != rid]
        fetched = (
            store._cursor()
            .execute(
                "SELECT rid, payload FROM store_lookup WHERE rid IN (SELECT unnest(?::BIGINT[]))",
                [wanted],
            )
            .fetchall()
        )
        arguments = (counts, [rid], [payload], [is_new], [name])
        arguments += ([r for r, _ in fetched], [p for _, p in fetched], totals)
        scorer.stage_rows(store._cursor(), *arguments)
        sql = scorer.score_probes(store._cursor())
        if fast is None:
            raise AssertionError("a benchmark check fell back to SQL")
        fast_by = {(a, b): rest for a, b, *rest in fast}
        sql_by = {(a, b): rest for a, b, *rest in sql}
        if fast_by.keys() != sql_by.keys():
            raise AssertionError("the two paths scored other pairs")
        for key, (weight, _, decision, reason) in sql_by.items():
            f_weight, _, f_decision, f_reason = fast_by[key]
            seen["pairs"] += 1
            seen["largest"] = max(seen["largest"], abs(weight - f_weight))
            seen["differ"] += (decision, reason) != (f_decision, f_reason)
        return fast

    scorer.score_held = both
    try:
        for record in checks:
            store.check_one(record)
    finally:
        del scorer.score_held
        scorer.fast = compiled
    return seen["pairs"], seen["largest"], seen["differ"]


if __name__ == "__main__":
    main()
