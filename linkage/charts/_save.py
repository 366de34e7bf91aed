"""Saving charts, ours or splink's: self-contained HTML (works offline: vega, vega-lite
and vega-embed inlined), PNG, SVG or JSON. HTML and images need ``vl-convert-python``
(``pip install "linkage-crm[charts]"``).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import altair as alt

from linkage.errors import ConfigError, LinkageError

__all__ = ["StaticChart", "save", "static"]


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
        require_vl_convert()
    if not isinstance(chart, alt.TopLevelMixin):
        if kind == "html" and hasattr(chart, "to_html"):
            out.write_text(chart.to_html(inline=True), encoding="utf-8")
            check_offline(out)
            return out
        with warnings.catch_warnings():
            # splink's specs repeat a selection altair then merges: harmless, and not ours.
            warnings.simplefilter("ignore", UserWarning)
            chart = chart.altair_chart  # a splink chart: its altair form for images and JSON
    if kind == "html":
        chart.save(str(out), inline=True, embed_options={"renderer": "svg", "actions": False})
        check_offline(out)
    elif kind == "json":
        chart.save(str(out))
    else:
        chart.save(str(out), scale_factor=scale_factor if kind == "png" else 1.0)
    return out


def require_vl_convert() -> None:
    try:
        import vl_convert  # noqa: F401
    except ImportError as exc:
        raise LinkageError(
            "saving charts as HTML or images needs vl-convert-python: "
            'pip install "linkage-crm[charts]" (or pip install vl-convert-python)'
        ) from exc


def check_offline(path: Path) -> None:
    """Refuse an HTML file that would load a script or a stylesheet from the network."""
    text = path.read_text(encoding="utf-8")
    if _NETWORK_REFERENCE.search(text):
        raise LinkageError(
            f"{path} would load a script or stylesheet from the network; it must not"
        )


_NETWORK_REFERENCE = re.compile(
    r"<script[^>]+src\s*=\s*[\"']?\s*(https?:)?//|<link[^>]+href\s*=\s*[\"']?\s*(https?:)?//",
    re.IGNORECASE,
)


class StaticChart:
    """A chart drawn once as an SVG image: what :func:`static` returns. A notebook shows
    it as a picture (offline, and on GitHub, where scripts do not run).

    Attributes:
        svg: the SVG text.
    """

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"<StaticChart: SVG, {len(self.svg):,} characters>"


def static(chart: Any) -> StaticChart:
    """A chart (ours or splink's) as a static SVG image, for notebooks that must read
    offline and on GitHub: a chart shown as HTML loads vega from the network and is blank
    without it. Sliders and tooltips need the page :func:`save` writes.

    Raises:
        LinkageError: ``vl-convert-python`` is missing (``pip install "linkage-crm[charts]"``).

    Example:
        >>> charts.static(charts.match_weight_histogram(result))  # doctest: +SKIP
    """
    require_vl_convert()
    import vl_convert

    if not isinstance(chart, alt.TopLevelMixin):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # splink's repeated selections
            chart = chart.altair_chart
    return StaticChart(vl_convert.vegalite_to_svg(chart.to_dict(), vl_version=vl_version()))


def vl_version() -> str:
    """The vega-lite version altair writes, as vl-convert names it (``v6.1``)."""
    return "v" + ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
