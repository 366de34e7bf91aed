"""Shared fixtures: the shipped sample, and the benchmark data in ../shared/data."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

logging.getLogger("splink").setLevel(logging.ERROR)


def shared_data(relative: str) -> Path:
    """A file of the shared benchmark data; skip (or fail under CI) when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: CI always has ../shared/data beside the project")
        pytest.skip(
            f"{path} not found: the shared benchmark data sits beside the project "
            "on developer machines and in CI, not in a user's clone"
        )
    return path


@pytest.fixture(scope="session")
def shared():
    """``shared("splink_datasets/fake_1000.csv")`` -> the path, or skip / fail as above."""
    return shared_data


@pytest.fixture(scope="session")
def sample():
    from linkage.datasets import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def sample_result(sample):
    import linkage

    return linkage.link(sample, seed=0)
