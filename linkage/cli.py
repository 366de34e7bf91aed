"""The ``linkage`` command line.

linkage demo                      link the shipped sample and print a summary
linkage run leads.csv -o out/     link a CSV, Parquet or Excel file, write the results
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from linkage.errors import LinkageError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="linkage", description="Find and merge duplicate customer records."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each stage")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="link the shipped sample of synthetic leads")
    demo.add_argument("--out", type=Path, help="also write the results to this folder")
    demo.add_argument("--seed", type=int, default=0)

    run = commands.add_parser("run", help="link the records in a CSV, Parquet or Excel file")
    run.add_argument("input", type=Path)
    run.add_argument("-o", "--out", type=Path, required=True, help="folder for the results")
    run.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=COLUMN",
        help="map a column to a role, e.g. --role mobile=Cell (repeatable)",
    )
    run.add_argument("--seed", type=int, default=0)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    logging.getLogger("splink").setLevel(logging.WARNING)
    try:
        if args.command == "demo":
            return _demo(args)
        return _run(args)
    except LinkageError as exc:
        print(f"linkage: error: {exc}", file=sys.stderr)
        return 2


def _demo(args: argparse.Namespace) -> int:
    import linkage
    from linkage.datasets import SAMPLE_PATH, load_sample
    from linkage.evaluation import evaluate

    records = load_sample()
    truth = records[["lead_id", "true_person_id"]]
    print(f"linking {len(records):,} synthetic leads from {SAMPLE_PATH.name} ...")
    started = time.perf_counter()
    result = linkage.link(records, seed=args.seed)
    seconds = time.perf_counter() - started
    print(_detected(result))
    print(result.summary().replace(f"{sum(result.timings.values()):.1f}", f"{seconds:.1f}"))
    accuracy = evaluate(result, "true_person_id", truth)
    print("against the generator's ground truth (person level):")
    for level, acc in accuracy.items():
        print(f"  {level:<10} {acc}")
    if args.out:
        _write(result, args.out)
    return 0


def _run(args: argparse.Namespace) -> int:
    import linkage

    roles = {}
    for item in args.role:
        role, sep, column = item.partition("=")
        if not sep:
            raise linkage.ConfigError(f"--role expects ROLE=COLUMN, got {item!r}")
        roles[role.strip()] = column
    started = time.perf_counter()
    result = linkage.link(args.input, roles=roles or None, seed=args.seed)
    print(_detected(result))
    print(result.summary())
    print(f"wall time: {time.perf_counter() - started:.1f}s")
    _write(result, args.out)
    return 0


def _detected(result) -> str:
    lines = ["roles:"]
    for mapping in result.roles.values():
        lines.append(mapping.describe())
    return "\n".join(lines)


def _write(result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result.entities.to_csv(out / "entities.csv", index=False)
    result.pairs.to_parquet(out / "pairs.parquet", index=False)
    result.review.to_csv(out / "review.csv", index=False)
    result.problems.to_csv(out / "problems.csv", index=False)
    result.model.save(out / "model.json")
    print(f"wrote entities.csv, pairs.parquet, review.csv, problems.csv, model.json to {out}/")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
