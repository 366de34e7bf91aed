"""Person names: the person_name role (or first_name and last_name joined).

A name becomes an order-free pinyin key ('张伟', 'Zhang Wei', 'wei zhang' -> 'wei zhang'),
with the other readings of heteronyms as extra keys, a surname guess, a phonetic code and
the honorific removed ('张总', 'Mr. Li').  Plain 2-4 character Chinese names and plain
romanized names take fast paths; :func:`person_name_one` runs once per distinct name.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import Style, pinyin

from linkage.standardize._text import (
    HAN_CHAR_RE,
    HAN_RE2,
    STR_DTYPE,
    first_item,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    scalar_to_text,
    to_simplified,
)

__all__ = [
    "PersonNameResult",
    "combined_name_column",
    "person_name_batch",
    "person_name_one",
    "standardize_person_name",
]


@dataclass(frozen=True)
class PersonNameResult:
    """A standardized person name; fields match the ``person_*`` derived columns."""

    clean: str | None
    key: str | None
    keys: tuple[str, ...] | None
    surname: str | None
    is_honorific: bool | None
    phonetic: str | None
    valid: bool | None
    problem: str | None


def standardize_person_name(value: object) -> PersonNameResult:
    """Clean one person name and compute its order-free pinyin key(s)."""
    cols = person_name_batch(one_text_array(value))
    keys = first_item(cols["keys"])
    return PersonNameResult(
        clean=first_item(cols["clean"]),
        key=first_item(cols["key"]),
        keys=None if keys is None else tuple(keys),
        surname=first_item(cols["surname"]),
        is_honorific=first_item(cols["is_honorific"]),
        phonetic=first_item(cols["phonetic"]),
        valid=first_item(cols["valid"]),
        problem=first_item(cols["problem"]),
    )


def person_name_batch(raw: pa.Array) -> dict[str, Any]:
    """Person-name columns per distinct value (Python per distinct name, cached pinyin)."""
    n = len(raw)
    text = pc.utf8_lower(to_simplified(nfkc_clean(raw)))
    if matches(text, " ").any():
        for _ in range(2):  # "马 晶" -> "马晶": spaces between Han characters are typing noise
            text = pc.replace_substring_regex(text, rf"([{HAN_RE2}]) ([{HAN_RE2}])", r"\1\2")
    values = text.to_pylist()
    results = [(None,) * 7 + (None,) if v is None else person_name_one(v) for v in values]
    cols = list(zip(*results, strict=True)) if results else [()] * 8
    keys = np.empty(n, dtype=object)
    keys[:] = list(cols[2]) if n else []
    return {
        "clean": pa.array(cols[0], type=pa.string()),
        "key": pa.array(cols[1], type=pa.string()),
        "keys": keys,
        "surname": pa.array(cols[3], type=pa.string()),
        "is_honorific": pa.array(cols[4], type=pa.bool_()),
        "phonetic": pa.array(cols[5], type=pa.string()),
        "valid": pa.array(
            [None if v is None else r for v, r in zip(values, cols[6], strict=True)],
            type=pa.bool_(),
        ),
        "problem": pa.array(cols[7], type=pa.string()),
    }


def person_name_one(text: str) -> tuple[Any, ...]:
    """(clean, key, keys, surname, is_honorific, phonetic, valid, problem) for one text.

    ``text`` is already NFKC-normalized, simplified, lower-cased and whitespace-collapsed.
    """
    if (
        _HAN_NAME_RE.fullmatch(text)
        and text[-1] not in _HONORIFIC_LAST_CHARS
        and text[0] not in "老小阿"
        and text not in _NAME_PLACEHOLDERS
    ):
        return _han_name_keys(text)
    if (
        _LATIN_NAME_RE.fullmatch(text)
        and text not in _NAME_PLACEHOLDERS
        and text.split(" ", 1)[0] not in _EN_HONORIFIC_WORDS
        and not re.search(r"\b(?:co|ltd|inc|limited|test|xxx)\b", text)
    ):
        return _latin_name_keys(text)
    name = text.strip(" .,;:-_·'\"()")
    # "张 伟" -> "张伟": spaces between Han characters are typing noise.
    name = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", name)
    invalid = (None, None, None, None, None, None, False)
    if name in _NAME_PLACEHOLDERS or re.fullmatch(r"[\d\s+\-*#.]+|x+|\?+", name or "x"):
        return (*invalid, "placeholder name")
    if "公司" in name or re.search(r"\b(?:co|ltd|inc|limited)\b", name):
        return (*invalid, "company name in person field")
    name, honorific = _strip_honorific(name)
    if not name or name in _NAME_PLACEHOLDERS:
        return (*invalid, "placeholder name")
    readings: list[tuple[str, ...]] = []
    han = [c for c in name if HAN_CHAR_RE.match(c)]
    if han:
        compound = "".join(han[:2]) in _COMPOUND_SURNAMES
    for pos, token in enumerate(re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\d_]+", name)):
        if HAN_CHAR_RE.match(token):
            options = _han_readings(token)
            if pos == 0 and token in _SURNAME_READING:
                first = _SURNAME_READING[token]
                options = (first, *(r for r in options if r != first))
            readings.append(options[:3])
        else:
            readings.extend((syllable,) for syllable in _split_pinyin(token))
    if not readings:
        return (*invalid, "no letters")
    key = " ".join(sorted(r[0] for r in readings))
    keys = [key]
    for combo in itertools.islice(itertools.product(*readings), 64):
        candidate = " ".join(sorted(combo))
        if candidate not in keys:
            keys.append(candidate)
            if len(keys) == 8:
                break
    if han:
        surname = "".join(r[0] for r in readings[: 2 if compound else 1])
    else:
        tokens = re.findall(r"[^\W\d_]+", name)
        candidates = [tokens[0], _split_pinyin(tokens[0])[0], tokens[-1]] if tokens else []
        if candidates and candidates[0] in _COMPOUND_SURNAME_PINYIN:
            candidates = candidates[:1]
        pinyin_only = all(
            syllable in _PINYIN_SYLLABLES for t in tokens for syllable in _split_pinyin(t)
        )
        # A romanized Chinese name is all pinyin; "Anna Smith" gets no surname guess.
        ranked = [c for c in candidates if c in _SURNAME_RANK] if pinyin_only else []
        surname = min(ranked, key=_SURNAME_RANK.__getitem__) if ranked else None
    phonetic = jellyfish.metaphone(key) or None
    return name, key, keys, surname, honorific, phonetic, True, None


def combined_name_column(df: pd.DataFrame, first_col: str, last_col: str) -> pd.Series:
    """'last first' for Chinese names ('张' + '伟'), 'first last' for romanized ones."""
    first = pa.array(
        df[first_col].map(scalar_to_text, na_action="ignore").astype(object),
        type=pa.string(),
        from_pandas=True,
    )
    last = pa.array(
        df[last_col].map(scalar_to_text, na_action="ignore").astype(object),
        type=pa.string(),
        from_pandas=True,
    )
    first = pc.utf8_trim_whitespace(first)
    last = pc.utf8_trim_whitespace(last)
    han = pc.or_(
        pc.fill_null(pc.match_substring_regex(first, f"[{HAN_RE2}]"), False),
        pc.fill_null(pc.match_substring_regex(last, f"[{HAN_RE2}]"), False),
    )
    # Nulls become "" before joining: pyarrow 26's null_handling="skip" drops rows
    # (returns a shorter array) when both sides of a row are null.
    first, last = pc.fill_null(first, ""), pc.fill_null(last, "")
    chinese = pc.binary_join_element_wise(last, first, "")
    latin = pc.binary_join_element_wise(first, last, " ")
    combined = pc.utf8_trim_whitespace(pc.if_else(han, chinese, latin))
    combined = pc.if_else(pc.equal(combined, ""), null_strings(len(combined)), combined)
    return pd.Series(pd.array(combined, dtype=STR_DTYPE), index=df.index)


_PINYIN_SYLLABLES = frozenset(
    """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang
cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan
chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei deng di dia dian
diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu
ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang
hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin
jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang
kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou
lu luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou
mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo
nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian
qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua
ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi
shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang
tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu
xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo
yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei
zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun
zuo
""".split()
)

# Common Chinese surnames in pinyin, most frequent first (used to guess the surname of a
# romanized name: the more common surname wins, so "Wei Zhang" -> zhang).
_SURNAME_PINYIN = tuple(
    """
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang
xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du ye cheng su
wei lv ding ren shen yao lu cui zhong tan fan jin shi liao jia xia fu fang bai zou meng xiong
qin qiu yin xue yan duan lei hou long tao gu mao hao gong shao wan qian dai mo kong xiang chang
kang niu hong qi wen zhuang yi ni geng guan ou bao tu an yue ke zhan lai mu lan ge ning
ouyang situ shangguan zhuge sima huangfu murong linghu gongsun dongfang xiahou zhangsun yuwen
""".split()
)
_SURNAME_RANK = {s: i for i, s in enumerate(_SURNAME_PINYIN)}
_COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "慕容", "皇甫", "令狐", "尉迟", "公孙", "东方", "夏侯", "长孙",
    "宇文", "司徒", "端木", "澹台", "万俟", "西门", "南宫", "独孤", "轩辕", "呼延", "闻人", "申屠",
})  # fmt: skip
_COMPOUND_SURNAME_PINYIN = frozenset(_SURNAME_PINYIN[_SURNAME_PINYIN.index("ouyang") :])
# Surname readings that differ from the character's most common reading.
_SURNAME_READING = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao", "查": "zha",
    "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "种": "chong", "缪": "miao", "秘": "bi",
    "尉": "yu", "召": "shao", "员": "yun", "长": "chang", "沈": "shen", "重": "chong",
    "折": "she", "牟": "mu", "能": "nai", "葛": "ge", "宿": "su", "纪": "ji", "柏": "bai",
    "薄": "bo", "藏": "zang", "石": "shi", "华": "hua", "任": "ren", "祭": "zhai", "句": "gou",
    "繁": "po", "万": "wan", "传": "chuan", "都": "du", "适": "kuo", "朝": "chao",
}  # fmt: skip
_COMMON_HAN_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪"
)
_CN_HONORIFICS = (
    "总经理", "董事长", "先生", "女士", "小姐", "老师", "经理", "总监", "总裁", "主任",
    "教授", "博士", "医生", "律师", "师傅", "阿姨", "老板", "主管", "同学",
)  # fmt: skip
_CN_SHORT_HONORIFICS = ("总", "工", "姐", "哥", "叔", "姨", "董", "生")  # only after a bare surname
_EN_HONORIFIC_RE = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle)\.?\s+")
_NAME_PLACEHOLDERS = frozenset({
    "test", "测试", "无", "客户", "先生", "女士", "小姐", "xxx", "未知", "unknown", "匿名",
    "某某", "test test", "none", "null", "na", "n/a", "老板", "经理", "联系人", "客户经理", "不详",
})  # fmt: skip
_LATIN_VARIANTS = {"lyu": "lv", "lü": "lv", "nyu": "nv", "nü": "nv", "lue": "lve"}


@lru_cache(maxsize=65536)
def _han_readings(char: str) -> tuple[str, ...]:
    """Tone-less pinyin readings of one Han character, most common first."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    out = tuple(dict.fromkeys(r.lower().replace("ü", "v") for r in readings if r.isascii()))
    return out or (char,)


@lru_cache(maxsize=65536)
def _split_pinyin(token: str) -> tuple[str, ...]:
    """Split run-together pinyin ('zhangwei' -> zhang, wei); other tokens unchanged."""
    token = _LATIN_VARIANTS.get(token, token)
    if token in _PINYIN_SYLLABLES or len(token) > 24 or not token.isascii():
        return (token,)
    n = len(token)
    # best[i] = cheapest split of token[i:]: fewest syllables, then fewest syllables after the
    # first that start with a vowel (pinyin would need an apostrophe there: "na na", not
    # "nan a"), then the longer first syllable.
    best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[n] = (0, 0, ())
    for i in range(n - 1, -1, -1):
        for j in range(min(n, i + 6), i, -1):
            piece = token[i:j]
            tail = best[j]
            if piece not in _PINYIN_SYLLABLES or tail is None:
                continue
            vowel_starts = tail[1] + (1 if tail[2] and tail[2][0][0] in "aeo" else 0)
            candidate = (tail[0] + 1, vowel_starts, (piece, *tail[2]))
            current = best[i]
            if current is None or candidate[:2] < current[:2]:
                best[i] = candidate
    found = best[0]
    if found is None or found[0] > 4:
        return (token,)
    return found[2]


def _strip_honorific(name: str) -> tuple[str, bool]:
    """(name without honorific, whether one was removed)."""
    m = _EN_HONORIFIC_RE.match(name)
    if m and len(name) > m.end():
        return name[m.end() :].strip(), True
    for title in _CN_HONORIFICS:
        if name.endswith(title) and 1 <= len(name) - len(title) <= 3:
            return name[: -len(title)].strip(), True
    if len(name) == 2 and name[1] in _CN_SHORT_HONORIFICS and HAN_CHAR_RE.match(name[0]):
        return name[0], True  # 张总, 李工
    if len(name) == 2 and name[0] in "老小阿" and name[1] in _COMMON_HAN_SURNAMES:
        return name[1], True  # 老王, 小李
    return name, False


_HAN_NAME_RE = re.compile(r"[\u4e00-\u9fff]{2,4}")
_HONORIFIC_LAST_CHARS = frozenset(t[-1] for t in _CN_HONORIFICS) | frozenset(_CN_SHORT_HONORIFICS)


def _han_name_keys(name: str) -> tuple[Any, ...]:
    """Fast path of ``person_name_one`` for a plain 2-4 character Chinese name."""
    readings = [_han_readings(c) for c in name]
    head = name[0]
    if head in _SURNAME_READING:
        first = _SURNAME_READING[head]
        readings[0] = (first, *(r for r in readings[0] if r != first))
    readings = [r[:3] for r in readings]
    key = " ".join(sorted(r[0] for r in readings))
    keys = [key]
    if any(len(r) > 1 for r in readings):
        for combo in itertools.islice(itertools.product(*readings), 64):
            candidate = " ".join(sorted(combo))
            if candidate not in keys:
                keys.append(candidate)
                if len(keys) == 8:
                    break
    compound = name[:2] in _COMPOUND_SURNAMES
    surname = readings[0][0] + readings[1][0] if compound else readings[0][0]
    return name, key, keys, surname, False, jellyfish.metaphone(key) or None, True, None


_LATIN_NAME_RE = re.compile(r"[a-z]{2,}(?: [a-z]{2,}){0,2}")
_EN_HONORIFIC_WORDS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam",
                                 "mme", "mlle"})  # fmt: skip


def _latin_name_keys(name: str) -> tuple[Any, ...]:
    """Fast path of ``person_name_one`` for 'zhang wei' / 'zhangwei' / 'john smith'."""
    tokens = name.split(" ")
    syllables = [s for t in tokens for s in _split_pinyin(t)]
    key = " ".join(sorted(syllables))
    surname = None
    if all(s in _PINYIN_SYLLABLES for s in syllables):
        candidates = [tokens[0], _split_pinyin(tokens[0])[0], tokens[-1]]
        if tokens[0] in _COMPOUND_SURNAME_PINYIN:
            candidates = candidates[:1]
        ranked = [c for c in candidates if c in _SURNAME_RANK]
        surname = min(ranked, key=_SURNAME_RANK.__getitem__) if ranked else None
    return name, key, [key], surname, False, jellyfish.metaphone(key) or None, True, None
