"""Charts for choosing thresholds: where true and false pairs separate, how many pairs a
person must review, why a pair scored what it scored, and what the data looked like.

Every chart takes a :class:`~linkage.LinkResult`; pairs stay in DuckDB and altair only ever
sees aggregated rows. The package is split by what a chart is for:

* :mod:`~linkage.charts.thresholds`, our own charts of the final decisions (routing rules
  included): :func:`match_weight_histogram`, :func:`threshold_explorer`,
  :func:`review_load_chart` / :func:`review_load`, :func:`accuracy_chart` /
  :func:`accuracy_by_threshold`, :func:`decisions_by_reason_chart`;
* :mod:`~linkage.charts.quality`: :func:`data_quality_chart` / :func:`data_quality`,
  completeness, validity and the problems standardization found, per column;
* :mod:`~linkage.charts.splink_charts`, splink's own charts exposed from a result and not
  redrawn: :func:`splink_match_weights`, :func:`splink_m_u_parameters`, :func:`waterfall`,
  :func:`splink_threshold_selection`, :func:`splink_completeness`,
  :func:`comparison_viewer`, :func:`cluster_studio`.

:func:`save` writes any of them as self-contained HTML (works offline: vega, vega-lite and
vega-embed inlined) or PNG / SVG; :func:`static` draws one as an SVG picture for a notebook
that must read offline and on GitHub. :func:`quality_report` (:mod:`~linkage.charts.report`)
is a whole data-quality page: duplicates, fields and channels, the worst values. HTML and
images need ``vl-convert-python`` (``pip install "linkage-crm[charts]"``).

    >>> from linkage import charts
    >>> charts.threshold_explorer(result, truth_column="true_id", records=leads)  # doctest: +SKIP
    >>> charts.save(charts.match_weight_histogram(result), "weights.html")  # doctest: +SKIP
"""

from __future__ import annotations

from linkage.charts._save import StaticChart, save, static
from linkage.charts.quality import data_quality, data_quality_chart
from linkage.charts.report import QualityReport, quality_report
from linkage.charts.splink_charts import (
    cluster_studio,
    comparison_viewer,
    splink_completeness,
    splink_m_u_parameters,
    splink_match_weights,
    splink_threshold_selection,
    waterfall,
)
from linkage.charts.thresholds import (
    DECISION_COLOURS,
    accuracy_by_threshold,
    accuracy_chart,
    decisions_by_reason_chart,
    match_weight_histogram,
    review_load,
    review_load_chart,
    threshold_explorer,
)

__all__ = [
    "DECISION_COLOURS",
    "QualityReport",
    "StaticChart",
    "accuracy_by_threshold",
    "accuracy_chart",
    "cluster_studio",
    "comparison_viewer",
    "data_quality",
    "data_quality_chart",
    "decisions_by_reason_chart",
    "match_weight_histogram",
    "review_load",
    "review_load_chart",
    "quality_report",
    "save",
    "splink_completeness",
    "splink_m_u_parameters",
    "splink_match_weights",
    "splink_threshold_selection",
    "static",
    "threshold_explorer",
    "waterfall",
]
