"""splink's own charts, exposed from a result and not redrawn.

* :func:`splink_match_weights`, :func:`splink_m_u_parameters`: the trained model;
* :func:`waterfall`: why one pair scored what it scored;
* :func:`splink_threshold_selection`: splink's accuracy analysis from labels (splink's
  match weight alone, without linkage's routing rules);
* :func:`splink_completeness`: completeness of the columns the comparisons read;
* :func:`comparison_viewer`, :func:`cluster_studio`: splink's HTML dashboards.

splink draws these from its own frames; linkage's tables reach it through
:mod:`linkage._splink`, the one door to splink's internals.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from linkage import _splink
from linkage._sql import quote, run
from linkage.charts._pairs import (
    id_pair_columns,
    pair_truth,
    registered_view,
    rid_lookup,
    scored_pairs,
)
from linkage.errors import InputError, ModelError

if TYPE_CHECKING:
    from linkage.run import LinkResult

__all__ = [
    "cluster_studio",
    "comparison_viewer",
    "splink_completeness",
    "splink_m_u_parameters",
    "splink_match_weights",
    "splink_threshold_selection",
    "waterfall",
]


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
        pairs: one pair of record ids, or a frame of pairs with ``<id column>_l`` and
            ``<id column>_r`` columns (rows of ``result.pairs`` or ``result.review``);
            the chart steps through them.
        limit: at most this many pairs are charted.

    Raises:
        InputError: a pair that was never scored (blocking did not propose it), or an
            unknown record id.
    """
    con, _ = scored_pairs(result)
    if isinstance(pairs, pd.DataFrame):
        id_l, id_r = id_pair_columns(pairs, result.id_column, "pairs (rows of result.pairs)")
        wanted = list(zip(pairs[id_l], pairs[id_r]))[:limit]
    else:
        wanted = [tuple(pairs)]
    rid = rid_lookup(result)
    rows = []
    with _predictions_with_values(result) as scored:
        for left, right in wanted:
            ids = [rid.get(str(left)), rid.get(str(right))]
            if None in ids:
                unknown = left if ids[0] is None else right
                raise InputError(f"record id {unknown!r} is not in this result")
            low, high = min(ids), max(ids)
            found = con.execute(
                f"SELECT * FROM {scored} "
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
        labels: labelled pairs (``<id column>_l``, ``<id column>_r``, ``is_match``).
        output_type: ``threshold_selection``, ``accuracy``, ``roc``, ``precision_recall``
            or ``table``.
    """
    con, table = scored_pairs(result)
    truth = pair_truth(result, truth_column, records, labels)
    if truth is None:
        raise InputError("splink's accuracy analysis needs truth_column= and records=, or labels=")
    name = f"linkage_chart_labels_{uuid.uuid4().hex[:8]}"
    try:
        run(con, f"CREATE OR REPLACE TABLE {name} AS {truth.labelled_pairs_sql(table)}")
        linker = _linker(result)
        labels_frame = _splink.table_as_splink_frame(linker, name, name)
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
        used = set().union(*_splink.comparison_input_columns(linker).values())
        table_columns = [
            row[0]
            for row in result.connection.execute(
                f"DESCRIBE {result._context.records_table}"
            ).fetchall()
        ]
        columns = [c for c in table_columns if c in used]
    records = _splink.table_as_splink_frame(
        linker, "linkage_records", result._context.records_table
    )
    return completeness_chart(records, cols=list(columns))


def comparison_viewer(
    result: LinkResult, path: str | os.PathLike, *, num_example_rows: int = 2
) -> Path:
    """splink's comparison viewer dashboard (every agreement pattern with examples),
    written to ``path`` as an offline HTML file."""
    scored_pairs(result)
    linker = _linker(result)
    out = Path(path)
    with _predictions_with_values(result, whole=True) as scored:
        predictions = _splink.table_as_splink_frame(linker, "__splink__df_predict", scored)
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
    con, _ = scored_pairs(result)
    linker = _linker(result)
    name = f"linkage_chart_entities_{uuid.uuid4().hex[:8]}"
    members = pd.DataFrame(
        {"rid": result.records["rid"].to_numpy(), "cluster_id": result.entities["entity_id"]}
    )
    with registered_view(con, members) as view:
        run(
            con,
            f"CREATE OR REPLACE TABLE {name} AS SELECT m.cluster_id, r.* "
            f"FROM {result._context.records_table} r JOIN {view} m USING (rid)",
        )
    clustered = _splink.table_as_splink_frame(linker, name, name)
    out = Path(path)
    try:
        with _predictions_with_values(result) as scored:
            predictions = _splink.table_as_splink_frame(linker, "__splink__df_predict", scored)
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


@contextlib.contextmanager
def _predictions_with_values(result: LinkResult, *, whole: bool = False) -> Iterator[str]:
    """The run's scored pairs with both records' values beside each pair (``<c>_l``,
    ``<c>_r``), as splink's own predict writes them and its charts read them: ``link``
    scores without them (:func:`linkage._splink.predict_scores`), so they are joined back
    from the records here. A view, for charts of a few pairs; ``whole``: a table, for
    splink's dashboards, which read every pair and their ``rowid``, dropped afterwards."""
    ctx = result._context
    columns = _splink.predicted_value_columns(_linker(result))
    values = ", ".join(
        f"{side}.{quote(c)} AS {quote(f'{c}_{side}')}" for c in columns for side in ("l", "r")
    )
    kind = "TABLE" if whole else "VIEW"
    name = f"linkage_chart_pairs_{uuid.uuid4().hex[:8]}"
    run(
        result.connection,
        f"CREATE TEMP {kind} {name} AS SELECT p.*, {values} "
        f"FROM {ctx.predictions_table} p JOIN {ctx.records_table} l ON l.rid = p.rid_l "
        f"JOIN {ctx.records_table} r ON r.rid = p.rid_r",
    )
    try:
        yield name
    finally:
        run(result.connection, f"DROP {kind} IF EXISTS {name}")


def _linker(result: LinkResult) -> Any:
    if result.linker is None:
        raise ModelError("this result has no splink linker (a single record?)")
    return result.linker
