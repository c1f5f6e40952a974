"""Would acting on a forecast have paid, after costs? A long-short decile portfolio, as quants test a signal.

Each test day, for each signal (``forecaster.evaluate.cross_section.SIGNALS``) and step h: long the tenth of the
tickers with the highest predicted h-day change and short the tenth with the lowest (at least one each), equal
weights, each side the whole of the tranche's capital, held h days. Tranches overlap: every day one starts and one
ends, so the portfolio is the average of the h tranches of the last h days (each 1/h of the capital). The weights
each day, ``w[d] = mean(W[d-1], ..., W[d-h])``, earn the day's close-to-close returns; the day's turnover is
``sum |w[d] - w[d-1]|``, and each unit of it pays ``cost_bps`` basis points (a half-turn: one buy or one sell).
A day whose signal is the same for every ticker (a forecast that abstains) starts no tranche. Beside them, the
equal-weight long-only portfolio of every ticker (``universe``).

Performance (``empyrical``, the maintained fork of Quantopian's library): annualised return and volatility,
information ratio (the annualised mean over the annualised volatility of the long-short returns, which are already
excess returns), maximum drawdown; the hit rate (the share of days above 0) and the mean daily turnover.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecaster.config import DEFAULT_COST_BPS
from forecaster.evaluate.cross_section import SIGNALS

#: The default cost per half-turn, in basis points (``--cost-bps``).
COST_BPS = DEFAULT_COST_BPS
#: The long and short sides: this share of the day's tickers each.
DECILE = 0.1
#: The benchmark beside the signals: every ticker, equal weights, held.
UNIVERSE = "universe"


def daily_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Close-to-close returns, a column per ticker and a row per day (``prices``: ticker, date, close)."""
    close = prices.pivot_table(index="date", columns="ticker", values="close").sort_index()
    close.index = pd.to_datetime(close.index)
    return close.pct_change(fill_method=None)


def decile_weights(signal: pd.DataFrame) -> pd.DataFrame:
    """Per day (rows) and ticker (columns): +1/k for the k highest signals, -1/k for the k lowest, k the tenth of
    the day's tickers (at least 1); a day whose signal does not vary holds nothing.

    Example:
        >>> day = pd.DataFrame([[0.03, 0.01, -0.02, 0.0] * 3], columns=list("abcdefghijkl"))
        >>> decile_weights(day).iloc[0].to_dict()["a"], decile_weights(day).iloc[0].to_dict()["c"]
        (1.0, -1.0)
    """
    values = signal.to_numpy(np.float64)
    present = ~np.isnan(values)
    n = present.sum(axis=1)
    k = np.maximum(1, np.floor(n * DECILE)).astype(int)[:, None]
    top, bottom = _deciles(values, present, k)
    weights = top.astype(float) - bottom
    varies = np.where(present, values, -np.inf).max(axis=1) > np.where(present, values, np.inf).min(axis=1)
    weights = np.where(present, weights / k, 0.0) * (varies & (n >= 2))[:, None]
    return pd.DataFrame(weights, index=signal.index, columns=signal.columns)


def _deciles(values: np.ndarray, present: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` highest and ``k`` lowest present values (masks), ties in column order: what a stable
    sort of each row would pick, found without one."""
    return _lowest(np.where(present, -values, np.inf), k), _lowest(np.where(present, values, np.inf), k)


def _lowest(filled: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Each row's ``k`` (a column of counts, at least 1) lowest values, ties in column order (the first of equal
    values first). The kth value of each row by a partition (linear, where a sort is not), then every value below
    it and as many of those equal to it, from the left, as the row still needs."""
    if not filled.size:
        return np.zeros(filled.shape, bool)
    kth = np.unique(np.minimum(k, filled.shape[1]).ravel() - 1)  # the few ranks a day's count of tickers gives
    threshold = np.take_along_axis(np.partition(filled, kth, axis=1), np.minimum(k, filled.shape[1]) - 1, axis=1)
    below, equal = filled < threshold, filled == threshold
    wanted = k - below.sum(axis=1, keepdims=True)
    return below | (equal & (np.cumsum(equal, axis=1) <= wanted))


def long_short(signal: pd.DataFrame, returns: pd.DataFrame, horizon: int, cost_bps: float = COST_BPS) -> pd.DataFrame:
    """The daily gross and net returns and the turnover of the overlapping-tranche decile portfolio of ``signal``
    (origin days x tickers) held ``horizon`` days, over ``returns`` (days x tickers)."""
    days = returns.index
    tranche = decile_weights(signal).reindex(index=days, columns=returns.columns, fill_value=0.0).fillna(0.0)
    # The weights held on day d: the tranches started at the close of the h days before it (a running sum over
    # h days, one day late), as one numpy pass over every ticker.
    total = np.cumsum(tranche.to_numpy(np.float64), axis=0)
    window = total.copy()
    window[horizon:] -= total[:-horizon]
    held = pd.DataFrame(
        np.vstack([np.zeros((1, total.shape[1])), window[:-1]]) / horizon, index=days, columns=tranche.columns
    )
    first, last = signal.index.min(), signal.index.max()
    active = (days > first) & (days <= _day_after(days, last, horizon))
    held = held[active]
    gross = (held * returns[active].fillna(0.0)).sum(axis=1)
    turnover = held.diff().abs().sum(axis=1)
    turnover.iloc[0] = held.iloc[0].abs().sum() if len(held) else 0.0
    return pd.DataFrame({"gross": gross, "net": gross - turnover * cost_bps / 1e4, "turnover": turnover})


def _day_after(days: pd.DatetimeIndex, day: pd.Timestamp, count: int) -> pd.Timestamp:
    position = min(days.searchsorted(day) + count, len(days) - 1)
    return days[position]


def universe(returns: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The equal-weight long-only portfolio of every ticker from the day after ``start`` to ``end``."""
    days = returns[(returns.index > start) & (returns.index <= end)]
    gross = days.mean(axis=1)
    return pd.DataFrame({"gross": gross, "net": gross, "turnover": 0.0})


def performance(daily: pd.DataFrame) -> dict[str, Any]:
    """Annualised return (gross and net), volatility, information ratio (gross and net), maximum drawdown (net),
    hit rate and mean turnover of a portfolio's daily returns."""
    import empyrical

    if len(daily) < 2:
        return {"days": int(len(daily))}

    def number(value: Any) -> float | None:
        value = float(value)
        return value if np.isfinite(value) else None

    return {
        "days": int(len(daily)),
        "annual_return_gross": number(empyrical.annual_return(daily["gross"])),
        "annual_return_net": number(empyrical.annual_return(daily["net"])),
        "annual_volatility": number(empyrical.annual_volatility(daily["net"])),
        "ir_gross": number(empyrical.sharpe_ratio(daily["gross"])),
        "ir_net": number(empyrical.sharpe_ratio(daily["net"])),
        "max_drawdown": number(empyrical.max_drawdown(daily["net"])),
        "hit_rate": number((daily["net"] > 0).mean()),
        "turnover": number(daily["turnover"].mean()),
    }


def backtest(signals: pd.DataFrame, prices: pd.DataFrame, cost_bps: float = COST_BPS) -> pd.DataFrame:
    """Every signal's portfolio at every step, and the universe's: one row per day, step and signal with
    ``gross``, ``net`` and ``turnover`` (``signals``: ``cross_section.signal_frame``)."""
    returns = _held_days(daily_returns(_from_day_before(prices, signals["origin_date"].min())), signals)
    frames = []
    for step, rows in signals.groupby("step", sort=True):
        first, last = rows["origin_date"].min(), rows["origin_date"].max()
        present = [s for s in SIGNALS if s in rows]
        # Every signal's days x tickers table from one reshape (a row per ticker, origin day and step).
        by_day = rows.set_index(["origin_date", "ticker"])[present].unstack("ticker").sort_index()
        for signal in present:
            wide = by_day[signal]
            if wide.notna().to_numpy().any():
                frames.append(long_short(wide, returns, int(step), cost_bps).assign(step=int(step), signal=signal))
        frames.append(
            universe(returns, first, _day_after(returns.index, last, int(step))).assign(step=int(step), signal=UNIVERSE)
        )
    out = pd.concat(frames).rename_axis("date").reset_index()
    return out[["date", "step", "signal", "gross", "net", "turnover"]]


def _from_day_before(prices: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """``prices`` from the last day before ``first`` on: the closes the returns of the test days need (the years
    of training before them would only make every days x tickers table several times longer)."""
    dates = pd.to_datetime(prices["date"])
    before = dates[dates < first]
    return prices[dates >= before.max()] if len(before) else prices


def _held_days(returns: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """The days of ``returns`` a tranche of ``signals`` can be held on: from the first origin day to the day
    the last one ends."""
    first, last = signals["origin_date"].min(), signals["origin_date"].max()
    days = returns.index
    return returns[(days >= first) & (days <= _day_after(days, last, int(signals["step"].max())))]


def summary(daily: pd.DataFrame, cost_bps: float) -> dict[str, Any]:
    """Per step and signal, the ``performance`` of its daily returns; and the cost it was charged."""
    out: dict[str, Any] = {"cost_bps": cost_bps}
    for (step, signal), rows in daily.groupby(["step", "signal"], sort=True):
        out.setdefault(str(int(step)), {})[str(signal)] = performance(rows.set_index("date").sort_index())
    return out
