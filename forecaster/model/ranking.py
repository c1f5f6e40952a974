"""The ranking model: an LSTM that scores how each stock's next h-day change ranks among the day's tickers.

The quantile network (``forecaster.model.network``) forecasts each ticker's own distribution, scaled by its own
volatility: it makes the bands and the price path. This model learns the order across tickers instead. Its target
is the cross-sectionally rank-normalised h-day change, as qlib's ``CSRankNorm``: each origin day and step, the
tickers' log changes ranked, the ranks spread evenly over (0, 1) and centred, ``(rank - 1/2) / n - 1/2``, then
multiplied by ``RANK_SCALE`` (unit variance). Its output, one score per step, is the ``lstm_rank`` signal (higher:
expected to rise more than the day's other tickers); it is a score, not a price.

It reads the same windows as the quantile network and is trained with mean squared error on the training windows,
early-stopped on the validation windows' loss.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from forecaster.config import ModelConfig
from forecaster.evaluate.cross_section import ranks_by_group
from forecaster.prepare.windows import Windows, window_dataset

log = logging.getLogger(__name__)

#: The ranking signal's name: its column in predictions and forecasts, and its row in the skill tests.
RANK_SIGNAL = "lstm_rank"
#: Evenly spread ranks in (-1/2, 1/2) have variance 1/12: this makes it 1 (qlib's CSRankNorm).
RANK_SCALE = 12**0.5
#: A day with fewer tickers than this has no ranking target (its windows do not train the model).
MIN_TICKERS = 5


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


def build_model(n_features: int, cfg: ModelConfig) -> Any:
    """An LSTM layer (or ``cfg.layers``) of ``cfg.units`` cells, dropout, and one score per step (H).

    Example:
        >>> build_model(5, ModelConfig(units=8)).output_shape
        (None, 5)
    """
    import keras

    inputs = keras.Input(shape=(cfg.lookback, n_features), name="window")
    hidden = inputs
    for layer in range(cfg.layers):
        last = layer == cfg.layers - 1
        hidden = keras.layers.LSTM(cfg.units, return_sequences=not last, name=f"rank_lstm_{layer + 1}")(hidden)
        hidden = keras.layers.Dropout(cfg.dropout, name=f"rank_dropout_{layer + 1}")(hidden)
    scores = keras.layers.Dense(cfg.horizon, name="rank_scores")(hidden)
    model = keras.Model(inputs, scores, name=RANK_SIGNAL)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate), loss=_masked_mse)
    return model


def _masked_mse(y_true: Any, y_pred: Any) -> Any:
    """Mean squared error over the known targets (a day too small to rank has none)."""
    import keras

    ops = keras.ops
    known = ops.logical_not(ops.isnan(y_true))
    miss = ops.where(known, y_true - y_pred, 0.0)
    return ops.sum(miss * miss) / ops.maximum(ops.sum(ops.cast(known, "float32")), 1.0)


def fit(train: Windows, val: Windows, n_features: int, cfg: ModelConfig, verbose: int = 0) -> tuple[Any, dict]:
    """Train the ranking model on ``train``'s rank targets, keeping the weights of the best validation epoch;
    returns the model and a summary (epochs run, best epoch, best validation loss, seconds)."""
    import keras

    from forecaster.model import network

    network.seed_everything(cfg.seed)
    model = build_model(n_features, cfg)
    train_ranked, val_ranked = (replace(w, y=rank_targets(w)) for w in (train, val))
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=cfg.patience,
        min_delta=0.0,
        restore_best_weights=True,
    )
    started = time.perf_counter()
    history = model.fit(
        window_dataset(train_ranked, cfg.batch_size, shuffle=True, seed=cfg.seed),
        validation_data=window_dataset(val_ranked, 4096),
        epochs=cfg.epochs,
        callbacks=[stopper],
        verbose=verbose,
    )
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    summary = {
        "epochs_run": len(losses),
        "best_epoch": best + 1,
        "best_val_loss": float(losses[best]),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    log.info("ranking model: %d epochs, best validation loss %.5f at epoch %d", len(losses), losses[best], best + 1)
    return model, summary
