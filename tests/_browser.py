"""Headless Chromium with no network, for the tests that open saved pages (the quality
report, the notebooks exported to HTML): the DOM after scripts ran, and the console."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def chromium() -> str:
    """The chromium binary; skips the test (fails it in CI) when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed: apt-get install chromium to run the browser tests")
    return found


def open_offline(
    page: Path, *, screenshot: Path | None = None, size: tuple[int, int] = (1200, 2600)
) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and its console messages; every host name
    fails to resolve, so a page that needs the network breaks."""
    browser = chromium()
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=20000",
            f"--window-size={size[0]},{size[1]}",
        ]
        if screenshot is not None:
            command += ["--hide-scrollbars", f"--screenshot={screenshot}"]
        else:
            command.append("--dump-dom")
        done = subprocess.run(
            [*command, page.resolve().as_uri()], capture_output=True, text=True, timeout=180
        )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console
