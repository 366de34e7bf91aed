"""The Fellegi-Sunter model: splink settings, the training recipe, predict, save and load.

A :class:`LinkageModel` is data (its splink settings with trained parameters, decision
policy, configuration and training log round-trip through JSON) and a scikit-learn style
estimator: ``LinkageModel(seed=1).fit(records)`` trains once, and
``link(other_records, model=model)`` scores without training.

Modules, bottom up (each imports only those above it in this list):

- ``_training``: splink settings over the working tables (:func:`build_settings`,
  :func:`make_linker`) and the training recipe (:func:`train`: the prior from deterministic
  rules, u by random sampling, m by EM over blocking passes, fallbacks and clamps where a
  step cannot work), with the :class:`TrainingLog` of what it did;
- ``_checks``: a saved model's format version and the checks on reading one, by field
  (``LinkageModel.from_dict``), and on using one on an export (:func:`check_input`);
- ``_steps``: the steps ``LinkageModel.fit`` and :func:`linkage.link` share: reading,
  the working frame, standardizing, blocking, and :func:`train_model`, which returns the
  :class:`FittedState` a model is made of;
- ``_estimator``: :class:`LinkageModel` (fit, parameters, save and load) and
  :func:`check_parameters`.

``fit`` calls the steps, and the steps construct no model: ``train_model`` returns the
fitted state and ``LinkageModel.from_fitted(state)`` makes the model, so no module imports
one above it.
"""

from __future__ import annotations

from linkage.model._checks import FORMAT_VERSION, check_input
from linkage.model._estimator import LinkageModel, check_parameters
from linkage.model._steps import (
    FittedState,
    PreparedTables,
    WorkingRecords,
    prepare_tables,
    read_inputs,
    standardize_records,
    train_model,
    working_records,
)
from linkage.model._training import (
    DETERMINISTIC_RULES,
    EM_PASSES,
    FIELD_FAMILIES,
    M_U_BOUNDS,
    PRIOR_BOUNDS,
    TrainingLog,
    build_settings,
    make_linker,
    train,
)

__all__ = [
    "DETERMINISTIC_RULES",
    "EM_PASSES",
    "FIELD_FAMILIES",
    "FORMAT_VERSION",
    "M_U_BOUNDS",
    "PRIOR_BOUNDS",
    "FittedState",
    "LinkageModel",
    "PreparedTables",
    "TrainingLog",
    "WorkingRecords",
    "build_settings",
    "check_input",
    "check_parameters",
    "make_linker",
    "prepare_tables",
    "read_inputs",
    "standardize_records",
    "train",
    "train_model",
    "working_records",
]
