"""Unified social credit codes (统一社会信用代码): the credit_code role.

Codes are cleaned and upper-cased, and their check digit verified in numpy over all distinct
values at once (the rule of ``stdnum.cn.uscc``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardize._text import (
    first_item,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    set_where,
    strip_regex,
)

__all__ = ["CreditCodeResult", "credit_code_batch", "standardize_credit_code"]


@dataclass(frozen=True)
class CreditCodeResult:
    """A standardized unified social credit code (统一社会信用代码)."""

    clean: str | None
    valid: bool | None
    problem: str | None


def standardize_credit_code(value: object) -> CreditCodeResult:
    """Clean one unified social credit code and verify its check digit."""
    cols = credit_code_batch(one_text_array(value))
    return CreditCodeResult(*(first_item(cols[k]) for k in ("clean", "valid", "problem")))


def credit_code_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """Credit-code columns per distinct value; the check digit is verified in numpy."""
    n = len(raw)
    text = pc.utf8_upper(nfkc_clean(raw))
    text = strip_regex(text, r"[\s\-_.]")
    given = np.asarray(text.is_valid())
    length_ok = np.asarray(pc.fill_null(pc.equal(pc.utf8_length(text), 18), False))
    # Same rule as stdnum.cn.uscc: 8 digits, then 10 characters of the code alphabet.
    chars_ok = matches(text, r"^\d{8}[0-9A-HJ-NP-RTUWXY]{10}$")
    check_ok = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(chars_ok)
    if idx.size:
        block = text.take(pa.array(idx)).cast(pa.binary())
        buf = np.frombuffer(block.buffers()[2], dtype=np.uint8)
        offsets = np.frombuffer(block.buffers()[1], dtype=np.int32)
        start = int(offsets[block.offset])  # all 18 bytes long, so values are contiguous
        matrix = buf[start : start + 18 * len(idx)].reshape(len(idx), 18)
        values = _USCC_VALUE[matrix]
        total = (values[:, :17] * _USCC_WEIGHTS).sum(axis=1)
        check_ok[idx] = values[:, 17] == (31 - total % 31) % 31
    same_char = matches(text, "^(?:" + "|".join(f"{c}+" for c in _USCC_ALPHABET) + ")$")
    problem = null_strings(n)
    problem = set_where(problem, given & ~length_ok, "wrong length")
    problem = set_where(problem, given & length_ok & ~chars_ok, "invalid characters")
    problem = set_where(problem, chars_ok & ~check_ok, "bad checksum (likely typo)")
    problem = set_where(problem, chars_ok & check_ok & same_char, "placeholder code")
    valid = chars_ok & check_ok & ~same_char
    keep = chars_ok  # malformed values have nothing worth comparing
    return {
        "clean": pc.if_else(pa.array(keep), text, null_strings(n)),
        "valid": pc.if_else(pa.array(given), pa.array(valid), pa.scalar(None, pa.bool_())),
        "problem": problem,
    }


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _ch in enumerate(_USCC_ALPHABET):
    _USCC_VALUE[ord(_ch)] = _i
