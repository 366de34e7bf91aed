"""Data-quality charts: completeness, validity and the problems standardization found,
per column, from the records and problems a result carries.

* :func:`data_quality_chart` / :func:`data_quality`: the share of records with a valid
  value, a missing one, and each problem found (an invalid value is never used for
  matching).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from linkage.errors import InputError, ModelError

if TYPE_CHECKING:
    from linkage.run import LinkResult

__all__ = ["data_quality", "data_quality_chart"]


def data_quality(result: LinkResult, *, by: str | None = None) -> pd.DataFrame:
    """Completeness and validity per column, from the records and the problems found.

    Args:
        by: a role to split the records by, e.g. ``"source"`` (the channel a lead came
            from): one set of rows per value of that role (blank: ``"(none)"``).

    Returns:
        one row per column and status: ``column`` (the role, with the input column
        name), ``status`` (``valid``, ``missing`` or ``invalid: <reason>``), ``records``,
        ``share`` of all records; plus ``completeness`` and ``validity`` (valid share of
        the present values) of the column; with ``by``, first a column named after that
        role, and shares within each group.

    Raises:
        ModelError: the result carries no records.
        InputError: ``by`` is not a role of this run.
    """
    records = result.records
    if records is None:
        raise ModelError("this result carries no records to assess")
    problems = result.problems
    names = _input_column_names(result)
    if by is None:
        return pd.DataFrame(_quality_rows(records, problems, names))
    if by not in records.columns:
        known = ", ".join(c for c in records.columns if c not in _NOT_FIELDS)
        raise InputError(f"data_quality(by={by!r}): no such role in this run; roles: {known}")
    groups = records[by].astype("string").str.strip().replace("", pd.NA).fillna("(none)")
    frames = []
    for value, members in records.groupby(groups, sort=True):
        ids = set(members["record_id"]) if "record_id" in members else set()
        found = problems[problems["record_id"].isin(ids)] if len(problems) else problems
        rows = pd.DataFrame(_quality_rows(members, found, names))
        rows.insert(0, by, value)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


_NOT_FIELDS = ("rid", "source_dataset", "record_id")


def _quality_rows(
    records: pd.DataFrame, problems: pd.DataFrame, names: dict[str, str]
) -> list[dict[str, object]]:
    total = len(records)
    rows = []
    for role in records.columns:
        if role in _NOT_FIELDS:
            continue
        values = records[role]
        text = values.astype("string").str.strip()
        present = int((values.notna() & text.fillna("").ne("")).sum())
        found = problems[problems["role"] == role] if len(problems) else problems
        by_reason = found.groupby("reason").size() if len(found) else pd.Series(dtype=int)
        invalid = int(min(by_reason.sum(), present)) if len(by_reason) else 0
        column = f"{role} ({names[role]})" if names.get(role, role) != role else role
        completeness = present / total if total else 0.0
        validity = (present - invalid) / present if present else 1.0
        counts = {"valid": present - invalid, "missing": total - present}
        counts.update({f"invalid: {r}": int(n) for r, n in by_reason.items()})
        for status, n in counts.items():
            rows.append(
                {
                    "column": column,
                    "status": status,
                    "records": n,
                    "share": n / total if total else 0.0,
                    "completeness": completeness,
                    "validity": validity,
                }
            )
    return rows


def data_quality_chart(result: LinkResult, *, width: int = 520) -> alt.Chart:
    """Per column, the share of records with a valid value, a missing one, and each
    problem standardization found (an invalid value is never used for matching)."""
    table = data_quality(result)
    reasons = sorted(s for s in table["status"].unique() if s.startswith("invalid"))
    palette = ["#e45756", "#f58518", "#b279a2", "#ff9da6", "#9d755d", "#eeca3b", "#d62728"]
    domain = ["valid", "missing", *reasons]
    colours = ["#54a24b", "#d8d8d8", *[palette[i % len(palette)] for i in range(len(reasons))]]
    order = (
        table[table["status"] == "valid"].sort_values("share", ascending=False)["column"].tolist()
    )
    table["status_rank"] = table["status"].map({s: i for i, s in enumerate(domain)})
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            y=alt.Y("column:N", title="column (role)", sort=order),
            x=alt.X("share:Q", title="share of records", axis=alt.Axis(format="%"), stack="zero"),
            color=alt.Color(
                "status:N", title="value", scale=alt.Scale(domain=domain, range=colours)
            ),
            order=alt.Order("status_rank:Q"),
            tooltip=[
                alt.Tooltip("column:N"),
                alt.Tooltip("status:N", title="value"),
                alt.Tooltip("records:Q", format=","),
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("completeness:Q", format=".1%"),
                alt.Tooltip("validity:Q", title="validity of present values", format=".1%"),
            ],
        )
        .properties(
            width=width,
            height=22 * table["column"].nunique(),
            title=alt.Title(
                "Data quality per column",
                subtitle=f"{len(result.records):,} records: valid, missing, or invalid "
                "(found by standardization, not used for matching)",
            ),
        )
    )


def _input_column_names(result: LinkResult) -> dict[str, str]:
    mapping = next(iter(result.roles.values()), None)
    return dict(mapping.roles) if mapping is not None else {}
