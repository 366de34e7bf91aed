"""The Fellegi-Sunter model: splink settings, the training recipe, predict, save and load.

Training is unsupervised and follows splink's recommended recipe, chosen from the roles
present:

1. the probability that two random records match, from deterministic rules (records that
   agree on a strong identifier such as mobile plus name) with an assumed recall;
2. u probabilities by random sampling of pairs (seeded, sample sized to the data);
3. m probabilities by expectation maximisation over at least two blocking passes, chosen so
   that every comparison is estimated in at least one pass.

A :class:`LinkageModel` is data: its splink settings (with trained parameters), decision
policy and configuration round-trip through JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from linkage import _splink
from linkage._version import __version__
from linkage.blocking import BlockingRule
from linkage.decisions import DecisionPolicy
from linkage.errors import ModelError

logger = logging.getLogger("linkage")

FORMAT_VERSION = 1

# Deterministic rules for the prior, most reliable first; a rule is used when its columns
# exist. Recall is the share of true matches these rules are assumed to catch.
_DETERMINISTIC = (
    ("mobile_e164", "person_name_key"),
    ("email_clean",),
    ("wechat_unionid_clean",),
    ("national_id_clean",),
    ("credit_code_clean", "person_name_key"),
    ("first_name_clean", "last_name_clean", "dob_date"),
    ("person_name_key", "dob_date"),
)
_DETERMINISTIC_RECALL = 0.7

# Candidate EM blocking passes, in order of preference.
_EM_PASSES = (
    ("mobile_e164",),
    ("person_name_key", "company_core"),
    ("email_clean",),
    ("person_name_key",),
    ("first_name_clean", "last_name_clean"),
    ("dob_date",),
    ("postcode_clean",),
    ("city_clean",),
    ("company_core",),
)


@dataclass
class TrainingLog:
    """What training did, for reports and debugging."""

    prior_rules: list[tuple[str, ...]] = field(default_factory=list)
    u_max_pairs: int = 0
    em_passes: list[tuple[str, ...]] = field(default_factory=list)
    probability_two_random_records_match: float | None = None
    untrained: list[str] = field(default_factory=list)


class LinkageModel:
    """A trained (or loadable) Fellegi-Sunter model plus the decision policy.

    Attributes:
        settings_: the splink settings dict with trained m and u parameters.
        policy: thresholds and routing rules.
        config: roles, blocking rules and options the model was trained with.
        training_log_: what the training recipe did.
    """

    def __init__(
        self,
        settings: dict[str, Any],
        policy: DecisionPolicy,
        config: dict[str, Any],
        training_log: TrainingLog | None = None,
    ) -> None:
        self.settings_ = settings
        self.policy = policy
        self.config = config
        self.training_log_ = training_log or TrainingLog()

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "linkage-model",
            "format_version": FORMAT_VERSION,
            "linkage_version": __version__,
            "config": self.config,
            "policy": self.policy.to_dict(),
            "splink_settings": self.settings_,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON (settings, parameters, thresholds, rules, roles)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinkageModel:
        """Read a model written by :meth:`save`.

        Raises:
            ModelError: not a linkage model, or written by a newer format version.
        """
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"cannot read model file {str(path)!r}: {exc}") from exc
        return cls.from_dict(data, where=repr(str(path)))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "the model") -> LinkageModel:
        """A model from :meth:`to_dict` (what :meth:`save` writes).

        Raises:
            ModelError: not a linkage model, or written by a newer format version.
        """
        if data.get("format") != "linkage-model":
            raise ModelError(f"{where} is not a linkage model")
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise ModelError(
                f"{where} was written by a newer linkage (format "
                f"{data['format_version']} > {FORMAT_VERSION}): upgrade linkage to read it"
            )
        return cls(
            settings=data["splink_settings"],
            policy=DecisionPolicy.from_dict(data["policy"]),
            config=data["config"],
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


def build_settings(
    comparisons: dict[str, Any],
    rules: Sequence[BlockingRule],
    *,
    link_type: str,
) -> SettingsCreator:
    """Splink settings over the working table (unique id ``rid``)."""
    named = []
    for name, comparison in comparisons.items():
        if hasattr(comparison, "configure") and not isinstance(comparison, dict):
            # Fix the output name, so decisions can refer to gamma_<name>.
            comparison = _with_output_name(comparison, name)
        named.append(comparison)
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="rid",
        comparisons=named,
        blocking_rules_to_generate_predictions=[block_on(r.key_column) for r in rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        max_iterations=25,
        em_convergence=0.001,
    )


def _with_output_name(comparison: Any, name: str) -> Any:
    # splink's ComparisonCreator keeps the name in `_output_column_name` for custom
    # comparisons and derives it from the column otherwise; `configure` has no name option,
    # so go through the dict form, which splink accepts everywhere.
    if isinstance(comparison, _splink.ComparisonCreator):
        as_dict = comparison.get_comparison("duckdb").as_dict()
        as_dict["output_column_name"] = name
        return as_dict
    return comparison


def train(
    linker: Linker,
    available_columns: set[str],
    comparisons_columns: dict[str, set[str]],
    *,
    n_records: int,
    seed: int,
) -> TrainingLog:
    """Run the training recipe on ``linker`` (parameters are set in place)."""
    log = TrainingLog()
    prior_rules = [r for r in _DETERMINISTIC if set(r) <= available_columns]
    if prior_rules:
        log.prior_rules = prior_rules
        try:
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*r) for r in prior_rules], recall=_DETERMINISTIC_RECALL
            )
        except Exception as exc:  # splink raises a bare Exception when no pair matches
            logger.warning("could not estimate the prior from deterministic rules: %s", exc)
    log.probability_two_random_records_match = _splink.probability_two_random_records_match(linker)
    # The u sample: enough pairs for rare levels, not so many that it dominates the run
    # (measured: 1e7 pairs took 20 s of a 25 s run at 100k records).
    max_pairs = int(min(max(n_records * 20, 200_000), 3_000_000))
    log.u_max_pairs = max_pairs
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)

    log.em_passes = _run_em_passes(linker, available_columns, comparisons_columns)
    # Levels never seen among matches keep splink's default m: say which.
    log.untrained = _splink.not_trained_messages(linker)
    return log


def _run_em_passes(
    linker: Linker, available: set[str], comparison_columns: dict[str, set[str]]
) -> list[tuple[str, ...]]:
    """EM over blocking passes until every comparison was estimated by one, at least two.

    A pass that yields no pairs (small or sparse data) is skipped for the next candidate.
    """
    uncovered = set(comparison_columns)
    done: list[tuple[str, ...]] = []
    failures: list[str] = []
    for columns in _EM_PASSES:
        if not set(columns) <= available or not _pass_is_safe(columns, comparison_columns):
            continue
        covers = {n for n in uncovered if not (comparison_columns[n] & set(columns))}
        if not covers and len(done) >= 2:
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns), max_pairs=2_000_000
            )
        except _splink.EMTrainingException as exc:
            why = "no pairs" if "no record pairs" in str(exc) else str(exc).splitlines()[0]
            failures.append(f"{'+'.join(columns)}: {why}")
            continue
        done.append(columns)
        uncovered -= covers
        if not uncovered and len(done) >= 2:
            break
    if not done:
        raise ModelError(
            "could not train the model: no blocking pass found pairs of records to learn "
            f"from ({'; '.join(failures) or 'no pass fits the columns'}). Link more records "
            "at once, or score with a trained model: link(df, model=LinkageModel.load(path))"
        )
    if uncovered:
        logger.warning(
            "no EM pass estimated m for %s; splink's defaults are used", sorted(uncovered)
        )
    return done


# Columns derived from the same field. Splink leaves out of an EM pass only the comparisons
# that read a blocking column by name; blocking on person_name_key while first_name_clean is
# compared would let EM "learn" that names always agree. Such passes are skipped.
_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "person_name_key",
            "person_name_clean",
            "person_name_keys",
            "person_surname",
            "person_name_is_honorific",
            "first_name_clean",
            "last_name_clean",
        }
    ),
    frozenset(
        {
            "company_core",
            "company_clean",
            "company_region",
            "credit_code_clean",
            "address_clean",
            "city_clean",
            "province_clean",
        }
    ),
    frozenset({"email_clean", "email_local", "email_domain", "company_domain"}),
)


def _pass_is_safe(columns: Sequence[str], comparison_columns: dict[str, set[str]]) -> bool:
    """True when every comparison is either excluded by splink (it reads a blocking column)
    or shares no field family with the blocking columns."""
    blocked = set(columns)
    families = set().union(*(f for f in _FAMILIES if f & blocked)) if blocked else set()
    for used in comparison_columns.values():
        if used & blocked:
            continue  # splink fixes this comparison's parameters in this pass
        if used & families:
            return False
    return True


def make_linker(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    settings: SettingsCreator | dict[str, Any],
) -> Linker:
    """A splink Linker over working tables already in ``con``."""
    db_api = DuckDBAPI(connection=con)
    sdfs = [db_api.register(t, dataset_display_name=t) for t in tables]
    return Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings, log_level=None)
