"""A realistic promotion evidence document (the promotion.json contract) for report tests.

Two candidates: rank 1 is promoted (every gate passes), rank 2 is rejected by three gates
(dsr, cost_stress, concentration) and has fields that could not be computed (no perturbation,
no MinTRL, no short leg, no regimes, no lineage, no spec). The document is plain JSON types,
deterministic for a given seed, and round-trips through ``json.dumps``/``json.loads``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

DAY_MS = 86_400_000
START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z
N_DAYS = 1_096  # 2023-01-01 .. 2025-12-31

PROMOTED_ID = "ed4609c927356b97"
REJECTED_ID = "7b090daee9557b14"
REJECTED_FAILED = ("dsr", "cost_stress", "concentration")

_THRESHOLDS = {
    "dsr_min": 0.95,
    "psr_min": 0.95,
    "pbo_max": 0.2,
    "spa_max": 0.05,
    "cost_stress_psr_min": 0.95,
    "stability_min": 0.7,
    "concentration_max": 0.5,
    "correlation_max": 0.7,
    "drawdown_budget": 0.3,
    "cost_stress_multiplier": 2.0,
}

# (segment, kind, first day, last day exclusive): walk-forward discovery folds, then validation
# and the untouched holdout
_SEGMENTS = (
    ("discovery-1", "discovery", 0, 181),
    ("discovery-2", "discovery", 181, 365),
    ("discovery-3", "discovery", 365, 547),
    ("validation", "validation", 547, 820),
    ("holdout", "holdout", 820, N_DAYS),
)


def _ms(day: int) -> int:
    return START_MS + day * DAY_MS


def _curve(rng: np.random.Generator, drift: float, volatility: float) -> list[float]:
    returns = rng.normal(drift, volatility, N_DAYS - 1)
    return np.round(np.concatenate([[1.0], np.cumprod(1.0 + returns)]), 8).tolist()


def _gate(
    name: str, value: float | None, threshold: float, comparison: str, detail: str
) -> dict[str, Any]:
    if value is None:
        passed = False
    elif comparison == ">=":
        passed = value >= threshold
    else:
        passed = value <= threshold
    return {
        "name": name,
        "value": value,
        "threshold": threshold,
        "passed": passed,
        "comparison": comparison,
        "detail": detail,
    }


def _metrics(rng: np.random.Generator, sharpe: float) -> dict[str, float]:
    return {
        "total_return": round(float(rng.uniform(0.05, 0.4)), 6),
        "cagr": round(float(rng.uniform(0.05, 0.3)), 6),
        "sharpe": sharpe,
        "sortino": round(sharpe * 1.4, 6),
        "calmar": round(float(rng.uniform(0.5, 2.0)), 6),
        "max_drawdown": round(float(rng.uniform(0.05, 0.25)), 6),
        "max_drawdown_bars": int(rng.integers(100, 2000)),
        "n_trades": int(rng.integers(40, 300)),
        "win_rate": round(float(rng.uniform(0.4, 0.6)), 6),
        "profit_factor": round(float(rng.uniform(1.0, 1.8)), 6),
        "exposure": round(float(rng.uniform(0.3, 0.9)), 6),
        "fees_share": round(float(rng.uniform(0.05, 0.3)), 6),
        "funding_share": round(float(rng.uniform(-0.05, 0.1)), 6),
        "buy_and_hold_return": 0.4213,
    }


def _fold_table(rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for name, kind, _, _ in _SEGMENTS:
        for symbol in ("BTCUSDT", "ETHUSDT"):
            rows.append(
                {
                    "segment": name,
                    "kind": kind,
                    "symbol": symbol,
                    "sharpe": round(float(rng.normal(1.0, 0.6)), 6),
                    "total_return": round(float(rng.normal(0.06, 0.08)), 6),
                    "max_drawdown": round(float(rng.uniform(0.03, 0.2)), 6),
                    "n_trades": int(rng.integers(10, 90)),
                    "win_rate": round(float(rng.uniform(0.4, 0.6)), 6),
                }
            )
    return rows


def _cost_stress(sharpe: float, psr: float, slope: float) -> list[dict[str, float]]:
    return [
        {
            "multiplier": multiplier,
            "holdout_sharpe": round(sharpe - slope * (multiplier - 1.0), 6),
            "holdout_return": round(0.12 - 0.05 * (multiplier - 1.0), 6),
            "holdout_psr": round(max(0.0, psr - 0.12 * (multiplier - 1.0) * slope), 6),
        }
        for multiplier in (1.0, 1.5, 2.0, 2.5, 3.0)
    ]


def _monthly(rng: np.random.Generator, august: float) -> list[dict[str, Any]]:
    months = [f"2025-{m:02d}" for m in range(4, 13)]
    pnl = np.round(rng.normal(0.008, 0.01, len(months)), 6).tolist()
    pnl[4] = august  # 2025-08, the largest month of both candidates
    return [{"month": m, "pnl": p} for m, p in zip(months, pnl, strict=True)]


def _promoted(rng: np.random.Generator, timestamps: list[int], hold: list[float]) -> dict:
    statistics = {
        "holdout_daily_sharpe": 0.214,
        "n_days": 276,
        "skew": -0.31,
        "kurtosis": 5.8,
        "psr": 0.9993,
        "dsr": 0.9712,
        "sr0": 0.142,
        "min_trl_trades": 140.2,
        "n_holdout_trades": 180,
        "bootstrap_drawdown_p95": 0.21,
        "null_percentile": None,
    }
    return {
        "id": PROMOTED_ID,
        "expression": "long_only(gt(percent_b(rolling_min(open, 10), 26, 4.0), "
        "percent_b(mid(open, typical), 2, 2.5)))",
        "pretty": "long if %B(min(open, 10), 26, 4) > %B(mean(open, typical), 2, 2.5)",
        "promoted": True,
        "rank": 1,
        "lookback_bars": 36,
        "gates": [
            _gate("dsr", 0.9712, 0.95, ">=", "holdout daily SR 0.214 vs SR0 0.142, T=276"),
            _gate("psr", 0.9993, 0.95, ">=", "holdout daily SR 0.214 vs 0, T=276"),
            _gate("pbo", 0.12, 0.2, "<=", "CSCV S=16 over 16 cluster representatives"),
            _gate("spa_flat", 0.03, 0.05, "<=", "Hansen SPA consistent p, 1,000 resamples"),
            _gate("cost_stress", 0.9731, 0.95, ">=", "holdout PSR at 2x fees and slippage"),
            _gate("stability", 0.83, 0.7, ">=", "median of 200 jittered variants / own score"),
            _gate("min_trades", 180, 140.2, ">=", "holdout trades vs MinTRL on per-trade returns"),
            _gate("drawdown", 0.21, 0.3, "<=", "stationary bootstrap, mean block 7.5 days"),
            _gate("concentration", 0.31, 0.5, "<=", "largest month 2025-08"),
            _gate("correlation", 0.0, 0.7, "<=", "first promoted strategy of this run"),
        ],
        "failed": [],
        "metrics": {
            "train": _metrics(rng, 1.84),
            "validation": _metrics(rng, 1.41),
            "holdout": _metrics(rng, 1.22),
        },
        "fold_table": _fold_table(rng),
        "curve": {"timestamp_ms": timestamps, "equity": _curve(rng, 0.0006, 0.009)},
        "buy_and_hold": {"timestamp_ms": timestamps, "equity": hold},
        "cost_stress": _cost_stress(1.22, 0.9993, 0.12),
        "funding_flip": {"holdout_sharpe": 0.93, "holdout_return": 0.081},
        "perturbation": {
            "own_score": 1.31,
            "scores": np.round(rng.normal(1.12, 0.18, 200), 6).tolist(),
            "stability": 0.83,
        },
        "statistics": statistics,
        "legs": {
            "long": {"pnl": 0.146, "n_trades": 180, "win_rate": 0.53},
            "short": {"pnl": 0.0, "n_trades": 0, "win_rate": None},
        },
        "concentration": {
            "largest_month": "2025-08",
            "largest_month_share": 0.31,
            "monthly_pnl": _monthly(rng, 0.045),
            "regimes": [
                {"regime": "low vol", "pnl": 0.062, "share": 0.42},
                {"regime": "mid vol", "pnl": 0.051, "share": 0.35},
                {"regime": "high vol", "pnl": 0.033, "share": 0.23},
            ],
        },
        "correlation": {"max_with_promoted": 0.0, "with": None},
        "lineage": [
            {
                "depth": 0,
                "id": PROMOTED_ID,
                "generation": 12,
                "operator": "crossover",
                "score": 1.31,
                "pretty": "long if %B(min(open, 10), 26, 4) > %B(mean(open, typical), 2, 2.5)",
            },
            {
                "depth": 1,
                "id": "4f0c1e0aa3b2d911",
                "generation": 11,
                "operator": "mutate_constants",
                "score": 1.17,
                "pretty": "long if %B(min(open, 10), 26, 4) > %B(mean(open, typical), 2, 2)",
            },
            {
                "depth": 1,
                "id": "91d2aa07c3e4f562",
                "generation": 10,
                "operator": "mutate_subtree",
                "score": 0.88,
                "pretty": "long if %B(min(open, 10), 26, 4) > 0.5",
            },
            {
                "depth": 2,
                "id": "0c3b5a77e1d9f408",
                "generation": 7,
                "operator": "seed",
                "score": 0.42,
                "pretty": "long if %B(close, 20, 2) > 0.5",
            },
        ],
        "spec_path": f"promoted/{PROMOTED_ID}.json",
    }


def _rejected(rng: np.random.Generator, timestamps: list[int], hold: list[float]) -> dict:
    gates = [
        _gate("dsr", 0.62, 0.95, ">=", "holdout daily SR 0.152 vs SR0 0.142, T=276"),
        _gate("psr", 0.958, 0.95, ">=", "holdout daily SR 0.152 vs 0, T=276"),
        _gate("pbo", 0.12, 0.2, "<=", "CSCV S=16 over 16 cluster representatives"),
        _gate("spa_flat", 0.03, 0.05, "<=", "Hansen SPA consistent p, 1,000 resamples"),
        _gate("cost_stress", 0.71, 0.95, ">=", "holdout PSR at 2x fees and slippage"),
        _gate("drawdown", 0.26, 0.3, "<=", "stationary bootstrap, mean block 7.5 days"),
        _gate("concentration", 0.62, 0.5, "<=", "largest month 2025-08"),
        _gate("correlation", 0.41, 0.7, "<=", f"with {PROMOTED_ID}"),
    ]
    curve: list[float | None] = list(_curve(rng, 0.0004, 0.012))
    curve[700] = None  # a missing mark (JSON null): the line must break, not crash
    return {
        "id": REJECTED_ID,
        "expression": "pos_from(gt(scale(stdev(low, 2), 0.5), macd_signal(rolling_max(close, "
        "14), 8, 5, 30)), lt(funding_mean(funding_mean(funding, 2), 3), 0.0))",
        "pretty": "long if 0.5 * StdDev(low, 2) > MACDSignal(max(close, 14), 8, 5, 30); "
        "short if mean(mean(funding, 2), 3) < 0%",
        "promoted": False,
        "rank": 2,
        "lookback_bars": 44,
        "gates": gates,
        "failed": list(REJECTED_FAILED),
        "metrics": {
            "train": _metrics(rng, 2.31),
            "validation": _metrics(rng, 0.97),
            "holdout": {"sharpe": 0.87, "total_return": 0.094, "n_trades": 0},
        },
        "fold_table": _fold_table(rng)[:6],
        "curve": {"timestamp_ms": timestamps, "equity": curve},
        "buy_and_hold": {"timestamp_ms": timestamps, "equity": hold},
        "cost_stress": _cost_stress(0.87, 0.958, 0.45),
        "funding_flip": None,
        "perturbation": None,
        "statistics": {
            "holdout_daily_sharpe": 0.152,
            "n_days": 276,
            "skew": 0.42,
            "kurtosis": None,
            "psr": 0.958,
            "dsr": 0.62,
            "sr0": 0.142,
            "min_trl_trades": None,
            "n_holdout_trades": 0,
            "bootstrap_drawdown_p95": 0.26,
            "null_percentile": None,
        },
        "legs": {"long": {"pnl": 0.051, "n_trades": 61, "win_rate": 0.49}, "short": None},
        "concentration": {
            "largest_month": "2025-08",
            "largest_month_share": 0.62,
            "monthly_pnl": _monthly(rng, 0.058),
        },
        "correlation": {"max_with_promoted": 0.41, "with": PROMOTED_ID},
        "lineage": [],
        "spec_path": None,
    }


def _search(rng: np.random.Generator, with_null_model: bool) -> dict[str, Any]:
    logits = np.round(rng.normal(1.6, 1.1, 12_870), 6).tolist()
    return {
        "n_trials": 18_234,
        "n_effective": 412,
        "n_effective_average_correlation": 650.3,
        "sharpe_variance": 0.0031,
        "expected_max_sharpe": 0.142,
        "periods": "day",
        "pbo": {
            "value": 0.12,
            "n_strategies": 16,
            "n_blocks": 16,
            "n_combinations": 12_870,
            "prob_oos_loss": 0.08,
            "degradation_slope": -0.2,
            "logits": logits,
        },
        "spa": {
            "benchmark": {
                "flat": {"p_consistent": 0.03, "p_lower": 0.021, "p_upper": 0.044},
                "buy_and_hold": {"p_consistent": 0.18, "p_lower": 0.12, "p_upper": 0.26},
            },
            "n_bootstrap": 1_000,
            "mean_block": 7.5,
        },
        "null_model": (
            {
                "n_runs": 5,
                "best_holdout_sharpes": [0.31, -0.12, 0.44, 0.08, 0.19],
                "method": "same search on 5 random-walk datasets with the data's volatility",
            }
            if with_null_model
            else None
        ),
    }


def make_evidence(*, with_null_model: bool = False, seed: int = 7) -> dict[str, Any]:
    """Return a fresh evidence document (two candidates; see the module docstring).

    Parameters
    ----------
    with_null_model : bool
        Include the null-model block (random-data reruns); absent (null) by default.
    seed : int
        Seed of the synthetic curves and distributions.
    """
    rng = np.random.default_rng(seed)
    timestamps = [_ms(day) for day in range(N_DAYS)]
    hold = _curve(rng, 0.0009, 0.03)
    promoted = _promoted(rng, timestamps, hold)
    rejected = _rejected(rng, timestamps, hold)
    return {
        "schema_version": 2,
        "run_id": "20261123-201455-s42-ab12",
        "seed": 42,
        "config_hash": "sha256:5d41402abc4b2a76b9719d911017c592ae2f8b1c3e5d7f9a0b2c4d6e8f0a1b3c",
        "generated_at": "2026-11-23T21:00:00Z",
        "package_versions": {
            "evolve": "0.1.0",
            "numpy": "2.1.3",
            "numba": "0.61.0",
            "deap": "1.4.1",
            "pyarrow": "18.1.0",
            "python": "3.11.7",
        },
        "data": [
            {
                "name": f"bundled/{symbol}-1h",
                "symbol": symbol,
                "timeframe": "1h",
                "content_hash": f"sha256:{digest}",
                "first": "2023-01-01T00:00:00Z",
                "last": "2025-12-31T23:00:00Z",
            }
            for symbol, digest in (
                ("BTCUSDT", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
                ("ETHUSDT", "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"),
            )
        ],
        "segments": [
            {"name": name, "kind": kind, "start_ms": _ms(first), "stop_ms": _ms(last)}
            for name, kind, first, last in _SEGMENTS
        ],
        "thresholds": dict(_THRESHOLDS),
        "search": _search(rng, with_null_model),
        "candidates": [promoted, rejected],
        "summary": {
            "n_candidates": 2,
            "n_promoted": 1,
            "promoted": [PROMOTED_ID],
            "reasons": {name: 1 for name in REJECTED_FAILED},
        },
        "decisions": decisions([promoted, rejected]),
    }


def decisions(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the DESIGN §4 ``decisions`` list of the candidates (4 keys per gate)."""
    keys = ("name", "value", "threshold", "passed")
    return [
        {
            "id": c["id"],
            "promoted": c["promoted"],
            "gates": [{key: gate[key] for key in keys} for gate in c["gates"]],
        }
        for c in candidates
    ]


def make_rejecting_evidence() -> dict[str, Any]:
    """Return the document of a run that promotes nothing (both candidates rejected)."""
    evidence = make_evidence()
    first = evidence["candidates"][0]
    first["promoted"] = False
    first["spec_path"] = None
    for gate in first["gates"]:
        if gate["name"] == "pbo":
            gate.update(value=0.47, passed=False)
    first["failed"] = ["pbo"]
    second = evidence["candidates"][1]
    second["gates"] = copy.deepcopy(second["gates"])
    for gate in second["gates"]:
        if gate["name"] == "pbo":
            gate.update(value=0.47, passed=False)
    second["failed"] = ["dsr", "pbo", "cost_stress", "concentration"]
    evidence["search"]["pbo"]["value"] = 0.47
    evidence["summary"] = {
        "n_candidates": 2,
        "n_promoted": 0,
        "promoted": [],
        "reasons": {"pbo": 2, "dsr": 1, "cost_stress": 1, "concentration": 1},
    }
    evidence["decisions"] = decisions(evidence["candidates"])
    return evidence


def make_member_promoted_evidence() -> dict[str, Any]:
    """Return a document whose one cluster's representative (rank 1) lost the correlation gate
    to a simpler member (rank 2) that was promoted: the report details the promoted member."""
    evidence = make_evidence()
    promoted, rejected = evidence["candidates"]
    promoted["rank"], rejected["rank"] = 2, 1
    evidence["candidates"] = [rejected, promoted]
    evidence["decisions"] = decisions(evidence["candidates"])
    evidence["clusters"] = [
        {"id": 1, "representative": REJECTED_ID, "members": [REJECTED_ID, PROMOTED_ID]}
    ]
    return evidence


def stitched_block() -> dict[str, Any]:
    """Return a ``search.stitched`` block (the selection stage on discovery+validation)."""
    return {
        "sample": "discovery+validation",
        "sharpe_variance": 0.0033,
        "sharpe_variance_method": "estimation",
        "expected_max_sharpe": 0.19,
        "max_sharpe": 0.17,
        "n_days": 291,
    }
