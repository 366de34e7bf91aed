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

# %% [markdown]
# ### Right, and wrong
#
# The sample knows each lead's true person (`true_person_id`), so we can tell which entities are right. The showcase below is the largest entity whose leads are all one person: the same customer under different spellings, formats and channels.

# %%
truth_of = leads.set_index("lead_id")["true_person_id"]
people = entities.assign(person=entities["lead_id"].map(truth_of))
persons_per_entity = people.groupby("entity_id")["person"].nunique()
right = sizes[persons_per_entity.reindex(sizes.index) == 1]
showcase = right.index[0]
columns = ["lead_id", "name", "company", "mobile", "email", "source", "true_person_id"]
shown = leads[leads["lead_id"].isin(people.loc[people["entity_id"] == showcase, "lead_id"])]
assert shown["true_person_id"].nunique() == 1
shown[columns]

# %% [markdown]
# The model is not always right: a few entities join leads of different true people (a wrong merge). The largest such entity is below, with the truth beside it: this is why borderline pairs go to a person (`result.review`), and why notebook 03 shows how to undo a merge.

# %%
wrong = sizes[persons_per_entity.reindex(sizes.index) > 1]
print(f"{len(wrong):,} of {result.n_entities:,} entities mix true people ({wrong.sum():,} leads)")
assert len(wrong) < 0.02 * result.n_entities  # rare, but not absent
mixed = leads[leads["lead_id"].isin(people.loc[people["entity_id"] == wrong.index[0], "lead_id"])]
assert mixed["true_person_id"].nunique() > 1
mixed[columns]

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
