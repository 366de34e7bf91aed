"""The data-quality report (``linkage.charts.quality_report``, ``linkage report``): its
numbers are the run's, the page is one file that needs no network, and a browser draws
every chart in it."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from linkage import charts
from linkage.cli import main
from linkage.datasets import generate_leads

# The generator's columns under the headers a Chinese CRM export uses.
CHINESE_HEADERS = {
    "lead_id": "线索编号",
    "company": "公司名称",
    "credit_code": "统一社会信用代码",
    "name": "姓名",
    "mobile": "手机号码",
    "phone": "座机",
    "email": "邮箱",
    "province": "省份",
    "city": "城市",
    "address": "地址",
    "source": "线索来源",
    "owner": "负责人",
    "created_at": "创建时间",
}


def chinese_crm(n: int, seed: int = 3) -> pd.DataFrame:
    """Synthetic leads as a Chinese CRM exports them (with the truth column kept)."""
    return generate_leads(n, seed=seed).rename(columns=CHINESE_HEADERS)


@pytest.fixture(scope="module")
def report(sample_result):
    return charts.quality_report(sample_result, title="sample leads")


def test_duplicate_rate_is_the_models(report, sample_result):
    s = report.summary
    assert s["records"] == sample_result.n_records
    assert s["entities"] == sample_result.n_entities
    assert s["duplicate_records"] == s["records"] - s["entities"]
    assert s["duplicate_rate"] == pytest.approx(s["duplicate_records"] / s["records"])
    assert sum(n * k for k, n in s["entity_sizes"].items()) == s["records"]
    assert s["decisions"] == sample_result.decision_counts()


def test_fields_and_channels_add_up(report, sample_result):
    quality = charts.data_quality(sample_result)
    completeness = quality.drop_duplicates("column").set_index("column")["completeness"]
    fields = report.fields.set_index("field")
    assert fields["completeness"].to_dict() == pytest.approx(completeness.to_dict())
    problems = sample_result.problems.groupby("role").size()
    assert fields.set_index("role")["invalid"].reindex(problems.index).tolist() == list(problems)
    assert report.channels["records"].sum() == sample_result.n_records
    channel_column = sample_result.records["source"]
    assert set(report.channels["channel"]) == set(channel_column.dropna().astype(str))
    # per channel and field: the valid share never exceeds the completeness
    cf = report.channel_fields
    assert (cf["usable"] <= cf["completeness"] + 1e-12).all()
    assert cf["channel"].nunique() == len(report.channels)


def test_worst_values_name_placeholders_and_shared_numbers(report, sample_result):
    worst = report.worst_values
    assert len(worst) and (worst["records"] >= 3).all()
    assert {"placeholder or invalid", "shared by customers"} <= set(worst["kind"])
    shared = worst[worst["kind"] == "shared by customers"]
    assert (shared["entities"] >= 2).all()
    # a placeholder's reason is the one standardization gave
    reasons = set(sample_result.problems["reason"])
    placeholder_reasons = worst.loc[worst["kind"] == "placeholder or invalid", "why"]
    assert any(w.split(":")[0] in reasons for w in placeholder_reasons)


def test_unused_columns_are_listed_with_the_reason(report, sample_result):
    assert dict(zip(report.unused["column"], report.unused["reason"])) == sample_result.unused
    assert "true_person_id" in set(report.unused["column"])


def test_by_channel_quality_splits_the_records(sample_result):
    table = charts.data_quality(sample_result, by="source")
    per_channel = table.groupby(["source", "column"])["records"].sum()
    sizes = sample_result.records["source"].astype(str).value_counts()
    for (channel, _column), n in per_channel.items():
        assert n == sizes[channel]


def test_report_command_writes_one_offline_file(tmp_path):
    source = tmp_path / "线索.csv"
    chinese_crm(400).to_csv(source, index=False, encoding="gb18030")
    out = tmp_path / "report.html"
    assert main(["report", str(source), "-o", str(out), "-q"]) == 0
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", page, re.I)
    assert "vegaEmbed" in page and page.count('class="chart"') >= 4
    assert "手机号码" in page and "线索来源" in page  # the user's own column names
    assert main(["report", str(source), "-o", str(tmp_path / "r.txt"), "-q"]) == 2


@pytest.mark.slow
def test_report_draws_in_a_headless_browser_without_network(tmp_path):
    from _browser import open_offline

    import linkage

    result = linkage.link(chinese_crm(1500), seed=0)
    report = charts.quality_report(result, title="线索.csv")
    page = report.save(tmp_path / "report.html")
    dom, console = open_offline(page)
    assert not console, console
    names = list(report.charts())
    assert len(names) == 5
    for name in names:
        drawn = dom.split(f'id="chart-{name}"', 1)[1].split('class="chart"', 1)[0]
        assert "<svg" in drawn and "role-mark" in drawn, name
        assert re.search(r'<path[^>]+d="M', drawn), name
