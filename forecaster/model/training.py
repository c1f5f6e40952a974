"""Training one global model on windows, predicting, conformal quantiles, and a run's saved models.

Per-ticker models train on Spark's executors (``forecaster.model.per_ticker``) with ``fit_one`` from here.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forecaster import artifacts
from forecaster.columns import GLOBAL
from forecaster.config import ModelConfig
from forecaster.data.sources.schema import validate_ticker
from forecaster.errors import ArtifactError
from forecaster.model import network
from forecaster.model.intervals import conformal_quantiles
from forecaster.prepare.windows import Windows, window_dataset

log = logging.getLogger(__name__)

#: Windows per batch when only predicting: larger is faster, memory stays small.
PREDICT_BATCH = 1024


@dataclass
class Trained:
    """Fitted model(s), their training summaries and their validation residual quantiles."""

    models: dict[str, Any] = field(default_factory=dict)  # GLOBAL -> keras.Model, when trained in this process
    files: dict[str, str] = field(default_factory=dict)  # GLOBAL or ticker -> .keras file, relative to the run
    results: dict[str, network.TrainResult] = field(default_factory=dict)
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
    network.seed_everything(cfg.seed)
    net = network.build_model(n_features, cfg)
    result = network.train(net, window_dataset(train, cfg.batch_size, shuffle=True, seed=cfg.seed),
                             window_dataset(val, PREDICT_BATCH), cfg, verbose=verbose)
    quantiles = conformal_quantiles(val.y, predict_scaled(net, val))
    return net, result, quantiles


def fit(train: Windows, val: Windows, n_features: int, cfg: ModelConfig, verbose: int = 2) -> Trained:
    """Fit one global model across all tickers (per-ticker models: ``forecaster.model.per_ticker``)."""
    trained = Trained()
    net, result, quantiles = fit_one(train, val, n_features, cfg, verbose)
    trained.models[GLOBAL], trained.results[GLOBAL], trained.quantiles[GLOBAL] = net, result, quantiles
    return trained


def model_file_name(key: str) -> str:
    """Where a model is saved inside its run folder: the global one at the top, per-ticker ones in models/."""
    return artifacts.MODEL if key == GLOBAL else f"models/{key}.keras"


def save(trained: Trained, run_dir: Path) -> dict[str, str]:
    """Save every model held in memory as ``.keras`` and record it in ``trained.files``;
    returns model key -> file name relative to ``run_dir``."""
    for key, net in trained.models.items():
        name = model_file_name(key)
        network.save_model(net, run_dir / name)
        trained.files[key] = name
    return trained.files


def load(run_dir: Path, card: dict[str, Any], tickers: list[str] | None = None) -> Trained:
    """The run's models (``safe_mode`` only), each checked against the shapes its card names; with
    ``tickers``, only those tickers' per-ticker models (a global model is always loaded)."""
    trained = Trained(quantiles=card["intervals"]["quantiles"])
    for key, name in card["models"].items():
        if tickers is not None and key != GLOBAL and key not in tickers:
            continue
        path = run_dir / _model_file(key, name)
        net = network.load_model(path)
        network.check_shape(net, path, int(card["lookback"]), len(card["features"]), int(card["horizon"]))
        trained.models[key], trained.files[key] = net, name
    return trained


def _model_file(key: str, name: str) -> str:
    """The card's file name for a model, refused unless it is one that `run` writes (never a path out)."""
    expected = model_file_name(key if key == GLOBAL else validate_ticker(key))
    if name != expected:
        raise ArtifactError(f"model card names {name!r} for model {key!r}; a run writes {expected!r}")
    return name
