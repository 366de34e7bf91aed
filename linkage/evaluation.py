"""Accuracy against ground truth: precision, recall and F1, pairwise and after clustering.

*Pairwise* scores the decisions: a pair counts as predicted a match when its decision is
``auto_merge``; every true pair counts, including those blocking never proposed.
*Clustered* scores the entities: every pair of records in one entity is a predicted match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.errors import InputError


@dataclass(frozen=True)
class Accuracy:
    """Counts and rates of one evaluation."""

    true_positives: int
    predicted: int
    actual: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.actual if self.actual else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        return f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}"


def _pairs_in_groups(*keys: np.ndarray) -> int:
    _, counts = np.unique(
        np.stack(keys, axis=1) if len(keys) > 1 else keys[0], axis=0, return_counts=True
    )
    return int((counts.astype(np.int64) * (counts - 1) // 2).sum())


def _truth_codes(truth: Sequence) -> np.ndarray:
    """Codes of the true clusters; a record without a true cluster is alone in its own
    (unlabelled records are not one customer)."""
    codes = pd.factorize(pd.Series(truth))[0]
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def clustered_accuracy(entity_ids: Sequence, truth: Sequence) -> Accuracy:
    """Pairs inside predicted entities against pairs inside true clusters (same order).
    A record without a true cluster (None, NaN) counts as alone in its own."""
    entity_codes = pd.factorize(pd.Series(entity_ids))[0]
    truth_codes = _truth_codes(truth)
    if len(entity_codes) != len(truth_codes):
        raise InputError("entity ids and truth must have one value per record")
    return Accuracy(
        true_positives=_pairs_in_groups(entity_codes, truth_codes),
        predicted=_pairs_in_groups(entity_codes),
        actual=_pairs_in_groups(truth_codes),
    )


def pairwise_accuracy(
    pairs_l: Sequence, pairs_r: Sequence, record_ids: Sequence, truth: Sequence
) -> Accuracy:
    """Predicted-match pairs (ids left and right) against all true pairs.

    Args:
        pairs_l, pairs_r: record ids of the pairs predicted to match.
        record_ids, truth: every record's id and its true cluster.
    """
    ids, truth_values = np.asarray(record_ids), np.asarray(truth)
    if len(ids) != len(truth_values):
        raise InputError(
            f"record ids and truth must have one value per record ({len(ids)} ids, "
            f"{len(truth_values)} truth values)"
        )
    codes = _truth_codes(truth_values)
    lookup = pd.Series(codes, index=pd.Index(ids))
    if not lookup.index.is_unique:
        raise InputError("record ids must be unique to evaluate against truth")
    pair_ids = pd.Index(np.concatenate([np.asarray(pairs_l), np.asarray(pairs_r)]))
    unknown = pair_ids[~pair_ids.isin(lookup.index)]
    if len(unknown):
        raise InputError(
            f"{len(unknown)} predicted pair id(s) are not among the record ids, e.g. "
            f"{list(unknown[:3])}: are ids text on one side and numbers on the other?"
        )
    left = lookup.reindex(np.asarray(pairs_l)).to_numpy()
    right = lookup.reindex(np.asarray(pairs_r)).to_numpy()
    truth_codes = codes
    return Accuracy(
        true_positives=int((left == right).sum()),
        predicted=len(left),
        actual=_pairs_in_groups(truth_codes),
    )


def evaluate(result, truth_column: str, records: pd.DataFrame) -> dict[str, Accuracy]:
    """Pairwise and clustered accuracy of a :class:`~linkage.LinkResult` (dedupe of one
    input) against ``records[truth_column]``, matched on the record id column."""
    id_column = [c for c in result.entities.columns if c != "entity_id"][-1]
    merged = result.entities.merge(
        records[[id_column, truth_column]], on=id_column, how="left", validate="one_to_one"
    )
    auto = result.pairs[result.pairs["decision"] == "auto_merge"]
    return {
        "pairwise": pairwise_accuracy(
            auto[f"{id_column}_l"], auto[f"{id_column}_r"], merged[id_column], merged[truth_column]
        ),
        "clustered": clustered_accuracy(merged["entity_id"], merged[truth_column]),
    }
