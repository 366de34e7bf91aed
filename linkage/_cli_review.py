"""``linkage review ...``: the review queue of a project file from the command line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_review_commands(commands: argparse._SubParsersAction) -> None:
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


def review_command(args: argparse.Namespace) -> int:
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
