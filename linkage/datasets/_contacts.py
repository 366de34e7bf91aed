"""Contacts: how each person can be reached (mobiles, direct line, emails, WeChat UnionID).

True values only, one set per person: mobiles unique per person and never a placeholder,
an optional second mobile, direct line and extension, a work address at the company's domain
and/or a free-mail address, and a 28-character WeChat UnionID. How rows write them (formats,
typos, placeholders) is :mod:`linkage.datasets._variants`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linkage.datasets._people import People
from linkage.datasets._sampling import choice, objects, unique_random_ints

__all__ = ["PLACEHOLDER_MOBILES", "Contacts", "make_contacts"]

_MOBILE_PREFIXES = np.array(
    [
        *range(130, 140),
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        173,
        175,
        176,
        177,
        178,
        *range(180, 190),
        191,
        193,
        195,
        196,
        197,
        198,
        199,
    ],
    dtype=np.int64,
)
# Numbers typed to get past a form: never a real person's mobile, only ever noise in a row.
PLACEHOLDER_MOBILES = ("13800000000", "12345678901", "11111111111")

_UNIONID_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", dtype=np.uint8
)


class Contacts(NamedTuple):
    mobile: np.ndarray  # object: 13800138000
    mobile2: np.ndarray  # object or None: a second number the person sometimes gives
    direct: np.ndarray  # int64 direct-line local number, 0 = none
    extension: np.ndarray  # object or None: 801
    work_email: np.ndarray  # object or None
    free_email: np.ndarray  # object or None
    unionid: np.ndarray  # object: 28-char WeChat UnionID


def make_contacts(rng: np.random.Generator, people: People, domain: np.ndarray) -> Contacts:
    """Draw every person's contact values, given the people and each one's company domain."""
    n = domain.shape[0]
    sur_py, given_py = people.sur_py, people.given_py

    # Mobiles are unique per person; placeholders are kept out so they only appear as mess.
    def draw_mobile(k: int) -> np.ndarray:
        prefix = _MOBILE_PREFIXES[rng.integers(0, _MOBILE_PREFIXES.size, k)]
        return prefix * 100_000_000 + rng.integers(0, 100_000_000, k)

    placeholders = {int(m) for m in PLACEHOLDER_MOBILES}
    numbers = unique_random_ints(rng, draw_mobile, 2 * n, placeholders)
    mobile = numbers[:n].astype(str).astype(object)
    mobile2 = numbers[n:].astype(str).astype(object)
    mobile2[rng.random(n) >= 0.06] = None  # only ~6 % of people have a second phone

    direct = np.where(
        rng.random(n) < 0.25, rng.integers(2, 9, n) * 10_000_000 + rng.integers(0, 10**7, n), 0
    )
    ext_len = rng.integers(3, 5, n)
    ext_num = rng.integers(100, 10_000, n)
    extension = objects(
        [
            str(e)[:k] if has else None
            for e, k, has in zip(
                ext_num.tolist(), ext_len.tolist(), (rng.random(n) < 0.35).tolist(), strict=True
            )
        ]
    )

    work_email, free_email = _emails(rng, domain, sur_py, given_py, mobile)

    # WeChat UnionID: "o" + 27 characters of [A-Za-z0-9_-], built as bytes in one go.
    raw = _UNIONID_ALPHABET[rng.integers(0, _UNIONID_ALPHABET.size, (n, 28))]
    raw[:, 0] = ord("o")
    unionid = np.ascontiguousarray(raw).view("S28").ravel().astype(str).astype(object)

    return Contacts(
        mobile=mobile,
        mobile2=mobile2,
        direct=direct,
        extension=extension,
        work_email=work_email,
        free_email=free_email,
        unionid=unionid,
    )


def _emails(
    rng: np.random.Generator,
    domain: np.ndarray,
    sur_py: np.ndarray,
    given_py: np.ndarray,
    mobile: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per person a work address at the company domain and/or a free-mail address."""
    n = domain.shape[0]
    mode = choice(rng, (0.50, 0.25, 0.25), n)  # work only / free only / both
    style = choice(rng, (0.35, 0.20, 0.10, 0.10, 0.10, 0.05, 0.10), n).tolist()
    suffix_no = rng.integers(1, 100, n).tolist()
    work = []
    for s, g, d, st, no, m in zip(
        sur_py.tolist(),
        given_py.tolist(),
        domain.tolist(),
        style,
        suffix_no,
        mode.tolist(),
        strict=True,
    ):
        if m == 1:
            work.append(None)
            continue
        local = (
            f"{s}{g}",
            f"{g}.{s}",
            f"{s}.{g[0]}",
            f"{s}{g}{no:02d}",
            f"{g[0]}{s}",
            f"{s}_{g}",
            f"{g}{s}",
        )[st]
        work.append(f"{local}@{d}")
    provider = choice(rng, (0.40, 0.20, 0.10, 0.08, 0.07, 0.05, 0.10), n).tolist()
    qq = rng.integers(10_000, 3_000_000_000, n).tolist()
    year = rng.integers(70, 100, n).tolist()
    free = []
    for s, g, mob, m, p, q, y in zip(
        sur_py.tolist(),
        given_py.tolist(),
        mobile.tolist(),
        mode.tolist(),
        provider,
        qq,
        year,
        strict=True,
    ):
        if m == 0:
            free.append(None)
            continue
        free.append(
            (
                f"{q}@qq.com",
                f"{s}{g}{y}@163.com",
                f"{g}{s}@126.com",
                f"{s}{g}@sina.com",
                f"{g}.{s}{y}@gmail.com",
                f"{s}{g}@foxmail.com",
                f"{mob}@139.com",
            )[p]
        )
    return objects(work), objects(free)
