"""Portfolio allocation: correlation limit, equal risk or inverse volatility, weight/symbol caps."""

from __future__ import annotations

import numpy as np
import pytest

from evolve.errors import UsageError
from evolve.promotion.holdout import HoldoutReturns
from evolve.promotion.portfolio import PortfolioLimits, build_portfolio, equal_risk_weights

DAY_MS = 86_400_000


def _returns(spec_id: str, values: np.ndarray, symbols: tuple[str, ...] = ("BTC",), start=0):
    return HoldoutReturns(spec_id, values, start * DAY_MS, DAY_MS, "test", symbols)


def _book(rng: np.random.Generator, n_days: int = 200) -> list[HoldoutReturns]:
    a = rng.normal(0.002, 0.01, n_days)
    b = rng.normal(0.001, 0.03, n_days)
    clone = a + rng.normal(0.0, 0.001, n_days)  # correlated with a, slightly worse
    return [
        _returns("a", a, ("BTC",)),
        _returns("b", b, ("ETH",)),
        _returns("clone", clone - 0.0005, ("BTC",)),
    ]


def test_equal_risk_weights_when_uncorrelated_then_inverse_volatility() -> None:
    covariance = np.diag([0.01**2, 0.02**2, 0.04**2])
    weights = equal_risk_weights(covariance)
    expected = np.array([1 / 0.01, 1 / 0.02, 1 / 0.04])
    np.testing.assert_allclose(weights, expected / expected.sum(), rtol=1e-9)


def test_equal_risk_weights_when_correlated_then_risk_contributions_are_equal() -> None:
    covariance = np.array([[1.0, 0.5, 0.1], [0.5, 2.0, 0.3], [0.1, 0.3, 0.5]]) * 1e-4
    weights = equal_risk_weights(covariance)
    contribution = weights * (covariance @ weights)
    np.testing.assert_allclose(contribution, contribution.mean(), rtol=1e-6)


def test_build_portfolio_when_a_clone_is_too_correlated_then_it_is_excluded() -> None:
    book = _book(np.random.default_rng(0))
    portfolio = build_portfolio(book, PortfolioLimits())
    assert set(portfolio.ids) == {"a", "b"}
    assert portfolio.excluded[0][0] == "clone" and "correlation" in portfolio.excluded[0][1]
    assert sum(portfolio.weights) == pytest.approx(1.0)
    assert portfolio.correlation.shape == (2, 2)
    by_id = {r.spec_id: r.daily_returns for r in book}
    mix = sum(w * by_id[i] for i, w in zip(portfolio.ids, portfolio.weights, strict=True))
    np.testing.assert_allclose(portfolio.daily_returns, mix)


def test_build_portfolio_when_weight_capped_then_excess_moves_to_the_others() -> None:
    book = _book(np.random.default_rng(1))[:2]
    free = build_portfolio(book, PortfolioLimits(method="inverse_vol", max_weight=1.0))
    capped = build_portfolio(book, PortfolioLimits(method="inverse_vol", max_weight=0.6))
    assert max(free.weights) > 0.6
    assert max(capped.weights) == pytest.approx(0.6) and sum(capped.weights) == pytest.approx(1)


def test_build_portfolio_when_symbol_cap_cannot_hold_then_usage_error() -> None:
    rng = np.random.default_rng(2)
    book = [_returns(f"s{i}", rng.normal(0.001, 0.01, 100)) for i in range(3)]
    with pytest.raises(UsageError, match="cannot all hold"):
        build_portfolio(book, PortfolioLimits(max_symbol_exposure=0.5, max_correlation=1.0))


def test_build_portfolio_when_holdouts_do_not_overlap_then_usage_error() -> None:
    rng = np.random.default_rng(3)
    book = [
        _returns("x", rng.normal(0, 0.01, 50)),
        _returns("y", rng.normal(0, 0.01, 50), start=45),
    ]
    with pytest.raises(UsageError, match="share 5 days"):
        build_portfolio(book, PortfolioLimits())
