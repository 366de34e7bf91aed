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
import os
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

    _add_review_commands(commands)
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
            return _review(args)
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


def _add_review_commands(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser(
        "review", help="the review queue in a project file: list, show, decide"
    )
    actions = review.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="pending items, most useful first")
    listing.add_argument("project", type=Path)
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    listing.add_argument("--all", action="store_true", help="every item, decided ones too")
    show = actions.add_parser("show", help="one item's two records side by side")
    show.add_argument("project", type=Path)
    show.add_argument("item", type=int)
    decide = actions.add_parser("decide", help="give or change a verdict on an item")
    decide.add_argument("project", type=Path)
    decide.add_argument("item", type=int)
    decide.add_argument("verdict", choices=["match", "non_match", "skip"])
    decide.add_argument(
        "--reviewer",
        default=os.environ.get("LINKAGE_REVIEWER"),
        help="your name, kept with the verdict (default: $LINKAGE_REVIEWER)",
    )
    decide.add_argument("--note", help="why, optionally")
    decide.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for a busy project file"
    )
    entities = actions.add_parser(
        "entities", help="write the record-to-entity mapping of the last run as CSV"
    )
    entities.add_argument("project", type=Path)
    entities.add_argument("-o", "--out", type=Path, required=True, help="the CSV file")


def _review(args: argparse.Namespace) -> int:
    from linkage.errors import ConfigError, ProjectError
    from linkage.project import ReviewQueue

    if not args.project.exists():
        raise ProjectError(
            f"no project file at {args.project}: create one with linkage run --project"
        )
    queue = ReviewQueue.open(args.project, timeout=getattr(args, "timeout", 10.0))
    if args.action == "list":
        items = queue.items() if args.all else queue.pending(args.limit)
        if args.all:
            items = items.head(args.limit)
        if items.empty:
            print("nothing to review")
            return 0
        print(_item_table(items))
        return 0
    if args.action == "show":
        item = queue.item(args.item)
        print(
            f"item {item['item_id']} ({item['kind']}, {item['status']}): "
            f"{item['key_l']}  vs  {item['key_r']}"
        )
        if item["match_probability"] == item["match_probability"]:  # not NaN
            print(
                f"match weight {item['match_weight']:.2f}, probability "
                f"{item['match_probability']:.3f}, decision {item['decision']}: {item['reason']}"
            )
        if item.get("verdict"):
            print(f"verdict: {item['verdict']} by {item['reviewer']} at {item['decided_at']}")
        side = queue.show(args.item).fillna("")
        side["same"] = side["same"].map({True: "=", False: ""})
        print(side.to_string(index=False))
        return 0
    if args.action == "decide":
        if not args.reviewer:
            raise ConfigError("say who decides: --reviewer NAME (or set $LINKAGE_REVIEWER)")
        queue.decide(args.item, args.verdict, reviewer=args.reviewer, note=args.note)
        print(f"item {args.item}: {args.verdict} by {args.reviewer}")
        return 0
    mapping = queue.entity_map()
    mapping.to_csv(args.out, index=False)
    n_entities = mapping["entity_id"].nunique()
    print(f"wrote {len(mapping):,} records of {n_entities:,} entities to {args.out}")
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


def _item_table(items) -> str:
    ids = [c for c in items.columns[3:5]]  # <id column>_l, <id column>_r
    wanted = ["item_id", "kind", "status", "match_probability", *ids]
    for role in ("person_name", "company", "mobile"):
        for side in ("l", "r"):
            if f"{role}_{side}" in items:
                wanted.append(f"{role}_{side}")
    table = items[wanted].rename(columns={"match_probability": "p"}).copy()
    table["p"] = table["p"].round(3)
    return table.fillna("").to_string(index=False)


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
