"""Golden records: one record per entity, each field chosen by a rule, with lineage.

Every golden field is an original value from one record (so lineage can name it); list
fields (every phone, email and channel) hold the distinct standardized values. It all runs
as SQL in DuckDB, one ``GROUP BY entity_id`` with ``arg_max`` over a ranking key per field,
never a Python loop per entity.

Rules (each ranks the non-empty values of a field within an entity; ties fall to the next
rule of the column's chain, then to the most recent record, then to the first record):

============== ================================================================================
rule           the value that wins
============== ================================================================================
most_recent    from the record updated (or else created) most recently
earliest       from the record created first (the first touch)
most_complete  from the record with the most non-empty fields
most_frequent  the value most records of the entity hold
source_priority from the best-ranked source: ``source_priority`` lists input names (e.g.
               ``["customers", "leads"]``: an existing customer outranks a new lead) and
               channel values; by default the inputs in the order they were given
valid_first    a valid value (``<role>_valid`` from standardization) before an invalid one
longest        the longest value
union          every distinct value, as a list (standardized form where there is one)
============== ================================================================================

:data:`DEFAULT_RULES` gives the rules per role; pass ``rules={"company": "source_priority",
"mobile_all": None}`` to :func:`linkage.link` to override a column (``None`` drops it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from linkage import _memory
from linkage._sql import literal, quote, run
from linkage.errors import ConfigError

logger = logging.getLogger("linkage")

RULES = (
    "most_recent",
    "earliest",
    "most_complete",
    "most_frequent",
    "source_priority",
    "valid_first",
    "longest",
    "union",
)

#: Derived columns of standardization that the rules read (besides the raw values and
#: ``<role>_valid``): a members table should carry them where the run has them.
DERIVED_COLUMNS = (
    "created_at_ts",
    "updated_at_ts",
    "mobile_e164",
    "phone_e164",
    "email_clean",
    "wechat_unionid_clean",
)

DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "company": ("valid_first", "source_priority", "longest"),
    "credit_code": ("valid_first", "most_frequent"),
    "person_name": ("most_frequent", "source_priority"),
    "first_name": ("most_frequent",),
    "last_name": ("most_frequent",),
    "mobile": ("valid_first", "most_recent"),
    "mobile_all": ("union",),
    "phone": ("valid_first", "most_recent"),
    "phone_all": ("union",),
    "email": ("valid_first", "most_recent"),
    "email_all": ("union",),
    "wechat_unionid": ("most_recent",),
    "wechat_unionid_all": ("union",),
    "national_id": ("most_frequent",),
    "dob": ("most_frequent",),
    "gender": ("most_frequent",),
    "job_title": ("most_recent",),
    "province": ("most_frequent", "most_recent"),
    "city": ("most_frequent", "most_recent"),
    "address": ("most_recent", "longest"),
    "postcode": ("most_recent",),
    "source": ("earliest",),
    "source_all": ("union",),
    "created_at": ("earliest",),
    "updated_at": ("most_recent",),
    "owner": ("source_priority", "most_recent"),
}
"""Golden column -> its rule chain. ``<role>_all`` columns are lists."""

# The standardized form a list column collects, where standardization makes one.
_STANDARD_FORM = {
    "mobile": "mobile_e164",
    "phone": "phone_e164",
    "email": "email_clean",
    "wechat_unionid": "wechat_unionid_clean",
}


@dataclass(frozen=True)
class GoldenTables:
    """Where :func:`build` left its output in DuckDB.

    Attributes:
        golden: one row per entity: ``entity_id``, ``n_records``, ``record_ids``, then one
            column per golden field.
        lineage: one row per (entity, field, record with a non-empty value): ``entity_id,
            field, value, record_id, source_dataset, chosen`` (this record's value is the
            golden one) and ``rule``. Every non-empty input value is in it. None when
            :func:`build` was asked for golden records only.
        columns: golden column -> rule chain, as used.
        settings: the rules and source priority given (JSON, as a record store keeps
            them to build its golden records by).
    """

    golden: str
    lineage: str | None
    columns: dict[str, tuple[str, ...]]
    settings: str = '{"rules": null, "source_priority": null}'

    def golden_frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        """The golden table as a DataFrame whose list columns (``record_ids``, the
        ``<role>_all`` unions) stay in Arrow's buffers (``pd.ArrowDtype``): a row's value
        still reads as a list, but a million records' golden frame no longer holds tens of
        millions of Python lists and strings (1.7 GB more at a million records)."""
        table = con.sql(f"SELECT * FROM {self.golden}").to_arrow_table()
        return table.to_pandas(types_mapper=_arrow_lists)


def _arrow_lists(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(arrow_type) if pa.types.is_list(arrow_type) else None


@dataclass(frozen=True)
class Lineage:
    """Where golden values came from, and how entities were built.

    Attributes:
        fields: one row per (entity, field, record with a non-empty value): ``entity_id,
            field, value, record_id, source_dataset, chosen`` (this record's value is the
            golden one) and ``rule`` (the rule chain of each golden column of that field).
            Every non-empty value of every record that was not erased is here.
        merge_log: per entity, the links that built it (``auto_merged`` with its score and
            reason, or ``merged_by_verdict`` with the reviewer and time) and the undos,
            splits and erasures logged against it.
    """

    fields: pd.DataFrame
    merge_log: pd.DataFrame

    def of(self, entity_id: str) -> Lineage:
        """The lineage of one entity."""
        return Lineage(
            fields=self.fields[self.fields["entity_id"] == entity_id].reset_index(drop=True),
            merge_log=self.merge_log[self.merge_log["entity_id"] == entity_id].reset_index(
                drop=True
            ),
        )


def check_rules(roles: Iterable[str], rules: Mapping[str, str | Sequence[str] | None]) -> None:
    """Check survivorship rules against the roles present, before any work is done.

    Raises:
        ConfigError: an unknown rule or a rule for an absent role.
    """
    _columns([r for r in roles if r != "record_id"], rules)


def build(
    con: duckdb.DuckDBPyConnection,
    members: str,
    roles: Sequence[str],
    *,
    rules: Mapping[str, str | Sequence[str] | None] | None = None,
    source_priority: Sequence[str] | None = None,
    prefix: str = "linkage",
    lineage: bool = True,
) -> GoldenTables:
    """Golden records and field lineage for clustered records.

    Args:
        con: the DuckDB connection holding ``members``.
        members: a table or view with ``rid`` (unique, below 2**32), ``entity_id``,
            ``source_dataset``, ``record_id``, one raw column per role, and where available
            the derived columns of standardization (``<role>_valid``, ``created_at_ts``,
            ``updated_at_ts``, ``mobile_e164``, ...).
        roles: the roles present (``record_id`` and roles without a column are ignored).
        rules: golden column -> rule name or chain, overriding :data:`DEFAULT_RULES`;
            ``None`` drops a column.
        source_priority: input names and source channels, best first.
        prefix: names of the output tables (``<prefix>_golden``, ``<prefix>_lineage``).
        lineage: build the lineage too (without it, a record store's import rebuilds the
            golden records of the entities it touched a fifth sooner).

    Returns:
        :class:`GoldenTables`.

    Raises:
        ConfigError: an unknown rule, a rule for a role that is not present, or a chain
            too long to rank in one 128-bit key.
    """
    described = con.execute(f"SELECT * FROM {members} LIMIT 0").description
    available = {r[0] for r in described}
    fields = [r for r in roles if r != "record_id" and r in available]
    columns = _columns(fields, rules)
    has = available.__contains__
    priority = list(source_priority or [])

    recency = _first_present(["updated_at_ts", "created_at_ts"], has)
    created = _first_present(["created_at_ts", "updated_at_ts"], has)
    select = [
        "rid",
        "CAST(entity_id AS VARCHAR) AS entity_id",
        "CAST(source_dataset AS VARCHAR) AS source_dataset",
        "CAST(record_id AS VARCHAR) AS record_id",
        "count(*) OVER (PARTITION BY entity_id) AS _size",
        _seconds(recency, "_recency"),
        _seconds(created, "_created"),
        _completeness(fields),
        _source_rank(priority, has("source")),
    ]
    for field in fields:
        select.append(f"nullif(trim(CAST({quote(field)} AS VARCHAR)), '') AS {quote(field)}")
        valid = f"{field}_valid"
        if has(valid):
            select.append(f"coalesce(CAST({quote(valid)} AS INTEGER), 0) AS {quote(valid)}")
        if field in _STANDARD_FORM and has(_STANDARD_FORM[field]):
            select.append(f"{quote(_STANDARD_FORM[field])}")
    base = f"{prefix}_golden_base"
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {base} AS SELECT {', '.join(select)} FROM {members}",
        [priority] if priority else None,
    )

    # Most entities are one record: only the others need ranking and aggregation.
    by_role = _column_roles(columns)
    frequent = sorted({role for role, chain in by_role.values() if "most_frequent" in chain})
    windows = [
        f"count({quote(role)}) OVER (PARTITION BY entity_id, {quote(role)}) "
        f"AS {quote(role + '__freq')}"
        for role in frequent
    ]
    multi = f"{prefix}_golden_multi"
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {multi} AS SELECT *{''.join(', ' + w for w in windows)} "
        f"FROM {base} WHERE _size > 1",
    )

    def list_form(role: str) -> str:
        standard = _STANDARD_FORM.get(role)
        value = quote(role)
        return f"coalesce({quote(standard)}, {value})" if standard and has(standard) else value

    aggregates = [
        "entity_id",
        "count(*) AS n_records",
        "list(record_id ORDER BY rid) AS record_ids",
    ]
    singles = ["entity_id", "1 AS n_records", "[record_id] AS record_ids"]
    chosen_columns = []
    for column, (role, chain) in by_role.items():
        value = quote(role)
        if chain == ("union",):
            form = list_form(role)
            aggregates.append(f"list_sort(list_distinct(list({form}))) AS {quote(column)}")
            singles.append(
                f"CASE WHEN {value} IS NULL THEN []::VARCHAR[] ELSE [{form}] END AS {quote(column)}"
            )
            continue
        key = f"CASE WHEN {value} IS NOT NULL THEN {_ranking_key(column, role, chain, has)} END"
        aggregates.append(f"arg_max({value}, {key}) AS {quote(column)}")
        # The key ends in the record's rid: its maximum names the record chosen.
        aggregates.append(f"{_RID_MASK} - max({key}) % {_RID_SPAN} AS {quote(column + '__from')}")
        singles.append(f"{value} AS {quote(column)}")
        chosen_columns.append(column)
    golden_multi = f"{prefix}_golden_wide"
    golden = f"{prefix}_golden"
    from_columns = [quote(c + "__from") for c in chosen_columns]
    exclude = f" EXCLUDE ({', '.join(from_columns)})" if from_columns else ""
    _in_passes(
        con,
        base,
        [
            (
                f"TEMP TABLE {golden_multi}",
                f"SELECT {', '.join(aggregates)} FROM {multi} WHERE {{part}} GROUP BY entity_id",
            ),
            (
                f"TABLE {golden}",
                f"SELECT * FROM (SELECT *{exclude} FROM {golden_multi} WHERE {{part}} "
                f"UNION ALL BY NAME SELECT {', '.join(singles)} FROM {base} "
                "WHERE _size = 1 AND {part}) ORDER BY entity_id",
            ),
        ],
    )

    lineage_name = (
        _lineage_view(con, prefix, base, golden_multi, fields, chosen_columns, by_role)
        if lineage
        else None
    )
    for table in (base, multi, golden_multi):
        run(con, f"DROP TABLE IF EXISTS {table}")
    return GoldenTables(
        golden=golden,
        lineage=lineage_name,
        columns=columns,
        settings=settings_json(rules, source_priority),
    )


# -- helpers ------------------------------------------------------------------------------


def _lineage_view(
    con: duckdb.DuckDBPyConnection,
    prefix: str,
    base: str,
    golden_multi: str,
    fields: Sequence[str],
    chosen_columns: Sequence[str],
    by_role: Mapping[str, tuple[str, tuple[str, ...]]],
) -> str:
    """The lineage of the golden records :func:`build` made (see :class:`GoldenTables`),
    from its tables ``base`` and ``golden_multi``; returns the view's name."""
    lineage_name = f"{prefix}_lineage"
    values = f"{prefix}_lineage_values"
    if not fields:
        run(
            con,
            f"CREATE OR REPLACE TABLE {values} (entity_id VARCHAR, field VARCHAR, value VARCHAR, "
            "record_id VARCHAR, source_dataset VARCHAR, chosen BOOLEAN)",
        )
    else:
        chosen = []
        for field in fields:
            sources = [
                f"b.rid = w.{quote(column + '__from')}"
                for column in chosen_columns
                if by_role[column][0] == field
            ]
            picked = " OR ".join(["b._size = 1", *sources]) if sources else "FALSE"
            chosen.append(
                f"b.{quote(field)}, CASE WHEN b.{quote(field)} IS NOT NULL "
                f"THEN coalesce({picked}, FALSE) END AS {quote(field + '__chosen')}"
            )
        pairs = ", ".join(f"({quote(f)}, {quote(f + '__chosen')}) AS {quote(f)}" for f in fields)
        run(
            con,
            f"""
            CREATE OR REPLACE TABLE {values} AS
            UNPIVOT (
                SELECT b.entity_id, b.record_id, b.source_dataset, {", ".join(chosen)}
                FROM {base} b LEFT JOIN {golden_multi} w USING (entity_id)
            )
            ON {pairs} INTO NAME field VALUE value, chosen
            """,
        )
    # Role and rule names only: both checked against fixed lists in _columns.
    rule_rows = ", ".join(
        f"('{role}', '{column}: {' > '.join(chain)}')" for column, (role, chain) in by_role.items()
    )
    rule_values = (
        f"VALUES {rule_rows}" if rule_rows else "SELECT NULL::VARCHAR, NULL::VARCHAR WHERE FALSE"
    )
    run(
        con,
        f"""
        CREATE OR REPLACE VIEW {lineage_name} AS
        WITH rules (field, rule) AS ({rule_values}),
             per_field AS (SELECT field, string_agg(rule, '; ' ORDER BY rule) AS rule
                           FROM rules GROUP BY field)
        SELECT v.entity_id, v.field, v.value, v.record_id, v.source_dataset, v.chosen, p.rule
        FROM {values} v LEFT JOIN per_field p USING (field)
        """,
    )
    return lineage_name


def _columns(
    fields: Sequence[str], rules: Mapping[str, str | Sequence[str] | None] | None
) -> dict[str, tuple[str, ...]]:
    """Golden column -> rule chain, for the roles present."""
    columns: dict[str, tuple[str, ...]] = {}
    for column, chain in DEFAULT_RULES.items():
        if _role_of(column) in fields:
            columns[column] = chain
    for field in fields:  # roles without a default: most recent
        columns.setdefault(field, ("most_recent",))
    for column, chain in (rules or {}).items():
        role = _role_of(column)
        if role not in fields and column not in fields:
            raise ConfigError(
                f"survivorship rule for {column!r}: no such role in the input "
                f"(roles present: {', '.join(sorted(fields))})"
            )
        if chain is None:
            columns.pop(column, None)
            continue
        chain = (chain,) if isinstance(chain, str) else tuple(chain)
        unknown = [r for r in chain if r not in RULES]
        if unknown or not chain or ("union" in chain and len(chain) > 1):
            raise ConfigError(
                f"survivorship rule for {column!r} must be one of {', '.join(RULES)} or a "
                f"list of them ('union' alone), not {chain!r}"
            )
        columns[column] = chain
    return columns


def _role_of(column: str) -> str:
    return column[: -len("_all")] if column.endswith("_all") else column


def _column_roles(columns: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {column: (_role_of(column), chain) for column, chain in columns.items()}


# Each rule's rank as a non-negative integer of a fixed width; a column's chain packs them,
# most significant first, into one HUGEINT (fast to compare, unlike a struct), ending with
# the record's rid so that the maximum names the record chosen.
_WIDTHS = {
    "valid_first": 1,
    "most_recent": 35,
    "earliest": 35,
    "most_complete": 6,
    "most_frequent": 20,
    "source_priority": 8,
    "longest": 12,
}
#: Memory one record takes while its entity's golden record is aggregated and sorted
#: (list and arg_max states of ~20 columns), generously: what sets the first guess of
#: passes (:func:`_passes`, over every record). Measured on a million generated leads in
#: pairs: 1,500 ran out of 400 MB, 6,000 did not; under the default 1.5 GB a million
#: records take 4 passes (golden records 10.6-14.5 s in the runs of 2026-12-02).
_BYTES_PER_MEMBER = 6000


#: Most passes the golden records are tried in before they give up on the memory limit.
_MAX_PASSES = 1024


def _in_passes(
    con: duckdb.DuckDBPyConnection, base: str, tables: Sequence[tuple[str, str]]
) -> None:
    """Create ``tables`` (``("[TEMP] TABLE name", "SELECT ... {part} ...")``, in order)
    over the entities of ``base`` in passes, each over one range of entity ids (``{part}``
    filters a select to it), appending to the tables the first pass creates: a table
    sorted by entity within each pass is sorted whole.

    DuckDB cannot spill the states of list() and arg_max(), and sorting rows that hold
    lists runs out of memory before it spills: as many passes as the memory limit needs
    (one below about a million records), and twice as many while DuckDB runs out of
    memory all the same (what else the connection holds takes part of the limit: at five
    million leads, a run's own tables did). Outside a transaction only: inside one, the
    first failure ends it."""
    passes = _passes(con, base)
    while True:
        ranges = _entity_ranges(con, base, passes)
        try:
            for number, (low, high) in enumerate(ranges):
                conditions = [f"entity_id >= {literal(low)}"] if low is not None else []
                if high is not None:
                    conditions.append(f"entity_id < {literal(high)}")
                part = " AND ".join(conditions) or "TRUE"
                for table, select in tables:
                    select = select.replace("{part}", part)
                    if number == 0:
                        run(con, f"CREATE OR REPLACE {table} AS {select}")
                    else:
                        run(con, f"INSERT INTO {table.split()[-1]} {select}")
            return
        except duckdb.OutOfMemoryException as exc:
            try:
                limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            except duckdb.Error:
                raise exc from None  # the failure ended a transaction: nothing to retry in
            if passes * 2 > _MAX_PASSES:
                raise ConfigError(
                    f"golden records ran out of DuckDB's memory limit ({limit}) even in "
                    f"{passes} passes: raise memory_limit (link(..., memory_limit=...), the "
                    f"CLI's --memory-limit or LINKAGE_MEMORY_LIMIT). DuckDB said: {exc}"
                ) from exc
            logger.info(
                "golden records: out of memory (limit %s) in %d pass(es); trying %d",
                limit,
                passes,
                passes * 2,
            )
            passes *= 2


def _entity_ranges(
    con: duckdb.DuckDBPyConnection, base: str, passes: int
) -> list[tuple[str | None, str | None]]:
    """``passes`` ranges ``[low, high)`` of the entity ids of ``base`` (None: open), of
    about as many records each, from a sample (fewer when the ids are few)."""
    if passes <= 1:
        return [(None, None)]
    sample = sorted(
        {
            r[0]
            for r in con.execute(
                f"SELECT entity_id FROM {base} USING SAMPLE reservoir({200 * passes} ROWS) "
                "REPEATABLE (7)"
            ).fetchall()
        }
    )
    bounds = sorted({sample[len(sample) * k // passes] for k in range(1, passes)} - {sample[0]})
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def _passes(con: duckdb.DuckDBPyConnection, members: str) -> int:
    """How many passes the golden records of ``members`` need to stay within the
    connection's memory limit (a first guess: see :func:`_in_passes`)."""
    rows = int(con.execute(f"SELECT count(*) FROM {members}").fetchall()[0][0])
    setting = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    try:
        limit = _memory.parse_size(str(setting))
    except ConfigError:  # an unlimited or unreadable setting
        return 1
    return max(1, -(-rows * _BYTES_PER_MEMBER // limit))


_RID_BITS = 32
_RID_SPAN = f"CAST({2**_RID_BITS} AS HUGEINT)"
_RID_MASK = f"CAST({2**_RID_BITS - 1} AS HUGEINT)"


def _ranking_key(column: str, role: str, chain: Sequence[str], has) -> str:
    """A HUGEINT that orders a role's values best last (for ``arg_max``)."""
    parts = list(chain) + ([] if "most_recent" in chain else ["most_recent"])
    if sum(_WIDTHS[r] for r in parts) + _RID_BITS > 127:
        parts = list(chain)
    bits = sum(_WIDTHS[r] for r in parts) + _RID_BITS
    if bits > 127:
        raise ConfigError(
            f"survivorship rule chain for {column!r} is too long to rank ({' > '.join(chain)}): "
            "use at most two time-based rules (most_recent, earliest)"
        )
    key = "CAST(0 AS HUGEINT)"
    for rule in parts:
        width = _WIDTHS[rule]
        cap = 2**width - 1
        if rule == "valid_first":
            valid = f"{role}_valid"
            rank = quote(valid) if has(valid) else "0"
        elif rule == "most_recent":
            rank = "_recency"
        elif rule == "earliest":
            rank = f"{cap} - _created"
        elif rule == "most_complete":
            rank = f"least(_complete, {cap})"
        elif rule == "most_frequent":
            rank = f"least({quote(role + '__freq')}, {cap})"
        elif rule == "source_priority":
            rank = f"{cap} - least(_source_rank, {cap})"
        else:  # longest
            rank = f"least(length({quote(role)}), {cap})"
        key = f"({key} * CAST({2**width} AS HUGEINT) + {rank})"
    return f"({key} * {_RID_SPAN} + ({_RID_MASK} - rid))"


def _seconds(column: str | None, name: str) -> str:
    """Seconds since 1698 (so 35 bits reach 2787): 0 when missing."""
    if column is None:
        return f"CAST(0 AS BIGINT) AS {name}"
    return (
        f"coalesce(least(greatest(CAST(epoch({column}) AS BIGINT) + {2**33}, 0), {2**35 - 1}), 0) "
        f"AS {name}"
    )


def _completeness(fields: Sequence[str]) -> str:
    if not fields:
        return "0 AS _complete"
    terms = [
        f"CAST(nullif(trim(CAST({quote(f)} AS VARCHAR)), '') IS NOT NULL AS INTEGER)"
        for f in fields
    ]
    return "(" + " + ".join(terms) + ") AS _complete"


def _source_rank(priority: Sequence[str], has_channel: bool) -> str:
    """Rank of a record's input and channel in ``priority`` (unlisted: after all); the
    list itself is the statement's one parameter, ``$1``."""
    if not priority:
        return "0 AS _source_rank"
    n = len(priority) + 1
    by_input = f"coalesce(nullif(list_position($1, source_dataset), 0), {n})"
    if not has_channel:
        return f"{by_input} * {n} AS _source_rank"
    by_channel = f"coalesce(nullif(list_position($1, CAST(source AS VARCHAR)), 0), {n})"
    return f"{by_input} * {n} + {by_channel} AS _source_rank"


def _first_present(candidates: Sequence[str], has) -> str | None:
    present = [c for c in candidates if has(c)]
    if not present:
        return None
    return (
        "coalesce(" + ", ".join(quote(c) for c in present) + ")"
        if len(present) > 1
        else quote(present[0])
    )


#: The store's metadata key for the survivorship settings its golden records were built
#: with (JSON ``{"rules": ..., "source_priority": ...}``), from the run it was built from.
SETTINGS_KEY = "store_survivorship"


def stored_settings(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, object] | None, list | None]:
    """``(rules, source_priority)`` a record store's golden records are built with: those
    of the run it was built from (a store built before they were kept: the defaults)."""
    row = con.execute("SELECT value FROM linkage_meta WHERE key = ?", [SETTINGS_KEY]).fetchall()
    if not row or row[0][0] is None:
        return None, None
    settings = json.loads(row[0][0])
    return settings.get("rules"), settings.get("source_priority")


def settings_json(
    rules: Mapping[str, str | Sequence[str] | None] | None, source_priority: Sequence[str] | None
) -> str:
    """The value of :data:`SETTINGS_KEY` for these settings."""
    return json.dumps(
        {
            "rules": None if rules is None else dict(rules),
            "source_priority": None if source_priority is None else list(source_priority),
        },
        ensure_ascii=False,
    )


def member_columns(stored: Sequence[str]) -> list[str]:
    """The columns of a record store's ``store_records`` (``stored``, its columns) that
    survivorship reads."""
    return [
        c
        for c in stored
        if c in ("rid", "entity_id", "source_dataset", "record_id")
        or (c.startswith("raw_") and c != "raw_record_id")
        or c.endswith("_valid")
        or c in DERIVED_COLUMNS
    ]


def stored_rows(
    tx: duckdb.DuckDBPyConnection,
    columns: Sequence[str],
    entities: Sequence[str],
    rids: Sequence[int] | None = None,
) -> pa.Table:
    """``columns`` of the rows of a record store's ``store_records`` of these entities'
    members, and of these ``rids``, as an Arrow table."""
    tx.register("linkage_wanted_entities", pd.DataFrame({"entity_id": list(entities)}))
    tx.register("linkage_wanted_rids", pd.DataFrame({"rid": list(rids or [])}, dtype="int64"))
    try:
        # The rids first, from one column each: joined on the entity, DuckDB would read
        # every column of every record before the join drops most of them.
        return tx.sql(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM store_records WHERE rid IN "
            "(SELECT rid FROM store_records SEMI JOIN linkage_wanted_entities USING (entity_id) "
            "UNION ALL SELECT rid FROM linkage_wanted_rids)"
        ).to_arrow_table()
    finally:
        tx.unregister("linkage_wanted_entities")
        tx.unregister("linkage_wanted_rids")


def _stored_members(
    tx: duckdb.DuckDBPyConnection, entities: Sequence[str], source: str | None = None
) -> tuple[pa.Table, list[str]]:
    """The stored members of these entities (``store_records``, or ``source``: a table
    of some of its rows, among them every member, with at least :func:`member_columns`),
    with the columns survivorship reads, named as :func:`build` reads them (raw values by
    role); and the roles."""
    # Only the columns survivorship reads: the scan reads every stored record's values.
    stored = [r[0] for r in tx.execute("DESCRIBE store_records").fetchall()]
    if source is None:
        members = stored_rows(tx, member_columns(stored), entities)
    else:
        tx.register("linkage_wanted_entities", pd.DataFrame({"entity_id": list(entities)}))
        try:
            members = tx.sql(
                f"SELECT {', '.join(quote(c) for c in member_columns(stored))} FROM {source} "
                "SEMI JOIN linkage_wanted_entities USING (entity_id) ORDER BY rid"
            ).to_arrow_table()
        finally:
            tx.unregister("linkage_wanted_entities")
    raw = [c for c in members.column_names if c.startswith("raw_") and c != "raw_record_id"]
    renamed = members.rename_columns([c[4:] if c in raw else c for c in members.column_names])
    roles = [c[4:] for c in raw]
    derived = [c for c in members.column_names if c.endswith("_valid")] + [
        c for c in DERIVED_COLUMNS if c in members.column_names
    ]
    keep = ["rid", "entity_id", "source_dataset", "record_id", *roles, *derived]
    keep = list(dict.fromkeys(c for c in keep if c in renamed.column_names))
    return renamed.select(keep), roles


def _survive(
    tx: duckdb.DuckDBPyConnection, members: pa.Table, roles: list[str], lineage: bool
) -> tuple[pa.Table, pa.Table | None]:
    """Golden records (and with ``lineage``, their lineage) of stored members, built on
    a scratch connection by the store's survivorship settings."""
    rules, priority = stored_settings(tx)
    scratch = _memory.connect()  # held to the memory limit, spilling like a run
    try:
        scratch.register("members_frame", members)  # read once, as it is
        tables = build(
            scratch,
            "members_frame",
            roles,
            rules=rules,
            source_priority=priority,
            prefix="store_build",
            lineage=lineage,
        )
        golden = scratch.sql(f"SELECT * FROM {tables.golden}").to_arrow_table()
        found = scratch.sql(f"SELECT * FROM {tables.lineage}").to_arrow_table() if lineage else None
    finally:
        scratch.close()
    return golden, found


def stored_lineage(con: duckdb.DuckDBPyConnection, entity_id: str) -> pd.DataFrame:
    """Where each golden value of a stored entity came from: built from its members on
    request, by the rules its golden record was built with (the store keeps no lineage
    table: rewriting an entity's rows at each write cost an import a tenth of its time)."""
    members, roles = _stored_members(con, [entity_id])
    columns = ["entity_id", "field", "value", "record_id", "source_dataset", "chosen", "rule"]
    if members.num_rows == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    _, lineage = _survive(con, members, roles, lineage=True)
    frame = lineage.to_pandas()
    return frame.sort_values(["field", "record_id"], kind="stable", ignore_index=True)


def rebuild_stored(
    tx: duckdb.DuckDBPyConnection, entities: list[str], source: str | None = None
) -> pa.Table | None:
    """Golden records of these entities in the record store's table ``store_golden``,
    from their members in ``store_records`` (read from ``source``, when the caller read
    them already: see :func:`_stored_members`), inside the caller's transaction ``tx``;
    an entity left without members loses its row. Lineage is not stored: see
    :func:`stored_lineage` (a store built before that loses its ``store_lineage`` table
    here, at its first write).

    Returns the golden rows written (an Arrow table of ``store_golden``'s columns and
    types, as a read of them would give: the store holds them in memory without reading
    the table again, a scan of every column of every entity)."""
    if not entities:
        return None
    run(tx, "DROP TABLE IF EXISTS store_lineage")
    members, roles = _stored_members(tx, entities, source)
    tx.register("touched_entities", pd.DataFrame({"entity_id": entities}))
    try:
        run(
            tx,
            "DELETE FROM store_golden WHERE entity_id IN (SELECT entity_id FROM touched_entities)",
        )
    finally:
        tx.unregister("touched_entities")
    if members.num_rows == 0:  # every member erased: the entity is gone
        return None
    golden, _ = _survive(tx, members, roles, lineage=False)
    # The rows as the table types them (what INSERT ... BY NAME would cast them to), so
    # that the rows inserted are the rows returned.
    tx.register("new_golden", golden)
    target = tx.execute("DESCRIBE store_golden").fetchall()
    have = set(golden.column_names)
    typed = tx.sql(
        "SELECT "
        + ", ".join(
            f"CAST({quote(c) if c in have else 'NULL'} AS {kind}) AS {quote(c)}"
            for c, kind, *_ in target
        )
        + " FROM new_golden"
    ).to_arrow_table()
    tx.unregister("new_golden")
    tx.register("new_golden", typed)
    run(tx, "INSERT INTO store_golden SELECT * FROM new_golden")
    tx.unregister("new_golden")
    return typed
