"""The confirmation stage's family: candidate clusters and the family-wise corrected level.

Every candidate taken to the holdout is a test of the holdout. Near-duplicates (the same rule
with another volatility scaler) are one test, not several, so the candidates are first grouped
by a **holdout-free** similarity: the correlation of their daily *validation* returns (greedy
leader clustering in rank order; a candidate joins the first cluster whose representative it
correlates with at ``>= threshold``, else it founds a new one). The family-wise correction then
runs over the K clusters **taken to the holdout** — those with a member that passed the
selection stage (``taken``; by default every cluster) — with each cluster's p-value that of its
best-ranked member taken: ``p = 1 - PSR(0)`` on the holdout. A cluster whose members all failed
the selection stage is not a test of the holdout: it does not count in K, and its members carry
the family's strictest level, marked ``tested=False`` (they fail the selection gate anyway).

**The cluster is the test.** A member is confirmed only when its cluster's representative is
(``representative_confirmed``) and its own PSR clears the level too: letting a second member
pass where the representative failed would pick the best of the cluster on the holdout, and the
family-wise level would no longer hold (5 members correlated 0.8 under the null: 11.6 % instead
of 5 %, by simulation in review).

- Šidák: every cluster is tested at ``1 - (1 - alpha)^(1/K)``.
- Holm (step-down): clusters sorted by p; the j-th smallest (j = 1..K) is tested at
  ``alpha / (K - j + 1)`` while every earlier one was rejected; from the first acceptance on,
  every later cluster keeps the level that failed (so it fails too: its p is no smaller).

Both control the family-wise error rate at ``alpha`` for any dependence (Holm) or for
independent / positively dependent tests (Šidák). A cluster's members share its level.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from evolve.numbers import finite_or_none
from evolve.promotion.gauntlet import correlation

Method = Literal["holm", "sidak"]


@dataclass(frozen=True, slots=True)
class Cluster:
    """Candidates whose validation returns correlate with the representative's.

    Attributes
    ----------
    id : int
        0, 1, … in order of the representative's rank.
    representative : str
        Candidate id of the best-ranked member.
    members : tuple of str
        Candidate ids in rank order (the representative first).
    """

    id: int
    representative: str
    members: tuple[str, ...]

    def evidence(self) -> dict[str, Any]:
        """Return the ``clusters[]`` entry of promotion.json."""
        return {"id": self.id, "representative": self.representative, "members": list(self.members)}


def cluster_candidates(
    ids: Sequence[str], validation_returns: Sequence[npt.ArrayLike], threshold: float
) -> tuple[Cluster, ...]:
    """Return the candidates grouped by the correlation of their validation daily returns.

    Parameters
    ----------
    ids : sequence of str
        Candidate ids in rank order (best first).
    validation_returns : sequence of array_like, each shape (n_days,)
        Each candidate's daily validation returns (same days for all). A constant stream
        correlates 0 with everything and so founds its own cluster.
    threshold : float
        Correlation in (-1, 1] at or above which a candidate joins a representative.

    Raises
    ------
    ValueError
        If the lengths differ or the threshold is outside (-1, 1].
    """
    if len(ids) != len(validation_returns):
        raise ValueError(
            f"cluster_candidates: expected one validation stream per candidate, found "
            f"{len(validation_returns)} streams for {len(ids)} ids"
        )
    if not -1.0 < threshold <= 1.0:
        raise ValueError(
            f"cluster_candidates: threshold: expected a correlation in (-1, 1], found {threshold}"
        )
    leaders: list[tuple[str, np.ndarray]] = []
    members: list[list[str]] = []
    for id_, stream in zip(ids, validation_returns, strict=True):
        values = np.asarray(stream, dtype=np.float64)
        for index, (_, leader) in enumerate(leaders):
            if leader.shape == values.shape and correlation(values, leader) >= threshold:
                members[index].append(id_)
                break
        else:
            leaders.append((id_, values))
            members.append([id_])
    return tuple(Cluster(index, group[0], tuple(group)) for index, group in enumerate(members))


@dataclass(frozen=True, slots=True)
class ConfirmationLevel:
    """The level a cluster's holdout PSR(0) is judged at (``psr >= 1 - corrected_alpha``)."""

    cluster: int
    alpha: float
    corrected_alpha: float
    n_clusters: int
    method: Method
    tested: bool = True
    representative: str = ""
    representative_confirmed: bool = True

    @property
    def psr_threshold(self) -> float:
        """Return the PSR(0) a member must reach: ``1 - corrected_alpha``."""
        return 1.0 - self.corrected_alpha


def sidak_alpha(alpha: float, n_tests: int) -> float:
    """Return Šidák's per-test level ``1 - (1 - alpha)^(1/n_tests)``."""
    if not 0.0 <= alpha <= 1.0 or n_tests < 1:
        raise ValueError(
            f"sidak_alpha: expected alpha in [0, 1] and n_tests >= 1, found {alpha}, {n_tests}"
        )
    if alpha in (0.0, 1.0):
        return alpha
    return -math.expm1(math.log1p(-alpha) / n_tests)


def holm_levels(p_values: Sequence[float | None], alpha: float) -> list[float]:
    """Return each test's Holm step-down level (see the module docstring).

    A p-value of None (not computable) sorts last and counts as 1.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"holm_levels: expected alpha in [0, 1], found {alpha}")
    n_tests = len(p_values)
    # ignore[arg-type] below: p may be None for mypy, but finite_or_none(p) is None excludes it
    values = [1.0 if finite_or_none(p) is None else float(p) for p in p_values]  # type: ignore[arg-type]
    order = sorted(range(n_tests), key=lambda k: (values[k], k))
    levels = [0.0] * n_tests
    failed_at: float | None = None
    for step, index in enumerate(order):
        level = alpha / (n_tests - step) if failed_at is None else failed_at
        if failed_at is None and values[index] > level:
            failed_at = level
        levels[index] = level
    return levels


def confirmation_levels(
    clusters: Sequence[Cluster],
    holdout_psr: dict[str, float | None],
    alpha: float,
    method: Method,
    taken: Collection[str] | None = None,
) -> dict[str, ConfirmationLevel]:
    """Return every candidate's confirmation level, by candidate id.

    Parameters
    ----------
    clusters : sequence of Cluster
        From :func:`cluster_candidates`.
    holdout_psr : dict of str to float or None
        Each candidate's holdout PSR(0) (None: not computable); the representative's gives the
        cluster's p-value ``1 - PSR``.
    alpha : float
        The family-wise level (``1 - psr_min``).
    method : {"holm", "sidak"}
    taken : collection of str, optional
        Ids of the candidates taken to the holdout (those that passed the selection stage);
        None: every candidate.
    """
    if method not in ("holm", "sidak"):
        raise ValueError(f"confirmation_levels: method: expected holm or sidak, found {method!r}")
    family: list[tuple[Cluster, str]] = []  # (cluster, its best-ranked member taken)
    for cluster in clusters:
        chosen = [m for m in cluster.members if taken is None or m in taken]
        if chosen:
            family.append((cluster, chosen[0]))
    n_family = len(family)
    if method == "sidak":
        levels = [sidak_alpha(alpha, n_family)] * n_family if n_family else []
    else:
        p_values = []
        for _, representative in family:
            psr = finite_or_none(holdout_psr.get(representative))
            p_values.append(None if psr is None else 1.0 - psr)
        levels = holm_levels(p_values, alpha)
    out: dict[str, ConfirmationLevel] = {}
    for (cluster, representative), level in zip(family, levels, strict=True):
        psr = finite_or_none(holdout_psr.get(representative))
        confirmed = psr is not None and psr >= 1.0 - level
        for member in cluster.members:
            out[member] = ConfirmationLevel(
                cluster.id, alpha, level, n_family, method, True, representative, confirmed
            )
    strictest = min(levels, default=alpha)
    for cluster in clusters:
        for member in cluster.members:
            if member not in out:
                out[member] = ConfirmationLevel(
                    cluster.id, alpha, strictest, n_family, method, tested=False
                )
    return out
