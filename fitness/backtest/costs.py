"""The cost model a backtest is judged under: fees, slippage, latency, leverage, funding.

Defaults are Binance USDⓈ-M perpetual futures, regular user (VIP 0) tier; see ``CostModel``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Source of the default fee rates (Binance USDⓈ-M futures fee schedule, VIP 0, no BNB discount)
BINANCE_FUTURES_FEE_URL = "https://www.binance.com/en/fee/futureFee"

# Upper bound of the volatility-scaled slippage at one fill: keeps a sell fill's price positive
MAX_EFFECTIVE_SLIPPAGE = 0.5


class CostModel(BaseModel):
    """Trading costs and execution assumptions of one backtest (DESIGN §2).

    Every rate is a fraction (0.0005 = 0.05 % = 5 bps). The executed fill at the open of bar
    ``t`` pays ``price = open[t] * (1 + slippage_t * sign(d))`` plus ``fee_rate * |d| * price``
    where ``slippage_t = min(slippage + slippage_volatility_multiplier *
    |close[t-1] / close[t-2] - 1|, MAX_EFFECTIVE_SLIPPAGE)`` (the volatility term uses only
    closes known before the fill and is 0 for the first two bars of a series or segment).

    Raises
    ------
    pydantic.ValidationError
        (a ``ValueError``) naming the field when a value is out of range or a key is unknown.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    taker_fee: float = Field(
        default=0.0005,
        ge=0.0,
        lt=0.1,
        description=(
            "Taker fee as a fraction of traded notional. Default 0.0005 (0.0500 %): Binance "
            f"USDⓈ-M futures, regular user / VIP 0, {BINANCE_FUTURES_FEE_URL}"
        ),
    )
    maker_fee: float = Field(
        default=0.0002,
        ge=0.0,
        lt=0.1,
        description=(
            "Maker fee as a fraction of traded notional. Default 0.0002 (0.0200 %): Binance "
            f"USDⓈ-M futures, regular user / VIP 0, {BINANCE_FUTURES_FEE_URL}"
        ),
    )
    use_maker: bool = Field(
        default=False,
        description="Charge the maker fee instead of the taker fee (resting limit-order fills).",
    )
    slippage: float = Field(
        default=0.0002,
        ge=0.0,
        lt=0.1,
        description=(
            "Adverse price move per fill as a fraction of the open (0.0002 = 2 bps): buys fill "
            "at open * (1 + slippage), sells at open * (1 - slippage)."
        ),
    )
    slippage_volatility_multiplier: float = Field(
        default=0.0,
        ge=0.0,
        le=100.0,
        description=(
            "Extra slippage per unit of the last known absolute close-to-close return "
            "|close[t-1] / close[t-2] - 1| at a fill at bar t (0 disables volatility scaling); "
            f"the effective slippage is capped at {MAX_EFFECTIVE_SLIPPAGE}."
        ),
    )
    latency_bars: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Extra bars between a signal and its fill: s[t] fills at open[t + 1 + L].",
    )
    leverage: float = Field(
        default=1.0,
        gt=0.0,
        le=125.0,
        description="Notional per unit of equity at target 1.0 (Binance's maximum is 125).",
    )
    funding: bool = Field(
        default=True,
        description="Settle perpetual funding (longs pay a positive rate, shorts receive it).",
    )

    @property
    def fee_rate(self) -> float:
        """Return the fee rate charged on every fill: the maker fee if ``use_maker``, else taker."""
        return self.maker_fee if self.use_maker else self.taker_fee

    @classmethod
    def zero(cls, **overrides: object) -> CostModel:
        """Return a cost model with no fees, no slippage and no funding (tests, baselines)."""
        values: dict[str, object] = {
            "taker_fee": 0.0,
            "maker_fee": 0.0,
            "slippage": 0.0,
            "funding": False,
        }
        values.update(overrides)
        return cls.model_validate(values)
