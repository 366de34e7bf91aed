"""The package version, in one place (internal): whoever needs it imports it from here."""

from __future__ import annotations

__version__ = "0.1.0"
