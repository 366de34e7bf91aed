"""Charts for choosing thresholds: where true and false pairs separate, how many pairs a
person must review, why a pair scored what it scored, and what the data looked like.

linkage decides with two match-weight thresholds (``review`` and ``auto_merge``) plus
routing rules, so every chart here counts the *final* decisions, rules included, not the
bands of the score alone. Pairs stay in DuckDB: match weights are binned and counted there
and altair only ever sees a few thousand aggregated rows, whatever the size of the result.

Our own charts:

* :func:`match_weight_histogram`: pairs by match weight, coloured by decision, with the
  thresholds drawn as rules;
* :func:`threshold_explorer`: two sliders move the thresholds; decision counts (and
  precision and recall of ``auto_merge`` with labels) follow;
* :func:`review_load_chart` / :func:`review_load`: pairs to review for each setting;
* :func:`accuracy_chart` / :func:`accuracy_by_threshold`: precision, recall and F1 against
  the auto-merge threshold, for pairs and for entities;
* :func:`decisions_by_reason_chart`: how many pairs each routing rule sent where;
* :func:`data_quality_chart` / :func:`data_quality`: completeness, validity and the problems
  standardization found, per column.

splink's own charts, exposed from a result and not redrawn: :func:`splink_match_weights`,
:func:`splink_m_u_parameters`, :func:`waterfall`, :func:`splink_threshold_selection`,
:func:`splink_completeness`, :func:`comparison_viewer`, :func:`cluster_studio`.

:func:`save` writes any of them as self-contained HTML (works offline: vega, vega-lite and
vega-embed inlined) or PNG / SVG. HTML and images need ``vl-convert-python``
(``pip install "linkage[charts]"``).

    >>> from linkage import charts
    >>> charts.threshold_explorer(result, truth_column="true_id", records=leads)  # doctest: +SKIP
    >>> charts.save(charts.match_weight_histogram(result), "weights.html")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np
import pandas as pd

from linkage import decisions
from linkage._sql import run
from linkage.errors import ConfigError, InputError, LinkageError, ModelError
from linkage.evaluation import clustered_accuracy

if TYPE_CHECKING:
    import duckdb

    from linkage.pipeline import LinkResult

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
_MATCH, _NON_MATCH, _UNLABELLED = 1, 0, -1
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
    con, table = _scored(result)
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
        labels: a table of labelled pairs: ``record_id_l``, ``record_id_r`` and ``is_match``
            (bool, or a 0-1 ``clerical_match_score``).
        thresholds: where the sliders start (default: the result's thresholds).
        bin_width: slider step and bar width, in match-weight units.
        weight_range: the weights the sliders cover.

    Raises:
        ModelError: the result has no scored pairs.
        InputError: labels that do not fit the result.
    """
    con, _ = _scored(result)
    start = thresholds or result.model.policy.thresholds
    low, high = _window(weight_range, bin_width, start)
    truth = _pair_truth(result, truth_column, records, labels)
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
            .transform_calculate(true_positive=f"datum.label === {_MATCH} ? datum.pairs : 0")
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
    con, _ = _scored(result)
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
        labels: labelled pairs (``record_id_l``, ``record_id_r``, ``is_match``).
        cluster_thresholds: auto-merge thresholds at which entities are re-clustered
            (default: five around the current one); ``[]`` for pairs only.

    Returns:
        columns ``level`` (``pairs`` / ``entities``), ``auto_merge_threshold``,
        ``precision``, ``recall``, ``f1``, ``true_positives``, ``predicted``, ``actual``.

    Raises:
        InputError: no labels given, or labels that do not fit the result.
    """
    con, _ = _scored(result)
    current = result.model.policy.thresholds
    low, high = _window(weight_range, bin_width, current)
    truth = _pair_truth(result, truth_column, records, labels)
    if truth is None:
        raise InputError(
            "accuracy needs labels: pass truth_column= with records=, or labels= (a table of "
            "record_id_l, record_id_r, is_match)"
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
    con, table = _scored(result)
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


# -- 6. data quality ---------------------------------------------------------------------------


def data_quality(result: LinkResult) -> pd.DataFrame:
    """Completeness and validity per column, from the records and the problems found.

    Returns:
        one row per column and status: ``column`` (the role, with the input column
        name), ``status`` (``valid``, ``missing`` or ``invalid: <reason>``), ``records``,
        ``share`` of all records; plus ``completeness`` and ``validity`` (valid share of
        the present values) of the column.
    """
    records = result.records
    if records is None:
        raise ModelError("this result carries no records to assess")
    total = len(records)
    problems = result.problems
    names = _input_column_names(result)
    rows = []
    for role in records.columns:
        if role in ("rid", "source_dataset", "record_id"):
            continue
        values = records[role]
        text = values.astype("string").str.strip()
        present = int((values.notna() & text.fillna("").ne("")).sum())
        found = problems[problems["role"] == role] if len(problems) else problems
        by_reason = found.groupby("reason").size() if len(found) else pd.Series(dtype=int)
        invalid = int(min(by_reason.sum(), present)) if len(by_reason) else 0
        column = f"{role} ({names[role]})" if names.get(role, role) != role else role
        completeness = present / total if total else 0.0
        validity = (present - invalid) / present if present else 1.0
        counts = {"valid": present - invalid, "missing": total - present}
        counts.update({f"invalid: {r}": int(n) for r, n in by_reason.items()})
        for status, n in counts.items():
            rows.append(
                {
                    "column": column,
                    "status": status,
                    "records": n,
                    "share": n / total if total else 0.0,
                    "completeness": completeness,
                    "validity": validity,
                }
            )
    return pd.DataFrame(rows)


def data_quality_chart(result: LinkResult, *, width: int = 520) -> alt.Chart:
    """Per column, the share of records with a valid value, a missing one, and each
    problem standardization found (an invalid value is never used for matching)."""
    table = data_quality(result)
    reasons = sorted(s for s in table["status"].unique() if s.startswith("invalid"))
    palette = ["#e45756", "#f58518", "#b279a2", "#ff9da6", "#9d755d", "#eeca3b", "#d62728"]
    domain = ["valid", "missing", *reasons]
    colours = ["#54a24b", "#d8d8d8", *[palette[i % len(palette)] for i in range(len(reasons))]]
    order = (
        table[table["status"] == "valid"].sort_values("share", ascending=False)["column"].tolist()
    )
    table["status_rank"] = table["status"].map({s: i for i, s in enumerate(domain)})
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            y=alt.Y("column:N", title="column (role)", sort=order),
            x=alt.X("share:Q", title="share of records", axis=alt.Axis(format="%"), stack="zero"),
            color=alt.Color(
                "status:N", title="value", scale=alt.Scale(domain=domain, range=colours)
            ),
            order=alt.Order("status_rank:Q"),
            tooltip=[
                alt.Tooltip("column:N"),
                alt.Tooltip("status:N", title="value"),
                alt.Tooltip("records:Q", format=","),
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("completeness:Q", format=".1%"),
                alt.Tooltip("validity:Q", title="validity of present values", format=".1%"),
            ],
        )
        .properties(
            width=width,
            height=22 * table["column"].nunique(),
            title=alt.Title(
                "Data quality per column",
                subtitle=f"{len(result.records):,} records: valid, missing, or invalid "
                "(found by standardization, not used for matching)",
            ),
        )
    )


def _input_column_names(result: LinkResult) -> dict[str, str]:
    mapping = next(iter(result.roles.values()), None)
    return dict(mapping.roles) if mapping is not None else {}


# -- splink's own charts -------------------------------------------------------------------------


def splink_match_weights(result: LinkResult) -> Any:
    """splink's chart of the match weight of every comparison level (and the prior)."""
    return _linker(result).visualisations.match_weights_chart()


def splink_m_u_parameters(result: LinkResult) -> Any:
    """splink's chart of the m and u probability of every comparison level."""
    return _linker(result).visualisations.m_u_parameters_chart()


def waterfall(
    result: LinkResult,
    pairs: pd.DataFrame | tuple[Any, Any],
    *,
    filter_nulls: bool = True,
    limit: int = 50,
) -> Any:
    """splink's waterfall chart: how each comparison added to one pair's match weight.

    Args:
        pairs: one pair as ``(record_id_l, record_id_r)``, or a frame of pairs with those
            columns (rows of ``result.pairs`` or ``result.review``); the chart steps
            through them.
        limit: at most this many pairs are charted.

    Raises:
        InputError: a pair that was never scored (blocking did not propose it), or an
            unknown record id.
    """
    con, _ = _scored(result)
    if isinstance(pairs, pd.DataFrame):
        missing = {"record_id_l", "record_id_r"} - set(pairs.columns)
        if missing:
            raise InputError(
                f"pairs needs columns record_id_l and record_id_r (missing {sorted(missing)}); "
                "pass rows of result.pairs or result.review"
            )
        wanted = list(zip(pairs["record_id_l"], pairs["record_id_r"]))[:limit]
    else:
        wanted = [tuple(pairs)]
    rid = _rid_lookup(result)
    rows = []
    for left, right in wanted:
        ids = [rid.get(str(left)), rid.get(str(right))]
        if None in ids:
            unknown = left if ids[0] is None else right
            raise InputError(f"record id {unknown!r} is not in this result")
        low, high = min(ids), max(ids)
        found = con.execute(
            f"SELECT * FROM {result._context.predictions_table} "
            "WHERE least(rid_l, rid_r) = ? AND greatest(rid_l, rid_r) = ?",
            [low, high],
        ).df()
        if found.empty:
            raise InputError(
                f"the pair ({left!r}, {right!r}) was never scored: blocking did not propose it"
            )
        rows.append(found.iloc[0])
    frame = pd.DataFrame(rows)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return _linker(result).visualisations.waterfall_chart(records, filter_nulls=filter_nulls)


def splink_threshold_selection(
    result: LinkResult,
    *,
    truth_column: str | None = None,
    records: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    output_type: str = "threshold_selection",
    add_metrics: Sequence[str] = ("f1",),
) -> Any:
    """splink's accuracy analysis from labels (threshold selection tool by default).

    splink scores every labelled pair itself and thresholds splink's match weight alone:
    linkage's routing rules are not applied (see :func:`accuracy_chart` for those).

    Args:
        truth_column, records: the true cluster of each record (every same-cluster pair is
            labelled a match, every scored pair across clusters a non-match); or
        labels: labelled pairs (``record_id_l``, ``record_id_r``, ``is_match``).
        output_type: ``threshold_selection``, ``accuracy``, ``roc``, ``precision_recall``
            or ``table``.
    """
    con, table = _scored(result)
    truth = _pair_truth(result, truth_column, records, labels)
    if truth is None:
        raise InputError("splink's accuracy analysis needs truth_column= and records=, or labels=")
    name = f"linkage_chart_labels_{uuid.uuid4().hex[:8]}"
    try:
        run(con, f"CREATE OR REPLACE TABLE {name} AS {truth.labelled_pairs_sql(table)}")
        linker = _linker(result)
        labels_frame = linker._db_api.table_to_splink_dataframe(name, name)
        return linker.evaluation.accuracy_analysis_from_labels_table(
            labels_frame, output_type=output_type, add_metrics=list(add_metrics)
        )
    finally:
        truth.drop()
        run(con, f"DROP TABLE IF EXISTS {name}")


def splink_completeness(result: LinkResult, columns: Sequence[str] | None = None) -> Any:
    """splink's completeness chart of the standardized columns the comparisons read."""
    from splink.exploratory import completeness_chart

    linker = _linker(result)
    if columns is None:
        used = set()
        for comparison in linker._settings_obj.comparisons:
            used |= {c.input_name for c in comparison._input_columns_used_by_case_statement}
        table_columns = [
            row[0]
            for row in result.connection.execute(
                f"DESCRIBE {result._context.records_table}"
            ).fetchall()
        ]
        columns = [c for c in table_columns if c in used]
    records = linker._db_api.table_to_splink_dataframe(
        "linkage_records", result._context.records_table
    )
    return completeness_chart(records, cols=list(columns))


def comparison_viewer(
    result: LinkResult, path: str | os.PathLike, *, num_example_rows: int = 2
) -> Path:
    """splink's comparison viewer dashboard (every agreement pattern with examples),
    written to ``path`` as an offline HTML file."""
    _scored(result)
    linker = _linker(result)
    predictions = linker._db_api.table_to_splink_dataframe(
        "__splink__df_predict", result._context.predictions_table
    )
    out = Path(path)
    linker.visualisations.comparison_viewer_dashboard(
        predictions, str(out), overwrite=True, num_example_rows=num_example_rows
    )
    return out


def cluster_studio(
    result: LinkResult,
    path: str | os.PathLike,
    *,
    entity_ids: Sequence[str] | None = None,
    sample_size: int = 10,
    sampling_method: str = "by_cluster_size",
) -> Path:
    """splink's cluster studio for linkage's entities, written to ``path`` (offline HTML).

    Args:
        entity_ids: the entities to show (values of ``result.entities["entity_id"]``);
            default: ``sample_size`` of them chosen by ``sampling_method`` (``random``,
            ``by_cluster_size`` or ``lowest_density_clusters_by_size``).
    """
    con, _ = _scored(result)
    linker = _linker(result)
    name = f"linkage_chart_entities_{uuid.uuid4().hex[:8]}"
    members = pd.DataFrame(
        {"rid": result.records["rid"].to_numpy(), "cluster_id": result.entities["entity_id"]}
    )
    with _registered(con, members) as view:
        run(
            con,
            f"CREATE OR REPLACE TABLE {name} AS SELECT m.cluster_id, r.* "
            f"FROM {result._context.records_table} r JOIN {view} m USING (rid)",
        )
    predictions = linker._db_api.table_to_splink_dataframe(
        "__splink__df_predict", result._context.predictions_table
    )
    clustered = linker._db_api.table_to_splink_dataframe(name, name)
    out = Path(path)
    try:
        linker.visualisations.cluster_studio_dashboard(
            predictions,
            clustered,
            str(out),
            sampling_method=sampling_method,
            sample_size=sample_size,
            cluster_ids=list(entity_ids) if entity_ids is not None else None,
            overwrite=True,
        )
    finally:
        run(con, f"DROP TABLE IF EXISTS {name}")
    return out


# -- saving -------------------------------------------------------------------------------------


def save(chart: Any, path: str | os.PathLike, *, scale_factor: float = 2.0) -> Path:
    """Write a chart (ours or splink's) to ``path``: ``.html`` (self-contained, works
    offline: vega, vega-lite and vega-embed are inlined), ``.png``, ``.svg`` or ``.json``.

    Raises:
        ConfigError: an unknown file type.
        LinkageError: ``vl-convert-python`` is missing (``pip install "linkage[charts]"``),
            or the HTML would still load a script from the network.
    """
    out = Path(path)
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("html", "png", "svg", "json"):
        raise ConfigError(f"cannot save a chart as {out.name!r}: use .html, .png, .svg or .json")
    if kind != "json":
        _require_vl_convert()
    if not isinstance(chart, alt.TopLevelMixin):
        if kind == "html" and hasattr(chart, "to_html"):
            out.write_text(chart.to_html(inline=True), encoding="utf-8")
            _check_offline(out)
            return out
        with warnings.catch_warnings():
            # splink's specs repeat a selection altair then merges: harmless, and not ours.
            warnings.simplefilter("ignore", UserWarning)
            chart = chart.altair_chart  # a splink chart: its altair form for images and JSON
    if kind == "html":
        chart.save(str(out), inline=True, embed_options={"renderer": "svg", "actions": False})
        _check_offline(out)
    elif kind == "json":
        chart.save(str(out))
    else:
        chart.save(str(out), scale_factor=scale_factor if kind == "png" else 1.0)
    return out


def _require_vl_convert() -> None:
    try:
        import vl_convert  # noqa: F401
    except ImportError as exc:
        raise LinkageError(
            'saving charts as HTML or images needs vl-convert-python: pip install "linkage[charts]"'
        ) from exc


def _check_offline(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lowered = text.lower()
    if '<script src="http' in lowered or "<script src='http" in lowered:
        raise LinkageError(f"{path} would load a script from the network; it must not")


# -- internals: scored pairs, bins, labels --------------------------------------------------------


def _scored(result: LinkResult) -> tuple[duckdb.DuckDBPyConnection, str]:
    if result.connection is None or result.pairs_table is None or result.model is None:
        raise ModelError("this result has no scored pairs to chart (a single record?)")
    return result.connection, result.pairs_table


def _linker(result: LinkResult) -> Any:
    if result.linker is None:
        raise ModelError("this result has no splink linker (a single record?)")
    return result.linker


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
class _PairTruth:
    """Labels of pairs, as a SQL table keyed by ``rid``: from a truth column (every pair
    judged) or a labels table (only labelled pairs judged)."""

    name: str
    con: Any
    actual: int
    by_record: np.ndarray | None = None  # truth code per rid (truth column)
    pair_table: str | None = None  # lo, hi, is_match (labels table)

    def label_sql(self, alias: str) -> tuple[str, str]:
        """(join clause, label expression) for pairs aliased ``alias``."""
        if self.by_record is not None:
            join = (
                f"JOIN {self.pair_table} tl ON tl.rid = {alias}.rid_l "
                f"JOIN {self.pair_table} tr ON tr.rid = {alias}.rid_r"
            )
            return join, f"CASE WHEN tl.truth = tr.truth THEN {_MATCH} ELSE {_NON_MATCH} END"
        join = (
            f"LEFT JOIN {self.pair_table} lab ON lab.lo = least({alias}.rid_l, {alias}.rid_r) "
            f"AND lab.hi = greatest({alias}.rid_l, {alias}.rid_r)"
        )
        label = (
            f"CASE WHEN lab.is_match IS NULL THEN {_UNLABELLED} "
            f"WHEN lab.is_match THEN {_MATCH} ELSE {_NON_MATCH} END"
        )
        return join, label

    def clustered(self, entity_of_rid: np.ndarray) -> tuple[int, int, int]:
        """(true positives, predicted, actual) of entities, as pairs."""
        if self.by_record is not None:
            acc = clustered_accuracy(entity_of_rid, self.by_record)
            return acc.true_positives, acc.predicted, acc.actual
        pairs = self.con.execute(f"SELECT lo, hi, is_match FROM {self.pair_table}").fetchnumpy()
        together = entity_of_rid[pairs["lo"]] == entity_of_rid[pairs["hi"]]
        is_match = pairs["is_match"].astype(bool)
        return int((together & is_match).sum()), int(together.sum()), int(is_match.sum())

    def drop(self) -> None:
        """Drop the scratch table behind these labels."""
        run(self.con, f"DROP TABLE IF EXISTS {self.pair_table}")

    def labelled_pairs_sql(self, pairs_table: str) -> str:
        """SELECT of ``rid_l, rid_r, clerical_match_score`` for splink's accuracy tools."""
        if self.by_record is None:
            return (
                "SELECT lo AS rid_l, hi AS rid_r, CASE WHEN is_match THEN 1.0 ELSE 0.0 END "
                f"AS clerical_match_score FROM {self.pair_table}"
            )
        return (
            f"SELECT l.rid AS rid_l, r.rid AS rid_r, 1.0 AS clerical_match_score "
            f"FROM {self.pair_table} l JOIN {self.pair_table} r "
            "ON l.truth = r.truth AND l.rid < r.rid "
            "UNION ALL "
            "SELECT least(p.rid_l, p.rid_r), greatest(p.rid_l, p.rid_r), 0.0 "
            f"FROM {pairs_table} p JOIN {self.pair_table} tl ON tl.rid = p.rid_l "
            f"JOIN {self.pair_table} tr ON tr.rid = p.rid_r WHERE tl.truth <> tr.truth"
        )


def _rid_lookup(result: LinkResult) -> dict[str, int]:
    records = result.records
    ids = records["record_id"].astype(str)
    if not ids.is_unique:
        raise InputError(
            "record ids repeat across the inputs of this result, so a record cannot be "
            "found by id alone"
        )
    return dict(zip(ids, records["rid"].astype(int)))


def _pair_truth(
    result: LinkResult,
    truth_column: str | None,
    records: pd.DataFrame | None,
    labels: pd.DataFrame | None,
) -> _PairTruth | None:
    """Labels as a DuckDB table (or ``None`` when none were given)."""
    if truth_column is None and labels is None:
        if records is not None:
            raise InputError("records= was given without truth_column=: name the truth column")
        return None
    if truth_column is not None and labels is not None:
        raise InputError("pass either truth_column= (with records=) or labels=, not both")
    con = result.connection
    suffix = uuid.uuid4().hex[:8]
    rid = _rid_lookup(result)
    if truth_column is not None:
        if records is None:
            raise InputError(f"truth_column={truth_column!r} needs records= (the input frame)")
        id_column = [c for c in result.entities.columns if c != "entity_id"][-1]
        for column in (id_column, truth_column):
            if column not in records.columns:
                raise InputError(
                    f"records has no column {column!r}; it needs the id column {id_column!r} "
                    f"and the truth column {truth_column!r}"
                )
        truth = pd.Series(records[truth_column].to_numpy(), index=records[id_column].astype(str))
        if not truth.index.is_unique:
            raise InputError(f"records[{id_column!r}] repeats ids; truth needs one row per id")
        by_rid = truth.reindex(result.records["record_id"].astype(str).to_numpy())
        if by_rid.isna().any():
            raise InputError(
                f"{int(by_rid.isna().sum())} records have no {truth_column!r} (missing from "
                "records, or null): every record needs its true cluster"
            )
        codes = pd.factorize(by_rid)[0].astype(np.int64)
        table = f"linkage_chart_truth_{suffix}"
        frame = pd.DataFrame({"rid": result.records["rid"].to_numpy(), "truth": codes})
        with _registered(con, frame) as view:
            run(con, f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {view}")
        sizes = np.bincount(codes).astype(np.int64)
        return _PairTruth(
            name=truth_column,
            con=con,
            actual=int((sizes * (sizes - 1) // 2).sum()),
            by_record=codes,
            pair_table=table,
        )
    missing = {"record_id_l", "record_id_r"} - set(labels.columns)
    if missing or not ({"is_match", "clerical_match_score"} & set(labels.columns)):
        raise InputError(
            "labels needs columns record_id_l, record_id_r and is_match (or "
            f"clerical_match_score); it has {list(labels.columns)}"
        )
    if "is_match" in labels.columns:
        is_match = labels["is_match"].astype(bool).to_numpy()
    else:
        is_match = (labels["clerical_match_score"].astype(float) >= 0.5).to_numpy()
    left = labels["record_id_l"].astype(str).map(rid)
    right = labels["record_id_r"].astype(str).map(rid)
    unknown = left.isna() | right.isna()
    if unknown.any():
        first = labels[unknown].iloc[0]
        raise InputError(
            f"{int(unknown.sum())} labelled pairs name records not in this result, e.g. "
            f"({first['record_id_l']!r}, {first['record_id_r']!r})"
        )
    frame = pd.DataFrame(
        {
            "lo": np.minimum(left, right).astype(np.int64),
            "hi": np.maximum(left, right).astype(np.int64),
            "is_match": is_match,
        }
    ).drop_duplicates(["lo", "hi"], keep="last")
    table = f"linkage_chart_labels_{suffix}"
    with _registered(con, frame) as view:
        run(con, f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {view}")
    return _PairTruth(
        name="labelled pairs", con=con, actual=int(frame["is_match"].sum()), pair_table=table
    )


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
        return int(rows.loc[rows["label"] == _MATCH, "pairs"].sum()), int(rows["pairs"].sum())


def _decision_profile(
    result: LinkResult, bin_width: float, low: float, high: float, truth: _PairTruth | None
) -> _DecisionProfile:
    """Decide every pair once per band (thresholds forced, the result's rules applied) and
    count in DuckDB by bin, band, decision and label."""
    con, table = _scored(result)
    policy = result.model.policy
    levels = decisions.agreement_levels(result.model.settings_)
    binned = _bin_sql(bin_width, low, high, weight="d.match_weight")
    join, label = truth.label_sql("d") if truth is not None else ("", f"{_UNLABELLED}")
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
    labels = np.asarray(redone.labels)
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


@contextmanager
def _registered(con: Any, frame: pd.DataFrame) -> Iterator[str]:
    name = f"linkage_chart_view_{uuid.uuid4().hex[:8]}"
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)
