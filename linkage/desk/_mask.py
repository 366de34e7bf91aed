"""Phones and emails masked for a reviewer who may not see them in full.

Masking is by role (``mobile``, ``phone``, ``fax``, ``email``) and, for every other text
shown to a masked reviewer, by pattern too: a phone or an email typed into another column
(a note, an address, an unclaimed column) is masked all the same. Nothing a masked
reviewer receives holds a full phone or email.
"""

from __future__ import annotations

import re

__all__ = ["MASKED_ROLES", "mask_email", "mask_phone", "mask_text", "mask_value"]

#: Roles whose values are masked whole.
PHONE_ROLES = frozenset({"mobile", "phone", "fax", "switchboard", "tel"})
EMAIL_ROLES = frozenset({"email"})
MASKED_ROLES = PHONE_ROLES | EMAIL_ROLES
#: Roles whose digit runs are dates, codes or numbers, never a phone: shown as they are.
DIGIT_ROLES = frozenset(
    {
        "created_at",
        "updated_at",
        "dob",
        "credit_code",
        "record_id",
        "postcode",
        "birth_year",
        "latitude",
        "longitude",
        "national_id",
        "record_key",
        "entity_id",
        "item_id",
        "verdict_id",
    }
)

_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+")
# A run of digits (with the separators phones are written with) holding 7 or more digits.
_PHONE = re.compile(r"\+?\d(?:[\d\s\-()\u00a0]*\d){6,}")


def mask_phone(value: str) -> str:
    """``13800138000`` -> ``138****8000``; ``+86 158-2983-4229`` -> ``+86 158****4229``."""
    text = str(value)
    prefix = ""
    match = re.match(r"\s*(\+\d{1,3})[\s\-]+", text)
    if match:
        prefix, text = match.group(1) + " ", text[match.end() :]
    elif re.match(r"\s*\+86\d{11}\s*$", text):  # E.164 of a Chinese number
        prefix, text = "+86 ", text.strip()[3:]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 8:
        return f"{prefix}{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 3:
        return f"{prefix}{'*' * (len(digits) - 2)}{digits[-2:]}"
    return prefix + "*" * len(digits)


def mask_email(value: str) -> str:
    """``zhang.wei@example.com`` -> ``z***@example.com``."""
    local, at, domain = str(value).rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_text(value: str) -> str:
    """Any text with every email and phone-like digit run in it masked."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), str(value))
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def mask_value(role: str, value: object) -> object:
    """One field's value as a masked reviewer sees it (``None`` stays ``None``)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if role in EMAIL_ROLES:
        return mask_email(str(value))
    if role in PHONE_ROLES:
        return mask_phone(str(value))
    if role in DIGIT_ROLES:
        return value
    return mask_text(str(value)) if isinstance(value, str) else value
