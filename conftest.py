"""Test tiers for the whole tree: the notebooks (run by nbmake) belong to the slow tier.

``python -m pytest -m "not slow"`` is the quick tier (the README's test command);
``python -m pytest -m slow`` runs the rest; ``.ci/run`` runs both.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
