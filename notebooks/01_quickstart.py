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
# # Quickstart: find the duplicate leads in a CRM export
#
# `linkage.link` cleans each field, blocks, trains a Fellegi-Sunter model with splink, decides each candidate pair (`auto_merge`, `review`, `distinct`) and groups records into entities. This notebook links the shipped sample: 3,000 synthetic Chinese B2B leads whose true person is known (`true_person_id`), so every claim below is checked.

# %%
import logging

logging.getLogger("splink").setLevel(logging.WARNING)  # splink's training log is long

# %%
import linkage
from linkage.datasets import load_sample
from linkage.evaluation import evaluate

leads = load_sample()
leads.head()

# %% [markdown]
# ## Link
#
# One call, no configuration: roles are detected from the headers.

# %%
result = linkage.link(leads, seed=0)
print(result.summary())
result.roles["records"].roles

# %% [markdown]
# ## Entities
#
# Every lead appears exactly once, with the `entity_id` of the customer it belongs to.

# %%
entities = result.entities
assert len(entities) == len(leads)
assert entities["lead_id"].is_unique
assert set(entities["lead_id"]) == set(leads["lead_id"])
assert result.n_entities < len(leads), "the sample has duplicates to find"
print(f"{len(leads):,} leads are {result.n_entities:,} customers")
sizes = entities["entity_id"].value_counts()
sizes.head()

# %%
# The leads of the largest entity, side by side.
biggest = entities.loc[entities["entity_id"] == sizes.index[0], "lead_id"]
leads[leads["lead_id"].isin(biggest)][["lead_id", "name", "company", "mobile", "email"]]

# %% [markdown]
# ## Pairs
#
# Every candidate pair blocking proposed, strongest first, with its match weight, decision and the reason for it.

# %%
pairs = result.pairs
assert set(pairs["decision"]) <= {"auto_merge", "review", "distinct"}
assert pairs["match_weight"].is_monotonic_decreasing
assert len(pairs) == sum(result.decision_counts().values())
print(result.decision_counts())
pairs[["lead_id_l", "lead_id_r", "match_weight", "decision", "reason"]].head()

# %% [markdown]
# ## Review
#
# The borderline pairs a person should look at, both records side by side. A routing rule can only lower a strong pair into review, never raise a weak one, so every pair here scored at least the review threshold.

# %%
review = result.review
threshold = result.model.policy.thresholds.review
assert len(review) == result.decision_counts()["review"]
assert (review["match_weight"] >= threshold).all()
review[
    [
        "lead_id_l",
        "lead_id_r",
        "match_weight",
        "reason",
        "person_name_l",
        "person_name_r",
        "company_l",
        "company_r",
    ]
].head()

# %% [markdown]
# ## How good is it?
#
# Against the sample's ground truth: pairwise (the `auto_merge` decisions) and clustered (every pair of records in one entity).

# %%
accuracy = evaluate(result, "true_person_id", leads)
for level, scores in accuracy.items():
    print(f"{level:9s} {scores}")
assert accuracy["pairwise"].f1 > 0.93
assert accuracy["clustered"].f1 > 0.90
