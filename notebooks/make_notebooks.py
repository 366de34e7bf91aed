"""Write the notebooks in this folder from the cells below, outputs cleared.

Edit the cells here (notebooks 03 and 04: in ``cells_03.py``, ``cells_04.py``), then run
``python notebooks/make_notebooks.py``: the ``.ipynb`` files are generated, so their JSON
stays clean in review. ``python -m pytest`` runs them (nbmake).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

QUIET = """\
import logging

logging.getLogger("splink").setLevel(logging.WARNING)  # splink's training log is long"""

QUICKSTART = [
    new_markdown_cell(
        "# Quickstart: find the duplicate leads in a CRM export\n\n"
        "`linkage.link` cleans each field, blocks, trains a Fellegi-Sunter model with splink, "
        "decides each candidate pair (`auto_merge`, `review`, `distinct`) and groups records "
        "into entities. This notebook links the shipped sample: 3,000 synthetic Chinese B2B "
        "leads whose true person is known (`true_person_id`), so every claim below is checked."
    ),
    new_code_cell(QUIET),
    new_code_cell(
        "import linkage\n"
        "from linkage.datasets import load_sample\n"
        "from linkage.evaluation import evaluate\n\n"
        "leads = load_sample()\n"
        "leads.head()"
    ),
    new_markdown_cell(
        "## Link\n\nOne call, no configuration: roles are detected from the headers."
    ),
    new_code_cell(
        "result = linkage.link(leads, seed=0)\n"
        "print(result.summary())\n"
        'result.roles["records"].roles'
    ),
    new_markdown_cell(
        "## Entities\n\nEvery lead appears exactly once, with the `entity_id` of the customer "
        "it belongs to."
    ),
    new_code_cell(
        "entities = result.entities\n"
        "assert len(entities) == len(leads)\n"
        'assert entities["lead_id"].is_unique\n'
        'assert set(entities["lead_id"]) == set(leads["lead_id"])\n'
        'assert result.n_entities < len(leads), "the sample has duplicates to find"\n'
        'print(f"{len(leads):,} leads are {result.n_entities:,} customers")\n'
        'sizes = entities["entity_id"].value_counts()\n'
        "sizes.head()"
    ),
    new_code_cell(
        "# The leads of the largest entity, side by side.\n"
        'biggest = entities.loc[entities["entity_id"] == sizes.index[0], "lead_id"]\n'
        'leads[leads["lead_id"].isin(biggest)][["lead_id", "name", "company", "mobile", "email"]]'
    ),
    new_markdown_cell(
        "## Pairs\n\nEvery candidate pair blocking proposed, strongest first, with its match "
        "weight, decision and the reason for it."
    ),
    new_code_cell(
        "pairs = result.pairs\n"
        'assert set(pairs["decision"]) <= {"auto_merge", "review", "distinct"}\n'
        'assert pairs["match_weight"].is_monotonic_decreasing\n'
        "assert len(pairs) == sum(result.decision_counts().values())\n"
        "print(result.decision_counts())\n"
        'pairs[["record_id_l", "record_id_r", "match_weight", "decision", "reason"]].head()'
    ),
    new_markdown_cell(
        "## Review\n\nThe borderline pairs a person should look at, both records side by side. "
        "A routing rule can only lower a strong pair into review, never raise a weak one, so "
        "every pair here scored at least the review threshold."
    ),
    new_code_cell(
        "review = result.review\n"
        "threshold = result.model.policy.thresholds.review\n"
        'assert len(review) == result.decision_counts()["review"]\n'
        'assert (review["match_weight"] >= threshold).all()\n'
        "review[\n"
        '    ["record_id_l", "record_id_r", "match_weight", "reason",\n'
        '     "person_name_l", "person_name_r", "company_l", "company_r"]\n'
        "].head()"
    ),
    new_markdown_cell(
        "## How good is it?\n\nAgainst the sample's ground truth: pairwise (the `auto_merge` "
        "decisions) and clustered (every pair of records in one entity)."
    ),
    new_code_cell(
        'accuracy = evaluate(result, "true_person_id", leads)\n'
        "for level, scores in accuracy.items():\n"
        '    print(f"{level:9s} {scores}")\n'
        'assert accuracy["pairwise"].f1 > 0.93\n'
        'assert accuracy["clustered"].f1 > 0.90'
    ),
]

TUNING = [
    new_markdown_cell(
        "# Tuning the thresholds\n\n"
        "linkage decides with two match-weight thresholds, `review` and `auto_merge`, plus "
        "routing rules. This notebook looks at where true and false pairs separate, how many "
        "pairs a person would review, and why a pair scored what it did; picks thresholds "
        "with the sample's ground truth (`true_person_id`); re-decides without retraining; "
        "and saves the model with its new thresholds."
    ),
    new_code_cell(QUIET),
    new_code_cell(
        "import tempfile\n"
        "from pathlib import Path\n\n"
        "import linkage\n"
        "from linkage import charts\n"
        "from linkage.datasets import load_sample\n"
        "from linkage.evaluation import evaluate\n\n"
        'TRUTH = "true_person_id"\n'
        "leads = load_sample()\n"
        "result = linkage.link(leads, seed=0)\n"
        "result.model.policy.thresholds"
    ),
    new_markdown_cell(
        "## Where do the scores fall?\n\nPairs by match weight, coloured by the decision each "
        "got (routing rules included). The y axis is log-like so the few pairs near the "
        "thresholds show beside thousands of clear non-matches."
    ),
    new_code_cell("charts.match_weight_histogram(result)"),
    new_markdown_cell(
        "## Move the thresholds\n\nDrag the two sliders under the chart: the bars recolour, "
        "and the counts and the precision and recall of `auto_merge` follow."
    ),
    new_code_cell("charts.threshold_explorer(result, truth_column=TRUTH, records=leads)"),
    new_markdown_cell("## Accuracy and review load against the thresholds"),
    new_code_cell("charts.accuracy_chart(result, truth_column=TRUTH, records=leads)"),
    new_code_cell("charts.review_load_chart(result)"),
    new_markdown_cell("## Why pairs were decided as they were"),
    new_code_cell("charts.decisions_by_reason_chart(result)"),
    new_code_cell(
        "# splink's waterfall: how each comparison added to the score of the first review pairs\n"
        "charts.waterfall(result, result.review.head(5))"
    ),
    new_code_cell("charts.splink_match_weights(result)"),
    new_code_cell("charts.data_quality_chart(result)"),
    new_markdown_cell(
        "## Choose\n\nA rule an analyst might use: auto-merge from the lowest threshold whose "
        "pairwise precision is at least 99%, then review down to the lowest threshold that "
        "keeps the review list within 150 pairs."
    ),
    new_code_cell(
        "accuracy = charts.accuracy_by_threshold(\n"
        "    result, truth_column=TRUTH, records=leads, cluster_thresholds=[]\n"
        ")\n"
        'pairwise = accuracy[accuracy["level"] == "pairs"]\n'
        'auto_merge_at = float(pairwise.loc[pairwise["precision"] >= 0.99, '
        '"auto_merge_threshold"].min())\n\n'
        "load = charts.review_load(result, auto_merge_thresholds=[auto_merge_at])\n"
        'within_budget = load[load["review_pairs"] <= 150]\n'
        'review_at = float(within_budget["review_threshold"].min())\n\n'
        "chosen = linkage.Thresholds(review=review_at, auto_merge=auto_merge_at)\n"
        "chosen"
    ),
    new_markdown_cell(
        "## Re-decide\n\nNo retraining, no rescoring: the stored scores are decided again and "
        "the entities re-clustered. The counts are the ones the charts promised."
    ),
    new_code_cell(
        "tuned = result.redecide(chosen)\n"
        "counts = tuned.decision_counts()\n"
        "print(tuned.summary())\n"
        'promised = load[load["review_threshold"] == review_at].iloc[0]\n'
        'assert counts["review"] == promised["review_pairs"] <= 150\n'
        'assert counts["auto_merge"] == promised["auto_merge_pairs"]\n'
        "assert tuned.model.policy.thresholds == chosen\n\n"
        'promised_precision = pairwise.loc[pairwise["auto_merge_threshold"] == auto_merge_at, '
        '"precision"].iloc[0]\n'
        'after = evaluate(tuned, TRUTH, leads)["pairwise"]\n'
        "assert abs(after.precision - promised_precision) < 1e-9\n"
        "assert after.precision >= 0.99\n"
        'print("pairwise after tuning:", after)'
    ),
    new_markdown_cell(
        "## Save, reload, reuse\n\nThe thresholds travel with the model: a reloaded model "
        "scores new leads without retraining and decides them the same way."
    ),
    new_code_cell(
        "folder = Path(tempfile.mkdtemp())\n"
        'tuned.model.save(folder / "model.json")\n'
        'reloaded = linkage.LinkageModel.load(folder / "model.json")\n'
        "assert reloaded.policy.thresholds == chosen\n\n"
        "rescored = linkage.link(leads, model=reloaded)\n"
        "assert rescored.decision_counts() == counts\n"
        "rescored.decision_counts()"
    ),
    new_markdown_cell(
        "Charts save as self-contained HTML (works offline) or PNG, to share with people "
        "who do not run notebooks."
    ),
    new_code_cell(
        'page = charts.save(charts.match_weight_histogram(tuned), folder / "weights.html")\n'
        'image = charts.save(charts.match_weight_histogram(tuned), folder / "weights.png")\n'
        "assert page.stat().st_size > 0 and image.stat().st_size > 0\n"
        "page.name, image.name"
    ),
]


def write(name: str, cells: list) -> Path:
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    path = HERE / name
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return path


if __name__ == "__main__":
    import cells_03
    import cells_04

    written = []
    for name, cells in (
        ("01_quickstart.ipynb", QUICKSTART),
        ("02_tuning_thresholds.ipynb", TUNING),
        (cells_03.NAME, cells_03.cells),
        (cells_04.NAME, cells_04.cells),
    ):
        written.append(write(name, cells))
    # The cells are written for reading here; ruff lays them out as the rest of the code.
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", *written], check=True)
    print("\n".join(map(str, written)))
