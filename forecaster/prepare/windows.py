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
    # (n, horizon) datetime64[ns], NaT past the data; None for windows cut without them (training's)
    target_date: np.ndarray | None
    target_price: np.ndarray | None  # (n, horizon) adjusted close, NaN past the data; None as target_date
    target_scale: np.ndarray  # (n,) the ticker's train volatility
    prices: np.ndarray | None = None  # (rows,) adjusted close of every row, for history-based baselines
    origin_pos: np.ndarray | None = None  # (n,) the origin's position among its ticker's usable days (0 = first)
    first_price: np.ndarray | None = None  # (n,) the ticker's first usable adjusted close

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def horizon(self) -> int:
        """Steps ahead per window."""
        return int(self.y.shape[1])

    def targets(self) -> tuple[np.ndarray, np.ndarray]:
        """(target_date, target_price), each (n, horizon); an error for windows cut with ``targets=False``."""
        if self.target_date is None or self.target_price is None:
            raise DataError("these windows were cut without their target dates and prices (targets=False)")
        return self.target_date, self.target_price

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
    """Read one split of the prepared table: each ticker's rows together, in position order (the tickers in the
    order of the files; ``make_windows`` orders the windows by ticker name whatever that order)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    columns = ["ticker", "date", "pos", "adj_close", "first_adj", "target_scale", *map(feature_column, features)]
    try:
        # Tickers as a dictionary column: one string per ticker, not one per row; dates as datetime64[ns], not a
        # Python object per row.
        table = pq.read_table(
            table_path, columns=columns, filters=[("split", "=", split)], read_dictionary=["ticker"]
        ).to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{table_path}: damaged or missing prepared table ({exc})") from exc
    if table["date"].dtype != "datetime64[ns]":
        table["date"] = pd.to_datetime(table["date"]).astype("datetime64[ns]")
    # Categories in alphabetical order, so windows come in the same order whatever the file layout.
    table["ticker"] = pd.Categorical(table["ticker"], categories=sorted(table["ticker"].cat.categories))
    codes, pos = table["ticker"].cat.codes.to_numpy(), table["pos"].to_numpy()
    if _whole_runs(codes, pos):
        # Spark writes each ticker's rows together, in position order: kept as they are (putting millions of rows
        # in ticker order copies every column, the largest cost of cutting the windows at thousands of tickers).
        return table
    return table.take(np.lexsort((pos, codes))).reset_index(drop=True)


def _whole_runs(codes: np.ndarray, pos: np.ndarray) -> bool:
    """Whether each ticker's rows (``codes``) are together, in increasing position.

    Example:
        >>> _whole_runs(np.array([1, 1, 0, 0]), np.array([0, 1, 0, 1])), _whole_runs(np.array([1, 0, 1]), np.zeros(3))
        (True, False)
    """
    same_run = codes[1:] == codes[:-1]
    return _together(codes) and bool(np.all(np.diff(pos)[same_run] > 0))


def _together(codes: np.ndarray) -> bool:
    """Whether each code's rows are one run: as many runs as codes (counted, not sorted: millions of rows)."""
    runs = len(codes) - int(np.count_nonzero(codes[1:] == codes[:-1]))
    return runs == int(np.count_nonzero(np.bincount(codes)))


def read_prepared(table_path: Path, features: tuple[str, ...]) -> pd.DataFrame:
    """Read every split of the prepared table (with a ``split`` column), sorted by ticker and position."""
    frames = [read_split(table_path, split, features).assign(split=split) for split in SPLITS]
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["ticker", "pos"], kind="stable").reset_index(drop=True)


def make_windows(
    table: pd.DataFrame,
    split: str,
    features: tuple[str, ...],
    lookback: int,
    horizon: int,
    last_only: bool = False,
    targets: bool = True,
) -> Windows:
    """All windows of ``split`` across tickers, ordered by ticker name (``table`` may hold other splits too;
    each ticker's rows together, in position order, as ``read_split`` gives them).

    Train and validation windows have all ``horizon`` targets; test windows exist for
    every test day as a one-step target, with later steps NaN past the data's end.
    ``last_only`` gives one window per ticker whose origin is its last day: the
    forecast beyond the data (all targets NaN). ``targets=False`` leaves out the target
    dates and prices (training needs only ``y``: at millions of windows they are the
    largest arrays).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rows = table[table["split"] == split].reset_index(drop=True) if "split" in table else table
    # Tickers as numbers to compare: comparing millions of string objects cost more than the rest of the windows.
    codes, names = pd.factorize(rows["ticker"], sort=True)
    origin, start = _origins(codes, lookback, horizon, full_targets=split != "test", last_only=last_only)
    if not len(origin):
        raise DataError(f"no {split} windows: every ticker's {split} split is shorter than lookback + horizon")
    price = rows["adj_close"].to_numpy(np.float64)
    dates = rows["date"].to_numpy("datetime64[ns]")
    scale = rows["target_scale"].to_numpy(np.float64)[origin]
    origin_price = price[origin]
    n = len(origin)
    # Step by step, into the (windows, horizon) arrays: at millions of windows each (windows, horizon) temporary is
    # tens of MB of fresh memory, which costs more than the arithmetic; a step's temporaries are reused.
    y = np.empty((n, horizon), np.float32)
    target_price = np.empty((n, horizon), np.float64) if targets else None
    target_date = np.empty((n, horizon), "datetime64[ns]") if targets else None
    for step in range(1, horizon + 1):
        at = origin + step
        outside = at >= len(rows)
        np.minimum(at, len(rows) - 1, out=at)
        outside |= codes[at] != codes[origin]  # never a target from the next ticker
        change = price[at]
        change[outside] = np.nan
        if target_price is not None and target_date is not None:
            target_price[:, step - 1] = change
            day = dates[at]
            day[outside] = np.datetime64("NaT")
            target_date[:, step - 1] = day
        change /= origin_price
        np.log(change, out=change)
        change /= scale
        y[:, step - 1] = change
    # Each feature column straight into its place: a frame of the feature columns would copy them all once more.
    values = np.empty((len(rows), len(features)), np.float32)
    for j, name in enumerate(features):
        values[:, j] = rows[feature_column(name)].to_numpy()
    return Windows(
        values=values,
        starts=start,
        lookback=lookback,
        y=y,
        ticker=np.asarray(names, dtype=object)[codes[origin]],  # references to one string per ticker
        origin_date=dates[origin],
        origin_price=origin_price,
        target_date=target_date,
        target_price=target_price,
        target_scale=scale,
        prices=price,
        origin_pos=rows["pos"].to_numpy(np.int64)[origin] if "pos" in rows else None,
        first_price=rows["first_adj"].to_numpy(np.float64)[origin] if "first_adj" in rows else None,
    )


def _origins(
    codes: np.ndarray, lookback: int, horizon: int, full_targets: bool, last_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each window's origin row and first input row, in ticker code order (``codes``: each row's ticker, each
    ticker's rows together, in any order of tickers). Origins run from a ticker's ``lookback``-th row to its last
    with a target (every step's for ``full_targets``, the first step's otherwise), or are just its last row
    (``last_only``).

    Example:
        >>> origin, start = _origins(np.array([0, 0, 0, 0, 1, 1, 1]), 2, 1, full_targets=True, last_only=False)
        >>> origin.tolist(), start.tolist()
        ([1, 2, 5], [0, 1, 4])
        >>> _origins(np.array([1, 1, 1, 0, 0, 0]), 2, 1, full_targets=True, last_only=False)[0].tolist()
        [4, 1]
    """
    firsts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.arange(0)
    if not _together(codes):
        raise DataError("a ticker's rows are not together: windows need each ticker's rows in position order")
    counts = np.diff(np.r_[firsts, len(codes)])
    by_ticker = np.argsort(codes[firsts], kind="stable")  # the windows in ticker order, whatever the rows'
    firsts, counts = firsts[by_ticker], counts[by_ticker]
    last = counts - 1 if last_only else counts - 1 - (horizon if full_targets else 1)
    first = last if last_only else np.full_like(last, lookback - 1)
    kept = last >= lookback - 1
    firsts, first, sizes = firsts[kept], first[kept], (last - first + 1)[kept]
    # Row of each window: its ticker's first row + its first origin + its place among the ticker's windows.
    offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
    origin = np.repeat(firsts + first, sizes) + np.arange(int(sizes.sum())) - offsets
    return origin, origin - (lookback - 1)


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
