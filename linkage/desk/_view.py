"""One pair as a reviewer sees it, for the web page and the terminal alike: the two records
field by field, marked by the model's own agreement, the per-field partial weights, the
routing rule, the conflict's cause, each side's entity, and the queue's progress.

Everything a masked reviewer is shown passes through here, masked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from linkage import roles as roles_mod
from linkage.desk._mask import mask_text, mask_value
from linkage.project import ReviewQueue

__all__ = ["PairView", "pair_view"]

# Fields a reviewer reads first; the rest follow in the file's order.
_FIRST = ("person_name", "company", "mobile", "phone", "email", "wechat_unionid", "address")
_HIDDEN = ("record_id",)
_REGISTRY = roles_mod.by_name()


@dataclass
class PairView:
    """What the desk shows for one item (values already masked when they must be)."""

    item: dict[str, Any]
    fields: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    prior_weight: float | None
    causes: list[dict[str, Any]]
    entities: dict[str, list[dict[str, Any]]]
    progress: dict[str, int]
    last_verdict: dict[str, Any] | None = None
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def pair_view(
    queue: ReviewQueue,
    item: dict[str, Any],
    *,
    masked: bool,
    reviewer: str | None = None,
) -> PairView:
    """Everything the desk shows for ``item`` (from :meth:`ReviewQueue.lease` or
    :meth:`ReviewQueue.item`)."""
    item_id = int(item["item_id"])
    evidence = queue.evidence(item_id)
    if "values_l" not in item:  # an item from ReviewQueue.item: the values, once more
        item = {**item, **_values(queue, item_id)}
    left = json.loads(item.get("values_l") or "{}")
    right = json.loads(item.get("values_r") or "{}")
    fields = _fields(left, right, evidence, masked)
    levels = queue.file.meta("evidence_levels")
    prior = json.loads(levels)["prior_weight"] if levels else None
    causes = []
    if item.get("kind") == "conflict" or item.get("status") == "conflict":
        for row in queue.caused_by(item_id).to_dict("records"):
            causes.append({k: _clean(v) for k, v in row.items()})
    members = queue.entity_members([item["key_l"], item["key_r"]], limit=12)
    entities = {side: _shown(members[item[f"key_{side}"]], masked) for side in ("l", "r")}
    shown_item = {k: _clean(v) for k, v in item.items() if k not in ("values_l", "values_r")}
    if masked:
        shown_item = {k: mask_text(v) if k == "note" and v else v for k, v in shown_item.items()}
    view = PairView(
        item=shown_item,
        fields=fields,
        evidence=evidence,
        prior_weight=prior,
        causes=causes,
        entities=entities,
        progress=queue.progress(),
        last_verdict=queue.last_verdict(reviewer) if reviewer else None,
    )
    view.summary = summary(view)
    return view


def summary(view: PairView) -> str:
    """Why the pair is borderline, in one line: the evidence for, against, and the sum."""
    weight = view.item.get("match_weight")
    if not view.evidence:
        return "no per-field evidence kept for this item (a run since format 2 adds it)"
    pro = [e for e in view.evidence if e["weight"] >= 0.5]
    con = [e for e in view.evidence if e["weight"] <= -0.5]

    def listed(rows: list[dict[str, Any]]) -> str:
        return ", ".join(f"{_title(r['comparison'])} {r['weight']:+.1f}" for r in rows) or "none"

    parts = [f"for: {listed(pro)}", f"against: {listed(con)}"]
    if view.prior_weight is not None:
        parts.append(f"prior {view.prior_weight:+.1f}")
    if isinstance(weight, float) and math.isfinite(weight):
        parts.append(f"total {weight:+.2f}")
    return "; ".join(parts)


def comparison_of(role: str, comparisons: set[str]) -> str | None:
    """The comparison that judges a role's values (from the role registry)."""
    spec = _REGISTRY.get(role)
    if spec is None:
        return role if role in comparisons else None
    if spec.account_field and "account" in comparisons:
        return "account"
    for name in (spec.comparison, spec.organization_comparison, spec.name):
        if name and name in comparisons:
            return name
    return None


def _fields(
    left: dict[str, Any], right: dict[str, Any], evidence: list[dict[str, Any]], masked: bool
) -> list[dict[str, Any]]:
    by_comparison = {e["comparison"]: e for e in evidence}
    names = [r for r in dict.fromkeys([*left, *right]) if r not in _HIDDEN]
    order = {r: i for i, r in enumerate(names)}
    names.sort(key=lambda r: (_FIRST.index(r) if r in _FIRST else len(_FIRST), order[r]))
    rows = []
    for role in names:
        a, b = _clean(left.get(role)), _clean(right.get(role))
        comparison = comparison_of(role, set(by_comparison))
        judged = by_comparison.get(comparison) if comparison else None
        if a is None or b is None:
            state = "missing"
        elif judged is not None:
            state = judged["state"]
        else:
            state = "same" if str(a).strip() == str(b).strip() else "not compared"
        if masked:
            a, b = mask_value(role, a), mask_value(role, b)
        rows.append(
            {
                "role": role,
                "title": _title(role),
                "left": a,
                "right": b,
                "comparison": comparison if judged is not None else None,
                "state": state,
                "label": judged["label"] if judged is not None else "",
                "weight": judged["weight"] if judged is not None else None,
            }
        )
    return rows


def _values(queue: ReviewQueue, item_id: int) -> dict[str, str]:
    raw = queue.show(item_id)
    left = {r: v for r, v in zip(raw["role"], raw["left"]) if v is not None}
    right = {r: v for r, v in zip(raw["role"], raw["right"]) if v is not None}
    return {"values_l": json.dumps(left, default=str), "values_r": json.dumps(right, default=str)}


def _shown(frame: Any, masked: bool) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        shown = {}
        for role, value in row.items():
            value = _clean(value)
            if value is None:
                continue
            shown[role] = mask_value(role, value) if masked else value
        out.append(shown)
    return out


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and NaT to None, numpy scalars to Python, times to text."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if type(value).__name__ in ("Timestamp", "datetime", "NaTType"):
        text = str(value)
        return None if text in ("NaT", "None") else text[:19]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _title(name: str) -> str:
    return name.replace("_", " ")
