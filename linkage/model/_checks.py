"""A saved model: its format version, the checks on reading one, and the check of an export
it is used on.

:func:`check_saved_model` refuses, by name, a file that is not a linkage model, one written
by a newer format version, and a damaged or hand-edited one (a missing field, a field of the
wrong type, a probability outside (0, 1], SQL that splink cannot read), so that splink or
DuckDB never meet it. :func:`check_input` refuses records that lack a role the model
compares, before splink fails on SQL naming a column that is not there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from linkage import _splink
from linkage.errors import ModelError, SchemaError
from linkage.model._training import first_line
from linkage.schema import SIMPLE_ROLES
from linkage.standardize import DERIVED_COLUMNS

if TYPE_CHECKING:
    from linkage.model._estimator import LinkageModel

FORMAT_VERSION = 1

DAMAGED_FIX = (
    "Restore the file from a copy, or retrain the model (linkage.link(records).model.save(path))"
)


def check_saved_model(data: object, where: str) -> None:
    """Refuse what :meth:`LinkageModel.from_dict <linkage.model.LinkageModel.from_dict>`
    cannot read: every field it and scoring read is checked, in shape and range.

    Args:
        data: the JSON data read from a model file (or given to ``from_dict``).
        where: the model, as messages name it (the file's path, quoted).

    Raises:
        ModelError: not a linkage model, written by a newer format version, or damaged:
            the message names ``where`` and the field.
    """
    if not isinstance(data, dict) or data.get("format") != "linkage-model":
        raise ModelError(f"{where} is not a linkage model{_what_it_holds(data)}")
    version = data.get("format_version", 0)
    if not _is_number(version) or version != int(version):
        raise damaged(where, f"format_version is {version!r}, not a whole number")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{where} was written by a newer linkage (format "
            f"{data['format_version']} > {FORMAT_VERSION}): upgrade linkage to read it"
        )
    _check_model_fields(data, where)


def damaged(where: str, what: str) -> ModelError:
    """The error for a damaged model: ``where`` and ``what`` is wrong, then the fix."""
    return ModelError(f"{where} is damaged: {what}. {DAMAGED_FIX}")


def why(exc: BaseException) -> str:
    """An exception as a damaged model's message quotes it: its type and first line."""
    return f"{type(exc).__name__}: {first_line(exc)}"


def check_input(
    model: LinkageModel,
    roles: Collection[str],
    columns: Sequence[object],
    *,
    input_name: str | None = None,
) -> None:
    """Refuse records that lack a role the model compares, before splink is asked to.

    A saved model's comparisons read derived columns (``email_clean``, ``city_clean`` ...)
    that standardization makes from the input's roles: records without the role would make
    splink fail on SQL naming a column that is not there.

    Args:
        model: the model ``link(..., model=)`` scores with.
        roles: the roles the input's columns were given (detected or ``roles=``).
        columns: the input's columns, listed in the message to choose from.
        input_name: the input's name, when several are linked.

    Raises:
        SchemaError: names each missing role, the comparisons that read it, and the fix
            (``roles={role: column}``).
    """
    present = set(roles)
    needed: dict[str, dict[str, set[str]]] = {}  # role -> comparison -> columns it reads
    for comparison, read in _splink.settings_input_columns(model.settings_).items():
        for column in read:
            sources = _ROLES_OF_COLUMN.get(column, ())
            if sources and not present.intersection(sources):
                needed.setdefault(sources[0], {}).setdefault(comparison, set()).add(column)
    if not needed:
        return
    described = []
    for role, by_comparison in needed.items():
        read = ", ".join(
            f"{name!r} reads {', '.join(sorted(used))}" for name, used in by_comparison.items()
        )
        plural = "s" if len(by_comparison) > 1 else ""
        described.append(f"{role} (comparison{plural} {read})")
    where = f"input {input_name!r}" if input_name else "the input"
    mapping = ", ".join(f"{role!r}: '<column>'" for role in needed)
    raise SchemaError(
        f"{where} has no column for {'roles' if len(needed) > 1 else 'role'} the model "
        f"compares: {'; '.join(described)}. Columns present: "
        f"{', '.join(map(repr, columns))}. Pass roles={{{mapping}}} to say which column holds "
        f"{'each' if len(needed) > 1 else 'it'}, or train a model on these records (link "
        "without model=)"
    )


def _roles_of_columns() -> dict[str, tuple[str, ...]]:
    """derived column -> the roles it can be made from (the first is named in messages)."""
    sources: dict[str, list[str]] = {}
    for role, derived in DERIVED_COLUMNS.items():
        for column in derived:
            sources.setdefault(column, []).append(role)
    for role in SIMPLE_ROLES:
        sources.setdefault(f"{role}_clean", []).append(role)
    return {column: tuple(roles) for column, roles in sources.items()}


_ROLES_OF_COLUMN = _roles_of_columns()

_LEVELS = ("person", "organization")
_LINK_TYPES = ("dedupe_only", "link_and_dedupe", "link_only")
_CLUSTER_METHODS = ("constrained", "connected_components")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if value is None:
        return "null"
    return f"the number {value!r}" if _is_number(value) else repr(value)


def _what_it_holds(data: object) -> str:
    if not isinstance(data, dict):
        return f": it holds {_json_kind(data)}, not the object LinkageModel.save writes"
    if "format" not in data:
        return ' (it has no "format": "linkage-model" field, which LinkageModel.save writes)'
    return f" (its format is {data['format']!r}, not 'linkage-model')"


def _check_model_fields(data: dict[str, Any], where: str) -> None:
    """Every field :meth:`LinkageModel.from_dict` and scoring read, in shape and range."""
    for key in ("splink_settings", "policy", "config"):
        if key not in data:
            raise damaged(where, f"it has no {key!r}")
        if not isinstance(data[key], dict):
            raise damaged(where, f"its {key!r} is {_json_kind(data[key])}, not an object")
    _check_config(data["config"], where)
    _check_probabilities(data["splink_settings"], where)
    _splink.settings_input_columns(data["splink_settings"], where=where)


def _is_text_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_blocking_rule(rule: object) -> bool:
    return (
        isinstance(rule, dict)
        and isinstance(rule.get("name"), str)
        and _is_text_list(rule.get("columns"))
        and _is_text_list(rule.get("roles", []))
        and set(rule) <= {"name", "columns", "roles", "loose"}
    )


def _is_extra(extra: object) -> bool:
    return isinstance(extra, dict) and all(
        isinstance(extra.get(key), str) for key in ("name", "column", "kind")
    )


# config key -> (a check of its value, what it must be); keys absent from older files are
# left to their defaults where they are read.
_CONFIG_CHECKS: dict[str, tuple[Any, str]] = {
    "roles": (_is_text_list, "a list of role names"),
    "blocking_rules": (
        lambda v: isinstance(v, list) and all(_is_blocking_rule(r) for r in v),
        'a list of {"name": ..., "columns": [...], "roles": [...]}',
    ),
    "extras": (
        lambda v: isinstance(v, list) and all(_is_extra(e) for e in v),
        'a list of {"name": ..., "column": ..., "kind": ...}',
    ),
    "max_block_size": (lambda v: _is_number(v) and v == int(v) and v >= 1, "a whole number >= 1"),
    "keep_apart_below": (_is_number, "a number"),
    "seed": (lambda v: _is_number(v) and v == int(v), "a whole number"),
    "level": (lambda v: v in _LEVELS, f"one of {', '.join(_LEVELS)}"),
    "link_type": (lambda v: v in _LINK_TYPES, f"one of {', '.join(_LINK_TYPES)}"),
    "cluster_method": (lambda v: v in _CLUSTER_METHODS, f"one of {', '.join(_CLUSTER_METHODS)}"),
    "country": (lambda v: v is None or isinstance(v, str), "a country code or null"),
}


def _check_config(config: dict[str, Any], where: str) -> None:
    for key, (is_valid, expected) in _CONFIG_CHECKS.items():
        if key in config and not is_valid(config[key]):
            raise damaged(where, f"config.{key} is {_shown(config[key])}: it must be {expected}")


def _check_probabilities(settings: dict[str, Any], where: str) -> None:
    """The prior strictly inside (0, 1), every m and u in (0, 1]: splink takes log2 of the
    prior's odds and of m / u, and a value outside fails deep in scoring ("math domain
    error") or, above 1, scores silently wrong."""
    prior = settings.get("probability_two_random_records_match")
    if prior is not None and not (_is_number(prior) and 0 < prior < 1):
        raise damaged(
            where,
            f"splink_settings.probability_two_random_records_match is {_shown(prior)}: it "
            "must be a number above 0 and below 1",
        )
    comparisons = settings.get("comparisons")
    if not isinstance(comparisons, list):
        raise damaged(
            where, f"splink_settings.comparisons is {_json_kind(comparisons)}, not a list"
        )
    for i, comparison in enumerate(comparisons):
        at = f"splink_settings.comparisons[{i}]"
        if not isinstance(comparison, dict):
            raise damaged(where, f"{at} is {_json_kind(comparison)}, not an object")
        name = comparison.get("output_column_name")
        if not isinstance(name, str):
            raise damaged(where, f"{at} has no output_column_name (the comparison's name)")
        at = f"{at} ({name!r})"
        levels = comparison.get("comparison_levels")
        if not isinstance(levels, list) or not levels:
            raise damaged(where, f"{at} has no comparison_levels")
        for j, level in enumerate(levels):
            here = f"{at}.comparison_levels[{j}]"
            if not isinstance(level, dict):
                raise damaged(where, f"{here} is {_json_kind(level)}, not an object")
            if not isinstance(level.get("sql_condition"), str):
                raise damaged(where, f"{here} has no sql_condition (the SQL of the level)")
            for key in ("m_probability", "u_probability"):
                value = level.get(key)
                if value is not None and not (_is_number(value) and 0 < value <= 1):
                    raise damaged(
                        where,
                        f"{here}.{key} is {_shown(value)}: every m and u must be a number "
                        "above 0 and at most 1",
                    )


def _shown(value: object) -> str:
    """A JSON value as the file shows it, cut short."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
