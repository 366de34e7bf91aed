"""Small helpers for running DuckDB statements safely (internal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Execute a statement and consume its result.

    DuckDB 2 refuses further work on a connection while a result is unfinished, so
    statements whose result we do not need (DDL, UPDATE) are drained here.
    """
    con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()


def arrow_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The result of ``sql`` (a statement without parameters) as a pandas frame built
    through Arrow: for text, doubles and integers without NULLs the frame ``.df()``
    gives, three to six times sooner (``.df()`` makes each text value a Python string
    and pandas converts them back; Arrow hands its buffers over). Other types come out
    otherwise (integers with NULLs as float64, booleans and dates as objects), so it is
    for results of those three kinds only, such as scored pairs."""
    return con.sql(sql).to_arrow_table().to_pandas()


def quote(identifier: str) -> str:
    """Quote an identifier for DuckDB SQL (doubling embedded quotes)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal for DuckDB SQL (doubling embedded quotes), for values that cannot
    be parameters (a statement built once and run in parts)."""
    return "'" + text.replace("'", "''") + "'"


def md5_hash(expression: str) -> str:
    """``md5_number_upper(expression)``, the hash the store keys its lookups by, as the
    bit mask it amounts to: DuckDB's macro casts through a 128-character bit string and
    takes five times as long (a third of a second per 200,000 lookups)."""
    return f"CAST(md5_number({expression}) & CAST(18446744073709551615 AS UHUGEINT) AS UBIGINT)"
