"""Websites: the website role, reduced to the domain an organization is known by.

``http://www.ChicagoCommons.org/about``, ``chicagocommons.org`` and ``WWW.CHICAGOCOMMONS.ORG:80``
all give ``chicagocommons.org``: the host, lower-cased, without scheme, user info, port, path,
query or a leading ``www.``.  That is the form :mod:`linkage.standardize.email_address` gives
an e-mail's ``company_domain``, so the two compare.  Sub-domains other than ``www`` are kept
(``shop.example.com`` is not ``example.com``: which part is registrable needs the public
suffix list, and a CRM rarely mixes the two for one organization).  Free-mail and social-media
domains get no special treatment.

Everything runs in re2 on the distinct values.  A value that gives no host name (``Yes``,
``see notes``, an IP address) or a placeholder host (``example.com``) is a problem.
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

__all__ = ["WebsiteResult", "standardize_website", "website_batch"]


@dataclass(frozen=True)
class WebsiteResult:
    """A standardized website; ``domain`` is the ``website_domain`` derived column."""

    domain: str | None
    problem: str | None


def standardize_website(value: object) -> WebsiteResult:
    """The domain of one website (no network).

    >>> standardize_website("http://www.ChicagoCommons.org/about").domain
    'chicagocommons.org'
    """
    cols = website_batch(one_text_array(value))
    return WebsiteResult(first_item(cols["domain"]), first_item(cols["problem"]))


def website_batch(raw: pa.Array) -> dict[str, pa.Array]:
    """``{"domain", "problem"}`` per distinct value; both null for a missing value."""
    text = pc.utf8_lower(nfkc_clean(raw))
    given = np.asarray(text.is_valid())
    text = pc.replace_substring_regex(text, "\u3002", ".")  # Chinese full stop typed for '.'
    # Scheme, also the mistyped 'http//' and 'http:\\'; then user info ('user:pw@').
    host = strip_regex(text, r"^(?:url:\s*)?(?:(?:https?|ftp)s?:?[/\\]*|//)")
    host = strip_regex(host, r"^[^/?#\\\s@]*@")
    # The host ends where the path, query, fragment, port or a second value begins.
    host = strip_regex(host, r"[/?#\\\s,;:|].*$")
    host = strip_regex(host, r"\.+$")
    host = strip_regex(host, r"^www\d{0,3}\.")
    well_formed = matches(host, _HOST_RE2)
    domain = pc.if_else(pa.array(well_formed), host, null_strings(len(raw)))
    placeholder = np.asarray(pc.fill_null(pc.is_in(domain, pa.array(_PLACEHOLDER_HOSTS)), False))
    problem = set_where(null_strings(len(raw)), given & ~well_formed, "not a website")
    problem = set_where(problem, placeholder, "placeholder website")
    domain = pc.if_else(pa.array(placeholder), null_strings(len(raw)), domain)
    return {"domain": domain, "problem": problem}


# Labels of letters, digits and inner hyphens; the top-level label is letters (or punycode).
_HOST_RE2 = r"^(?:[\pL\pN](?:[\pL\pN\-]{0,61}[\pL\pN])?\.)+(?:\pL{2,24}|xn--[a-z0-9\-]{1,59})$"
_PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "test.com", "none.com",
                      "null.com", "xxx.com", "domain.com", "yourwebsite.com",
                      "yourdomain.com")  # fmt: skip
