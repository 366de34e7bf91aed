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
# # Review queue, golden records and undo
#
# `linkage.link` decides most pairs on its own; the borderline ones go to a person. This
# notebook walks the merge workflow end to end on the shipped sample (3,000 synthetic leads
# with ground truth):
#
# 1. link into a **project file** that holds the review queue;
# 2. give verdicts (here a simulated reviewer who knows the truth);
# 3. link again: entities follow the verdicts and keep their ids;
# 4. read the **golden records**, their **lineage** and a customer's **history**;
# 5. **undo** a merge and **forget** a record;
# 6. an **audit sample** and the verdicts as splink **labels**.
#
# Every claim is checked with an `assert`, so the notebook fails loudly if it stops being true.

# %%
import logging
import tempfile
from pathlib import Path

import linkage
from linkage import ReviewQueue
from linkage.datasets import load_sample

logging.getLogger("splink").setLevel(logging.WARNING)  # splink's training log is long
leads = load_sample()
truth = dict(zip(leads["lead_id"], leads["true_person_id"]))
project = Path(tempfile.mkdtemp()) / "crm.linkage"  # one DuckDB file per CRM
first = linkage.link(leads, queue=project, seed=0)
print(first.summary())

# %% [markdown]
# ## 1. The queue
#
# Pairs with decision `review` are now items in the project file, both records side by side.
# `pending()` lists the most useful first: conflicts, then the audit sample, then review pairs
# with the least certain first (their automatic decision is the most likely to be wrong, and
# their labels teach threshold tuning most).

# %%
queue = ReviewQueue.open(project)
pending = queue.pending()
assert len(pending) == len(first.review) > 0
pending[
    [
        "item_id",
        "match_probability",
        "reason",
        "person_name_l",
        "person_name_r",
        "mobile_l",
        "mobile_r",
    ]
].head()

# %%
top = int(pending["item_id"].iloc[0])
queue.show(top)

# %% [markdown]
# ## 2. Verdicts
#
# A reviewer gives `match`, `non_match` or `skip`, with their name. Here the reviewer knows the
# generator's truth and works through the first 30 items. (From a shell:
# `linkage review decide crm.linkage 12 match --reviewer li.na`.)

# %%
decided = pending.head(30)
for item in decided.itertuples():
    verdict = "match" if truth[item.lead_id_l] == truth[item.lead_id_r] else "non_match"
    queue.decide(item.item_id, verdict, reviewer="li.na")
verdicts = queue.verdicts()
print(verdicts["verdict"].value_counts().to_dict())
assert len(verdicts) == 30

# %% [markdown]
# ## 3. Link again: entities follow the verdicts, ids stay stable
#
# A `match` joins two entities; a `non_match` keeps two records apart however high their score
# and whatever chain links them.

# %%
second = linkage.link(leads, queue=project, seed=0)
before = dict(zip(first.entities["lead_id"], first.entities["entity_id"]))
after = dict(zip(second.entities["lead_id"], second.entities["entity_id"]))
for item in verdicts.itertuples():
    together = after[item.lead_id_l] == after[item.lead_id_r]
    assert together == (item.verdict == "match"), item

# no duplicate items, the verdicts kept
assert len(queue.items()) == len(queue.items().drop_duplicates(["lead_id_l", "lead_id_r"]))
assert len(queue.verdicts()) == 30

# entities that no verdict touched keep their ids
touched = {before[r] for r in set(verdicts["lead_id_l"]) | set(verdicts["lead_id_r"])}
unchanged = [r for r, e in before.items() if e not in touched]
assert all(after[r] == before[r] for r in unchanged)
print(
    f"{first.n_entities:,} entities before, {second.n_entities:,} after; "
    f"{len(unchanged):,} records kept their entity id untouched"
)

# %% [markdown]
# The record-to-entity mapping, as a plain table to write back to the CRM:

# %%
mapping = queue.entity_map()
assert len(mapping) == len(leads)
mapping.head()

# %% [markdown]
# ## 4. Golden records, lineage and history
#
# One golden record per entity. Each field has a rule (valid first, most recent, most frequent,
# source priority, longest, ...); phones, emails and channels are also kept as lists.

# %%
golden = second.golden.set_index("entity_id")
assert len(golden) == second.n_entities
# The showcase: the largest entity whose leads are all one true person (the sample knows).
people = second.entities.assign(person=second.entities["lead_id"].map(truth))
persons = people.groupby("entity_id")["person"].nunique()
sizes = second.entities["entity_id"].value_counts()
biggest = sizes[persons.reindex(sizes.index) == 1].index[0]
golden.loc[biggest]

# %% [markdown]
# The lineage says which record each golden value came from, by which rule, and holds every
# other value too; the merge log says which links built the entity.

# %%
lineage = second.lineage.of(biggest)
chosen = lineage.fields[lineage.fields["chosen"]]
for row in chosen.itertuples():
    assert golden.loc[biggest, row.field] == row.value
chosen[["field", "value", "record_id", "rule"]]

# %%
lineage.merge_log[["event", "lead_id_l", "lead_id_r", "match_weight", "reason", "actor"]]

# %%
history = second.history(biggest)  # the unified view for a sales rep, in time order
assert history["at"].is_monotonic_increasing
history[["lead_id", "source", "created_at", "person_name", "mobile", "company"]]

# %% [markdown]
# ## 5. Undo and erasure
#
# Not every entity is right. Some join leads of different true people: a wrong merge. Take the
# stray record out of the largest such entity: it is kept apart from the others on every later run, and the undo is logged. Then forget a record (a data
# subject's erasure request): its values leave golden records, lineage, pairs and the queue;
# the log keeps only that a record was erased.

# %%
mixed = sizes[persons.reindex(sizes.index) > 1]
print(f"{len(mixed):,} of {second.n_entities:,} entities mix true people")
wrong = people[people["entity_id"] == mixed.index[0]]
majority = wrong["person"].value_counts().index[0]
stray = wrong.loc[wrong["person"] != majority, "lead_id"].iloc[0]
kept = wrong.loc[wrong["lead_id"] != stray, "lead_id"].tolist()
leads[leads["lead_id"].isin(wrong["lead_id"])][
    ["lead_id", "name", "company", "mobile", "phone", "true_person_id"]
]

# %%
third = second.take_out(stray, reviewer="li.na", note="a different person")
entity_after = third.entities.set_index("lead_id")["entity_id"]
assert entity_after[stray] not in set(entity_after[kept])
# The others stay together, unless the stray record was what joined them.
pieces = entity_after[kept].nunique()
print(
    f"{stray} is apart; the other {len(kept)} leads are in {pieces} entit{'y' if pieces == 1 else 'ies'}"
)
remaining = entity_after[kept[0]]
assert third.golden.set_index("entity_id").loc[remaining, "n_records"] <= len(wrong) - 1
assert "take_out" in set(third.lineage.of(entity_after[stray]).merge_log["event"]) | set(
    third.lineage.of(remaining).merge_log["event"]
)

members = history["lead_id"].tolist()
fourth = third.forget(members[0])
assert members[0] not in set(fourth.entities["lead_id"])
assert members[0] not in set(fourth.lineage.fields["record_id"])
queue.events()

# %% [markdown]
# ## 6. Audit sample and labels
#
# Verdicts on the review band alone would bias precision and recall estimates. A small random
# sample of auto-merged and of distinct pairs goes into the queue as `audit`, weighted by how
# many pairs it stands for.

# %%
added = queue.add_audit_sample(fourth, n_auto_merge=20, n_distinct=20, seed=1)
audit = queue.items()
audit = audit[audit["kind"] == "audit"]
for item in audit.itertuples():
    verdict = "match" if truth[item.lead_id_l] == truth[item.lead_id_r] else "non_match"
    queue.decide(item.item_id, verdict, reviewer="auditor")
estimate = queue.audit_estimate()
assert 0 < added == len(audit) <= 40  # up to 20 of each, none already queued
estimate

# %% [markdown]
# All verdicts are labels in splink's format, for its accuracy charts and threshold tuning:

# %%
labels = queue.labels(fourth)
table = fourth.linker.table_management.register_table(labels, "review_labels", overwrite=True)
accuracy = fourth.linker.evaluation.accuracy_analysis_from_labels_table(table, output_type="table")
assert len(labels) == len(queue.verdicts()) - (queue.verdicts()["verdict"] == "skip").sum()
labels.head()

# %% [markdown]
# The same queue from a shell, for an operations person without Python:
#
# ```bash
# linkage review list crm.linkage
# linkage review show crm.linkage 12
# linkage review decide crm.linkage 12 match --reviewer li.na --note "same mobile"
# linkage review entities crm.linkage -o entities.csv
# ```

# %%
from linkage.cli import main

assert main(["review", "list", str(project), "--limit", "5"]) == 0
