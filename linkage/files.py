"""Tables in and out of files: CSV in any encoding a CRM export comes in, Excel, Parquet.

Reading (:func:`read_table`) is what ``link("leads.csv")`` and every ``linkage`` command
use. A CSV's encoding is found from its bytes (:func:`detect_encoding`): a byte-order mark,
else UTF-8 when every byte sequence is valid UTF-8, else one of the two double-byte Chinese
encodings Excel saves in by default: GB18030 (GBK, GB2312; simplified Chinese Windows) or
Big5 (traditional Chinese Windows, read as Microsoft's cp950). Both decode most of each
other's bytes without an error, so the choice is made on what the text says: the share of
its Chinese characters that are among the common characters of that encoding (GB2312 level 1,
3,755 characters; Big5 level 1, 5,401). A file read with the wrong one of the two gives
mostly rare or misplaced characters. When neither reading is clearly better the file is not
guessed at: :class:`~linkage.errors.InputError` asks for ``encoding=``, showing both readings.

A title row above the header (``客户线索导出 2024-05-01``, a merged cell in Excel) is skipped:
the header is the first of the top rows that is at least half as full as the fullest of
them; ``header_row=`` says it outright. Every value is read as text, so phone numbers and
ids keep their leading zeros and never become ``13800138000.0``.

Excel files are read by ``python-calamine`` when it is installed (about ten times faster
than openpyxl, which is used otherwise).

Writing (:func:`write_table`) gives files Excel opens correctly: CSV as UTF-8 with a
byte-order mark (without it, Excel on Chinese Windows shows UTF-8 as garbled text), lists
as ``a; b`` text in CSV and Excel and as lists in Parquet.

Every failure is an :class:`~linkage.errors.InputError` (or ``ConfigError`` for a bad
option) that names the file: no ``UnicodeDecodeError`` or ``BadZipFile`` reaches the user.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkage.errors import ConfigError, InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXCEL_MAX_ROWS",
    "FORMATS",
    "TableSource",
    "detect_encoding",
    "read_table",
    "read_source",
    "write_table",
]

logger = logging.getLogger("linkage")

#: The output formats :func:`write_table` writes, by file extension.
FORMATS = ("csv", "xlsx", "parquet")

#: Rows an Excel sheet holds, the header's included.
EXCEL_MAX_ROWS = 1_048_576

#: File extensions read as delimited text.
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")

# Names people pass for an encoding -> the codec read with (a superset where one exists).
_CODECS = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "big5": "cp950",
    "cp950": "cp950",
    "big5hkscs": "big5hkscs",
    "utf8": "utf-8-sig",
    "utf-8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "utf_8": "utf-8-sig",
}

# How many top rows are looked at for a title above the header.
_TITLE_SCAN_ROWS = 10

# A reading is taken when its common-character share beats the other's by this much.
_CLEAR_MARGIN = 0.15


@dataclass(frozen=True)
class TableSource:
    """How a file was read, for the run report.

    Attributes:
        path: the file.
        format: ``csv``, ``xlsx`` or ``parquet``.
        encoding: the text encoding (CSV only), as found or given.
        encoding_detected: whether it was found from the bytes (False: given).
        sheet: the Excel sheet read.
        header_row: the 1-based row the header was taken from.
        rows: records read.
    """

    path: Path
    format: str
    encoding: str | None = None
    encoding_detected: bool = False
    sheet: str | None = None
    header_row: int = 1
    rows: int = 0

    def describe(self) -> str:
        """One line: ``leads.csv: 20,000 rows, CSV in GB18030 (detected), header on row 2``."""
        parts = [f"{self.path.name}: {self.rows:,} rows, {self.format.upper()}"]
        if self.encoding:
            parts.append(
                f"in {self.encoding.upper()} ({'detected' if self.encoding_detected else 'given'})"
            )
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet!r}")
        if self.header_row != 1:
            parts.append(f"header on row {self.header_row}")
        return ", ".join(parts)


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV, Excel (.xlsx) or Parquet file into a DataFrame of text.

    Args:
        path: the file.
        encoding: a CSV's text encoding (``utf-8``, ``gbk``, ``gb18030``, ``big5``, ...);
            default: found from its bytes (see the module docstring).
        sheet: an Excel sheet, by name or 1-based position; default: the first.
        header_row: the 1-based row holding the column names; default: the first row, or
            the first full row below a title.

    Raises:
        InputError: the file is missing, of an unknown kind, damaged, not in the encoding
            given, or GB18030 and Big5 read it equally well (pass ``encoding=``).
        ConfigError: an unknown encoding, a sheet or header row that is not there.

    Example:
        >>> frame = read_table("leads.csv")                     # doctest: +SKIP
        >>> frame = read_table("export.xlsx", sheet="线索", header_row=2)  # doctest: +SKIP
    """
    return read_source(path, encoding=encoding, sheet=sheet, header_row=header_row)[0]


def read_source(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
) -> tuple[pd.DataFrame, TableSource]:
    """:func:`read_table`, also returning how the file was read (:class:`TableSource`)."""
    path = Path(path)
    if header_row is not None and header_row < 1:
        raise ConfigError(f"header row must be 1 or more (rows count from 1), not {header_row}")
    if not path.exists():
        raise InputError(f"input file {str(path)!r} does not exist")
    if path.is_dir():
        raise InputError(f"cannot read {str(path)!r}: it is a folder, not a file")
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            frame, source = _read_text(path, encoding, header_row)
        elif suffix in {".parquet", ".pq"}:
            frame, source = _read_parquet(path), TableSource(path, "parquet")
        elif suffix in {".xlsx", ".xlsm"}:
            frame, source = _read_excel(path, sheet, header_row)
        elif suffix == ".xls":
            raise InputError(
                f"cannot read {str(path)!r}: the old .xls format is not supported; save it "
                "as .xlsx or .csv"
            )
        else:
            raise InputError(
                f"cannot read {str(path)!r}: expected a .csv, .tsv, .txt, .xlsx or .parquet file"
            )
    except PermissionError as exc:
        raise InputError(f"cannot read {str(path)!r}: permission denied") from exc
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    return frame, _with_rows(source, len(frame))


def detect_encoding(data: bytes, *, name: str = "the file") -> str:
    """The encoding of a CSV's bytes: ``utf-8-sig``, ``utf-16``, ``gb18030`` or ``cp950``.

    Raises:
        InputError: neither UTF-8 nor clearly GB18030 or Big5 (``name`` says which file).

    Example:
        >>> detect_encoding("客户,手机\\n王伟有限公司,138".encode("gbk"))
        'gb18030'
        >>> detect_encoding("客戶,手機\\n王偉有限公司,138".encode("big5"))
        'cp950'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # Excel's "Unicode Text"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8-sig"
    readings = {codec: _common_share(data, codec) for codec in ("gb18030", "cp950")}
    (best, best_share), (other, other_share) = sorted(
        readings.items(), key=lambda item: item[1], reverse=True
    )
    if best_share >= 0.5 and best_share - other_share >= _CLEAR_MARGIN:
        return best
    if best_share == 0:
        raise InputError(
            f"cannot tell the text encoding of {name}: it is not UTF-8, GB18030 (GBK) or Big5. "
            "Say which it is with --encoding (in Python: encoding=), e.g. --encoding cp1252 "
            "for a Western European export, or save it as UTF-8 (Excel: 'CSV UTF-8')"
        )
    samples = "; ".join(
        f"as {_label(codec)}: {_sample(data, codec)!r}" for codec in ("gb18030", "cp950")
    )
    raise InputError(
        f"cannot tell the text encoding of {name}: it is not UTF-8, and it reads as well in "
        f"GB18030 (GBK) as in Big5 ({samples}). Say which: --encoding gbk or --encoding big5 "
        "(in Python: encoding=), or save it as UTF-8 (Excel: 'CSV UTF-8')"
    )


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``frame`` as CSV (UTF-8 with a byte-order mark), Excel or Parquet.

    Args:
        frame: the table; list values become ``a; b`` text in CSV and Excel.
        path: the file; its extension is replaced by ``fmt``'s when ``fmt`` is given.
        fmt: ``csv``, ``xlsx`` or ``parquet``; default: from ``path``'s extension.

    Returns:
        the path written.

    Raises:
        ConfigError: an unknown format, or a table too long for one Excel sheet.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)}")
    path = path.with_suffix(f".{fmt}")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Without pandas' schema note: it names Arrow list columns by a dtype string that
        # pandas itself cannot read back ('list<l: string>[pyarrow]'); the Arrow types say
        # all a reader needs.
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table.replace_schema_metadata(None), path)
        return path
    flat = _flat(frame)
    if fmt == "csv":
        # The BOM is what makes Excel read the file as UTF-8 (not the ANSI code page).
        flat.to_csv(path, index=False, encoding="utf-8-sig")
        return path
    if len(flat) >= EXCEL_MAX_ROWS:
        raise ConfigError(
            f"{path.name}: {len(flat):,} rows do not fit in one Excel sheet (1,048,575 at "
            "most): write it as csv or parquet (--format csv)"
        )
    flat.to_excel(path, index=False, engine="openpyxl")
    return path


# -- reading -------------------------------------------------------------------------------


def _with_rows(source: TableSource, rows: int) -> TableSource:
    from dataclasses import replace

    return replace(source, rows=rows)


def _read_text(
    path: Path, encoding: str | None, header_row: int | None
) -> tuple[pd.DataFrame, TableSource]:
    import pandas as pd

    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"cannot read {str(path)!r}: the file is empty")
    if encoding is None:
        codec, detected = detect_encoding(data, name=repr(str(path))), True
    else:
        codec, detected = _codec(encoding), False
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"cannot read {str(path)!r} as {encoding}: byte {exc.start} (line {line}) is "
            f"{data[exc.start : exc.start + 2]!r}, not {encoding} text; leave the encoding out "
            "to have it detected"
        ) from exc
    del data
    text = text.lstrip("\ufeff")
    sep = "\t" if path.suffix.lower() == ".tsv" else _separator(text)
    if header_row is not None:
        skip = header_row - 1
    else:
        top = _top_rows_of_text(text, sep)
        skip = top[_header_index([row for _, row in top], None, path)][0] if top else 0
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, sep=sep, skiprows=skip)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"cannot read {str(path)!r}: no header row and no records") from exc
    except pd.errors.ParserError as exc:
        raise InputError(
            f"cannot read {str(path)!r}: {_parser_message(exc, skip)}; check the separator "
            "and quoting, or give the header row (--header-row)"
        ) from exc
    source = TableSource(
        path, "csv", encoding=_label(codec), encoding_detected=detected, header_row=skip + 1
    )
    if skip:
        logger.info(
            "%s: header taken from row %d (row(s) above it look like a title)", path.name, skip + 1
        )
    return _without_blank_rows(frame), source


def _read_excel(
    path: Path, sheet: str | int | None, header_row: int | None
) -> tuple[pd.DataFrame, TableSource]:
    import pandas as pd

    sheet_name, values = _excel_rows(path, sheet)
    while values and all(_blank(v) for v in values[-1]):
        values.pop()
    if not values:
        raise InputError(f"cannot read {str(path)!r}: sheet {sheet_name!r} is empty")
    skip = _header_index(values[:_TITLE_SCAN_ROWS], header_row, path)
    header = values[skip]
    width = max(len(row) for row in values[skip:])
    # A header cell left blank: Excel shows the column letter, so name it by that.
    columns = [
        _cell_text(h) if not _blank(h) else _column_letter(i)
        for i, h in enumerate([*header, *[None] * (width - len(header))])
    ]
    body = [
        [_cell_text(v) for v in [*row, *[None] * (width - len(row))]] for row in values[skip + 1 :]
    ]
    frame = pd.DataFrame(body, columns=pd.Index(columns, dtype=object), dtype=object)
    # Columns with neither a header nor a value (Excel's used range runs past the data).
    empty = [
        c
        for i, c in enumerate(columns)
        if _blank(header[i] if i < len(header) else None) and frame.iloc[:, i].isna().all()
    ]
    if empty:
        frame = frame.drop(columns=empty)
    source = TableSource(path, "xlsx", sheet=sheet_name, header_row=skip + 1)
    if skip:
        logger.info(
            "%s: header taken from row %d (row(s) above it look like a title)", path.name, skip + 1
        )
    return _without_blank_rows(frame), source


def _excel_rows(path: Path, sheet: str | int | None) -> tuple[str, list[list[Any]]]:
    """The sheet's name and its rows from A1, as Python values: by python-calamine when it
    is installed (a 20,000-row export in about 1 s), else by openpyxl (about 13 s)."""
    damaged = (
        f"cannot read {str(path)!r}: not a readable .xlsx workbook (damaged, encrypted, or "
        "another format with an .xlsx name); open it in Excel and save it again"
    )
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        CalamineWorkbook = None  # noqa: N806
    if CalamineWorkbook is not None:
        try:
            book = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine's own error types differ between versions
            if isinstance(exc, PermissionError):
                raise
            raise InputError(damaged) from exc
        sheet_name = _sheet_name(list(book.sheet_names), sheet, path)
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        return sheet_name, [list(row) for row in rows]
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        if isinstance(exc, PermissionError):
            raise
        raise InputError(damaged) from exc
    try:
        sheet_name = _sheet_name(book.sheetnames, sheet, path)
        rows = book[sheet_name].iter_rows(values_only=True)
        return sheet_name, [list(row) for row in rows]
    finally:
        book.close()


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, PermissionError):
            raise
        raise InputError(
            f"cannot read {str(path)!r}: not a readable Parquet file ({_first_line(exc)})"
        ) from exc
    except Exception as exc:  # pyarrow's own errors (ArrowInvalid is a ValueError, most are)
        raise InputError(
            f"cannot read {str(path)!r}: not a readable Parquet file ({_first_line(exc)})"
        ) from exc


def _codec(encoding: str) -> str:
    key = encoding.strip().lower().replace("_", "-")
    if key in _CODECS:
        return _CODECS[key]
    import codecs

    try:
        return codecs.lookup(key).name
    except LookupError as exc:
        raise ConfigError(
            f"unknown encoding {encoding!r}: try utf-8, gbk (or gb18030) or big5"
        ) from exc


def _label(codec: str) -> str:
    return {"utf-8-sig": "utf-8", "cp950": "big5", "gb18030": "gb18030"}.get(codec, codec)


def _common_share(data: bytes, codec: str) -> float:
    """The share of Chinese characters in ``data`` read as ``codec`` that are common ones of
    that encoding (0 when it does not decode, or decodes to no Chinese at all)."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return 0.0
    hanzi = [ch for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"]
    odd = sum(1 for ch in text if _odd(ch))
    if not hanzi:
        return 0.0
    common = sum(1 for ch in hanzi if _is_common(ch, codec))
    # Kana, box drawing, private-use characters in a CRM export: a wrong reading.
    return common / (len(hanzi) + odd)


def _is_common(ch: str, codec: str) -> bool:
    try:
        if codec == "gb18030":
            code = ch.encode("gb2312")
            return 0xB0 <= code[0] <= 0xD7  # level 1: the 3,755 most used characters
        code = ch.encode("big5")
        return 0xA4 <= code[0] <= 0xC6  # level 1: the 5,401 most used characters
    except UnicodeEncodeError:
        return False


def _odd(ch: str) -> bool:
    return (
        "\u3040" <= ch <= "\u30ff"  # kana
        or "\u2500" <= ch <= "\u257f"  # box drawing
        or "\ue000" <= ch <= "\uf8ff"  # private use
        or "\u0370" <= ch <= "\u04ff"  # Greek, Cyrillic
    )


def _sample(data: bytes, codec: str) -> str:
    text = data[:4000].decode(codec, errors="replace")
    start = next((i for i, ch in enumerate(text) if ord(ch) > 127), 0)
    return text[start : start + 12]


def _separator(text: str) -> str:
    """The separator of a delimited text: the one of ``, \\t ; |`` that splits the top rows
    most often into the same number of fields."""
    lines = [line for line in text[:20000].splitlines()[: _TITLE_SCAN_ROWS + 5] if line.strip()]
    best, best_score = ",", 0
    for sep in (",", "\t", ";", "|"):
        counts = [line.count(sep) for line in lines]
        if not counts or max(counts) == 0:
            continue
        top = max(counts)
        score = sum(1 for c in counts if c == top) * top
        if score > best_score:
            best, best_score = sep, score
    return best


def _top_rows_of_text(text: str, sep: str) -> list[tuple[int, list[str]]]:
    """The first non-blank rows, each with the 0-based line it starts on."""
    head = "\n".join(text[:100_000].splitlines()[: _TITLE_SCAN_ROWS * 3])
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(head), delimiter=sep)
    start = 0
    for row in reader:
        if row and not all(_blank(v) for v in row):
            rows.append((start, row))
            if len(rows) == _TITLE_SCAN_ROWS:
                break
        start = reader.line_num
    return rows


def _header_index(rows: Sequence[Sequence[Any]], header_row: int | None, path: Path) -> int:
    """The 0-based index of the header among the (non-blank, for text) top rows."""
    if header_row is not None:
        return header_row - 1
    filled = [sum(1 for v in row if not _blank(v)) for row in rows]
    if not filled or max(filled) < 2:
        return 0
    target = max(2, max(filled) / 2)
    return next(i for i, n in enumerate(filled) if n >= target)


def _sheet_name(names: list[str], sheet: str | int | None, path: Path) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) or (
        isinstance(sheet, str) and sheet.isdigit() and sheet not in names
    ):
        position = int(sheet)
        if 1 <= position <= len(names):
            return names[position - 1]
        raise ConfigError(
            f"{path.name} has {len(names)} sheet(s), so there is no sheet {position}: "
            f"sheets are {', '.join(map(repr, names))}"
        )
    if sheet in names:
        return sheet
    raise ConfigError(
        f"{path.name} has no sheet {sheet!r}: its sheets are {', '.join(map(repr, names))}"
    )


def _cell_text(value: Any) -> str | None:
    """A cell as the text Excel shows: ``13800138000`` (not ``13800138000.0``), dates as
    ``2024-05-01`` or ``2024-05-01 09:30:00``."""
    import datetime

    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _without_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    blank = frame.isna().all(axis=1)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
    return frame


def _parser_message(exc: Exception, skip: int) -> str:
    import re

    message = _first_line(exc)
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = found.groups()
        return f"line {int(line) + skip} has {saw} fields where the header has {expected}"
    return message


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- writing -------------------------------------------------------------------------------


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list and array values as ``a; b`` text (a copy when any): Python
    lists in object columns, and Arrow list columns (the golden records' unions)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    out = None
    for column in frame.columns:
        values = frame[column]
        dtype = values.dtype
        if isinstance(dtype, pd.ArrowDtype):
            if not pa.types.is_list(dtype.pyarrow_dtype):
                continue
        elif not pd.api.types.is_object_dtype(dtype):
            continue
        else:
            sample = values.dropna().head(50)
            if not any(isinstance(v, (list, tuple, np.ndarray)) for v in sample):
                continue
        if out is None:
            out = frame.copy()
        out[column] = values.map(
            lambda v: (
                "; ".join("" if x is None else str(x) for x in v)
                if isinstance(v, (list, tuple, np.ndarray))
                else v
            )
        )
    return frame if out is None else out
