"""The ``linkage`` command line.

linkage demo                      link the shipped sample and print a summary
linkage run leads.csv -o out/     link a CSV, Excel or Parquet file, write the results
linkage run leads.csv -o out/ --project crm.linkage
                                  ... and keep review items, verdicts and entity ids in a
                                  project file
linkage run leads.csv --config linkage.toml
                                  ... with every setting of linkage.link from a TOML file
linkage init leads.csv            write a starting linkage.toml from the detected roles
linkage report leads.csv -o report.html
                                  a data-quality report: duplicates, completeness and
                                  validity per field and channel, the worst values (one
                                  HTML file that opens offline)
linkage review list crm.linkage   the pending review items, most useful first
linkage review show crm.linkage 12
                                  one pair side by side
linkage review decide crm.linkage 12 match --reviewer li.na [--note "same mobile"]
                                  give (or change) a verdict: match, non_match or skip
linkage review entities crm.linkage -o entities.csv
                                  the record-to-entity mapping, to write back to the CRM
linkage run leads.csv -o out/ --project crm.linkage --store lead
                                  ... and keep the records as a store for checks
linkage check crm.linkage new_leads.csv [-o checked.csv]
                                  check records against the store (nothing is written)
linkage add crm.linkage new_leads.csv [--actor li.na]
                                  import records, deduplicated within and against the store
linkage forget crm.linkage L0000456
                                  erase a record from the project file

Reading (run, init, check, add): CSV in UTF-8 (with or without a BOM), GB18030/GBK or Big5,
found from the bytes (``--encoding`` to say it); Excel ``.xlsx`` (``--sheet``); a title row
above the header is skipped (``--header-row N`` to say which row holds the header).

``linkage run -o DIR`` writes, in ``--format csv`` (UTF-8 with a BOM: Excel opens it
correctly), ``xlsx`` or ``parquet``: ``entities``, ``golden``, ``review``, ``problems`` and
``pairs`` under your own column names (``姓名_l``/``姓名_r`` in pair files), ``model.json``,
and the run report ``report.json`` / ``report.txt`` (counts, timings, roles and how they were
found, unused columns and why).

Progress goes to stderr (a spinner on a terminal, one line per stage otherwise), results to
stdout; ``-q`` shows only warnings and errors, ``-v`` every stage's log, ``-vv`` debug.

Exit codes, for schedulers:

====  =========================================================================================
0     success
1     unexpected error (a bug: the message says so; ``-v`` shows the traceback)
2     usage or input error: a bad option or config file, an input that cannot be read or
      used as given (missing file, unknown encoding, a column that is not there, duplicate
      ids). Fix the command or the data; retrying will not help.
3     the project file is busy (another process holds it): retry later
4     the project file or the model cannot be used (made for other data, from a newer
      version, damaged; a model that cannot be trained or loaded): needs a person
130   interrupted (Ctrl-C)
====  =========================================================================================

A bare ``linkage`` prints this help and exits 0; ``linkage --version`` prints the version.
"""

from __future__ import annotations

# Only light modules at the top: the first line must show before pandas, DuckDB and splink
# load (2-3 s). Heavy imports happen inside the commands.
import argparse
import logging
import re
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from linkage._cli_progress import Progress, StageHandler, choose_mode
from linkage._cli_review import add_review_commands, review_command
from linkage._version import __version__
from linkage.errors import (
    ConfigError,
    InputError,
    LinkageError,
    ModelError,
    ProjectBusyError,
    ProjectError,
)

#: Exit codes (see the module docstring).
EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_BUSY, EXIT_UNUSABLE, EXIT_INTERRUPTED = (
    0,
    1,
    2,
    3,
    4,
    130,
)

# Third-party loggers that speak to developers, not to users of the command.
_QUIET_LOGGERS = {"splink": logging.WARNING, "sqlglot": logging.ERROR, "py4j": logging.ERROR}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (see the module docstring)."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        parser.print_help()
        return EXIT_OK
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse printed
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    # The desk's terminal loop and server own the screen: no spinner over them.
    interactive = args.command == "review" and getattr(args, "action", None) in ("walk", "serve")
    progress = Progress(choose_mode(args.quiet or interactive))
    try:
        with _logging(progress, args.verbose), progress:
            return _dispatch(args, progress)
    except LinkageError as exc:
        progress.close()
        print(f"linkage: error: {cli_hint(str(exc))}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        progress.close()
        print("linkage: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback, by default
        progress.close()
        if args.verbose:
            traceback.print_exc()
        print(
            f"linkage: unexpected error: {type(exc).__name__}: {exc}\n"
            "This is a bug in linkage: please report it with the command you ran"
            + ("" if args.verbose else " (run again with -v to see the traceback)"),
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def exit_code(error: BaseException) -> int:
    """The exit code for an error (see the module docstring)."""
    if isinstance(error, ProjectBusyError):
        return EXIT_BUSY
    if isinstance(error, (ProjectError, ModelError)):
        return EXIT_UNUSABLE
    if isinstance(error, (InputError, ConfigError, LinkageError)):
        return EXIT_USAGE
    return EXIT_UNEXPECTED


def cli_hint(message: str) -> str:
    """An error message with its Python hints said as options of the command:
    ``pass roles={'record_id': None}`` becomes ``pass --role record_id=``.

    Example:
        >>> cli_hint("or pass roles={'record_id': None} to have linkage generate them")
        'or pass --role record_id= to have linkage generate them'
        >>> cli_hint("pass roles={'mobile': '<your column>', ...}")
        'pass --role mobile=COLUMN'
    """

    def roles(found: re.Match[str]) -> str:
        pairs = re.findall(r"'(\w+)':\s*(None|'[^']*')", found.group(1))
        options = []
        for role, column in pairs:
            column = "" if column == "None" else column.strip("'")
            if column.startswith("<"):
                column = "COLUMN"
            options.append(f"--role {role}={_quoted(column)}")
        return " ".join(options) if options else found.group(0)

    message = re.sub(r"roles=\{(.*?)\}", roles, message)
    message = message.replace(" (in Python: encoding=)", "")
    message = re.sub(r"queue='([^']*)'", r"--project \1", message)
    settings = re.findall(r"\b(max_pairs|max_block_size|blocking_rules|pair_budget)\b", message)
    if settings:
        message += (
            f" ({', '.join(dict.fromkeys(settings))}: settings of a config file, "
            "--config linkage.toml; linkage init writes one)"
        )
    return message


# -- the parser ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    verbosity = argparse.ArgumentParser(add_help=False)
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log each stage's details (-vv: debug)",
    )
    verbosity.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress or summary: warnings and errors only",
    )
    parser = argparse.ArgumentParser(
        prog="linkage",
        description="Find and merge duplicate customer records in CRM files.",
        epilog="Exit codes: 0 ok, 1 unexpected error, 2 usage or input error, 3 project file "
        "busy (retry later), 4 project file or model unusable, 130 interrupted. "
        "Run 'linkage COMMAND -h' for a command's options.",
        parents=[verbosity],
    )
    parser.set_defaults(verbose=0, quiet=False)
    parser.add_argument("--version", action="version", version=f"linkage {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="link the shipped sample of synthetic leads", parents=[verbosity]
    )
    demo.add_argument("--out", "-o", type=Path, help="also write the results to this folder")
    demo.add_argument("--seed", type=int, default=0)

    run = commands.add_parser(
        "run", help="link the records in a CSV, Excel or Parquet file", parents=[verbosity]
    )
    run.add_argument("input", type=Path, help="a .csv, .tsv, .txt, .xlsx or .parquet file")
    run.add_argument(
        "-o", "--out", type=Path, help="folder for the results (default: INPUT's name + _linkage)"
    )
    run.add_argument(
        "--format",
        choices=["csv", "xlsx", "parquet"],
        help="format of the result tables (default csv: UTF-8 with BOM, opens in Excel)",
    )
    run.add_argument(
        "--config", type=Path, help="a linkage.toml with settings of linkage.link (linkage init)"
    )
    _reading_options(run)
    _role_option(run)
    _model_options(run)
    run.add_argument(
        "--project", type=Path, help="project file for the review queue and stable entity ids"
    )
    run.add_argument(
        "--store",
        metavar="OBJECT",
        help="also keep the records in the project file as a store for check and add, "
        "naming what they are (lead, contact, customer)",
    )
    run.add_argument(
        "--rebuild-store",
        action="store_true",
        help="rebuild the store even when it holds records added since it was built that "
        "this file lacks, or retrained models (they are dropped)",
    )

    init = commands.add_parser(
        "init",
        help="write a starting linkage.toml from the roles detected in a file",
        parents=[verbosity],
    )
    init.add_argument("input", type=Path, help="a .csv, .tsv, .txt, .xlsx or .parquet file")
    init.add_argument(
        "-o", "--out", type=Path, default=Path("linkage.toml"), help="default: linkage.toml"
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    _reading_options(init)
    _role_option(init)

    report = commands.add_parser(
        "report",
        help="write a data-quality report (one HTML file that opens offline)",
        parents=[verbosity],
    )
    report.add_argument("input", type=Path, help="a .csv, .tsv, .txt, .xlsx or .parquet file")
    report.add_argument(
        "-o", "--out", type=Path, help="the HTML file (default: INPUT's name + _report.html)"
    )
    report.add_argument(
        "--config", type=Path, help="a linkage.toml with settings of linkage.link (linkage init)"
    )
    _reading_options(report)
    _role_option(report)
    _model_options(report)

    add_review_commands(commands)
    _add_store_commands(commands, verbosity)
    forget = commands.add_parser(
        "forget",
        help="erase records from a project file (a data subject's request): every table, "
        "then the file is rewritten so no byte of them is left",
        parents=[verbosity],
    )
    forget.add_argument("project", type=Path, help="the project file")
    forget.add_argument("record_id", nargs="+", help="ids of the records to erase")
    forget.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for a busy project file"
    )
    return parser


def _reading_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--encoding",
        help="the CSV's text encoding: utf-8, gbk (gb18030), big5, ... (default: detected)",
    )
    command.add_argument("--sheet", help="Excel sheet, by name or number (default: the first)")
    command.add_argument(
        "--header-row",
        type=int,
        metavar="N",
        help="row number of the header, counting from 1 (default: row 1, or the first full "
        "row below a title)",
    )


def _memory_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="DuckDB's share of memory, e.g. 2GB or 800MB; beyond it DuckDB spills to disk "
        "(default 1.5GB, or $LINKAGE_MEMORY_LIMIT)",
    )


def _model_options(command: argparse.ArgumentParser) -> None:
    _memory_option(command)
    command.add_argument("--seed", type=int, help="makes the run repeatable (default 0)")
    command.add_argument(
        "--level",
        choices=["person", "organization"],
        help="what a record is (default: chosen from the columns, and printed)",
    )
    command.add_argument(
        "--country",
        metavar="CC",
        help="country of phone numbers written without +CC, e.g. CN, US, GB "
        "(default: the one in which most numbers are valid)",
    )


def _role_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=COLUMN",
        help="map a column to a role, e.g. --role mobile=Cell (repeatable); an empty COLUMN "
        "switches the role off: --role record_id= generates ids",
    )


def _add_store_commands(
    commands: argparse._SubParsersAction, verbosity: argparse.ArgumentParser
) -> None:
    for name, text in (
        ("check", "check records against the store in a project file (nothing is written)"),
        ("add", "import records into the store, deduplicated within and against it"),
    ):
        command = commands.add_parser(name, help=text, parents=[verbosity])
        command.add_argument("project", type=Path, help="the project file holding the store")
        command.add_argument("input", type=Path, help="a CSV, Excel or Parquet file")
        _reading_options(command)
        _role_option(command)
        _memory_option(command)
        command.add_argument(
            "-o", "--out", type=Path, help="write one row per record (.csv, .xlsx or .parquet)"
        )
        command.add_argument(
            "--timeout", type=float, default=10.0, help="seconds to wait for a busy project file"
        )
        if name == "add":
            command.add_argument("--actor", help="who imports (kept in the log)")


# -- logging ---------------------------------------------------------------------------------


@contextmanager
def _logging(progress: Progress, verbose: int) -> Iterator[None]:
    """``linkage``'s log to the display for the length of one command; third-party loggers
    quietened; everything as it was afterwards (``main`` can run many times in a process)."""
    ours = logging.getLogger("linkage")
    handler = StageHandler(progress, verbose)
    saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    saved_level, saved_propagate = ours.level, ours.propagate
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    ours.propagate = False
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        ours.removeHandler(handler)
        ours.setLevel(saved_level)
        ours.propagate = saved_propagate
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


# -- the commands ----------------------------------------------------------------------------


def _dispatch(args: argparse.Namespace, progress: Progress) -> int:
    if args.command == "demo":
        return _demo(args, progress)
    if args.command == "run":
        return _run(args, progress)
    if args.command == "init":
        return _init(args, progress)
    if args.command == "report":
        return _report(args, progress)
    if args.command == "review":
        return review_command(args)
    if args.command in ("check", "add"):
        return _store_command(args, progress)
    if args.command == "forget":
        return _forget(args)
    raise ConfigError(f"unknown command {args.command!r}")  # pragma: no cover


def _out(args: argparse.Namespace, text: str = "") -> None:
    """A result line on stdout (not with -q)."""
    if not args.quiet:
        print(text, flush=True)


def _demo(args: argparse.Namespace, progress: Progress) -> int:
    progress.start("loading the sample")
    import linkage
    from linkage.datasets import SAMPLE_PATH, load_sample
    from linkage.evaluation import evaluate
    from linkage.outputs import write_outputs

    records = load_sample()
    truth = records[["lead_id", "true_person_id"]]
    progress.done("sample", detail=f"{len(records):,} synthetic leads from {SAMPLE_PATH.name}")
    progress.start("finding roles")
    started = time.perf_counter()
    result = linkage.link(records, seed=args.seed)
    seconds = time.perf_counter() - started
    progress.close()
    _out(args, _detected(result))
    _out(args, result.summary().replace(f"{sum(result.timings.values()):.1f}", f"{seconds:.1f}"))
    accuracy = evaluate(result, "true_person_id", truth)
    _out(args, "against the generator's ground truth (person level):")
    for level, acc in accuracy.items():
        _out(args, f"  {level:<10} {acc}")
    if args.out:
        written = write_outputs(result, args.out, columns=list(records.columns))
        _out(args, f"wrote {', '.join(p.name for p in written)} to {args.out}/")
    return EXIT_OK


def _run(args: argparse.Namespace, progress: Progress) -> int:
    from linkage._cli_config import link_arguments, read_config

    config = read_config(args.config) if args.config else {"input": {}, "output": {}, "link": {}}
    reading = {**config["input"], **_given_reading(args)}
    progress.start(f"reading {args.input.name}")
    from linkage.files import read_source

    frame, source = read_source(args.input, **reading)
    progress.done("read file", detail=source.describe())

    settings = dict(config["link"])
    given_roles = {**settings.pop("roles", {}), **_roles_from_options(args.role)}
    if given_roles:
        settings["roles"] = given_roles
    for option in ("seed", "level", "country", "memory_limit"):
        if getattr(args, option) is not None:
            settings[option] = getattr(args, option)
    if args.project is not None:
        settings["queue"] = args.project
    settings.setdefault("seed", 0)
    source_name = args.config.name if args.config else "the command line"
    arguments = link_arguments(settings, source_name)
    progress.scoring_only = arguments.get("model") is not None
    progress.start("finding roles")

    import linkage
    from linkage.outputs import write_outputs

    result = linkage.link(frame, **arguments)
    out = args.out or args.input.with_name(f"{args.input.stem}_linkage")
    fmt = args.format or config["output"].get("format", "csv")
    progress.start(f"writing results to {out}/")
    written = write_outputs(
        result,
        out,
        fmt,
        source=source,
        given_roles=arguments.get("roles"),
        wall_seconds=progress.elapsed,
        columns=list(frame.columns),
    )
    progress.done("write", detail=f"{len(written)} files")
    if args.store:
        from linkage.store import RecordStore

        if not args.project and not settings.get("queue"):
            raise ConfigError("--store keeps the records in a project file: add --project FILE")
        progress.start("building the store")
        with RecordStore.build(
            result,
            object_name=args.store,
            replace=True,
            discard=args.rebuild_store,
            memory_limit=settings.get("memory_limit"),
        ) as store:
            progress.done("store", detail=str(store))
    progress.close()
    _out(args, _detected(result))
    _out(args, result.summary())
    _out(args, f"wall time:    {progress.elapsed:.1f}s")
    _out(args, f"wrote {', '.join(p.name for p in written)} to {out}/")
    return EXIT_OK


def _report(args: argparse.Namespace, progress: Progress) -> int:
    from linkage._cli_config import link_arguments, read_config

    config = read_config(args.config) if args.config else {"input": {}, "output": {}, "link": {}}
    out = args.out or args.input.with_name(f"{args.input.stem}_report.html")
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"the report is an HTML page: give -o a name ending in .html, not {out}")
    reading = {**config["input"], **_given_reading(args)}
    progress.start(f"reading {args.input.name}")
    from linkage.files import read_source

    frame, source = read_source(args.input, **reading)
    progress.done("read file", detail=source.describe())
    settings = dict(config["link"])
    settings.pop("queue", None)  # the report changes no project file
    given_roles = {**settings.pop("roles", {}), **_roles_from_options(args.role)}
    if given_roles:
        settings["roles"] = given_roles
    for option in ("seed", "level", "country", "memory_limit"):
        if getattr(args, option) is not None:
            settings[option] = getattr(args, option)
    settings.setdefault("seed", 0)
    arguments = link_arguments(settings, args.config.name if args.config else "the command line")
    progress.scoring_only = arguments.get("model") is not None
    progress.start("finding roles")

    import linkage
    from linkage.charts import quality_report

    result = linkage.link(frame, **arguments)
    progress.start(f"writing {out}")
    report = quality_report(result, title=args.input.name)
    report.save(out)
    progress.done("report", detail=str(out))
    progress.close()
    s = report.summary
    _out(
        args,
        f"{s['records']:,} records, {s['entities']:,} customers: {s['duplicate_records']:,} "
        f"duplicate records ({s['duplicate_rate']:.1%}); {len(report.worst_values)} worst "
        f"values, {len(report.unused)} unused columns",
    )
    _out(args, f"wrote {out}")
    return EXIT_OK


def _init(args: argparse.Namespace, progress: Progress) -> int:
    from linkage._cli_config import starting_config

    if args.out.exists() and not args.force:
        raise ConfigError(f"{args.out} exists: choose another name with -o, or pass --force")
    progress.start(f"reading {args.input.name}")
    from linkage import schema
    from linkage.files import read_source

    frame, source = read_source(args.input, **_given_reading(args))
    progress.done("read file", detail=source.describe())
    given = _roles_from_options(args.role)
    mapping = schema.resolve_roles(list(frame.columns), given or None)
    working = frame.copy()
    mapping = schema.validate_records(working, mapping)
    mapping = schema.profile_columns(working, mapping)
    level = schema.choose_level(working, mapping, None)
    args.out.write_text(starting_config(args.input, source, mapping, level), encoding="utf-8")
    progress.close()
    _out(args, _detected_mapping(mapping))
    _out(args, f"entity level: {level[0]} ({level[1]})")
    _out(args, f"wrote {args.out}: check it, then  linkage run {args.input} --config {args.out}")
    return EXIT_OK


def _store_command(args: argparse.Namespace, progress: Progress) -> int:
    progress.start(f"reading {args.input.name}")
    from linkage.files import read_source, write_table
    from linkage.store import RecordStore

    frame, source = read_source(args.input, **_given_reading(args))
    progress.done("read file", detail=source.describe())
    roles = _roles_from_options(args.role) or None
    started = time.perf_counter()
    progress.start("opening the store")
    with RecordStore.open(
        args.project, timeout=args.timeout, memory_limit=args.memory_limit
    ) as store:
        progress.done("open store")
        if args.command == "check":
            progress.start("checking")
            found = store.check(frame, roles=roles)
            progress.close()
            counts = found["decision"].value_counts().to_dict()
            shown = found[
                [
                    "record_id",
                    "decision",
                    "entity_id",
                    "matched_object",
                    "match_probability",
                    "owner",
                    "reason",
                ]
            ].copy()
            shown["match_probability"] = shown["match_probability"].round(3)
            _out(args, shown.head(20).astype(object).fillna("").to_string(index=False))
            if len(found) > 20:
                _out(args, f"... {len(found) - 20:,} more")
            _out(
                args,
                f"checked {len(found):,} records against {store.n_records:,} stored "
                f"{store.object_name}s in {time.perf_counter() - started:.1f}s: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())),
            )
            if args.out:
                path = write_table(found.drop(columns=["golden"]), args.out, _format_of(args.out))
                _out(args, f"wrote {path}")
            return EXIT_OK
        progress.start("adding")
        added = store.add(frame, roles=roles, actor=args.actor)
        progress.close()
        outcomes = added.entities["outcome"].value_counts().to_dict()
        _out(
            args,
            f"added {len(added.entities):,} records in {time.perf_counter() - started:.1f}s: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items()))
            + f"; {added.review_items:,} review items, {added.conflicts:,} conflicts "
            f"(see linkage review list {args.project})",
        )
        if args.out:
            path = write_table(added.entities, args.out, _format_of(args.out))
            _out(args, f"wrote {path}")
    return EXIT_OK


def _forget(args: argparse.Namespace) -> int:
    from linkage.project import ReviewQueue

    if not args.project.exists():
        raise ProjectError(f"{args.project} does not exist: give the path of a project file")
    queue = ReviewQueue.open(args.project, timeout=args.timeout)
    con = queue.file.connect()
    try:
        known = {r[0] for r in con.execute("SELECT record_key FROM project_records").fetchall()}
    finally:
        con.close()
    unknown = [r for r in args.record_id if r not in known]
    if unknown:
        raise ProjectError(
            f"no record {unknown[0]!r} in {args.project} (with several inputs, write "
            "INPUT:ID); nothing was erased"
        )
    reissued = queue.forget(*args.record_id)
    _out(
        args,
        f"erased {len(args.record_id)} record{'s' if len(args.record_id) > 1 else ''} from "
        f"{args.project} and rewrote the file"
        + (f"; {len(reissued)} entity id(s) re-issued" if reissued else ""),
    )
    return EXIT_OK


# -- helpers ---------------------------------------------------------------------------------


def _given_reading(args: argparse.Namespace) -> dict[str, Any]:
    reading = {
        "encoding": args.encoding,
        "sheet": args.sheet,
        "header_row": args.header_row,
    }
    return {k: v for k, v in reading.items() if v is not None}


def _roles_from_options(options: Sequence[str]) -> dict[str, str | None]:
    """``--role ROLE=COLUMN`` options as ``link``'s ``roles``: an empty COLUMN is ``None``
    (the role switched off: ``--role record_id=`` has ids generated)."""
    roles: dict[str, str | None] = {}
    for item in options:
        role, sep, column = item.partition("=")
        if not sep or not role.strip():
            raise ConfigError(f"--role expects ROLE=COLUMN (e.g. --role mobile=手机), got {item!r}")
        roles[role.strip()] = column if column.strip() else None
    return roles


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in ("csv", "xlsx", "parquet") else "csv"


def _quoted(text: str) -> str:
    return text if re.fullmatch(r"[\w.\-]*", text) else repr(text)


def _detected(result: Any) -> str:
    return "\n".join(_detected_mapping(mapping) for mapping in result.roles.values())


def _detected_mapping(mapping: Any) -> str:
    return "roles:\n" + mapping.describe()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
