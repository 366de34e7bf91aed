"""The scored pairs of a result as the charts read them, and labels of those pairs
(internal, shared by :mod:`~linkage.charts.thresholds` and
:mod:`~linkage.charts.splink_charts`).

Labels come as a truth column (the true cluster of every record, so every pair is judged)
or as a table of labelled pairs (only those are judged). Either way they are loaded into a
scratch DuckDB table keyed by ``rid``, so that pairs are labelled by a join in DuckDB and
never leave it; :meth:`PairTruth.drop` removes the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from linkage import _compat
from linkage._sql import run
from linkage.errors import InputError, ModelError
from linkage.evaluation import clustered_accuracy

if TYPE_CHECKING:
    import duckdb

    from linkage.run import LinkResult

__all__ = [
    "MATCH",
    "NON_MATCH",
    "UNLABELLED",
    "PairTruth",
    "pair_truth",
    "registered_view",
    "rid_lookup",
    "scored_pairs",
]

#: Label codes of a pair in the SQL the charts build.
MATCH, NON_MATCH, UNLABELLED = 1, 0, -1


def scored_pairs(result: LinkResult) -> tuple[duckdb.DuckDBPyConnection, str]:
    """The result's connection and the name of its table of scored, decided pairs.

    Raises:
        ModelError: the result has no scored pairs (a single record).
    """
    if result.connection is None or result.pairs_table is None or result.model is None:
        raise ModelError("this result has no scored pairs to chart (a single record?)")
    return result.connection, result.pairs_table


def rid_lookup(result: LinkResult) -> dict[str, int]:
    """record id -> rid, over all the inputs of the result."""
    records = result.records
    ids = records["record_id"].astype(str)
    if not ids.is_unique:
        raise InputError(
            "record ids repeat across the inputs of this result, so a record cannot be "
            "found by id alone"
        )
    return dict(zip(ids, records["rid"].astype(int)))


def pair_truth(
    result: LinkResult,
    truth_column: str | None,
    records: pd.DataFrame | None,
    labels: pd.DataFrame | None,
) -> PairTruth | None:
    """Labels as a DuckDB table (or ``None`` when none were given)."""
    if truth_column is None and labels is None:
        if records is not None:
            raise InputError("records= was given without truth_column=: name the truth column")
        return None
    if truth_column is not None and labels is not None:
        raise InputError("pass either truth_column= (with records=) or labels=, not both")
    con = result.connection
    suffix = uuid.uuid4().hex[:8]
    rid = rid_lookup(result)
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
        with registered_view(con, frame) as view:
            run(con, f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {view}")
        sizes = np.bincount(codes).astype(np.int64)
        return PairTruth(
            name=truth_column,
            con=con,
            actual=int((sizes * (sizes - 1) // 2).sum()),
            by_record=codes,
            pair_table=table,
        )
    id_l, id_r = id_pair_columns(
        labels, result.id_column, "labels", " and is_match (or clerical_match_score)"
    )
    if not ({"is_match", "clerical_match_score"} & set(labels.columns)):
        raise InputError(
            f"labels needs columns {id_l}, {id_r} and is_match (or "
            f"clerical_match_score); it has {list(labels.columns)}"
        )
    if "is_match" in labels.columns:
        is_match = labels["is_match"].astype(bool).to_numpy()
    else:
        is_match = (labels["clerical_match_score"].astype(float) >= 0.5).to_numpy()
    left = labels[id_l].astype(str).map(rid)
    right = labels[id_r].astype(str).map(rid)
    unknown = left.isna() | right.isna()
    if unknown.any():
        first = labels[unknown].iloc[0]
        raise InputError(
            f"{int(unknown.sum())} labelled pairs name records not in this result, e.g. "
            f"({first[id_l]!r}, {first[id_r]!r})"
        )
    frame = pd.DataFrame(
        {
            "lo": np.minimum(left, right).astype(np.int64),
            "hi": np.maximum(left, right).astype(np.int64),
            "is_match": is_match,
        }
    ).drop_duplicates(["lo", "hi"], keep="last")
    table = f"linkage_chart_labels_{suffix}"
    with registered_view(con, frame) as view:
        run(con, f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {view}")
    return PairTruth(
        name="labelled pairs", con=con, actual=int(frame["is_match"].sum()), pair_table=table
    )


@dataclass
class PairTruth:
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
            return join, f"CASE WHEN tl.truth = tr.truth THEN {MATCH} ELSE {NON_MATCH} END"
        join = (
            f"LEFT JOIN {self.pair_table} lab ON lab.lo = least({alias}.rid_l, {alias}.rid_r) "
            f"AND lab.hi = greatest({alias}.rid_l, {alias}.rid_r)"
        )
        label = (
            f"CASE WHEN lab.is_match IS NULL THEN {UNLABELLED} "
            f"WHEN lab.is_match THEN {MATCH} ELSE {NON_MATCH} END"
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


@contextmanager
def registered_view(con: Any, frame: pd.DataFrame) -> Iterator[str]:
    """A pandas frame registered as a DuckDB view for the duration of the block."""
    name = f"linkage_chart_view_{uuid.uuid4().hex[:8]}"
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def id_pair_columns(
    frame: pd.DataFrame, id_column: str, what: str, also: str = ""
) -> tuple[str, str]:
    """The two id columns of a table of pairs: ``<id column>_l, <id column>_r`` (as in
    ``result.pairs``), or the old ``record_id_l, record_id_r`` (deprecated: warns)."""
    new = (f"{id_column}_l", f"{id_column}_r")
    if set(new) <= set(frame.columns):
        return new
    old = ("record_id_l", "record_id_r")
    if set(old) <= set(frame.columns):
        _compat.warn_renamed("record_id_l/_r", f"{new[0]}/_r", "column")
        return old
    raise InputError(
        f"{what} needs the columns {new[0]}, {new[1]}{also} (as in result.pairs); it has "
        f"{list(frame.columns)}"
    )
