"""Benchmark re-deciding about a million scored pairs under new thresholds.

Usage::

    python benchmarks/bench_redecide.py [--records 200000] [--seed 0] [--repeats 3]

The scored pairs are real: ``linkage.link(generate_leads(records))`` trains, scores and
decides them (160,000 leads yield about a million pairs; the count is printed). That
run is not timed. Then, for a few new threshold settings, it times

* ``result.redecide(thresholds, recluster=False)``: decisions only (what a threshold
  slider needs), and
* ``result.redecide(thresholds, recluster=True)``: decisions and entities re-clustered,

reporting the best of ``--repeats`` runs of each, and the time the histogram and the
threshold explorer take to aggregate the same pairs. The target for decisions alone is well
under a second for 1,000,000 pairs on a 2-core machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import linkage  # noqa: E402
from linkage import charts  # noqa: E402
from linkage.datasets import generate_leads  # noqa: E402

TARGET_SECONDS = 1.0
"""Budget for re-deciding 1,000,000 pairs (decisions only)."""

SETTINGS = [
    linkage.Thresholds(review=-6.0, auto_merge=2.0),
    linkage.Thresholds(review=-2.0, auto_merge=5.0),
    linkage.Thresholds(review=-4.0, auto_merge=0.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=160_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)

    started = time.perf_counter()
    leads = generate_leads(args.records, seed=args.seed)
    result = linkage.link(leads, seed=args.seed)
    pairs = sum(result.decision_counts().values())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_name()}")
    print(f"python {platform.python_version()}, linkage {linkage.__version__}")
    print(
        f"records: {args.records:,}  scored pairs: {pairs:,}  "
        f"(link took {time.perf_counter() - started:.1f}s, not timed below)"
    )
    for recluster in (False, True):
        what = "decide + re-cluster" if recluster else "decide only"
        for thresholds in SETTINGS:
            best, counts = float("inf"), {}
            for _ in range(args.repeats):
                clock = time.perf_counter()
                redone = result.redecide(thresholds, recluster=recluster)
                best = min(best, time.perf_counter() - clock)
                counts = redone.decision_counts()
                stages = dict(redone.timings)
                result.connection.execute(f"DROP TABLE {redone.pairs_table}")
            detail = "last run: " + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items())
            print(
                f"{what:20s} review {thresholds.review:+5.1f} auto_merge "
                f"{thresholds.auto_merge:+5.1f}: {best:.3f}s best of {args.repeats} "
                f"({detail}); auto_merge {counts['auto_merge']:,}, review {counts['review']:,}"
            )
    print(f"target: decisions only for 1,000,000 pairs well under {TARGET_SECONDS:.0f}s")
    # The charts aggregate the same pairs in DuckDB (each pair decided once per band).
    clock = time.perf_counter()
    charts.match_weight_histogram(result)
    print(f"chart match_weight_histogram: {time.perf_counter() - clock:.3f}s")
    clock = time.perf_counter()
    charts.threshold_explorer(result)
    print(f"chart threshold_explorer (no labels): {time.perf_counter() - clock:.3f}s")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


if __name__ == "__main__":
    main()
