"""The Keras LSTM: build, train with early stopping, save and load safely.

Only backend-neutral Keras APIs are used, so JAX (the default), TensorFlow or torch
all work; choose with ``KERAS_BACKEND`` before the first import of keras.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

import forecaster  # noqa: F401  (sets the default Keras backend before keras is imported)
from forecaster.artifacts import atomic_write
from forecaster.config import ModelConfig
from forecaster.errors import ArtifactError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What training did, for the model card."""

    epochs_run: int
    best_epoch: int
    best_val_loss: float
    train_seconds: float


def build_model(n_features: int, cfg: ModelConfig) -> keras.Model:
    """Stacked LSTM -> Dense(horizon): all forecast steps in one prediction.

    Example:
        >>> model = build_model(5, ModelConfig(layers=1, units=8))
        >>> model.output_shape
        (None, 5)
    """
    inputs = keras.Input(shape=(cfg.lookback, n_features), name="window")
    hidden = inputs
    for layer in range(cfg.layers):
        last = layer == cfg.layers - 1
        hidden = keras.layers.LSTM(cfg.units, return_sequences=not last, name=f"lstm_{layer + 1}")(hidden)
        hidden = keras.layers.Dropout(cfg.dropout, name=f"dropout_{layer + 1}")(hidden)
    outputs = keras.layers.Dense(cfg.horizon, name="scaled_log_change")(hidden)
    model = keras.Model(inputs, outputs, name="lstm_forecaster")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate), loss="mse")
    return model


def train(model: keras.Model, train_data: Any, val_data: Any, cfg: ModelConfig, verbose: int = 2) -> TrainResult:
    """Fit with early stopping on the validation loss; the best epoch's weights are kept.

    ``train_data`` and ``val_data`` are batch feeders (``forecaster.prepare.windows.window_dataset``):
    windows are cut batch by batch, never all held in memory.
    """
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)
    started = time.perf_counter()
    history = model.fit(train_data, validation_data=val_data, epochs=cfg.epochs, callbacks=[stopper],
                        verbose=verbose)
    seconds = time.perf_counter() - started
    val_losses = history.history["val_loss"]
    best = int(np.argmin(val_losses))
    log.info("trained %d epochs in %.1f s; best validation loss %.5f at epoch %d",
             len(val_losses), seconds, val_losses[best], best + 1)
    return TrainResult(len(val_losses), best + 1, float(val_losses[best]), seconds)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend so a run is repeatable on CPU."""
    keras.utils.set_random_seed(seed)


def save_model(model: keras.Model, path: Path) -> Path:
    """Save in the native ``.keras`` format, atomically."""
    return atomic_write(path, lambda tmp: model.save(tmp))


def load_model(path: Path) -> keras.Model:
    """Load a ``.keras`` model with ``safe_mode=True``, or raise ArtifactError if damaged."""
    if Path(path).suffix != ".keras":
        # Legacy .h5 files bypass safe_mode (CVE-2025-9905); runs only ever write .keras.
        raise ArtifactError(f"{path}: not a .keras file; only the native Keras format is loaded")
    if not Path(path).is_file():
        raise ArtifactError(f"{path}: missing")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged zip or config
        raise ArtifactError(f"{path}: damaged or not a Keras model ({type(exc).__name__}: {exc})") from exc


def check_shape(net: keras.Model, path: Path, lookback: int, n_features: int, horizon: int) -> None:
    """Raise ArtifactError when a loaded model does not take ``lookback`` x ``n_features`` windows
    or does not forecast ``horizon`` steps: its card and the windows it would be fed disagree with it.
    """
    expected_in, expected_out = (lookback, n_features), horizon
    got_in, got_out = tuple(net.input_shape[1:]), net.output_shape[-1]
    if got_in != expected_in or got_out != expected_out:
        raise ArtifactError(
            f"{path}: the model takes windows of {got_in[0]} days x {got_in[-1]} features and forecasts "
            f"{got_out} steps, but its model card says lookback {lookback}, {n_features} features, "
            f"horizon {horizon}; the card does not belong to this model - retrain with `python -m forecaster run`")
