"""``linkage review ...``: the review queue of a project file from the command line, and
the reviewer's desk (``serve``, ``walk``, ``token``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

# DuckDB files carry this at byte 8 (the storage header's magic).
_DUCKDB_MAGIC = b"DUCK"


def add_review_commands(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser(
        "review",
        help="the review queue in a project file: list, show, decide, walk, serve, token",
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
    _reviewer_option(decide)
    decide.add_argument("--note", help="why, optionally")
    _timeout_option(decide)
    withdraw = actions.add_parser(
        "withdraw", help="take a verdict back: the item waits for a verdict again"
    )
    withdraw.add_argument("project", type=Path)
    withdraw.add_argument(
        "item", type=int, nargs="?", help="the item (default: your last verdict's)"
    )
    _reviewer_option(withdraw)
    _timeout_option(withdraw)
    walk = actions.add_parser(
        "walk", help="go through the queue in this terminal: y / n / s / w(ithdraw) / q"
    )
    walk.add_argument("project", type=Path)
    _reviewer_option(walk)
    walk.add_argument("--reason", help="only items routed by this reason")
    walk.add_argument("--source", help="only pairs with a record from this source channel")
    walk.add_argument("--masked", action="store_true", help="show phones and emails masked")
    _timeout_option(walk)
    serve = actions.add_parser("serve", help="the reviewer's desk: a local web page")
    serve.add_argument("project", type=Path)
    serve.add_argument("--port", type=int, default=8765, help="the port (default 8765; 0: any)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="the interface (default 127.0.0.1: this machine)"
    )
    serve.add_argument(
        "--lease", type=float, default=600.0, help="seconds a pair stays with its reviewer"
    )
    token = actions.add_parser("token", help="reviewers' tokens for the desk")
    token_actions = token.add_subparsers(dest="token_action", required=True)
    token_add = token_actions.add_parser("add", help="a new token for a reviewer (shown once)")
    token_add.add_argument("project", type=Path)
    token_add.add_argument("name", help="the reviewer, kept with each verdict")
    token_add.add_argument(
        "--masked", action="store_true", help="this reviewer sees phones and emails masked"
    )
    token_list = token_actions.add_parser("list", help="the reviewers (never their tokens)")
    token_list.add_argument("project", type=Path)
    token_revoke = token_actions.add_parser("revoke", help="revoke a reviewer's tokens")
    token_revoke.add_argument("project", type=Path)
    token_revoke.add_argument("name")
    entities = actions.add_parser(
        "entities", help="write the record-to-entity mapping of the last run as CSV"
    )
    entities.add_argument("project", type=Path)
    entities.add_argument("-o", "--out", type=Path, required=True, help="the CSV file")


def review_command(args: argparse.Namespace) -> int:
    """Run one ``linkage review`` action. A closed pipe (``| head``) ends it quietly."""
    try:
        code = _review(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader left: send the rest nowhere, so that the interpreter's last flush
        # does not fail again, and end as a pipeline expects.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0


def _review(args: argparse.Namespace) -> int:
    from linkage.errors import ConfigError

    queue = _open(args.project, getattr(args, "timeout", 10.0))
    if args.action == "list":
        items = queue.items() if args.all else queue.pending()
        total = len(items)
        if items.empty:
            print("nothing to review")
            return 0
        print(_item_table(items.head(args.limit)))
        shown = min(args.limit, total)
        what = "items" if args.all else "waiting items"
        progress = queue.progress()
        print(
            f"\n{shown:,} of {total:,} {what} shown; {progress['decided']:,} decided, "
            f"{progress['pending']:,} pending, {progress['total']:,} in all"
        )
        return 0
    if args.action == "show":
        return _show(queue, args.item)
    if args.action == "decide":
        if not args.reviewer:
            raise ConfigError("say who decides: --reviewer NAME (or set $LINKAGE_REVIEWER)")
        queue.decide(args.item, args.verdict, reviewer=args.reviewer, note=args.note)
        print(f"item {args.item}: {args.verdict} by {args.reviewer}")
        return 0
    if args.action == "withdraw":
        if not args.reviewer:
            raise ConfigError("say who withdraws: --reviewer NAME (or set $LINKAGE_REVIEWER)")
        taken = queue.withdraw(args.item, reviewer=args.reviewer)
        print(
            f"item {taken['item_id']}: verdict {taken['verdict']} by {taken['reviewer']} "
            "withdrawn; the item is pending again"
        )
        return 0
    if args.action == "walk":
        from linkage.desk import walk

        reviewer = args.reviewer or _login_name()
        walk(queue, reviewer, masked=args.masked, reason=args.reason, source=args.source)
        return 0
    if args.action == "serve":
        from linkage.desk import serve

        serve(str(args.project), host=args.host, port=args.port, lease_seconds=args.lease)
        return 0
    if args.action == "token":
        return _token(queue, args)
    mapping = queue.entity_map()
    mapping.to_csv(args.out, index=False)
    n_entities = mapping["entity_id"].nunique()
    print(f"wrote {len(mapping):,} records of {n_entities:,} entities to {args.out}")
    return 0


def _open(path: Path, timeout: float):
    """The project file's queue, or a clear "not a project file" (never DuckDB's own
    error about catalogs or headers)."""
    import duckdb

    from linkage.errors import ProjectError
    from linkage.project import ReviewQueue

    if not path.exists():
        raise ProjectError(f"no project file at {path}: create one with linkage run --project")
    if path.is_dir():
        raise ProjectError(f"{path} is a folder, not a project file: give the .linkage file")
    with path.open("rb") as handle:
        head = handle.read(12)
    if len(head) < 12 or head[8:12] != _DUCKDB_MAGIC:
        raise ProjectError(
            f"{path} is not a project file (not a DuckDB file): give the file made by "
            "linkage run --project"
        )
    try:
        return ReviewQueue.open(path, timeout=timeout)
    except duckdb.Error as exc:
        raise ProjectError(
            f"{path} is not a project file ({str(exc).splitlines()[0]}): give the file made "
            "by linkage run --project"
        ) from exc


def _show(queue, item_id: int) -> int:
    from linkage.desk import pair_view, render_pair

    item = queue.item(item_id)
    view = pair_view(queue, item, masked=False)
    print(render_pair(view))
    if item.get("verdict"):
        print(f"verdict: {item['verdict']} by {item['reviewer']} at {item['decided_at']}")
    return 0


def _token(queue, args: argparse.Namespace) -> int:
    from linkage.desk import table

    if args.token_action == "add":
        token = queue.add_reviewer(args.name, masked=args.masked)
        print(
            f"token for {args.name} ({'masked' if args.masked else 'full'} phones and "
            f"emails); shown once, only its hash is kept:\n{token}"
        )
        return 0
    if args.token_action == "revoke":
        count = queue.revoke_reviewer(args.name)
        print(f"{count} token(s) of {args.name} revoked")
        return 0
    frame = queue.reviewers()
    if frame.empty:
        print("no reviewers yet: linkage review token add PROJECT NAME")
        return 0
    rows = [
        [
            r.token_id,
            r.reviewer,
            "masked" if r.masked else "full",
            str(r.created_at)[:19],
            "" if r.revoked_at is None or str(r.revoked_at) == "NaT" else "revoked",
        ]
        for r in frame.itertuples()
    ]
    print(table(["token id", "reviewer", "sees", "created", ""], rows))
    return 0


def _item_table(items) -> str:
    from linkage.desk import table

    ids = [c for c in items.columns[3:5]]  # <id column>_l, <id column>_r
    wanted = ["item_id", "kind", "status", "match_probability", *ids]
    for role in ("person_name", "company", "mobile"):
        for side in ("l", "r"):
            if f"{role}_{side}" in items:
                wanted.append(f"{role}_{side}")
    headers = ["p" if c == "match_probability" else c for c in wanted]
    rows = [
        ["" if v is None or v != v else (f"{v:.3f}" if isinstance(v, float) else v) for v in row]
        for row in items[wanted].itertuples(index=False)
    ]
    return table(headers, rows, max_width=24)


def _reviewer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reviewer",
        default=os.environ.get("LINKAGE_REVIEWER"),
        help="your name, kept with the verdict (default: $LINKAGE_REVIEWER)",
    )


def _timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for a busy project file"
    )


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"
