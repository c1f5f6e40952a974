"""Cut the prepared long table into model windows with numpy views.

A window for origin day ``t`` holds the scaled features of days ``t-L+1 .. t`` (L =
lookback) and, as its target, the log change of the adjusted close from ``t`` to
each of ``t+1 .. t+H`` (H = horizon) divided by the ticker's train volatility, so
one global model can learn across tickers of very different price levels. The
forecast price is ``adj_close[t] * exp(prediction * target_scale)``: a prediction
of 0 is the naive "tomorrow = today" forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from forecaster.artifacts import read_parquet
from forecaster.preparation import feature_column

SPLITS = ("train", "val", "test")


@dataclass
class Windows:
    """Model inputs and targets plus what is needed to turn predictions back into prices."""

    x: np.ndarray  # (n, lookback, features) float32
    y: np.ndarray  # (n, horizon) float32, scaled log change; NaN where the day is past the data
    ticker: np.ndarray  # (n,) str
    origin_date: np.ndarray  # (n,) datetime64[ns]: the last input day
    origin_price: np.ndarray  # (n,) adjusted close on the origin day
    target_date: np.ndarray  # (n, horizon) datetime64[ns], NaT past the data
    target_price: np.ndarray  # (n, horizon) adjusted close, NaN past the data
    target_scale: np.ndarray  # (n,) the ticker's train volatility

    def __len__(self) -> int:
        return len(self.x)

    def to_prices(self, scaled: np.ndarray) -> np.ndarray:
        """Turn scaled log-change predictions (n, horizon) back into adjusted-close prices."""
        return self.origin_price[:, None] * np.exp(scaled * self.target_scale[:, None])


def read_prepared(table_path: Path, features: tuple[str, ...]) -> pd.DataFrame:
    """Read the prepared table sorted by ticker and position."""
    columns = ["ticker", "date", "pos", "split", "adj_close", "target_scale", *map(feature_column, features)]
    table = read_parquet(table_path, columns=columns)
    table["date"] = pd.to_datetime(table["date"])
    return table.sort_values(["ticker", "pos"], kind="stable").reset_index(drop=True)


def _cut(segment: pd.DataFrame, features: tuple[str, ...], lookback: int, horizon: int,
         full_targets: bool) -> Windows | None:
    """Windows over one ticker's contiguous split segment (rows sorted by position)."""
    rows = len(segment)
    last_origin = rows - 1 - (horizon if full_targets else 1)
    n = last_origin - (lookback - 1) + 1
    if n <= 0:
        return None
    values = segment[list(map(feature_column, features))].to_numpy(np.float32)
    x = sliding_window_view(values, (lookback, len(features)))[:n, 0]
    origins = np.arange(lookback - 1, lookback - 1 + n)
    steps = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    inside = steps < rows
    clipped = np.minimum(steps, rows - 1)
    price = segment["adj_close"].to_numpy(np.float64)
    dates = segment["date"].to_numpy("datetime64[ns]")
    scale = segment["target_scale"].to_numpy(np.float64)
    target_price = np.where(inside, price[clipped], np.nan)
    y = np.log(target_price / price[origins][:, None]) / scale[origins][:, None]
    return Windows(
        x=np.ascontiguousarray(x), y=y.astype(np.float32),
        ticker=segment["ticker"].to_numpy(str)[origins], origin_date=dates[origins],
        origin_price=price[origins], target_date=np.where(inside, dates[clipped], np.datetime64("NaT")),
        target_price=target_price, target_scale=scale[origins],
    )


def concat(parts: list[Windows]) -> Windows:
    """Join window sets (from several tickers) into one."""
    fields = Windows.__dataclass_fields__
    return Windows(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def make_windows(table: pd.DataFrame, split: str, features: tuple[str, ...], lookback: int,
                 horizon: int) -> Windows:
    """All windows of ``split`` across tickers.

    Train and validation windows have all ``horizon`` targets; test windows exist for
    every test day as a one-step target, with later steps NaN past the data's end.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    parts = []
    for _, segment in table[table["split"] == split].groupby("ticker", sort=True):
        part = _cut(segment, features, lookback, horizon, full_targets=split != "test")
        if part is not None:
            parts.append(part)
    if not parts:
        raise ValueError(f"no {split} windows: every ticker's {split} split is shorter than lookback + horizon")
    return concat(parts)
