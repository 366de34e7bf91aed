"""Each committed notebook matches its jupytext source (``notebooks/NN_name.py``).

The ``.py`` files are the sources; the ``.ipynb`` files are generated from them with
``jupytext --to ipynb --update notebooks/*.py`` (see ``notebooks/jupytext.toml``) and run by
nbmake. These checks only read files, so they are fast; they fail when one side of a pair is
edited without the other.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
IPYNBS = sorted(NOTEBOOKS.glob("*.ipynb"))
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
REGENERATE = "jupytext --to ipynb --update notebooks/*.py"


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_there_are_notebooks():
    assert IPYNBS, f"no notebooks in {NOTEBOOKS}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_every_source_has_its_notebook(source: Path):
    assert source.with_suffix(".ipynb").exists(), f"{source.name} has no notebook: run {REGENERATE}"


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.name)
def test_notebook_matches_its_source(ipynb: Path):
    source = ipynb.with_suffix(".py")
    assert source.exists(), f"{ipynb.name} has no jupytext source {source.name}"
    committed = nbformat.read(ipynb, as_version=4)
    expected = jupytext.read(source)
    assert expected.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    assert cells(committed) == cells(expected), (
        f"{ipynb.name} differs from {source.name}: edit the .py, then run {REGENERATE}"
    )


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda path: path.name)
def test_notebook_is_committed_without_outputs(ipynb: Path):
    committed = nbformat.read(ipynb, as_version=4)
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{ipynb.name} is committed with outputs: clear them with "
                f"`jupytext --to ipynb notebooks/{ipynb.stem}.py`"
            )
