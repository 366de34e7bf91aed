"""Seeded drawing primitives shared by the lead generator's modules.

Category codes from weights, object arrays that hold strings as-is, group sizes that sum to an
exact total and distinct random integers. Every function takes the ``numpy.random.Generator``
it draws from, so the caller alone decides the order of draws (and with it the output).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["choice", "draw_group_sizes", "objects", "unique_random_ints"]


def choice(rng: np.random.Generator, probs: Sequence[float], size: int) -> np.ndarray:
    """Draw ``size`` category codes 0..len(probs)-1 with the given (re-normalised) weights."""
    p = np.asarray(probs, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def objects(values: Sequence[object]) -> np.ndarray:
    """A 1-d object array holding ``values`` as-is (np.array would try to infer a dtype)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def draw_group_sizes(rng: np.random.Generator, probs: Sequence[float], total: int) -> np.ndarray:
    """Group sizes drawn from ``probs`` (size k has weight probs[k-1]) that sum exactly to total."""
    mean = sum((k + 1) * p for k, p in enumerate(probs))
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < total:
        missing = total - int(sizes.sum())
        extra = choice(rng, probs, int(missing / mean * 1.1) + 16) + 1
        sizes = np.concatenate([sizes, extra])
    last = int(np.searchsorted(np.cumsum(sizes), total))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(sizes.sum()) - total  # trim the last group so the total is exact
    return sizes


def unique_random_ints(
    rng: np.random.Generator, draw: Callable[[int], np.ndarray], size: int, taken: set[int]
) -> np.ndarray:
    """Draw ``size`` distinct integers with ``draw`` (redrawing collisions), avoiding ``taken``."""
    values = draw(size)
    for _ in range(100):
        dup = pd.Series(values).duplicated().to_numpy() | np.isin(values, list(taken))
        if not dup.any():
            return values
        values[dup] = draw(int(dup.sum()))
    raise RuntimeError("could not draw unique numbers")  # pragma: no cover - astronomically rare
