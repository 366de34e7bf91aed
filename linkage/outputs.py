"""What a run writes: its tables under the user's own column names, and a run report.

A :class:`~linkage.run.LinkResult` names values by role (``person_name_l``, ``mobile_all``)
because every stage works on roles. A person opening ``review.csv`` knows their own headers
(``姓名_l``, ``手机_all``), so :func:`output_tables` renames each role to the column it was
read from; a role that several inputs read from differently named columns keeps its role
name, and so does any name that would clash with another column.

:func:`write_outputs` writes ``entities``, ``golden``, ``review``, ``problems`` and
``pairs`` (CSV as UTF-8 with a byte-order mark, Excel or Parquet: see
:func:`linkage.files.write_table`), ``model.json``, and the run report as ``report.json``
and ``report.txt`` (:func:`run_report`): counts, timings, the roles found and how, and the
columns that played no part, with the reason.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from linkage import files
from linkage._version import __version__
from linkage.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from linkage.run import LinkResult

logger = logging.getLogger("linkage")

__all__ = ["TABLES", "output_tables", "run_report", "report_text", "write_outputs"]

#: The tables a run writes, in order, with what each holds.
TABLES = {
    "entities": "one row per input record: its id and entity_id",
    "golden": "one golden record per entity, by survivorship rules",
    "review": "the pairs a person should look at, both records side by side",
    "problems": "one row per invalid value: record, source column, value, reason",
    "pairs": "every scored pair: match weight, probability, decision, reason, agreement levels",
}


def output_tables(
    result: LinkResult, columns: Sequence[object] | None = None
) -> dict[str, pd.DataFrame]:
    """The run's tables with the user's column names (see the module docstring).

    Args:
        result: the run.
        columns: the input's columns, in the order side-by-side values follow (default:
            the order of the roles).

    Returns:
        ``{"entities", "golden", "review", "problems", "pairs"}`` -> DataFrame.
    """
    names = _column_names(result)
    order = _input_order(result, columns)
    tables = {"entities": result.entities}
    try:
        golden = result.golden
    except ModelError:  # a run over a single record has no golden tables
        golden = None
    if golden is not None:
        tables["golden"] = _golden(golden, names, order, result.id_column)
    tables["review"] = _sides(result.review, names, order)
    tables["problems"] = _problems(result.problems, result)
    tables["pairs"] = _pairs(result.pairs, names)
    return tables


def run_report(
    result: LinkResult,
    *,
    source: files.TableSource | None = None,
    given_roles: Mapping[str, str | None] | None = None,
    wall_seconds: float | None = None,
    outputs: list[str] | None = None,
) -> dict[str, Any]:
    """A summary of a run as plain data (written as ``report.json``).

    Args:
        result: the run.
        source: how the input file was read (:func:`linkage.files.read_source`).
        given_roles: the roles the user gave (to say which roles were detected, given, or
            found from the values).
        wall_seconds: the time the whole command took.
        outputs: the files written.
    """
    counts = result.decision_counts()
    given = dict(given_roles or {})
    inputs: dict[str, Any] = {}
    for name, mapping in result.roles.items():
        roles = {}
        for role, column in mapping.roles.items():
            if role in given:
                how = "given"
            elif role == "record_id" and mapping.generated_id:
                how = "generated"
            elif role in mapping.detected:
                how = "header"
            else:
                how = "values"
            roles[role] = {"column": str(column), "found_by": how}
        inputs[name] = {
            "roles": roles,
            "compared_by_kind": [
                {"column": extra.column, "kind": extra.kind} for extra in mapping.extras
            ],
            "unused": dict(mapping.unused),
            "notes": list(mapping.notes),
        }
    problems = result.problems
    by_column = (
        {str(k): int(v) for k, v in problems["column"].value_counts().items()}
        if "column" in problems
        else {}
    )
    report: dict[str, Any] = {
        "linkage_version": __version__,
        "python": platform.python_version(),
        "input": None,
        "level": result.level,
        "country": result.country,
        "records": result.n_records,
        "entities": result.n_entities,
        "pairs": {"scored": sum(counts.values()), **counts},
        "problems": {"invalid_values": len(problems), "by_column": by_column},
        "inputs": inputs,
        "unused_columns": result.unused,
        "blocking": result.blocking.describe(),
        "seconds": {
            "stages": {k: round(v, 3) for k, v in result.timings.items()},
            "link": round(sum(result.timings.values()), 3),
        },
        "peak_memory_bytes": result.peak_memory,
        "outputs": outputs or [],
    }
    if source is not None:
        report["input"] = {
            "path": str(source.path),
            "format": source.format,
            "encoding": source.encoding,
            "encoding_detected": source.encoding_detected,
            "sheet": source.sheet,
            "header_row": source.header_row,
            "rows": source.rows,
        }
    if wall_seconds is not None:
        report["seconds"]["wall"] = round(wall_seconds, 3)
    return report


def report_text(report: Mapping[str, Any]) -> str:
    """The run report as text a person reads (``report.txt``)."""
    lines = [f"linkage {report['linkage_version']} run report", ""]
    source = report.get("input")
    if source:
        read = f"input:        {source['path']} ({source['rows']:,} rows, {source['format']}"
        if source.get("encoding"):
            how = "detected" if source["encoding_detected"] else "given"
            read += f", {source['encoding']} {how}"
        if source.get("sheet") is not None:
            read += f", sheet {source['sheet']!r}"
        if source.get("header_row", 1) != 1:
            read += f", header on row {source['header_row']}"
        lines.append(read + ")")
    pairs = report["pairs"]
    lines += [
        f"level:        {report['level']}",
        f"country:      {report['country']}",
        f"records:      {report['records']:,}",
        f"entities:     {report['entities']:,}",
        f"pairs scored: {pairs['scored']:,}",
        f"auto-merged:  {pairs['auto_merge']:,} pairs",
        f"for review:   {pairs['review']:,} pairs",
        f"distinct:     {pairs['distinct']:,} pairs",
        f"problems:     {report['problems']['invalid_values']:,} invalid values",
    ]
    for column, n in report["problems"]["by_column"].items():
        lines.append(f"  {column}: {n:,}")
    lines += ["", "roles (column <- found by):"]
    for name, detail in report["inputs"].items():
        if len(report["inputs"]) > 1:
            lines.append(f" input {name}:")
        for role, found in detail["roles"].items():
            lines.append(f"  {role:<15} <- {found['column']!r} ({found['found_by']})")
        for extra in detail["compared_by_kind"]:
            lines.append(
                f"  {'(no role)':<15} <- {extra['column']!r} (compared as {extra['kind']})"
            )
        lines.extend(f"  note: {note}" for note in detail["notes"])
    lines += ["", "columns not used:"]
    if report["unused_columns"]:
        for column, reason in report["unused_columns"].items():
            lines.append(f"  {column!r}: {reason}")
    else:
        lines.append("  none: every column played a part")
    lines += ["", "blocking:", report["blocking"], "", "seconds:"]
    for stage, seconds in report["seconds"]["stages"].items():
        lines.append(f"  {stage:<12} {seconds:8.2f}")
    if "wall" in report["seconds"]:
        lines.append(f"  {'total':<12} {report['seconds']['wall']:8.2f}")
    if report.get("peak_memory_bytes"):
        lines.append(f"peak memory:  {report['peak_memory_bytes'] / 1e9:.2f} GB")
    if report.get("outputs"):
        lines += ["", "files: " + ", ".join(report["outputs"])]
    return "\n".join(lines) + "\n"


def write_outputs(
    result: LinkResult,
    out: str | Path,
    fmt: str = "csv",
    *,
    source: files.TableSource | None = None,
    given_roles: Mapping[str, str | None] | None = None,
    wall_seconds: float | None = None,
    columns: Sequence[object] | None = None,
) -> list[Path]:
    """Write a run's tables, its model and its report to the folder ``out``.

    Args:
        result: the run.
        out: the folder (made when missing).
        fmt: ``csv`` (UTF-8 with a byte-order mark), ``xlsx`` or ``parquet``.
        source, given_roles, wall_seconds: for the report (see :func:`run_report`).
        columns: the input's columns, for the order of columns (see :func:`output_tables`).

    Returns:
        the files written.

    Raises:
        ConfigError: an unknown format, or a table too long for an Excel sheet.
    """
    if fmt not in files.FORMATS:
        raise ConfigError(
            f"unknown output format {fmt!r}: choose one of {', '.join(files.FORMATS)}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in output_tables(result, columns).items():
        table_format = fmt
        if fmt == "xlsx" and len(frame) >= files.EXCEL_MAX_ROWS:
            # Millions of pairs do not fit a sheet: that one table goes to CSV, said so.
            logger.warning(
                "%s: %d rows do not fit in an Excel sheet: written as %s.csv instead",
                name,
                len(frame),
                name,
            )
            table_format = "csv"
        written.append(files.write_table(frame, out / name, table_format))
    if result.model is not None:
        result.model.save(out / "model.json")
        written.append(out / "model.json")
    names = [p.name for p in written] + ["report.json", "report.txt"]
    report = run_report(
        result,
        source=source,
        given_roles=given_roles,
        wall_seconds=wall_seconds,
        outputs=names,
    )
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    (out / "report.txt").write_text(report_text(report), encoding="utf-8")
    return [*written, out / "report.json", out / "report.txt"]


# -- renaming ------------------------------------------------------------------------------


def _column_names(result: LinkResult) -> dict[str, str]:
    """Role or extra-column name -> the user's column, where every input agrees."""
    seen: dict[str, set[str]] = {}
    for mapping in result.roles.values():
        for role, column in mapping.roles.items():
            seen.setdefault(role, set()).add(str(column))
        for extra in mapping.extras:
            seen.setdefault(extra.name, set()).add(extra.column)
    return {name: next(iter(cols)) for name, cols in seen.items() if len(cols) == 1}


def _input_order(result: LinkResult, columns: Sequence[object] | None) -> dict[str, int]:
    """The user's column -> its position in the input (for ordering output columns):
    ``columns`` as read, else the first input's roles in their order."""
    if columns is None:
        first = next(iter(result.roles.values()))
        columns = [*first.roles.values(), *(e.column for e in first.extras)]
    return {str(c): i for i, c in enumerate(columns)}


def _rename(frame: pd.DataFrame, wanted: Mapping[str, str]) -> pd.DataFrame:
    """Rename columns, skipping any rename whose new name is taken."""
    kept = set(frame.columns) - set(wanted)
    renames: dict[str, str] = {}
    for old, new in wanted.items():
        if old in frame.columns and new != old and new not in kept and new not in renames.values():
            renames[old] = new
    return frame.rename(columns=renames) if renames else frame


def _golden(
    golden: pd.DataFrame, names: Mapping[str, str], order: Mapping[str, int], id_column: str
) -> pd.DataFrame:
    wanted = {"record_ids": f"{id_column}_all"}
    for role, column in names.items():
        if role == "record_id":
            continue
        wanted[role] = column
        wanted[f"{role}_all"] = f"{column}_all"
    renamed = _rename(golden, wanted)
    front = [c for c in renamed.columns if c in ("entity_id", "n_records", f"{id_column}_all")]
    rest = [c for c in renamed.columns if c not in front]
    rest.sort(key=lambda c: (order.get(c.removesuffix("_all"), len(order)), c.endswith("_all")))
    return renamed[front + rest]


def _sides(
    review: pd.DataFrame, names: Mapping[str, str], order: Mapping[str, int]
) -> pd.DataFrame:
    wanted = {}
    for role, column in names.items():
        if role == "record_id":
            continue
        for side in ("l", "r"):
            wanted[f"{role}_{side}"] = f"{column}_{side}"
    renamed = _rename(review, wanted)
    sides = [c for c in renamed.columns if c in wanted.values()]
    front = [c for c in renamed.columns if c not in sides]
    sides.sort(key=lambda c: (order.get(c[:-2], len(order)), c[:-2], c[-1]))
    return renamed[front + sides]


def _problems(problems: pd.DataFrame, result: LinkResult) -> pd.DataFrame:
    """Problems with the record's id under its own header and, in ``column``, the input
    column the value came from (the standardizer names the working column: the role)."""
    id_column = result.id_column
    out = _rename(problems, {"record_id": id_column})
    if "column" in out and len(out):
        per_input = {
            name: {
                **{role: str(column) for role, column in mapping.roles.items()},
                **{extra.name: extra.column for extra in mapping.extras},
            }
            for name, mapping in result.roles.items()
        }
        if "source_dataset" in out and len(per_input) > 1:
            sources = out["source_dataset"].astype(str)
        else:
            sources = pd.Series(next(iter(per_input)), index=out.index)
        out = out.copy()
        out["column"] = [
            per_input.get(source, {}).get(str(column), column)
            for source, column in zip(sources, out["column"])
        ]
    first = [c for c in ("source_dataset", id_column, "column", "value", "reason") if c in out]
    return out[first + [c for c in out.columns if c not in first]]


def _pairs(pairs: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    wanted = {f"gamma_{role}": f"gamma_{column}" for role, column in names.items()}
    return _rename(pairs, wanted)
