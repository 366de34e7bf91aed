"""Saving charts, ours or splink's: self-contained HTML (works offline: vega, vega-lite
and vega-embed inlined), PNG, SVG or JSON. HTML and images need ``vl-convert-python``
(``pip install "linkage-crm[charts]"``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import altair as alt

from linkage.errors import ConfigError, LinkageError

__all__ = ["save"]


def save(chart: Any, path: str | os.PathLike, *, scale_factor: float = 2.0) -> Path:
    """Write a chart (ours or splink's) to ``path``: ``.html`` (self-contained, works
    offline: vega, vega-lite and vega-embed are inlined), ``.png``, ``.svg`` or ``.json``.

    Raises:
        ConfigError: an unknown file type.
        LinkageError: ``vl-convert-python`` is missing (``pip install "linkage-crm[charts]"``),
            or the HTML would still load a script from the network.
    """
    out = Path(path)
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("html", "png", "svg", "json"):
        raise ConfigError(f"cannot save a chart as {out.name!r}: use .html, .png, .svg or .json")
    if kind != "json":
        _require_vl_convert()
    if not isinstance(chart, alt.TopLevelMixin):
        if kind == "html" and hasattr(chart, "to_html"):
            out.write_text(chart.to_html(inline=True), encoding="utf-8")
            _check_offline(out)
            return out
        with warnings.catch_warnings():
            # splink's specs repeat a selection altair then merges: harmless, and not ours.
            warnings.simplefilter("ignore", UserWarning)
            chart = chart.altair_chart  # a splink chart: its altair form for images and JSON
    if kind == "html":
        chart.save(str(out), inline=True, embed_options={"renderer": "svg", "actions": False})
        _check_offline(out)
    elif kind == "json":
        chart.save(str(out))
    else:
        chart.save(str(out), scale_factor=scale_factor if kind == "png" else 1.0)
    return out


def _require_vl_convert() -> None:
    try:
        import vl_convert  # noqa: F401
    except ImportError as exc:
        raise LinkageError(
            "saving charts as HTML or images needs vl-convert-python: "
            'pip install "linkage-crm[charts]" (or pip install vl-convert-python)'
        ) from exc


def _check_offline(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lowered = text.lower()
    if '<script src="http' in lowered or "<script src='http" in lowered:
        raise LinkageError(f"{path} would load a script from the network; it must not")
