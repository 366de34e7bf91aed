"""Scoring a form check's few pairs in Python, from the model's own parameters (internal).

Why: DuckDB binds and plans splink's scoring statement again on every execution (about
13 ms, half of a check at a million stored records), for a handful of pairs. Here the
same model is evaluated in Python: each comparison level's SQL condition and each routing
rule's ``when`` are parsed once with sqlglot (the parser splink uses) and compiled to
Python source with SQL's NULL semantics (three-valued logic, NULL in, NULL out), one
function per comparison that returns the pair's level; the weights, the term-frequency
adjustments and the prior are the numbers splink writes into its prediction SQL
(:func:`linkage._splink.comparison_weights`), summed in the same order; the decision
follows :func:`linkage.decisions.decision_query` step by step.

splink's SQL stays the reference: ``tests/test_fast_scoring.py`` proves the two equal (the
same level for every comparison, the same decision and reason, weights within 1e-9) on
generated people and organizations. Whatever this module cannot reproduce exactly, it
refuses rather than approximates:

* a level or rule using SQL outside the small registry below is not compiled
  (:func:`compile_scorer` returns None, with the reason logged at debug): the store scores
  that model with SQL;
* a value of a type the compiled SQL would have cast (a number in a text column), or a
  regular expression built from data in a syntax where RE2 and Python's ``re`` may
  differ, raises :class:`FastUnsupported` for that one check, which the store then scores
  with SQL.

DuckDB's own functions are checked against this module's once per process
(:func:`_calibrated`): ``jaro_winkler_similarity`` is rapidfuzz's Jaro similarity with
DuckDB's Winkler step, whose multiply-add the DuckDB build may or may not fuse (the one
on the development machine does: a naive ``s + p * 0.1 * (1 - s)`` differs in the last
bit for 0.4% of pairs, enough to move a pair across ``>= 0.92``). A DuckDB whose answers
match neither form leaves every model on SQL.

A compiled scorer holds no state that changes: many threads may score with it at once.
"""

from __future__ import annotations

import logging
import math
import operator
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from linkage import _splink, decisions

logger = logging.getLogger("linkage")

Row = Mapping[str, Any]
# A compiled expression: (left row, right row) -> a value, None for SQL NULL.
Compiled = Callable[[Row, Row], Any]


class FastUnsupported(Exception):
    """A pair the fast path cannot score exactly as SQL would: score it with SQL."""


class _NotCompilable(Exception):
    """SQL outside what this module reproduces."""


@dataclass(frozen=True)
class FastPair:
    """One scored pair: splink's outputs plus the decision. ``levels``: the position of
    each comparison's level in its list (two null levels share gamma -1)."""

    gammas: tuple[int, ...]
    levels: tuple[int, ...]
    match_weight: float
    match_probability: float
    decision: str
    reason: str


@dataclass(frozen=True)
class _Level:
    gamma: int
    weight: float
    tf_column: str | None
    tf_weight: float
    tf_minimum_u: float
    log2_u_exact: float


@dataclass(frozen=True)
class _Comparison:
    name: str
    levels: tuple[_Level, ...]
    has_tf: bool
    agree: frozenset[int]
    conflict: frozenset[int]
    # (left row, right row) -> the position of the pair's level in ``levels``.
    first: Callable[[Row, Row], int]


@dataclass(frozen=True)
class _Rule:
    when: Compiled
    action: str
    target: int
    min_weight: float | None
    decision: str
    reason: str


class FastScorer:
    """A model and its decision policy, compiled to Python (see the module docstring).

    Rows are mappings from the store's column names (the payload's, typed as
    :func:`typed_row` makes them, plus ``tf_<column>`` and ``<phone>_shared``) to values.
    """

    def __init__(
        self,
        prior: float,
        comparisons: tuple[_Comparison, ...],
        thresholds: decisions.Thresholds,
        rules: tuple[_Rule, ...],
    ) -> None:
        self.prior = prior
        self.comparisons = comparisons
        self.names = tuple(c.name for c in comparisons)
        self.review = float(thresholds.review)
        self.auto_merge = float(thresholds.auto_merge)
        self.rules = rules
        self._flag_keys = tuple((f"agree_{c.name}", f"conflict_{c.name}") for c in comparisons)

    def score(self, left: Row, right: Row) -> FastPair:
        """Score and decide one pair, as splink's SQL and the decision query would.

        Raises:
            FastUnsupported: a value this module cannot treat exactly as SQL does.
        """
        weight = self.prior
        gammas = []
        positions = []
        flags: dict[str, Any] = {}
        for comparison, (agree, conflict) in zip(self.comparisons, self._flag_keys):
            position = comparison.first(left, right)
            level = comparison.levels[position]
            gamma = level.gamma
            gammas.append(gamma)
            positions.append(position)
            weight = weight + level.weight
            if comparison.has_tf:
                weight = weight + _tf_adjustment(level, left, right)
            flags[agree] = gamma in comparison.agree
            flags[conflict] = gamma in comparison.conflict
        if weight >= 0:
            probability = 1.0 / (1.0 + math.pow(2.0, -weight))
        else:
            power = math.pow(2.0, weight)
            probability = power / (1.0 + power)
        decision, reason = self._decide(weight, flags)
        return FastPair(tuple(gammas), tuple(positions), weight, probability, decision, reason)

    def _decide(self, weight: float, flags: dict[str, Any]) -> tuple[str, str]:
        if weight >= self.auto_merge:
            decision, reason = "auto_merge", "score at or above auto_merge threshold"
        elif weight >= self.review:
            decision, reason = "review", "score in review band"
        else:
            decision, reason = "distinct", "score below review threshold"
        flags["match_weight"] = weight
        for rule in self.rules:
            fires = rule.when(flags, flags)
            if fires is False:
                continue
            if rule.min_weight is not None:
                fires = _and(fires, weight >= rule.min_weight)
            rank = _RANK[decision]
            moves = rank > rule.target if rule.action == "cap" else rank < rule.target
            if fires is True and moves:
                decision, reason = rule.decision, rule.reason
        return decision, reason


_RANK = {d: i for i, d in enumerate(decisions.DECISIONS)}


def _tf_adjustment(level: _Level, left: Row, right: Row) -> float:
    """splink's ``mw_tf_adj_<comparison>`` for the pair's level."""
    if level.tf_column is None:
        return 0.0
    key = f"tf_{level.tf_column}"
    tf_l, tf_r = left.get(key), right.get(key)
    if tf_l is None and tf_r is None:
        return 0.0
    first = tf_l if tf_l is not None else tf_r
    second = tf_r if tf_r is not None else tf_l
    largest = max(float(first), float(second), level.tf_minimum_u)
    if largest <= 0:
        raise FastUnsupported("a term frequency of zero")
    return level.tf_weight * (level.log2_u_exact - math.log2(largest))


# -- compiling a model -----------------------------------------------------------------------


def compile_scorer(
    settings: dict[str, Any], policy: decisions.DecisionPolicy, types: Mapping[str, str]
) -> FastScorer | None:
    """The model (splink's settings dict) and its policy compiled, or None when any level
    or rule uses SQL this module does not reproduce (logged at debug: the store then
    scores with SQL). ``types``: the store's column -> DuckDB type."""
    if not _calibrated():
        logger.debug("fast scoring off: this DuckDB's functions differ from their Python twins")
        return None
    try:
        prior, weights = _splink.comparison_weights(settings)
        levels = decisions.agreement_levels(settings)
        columns = set(types)
        comparisons = []
        for comparison in weights:
            compiled = []
            for level in comparison.levels:
                if level.match_weight is None:
                    raise _NotCompilable(f"{comparison.name}: a level without m or u")
                compiled.append(
                    _Level(
                        level.gamma,
                        float(level.match_weight),
                        level.tf_column,
                        level.tf_weight,
                        level.tf_minimum_u,
                        level.log2_u_exact,
                    )
                )
            comparisons.append(
                _Comparison(
                    comparison.name,
                    tuple(compiled),
                    comparison.has_tf,
                    frozenset(levels.get(comparison.name, ())),
                    frozenset([0, *levels.conflicts.get(comparison.name, [])]),
                    _compile_levels(
                        [
                            None if level.is_else_level else level.sql_condition
                            for level in comparison.levels
                        ],
                        columns,
                    ),
                )
            )
        flag_names = {"match_weight"}
        for name in levels:
            flag_names |= {f"agree_{name}", f"conflict_{name}"}
        rules = tuple(
            _Rule(
                when=_compile_sql(rule.when, flags=flag_names),
                action=rule.action,
                target=_RANK[rule.decision],
                min_weight=None if rule.min_weight is None else float(rule.min_weight),
                decision=rule.decision,
                reason=f"{rule.name}: {rule.reason}",
            )
            for rule in policy.rules
        )
    except (_NotCompilable, sqlglot.errors.SqlglotError, ValueError, KeyError) as exc:
        logger.debug("fast scoring off for this model, SQL scores it: %s", exc)
        return None
    return FastScorer(prior, tuple(comparisons), policy.thresholds, rules)


def typed_row(payload: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """A record's payload (parsed JSON) as the SQL path reads it with ``json_transform``:
    each column of ``types`` as a value of its DuckDB type.

    Raises:
        FastUnsupported: a value SQL would cast (a number in a text column, ...).
    """
    return {column: _typed(payload.get(column), kind) for column, kind in types.items()}


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "VARCHAR":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
    elif kind == "BOOLEAN":
        if isinstance(value, bool):
            return value
    elif kind in ("DOUBLE", "FLOAT"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind in ("BIGINT", "INTEGER"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "VARCHAR[]":
        if isinstance(value, list) and all(v is None or isinstance(v, str) for v in value):
            return value
    raise FastUnsupported(f"a {type(value).__name__} value in a {kind} column")


# -- SQL to Python ---------------------------------------------------------------------------


def _compile_sql(
    sql: str, *, columns: set[str] | None = None, flags: set[str] | None = None
) -> Compiled:
    """A level's condition (columns ``"<column>_l"``, ``"<column>_r"`` of ``columns``) or a
    rule's ``when`` (the names in ``flags``), compiled."""
    compiler = _Compiler(columns, flags)
    return compiler.function(compiler.compile(sqlglot.parse_one(sql, read="duckdb")))


def _compile_levels(conditions: Sequence[str | None], columns: set[str]) -> Callable[..., int]:
    """One comparison's levels as one function of the pair: the position of the first
    level whose condition is true (``None``: the ELSE level, always true)."""
    compiler = _Compiler(columns, None)
    lines = []
    for position, sql in enumerate(conditions):
        if sql is None:
            lines.append(f"    return {position}")
            break
        test = compiler.compile(sqlglot.parse_one(sql, read="duckdb"))
        lines.append(f"    if ({test}) is True:\n        return {position}")
    else:
        lines.append("    raise FastUnsupported('no level matched and the comparison has no ELSE')")
    return compiler.define("\n".join(lines))


class _Compiler:
    """A sqlglot tree to the source of one Python expression over the rows ``L`` and
    ``R``, with SQL's NULL semantics; :meth:`define` turns it into a function. Source,
    not nested closures: a pair costs one call per comparison instead of one per node.
    Each handler evaluates its operands in the order, and only as far, as SQL's strict
    functions and three-valued logic need (``NULL AND x`` still reads ``x``; ``FALSE
    AND x`` does not); intermediate values are bound to local names with ``:=``."""

    def __init__(self, columns: set[str] | None, flags: set[str] | None) -> None:
        self.columns = columns
        self.flags = flags
        self.names: dict[str, Any] = {}  # constants and functions the source refers to
        self.temps = 0

    def function(self, expression: str) -> Compiled:
        return self.define(f"    return {expression}")

    def define(self, body: str) -> Callable[..., Any]:
        namespace = {**_RUNTIME, **self.names}
        exec(compile(f"def compiled(L, R):\n{body}\n", "<linkage fast path>", "exec"), namespace)
        return namespace["compiled"]

    def compile(self, node: exp.Expression) -> str:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            name = node.name if isinstance(node, exp.Anonymous) else type(node).__name__
            function = getattr(self, f"_fn_{name.lower()}", None)
            if isinstance(node, exp.Anonymous) and function is not None:
                return function(node)
            raise _NotCompilable(f"{name} in {node.sql('duckdb')[:80]!r}")
        return handler(node)

    def _temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def _name(self, value: Any) -> str:
        name = f"c{len(self.names)}"
        self.names[name] = value
        return name

    def _args(self, node: exp.Expression, *keys: str) -> list[str]:
        out = []
        for key in keys:
            child = node.args.get(key)
            if child is None:
                raise _NotCompilable(f"{type(node).__name__} without {key}")
            out.append(self.compile(child))
        return out

    def _only(self, node: exp.Expression, *keys: str) -> None:
        """Refuse arguments beyond ``keys`` (an option this module does not know)."""
        extra = [k for k, v in node.args.items() if k not in keys and v not in (None, False)]
        if extra:
            raise _NotCompilable(f"{type(node).__name__} with {extra}")

    def _strict(self, function: Callable[..., Any], *parts: str) -> str:
        """A SQL function that is NULL when any argument is (read left to right, up to the
        first NULL)."""
        temps = [self._temp() for _ in parts]
        nulls = " or ".join(f"({t} := {p}) is None" for t, p in zip(temps, parts, strict=True))
        return f"(None if {nulls} else {self._name(function)}({', '.join(temps)}))"

    # leaves

    def _Column(self, node: exp.Column) -> str:
        if node.table:
            raise _NotCompilable(f"qualified column {node.sql('duckdb')}")
        name = node.name
        if self.flags is not None:
            key = name if node.this.quoted else name.lower()
            if key not in self.flags:
                raise _NotCompilable(f"unknown name {name!r} in a rule")
            return f"L[{self._name(key)}]"
        side, column = name[-2:], name[:-2]
        if side not in ("_l", "_r") or column not in (self.columns or ()):
            raise _NotCompilable(f"column {name!r}")
        return f"{'L' if side == '_l' else 'R'}.get({self._name(column)})"

    def _Literal(self, node: exp.Literal) -> str:
        if node.is_string:
            value: Any = node.this
        else:
            text = str(node.this)
            value = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        return self._name(value)

    def _Boolean(self, node: exp.Boolean) -> str:
        return "True" if bool(node.this) else "False"

    def _Null(self, node: exp.Null) -> str:
        return "None"

    def _Paren(self, node: exp.Paren) -> str:
        return self.compile(node.this)

    def _Neg(self, node: exp.Neg) -> str:
        (inner,) = self._args(node, "this")
        return f"_negative({inner})"

    # logic

    def _And(self, node: exp.And) -> str:
        a, b = self._args(node, "this", "expression")
        x, y = self._temp(), self._temp()
        return (
            f"(False if ({x} := {a}) is False else False if ({y} := {b}) is False else "
            f"True if {x} is True and {y} is True else _and({x}, {y}))"
        )

    def _Or(self, node: exp.Or) -> str:
        a, b = self._args(node, "this", "expression")
        x, y = self._temp(), self._temp()
        return (
            f"(True if ({x} := {a}) is True else True if ({y} := {b}) is True else "
            f"False if {x} is False and {y} is False else _or_rest({x}, {y}))"
        )

    def _Not(self, node: exp.Not) -> str:
        (inner,) = self._args(node, "this")
        x = self._temp()
        return f"(False if ({x} := {inner}) is True else True if {x} is False else _not({x}))"

    def _Is(self, node: exp.Is) -> str:
        if not isinstance(node.expression, exp.Null):
            raise _NotCompilable(f"IS {node.expression.sql('duckdb')}")
        (inner,) = self._args(node, "this")
        return f"(({inner}) is None)"

    def _Coalesce(self, node: exp.Coalesce) -> str:
        parts = [self.compile(node.this), *(self.compile(e) for e in node.expressions)]
        source = "None"
        for part in reversed(parts):
            x = self._temp()
            source = f"({x} if ({x} := {part}) is not None else {source})"
        return source

    # comparisons

    def _compare(self, node: exp.Expression, symbol: str, test: Callable[..., bool]) -> str:
        a, b = self._args(node, "this", "expression")
        x, y = self._temp(), self._temp()
        # Text with text, a number with a number: what the SQL compares as is.
        return (
            f"(None if ({x} := {a}) is None or ({y} := {b}) is None else "
            f"({x} {symbol} {y}) if type({x}) is type({y}) and type({x}) in _COMPARABLE else "
            f"_compare_mixed({self._name(test)}, {x}, {y}))"
        )

    def _EQ(self, node: exp.EQ) -> str:
        return self._compare(node, "==", operator.eq)

    def _NEQ(self, node: exp.NEQ) -> str:
        return self._compare(node, "!=", operator.ne)

    def _GT(self, node: exp.GT) -> str:
        return self._compare(node, ">", operator.gt)

    def _GTE(self, node: exp.GTE) -> str:
        return self._compare(node, ">=", operator.ge)

    def _LT(self, node: exp.LT) -> str:
        return self._compare(node, "<", operator.lt)

    def _LTE(self, node: exp.LTE) -> str:
        return self._compare(node, "<=", operator.le)

    def _Sub(self, node: exp.Sub) -> str:
        self._only(node, "this", "expression")
        a, b = self._args(node, "this", "expression")
        return self._strict(_subtract, a, b)

    # functions

    def _JarowinklerSimilarity(self, node: exp.Expression) -> str:
        self._only(node, "this", "expression")
        a, b = self._args(node, "this", "expression")
        return self._strict(lambda x, y: _jaro_winkler(_text(x), _text(y)), a, b)

    def _fn_damerau_levenshtein(self, node: exp.Anonymous) -> str:
        a, b = self._positional(node, 2)
        return self._strict(lambda x, y: _damerau_levenshtein(_text(x), _text(y)), a, b)

    def _fn_list_intersect(self, node: exp.Anonymous) -> str:
        a, b = self._positional(node, 2)
        return self._strict(_list_intersect, a, b)

    def _Length(self, node: exp.Length) -> str:
        self._only(node, "this", "binary")
        if node.args.get("binary"):
            raise _NotCompilable("octet length")
        (a,) = self._args(node, "this")
        return self._strict(_length, a)

    def _Least(self, node: exp.Least) -> str:
        return self._extreme(node, min)

    def _Greatest(self, node: exp.Greatest) -> str:
        return self._extreme(node, max)

    def _extreme(self, node: exp.Expression, pick: Callable[..., Any]) -> str:
        parts = [self.compile(node.this), *(self.compile(e) for e in node.expressions)]
        return f"_extreme({self._name(pick)}, ({', '.join(parts)},))"

    def _Right(self, node: exp.Right) -> str:
        a, n = self._args(node, "this", "expression")
        return self._strict(lambda s, k: _text(s)[-_count(k) :] if _count(k) else "", a, n)

    def _Left(self, node: exp.Left) -> str:
        a, n = self._args(node, "this", "expression")
        return self._strict(lambda s, k: _text(s)[: _count(k)], a, n)

    def _Replace(self, node: exp.Replace) -> str:
        self._only(node, "this", "expression", "replacement")
        a, b, c = self._args(node, "this", "expression", "replacement")
        return self._strict(_replace, a, b, c)

    def _DPipe(self, node: exp.DPipe) -> str:
        # DuckDB's ||: NULL when either side is (sqlglot marks it "safe").
        self._only(node, "this", "expression", "safe")
        a, b = self._args(node, "this", "expression")
        return self._strict(lambda x, y: _text(x) + _text(y), a, b)

    def _RegexpReplace(self, node: exp.RegexpReplace) -> str:
        self._only(node, "this", "expression", "replacement", "modifiers", "single_replace")
        modifiers = node.args.get("modifiers")
        if modifiers is None:
            everywhere = False
        elif isinstance(modifiers, exp.Literal) and modifiers.is_string:
            if modifiers.this not in ("", "g"):
                raise _NotCompilable(f"regexp_replace options {modifiers.this!r}")
            everywhere = modifiers.this == "g"
        else:
            raise _NotCompilable("regexp_replace options that are not a literal")
        a, pattern, replacement = self._args(node, "this", "expression", "replacement")
        count = 0 if everywhere else 1

        def substitute(s: Any, p: Any, r: Any) -> str:
            return _regex(_text(p)).sub(_rewrite(_text(r)), _text(s), count=count)

        return self._strict(substitute, a, pattern, replacement)

    def _RegexpFullMatch(self, node: exp.Expression) -> str:
        self._only(node, "this", "expression")
        a, pattern = self._args(node, "this", "expression")
        return self._strict(
            lambda s, p: _regex(_text(p)).fullmatch(_text(s)) is not None, a, pattern
        )

    def _positional(self, node: exp.Anonymous, n: int) -> list[str]:
        if len(node.expressions) != n:
            raise _NotCompilable(f"{node.name} with {len(node.expressions)} arguments")
        return [self.compile(e) for e in node.expressions]


def _negative(value: Any) -> Any:
    if value is None:
        return None
    if not _is_number(value):
        raise FastUnsupported("minus of a non-number")
    return -value


def _not(value: Any) -> Any:
    return None if value is None else not _boolean(value)


def _or_rest(x: Any, y: Any) -> Any:
    """``x OR y`` once ``x`` is known not to be TRUE."""
    if y is True:
        return True
    if x is None or y is None:
        return None
    _boolean(x), _boolean(y)
    return False


def _compare_mixed(test: Callable[[Any, Any], bool], x: Any, y: Any) -> bool:
    """A comparison of values of two types: numbers compare, anything else SQL casts."""
    if _is_number(x) and _is_number(y):
        return test(x, y)
    raise FastUnsupported(f"comparing {type(x).__name__} with {type(y).__name__}")


def _extreme(pick: Callable[..., Any], values: tuple[Any, ...]) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if not all(_is_number(v) for v in present):
        raise FastUnsupported("least/greatest of non-numbers")
    return pick(present)


def _and(x: Any, y: Any) -> Any:
    if x is False or y is False:
        return False
    if x is None or y is None:
        return None
    _boolean(x), _boolean(y)
    return True


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FastUnsupported(f"a {type(value).__name__} where SQL wants a boolean")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_COMPARABLE = frozenset({str, int, float, bool})


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise FastUnsupported(f"a {type(value).__name__} where SQL wants text")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FastUnsupported(f"{value!r} as a character count")
    return value


def _subtract(x: Any, y: Any) -> int:
    """SQL's ``-`` on integers (a length less a count): DuckDB's BIGINT, which errs where
    Python's int would go past 64 bits."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y)):
        raise FastUnsupported(f"{x!r} - {y!r} outside integers")
    if not -(2**63) <= x - y < 2**63:
        raise FastUnsupported(f"{x!r} - {y!r} overflows BIGINT")
    return x - y


def _length(value: Any) -> int:
    if isinstance(value, (str, list)):
        return len(value)
    raise FastUnsupported(f"length of a {type(value).__name__}")


def _list_intersect(a: Any, b: Any) -> list[Any]:
    """DuckDB's ``list_intersect``: the distinct non-null elements of ``a`` also in ``b``."""
    if not isinstance(a, list) or not isinstance(b, list):
        raise FastUnsupported("list_intersect of non-lists")
    others = set(b)
    return [v for v in dict.fromkeys(a) if v is not None and v in others]


def _replace(s: Any, old: Any, new: Any) -> str:
    old = _text(old)
    if not old:
        raise FastUnsupported("replace of the empty string")
    return _text(s).replace(old, _text(new))


def _damerau_levenshtein(a: str, b: str) -> int:
    from rapidfuzz.distance import DamerauLevenshtein

    return DamerauLevenshtein.distance(a, b)


def _jaro_winkler(a: str, b: str) -> float:
    """DuckDB's ``jaro_winkler_similarity`` (rapidfuzz's algorithm, on code points)."""
    if not a or not b:
        return 0.0
    from rapidfuzz.distance import Jaro

    similarity = Jaro.similarity(a, b)
    if similarity <= 0.7:
        return similarity
    prefix = 0
    for x, y in zip(a[:4], b[:4]):
        if x != y:
            break
        prefix += 1
    if not prefix:
        return similarity
    return _WINKLER[0](similarity, prefix)


def _winkler_fused(similarity: float, prefix: int) -> float:
    """``similarity + prefix * 0.1 * (1 - similarity)`` with the last multiply and add
    fused (one rounding), as a DuckDB compiled with FMA computes it."""
    return float(Fraction(similarity) + Fraction(prefix * 0.1) * Fraction(1.0 - similarity))


def _winkler_plain(similarity: float, prefix: int) -> float:
    return similarity + prefix * 0.1 * (1.0 - similarity)


_WINKLER: list[Callable[[float, int], float]] = [_winkler_fused]

# Regular expressions: RE2 (DuckDB) and Python's re agree on this much syntax (ASCII
# classes, groups, alternation, repetition, classes in brackets), not beyond.
_SAFE_PATTERN = re.compile(r"(?:[A-Za-z0-9 _.|()?:+*\[\]\-]|\\[wWdD.\-_|()\[\]+*?\\])*")


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    if not _SAFE_PATTERN.fullmatch(pattern):
        raise FastUnsupported(f"a regular expression RE2 may read otherwise: {pattern[:40]!r}")
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise FastUnsupported(f"regular expression {pattern[:40]!r}: {exc}") from exc


@lru_cache(maxsize=256)
def _rewrite(replacement: str) -> Callable[[re.Match[str]], str]:
    """RE2's rewrite string (``\\1`` a group, ``\\\\`` a backslash) as a function."""
    parts: list[str | int] = []
    i = 0
    while i < len(replacement):
        char = replacement[i]
        if char == "\\":
            following = replacement[i + 1 : i + 2]
            if following.isdigit():
                parts.append(int(following))
            elif following == "\\":
                parts.append("\\")
            else:
                raise FastUnsupported(f"rewrite string {replacement!r}")
            i += 2
        else:
            parts.append(char)
            i += 1

    def expand(match: re.Match[str]) -> str:
        return "".join(p if isinstance(p, str) else (match.group(p) or "") for p in parts)

    return expand


# What the compiled source may call (and nothing else: no builtins but ``type``).
_RUNTIME: dict[str, Any] = {
    "__builtins__": {"type": type},
    "FastUnsupported": FastUnsupported,
    "_COMPARABLE": _COMPARABLE,
    "_and": _and,
    "_compare_mixed": _compare_mixed,
    "_extreme": _extreme,
    "_negative": _negative,
    "_not": _not,
    "_or_rest": _or_rest,
}


# -- DuckDB's functions, checked once per process ------------------------------------------

_CALIBRATION: list[bool] = []
_CALIBRATION_LOCK = threading.Lock()


def _calibrated() -> bool:
    """Whether this process's DuckDB answers as the Python twins above (and which form of
    the Winkler step it uses), from a fixed set of string pairs."""
    with _CALIBRATION_LOCK:
        if not _CALIBRATION:
            _CALIBRATION.append(_calibrate())
        return _CALIBRATION[0]


def _calibration_pairs() -> list[tuple[str, str]]:
    import random

    generator = random.Random(15)
    alphabet = list("abcdefgh") + list("张伟王李华") + [" ", "1", "é"]
    pairs = [("", ""), ("", "a"), ("ab", "ba"), ("ca", "abc"), ("张伟", "张玮")]
    for _ in range(4000):
        a = "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 24)))
        b = list(a)
        for _ in range(generator.randint(0, 3)):
            if b and generator.random() < 0.5:
                b[generator.randrange(len(b))] = generator.choice(alphabet)
            else:
                b.insert(generator.randint(0, len(b)), generator.choice(alphabet))
        pairs.append((a, "".join(b)))
    return pairs


def _calibrate() -> bool:
    try:
        import duckdb
        import rapidfuzz  # noqa: F401
    except ImportError:
        return False
    pairs = _calibration_pairs()
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT jaro_winkler_similarity(a, b), damerau_levenshtein(a, b), "
            "len(list_intersect(string_split(a, ''), string_split(b, ''))) "
            "FROM (SELECT unnest($1::VARCHAR[]) AS a, unnest($2::VARCHAR[]) AS b)",
            [[a for a, _ in pairs], [b for _, b in pairs]],
        ).fetchall()
    finally:
        con.close()
    for form in (_winkler_fused, _winkler_plain):
        _WINKLER[0] = form
        if all(
            _jaro_winkler(a, b) == jw
            and _damerau_levenshtein(a, b) == dl
            and len(_list_intersect(list(a), list(b))) == common
            for (a, b), (jw, dl, common) in zip(pairs, rows, strict=True)
        ):
            return True
    return False
