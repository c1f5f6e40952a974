"""Synthetic price files for the tests and benchmarks: random walks, and illiquid tickers whose price stands still
on a given share of days."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.prepare.windows import Windows

YAHOO_COLUMNS = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]


def price_frame(days: pd.DatetimeIndex, close: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A Yahoo-layout table for ``close`` (the adjusted close): opens, highs and lows around it, a volume, and a
    day without a change of price traded at its close with no volume."""
    still = np.r_[False, close[1:] == close[:-1]]
    spread = np.where(still, 0.0, np.abs(rng.normal(0, 0.006, len(days))))
    open_ = np.where(still, close, close * (1 + rng.normal(0, 0.004, len(days))))
    frame = pd.DataFrame(
        {
            "Date": days.strftime("%Y-%m-%d"),
            "Open": open_,
            "Close": close,
            "Adj Close": close,
            "Volume": np.where(still, 0, rng.integers(1e4, 1e6, len(days))),
        }
    )
    frame["High"] = frame[["Open", "Close"]].max(axis=1) * (1 + spread)
    frame["Low"] = frame[["Open", "Close"]].min(axis=1) * (1 - spread)
    return frame[YAHOO_COLUMNS]


def illiquid_close(days: int, still_share: float, rng: np.random.Generator, start: float = 12.0) -> np.ndarray:
    """An adjusted close unchanged on ``still_share`` of the days (1.0: a constant series), moving by about 2% (at
    least a cent) on the others."""
    moves = rng.random(days) >= still_share
    moves[0] = False
    close = start * np.exp(np.cumsum(np.where(moves, rng.normal(0, 0.02, days), 0.0)))
    close = np.round(close, 2)
    for day in np.flatnonzero(moves):  # a move that rounds to no change is a tick
        if close[day] == close[day - 1]:
            close[day:] += 0.01
    return close


def write_tickers(
    folder: Path, tickers: dict[str, float], days: int = 1500, first: str = "2015-01-02", seed: int = 0
) -> list[Path]:
    """Yahoo-layout CSV files in ``folder``, one per ticker: ``{ticker: share of days the price stands still}``
    (0: a random walk with realistic volatility). Returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    dates = pd.bdate_range(first, periods=days)
    paths = []
    for k, (ticker, still) in enumerate(tickers.items()):
        rng = np.random.default_rng(seed + k)
        close = (
            30 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, days))) if still == 0 else illiquid_close(days, still, rng)
        )
        path = folder / f"{ticker}.csv"
        price_frame(dates, close, rng).to_csv(path, index=False)
        paths.append(path)
    return paths


def hand_windows(
    tickers: tuple[str, str, str] = ("T", "T", "T"),
    origin_pos: np.ndarray | None = None,
    first_price: np.ndarray | None = None,
) -> Windows:
    """Three one-step windows (lookback 2) over prices 9, 10, 11, 10.5, 12, for numbers worked out by hand."""
    dates = np.array(["2019-12-31", "2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06"], dtype="datetime64[ns]")
    prices = np.array([9.0, 10.0, 11.0, 10.5, 12.0])
    origins = np.array([1, 2, 3])
    return Windows(
        values=np.zeros((5, 1), np.float32),
        starts=origins - 1,
        lookback=2,
        y=np.zeros((3, 1), np.float32),
        ticker=np.array(tickers),
        origin_date=dates[origins],
        origin_price=prices[origins],
        target_date=dates[origins + 1, None],
        target_price=prices[origins + 1, None],
        target_scale=np.ones(3),
        prices=prices,
        origin_pos=origins if origin_pos is None else origin_pos,
        first_price=np.full(3, 9.0) if first_price is None else first_price,
    )
