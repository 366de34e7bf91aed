"""Decisions and entities for a scored run (internal): every pair decided under the
model's policy, then entities from auto-merge links and reviewers' verdicts, never across
evidence against a match (see :mod:`linkage.clustering` for why).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from linkage import (
    _splink,
    clustering,
    project,
)
from linkage import model as model_mod
from linkage._sql import run
from linkage.run._state import Clustered, Pending, RunContext

logger = logging.getLogger("linkage")


def cluster_entities(
    ctx: RunContext, trained: model_mod.LinkageModel, pairs_table: str, pending: Pending
) -> Clustered:
    """Entities from auto-merge links and reviewers' verdicts (a ``match`` is a link
    stronger than any score, a ``non_match`` a keep-apart that beats any chain)."""
    n = len(ctx.work)
    auto = ctx.con.execute(
        f"SELECT rid_l, rid_r, match_weight, match_probability, reason FROM {pairs_table} "
        "WHERE decision = 'auto_merge' ORDER BY rid_l, rid_r"
    ).df()
    verdicts = verdict_pairs(ctx, pending)
    matches = verdicts[verdicts["verdict"] == "match"]
    apart = verdicts[verdicts["verdict"] == "non_match"]
    links = pd.concat(
        [
            auto.assign(how="auto_merge"),
            pd.DataFrame(
                {
                    "rid_l": matches["rid_l"].to_numpy(),
                    "rid_r": matches["rid_r"].to_numpy(),
                    "match_weight": np.inf,
                    "reason": "verdict match",
                    "reviewer": matches["reviewer"].to_numpy(),
                    "note": matches["note"].to_numpy(),
                    "decided_at": matches["decided_at"].to_numpy(),
                    "how": "verdict",
                }
            ),
        ],
        ignore_index=True,
    )
    if ctx.erased:
        gone = list(ctx.erased)
        links = links[~(links["rid_l"].isin(gone) | links["rid_r"].isin(gone))]
    left = links["rid_l"].to_numpy(np.int64)
    right = links["rid_r"].to_numpy(np.int64)
    weight = links["match_weight"].to_numpy(float)
    if ctx.cluster_method == "connected_components":
        evidence = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    else:
        prior = trained.probability_two_random_records_match
        prior_weight = math.log2(prior / (1 - prior))
        evidence = keep_apart_pairs(
            ctx,
            {"rid_l": left, "rid_r": right},
            n,
            prior_weight + ctx.keep_apart_below,
            pairs_table,
        )
        # A reviewer's match overrides the evidence against that very pair.
        if len(matches):
            said = set(zip(matches["rid_l"].tolist(), matches["rid_r"].tolist()))
            keep = np.array(
                [
                    (min(a, b), max(a, b)) not in said
                    for a, b in zip(evidence[0].tolist(), evidence[1].tolist())
                ],
                dtype=bool,
            )
            evidence = (evidence[0][keep], evidence[1][keep])
    outcome = clustering.cluster_links(
        n,
        left,
        right,
        weight,
        evidence[0],
        evidence[1],
        apart["rid_l"].to_numpy(np.int64),
        apart["rid_r"].to_numpy(np.int64),
    )
    logger.info(
        "clustering refused %d links that would join records kept apart (%d by a reviewer)",
        int(outcome.refused.sum()),
        int(outcome.refused_by_hard.sum()),
    )
    # A link refused by a keep-apart on that very pair is the person's decision, not a
    # conflict; one refused because of a keep-apart elsewhere in the group (a chain), or a
    # reviewer's match that could not be honoured, needs a person.
    said_apart = set(zip(apart["rid_l"].tolist(), apart["rid_r"].tolist()))
    own = np.array(
        [(min(a, b), max(a, b)) in said_apart for a, b in zip(left.tolist(), right.tolist())],
        dtype=bool,
    )
    needs_person = (outcome.refused_by_hard & ~own) | (
        outcome.refused & (links["how"] == "verdict").to_numpy()
    )
    conflicts = links[needs_person].copy()
    conflicts["reason"] = "a keep-apart verdict refused this link: " + conflicts["reason"].astype(
        str
    )
    conflicts["decision"] = np.where(conflicts["how"] == "verdict", None, "auto_merge")
    return Clustered(
        labels=outcome.labels,
        links=links[outcome.accepted].reset_index(drop=True),
        conflicts=conflicts,
    )


def verdict_pairs(ctx: RunContext, pending: Pending) -> pd.DataFrame:
    """The queue's current verdicts (and pending ones) between records of this run."""
    current = ctx.queue.constraints() if ctx.queue is not None else pd.DataFrame()
    if pending.verdicts:
        extra = pd.DataFrame(
            pending.verdicts,
            columns=["key_l", "key_r", "verdict", "reviewer", "note", "origin"],
        ).assign(decided_at=project.now())
        current = pd.concat([current, extra], ignore_index=True)
    columns = ["rid_l", "rid_r", "verdict", "reviewer", "note", "decided_at"]
    if current.empty:
        return pd.DataFrame(columns=columns)
    keys = pd.Index(ctx.keys)
    a, b = keys.get_indexer(current["key_l"]), keys.get_indexer(current["key_r"])
    known = (a >= 0) & (b >= 0) & (a != b)
    if ctx.erased:
        gone = list(ctx.erased)
        known &= ~(np.isin(a, gone) | np.isin(b, gone))
    current = current[known]
    a, b = a[known], b[known]
    frame = pd.DataFrame(
        {
            "rid_l": np.minimum(a, b),
            "rid_r": np.maximum(a, b),
            "verdict": current["verdict"].to_numpy(),
            "reviewer": current["reviewer"].to_numpy(),
            "note": current["note"].to_numpy(),
            "decided_at": current["decided_at"].to_numpy(),
        }
    )
    # The latest verdict on a pair counts (pending ones come last).
    return frame.drop_duplicates(["rid_l", "rid_r"], keep="last")[columns]


def keep_apart_pairs(
    ctx: RunContext,
    auto: dict[str, np.ndarray],
    n: int,
    weight_floor: float,
    pairs_table: str,
    max_group_size: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that must not share an entity: scored pairs with evidence below the floor,
    including pairs inside candidate groups that blocking never proposed.

    Only pairs inside one connected component of the links can ever end in one entity, so
    only those are fetched: a few thousand rows instead of every weak pair.
    """
    con = ctx.con
    groups = clustering.connected_components(n, auto["rid_l"], auto["rid_r"])
    sizes = clustering.group_sizes(groups)
    linked = np.flatnonzero(sizes >= 2)
    con.register("linkage_linked_view", pd.DataFrame({"rid": linked, "group_id": groups[linked]}))
    scored = con.execute(
        f"SELECT p.rid_l, p.rid_r FROM {pairs_table} p "
        "JOIN linkage_linked_view gl ON gl.rid = p.rid_l "
        "JOIN linkage_linked_view gr ON gr.rid = p.rid_r "
        "WHERE gl.group_id = gr.group_id AND p.match_weight < ?",
        [weight_floor],
    ).fetchnumpy()
    con.unregister("linkage_linked_view")
    left, right = [scored["rid_l"]], [scored["rid_r"]]
    candidate = (sizes >= 3) & (sizes <= max_group_size)
    if candidate.any():
        from splink import block_on

        members = pd.DataFrame({"rid": np.flatnonzero(candidate), "group_id": groups[candidate]})
        group_table = f"linkage_group_records_{ctx.generation}"
        con.register("linkage_groups_view", members)
        run(
            con,
            f"CREATE OR REPLACE TABLE {group_table} AS SELECT r.*, g.group_id "
            f"FROM {ctx.records_table} r JOIN linkage_groups_view g USING (rid)",
        )
        con.unregister("linkage_groups_view")
        sdf = _splink.register_table(ctx.linker, group_table, f"{group_table}_input")
        within = ctx.linker.inference.predict_within(
            sdf,
            link_type="dedupe_only",
            blocking_rules_to_generate_predictions=[block_on("group_id")],
        )
        extra = con.execute(
            f"SELECT rid_l, rid_r FROM {within.physical_name} WHERE match_weight < ?",
            [weight_floor],
        ).fetchnumpy()
        left.append(extra["rid_l"])
        right.append(extra["rid_r"])
    return np.concatenate(left), np.concatenate(right)
