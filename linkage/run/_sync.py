"""A run and its project file (internal): the queue a run uses, records' keys in the file,
erased records left out, and the sync that turns a clustering into stable entity ids and
queue items in one transaction.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from linkage import project as project_mod
from linkage import (
    schema,
)
from linkage.errors import ConfigError, ModelError
from linkage.run._state import Clustered, Pending, RunContext

if TYPE_CHECKING:
    from linkage.run._result import LinkResult

logger = logging.getLogger("linkage")


def open_queue(
    queue: project_mod.ReviewQueue | str | os.PathLike[str] | None,
    memory_limit: str | int | None = None,
) -> project_mod.ReviewQueue:
    if queue is None:
        return project_mod.ReviewQueue.in_memory()
    if isinstance(queue, project_mod.ReviewQueue):
        return queue
    if isinstance(queue, (str, os.PathLike)):
        return project_mod.ReviewQueue.open(queue, memory_limit=memory_limit)
    raise ConfigError(
        f"queue must be a path to a project file or a ReviewQueue, not {type(queue).__name__}"
    )


def record_keys(work: pd.DataFrame, multi: bool) -> np.ndarray:
    """A record's key in the project file: its id, or ``input:id`` with several inputs."""
    ids = work["record_id"].astype(str)
    if multi:
        ids = work["source_dataset"].astype(str) + ":" + ids
    return ids.to_numpy(dtype=object)


def leave_out_erased(
    project: project_mod.ReviewQueue,
    frames: dict[str, pd.DataFrame],
    mappings: dict[str, schema.RoleMapping],
    multi: bool,
) -> dict[str, pd.DataFrame]:
    """Records erased on request stay out, even when the CRM sends them again."""
    out = {}
    for name, frame in frames.items():
        ids = frame[mappings[name].roles["record_id"]].astype(str)
        keys = (name + ":" + ids) if multi else ids
        erased = project.erased_among(keys.to_numpy(dtype=object))
        if erased.any():
            logger.warning("input %r: %d erased records left out", name, int(erased.sum()))
            frame = frame[~erased].reset_index(drop=True)
        out[name] = frame
    return out


def sync(
    ctx: RunContext, pairs_table: str, clustered: Clustered, pending: Pending, new_run: bool
) -> np.ndarray:
    """Write the clustering to the project file: entity ids come back stable."""
    con = ctx.con
    band = con.execute(
        f"SELECT rid_l, rid_r, match_weight, match_probability, reason FROM {pairs_table} "
        "WHERE decision = 'review'"
    ).df()
    tracked_keys = ctx.queue.tracked_pairs()
    keys = pd.Index(ctx.keys)
    a = keys.get_indexer(tracked_keys["key_l"])
    b = keys.get_indexer(tracked_keys["key_r"])
    known = (a >= 0) & (b >= 0)
    wanted = pd.DataFrame(
        {
            "key_l": tracked_keys["key_l"].to_numpy()[known],
            "key_r": tracked_keys["key_r"].to_numpy()[known],
            "rid_l": np.minimum(a, b)[known],
            "rid_r": np.maximum(a, b)[known],
        }
    )
    con.register("linkage_tracked_view", wanted)
    tracked = con.execute(
        f"SELECT w.key_l, w.key_r, p.decision, p.match_weight, p.match_probability "
        f"FROM linkage_tracked_view w LEFT JOIN {pairs_table} p USING (rid_l, rid_r)"
    ).df()
    con.unregister("linkage_tracked_view")
    conflicts = clustered.conflicts
    evidence = pair_gammas(ctx, pairs_table, [band, conflicts, wanted])
    active = np.ones(len(ctx.work), dtype=bool)
    active[list(ctx.erased)] = False
    run_sync = project_mod.RunSync(
        keys=ctx.keys,
        source_dataset=ctx.work["source_dataset"].to_numpy(),
        record_id=ctx.work["record_id"].to_numpy(),
        labels=clustered.labels,
        active=active,
        review=pair_items(ctx, band),
        tracked=tracked,
        conflicts=pair_items(ctx, conflicts),
        verdicts=pending.verdicts,
        events=pending.events,
        erase=pending.erase,
        new_run=new_run,
        evidence=evidence,
        levels=project_mod.evidence_levels(ctx.linker),
    )
    return ctx.queue.sync(run_sync)


def pair_gammas(ctx: RunContext, pairs_table: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The comparison vector (``gamma_*``) of the given pairs (``rid_l, rid_r``), as the
    queue keeps it for the desk: ``key_l, key_r, gammas`` (JSON ``{comparison: gamma}``)."""
    parts = [f[["rid_l", "rid_r"]] for f in frames if len(f) and {"rid_l", "rid_r"} <= set(f)]
    if not parts:
        return pd.DataFrame(columns=["key_l", "key_r", "gammas"])
    rids = pd.concat(parts, ignore_index=True).astype(np.int64)
    a, b = rids["rid_l"].to_numpy(), rids["rid_r"].to_numpy()
    wanted = pd.DataFrame({"rid_l": np.minimum(a, b), "rid_r": np.maximum(a, b)})
    wanted = wanted.drop_duplicates()
    columns = [
        c[0]
        for c in ctx.con.execute(f"DESCRIBE {pairs_table}").fetchall()
        if c[0].startswith("gamma_")
    ]
    if not columns:
        return pd.DataFrame(columns=["key_l", "key_r", "gammas"])
    ctx.con.register("linkage_gamma_pairs", wanted)
    try:
        found = ctx.con.execute(
            "SELECT w.rid_l, w.rid_r, "
            + ", ".join(f'p."{c}"' for c in columns)
            + f" FROM linkage_gamma_pairs w JOIN {pairs_table} p USING (rid_l, rid_r)"
        ).df()
    finally:
        ctx.con.unregister("linkage_gamma_pairs")
    keys_l, keys_r = ctx.keys[found["rid_l"].to_numpy()], ctx.keys[found["rid_r"].to_numpy()]
    names = [c.removeprefix("gamma_") for c in columns]
    gammas = project_mod.gammas_json(names, found[columns].to_numpy().tolist())
    return pd.DataFrame(
        {
            "key_l": np.where(keys_l <= keys_r, keys_l, keys_r),
            "key_r": np.where(keys_l <= keys_r, keys_r, keys_l),
            "gammas": gammas,
        }
    )


def pair_items(ctx: RunContext, pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs (``rid_l, rid_r`` and scores) as queue items: canonical keys, both records'
    values as JSON."""
    columns = ["key_l", "key_r", "match_weight", "match_probability", "reason", "decision"]
    if pairs.empty:
        return pd.DataFrame(columns=[*columns, "values_l", "values_r"]).astype(
            {"match_weight": float, "match_probability": float}
        )
    a = pairs["rid_l"].to_numpy(np.int64)
    b = pairs["rid_r"].to_numpy(np.int64)
    swap = ctx.keys[a] > ctx.keys[b]
    first, second = np.where(swap, b, a), np.where(swap, a, b)
    shown = [c for c in ctx.work.columns if c != "rid" and (ctx.multi or c != "source_dataset")]
    values = ctx.work[shown]

    def as_json(rids: np.ndarray) -> list[str]:
        text = values.iloc[rids].to_json(orient="records", lines=True, force_ascii=False)
        return text.splitlines()

    return pd.DataFrame(
        {
            "key_l": ctx.keys[first],
            "key_r": ctx.keys[second],
            "match_weight": pairs["match_weight"].to_numpy(float),
            "match_probability": pairs.get(
                "match_probability", pd.Series(np.nan, index=pairs.index)
            ).to_numpy(float),
            "reason": pairs["reason"].astype(str).to_numpy(),
            "decision": pairs.get("decision", pd.Series("review", index=pairs.index)).to_numpy(),
            "values_l": as_json(first),
            "values_r": as_json(second),
        }
    )


def audit_candidates(result: LinkResult, sizes: Mapping[str, int], seed: int) -> pd.DataFrame:
    """A seeded random sample of pairs per decision, as queue items with a sampling weight
    (pairs in the stratum / pairs sampled). Used by ``ReviewQueue.add_audit_sample``."""
    if result._context is None or result.pairs_table is None:
        raise ModelError("an audit sample needs a linked result with scored pairs")
    ctx, parts = result._context, []
    for decision, size in sizes.items():
        if size <= 0:
            continue
        population = ctx.con.execute(
            f"SELECT count(*) FROM {result.pairs_table} WHERE decision = ?", [decision]
        ).fetchall()[0][0]
        sample = ctx.con.execute(
            f"SELECT rid_l, rid_r, match_weight, match_probability, reason, decision "
            f"FROM {result.pairs_table} WHERE decision = ? "
            "ORDER BY hash(rid_l, rid_r, ?), rid_l, rid_r LIMIT ?",
            [decision, seed, int(size)],
        ).df()
        if sample.empty:
            continue
        items = pair_items(ctx, sample)
        items["sample_weight"] = population / len(sample)
        parts.append(items)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
