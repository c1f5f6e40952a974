"""The Keras network: an ensemble of LSTMs, each forecasting quantiles of every step, trained as one model.

Each member reads the same window (``lookback`` days x features) through its own LSTM layer(s) and forecasts,
for every step 1..H, the quantiles ``QUANTILES`` of the scaled log change, kept in order by construction
(``MonotoneQuantiles``). The members train together, each on its own pinball loss and with its own early
stopping (``MemberEarlyStopping``); the saved model averages their quantiles (quantile averaging, so the
ensemble's median is the members' mean median). Only backend-neutral Keras APIs are used, so JAX (the
default), TensorFlow or torch all work; choose with ``KERAS_BACKEND`` before the first import of keras.
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
from forecaster import config
from forecaster.artifacts import atomic_write
from forecaster.columns import QUANTILES
from forecaster.config import ModelConfig
from forecaster.errors import ArtifactError

log = logging.getLogger(__name__)


def use_compile_cache() -> Path | None:
    """Keep JAX's compiled code in ``config.compile_cache_dir()`` so that the next process running the same
    network (the next command, each Spark Python worker) loads it instead of compiling it again. Every
    compilation is kept, however quick: the network's are a few tenths of a second each, dozens per run. A
    no-op for the other Keras backends, when turned off, or when the folder cannot be made; returns the folder.
    JAX reads the setting at its first compilation, so this runs when this module is imported."""
    folder = config.compile_cache_dir()
    if folder is None or keras.backend.backend() != "jax":
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.debug("no compilation cache: %s", exc)
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder


use_compile_cache()

MEDIAN = QUANTILES.index(0.5)
#: An epoch improves a member only when its validation loss falls by more than this share: on daily returns the
#: loss flattens within a few epochs, and later dips of 0.1-0.3% are noise that costs epochs (measured: the
#: sample run's second member "improved" until epoch 18 by 0.3% in all).
MIN_IMPROVEMENT = 1e-3


@dataclass(frozen=True)
class TrainResult:
    """What training did, for the model card (the best member's epoch and the members' mean best loss)."""

    epochs_run: int
    best_epoch: int
    best_val_loss: float
    train_seconds: float
    member_best_epochs: tuple[int, ...] = ()


@keras.saving.register_keras_serializable(package="forecaster")
class MonotoneQuantiles(keras.layers.Layer):
    """Turns 5 free outputs per step into ordered quantiles: the median, then each outer quantile the one
    inside it plus a softplus gap, so quantiles can never cross."""

    def call(self, raw: Any) -> Any:
        ops = keras.ops
        median = raw[..., 2]
        lo80 = median - ops.softplus(raw[..., 1])
        lo95 = lo80 - ops.softplus(raw[..., 0])
        hi80 = median + ops.softplus(raw[..., 3])
        hi95 = hi80 + ops.softplus(raw[..., 4])
        return ops.stack([lo95, lo80, median, hi80, hi95], axis=-1)


def lstm_stack(inputs: Any, cfg: ModelConfig, prefix: str) -> Any:
    """``cfg.layers`` LSTM layers of ``cfg.units`` cells, each followed by dropout (layers named ``{prefix}_lstm_1``,
    ``{prefix}_dropout_1``, ...): the body of the quantile network's members and of the ranking model."""
    hidden = inputs
    for layer in range(cfg.layers):
        last = layer == cfg.layers - 1
        hidden = keras.layers.LSTM(cfg.units, return_sequences=not last, name=f"{prefix}_lstm_{layer + 1}")(hidden)
        hidden = keras.layers.Dropout(cfg.dropout, name=f"{prefix}_dropout_{layer + 1}")(hidden)
    return hidden


def _member(inputs: Any, k: int, cfg: ModelConfig) -> Any:
    hidden = lstm_stack(inputs, cfg, f"m{k}")
    raw = keras.layers.Dense(cfg.horizon * len(QUANTILES), name=f"m{k}_dense")(hidden)
    raw = keras.layers.Reshape((cfg.horizon, len(QUANTILES)), name=f"m{k}_steps")(raw)
    return MonotoneQuantiles(name=f"member_{k}")(raw)


def pinball_loss(y_true: Any, y_pred: Any) -> Any:
    """Mean pinball loss of quantile forecasts ``y_pred`` (batch, H, Q) for targets ``y_true`` (batch, H)."""
    ops = keras.ops
    quantiles = ops.convert_to_tensor(np.asarray(QUANTILES, np.float32))
    miss = ops.expand_dims(y_true, -1) - y_pred
    return ops.mean(ops.maximum(quantiles * miss, (quantiles - 1.0) * miss))


def build_model(n_features: int, cfg: ModelConfig) -> tuple[keras.Model, keras.Model]:
    """The training model (one output per member, each (H, Q)) and the forecasting model that shares its
    layers and averages the members' quantiles, (H, Q).

    Example:
        >>> training, forecasting = build_model(5, ModelConfig(units=8, members=2))
        >>> forecasting.output_shape
        (None, 5, 5)
    """
    inputs = keras.Input(shape=(cfg.lookback, n_features), name="window")
    members = [_member(inputs, k, cfg) for k in range(cfg.members)]
    training = keras.Model(inputs, members, name="lstm_ensemble_training")
    training.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate), loss=[pinball_loss] * cfg.members
    )
    averaged = members[0] if cfg.members == 1 else keras.layers.Average(name="quantiles")(members)
    forecasting = keras.Model(inputs, averaged, name="lstm_quantile_forecaster")
    return training, forecasting


class MemberEarlyStopping(keras.callbacks.Callback):
    """Early stopping per member: keeps each member's weights from its own best validation epoch, and stops
    when every member has gone ``patience`` epochs without improving by more than ``MIN_IMPROVEMENT``."""

    def __init__(self, members: int, patience: int) -> None:
        super().__init__()
        self.members, self.patience = members, patience
        self.best = [np.inf] * members
        self.best_epoch = [0] * members
        self.waited = [0] * members
        self.weights: list[list[Any] | None] = [None] * members

    def _layers(self, k: int) -> list[Any]:
        return [layer for layer in self.model.layers if layer.name.startswith((f"m{k}_", f"member_{k}"))]

    def _loss(self, logs: dict[str, float], k: int) -> float:
        if self.members == 1:
            return float(logs["val_loss"])
        return float(logs[f"val_member_{k}_loss"])

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        for k in range(self.members):
            loss = self._loss(logs or {}, k)
            if loss < self.best[k] * (1 - MIN_IMPROVEMENT):
                self.best[k], self.best_epoch[k], self.waited[k] = loss, epoch + 1, 0
                self.weights[k] = [layer.get_weights() for layer in self._layers(k)]
            else:
                self.waited[k] += 1
        if min(self.waited) >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        for k in range(self.members):
            kept = self.weights[k]
            if kept is not None:
                for layer, weights in zip(self._layers(k), kept, strict=True):
                    layer.set_weights(weights)


def train(model: keras.Model, train_data: Any, val_data: Any, cfg: ModelConfig, verbose: int = 2) -> TrainResult:
    """Fit the training model; every member keeps the weights of its own best validation epoch.

    ``train_data`` and ``val_data`` are batch feeders (``forecaster.prepare.windows.window_dataset``) whose
    targets are repeated once per member: windows are cut batch by batch, never all held in memory.
    """
    stopper = MemberEarlyStopping(cfg.members, cfg.patience)
    started = time.perf_counter()
    history = model.fit(train_data, validation_data=val_data, epochs=cfg.epochs, callbacks=[stopper], verbose=verbose)
    seconds = time.perf_counter() - started
    epochs = len(history.history["val_loss"])
    best = int(np.argmin(stopper.best))
    log.info(
        "trained %d epochs in %.1f s; members' best validation pinball loss %s at epochs %s",
        epochs,
        seconds,
        ", ".join(f"{b:.5f}" for b in stopper.best),
        stopper.best_epoch,
    )
    return TrainResult(
        epochs, stopper.best_epoch[best], float(np.mean(stopper.best)), seconds, tuple(stopper.best_epoch)
    )


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


def check_shape(
    net: keras.Model, path: Path, lookback: int, n_features: int, horizon: int, per_step: int = len(QUANTILES)
) -> None:
    """Raise ArtifactError when a loaded model does not take ``lookback`` x ``n_features`` windows or does not
    forecast the quantiles of ``horizon`` steps (``per_step=1``: one score per step, the ranking model's): its
    card and the windows it would be fed disagree with it.
    """
    expected_in = (lookback, n_features)
    expected_out = (horizon, per_step) if per_step > 1 else (horizon,)
    got_in, got_out = tuple(net.input_shape[1:]), tuple(net.output_shape[1:])
    if got_in != expected_in or got_out != expected_out:
        raise ArtifactError(
            f"{path}: the model takes windows of {got_in[0]} days x {got_in[-1]} features and forecasts "
            f"{got_out[0]} steps x {got_out[-1] if len(got_out) > 1 else 1} values, but its model card says "
            f"lookback {lookback}, {n_features} features, horizon {horizon} x {per_step} values; the card "
            "does not belong to this model (or the run is older than quantile forecasts) - retrain with "
            "`python -m forecaster run`"
        )
