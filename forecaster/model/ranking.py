"""The ranking model: an LSTM that scores how each stock's next h-day change ranks among the day's tickers.

The quantile network (``forecaster.model.network``) forecasts each ticker's own distribution, scaled by its own
volatility: it makes the bands and the price path. This model learns the order across tickers instead. Its target
is the cross-sectionally rank-normalised h-day change, as qlib's ``CSRankNorm``: each origin day and step, the
tickers' log changes ranked, the ranks spread evenly over (0, 1) and centred, ``(rank - 1/2) / n - 1/2``, then
multiplied by ``RANK_SCALE`` (unit variance). Its output, one score per step, is the ``lstm_rank`` signal (higher:
expected to rise more than the day's other tickers); it is a score, not a price.

It reads the same windows as the quantile network. With the ``ic`` loss (the default of ``--ranking``) it trains one
origin day a batch on minus the correlation of its scores with the day's rank targets - the daily Rank IC, learnt
directly; with ``mse``, in shuffled batches on the squared error. Early stopping on the validation windows' loss
keeps its best epoch. ``ranks_by_group`` (the day's ranks) is shared with the cross-sectional tests.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import RANK_SIGNAL
from forecaster.config import RANKING_CHOICES, ModelConfig
from forecaster.prepare.windows import Windows, window_dataset

log = logging.getLogger(__name__)

#: Evenly spread ranks in (-1/2, 1/2) have variance 1/12: this makes it 1 (qlib's CSRankNorm).
RANK_SCALE = 12**0.5
#: A day with fewer tickers than this has no ranking target (its windows do not train the model). ``run`` trains
#: the model only when its median training day holds ``--min-cross-section`` tickers.
MIN_TICKERS = 2


def ranks_by_group(group: np.ndarray, *columns: np.ndarray) -> list[np.ndarray]:
    """Each value's rank within its group (1 = lowest; ties share their average rank; NaN stays NaN), as
    pandas' ``groupby(...).rank()`` gives it, for each of ``columns``. The groups (days) become the rows of a
    table padded with inf, sorted row by row: many short sorts that stay in the processor's cache, rather than one
    of every row; where each row goes in the table is found once for all the columns."""
    groups = int(group.max(initial=-1)) + 1
    if not groups:
        return [np.full(len(values), np.nan) for values in columns]
    by_group = np.argsort(group.astype(np.uint16) if groups <= 2**16 else group, kind="stable")
    counts = np.bincount(group, minlength=groups)
    row = group[by_group]
    column = np.arange(len(group)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = int(counts.max())
    position = np.tile(np.arange(width), groups)
    out = []
    for values in columns:
        v = values[by_group]
        finite = np.isfinite(v)
        table = np.full((groups, width), np.inf)
        table[row[finite], column[finite]] = v[finite]  # missing values sort after every present one
        order = np.argsort(table, axis=1)
        ordered = np.take_along_axis(table, order, axis=1).ravel()
        valid = position < np.repeat(np.bincount(row[finite], minlength=groups), width)
        run = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]] | (position == 0)) - 1  # equal values of a group
        runs = int(run[-1]) + 1
        with np.errstate(invalid="ignore", divide="ignore"):  # a run of padding has no rank
            average = np.bincount(run[valid], position[valid] + 1.0, runs) / np.bincount(run[valid], None, runs)
        ranks = np.empty((groups, width))
        np.put_along_axis(ranks, order, np.where(valid, average[run], np.nan).reshape(groups, width), axis=1)
        found = np.empty(len(values))
        found[by_group] = ranks[row, column]
        out.append(found)
    return out


def rank_normalise(day: np.ndarray, change: np.ndarray, min_tickers: int = MIN_TICKERS) -> np.ndarray:
    """Each value of ``change`` as its rank among the values of its ``day`` (an integer per row), spread evenly
    over (-1/2, 1/2) and times ``RANK_SCALE``; NaN where the change is unknown or the day has fewer than
    ``min_tickers`` known values. Ties share their average rank.

    Example:
        >>> rank_normalise(np.array([0, 0, 0, 1]), np.array([0.01, 0.03, -0.02, 0.5]), min_tickers=3).round(3).tolist()
        [0.0, 1.155, -1.155, nan]
    """
    (rank,) = ranks_by_group(day, change)
    known = np.bincount(day[np.isfinite(change)], minlength=int(day.max(initial=-1)) + 1)[day]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = ((rank - 0.5) / known - 0.5) * RANK_SCALE
    return np.where(known >= min_tickers, score, np.nan)


def rank_targets(windows: Windows, min_tickers: int = MIN_TICKERS) -> np.ndarray:
    """The rank-normalised h-day log change (``rank_normalise``) of each window and step (n, horizon) among the
    windows of its origin day."""
    day = pd.factorize(windows.origin_date)[0]
    out = np.empty(windows.y.shape, np.float32)
    for step in range(windows.horizon):
        # y is the change over the ticker's own volatility: times it, the log change, which ranks across tickers.
        out[:, step] = rank_normalise(day, windows.y[:, step].astype(np.float64) * windows.target_scale, min_tickers)
    return out


#: The losses the ranking model can train with (``--ranking`` less "off"): ``ic`` (minus the correlation of its
#: scores with the rank targets across one origin day's tickers, one day a batch), or ``mse`` on the rank targets in
#: shuffled batches.
LOSSES: tuple[str, ...] = tuple(choice for choice in RANKING_CHOICES if choice != "off")


def build_model(n_features: int, cfg: ModelConfig, loss: str = "mse") -> Any:
    """An LSTM layer (or ``cfg.layers``) of ``cfg.units`` cells, dropout, and one score per step (H).

    Example:
        >>> build_model(5, ModelConfig(units=8)).output_shape
        (None, 5)
    """
    import keras

    from forecaster.model.network import lstm_stack

    inputs = keras.Input(shape=(cfg.lookback, n_features), name="window")
    scores = keras.layers.Dense(cfg.horizon, name="rank_scores")(lstm_stack(inputs, cfg, "rank"))
    model = keras.Model(inputs, scores, name=RANK_SIGNAL)
    losses = {"mse": _masked_mse, "ic": _day_ic_loss}
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate), loss=losses[loss])
    return model


def _masked_mse(y_true: Any, y_pred: Any) -> Any:
    """Mean squared error over the known targets (a day too small to rank has none)."""
    import keras

    ops = keras.ops
    known = ops.logical_not(ops.isnan(y_true))
    miss = ops.where(known, y_true - y_pred, 0.0)
    return ops.sum(miss * miss) / ops.maximum(ops.sum(ops.cast(known, "float32")), 1.0)


def _day_ic_loss(y_true: Any, y_pred: Any) -> Any:
    """Minus the mean over steps of the correlation, across the batch's known targets (one origin day's tickers),
    of the scores with the rank targets: what the daily Rank IC rewards, learnt directly."""
    import keras

    ops = keras.ops
    weight = ops.cast(ops.logical_not(ops.isnan(y_true)), "float32")
    n = ops.maximum(ops.sum(weight, axis=0), 1.0)
    target = ops.where(weight > 0, y_true, 0.0)
    centred_pred = (y_pred - ops.sum(y_pred * weight, axis=0) / n) * weight
    centred_target = (target - ops.sum(target * weight, axis=0) / n) * weight
    covariance = ops.sum(centred_pred * centred_target, axis=0)
    scale = ops.sqrt(ops.sum(centred_pred**2, axis=0) * ops.sum(centred_target**2, axis=0) + 1e-12)
    return -ops.mean(covariance / scale)


#: Most windows in one batch of the ``ic`` loss: a day with more tickers is split into chunks of about equal size,
#: each a random share of the day's tickers (its correlation estimates the day's), so that a batch costs the same
#: whatever the universe (one day of 2,487 tickers a batch took 7.6 times as long as one of 499, for 5 times the
#: windows).
DAY_BATCH = 512


def day_dataset(windows: Windows, targets: np.ndarray, shuffle: bool = False, seed: int = 0) -> Any:
    """A ``keras.utils.PyDataset`` of one origin day's windows a batch (a day of more than ``DAY_BATCH`` in
    chunks), padded to the largest batch (one shape, one compilation) with NaN targets, which the losses skip.
    With ``shuffle``, the batches come in a seeded random order and a day's chunks are drawn anew each epoch."""
    import keras

    day = pd.factorize(windows.origin_date)[0]
    order = np.argsort(day, kind="stable")
    days = np.split(order, np.cumsum(np.bincount(day))[:-1]) if len(day) else []
    pieces = [max(1, -(-len(rows) // DAY_BATCH)) for rows in days]  # chunks per day, ceil(n / DAY_BATCH)
    width = max((-(-len(rows) // k) for rows, k in zip(days, pieces, strict=True)), default=1)

    class DayBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self._rng = np.random.default_rng(seed)
            self._batches = self._cut()

        def _cut(self) -> list[np.ndarray]:
            batches = [
                chunk
                for rows, k in zip(days, pieces, strict=True)
                for chunk in np.array_split(self._rng.permutation(rows) if shuffle and k > 1 else rows, k)
            ]
            return [batches[i] for i in self._rng.permutation(len(batches))] if shuffle else batches

        def __len__(self) -> int:
            return len(self._batches)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            rows = self._batches[index]
            x = np.zeros((width, windows.lookback, windows.values.shape[1]), np.float32)
            y = np.full((width, targets.shape[1]), np.nan, np.float32)
            x[: len(rows)], y[: len(rows)] = windows.batch(rows), targets[rows]
            return x, y

        def on_epoch_end(self) -> None:
            if shuffle:
                self._batches = self._cut()

    return DayBatches()


def fit(
    train: Windows, val: Windows, n_features: int, cfg: ModelConfig, loss: str = "ic", verbose: int = 0
) -> tuple[Any, dict[str, Any]]:
    """Train the ranking model with ``loss`` (``LOSSES``) on ``train``'s rank targets, keeping the weights of its
    best validation epoch (its loss on ``val``'s rank targets: for ``ic``, minus the mean daily correlation);
    returns the model and a summary (loss, epochs run, best epoch, best validation loss, seconds)."""
    import keras

    from forecaster.model import network

    if loss not in LOSSES:
        raise ValueError(f"the ranking model's loss must be one of {LOSSES}, not {loss!r}")
    network.seed_everything(cfg.seed)
    model = build_model(n_features, cfg, loss)
    train_targets, val_targets = rank_targets(train), rank_targets(val)
    if loss == "ic":
        feed, checked = day_dataset(train, train_targets, shuffle=True, seed=cfg.seed), day_dataset(val, val_targets)
    else:
        feed = window_dataset(replace(train, y=train_targets), cfg.batch_size, shuffle=True, seed=cfg.seed)
        checked = window_dataset(replace(val, y=val_targets), 4096)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)
    started = time.perf_counter()
    history = model.fit(feed, validation_data=checked, epochs=cfg.epochs, callbacks=[stopper], verbose=verbose)
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    summary = {
        "loss": loss,
        "epochs_run": len(losses),
        "best_epoch": best + 1,
        "best_val_loss": float(losses[best]),
        "seconds": round(time.perf_counter() - started, 2),
    }
    log.info(
        "trained the ranking model (%s loss) %d epochs; best validation loss %.5f at epoch %d",
        loss,
        len(losses),
        losses[best],
        best + 1,
    )
    return model, summary
