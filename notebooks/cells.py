"""A notebook's cells, written as markdown and code strings (see ``make_notebooks.py``)."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell


class Cells(list):
    """Cells in order; ``md`` and ``code`` append one."""

    def md(self, text: str) -> None:
        self.append(new_markdown_cell(text.strip()))

    def code(self, text: str) -> None:
        self.append(new_code_cell(text.strip()))
