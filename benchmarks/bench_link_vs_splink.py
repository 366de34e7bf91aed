"""``link`` against plain splink with the same blocking and comparisons, in one process.

Plain splink gets the records already standardized (the cleaning a skilled user would
hand-write, not timed) and the same comparisons, blocking rules and training recipe; it then
trains, predicts and clusters at the auto-merge threshold. ``link`` is timed end to end:
reading, standardizing, blocking, training, scoring, deciding, clustering and results.

    python benchmarks/bench_link_vs_splink.py [--rows 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time

import duckdb

import linkage
from linkage import comparisons as comparisons_mod
from linkage import model as model_mod
from linkage.datasets import generate_leads
from linkage.evaluation import clustered_accuracy, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="alternate the two runs this many times; the ratio of medians is reported",
    )
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)

    records = generate_leads(args.rows, seed=args.seed)
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, "
        f"{os.cpu_count()} cores, python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}"
    )
    print(f"records: {len(records):,}")

    link_times, splink_times = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = linkage.link(records, seed=args.seed)
        link_times.append(time.perf_counter() - started)
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
        print(f"link:         {link_times[-1]:7.1f} s   ({stages})")
        cluster_frame, seconds = _plain_splink(result, len(records), args.seed)
        splink_times.append(seconds)
        print(f"plain splink: {seconds:7.1f} s")
    link_seconds, splink_seconds = statistics.median(link_times), statistics.median(splink_times)
    print(f"median link {link_seconds:.1f} s, median plain splink {splink_seconds:.1f} s")
    print(f"ratio link / plain splink: {link_seconds / splink_seconds:.2f}")

    truth = records["true_person_id"].to_numpy()
    ours = evaluate(result, "true_person_id", records)
    theirs = clustered_accuracy(cluster_frame["cluster_id"].to_numpy(), truth)
    print(f"link clustered         {ours['clustered']}")
    print(f"plain splink clustered {theirs}")


def _plain_splink(result, n_records: int, seed: int):
    """Plain splink on the records ``link`` standardized; returns (clusters, seconds)."""

    # Plain splink on the standardized records link built (copied out, not timed).
    standardized = result.connection.sql("SELECT * FROM linkage_records").to_arrow_table()
    con = duckdb.connect()
    con.register("standardized_view", standardized)
    con.execute("CREATE TABLE records AS SELECT * FROM standardized_view").fetchall()
    roles = set(result.model.config["roles"])
    comparisons = comparisons_mod.default_comparisons(roles)
    rules = [
        linkage.BlockingRule(r["name"], tuple(r["columns"]), tuple(r["roles"]))
        for r in result.model.config["blocking_rules"]
    ]

    started = time.perf_counter()
    settings = model_mod.build_settings(comparisons, rules, link_type="dedupe_only")
    linker = model_mod.make_linker(con, ["records"], settings)
    available = set(standardized.column_names)
    comparison_columns = {
        c.output_column_name: {col.input_name for col in c._input_columns_used_by_case_statement}
        for c in linker._settings_obj.comparisons
    }
    model_mod.train(linker, available, comparison_columns, n_records=n_records, seed=seed)
    predictions = linker.inference.predict()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_weight=result.model.policy.thresholds.auto_merge
    )
    cluster_frame = clusters.as_pandas_dataframe()[["rid", "cluster_id"]].sort_values("rid")
    splink_seconds = time.perf_counter() - started
    return cluster_frame, splink_seconds


if __name__ == "__main__":
    main()
