"""Benchmark golden records and lineage for 1,000,000 already-clustered records.

Usage::

    python benchmarks/bench_golden.py [--rows 1000000] [--seed 0]

The records come from ``linkage.datasets.generate_leads`` and the clustering is the
generator's truth (``true_person_id``), so the entity sizes are those of a realistic CRM.
The records are standardized first (not timed: it is part of ``link``), so that the
``valid_first`` and ``most_recent`` rules have validity flags and timestamps to work on.

Timed: loading the clustered records into DuckDB with their derived columns (what
``result.golden`` does) and :func:`linkage.survivorship.build`, which writes the golden
table and the lineage of every non-empty value. The target is at most 15 s on a 2-core
machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linkage import survivorship  # noqa: E402
from linkage.datasets import generate_leads  # noqa: E402
from linkage.standardize import standardize  # noqa: E402

TARGET_SECONDS = 15.0
"""Budget for 1,000,000 records on a 2-core machine."""

ROLES = {
    "record_id": "lead_id",
    "company": "company",
    "credit_code": "credit_code",
    "person_name": "name",
    "mobile": "mobile",
    "phone": "phone",
    "email": "email",
    "wechat_unionid": "wechat_unionid",
    "province": "province",
    "city": "city",
    "address": "address",
    "source": "source",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "owner": "owner",
}

_DERIVED = ("_valid", "created_at_ts", "updated_at_ts", "mobile_e164", "phone_e164")
_DERIVED += ("email_clean", "wechat_unionid_clean")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    leads = generate_leads(args.rows, seed=args.seed)
    records = leads.rename(columns={column: role for role, column in ROLES.items()})
    records = records[list(ROLES)]
    records.insert(0, "rid", np.arange(len(records), dtype=np.int64))
    records.insert(1, "source_dataset", "leads")
    records["entity_id"] = "P" + leads["true_person_id"].astype(str).to_numpy()
    derived = standardize(records, {role: role for role in ROLES if role not in ("source",)})
    extra = [c for c in derived.frame.columns if c.endswith(_DERIVED) and c not in records]
    prepared = time.perf_counter() - started
    print(f"generated and standardized {len(records):,} records in {prepared:.1f}s (not timed)")

    con = duckdb.connect()
    started = time.perf_counter()
    con.register("records_view", records)
    con.register("derived_view", derived.frame[["rid", *extra]])
    con.execute(
        "CREATE TABLE members AS SELECT r.*, "
        + ", ".join(f'd."{c}"' for c in extra)
        + " FROM records_view r JOIN derived_view d USING (rid)"
    ).fetchall()
    loaded = time.perf_counter() - started
    tables = survivorship.build(con, "members", list(ROLES))
    seconds = time.perf_counter() - started

    n_entities = con.execute(f"SELECT count(*) FROM {tables.golden}").fetchall()[0][0]
    n_lineage = con.execute(f"SELECT count(*) FROM {tables.lineage}").fetchall()[0][0]
    print(
        f"golden records: {n_entities:,} entities; lineage: {n_lineage:,} values "
        f"(load {loaded:.1f}s, rules and lineage {seconds - loaded:.1f}s)"
    )
    print(
        f"{seconds:.1f}s for {len(records):,} records on {platform.machine()} with "
        f"{os.cpu_count()} cores (target {TARGET_SECONDS:.0f}s): "
        + ("PASS" if seconds <= TARGET_SECONDS else "FAIL")
    )
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
