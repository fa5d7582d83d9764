"""Text for the promotion review: number formats, gate explanations, safe evidence look-ups.

Shared by the HTML (:mod:`evolve.reports.html_page`) and Markdown (:mod:`evolve.reports.markdown`)
renderers so both say the same thing. Every formatter accepts anything (the evidence is
parsed JSON): a missing, null, non-numeric or non-finite value renders as "not computed".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from evolve.numbers import finite_or_none

NOT_COMPUTED = "not computed"
SIGN_OFF = "Reviewed by: ________  Date: ________  Decision: ________"
Kind = Literal["percent", "signed_percent", "probability", "ratio", "sharpe", "count", "number"]

# Metrics of fitness.backtest.metrics.METRIC_NAMES and the evidence's statistics, by display kind
METRIC_KINDS: dict[str, Kind] = {
    "total_return": "signed_percent",
    "cagr": "signed_percent",
    "buy_and_hold_return": "signed_percent",
    "excess_return": "signed_percent",
    "average_trade_return": "signed_percent",
    "holdout_return": "signed_percent",
    "max_drawdown": "percent",
    "ulcer_index": "percent",
    "win_rate": "percent",
    "exposure": "percent",
    "fees_share": "percent",
    "funding_share": "percent",
    "bootstrap_drawdown_p95": "percent",
    "largest_month_share": "percent",
    "share": "percent",
    "pnl": "signed_percent",
    "sharpe": "ratio",
    "sortino": "ratio",
    "calmar": "ratio",
    "profit_factor": "ratio",
    "turnover": "ratio",
    "holdout_sharpe": "ratio",
    "holdout_daily_sharpe": "sharpe",
    "sr0": "sharpe",
    "skew": "ratio",
    "kurtosis": "ratio",
    "psr": "probability",
    "dsr": "probability",
    "holdout_psr": "probability",
    "null_percentile": "probability",
    "n_trades": "count",
    "n_days": "count",
    "n_holdout_trades": "count",
    "min_trl_trades": "count",
    "max_drawdown_bars": "count",
}


def get(mapping: Any, *path: str | int) -> Any:
    """Return ``mapping[path[0]][path[1]]…``, or None where a step is missing or not a container."""
    value = mapping
    for key in path:
        if isinstance(key, int) and isinstance(value, Sequence) and not isinstance(value, str):
            value = value[key] if -len(value) <= key < len(value) else None
        elif isinstance(key, str) and isinstance(value, Mapping):
            value = value.get(key)
        else:
            return None
        if value is None:
            return None
    return value


def elements(value: Any) -> list[Any]:
    """Return ``value`` as a list when it is a JSON array, else an empty list."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return []


def objects(value: Any) -> list[Mapping[str, Any]]:
    """Return the JSON objects of a JSON array (anything else in it is skipped)."""
    return [item for item in elements(value) if isinstance(item, Mapping)]


def fmt(value: Any, kind: Kind = "number", digits: int | None = None) -> str:
    """Return ``value`` formatted for people, or "not computed".

    Kinds: ``percent`` (fraction → "12.3%"), ``signed_percent`` ("+12.3%"), ``probability``
    (3 decimals), ``ratio`` (2 decimals), ``sharpe`` (per-period Sharpe, 3 decimals), ``count``
    (thousands separators; one decimal when fractional) and ``number`` (4 significant digits).
    """
    number = finite_or_none(value)
    if number is None:
        return NOT_COMPUTED
    if kind in ("percent", "signed_percent"):
        sign = "+" if kind == "signed_percent" else ""
        return _no_negative_zero(f"{number * 100:{sign},.{1 if digits is None else digits}f}%")
    if kind == "count":
        if number == round(number) and digits is None:
            return f"{round(number):,}"
        return f"{number:,.{1 if digits is None else digits}f}"
    if kind == "number" and digits is None:
        return f"{number:,.4g}" if abs(number) < 1e15 else f"{number:.4g}"
    default = {"probability": 3, "ratio": 2, "sharpe": 3, "number": 4}[kind]
    return _no_negative_zero(f"{number:,.{default if digits is None else digits}f}")


def _no_negative_zero(text: str) -> str:
    return text[1:] if text.startswith("-") and set(text[1:]) <= set("0.,%") else text


def probability(value: Any, digits: int = 3) -> str:
    """Return a probability with ``digits`` decimals; "> 0.999" / "< 0.001" instead of 1 or 0."""
    number = finite_or_none(value)
    if number is None:
        return NOT_COMPUTED
    if 0.0 < number < 1.0 and round(number, digits) >= 1.0:
        return f"> {1.0 - 10.0**-digits:.{digits}f}"
    if 0.0 < number < 1.0 and round(number, digits) <= 0.0:
        return f"< {10.0**-digits:.{digits}f}"
    return fmt(number, "probability", digits)


def fmt_metric(name: str, value: Any) -> str:
    """Return a metric value formatted by its name (see :data:`METRIC_KINDS`)."""
    if isinstance(value, str):
        return value
    return fmt(value, METRIC_KINDS.get(name, "number"))


def label(name: str) -> str:
    """Return a snake_case field name as words ("max_drawdown" → "max drawdown")."""
    return str(name).replace("_", " ")


def _variance_meaning(method: Any, whose: str, period: str) -> str:
    if method == "estimation":
        return (
            "sampling variance of a trial's Sharpe estimate, (1 − γ3·SR + (γ4−1)/4·SR²)/(T−1), "
            f"averaged over the {whose}: the spread zero-skill trials would show"
        )
    if method == "trials":
        return (
            f"cross-sectional variance of the {whose}' per-{period} Sharpe ratios (costs and "
            "exposure to a real edge widen it)"
        )
    return f"variance of the trials' per-{period} Sharpe ratios"


def _role(gated: bool) -> str:
    return "the benchmark of the selection-stage DSR" if gated else "reported, not gated"


def _stitched_rows(stitched: Any, period: str, gated: bool) -> list[list[str]]:
    if not isinstance(stitched, Mapping):
        return []
    rows = []
    if stitched.get("expected_max_sharpe") is not None:
        days = fmt(stitched.get("n_days"), "count")
        method = stitched.get("sharpe_variance_method")
        rows.append(
            [
                f"SR0 (per {period}, {stitched.get('sample') or 'selection record'})",
                fmt(stitched.get("expected_max_sharpe"), "sharpe"),
                f"{_role(gated)}: the same expected best over {days} days with V[SR] "
                f"{fmt(stitched.get('sharpe_variance'), 'number')}, the "
                f"{_variance_meaning(method, 'cluster leaders replayed there', period)}",
            ]
        )
    if stitched.get("max_sharpe") is not None:
        rows.append(
            [
                f"Best leader's Sharpe (per {period}, observed)",
                fmt(stitched.get("max_sharpe"), "sharpe"),
                "the largest Sharpe the trial-cluster leaders actually reached on that record: "
                "what SR0 predicts when the search has no edge",
            ]
        )
    return rows


def search_statistics_rows(evidence: Mapping[str, Any]) -> list[list[str]]:
    """Return ``[statistic, value, what it means]`` rows of the run-level search statistics."""
    search = get(evidence, "search")
    period = str(get(search, "periods") or "period")
    pbo = get(search, "pbo")
    # documents before the two stages have no selection_sample: their DSR read validation
    on_stitched = get(search, "selection_sample") == "stitched"
    return [
        [
            "Trials N",
            fmt(get(search, "n_trials"), "count"),
            "distinct individuals evaluated over the whole run; each one is a trial",
        ],
        [
            "Effective trials N_eff (clustered)",
            fmt(get(search, "n_effective"), "count"),
            "independent bets after clustering correlated trials; the N in SR0 and DSR",
        ],
        [
            "Effective trials (average correlation)",
            fmt(get(search, "n_effective_average_correlation"), "count"),
            "N̂ = ρ̄ + (1 − ρ̄)·N from the average pairwise correlation ρ̄, a cross-check",
        ],
        [
            f"V[SR] (per {period}, validation)",
            fmt(get(search, "sharpe_variance"), "number"),
            _variance_meaning(
                get(search, "sharpe_variance_method"), "cluster representatives", period
            ),
        ],
        [
            f"SR0 (per {period}, validation)",
            fmt(get(search, "expected_max_sharpe"), "sharpe"),
            "expected best Sharpe among N_eff zero-skill trials: "
            f"√V[SR]·((1−γ)Z⁻¹[1−1/N] + γZ⁻¹[1−1/(N·e)]); {_role(not on_stitched)}",
        ],
        *_stitched_rows(get(search, "stitched"), period, on_stitched),
        [
            "PBO",
            fmt(get(pbo, "value"), "probability"),
            f"share of the {fmt(get(pbo, 'n_combinations'), 'count')} CSCV splits "
            f"(S = {fmt(get(pbo, 'n_blocks'), 'count')} blocks, "
            f"{fmt(get(pbo, 'n_strategies'), 'count')} strategies) whose in-sample best lands at "
            "or below the out-of-sample median; 0.5 is a random pick",
        ],
        [
            "P(out-of-sample loss)",
            fmt(get(pbo, "prob_oos_loss"), "probability"),
            "share of splits where the in-sample best loses money out of sample",
        ],
        [
            "Degradation slope",
            fmt(get(pbo, "degradation_slope"), "ratio"),
            "out-of-sample Sharpe regressed on in-sample Sharpe across splits; below 0 is the "
            "overfitting signature",
        ],
    ]


# --- element ids ------------------------------------------------------------------------


def slug(value: Any) -> str:
    """Return ``value`` reduced to ``[A-Za-z0-9_-]`` for use in an element id."""
    text = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in str(value))
    return text.strip("-") or "x"
