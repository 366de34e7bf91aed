"""Undo and erasure on a result (internal): the verdicts and events a take-out or split
writes, and an erased record's values scrubbed from the run's tables.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from linkage import (
    project,
)
from linkage._sql import quote, run
from linkage.errors import ConfigError, ModelError
from linkage.run._state import Pending, RunContext

if TYPE_CHECKING:
    from linkage.run._result import LinkResult

logger = logging.getLogger("linkage")


def rid_of(result: LinkResult, record: str | tuple[str, str]) -> int:
    ctx = result._context
    if ctx is None:
        raise ModelError("this needs a linked result (more than one record)")
    key = project.record_key(record)
    position = pd.Index(ctx.keys).get_indexer([key])[0]
    if position < 0 or position in ctx.erased:
        hint = " (with several inputs, name it 'input:id' or (input, id))" if ctx.multi else ""
        raise ConfigError(f"no record {key!r} in this result{hint}")
    return int(position)


def undo(
    result: LinkResult,
    *,
    reviewer: str,
    note: str | None,
    record: str | tuple[str, str] | None = None,
    entity_id: str | None = None,
) -> Pending:
    """The keep-apart verdicts and the event of a take-out (``record``) or a split
    (``entity_id``), to be written with the clustering they cause."""
    project.check_verdict("non_match", reviewer)
    ctx, ids = result._context, result._entity_ids
    if record is not None:
        rid = rid_of(result, record)
        members = np.flatnonzero(ids == ids[rid])
        if len(members) < 2:
            raise ConfigError(f"record {ctx.keys[rid]!r} is alone in its entity: nothing to undo")
        pairs = [(rid, int(m)) for m in members if m != rid]
        event = ("take_out", ctx.keys[rid], reviewer, note)
    else:
        if ctx is None:
            raise ModelError("this needs a linked result (more than one record)")
        members = np.flatnonzero(ids == entity_id)
        if len(members) == 0:
            raise ConfigError(f"no entity {entity_id!r} in this result")
        pairs = [(int(a), int(b)) for i, a in enumerate(members) for b in members[i + 1 :]]
        event = ("split", ctx.keys[members[0]], reviewer, note)
    return Pending(
        verdicts=[
            (ctx.keys[a], ctx.keys[b], "non_match", reviewer, note, "undo") for a, b in pairs
        ],
        events=[event],
    )


def forget(result: LinkResult, record: str | tuple[str, str]) -> Pending:
    """Scrub a record's values from the run's tables; the erasure to write with the
    clustering that follows."""
    rid = rid_of(result, record)
    ctx = result._context
    key = ctx.keys[rid]
    ctx.erased.add(rid)
    ctx.erasures += 1
    scrub(ctx, rid)
    return Pending(erase=[key])


def scrub(ctx: RunContext, rid: int) -> None:
    """Remove an erased record's values from every table of the run (never the caller's
    own input frame)."""
    row = ctx.work.loc[ctx.work["rid"] == rid].iloc[0]
    problems = ctx.problems
    if len(problems):
        mine = problems["record_id"].astype(str) == str(row["record_id"])
        if ctx.multi and "source_dataset" in problems.columns:
            mine &= problems["source_dataset"].astype(str) == str(row["source_dataset"])
        ctx.problems = problems[~mine].reset_index(drop=True)
    values = [c for c in ctx.work.columns if c not in ("rid", "source_dataset", "record_id")]
    ctx.work.loc[ctx.work["rid"] == rid, values] = None
    # Golden records and lineage built before the erasure: dropped, rebuilt on demand.
    for name, kind in ctx.con.execute(
        "SELECT table_name, 'TABLE' FROM duckdb_tables() UNION ALL "
        "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE NOT internal"
    ).fetchall():
        if re.fullmatch(r"linkage_\d+_(golden|lineage|lineage_values)|linkage_members_\d+", name):
            run(ctx.con, f"DROP {kind} IF EXISTS {quote(name)}")
    for name in [r[0] for r in ctx.con.execute("SHOW TABLES").fetchall()]:
        if re.fullmatch(r"linkage_members_\d+_work", name):
            ctx.con.unregister(name)
    tables = [r[0] for r in ctx.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    for table in tables:
        columns = {
            r[0] for r in ctx.con.execute(f"SELECT * FROM {quote(table)} LIMIT 0").description
        }
        if "rid" in columns:
            run(ctx.con, f"DELETE FROM {quote(table)} WHERE rid = ?", [rid])
        elif {"rid_l", "rid_r"} <= columns:
            run(ctx.con, f"DELETE FROM {quote(table)} WHERE rid_l = ? OR rid_r = ?", [rid, rid])
