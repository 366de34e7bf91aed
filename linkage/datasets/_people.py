"""People: the contacts at each account, who they are and how their names romanise.

Chinese names from realistic surname frequencies (very common full names such as 张伟 or 王芳
are reused across companies on purpose), a gender, and the toneless pinyin of surname and
given name that email addresses and pinyin name variants are built from.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linkage.datasets._hanzi import pinyin_table
from linkage.datasets._sampling import choice, objects

__all__ = ["NAME_CHARS", "People", "make_people"]


# Surname frequencies (per cent of population, rounded) incl. compound 欧阳 and heteronyms 曾, 单.
_SURNAMES: tuple[tuple[str, float], ...] = tuple(
    (s, float(w))
    for s, w in (
        row.split(":")
        for row in (
            "王:7.1 李:7.0 张:6.9 刘:5.4 陈:4.6 杨:3.1 黄:2.5 赵:2.3 吴:2.0 周:2.0 徐:1.7 孙:1.5 "
            "马:1.5 朱:1.3 胡:1.3 郭:1.2 何:1.2 高:1.1 林:1.1 罗:1.0 郑:1.0 梁:0.9 谢:0.8 宋:0.8 "
            "唐:0.8 许:0.7 韩:0.7 冯:0.7 邓:0.7 曹:0.6 彭:0.6 曾:0.6 肖:0.6 田:0.5 董:0.5 袁:0.5 "
            "潘:0.5 于:0.5 蒋:0.5 蔡:0.5 余:0.5 杜:0.4 叶:0.4 程:0.4 苏:0.4 魏:0.4 吕:0.4 丁:0.4 "
            "任:0.4 沈:0.4 姚:0.3 卢:0.3 姜:0.3 崔:0.3 钟:0.3 谭:0.3 陆:0.3 汪:0.3 范:0.3 金:0.3 "
            "石:0.3 廖:0.3 贾:0.3 夏:0.3 韦:0.3 欧阳:0.08 单:0.08"
        ).split()
    )
)
# Surnames whose reading differs from pypinyin's default single-character reading.
_SURNAME_PINYIN_OVERRIDES = {"曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu"}

_GIVEN_MALE = "伟强磊军洋勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊峰建国志文博亮成龙海晨"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲婷雪慧红梅琳颖倩洁燕萍佳欣怡璐晶琪蕾薇悦丹"

# Very common full names, shared by many unrelated people at different companies on purpose.
_COMMON_NAMES: tuple[tuple[str, str, bool], ...] = (
    ("张", "伟", True),
    ("王", "伟", True),
    ("王", "芳", False),
    ("李", "娜", False),
    ("刘", "洋", True),
    ("李", "静", False),
    ("张", "敏", False),
    ("王", "静", False),
    ("李", "强", True),
    ("张", "丽", False),
    ("王", "磊", True),
    ("刘", "伟", True),
)

# Every character a person's name can hold: the pinyin and traditional-script pools.
NAME_CHARS: str = "".join(s for s, _ in _SURNAMES) + _GIVEN_MALE + _GIVEN_FEMALE


class People(NamedTuple):
    account: np.ndarray  # int: account index
    surname: np.ndarray  # object: 张 / 欧阳
    given: np.ndarray  # object: 伟 / 秀英
    male: np.ndarray  # bool
    sur_py: np.ndarray  # object: zhang
    given_py: np.ndarray  # object: xiuying


def make_people(rng: np.random.Generator, account: np.ndarray) -> People:
    """Draw every person's name and gender, given each person's account index."""
    n = account.shape[0]
    surnames = [s for s, _ in _SURNAMES]
    sur_idx = choice(rng, [w for _, w in _SURNAMES], n)
    surname = np.array(surnames, dtype=object)[sur_idx]
    male = rng.random(n) < 0.5
    two_chars = rng.random(n) < 0.72
    male_chars, female_chars = np.array(list(_GIVEN_MALE)), np.array(list(_GIVEN_FEMALE))
    first = np.where(
        male,
        male_chars[rng.integers(0, male_chars.size, n)],
        female_chars[rng.integers(0, female_chars.size, n)],
    )
    # Second characters mostly follow the gender, sometimes not (建华, 秀英 cross over in life).
    second_male = np.where(rng.random(n) < 0.85, male, ~male)
    second_char = np.where(
        second_male,
        male_chars[rng.integers(0, male_chars.size, n)],
        female_chars[rng.integers(0, female_chars.size, n)],
    )
    second = np.where(two_chars, second_char, "")
    given = objects([a + b for a, b in zip(first.tolist(), second.tolist(), strict=True)])
    common = np.flatnonzero(rng.random(n) < 0.06)
    if common.size:
        pick = rng.integers(0, len(_COMMON_NAMES), common.size)
        surname[common] = [_COMMON_NAMES[i][0] for i in pick.tolist()]
        given[common] = [_COMMON_NAMES[i][1] for i in pick.tolist()]
        male[common] = [_COMMON_NAMES[i][2] for i in pick.tolist()]

    py = pinyin_table(NAME_CHARS)
    sur_py_of = {s: _surname_pinyin(s) for s in surnames}
    sur_py = objects([sur_py_of[s] for s in surname.tolist()])
    given_py = objects(["".join(py[ch] for ch in g) for g in given.tolist()])

    return People(
        account=account,
        surname=surname,
        given=given,
        male=male,
        sur_py=sur_py,
        given_py=given_py,
    )


def _surname_pinyin(surname: str) -> str:
    """Pinyin of a surname using the surname reading (曾 -> zeng, not ceng)."""
    if surname in _SURNAME_PINYIN_OVERRIDES:
        return _SURNAME_PINYIN_OVERRIDES[surname]
    table = pinyin_table(NAME_CHARS)
    return "".join(table[ch] for ch in surname)
