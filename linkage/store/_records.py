"""A stored record's pieces and a check's answer (internal): the store's state as its file
records it (``StoreState``), payloads, keys, lookups, counts, golden rows, and the
``CheckResult`` / ``AddResult`` a user reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import blocking, schema
from linkage._version import __version__
from linkage.errors import (
    InputError,
    ProjectDataError,
    ProjectVersionError,
    StoreError,
)
from linkage.standardize import is_missing

logger = logging.getLogger("linkage")


STORE_FORMAT_VERSION = 1

SHARED_NAMES = 3  # the standardizer's shared_phone_min_names

RANK = {"distinct": 0, "review": 1, "auto_merge": 2}

# Retraining is advised once the records the model never saw outnumber, by this factor,
# the records it was trained on. Measured on the CRM generator (8,000 leads in ten
# imports, the first tenth linked with its own training), clustered F1 of one link over
# the same records less the store's: untrained share 0.50 -> 0.000, 0.67 -> 0.013,
# 0.75 -> 0.006, 0.90 -> 0.010; with a model trained on all 8,000 the same imports stay
# within 0.005 at every share (the cost of importing in batches, which ``recluster``
# removes). The model's share of the gap appears once untrained records outnumber the
# trained ones. (tests/test_incremental.py holds ten imports, retrained when told, within
# 0.01 of one link.)
UNTRAINED_LIMIT = 1.0


class RetrainAdvised(UserWarning):
    """The store holds more records its model never saw than records it was trained on:
    retrain and re-cluster (:meth:`RecordStore.retrain`, :meth:`RecordStore.recluster`)."""


@dataclass(frozen=True)
class StoreState:
    """What a store is, as its project file records it (``linkage_meta``): read once when
    the store opens, never changed in place; a write makes a new one (:meth:`but`) that
    replaces the old as a whole, so a check running meanwhile sees one or the other.

    Attributes:
        object_name: what the records are (``lead``, ``contact``, ``customer``).
        model_version: the model version that scores checks and imports now.
        roles: the roles of the stored records (``record_id`` included).
        columns: role -> column name in the records the store was built from.
        rules: the blocking rules (a check's candidates share one of their keys).
        guarded: blocking-key column -> values the link run left out (too common).
        types: standardized column -> DuckDB type.
        totals: term-frequency column -> its non-null count over the stored records.
        next_rid: the row id the next added record takes.
        n_records: records stored.
        max_block_size: a key shared by this many records or more finds no candidates.
        multi: the store was built from several inputs (record keys carry the input).
        trained_on: records the current model was trained on: the link run's records for
            the first model (also when that run was given a model trained elsewhere),
            every stored record for a retrained one.
    """

    object_name: str
    model_version: int
    roles: tuple[str, ...]
    columns: Mapping[str, str]
    rules: tuple[blocking.BlockingRule, ...]
    guarded: Mapping[str, frozenset[str]]
    types: Mapping[str, str]
    totals: Mapping[str, int]
    next_rid: int
    n_records: int
    max_block_size: int
    multi: bool
    trained_on: int

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, where: Any = "the project file") -> StoreState:
        """The state of the store in the file ``con`` is open on (``where`` names it in
        errors).

        Raises:
            StoreError: the file holds no store.
            ProjectVersionError: the store was written by a newer ``linkage``.
            ProjectDataError: the store's metadata is damaged (named).
        """
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        meta = dict(con.execute("SELECT key, value FROM linkage_meta").fetchall())
        if "store_format_version" not in meta or "store_records" not in tables:
            raise StoreError(
                f"{where} holds no store of records: make one with RecordStore.build(link(...))"
            )

        def read(key: str, parse: Any) -> Any:
            if key not in meta:
                raise ProjectDataError(
                    f"the store in {where} is damaged: its metadata has no {key}; restore "
                    "the file from a backup, or build the store again (replace=True)"
                )
            try:
                return parse(meta[key])
            except (TypeError, ValueError, AttributeError) as exc:
                raise ProjectDataError(
                    f"the store in {where} is damaged: its {key} is {meta[key][:40]!r}, which "
                    "cannot be read; restore the file from a backup, or build the store "
                    "again (replace=True)"
                ) from exc

        if read("store_format_version", int) > STORE_FORMAT_VERSION:
            raise ProjectVersionError(
                f"the store in {where} was written by a newer linkage (store format "
                f"{meta['store_format_version']}; linkage {__version__} reads format "
                f"{STORE_FORMAT_VERSION} and older): upgrade linkage to open it"
            )
        model_version = read("store_model_version", int)
        if "store_trained_records" in meta:
            trained_on = read("store_trained_records", int)
        else:
            # A store written before this was kept: the records stored before the current
            # model (the link run's, for the first one) are the ones it was trained on.
            trained_on = int(
                con.execute(
                    "SELECT count(*) FROM store_records WHERE added_at IS NULL OR scored_by < ?",
                    [model_version],
                ).fetchall()[0][0]
            )
        return cls(
            object_name=read("store_object", str),
            model_version=model_version,
            roles=read("store_roles", lambda v: tuple(json.loads(v))),
            columns=read("store_columns", lambda v: dict(json.loads(v))),
            rules=read(
                "store_rules",
                lambda v: tuple(blocking.BlockingRule(**r) for r in json.loads(v)),
            ),
            guarded=read(
                "store_guarded",
                lambda v: {k: frozenset(x) for k, x in json.loads(v).items()},
            ),
            types=read("store_types", lambda v: dict(json.loads(v))),
            totals=read("store_tf_totals", lambda v: {k: int(x) for k, x in json.loads(v).items()}),
            next_rid=read("store_next_rid", int),
            n_records=read("store_n_records", int),
            max_block_size=read("store_max_block_size", int),
            multi=meta.get("store_multi") == "true",
            trained_on=trained_on,
        )

    def but(self, **changes: Any) -> StoreState:
        """This state with some fields changed (a new object; this one stays as it is)."""
        return dataclasses.replace(self, **changes)

    @property
    def untrained(self) -> int:
        """Stored records the current model was not trained on."""
        return max(self.n_records - self.trained_on, 0)

    @property
    def retrain_advised(self) -> bool:
        """Whether the records the model never saw outnumber those it was trained on
        (times ``UNTRAINED_LIMIT``): time for :meth:`RecordStore.retrain` and
        :meth:`RecordStore.recluster`."""
        return self.untrained > UNTRAINED_LIMIT * max(self.trained_on, 1)

    @property
    def matching_roles(self) -> list[str]:
        """The roles a check matches on (not ids, owners or timestamps)."""
        return [
            r
            for r in self.roles
            if r not in schema.PASS_THROUGH_ROLES and r not in ("created_at", "updated_at")
        ]

    def record_key(self, record_id: Any) -> str | None:
        """The project file's key of a record id (``records:<id>`` in a multi-input store)."""
        return store_key(self.multi, "records", record_id)


@dataclass
class CheckResult:
    """The answer for one checked record.

    Attributes:
        decision: ``auto_merge``, ``review`` or ``distinct`` (the best candidate entity's).
        is_new: no candidate entity is better than ``distinct``.
        entity_id: the best candidate entity (``None`` when there is no candidate).
        matched_object: what the store holds (``lead``, ``contact``, ``customer``).
        matched_record: the entity's member that scored best.
        match_weight, match_probability: the best member's score.
        reason: why the decision (the threshold band or the routing rule).
        owner: the entity's owner (the ``owner`` role of its golden record).
        golden: the entity's golden record, as a dict.
        candidates: one row per candidate entity, best first.
    """

    decision: str
    is_new: bool
    entity_id: str | None
    matched_object: str
    matched_record: str | None
    match_weight: float | None
    match_probability: float | None
    reason: str
    owner: str | None
    golden: dict[str, Any] | None
    candidates: pd.DataFrame = field(repr=False)


def _candidates(self: CheckResult) -> pd.DataFrame:
    # Given as a frame, or as a function that makes it (a form check: made when read).
    value = self._candidates
    if callable(value):
        value = self._candidates = value()
    return value


def _set_candidates(self: CheckResult, value: Any) -> None:
    self._candidates = value


CheckResult.candidates = property(  # type: ignore[assignment]
    _candidates, _set_candidates, doc="one row per candidate entity, best first"
)


@dataclass
class AddResult:
    """What :meth:`RecordStore.add` did.

    Attributes:
        entities: one row per added record: ``record_id``, ``entity_id``, ``outcome``
            (``new``, ``joined`` an existing entity, or ``merged_in_batch`` with other new
            records), ``decision`` and ``match_weight`` of its best link.
        review_items: review items created (borderline pairs and refused links).
        conflicts: links refused because they would have joined two existing entities.
        model_version: the model version that scored the batch.
        timings: seconds per stage.
        untrained_records: stored records, this batch's included, that the model was not
            trained on.
        retrain_advised: those outnumber the records the model was trained on: call
            :meth:`RecordStore.retrain` and :meth:`RecordStore.recluster` (``add`` also
            warns, with :class:`~linkage.store.RetrainAdvised`, and logs it).
    """

    entities: pd.DataFrame
    review_items: int
    conflicts: int
    model_version: int
    timings: dict[str, float]
    untrained_records: int = 0
    retrain_advised: bool = False


def json_payloads(derived: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Each row's comparison columns as JSON (the form the store keeps them in), each
    value as :func:`json_value` gives it: converted a column at a time (a call per value
    costs a third of a second per 10,000 records)."""
    present = [c for c in columns if c in derived.columns]
    values = [_json_column(derived[c]) for c in present]
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return (
        [dumps(dict(zip(present, row, strict=True))) for row in zip(*values, strict=True)]
        if present
        else ["{}"] * len(derived)
    )


def _json_column(column: pd.Series) -> list[Any]:
    """:func:`json_value` of each value of ``column``, by its dtype where that says
    what every value is (text, flags, whole numbers), one by one otherwise."""
    missing = column.isna().to_numpy()
    kind = column.dtype
    if pd.api.types.is_string_dtype(kind) and not pd.api.types.is_object_dtype(kind):
        out = column.to_numpy(dtype=object, na_value=None).tolist()
    elif pd.api.types.is_bool_dtype(kind) or pd.api.types.is_integer_dtype(kind):
        caster = bool if pd.api.types.is_bool_dtype(kind) else int
        raw = column.to_numpy(dtype=object, na_value=None).tolist()
        out = [None if m else caster(v) for v, m in zip(raw, missing.tolist(), strict=True)]
    else:
        return [json_value(v) for v in column.astype(object).tolist()]
    return [None if m else v for v, m in zip(out, missing.tolist(), strict=True)]


def json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.ndarray, list, tuple)):
        return [str(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    return str(value) if not isinstance(value, (int, float)) else value


def count_key(kind: str, column: str, value: Any) -> str:
    return f"{kind}:{column}={value}"


def golden_rows(con: duckdb.DuckDBPyConnection, entities: Sequence[str]) -> dict[str, dict]:
    if not entities:
        return {}
    placeholders = ", ".join("?" for _ in entities)
    result = con.execute(
        f"SELECT * FROM store_golden WHERE entity_id IN ({placeholders})", list(entities)
    )
    names = [d[0] for d in result.description]
    out = {}
    for values in result.fetchall():
        row = dict(zip(names, values, strict=True))
        out[row["entity_id"]] = row
    return out


def block_keys(
    derived: pd.DataFrame, rules: Sequence[blocking.BlockingRule], guarded: Mapping[str, set]
) -> pd.DataFrame:
    """``probe, lookup`` for every rule key of every record (``rule:key``), leaving out
    the values the link run guarded (shared by too many records)."""
    probes, lookups = [], []
    for rule in rules:
        if not all(c in derived.columns for c in rule.columns):
            continue
        parts = [derived[c] for c in rule.columns]
        present = np.ones(len(derived), dtype=bool)
        for part in parts:
            present &= part.notna().to_numpy()
        positions = np.flatnonzero(present)
        if not len(positions):
            continue  # a field of the rule is empty in every row (web-form leads)
        columns = [part.to_numpy(dtype=object)[positions] for part in parts]
        texts_present = [
            "|".join(key_text(column[i]) for column in columns) for i in range(len(positions))
        ]
        blocked = guarded.get(rule.key_column, set())
        for position, value in zip(positions.tolist(), texts_present, strict=True):
            if value in blocked:
                continue
            probes.append(position)
            lookups.append(f"{rule.name}:{value}")
    return pd.DataFrame({"probe": np.asarray(probes, dtype=np.int64), "lookup": lookups})


def record_lookups(
    derived: Mapping[str, Any],
    rules: Sequence[blocking.BlockingRule],
    guarded: Mapping[str, set],
) -> list[str]:
    """``rule:key`` lookups of one standardized record (as :func:`block_keys`)."""
    out = []
    for rule in rules:
        parts = [derived.get(c) for c in rule.columns]
        if any(is_missing(p) or p is None for p in parts):
            continue
        value = "|".join(key_text(p) for p in parts)
        if value in guarded.get(rule.key_column, ()):
            continue
        out.append(f"{rule.name}:{value}")
    return out


def key_text(value: Any) -> str:
    """A value as ``CAST(x AS VARCHAR)`` writes it (the form block keys take)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return str(value)


def as_frame(records: Any) -> pd.DataFrame:
    """Records as a frame: a DataFrame, a list of dicts, or a CSV, Excel or Parquet path."""
    if isinstance(records, pd.DataFrame):
        return records.reset_index(drop=True)
    if isinstance(records, Mapping):
        raise InputError(
            "one record was given where a table of records is expected: use check_one() "
            "for one record, or pass a list of dicts"
        )
    if isinstance(records, (list, tuple)):
        if not all(isinstance(r, Mapping) for r in records):
            kinds = sorted({type(r).__name__ for r in records if not isinstance(r, Mapping)})
            raise InputError(f"records must be dicts of column -> value; got {', '.join(kinds)}")
        return pd.DataFrame(list(records))
    if isinstance(records, (str, os.PathLike)):
        return schema.read_records(records).reset_index(drop=True)
    try:
        return schema.read_records(records).reset_index(drop=True)
    except (InputError, TypeError, ValueError) as exc:
        raise InputError(
            f"records must be a DataFrame, a list of dicts or a file path, not "
            f"{type(records).__name__}"
        ) from exc


def has_value(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, str) and not value.strip():
        return False
    return not (value is pd.NA or value is pd.NaT)


def id_text(value: Any) -> str | None:
    if not has_value(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def store_key(multi: bool, source: str, record_id: Any) -> str | None:
    if record_id is None:
        return None
    return f"{source}:{record_id}" if multi else str(record_id)


def one_result(found: pd.DataFrame, object_name: str) -> CheckResult:
    best = found.iloc[0]
    has_entity = best["entity_id"] is not None and not is_missing(best["entity_id"])
    return CheckResult(
        decision=str(best["decision"]),
        is_new=bool(best["is_new"]),
        entity_id=best["entity_id"] if has_entity else None,
        matched_object=object_name,
        matched_record=best["matched_record"] if has_entity else None,
        match_weight=None if is_missing(best["match_weight"]) else float(best["match_weight"]),
        match_probability=None
        if is_missing(best["match_probability"])
        else float(best["match_probability"]),
        reason=str(best["reason"]),
        owner=best["owner"],
        golden=best["golden"],
        candidates=found[found["entity_id"].notna()].reset_index(drop=True),
    )


@contextlib.contextmanager
def timer(timings: dict[str, float], stage: str):
    started = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
