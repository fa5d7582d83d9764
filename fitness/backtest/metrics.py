"""Performance metrics of a backtest: returns, risk, trade statistics, costs (DESIGN §2).

Conventions: returns and drawdowns are fractions (0.1 = 10 %); annualisation uses
``bars_per_year = 365 * 86400 / timeframe_seconds`` (crypto trades 24/7); every metric is a
finite float. The Sharpe ratio is ``fitness.stats.ratio``'s (0.0 when the deviation is 0 or
there are fewer than 2 bars); any other ratio whose denominator is 0 is 0.0 (DESIGN §2's Sharpe
rule, applied to Sortino, Calmar, profit factor, the cost shares and turnover alike).
"""

from __future__ import annotations

import math

import numpy as np

from fitness.backtest.simulate import SegmentResult, SimResult
from fitness.data.timeframes import timeframe_to_ms
from fitness.stats.ratio import sharpe_from_moments

SECONDS_PER_YEAR = 365 * 86400
# exp(700) is near the float maximum: CAGRs of absurdly short, steep spans stay finite
_MAX_LOG_GROWTH = 700.0

METRIC_NAMES = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_bars",
    "ulcer_index",
    "turnover",
    "n_trades",
    "win_rate",
    "profit_factor",
    "average_trade_return",
    "exposure",
    "fees_share",
    "funding_share",
    "buy_and_hold_return",
    "excess_return",
)
# The subset ``segment_metrics`` derives from streaming statistics (no trade records)
SEGMENT_METRIC_NAMES = tuple(
    name
    for name in METRIC_NAMES
    if name not in ("win_rate", "profit_factor", "average_trade_return")
)


def bars_per_year(timeframe: str) -> float:
    """Return ``365 * 86400 / timeframe_seconds`` (8760 for "1h", 105120 for "5m").

    Raises
    ------
    DataError
        If ``timeframe`` is not one of ``fitness.data.timeframes.TIMEFRAMES``.
    """
    return SECONDS_PER_YEAR * 1000 / timeframe_to_ms(timeframe)


def metrics(result: SimResult, timeframe: str) -> dict[str, float]:
    """Return every metric of ``METRIC_NAMES`` for one simulation.

    Parameters
    ----------
    result : SimResult
        Output of ``fitness.backtest.simulate``.
    timeframe : str
        Bar length ("1m" … "1d") for annualisation.

    Returns
    -------
    dict of str to float
        ``total_return`` (final / initial − 1), ``cagr``, ``sharpe`` (mean / std(ddof=1) ×
        √bars_per_year), ``sortino`` (mean / downside deviation × √bars_per_year, the downside
        deviation ``sqrt(sum(min(r, 0)²) / n)`` over *all* bars), ``calmar`` (cagr /
        max_drawdown), ``max_drawdown`` (positive fraction below the running peak, the initial
        equity counting as a peak), ``max_drawdown_bars`` (longest run of bars below the peak),
        ``ulcer_index`` (root mean square drawdown over all bars, a fraction), ``turnover``
        (traded notional per year / mean equity), ``n_trades``, ``win_rate`` (share of trades
        with P&L > 0; an open trade counts, marked at the last close), ``profit_factor``
        (winning P&L / losing P&L), ``average_trade_return`` (mean trade P&L / equity at
        entry), ``exposure`` (share of bars ending with a position), ``fees_share`` and
        ``funding_share`` (fees or funding paid / |gross P&L|, gross = net + fees + funding
        paid), ``buy_and_hold_return`` (one unit from the first possible fill to the last
        close) and ``excess_return`` (total_return − buy_and_hold_return).
    """
    per_year = bars_per_year(timeframe)
    returns = result.returns
    equity = result.equity
    n_bars = int(returns.shape[0])
    mean = float(np.mean(returns))
    std = float(np.std(returns, ddof=1)) if n_bars > 1 else math.nan
    downside = math.sqrt(float(np.sum(np.minimum(returns, 0.0) ** 2)) / n_bars)

    peak = np.maximum.accumulate(np.concatenate(([result.initial_equity], equity)))[1:]
    drawdown = 1.0 - equity / peak
    bar_index = np.arange(n_bars)
    last_peak_bar = np.maximum.accumulate(np.where(equity >= peak, bar_index, -1))
    fees_paid = float(np.sum(result.fees))
    funding_paid = float(np.sum(result.funding))
    final_equity = float(equity[-1])

    pnl = result.trade_records.pnl
    losses = -float(np.sum(pnl[pnl < 0.0]))
    values = _common_metrics(
        per_year=per_year,
        n_bars=n_bars,
        mean=mean,
        std=std,
        downside=downside,
        initial_equity=result.initial_equity,
        final_equity=final_equity,
        max_drawdown=float(np.max(drawdown)),
        max_drawdown_bars=int(np.max(bar_index - last_peak_bar)),
        ulcer_index=math.sqrt(float(np.mean(drawdown**2))),
        turnover_notional=result.turnover_notional,
        mean_equity=float(np.mean(equity)),
        n_trades=result.trades,
        exposure=float(np.count_nonzero(result.qty)) / n_bars,
        fees_paid=fees_paid,
        funding_paid=funding_paid,
        buy_and_hold_return=result.buy_and_hold_return,
    )
    n_trades = len(result.trade_records)
    values["win_rate"] = float(np.count_nonzero(pnl > 0.0)) / n_trades if n_trades else 0.0
    values["profit_factor"] = float(np.sum(pnl[pnl > 0.0])) / losses if losses > 0.0 else 0.0
    values["average_trade_return"] = (
        float(np.mean(result.trade_records.return_on_equity)) if n_trades else 0.0
    )
    return {name: values[name] for name in METRIC_NAMES}


def segment_metrics(result: SegmentResult, timeframe: str) -> dict[str, float]:
    """Return the metrics of ``SEGMENT_METRIC_NAMES`` from streaming segment statistics.

    The definitions are those of ``metrics``; the values equal ``metrics(simulate(...))`` on
    the same bars up to floating-point rounding (win rate, profit factor and average trade
    need trade records and are not included).

    Parameters
    ----------
    result : SegmentResult
        Output of ``fitness.simulate_segment``.
    timeframe : str
        Bar length for annualisation.
    """
    per_year = bars_per_year(timeframe)
    s = result.summary
    n_bars = int(s.n_bars)
    mean = s.sum_returns / n_bars
    std = math.nan  # fewer than 2 bars: no deviation, Sharpe 0 (fitness.stats.ratio)
    if n_bars > 1:
        variance = max((s.sum_squared_returns - n_bars * mean * mean) / (n_bars - 1), 0.0)
        # rounding in the streaming sums of a constant series is not variance: the Sharpe
        # rule's relative tolerance (fitness.stats.ratio) makes that Sharpe 0
        std = math.sqrt(variance)
    values = _common_metrics(
        per_year=per_year,
        n_bars=n_bars,
        mean=mean,
        std=std,
        downside=math.sqrt(s.sum_squared_negative_returns / n_bars),
        initial_equity=result.initial_equity,
        final_equity=s.final_equity,
        max_drawdown=s.max_drawdown,
        max_drawdown_bars=int(s.max_drawdown_bars),
        ulcer_index=math.sqrt(s.sum_squared_drawdown / n_bars),
        turnover_notional=s.turnover_notional,
        mean_equity=s.sum_equity / n_bars,
        n_trades=int(s.n_trades),
        exposure=s.bars_exposed / n_bars,
        fees_paid=s.fees_paid,
        funding_paid=s.funding_paid,
        buy_and_hold_return=result.buy_and_hold_return,
    )
    return {name: values[name] for name in SEGMENT_METRIC_NAMES}


def _common_metrics(
    *,
    per_year: float,
    n_bars: int,
    mean: float,
    std: float,
    downside: float,
    initial_equity: float,
    final_equity: float,
    max_drawdown: float,
    max_drawdown_bars: int,
    ulcer_index: float,
    turnover_notional: float,
    mean_equity: float,
    n_trades: int,
    exposure: float,
    fees_paid: float,
    funding_paid: float,
    buy_and_hold_return: float,
) -> dict[str, float]:
    root_year = math.sqrt(per_year)
    total_return = final_equity / initial_equity - 1.0
    cagr = _cagr(final_equity / initial_equity, n_bars / per_year)
    gross = abs(final_equity - initial_equity + fees_paid + funding_paid)
    return {
        "total_return": total_return,
        "cagr": cagr,
        "sharpe": sharpe_from_moments(mean, std) * root_year,
        "sortino": _safe_ratio(mean, downside) * root_year,
        "calmar": _safe_ratio(cagr, max_drawdown),
        "max_drawdown": max_drawdown,
        "max_drawdown_bars": float(max_drawdown_bars),
        "ulcer_index": ulcer_index,
        "turnover": _safe_ratio(turnover_notional * per_year / n_bars, mean_equity),
        "n_trades": float(n_trades),
        "exposure": exposure,
        "fees_share": _safe_ratio(fees_paid, gross),
        "funding_share": _safe_ratio(funding_paid, gross),
        "buy_and_hold_return": buy_and_hold_return,
        "excess_return": total_return - buy_and_hold_return,
    }


def _safe_ratio(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return 0.0
    return numerator / denominator


def _cagr(growth: float, years: float) -> float:
    if growth <= 0.0:
        return -1.0
    return math.expm1(min(math.log(growth) / years, _MAX_LOG_GROWTH))
