"""E-mail: the email role, cleaned, split, and judged without any network call.

Addresses of the common shape pass a re2 check; the rest go through ``email_validator``.
Placeholders ('test@test.com') and typing slips in the big free-mail domains ('qq.con') are
problems.  The domain of a non-free address becomes ``company_domain``.

(Named ``email_address`` rather than ``email`` so as not to shadow the standard library.)
"""

from __future__ import annotations

from dataclasses import dataclass

import email_validator
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardize._text import (
    first_item,
    match_group,
    matches,
    nfkc_clean,
    null_strings,
    one_text_array,
    replace_masked,
    set_where,
    strip_regex,
)

__all__ = ["FREE_EMAIL_DOMAINS", "EmailResult", "email_batch", "standardize_email"]

# Patterns shared by the batch code here and the one-value path (``_one.py``).
#: Mailto: and angle brackets around an address.
WRAPPER_PATTERN = r"^mailto:|^<|>$"
#: Spaces around the @.
AT_SPACES_PATTERN = r"\s*@\s*"
#: An address split into its local part and domain.
LOCAL_DOMAIN_PATTERN = r"^(?P<local>.+)@(?P<domain>[^@]+)$"


@dataclass(frozen=True)
class EmailResult:
    """A standardized e-mail address; fields match the ``email_*`` derived columns."""

    clean: str | None
    local: str | None
    domain: str | None
    is_free: bool | None
    company_domain: str | None
    valid: bool | None
    problem: str | None


def standardize_email(value: object) -> EmailResult:
    """Clean one e-mail address (no network); placeholders and typos are invalid."""
    cols = email_batch(one_text_array(value))
    keys = ("clean", "local", "domain", "is_free", "company_domain", "valid", "problem")
    return EmailResult(*(first_item(cols[k]) for k in keys))


def email_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """E-mail columns per distinct value."""
    n = len(raw)
    text = nfkc_clean(raw)
    text = pc.utf8_lower(text)
    text = strip_regex(text, WRAPPER_PATTERN)
    text = pc.replace_substring_regex(text, AT_SPACES_PATTERN, "@")
    text = pc.replace_substring_regex(text, r"。", ".")  # Chinese full stop typed for '.'
    given = np.asarray(text.is_valid())
    fast = (
        matches(text, _EMAIL_FAST_RE2)
        & ~matches(text, _SPECIAL_USE_TLD_RE2)
        & np.asarray(pc.fill_null(pc.less_equal(pc.utf8_length(text), 254), False))
    )
    clean = pc.if_else(pa.array(fast), text, null_strings(n))
    problem = null_strings(n)
    slow = given & ~fast
    if slow.any():
        results = [_email_slow(v) for v in text.filter(pa.array(slow)).to_pylist()]
        cols = list(zip(*results, strict=True))
        clean = replace_masked(clean, slow, cols[0])
        problem = replace_masked(problem, slow, cols[1])
    parts = pc.extract_regex(clean, LOCAL_DOMAIN_PATTERN)
    local, domain = match_group(parts, "local"), match_group(parts, "domain")
    long_local = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(local), 64), False))
    problem = set_where(problem, long_local, "not an email address")
    placeholder = np.asarray(
        pc.fill_null(
            pc.or_(
                pc.is_in(local, pa.array(_PLACEHOLDER_EMAIL_LOCALS)),
                pc.is_in(domain, pa.array(_PLACEHOLDER_EMAIL_DOMAINS)),
            ),
            False,
        )
    )
    problem = set_where(problem, placeholder & ~long_local, "placeholder address")
    typo = np.asarray(pc.fill_null(pc.is_in(domain, pa.array(list(_DOMAIN_TYPOS))), False))
    typo &= ~placeholder & ~long_local
    if typo.any():
        bad = domain.filter(pa.array(typo)).to_pylist()
        problem = replace_masked(
            problem, typo, [f"domain typo (did you mean {_DOMAIN_TYPOS[d]}?)" for d in bad]
        )
    invalid = given & np.asarray(problem.is_valid())
    none = null_strings(n)
    clean = pc.if_else(pa.array(invalid), none, clean)
    local = pc.if_else(pa.array(invalid), none, local)
    domain = pc.if_else(pa.array(invalid), none, domain)
    is_free = pc.is_in(domain, pa.array(sorted(FREE_EMAIL_DOMAINS)))
    is_free = pc.if_else(domain.is_valid(), is_free, pa.scalar(None, pa.bool_()))
    company_domain = pc.if_else(pc.fill_null(is_free, True), none, domain)
    valid = pc.if_else(pa.array(given), pa.array(~invalid), pa.scalar(None, pa.bool_()))
    return {"clean": clean, "local": local, "domain": domain, "is_free": is_free,
            "company_domain": company_domain, "valid": valid, "problem": problem}  # fmt: skip


FREE_EMAIL_DOMAINS: frozenset[str] = frozenset({
    "qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "vip.163.com",
    "vip.126.com", "188.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "139.com",
    "189.cn", "wo.cn", "aliyun.com", "tom.com", "21cn.com", "gmail.com", "googlemail.com",
    "hotmail.com", "outlook.com", "live.com", "live.cn", "msn.com", "yahoo.com", "yahoo.com.cn",
    "yahoo.cn", "icloud.com", "me.com", "mac.com", "protonmail.com", "proton.me", "aol.com",
    "mail.com", "gmx.com", "yandex.com", "hotmail.co.uk", "outlook.cn", "263.net", "2980.com",
})  # fmt: skip
"""Consumer mail providers: their domain says nothing about the employer."""

_PLACEHOLDER_EMAIL_LOCALS = ("test", "none", "null", "noreply", "no-reply", "nobody", "na",
                             "xxx", "abc", "123", "example", "admin@test", "nomail")  # fmt: skip
_PLACEHOLDER_EMAIL_DOMAINS = ("test.com", "example.com", "none.com", "xxx.com", "example.org",
                              "example.net", "test.cn", "abc.com", "null.com", "email.com",
                              "mail.example.com")  # fmt: skip
# Typing slips in the big free-mail domains; the address cannot receive mail as written.
_DOMAIN_TYPOS: dict[str, str] = {
    "qq.con": "qq.com", "qq.cn": "qq.com", "qq.om": "qq.com", "qq.co": "qq.com",
    "qq.comm": "qq.com", "163.con": "163.com", "163.cn": "163.com", "163.cm": "163.com",
    "126.con": "126.com", "126.cm": "126.com", "gmial.com": "gmail.com",
    "gmai.com": "gmail.com", "gamil.com": "gmail.com", "gmail.con": "gmail.com",
    "hotmial.com": "hotmail.com", "hotmail.con": "hotmail.com", "sina.con": "sina.com",
    "foxmail.con": "foxmail.com", "outlook.con": "outlook.com", "yahoo.con": "yahoo.com",
}  # fmt: skip

_EMAIL_FAST_RE2 = (
    r"^[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
    r"[a-z]{2,24}$"
)
_SPECIAL_USE_TLD_RE2 = r"\.(?:test|example|invalid|localhost|local|onion|arpa)$"


def _email_slow(text: str) -> tuple[str | None, str | None]:
    """(normalized address or None, problem) via email_validator; no network."""
    try:
        info = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None, "not an email address"
    return info.normalized.lower(), None
