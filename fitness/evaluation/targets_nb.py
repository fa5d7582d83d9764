"""Numba kernel of the semantic cache: the run-length form of a normalised target array.

!!! note
    ``target`` is C-contiguous float64, shape ``(n_bars,)``, from ``CompiledStrategy.positions``:
    NaN (flat, warm-up) or a value in [-1, 1]. Normalisation maps NaN and -0.0 to 0.0 (all three
    mean flat to the backtest, DESIGN §2), so equal normalised arrays backtest identically. The
    kernel reads every bar once.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit


class TargetRuns(NamedTuple):
    starts: np.ndarray  # int64 (n_runs,), first bar of each run of equal normalised values
    values: np.ndarray  # float64 (n_runs,), the run's normalised value
    invalid_bar: int  # first bar holding neither NaN nor a value in [-1, 1]; -1 when none


@njit(cache=True, nogil=True)
def target_runs_nb(target):
    """Return the ``TargetRuns`` of ``target``.

    Runs are maximal stretches of bars with equal normalised values; the first bar always
    starts one, so ``starts[0] == 0`` for a non-empty array. Branch-free: every bar is
    written at the current run slot, and the slot advances only when the value changed.
    """
    n = target.shape[0]
    starts = np.empty(n + 1, np.int64)
    values = np.empty(n + 1, np.float64)
    k = 0
    invalid_bar = -1
    previous = np.nan  # differs from every value: bar 0 starts the first run
    for t in range(n):
        s = target[t]
        # DESIGN §2: NaN is flat, like 0.0; + 0.0 turns -0.0 into 0.0
        value = 0.0 if math.isnan(s) else s + 0.0
        invalid = invalid_bar < 0 and not (-1.0 <= value <= 1.0)
        invalid_bar = t if invalid else invalid_bar
        starts[k] = t
        values[k] = value
        k += value != previous
        previous = value
    return TargetRuns(starts[:k].copy(), values[:k].copy(), invalid_bar)
