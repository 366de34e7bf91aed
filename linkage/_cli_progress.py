"""What the ``linkage`` command shows while it works: a stage at a time, then a summary.

On a terminal, a spinner names the stage running and its elapsed time (rich), and each
finished stage leaves a line with its seconds; when stderr is not a terminal (a scheduler, a
pipe, a log file) the same finished-stage lines are printed plainly, one per stage; with
``-q`` nothing is. Everything goes to stderr, so stdout carries only results.

The stages of :func:`linkage.link` are followed through the ``"linkage"`` logger: ``link``
logs ``"<stage>: <seconds>s"`` as each one ends (:class:`StageHandler` turns that into
:meth:`Progress.stage_done`). Nothing in this module imports pandas, DuckDB or splink: it is
ready before they load, so the first line shows within a second of starting.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import IO, Any

# What runs after each stage of link ends (``train`` is skipped when a model is given).
_NEXT = {
    "read": "standardizing values",
    "standardize": "blocking: finding candidate pairs",
    "blocking": "training the model",
    "train": "scoring pairs",
    "score": "deciding",
    "decide": "clustering into entities",
    "cluster": "assembling the result",
}

# Stage names of link as shown ("read" there is reading the frame and finding roles).
_SHOWN = {"read": "roles"}

_STAGE_LOG = re.compile(r"^(\w+): (\d+(?:\.\d+)?)s$")


class Progress:
    """Stage lines on stderr: ``rich`` on a terminal, plain otherwise, none when quiet.

    Args:
        mode: ``"rich"``, ``"plain"`` or ``"quiet"`` (see :func:`choose_mode`).
        stream: where to write (default: stderr).
    """

    def __init__(self, mode: str, stream: IO[str] | None = None) -> None:
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self.scoring_only = False
        self._live: Any = None
        self._task: Any = None
        self._started = time.perf_counter()
        self._stage_started = self._started

    def __enter__(self) -> Progress:
        if self.mode == "rich":
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            console = Console(file=self.stream, highlight=False)
            self._live = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                refresh_per_second=8,
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the spinner (the finished-stage lines stay)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def start(self, label: str) -> None:
        """A stage begins: ``label`` says what it does (``"reading leads.csv"``)."""
        self._stage_started = time.perf_counter()
        if self.mode == "rich":
            if self._task is None:
                self._task = self._live.add_task(label, total=None)
            else:
                self._live.reset(self._task, description=label)
        elif self.mode == "plain":
            self._print(f"linkage: {label} ...")

    def done(self, stage: str, seconds: float | None = None, detail: str = "") -> None:
        """A stage ended; ``seconds`` default to the time since :meth:`start`."""
        if seconds is None:
            seconds = time.perf_counter() - self._stage_started
        text = f"{stage:<12} {seconds:7.1f}s" + (f"  {detail}" if detail else "")
        if self.mode == "rich":
            self._live.console.print(f"[green]✓[/green] {text}")
        elif self.mode == "plain":
            self._print(f"linkage: done {text}")

    def stage_done(self, stage: str, seconds: float) -> None:
        """A stage of ``link`` ended (from its log): show it, and start the next one."""
        self.done(_SHOWN.get(stage, stage), seconds)
        following = _NEXT.get(stage)
        if stage == "blocking" and self.scoring_only:
            following = "scoring pairs"
        if following:
            self.start(following)

    def echo(self, text: str) -> None:
        """A log line (``-v``), printed without breaking the spinner."""
        if self.mode == "rich" and self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            self._print(text)

    @property
    def elapsed(self) -> float:
        """Seconds since this display was made (about when the command started)."""
        return time.perf_counter() - self._started

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def choose_mode(quiet: bool, stream: IO[str] | None = None) -> str:
    """``"quiet"`` with ``-q``, ``"rich"`` when ``stream`` (stderr) is a terminal, else
    ``"plain"``."""
    if quiet:
        return "quiet"
    stream = stream if stream is not None else sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return "plain"
    try:
        import rich.progress  # noqa: F401
    except ImportError:  # a dependency; without it, plain lines still say where the run is
        return "plain"
    return "rich"


class StageHandler(logging.Handler):
    """Turns ``link``'s end-of-stage log lines into :meth:`Progress.stage_done`; with
    ``verbose``, shows every other ``linkage`` log line at INFO and above too (warnings
    always)."""

    def __init__(self, progress: Progress, verbose: int) -> None:
        super().__init__(logging.DEBUG if verbose > 1 else logging.INFO)
        self.progress = progress
        self.verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            stage = _STAGE_LOG.match(message) if record.levelno == logging.INFO else None
            if stage:
                self.progress.stage_done(stage.group(1), float(stage.group(2)))
            elif record.levelno >= logging.WARNING:
                self.progress.echo(f"linkage: warning: {message}")
            elif self.verbose:
                self.progress.echo(message)
        except Exception:  # noqa: BLE001 - a display must never break a run
            self.handleError(record)
