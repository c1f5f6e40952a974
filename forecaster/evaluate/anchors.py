"""The factor anchors: the simple signals any daily forecast of changes must beat at ranking stocks.

Each is a predicted change (higher: expected to rise more), from prices up to the origin day only:

- ``reversal_1d``: minus the last day's return (stocks that fell yesterday tend to rebound);
- ``reversal_5d``: minus the last five days' return;
- ``momentum_20d``: the last twenty days' return.

They stand beside the model, the random walk with drift and GARCH's mean in the cross-sectional tests
(``forecaster.evaluate.cross_section``) and the portfolio backtest (``forecaster.evaluate.portfolio``).
"""

from __future__ import annotations

import pandas as pd

#: The anchors and the days of return each reads.
ANCHORS: dict[str, int] = {"reversal_1d": 1, "reversal_5d": 5, "momentum_20d": 20}


def anchor_signals(prices: pd.DataFrame) -> pd.DataFrame:
    """Each anchor at every day of ``prices`` (``ticker``, ``date``, ``close``: adjusted closes): one row per
    ticker and day, the day as ``origin_date``; NaN until a ticker has the days an anchor reads.

    Example:
        >>> prices = pd.DataFrame({"ticker": "A", "date": pd.bdate_range("2020-01-01", periods=6),
        ...                        "close": [100.0, 110.0, 99.0, 99.0, 99.0, 99.0]})
        >>> anchor_signals(prices)[["reversal_1d", "reversal_5d"]].round(3).iloc[[1, 2, 5]].values.tolist()
        [[-0.1, nan], [0.1, nan], [-0.0, 0.01]]
    """
    frame = prices[["ticker", "date", "close"]].sort_values(["ticker", "date"]).reset_index(drop=True)
    by_ticker = frame.groupby("ticker", sort=False)["close"]
    out = pd.DataFrame({"ticker": frame["ticker"].astype(str), "origin_date": pd.to_datetime(frame["date"])})
    for name, days in ANCHORS.items():
        change = frame["close"] / by_ticker.shift(days) - 1
        out[name] = change if name.startswith("momentum") else -change
    return out
