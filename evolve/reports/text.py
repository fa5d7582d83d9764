"""Text for the promotion review: number formats, gate explanations, safe evidence look-ups.

Shared by the HTML (:mod:`evolve.reports.html_page`) and Markdown (:mod:`evolve.reports.markdown`)
renderers so both say the same thing. Every formatter accepts anything (the evidence is
parsed JSON): a missing, null, non-numeric or non-finite value renders as "not computed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
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


def fmt_metric(name: str, value: Any) -> str:
    """Return a metric value formatted by its name (see :data:`METRIC_KINDS`)."""
    if isinstance(value, str):
        return value
    return fmt(value, METRIC_KINDS.get(name, "number"))


def label(name: str) -> str:
    """Return a snake_case field name as words ("max_drawdown" → "max drawdown")."""
    return str(name).replace("_", " ")


# --- gates -------------------------------------------------------------------------------

_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
_NEGATION = {">=": "<", ">": "≤", "<=": ">", "<": "≥", "==": "≠", "!=": "="}

# Gate name → (display label, value kind, why a failure matters; {placeholders} from context)
GATES: dict[str, tuple[str, Kind, str]] = {
    "dsr": (
        "DSR",
        "probability",
        "the holdout Sharpe is not significant once {n_effective} effective trials are counted "
        "(SR0 {sr0} per {periods}, V[SR] {sharpe_variance})",
    ),
    "psr": (
        "PSR",
        "probability",
        "the holdout Sharpe is not significantly above zero over {n_days} {periods}s",
    ),
    "pbo": (
        "PBO",
        "probability",
        "the search's in-sample best lands at or below the out-of-sample median in {pbo_percent} "
        "of {n_combinations} CSCV splits; its selection is overfitted",
    ),
    "spa_flat": (
        "SPA p (vs flat)",
        "probability",
        "the search's best does not beat staying flat once data snooping is accounted for",
    ),
    "spa_buy_and_hold": (
        "SPA p (vs buy-and-hold)",
        "probability",
        "the search's best does not beat buy-and-hold once data snooping is accounted for",
    ),
    "cost_stress": (
        "PSR at stressed costs",
        "probability",
        "the edge does not survive {cost_multiplier}× fees and slippage",
    ),
    "stability": (
        "Perturbation stability",
        "ratio",
        "jittering the constants drops the median score to this fraction of its own; "
        "the strategy sits on a narrow peak",
    ),
    "min_trades": (
        "Holdout trades",
        "count",
        "too few holdout trades to reach the minimum track record length (MinTRL)",
    ),
    "drawdown": (
        "95th-percentile bootstrap drawdown",
        "percent",
        "the resampled drawdown exceeds the risk budget",
    ),
    "concentration": (
        "Largest month or regime share of P&L",
        "percent",
        "the profit depends on one month or regime ({largest_month})",
    ),
    "correlation": (
        "Correlation with promoted",
        "ratio",
        "it duplicates the already promoted strategy {correlated_with}",
    ),
    "null_model": (
        "Null-model percentile",
        "probability",
        "searches on random data find holdout Sharpes as good as this one",
    ),
}


def gate_label(name: str) -> str:
    """Return the display label of a gate (its name in words when unknown)."""
    return GATES[name][0] if name in GATES else label(name)


def gate_kind(name: str) -> Kind:
    """Return how a gate's value and threshold are formatted."""
    return GATES[name][1] if name in GATES else "number"


def gate_values(gate: Mapping[str, Any]) -> tuple[str, str]:
    """Return the gate's value and threshold formatted alike, with enough digits to differ."""
    kind = gate_kind(str(gate.get("name", "")))
    value, threshold = gate.get("value"), gate.get("threshold")
    a, b = finite_or_none(value), finite_or_none(threshold)
    if kind in ("probability", "ratio", "percent", "signed_percent") and a is not None:
        # Add digits until the value no longer reads like the threshold or a rounded 0 or 1
        base = 1 if kind.endswith("percent") else 2
        for digits in range(base, base + 5):
            shown = fmt(a, kind, digits)
            looks_equal = b is not None and a != b and shown == fmt(b, kind, digits)
            looks_certain = (
                kind == "probability"
                and a not in (0.0, 1.0)
                and (shown in (fmt(0.0, kind, digits), fmt(1.0, kind, digits)))
            )
            if not (looks_equal or looks_certain):
                break
        return shown, fmt(threshold, kind, digits)
    return fmt(value, kind), fmt(threshold, kind)


def comparison_symbol(gate: Mapping[str, Any]) -> str:
    """Return the gate's pass condition as a symbol ("≥", "≤", …); "vs" when unknown."""
    return _SYMBOL.get(str(gate.get("comparison")), "vs")


def _context(evidence: Mapping[str, Any], candidate: Mapping[str, Any]) -> dict[str, str]:
    search = get(evidence, "search") or {}
    sr0 = get(candidate, "statistics", "sr0")
    return {
        "n_effective": fmt(get(search, "n_effective"), "count"),
        "sr0": fmt(get(search, "expected_max_sharpe") if sr0 is None else sr0, "sharpe"),
        "sharpe_variance": fmt(get(search, "sharpe_variance"), "number"),
        "periods": str(get(search, "periods") or "period"),
        "n_days": fmt(get(candidate, "statistics", "n_days"), "count"),
        "pbo_percent": fmt(get(search, "pbo", "value"), "percent", 0),
        "n_combinations": fmt(get(search, "pbo", "n_combinations"), "count"),
        "cost_multiplier": fmt(get(evidence, "thresholds", "cost_stress_multiplier"), "number"),
        "largest_month": str(get(candidate, "concentration", "largest_month") or NOT_COMPUTED),
        "correlated_with": str(get(candidate, "correlation", "with") or NOT_COMPUTED),
    }


def gate_explanation(
    gate: Mapping[str, Any], evidence: Mapping[str, Any], candidate: Mapping[str, Any]
) -> str:
    """Return one sentence saying why a failed gate failed, with its value and threshold.

    E.g. "DSR 0.62 < 0.95: the holdout Sharpe is not significant once 412 effective trials are
    counted (SR0 0.142 per day, V[SR] 0.0031)". Unknown gates fall back to their ``detail``.
    """
    name = str(gate.get("name", "gate"))
    value, threshold = gate_values(gate)
    comparison = str(gate.get("comparison"))
    if finite_or_none(gate.get("value")) is None:
        head = f"{gate_label(name)} {NOT_COMPUTED} (needs {comparison_symbol(gate)} {threshold})"
    else:
        head = f"{gate_label(name)} {value} {_NEGATION.get(comparison, 'vs')} {threshold}"
    reason = GATES[name][2].format(**_context(evidence, candidate)) if name in GATES else ""
    detail = str(gate.get("detail") or "")
    return f"{head}: {reason or detail or 'the gate failed'}"


def failed_gates(candidate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the candidate's failed gates in gate order, adding names only in ``failed``."""
    gates = objects(get(candidate, "gates"))
    failed = [g for g in gates if g.get("passed") is not True]
    named = {str(g.get("name")) for g in failed}
    for name in elements(get(candidate, "failed")):
        if str(name) not in named:
            failed.append({"name": str(name), "value": None, "passed": False})
    return failed


def candidates_of(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the evidence's candidates (best first), skipping anything that is not an object."""
    return objects(get(evidence, "candidates"))


def verdict(evidence: Mapping[str, Any]) -> str:
    """Return "N of M candidates promoted"."""
    candidates = candidates_of(evidence)
    promoted = sum(1 for c in candidates if get(c, "promoted") is True)
    return (
        f"{promoted} of {len(candidates)} candidate{'s' if len(candidates) != 1 else ''} promoted"
    )


def failure_reasons(evidence: Mapping[str, Any]) -> list[str]:
    """Return "DSR failed for 6 of 10 candidates" lines, most frequent first."""
    reasons = get(evidence, "summary", "reasons")
    n_candidates = len(candidates_of(evidence))
    if not isinstance(reasons, Mapping):
        counts: dict[str, int] = {}
        for candidate in candidates_of(evidence):
            for gate in failed_gates(candidate):
                counts[str(gate.get("name"))] = counts.get(str(gate.get("name")), 0) + 1
        reasons = counts
    ordered = sorted(reasons.items(), key=lambda item: (-(finite_or_none(item[1]) or 0), item[0]))
    return [
        f"{gate_label(str(name))} failed for {fmt(count, 'count')} of {n_candidates:,} candidates"
        for name, count in ordered
        if (finite_or_none(count) or 0) > 0
    ]


def search_statistics_rows(evidence: Mapping[str, Any]) -> list[list[str]]:
    """Return ``[statistic, value, what it means]`` rows of the run-level search statistics."""
    search = get(evidence, "search")
    period = str(get(search, "periods") or "period")
    pbo = get(search, "pbo")
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
            f"V[SR] (per {period})",
            fmt(get(search, "sharpe_variance"), "number"),
            f"variance of the trials' per-{period} Sharpe ratios",
        ],
        [
            f"SR0 (per {period})",
            fmt(get(search, "expected_max_sharpe"), "sharpe"),
            "expected best Sharpe among N_eff zero-skill trials: "
            "√V[SR]·((1−γ)Z⁻¹[1−1/N] + γZ⁻¹[1−1/(N·e)]); the benchmark of the DSR",
        ],
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


# --- HTML fragments ----------------------------------------------------------------------


class Markup(str):
    """Text that is already HTML: :func:`h` passes it through instead of escaping it."""

    __slots__ = ()


def h(value: Any) -> Markup:
    """Return ``value`` as HTML: escaped text, or unchanged when it is :class:`Markup`."""
    return value if isinstance(value, Markup) else Markup(escape(str(value)))


def slug(value: Any) -> str:
    """Return ``value`` reduced to ``[A-Za-z0-9_-]`` for use in an element id."""
    text = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in str(value))
    return text.strip("-") or "x"


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    table_id: str = "",
    row_classes: Sequence[str] = (),
    numeric: Sequence[int] = (),
) -> Markup:
    """Return a ``<table>``; cells are escaped unless :class:`Markup`; ``numeric`` align right."""
    identifier = f' id="{h(table_id)}"' if table_id else ""
    head = "".join(f"<th>{h(header)}</th>" for header in headers)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{h(row_classes[i])}"' if i < len(row_classes) and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{h(cell)}</td>' if j in numeric else f"<td>{h(cell)}</td>"
            for j, cell in enumerate(row)
        )
        body.append(f"<tr{css}>{cells}</tr>")
    return Markup(
        f'<div class="table-wrap"><table{identifier}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def pass_mark(passed: Any) -> Markup:
    """Return a ✓ pass / ✗ fail badge (anything but True is a failure)."""
    if passed is True:
        return Markup('<span class="pass">✓ pass</span>')
    return Markup('<span class="fail">✗ fail</span>')
