"""The data-quality report: one self-contained HTML page about a CRM export, for the
person who owns the data rather than the person who tunes the model.

It answers, from one :func:`~linkage.link` run:

* **how many duplicates**: records, the customers they are, the share of records that
  repeat a customer (from the model's entities, not from exact matches), and the pairs
  decided ``auto_merge`` / ``review`` / ``distinct``;
* **which fields can be trusted**: completeness and validity per field
  (:func:`~linkage.charts.data_quality`), and per source channel (the ``source`` role:
  which form or import brings the gaps and the bad values, and the duplicates);
* **the worst values**: placeholders (``13800000000``, ``test@test.com``) and contact values
  many different customers share (a switchboard, a shared mailbox), which no matching can
  use as evidence;
* **what was not used**: columns that played no part in matching, and why.

:func:`quality_report` builds a :class:`QualityReport` (its tables are DataFrames);
:meth:`QualityReport.save` writes the page. Charts are drawn by vega in the page, whose
JavaScript (vega, vega-lite, vega-embed, from ``vl-convert-python``) is inlined once: the
file opens offline, from an e-mail attachment or a file share, with nothing to install.

    >>> report = charts.quality_report(linkage.link(leads))  # doctest: +SKIP
    >>> report.fields                                          # doctest: +SKIP
    >>> report.save("report.html")                             # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd

from linkage.charts._save import check_offline, require_vl_convert, vl_version
from linkage.charts.quality import data_quality, data_quality_chart
from linkage.charts.thresholds import DECISION_COLOURS
from linkage.errors import ModelError

if TYPE_CHECKING:
    from linkage.run import LinkResult

__all__ = ["QualityReport", "quality_report"]

#: Roles whose values identify one customer: a value many customers share is a placeholder
#: or a shared line (a switchboard, a team mailbox), not evidence.
CONTACT_ROLES = ("mobile", "phone", "email", "wechat_unionid")
#: ... and, when records are organizations, what identifies one (colleagues share these).
ACCOUNT_ROLES = ("credit_code", "website")
# The standardized form a contact value is counted under (so 138-0013-8000 and
# +86 13800138000 are one value).
_KEY_COLUMN = {
    "mobile": "mobile_e164",
    "phone": "phone_e164",
    "email": "email_clean",
    "wechat_unionid": "wechat_unionid_clean",
    "credit_code": "credit_code_clean",
    "website": "website_domain",
}
_CHANNEL = "source"
_BLANK = "(none)"


@dataclass(frozen=True)
class QualityReport:
    """A data-quality report of one run: its tables, its charts, and its HTML page.

    Attributes:
        title: the page's title (the input's name, from the command line).
        summary: records, entities, duplicate records and rate, pairs per decision, level.
        fields: one row per field: ``field`` (role and input column), ``role``,
            ``completeness`` (share of records with a value), ``validity`` (valid share of
            the values present), ``missing``, ``invalid``, ``distinct`` values, and
            ``problems`` (the reasons found, most frequent first).
        channels: one row per source channel: ``channel``, ``records``, ``entities``,
            ``duplicate_rate`` (share of its records whose customer has other records)
            and ``usable`` (mean share of valid values over the fields).
        channel_fields: one row per channel and field: ``channel``, ``field``,
            ``records``, ``completeness``, ``validity``, ``usable`` (valid values over
            records).
        worst_values: contact values that are placeholders or that several customers
            share: ``role``, ``field``, ``value`` (as most often written), ``records``,
            ``entities`` (how many different customers the model found among them),
            ``why``.
        unused: columns that played no part in matching: ``column``, ``reason``.
        notes: how the roles and the entity level were chosen.
    """

    title: str
    summary: dict[str, Any]
    fields: pd.DataFrame
    channels: pd.DataFrame
    channel_fields: pd.DataFrame
    worst_values: pd.DataFrame
    unused: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    _quality_chart: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<QualityReport {self.title!r}: {s['records']:,} records, "
            f"{s['duplicate_rate']:.1%} duplicates, {len(self.fields)} fields, "
            f"{len(self.worst_values)} worst values>"
        )

    def charts(self) -> dict[str, alt.TopLevelMixin]:
        """The report's charts by name (altair charts, to show or save one by one)."""
        built: dict[str, alt.TopLevelMixin] = {
            "duplicates": self._duplicates_chart(),
            "fields": self._quality_chart,
        }
        if self.channels["channel"].nunique() > 1:
            built["channels"] = self._channels_chart()
            built["channel_fields"] = self._channel_fields_chart()
        if len(self.worst_values):
            built["worst_values"] = self._worst_values_chart()
        return {name: chart for name, chart in built.items() if chart is not None}

    def to_html(self) -> str:
        """The report as one self-contained HTML page (vega's JavaScript inlined)."""
        require_vl_convert()
        import vl_convert

        charts = self.charts()
        bundle = vl_convert.javascript_bundle(vl_version=vl_version())
        specs = {name: chart.to_dict() for name, chart in charts.items()}
        return _page(self, specs, bundle)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the report as one self-contained HTML file (opens offline).

        Raises:
            LinkageError: ``vl-convert-python`` is missing
                (``pip install "linkage-crm[charts]"``).
        """
        out = Path(path)
        out.write_text(self.to_html(), encoding="utf-8")
        check_offline(out)
        return out

    # -- charts ------------------------------------------------------------------------

    def _duplicates_chart(self) -> alt.TopLevelMixin:
        sizes = self.summary["entity_sizes"]
        table = pd.DataFrame(
            {"records per customer": list(sizes), "customers": list(sizes.values())}
        )
        table["records"] = table["records per customer"] * table["customers"]
        table["size"] = table["records per customer"].map(lambda n: str(n) if n < 6 else "6+")
        table = table.groupby("size", as_index=False)[["customers", "records"]].sum()
        bars = (
            alt.Chart(table)
            .mark_bar(color="#4c78a8")
            .encode(
                x=alt.X("size:O", title="records per customer", sort=None),
                y=alt.Y("records:Q", title="records"),
                tooltip=[
                    alt.Tooltip("size:O", title="records per customer"),
                    alt.Tooltip("customers:Q", format=","),
                    alt.Tooltip("records:Q", format=","),
                ],
            )
            .properties(width=260, height=200, title="Records by size of their customer")
        )
        counts = self.summary["decisions"]
        decisions = pd.DataFrame({"decision": list(counts), "pairs": [counts[k] for k in counts]})
        pairs = (
            alt.Chart(decisions)
            .mark_bar()
            .encode(
                y=alt.Y("decision:N", sort=list(DECISION_COLOURS), title=None),
                x=alt.X("pairs:Q", title="candidate pairs"),
                color=alt.Color(
                    "decision:N",
                    scale=alt.Scale(
                        domain=list(DECISION_COLOURS), range=list(DECISION_COLOURS.values())
                    ),
                    legend=None,
                ),
                tooltip=["decision:N", alt.Tooltip("pairs:Q", format=",")],
            )
            .properties(width=260, height=120, title="Candidate pairs by decision")
        )
        return alt.hconcat(bars, pairs)

    def _channels_chart(self) -> alt.TopLevelMixin:
        table = self.channels.copy()
        order = table.sort_values("records", ascending=False)["channel"].tolist()
        base = alt.Chart(table).encode(y=alt.Y("channel:N", sort=order, title="source channel"))
        tooltip = [
            "channel:N",
            alt.Tooltip("records:Q", format=","),
            alt.Tooltip("entities:Q", title="customers", format=","),
            alt.Tooltip(
                "duplicate_rate:Q", title="records whose customer has others", format=".1%"
            ),
            alt.Tooltip("usable:Q", title="usable values", format=".1%"),
        ]
        records = base.mark_bar(color="#4c78a8").encode(
            x=alt.X("records:Q", title="records"), tooltip=tooltip
        )
        duplicates = base.mark_bar(color="#f58518").encode(
            x=alt.X(
                "duplicate_rate:Q",
                title="records whose customer has other records",
                axis=alt.Axis(format="%"),
            ),
            tooltip=tooltip,
        )
        return alt.hconcat(
            records.properties(width=220, title="Records per channel"),
            duplicates.properties(width=220, title="Duplicates per channel"),
        )

    def _channel_fields_chart(self) -> alt.TopLevelMixin:
        table = self.channel_fields.copy()
        order = self.fields.sort_values("completeness", ascending=False)["field"].tolist()
        base = alt.Chart(table).encode(
            x=alt.X("field:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("channel:N", title="source channel"),
        )
        cells = base.mark_rect().encode(
            color=alt.Color(
                "usable:Q",
                title="valid values",
                scale=alt.Scale(domain=[0, 1], scheme="redyellowgreen"),
                legend=alt.Legend(format="%"),
            ),
            tooltip=[
                "channel:N",
                "field:N",
                alt.Tooltip("records:Q", format=","),
                alt.Tooltip("completeness:Q", format=".1%"),
                alt.Tooltip("validity:Q", title="validity of present values", format=".1%"),
                alt.Tooltip("usable:Q", title="valid values", format=".1%"),
            ],
        )
        labels = base.mark_text(fontSize=10).encode(
            text=alt.Text("usable:Q", format=".0%"),
            color=alt.condition("datum.usable < 0.3", alt.value("white"), alt.value("black")),
        )
        return (cells + labels).properties(
            width=alt.Step(46),
            height=alt.Step(24),
            title=alt.Title(
                "Valid values per field and channel",
                subtitle="share of the channel's records with a valid value (missing and "
                "invalid values are not)",
            ),
        )

    def _worst_values_chart(self) -> alt.TopLevelMixin:
        table = self.worst_values.copy()
        table["label"] = table["field"] + ": " + table["value"].astype(str)
        return (
            alt.Chart(table)
            .mark_bar()
            .encode(
                y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=320)),
                x=alt.X("records:Q", title="records holding the value"),
                color=alt.Color(
                    "kind:N",
                    title=None,
                    scale=alt.Scale(
                        domain=["placeholder or invalid", "shared by customers"],
                        range=["#e45756", "#f58518"],
                    ),
                ),
                tooltip=[
                    "field:N",
                    "value:N",
                    alt.Tooltip("records:Q", format=","),
                    alt.Tooltip("entities:Q", title="customers", format=","),
                    "why:N",
                ],
            )
            .properties(
                width=360,
                height=alt.Step(18),
                title=alt.Title(
                    "The worst values",
                    subtitle="placeholders, and contact values several customers share",
                ),
            )
        )


def quality_report(result: LinkResult, *, title: str | None = None, top: int = 15) -> QualityReport:
    """A data-quality report of a run: duplicates, completeness and validity per field and
    per source channel, the worst values, the columns left unused.

    Args:
        result: a :func:`~linkage.link` result (it carries the records and the entities).
        title: the page's title (default: "Data-quality report").
        top: at most this many worst values.

    Returns:
        a :class:`QualityReport`; ``.save("report.html")`` writes the page.

    Raises:
        ModelError: the result carries no records (a result rebuilt without them).
    """
    records = result.records
    if records is None:
        raise ModelError("this result carries no records to report on")
    entity_of = _entity_of(result)
    quality = data_quality(result)
    fields = _fields(records, quality)
    channel = (
        records[_CHANNEL].astype("string").str.strip().replace("", pd.NA).fillna(_BLANK)
        if _CHANNEL in records.columns
        else pd.Series(_BLANK, index=records.index, dtype="string")
    )
    channels, channel_fields = _channels(result, records, channel, entity_of)
    sizes = entity_of.value_counts().value_counts().sort_index()
    n = len(records)
    n_entities = int(entity_of.nunique())
    decisions = result.decision_counts()
    summary = {
        "records": n,
        "entities": n_entities,
        "duplicate_records": n - n_entities,
        "duplicate_rate": (n - n_entities) / n if n else 0.0,
        "records_in_duplicates": int((entity_of.map(entity_of.value_counts()) > 1).sum()),
        "decisions": {k: int(decisions.get(k, 0)) for k in DECISION_COLOURS},
        "entity_sizes": {int(k): int(v) for k, v in sizes.items()},
        "level": result.level,
        "country": result.country,
        "made": time.strftime("%Y-%m-%d %H:%M"),
    }
    unused = pd.DataFrame(
        [{"column": str(c), "reason": r} for c, r in result.unused.items()],
        columns=["column", "reason"],
    )
    notes = [note for mapping in result.roles.values() for note in mapping.notes]
    return QualityReport(
        title=title or "Data-quality report",
        summary=summary,
        fields=fields,
        channels=channels,
        channel_fields=channel_fields,
        worst_values=_worst_values(result, records, entity_of, top),
        unused=unused,
        notes=notes,
        _quality_chart=data_quality_chart(result, width=420),
    )


# -- tables ------------------------------------------------------------------------------


def _entity_of(result: LinkResult) -> pd.Series:
    """The entity id of each row of ``result.records`` (same index)."""
    records = result.records
    entities = result.entities
    keys = ["record_id"]
    left = pd.DataFrame({"record_id": records["record_id"].astype(str)}, index=records.index)
    right = pd.DataFrame(
        {"record_id": entities[result.id_column].astype(str), "entity_id": entities["entity_id"]}
    )
    if "source_dataset" in entities.columns and "source_dataset" in records.columns:
        left["source_dataset"] = records["source_dataset"].astype(str)
        right["source_dataset"] = entities["source_dataset"].astype(str)
        keys.append("source_dataset")
    joined = left.reset_index().merge(right, on=keys, how="left").set_index("index")
    return joined["entity_id"].reindex(records.index).rename("entity_id")


def _fields(records: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for column, group in quality.groupby("column", sort=False):
        role = str(column).split(" ")[0]
        statuses = group.set_index("status")["records"]
        invalid = group[group["status"].str.startswith("invalid")]
        problems = ", ".join(
            f"{s.removeprefix('invalid: ')} ({n:,})"
            for s, n in invalid.sort_values("records", ascending=False)[
                ["status", "records"]
            ].itertuples(index=False)
        )
        values = records[role].astype("string").str.strip()
        rows.append(
            {
                "field": column,
                "role": role,
                "completeness": float(group["completeness"].iloc[0]),
                "validity": float(group["validity"].iloc[0]),
                "missing": int(statuses.get("missing", 0)),
                "invalid": int(invalid["records"].sum()),
                "distinct": int(values[values.fillna("") != ""].nunique()),
                "problems": problems,
            }
        )
    return pd.DataFrame(rows).sort_values(["completeness", "validity"], ascending=False)


def _channels(
    result: LinkResult, records: pd.DataFrame, channel: pd.Series, entity_of: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    by_channel = data_quality(result, by=_CHANNEL) if _CHANNEL in records.columns else None
    size = entity_of.map(entity_of.value_counts())
    rows = []
    for name, members in records.groupby(channel, sort=True):
        index = members.index
        rows.append(
            {
                "channel": name,
                "records": len(members),
                "entities": int(entity_of[index].nunique()),
                "duplicate_rate": float((size[index] > 1).mean()),
            }
        )
    channels = pd.DataFrame(rows)
    if by_channel is None:
        channel_fields = pd.DataFrame(
            columns=["channel", "field", "records", "completeness", "validity", "usable"]
        )
        channels["usable"] = float("nan")
        return channels, channel_fields
    valid = by_channel[by_channel["status"] == "valid"]
    channel_fields = pd.DataFrame(
        {
            "channel": valid[_CHANNEL].to_numpy(),
            "field": valid["column"].to_numpy(),
            "records": valid["records"].to_numpy(),
            "completeness": valid["completeness"].to_numpy(),
            "validity": valid["validity"].to_numpy(),
            "usable": valid["share"].to_numpy(),
        }
    )
    # The channel itself is complete by construction: not worth a column of the heat map.
    channel_fields = channel_fields[channel_fields["field"].str.split(" ").str[0] != _CHANNEL]
    usable = channel_fields.groupby("channel")["usable"].mean()
    channels["usable"] = channels["channel"].map(usable)
    return channels.sort_values("records", ascending=False), channel_fields


def _worst_values(
    result: LinkResult, records: pd.DataFrame, entity_of: pd.Series, top: int
) -> pd.DataFrame:
    from linkage.standardize import standardize

    columns = ["role", "field", "value", "records", "entities", "why", "kind"]
    wanted = CONTACT_ROLES + (ACCOUNT_ROLES if result.level == "organization" else ())
    roles = [r for r in wanted if r in records.columns]
    if not roles or not len(records):
        return pd.DataFrame(columns=columns)
    names = _input_column_names(result)
    frame = records[["record_id", *roles]].copy()
    frame["record_id"] = range(len(frame))  # positions: ids may repeat across inputs
    keys = standardize(
        frame.reset_index(drop=True),
        {"record_id": "record_id", **{r: r for r in roles}},
        country=result.country,
    ).frame
    problems = result.problems
    rows = []
    for role in roles:
        raw = records[role].astype("string").str.strip().replace("", pd.NA).reset_index(drop=True)
        key_column = _KEY_COLUMN.get(role)
        key = (
            keys[key_column].astype("string").reset_index(drop=True)
            if key_column in keys.columns
            else raw
        )
        # A value standardization could not read is counted as written, and is invalid.
        readable = key.notna() | raw.isna()
        key = key.fillna(raw)
        table = pd.DataFrame(
            {
                "key": key,
                "raw": raw,
                "entity": entity_of.reset_index(drop=True),
                "valid": readable.to_numpy(),
            }
        )
        reasons = {}
        if len(problems):
            found = problems[problems["role"] == role]
            reasons = (
                found.assign(value=found["value"].astype(str).str.strip())
                .groupby("value")["reason"]
                .agg(lambda r: r.value_counts().index[0])
                .to_dict()
            )
        valid_column = f"{role}_valid"
        if valid_column in keys.columns:
            flagged = keys[valid_column].reset_index(drop=True).astype("boolean")
            table["valid"] = table["valid"] & flagged.fillna(True).to_numpy()
        table = table.dropna(subset=["key"])
        if not len(table):
            continue
        grouped = table.groupby("key").agg(
            records=("raw", "size"),
            entities=("entity", "nunique"),
            value=("raw", lambda v: v.value_counts().index[0]),
            valid=("valid", "all"),
        )
        grouped = grouped[grouped["records"] >= 3]
        for key_value, row in grouped.iterrows():
            reason = reasons.get(row["value"]) or reasons.get(str(key_value))
            if reason is None and not row["valid"]:
                reason = "not a valid value"
            if reason is None and row["entities"] < 2:
                continue
            shared = f"{row['records']:,} records of {row['entities']:,} different customers"
            rows.append(
                {
                    "role": role,
                    "field": f"{role} ({names[role]})" if names.get(role, role) != role else role,
                    "value": str(row["value"]),
                    "records": int(row["records"]),
                    "entities": int(row["entities"]),
                    "why": f"{reason}: {shared}" if reason else f"shared: {shared}",
                    "kind": "placeholder or invalid" if reason else "shared by customers",
                }
            )
    if not rows:
        return pd.DataFrame(columns=columns)
    worst = pd.DataFrame(rows, columns=columns)
    return (
        worst.sort_values(["records", "entities"], ascending=False).head(top).reset_index(drop=True)
    )


def _input_column_names(result: LinkResult) -> dict[str, str]:
    mapping = next(iter(result.roles.values()), None)
    return {k: str(v) for k, v in mapping.roles.items()} if mapping is not None else {}


# -- the page ----------------------------------------------------------------------------


def _page(report: QualityReport, specs: dict[str, dict[str, Any]], bundle: str) -> str:
    s = report.summary
    esc = html.escape
    cards = [
        ("records", f"{s['records']:,}"),
        ("customers (entities)", f"{s['entities']:,}"),
        ("duplicate records", f"{s['duplicate_records']:,}"),
        ("duplicate rate", f"{s['duplicate_rate']:.1%}"),
        ("pairs to review", f"{s['decisions'].get('review', 0):,}"),
    ]
    card_html = "".join(
        f'<div class="card"><div class="n">{esc(v)}</div><div class="l">{esc(k)}</div></div>'
        for k, v in cards
    )

    def chart(name: str) -> str:
        return f'<div class="chart" id="chart-{name}"></div>' if name in specs else ""

    fields = report.fields.assign(
        completeness=report.fields["completeness"].map("{:.1%}".format),
        validity=report.fields["validity"].map("{:.1%}".format),
    ).drop(columns=["role"])
    channels = report.channels.assign(
        duplicate_rate=report.channels["duplicate_rate"].map("{:.1%}".format),
        usable=report.channels["usable"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}"),
    ).rename(
        columns={
            "entities": "customers",
            "duplicate_rate": "records whose customer has others",
            "usable": "valid values (mean over fields)",
        }
    )
    worst = report.worst_values.drop(columns=["role", "kind"], errors="ignore").rename(
        columns={"entities": "customers"}
    )
    sections = [
        "<section><h2>Duplicates</h2>"
        f"<p>The model found <b>{s['entities']:,}</b> customers among "
        f"<b>{s['records']:,}</b> records (level: {esc(str(s['level']))}): "
        f"{s['duplicate_records']:,} records repeat a customer already in the file "
        f"({s['duplicate_rate']:.1%}); {s['records_in_duplicates']:,} records belong to a "
        "customer with more than one record.</p>" + chart("duplicates") + "</section>",
        "<section><h2>Fields: completeness and validity</h2>"
        "<p>Completeness is the share of records with a value; validity the share of the "
        "values present that standardization could read. Invalid values are never used for "
        "matching.</p>" + chart("fields") + _table(fields) + "</section>",
    ]
    if "channels" in specs:
        sections.append(
            "<section><h2>Source channels</h2>"
            "<p>Which channels bring gaps, bad values and duplicates.</p>"
            + chart("channels")
            + chart("channel_fields")
            + _table(channels)
            + "</section>"
        )
    sections.append(
        "<section><h2>The worst values</h2>"
        + (
            "<p>Placeholders, and contact values that several different customers share "
            "(a switchboard, a team mailbox): they identify nobody, so matching does not "
            "count them as evidence. Fix them at the source.</p>"
            + chart("worst_values")
            + _table(worst)
            if len(report.worst_values)
            else "<p>No placeholder or shared contact value held by three records or more.</p>"
        )
        + "</section>"
    )
    unused = (
        _table(report.unused)
        if len(report.unused)
        else "<p>Every column took part in matching.</p>"
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    sections.append(
        "<section><h2>Columns not used</h2>"
        + unused
        + (f"<h3>How the columns were read</h3><ul>{notes}</ul>" if notes else "")
        + "</section>"
    )
    spec_json = json.dumps(specs, ensure_ascii=False).replace("</", "<\\/")
    safe_bundle = bundle.replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(report.title)}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
  sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }}
h1 {{ font-size: 1.6em; margin-bottom: 0; }}
.sub {{ color: #666; margin-top: 4px; }}
.cards {{ display: flex; gap: 12px; flex-wrap: wrap; margin: 18px 0; }}
.card {{ background: #f4f6f8; border-radius: 6px; padding: 10px 16px; min-width: 140px; }}
.card .n {{ font-size: 1.6em; font-weight: 600; }}
.card .l {{ color: #555; font-size: 0.9em; }}
section {{ margin: 28px 0; }}
h2 {{ border-bottom: 1px solid #ddd; padding-bottom: 4px; font-size: 1.25em; }}
.chart {{ margin: 12px 0; }}
table {{ border-collapse: collapse; font-size: 0.88em; margin: 10px 0; }}
th, td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f4f6f8; }}
td.num {{ text-align: right; }}
</style>
<script>
{safe_bundle}
</script>
</head>
<body>
<h1>{esc(report.title)}</h1>
<p class="sub">made by linkage on {esc(s["made"])}
{("; phones read in " + esc(str(s["country"]))) if s["country"] else ""}</p>
<div class="cards">{card_html}</div>
{"".join(sections)}
<script>
const linkageSpecs = {spec_json};
for (const [name, spec] of Object.entries(linkageSpecs)) {{
  vegaEmbed("#chart-" + name, spec, {{renderer: "svg", actions: false}})
    .catch((error) => console.error(name, error));
}}
</script>
</body>
</html>
"""


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                text = "" if pd.isna(value) else f"{value:,}"
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f"<td>{html.escape('' if pd.isna(value) else str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
