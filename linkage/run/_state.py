"""The state of one run, shared by the stages after scoring (internal): what a result
needs to re-decide and re-cluster without rescoring, and what a change of entities waits to
write with its clustering.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import (
    blocking,
    project,
    schema,
)

logger = logging.getLogger("linkage")


@dataclass
class RunContext:
    """What a result needs to re-decide and re-cluster without rescoring."""

    con: duckdb.DuckDBPyConnection
    linker: Any
    predictions_table: str
    records_table: str
    work: pd.DataFrame
    frames: dict[str, pd.DataFrame]
    mappings: dict[str, schema.RoleMapping]
    report: blocking.BlockingReport
    problems: pd.DataFrame
    multi: bool
    keep_apart_below: float
    cluster_method: str
    queue: project.ReviewQueue | None = None
    keys: np.ndarray | None = None
    survivorship_rules: Mapping[str, Any] | None = None
    source_priority: list[str] | None = None
    erased: set[int] = field(default_factory=set)
    generation: int = 0
    # Counts erasures: a result made before the latest one is stale (it may show the
    # erased record's values), and says so when used.
    erasures: int = 0

    def next_pairs_table(self) -> str:
        self.generation += 1
        return f"linkage_pairs_{self.generation}"


@dataclass
class Pending:
    """Verdicts, log lines and erasures to write with the next clustering, as keys."""

    verdicts: list[tuple[str, str, str, str, str | None, str]] = field(default_factory=list)
    events: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    erase: list[str] = field(default_factory=list)


@dataclass
class Clustered:
    labels: np.ndarray
    links: pd.DataFrame  # the links that built the entities, for the merge log
    conflicts: pd.DataFrame  # links a reviewer's keep-apart refused


def empty_pairs(id_column: str = "record_id") -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            f"{id_column}_l",
            f"{id_column}_r",
            "match_weight",
            "match_probability",
            "decision",
            "reason",
            "entity_id_l",
            "entity_id_r",
        ]
    )
