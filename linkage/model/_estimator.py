"""The estimator: :class:`LinkageModel`, a Fellegi-Sunter model plus the decision policy.

A :class:`LinkageModel` is data: its splink settings (with trained parameters), decision
policy, configuration and training log round-trip through JSON (:meth:`~LinkageModel.save`,
:meth:`~LinkageModel.load`; the checks of a saved file are in :mod:`linkage.model._checks`).

It is also a scikit-learn style estimator: ``LinkageModel(seed=1).fit(records)`` trains once,
and ``link(other_records, model=model)`` scores without training. ``fit`` runs the steps
``link`` runs (:mod:`linkage.model._steps`); this module holds the estimator's parameters
(:func:`check_parameters`, their record in a saved model) and its fitted state.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from linkage import _memory, _splink
from linkage._version import __version__
from linkage.blocking import BlockingRule
from linkage.decisions import DecisionPolicy, RoutingRule, Thresholds
from linkage.errors import ConfigError, LinkageError, ModelError
from linkage.model._checks import DAMAGED_FIX, FORMAT_VERSION, check_saved_model, damaged, why
from linkage.model._steps import (
    FittedState,
    prepare_tables,
    read_inputs,
    standardize_records,
    train_model,
    working_records,
)
from linkage.model._training import TrainingLog


class LinkageModel:
    """A Fellegi-Sunter model plus the decision policy, as a scikit-learn style estimator.

    Fit once, link many: ``LinkageModel(...).fit(records)`` trains (the same recipe as
    :func:`linkage.link`, which calls the same code) and returns the model, fitted;
    ``link(other_records, model=model)`` then scores without retraining.

    Parameters (the constructor's keywords, read by :meth:`get_params` and changed by
    :meth:`set_params`) configure fitting; each is the :func:`linkage.link` argument of the
    same name, with the same default:

    - ``roles``: role -> column of the records fitted on (``None`` switches a role off);
      another export's headers are its own: ``link(other, model=model)`` detects them,
      or takes ``roles=`` there;
    - ``level``: ``"person"`` or ``"organization"``; ``None``: chosen from the roles;
    - ``country``: of phone numbers without a country code; ``None``: inferred;
    - ``comparisons``: role -> splink comparison replacing a default (``None`` drops it);
    - ``blocking_rules``: replace the default blocking rules;
    - ``thresholds``, ``routing_rules``: the decision policy (``None``: the defaults);
    - ``link_type``: with several inputs, ``"link_and_dedupe"`` or ``"link_only"``;
    - ``seed``: makes the random sampling for u, and so the model, repeatable;
    - ``max_block_size``, ``max_pairs``, ``pair_budget``: the blocking guards.

    What a run does with its records (clustering, the project file, survivorship) is not
    the model's: :func:`linkage.link` takes those arguments each time.

    A fitted model has (learned or chosen in :meth:`fit`):

    Attributes:
        settings_: the splink settings dict with trained m and u parameters.
        policy: thresholds and routing rules in force (``result.redecide`` and
            ``link(..., model=, thresholds=)`` make a new model with a new policy and the
            same parameters).
        config: roles, blocking rules and options the model was trained with (the
            parameters as given under ``"params"``).
        training_log_: what the training recipe did.

    Passing ``settings``, ``policy`` and ``config`` (and optionally ``training_log``)
    instead of parameters makes a fitted model from that state, as :meth:`load` does; its
    parameters are then those recorded in ``config`` (the defaults for a file written
    before they were recorded).

    Example::

        model = LinkageModel(level="person", seed=1).fit(export_a)
        model.save("model.json")
        result_b = linkage.link(export_b, model=model)   # no training
        model.get_params()["seed"]                       # 1

    Raises:
        ConfigError: the fitted state given only in part, or together with parameters.
    """

    def __init__(
        self,
        settings: dict[str, Any] | None = None,
        policy: DecisionPolicy | None = None,
        config: dict[str, Any] | None = None,
        training_log: TrainingLog | None = None,
        *,
        roles: Mapping[str, str | None] | None = None,
        level: str | None = None,
        country: str | None = None,
        comparisons: Mapping[str, Any] | None = None,
        blocking_rules: Sequence[BlockingRule] | None = None,
        thresholds: Thresholds | None = None,
        routing_rules: Sequence[RoutingRule] | None = None,
        link_type: str | None = None,
        seed: int = 0,
        max_block_size: int = 1000,
        max_pairs: int = 50_000_000,
        pair_budget: int | None = None,
    ) -> None:
        self.roles = roles
        self.level = level
        self.country = country
        self.comparisons = comparisons
        self.blocking_rules = blocking_rules
        self.thresholds = thresholds
        self.routing_rules = routing_rules
        self.link_type = link_type
        self.seed = seed
        self.max_block_size = max_block_size
        self.max_pairs = max_pairs
        self.pair_budget = pair_budget
        state = {"settings": settings, "policy": policy, "config": config}
        if all(value is None for value in state.values()) and training_log is None:
            return  # an estimator, to fit
        missing = [name for name, value in state.items() if value is None]
        if missing:
            raise ConfigError(
                f"a fitted model needs settings, policy and config together ({', '.join(missing)} "
                "missing): pass all three, as LinkageModel.load does, or none of them and "
                "call fit(records)"
            )
        given = [
            name
            for name, default in _parameter_defaults().items()
            if getattr(self, name) != default
        ]
        if given:
            raise ConfigError(
                f"pass either a fitted model's state (settings, policy, config) or parameters "
                f"({', '.join(given)}), not both: a fitted model has the parameters it was "
                "fitted with. To fit with other parameters: LinkageModel(**params).fit(records)"
            )
        for name, value in _parameters_from_record(config.get("params")).items():
            setattr(self, name, value)
        self.settings_ = settings
        self.policy = policy
        self.config = config
        self.training_log_ = training_log or TrainingLog()

    # -- the estimator: parameters and fit -------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """True once the model holds trained parameters (from :meth:`fit`, :meth:`load` or
        :func:`linkage.link`)."""
        return "settings_" in self.__dict__

    def __sklearn_is_fitted__(self) -> bool:
        # scikit-learn's check_is_fitted asks this.
        return self.is_fitted

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a fitted attribute of an unfitted model, or
        # a property that read one.
        if name in _FITTED_ATTRIBUTES or (
            not name.startswith("__") and hasattr(type(self), name) and not self.is_fitted
        ):
            raise AttributeError(
                f"this LinkageModel is not fitted, so it has no {name}: call "
                "model.fit(records) first, or read a saved one with LinkageModel.load(path)"
            )
        raise AttributeError(f"'LinkageModel' object has no attribute {name!r}")

    def __repr__(self) -> str:
        # As scikit-learn prints an estimator: the parameters that differ from the defaults
        # (each cut short: a custom comparison is a long dict).
        changed = []
        for name, default in _parameter_defaults().items():
            value = getattr(self, name)
            if value != default:
                shown = repr(value)
                changed.append(f"{name}={shown if len(shown) <= 80 else shown[:77] + '...'}")
        return f"LinkageModel({', '.join(changed)})"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters, name -> value (see the class docstring), as scikit-learn's
        ``get_params``.

        Args:
            deep: accepted for scikit-learn; a LinkageModel holds no nested estimators,
                so it changes nothing.

        Example::

            LinkageModel(**model.get_params()).fit(other_export)   # same configuration
        """
        return {name: getattr(self, name) for name in _parameter_defaults()}

    def set_params(self, **params: Any) -> LinkageModel:
        """Change parameters and return the model, as scikit-learn's ``set_params``.

        A fitted model keeps what it learned until it is fitted again.

        Raises:
            ConfigError: a name that is not a parameter (the closest ones are named).
        """
        names = list(_parameter_defaults())
        for name in params:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=2)
                hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
                raise ConfigError(
                    f"LinkageModel has no parameter {name!r}{hint}; its parameters are "
                    f"{', '.join(names)}"
                )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    @_splink.quiet
    def fit(self, records: Any) -> LinkageModel:
        """Train on ``records`` as :func:`linkage.link` does, and return this model, fitted.

        Anything learned before is replaced. Nothing is scored, decided or clustered: pass
        the model to ``link(records, model=model)`` for that, on these records or others.

        Args:
            records: a pandas DataFrame, pyarrow Table, DuckDB relation, CSV or Parquet
                path; or several inputs as a dict ``{name: records}`` or a list.

        Returns:
            this model, fitted (``settings_``, ``policy``, ``config``, ``training_log_``).

        Raises:
            InputError, SchemaError: records that cannot be used (no rows, a missing column).
            ConfigError: a parameter that is not valid (named).
            ModelError: too few records to train on, or nothing could be learned from them.
        """
        check_parameters(self.get_params())
        frames, mappings = read_inputs(records, self.roles)
        working = working_records(frames, mappings, link_type=self.link_type, level=self.level)
        working = standardize_records(working, country=self.country)
        if len(working.work) < 2:
            raise ModelError(
                f"cannot fit on {len(working.work)} record: training needs pairs of records. "
                "Fit on a whole export"
            )
        # DuckDB held to the default limit ($LINKAGE_MEMORY_LIMIT), spilling to a temp dir.
        con = _memory.connect()
        try:
            tables = prepare_tables(
                working,
                con,
                comparisons=self.comparisons,
                blocking_rules=self.blocking_rules,
                max_block_size=self.max_block_size,
                pair_budget=self.pair_budget,
                max_pairs=self.max_pairs,
            )
            state, _ = train_model(self.get_params(), working, tables)
            fitted = LinkageModel.from_fitted(state)
        finally:
            con.close()
        self.settings_ = fitted.settings_
        self.policy = fitted.policy
        self.config = fitted.config
        self.training_log_ = fitted.training_log_
        return self

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        if not self.is_fitted:
            raise ModelError(
                "this LinkageModel is not fitted: there is nothing to save yet. Call "
                "model.fit(records) first"
            )
        return {
            "format": "linkage-model",
            "format_version": FORMAT_VERSION,
            "linkage_version": __version__,
            "config": self.config,
            "policy": self.policy.to_dict(),
            "splink_settings": self.settings_,
            "training_log": self.training_log_.to_dict(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON (settings, parameters, thresholds, rules, roles)."""
        path = Path(path)
        path.write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str),
            encoding="utf-8",
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinkageModel:
        """Read a model written by :meth:`save`.

        Raises:
            ModelError: the file cannot be read, is not a linkage model, was written by a
                newer format version, or is damaged (hand-edited, truncated): the message
                names the file and the field.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ModelError(
                f"cannot read model file {str(path)!r}: {exc}. Check the path"
            ) from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(
                f"cannot read model file {str(path)!r}: it is not the JSON that "
                f"LinkageModel.save writes ({exc}). {DAMAGED_FIX}"
            ) from exc
        return cls.from_dict(data, where=repr(str(path)))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "the model") -> LinkageModel:
        """A model from :meth:`to_dict` (what :meth:`save` writes).

        Every field is checked before it is used, so that a damaged or hand-edited model
        is refused here, by name, and not later by splink or DuckDB.

        Raises:
            ModelError: not a linkage model, written by a newer format version, or damaged
                (a missing field, a field of the wrong type, a probability outside (0, 1],
                SQL that splink cannot read): the message names ``where`` and the field.
        """
        check_saved_model(data, where)
        try:
            policy = DecisionPolicy.from_dict(data["policy"])
        except (LinkageError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise damaged(where, f"its 'policy' cannot be read: {why(exc)}") from exc
        log = data.get("training_log")  # absent from files written before it was saved
        try:
            training_log = TrainingLog.from_dict(log) if log is not None else None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise damaged(where, f"its 'training_log' cannot be read: {why(exc)}") from exc
        try:
            return cls(
                settings=data["splink_settings"],
                policy=policy,
                config=data["config"],
                training_log=training_log,
            )
        except (LinkageError, TypeError, ValueError, KeyError, AttributeError) as exc:
            # the parameters recorded in config ("params") are read by the constructor
            raise damaged(where, f"its 'config' cannot be read: {why(exc)}") from exc

    @classmethod
    def from_fitted(cls, state: FittedState) -> LinkageModel:
        """A fitted model from what :func:`~linkage.model.train_model` learned: how
        :meth:`fit` and :func:`linkage.link` make one. Its parameters are those recorded in
        ``state.config``."""
        return cls(
            settings=state.settings,
            policy=state.policy,
            config=state.config,
            training_log=state.training_log,
        )

    # -- introspection -----------------------------------------------------------------
    @property
    def comparison_names(self) -> list[str]:
        return [c["output_column_name"] for c in self.settings_["comparisons"]]

    @property
    def probability_two_random_records_match(self) -> float:
        return float(self.settings_["probability_two_random_records_match"])

    def parameters(self) -> pd.DataFrame:
        """One row per comparison level: m, u, Bayes factor and match weight."""
        import math

        rows = []
        for comparison in self.settings_["comparisons"]:
            for level in comparison["comparison_levels"]:
                if level.get("is_null_level"):
                    continue
                m, u = level.get("m_probability"), level.get("u_probability")
                bf = (m / u) if m and u else None
                rows.append(
                    {
                        "comparison": comparison["output_column_name"],
                        "level": level.get("label_for_charts", level["sql_condition"]),
                        "m_probability": m,
                        "u_probability": u,
                        "bayes_factor": bf,
                        "match_weight": math.log2(bf) if bf else None,
                    }
                )
        return pd.DataFrame(rows)


# -- the estimator's parameters --------------------------------------------------------------

# What fit() sets; an unfitted model has none of them.
_FITTED_ATTRIBUTES = frozenset({"settings_", "policy", "config", "training_log_"})


@functools.cache
def _parameter_defaults() -> MappingProxyType[str, Any]:
    """The estimator's parameters (the constructor's keywords) and their defaults."""
    parameters = inspect.signature(LinkageModel.__init__).parameters.values()
    return MappingProxyType(
        {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    )


def check_parameters(params: Mapping[str, Any]) -> None:
    """Refuse parameters of the wrong kind before any work is done (values such as a level
    or a link type are checked where they are used, with the same words as in ``link``).

    Raises:
        ConfigError: naming the parameter, what it holds and what it takes.
    """
    for name in ("seed", "max_block_size", "max_pairs", "pair_budget"):
        value = params[name]
        if value is None and name == "pair_budget":
            continue
        smallest = 0 if name == "seed" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise ConfigError(f"{name} must be a whole number >= {smallest}, not {value!r}")
    kinds = {
        "roles": Mapping,
        "comparisons": Mapping,
        "thresholds": Thresholds,
        "blocking_rules": (list, tuple),
        "routing_rules": (list, tuple),
    }
    for name, kind in kinds.items():
        if params[name] is not None and not isinstance(params[name], kind):
            raise ConfigError(
                f"{name} must be {_KIND_WORDS[name]} or None, not {type(params[name]).__name__}"
            )
    for name, item_kind in (("blocking_rules", BlockingRule), ("routing_rules", RoutingRule)):
        wrong = [item for item in params[name] or () if not isinstance(item, item_kind)]
        if wrong:
            raise ConfigError(
                f"{name} must hold {item_kind.__name__} objects, not {type(wrong[0]).__name__}"
            )


_KIND_WORDS = {
    "roles": "a dict of role -> column",
    "comparisons": "a dict of role -> splink comparison",
    "thresholds": "a Thresholds",
    "blocking_rules": "a list of BlockingRule",
    "routing_rules": "a list of RoutingRule",
}


def _parameters_from_record(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters a fitted model's config records (``"params"``, written by
    :func:`~linkage.model.train_model`; absent from older files: none)."""
    if not record:
        return {}
    params = {name: record[name] for name in _parameter_defaults() if name in record}
    if params.get("thresholds") is not None:
        params["thresholds"] = Thresholds(**params["thresholds"])
    if params.get("routing_rules") is not None:
        params["routing_rules"] = [RoutingRule(**rule) for rule in params["routing_rules"]]
    if params.get("blocking_rules") is not None:
        params["blocking_rules"] = [
            BlockingRule(
                rule["name"], tuple(rule["columns"]), tuple(rule["roles"]), rule.get("loose", False)
            )
            for rule in params["blocking_rules"]
        ]
    return params
