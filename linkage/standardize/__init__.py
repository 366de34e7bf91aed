"""Standardize raw CRM fields into comparable, validated columns.

``standardize(df, roles)`` adds derived columns (E.164 phones, cleaned e-mails, company cores,
pinyin name keys, parsed timestamps, ...) next to the untouched input columns and lists every
bad value in a ``problems`` table.

Speed: every parser runs once per *distinct* value of a column (``pandas.factorize``) and the
results are taken back to rows by code.  Most of the work is vectorized in pyarrow compute
(re2 regexes); only values that miss the fast path (rare formats, bad values) go through the
pure-Python parsers (``phonenumbers``, ``email_validator``, ``pypinyin``).

The per-value functions (``standardize_phone`` ...) run the very same batch code on a
one-element array, so a single record is judged exactly as it would be inside a frame;
:func:`derive_value` and :func:`standardize_records` give the derived columns of one record
or a few, as the record store needs them.

Modules, one per role family, each with its result type, per-value function and batch
function (``<family>_batch``: one result per distinct value):

- ``phone``: mobile and phone, to E.164 with kind, extension and validity; the country
  numbers without a country code are read in (``standardize(..., country=...)``) is inferred
  from the data by :func:`infer_country` unless given.
- ``email_address``: email, cleaned and split; free-mail and company domains.
- ``company``: company, split into core name, name tokens, legal form and region.
- ``credit_code``: unified social credit codes and their check digit.
- ``person_name``: person names (or first and last name joined) to pinyin keys.
- ``place``: province, city and postcode.
- ``address``: address, cleaned and split into house number, street, unit and postcode.
- ``website``: website, reduced to its domain.
- ``coordinates``: latitude and longitude, to decimal degrees.
- ``timestamps``: created_at, updated_at and dob.
- ``wechat``: WeChat unionids.
- ``simple``: the simple roles' ``<role>_clean`` (NFKC, trimmed, lower-cased).
- ``_frame``: the frame driver :func:`standardize`, the problems table, ``DERIVED_COLUMNS``.
- ``_records``: :func:`derive_value`, :func:`standardize_records`, :func:`minimal_clean`.
- ``_text``: the pyarrow text helpers the role modules share.
"""

from __future__ import annotations

from linkage.standardize._frame import (
    DERIVED_COLUMNS,
    PROBLEM_COLUMNS,
    ROLE_NAMES,
    Standardized,
    standardize,
)
from linkage.standardize._records import (
    derive_value,
    is_missing,
    minimal_clean,
    standardize_records,
)
from linkage.standardize._text import scalar_to_text
from linkage.standardize.address import AddressResult, standardize_address
from linkage.standardize.company import CompanyResult, standardize_company
from linkage.standardize.coordinates import standardize_coordinate
from linkage.standardize.credit_code import CreditCodeResult, standardize_credit_code
from linkage.standardize.email_address import FREE_EMAIL_DOMAINS, EmailResult, standardize_email
from linkage.standardize.person_name import PersonNameResult, standardize_person_name
from linkage.standardize.phone import CountryGuess, PhoneResult, infer_country, standardize_phone
from linkage.standardize.place import standardize_place
from linkage.standardize.simple import add_simple_clean, simple_text
from linkage.standardize.timestamps import parse_timestamp
from linkage.standardize.website import WebsiteResult, standardize_website

__all__ = [
    "DERIVED_COLUMNS",
    "FREE_EMAIL_DOMAINS",
    "PROBLEM_COLUMNS",
    "ROLE_NAMES",
    "AddressResult",
    "CompanyResult",
    "CountryGuess",
    "CreditCodeResult",
    "EmailResult",
    "PersonNameResult",
    "PhoneResult",
    "Standardized",
    "WebsiteResult",
    "add_simple_clean",
    "derive_value",
    "infer_country",
    "is_missing",
    "minimal_clean",
    "parse_timestamp",
    "scalar_to_text",
    "simple_text",
    "standardize",
    "standardize_address",
    "standardize_company",
    "standardize_coordinate",
    "standardize_credit_code",
    "standardize_email",
    "standardize_person_name",
    "standardize_phone",
    "standardize_place",
    "standardize_records",
    "standardize_website",
]
