"""Cut the prepared long table into model windows with numpy views, batch by batch.

A window for origin day ``t`` holds the scaled features of days ``t-L+1 .. t`` (L =
lookback) and, as its target, the log change of the adjusted close from ``t`` to
each of ``t+1 .. t+H`` (H = horizon) divided by the ticker's train volatility, so
one global model can learn across tickers of very different price levels. The
forecast price is ``adj_close[t] * exp(prediction * target_scale)``: a prediction
of 0 is the naive "tomorrow = today" forecast.

Windows are never all materialised: ``Windows`` keeps the split's feature rows once
and the start row of each window; ``batch`` copies out only the windows asked for,
through a ``sliding_window_view`` of the rows. ``WindowDataset`` feeds Keras that way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from numpy.lib.stride_tricks import sliding_window_view

from forecaster.columns import SPLITS, feature_column
from forecaster.errors import ArtifactError, DataError


@dataclass
class Windows:
    """One split's windows: feature rows, window starts, targets and what turns predictions into prices."""

    values: np.ndarray  # (rows, features) float32: the split's scaled feature rows, tickers one after another
    starts: np.ndarray  # (n,) int64: row of each window's first input day
    lookback: int
    y: np.ndarray  # (n, horizon) float32, scaled log change; NaN where the day is past the data
    ticker: np.ndarray  # (n,) str
    origin_date: np.ndarray  # (n,) datetime64[ns]: the last input day
    origin_price: np.ndarray  # (n,) adjusted close on the origin day
    target_date: np.ndarray  # (n, horizon) datetime64[ns], NaT past the data
    target_price: np.ndarray  # (n, horizon) adjusted close, NaN past the data
    target_scale: np.ndarray  # (n,) the ticker's train volatility
    prices: np.ndarray | None = None  # (rows,) adjusted close of every row, for history-based baselines
    origin_pos: np.ndarray | None = None  # (n,) the origin's position among its ticker's usable days (0 = first)
    first_price: np.ndarray | None = None  # (n,) the ticker's first usable adjusted close

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, index: np.ndarray | slice) -> np.ndarray:
        """Inputs of the windows at ``index``: (k, lookback, features), a copy of just those windows."""
        view = sliding_window_view(self.values, (self.lookback, self.values.shape[1]))[:, 0]
        return view[self.starts[index]]

    @property
    def x(self) -> np.ndarray:
        """All inputs at once; fine for one ticker, use ``batch`` or ``WindowDataset`` for many."""
        return self.batch(slice(None))

    def history(self, days: int) -> np.ndarray:
        """Adjusted closes of the ``days`` days ending on each origin (n, days); ``days <= lookback``."""
        if not 1 <= days <= self.lookback or self.prices is None:
            raise DataError(f"a history of {days} days needs 1 <= days <= lookback ({self.lookback})")
        origins = self.starts + self.lookback - 1
        return sliding_window_view(self.prices, days)[origins - days + 1]

    def subset(self, mask: np.ndarray) -> Windows:
        """The windows where ``mask`` is true (sharing the feature rows)."""
        per_window = (
            "starts",
            "y",
            "ticker",
            "origin_date",
            "origin_price",
            "target_date",
            "target_price",
            "target_scale",
            "origin_pos",
            "first_price",
        )
        parts: dict[str, Any] = {
            name: None if getattr(self, name) is None else getattr(self, name)[mask] for name in per_window
        }
        return Windows(values=self.values, lookback=self.lookback, prices=self.prices, **parts)

    def to_prices(self, scaled: np.ndarray) -> np.ndarray:
        """Turn scaled log-change predictions (n, horizon) back into adjusted-close prices."""
        return self.origin_price[:, None] * np.exp(scaled * self.target_scale[:, None])


def read_split(table_path: Path, split: str, features: tuple[str, ...]) -> pd.DataFrame:
    """Read one split of the prepared table, sorted by ticker and position."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    columns = ["ticker", "date", "pos", "adj_close", "first_adj", "target_scale", *map(feature_column, features)]
    try:
        # Tickers as a dictionary column: one string per ticker, not one per row.
        table = pq.read_table(
            table_path, columns=columns, filters=[("split", "=", split)], read_dictionary=["ticker"]
        ).to_pandas(date_as_object=False)  # dates as datetime64, not a Python object per row
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{table_path}: damaged or missing prepared table ({exc})") from exc
    table["date"] = pd.to_datetime(table["date"]).astype("datetime64[ns]")
    # Categories in alphabetical order, so windows come in the same order whatever the file layout.
    table["ticker"] = pd.Categorical(table["ticker"], categories=sorted(table["ticker"].cat.categories))
    return table.take(_ticker_order(table["ticker"].cat.codes.to_numpy(), table["pos"].to_numpy())).reset_index(
        drop=True
    )


def _ticker_order(codes: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The rows in (ticker code, position) order. Spark writes each ticker's rows together, in position order, in
    one file: then only the tickers' runs are put in order (linear; a sort of millions of rows cost 30 times
    more for 5 times the rows); otherwise every row is sorted.

    Example:
        >>> _ticker_order(np.array([1, 1, 0, 0]), np.array([0, 1, 0, 1])).tolist()
        [2, 3, 0, 1]
    """
    if len(codes) == 0:
        return np.arange(0)
    firsts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    same_run = np.r_[False, codes[1:] == codes[:-1]]
    whole_runs = len(firsts) == len(np.unique(codes)) and bool(np.all(np.diff(pos)[same_run[1:]] > 0))
    if not whole_runs:
        return np.lexsort((pos, codes))  # stable, by code then position
    lengths = np.diff(np.r_[firsts, len(codes)])
    runs = np.argsort(codes[firsts], kind="stable")
    starts, sizes = firsts[runs], lengths[runs]
    return np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(len(codes))


def read_prepared(table_path: Path, features: tuple[str, ...]) -> pd.DataFrame:
    """Read every split of the prepared table (with a ``split`` column), sorted by ticker and position."""
    frames = [read_split(table_path, split, features).assign(split=split) for split in SPLITS]
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["ticker", "pos"], kind="stable").reset_index(drop=True)


def make_windows(
    table: pd.DataFrame, split: str, features: tuple[str, ...], lookback: int, horizon: int, last_only: bool = False
) -> Windows:
    """All windows of ``split`` across tickers (``table`` may hold other splits too).

    Train and validation windows have all ``horizon`` targets; test windows exist for
    every test day as a one-step target, with later steps NaN past the data's end.
    ``last_only`` gives one window per ticker whose origin is its last day: the
    forecast beyond the data (all targets NaN).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rows = table[table["split"] == split] if "split" in table else table
    rows = rows.reset_index(drop=True)
    full_targets = split != "test"
    starts, origins = [], []
    for _, segment in rows.groupby("ticker", sort=True, observed=True).indices.items():
        first, count = int(segment[0]), len(segment)
        # Origins t (segment-relative) from lookback-1 to the last day with a target.
        last_origin = count - 1 if last_only else count - 1 - (horizon if full_targets else 1)
        if last_origin >= lookback - 1:
            local = np.arange(last_origin if last_only else lookback - 1, last_origin + 1)
            origins.append(first + local)
            starts.append(first + local - (lookback - 1))
    if not origins:
        raise DataError(f"no {split} windows: every ticker's {split} split is shorter than lookback + horizon")
    origin = np.concatenate(origins)
    price = rows["adj_close"].to_numpy(np.float64)
    dates = rows["date"].to_numpy("datetime64[ns]")
    tickers = rows["ticker"].to_numpy(object)  # references to one string per ticker
    # Tickers as numbers to compare: comparing millions of string objects cost more than the rest of the windows.
    codes = pd.factorize(rows["ticker"])[0].astype(np.int32)
    # The (windows, horizon) arrays are made in place where they can be: at millions of windows each is tens of
    # MB, and fresh memory costs more than the arithmetic.
    clipped = origin[:, None] + np.arange(1, horizon + 1)[None, :]
    outside = clipped >= len(rows)
    np.minimum(clipped, len(rows) - 1, out=clipped)
    outside |= codes[clipped] != codes[origin][:, None]  # never a target from the next ticker
    target_price = price[clipped]
    target_price[outside] = np.nan
    target_date = dates[clipped]
    target_date[outside] = np.datetime64("NaT")
    scale = rows["target_scale"].to_numpy(np.float64)[origin]
    y = target_price / price[origin][:, None]
    np.log(y, out=y)
    y /= scale[:, None]
    return Windows(
        values=rows[list(map(feature_column, features))].to_numpy(np.float32),
        starts=np.concatenate(starts),
        lookback=lookback,
        y=y.astype(np.float32),
        ticker=tickers[origin],
        origin_date=dates[origin],
        origin_price=price[origin],
        target_date=target_date,
        target_price=target_price,
        target_scale=scale,
        prices=price,
        origin_pos=rows["pos"].to_numpy(np.int64)[origin] if "pos" in rows else None,
        first_price=rows["first_adj"].to_numpy(np.float64)[origin] if "first_adj" in rows else None,
    )


def load_windows(table_path: Path, split: str, features: tuple[str, ...], lookback: int, horizon: int) -> Windows:
    """Read one split from Parquet and index its windows."""
    return make_windows(read_split(table_path, split, features), split, features, lookback, horizon)


def window_dataset(windows: Windows, batch_size: int, shuffle: bool = False, seed: int = 0, copies: int = 0):
    """A ``keras.utils.PyDataset`` over ``windows`` (Keras is imported only here); with ``copies``, the targets
    come as that many references to one array, one per output of a multi-output model."""
    import keras

    class WindowDataset(keras.utils.PyDataset):
        """Batches of (inputs, targets) cut on demand; reshuffled each epoch with a seeded generator."""

        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self._rng = np.random.default_rng(seed)
            self._order = self._rng.permutation(len(windows)) if shuffle else np.arange(len(windows))

        def __len__(self) -> int:
            return math.ceil(len(windows) / batch_size)

        def __getitem__(self, index: int):
            chosen = self._order[index * batch_size : (index + 1) * batch_size]
            targets = windows.y[chosen]
            return windows.batch(chosen), (tuple([targets] * copies) if copies else targets)

        def on_epoch_end(self) -> None:
            if shuffle:
                self._order = self._rng.permutation(len(windows))

    return WindowDataset()
