"""Every notebook, executed and exported to one HTML page, reads offline: its charts are
pictures or inlined, nothing loads from the network, and headless Chromium draws every chart
with no console error (slow tier: it runs the notebooks)."""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import nbformat
import pytest
from _browser import open_offline
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
NETWORK = re.compile(r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", re.I)


@pytest.mark.slow
@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda path: path.name)
def test_executed_notebook_reads_offline(ipynb: Path, tmp_path: Path):
    notebook = nbformat.read(ipynb, as_version=4)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    page, charts = export_html(notebook)
    assert not NETWORK.search(page), "an output loads something from the network"
    assert "cdn.jsdelivr" not in page and "vega@" not in page, "an output loads vega from a CDN"
    saved = tmp_path / f"{ipynb.stem}.html"
    saved.write_text(page, encoding="utf-8")
    dom, console = open_offline(saved)
    assert not console, console
    for n in range(charts):
        drawn = dom.split(f'id="chart-{n}"', 1)[1].split('class="output', 1)[0]
        assert "<svg" in drawn and "role-mark" in drawn, f"chart {n} of {ipynb.name} is blank"
    if ipynb.stem.startswith("02"):
        assert charts >= 8, "notebook 02 shows its charts"


def export_html(notebook: nbformat.NotebookNode) -> tuple[str, int]:
    """The notebook as one HTML page, each output in the richest form a viewer without a
    kernel shows (what nbconvert and GitHub do): SVG and PNG pictures inline, HTML as is.
    Returns the page and the number of chart pictures in it."""
    parts, charts = [], 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(f'<div class="markdown"><pre>{html.escape(cell.source)}</pre></div>')
            continue
        if cell.cell_type != "code":
            continue
        parts.append(f'<pre class="input">{html.escape(cell.source)}</pre>')
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.get("output_type") == "stream":
                parts.append(f'<pre class="output">{html.escape(output["text"])}</pre>')
            elif output.get("output_type") == "error":
                parts.append(f'<pre class="output">{html.escape(output["ename"])}</pre>')
            elif "image/svg+xml" in data:
                parts.append(
                    f'<div class="output" id="chart-{charts}">{data["image/svg+xml"]}</div>'
                )
                charts += 1
            elif "image/png" in data:
                png = data["image/png"]
                base64.b64decode(png)  # a real picture
                parts.append(f'<div class="output"><img src="data:image/png;base64,{png}"></div>')
            elif "text/html" in data:
                assert "application/vnd.vegalite" not in str(data), "a chart left to a frontend"
                parts.append(f'<div class="output">{data["text/html"]}</div>')
            elif "text/plain" in data:
                parts.append(f'<pre class="output">{html.escape(data["text/plain"])}</pre>')
    body = "\n".join(parts)
    page = f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'
    return page, charts
