"""Skill across tickers: does the forecast rank stocks, and would trading on it have paid after costs?

Puts together the cross-sectional information coefficients (``forecaster.evaluate.cross_section``) and the
long-short portfolio backtest (``forecaster.evaluate.portfolio``) of a run's backtest, on the days with at least
``min_tickers`` tickers; a run with fewer says why both are absent. ``cross_section.parquet`` and
``portfolio.parquet`` keep the daily values the summaries come from (the dashboard's Skill tab draws them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecaster.evaluate import cross_section, portfolio


@dataclass(frozen=True)
class Skill:
    """The daily values (None when absent) and the report's ``summary.cross_section`` and ``summary.portfolio``."""

    daily_ic: pd.DataFrame | None
    daily_returns: pd.DataFrame | None
    cross_section: dict[str, Any]
    portfolio: dict[str, Any]


def absent_reason(tickers_per_day: int, min_tickers: int) -> str:
    """Why the cross-sectional parts of a run are absent.

    Example:
        >>> absent_reason(4, 30)
        'at most 4 tickers on a day; the cross-sectional tests and the portfolio need 30 (--min-cross-section)'
    """
    return (
        f"at most {tickers_per_day} ticker{'s' if tickers_per_day != 1 else ''} on a day; the cross-sectional "
        f"tests and the portfolio need {min_tickers} (--min-cross-section)"
    )


def assess(predictions: pd.DataFrame, prices: pd.DataFrame, min_tickers: int, cost_bps: float) -> Skill:
    """The cross-sectional skill of every signal in ``predictions`` (the backtest), with ``prices`` (ticker, date,
    close: the adjusted closes up to each origin and after it) for the anchors and the portfolio's returns."""
    if predictions.empty:
        return _absent(0, min_tickers, cost_bps)
    signals = cross_section.signal_frame(predictions, prices)
    # Each day's (step and origin) count of tickers by one bincount (a row per ticker, day and step); a filter
    # of the signals only where a day has too few: each copies every column of millions of rows.
    day = signals.groupby(["step", "origin_date"], sort=False).ngroup().to_numpy()
    counts = np.bincount(day)[day]
    most = int(counts.max(initial=0))
    if most < min_tickers:
        return _absent(most, min_tickers, cost_bps)
    daily = cross_section.daily_ic(signals, min_tickers)
    enough = counts >= min_tickers
    returns = portfolio.backtest(signals if enough.all() else signals[enough], prices, cost_bps)
    return Skill(
        daily,
        returns,
        {"min_tickers": min_tickers, **cross_section.summary(daily)},
        portfolio.summary(returns, cost_bps),
    )


def _absent(tickers_per_day: int, min_tickers: int, cost_bps: float) -> Skill:
    reason = {"absent": absent_reason(tickers_per_day, min_tickers)}
    return Skill(None, None, reason, {**reason, "cost_bps": cost_bps})
