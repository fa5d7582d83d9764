"""The calibration benchmark's tables and its offline re-judging (``benchmarks.calibration``).

Every dataset's outcome (``results.jsonl``) keeps each candidate's gate values, both selection
samples' DSR, its stitched moments, its cluster and its holdout-position correlation with the
oracle, so a choice of the selection stage (sample, ``dsr_min``, V[SR_n] of the stitched DSR,
which clusters form the confirmation family) can be re-judged without re-running a search:
:func:`rejudge` applies the two stages again and keeps every other gate's recorded verdict.

``python -m benchmarks.calibration_report OUT/results.jsonl [MORE.jsonl …]`` prints the tables
over the union of one or more passes (e.g. several ``--seed-offset`` passes).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.calibration_markets import NULLS, PLANTED
from evolve.promotion.confirmation import holm_levels
from fitness.stats.sharpe import deflated_sharpe_ratio

POSITION_CORRELATION = 0.5
FAMILY_WISE_ALPHA = 0.05
STAGE_GATES = ("dsr", "psr", "correlation")


def wilson_upper(successes: int, n: int, z: float = 1.959964) -> float:
    """Return the upper end of the 95 % Wilson score interval of a binomial proportion."""
    if n == 0:
        return 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def power_hits(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the promoted candidates that trade like the oracle (position correlation)."""
    return [
        c
        for c in result.get("candidates", [])
        if c["promoted"] and c.get("oracle_correlation", 0.0) >= POSITION_CORRELATION
    ]


@dataclass(frozen=True, slots=True)
class Choice:
    """One selection-stage choice to re-judge.

    Attributes
    ----------
    sample : {"validation", "stitched"}
        Whose DSR the selection stage reads.
    dsr_min : float
        The selection stage passes at ``DSR >= dsr_min``.
    selected_family : bool
        The confirmation family is the clusters of the candidates that passed the selection
        stage (True) or of every candidate (False).
    pbo_max : float or None
        Re-judge the PBO gate at ``pbo <= pbo_max`` (None: keep its recorded verdict).
    variance : {"trials", "estimation"} or None
        Recompute the stitched DSR with this V[SR_n] from the recorded moments and the
        search's recorded variances (None: the DSR the run recorded).
    """

    sample: str
    dsr_min: float
    selected_family: bool = False
    pbo_max: float | None = None
    variance: str | None = None

    def label(self) -> str:
        """Return a short name for the tables."""
        family = "selected" if self.selected_family else "all"
        pbo = "" if self.pbo_max is None else f", pbo<={self.pbo_max:g}"
        variance = "" if self.variance is None else f" V={self.variance}"
        return f"{self.sample}{variance} dsr>={self.dsr_min:g}, family {family}{pbo}"


def selection_dsr(
    candidate: dict[str, Any], result: dict[str, Any], choice: Choice
) -> float | None:
    """Return the candidate's selection-stage DSR under ``choice`` (None: not computable)."""
    selection = candidate.get("selection") or {}
    if choice.variance is None:
        value = selection.get(f"{choice.sample}_dsr")
        return None if value is None else float(value)
    if choice.sample != "stitched":
        raise ValueError(f"Choice.variance: only the stitched sample, found {choice.sample!r}")
    moments, search = selection.get("stitched_moments"), result.get("stitched") or {}
    variance = search.get(f"sharpe_variance_{choice.variance}")
    n_effective = result.get("n_effective")
    if moments is None or variance is None or n_effective is None or n_effective < 1:
        return None
    sharpe, n_obs, skew, kurtosis = moments
    return deflated_sharpe_ratio(sharpe, int(n_obs), skew, kurtosis, n_effective, variance)


def rejudge(result: dict[str, Any], choice: Choice) -> list[dict[str, Any]]:
    """Return the candidates ``choice`` would promote (the correlation gate is not re-applied).

    The confirmation family is Holm over clusters at the family-wise 5 %; a cluster's p-value
    is that of its best-ranked member in the family. The other gates keep their recorded
    verdicts; ignoring the correlation gate (which only ever removes promotions) can only
    overstate the false promotions.
    """
    candidates = result.get("candidates", [])

    def selected(candidate: dict[str, Any]) -> bool:
        value = selection_dsr(candidate, result, choice)
        return value is not None and value >= choice.dsr_min

    family = [c for c in candidates if selected(c)] if choice.selected_family else candidates
    representatives: dict[Any, dict[str, Any]] = {}
    for candidate in family:  # candidates are in rank order
        representatives.setdefault(candidate["cluster"], candidate)
    clusters = list(representatives)
    p_values = []
    for cluster in clusters:
        psr = representatives[cluster]["gates"]["psr"][0]
        p_values.append(None if psr is None else 1.0 - psr)
    levels = dict(zip(clusters, holm_levels(p_values, FAMILY_WISE_ALPHA), strict=True))
    promoted = []
    for candidate in candidates:
        psr = candidate["gates"]["psr"][0]
        level = levels.get(candidate["cluster"])
        confirmed = psr is not None and level is not None and psr >= 1.0 - level
        others = all(
            _passed(name, value, passed, choice)
            for name, (value, _, passed) in candidate["gates"].items()
            if name not in STAGE_GATES
        )
        if selected(candidate) and confirmed and others:
            promoted.append(candidate)
    return promoted


def _passed(name: str, value: float | None, passed: bool, choice: Choice) -> bool:
    if name == "pbo" and choice.pbo_max is not None:
        return value is not None and value <= choice.pbo_max
    return passed


def what_if(results: list[dict[str, Any]], choice: Choice) -> dict[str, Any]:
    """Return the false promotions and the power per family and target t under ``choice``.

    A choice that recomputes the DSR (``variance``) counts only the datasets whose candidates
    carry ``stitched_moments`` (passes recorded before them are left out of its denominators,
    not counted as promoting nothing).
    """
    if choice.variance is not None:
        results = [r for r in results if _has_moments(r)]
    nulls = [r for r in results if r["kind"] == "null" and "error" not in r]
    false = sum(1 for r in nulls if rejudge(r, choice))
    power: dict[str, list[int]] = {}
    for r in results:
        if r["kind"] != "planted" or "error" in r:
            continue
        hit = any(
            c.get("oracle_correlation", 0.0) >= POSITION_CORRELATION for c in rejudge(r, choice)
        )
        power.setdefault(f"{r['family']} {r['target_t']:g}", []).append(int(hit))
    return {
        "false": false,
        "n_null": len(nulls),
        "power": {key: sum(v) / len(v) for key, v in power.items()},
    }


def _has_moments(result: dict[str, Any]) -> bool:
    return all(
        "stitched_moments" in (c.get("selection") or {}) for c in result.get("candidates", [])
    )


CHOICES = (
    *(
        Choice(sample, dsr_min, family)
        for sample in ("validation", "stitched")
        for family in (False, True)
        for dsr_min in (0.0, 0.01, 0.05, 0.1, 0.5, 0.95)
    ),
    *(
        Choice("stitched", dsr_min, True, variance=variance)
        for variance in ("trials", "estimation")
        for dsr_min in (0.05, 0.5, 0.9, 0.95, 0.99)
    ),
)  # PBO what-ifs need a recorded pbo gate: pass Choice(..., pbo_max) on results gated by it


def what_if_table(results: list[dict[str, Any]], choices: tuple[Choice, ...] = CHOICES) -> str:
    """Return the selection-stage operating curves (Markdown): recorded values re-judged."""
    rows = [(choice, what_if(results, choice)) for choice in choices]
    keys = sorted(
        {k for _, row in rows for k in row["power"]},
        key=lambda k: (list(PLANTED).index(k.split()[0]), float(k.split()[1])),
    )
    lines = [
        "",
        "Selection-stage choices re-judged on the recorded values (power per family and t; "
        "the correlation gate not re-applied):",
        "",
        "| selection stage | false promotions | " + " | ".join(keys) + " |",
        "|---|---:|" + "---:|" * len(keys),
    ]
    for choice, row in rows:
        cells = " | ".join(f"{row['power'].get(k, 0):.0%}" for k in keys)
        lines.append(f"| {choice.label()} | {row['false']}/{row['n_null']} | {cells} |")
    return "\n".join(lines)


def search_misses(results: list[dict[str, Any]], minimum_t: float = 4.0) -> str:
    """Return how many planted datasets at t >= ``minimum_t`` had no oracle-like candidate."""
    planted = [
        r
        for r in results
        if r["kind"] == "planted" and "error" not in r and r["target_t"] >= minimum_t
    ]
    missed = [
        r
        for r in planted
        if not any(
            c.get("oracle_correlation", 0.0) >= POSITION_CORRELATION for c in r["candidates"]
        )
    ]
    by_family = {f: sum(r["family"] == f for r in missed) for f in PLANTED}
    return (
        f"Search misses (no candidate with position correlation >= {POSITION_CORRELATION} in "
        f"the hall of fame) at t >= {minimum_t:g}: {len(missed)}/{len(planted)} "
        f"({', '.join(f'{f} {n}' for f, n in by_family.items())})"
    )


def table(results: list[dict[str, Any]]) -> str:
    """Return the calibration table (Markdown)."""
    lines = []
    nulls = [r for r in results if r["kind"] == "null" and "error" not in r]
    false = sum(1 for r in nulls if r["promoted"])
    lines += [
        "| null family | datasets | with a promotion |",
        "|---|---:|---:|",
        *(
            f"| {family} | {sum(r['family'] == family for r in nulls)} | "
            f"{sum(bool(r['promoted']) for r in nulls if r['family'] == family)} |"
            for family in NULLS
        ),
        "",
        f"False-promotion rate: {false}/{len(nulls)} = {false / max(len(nulls), 1):.1%} "
        f"(95 % Wilson upper bound {wilson_upper(false, len(nulls)):.1%})",
        "",
        "| family | target t | measured oracle t (mean, min–max) | datasets | power | "
        "promoted / oracle holdout Sharpe |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    planted = [r for r in results if r["kind"] == "planted" and "error" not in r]
    shares = []
    for family in PLANTED:
        for target in sorted({r["target_t"] for r in planted if r["family"] == family}):
            rows = [r for r in planted if r["family"] == family and r["target_t"] == target]
            hits = [r for r in rows if power_hits(r)]
            row_shares = []
            for r in hits:
                best = max(power_hits(r), key=lambda c: c["holdout_daily_sharpe"] or -1e9)
                if r["oracle_daily_sharpe"] > 0 and best["holdout_daily_sharpe"] is not None:
                    row_shares.append(best["holdout_daily_sharpe"] / r["oracle_daily_sharpe"])
            shares += row_shares
            share = f"{np.mean(row_shares):.0%}" if row_shares else "–"
            ts = [r["oracle_t"] for r in rows]
            lines.append(
                f"| {family} | {target:g} | {np.mean(ts):.2f} ({min(ts):.2f}–{max(ts):.2f}) | "
                f"{len(rows)} | {len(hits)}/{len(rows)} = {len(hits) / len(rows):.0%} | {share} |"
            )
    errors = [r for r in results if "error" in r]
    lines += [
        "",
        "Promoted holdout Sharpe / oracle's, mean over detections: "
        + (f"{np.mean(shares):.0%} ({len(shares)} datasets)" if shares else "–"),
        search_misses(results),
        f"Datasets that failed to run: {len(errors)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the tables of the union of the given results.jsonl files."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.calibration_report",
        description=(
            "Print the calibration tables (false promotions per null family, power per planted\n"
            "family and target t) and the selection-stage choices re-judged on the recorded gate\n"
            "values, over the union of one or more passes of benchmarks.calibration. No search\n"
            "is re-run. Exit 2 when a file cannot be read or a line is not JSON."
        ),
        epilog=(
            "examples:\n"
            "  python -m benchmarks.calibration --out A        a pass that keeps A/results.jsonl\n"
            "  python -m benchmarks.calibration_report A/results.jsonl\n"
            "  python -m benchmarks.calibration_report A/results.jsonl B/results.jsonl\n"
            "                                   two passes (e.g. --seed-offset 0 and 1000)\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="RESULTS.jsonl",
        help="a pass's results.jsonl (benchmarks.calibration --out DIR writes DIR/results.jsonl)",
    )
    paths: list[Path] = parser.parse_args(sys.argv[1:] if argv is None else argv).paths
    results = []
    for path in paths:
        try:
            lines = path.read_text("utf-8").splitlines()
        except OSError as e:
            print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
            return 2
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                results.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"{path}: line {number}: not JSON ({e.msg})", file=sys.stderr)
                return 2
    print(table(results))
    print(what_if_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
