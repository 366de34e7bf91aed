"""Accuracy against ground truth: pairwise and clustered precision, recall and F1.

The small cases are worked out by hand (the arithmetic is in the comments), a property test
checks the pair counting against brute-force enumeration, and ``evaluate`` is checked
against an independent count on the shipped sample.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage import InputError
from linkage.evaluation import Accuracy, clustered_accuracy, evaluate, pairwise_accuracy

# Six CRM leads of four real customers: 王芳 sent three leads, 李静 two, 赵磊 one.
RECORDS = ["L1", "L2", "L3", "L4", "L5", "L6"]
TRUTH = ["wang", "wang", "wang", "li", "li", "zhao"]


# -- clustered accuracy ---------------------------------------------------------------------


def test_clustered_counts_pairs_inside_entities_by_hand() -> None:
    # Predicted entities: {L1, L2} {L3, L4, L5} {L6}.
    entities = ["E1", "E1", "E2", "E2", "E2", "E3"]
    acc = clustered_accuracy(entities, TRUTH)
    # predicted pairs: E1 gives 1 (L1-L2), E2 gives 3 (L3-L4, L3-L5, L4-L5)      -> 4
    # actual pairs: wang gives 3 (L1-L2, L1-L3, L2-L3), li gives 1 (L4-L5)        -> 4
    # true positives: L1-L2 (both wang) and L4-L5 (both li); L3-L4, L3-L5 are not -> 2
    assert (acc.true_positives, acc.predicted, acc.actual) == (2, 4, 4)
    assert acc.precision == pytest.approx(2 / 4)
    assert acc.recall == pytest.approx(2 / 4)
    assert acc.f1 == pytest.approx(0.5)  # 2 * 0.5 * 0.5 / (0.5 + 0.5)


def test_clustered_over_merging_costs_precision_not_recall() -> None:
    # Everyone in one entity: 6 records -> 15 predicted pairs; the 4 true pairs are all in it.
    acc = clustered_accuracy(["E"] * 6, TRUTH)
    assert (acc.true_positives, acc.predicted, acc.actual) == (4, 15, 4)
    assert acc.recall == 1.0
    assert acc.precision == pytest.approx(4 / 15)
    assert acc.f1 == pytest.approx(2 * (4 / 15) / (4 / 15 + 1))  # = 8/19


def test_clustered_entity_labels_are_only_names() -> None:
    # Same grouping under other labels (ints, other strings): same answer.
    by_name = clustered_accuracy(["a", "a", "a", "b", "b", "c"], TRUTH)
    by_int = clustered_accuracy([7, 7, 7, 3, 3, 9], [0, 0, 0, 1, 1, 2])
    assert by_name == by_int == Accuracy(true_positives=4, predicted=4, actual=4)
    assert by_name.f1 == 1.0


def test_singletons_only() -> None:
    # Nothing linked and nobody duplicated: no pair predicted, no pair to find. Both rates
    # are 1.0 by convention (no mistake is possible), so the F1 is 1.0 too.
    acc = clustered_accuracy(["E1", "E2", "E3"], ["p1", "p2", "p3"])
    assert (acc.true_positives, acc.predicted, acc.actual) == (0, 0, 0)
    assert (acc.precision, acc.recall, acc.f1) == (1.0, 1.0, 1.0)
    # Nothing linked although L1..L3 are one customer: recall 0 of 3 pairs, F1 0.
    missed = clustered_accuracy(["E1", "E2", "E3"], ["p", "p", "p"])
    assert (missed.predicted, missed.actual) == (0, 3)
    assert (missed.precision, missed.recall, missed.f1) == (1.0, 0.0, 0.0)


def test_clustered_needs_one_value_per_record() -> None:
    with pytest.raises(InputError, match="one value per record"):
        clustered_accuracy(["E1", "E1", "E2"], TRUTH)


def test_records_without_truth_are_not_one_customer() -> None:
    entities = ["E1", "E1", "E2", "E3"]
    truth = ["wang", "wang", None, None]
    try:
        acc = clustered_accuracy(entities, truth)
    except InputError:
        return  # refusing is a fine answer too
    assert acc.actual == 1  # only L1-L2 is a known true pair


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4)),
        min_size=0,
        max_size=12,
    )
)
def test_clustered_matches_brute_force_enumeration(labels) -> None:
    entities = [e for e, _ in labels]
    truth = [t for _, t in labels]
    pairs = list(itertools.combinations(range(len(labels)), 2))
    predicted = sum(entities[i] == entities[j] for i, j in pairs)
    actual = sum(truth[i] == truth[j] for i, j in pairs)
    both = sum(entities[i] == entities[j] and truth[i] == truth[j] for i, j in pairs)
    acc = clustered_accuracy(entities, truth)
    assert (acc.true_positives, acc.predicted, acc.actual) == (both, predicted, actual)
    assert 0.0 <= acc.f1 <= 1.0


# -- pairwise accuracy ----------------------------------------------------------------------


def test_pairwise_scores_the_predicted_pairs_by_hand() -> None:
    # Predicted links: L1-L2 (right), L2-L3 (right), L3-L4 (wrong: wang vs li).
    acc = pairwise_accuracy(["L1", "L2", "L3"], ["L2", "L3", "L4"], RECORDS, TRUTH)
    # true positives 2 of 3 predicted; actual pairs 3 (wang) + 1 (li) = 4, of which 2 found
    assert (acc.true_positives, acc.predicted, acc.actual) == (2, 3, 4)
    assert acc.precision == pytest.approx(2 / 3)
    assert acc.recall == pytest.approx(2 / 4)
    assert acc.f1 == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))  # = 4/7


def test_pairwise_recall_counts_true_pairs_never_proposed() -> None:
    # Only L4-L5 predicted: precision 1, but blocking never proposed the three wang pairs,
    # and they still count: recall 1 of 4.
    acc = pairwise_accuracy(["L5"], ["L4"], RECORDS, TRUTH)  # either order
    assert (acc.true_positives, acc.predicted, acc.actual) == (1, 1, 4)
    assert (acc.precision, acc.recall) == (1.0, 0.25)
    assert acc.f1 == pytest.approx(0.4)  # 2 * 1 * 0.25 / 1.25


def test_pairwise_with_no_predicted_links() -> None:
    acc = pairwise_accuracy([], [], RECORDS, TRUTH)
    assert (acc.true_positives, acc.predicted, acc.actual) == (0, 0, 4)
    assert (acc.precision, acc.recall, acc.f1) == (1.0, 0.0, 0.0)
    assert str(acc) == "precision 1.0000  recall 0.0000  F1 0.0000"


def test_pairwise_needs_unique_record_ids() -> None:
    with pytest.raises(InputError, match="unique"):
        pairwise_accuracy(["L1"], ["L2"], ["L1", "L1", "L2"], ["wang", "wang", "li"])


def test_pairwise_needs_one_truth_per_record() -> None:
    with pytest.raises(InputError):
        pairwise_accuracy(["L1"], ["L2"], RECORDS, TRUTH[:-1])


def test_pairwise_refuses_ids_it_does_not_know() -> None:
    with pytest.raises(InputError):
        # the same records, ids as numbers in the pairs and as text in the truth
        pairwise_accuracy([1], [2], ["1", "2", "3"], ["wang", "wang", "li"])


def test_zero_rates_give_zero_f1_not_a_division_error() -> None:
    acc = Accuracy(true_positives=0, predicted=3, actual=2)
    assert (acc.precision, acc.recall, acc.f1) == (0.0, 0.0, 0.0)


# -- evaluate() on a linked result ---------------------------------------------------------


def test_evaluate_agrees_with_an_independent_count(sample, sample_result) -> None:
    scores = evaluate(sample_result, "true_person_id", sample)
    truth = dict(zip(sample["lead_id"], sample["true_person_id"]))
    n_pairs = lambda sizes: int((sizes * (sizes - 1) // 2).sum())  # noqa: E731

    # clustered: pairs within entities, within true people, within both
    entities = sample_result.entities.assign(truth=lambda f: f["lead_id"].map(truth))
    clustered = scores["clustered"]
    assert clustered.predicted == n_pairs(entities["entity_id"].value_counts())
    assert clustered.actual == n_pairs(sample["true_person_id"].value_counts())
    assert clustered.true_positives == n_pairs(entities.groupby(["entity_id", "truth"]).size())

    # pairwise: every auto_merge pair is a prediction, right when both share a true person
    pairs = sample_result.pairs
    auto = pairs[pairs["decision"] == "auto_merge"]
    right = (auto["lead_id_l"].map(truth) == auto["lead_id_r"].map(truth)).sum()
    pairwise = scores["pairwise"]
    assert pairwise.predicted == len(auto) > 0
    assert pairwise.true_positives == right
    assert pairwise.actual == clustered.actual
    # a useful result on the sample: most predictions right, most duplicates found
    assert pairwise.precision > 0.9 and clustered.recall > 0.8
