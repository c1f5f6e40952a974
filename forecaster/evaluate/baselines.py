"""Baseline forecasts every model metric is shown beside.

Each takes the windows and returns prices of shape (n, horizon), on the same
origins and target dates as the model's predictions, using only prices up to
each origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.columns import BAND_QUANTILES, BASELINE_NAMES
from forecaster.config import DEFAULT_MA_WINDOW
from forecaster.errors import DataError
from forecaster.prepare.windows import Windows

__all__ = ["BASELINE_NAMES", "all_baselines", "drift", "moving_average", "naive"]


def _horizon(windows: Windows) -> int:
    return windows.horizon


def naive(windows: Windows) -> np.ndarray:
    """ "Tomorrow = today": every step forecasts the origin day's adjusted close.

    On daily prices this random-walk forecast is hard to beat.
    """
    return np.repeat(windows.origin_price[:, None], _horizon(windows), axis=1)


def drift(windows: Windows) -> np.ndarray:
    """The random walk with drift: the origin price plus, per step ahead, the average daily change over the
    ticker's whole history up to the origin, ``(price[t] - price[0]) / t`` (Hyndman & Athanasopoulos,
    *Forecasting: Principles and Practice*, 5.2; StatsForecast's ``RandomWalkWithDrift``).

    Example:
        >>> w = Windows(values=np.zeros((1, 1), np.float32), starts=np.array([0]), lookback=1,
        ...             y=np.zeros((1, 2), np.float32), ticker=np.array(["T"]), origin_date=np.array([0]),
        ...             origin_price=np.array([110.0]), target_date=np.zeros((1, 2)), target_price=np.zeros((1, 2)),
        ...             target_scale=np.ones(1), origin_pos=np.array([10]), first_price=np.array([100.0]))
        >>> drift(w).tolist()
        [[111.0, 112.0]]
    """
    if windows.origin_pos is None or windows.first_price is None:
        raise DataError(
            "the random walk with drift needs each window's position and its ticker's first price: "
            "prepare the data again with this version"
        )
    days = np.maximum(windows.origin_pos, 1)
    slope = np.where(windows.origin_pos > 0, (windows.origin_price - windows.first_price) / days, 0.0)
    steps = np.arange(1, _horizon(windows) + 1)
    return windows.origin_price[:, None] + slope[:, None] * steps[None, :]


def moving_average(windows: Windows, days: int = DEFAULT_MA_WINDOW) -> np.ndarray:
    """The mean adjusted close of the last ``days`` days (at most the lookback), for every step."""
    mean = windows.history(min(days, windows.lookback)).mean(axis=1)
    return np.repeat(mean[:, None], _horizon(windows), axis=1)


def all_baselines(windows: Windows, ma_window: int = DEFAULT_MA_WINDOW) -> dict[str, np.ndarray]:
    """Every baseline's forecasts for ``windows``, by name."""
    return {"naive": naive(windows), "drift": drift(windows), "moving_average": moving_average(windows, ma_window)}


#: Tickers whose price histories are laid side by side at once (padded to the longest): bounds the memory.
BAND_CHUNK = 256


def naive_band_quantiles(train: pd.DataFrame, horizon: int) -> dict[str, list[list[float]]]:
    """Per ticker and step 1..``horizon``, the empirical quantiles of the ticker's ``h``-day log changes over
    ``train`` rows (ticker, adj_close, in date order): ``{ticker: [[lo95, lo80, hi80, hi95] per step]}``.

    ``np.quantile``'s default (linear) quantiles, found for a chunk of tickers at once: one row per ticker,
    padded with NaN (which sorts last), sorted row by row.

    Example:
        >>> train = pd.DataFrame({"ticker": ["T"] * 5, "adj_close": np.exp([0.0, 0.1, 0.0, 0.2, 0.1])})
        >>> np.round(naive_band_quantiles(train, 1)["T"][0], 3).tolist()
        [-0.1, -0.1, 0.17, 0.192]
    """
    codes, names = pd.factorize(train["ticker"], sort=True)
    order = np.argsort(codes, kind="stable")  # each ticker's rows together, in date order
    log_price = np.log(train["adj_close"].to_numpy(np.float64)[order])
    counts = np.bincount(codes, minlength=len(names))
    starts = np.cumsum(counts) - counts
    q = np.asarray(_band_order())
    found = np.full((len(names), horizon, len(q)), np.nan)
    for first in range(0, len(names), BAND_CHUNK):
        rows = slice(first, first + BAND_CHUNK)
        n = counts[rows]
        width = np.arange(int(n.max(initial=0)))
        inside = width[None, :] < n[:, None]
        table = np.where(inside, log_price[np.minimum(starts[rows][:, None] + width, len(log_price) - 1)], np.nan)
        for h in range(1, horizon + 1):
            ordered = np.sort(table[:, h:] - table[:, :-h], axis=1)
            found[rows, h - 1] = _linear_quantiles(ordered, n - h, q)
    return {str(name): found[k].tolist() for k, name in enumerate(names)}


def _linear_quantiles(ordered: np.ndarray, count: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` of each row's first ``count`` values (``ordered`` sorted ascending), as ``np.quantile``'s
    linear method computes them, its interpolation included; NaN for a row without values."""
    position = q[None, :] * np.maximum(count - 1, 0)[:, None]
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(count - 1, 0)[:, None])
    share = position - below
    rows = np.arange(len(ordered))[:, None]
    if ordered.shape[1] == 0:
        return np.full((len(ordered), len(q)), np.nan)
    a, b = ordered[rows, below], ordered[rows, above]
    value = np.where(share >= 0.5, b - (b - a) * (1 - share), a + (b - a) * share)
    return np.where(count[:, None] > 0, value, np.nan)


def _band_order() -> list[float]:
    """The band quantiles in the order ``naive_band_quantiles`` stores them: lo95, lo80, hi80, hi95."""
    return [BAND_QUANTILES[95][0], BAND_QUANTILES[80][0], BAND_QUANTILES[80][1], BAND_QUANTILES[95][1]]


def naive_bands(windows: Windows, quantiles: dict[str, list[list[float]]]) -> dict[str, np.ndarray]:
    """The naive forecast's constant-width bands around each origin price: ``naive_lo80`` .. ``naive_hi95``,
    each (n, horizon); NaN for a ticker without quantiles."""
    horizon = _horizon(windows)
    # One row of quantiles per ticker, looked up for every window at once (a loop over tickers comparing every
    # window's ticker grows with the square of the universe).
    known = pd.Index(list(quantiles))
    rows = np.full((len(known) + 1, horizon, 4), np.nan)  # the last row: a ticker without quantiles
    for k, per_step in enumerate(quantiles.values()):
        rows[k] = np.asarray(per_step)[:horizon, :]
    position = known.get_indexer(np.asarray(windows.ticker, dtype=str))
    table = rows[np.where(position >= 0, position, len(known))]
    origin = windows.origin_price[:, None]
    return {
        "naive_lo95": origin * np.exp(table[..., 0]),
        "naive_lo80": origin * np.exp(table[..., 1]),
        "naive_hi80": origin * np.exp(table[..., 2]),
        "naive_hi95": origin * np.exp(table[..., 3]),
    }
