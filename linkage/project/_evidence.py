"""The model's own evidence for a queue item, field by field.

A run writes two things into the project file: per item, the comparison vector of its pair
(``gamma_<comparison>``, the level each comparison reached), and once per run, the model's
level table (per comparison: each level's label, its m and u, and whether
:mod:`linkage.decisions` counts it as agreement or as a conflict). An item's evidence is
then a lookup, with no model to load and no SQL to run: for each comparison, the level
label and its partial match weight ``log2(m / u)`` (splink's ``bf_<comparison>`` in bits),
and the words a reviewer reads.

Agreement is the model's, after standardization: ``胡倩伟`` and ``HU Qianwei`` agree when
the person-name comparison reached a pinyin level, ``广东`` and ``广东省`` when the account
comparison says so, whatever the raw strings look like.
"""

from __future__ import annotations

import json
import math
from typing import Any

from linkage import _splink, decisions

__all__ = ["evidence_levels", "gammas_json", "item_evidence", "weight_in_words"]


def evidence_levels(linker: Any) -> dict[str, Any]:
    """The trained model's level table, as JSON-ready data (written by a run's sync).

    Returns:
        ``{"prior_weight": float, "comparisons": {name: {"inputs": [...], "levels":
        [{"gamma", "label", "m", "u", "weight", "agrees", "conflicts"}, ...]}}}``.
    """
    probabilities = _splink.level_weights(linker)
    inputs = _splink.comparison_input_columns(linker)
    settings = {
        "comparisons": [
            {
                "output_column_name": name,
                "comparison_levels": [{"label_for_charts": level[0]} for level in levels],
            }
            for name, levels in probabilities.items()
        ]
    }
    agreement = decisions.agreement_levels(settings)
    prior = _splink.probability_two_random_records_match(linker)
    comparisons: dict[str, Any] = {}
    for name, levels in probabilities.items():
        rows = []
        for position, (label, m, u, weight) in enumerate(levels):
            gamma = len(levels) - 1 - position
            rows.append(
                {
                    "gamma": gamma,
                    "label": label,
                    "m": m,
                    "u": u,
                    "weight": weight,
                    "agrees": gamma in agreement.get(name, []),
                    "conflicts": gamma == 0 or gamma in agreement.conflicts.get(name, []),
                }
            )
        comparisons[name] = {"inputs": sorted(inputs.get(name, ())), "levels": rows}
    return {"prior_weight": math.log2(prior / (1 - prior)), "comparisons": comparisons}


def gammas_json(names: list[str], rows: list[list[Any]]) -> list[str]:
    """Each pair's comparison vector as the project file keeps it for :func:`item_evidence`:
    JSON ``{comparison: gamma}`` (``rows``: one level per name; a missing level, NaN,
    is ``null``)."""
    return [
        json.dumps({n: (None if v != v else int(v)) for n, v in zip(names, row)}) for row in rows
    ]


def item_evidence(
    levels: dict[str, Any] | str | None, gammas: dict[str, int] | str | None
) -> list[dict[str, Any]]:
    """One item's evidence: one row per comparison, strongest first.

    Args:
        levels: :func:`evidence_levels` (or its JSON).
        gammas: ``{comparison: gamma}`` of the pair (or its JSON).

    Returns:
        rows ``comparison, gamma, label, weight, state, words``: ``state`` is ``agrees``,
        ``differs``, ``partly`` (a level between: weak evidence) or ``missing`` (a value
        absent on one side: splink's null level, weight 0). Empty when the file holds
        no evidence for the item (an item made before format 2, or by ``decide_pair``).
    """
    if isinstance(levels, str):
        levels = json.loads(levels)
    if isinstance(gammas, str):
        gammas = json.loads(gammas)
    if not levels or not gammas:
        return []
    rows = []
    for name, gamma in gammas.items():
        comparison = levels["comparisons"].get(name)
        if comparison is None or gamma is None:
            continue
        gamma = int(gamma)
        level = next((lv for lv in comparison["levels"] if lv["gamma"] == gamma), None)
        if gamma < 0 or level is None:
            label, weight, state = "a value is missing on one side", 0.0, "missing"
        else:
            label, weight = level["label"], float(level["weight"] or 0.0)
            state = "agrees" if level["agrees"] else "differs" if level["conflicts"] else "partly"
        rows.append(
            {
                "comparison": name,
                "inputs": comparison.get("inputs", []),
                "gamma": gamma,
                "label": label,
                "weight": weight,
                "state": state,
                "words": weight_in_words(weight, state),
            }
        )
    rows.sort(key=lambda row: -abs(row["weight"]))
    return rows


def weight_in_words(weight: float, state: str = "") -> str:
    """A partial match weight as a reviewer reads it: how strongly for or against.

    The cut points are in bits: 1 bit doubles the odds of a match; 5 bits multiply them by
    32 (a shared mobile); 10 bits by a thousand (a shared WeChat UnionID)."""
    if state == "missing":
        return "no evidence (missing on one side)"
    size = abs(weight)
    if size < 0.5:
        return "no real evidence either way"
    strength = (
        "weak" if size < 2 else "moderate" if size < 5 else "strong" if size < 10 else "very strong"
    )
    direction = "for a match" if weight > 0 else "against a match"
    return f"{strength} evidence {direction}"
