"""Column roles: which input column plays which part in matching.

A CRM export names its columns in many ways (``Mobile``, ``手机号码``, ``Cell Phone``). This
module maps them to a fixed set of *roles* (``mobile``, ``company``, ``person_name`` ...),
either by detection from the header or from an explicit mapping, and validates the input
records at the boundary: every later stage works on role names only, so a user's column name
(quotes, spaces, SQL) never reaches a SQL string.

Example:
    >>> import pandas as pd
    >>> detect_roles(["线索ID", "公司名称", "手机号码", "Notes"]).roles
    {'record_id': '线索ID', 'company': '公司名称', 'mobile': '手机号码'}
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from linkage import files
from linkage.errors import InputError, SchemaError
from linkage.roles import REGISTRY

logger = logging.getLogger("linkage")

#: Every role ``linkage`` understands, with what it means (from :mod:`linkage.roles`).
ROLES: dict[str, str] = {role.name: role.description for role in REGISTRY}

#: The two entity levels: a record is a person (a lead, a contact) or an organization (an
#: account, a customer company, a site).
LEVELS = ("person", "organization")

#: Roles carried through untouched: they play no part in matching.
PASS_THROUGH_ROLES: tuple[str, ...] = tuple(r.name for r in REGISTRY if r.standardizer == "pass")

#: Roles without a dedicated standardizer: their ``<role>_clean`` column is the value
#: NFKC-normalized, trimmed and lower-cased (``linkage.standardize.simple_text``).
SIMPLE_ROLES: tuple[str, ...] = tuple(r.name for r in REGISTRY if r.standardizer == "simple")

# Normalized header -> role: the registry's header words.
_HEADER_ALIASES: dict[str, tuple[str, ...]] = {r.name: r.headers for r in REGISTRY}

# Row numbers, not ids: used as the record id only when no other id column is there.
_ROW_NUMBER_HEADERS = ("序号", "no", "rowno", "rownumber", "row", "index", "#", "行号")

# Headers that start with these words (``postcode_fake``, ``zip_code_5``) take the role.
_HEADER_PREFIXES = (("postcode", "postcode"), ("zipcode", "postcode"), ("postalcode", "postcode"))

_ALIAS_TO_ROLE: dict[str, str] = {
    alias: role for role, aliases in _HEADER_ALIASES.items() for alias in aliases
}
_ALIAS_TO_ROLE.update({header: "record_id" for header in _ROW_NUMBER_HEADERS})

#: Roles that identify a person or a company; at least one must be present to match on.
MATCHING_ROLES: tuple[str, ...] = tuple(r.name for r in REGISTRY if r.matching)

#: Roles that name a person: without one (or with one that is mostly blank) the records
#: are organizations.
PERSON_NAME_ROLES = ("person_name", "first_name", "last_name")

#: Roles that identify a person rather than an organization.
PERSON_IDENTIFIER_ROLES = tuple(r.name for r in REGISTRY if r.identifies_person)


def _normalize_header(header: object) -> str:
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return re.sub(r"[\s_\-.·/]+", "", text)


@dataclass(frozen=True)
class ExtraColumn:
    """A column no role claims, compared by the kind of its values.

    Attributes:
        name: its name in the working table and its comparison (``extra_1``, ...): the
            user's header never reaches SQL.
        column: the input column.
        kind: what its values look like (:mod:`linkage.profiling`).
    """

    name: str
    column: str
    kind: str


@dataclass(frozen=True)
class RoleMapping:
    """Which input column plays which role.

    Attributes:
        roles: role name -> input column name, for the roles present.
        detected: the roles found from headers (as opposed to given explicitly).
        generated_id: True when the input had no id column and ``linkage`` made one.
    """

    roles: dict[str, str]
    detected: tuple[str, ...] = ()
    generated_id: bool = False
    notes: tuple[str, ...] = field(default=())
    extras: tuple[ExtraColumn, ...] = field(default=())
    unused: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """A one-line-per-role summary for logs and the CLI."""
        lines = []
        for role, column in self.roles.items():
            how = "detected" if role in self.detected else "given"
            lines.append(f"  {role:<15} <- {column!r} ({how})")
        for extra in self.extras:
            lines.append(
                f"  {extra.name:<15} <- {extra.column!r} (no role: compared as {extra.kind})"
            )
        for column, reason in self.unused.items():
            lines.append(f"  {'unused':<15}    {column!r}: {reason}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def detect_roles(columns: Sequence[object]) -> RoleMapping:
    """Detect roles from column headers (English or Chinese, case- and space-insensitive).

    The first column whose header matches a role wins; later matches of the same role are
    left as ordinary carried-through columns. A bare row number (``序号``, ``No.``) is taken
    as the record id only when no real id column is there.
    """
    roles: dict[str, str] = {}
    id_rank = len(_ROW_NUMBER_HEADERS) + 1
    for column in columns:
        role = _role_of_header(column)
        if role == "record_id":
            key = _normalize_header(column)
            rank = _ROW_NUMBER_HEADERS.index(key) + 1 if key in _ROW_NUMBER_HEADERS else 0
            if rank < id_rank:
                roles["record_id"], id_rank = column, rank  # type: ignore[assignment]
            continue
        if role is not None and role not in roles:
            roles[role] = column  # type: ignore[assignment]
    if "record_id" in roles:
        roles = {"record_id": roles.pop("record_id"), **roles}
    return RoleMapping(roles=roles, detected=tuple(roles))


def _role_of_header(header: object) -> str | None:
    key = _normalize_header(header)
    role = _ALIAS_TO_ROLE.get(key)
    if role is None:
        for prefix, prefix_role in _HEADER_PREFIXES:
            if key.startswith(prefix):
                return prefix_role
    return role


def resolve_roles(
    columns: Sequence[object], roles: Mapping[str, str | None] | None = None
) -> RoleMapping:
    """Combine explicit roles with detection.

    Args:
        columns: the input's column names.
        roles: explicit mapping role -> column. A value of ``None`` switches a detected
            role off. Explicit entries win over detection.

    Raises:
        SchemaError: an unknown role, or a column that is not in the input (with the
            closest existing column names as a hint).
    """
    explicit = dict(roles or {})
    for role, column in explicit.items():
        if role not in ROLES:
            hint = _closest(role, list(ROLES))
            raise SchemaError(f"unknown role {role!r}{hint}. Known roles: {', '.join(ROLES)}.")
        if column is not None and column not in columns:
            hint = _closest(str(column), [str(c) for c in columns])
            raise SchemaError(
                f"role {role!r} is mapped to column {column!r}, which is not in the input"
                f"{hint}. Columns present: {', '.join(map(repr, columns))}."
            )
    detected = detect_roles(columns)
    taken = {c for c in explicit.values() if c is not None}
    merged: dict[str, str] = {}
    detected_roles = []
    for role in ROLES:
        if role in explicit:
            if explicit[role] is not None:
                merged[role] = explicit[role]  # type: ignore[assignment]
        elif role in detected.roles and detected.roles[role] not in taken:
            merged[role] = detected.roles[role]
            taken.add(detected.roles[role])
            detected_roles.append(role)
    notes: list[str] = []
    unused: dict[str, str] = {}
    # A full name beside its parts: the parts win (structured beats free text that may hold
    # titles and epithets, "thomas clifford, 1st baron clifford"), unless the user chose.
    if (
        "person_name" in detected_roles
        and {"first_name", "last_name"} <= set(merged)
        and "person_name" not in explicit
    ):
        notes.append(
            f"full-name column {merged['person_name']!r} left aside: first and last name "
            f"columns ({merged['first_name']!r}, {merged['last_name']!r}) are compared instead"
        )
        unused[str(merged.pop("person_name"))] = "a full name beside first and last name columns"
        detected_roles.remove("person_name")
    return RoleMapping(
        roles=merged, detected=tuple(detected_roles), notes=tuple(notes), unused=unused
    )


def _closest(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def read_records(data: Any) -> pd.DataFrame:
    """Read the input into a pandas DataFrame; the caller's object is never changed.

    Accepts a pandas DataFrame, a pyarrow Table, a DuckDB relation, or a path to a CSV,
    Excel or Parquet file, read by :func:`linkage.files.read_table` (the encoding found,
    every column as text, so that phone numbers and ids keep their leading zeros).

    A lone surrogate in a value or header (``"\\ud800"``, left by a broken UTF-16 decode;
    no file format, pyarrow or DuckDB can hold it) is read as U+FFFD, in a copy, with a
    warning naming the column and rows; the standardizer lists such values in its problems.

    Raises:
        InputError: an unsupported type, a missing file or an unknown file extension.
    """
    return _with_valid_text(_read(data))


def _read(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        # No copy: nothing downstream writes to it (validate_records copies before it
        # adds a generated id column).
        return data
    if isinstance(data, (str, Path)):
        # Encoding, title rows, Excel sheets and every read error: linkage.files.
        return files.read_table(data)
    type_name = f"{type(data).__module__}.{type(data).__name__}"
    if type_name.startswith("pyarrow") and hasattr(data, "to_pandas"):
        return data.to_pandas()
    if type_name.startswith("duckdb") and hasattr(data, "df"):
        return data.df()
    raise InputError(
        f"cannot read input of type {type_name}: pass a pandas DataFrame, a pyarrow Table, "
        "a DuckDB relation, or a path to a CSV, Excel or Parquet file"
    )


def replace_lone_surrogates(text: str) -> str:
    """``text`` as valid Unicode: a surrogate pair split into two code points is joined
    again, a lone surrogate becomes U+FFFD (the replacement character).

    Example:
        >>> replace_lone_surrogates("张\\ud800三") == "张\\ufffd三"
        True
        >>> replace_lone_surrogates("\\ud83d\\ude00") == "\\U0001f600"  # a split pair
        True
    """
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _with_valid_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``, or a copy of it with every lone surrogate replaced (see
    :func:`read_records`): the caller's frame is never changed."""
    fixed: dict[int, pd.Series] = {}
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        # Only object columns can hold one: pandas' str dtype is pyarrow's, always valid.
        if values.dtype != object or _is_valid_text(_texts(values.to_numpy())):
            continue
        broken = values.map(lambda v: isinstance(v, str) and not _is_valid_text([v]))
        rows = list(values.index[broken.to_numpy(dtype=bool)])
        logger.warning(
            "column %r: %d value(s) hold a lone surrogate, a character no file or database "
            "can store (first at row(s) %s): read with U+FFFD in its place; fix the source",
            frame.columns[position],
            len(rows),
            rows[:5],
        )
        fixed[position] = values.mask(broken, values[broken].map(replace_lone_surrogates))
    headers = [str(c) for c in frame.columns if isinstance(c, str)]
    if not fixed and _is_valid_text(headers):
        return frame
    out = frame.copy()
    for position, values in fixed.items():
        out.isetitem(position, values)
    if not _is_valid_text(headers):
        renamed = [replace_lone_surrogates(c) if isinstance(c, str) else c for c in frame.columns]
        logger.warning(
            "column header(s) %s hold a lone surrogate: read with U+FFFD in its place",
            [new for new, old in zip(renamed, frame.columns) if new != old],
        )
        out.columns = pd.Index(renamed, dtype=object)
    return out


def _texts(values: Any) -> Any:
    """The strings among an object array's values (the array itself when all are)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return [value for value in values if isinstance(value, str)]


def _is_valid_text(texts: Any) -> bool:
    """Whether every text encodes as UTF-8 (no lone surrogate); one encode for them all."""
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_records(df: pd.DataFrame, mapping: RoleMapping) -> RoleMapping:
    """Check the records are usable and give them an id column if they have none.

    Mutates ``df`` only by adding the generated id column (callers pass their own copy).

    Raises:
        InputError: an empty frame, duplicate or missing ids, duplicate column names,
            or no column that can be matched on.
    """
    if len(df.columns) != len(set(map(str, df.columns))):
        dupes = sorted({str(c) for c in df.columns if list(map(str, df.columns)).count(str(c)) > 1})
        raise InputError(f"duplicate column names {dupes}: rename them so each column has one name")
    if len(df) == 0:
        raise InputError("the input has no rows: there is nothing to link")
    usable = [r for r in MATCHING_ROLES if r in mapping.roles]
    if not usable:
        raise SchemaError(
            "no column to match on was found. Columns present: "
            f"{', '.join(map(repr, df.columns))}. Name them as a CRM does (e.g. 'company', "
            "'name', 'mobile', 'email', '公司名称', '手机号码') or pass roles={'mobile': "
            "'<your column>', ...}."
        )
    roles = dict(mapping.roles)
    notes = list(mapping.notes)
    generated = False
    if "record_id" not in roles:
        column = _unused_name(df, "linkage_id")
        df[column] = _stable_ids(df)
        roles = {"record_id": column, **roles}
        generated = True
        notes.append(
            f"no id column found: generated {column!r} from a hash of each row's values "
            "(the same row gets the same id on every run)"
        )
    else:
        ids = df[roles["record_id"]]
        missing = ids.isna() | (ids.astype(str).str.strip() == "")
        if missing.any():
            rows = list(df.index[missing][:5])
            raise InputError(
                f"id column {roles['record_id']!r} is empty in {int(missing.sum())} row(s), "
                f"first at row(s) {rows}: fill them, or drop the column so linkage "
                "generates ids"
            )
        # Ids are read as text from here on (the working frame, the project file), so 2
        # and "2" are one id: found here, not as a pandas error deep in the run.
        text = ids.astype(str)
        repeated = ids.duplicated(keep=False) | text.duplicated(keep=False)
        if repeated.any():
            dupes = text[repeated]
            examples = dupes.unique()[:5].tolist()
            first_rows = list(dupes.index[:6])
            raise InputError(
                f"id column {roles['record_id']!r} has {dupes.nunique()} duplicated value(s), "
                f"e.g. {examples} (rows {first_rows}){_alike_as_text(ids[repeated], dupes)}: "
                "ids must be unique. Fix the ids, or pass roles={'record_id': None} to have "
                "linkage generate them"
            )
    for role in usable:
        column = roles[role]
        if df[column].isna().all():
            notes.append(f"column {column!r} ({role}) is empty in every row: it cannot help")
    return dataclasses.replace(mapping, roles=roles, generated_id=generated, notes=tuple(notes))


def _alike_as_text(ids: pd.Series, text: pd.Series) -> str:
    """``"; ids are compared as text, so 2 (int) in row 5 and '2' (str) in row 6 are one
    id"`` for the first duplicated id written with values of different types, or ``""``."""
    for _value, group in ids.groupby(text.to_numpy(), sort=False):
        if len({type(value) for value in group}) > 1:
            shown = [
                f"{repr(value) if isinstance(value, str) else value} ({type(value).__name__}) "
                f"in row {row}"
                for row, value in group.head(3).items()
            ]
            return f"; ids are compared as text, so {' and '.join(shown)} are one id"
    return ""


def _unused_name(df: pd.DataFrame, base: str) -> str:
    name, n = base, 1
    while name in df.columns:
        n += 1
        name = f"{base}_{n}"
    return name


def _stable_ids(df: pd.DataFrame) -> pd.Series:
    """Ids from a hash of each row's values; identical rows get a -2, -3 ... suffix."""
    text = df.astype(str)
    hashes = pd.util.hash_pandas_object(text, index=False).map(lambda h: f"{h:016x}")
    occurrence = hashes.groupby(hashes).cumcount()
    suffix = occurrence.map(lambda n: "" if n == 0 else f"-{n + 1}")
    return (hashes + suffix).rename(None)


# -- columns no header names -------------------------------------------------------------

# A column whose values look like one of these takes the role, when the role is free
# (a phone-like column may also be a mobile: see _role_from_values).
_ROLE_OF_KIND = {r.value_kind: r.name for r in REGISTRY if r.value_kind and r.name != "mobile"}


def profile_columns(df: pd.DataFrame, mapping: RoleMapping) -> RoleMapping:
    """Give every column no role claims a use: a role from its values (a column of phone
    numbers under ``Col3`` is a phone), a generic comparison by the kind of its values, or
    a place in ``unused`` with the reason (see :mod:`linkage.profiling`)."""
    from linkage.profiling import profile_column

    roles = dict(mapping.roles)
    notes = list(mapping.notes)
    detected = mapping.detected
    # A detected "name" column that holds organizations ("adidas ag", "华信科技有限公司")
    # names organizations, not people.
    name_column = roles.get("person_name")
    if (
        name_column is not None
        and "person_name" in mapping.detected
        and "company" not in roles
        and _looks_like_organizations(df[name_column])
    ):
        roles["company"] = roles.pop("person_name")
        detected = tuple("company" if r == "person_name" else r for r in detected)
        notes.append(
            f"column {name_column!r} holds organization names (legal forms, numbers, long "
            "names): used as company"
        )
    taken = set(roles.values())
    extras: list[ExtraColumn] = []
    unused = dict(mapping.unused)
    for column in df.columns:
        if column in taken or str(column) in unused:
            continue
        profile = profile_column(column, df[column])
        if profile.kind == "unused":
            unused[str(column)] = profile.reason
            continue
        repeats = _repeated_roles(df, column, roles) if profile.kind == "text" else []
        if repeats:
            unused[str(column)] = (
                f"repeats {' + '.join(repeats)}: comparing it again would count that evidence twice"
            )
            continue
        role = _role_from_values(profile.kind, df[column], roles)
        if role is not None:
            roles[role] = column
            notes.append(f"column {column!r} holds {profile.kind} values: used as {role}")
            continue
        extras.append(ExtraColumn(f"extra_{len(extras) + 1}", str(column), profile.kind))
    return RoleMapping(
        roles=roles,
        detected=detected,
        generated_id=mapping.generated_id,
        notes=tuple(notes),
        extras=tuple(extras),
        unused=unused,
    )


_ORGANIZATION_WORDS = re.compile(
    r"(?:公司|集团|有限|研究院|中心|学校|医院|协会|"
    r"\b(?:inc|ltd|llc|plc|gmbh|ag|sa|se|nv|bv|spa|corp|co|company|limited|holding|holdings|"
    r"group|bank|university|school|center|centre|association|foundation)\b|\d)",
    re.IGNORECASE,
)


def _looks_like_organizations(values: pd.Series) -> bool:
    """Whether a name column holds organizations rather than people: a legal form, an
    organization word or a number in at least a third of its values."""
    text = values.dropna().astype(str).head(2000)
    text = text[text.str.strip() != ""]
    if text.empty:
        return False
    cleaned = text.map(lambda v: unicodedata.normalize("NFKC", v).replace(".", ""))
    return float(cleaned.str.contains(_ORGANIZATION_WORDS).mean()) >= 1 / 3


_CN_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")


def _role_from_values(kind: str, values: pd.Series, roles: Mapping[str, str]) -> str | None:
    """The free role a column's values fit, or None (a phone column is a mobile when its
    numbers are mobile numbers and the mobile role is free)."""
    if kind != "phone":
        role = _ROLE_OF_KIND.get(kind)
        return role if role is not None and role not in roles else None
    digits = values.dropna().astype(str).str.replace(r"[^\d+]", "", regex=True).head(2000)
    mobile_like = digits.str.match(_CN_MOBILE).mean() if len(digits) else 0.0
    order = ("mobile", "phone") if mobile_like >= 0.8 else ("phone", "mobile")
    return next((r for r in order if r not in roles), None)


def _repeated_roles(df: pd.DataFrame, column: object, roles: Mapping[str, str]) -> list[str]:
    """The roles whose words make up this column's words in most rows (``first_and_surname``
    beside ``first_name`` and ``surname``), or ``[]``."""
    candidates = [r for r in roles if r not in PASS_THROUGH_ROLES and r != "record_id"]
    sample = df[[column, *(roles[r] for r in candidates)]].dropna(subset=[column]).head(2000)
    if sample.empty or not candidates:
        return []

    def words(value: object) -> set[str]:
        if value is None or (isinstance(value, float) and value != value):
            return set()
        return set(re.findall(r"\w+", unicodedata.normalize("NFKC", str(value)).lower()))

    own = [words(v) for v in sample[column]]
    used: set[str] = set()
    covered = 0
    for i, row_words in enumerate(own):
        if not row_words:
            continue
        found = set()
        for role in candidates:
            role_words = words(sample[roles[role]].iloc[i])
            if role_words and role_words <= row_words:
                found.add(role)
        union = set().union(*(words(sample[roles[r]].iloc[i]) for r in found)) if found else set()
        if found and row_words <= union:
            covered += 1
            used |= found
    if covered >= 0.8 * sum(1 for w in own if w):
        return sorted(used)
    return []


def choose_level(df: pd.DataFrame, mapping: RoleMapping, level: str | None) -> tuple[str, str]:
    """The entity level and why: ``person`` when a person's name is there and mostly
    filled, else ``organization`` (an account list, sites, customer companies).

    Raises:
        ConfigError: an unknown level.
    """
    from linkage.errors import ConfigError

    if level is not None:
        if level not in LEVELS:
            raise ConfigError(f"level must be 'person' or 'organization', not {level!r}")
        return level, "given"

    def filled(role_names: Sequence[str]) -> tuple[float, str | None]:
        shares = [
            (_filled_share(df[mapping.roles[r]]), r) for r in role_names if r in mapping.roles
        ]
        return max(shares) if shares else (0.0, None)

    name_share, name_role = filled(PERSON_NAME_ROLES)
    id_share, id_role = filled(PERSON_IDENTIFIER_ROLES)
    if name_share >= 0.5:
        return (
            "person",
            f"a person's name ({mapping.roles[name_role]!r}) is filled in {name_share:.0%} of rows",
        )
    if id_share >= 0.5:
        return (
            "person",
            f"a person's identifier ({mapping.roles[id_role]!r}, {id_role}) is filled in "
            f"{id_share:.0%} of rows",
        )
    if name_role is None:
        return "organization", "no column names a person or holds a person's identifier"
    return (
        "organization",
        f"the person's name ({mapping.roles[name_role]!r}) is filled in {name_share:.0%} of "
        "rows: the records are organizations with an occasional contact",
    )


def _filled_share(values: pd.Series) -> float:
    text = values.dropna().astype(str).str.strip()
    return float((text != "").sum()) / max(len(values), 1)
