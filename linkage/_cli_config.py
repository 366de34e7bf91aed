"""The ``linkage.toml`` configuration file: every argument :func:`linkage.link` takes, for
``linkage run INPUT --config linkage.toml``; ``linkage init INPUT`` writes a starting one.

The file's top-level keys are ``link``'s own arguments (``level``, ``country``, ``seed``,
``max_block_size``, ``memory_limit``, ...), so an argument ``link`` gains later is accepted
without a change here. Those whose values are objects in Python are tables in the file::

    [input]                      # how to read INPUT (the command line wins)
    encoding = "gb18030"
    header_row = 2

    [output]
    format = "csv"               # csv, xlsx or parquet

    [roles]                      # role = "column"; "" switches a role off
    record_id = "线索编号"
    mobile = "手机"

    [thresholds]
    review = -4.0
    auto_merge = 0.0

    [[routing_rules]]            # replaces the default rules (linkage.RoutingRule's fields)
    name = "phone_only"
    when = "..."

``project`` (or ``queue``) and ``model`` are paths, relative to the folder of the config
file. ``comparisons`` and ``connection`` are Python objects: a config file cannot hold them.
Options given on the command line win over the file.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from linkage.errors import ConfigError

# Arguments of link that a TOML file cannot express.
_NOT_IN_FILE = {
    "data": "the input is the command's INPUT argument",
    "comparisons": "comparisons are splink objects: pass them to linkage.link in Python",
    "connection": "a DuckDB connection exists only in Python",
}

# Tables of the file that are not link arguments.
_SECTIONS = {"input": ("encoding", "sheet", "header_row"), "output": ("format",)}


def read_config(path: Path) -> dict[str, Any]:
    """The file's settings as ``{"input": {...}, "output": {...}, "link": {...}}``, the
    ``link`` part still as plain values (see :func:`link_arguments`).

    Raises:
        ConfigError: a missing or invalid file, an unknown key (with the closest names).
    """
    toml = _toml_module()
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist (write one: linkage init)")
    try:
        with path.open("rb") as stream:
            data = toml.load(stream)
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text") from exc
    known = _link_parameters()
    config: dict[str, Any] = {"input": {}, "output": {}, "link": {}}
    for key, value in data.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path.name}: [{key}] must be a table")
            for inner, inner_value in value.items():
                if inner not in _SECTIONS[key]:
                    raise ConfigError(
                        f"{path.name}: unknown key {inner!r} in [{key}]"
                        f"{_closest(inner, _SECTIONS[key])}; known: {', '.join(_SECTIONS[key])}"
                    )
                config[key][inner] = inner_value
            continue
        name = "queue" if key == "project" else key
        if name in _NOT_IN_FILE:
            raise ConfigError(
                f"{path.name}: {key!r} cannot be set in a config file: {_NOT_IN_FILE[name]}"
            )
        if name not in known:
            choices = [*sorted(set(known) - set(_NOT_IN_FILE)), *_SECTIONS, "project"]
            raise ConfigError(
                f"{path.name}: unknown setting {key!r}{_closest(key, choices)}. Settings are "
                f"linkage.link's arguments: {', '.join(sorted(set(known) - set(_NOT_IN_FILE)))}"
            )
        config["link"][name] = value
    config["link"] = _resolve_paths(config["link"], path.parent)
    return config


def link_arguments(settings: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Plain values from a config file (or the command line) as :func:`linkage.link`'s
    arguments: tables become ``Thresholds``, ``RoutingRule``, ``BlockingRule`` objects,
    ``model`` a loaded model, ``""`` in ``roles`` a role switched off.

    Raises:
        ConfigError: a value of the wrong shape, naming ``source`` and the key.
    """
    from linkage.blocking import BlockingRule
    from linkage.decisions import RoutingRule, Thresholds

    out = dict(settings)
    try:
        if "roles" in out:
            out["roles"] = _roles(out["roles"], source)
        if "thresholds" in out:
            out["thresholds"] = Thresholds(**_table(out["thresholds"], "thresholds", source))
        if "routing_rules" in out:
            out["routing_rules"] = [
                RoutingRule(**_table(rule, "routing_rules", source))
                for rule in _array(out["routing_rules"], "routing_rules", source)
            ]
        if "blocking_rules" in out:
            out["blocking_rules"] = [
                BlockingRule(
                    **{
                        k: tuple(v) if isinstance(v, list) else v
                        for k, v in _table(rule, "blocking_rules", source).items()
                    }
                )
                for rule in _array(out["blocking_rules"], "blocking_rules", source)
            ]
        if isinstance(out.get("model"), (str, Path)):
            from linkage.model import LinkageModel

            out["model"] = LinkageModel.load(out["model"])
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    return out


def _roles(value: Any, source: str) -> dict[str, str | None]:
    table = _table(value, "roles", source)
    roles: dict[str, str | None] = {}
    for role, column in table.items():
        if column is None:  # from --role ROLE= on the command line
            roles[role] = None
            continue
        if not isinstance(column, str):
            raise ConfigError(
                f'{source}: roles.{role} must be a column name in quotes ("" for none), '
                f"not {column!r}"
            )
        roles[role] = column if column != "" else None
    return roles


def _table(value: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key} must be a table ([{key}]), not {value!r}")
    return value


def _array(value: Any, key: str, source: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: {key} must be an array of tables ([[{key}]])")
    return value


def _resolve_paths(settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    for key in ("queue", "model"):
        value = settings.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            settings[key] = str(folder / value)
    return settings


def _link_parameters() -> dict[str, Any]:
    import inspect

    from linkage.run import link

    return {
        name: parameter.default
        for name, parameter in inspect.signature(link).parameters.items()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    }


def _closest(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ConfigError(
            "reading a config file on Python 3.10 needs tomli: pip install tomli "
            "(Python 3.11 and newer read TOML without it)"
        ) from exc
    return tomli


# -- writing a starting file ---------------------------------------------------------------


def starting_config(
    input_path: Path,
    source: Any,
    mapping: Any,
    level: tuple[str, str],
) -> str:
    """The text of a starting ``linkage.toml`` for ``input_path``: how it was read, the roles
    found (each with how), the columns compared by kind or not used (as comments, with the
    reason), the entity level, and every other argument of ``link`` at its default,
    commented out."""
    chosen, why = level
    lines = [
        f"# linkage.toml: settings for  linkage run {_shell(input_path)} --config THIS_FILE",
        "# Written by `linkage init` from the detected roles: check them, then edit freely.",
        "# Keys are the arguments of linkage.link; options on the command line win.",
        "",
        f"level = {_string(chosen)}   # {why}",
        "",
        "# Every other argument, at its default (uncomment to change):",
    ]
    defaults = _link_parameters()
    for name, default in defaults.items():
        if name in {"data", "roles", "level", "connection", "comparisons", "thresholds"}:
            continue
        if name == "queue":
            lines.append('# project = "crm.linkage"   # review queue, verdicts, stable entity ids')
        elif name == "model":
            lines.append('# model = "model.json"   # score with a saved model, no training')
        elif default is None:
            lines.append(f"# {name} =    (default: chosen for you)")
        else:
            lines.append(f"# {name} = {_toml_value(default)}")
    lines += ["", "[input]"]
    if source.encoding:
        lines.append(
            f"encoding = {_string(source.encoding)}"
            + ("   # detected" if source.encoding_detected else "")
        )
    if source.sheet is not None:
        lines.append(f"sheet = {_string(source.sheet)}")
    lines.append(f"header_row = {source.header_row}")
    lines += [
        "",
        "[output]",
        'format = "csv"   # csv (UTF-8 with BOM, opens in Excel), xlsx or parquet',
        "",
        '[roles]   # role = "column"; "" switches a role off (record_id = "": ids generated)',
    ]
    for role, column in mapping.roles.items():
        if role == "record_id" and mapping.generated_id:
            lines.append('# record_id = ""   # no id column found: ids are generated from each row')
            continue
        how = "detected from its header" if role in mapping.detected else "found from its values"
        lines.append(f"{role} = {_string(str(column))}   # {how}")
    for extra in mapping.extras:
        lines.append(f"# {_string(extra.column)}: no role, compared as {extra.kind}")
    for column, reason in mapping.unused.items():
        lines.append(f"# {_string(column)}: not used: {reason}")
    lines += ["", "# [thresholds]   # match weights", "# review = -4.0", "# auto_merge = 0.0"]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    return _string(str(value))


def _string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(text, ensure_ascii=False)


def _shell(path: Path) -> str:
    text = str(path)
    return text if all(c.isalnum() or c in "._-/\\" for c in text) else f"'{text}'"
