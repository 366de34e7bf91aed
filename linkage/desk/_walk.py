"""``linkage review walk``: the desk in a terminal, one pair at a time.

The pair, the model's evidence field by field, then ``y`` (match), ``n`` (non_match),
``s`` (skip), ``w`` (withdraw your last verdict: that pair comes back) or ``q`` (quit).
Pairs are leased as on the web page, so a walk and a page never show one pair to two
people at once. Columns are aligned by display width (a Chinese character takes two
cells), which ``str.ljust`` and pandas do not do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from wcwidth import wcswidth

from linkage.desk._view import PairView, pair_view
from linkage.project import ReviewQueue, StaleVerdictError

__all__ = ["align", "display_width", "render_pair", "table", "walk"]

_KEYS = {"y": "match", "n": "non_match", "s": "skip"}
PROMPT = "[y] same  [n] different  [s] skip  [w] withdraw last  [q] quit > "


def walk(
    queue: ReviewQueue,
    reviewer: str,
    *,
    masked: bool = False,
    reason: str | None = None,
    source: str | None = None,
    read: Callable[[str], str] = input,
    out: TextIO | None = None,
) -> int:
    """Go through the queue until it is empty or the reviewer quits.

    Returns:
        how many verdicts were given (withdrawals subtract).
    """
    out = out or sys.stdout
    given = 0
    comeback: int | None = None
    while True:
        item = queue.lease(reviewer, reason=reason, source=source, item_id=comeback)
        comeback = None
        if item is None:
            progress = queue.progress()
            print(
                f"nothing left to review ({progress['decided']:,} decided, "
                f"{progress['pending']:,} pending, {progress['total']:,} in all)",
                file=out,
            )
            return given
        view = pair_view(queue, item, masked=masked, reviewer=reviewer)
        print(render_pair(view), file=out, flush=True)
        while True:
            try:
                answer = read(PROMPT).strip().lower()[:1]
            except EOFError:
                answer = "q"
            if answer in _KEYS:
                try:
                    queue.decide(
                        int(item["item_id"]),
                        _KEYS[answer],
                        reviewer=reviewer,
                        lease=item["lease_id"],
                    )
                except StaleVerdictError as exc:
                    print(f"not recorded: {exc}", file=out)
                else:
                    given += 1
                    print(f"item {item['item_id']}: {_KEYS[answer]}", file=out, flush=True)
                break
            if answer == "w":
                last = queue.last_verdict(reviewer)
                if last is None:
                    print("you have no verdict to withdraw", file=out, flush=True)
                    continue
                queue.withdraw(last["item_id"], reviewer=reviewer, verdict_id=last["verdict_id"])
                given -= 1
                comeback = last["item_id"]
                print(
                    f"item {last['item_id']}: {last['verdict']} withdrawn, it comes back now",
                    file=out,
                    flush=True,
                )
                break
            if answer == "q":
                queue.release_lease(reviewer)
                print(f"{given} verdict(s) given; bye", file=out, flush=True)
                return given
            print("say y, n, s, w or q", file=out, flush=True)


def render_pair(view: PairView) -> str:
    """One pair as text: header, routing rule, the two records, the evidence, progress."""
    item = view.item
    weight, probability = item.get("match_weight"), item.get("match_probability")
    lines = [
        "",
        f"item {item['item_id']} ({item['kind']}): {item['key_l']}  vs  {item['key_r']}",
    ]
    if isinstance(weight, float) and isinstance(probability, float):
        lines.append(f"match weight {weight:+.2f}, probability {probability:.3f}")
    lines.append(f"routed here by: {item.get('reason') or 'no reason kept'}")
    lines.append(f"why borderline: {view.summary}")
    for cause in view.causes:
        lines.append(
            f"caused by verdict {cause['verdict_id']}: {cause['verdict']} on "
            f"{cause['key_l']} vs {cause['key_r']} by {cause['reviewer']}"
        )
    marks = {"agrees": "✓", "differs": "✗", "partly": "~", "missing": "-", "same": "="}
    rows = [
        [row["title"], _text(row["left"]), _text(row["right"]), marks.get(row["state"], "")]
        for row in view.fields
    ]
    lines += ["", table(["field", "left", "right", ""], rows)]
    evidence = [
        [
            row["comparison"].replace("_", " "),
            row["label"],
            f"{row['weight']:+.2f}",
            _bar(row["weight"]),
            row["words"],
        ]
        for row in view.evidence
    ]
    if evidence:
        lines += ["", table(["comparison", "level", "weight", "", "in words"], evidence)]
    progress = view.progress
    lines.append(
        f"\nprogress: {progress['decided']:,} decided, {progress['pending']:,} pending, "
        f"{progress['total']:,} in all"
    )
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Cells a string takes in a terminal (two for a Chinese character)."""
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def align(text: str, width: int, right: bool = False) -> str:
    """Pad to ``width`` display cells (on the left for ``right``)."""
    pad = " " * max(width - display_width(text), 0)
    return pad + text if right else text + pad


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 40) -> str:
    """Rows as aligned columns, by display width; long cells are cut to ``max_width``."""
    cells = [[_cut(_text(c), max_width) for c in row] for row in rows]
    widths = [
        max([display_width(h)] + [display_width(r[i]) for r in cells])
        for i, h in enumerate(headers)
    ]
    numeric = [
        bool(cells) and all(_is_number(r[i]) or r[i] == "" for r in cells)
        for i in range(len(headers))
    ]
    out = ["  ".join(align(h, w, n) for h, w, n in zip(headers, widths, numeric)).rstrip()]
    for row in cells:
        out.append("  ".join(align(c, w, n) for c, w, n in zip(row, widths, numeric)).rstrip())
    return "\n".join(out)


def _bar(weight: float, cells: int = 10) -> str:
    size = min(int(round(abs(weight) / 12.0 * cells)), cells)
    if weight >= 0:
        return " " * cells + "|" + "+" * size + " " * (cells - size)
    return " " * (cells - size) + "-" * size + "|" + " " * cells


def _cut(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out = ""
    for char in text:
        if display_width(out + char) > width - 1:
            break
        out += char
    return out + "…"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
