"""``linkage review walk`` through a pseudo-terminal (a verdict, a withdrawal, quit), and
the review commands' manners: a closed pipe, a path that is not a project file, a list
with a total aligned by display width."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import linkage
from linkage.datasets import generate_leads
from linkage.desk._walk import display_width, table
from linkage.project import ReviewQueue


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("walk") / "crm.linkage"
    linkage.link(generate_leads(600, seed=3), queue=path)
    return path


@pytest.fixture
def project(built, tmp_path) -> Path:
    path = tmp_path / "crm.linkage"
    shutil.copy(built, path)
    return path


def _read_until(fd: int, marker: str, seconds: float = 60.0) -> str:
    seen = b""
    deadline = time.monotonic() + seconds
    while marker.encode() not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} in: {seen.decode(errors='replace')[-2000:]}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen.decode(errors="replace")


def test_walk_in_a_terminal_a_verdict_a_withdrawal_and_quit(project):
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(
        # -q: no progress line on the terminal (the walk draws its own screen)
        [
            sys.executable,
            "-m",
            "linkage.cli",
            "-q",
            "review",
            "walk",
            str(project),
            "--reviewer",
            "li.na",
        ],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        close_fds=True,
    )
    os.close(child_fd)
    try:
        shown = _read_until(main_fd, "[q] quit")
        assert "routed here by" in shown and "why borderline" in shown
        os.write(main_fd, b"y\n")
        shown = _read_until(main_fd, "[q] quit")
        assert ": match" in shown
        os.write(main_fd, b"w\n")
        shown = _read_until(main_fd, "[q] quit")
        assert "withdrawn" in shown
        os.write(main_fd, b"q\n")
        _read_until(main_fd, "bye")
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        os.close(main_fd)
    history = ReviewQueue.open(project).verdicts(history=True)
    assert history["verdict"].tolist() == ["match", "withdrawn"]
    assert ReviewQueue.open(project).verdicts().empty


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "linkage.cli", *args], capture_output=True, text=True, **kw
    )


def test_show_into_a_closed_pipe_ends_cleanly(project):
    item = str(int(ReviewQueue.open(project).pending()["item_id"].iloc[0]))
    shell = f"{sys.executable} -m linkage.cli review show {project} {item} | head -n 1"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {shell}"], capture_output=True, text=True
    )
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr
    assert done.stdout.startswith("\n") or done.stdout.strip()


def test_not_a_project_file(tmp_path):
    text = tmp_path / "leads.csv"
    text.write_text("id,name\n1,王伟\n")
    done = _cli("review", "list", str(text))
    assert "not a project file" in done.stderr and "CatalogError" not in done.stderr
    import duckdb

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE t (x INT)").close()
    done = _cli("review", "list", str(other))
    assert "not a linkage project file" in done.stderr or "not a project file" in done.stderr


def test_list_prints_a_total_aligned_by_display_width(project):
    done = _cli("review", "list", str(project), "--limit", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "5 of 14 waiting items shown" in done.stdout
    rows = [line for line in lines[1:6] if "L0" in line]
    # Chinese names before the right record's id: it still starts at one display column.
    starts = {display_width(line[: line.index("L0", line.index("L0") + 1)]) for line in rows}
    assert len(rows) == 5 and len(starts) == 1


def test_table_aligns_chinese_by_display_width():
    out = table(["name", "x"], [["王伟", "1"], ["HU Qianwei", "2"]]).splitlines()
    assert len({display_width(line[: line.rindex(" ") + 1]) for line in out[1:]}) == 1
