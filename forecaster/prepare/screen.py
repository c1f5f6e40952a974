"""Tickers that cannot be modelled or scored, found from the cached prices before Spark starts.

An illiquid stock's adjusted close stands still on most days. Such a series breaks what every ticker needs: a
train volatility to scale by (none, for a price that never moves), a naive band with a width (none when the
price is unchanged over h days on more than 80% of training days: the 10% and 90% quantiles of its h-day changes
are both 0), and a test period in which naive's error is not 0. So before Spark starts, each ticker's cached
adjusted closes are cut into the stretches the run will use - train, validation (the last ``--val-share`` of
the days before the test start) and test - and a ticker is left out, with its reason, when

- its adjusted close never changes (a constant series);
- it changes on fewer than ``MIN_MOVES`` days of one of the three stretches, and on fewer than
  ``MIN_MOVE_SHARE`` of its days (a short history that moves every day is not illiquid: Spark's history check
  names it if it is too short);
- its naive 80% or 95% band has no width at some step (the quantiles ``naive_band_quantiles`` takes of its
  training h-day changes, in ``forecaster.evaluate.baselines``).

The stretches here count every cached day; Spark's exact cut (which also drops the days a feature needs for its
history) differs by a few days at most, which moves these counts by as little. Tickers left out are named in the
model card's ``skipped_tickers``, the run's output and the dashboard's model card, like too-short histories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.columns import BAND_QUANTILES

#: The fewest days with a change of the adjusted close that each of the train, validation and test stretches
#: needs: fewer, and the train volatility, the validation loss or the test metrics rest on a handful of days.
MIN_MOVES = 20
#: ... unless the price changes on at least this share of the stretch's days.
MIN_MOVE_SHARE = 0.5


def stretches(dates: pd.Series, test_start: str, val_share: float) -> pd.Series:
    """Each day's stretch, ``train``, ``val`` or ``test``, as the run cuts them (every day counted).

    Example:
        >>> days = pd.Series(pd.bdate_range("2020-01-01", periods=10))
        >>> stretches(days, "2020-01-13", 0.25).tolist()
        ['train', 'train', 'train', 'train', 'train', 'train', 'val', 'val', 'test', 'test']
    """
    test = (dates >= pd.Timestamp(test_start)).to_numpy()
    before = int((~test).sum())
    first_val = before - int(round(before * val_share))
    position = np.arange(len(dates))
    return pd.Series(np.where(test, "test", np.where(position >= first_val, "val", "train")), index=dates.index)


def _band_without_width(train_close: np.ndarray, horizon: int) -> str | None:
    log_price = np.log(train_close)
    for h in range(1, horizon + 1):
        changes = log_price[h:] - log_price[:-h]
        if len(changes) == 0:
            return None  # too short: Spark names it
        # Every level's quantiles in one call: one partial sort of the changes, not one per quantile.
        bounds = np.quantile(changes, [q for pair in BAND_QUANTILES.values() for q in pair]).reshape(-1, 2)
        for level, (low, high) in zip(BAND_QUANTILES, bounds, strict=True):
            if low == high:
                still = float(np.mean(changes == 0))
                return (
                    f"its naive {level}% band has no width at step {h}: the price is unchanged over {h} "
                    f"day{'s' if h > 1 else ''} on {still:.0%} of training days"
                )
    return None


def reason(prices: pd.DataFrame, test_start: str, horizon: int, val_share: float) -> str | None:
    """Why one ticker's prices (``date``, ``adj_close``, in date order) cannot be modelled or scored, or None.

    Example:
        >>> days = pd.bdate_range("2020-01-01", periods=400)
        >>> reason(pd.DataFrame({"date": days, "adj_close": 10.0}), "2020-10-01", 5, 0.15)
        'its adjusted close never changes (a constant series)'
    """
    close = prices["adj_close"].to_numpy(np.float64)
    if len(close) < 2:
        return None  # too short: Spark names it, with the history it lacks
    moved = np.r_[False, close[1:] != close[:-1]]
    if not moved.any():
        return "its adjusted close never changes (a constant series)"
    cut = stretches(prices["date"].reset_index(drop=True), test_start, val_share).to_numpy()
    for name, label in (("train", "training"), ("val", "validation"), ("test", "test")):
        days = int((cut == name).sum())
        moves = int(moved[cut == name].sum())
        if days and moves < MIN_MOVES and moves < MIN_MOVE_SHARE * days:
            return (
                f"its adjusted close changes on only {moves} of {days} {label} days (it needs {MIN_MOVES}, or "
                f"{MIN_MOVE_SHARE:.0%} of them: an illiquid stock)"
            )
    return _band_without_width(close[cut == "train"], horizon)


def screen(series: dict[str, pd.DataFrame], test_start: str, horizon: int, val_share: float) -> dict[str, str]:
    """The tickers of ``series`` (ticker -> its cached ``date`` and ``adj_close``) that cannot be modelled or
    scored, each with its reason."""
    found = {ticker: reason(prices, test_start, horizon, val_share) for ticker, prices in series.items()}
    return {ticker: why for ticker, why in found.items() if why is not None}
