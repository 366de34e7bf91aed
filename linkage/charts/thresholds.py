"""Charts for choosing thresholds: where true and false pairs separate, how many pairs a
person must review, how accurate ``auto_merge`` is, and which routing rule decided what.

linkage decides with two match-weight thresholds (``review`` and ``auto_merge``) plus
routing rules, so every chart here counts the *final* decisions, rules included, not the
bands of the score alone. Pairs stay in DuckDB: match weights are binned and counted there
and altair only ever sees a few thousand aggregated rows, whatever the size of the result.

* :func:`match_weight_histogram`: pairs by match weight, coloured by decision, with the
  thresholds drawn as rules;
* :func:`threshold_explorer`: two sliders move the thresholds; decision counts (and
  precision and recall of ``auto_merge`` with labels) follow;
* :func:`review_load_chart` / :func:`review_load`: pairs to review for each setting;
* :func:`accuracy_chart` / :func:`accuracy_by_threshold`: precision, recall and F1 against
  the auto-merge threshold, for pairs and for entities;
* :func:`decisions_by_reason_chart`: how many pairs each routing rule sent where.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np
import pandas as pd

from linkage import decisions
from linkage._sql import run
from linkage.charts._pairs import MATCH, UNLABELLED, PairTruth, pair_truth, scored_pairs
from linkage.errors import ConfigError, InputError

if TYPE_CHECKING:
    from linkage.run import LinkResult

__all__ = [
    "DECISION_COLOURS",
    "accuracy_by_threshold",
    "accuracy_chart",
    "decisions_by_reason_chart",
    "match_weight_histogram",
    "review_load",
    "review_load_chart",
    "threshold_explorer",
]

#: Colours of the three decisions, the same in every chart.
DECISION_COLOURS = {"auto_merge": "#4c78a8", "review": "#f58518", "distinct": "#bab0ac"}
_DECISION_ORDER = ["auto_merge", "review", "distinct"]
_DECISION_SCALE = alt.Scale(
    domain=_DECISION_ORDER, range=[DECISION_COLOURS[d] for d in _DECISION_ORDER]
)
# Thresholds far outside any match weight: deciding with them forces every pair into one
# band, so the routing rules' verdict for that band can be read off per pair.
_FORCE = 1e300
_FORCED_BANDS = {
    "auto_merge": decisions.Thresholds(review=-_FORCE, auto_merge=-_FORCE),
    "review": decisions.Thresholds(review=-_FORCE, auto_merge=_FORCE),
    "distinct": decisions.Thresholds(review=_FORCE, auto_merge=_FORCE),
}
# Ticks of the symlog count axes: Vega's own put none between 0 and 1,000.
_LOG_TICKS = [0, 1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000]
_LOG_TICKS += [10**k * m for k in range(6, 12) for m in (1, 3)]


# -- 1. match-weight histogram ---------------------------------------------------------------


def match_weight_histogram(
    result: LinkResult,
    *,
    bin_width: float = 0.5,
    weight_range: tuple[float, float] = (-20.0, 20.0),
    width: int = 640,
    height: int = 280,
) -> alt.LayerChart:
    """Pairs by match weight, stacked by the decision each pair got, with the review and
    auto-merge thresholds drawn as vertical rules.

    Colours are the result's own decisions (routing rules included), so a review-coloured
    bar right of the auto-merge line is a pair a rule capped. Weights outside
    ``weight_range`` are counted in the first or last bar.

    Args:
        result: a :class:`~linkage.LinkResult`.
        bin_width: width of a bar in match-weight units (bits).
        weight_range: the weights shown; the thresholds are always inside it.

    Raises:
        ModelError: the result has no scored pairs (a single record).
        ConfigError: ``bin_width`` not positive.
    """
    con, table = scored_pairs(result)
    thresholds = result.model.policy.thresholds
    low, high = _window(weight_range, bin_width, thresholds)
    binned = _bin_sql(bin_width, low, high)
    counts = con.execute(
        f"SELECT {binned} AS weight_bin, decision, count(*) AS pairs "
        f"FROM {table} GROUP BY ALL ORDER BY 1, 2"
    ).df()
    counts["weight_bin"] = counts["weight_bin"].astype(float)
    counts["weight_end"] = counts["weight_bin"] + bin_width
    counts["weights"] = _bin_labels(counts["weight_bin"], bin_width, low, high)
    bars = _stacked_bars(
        alt.Chart(counts),
        x=alt.X(
            "weight_bin:Q",
            title="match weight (bits: log2 of the odds that the pair is one customer)",
            scale=alt.Scale(domain=[low - bin_width, high + bin_width], nice=False),
        ),
    )
    lines = _threshold_rules(thresholds)
    return (
        alt.layer(bars, *lines)
        .properties(
            width=width,
            height=height,
            title=alt.Title(
                "Pairs by match weight and decision",
                subtitle=f"{int(counts['pairs'].sum()):,} scored pairs; dashed lines: "
                f"review {thresholds.review:g}, auto_merge {thresholds.auto_merge:g}",
            ),
        )
        .resolve_scale(x="shared")
    )


def _threshold_rules(thresholds: decisions.Thresholds) -> list[alt.Chart]:
    lines = pd.DataFrame(
        {
            "threshold": ["review", "auto_merge"],
            "weight": [thresholds.review, thresholds.auto_merge],
            "label": [f"review ≥ {thresholds.review:g}", f"auto_merge ≥ {thresholds.auto_merge:g}"],
        }
    )
    rule = (
        alt.Chart(lines)
        .mark_rule(strokeDash=[6, 3], strokeWidth=2)
        .encode(
            x="weight:Q",
            color=alt.Color("threshold:N", scale=_DECISION_SCALE, legend=None),
            tooltip=[alt.Tooltip("label:N", title="threshold")],
        )
    )
    texts = [
        alt.Chart(lines[lines["threshold"] == name])
        .mark_text(align=align, dx=dx, dy=-4, baseline="bottom", fontWeight="bold")
        .encode(
            x="weight:Q",
            y=alt.value(0),
            text="label:N",
            color=alt.Color("threshold:N", scale=_DECISION_SCALE, legend=None),
        )
        for name, align, dx in (("review", "right", -4), ("auto_merge", "left", 4))
    ]
    return [rule, *texts]


def _stacked_bars(chart: alt.Chart, x: alt.X) -> alt.Chart:
    """Bars of pairs per weight bin stacked by decision, on a symlog axis.

    Stacked by hand (a window sum per bin): Vega-Lite refuses to stack on a non-linear
    scale, and a log-like axis is what lets the few pairs near the thresholds show
    beside thousands of clear non-matches.
    """
    return (
        chart.transform_aggregate(
            pairs="sum(pairs)", groupby=["weight_bin", "weight_end", "weights", "decision"]
        )
        .transform_calculate(
            decision_rank="indexof(['auto_merge', 'review', 'distinct'], datum.decision)"
        )
        .transform_window(
            stack_top="sum(pairs)", groupby=["weight_bin"], sort=[{"field": "decision_rank"}]
        )
        .transform_calculate(stack_bottom="datum.stack_top - datum.pairs")
        .mark_bar()
        .encode(
            x=x,
            x2="weight_end:Q",
            y=alt.Y(
                "stack_bottom:Q",
                title="pairs (symmetric log scale)",
                scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=_LOG_TICKS, labelExpr="format(datum.value, ',')"),
            ),
            y2="stack_top:Q",
            color=alt.Color("decision:N", scale=_DECISION_SCALE, title="decision"),
            tooltip=[
                alt.Tooltip("weights:N", title="match weight"),
                alt.Tooltip("decision:N"),
                alt.Tooltip("pairs:Q", title="pairs", format=","),
            ],
        )
    )


# -- 2. interactive thresholds ----------------------------------------------------------------


def threshold_explorer(
    result: LinkResult,
    *,
    truth_column: str | None = None,
    records: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    thresholds: decisions.Thresholds | None = None,
    bin_width: float = 0.5,
    weight_range: tuple[float, float] = (-20.0, 20.0),
    width: int = 640,
) -> alt.VConcatChart:
    """Two sliders move the review and auto-merge thresholds; the histogram recolours and
    the counts of ``auto_merge``, ``review`` and ``distinct`` pairs follow, routing rules
    included. With labels, the precision and recall of ``auto_merge`` (pairwise) follow too.

    The counts are exact for thresholds on the sliders' grid (multiples of ``bin_width``):
    each bar knows, from the routing rules, what its pairs become in each band.

    Args:
        result: a :class:`~linkage.LinkResult`.
        truth_column, records: the true cluster of each record, as ``records[truth_column]``
            (``records`` holds the result's id column); or
        labels: a table of labelled pairs: ``<id column>_l``, ``<id column>_r`` and ``is_match``
            (bool, or a 0-1 ``clerical_match_score``).
        thresholds: where the sliders start (default: the result's thresholds).
        bin_width: slider step and bar width, in match-weight units.
        weight_range: the weights the sliders cover.

    Raises:
        ModelError: the result has no scored pairs.
        InputError: labels that do not fit the result.
    """
    con, _ = scored_pairs(result)
    start = thresholds or result.model.policy.thresholds
    low, high = _window(weight_range, bin_width, start)
    truth = pair_truth(result, truth_column, records, labels)
    try:
        profile = _decision_profile(result, bin_width, low, high, truth)
    finally:
        if truth is not None:
            truth.drop()
    data = profile.long_frame()
    data["weights"] = _bin_labels(data["weight_bin"], bin_width, low, high)
    review = alt.param(
        name="review_threshold",
        value=_snap(start.review, bin_width),
        bind=alt.binding_range(min=low, max=high, step=bin_width, name="review threshold "),
    )
    auto = alt.param(
        name="auto_merge_threshold",
        value=_snap(start.auto_merge, bin_width),
        bind=alt.binding_range(min=low, max=high, step=bin_width, name="auto_merge threshold "),
    )
    # A bar's pairs fall in one band under the sliders; keep the rows of that band.
    eps = bin_width * 1e-6
    effective_review = "min(review_threshold, auto_merge_threshold)"
    in_band = (
        f"(datum.band === 'auto_merge' && datum.weight_bin >= auto_merge_threshold - {eps}) || "
        f"(datum.band === 'review' && datum.weight_bin >= {effective_review} - {eps} && "
        f"datum.weight_bin < auto_merge_threshold - {eps}) || "
        f"(datum.band === 'distinct' && datum.weight_bin < {effective_review} - {eps})"
    )
    base = alt.Chart(data).transform_filter(in_band)
    bars = _stacked_bars(
        base,
        x=alt.X(
            "weight_bin:Q",
            title="match weight (bits)",
            scale=alt.Scale(domain=[low - bin_width, high + bin_width], nice=False),
        ),
    )
    # One rule per threshold, coloured by value, so the decision legend stays the only one.
    rules = [
        alt.Chart(pd.DataFrame({"threshold": [name]}))
        .transform_calculate(weight=expression)
        .mark_rule(strokeDash=[6, 3], strokeWidth=2, color=DECISION_COLOURS[name])
        .encode(x="weight:Q", tooltip=[alt.Tooltip("weight:Q", title=f"{name} threshold")])
        for name, expression in (
            ("review", effective_review),
            ("auto_merge", "auto_merge_threshold"),
        )
    ]
    histogram = alt.layer(bars, *rules).properties(
        width=width, height=240, title="Pairs by match weight, decided under the sliders"
    )
    totals = base.transform_aggregate(pairs="sum(pairs)", groupby=["decision"]).transform_calculate(
        label="format(datum.pairs, ',') + ' pairs'"
    )
    count_bars = totals.mark_bar().encode(
        y=alt.Y("decision:N", sort=_DECISION_ORDER, title="decision"),
        x=alt.X("pairs:Q", title="pairs"),
        color=alt.Color("decision:N", scale=_DECISION_SCALE, title="decision"),
        tooltip=[alt.Tooltip("decision:N"), alt.Tooltip("pairs:Q", format=",")],
    )
    count_text = totals.mark_text(align="left", dx=4).encode(
        y=alt.Y("decision:N", sort=_DECISION_ORDER), x="pairs:Q", text="label:N"
    )
    counts = alt.layer(count_bars, count_text).properties(
        width=width - 120, height=90, title="Pairs per decision"
    )
    panels: list[Any] = [histogram, counts]
    if truth is not None:
        accuracy = (
            base.transform_filter("datum.decision === 'auto_merge' && datum.label >= 0")
            .transform_calculate(true_positive=f"datum.label === {MATCH} ? datum.pairs : 0")
            .transform_aggregate(predicted="sum(pairs)", true_positives="sum(true_positive)")
            .transform_calculate(
                text=(
                    "'auto_merge, pairwise against " + truth.name.replace("'", "") + ": "
                    "precision ' + format(datum.predicted ? datum.true_positives / "
                    "datum.predicted : 1, '.4f') + '   recall ' + format(datum.true_positives"
                    f" / {max(truth.actual, 1)}, '.4f') + '   (' + format(datum.true_positives,"
                    " ',') + ' of " + f"{truth.actual:,}" + " true pairs)'"
                )
            )
            .mark_text(align="left", fontSize=13)
            .encode(text="text:N", x=alt.value(0), y=alt.value(10))
            .properties(width=width, height=20)
        )
        panels.append(accuracy)
    return (
        alt.vconcat(*panels)
        .add_params(review, auto)
        .properties(
            title=alt.Title(
                "Move the thresholds",
                subtitle="counts include the routing rules; thresholds move in steps of "
                f"{bin_width:g}",
            )
        )
    )


# -- 3. review load ----------------------------------------------------------------------------


def review_load(
    result: LinkResult,
    *,
    auto_merge_thresholds: Sequence[float] | None = None,
    bin_width: float = 0.5,
    weight_range: tuple[float, float] = (-20.0, 20.0),
) -> pd.DataFrame:
    """How many pairs a person must review, for each review threshold (and a few auto-merge
    thresholds), routing rules included.

    Returns:
        one row per setting: ``review_threshold``, ``auto_merge_threshold``,
        ``review_pairs``, ``auto_merge_pairs``, ``distinct_pairs``, ``current`` (the
        result's own setting).
    """
    con, _ = scored_pairs(result)
    current = result.model.policy.thresholds
    low, high = _window(weight_range, bin_width, current)
    profile = _decision_profile(result, bin_width, low, high, None)
    if auto_merge_thresholds is None:
        offsets = (-4.0, -2.0, 0.0, 2.0, 4.0)
        auto_merge_thresholds = [current.auto_merge + o for o in offsets]
    rows = []
    for auto in sorted({_snap(a, bin_width) for a in auto_merge_thresholds}):
        auto = min(max(auto, low), high)
        for review_at in np.arange(low, auto + bin_width / 2, bin_width):
            counts = profile.counts(float(review_at), auto)
            rows.append(
                {
                    "review_threshold": round(float(review_at), 6),
                    "auto_merge_threshold": auto,
                    "review_pairs": counts["review"],
                    "auto_merge_pairs": counts["auto_merge"],
                    "distinct_pairs": counts["distinct"],
                }
            )
    table = pd.DataFrame(rows).drop_duplicates(["review_threshold", "auto_merge_threshold"])
    table["current"] = np.isclose(
        table["review_threshold"], _snap(current.review, bin_width)
    ) & np.isclose(table["auto_merge_threshold"], _snap(current.auto_merge, bin_width))
    return table.reset_index(drop=True)


def review_load_chart(
    result: LinkResult,
    *,
    auto_merge_thresholds: Sequence[float] | None = None,
    seconds_per_pair: float = 30.0,
    bin_width: float = 0.5,
    weight_range: tuple[float, float] = (-20.0, 20.0),
    width: int = 640,
    height: int = 300,
) -> alt.LayerChart:
    """Pairs to review against the review threshold, one line per auto-merge threshold;
    the result's own setting is marked. Tooltips give the hours at ``seconds_per_pair``.

    See :func:`review_load` for the numbers.
    """
    table = review_load(
        result,
        auto_merge_thresholds=auto_merge_thresholds,
        bin_width=bin_width,
        weight_range=weight_range,
    )
    table["hours"] = table["review_pairs"] * seconds_per_pair / 3600
    table["auto_merge_at"] = table["auto_merge_threshold"].map(lambda v: f"{v:g}")
    tooltip = [
        alt.Tooltip("review_threshold:Q", title="review threshold"),
        alt.Tooltip("auto_merge_threshold:Q", title="auto_merge threshold"),
        alt.Tooltip("review_pairs:Q", title="pairs to review", format=","),
        alt.Tooltip("hours:Q", title=f"hours at {seconds_per_pair:g}s a pair", format=".1f"),
        alt.Tooltip("auto_merge_pairs:Q", title="auto-merged pairs", format=","),
    ]
    order = sorted(table["auto_merge_threshold"].unique())
    colour = alt.Color(
        "auto_merge_at:N",
        title="auto_merge threshold",
        sort=[f"{v:g}" for v in order],
        scale=alt.Scale(scheme="viridis"),
    )
    lines = (
        alt.Chart(table)
        .mark_line(point=alt.OverlayMarkDef(size=12), interpolate="step-after")
        .encode(
            x=alt.X("review_threshold:Q", title="review threshold (match weight)"),
            y=alt.Y(
                "review_pairs:Q",
                title="pairs to review (symmetric log scale)",
                scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=_LOG_TICKS, labelExpr="format(datum.value, ',')"),
            ),
            color=colour,
            tooltip=tooltip,
        )
    )
    current = (
        alt.Chart(table[table["current"]])
        .mark_point(shape="diamond", size=160, filled=True, color="black")
        .encode(x="review_threshold:Q", y="review_pairs:Q", tooltip=tooltip)
    )
    now = result.model.policy.thresholds
    return alt.layer(lines, current).properties(
        width=width,
        height=height,
        title=alt.Title(
            "Review load: pairs a person must look at",
            subtitle=f"black diamond: current setting (review {now.review:g}, "
            f"auto_merge {now.auto_merge:g}); routing rules included",
        ),
    )


# -- 4. accuracy against the threshold -----------------------------------------------------------


def accuracy_by_threshold(
    result: LinkResult,
    *,
    truth_column: str | None = None,
    records: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    cluster_thresholds: Sequence[float] | None = None,
    bin_width: float = 0.5,
    weight_range: tuple[float, float] = (-20.0, 20.0),
) -> pd.DataFrame:
    """Precision, recall and F1 of ``auto_merge`` against the auto-merge threshold, for
    pairs (every threshold on the grid) and for entities (re-clustered at a handful).

    Pairs: a pair is predicted a match when its decision, routing rules included, is
    ``auto_merge``; every true pair counts toward recall, including those blocking never
    proposed. Entities: every pair of records in one entity is predicted a match (against
    a labels table: the labelled pairs only). The review threshold is kept, lowered to
    the auto-merge threshold where it would be above it.

    Args:
        truth_column, records: the true cluster of each record; or
        labels: labelled pairs (``<id column>_l``, ``<id column>_r``, ``is_match``).
        cluster_thresholds: auto-merge thresholds at which entities are re-clustered
            (default: five around the current one); ``[]`` for pairs only.

    Returns:
        columns ``level`` (``pairs`` / ``entities``), ``auto_merge_threshold``,
        ``precision``, ``recall``, ``f1``, ``true_positives``, ``predicted``, ``actual``.

    Raises:
        InputError: no labels given, or labels that do not fit the result.
    """
    con, _ = scored_pairs(result)
    current = result.model.policy.thresholds
    low, high = _window(weight_range, bin_width, current)
    truth = pair_truth(result, truth_column, records, labels)
    if truth is None:
        raise InputError(
            "accuracy needs labels: pass truth_column= with records=, or labels= (a table of "
            "<id column>_l, <id column>_r, is_match)"
        )
    try:
        profile = _decision_profile(result, bin_width, low, high, truth)
        rows = []
        for auto in np.arange(low, high + bin_width / 2, bin_width):
            auto = round(float(auto), 6)
            tp, predicted = profile.auto_merge_truth(min(current.review, auto), auto)
            rows.append(_accuracy_row("pairs", auto, tp, predicted, truth.actual))
        if cluster_thresholds is None:
            cluster_thresholds = [current.auto_merge + o for o in (-4.0, -2.0, 0.0, 2.0, 4.0)]
        for auto in sorted(set(cluster_thresholds)):
            clustered = _redecided_entities(result, min(current.review, auto), auto)
            tp, predicted, actual = truth.clustered(clustered)
            rows.append(_accuracy_row("entities", float(auto), tp, predicted, actual))
    finally:
        truth.drop()
    return pd.DataFrame(rows)


def accuracy_chart(
    result: LinkResult,
    *,
    truth_column: str | None = None,
    records: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    cluster_thresholds: Sequence[float] | None = None,
    bin_width: float = 0.5,
    weight_range: tuple[float, float] = (-20.0, 20.0),
    width: int = 640,
    height: int = 300,
) -> alt.LayerChart:
    """Precision, recall and F1 against the auto-merge threshold: lines for pairs, points
    joined by dashes for entities; a rule at the current threshold.

    See :func:`accuracy_by_threshold` for the definitions and the arguments.
    """
    table = accuracy_by_threshold(
        result,
        truth_column=truth_column,
        records=records,
        labels=labels,
        cluster_thresholds=cluster_thresholds,
        bin_width=bin_width,
        weight_range=weight_range,
    )
    long = table.melt(
        id_vars=["level", "auto_merge_threshold", "true_positives", "predicted", "actual"],
        value_vars=["precision", "recall", "f1"],
        var_name="metric",
        value_name="value",
    )
    long["metric"] = long["metric"].replace({"f1": "F1"})
    long["series"] = long["metric"] + " (" + long["level"] + ")"
    tooltip = [
        alt.Tooltip("level:N"),
        alt.Tooltip("metric:N"),
        alt.Tooltip("auto_merge_threshold:Q", title="auto_merge threshold"),
        alt.Tooltip("value:Q", format=".4f"),
        alt.Tooltip("true_positives:Q", title="true positives", format=","),
        alt.Tooltip("predicted:Q", title="predicted matches", format=","),
        alt.Tooltip("actual:Q", title="true matches", format=","),
    ]
    encoding = {
        "x": alt.X("auto_merge_threshold:Q", title="auto_merge threshold (match weight)"),
        "y": alt.Y("value:Q", title="precision / recall / F1", scale=alt.Scale(zero=False)),
        "color": alt.Color(
            "metric:N",
            title="metric",
            sort=["precision", "recall", "F1"],
            scale=alt.Scale(domain=["precision", "recall", "F1"], scheme="set1"),
        ),
        "strokeDash": alt.StrokeDash(
            "level:N",
            sort=["pairs", "entities"],
            scale=alt.Scale(domain=["pairs", "entities"], range=[[1, 0], [4, 3]]),
            legend=None,  # said in the subtitle: a dash legend draws blank here
        ),
        "detail": "series:N",
        "tooltip": tooltip,
    }
    pair_lines = alt.Chart(long[long["level"] == "pairs"]).mark_line().encode(**encoding)
    entity_lines = (
        alt.Chart(long[long["level"] == "entities"])
        .mark_line(point=alt.OverlayMarkDef(size=50, filled=True))
        .encode(**encoding)
    )
    now = result.model.policy.thresholds.auto_merge
    rule = (
        alt.Chart(pd.DataFrame({"auto_merge_threshold": [now]}))
        .mark_rule(strokeDash=[2, 2], color="black")
        .encode(x="auto_merge_threshold:Q")
    )
    truth_name = truth_column or "labelled pairs"
    return alt.layer(pair_lines, entity_lines, rule).properties(
        width=width,
        height=height,
        title=alt.Title(
            "Accuracy of auto_merge against the threshold",
            subtitle=[
                f"truth: {truth_name}; solid lines: pairs; dashed lines with dots: entities "
                "(re-clustered at each dot)",
                f"dotted black line: current auto_merge threshold {now:g}",
            ],
        ),
    )


# -- 5. decisions by reason --------------------------------------------------------------------


def decisions_by_reason_chart(
    result: LinkResult, *, width: int = 520, height: int | None = None
) -> alt.LayerChart:
    """How many pairs each routing rule (or the score bands) sent to each decision."""
    con, table = scored_pairs(result)
    counts = con.execute(
        f"SELECT decision, reason, count(*) AS pairs FROM {table} GROUP BY ALL"
    ).df()
    counts["why"] = counts["reason"].map(_short_reason)
    counts["label"] = counts["pairs"].map(lambda n: f"{n:,}")
    order = counts.sort_values("pairs", ascending=False)["why"].drop_duplicates().tolist()
    y = alt.Y("why:N", title="reason (routing rule or score band)", sort=order)
    bars = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("pairs:Q", title="pairs", stack="zero"),
            color=alt.Color("decision:N", scale=_DECISION_SCALE, title="decision"),
            tooltip=[
                alt.Tooltip("reason:N"),
                alt.Tooltip("decision:N"),
                alt.Tooltip("pairs:Q", format=","),
            ],
        )
    )
    text = (
        alt.Chart(counts)
        .mark_text(align="left", dx=4)
        .encode(y=y, x=alt.X("sum(pairs):Q"), text="label:N")
    )
    return alt.layer(bars, text).properties(
        width=width,
        height=height or max(120, 28 * len(order)),
        title=alt.Title(
            "Decisions by reason",
            subtitle="the rule that last changed a pair's decision, or its score band",
        ),
    )


def _short_reason(reason: str) -> str:
    # Rule reasons read "name: sentence"; the name is the axis label, the sentence a tooltip.
    return reason.split(":", 1)[0] if ":" in reason else reason


# -- internals: bins and decisions per band --------------------------------------------------


def _window(
    weight_range: tuple[float, float], bin_width: float, thresholds: decisions.Thresholds
) -> tuple[float, float]:
    """The weights shown, on the bin grid, widened to hold the thresholds."""
    if not bin_width > 0 or math.isinf(bin_width):
        raise ConfigError(f"bin_width must be a positive number, got {bin_width!r}")
    low, high = weight_range
    if not low < high:
        raise ConfigError(f"weight_range must be (low, high) with low < high, got {weight_range}")
    low = math.floor(min(low, thresholds.review, thresholds.auto_merge) / bin_width) * bin_width
    high = math.ceil(max(high, thresholds.review, thresholds.auto_merge) / bin_width) * bin_width
    return round(low, 6), round(high, 6)


def _bin_sql(bin_width: float, low: float, high: float, weight: str = "match_weight") -> str:
    # Weights below the window share the bin just under it, and above it the top bin: both
    # stay on the correct side of every threshold the window allows.
    w = float(bin_width)
    return f"round(least(greatest(floor({weight} / {w!r}) * {w!r}, {low - w!r}), {high!r}), 6)"


def _bin_labels(bins: pd.Series, bin_width: float, low: float, high: float) -> pd.Series:
    def label(b: float) -> str:
        if b < low:
            return f"below {low:g}"
        if b >= high:
            return f"{high:g} and above"
        return f"{b:g} to {b + bin_width:g}"

    return bins.map(label)


def _snap(value: float, bin_width: float) -> float:
    return round(round(value / bin_width) * bin_width, 6)


@dataclass
class _DecisionProfile:
    """Pairs counted by weight bin, band, final decision and label.

    ``band`` is the band the thresholds put a bar's pairs in; ``decision`` what the routing
    rules make of them in that band. Any (review, auto_merge) on the bin grid is then a
    sum over bars: no pair is touched again.
    """

    frame: pd.DataFrame  # weight_bin, band, decision, label, pairs
    bin_width: float

    def long_frame(self) -> pd.DataFrame:
        out = self.frame.copy()
        out["weight_end"] = out["weight_bin"] + self.bin_width
        return out

    def _in_band(self, review: float, auto_merge: float) -> pd.DataFrame:
        f = self.frame
        eps = self.bin_width * 1e-6
        review = min(review, auto_merge)
        band = np.where(
            f["weight_bin"] >= auto_merge - eps,
            "auto_merge",
            np.where(f["weight_bin"] >= review - eps, "review", "distinct"),
        )
        return f[f["band"].to_numpy() == band]

    def counts(self, review: float, auto_merge: float) -> dict[str, int]:
        got = self._in_band(review, auto_merge).groupby("decision")["pairs"].sum()
        return {d: int(got.get(d, 0)) for d in _DECISION_ORDER}

    def auto_merge_truth(self, review: float, auto_merge: float) -> tuple[int, int]:
        """(true positives, labelled predicted) of ``auto_merge``."""
        rows = self._in_band(review, auto_merge)
        rows = rows[(rows["decision"] == "auto_merge") & (rows["label"] >= 0)]
        return int(rows.loc[rows["label"] == MATCH, "pairs"].sum()), int(rows["pairs"].sum())


def _decision_profile(
    result: LinkResult, bin_width: float, low: float, high: float, truth: PairTruth | None
) -> _DecisionProfile:
    """Decide every pair once per band (thresholds forced, the result's rules applied) and
    count in DuckDB by bin, band, decision and label."""
    con, table = scored_pairs(result)
    policy = result.model.policy
    levels = decisions.agreement_levels(result.model.settings_)
    binned = _bin_sql(bin_width, low, high, weight="d.match_weight")
    join, label = truth.label_sql("d") if truth is not None else ("", f"{UNLABELLED}")
    source = f"(SELECT * EXCLUDE (decision, reason) FROM {table})"
    parts = []
    for band, forced in _FORCED_BANDS.items():
        decided = f"linkage_chart_band_{band}_{uuid.uuid4().hex[:8]}"
        decisions.decide(
            con,
            source,
            levels,
            decisions.DecisionPolicy(thresholds=forced, rules=policy.rules),
            decided,
            columns=["rid_l", "rid_r", "match_weight"],
        )
        try:
            counted = con.execute(
                f"SELECT {binned} AS weight_bin, "
                f"d.decision, {label} AS label, count(*) AS pairs "
                f"FROM {decided} d {join} GROUP BY ALL"
            ).df()
        finally:
            run(con, f"DROP TABLE IF EXISTS {decided}")
        counted.insert(1, "band", band)
        parts.append(counted)
    frame = pd.concat(parts, ignore_index=True)
    frame["weight_bin"] = frame["weight_bin"].astype(float)
    frame["pairs"] = frame["pairs"].astype(np.int64)
    frame["label"] = frame["label"].astype(np.int64)
    frame = frame.sort_values(["weight_bin", "band", "decision", "label"], ignore_index=True)
    return _DecisionProfile(frame=frame, bin_width=bin_width)


def _redecided_entities(result: LinkResult, review: float, auto_merge: float) -> np.ndarray:
    """Entity label per rid after re-deciding and re-clustering; the scratch tables of the
    re-decision are dropped."""
    redone = result.redecide(
        decisions.Thresholds(review=review, auto_merge=auto_merge), recluster=True
    )
    labels = np.asarray(redone.cluster_labels)
    run(result.connection, f"DROP TABLE IF EXISTS {redone.pairs_table}")
    return labels


def _accuracy_row(level: str, auto: float, tp: int, predicted: int, actual: int) -> dict:
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "level": level,
        "auto_merge_threshold": auto,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "predicted": predicted,
        "actual": actual,
    }
