"""Records: the derived columns of a few records, as ``link`` and the record store need them.

:func:`standardize_records` gives the standardized columns of records exactly as ``link``
derives them: a single record takes :func:`derive_value` (the batch code on one value,
cached per distinct value, which is what a form check needs), a batch takes
:func:`linkage.standardize.standardize`.  :func:`minimal_clean` gives the same columns with
only trimming and lower-casing, for ``link(..., standardize=False)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.schema import SIMPLE_ROLES
from linkage.standardize._frame import standardize
from linkage.standardize._one import derive_one
from linkage.standardize._text import scalar_to_text
from linkage.standardize.address import ADDRESS_FIELDS, address_batch
from linkage.standardize.company import company_batch
from linkage.standardize.coordinates import COORDINATE_ROLES, coordinate_batch
from linkage.standardize.credit_code import credit_code_batch
from linkage.standardize.email_address import email_batch
from linkage.standardize.person_name import person_name_batch
from linkage.standardize.phone import check_region, phone_batch
from linkage.standardize.place import place_batch
from linkage.standardize.simple import simple_text
from linkage.standardize.timestamps import timestamp_batch
from linkage.standardize.website import website_batch
from linkage.standardize.wechat import wechat_batch

__all__ = ["derive_value", "is_missing", "minimal_clean", "standardize_records"]


def standardize_records(
    work: pd.DataFrame, roles: Sequence[str], *, country: str = "CN"
) -> pd.DataFrame:
    """Standardized columns of records (one column per role in ``work``), exactly as
    ``link`` derives them. One record takes the per-value path, cached per distinct value
    (a form check); a batch takes the batch path.

    Args:
        work: one column per role, named by the role (no record id needed).
        roles: the roles to standardize; those not in ``work`` are skipped.
        country: the country phone numbers without a country code are read in: pass the
            one the records' run used (``Standardized.country``).  Never inferred here: a
            few records are too few to guess from, and a record must not be read differently
            depending on the batch it arrives in.

    Returns:
        The derived columns only (no ``<role>_problem`` columns, no input columns), indexed
        0..n-1.  Simple roles get their ``<role>_clean`` (:func:`simple_text`).
    """
    country = check_region(country, "country")
    roles = [r for r in roles if r in work.columns]
    combined_name = "person_name" not in roles and ("first_name" in roles or "last_name" in roles)
    if len(work) == 1 and not combined_name and not set(roles) & {"dob", "postcode"}:
        derived: dict[str, Any] = {}
        for role in roles:
            for column, value in derive_value(role, scalar_to_text(work[role].iloc[0]), country):
                derived[column] = [value]
        return pd.DataFrame(derived)
    frame = work[roles].copy()
    frame.insert(0, "_row", np.arange(len(frame)).astype(str))
    # Simple roles get their <role>_clean below.
    batch_roles = [r for r in roles if r not in SIMPLE_ROLES]
    mapping = {"record_id": "_row", **{r: r for r in batch_roles}}
    standardized = standardize(frame, mapping, country=country).frame
    out = standardized.drop(columns=["_row", *roles])
    out = out[[c for c in out.columns if not c.endswith("_problem")]]
    for role in SIMPLE_ROLES:
        if role in roles:
            out[f"{role}_clean"] = [simple_text(v) for v in work[role]]
    return out.reset_index(drop=True)


@functools.lru_cache(maxsize=200_000)
def derive_value(role: str, text: str | None, country: str = "CN") -> tuple[tuple[str, Any], ...]:
    """The standardized columns one value derives (the batch code on one element).

    Args:
        role: the role of the value; a role without derived columns gives ``()``. The
            ``dob`` and ``postcode`` roles and a name split in first and last name are not
            handled here (:func:`standardize_records` sends them to the batch path).
        text: the value as :func:`scalar_to_text` gives it (None when missing).
        country: the country a phone number without a country code is read in (ISO 3166
            alpha-2, as ``Standardized.country`` reports it); other roles ignore it.

    Returns:
        ``(column, value)`` pairs, no ``<role>_problem``; missing values are None.  A phone's
        ``<role>_shared`` is False (one value shares nothing).
        Results are cached per ``(role, text, country)``.

    Raises:
        ConfigError: ``country`` is not a country ``phonenumbers`` knows (phone roles only).

    >>> dict(derive_value("mobile", "+86 138 0013 8000"))["mobile_e164"]
    '+8613800138000'
    """
    if role in ("mobile", "phone"):
        country = check_region(country, "country")
    fast = derive_one(role, text, country)
    return fast if fast is not None else derive_batch(role, text, country)


def derive_batch(role: str, text: str | None, country: str = "CN") -> tuple[tuple[str, Any], ...]:
    """:func:`derive_value` by the batch code on a one-element array, always (uncached): the
    reference the fast path of :mod:`linkage.standardize._one` is held equal to."""
    raw = pa.array([text], type=pa.string())

    def first(column: Any) -> Any:
        value = column[0] if isinstance(column, np.ndarray) else column[0].as_py()
        return None if is_missing(value) else value

    if role in ("mobile", "phone"):
        cols = phone_batch(raw, check_region(country, "country"))
        fields = ("e164", "kind", "extension", "valid", "tail")
        out = [(f"{role}_{f}", first(cols[f])) for f in fields]
        return (*out, (f"{role}_shared", False))
    if role == "email":
        cols = email_batch(raw)
        fields = ("clean", "local", "domain", "is_free")
        out = [(f"email_{f}", first(cols[f])) for f in fields]
        out += [("company_domain", first(cols["company_domain"]))]
        return (*out, ("email_valid", first(cols["valid"])))
    if role == "company":
        cols = company_batch(raw)
        fields = ("clean", "core", "tokens", "first_token", "legal_form", "region", "valid")
        return tuple((f"company_{f}", first(cols[f])) for f in fields)
    if role == "credit_code":
        cols = credit_code_batch(raw)
        return tuple((f"credit_code_{f}", first(cols[f])) for f in ("clean", "valid"))
    if role == "person_name":
        cols = person_name_batch(raw)
        keys = cols["keys"][0]
        return (
            ("person_name_clean", first(cols["clean"])),
            ("person_name_key", first(cols["key"])),
            ("person_name_keys", None if keys is None else list(keys)),
            ("person_surname", first(cols["surname"])),
            ("person_name_is_honorific", first(cols["is_honorific"])),
            ("person_name_phonetic", first(cols["phonetic"])),
            ("person_name_valid", first(cols["valid"])),
        )
    if role == "wechat_unionid":
        clean, _problem = wechat_batch(raw)
        return (("wechat_unionid_clean", first(clean)),)
    if role in ("province", "city"):
        clean, _problem = place_batch(raw, role)
        return ((f"{role}_clean", first(clean)),)
    if role == "address":
        cols = address_batch(raw)
        return tuple((f"address_{f}", first(cols[f])) for f in ADDRESS_FIELDS)
    if role == "website":
        return (("website_domain", first(website_batch(raw)["domain"])),)
    if role in COORDINATE_ROLES:
        degrees, _problem = coordinate_batch(raw, role)
        value = None if np.isnan(degrees[0]) else float(degrees[0])
        return ((f"{role}_num", value),)
    if role in ("created_at", "updated_at"):
        stamps, _problem = timestamp_batch(raw)
        value = None if np.isnat(stamps[0]) else pd.Timestamp(stamps[0]).to_pydatetime()
        return ((f"{role}_ts", value),)
    if role in SIMPLE_ROLES:
        return ((f"{role}_clean", simple_text(text)),)
    return ()


def is_missing(value: Any) -> bool:
    """Whether one cell is missing (None, NaN, NaT, ``pd.NA``); lists and arrays never are.

    >>> is_missing(float("nan")), is_missing(["wei zhang"]), is_missing("")
    (True, False, False)
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def minimal_clean(work: pd.DataFrame, roles: Iterable[str]) -> pd.DataFrame:
    """The derived columns with only trimming and lower-casing (``link(standardize=False)``).

    Args:
        work: one column per role, named by the role.
        roles: the roles to derive columns for (a role mapping works: its keys are used).

    Returns:
        A copy of ``work`` with, per role, the columns ``link`` reads (a subset of
        ``DERIVED_COLUMNS``), each value trimmed and lower-cased, '' made missing; phones
        are not parsed, names not romanized.  ``work`` is not modified.
    """
    out = work.copy()

    def text(role: str) -> pd.Series:
        s = work[role].astype("string").str.strip().str.lower()
        return s.mask(s == "")

    for role in roles:
        if role in ("mobile", "phone"):
            out[f"{role}_e164"] = text(role)
            out[f"{role}_tail"] = out[f"{role}_e164"].str[-7:]
            out[f"{role}_shared"] = False
            out[f"{role}_extension"] = None
        elif role == "email":
            out["email_clean"] = text(role)
            out["email_local"] = out["email_clean"].str.split("@").str[0]
            out["email_domain"] = out["email_clean"].str.split("@").str[-1]
            out["company_domain"] = out["email_domain"]
        elif role == "company":
            out["company_clean"] = out["company_core"] = text(role)
            out["company_first_token"] = out["company_core"].str.split().str[0]
            out["company_region"] = None
        elif role == "person_name":
            out["person_name_clean"] = out["person_name_key"] = text(role)
            out["person_name_keys"] = out["person_name_key"].map(
                lambda v: [v] if isinstance(v, str) else None
            )
            out["person_surname"] = out["person_name_key"].str[:1]
            out["person_name_is_honorific"] = False
        elif role in ("credit_code", "wechat_unionid", "address", "postcode"):
            out[f"{role}_clean"] = text(role)
        elif role in ("province", "city"):
            out[f"{role}_clean"] = text(role)
        elif role == "website":
            out["website_domain"] = text(role)
        elif role == "dob":
            out["dob_date"] = pd.to_datetime(work[role], errors="coerce").dt.date
    return out
