"""Record-level rendering: each row re-writes its person's and account's true values.

One function per output column (or group of columns). Each draws, per row, which variant the
row gets (formats, digit typos, placeholders, traditional characters, homophone slips, English
company names, mixed timestamp formats, missing values) and renders every row once, by the
variant it drew (:func:`_compose`), so per-row Python work stays minimal.

The lead columns come first; the account list's own columns (branch names, switchboards,
websites, general mailboxes, industries) follow at the end and reuse the same variants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from linkage.datasets._companies import (
    BRAND_B,
    CITIES,
    CORE_CHARS,
    INDUSTRIES,
    LEGAL_SUFFIXES,
    USCC_ALPHABET,
    Accounts,
)
from linkage.datasets._contacts import PLACEHOLDER_MOBILES, Contacts
from linkage.datasets._hanzi import pinyin_table, traditional_table
from linkage.datasets._people import NAME_CHARS, People
from linkage.datasets._sampling import choice, objects

__all__ = [
    "render_branch_company",
    "render_company",
    "render_credit_code",
    "render_email",
    "render_industry",
    "render_mailbox",
    "render_mobile",
    "render_name",
    "render_phone",
    "render_region_and_address",
    "render_switchboard",
    "render_timestamps",
    "render_website",
]

_PLACEHOLDER_EMAILS = ("test@test.com", "none@none.com", "无", "123@qq.com", "na@na.com")

_FULLWIDTH = str.maketrans("0123456789-+() ", "０１２３４５６７８９－＋（）\u3000")
_NO_LEADING_ZERO = {f"{i:02d}": str(i) for i in range(100)}

_EPOCH_2022 = int(np.datetime64("2022-01-01T00:00:00", "s").astype(np.int64))
_EPOCH_2026 = int(np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64))

# Extra characters used only to find same-pinyin replacements (IME homophone typos).
_HOMOPHONE_EXTRAS = (
    "玮炜维薇方纺纳敬婧靖镜闵珉莉力立利墙蔷垒阳扬章彰黎柳沉舟州洲伍武午照兆霖贺鹤旭影亭捷洁君钧"
    "桦铭鸣萍徽艳雁侠韬彬潮峻骏朋菲非雨语羽昊豪凝宏鸿玫媚铃欣新馨锋丰建剑靓京精茜晓孝笑"
    "话画化心芯星兴科可克嗨害胜圣升达大答图涂途桥侨乔"
)
# Characters a homophone typo can start from or land on.
_HOMOPHONE_POOL = CORE_CHARS + NAME_CHARS + _HOMOPHONE_EXTRAS
# Characters a traditional-script variant can meet.
_TRADITIONAL_POOL = (
    _HOMOPHONE_POOL
    + "".join(LEGAL_SUFFIXES)
    + "先生女士"
    + "".join(c.province + c.city + "".join(c.districts) + "".join(c.streets) for c in CITIES)
)


@functools.cache
def _homophones() -> dict[str, tuple[str, ...]]:
    """Characters a pinyin IME could swap in for each pool character (same toneless pinyin)."""
    by_sound: dict[str, list[str]] = {}
    for ch, sound in pinyin_table(_HOMOPHONE_POOL).items():
        by_sound.setdefault(sound, []).append(ch)
    return {
        ch: tuple(sorted(set(by_sound[sound]) - {ch}))
        for ch, sound in pinyin_table(_HOMOPHONE_POOL).items()
        if len(by_sound[sound]) > 1
    }


def _compose(
    codes: np.ndarray, builders: Sequence[Callable[[np.ndarray], Sequence[object]] | None]
) -> np.ndarray:
    """Render one column: rows with ``codes == k`` are filled by ``builders[k](row_indices)``.

    Rows whose code has no builder (``None``) or is negative stay ``None`` (missing). Each row is
    rendered exactly once, by the variant it drew, which keeps per-row Python work minimal.
    """
    out = np.full(codes.shape[0], None, dtype=object)
    for code, build in enumerate(builders):
        if build is None:
            continue
        rows = np.flatnonzero(codes == code)
        if rows.size:
            out[rows] = objects(build(rows))
    return out


def _mobile_digit_typos(rng: np.random.Generator, numbers: list[str], kind: np.ndarray) -> list:
    """Change one digit (kind 1) or swap two neighbours (kind 2) after the 3-digit prefix."""
    pos = rng.integers(3, 10, len(numbers)).tolist()
    delta = rng.integers(1, 10, len(numbers)).tolist()
    out = []
    for s, k, p, d in zip(numbers, kind.tolist(), pos, delta, strict=True):
        if k == 1:
            s = f"{s[:p]}{(int(s[p]) + d) % 10}{s[p + 1 :]}"
        elif k == 2:
            s = f"{s[:p]}{s[p + 1]}{s[p]}{s[p + 2 :]}"
        out.append(s)
    return out


def render_mobile(rng: np.random.Generator, n: int, contacts: Contacts, person: np.ndarray):
    """The ``mobile`` column: one number per person written many ways, typos and placeholders."""
    base = contacts.mobile[person].copy()
    second = contacts.mobile2[person]
    use_second = pd.notna(second) & (rng.random(n) < 0.4)
    base[use_second] = second[use_second]
    corruption = choice(rng, (0.955, 0.025, 0.015, 0.005), n)  # ok / typo / swap / placeholder
    hit = np.flatnonzero((corruption == 1) | (corruption == 2))
    if hit.size:
        base[hit] = objects(_mobile_digit_typos(rng, base[hit].tolist(), corruption[hit]))
    ph = np.flatnonzero(corruption == 3)
    base[ph] = np.array(PLACEHOLDER_MOBILES, dtype=object)[rng.integers(0, 3, ph.size)]

    fmt = choice(rng, (0.47, 0.07, 0.04, 0.02, 0.09, 0.06, 0.05, 0.03, 0.01, 0.01, 0.03, 0.12), n)
    fmt[ph] = 0  # placeholders are typed plainly

    def each(render: Callable[[str], str]) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [render(s) for s in base[rows].tolist()]

    return _compose(
        fmt,
        [
            each(lambda s: s),
            each(lambda s: f"+86 {s[:3]}-{s[3:7]}-{s[7:]}"),
            each(lambda s: f"86 {s}"),
            each(lambda s: f"0086-{s[:3]} {s[3:7]} {s[7:]}"),
            each(lambda s: f"{s[:3]} {s[3:7]} {s[7:]}"),
            each(lambda s: f"{s[:3]}-{s[3:7]}-{s[7:]}"),
            each(lambda s: f"+86{s}"),
            each(lambda s: s.translate(_FULLWIDTH)),
            each(lambda s: f"{s[0]}.{s[1:]}e10"),  # Excel scientific, e.g. 1.3800138000e10
            each(lambda s: f"{s[0]}.{s[1:].rstrip('0') or '0'}E+10"),
            each(lambda s: f"{s}.0"),  # Excel float re-exported as text
            None,  # missing
        ],
    )


# How a landline (area code ``a``, local number ``x``) is written, and how often.
_LANDLINE_FORMS: tuple[Callable[[str, str], str], ...] = (
    lambda a, x: f"{a}-{x}",
    lambda a, x: f"({a}) {x[:4]} {x[4:]}",
    lambda a, x: f"+86 {a[1:]} {x[:4]} {x[4:]}",
    lambda a, x: f"{a}{x}",
    lambda a, x: f"{a} {x}",
    lambda a, x: x,  # local number only, no area code
    lambda a, x: f"0086-{a[1:]}-{x}",
    lambda a, x: f"{a}-{x}".translate(_FULLWIDTH),
    lambda a, x: f"{a}-{x[:4]}-{x[4:]}",
    lambda a, x: f"+86-{a[1:]}-{x}",
)
_LANDLINE_FORM_P = (0.35, 0.10, 0.08, 0.15, 0.10, 0.07, 0.04, 0.03, 0.05, 0.03)


def _landlines(fmt: np.ndarray, area: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Write each row's landline in the form ``fmt`` picks from :data:`_LANDLINE_FORMS`."""

    def each(render: Callable[[str, str], str]) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [
            render(a, x) for a, x in zip(area[rows].tolist(), local[rows], strict=True)
        ]

    return _compose(fmt, [each(form) for form in _LANDLINE_FORMS])


def render_phone(
    rng: np.random.Generator,
    n: int,
    accounts: Accounts,
    contacts: Contacts,
    person: np.ndarray,
    account: np.ndarray,
) -> np.ndarray:
    """The ``phone`` column: mostly the shared company switchboard, sometimes a direct line."""
    has_direct = contacts.direct[person] > 0
    r = rng.random(n)
    # kind: 0 switchboard, 1 direct line, 2 the mobile typed into the landline field, 3 missing
    kind = np.where(
        has_direct,
        np.select([r < 0.45, r < 0.70, r < 0.73], [1, 0, 2], 3),
        np.select([r < 0.62, r < 0.65], [0, 2], 3),
    )
    local = np.where(kind == 1, contacts.direct[person], accounts.switchboard[account])
    local_s = local.astype(str).astype(object)
    area = np.array([c.area_code for c in CITIES], dtype=object)[accounts.city[account]]
    ext = contacts.extension[person].copy()
    ext[(kind != 0) | (rng.random(n) < 0.4)] = None  # extensions only follow the switchboard

    fmt = choice(rng, _LANDLINE_FORM_P, n)
    fmt[kind >= 2] = -1
    phone = _landlines(fmt, area, local_s)
    with_ext = np.flatnonzero(pd.notna(ext))
    if with_ext.size:
        style = choice(rng, (0.35, 0.25, 0.15, 0.10, 0.10, 0.05), with_ext.size).tolist()
        forms = ("{p}转{e}", "{p}-{e}", "{p} ext. {e}", "{p} x{e}", "{p}分机{e}", "{p}#{e}")
        phone[with_ext] = objects(
            [
                forms[s].format(p=p, e=e)
                for p, e, s in zip(
                    phone[with_ext].tolist(), ext[with_ext].tolist(), style, strict=True
                )
            ]
        )
    mob = np.flatnonzero(kind == 2)
    phone[mob] = contacts.mobile[person[mob]]
    return phone


def _legal_name(region: str, core: str, suffix: str, bracket: int) -> str:
    """北京华信科技有限公司 (0), 华信科技(北京)有限公司 (1), 华信科技（北京）有限公司 (2)."""
    if bracket == 1:
        return f"{core}({region}){suffix}"
    if bracket == 2:
        return f"{core}（{region}）{suffix}"
    return f"{region}{core}{suffix}"


def _company_typo(core: str, r1: float, r2: float) -> str:
    """Replace one character of the core with a homophone (IME slip) or a similar brand char."""
    pos = int(r1 * len(core))
    options = _homophones().get(core[pos]) or tuple(BRAND_B)
    new = options[int(r2 * len(options))]
    if new == core[pos]:
        new = options[(int(r2 * len(options)) + 1) % len(options)]
    return core[:pos] + new + core[pos + 1 :]


def render_company(
    rng: np.random.Generator, n: int, accounts: Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``company`` column: the account's legal name and its many real-world variants."""
    region = np.array([c.city_short for c in CITIES], dtype=object)[accounts.city[account]]
    core = accounts.core[account]
    suffix_i = accounts.suffix[account]
    canon_bracket = np.where(accounts.bracket_style[account], 2, 0)
    other_suffix = (suffix_i + rng.integers(1, len(LEGAL_SUFFIXES), n)) % len(LEGAL_SUFFIXES)
    r1, r2 = rng.random(n), rng.random(n)
    english_style = choice(rng, (0.40, 0.25, 0.10, 0.10, 0.15), n)
    code = choice(rng, (0.50, 0.08, 0.07, 0.06, 0.09, 0.05, 0.04, 0.04, 0.02, 0.02, 0.03), n)
    sfx = LEGAL_SUFFIXES
    t2t = traditional_table(_TRADITIONAL_POOL)

    def canonical(rows: np.ndarray) -> list[str]:
        return [
            _legal_name(r, c, sfx[s], b)
            for r, c, s, b in zip(
                region[rows].tolist(),
                core[rows].tolist(),
                suffix_i[rows].tolist(),
                canon_bracket[rows].tolist(),
                strict=True,
            )
        ]

    def styled(bracket: int) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [
            _legal_name(r, c, sfx[s], bracket)
            for r, c, s in zip(
                region[rows].tolist(), core[rows].tolist(), suffix_i[rows].tolist(), strict=True
            )
        ]

    def no_region(rows: np.ndarray) -> list[str]:
        return [
            c + sfx[s] for c, s in zip(core[rows].tolist(), suffix_i[rows].tolist(), strict=True)
        ]

    def other_legal_suffix(rows: np.ndarray) -> list[str]:
        return [
            _legal_name(r, c, sfx[s], b)
            for r, c, s, b in zip(
                region[rows].tolist(),
                core[rows].tolist(),
                other_suffix[rows].tolist(),
                canon_bracket[rows].tolist(),
                strict=True,
            )
        ]

    def typo(rows: np.ndarray) -> list[str]:
        return [
            _legal_name(r, _company_typo(c, a, b), sfx[s], br)
            for r, c, s, br, a, b in zip(
                region[rows].tolist(),
                core[rows].tolist(),
                suffix_i[rows].tolist(),
                canon_bracket[rows].tolist(),
                r1[rows].tolist(),
                r2[rows].tolist(),
                strict=True,
            )
        ]

    def english(rows: np.ndarray) -> list[str]:
        py = pinyin_table(CORE_CHARS)
        out = []
        acct = account[rows]
        for brand, ind, city, s, style in zip(
            accounts.brand[acct].tolist(),
            accounts.industry[acct].tolist(),
            accounts.city[acct].tolist(),
            suffix_i[rows].tolist(),
            english_style[rows].tolist(),
            strict=True,
        ):
            name = "".join(py[ch] for ch in brand).capitalize()
            ind_en = INDUSTRIES[ind].en
            legal = "Group Co., Ltd." if s == 3 else "Co., Ltd."
            city_en = CITIES[city].pinyin
            out.append(
                (
                    f"{name} {ind_en} {legal}",
                    f"{city_en} {name} {ind_en} {legal}",
                    f"{name} {ind_en} ({city_en}) {legal}",
                    f"{name} {ind_en} {legal}".upper(),
                    f"{name} {ind_en} {legal.replace(', ', ',').rstrip('.')}",
                )[style]
            )
        return out

    return _compose(
        code,
        [
            canonical,
            styled(0),
            styled(1),
            styled(2),
            no_region,
            lambda rows: core[rows].tolist(),
            other_legal_suffix,
            lambda rows: [s.translate(t2t) for s in canonical(rows)],
            typo,
            english,
            None,
        ],
    )


def render_credit_code(
    rng: np.random.Generator,
    n: int,
    accounts: Accounts,
    account: np.ndarray,
    present: float | np.ndarray = 0.35,
) -> np.ndarray:
    """The ``credit_code`` column: present on a share ``present`` of rows (one rate, or one per
    row), a few of them with one wrong character or in lower case."""
    code = np.full(n, -1)
    present = rng.random(n) < present
    code[present] = choice(rng, (0.93, 0.04, 0.03), int(present.sum()))  # ok / typo / lowercase
    value = accounts.credit_code[account]
    pos = rng.integers(0, 18, n)
    shift = rng.integers(1, len(USCC_ALPHABET), n)

    def typo(rows: np.ndarray) -> list[str]:
        out = []
        for s, p, k in zip(
            value[rows].tolist(), pos[rows].tolist(), shift[rows].tolist(), strict=True
        ):
            # Any single-character change breaks the mod-31 check, since 31 is prime.
            new = USCC_ALPHABET[(USCC_ALPHABET.index(s[p]) + k) % len(USCC_ALPHABET)]
            out.append(s[:p] + new + s[p + 1 :])
        return out

    return _compose(
        code,
        [
            lambda rows: value[rows].tolist(),
            typo,
            lambda rows: [s.lower() for s in value[rows].tolist()],
        ],
    )


def render_name(rng: np.random.Generator, n: int, people: People, person: np.ndarray):
    """The ``name`` column: Chinese, pinyin in several orders, traditional, 先生/女士, typos."""
    sur, given = people.surname[person], people.given[person]
    sur_py, given_py = people.sur_py[person], people.given_py[person]
    male = people.male[person]
    r1, r2 = rng.random(n), rng.random(n)
    code = choice(rng, (0.66, 0.06, 0.03, 0.04, 0.03, 0.04, 0.05, 0.03, 0.03, 0.03), n)
    t2t = traditional_table(_TRADITIONAL_POOL)
    homophones = _homophones()

    def zipped(rows: np.ndarray, render: Callable[[str, str], str]) -> list[str]:
        return [render(s, g) for s, g in zip(sur[rows].tolist(), given[rows].tolist(), strict=True)]

    def zipped_py(rows: np.ndarray, render: Callable[[str, str], str]) -> list[str]:
        return [
            render(s, g)
            for s, g in zip(sur_py[rows].tolist(), given_py[rows].tolist(), strict=True)
        ]

    def homophone_typo(rows: np.ndarray) -> list[str]:
        out = []
        for s, g, a, b in zip(
            sur[rows].tolist(), given[rows].tolist(), r1[rows], r2[rows], strict=True
        ):
            full = s + g
            # Prefer swapping a given-name character; surnames are typed more carefully.
            candidates = [i for i in range(len(s), len(full)) if full[i] in homophones]
            if not candidates:
                candidates = [i for i in range(len(full)) if full[i] in homophones]
            if candidates:
                i = candidates[int(a * len(candidates))]
                options = homophones[full[i]]
                full = full[:i] + options[int(b * len(options))] + full[i + 1 :]
            out.append(full)
        return out

    return _compose(
        code,
        [
            lambda rows: zipped(rows, lambda s, g: s + g),
            lambda rows: zipped_py(rows, lambda s, g: f"{s.capitalize()} {g.capitalize()}"),
            lambda rows: zipped_py(rows, lambda s, g: f"{s.upper()} {g.capitalize()}"),
            lambda rows: zipped_py(rows, lambda s, g: f"{g.capitalize()} {s.capitalize()}"),
            lambda rows: zipped_py(rows, lambda s, g: s + g),
            lambda rows: zipped(rows, lambda s, g: (s + g).translate(t2t)),
            lambda rows: [
                s + ("先生" if m else "女士")
                for s, m in zip(sur[rows].tolist(), male[rows], strict=True)
            ],
            homophone_typo,
            lambda rows: zipped(rows, lambda s, g: f"{s} {g}"),
            None,
        ],
    )


def render_email(
    rng: np.random.Generator,
    n: int,
    accounts: Accounts,
    contacts: Contacts,
    person: np.ndarray,
    account: np.ndarray,
) -> np.ndarray:
    """The ``email`` column: work or free-mail per row, case and whitespace noise, placeholders."""
    work, free = contacts.work_email[person], contacts.free_email[person]
    has_work, has_free = pd.notna(work), pd.notna(free)
    use_free = has_free & (~has_work | (rng.random(n) < 0.4))
    chosen = np.where(use_free, free, work)
    code = choice(rng, (0.61, 0.02, 0.02, 0.02, 0.015, 0.015, 0.30), n)
    placeholder = np.array(_PLACEHOLDER_EMAILS, dtype=object)[
        rng.integers(0, len(_PLACEHOLDER_EMAILS), n)
    ]
    noreply = rng.random(n) < 0.3  # some placeholders are noreply@<company domain>
    domain = accounts.domain[account]

    return _compose(
        code,
        [
            lambda rows: chosen[rows].tolist(),
            lambda rows: [s.upper() for s in chosen[rows].tolist()],
            lambda rows: [s[0].upper() + s[1:] for s in chosen[rows].tolist()],
            lambda rows: [f" {s} " if i % 2 else f"{s} " for i, s in enumerate(chosen[rows])],
            lambda rows: [
                f"noreply@{d}" if nr else p
                for d, nr, p in zip(
                    domain[rows].tolist(), noreply[rows], placeholder[rows], strict=True
                )
            ],
            lambda rows: [s.replace("@", " @ ") for s in chosen[rows].tolist()],
            None,
        ],
    )


def render_region_and_address(
    rng: np.random.Generator, n: int, accounts: Accounts, account: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``province``, ``city`` and ``address``: consistent with the account, written many ways."""
    city_i = accounts.city[account]
    province_full = np.array([c.province for c in CITIES], dtype=object)[city_i]
    province_short = np.array([c.province_short for c in CITIES], dtype=object)[city_i]
    city_full = np.array([c.city for c in CITIES], dtype=object)[city_i]
    city_short = np.array([c.city_short for c in CITIES], dtype=object)[city_i]
    is_municipality = province_full == city_full

    province = _compose(
        choice(rng, (0.45, 0.35, 0.20), n),
        [lambda rows: province_full[rows], lambda rows: province_short[rows], None],
    )
    city = _compose(
        choice(rng, (0.50, 0.35, 0.15), n),
        [lambda rows: city_full[rows], lambda rows: city_short[rows], None],
    )
    addr, addr_short = accounts.address[account], accounts.address_short[account]
    address = _compose(
        choice(rng, (0.45, 0.15, 0.05, 0.10, 0.03, 0.22), n),
        [
            lambda rows: addr[rows],
            lambda rows: [
                c + a for c, a in zip(city_full[rows].tolist(), addr[rows].tolist(), strict=True)
            ],
            lambda rows: [
                (c if m else p + c) + a
                for p, c, m, a in zip(
                    province_full[rows].tolist(),
                    city_full[rows].tolist(),
                    is_municipality[rows].tolist(),
                    addr[rows].tolist(),
                    strict=True,
                )
            ],
            lambda rows: addr_short[rows],
            lambda rows: [a.translate(_FULLWIDTH) for a in addr[rows].tolist()],
            None,
        ],
    )
    return province, city, address


def render_timestamps(
    rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``created_at`` / ``updated_at`` strings in mixed export formats, plus created seconds.

    ``updated_at`` is at least a minute after ``created_at`` so that formats which drop the
    seconds can never make it parse earlier than the creation time.
    """
    created = rng.integers(_EPOCH_2022, _EPOCH_2026, n)
    gap = 60 + np.where(
        rng.random(n) < 0.3, rng.integers(0, 600, n), rng.exponential(30 * 86_400, n).astype(int)
    )
    updated = created + gap
    # One export format per row: each row came out of one system's export.
    fmt = choice(rng, (0.50, 0.20, 0.15, 0.08, 0.04, 0.03), n)
    renderers: tuple[Callable[[str], str], ...] = (
        lambda s: f"{s[:10]} {s[11:]}",
        lambda s: f"{s[:4]}/{_NO_LEADING_ZERO[s[5:7]]}/{_NO_LEADING_ZERO[s[8:10]]} {s[11:16]}",
        lambda s: f"{s}Z",
        lambda s: f"{s[:4]}/{s[5:7]}/{s[8:10]} {s[11:]}",
        lambda s: f"{s[:4]}年{_NO_LEADING_ZERO[s[5:7]]}月{_NO_LEADING_ZERO[s[8:10]]}日 {s[11:16]}",
        lambda s: f"{s[:10]} {s[11:]}.000",
    )

    def render(seconds: np.ndarray) -> np.ndarray:
        iso = np.datetime_as_string(seconds.astype("datetime64[s]"))

        def build(render_one: Callable[[str], str]) -> Callable[[np.ndarray], list[str]]:
            return lambda rows: [render_one(s) for s in iso[rows].tolist()]

        return _compose(fmt, [build(r) for r in renderers])

    return render(created), render(updated), created


# Account-list columns (organization mode): a company's own row, with no person behind it.


def _branch_name(head_name: str, region: str) -> str:
    """北京华信科技有限公司 + 上海 -> 北京华信科技有限公司上海分公司."""
    return f"{head_name}{region}分公司"


def render_branch_company(
    rng: np.random.Generator, n: int, accounts: Accounts, branch: np.ndarray, head: np.ndarray
) -> np.ndarray:
    """The ``company`` column of a branch's (分公司) rows: its head office's legal name plus
    the branch city, and the shorter forms reps type (``华信科技(上海)分公司``).

    Args:
        branch, head: per row, the branch account and its head-office account.
    """
    city_short = np.array([c.city_short for c in CITIES], dtype=object)
    region = city_short[accounts.city[branch]]
    head_region = city_short[accounts.city[head]]
    core, brand, suffix_i = accounts.core[head], accounts.brand[head], accounts.suffix[head]
    bracket = np.where(accounts.bracket_style[head], 2, 0)
    other_suffix = (suffix_i + rng.integers(1, len(LEGAL_SUFFIXES), n)) % len(LEGAL_SUFFIXES)
    r1, r2 = rng.random(n), rng.random(n)
    code = choice(rng, (0.40, 0.12, 0.12, 0.08, 0.06, 0.04, 0.04, 0.04, 0.04, 0.03, 0.03), n)
    sfx = LEGAL_SUFFIXES
    t2t = traditional_table(_TRADITIONAL_POOL)

    def official(rows: np.ndarray, suffixes: np.ndarray = suffix_i) -> list[str]:
        return [
            _branch_name(_legal_name(hr, c, sfx[s], b), r)
            for hr, c, s, b, r in zip(
                head_region[rows].tolist(),
                core[rows].tolist(),
                suffixes[rows].tolist(),
                bracket[rows].tolist(),
                region[rows].tolist(),
                strict=True,
            )
        ]

    def short(form: str) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [
            form.format(core=c, region=r, brand=b, suffix=sfx[s])
            for c, r, b, s in zip(
                core[rows].tolist(),
                region[rows].tolist(),
                brand[rows].tolist(),
                suffix_i[rows].tolist(),
                strict=True,
            )
        ]

    def typo(rows: np.ndarray) -> list[str]:
        return [
            _branch_name(_legal_name(hr, _company_typo(c, a, b), sfx[s], br), r)
            for hr, c, s, br, r, a, b in zip(
                head_region[rows].tolist(),
                core[rows].tolist(),
                suffix_i[rows].tolist(),
                bracket[rows].tolist(),
                region[rows].tolist(),
                r1[rows].tolist(),
                r2[rows].tolist(),
                strict=True,
            )
        ]

    def english(rows: np.ndarray) -> list[str]:
        py = pinyin_table(CORE_CHARS)
        out = []
        for b, ind, c, s in zip(
            brand[rows].tolist(),
            accounts.industry[head[rows]].tolist(),
            accounts.city[branch[rows]].tolist(),
            suffix_i[rows].tolist(),
            strict=True,
        ):
            name = "".join(py[ch] for ch in b).capitalize()
            legal = "Group Co., Ltd." if s == 3 else "Co., Ltd."
            out.append(f"{name} {INDUSTRIES[ind].en} {legal} {CITIES[c].pinyin} Branch")
        return out

    return _compose(
        code,
        [
            official,
            short("{core}({region})分公司"),
            short("{core}{region}分公司"),
            short("{core}{suffix}{region}分公司"),
            short("{core}（{region}）分公司"),
            lambda rows: [s.translate(t2t) for s in official(rows)],
            typo,
            english,
            lambda rows: official(rows, other_suffix),
            short("{brand}{region}分公司"),
            None,
        ],
    )


def render_switchboard(
    rng: np.random.Generator, n: int, accounts: Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``phone`` column of an account row: its switchboard in the lead landline formats,
    missing on ~18 % of rows."""
    area = np.array([c.area_code for c in CITIES], dtype=object)[accounts.city[account]]
    local = accounts.switchboard[account].astype(str).astype(object)
    fmt = choice(rng, _LANDLINE_FORM_P, n)
    fmt[rng.random(n) < 0.18] = -1
    return _landlines(fmt, area, local)


def render_website(
    rng: np.random.Generator, n: int, accounts: Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``website`` column: the account's domain as a bare host, with or without a scheme."""
    domain = accounts.domain[account]

    def each(render: Callable[[str], str]) -> Callable[[np.ndarray], list[str]]:
        return lambda rows: [render(d) for d in domain[rows].tolist()]

    return _compose(
        choice(rng, (0.35, 0.15, 0.10, 0.10, 0.03, 0.05, 0.22), n),
        [
            each(lambda d: f"www.{d}"),
            each(lambda d: f"http://www.{d}"),
            each(lambda d: f"https://www.{d}/"),
            each(lambda d: d),
            each(lambda d: f"WWW.{d.upper()}"),
            each(lambda d: f"https://{d}"),
            None,
        ],
    )


# A company's general mailboxes, most common first.
_ROLE_MAILBOXES = ("info", "sales", "service", "contact", "market", "admin", "hr", "office")
_ROLE_MAILBOX_P = (0.30, 0.20, 0.12, 0.12, 0.08, 0.07, 0.06, 0.05)
_FREE_MAIL = ("163.com", "qq.com", "126.com", "sina.com")


def render_mailbox(
    rng: np.random.Generator, n: int, accounts: Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``email`` column of an account row: the company's general mailbox (``info@`` its
    domain; a free-mail address for ~15 % of accounts), sometimes another role mailbox."""
    n_accounts = accounts.domain.shape[0]
    py = pinyin_table(CORE_CHARS)
    local = np.array(_ROLE_MAILBOXES, dtype=object)[choice(rng, _ROLE_MAILBOX_P, n_accounts)]
    free = rng.random(n_accounts) < 0.15
    free_host = rng.integers(0, len(_FREE_MAIL), n_accounts)
    year = rng.integers(1998, 2022, n_accounts)
    main = objects(
        [
            f"{''.join(py[ch] for ch in b)}{y}@{_FREE_MAIL[h]}" if f else f"{lc}@{d}"
            for b, y, h, f, lc, d in zip(
                accounts.brand.tolist(),
                year.tolist(),
                free_host.tolist(),
                free.tolist(),
                local.tolist(),
                accounts.domain.tolist(),
                strict=True,
            )
        ]
    )[account]
    other_local = np.array(_ROLE_MAILBOXES, dtype=object)[choice(rng, _ROLE_MAILBOX_P, n)]
    domain = accounts.domain[account]
    return _compose(
        choice(rng, (0.52, 0.08, 0.03, 0.02, 0.35), n),
        [
            lambda rows: main[rows].tolist(),
            lambda rows: [
                f"{lc}@{d}" for lc, d in zip(other_local[rows], domain[rows].tolist(), strict=True)
            ],
            lambda rows: [s.upper() for s in main[rows].tolist()],
            lambda rows: [f"{s} " for s in main[rows].tolist()],
            None,
        ],
    )


# The CRM's industry pick list (Chinese and English labels), and where each industry falls.
_INDUSTRY_PICKLIST: tuple[tuple[str, str], ...] = (
    ("信息技术", "Information Technology"),
    ("制造业", "Manufacturing"),
    ("医疗健康", "Healthcare"),
    ("物流运输", "Logistics"),
    ("批发零售", "Wholesale & Retail"),
    ("能源环保", "Energy & Environment"),
    ("文化传媒", "Media"),
    ("教育培训", "Education"),
    ("建筑工程", "Construction"),
    ("专业服务", "Professional Services"),
    ("化工材料", "Chemicals & Materials"),
)
_PICKLIST_OF_SLUG = {
    **dict.fromkeys(("tech", "soft", "data", "ai", "it", "net", "cloud"), 0),
    **dict.fromkeys(("elec", "ind", "mach", "auto", "electric", "autoparts", "opto"), 1),
    **dict.fromkeys(("semi",), 1),
    **dict.fromkeys(("med", "bio", "pharma"), 2),
    **dict.fromkeys(("logistics", "scm"), 3),
    **dict.fromkeys(("trade", "food"), 4),
    **dict.fromkeys(("eco", "energy"), 5),
    "media": 6,
    "edu": 7,
    "build": 8,
    "consult": 9,
    **dict.fromkeys(("material", "chem"), 10),
}


def render_industry(
    rng: np.random.Generator, n: int, accounts: Accounts, account: np.ndarray
) -> np.ndarray:
    """The ``industry`` column: a pick-list label (Chinese, sometimes English), the company's
    own industry word, another label a rep chose, or missing."""
    category = np.array([_PICKLIST_OF_SLUG[i.slug] for i in INDUSTRIES])[accounts.industry[account]]
    other = (category + rng.integers(1, len(_INDUSTRY_PICKLIST), n)) % len(_INDUSTRY_PICKLIST)
    industry = accounts.industry[account]
    return _compose(
        choice(rng, (0.58, 0.12, 0.06, 0.05, 0.19), n),
        [
            lambda rows: [_INDUSTRY_PICKLIST[c][0] for c in category[rows].tolist()],
            lambda rows: [INDUSTRIES[i].cn for i in industry[rows].tolist()],
            lambda rows: [_INDUSTRY_PICKLIST[c][1] for c in category[rows].tolist()],
            lambda rows: [_INDUSTRY_PICKLIST[c][0] for c in other[rows].tolist()],
            None,
        ],
    )
