"""WeChat: the wechat_unionid role (a unionid is 20-40 letters, digits, '_' or '-')."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardize._text import matches, nfkc_clean, null_strings, set_where

__all__ = ["wechat_batch"]

# Patterns shared by the batch code here and the one-value path (``_one.py``).
#: The shape of a WeChat UnionID.
UNIONID_PATTERN = r"^[A-Za-z0-9_\-]{20,40}$"


def wechat_batch(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(clean unionid or null, problem) per distinct value."""
    text = pc.utf8_trim_whitespace(nfkc_clean(raw))
    ok = matches(text, UNIONID_PATTERN)
    given = np.asarray(text.is_valid())
    problem = set_where(null_strings(len(raw)), given & ~ok, "not a WeChat unionid")
    return pc.if_else(pa.array(ok), text, null_strings(len(raw))), problem
