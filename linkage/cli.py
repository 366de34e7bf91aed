"""The ``linkage`` command line.

linkage demo                      link the shipped sample and print a summary
linkage run leads.csv -o out/     link a CSV, Parquet or Excel file, write the results
linkage run leads.csv -o out/ --project crm.linkage
                                  ... and keep review items, verdicts and entity ids in a
                                  project file
linkage review list crm.linkage   the pending review items, most useful first
linkage review show crm.linkage 12
                                  one pair side by side
linkage review decide crm.linkage 12 match --reviewer li.na [--note "same mobile"]
                                  give (or change) a verdict: match, non_match or skip
linkage review entities crm.linkage -o entities.csv
                                  the record-to-entity mapping, to write back to the CRM
linkage run leads.csv -o out/ --project crm.linkage --store lead
                                  ... and keep the records as a store for checks
linkage check crm.linkage new_leads.csv [-o checked.csv]
                                  check records against the store (nothing is written)
linkage add crm.linkage new_leads.csv [--actor li.na]
                                  import records, deduplicated within and against the store
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from linkage._cli_review import add_review_commands, review_command
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
    run.add_argument(
        "--level",
        choices=["person", "organization"],
        help="what a record is (default: chosen from the columns, and printed)",
    )
    run.add_argument(
        "--country",
        metavar="CC",
        help="country of phone numbers written without +CC, e.g. CN, US, GB "
        "(default: the one in which most numbers are valid)",
    )
    run.add_argument(
        "--project", type=Path, help="project file for the review queue and stable entity ids"
    )
    run.add_argument(
        "--store",
        metavar="OBJECT",
        help="also keep the records in the project file as a store for check and add, "
        "naming what they are (lead, contact, customer)",
    )
    run.add_argument(
        "--rebuild-store",
        action="store_true",
        help="rebuild the store even when it holds records added since it was built that "
        "this file lacks, or retrained models (they are dropped)",
    )

    add_review_commands(commands)
    _add_store_commands(commands)
    forget = commands.add_parser(
        "forget",
        help="erase records from a project file (a data subject's request): every table, "
        "then the file is rewritten so no byte of them is left",
    )
    forget.add_argument("project", type=Path, help="the project file")
    forget.add_argument("record_id", nargs="+", help="ids of the records to erase")
    forget.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for a busy project file"
    )

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    logging.getLogger("splink").setLevel(logging.WARNING)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "review":
            return review_command(args)
        if args.command in ("check", "add"):
            return _store_command(args)
        if args.command == "forget":
            return _forget(args)
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
    result = linkage.link(
        args.input,
        roles=roles or None,
        seed=args.seed,
        queue=getattr(args, "project", None),
        level=args.level,
        country=args.country,
    )
    print(_detected(result))
    print(result.summary())
    print(f"wall time: {time.perf_counter() - started:.1f}s")
    _write(result, args.out)
    if getattr(args, "store", None):
        from linkage.errors import ConfigError
        from linkage.store import RecordStore

        if not args.project:
            raise ConfigError("--store keeps the records in a project file: add --project FILE")
        with RecordStore.build(
            result, object_name=args.store, replace=True, discard=args.rebuild_store
        ) as store:
            print(f"store: {store}")
    return 0


def _add_store_commands(commands: argparse._SubParsersAction) -> None:
    for name, text in (
        ("check", "check records against the store in a project file (nothing is written)"),
        ("add", "import records into the store, deduplicated within and against it"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("project", type=Path, help="the project file holding the store")
        command.add_argument("input", type=Path, help="a CSV, Excel or Parquet file")
        command.add_argument(
            "--role",
            action="append",
            default=[],
            metavar="ROLE=COLUMN",
            help="map a column to a role, e.g. --role mobile=Cell (repeatable)",
        )
        command.add_argument("-o", "--out", type=Path, help="write one row per record as CSV")
        command.add_argument(
            "--timeout", type=float, default=10.0, help="seconds to wait for a busy project file"
        )
        if name == "add":
            command.add_argument("--actor", help="who imports (kept in the log)")


def _store_command(args: argparse.Namespace) -> int:
    from linkage.errors import ConfigError
    from linkage.store import RecordStore

    roles = {}
    for item in args.role:
        role, sep, column = item.partition("=")
        if not sep:
            raise ConfigError(f"--role expects ROLE=COLUMN, got {item!r}")
        roles[role.strip()] = column
    started = time.perf_counter()
    with RecordStore.open(args.project, timeout=args.timeout) as store:
        if args.command == "check":
            found = store.check(args.input, roles=roles or None)
            counts = found["decision"].value_counts().to_dict()
            shown = found[
                [
                    "record_id",
                    "decision",
                    "entity_id",
                    "matched_object",
                    "match_probability",
                    "owner",
                    "reason",
                ]
            ].copy()
            shown["match_probability"] = shown["match_probability"].round(3)
            print(shown.head(20).astype(object).fillna("").to_string(index=False))
            if len(found) > 20:
                print(f"... {len(found) - 20:,} more")
            print(
                f"checked {len(found):,} records against {store.n_records:,} stored "
                f"{store.object_name}s in {time.perf_counter() - started:.1f}s: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
            )
            if args.out:
                found.drop(columns=["golden"]).to_csv(args.out, index=False)
                print(f"wrote {args.out}")
            return 0
        added = store.add(args.input, roles=roles or None, actor=args.actor)
        outcomes = added.entities["outcome"].value_counts().to_dict()
        print(
            f"added {len(added.entities):,} records in {time.perf_counter() - started:.1f}s: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items()))
            + f"; {added.review_items:,} review items, {added.conflicts:,} conflicts "
            f"(see linkage review list {args.project})"
        )
        if args.out:
            added.entities.to_csv(args.out, index=False)
            print(f"wrote {args.out}")
    return 0


def _forget(args: argparse.Namespace) -> int:
    from linkage.errors import ProjectError
    from linkage.project import ReviewQueue

    if not args.project.exists():
        raise ProjectError(f"{args.project} does not exist: give the path of a project file")
    queue = ReviewQueue.open(args.project, timeout=args.timeout)
    con = queue.file.connect()
    try:
        known = {r[0] for r in con.execute("SELECT record_key FROM project_records").fetchall()}
    finally:
        con.close()
    unknown = [r for r in args.record_id if r not in known]
    if unknown:
        raise ProjectError(
            f"no record {unknown[0]!r} in {args.project} (with several inputs, write "
            "INPUT:ID); nothing was erased"
        )
    reissued = queue.forget(*args.record_id)
    print(
        f"erased {len(args.record_id)} record{'s' if len(args.record_id) > 1 else ''} from "
        f"{args.project} and rewrote the file"
        + (f"; {len(reissued)} entity id(s) re-issued" if reissued else "")
    )
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
