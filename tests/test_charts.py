"""Charts for threshold tuning: the numbers they show are the decisions linkage makes, the
files they save work offline, and a headless browser draws them without errors."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from _browser import open_offline

import linkage
from linkage import charts
from linkage.errors import ConfigError, InputError, ModelError
from linkage.evaluation import evaluate

TRUTH = "true_person_id"
# Thresholds on the 0.5 grid where the bands and the routing rules both matter.
SETTINGS = [(-4.0, 0.0), (-2.0, 3.0), (-8.0, -1.0), (0.0, 6.5), (-1.0, -1.0)]


def test_review_load_counts_are_the_decisions_redecide_makes(sample_result):
    table = charts.review_load(sample_result, auto_merge_thresholds=[a for _, a in SETTINGS])
    for review, auto in SETTINGS:
        row = table[(table.review_threshold == review) & (table.auto_merge_threshold == auto)]
        expected = sample_result.redecide(
            linkage.Thresholds(review=review, auto_merge=auto), recluster=False
        ).decision_counts()
        assert row.iloc[0]["review_pairs"] == expected["review"], (review, auto)
        assert row.iloc[0]["auto_merge_pairs"] == expected["auto_merge"], (review, auto)
        assert row.iloc[0]["distinct_pairs"] == expected["distinct"], (review, auto)
    current = table[table["current"]]
    assert len(current) == 1
    assert current.iloc[0]["review_pairs"] == sample_result.decision_counts()["review"]


def test_threshold_explorer_shows_the_counts_at_its_slider_positions(sample_result, sample):
    import vl_convert

    for review, auto in [(-4.0, 0.0), (-2.0, 3.0)]:
        chart = charts.threshold_explorer(
            sample_result,
            truth_column=TRUTH,
            records=sample,
            thresholds=linkage.Thresholds(review=review, auto_merge=auto),
        )
        svg = vl_convert.vegalite_to_svg(chart.to_dict())
        shown = {int(n.replace(",", "")) for n in re.findall(r">([\d,]+) pairs<", svg)}
        expected = sample_result.redecide(
            linkage.Thresholds(review=review, auto_merge=auto), recluster=False
        ).decision_counts()
        assert shown == {n for n in expected.values() if n}, (review, auto)
        assert "precision" in svg and "recall" in svg


def test_explorer_precision_matches_evaluate(sample_result, sample):
    import vl_convert

    svg = vl_convert.vegalite_to_svg(
        charts.threshold_explorer(sample_result, truth_column=TRUTH, records=sample).to_dict()
    )
    pairwise = evaluate(sample_result, TRUTH, sample)["pairwise"]
    assert f"precision {pairwise.precision:.4f}" in svg
    assert f"recall {pairwise.recall:.4f}" in svg


def test_accuracy_by_threshold_agrees_with_evaluate_at_the_current_threshold(sample_result, sample):
    table = charts.accuracy_by_threshold(
        sample_result, truth_column=TRUTH, records=sample, cluster_thresholds=[0.0, 4.0]
    )
    truth = evaluate(sample_result, TRUTH, sample)
    pairs = table[(table.level == "pairs") & (table.auto_merge_threshold == 0.0)].iloc[0]
    entities = table[(table.level == "entities") & (table.auto_merge_threshold == 0.0)].iloc[0]
    assert pairs["precision"] == pytest.approx(truth["pairwise"].precision)
    assert pairs["recall"] == pytest.approx(truth["pairwise"].recall)
    assert entities["f1"] == pytest.approx(truth["clustered"].f1)
    # Raising the auto-merge line never lowers pairwise precision much, and costs recall.
    strict = table[(table.level == "pairs") & (table.auto_merge_threshold == 10.0)].iloc[0]
    assert strict["recall"] < pairs["recall"]
    assert set(table.level) == {"pairs", "entities"}


def test_accuracy_from_a_labels_table_of_pairs(sample_result, sample):
    pairs = sample_result.pairs.head(400)
    truth = sample.set_index("lead_id")[TRUTH]
    labels = pd.DataFrame(
        {
            "lead_id_l": pairs["lead_id_l"],
            "lead_id_r": pairs["lead_id_r"],
            "is_match": truth.loc[pairs["lead_id_l"]].to_numpy()
            == truth.loc[pairs["lead_id_r"]].to_numpy(),
        }
    )
    table = charts.accuracy_by_threshold(sample_result, labels=labels, cluster_thresholds=[0.0])
    at_zero = table[(table.level == "pairs") & (table.auto_merge_threshold == 0.0)].iloc[0]
    assert at_zero["actual"] == labels["is_match"].sum()
    assert 0.9 <= at_zero["precision"] <= 1.0
    chart = charts.accuracy_chart(sample_result, labels=labels, cluster_thresholds=[0.0])
    assert chart.to_dict()["layer"]


def test_scratch_tables_are_dropped(sample_result, sample):
    def tables() -> set[str]:
        sql = "SELECT table_name FROM duckdb_tables()"
        return {r[0] for r in sample_result.connection.execute(sql).fetchall()}

    before = tables()
    charts.accuracy_by_threshold(
        sample_result, truth_column=TRUTH, records=sample, cluster_thresholds=[1.0]
    )
    charts.threshold_explorer(sample_result, truth_column=TRUTH, records=sample)
    assert {t for t in tables() - before if t.startswith("linkage_chart")} == set()


def test_labels_are_checked(sample_result, sample):
    with pytest.raises(InputError, match="needs labels"):
        charts.accuracy_by_threshold(sample_result)
    with pytest.raises(InputError, match="records="):
        charts.accuracy_by_threshold(sample_result, truth_column=TRUTH)
    with pytest.raises(InputError, match="no column"):
        charts.accuracy_by_threshold(sample_result, truth_column="nope", records=sample)
    with pytest.raises(InputError, match="is_match"):
        charts.threshold_explorer(sample_result, labels=pd.DataFrame({"lead_id_l": ["x"]}))
    bad = pd.DataFrame({"lead_id_l": ["nobody"], "lead_id_r": ["L0000001"], "is_match": [1]})
    with pytest.raises(InputError, match="not in this result"):
        charts.threshold_explorer(sample_result, labels=bad)


def test_decisions_by_reason_adds_up_to_the_decisions(sample_result):
    data = charts.decisions_by_reason_chart(sample_result).data
    by_decision = data.groupby("decision")["pairs"].sum().to_dict()
    assert by_decision == {k: v for k, v in sample_result.decision_counts().items() if v}
    assert "name_conflict" in set(data["why"])


def test_data_quality_counts_the_problems_found(sample_result):
    table = charts.data_quality(sample_result)
    problems = sample_result.problems.groupby("role").size()
    for role, n in problems.items():
        rows = table[table["column"].str.split(" ").str[0] == role]
        assert rows.loc[rows.status.str.startswith("invalid"), "records"].sum() == n
        assert rows["records"].sum() == len(sample_result.records)
    assert table["completeness"].between(0, 1).all()
    assert table["validity"].between(0, 1).all()


def test_histogram_hands_altair_aggregates_not_pairs(sample_result):
    chart = charts.match_weight_histogram(sample_result)
    data = chart.layer[0].data
    assert len(data) < 500
    assert data["pairs"].sum() == sum(sample_result.decision_counts().values())


def test_waterfall_for_one_pair_and_for_review_rows(sample_result):
    pair = sample_result.review.iloc[0]
    one = charts.waterfall(sample_result, (pair["lead_id_l"], pair["lead_id_r"]))
    # splink's chart ends with the pair's final match weight.
    finals = [r for r in one.chart_dict["data"]["values"] if r["column_name"] == "Final score"]
    assert finals[0]["log2_bayes_factor"] == pytest.approx(pair["match_weight"], abs=1e-6)
    # Each comparison shows both records' values, joined back to the scores from the records.
    rids = sample_result.records.set_index("record_id")["rid"]
    phones = [
        sample_result.connection.execute(
            "SELECT mobile_e164 FROM linkage_records WHERE rid = ?", [int(rids[pair[side]])]
        ).fetchall()[0][0]
        for side in ("lead_id_l", "lead_id_r")
    ]
    mobile = next(r for r in one.chart_dict["data"]["values"] if r["column_name"] == "mobile")
    assert [mobile["value_l"], mobile["value_r"]] == [str(p) for p in phones]
    several = charts.waterfall(sample_result, sample_result.review.head(3))
    assert len({r["record_number"] for r in several.chart_dict["data"]["values"]}) == 3
    with pytest.raises(InputError, match="not in this result"):
        charts.waterfall(sample_result, ("nobody", pair["lead_id_r"]))


def test_single_record_result_has_nothing_to_chart(sample):
    one = linkage.link(sample.head(1))
    with pytest.raises(ModelError):
        charts.match_weight_histogram(one)


def test_save_refuses_unknown_formats(sample_result, tmp_path):
    with pytest.raises(ConfigError, match=".pdf"):
        charts.save(charts.decisions_by_reason_chart(sample_result), tmp_path / "c.pdf")


# -- saved files: offline HTML, PNG, and a headless browser ----------------------------------


@pytest.fixture(scope="module")
def saved_charts(sample_result, sample, tmp_path_factory):
    """Every chart saved as HTML and PNG: name -> (html path, png path)."""
    folder = tmp_path_factory.mktemp("charts")
    r = sample_result
    built = {
        "histogram": charts.match_weight_histogram(r),
        "threshold_explorer": charts.threshold_explorer(r, truth_column=TRUTH, records=sample),
        "review_load": charts.review_load_chart(r),
        "accuracy": charts.accuracy_chart(
            r, truth_column=TRUTH, records=sample, cluster_thresholds=[-2.0, 0.0, 2.0]
        ),
        "decisions_by_reason": charts.decisions_by_reason_chart(r),
        "data_quality": charts.data_quality_chart(r),
        "splink_match_weights": charts.splink_match_weights(r),
        "splink_m_u_parameters": charts.splink_m_u_parameters(r),
        "waterfall": charts.waterfall(r, r.review.head(3)),
        "splink_threshold_selection": charts.splink_threshold_selection(
            r, truth_column=TRUTH, records=sample
        ),
        "splink_completeness": charts.splink_completeness(r),
    }
    return {
        name: (charts.save(c, folder / f"{name}.html"), charts.save(c, folder / f"{name}.png"))
        for name, c in built.items()
    }


def test_html_is_self_contained(saved_charts):
    for name, (html, _) in saved_charts.items():
        text = html.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=[\"']?https?:", text, re.I), name
        assert "vega" in text, name


def test_png_files_are_written(saved_charts):
    for name, (_, png) in saved_charts.items():
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) > 10_000, name


def test_dashboards_are_written(sample_result, tmp_path):
    viewer = charts.comparison_viewer(sample_result, tmp_path / "viewer.html")
    studio = charts.cluster_studio(sample_result, tmp_path / "studio.html", sample_size=3)
    for path in (viewer, studio):
        text = path.read_text(encoding="utf-8")
        assert len(text) > 10_000
        assert not re.search(r"<script[^>]+src=[\"']?https?:", text, re.I)


@pytest.mark.slow  # 15-40 s on the 2-core machine: the quick tier stays under 5 min
def test_charts_draw_in_a_headless_browser_without_network(saved_charts):
    for name, (html, _) in saved_charts.items():
        dom, console = open_offline(html)
        if name.startswith(("splink", "waterfall")):
            # splink's pages draw on a canvas and log its own version notes and warnings.
            assert re.search(r'<canvas[^>]*width="[1-9]', dom), name
            errors = [c for c in console if re.search(r"error|uncaught", c, re.I)]
            assert not errors, (name, errors)
        else:
            assert "<svg" in dom and "role-mark" in dom, name
            assert not console, (name, console)
        if name == "threshold_explorer":
            assert dom.count('type="range"') == 2
