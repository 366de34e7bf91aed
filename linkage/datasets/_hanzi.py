"""Per-character tables for Chinese text: toneless pinyin and simplified -> traditional.

The generator builds every string from small character pools, so it converts each pool once,
character by character, and then uses dict lookups and ``str.translate``: orders of magnitude
faster than calling pypinyin or OpenCC on a million strings. Each table is keyed by the pool
string it was built for; a character's entry does not depend on the rest of its pool.
"""

from __future__ import annotations

import functools

__all__ = ["pinyin_table", "traditional_table"]


@functools.cache
def pinyin_table(chars: str) -> dict[str, str]:
    """Toneless pinyin (pypinyin Style.NORMAL) of every character in ``chars``."""
    from pypinyin import Style, lazy_pinyin

    # One character per call: pypinyin's phrase matching must not glue unrelated neighbours.
    return {ch: lazy_pinyin(ch, style=Style.NORMAL)[0] for ch in sorted(set(chars))}


@functools.cache
def traditional_table(chars: str) -> dict[int, str]:
    """Simplified -> traditional ``str.translate`` table for every character in ``chars``.

    Characters that OpenCC leaves alone, or turns into more than one character, are left out.
    """
    import opencc

    converter = opencc.OpenCC("s2t")
    table: dict[int, str] = {}
    for ch in sorted(set(chars)):
        converted = converter.convert(ch)
        if converted != ch and len(converted) == 1:
            table[ord(ch)] = converted
    return table
