"""Reviewers' tokens for the desk: made, stored as a salted hash, checked.

A token is ``<token id>.<secret>``: the id (public, 8 random bytes) finds the row, the
secret (32 random bytes) proves the holder. The file keeps the id, a random salt and
``sha256(salt + secret)``, never the secret. One round of a hash is enough here, and what
makes a check cost microseconds on every request: key stretching (PBKDF2, scrypt) slows the
guessing of *low-entropy* passwords, and a 256-bit random secret cannot be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["new_lease_id", "new_token", "parse_token", "token_matches"]


def new_token() -> tuple[str, str, str, str]:
    """A fresh token: ``(token id, secret, salt, hash)``."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return token_id, secret, salt, _digest(secret, salt)


def parse_token(token: str | None) -> tuple[str, str] | None:
    """``(token id, secret)`` of a well-formed token, else ``None``."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    token_id, dot, secret = token.strip().partition(".")
    if not dot or len(token_id) != 16 or not secret:
        return None
    if any(c not in "0123456789abcdef" for c in token_id):
        return None
    return token_id, secret


def token_matches(secret: str, salt: str, stored_hash: str) -> bool:
    """Whether ``secret`` is the one whose salted hash is stored (constant time)."""
    return hmac.compare_digest(_digest(secret, salt), stored_hash)


def new_lease_id() -> str:
    """A lease id: unguessable, so a form cannot be forged for an item never handed out."""
    return secrets.token_urlsafe(12)


def _digest(secret: str, salt: str) -> str:
    return hashlib.sha256((salt + secret).encode("utf-8")).hexdigest()
