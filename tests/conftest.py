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


#: The Chicago sites' headers renamed as a CRM export names them (the shared data README).
CHICAGO_HEADERS = {
    "Site name": "Company Name",
    "Address": "Address",
    "Zip": "Zip",
    "Phone": "Phone",
    "Email Address": "Email",
    "Website": "Website",
    "Program Name": "Program Name",
    "Center Director": "Contact Name",
}


@pytest.fixture(scope="session")
def chicago_sites(shared):
    """The real Chicago sites as a CRM export (``Id``, ``Source`` and the renamed
    columns), and the whole file with its truth (``True Id``)."""
    import pandas as pd

    df = pd.read_csv(shared("real/chicago_early_childhood.csv"), dtype=str)
    return df[["Id", "Source", *CHICAGO_HEADERS]].rename(columns=CHICAGO_HEADERS), df


@pytest.fixture(scope="session")
def sample():
    from linkage.datasets import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def sample_result(sample):
    import linkage

    return linkage.link(sample, seed=0)
