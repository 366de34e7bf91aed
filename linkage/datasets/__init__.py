"""Synthetic and sample datasets: messy Chinese B2B sales leads with ground truth."""

from __future__ import annotations

from linkage.datasets.generator import SAMPLE_PATH, generate_leads, load_sample

__all__ = ["SAMPLE_PATH", "generate_leads", "load_sample"]
