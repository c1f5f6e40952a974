"""Training one global model (or one per ticker) on windows, predicting, and conformal quantiles."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forecaster import artifacts
from forecaster import model as model_lib
from forecaster.config import ModelConfig
from forecaster.intervals import conformal_quantiles
from forecaster.windows import Windows, window_dataset

log = logging.getLogger(__name__)

#: Key of the single model in global mode.
GLOBAL = "global"
#: Windows per batch when only predicting: larger is faster, memory stays small.
PREDICT_BATCH = 1024


@dataclass
class Trained:
    """Fitted model(s), their training summaries and their validation residual quantiles."""

    models: dict[str, Any] = field(default_factory=dict)  # GLOBAL -> keras.Model, when trained in this process
    files: dict[str, str] = field(default_factory=dict)  # GLOBAL or ticker -> .keras file, relative to the run
    results: dict[str, model_lib.TrainResult] = field(default_factory=dict)
    quantiles: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def per_ticker(self) -> bool:
        return GLOBAL not in self.quantiles


def ticker_seed(seed: int, ticker: str) -> int:
    """A per-ticker seed derived from the run's seed: stable across runs and machines."""
    return (seed * 1_000_003 + zlib.crc32(ticker.encode())) % (2**31 - 1)


def predict_scaled(net: Any, windows: Windows) -> np.ndarray:
    """Scaled predictions (n, horizon) for ``windows``, batch by batch."""
    if len(windows) == 0:
        return np.zeros((0, windows.y.shape[1]), np.float32)
    return net.predict(window_dataset(windows, PREDICT_BATCH), verbose=0)


def fit_one(train: Windows, val: Windows, n_features: int, cfg: ModelConfig, verbose: int):
    """Seed, build and train one model; return it, its training summary and its validation quantiles."""
    model_lib.seed_everything(cfg.seed)
    net = model_lib.build_model(n_features, cfg)
    result = model_lib.train(net, window_dataset(train, cfg.batch_size, shuffle=True, seed=cfg.seed),
                             window_dataset(val, PREDICT_BATCH), cfg, verbose=verbose)
    quantiles = conformal_quantiles(val.y, predict_scaled(net, val))
    return net, result, quantiles


def fit(train: Windows, val: Windows, n_features: int, cfg: ModelConfig, verbose: int = 2) -> Trained:
    """Fit one global model across all tickers (per-ticker models: ``forecaster.distributed``)."""
    trained = Trained()
    net, result, quantiles = fit_one(train, val, n_features, cfg, verbose)
    trained.models[GLOBAL], trained.results[GLOBAL], trained.quantiles[GLOBAL] = net, result, quantiles
    return trained


def interval_widths(trained: Trained, windows: Windows) -> dict[str, np.ndarray]:
    """Per level, the scaled half-widths (n, horizon) that apply to each window: the global model's
    quantiles, or its ticker's (NaN for a ticker without a model)."""
    shape = windows.y.shape
    if not trained.per_ticker:
        return {level: np.broadcast_to(np.asarray(q, np.float64)[None, :], shape)
                for level, q in trained.quantiles[GLOBAL].items()}
    widths = {level: np.full(shape, np.nan) for level in next(iter(trained.quantiles.values()))}
    for ticker, by_level in trained.quantiles.items():
        mask = windows.ticker == ticker
        for level, q in by_level.items():
            widths[level][mask] = np.asarray(q)[None, :]
    return widths


def model_file_name(key: str) -> str:
    """Where a model is saved inside its run folder: the global one at the top, per-ticker ones in models/."""
    return artifacts.MODEL if key == GLOBAL else f"models/{key}.keras"


def save(trained: Trained, run_dir: Path) -> dict[str, str]:
    """Save every model held in memory as ``.keras`` and record it in ``trained.files``;
    returns model key -> file name relative to ``run_dir``."""
    for key, net in trained.models.items():
        name = model_file_name(key)
        model_lib.save_model(net, run_dir / name)
        trained.files[key] = name
    return trained.files
