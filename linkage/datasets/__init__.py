"""Synthetic and sample datasets with ground truth: messy Chinese B2B sales leads (people) and
account lists (companies, with branch and same-building look-alikes)."""

from __future__ import annotations

from linkage.datasets.generator import SAMPLE_PATH, generate_accounts, generate_leads, load_sample

__all__ = ["SAMPLE_PATH", "generate_accounts", "generate_leads", "load_sample"]
