"""Simple roles: ``<role>_clean`` for roles without a dedicated standardizer.

The roles of ``linkage.schema.SIMPLE_ROLES`` (first and last name, national id, gender, job
title) are cleaned with a light touch only: NFKC-normalized, whitespace collapsed and
lower-cased.  This is also the text the record store keeps for them.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pandas as pd

from linkage.schema import SIMPLE_ROLES

__all__ = ["add_simple_clean", "simple_text"]


def simple_text(value: object) -> str | None:
    """One value NFKC-normalized, whitespace collapsed and lower-cased; None when empty.

    None and float NaN are missing; an integral float loses its '.0' (a spreadsheet made it
    a float).  Any other value is taken by ``str()``.

    >>> simple_text("  ＭＡＬＥ  ")
    'male'
    >>> simple_text(110101.0)
    '110101'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(unicodedata.normalize("NFKC", str(value)).lower().split())
    return text or None


def add_simple_clean(derived: pd.DataFrame, role_set: set[str]) -> pd.DataFrame:
    """``derived`` with ``<role>_clean`` (:func:`simple_text`) for each simple role.

    Args:
        derived: a frame holding one column per role, named by the role (the working frame
            of ``link``, after :func:`linkage.standardize.standardize`).
        role_set: the roles present; only the simple ones among them are cleaned, and a
            ``<role>_clean`` column already present is left alone.

    Returns:
        A new frame (``derived`` itself is not modified); :func:`simple_text` runs once per
        distinct value.
    """
    derived = derived.copy(deep=False)
    for role in SIMPLE_ROLES:
        if role in role_set and f"{role}_clean" not in derived.columns:
            values = derived[role]
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            cleaned = np.array([simple_text(u) for u in uniques] + [None], dtype=object)
            derived[f"{role}_clean"] = cleaned[codes]
    return derived
