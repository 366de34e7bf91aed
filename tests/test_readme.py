"""The README's code blocks run as written.

Python: the fenced ```python blocks of each ``##`` section (its ``###`` subsections included)
run in order in one namespace per section, so every section is self-contained: a reader who
copies one section into a notebook gets code that runs. Each section defines its own inputs
from the shipped data (``load_sample``, ``generate_leads``) and runs in a temporary working
directory, where the files it writes (``model.json``, ``crm.linkage``, ``weights.html`` ...)
land. A block is compiled with its README line numbers, so a traceback points at README.md.

Bash: each ```bash block runs line by line through the installed ``linkage`` command in a
temporary directory holding the files the lines name (the sample as ``leads.csv`` in GBK,
as Excel saves it on Chinese Windows, ``leads.xlsx`` with a CRM's own headers,
``export.xlsx`` with a title row, ``accounts.csv``), each line expecting exit code 0. Lines in
:data:`SKIPPED` are not run: they install packages, start a server or a terminal loop.

The quick tier only parses (every block compiles, uses no name its section does not define,
and every bash line is run or listed as skipped); running the blocks is the slow tier.
"""

from __future__ import annotations

import ast
import builtins
import re
import shlex
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

#: Bash lines the test does not run, and why.
SKIPPED = {
    "pip install -e . && linkage demo": "installs the package (the test runs `linkage demo`)",
    'pip install -e ".[dev]" && python -m pytest -m "not slow" -n auto': "installs, runs pytest",
    "linkage review serve crm.linkage --port 8765": "starts a server (tests/test_desk.py)",
    "linkage review walk crm.linkage --reviewer li.na": "an interactive loop (test_review_walk)",
}


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, section, first line in README.md and code."""

    language: str
    section: str
    line: int
    code: str


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text``, in order, with the ``##`` section it sits in."""
    blocks, section, fence = [], "(top)", None
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is None:
            if line.startswith("## "):
                section = line[3:].strip()
            elif match := re.match(r"```(\w+)\s*$", line):
                fence, start, body = match.group(1), number + 1, []
        elif line.startswith("```"):
            blocks.append(Block(fence, section, start, "\n".join(body) + "\n"))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"README.md: a ```{fence} block from line {start} is never closed"
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
SECTIONS = list(dict.fromkeys(b.section for b in BLOCKS if b.language == "python"))
BASH_BLOCKS = [b for b in BLOCKS if b.language == "bash"]


def python_blocks(section: str) -> list[Block]:
    return [b for b in BLOCKS if b.language == "python" and b.section == section]


def compiled(block: Block):
    # Blank lines in front give the code its README line numbers in tracebacks.
    return compile("\n" * (block.line - 1) + block.code, str(README), "exec")


def bash_commands(block: Block) -> list[str]:
    """The command lines of a bash block, comments stripped."""
    lines = (line.split("  #")[0].strip() for line in block.code.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


# --- quick tier: the blocks parse, define what they use, and every bash line is accounted for


def test_readme_has_the_blocks_this_test_runs():
    assert len(SECTIONS) >= 6 and BASH_BLOCKS
    assert {b.language for b in BLOCKS} <= {"python", "bash"}, "a block no test runs"


@pytest.mark.parametrize("section", SECTIONS)
def test_python_blocks_compile_and_define_every_name_they_use(section):
    bound, used = set(dir(builtins)), {}
    for block in python_blocks(section):
        compiled(block)  # a SyntaxError names the README line
        tree = ast.parse("\n" * (block.line - 1) + block.code)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    used.setdefault(node.id, node.lineno)
                else:
                    bound.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
    undefined = {name: line for name, line in used.items() if name not in bound}
    assert not undefined, f"README.md section {section!r} uses undefined names: " + ", ".join(
        f"{name} (line {line})" for name, line in undefined.items()
    )


def test_every_bash_line_runs_or_is_listed_as_skipped():
    lines = [line for block in BASH_BLOCKS for line in bash_commands(block)]
    for line in lines:
        shlex.split(line)  # parses as a shell line
    not_run = {line for line in lines if not line.startswith("linkage ") or _skipped(line)}
    assert not_run == set(SKIPPED), "update SKIPPED: these lines are neither run nor listed"


def _skipped(line: str) -> bool:
    return line.startswith(("linkage review serve", "linkage review walk"))


# --- slow tier: run them


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_python_blocks_run(section, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        for block in python_blocks(section):
            exec(compiled(block), namespace)
    # The README teaches the current names: no deprecated name is used in a block.
    deprecated = [
        f"line {w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, DeprecationWarning) and w.filename == str(README)
    ]
    assert not deprecated, deprecated


@pytest.fixture
def input_files(tmp_path):
    """The files the bash blocks name, from the shipped sample."""
    import pandas as pd

    from linkage.datasets import generate_accounts, load_sample

    leads = load_sample().drop(columns=["true_person_id", "true_account_id"]).head(600)
    # As Excel saves a CSV on Chinese Windows; the sample holds only characters GBK has.
    leads.to_csv(tmp_path / "leads.csv", index=False, encoding="gbk")
    leads.rename(columns={"mobile": "Cell", "name": "Contact"}).to_excel(
        tmp_path / "leads.xlsx", index=False
    )
    with pd.ExcelWriter(tmp_path / "export.xlsx") as writer:  # a title row above the header
        leads.to_excel(writer, sheet_name="线索", index=False, startrow=1)
        writer.sheets["线索"]["A1"] = "线索导出 2024-06"
    generate_accounts(500, seed=1).drop(columns=["true_account_id", "true_group_id"]).to_csv(
        tmp_path / "accounts.csv", index=False
    )
    return tmp_path


def _project_with_a_verdict(directory: Path) -> None:
    """crm.linkage as `linkage run leads.csv --project crm.linkage` leaves it, with one
    verdict by li.na (the desk's block withdraws it)."""
    run_cli("run leads.csv -o out/ --project crm.linkage", directory)
    import linkage

    queue = linkage.ReviewQueue.open(directory / "crm.linkage")
    queue.decide(queue.pending()["item_id"].iloc[0], "match", reviewer="li.na")


def run_cli(arguments: str, directory: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("linkage")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "linkage.cli"]
    done = subprocess.run(
        command + shlex.split(arguments),
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"`linkage {arguments}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


#: The bash blocks with a line to run (the set-up blocks only install and run pytest).
RUNNABLE = [b for b in BASH_BLOCKS if set(bash_commands(b)) - set(SKIPPED)]


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[f"{b.section}:{b.line}" for b in RUNNABLE])
def test_bash_blocks_run(block, input_files):
    commands = [line for line in bash_commands(block) if line not in SKIPPED]
    if any(line.startswith("linkage review") for line in commands):
        _project_with_a_verdict(input_files)
    for line in commands:
        run_cli(line.removeprefix("linkage "), input_files)
