"""Entities from links: merge the strongest links first, never across a keep-apart.

Why not connected components? At a fixed threshold one weak chain glues people together:
colleagues at one company share its name, switchboard, email domain and address, and
A~B, B~C at the threshold makes A, B and C one entity even when A and C plainly disagree
(different names and mobiles). We measured this on the CRM generator: connected components
lose most of their precision to such chains.

The method here is *constrained greedy agglomeration* (single linkage with cannot-link
constraints): links are taken in order of decreasing match weight; two groups merge unless
some record of one and some record of the other must be kept apart. A pair must be kept
apart when

* its own evidence argues against a match: the sum of its comparison weights (its match
  weight less the prior) is below ``keep_apart_below`` bits, or
* a reviewer said ``non_match``, or took a record out of an entity (the review queue):
  these *hard* keep-aparts beat any chain, and a link they refuse is reported so that the
  cluster goes to review.

A reviewer's ``match`` is a link stronger than any score. :func:`cluster_links` also says
which links built each cluster (for the merge log) and which were refused.

Pairs inside a candidate group that blocking never proposed are scored with the model
(splink's ``predict_within`` blocked on the group), so a conflict is found even between
records that share no blocking key. Groups above ``max_group_size`` records are only
checked on the pairs already scored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clustering:
    """The outcome of :func:`cluster_links`.

    Attributes:
        labels: cluster label per node: the lowest node index of its cluster.
        accepted: per link, whether it merged two groups (the links that built a cluster).
        refused: per link, whether a keep-apart stopped it.
        refused_by_hard: per link, whether a *hard* keep-apart (a reviewer's) stopped it.
    """

    labels: np.ndarray
    accepted: np.ndarray
    refused: np.ndarray
    refused_by_hard: np.ndarray


def constrained_clusters(
    n_nodes: int,
    link_left: np.ndarray,
    link_right: np.ndarray,
    link_weight: np.ndarray,
    apart_left: np.ndarray,
    apart_right: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Cluster nodes ``0..n_nodes-1``.

    Args:
        link_left, link_right, link_weight: links that may merge (e.g. auto-merge pairs).
        apart_left, apart_right: pairs that must never end in one cluster.

    Returns:
        (cluster label per node, the lowest node index of its cluster; number of links
        refused because they would have joined records kept apart).
    """
    outcome = cluster_links(n_nodes, link_left, link_right, link_weight, apart_left, apart_right)
    return outcome.labels, int(outcome.refused.sum())


def cluster_links(
    n_nodes: int,
    link_left: np.ndarray,
    link_right: np.ndarray,
    link_weight: np.ndarray,
    apart_left: np.ndarray,
    apart_right: np.ndarray,
    hard_left: np.ndarray | None = None,
    hard_right: np.ndarray | None = None,
) -> Clustering:
    """Cluster nodes ``0..n_nodes-1``, strongest link first, never across a keep-apart.

    Args:
        link_left, link_right, link_weight: links that may merge.
        apart_left, apart_right: pairs kept apart by evidence.
        hard_left, hard_right: pairs kept apart by a person; they act like the others,
            and a link they refuse is flagged in ``refused_by_hard``.

    Returns:
        a :class:`Clustering`.
    """
    empty = np.array([], dtype=np.int64)
    hard_left = empty if hard_left is None else np.asarray(hard_left)
    hard_right = empty if hard_right is None else np.asarray(hard_right)
    parent = np.arange(n_nodes)
    members: dict[int, list[int]] = {}
    apart: dict[int, set[int]] = {}
    hard: dict[int, set[int]] = {}
    for table, lefts, rights in (
        (apart, apart_left, apart_right),
        (apart, hard_left, hard_right),
        (hard, hard_left, hard_right),
    ):
        for a, b in zip(np.asarray(lefts).tolist(), np.asarray(rights).tolist()):
            if a == b:
                continue
            table.setdefault(a, set()).add(b)
            table.setdefault(b, set()).add(a)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    n_links = len(link_left)
    accepted = np.zeros(n_links, dtype=bool)
    refused = np.zeros(n_links, dtype=bool)
    refused_by_hard = np.zeros(n_links, dtype=bool)
    order = np.argsort(-np.asarray(link_weight, dtype=float), kind="stable")
    left, right = np.asarray(link_left)[order].tolist(), np.asarray(link_right)[order].tolist()
    for position, a, b in zip(order.tolist(), left, right):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ma = members.get(ra, [ra])
        mb = members.get(rb, [rb])
        if len(ma) < len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        # ra is the larger group; check the smaller group's members against its apart set.
        apart_a = apart.get(ra)
        if apart_a and any(m in apart_a for m in mb):
            refused[position] = True
            if hard:
                refused_by_hard[position] = any(
                    find(other) == ra for m in mb for other in hard.get(m, ())
                )
            continue
        accepted[position] = True
        parent[rb] = ra
        members[ra] = ma + mb if ra in members else [ra, *mb]
        members.pop(rb, None)
        apart_b = apart.pop(rb, None)
        if apart_b:
            apart.setdefault(ra, set()).update(apart_b)
    roots = np.fromiter((find(i) for i in range(n_nodes)), dtype=np.int64, count=n_nodes)
    # Label each cluster by its lowest node index: deterministic whatever the merge order.
    lowest = np.full(n_nodes, n_nodes, dtype=np.int64)
    np.minimum.at(lowest, roots, np.arange(n_nodes))
    return Clustering(lowest[roots], accepted, refused, refused_by_hard)


def connected_components(n_nodes: int, link_left: np.ndarray, link_right: np.ndarray) -> np.ndarray:
    """Plain connected components (for comparison and for finding candidate groups): each
    node's label is the lowest node index of its component.

    Graphs of up to ``_SCIPY_FROM`` links (an import's, a check's) are labelled in numpy,
    larger ones (a whole run's) by scipy: importing ``scipy.sparse.csgraph`` takes a third
    of a second, more than the whole labelling of a batch of ten thousand records."""
    left = np.asarray(link_left, dtype=np.int64)
    right = np.asarray(link_right, dtype=np.int64)
    if len(left) < _SCIPY_FROM:
        return _lowest_in_component(n_nodes, left, right)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as cc

    graph = coo_matrix(
        (np.ones(len(left), dtype=np.int8), (left, right)),
        shape=(n_nodes, n_nodes),
    )
    _, labels = cc(graph, directed=False)
    lowest = np.full(labels.max() + 1 if n_nodes else 0, n_nodes, dtype=np.int64)
    np.minimum.at(lowest, labels, np.arange(n_nodes))
    return lowest[labels]


_SCIPY_FROM = 200_000


def _lowest_in_component(n_nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The lowest node index of each node's component, by label propagation with pointer
    jumping. Each label stays a node of the node's own component, no higher than the node
    itself; at the fixed point both ends of every link share a label, so the label is
    constant on a component and, being its lowest node's own label, that node's index."""
    labels = np.arange(n_nodes, dtype=np.int64)
    while True:
        lower = np.minimum(labels[left], labels[right])
        new = labels.copy()
        np.minimum.at(new, left, lower)
        np.minimum.at(new, right, lower)
        while True:  # point each node at its label's label until nothing moves
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new


def group_sizes(labels: np.ndarray) -> np.ndarray:
    """Size of each node's group."""
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return counts[inverse]


def pairs_within(labels: Iterable[int]) -> int:
    """Number of within-cluster pairs (for reports)."""
    _, counts = np.unique(np.asarray(list(labels)), return_counts=True)
    return int((counts * (counts - 1) // 2).sum())
