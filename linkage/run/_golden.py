"""Golden records, lineage, the merge log and a customer's history for a result
(internal), built in DuckDB by :mod:`linkage.survivorship`.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from linkage import (
    _compat,
    survivorship,
)
from linkage._sql import quote, run
from linkage.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from linkage.run._result import LinkResult

logger = logging.getLogger("linkage")


MERGE_LOG_COLUMNS = (
    "entity_id",
    "event",
    "record_id_l",
    "record_id_r",
    "match_weight",
    "match_probability",
    "reason",
    "actor",
    "note",
    "at",
)

# Names for the tables each golden build leaves in DuckDB, unique within the process.
_BUILDS = itertools.count(1)


def members_view(result: LinkResult) -> str:
    """A view of this result's records (raw values, entity id, derived columns)."""
    ctx = result._context
    con = ctx.con
    name = f"linkage_members_{next(_BUILDS)}"
    work = ctx.work.assign(entity_id=result._entity_ids)
    if ctx.erased:
        work = work.drop(index=sorted(ctx.erased))
    # Mixed-type object columns (a phone read as a float) go to DuckDB as text.
    for column in work.columns:
        if work[column].dtype == object and column not in ("entity_id",):
            work[column] = work[column].map(as_text)
    con.register(f"{name}_work", work)
    derived = {r[0] for r in con.execute(f"SELECT * FROM {ctx.records_table} LIMIT 0").description}
    wanted = [c for c in derived if c.endswith("_valid") or c in survivorship.DERIVED_COLUMNS]
    picked = "".join(f", d.{quote(c)}" for c in wanted if c not in work.columns)
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT w.*{picked} FROM {name}_work w "
        f"LEFT JOIN {ctx.records_table} d USING (rid)",
    )
    return name


def as_text(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def golden_tables(result: LinkResult) -> survivorship.GoldenTables:
    ctx = result._context
    members = members_view(result)
    roles = [c for c in ctx.work.columns if c not in ("rid", "source_dataset", "record_id")]
    priority = ctx.source_priority
    if priority is None and ctx.multi:
        priority = list(ctx.frames)
    return survivorship.build(
        ctx.con,
        members,
        roles,
        rules=ctx.survivorship_rules,
        source_priority=priority,
        prefix=f"linkage_{next(_BUILDS)}",
    )


def merge_log(result: LinkResult) -> pd.DataFrame:
    """Which links built each entity, plus the undos and erasures logged against it."""
    ctx = result._context
    links = result._links if result._links is not None else pd.DataFrame()
    record_ids = ctx.work["record_id"].to_numpy()
    id_l, id_r = f"{result.id_column}_l", f"{result.id_column}_r"
    columns = [{"record_id_l": id_l, "record_id_r": id_r}.get(c, c) for c in MERGE_LOG_COLUMNS]
    if links.empty:
        log = pd.DataFrame(columns=columns)
    else:
        a = links["rid_l"].to_numpy(np.int64)
        b = links["rid_r"].to_numpy(np.int64)
        log = pd.DataFrame(
            {
                "entity_id": result._entity_ids[a],
                "event": np.where(links["how"] == "verdict", "merged_by_verdict", "auto_merged"),
                id_l: record_ids[a],
                id_r: record_ids[b],
                "match_weight": links["match_weight"].to_numpy(float),
                "match_probability": links.get("match_probability"),
                "reason": links["reason"].to_numpy(),
                "actor": links.get("reviewer"),
                "note": links.get("note"),
                "at": links.get("decided_at"),
            }
        )
        if ctx.multi:
            log[id_l] = ctx.keys[a]
            log[id_r] = ctx.keys[b]
    events = ctx.queue.events() if ctx.queue is not None else pd.DataFrame()
    if not events.empty:
        events = events[events["entity_id"].isin(set(pd.Series(result._entity_ids).dropna()))]
        events = pd.DataFrame(
            {
                "entity_id": events["entity_id"],
                "event": events["event"],
                id_l: events[ctx.queue.id_column],
                "actor": events["actor"],
                "note": events["note"],
                "at": events["at"],
            }
        )
        log = pd.concat([log, events], ignore_index=True)
    log = log.sort_values(["entity_id", "at"], na_position="first", kind="stable").reset_index(
        drop=True
    )[columns]
    return _compat.renamed_columns(log, {"record_id_l": id_l, "record_id_r": id_r})


def history(result: LinkResult, entity_id: str | None) -> pd.DataFrame:
    if result._context is None:
        raise ModelError("a history needs a linked result (more than one record)")
    ctx = result._context
    members = members_view(result)
    names = {r[0] for r in ctx.con.execute(f"SELECT * FROM {members} LIMIT 0").description}
    time_columns = [c for c in ("created_at_ts", "updated_at_ts") if c in names]
    order = f"coalesce({', '.join(time_columns)})" if time_columns else "NULL"
    first = ["entity_id"] + (["source_dataset"] if ctx.multi else []) + ["record_id"]
    first += [c for c in ("source", "created_at", "updated_at") if c in names]
    rest = [c for c in ctx.work.columns if c not in first and c not in ("rid", "source_dataset")]
    where, params = ("WHERE entity_id = ?", [entity_id]) if entity_id is not None else ("", [])
    frame = ctx.con.execute(
        f"SELECT {', '.join(quote(c) for c in first + rest)}, {order} AS at FROM {members} "
        f"{where} ORDER BY entity_id, {order} NULLS LAST, rid",
        params,
    ).df()
    if entity_id is not None and frame.empty:
        raise ConfigError(f"no entity {entity_id!r} in this result")
    id_column = next(iter(ctx.mappings.values())).roles["record_id"]
    return frame.rename(columns={"record_id": id_column})
