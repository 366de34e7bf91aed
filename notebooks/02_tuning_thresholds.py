# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tuning the thresholds
#
# linkage decides with two match-weight thresholds, `review` and `auto_merge`, plus routing rules. This notebook looks at where true and false pairs separate, how many pairs a person would review, and why a pair scored what it did; picks thresholds with the sample's ground truth (`true_person_id`); re-decides without retraining; and saves the model with its new thresholds.

# %%
import logging

logging.getLogger("splink").setLevel(logging.WARNING)  # splink's training log is long

# %%
import tempfile
from pathlib import Path

import linkage
from linkage import charts
from linkage.datasets import load_sample
from linkage.evaluation import evaluate

TRUTH = "true_person_id"
leads = load_sample()
result = linkage.link(leads, seed=0)
result.model.policy.thresholds

# %% [markdown]
# ## Where do the scores fall?
#
# Pairs by match weight, coloured by the decision each got (routing rules included). The y axis is log-like so the few pairs near the thresholds show beside thousands of clear non-matches.

# %%
charts.static(charts.match_weight_histogram(result))

# %% [markdown]
# ## Move the thresholds
#
# The explorer has two sliders, one per threshold: the bars recolour, and the counts and the precision and recall of `auto_merge` follow. A notebook shows every chart here as a picture (`charts.static`), so it reads offline and on GitHub; the picture is the explorer at the current thresholds, and the page `charts.save` writes (at the end of this notebook) has the sliders to drag.

# %%
explorer = charts.threshold_explorer(result, truth_column=TRUTH, records=leads)
charts.static(explorer)

# %% [markdown]
# ## Accuracy and review load against the thresholds

# %%
charts.static(charts.accuracy_chart(result, truth_column=TRUTH, records=leads))

# %%
charts.static(charts.review_load_chart(result))

# %% [markdown]
# ## Why pairs were decided as they were

# %%
charts.static(charts.decisions_by_reason_chart(result))

# %%
# splink's waterfall: how each comparison added to the score of the first review pair
# (the saved page steps through several pairs with a slider)
charts.static(charts.waterfall(result, result.review.head(1)))

# %%
charts.static(charts.splink_match_weights(result))

# %%
charts.static(charts.data_quality_chart(result))

# %% [markdown]
# ## Choose
#
# A rule an analyst might use: auto-merge from the lowest threshold whose pairwise precision is at least 99%, then review down to the lowest threshold that keeps the review list within 150 pairs.

# %%
accuracy = charts.accuracy_by_threshold(
    result, truth_column=TRUTH, records=leads, cluster_thresholds=[]
)
pairwise = accuracy[accuracy["level"] == "pairs"]
auto_merge_at = float(pairwise.loc[pairwise["precision"] >= 0.99, "auto_merge_threshold"].min())

load = charts.review_load(result, auto_merge_thresholds=[auto_merge_at])
within_budget = load[load["review_pairs"] <= 150]
review_at = float(within_budget["review_threshold"].min())

chosen = linkage.Thresholds(review=review_at, auto_merge=auto_merge_at)
chosen

# %% [markdown]
# ## Re-decide
#
# No retraining, no rescoring: the stored scores are decided again and the entities re-clustered. The counts are the ones the charts promised.

# %%
tuned = result.redecide(chosen)
counts = tuned.decision_counts()
print(tuned.summary())
promised = load[load["review_threshold"] == review_at].iloc[0]
assert counts["review"] == promised["review_pairs"] <= 150
assert counts["auto_merge"] == promised["auto_merge_pairs"]
assert tuned.model.policy.thresholds == chosen

promised_precision = pairwise.loc[
    pairwise["auto_merge_threshold"] == auto_merge_at, "precision"
].iloc[0]
after = evaluate(tuned, TRUTH, leads)["pairwise"]
assert abs(after.precision - promised_precision) < 1e-9
assert after.precision >= 0.99
print("pairwise after tuning:", after)

# %% [markdown]
# ## Save, reload, reuse
#
# The thresholds travel with the model: a reloaded model scores new leads without retraining and decides them the same way.

# %%
folder = Path(tempfile.mkdtemp())
tuned.model.save(folder / "model.json")
reloaded = linkage.LinkageModel.load(folder / "model.json")
assert reloaded.policy.thresholds == chosen

rescored = linkage.link(leads, model=reloaded)
assert rescored.decision_counts() == counts
rescored.decision_counts()

# %% [markdown]
# Charts save as self-contained HTML (works offline: vega's JavaScript is inside the file) or PNG, to share with people who do not run notebooks. The explorer's page has the two sliders; `charts.quality_report(result).save("report.html")` (or `linkage report leads.csv -o report.html`) writes a whole data-quality page the same way.

# %%
page = charts.save(explorer, folder / "explorer.html")
image = charts.save(charts.match_weight_histogram(tuned), folder / "weights.png")
assert page.stat().st_size > 0 and image.stat().st_size > 0
assert page.read_text(encoding="utf-8").count('"bind"') >= 1  # the sliders are in the page
page.name, image.name
