"""Accuracy of ``link`` at its defaults, against ground truth, with the variants that explain it.

    python benchmarks/bench_accuracy.py [--rows 20000] [--shared ../shared/data]

Prints pairwise and clustered precision / recall / F1 for:
- the CRM generator (person level): standardization on and off; constrained clustering
  against connected components on the same decisions; its organization mode;
- splink's benchmark sets from ../shared/data (fake_1000, febrl3, febrl4, historical_50k)
  and the real Chicago sites (../shared/data/real), all with default roles.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from pathlib import Path

import pandas as pd

import linkage
from linkage.datasets import generate_accounts, generate_leads
from linkage.evaluation import clustered_accuracy, evaluate


def _row(name: str, started: float, accuracy: dict) -> None:
    seconds = time.perf_counter() - started
    print(
        f"{name:<46} pairwise {accuracy['pairwise']}   clustered {accuracy['clustered']}"
        f"   {seconds:5.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )

    leads = generate_leads(args.rows, seed=5)
    for label, kwargs in (
        ("generator: defaults", {}),
        ("generator: standardization off", {"standardize": False}),
        ("generator: connected components", {"cluster_method": "connected_components"}),
    ):
        started = time.perf_counter()
        result = linkage.link(leads, **kwargs)
        _row(f"{label} ({args.rows:,} rows)", started, evaluate(result, "true_person_id", leads))

    accounts = generate_accounts(args.rows // 4, seed=5)
    started = time.perf_counter()
    result = linkage.link(accounts)
    _row(
        f"generator: organization mode ({len(accounts):,} rows)",
        started,
        evaluate(result, "true_account_id", accounts),
    )

    chicago = args.shared / "real" / "chicago_early_childhood.csv"
    if chicago.exists():
        sites = pd.read_csv(chicago, dtype=str)
        headers = {
            "Site name": "Company Name",
            "Address": "Address",
            "Zip": "Zip",
            "Phone": "Phone",
            "Email Address": "Email",
            "Website": "Website",
            "Program Name": "Program Name",
            "Center Director": "Contact Name",
        }
        records = sites[["Id", "Source", *headers]].rename(columns=headers)
        started = time.perf_counter()
        _row("chicago sites (real)", started, evaluate(linkage.link(records), "True Id", sites))

    data = args.shared / "splink_datasets"
    if not data.exists():
        print(f"{data} not found: shared benchmark sets skipped")
        return
    fake = pd.read_csv(data / "fake_1000.csv")
    started = time.perf_counter()
    _row("fake_1000", started, evaluate(linkage.link(fake), "cluster", fake))

    def febrl(name: str) -> pd.DataFrame:
        frame = pd.read_csv(data / "febrl" / name, dtype=str)
        frame.columns = frame.columns.str.strip()
        return frame

    f3 = febrl("dataset3.csv")
    f3["truth"] = f3["rec_id"].str.extract(r"rec-(\d+)")[0]
    started = time.perf_counter()
    _row("febrl3", started, evaluate(linkage.link(f3), "truth", f3))

    started = time.perf_counter()
    result = linkage.link(
        {"a": febrl("dataset4a.csv"), "b": febrl("dataset4b.csv")},
        link_type="link_only",
    )
    truth = result.entities["rec_id"].str.extract(r"rec-(\d+)")[0]
    accuracy = clustered_accuracy(result.entities["entity_id"], truth)
    print(
        f"{'febrl4 (link a to b)':<46} clustered {accuracy}   {time.perf_counter() - started:5.1f}s"
    )

    hist = pd.read_parquet(data / "historical_figures_with_errors_50k.parquet")
    started = time.perf_counter()
    _row("historical_50k", started, evaluate(linkage.link(hist), "cluster", hist))


if __name__ == "__main__":
    main()
