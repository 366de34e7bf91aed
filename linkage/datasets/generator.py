"""Seeded synthetic Chinese CRM exports with ground truth: sales leads (people) and account
lists (companies), as messy as the real thing.

The generative story
--------------------
1. **Accounts** (customer companies). Each account gets a company core name such as ``华信科技``
   (an invented brand of two or three characters plus an industry word), a registration city,
   a legal suffix (``有限公司`` / ``有限责任公司`` / ``股份有限公司`` / ``集团有限公司``), a valid
   unified social credit code (GB 32100-2015 check digit), an email domain derived from the pinyin
   of the brand (``huaxin-tech.com``), a switchboard landline with a real area code, a street
   address in that city and an owning sales rep. A few popular cores (``华信科技``) are reused by
   *different* accounts in different cities, so a company name alone does not identify an account.
2. **People** (contacts at an account). Accounts have 1-8 people (skewed: most have 1-2). Each
   person gets a Chinese name drawn from realistic surname frequencies (very common full names
   like 张伟 or 王芳 are reused across companies on purpose), a gender, a mobile, an optional direct
   line and extension, a work and/or free-mail address and a WeChat UnionID.
3. **Records** (lead rows). Each person arrives 1-6 times (skewed: about 40 % of rows belong to
   someone with more than one row). Every row re-renders the person's and the account's
   values with the variation real CRMs hold: phone formats (``+86 138-0013-8000``, full-width
   digits, Excel floats), digit typos, placeholder values (``13800000000``, ``test@test.com``),
   company-name variants (region prefix vs bracket, suffix changes, traditional characters, an
   English name, typos), name variants (pinyin orderings, traditional characters, ``张先生``,
   homophone typos), mixed timestamp formats, and missing values everywhere.

Colleagues share the company name, switchboard, email domain, province, city and address, so a
model that leans on those fields chains a whole company into one cluster. The same person's rows
agree on mobile, name, email and WeChat most of the time, so a good model can separate them.

Truth columns
-------------
``true_person_id``
    Integer id of the real person behind the row. Rows with the same value are duplicates; this is
    the level the linkage models are scored on.
``true_account_id``
    Integer id of the company the person works for. Every person belongs to exactly one account;
    rows of different people at one account are colleagues, *not* duplicates.

Everything is driven by one ``numpy.random.Generator`` seeded with ``seed``, so the same
``(n_records, seed)`` always returns the identical frame. The heavy lifting is vectorised with
numpy; per-row Python string work only happens on the rows that a given variant applies to.

Organization mode
-----------------
:func:`generate_accounts` writes an account list instead: one row per company record, 1-8 rows
per account (2.3 on average, 45 % of accounts once) from channels such as manual entry, lead
conversion, ERP sync and registry look-ups, with the same name, credit-code, address and
landline noise. Its truth is ``true_account_id`` (duplicates) and ``true_group_id`` (the head
office's account id). Its hard negatives are look-alikes that are *different* accounts:
branches (``北京华信科技有限公司上海分公司``) and subsidiaries (``上海华信科技有限公司``) of a head
office in another city, sharing its brand and website; unrelated companies with one popular
brand in different cities; and unrelated companies in one building sharing an address or a
switchboard (:mod:`._groups`). It draws from its own stream of ``seed``, so it never shifts
the leads' draws.

Where each part lives
---------------------
This module assembles the frame: the record -> person -> account structure, lead source and
owner, and the column order. Accounts are drawn in :mod:`._companies`, people's names in
:mod:`._people`, their phones, emails and WeChat ids in :mod:`._contacts`, and every row's
rendering with its noise in :mod:`._variants`; :mod:`._hanzi` holds the pinyin and
traditional-character tables and :mod:`._sampling` the drawing primitives they share.
Every part draws from the one generator it is handed, so the order of the calls in
:func:`generate_leads` is part of the output: reordering them changes every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from linkage.datasets._companies import SALES_REPS, make_accounts
from linkage.datasets._contacts import make_contacts
from linkage.datasets._groups import BRANCH, make_groups
from linkage.datasets._people import make_people
from linkage.datasets._sampling import choice, draw_group_sizes
from linkage.datasets._variants import (
    render_branch_company,
    render_company,
    render_credit_code,
    render_email,
    render_industry,
    render_mailbox,
    render_mobile,
    render_name,
    render_phone,
    render_region_and_address,
    render_switchboard,
    render_timestamps,
    render_website,
)
from linkage.errors import ConfigError

__all__ = [
    "ACCOUNT_COLUMNS",
    "COLUMNS",
    "SAMPLE_PATH",
    "generate_accounts",
    "generate_leads",
    "load_sample",
]

SAMPLE_PATH: Path = Path(__file__).with_name("sample_leads.csv")

COLUMNS: tuple[str, ...] = (
    "lead_id",
    "company",
    "credit_code",
    "name",
    "mobile",
    "phone",
    "email",
    "wechat_unionid",
    "province",
    "city",
    "address",
    "source",
    "created_at",
    "updated_at",
    "owner",
    "true_person_id",
    "true_account_id",
)
TRUTH_COLUMNS: tuple[str, ...] = ("true_person_id", "true_account_id")

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "account_id",
    "company",
    "credit_code",
    "address",
    "city",
    "province",
    "phone",
    "website",
    "email",
    "industry",
    "owner",
    "source",
    "created_at",
    "true_account_id",
    "true_group_id",
)
ACCOUNT_TRUTH_COLUMNS: tuple[str, ...] = ("true_account_id", "true_group_id")

_SOURCES: tuple[str, ...] = (
    "web_form",
    "trade_show",
    "webinar",
    "wechat",
    "ad_baidu",
    "livestream",
    "import",
    "referral",
    "cold_call",
    "partner",
    "400_hotline",
)
_SOURCE_P = (0.22, 0.12, 0.09, 0.12, 0.10, 0.06, 0.10, 0.06, 0.05, 0.04, 0.04)

# Records per person (1..6) and people per account (1..8): skewed so most are small. With these
# weights about 40 % of rows belong to someone with more than one row.
_RECORDS_PER_PERSON_P = (0.80, 0.12, 0.045, 0.02, 0.01, 0.005)
_PEOPLE_PER_ACCOUNT_P = (0.30, 0.25, 0.14, 0.10, 0.08, 0.06, 0.04, 0.03)

# Organization mode: where account rows come from, and how often each channel carries the
# credit code (registry look-ups and ERP syncs nearly always, a business card rarely).
_ACCOUNT_SOURCES: tuple[str, ...] = (
    "manual",
    "lead_conversion",
    "import",
    "erp_sync",
    "qichacha",
    "trade_show",
    "web_form",
    "partner",
)
_ACCOUNT_SOURCE_P = (0.25, 0.22, 0.14, 0.12, 0.07, 0.08, 0.07, 0.05)
_CREDIT_CODE_P = (0.60, 0.45, 0.70, 0.97, 0.99, 0.30, 0.25, 0.60)
# Records per account (1..8): 45 % of accounts are singletons, 2.3 records per account on average.
_RECORDS_PER_ACCOUNT_P = (0.45, 0.22, 0.13, 0.08, 0.05, 0.035, 0.02, 0.015)
# The account list draws from its own stream of the seed, so it shares no draws with the leads.
_ACCOUNT_STREAM = 1


def _empty_frame(columns: tuple[str, ...], truth: tuple[str, ...]) -> pd.DataFrame:
    """A zero-row frame with the documented columns and dtypes."""
    data: dict[str, object] = {c: pd.Series([], dtype=object) for c in columns}
    for c in truth:
        data[c] = pd.Series([], dtype="int64")
    return pd.DataFrame(data, columns=list(columns))


def _record_count(n_records: object) -> int:
    """``n_records`` as an int, or a ConfigError that says what is wrong with it."""
    if isinstance(n_records, bool) or not isinstance(n_records, (int, np.integer)):
        raise ConfigError(f"n_records must be an integer, got {n_records!r}")
    if n_records < 0:
        raise ConfigError(f"n_records must be >= 0, got {n_records}")
    return int(n_records)


def generate_leads(n_records: int = 3000, *, seed: int = 0) -> pd.DataFrame:
    """Generate ``n_records`` synthetic Chinese B2B sales leads with ground truth.

    Args:
        n_records: number of rows to return (>= 0).
        seed: seed for ``numpy.random.default_rng``; the same ``(n_records, seed)`` gives an
            identical frame.

    Returns:
        A DataFrame with the columns in :data:`COLUMNS`: string columns (missing values as
        None/NaN) and the integer truth columns ``true_person_id`` and ``true_account_id``.
        Rows are ordered by creation time with ascending ``lead_id``, so row order does not
        reveal who is who.

    Raises:
        ConfigError: ``n_records`` is not a non-negative integer.
    """
    n = _record_count(n_records)
    if n == 0:
        return _empty_frame(COLUMNS, TRUTH_COLUMNS)
    rng = np.random.default_rng(seed)

    # Structure: records -> people -> accounts, all as index arrays.
    records_per_person = draw_group_sizes(rng, _RECORDS_PER_PERSON_P, n)
    n_people = records_per_person.size
    people_per_account = draw_group_sizes(rng, _PEOPLE_PER_ACCOUNT_P, n_people)
    n_accounts = people_per_account.size
    account_of_person = np.repeat(np.arange(n_accounts), people_per_account)
    person = np.repeat(np.arange(n_people), records_per_person)
    account = account_of_person[person]

    accounts = make_accounts(rng, n_accounts)
    people = make_people(rng, account_of_person)
    contacts = make_contacts(rng, people, accounts.domain[account_of_person])

    source_i = choice(rng, _SOURCE_P, n)
    source = np.array(_SOURCES, dtype=object)[source_i]
    # UnionIDs come from WeChat logins, so they sit mostly on wechat / livestream leads.
    via_wechat = np.isin(source, ["wechat", "livestream"])
    has_unionid = rng.random(n) < np.where(via_wechat, 0.85, 0.12)
    unionid = np.where(has_unionid, contacts.unionid[person], None)

    owner_code = choice(rng, (0.90, 0.06, 0.04), n)  # account owner / reassigned rep / missing
    reps = np.array(SALES_REPS, dtype=object)
    owner = np.where(
        owner_code == 0, reps[accounts.owner[account]], reps[rng.integers(0, reps.size, n)]
    )
    owner[owner_code == 2] = None

    province, city, address = render_region_and_address(rng, n, accounts, account)
    created_at, updated_at, created_s = render_timestamps(rng, n)
    columns: dict[str, np.ndarray] = {
        "company": render_company(rng, n, accounts, account),
        "credit_code": render_credit_code(rng, n, accounts, account),
        "name": render_name(rng, n, people, person),
        "mobile": render_mobile(rng, n, contacts, person),
        "phone": render_phone(rng, n, accounts, contacts, person, account),
        "email": render_email(rng, n, accounts, contacts, person, account),
        "wechat_unionid": unionid,
        "province": province,
        "city": city,
        "address": address,
        "source": source,
        "created_at": created_at,
        "updated_at": updated_at,
        "owner": owner,
        "true_person_id": person.astype(np.int64),
        "true_account_id": account.astype(np.int64),
    }

    # Shuffle first (so ties are broken randomly), then order by creation time as a CRM would.
    shuffled = rng.permutation(n)
    order = shuffled[np.argsort(created_s[shuffled], kind="stable")]
    width = max(7, len(str(n)))
    data: dict[str, object] = {
        "lead_id": [f"L{i:0{width}d}" for i in range(1, n + 1)],
    }
    for name in COLUMNS[1:]:
        data[name] = columns[name][order]
    return pd.DataFrame(data, columns=list(COLUMNS))


def generate_accounts(n_records: int = 3000, *, seed: int = 0) -> pd.DataFrame:
    """Generate ``n_records`` rows of a synthetic Chinese CRM account list with ground truth.

    Organization mode: every row is a company, and a true account arrives 1-8 times (2.3 on
    average, 45 % of accounts once) from different channels, with the lead generator's noise in
    its name, credit code, address and switchboard. Among the accounts are look-alikes that are
    *not* duplicates: branches (``北京华信科技有限公司上海分公司``) and subsidiaries
    (``上海华信科技有限公司``) of a head office in another city, unrelated companies with one
    popular brand in different cities, and unrelated companies in one building that share an
    address or a switchboard.

    Args:
        n_records: number of rows to return (>= 0).
        seed: the same ``(n_records, seed)`` gives an identical frame. The account list draws
            from its own stream of ``seed``, independent of :func:`generate_leads`.

    Returns:
        A DataFrame with the columns in :data:`ACCOUNT_COLUMNS`: string columns (missing values
        as None) and the integer truth columns ``true_account_id`` (rows with one value are
        duplicates) and ``true_group_id`` (the head office's account id: branches and
        subsidiaries share it with their head office; every other account is its own group).
        Rows are ordered by creation time with ascending ``account_id``.

    Raises:
        ConfigError: ``n_records`` is not a non-negative integer.

    Example:
        >>> accounts = generate_accounts(500, seed=1)
        >>> bool(accounts.groupby("true_group_id")["true_account_id"].nunique().max() > 1)
        True
    """
    n = _record_count(n_records)
    if n == 0:
        return _empty_frame(ACCOUNT_COLUMNS, ACCOUNT_TRUTH_COLUMNS)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_ACCOUNT_STREAM,)))

    records_per_account = draw_group_sizes(rng, _RECORDS_PER_ACCOUNT_P, n)
    n_accounts = records_per_account.size
    account = np.repeat(np.arange(n_accounts), records_per_account)
    accounts, groups = make_groups(rng, make_accounts(rng, n_accounts))

    source_i = choice(rng, _ACCOUNT_SOURCE_P, n)
    owner_code = choice(rng, (0.88, 0.07, 0.05), n)  # account owner / reassigned rep / missing
    reps = np.array(SALES_REPS, dtype=object)
    owner = np.where(
        owner_code == 0, reps[accounts.owner[account]], reps[rng.integers(0, reps.size, n)]
    )
    owner[owner_code == 2] = None

    company = render_company(rng, n, accounts, account)
    branch_rows = np.flatnonzero(groups.role[account] == BRANCH)
    company[branch_rows] = render_branch_company(
        rng, branch_rows.size, accounts, account[branch_rows], groups.head[account[branch_rows]]
    )
    credit_code = render_credit_code(
        rng, n, accounts, account, present=np.array(_CREDIT_CODE_P)[source_i]
    )
    province, city, address = render_region_and_address(rng, n, accounts, account)
    created_at, _, created_s = render_timestamps(rng, n)
    columns: dict[str, np.ndarray] = {
        "company": company,
        "credit_code": credit_code,
        "address": address,
        "city": city,
        "province": province,
        "phone": render_switchboard(rng, n, accounts, account),
        "website": render_website(rng, n, accounts, account),
        "email": render_mailbox(rng, n, accounts, account),
        "industry": render_industry(rng, n, accounts, account),
        "owner": owner,
        "source": np.array(_ACCOUNT_SOURCES, dtype=object)[source_i],
        "created_at": created_at,
        "true_account_id": account.astype(np.int64),
        "true_group_id": groups.head[account].astype(np.int64),
    }

    shuffled = rng.permutation(n)
    order = shuffled[np.argsort(created_s[shuffled], kind="stable")]
    width = max(7, len(str(n)))
    data: dict[str, object] = {"account_id": [f"A{i:0{width}d}" for i in range(1, n + 1)]}
    for name in ACCOUNT_COLUMNS[1:]:
        data[name] = columns[name][order]
    return pd.DataFrame(data, columns=list(ACCOUNT_COLUMNS))


def load_sample() -> pd.DataFrame:
    """Read the shipped 3,000-row sample (``generate_leads(3000, seed=42)``).

    Every data column is read as text so phones keep their leading zeros and Excel-style
    ``.0`` suffixes; empty cells become missing values. Only empty cells count as missing: the
    pandas default NA tokens (``NA``, ``None``, ``null`` ...) could be legitimate CRM text.
    The truth columns are read as integers, as :func:`generate_leads` returns them.
    """
    dtypes: dict[str, str] = {c: "str" for c in COLUMNS}
    dtypes.update({c: "int64" for c in TRUTH_COLUMNS})
    return pd.read_csv(
        SAMPLE_PATH, dtype=dtypes, keep_default_na=False, na_values=[""], encoding="utf-8"
    )


def _write_sample(path: Path = SAMPLE_PATH) -> None:
    """Regenerate the shipped sample after changing the generator::

    python -c "from linkage.datasets.generator import _write_sample; _write_sample()"
    """
    generate_leads(3000, seed=42).to_csv(path, index=False, encoding="utf-8")
