"""The frame driver: ``standardize(df, roles)`` and its problems table.

Each role's column is factorized (one text per distinct value), handed to its role module's
batch function, and the results are taken back to rows by code.  Bad values are gathered in
one problems table (``PROBLEM_COLUMNS``).  Phone numbers shared by several names are flagged
here, since that needs the phone and the name columns together.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import ConfigError, InputError, SchemaError
from linkage.schema import SIMPLE_ROLES
from linkage.standardize._text import STR_DTYPE, factorize_text
from linkage.standardize.address import ADDRESS_FIELDS, address_batch
from linkage.standardize.company import company_batch
from linkage.standardize.coordinates import COORDINATE_ROLES, coordinate_batch
from linkage.standardize.credit_code import credit_code_batch
from linkage.standardize.email_address import email_batch
from linkage.standardize.person_name import combined_name_column, person_name_batch
from linkage.standardize.phone import CountryGuess, check_region, infer_country, phone_batch
from linkage.standardize.place import place_batch, postcode_batch
from linkage.standardize.timestamps import dob_batch, timestamp_batch
from linkage.standardize.website import website_batch
from linkage.standardize.wechat import wechat_batch

__all__ = ["DERIVED_COLUMNS", "PROBLEM_COLUMNS", "ROLE_NAMES", "Standardized", "standardize"]


ROLE_NAMES: tuple[str, ...] = (
    "record_id", "company", "credit_code", "person_name", "first_name", "last_name", "mobile",
    "phone", "email", "wechat_unionid", "dob", "province", "city", "address", "postcode",
    "website", "latitude", "longitude", "source", "created_at", "updated_at", "owner",
)  # fmt: skip
"""Every role name ``standardize`` accepts as a key of ``roles``."""

# Roles another part of linkage knows but this module derives nothing for (their
# ``<role>_clean`` comes from :func:`linkage.standardize.add_simple_clean`); accepted so the
# same role mapping can be passed straight through.
_EXTRA_PASS_THROUGH_ROLES = tuple(r for r in SIMPLE_ROLES if r not in ROLE_NAMES)

_PERSON_NAME_COLUMNS = (
    "person_name_clean", "person_name_key", "person_name_keys", "person_surname",
    "person_name_is_honorific", "person_name_phonetic", "person_name_valid",
)  # fmt: skip

DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "record_id": (),
    "company": ("company_clean", "company_core", "company_tokens", "company_first_token",
                "company_legal_form", "company_region", "company_valid"),
    "credit_code": ("credit_code_clean", "credit_code_valid"),
    "person_name": _PERSON_NAME_COLUMNS,
    "first_name": _PERSON_NAME_COLUMNS,
    "last_name": _PERSON_NAME_COLUMNS,
    "mobile": ("mobile_e164", "mobile_kind", "mobile_extension", "mobile_valid",
               "mobile_tail", "mobile_shared"),
    "phone": ("phone_e164", "phone_kind", "phone_extension", "phone_valid", "phone_tail",
              "phone_shared"),
    "email": ("email_clean", "email_local", "email_domain", "email_is_free", "company_domain",
              "email_valid"),
    "wechat_unionid": ("wechat_unionid_clean",),
    "dob": ("dob_date",),
    "province": ("province_clean",),
    "city": ("city_clean",),
    "address": ("address_clean", "address_number", "address_street", "address_unit",
                "address_postcode"),
    "postcode": ("postcode_clean",),
    "website": ("website_domain",),
    "latitude": ("latitude_num",),
    "longitude": ("longitude_num",),
    "source": (),
    "created_at": ("created_at_ts",),
    "updated_at": ("updated_at_ts",),
    "owner": (),
    **{role: () for role in _EXTRA_PASS_THROUGH_ROLES},
}  # fmt: skip
"""Role -> the data columns :func:`standardize` derives for it (in the frame's order).

``<role>_problem`` columns (the reason a value is bad) are left out.  ``first_name`` and
``last_name`` derive the ``person_name_*`` columns (the two joined) when ``person_name`` is not
mapped.  The ``<role>_clean`` columns of the simple roles (``linkage.schema.SIMPLE_ROLES``) come
from :func:`linkage.standardize.add_simple_clean`, not from :func:`standardize`.
"""

PROBLEM_COLUMNS: tuple[str, ...] = ("record_id", "role", "column", "value", "reason")
"""Columns of ``Standardized.problems``."""

UNREADABLE_CHARACTER = "\ufffd"
_UNREADABLE_REASON = (
    "holds U+FFFD in place of a character that could not be read (a lone surrogate, or a "
    "broken encoding upstream); the rest of the value is read as it is: fix it at the "
    "source"
)


@dataclass(frozen=True, eq=False)
class Standardized:
    """Output of :func:`standardize`.

    ``frame``: every input column unchanged and in order, followed by the derived columns.
    ``problems``: one row per (record, role) with a bad value; columns ``PROBLEM_COLUMNS``.
    ``country``: the default country phone numbers were read in (ISO 3166 alpha-2; None when
    it was not given and no phone role was mapped).  ``country_inferred``: whether it was
    guessed from the data; ``country_guess`` then holds the guess (its share, runner-up).
    """

    frame: pd.DataFrame
    problems: pd.DataFrame
    country: str | None = None
    country_inferred: bool = False
    country_guess: CountryGuess | None = None


def standardize(
    df: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    country: str | None = None,
    default_region: str | None = None,
    shared_phone_min_names: int = 3,
) -> Standardized:
    """Add standardized columns for every role in ``roles`` and list the bad values.

    ``roles`` maps role name -> column of ``df`` (``record_id`` is required).  The input frame
    is never modified; ``frame`` holds all its columns unchanged and in order followed by the
    derived columns.  ``problems`` has one row per record and bad value (missing values are not
    problems).  Parsing runs once per distinct value, so 1M rows take seconds, not minutes.

    ``country`` (ISO 3166 alpha-2, e.g. 'CN', 'US', 'GB') is the country phone numbers
    written without a country code are read in; None infers it from the phone roles' values
    (:func:`linkage.standardize.infer_country`, CN when there is no number).  Numbers written
    with ``+CC`` or ``00CC`` keep their own country either way.  ``default_region`` is the
    older name of ``country``.
    """
    _validate_arguments(df, roles, shared_phone_min_names)
    country = _country_argument(country, default_region)
    builder = _Builder(df, roles["record_id"])

    def prepare(
        column: pd.Series, role: str, label: Hashable | None = None
    ) -> tuple[np.ndarray, pa.Array]:
        codes, raw = factorize_text(column)
        builder.add_unreadable(role, column.name if label is None else label, codes, raw)
        return codes, raw

    phone_pairs: list[tuple[str, np.ndarray]] = []
    phone_e164_u: dict[str, pa.Array] = {}
    phone_columns = {r: prepare(df[roles[r]], r) for r in ("mobile", "phone") if r in roles}
    guess = None
    if phone_columns and country is None:
        guess = infer_country(pa.concat_arrays([raw for _codes, raw in phone_columns.values()]))
        country = guess.country
    for role, (codes, raw) in phone_columns.items():
        col = roles[role]
        result = phone_batch(raw, country)
        for field in ("e164", "kind", "extension", "valid", "problem", "tail"):
            builder.add_arrow(f"{role}_{field}", result[field], codes)
        builder.columns[f"{role}_shared"] = None  # placeholder keeps the column order
        builder.add_problems(role, col, result["problem"], codes, raw)
        phone_pairs.append((role, codes))
        phone_e164_u[role] = result["e164"]

    if "email" in roles:
        col = roles["email"]
        codes, raw = prepare(df[col], "email")
        result = email_batch(raw)
        for field in ("clean", "local", "domain", "is_free"):
            builder.add_arrow(f"email_{field}", result[field], codes)
        builder.add_arrow("company_domain", result["company_domain"], codes)
        builder.add_arrow("email_valid", result["valid"], codes)
        builder.add_arrow("email_problem", result["problem"], codes)
        builder.add_problems("email", col, result["problem"], codes, raw)

    if "company" in roles:
        col = roles["company"]
        codes, raw = prepare(df[col], "company")
        result = company_batch(raw)
        builder.add_arrow("company_clean", result["clean"], codes)
        builder.add_arrow("company_core", result["core"], codes)
        builder.add_numpy("company_tokens", result["tokens"], codes, None)
        builder.add_arrow("company_first_token", result["first_token"], codes)
        for field in ("legal_form", "region", "valid", "problem"):
            builder.add_arrow(f"company_{field}", result[field], codes)
        builder.add_problems("company", col, result["problem"], codes, raw)

    if "credit_code" in roles:
        col = roles["credit_code"]
        codes, raw = prepare(df[col], "credit_code")
        result = credit_code_batch(raw)
        for field in ("clean", "valid", "problem"):
            builder.add_arrow(f"credit_code_{field}", result[field], codes)
        builder.add_problems("credit_code", col, result["problem"], codes, raw)

    name_source: tuple[pd.Series, str] | None = None
    if "person_name" in roles:
        name_source = (df[roles["person_name"]], roles["person_name"])
    elif "first_name" in roles and "last_name" in roles:
        label = f"{roles['last_name']}+{roles['first_name']}"
        name_source = (combined_name_column(df, roles["first_name"], roles["last_name"]), label)
    elif "first_name" in roles or "last_name" in roles:
        only = roles.get("first_name") or roles["last_name"]
        name_source = (df[only], only)
    name_keys_u: pa.Array | None = None
    if name_source is not None:
        codes, raw = prepare(name_source[0], "person_name", name_source[1])
        result = person_name_batch(raw)
        builder.add_arrow("person_name_clean", result["clean"], codes)
        builder.add_arrow("person_name_key", result["key"], codes)
        builder.add_numpy("person_name_keys", result["keys"], codes, None)
        builder.add_arrow("person_surname", result["surname"], codes)
        builder.add_arrow("person_name_is_honorific", result["is_honorific"], codes)
        builder.add_arrow("person_name_phonetic", result["phonetic"], codes)
        builder.add_arrow("person_name_valid", result["valid"], codes)
        builder.add_arrow("person_name_problem", result["problem"], codes)
        builder.add_problems("person_name", name_source[1], result["problem"], codes, raw)
        name_keys_u = result["key"]
        name_codes = codes

    if phone_pairs:
        if name_keys_u is None:
            for role, _codes in phone_pairs:
                builder.columns[f"{role}_shared"] = pd.Series(
                    np.zeros(len(df), dtype=bool), index=df.index, name=f"{role}_shared"
                )
        else:
            phones = [(phone_e164_u[role], codes) for role, codes in phone_pairs]
            flags = _shared_flags(phones, (name_keys_u, name_codes), shared_phone_min_names)
            for (role, _codes), role_flags in zip(phone_pairs, flags, strict=True):
                builder.columns[f"{role}_shared"] = pd.Series(
                    role_flags, index=df.index, name=f"{role}_shared"
                )

    if "wechat_unionid" in roles:
        col = roles["wechat_unionid"]
        codes, raw = prepare(df[col], "wechat_unionid")
        clean, problem = wechat_batch(raw)
        builder.add_arrow("wechat_unionid_clean", clean, codes)
        builder.add_problems("wechat_unionid", col, problem, codes, raw)

    if "dob" in roles:
        col = roles["dob"]
        codes, raw = prepare(df[col], "dob")
        dates, problem = dob_batch(raw)
        builder.add_numpy("dob_date", dates, codes, pd.NaT)
        builder.add_problems("dob", col, problem, codes, raw)

    for role in ("province", "city"):
        if role in roles:
            col = roles[role]
            codes, raw = prepare(df[col], role)
            clean, problem = place_batch(raw, role)
            builder.add_arrow(f"{role}_clean", clean, codes)
            builder.add_problems(role, col, problem, codes, raw)

    if "address" in roles:
        codes, raw = prepare(df[roles["address"]], "address")
        result = address_batch(raw)
        for field in ADDRESS_FIELDS:
            builder.add_arrow(f"address_{field}", result[field], codes)

    if "postcode" in roles:
        column = df[roles["postcode"]]
        codes, raw = prepare(column, "postcode")
        numeric = pd.api.types.is_numeric_dtype(column.dtype)
        builder.add_arrow("postcode_clean", postcode_batch(raw, numeric), codes)

    if "website" in roles:
        col = roles["website"]
        codes, raw = prepare(df[col], "website")
        result = website_batch(raw)
        builder.add_arrow("website_domain", result["domain"], codes)
        builder.add_problems("website", col, result["problem"], codes, raw)

    for role in COORDINATE_ROLES:
        if role in roles:
            col = roles[role]
            codes, raw = prepare(df[col], role)
            degrees, problem = coordinate_batch(raw, role)
            builder.add_numpy(f"{role}_num", degrees, codes, np.nan)
            builder.add_problems(role, col, problem, codes, raw)

    for role in ("created_at", "updated_at"):
        if role not in roles:
            continue
        col = roles[role]
        column = df[col]
        name = f"{role}_ts"
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            # Already typed: keep the wall-clock time, drop any time zone.
            values = column.dt.tz_localize(None) if column.dt.tz is not None else column
            builder.columns[name] = pd.Series(
                values.to_numpy(dtype="datetime64[us]"), index=df.index, name=name
            )
            continue
        codes, raw = prepare(column, role)
        stamps, problem = timestamp_batch(raw)
        builder.add_numpy(name, stamps, codes, np.datetime64("NaT"))
        builder.add_problems(role, col, problem, codes, raw)

    clashes = sorted(set(builder.columns) & {str(c) for c in df.columns})
    if clashes:
        raise SchemaError(
            f"the input already has columns named like derived columns: {clashes}; rename or "
            "drop them before standardizing (derived columns are never overwritten silently)"
        )
    derived = pd.DataFrame(builder.columns, index=df.index)
    frame = pd.concat([df, derived], axis=1) if len(derived.columns) else df.copy()
    return Standardized(
        frame=frame,
        problems=builder.problems(),
        country=country,
        country_inferred=guess is not None,
        country_guess=guess,
    )


def _country_argument(country: str | None, default_region: str | None) -> str | None:
    """The country the caller asked for (checked, upper-cased), or None to infer it."""
    if country is not None and default_region is not None:
        if check_region(country, "country") != check_region(default_region):
            raise ConfigError(
                f"country={country!r} and default_region={default_region!r} disagree; "
                "pass only country (default_region is its older name)"
            )
    if country is not None:
        return check_region(country, "country")
    if default_region is not None:
        return check_region(default_region)
    return None


def _validate_arguments(df: Any, roles: Mapping[str, str], min_names: int) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"standardize() needs a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(roles, Mapping):
        raise SchemaError("roles must be a mapping of role name -> column name")
    unknown = sorted(set(roles) - set(ROLE_NAMES) - set(_EXTRA_PASS_THROUGH_ROLES))
    if unknown:
        raise SchemaError(f"unknown role(s) {unknown}; valid roles are {list(ROLE_NAMES)}")
    if "record_id" not in roles:
        raise SchemaError("roles must map 'record_id' to the column holding the record ids")
    missing = {role: col for role, col in roles.items() if col not in df.columns}
    if missing:
        raise SchemaError(
            f"roles point at columns that are not in the frame: {missing}; "
            f"available columns: {list(df.columns)}"
        )
    if not df.columns.is_unique:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise InputError(f"duplicate column names in the input: {dupes}; rename them first")
    if isinstance(min_names, bool) or not isinstance(min_names, int) or min_names < 2:
        raise ConfigError(f"shared_phone_min_names must be an integer >= 2, got {min_names!r}")


class _Builder:
    """Collects derived columns and problem rows while roles are processed."""

    def __init__(self, df: pd.DataFrame, record_col: Hashable) -> None:
        self.index = df.index
        self.record_column = df[record_col]
        self.columns: dict[str, pd.Series | Any] = {}
        self.problem_parts: list[tuple[np.ndarray, str, str, np.ndarray, np.ndarray]] = []

    @staticmethod
    def take(values: pa.Array, codes: np.ndarray) -> pa.Array:
        return values.take(pa.array(codes, mask=codes < 0))

    def add_arrow(self, name: str, values: pa.Array, codes: np.ndarray) -> None:
        taken = self.take(values, codes)
        if pa.types.is_boolean(taken.type):
            data = np.asarray(taken.fill_null(False), dtype=bool)
            mask = np.asarray(taken.is_null(), dtype=bool)
            array: Any = pd.arrays.BooleanArray(data, mask)
        else:
            array = pd.array(taken, dtype=STR_DTYPE)
        self.columns[name] = pd.Series(array, index=self.index, name=name)

    def add_numpy(self, name: str, values: np.ndarray, codes: np.ndarray, fill: Any) -> None:
        padded = np.empty(len(values) + 1, dtype=values.dtype)
        padded[:-1] = values
        padded[-1] = fill
        self.columns[name] = pd.Series(padded[codes], index=self.index, name=name)

    def add_unreadable(
        self, role: str, column: Hashable, codes: np.ndarray, raw_u: pa.Array
    ) -> None:
        """Values holding U+FFFD (a lone surrogate read as it, or a character lost to a
        broken encoding upstream) are problems: kept, and matched on what is left."""
        unreadable = pc.fill_null(pc.match_substring(raw_u, UNREADABLE_CHARACTER), False)
        if not pc.any(unreadable).as_py():
            return
        reason = pa.scalar(_UNREADABLE_REASON, pa.string())
        problem_u = pc.if_else(unreadable, reason, pa.scalar(None, pa.string()))
        self.add_problems(role, column, problem_u, codes, raw_u)

    def add_problems(
        self, role: str, column: str, problem_u: pa.Array, codes: np.ndarray, raw_u: pa.Array
    ) -> None:
        bad = np.asarray(problem_u.is_valid())
        if not bad.any():
            return
        lookup = np.append(bad, False)
        rows = np.flatnonzero(lookup[codes])
        reasons = np.asarray(problem_u.to_pandas(), dtype=object)
        raws = np.asarray(raw_u.to_pandas(), dtype=object)
        self.problem_parts.append((rows, role, column, raws[codes[rows]], reasons[codes[rows]]))

    def problems(self) -> pd.DataFrame:
        if not self.problem_parts:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in PROBLEM_COLUMNS})
        rows = np.concatenate([p[0] for p in self.problem_parts])
        order = np.argsort(rows, kind="stable")
        frame = pd.DataFrame({
            "record_id": self.record_column.take(rows).to_numpy(),
            "role": np.concatenate([np.full(len(p[0]), p[1], dtype=object)
                                    for p in self.problem_parts]),
            "column": np.concatenate([np.full(len(p[0]), p[2], dtype=object)
                                      for p in self.problem_parts]),
            "value": np.concatenate([p[3] for p in self.problem_parts]),
            "reason": np.concatenate([p[4] for p in self.problem_parts]),
        })  # fmt: skip
        frame = frame.iloc[order].reset_index(drop=True)
        # One row per record and role: an unreadable character and the problem it caused
        # (an invalid number, say) share a row, their reasons joined.
        same = pd.DataFrame({"row": rows[order], "role": frame["role"].to_numpy()})
        again = same.duplicated().to_numpy()
        if not again.any():
            return frame
        reasons = frame["reason"].groupby([same["row"], same["role"]], sort=False).agg("; ".join)
        kept = same[~again]
        frame = frame[~again].reset_index(drop=True)
        frame["reason"] = reasons.loc[list(zip(kept["row"], kept["role"]))].to_numpy()
        return frame


def _row_ids(values_u: pa.Array, codes: np.ndarray) -> tuple[np.ndarray, int]:
    """(id per row of the distinct string behind each row, -1 for null; number of ids)."""
    encoded = pc.dictionary_encode(values_u)
    ids_u = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    ids = np.append(ids_u, -1)[codes]  # code -1 (null cell) -> the appended -1
    return ids, len(encoded.dictionary)


def _shared_flags(
    phones: list[tuple[pa.Array, np.ndarray]], names: tuple[pa.Array, np.ndarray], min_names: int
) -> list[np.ndarray]:
    """Per phone column: does its number appear with >= min_names distinct name keys?

    ``phones`` holds, per phone column, (E.164 per distinct value, row codes); ``names``
    the same for the person-name key.  Numbers are pooled across the phone columns (a
    switchboard may sit in 'mobile' for some records and 'phone' for others).
    """
    all_e164 = pa.concat_arrays([values for values, _codes in phones])
    offsets = np.cumsum([0] + [len(values) for values, _codes in phones])
    all_codes = np.concatenate(
        [np.where(codes >= 0, codes + offsets[i], -1) for i, (_v, codes) in enumerate(phones)]
    )
    phone_ids, n_phones = _row_ids(all_e164, np.where(all_codes >= 0, all_codes, len(all_e164)))
    name_ids, n_names = _row_ids(names[0], names[1])
    name_ids = np.tile(name_ids, len(phones))
    both = (phone_ids >= 0) & (name_ids >= 0)
    combo = phone_ids[both] * (n_names + 1) + name_ids[both]
    distinct_pairs = pd.unique(combo)
    counts = np.bincount(distinct_pairs // (n_names + 1), minlength=n_phones)
    shared = np.append(counts >= min_names, False)
    flags = shared[phone_ids]  # -1 -> the appended False
    n_rows = len(names[1])
    return [flags[i * n_rows : (i + 1) * n_rows] for i in range(len(phones))]
