"""Seeded generators of the promotion: one named purpose code per use of randomness.

The purpose code is part of each generator's seed, so a code never changes: changing one
changes every result drawn from it (and the golden promotion decisions).
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

import numpy as np


class SeedPurpose(IntEnum):
    """What a seeded generator of the promotion is for."""

    SPA_SEARCH = 101  # the search-level SPA test against each benchmark
    SPA_CANDIDATE = 102  # each candidate's own single-model SPA test
    PERTURBATION_PROBE = 201  # the jittered copies of a candidate's constants
    BOOTSTRAP_DRAWDOWN = 301  # the stationary-bootstrap drawdown resamples


def stable_seed(seed: int, purpose: SeedPurpose, id_: str) -> np.random.Generator:
    """Return a generator seeded from the promotion seed, a purpose and a strategy id."""
    digest = int.from_bytes(hashlib.sha256(id_.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([seed, int(purpose), digest]))


def search_seed(seed: int, purpose: SeedPurpose, *indices: int) -> np.random.Generator:
    """Return a generator seeded from the promotion seed, a purpose and position indices."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(purpose), *indices]))
