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

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from linkage.errors import InputError, SchemaError

#: Every role ``linkage`` understands, with what it means.
ROLES: dict[str, str] = {
    "record_id": "unique id of the input record",
    "company": "company / account name",
    "credit_code": "unified social credit code (统一社会信用代码)",
    "person_name": "full person name, Chinese or latin",
    "first_name": "given name",
    "last_name": "family name",
    "mobile": "mobile phone",
    "phone": "landline / switchboard phone",
    "email": "email address",
    "wechat_unionid": "WeChat UnionID",
    "national_id": "personal id number (身份证号, social security number)",
    "dob": "date of birth",
    "gender": "gender",
    "job_title": "job title / position / occupation",
    "province": "province or state",
    "city": "city",
    "address": "street address",
    "postcode": "postcode",
    "source": "source channel (web form, trade show, ...)",
    "created_at": "record creation timestamp",
    "updated_at": "record last-update timestamp",
    "owner": "sales rep / owner of the record",
}

#: Roles carried through untouched: they play no part in matching.
PASS_THROUGH_ROLES: tuple[str, ...] = ("record_id", "source", "owner")

#: Roles without a dedicated standardizer: their ``<role>_clean`` column is the value
#: NFKC-normalized, trimmed and lower-cased (``linkage.standardize.simple_text``).
SIMPLE_ROLES: tuple[str, ...] = ("first_name", "last_name", "national_id", "gender", "job_title")

# Normalized header -> role. Headers are normalized by _normalize_header (NFKC, lower case,
# spaces, underscores, dashes and dots removed), so "Mobile Phone", "mobile_phone" and
# "MOBILE-PHONE" are one key.
_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": (
        "id",
        "recordid",
        "leadid",
        "customerid",
        "contactid",
        "accountid",
        "uniqueid",
        "recid",
        "线索id",
        "线索编号",
        "客户id",
        "客户编号",
        "联系人id",
        "记录id",
        "编号",
        "序号",
    ),
    "company": (
        "company",
        "companyname",
        "account",
        "accountname",
        "organization",
        "organisation",
        "org",
        "employer",
        "公司",
        "公司名称",
        "企业名称",
        "企业",
        "客户名称",
        "单位",
        "单位名称",
        "工作单位",
        "所属公司",
        "客户公司",
    ),
    "credit_code": (
        "creditcode",
        "uscc",
        "unifiedsocialcreditcode",
        "socialcreditcode",
        "taxid",
        "统一社会信用代码",
        "信用代码",
        "社会信用代码",
        "税号",
        "纳税人识别号",
    ),
    "person_name": (
        "name",
        "fullname",
        "contactname",
        "personname",
        "leadname",
        "customername",
        "姓名",
        "联系人",
        "联系人姓名",
        "客户姓名",
        "名字",
    ),
    "first_name": ("firstname", "givenname", "forename", "名"),
    "last_name": ("lastname", "surname", "familyname", "姓"),
    "mobile": (
        "mobile",
        "mobilephone",
        "mobileno",
        "mobilenumber",
        "cell",
        "cellphone",
        "手机",
        "手机号",
        "手机号码",
        "移动电话",
    ),
    "phone": (
        "phone",
        "telephone",
        "tel",
        "landline",
        "officephone",
        "workphone",
        "phonenumber",
        "businessphone",
        "电话",
        "座机",
        "固定电话",
        "办公电话",
        "公司电话",
        "联系电话",
        "总机",
    ),
    "email": ("email", "emailaddress", "mail", "邮箱", "电子邮箱", "邮件", "电子邮件", "邮箱地址"),
    "wechat_unionid": ("unionid", "wechatunionid", "wxunionid", "微信unionid"),
    "national_id": (
        "nationalid",
        "idnumber",
        "idcard",
        "idcardnumber",
        "ssn",
        "socsecid",
        "身份证",
        "身份证号",
        "身份证号码",
        "证件号码",
    ),
    "dob": ("dob", "dateofbirth", "birthdate", "birthday", "出生日期", "生日"),
    "gender": ("gender", "sex", "性别"),
    "job_title": ("title", "jobtitle", "position", "occupation", "role", "职位", "职务", "岗位"),
    "province": ("province", "state", "region", "省", "省份", "所在省份"),
    "city": ("city", "town", "城市", "市", "所在城市"),
    "address": ("address", "streetaddress", "address1", "地址", "详细地址", "公司地址", "通讯地址"),
    "postcode": ("postcode", "zipcode", "zip", "postalcode", "邮编", "邮政编码"),
    "source": (
        "source",
        "channel",
        "leadsource",
        "sourcechannel",
        "来源",
        "渠道",
        "来源渠道",
        "线索来源",
    ),
    "created_at": (
        "createdat",
        "created",
        "createtime",
        "createddate",
        "creationdate",
        "createdon",
        "创建时间",
        "创建日期",
        "录入时间",
    ),
    "updated_at": (
        "updatedat",
        "updated",
        "updatetime",
        "modifiedat",
        "lastmodified",
        "lastmodifieddate",
        "modifiedon",
        "更新时间",
        "修改时间",
        "最后修改时间",
    ),
    "owner": (
        "owner",
        "salesrep",
        "accountowner",
        "leadowner",
        "负责人",
        "销售",
        "所属销售",
        "跟进人",
    ),
}

_ALIAS_TO_ROLE: dict[str, str] = {
    alias: role for role, aliases in _HEADER_ALIASES.items() for alias in aliases
}

#: Roles that identify a person or a company; at least one must be present to match on.
MATCHING_ROLES = (
    "company",
    "credit_code",
    "person_name",
    "first_name",
    "last_name",
    "mobile",
    "phone",
    "email",
    "wechat_unionid",
    "national_id",
    "dob",
    "address",
)


def _normalize_header(header: object) -> str:
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return re.sub(r"[\s_\-.·/]+", "", text)


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

    def describe(self) -> str:
        """A one-line-per-role summary for logs and the CLI."""
        lines = []
        for role, column in self.roles.items():
            how = "detected" if role in self.detected else "given"
            lines.append(f"  {role:<15} <- {column!r} ({how})")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def detect_roles(columns: Sequence[object]) -> RoleMapping:
    """Detect roles from column headers (English or Chinese, case- and space-insensitive).

    The first column whose header matches a role wins; later matches of the same role are
    left as ordinary carried-through columns.
    """
    roles: dict[str, str] = {}
    for column in columns:
        role = _ALIAS_TO_ROLE.get(_normalize_header(column))
        if role is not None and role not in roles:
            roles[role] = column  # type: ignore[assignment]
    return RoleMapping(roles=roles, detected=tuple(roles))


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
    return RoleMapping(roles=merged, detected=tuple(detected_roles))


def _closest(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def read_records(data: Any) -> pd.DataFrame:
    """Read the input into a pandas DataFrame; the caller's object is never changed.

    Accepts a pandas DataFrame, a pyarrow Table, a DuckDB relation, or a path to a CSV or
    Parquet file. CSV files are read with every column as text, so that phone numbers and
    ids keep their leading zeros.

    Raises:
        InputError: an unsupported type, a missing file or an unknown file extension.
    """
    if isinstance(data, pd.DataFrame):
        # No copy: nothing downstream writes to it (validate_records copies before it
        # adds a generated id column).
        return data
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise InputError(f"input file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix in {".csv", ".txt", ".tsv"}:
            sep = "\t" if suffix == ".tsv" else ","
            return pd.read_csv(path, dtype=str, sep=sep, encoding="utf-8-sig")
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if suffix == ".xlsx":
            # Every cell as text: a phone number must not become 13800138000.0.
            return pd.read_excel(path, dtype=str, engine="openpyxl")
        if suffix == ".xls":
            raise InputError(
                f"cannot read {str(path)!r}: the old .xls format is not supported; save it "
                "as .xlsx or .csv"
            )
        raise InputError(
            f"cannot read {str(path)!r}: expected a .csv, .tsv, .parquet or .xlsx file"
        )
    type_name = f"{type(data).__module__}.{type(data).__name__}"
    if type_name.startswith("pyarrow") and hasattr(data, "to_pandas"):
        return data.to_pandas()
    if type_name.startswith("duckdb") and hasattr(data, "df"):
        return data.df()
    raise InputError(
        f"cannot read input of type {type_name}: pass a pandas DataFrame, a pyarrow Table, "
        "a DuckDB relation, or a path to a CSV or Parquet file"
    )


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
        dupes = ids[ids.duplicated(keep=False)]
        if len(dupes):
            examples = dupes.astype(str).unique()[:5].tolist()
            first_rows = list(dupes.index[:6])
            raise InputError(
                f"id column {roles['record_id']!r} has {dupes.nunique()} duplicated value(s), "
                f"e.g. {examples} (rows {first_rows}): ids must be unique. Fix the ids, or pass "
                "roles={'record_id': None} to have linkage generate them"
            )
    for role in usable:
        column = roles[role]
        if df[column].isna().all():
            notes.append(f"column {column!r} ({role}) is empty in every row: it cannot help")
    return RoleMapping(
        roles=roles, detected=mapping.detected, generated_id=generated, notes=tuple(notes)
    )


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
