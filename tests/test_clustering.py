"""Constrained clustering: strong links merge, a keep-apart beats any chain."""

from __future__ import annotations

import numpy as np

from linkage.clustering import connected_components, constrained_clusters


def _arr(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_weak_chain_does_not_glue_two_people() -> None:
    # A(0)~B(1) strong, B(1)~C(2) weaker, but A and C disagree: C stays apart.
    labels, refused = constrained_clusters(
        3, _arr(0, 1), _arr(1, 2), np.array([20.0, 8.0]), _arr(0), _arr(2)
    )
    assert labels.tolist() == [0, 0, 2]
    assert refused == 1
    # connected components would have glued them
    assert connected_components(3, _arr(0, 1), _arr(1, 2)).tolist() == [0, 0, 0]


def test_the_strongest_link_wins_the_contested_record() -> None:
    # B(1) links to A(0) weakly and to C(2) strongly; A and C are kept apart.
    labels, _ = constrained_clusters(
        3, _arr(0, 1), _arr(1, 2), np.array([5.0, 15.0]), _arr(0), _arr(2)
    )
    assert labels.tolist() == [0, 1, 1]


def test_without_keep_apart_it_equals_connected_components() -> None:
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, 200, 300), rng.integers(0, 200, 300)
    labels, refused = constrained_clusters(200, left, right, rng.random(300), _arr(), _arr())
    assert refused == 0
    assert labels.tolist() == connected_components(200, left, right).tolist()


def test_labels_are_the_lowest_member_and_every_node_appears() -> None:
    labels, _ = constrained_clusters(
        5, _arr(4, 3), _arr(3, 1), np.array([1.0, 1.0]), _arr(), _arr()
    )
    assert labels.tolist() == [0, 1, 2, 1, 1]


def test_cluster_links_reports_the_links_that_built_each_cluster() -> None:
    from linkage.clustering import cluster_links

    outcome = cluster_links(
        4, _arr(0, 1, 0, 2), _arr(1, 2, 2, 3), np.array([9.0, 8.0, 7.0, 1.0]), _arr(), _arr()
    )
    assert outcome.labels.tolist() == [0, 0, 0, 0]
    assert outcome.accepted.tolist() == [True, True, False, True]  # 0-2 was already joined
    assert not outcome.refused.any()


def test_a_reviewers_keep_apart_beats_any_chain_and_is_flagged() -> None:
    from linkage.clustering import cluster_links

    # 0~1 and 1~2 are strong, but a reviewer kept 0 and 2 apart; 2~3 is weak.
    outcome = cluster_links(
        4,
        _arr(0, 1, 2),
        _arr(1, 2, 3),
        np.array([np.inf, 20.0, 1.0]),
        _arr(),
        _arr(),
        _arr(0),
        _arr(2),
    )
    assert outcome.labels[0] == outcome.labels[1] != outcome.labels[2]
    assert outcome.labels[2] == outcome.labels[3]
    assert outcome.refused.tolist() == [False, True, False]
    assert outcome.refused_by_hard.tolist() == [False, True, False]


def test_small_graphs_get_the_components_scipy_gives(monkeypatch) -> None:
    # Graphs below the size scipy takes over are labelled in numpy: the same labels on
    # chains in any order, stars, cycles, self-links, repeated links and lone nodes.
    import linkage.clustering as clustering

    rng = np.random.default_rng(3)
    graphs = [(0, np.array([], dtype=np.int64), np.array([], dtype=np.int64))]
    graphs.append((5, np.array([3, 3]), np.array([3, 1])))  # self-link, node 0 alone
    chain = rng.permutation(2_000)
    graphs.append((2_000, chain[:-1], chain[1:]))  # one long path, nodes shuffled
    for n, m in [(50, 30), (1_000, 800), (5_000, 6_000), (20_000, 15_000)]:
        graphs.append((n, rng.integers(0, n, m), rng.integers(0, n, m)))
    for n, left, right in graphs:
        ours = connected_components(n, left, right)
        monkeypatch.setattr(clustering, "_SCIPY_FROM", 0)
        theirs = connected_components(n, left, right)
        monkeypatch.undo()
        assert ours.tolist() == theirs.tolist()
    assert len(np.unique(ours)) < n  # the random graphs have components of several nodes
