"""Blocking: which pairs of records are compared at all.

A blocking rule names standardized columns whose values must be equal for a pair to be a
candidate (``mobile_e164``; ``person_name_key`` + ``company_core``). Default rules are chosen
from the roles present. Each rule becomes one key column in the working table, and a key
value shared by more than ``max_block_size`` records (a switchboard number, a placeholder
``13800000000``, ``test@test.com``) is left out of that rule's key, so one bad value cannot
explode the number of pairs; the values left out are reported. Splink then blocks on the
key columns, and its blocking analysis counts the pairs before anything is scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import duckdb

from linkage._sql import quote, run
from linkage.errors import ConfigError


@dataclass(frozen=True)
class BlockingRule:
    """Records are candidates when they agree exactly on every column of the rule.

    Attributes:
        name: a short name used in reports and in the key column ``block_<name>``.
        columns: standardized columns (as derived by :mod:`linkage.standardize`).
        roles: roles that must be present for the rule to apply.
        loose: a rule that finds pairs the strict rules miss (typos everywhere) at the cost
            of many more pairs; used only while the total stays within the pair budget.
    """

    name: str
    columns: tuple[str, ...]
    roles: tuple[str, ...]
    loose: bool = False

    @property
    def key_column(self) -> str:
        return f"block_{self.name}"


#: The default rules, most specific first. A rule applies when all its roles are present.
DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("mobile", ("mobile_e164",), ("mobile",)),
    BlockingRule("email", ("email_clean",), ("email",)),
    BlockingRule("wechat", ("wechat_unionid_clean",), ("wechat_unionid",)),
    BlockingRule("credit_code", ("credit_code_clean",), ("credit_code",)),
    BlockingRule("national_id", ("national_id_clean",), ("national_id",)),
    BlockingRule("name_company", ("person_name_key", "company_core"), ("person_name", "company")),
    BlockingRule("name_city", ("person_name_key", "city_clean"), ("person_name", "city")),
    BlockingRule("name_dob", ("person_name_key", "dob_date"), ("person_name", "dob")),
    BlockingRule("phone_surname", ("phone_e164", "person_surname"), ("phone", "person_name")),
    # Budgeted: common local parts (info, sales, admin) times a common surname make blocks
    # of hundreds; on a million generated leads it brought 15.6 million pairs for 23 true ones.
    BlockingRule(
        "email_local_surname",
        ("email_local", "person_surname"),
        ("email", "person_name"),
        loose=True,
    ),
    BlockingRule(
        "first_last", ("first_name_clean", "last_name_clean"), ("first_name", "last_name")
    ),
    BlockingRule("last_dob", ("last_name_clean", "dob_date"), ("last_name", "dob")),
    BlockingRule("first_dob", ("first_name_clean", "dob_date"), ("first_name", "dob")),
    BlockingRule("postcode_last", ("postcode_clean", "last_name_clean"), ("postcode", "last_name")),
    BlockingRule(
        "postcode_first", ("postcode_clean", "first_name_clean"), ("postcode", "first_name")
    ),
    BlockingRule("dob_city", ("dob_date", "city_clean"), ("dob", "city")),
    BlockingRule("dob_birth_place", ("dob_date", "birth_place_clean"), ("dob", "birth_place")),
    BlockingRule(
        "last_birth_place", ("last_name_clean", "birth_place_clean"), ("last_name", "birth_place")
    ),
    BlockingRule(
        "last_birth_year", ("last_name_clean", "birth_year_clean"), ("last_name", "birth_year")
    ),
    BlockingRule("address_last", ("address_clean", "last_name_clean"), ("address", "last_name")),
    BlockingRule("company_only_name", ("company_core",), ("company",)),
    # Loose rules, added in this order while the pair budget allows.
    BlockingRule("surname_city", ("person_surname", "city_clean"), ("person_name", "city"), True),
    BlockingRule("name", ("person_name_key",), ("person_name",), True),
    BlockingRule("last_name", ("last_name_clean",), ("last_name",), True),
    BlockingRule("first_name", ("first_name_clean",), ("first_name",), True),
    BlockingRule("dob", ("dob_date",), ("dob",), True),
    BlockingRule("email_local", ("email_local",), ("email",), True),
    BlockingRule("postcode", ("postcode_clean",), ("postcode",), True),
    BlockingRule("address", ("address_clean",), ("address",), True),
)

#: Organization-level rules (accounts, sites): the organization's own identifiers, its
#: name, its address; loose rules on a name word within a postcode or city.
ORGANIZATION_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("credit_code", ("credit_code_clean",), ("credit_code",)),
    BlockingRule("website", ("website_domain",), ("website",)),
    BlockingRule("phone", ("phone_e164",), ("phone",)),
    BlockingRule("mobile", ("mobile_e164",), ("mobile",)),
    BlockingRule("email_domain", ("company_domain",), ("email",)),
    BlockingRule("company", ("company_core",), ("company",)),
    BlockingRule("address", ("address_clean",), ("address",)),
    BlockingRule("address_number_street", ("address_number", "address_street"), ("address",)),
    BlockingRule("phone_tail", ("phone_tail",), ("phone",)),
    BlockingRule("mobile_tail", ("mobile_tail",), ("mobile",)),
    BlockingRule(
        "company_postcode", ("company_first_token", "postcode_clean"), ("company", "postcode"), True
    ),
    BlockingRule("company_city", ("company_first_token", "city_clean"), ("company", "city"), True),
    BlockingRule("address_street", ("address_street",), ("address",), True),
    BlockingRule("company_token", ("company_first_token",), ("company",), True),
)

#: Organization level, training: deterministic rules for the prior (an identifier, or name
#: and address together) and the EM passes, most useful first.
ORGANIZATION_PRIOR_RULES: tuple[tuple[str, ...], ...] = (
    ("credit_code_clean",),
    ("company_core", "address_clean"),
    ("company_core", "phone_e164"),
    ("company_core", "website_domain"),
    ("company_core", "postcode_clean"),
)
#: Columns derived from one field: an EM pass that blocks on one of them while a comparison
#: reads another of the same field would "learn" that the field always agrees.
ORGANIZATION_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"company_core", "company_clean", "company_tokens", "company_first_token"}),
    frozenset({"address_clean", "address_number", "address_street", "address_unit"}),
    frozenset({"phone_e164", "phone_tail", "mobile_e164", "mobile_tail"}),
    frozenset({"website_domain", "company_domain", "email_clean", "email_domain"}),
)
ORGANIZATION_EM_PASSES: tuple[tuple[str, ...], ...] = (
    ("phone_tail",),
    ("address_number", "address_street"),
    ("company_core",),
    ("credit_code_clean",),
    ("website_domain",),
    ("postcode_clean",),
    ("address_clean",),
    ("city_clean",),
)

# Company alone is a last resort: used only when there is no person-level column at all.
_FALLBACK_ONLY = {"company_only_name"}
_PERSON_ROLES = {"person_name", "first_name", "last_name", "mobile", "email", "wechat_unionid"}


def default_rules(
    roles: Iterable[str], level: str = "person", columns: Iterable[str] | None = None
) -> list[BlockingRule]:
    """The default rules that apply to the roles present (and, when ``columns`` is given,
    whose columns the standardizer derived)."""
    roles = set(roles)
    if level == "organization":
        available = set(columns) if columns is not None else None
        rules = [
            r
            for r in ORGANIZATION_RULES
            if set(r.roles) <= roles and (available is None or set(r.columns) <= available)
        ]
        if rules:
            return rules
    # A full name folds first/last into person_name; rules on the parts would be redundant.
    if "person_name" in roles:
        roles -= {"first_name", "last_name"}
    rules = [r for r in DEFAULT_RULES if set(r.roles) <= roles and r.name not in _FALLBACK_ONLY]
    if not roles & _PERSON_ROLES:
        rules += [r for r in DEFAULT_RULES if r.name in _FALLBACK_ONLY and set(r.roles) <= roles]
    if not rules:
        raise ConfigError(
            f"no default blocking rule fits the roles present ({', '.join(sorted(roles))}); "
            "pass blocking_rules=[linkage.BlockingRule(...)]"
        )
    return rules


@dataclass
class BlockingReport:
    """What blocking will do, measured before scoring.

    Attributes:
        pairs_per_rule: rule name -> candidate pairs that rule alone generates.
        total_pairs: candidate pairs after removing pairs found by an earlier rule
            (splink's cumulative count).
        guarded: one entry per value left out of a rule's key: rule, value, records.
        skipped: loose rules left out because they would exceed the pair budget.
        block_cap: when the strict rules alone made more pairs than the pair budget, the
            largest block they kept (bigger ones were left out), else None.
        capped: rule -> (values, records) its blocks over ``block_cap`` held.
    """

    pairs_per_rule: dict[str, int] = field(default_factory=dict)
    total_pairs: int | None = None
    guarded: list[dict[str, object]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    block_cap: int | None = None
    capped: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def pairs_upper_bound(self) -> int:
        """Sum over rules (a pair found by two rules counts twice)."""
        return sum(self.pairs_per_rule.values())

    def describe(self) -> str:
        lines = [f"  {name:<20} {n:>12,} pairs" for name, n in self.pairs_per_rule.items()]
        if self.total_pairs is not None:
            lines.append(f"  {'total (distinct)':<20} {self.total_pairs:>12,} pairs")
        for g in self.guarded[:10]:
            lines.append(
                f"  guard: {g['rule']} value {g['value']!r} is shared by {g['records']:,} "
                "records; not used for blocking (it would make too many pairs)"
            )
        if len(self.guarded) > 10:
            lines.append(f"  guard: ... and {len(self.guarded) - 10} more values")
        if self.block_cap is not None:
            held = ", ".join(
                f"{rule} {values:,} values ({records:,} records)"
                for rule, (values, records) in self.capped.items()
            )
            lines.append(
                f"  over the pair budget: blocks of more than {self.block_cap:,} records left "
                f"out: {held}"
            )
        if self.skipped:
            lines.append(f"  over the pair budget, not used: {', '.join(self.skipped)}")
        return "\n".join(lines)


def key_expression(rule: BlockingRule) -> str:
    """The SQL expression of a rule's key: its columns joined by ``|``, NULL when any is
    NULL (the incremental store computes keys of new records with the same expression)."""
    parts = ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c in rule.columns)
    not_null = " AND ".join(f"{quote(c)} IS NOT NULL" for c in rule.columns)
    value = f"concat_ws('|', {parts})" if len(rule.columns) > 1 else parts
    return f"CASE WHEN {not_null} THEN {value} END"


def add_block_keys(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: Sequence[BlockingRule],
    *,
    max_block_size: int,
    pair_budget: int | None = None,
    source: str | None = None,
) -> tuple[list[BlockingRule], BlockingReport]:
    """Add one ``block_<rule>`` key column per rule to ``table`` (in place, in DuckDB).

    A key is NULL when any of its columns is NULL or when the key value is shared by more
    than ``max_block_size`` records. Loose rules are kept only while the pairs of all
    rules kept so far stay within ``pair_budget``. When the strict rules alone make more,
    their biggest blocks are left out too, down to the largest block size at which they
    fit (blocks grow with the data: at five million leads a name within a city makes
    blocks of hundreds). Table and column names here are ``linkage``'s own internal
    names, never a user's. With ``source``, ``table`` is created
    from that table or view with the keys added (one copy instead of two).

    Returns:
        the rules kept, and the report.
    """
    if max_block_size < 2:
        raise ConfigError(f"max_block_size must be at least 2, got {max_block_size}")
    report = BlockingReport()
    existing = {row[0] for row in con.execute(f"DESCRIBE {source or table}").fetchall()}
    key_exprs = []
    for rule in rules:
        missing = [c for c in rule.columns if c not in existing]
        if missing:
            raise ConfigError(
                f"blocking rule {rule.name!r} needs column(s) {missing}, which the "
                f"standardized records do not have. Available: {sorted(existing)}"
            )
        key_exprs.append(f"{key_expression(rule)} AS {quote(rule.key_column)}")
    run(
        con,
        f"CREATE OR REPLACE TABLE {table} AS SELECT *, {', '.join(key_exprs)} "
        f"FROM {source or table}",
    )

    # One scan counts the block sizes of every rule: the big blocks are guarded, the rest
    # make the pair count.
    sizes = _block_sizes_sql(table, enumerate(rules))
    rows = con.execute(
        f"WITH sizes AS ({sizes}) "
        "SELECT rule, sum(CASE WHEN n <= $1 THEN n * (n - 1) // 2 ELSE 0 END), "
        "list(struct_pack(key := key, n := n) ORDER BY n DESC, key) FILTER (WHERE n > $1) "
        "FROM sizes GROUP BY rule",
        [max_block_size],
    ).fetchall()
    guarded_values: dict[str, list[str]] = {}
    for index, pairs, big in rows:
        rule = rules[index]
        report.pairs_per_rule[rule.name] = int(pairs or 0)
        if big:
            guarded_values[rule.key_column] = [item["key"] for item in big]
            report.guarded.extend(
                {"rule": rule.name, "value": item["key"], "records": item["n"]} for item in big
            )
    report.pairs_per_rule = {r.name: report.pairs_per_rule.get(r.name, 0) for r in rules}
    if guarded_values:
        replaced = ", ".join(
            f"CASE WHEN list_contains(${i + 1}, {quote(col)}) THEN NULL ELSE {quote(col)} END "
            f"AS {quote(col)}"
            for i, col in enumerate(guarded_values)
        )
        run(
            con,
            f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE ({replaced}) FROM {table}",
            list(guarded_values.values()),
        )
    running = sum(report.pairs_per_rule[r.name] for r in rules if not r.loose)
    if pair_budget is not None and running > pair_budget:
        _cap_blocks(con, table, rules, report, pair_budget)
        running = sum(report.pairs_per_rule[r.name] for r in rules if not r.loose)
    kept = []
    for rule in rules:
        if rule.loose:
            pairs = report.pairs_per_rule[rule.name]
            if pair_budget is not None and running + pairs > pair_budget:
                report.skipped.append(rule.name)
                del report.pairs_per_rule[rule.name]
                continue
            running += pairs
        kept.append(rule)
    return kept, report


def _block_sizes_sql(
    table: str, rules: Iterable[tuple[int, BlockingRule]], *, pairs_only: bool = False
) -> str:
    """``(rule, key, n)``: the records of each key value of each (index, rule), in one
    query; ``pairs_only``: only the values of two records or more."""
    having = " HAVING count(*) > 1" if pairs_only else ""
    return " UNION ALL ".join(
        f"SELECT {i} AS rule, {quote(r.key_column)} AS key, count(*) AS n FROM {table} "
        f"WHERE {quote(r.key_column)} IS NOT NULL GROUP BY 2{having}"
        for i, r in rules
    )


def _cap_blocks(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: Sequence[BlockingRule],
    report: BlockingReport,
    pair_budget: int,
) -> None:
    """Leave out the strict rules' biggest blocks: every block of more records than the
    largest size at which their pairs stay within ``pair_budget`` (one size for all rules,
    so the rule of the biggest blocks gives up most). Updates ``report``."""
    strict = [(i, r) for i, r in enumerate(rules) if not r.loose]
    sizes = _block_sizes_sql(table, strict, pairs_only=True)
    run(con, f"CREATE OR REPLACE TEMP TABLE linkage_block_sizes AS {sizes}")
    try:
        histogram = con.execute(
            "SELECT n, sum(n * (n - 1) // 2) FROM linkage_block_sizes GROUP BY n ORDER BY n"
        ).fetchall()
        cap, total = 1, 0
        for n, pairs in histogram:
            if total + int(pairs) > pair_budget:
                break
            cap, total = int(n), total + int(pairs)
        over = con.execute(
            "SELECT rule, count(*), sum(n) FROM linkage_block_sizes WHERE n > $1 "
            "GROUP BY rule ORDER BY rule",
            [cap],
        ).fetchall()
        kept_pairs = dict(
            con.execute(
                "SELECT rule, sum(n * (n - 1) // 2) FROM linkage_block_sizes WHERE n <= $1 "
                "GROUP BY rule",
                [cap],
            ).fetchall()
        )
        replaced, joins = [], []
        for index, values, records in over:
            rule = rules[index]
            column, alias = quote(rule.key_column), f"linkage_cap_{index}"
            replaced.append(f"CASE WHEN {alias}.key IS NULL THEN t.{column} END AS {column}")
            joins.append(
                f"LEFT JOIN (SELECT key FROM linkage_block_sizes WHERE rule = {index} AND "
                f"n > {cap}) {alias} ON t.{column} = {alias}.key"
            )
            report.capped[rule.name] = (int(values), int(records))
        run(
            con,
            f"CREATE OR REPLACE TABLE {table} AS SELECT t.* REPLACE ({', '.join(replaced)}) "
            f"FROM {table} t {' '.join(joins)} ORDER BY t.rowid",
        )
    finally:
        run(con, "DROP TABLE IF EXISTS linkage_block_sizes")
    report.block_cap = cap
    for index, rule in strict:
        report.pairs_per_rule[rule.name] = int(kept_pairs.get(index, 0))


def block_on_key(rule: BlockingRule) -> dict[str, str]:
    """The splink blocking rule (as a dict) for a rule's key column."""
    return {"blocking_rule": f'l."{rule.key_column}" = r."{rule.key_column}"'}
