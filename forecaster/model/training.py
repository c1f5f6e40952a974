"""Training one global model on windows, predicting its quantiles, its validation calibration, and a run's
saved models.

Per-ticker models train on Spark's executors (``forecaster.model.per_ticker``) with ``fit_one`` from here.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import artifacts
from forecaster.columns import GLOBAL, LEVELS
from forecaster.config import ModelConfig
from forecaster.data.sources.schema import validate_ticker
from forecaster.errors import ArtifactError
from forecaster.model import intervals, network
from forecaster.prepare.windows import Windows, window_dataset

log = logging.getLogger(__name__)

#: Windows per batch when only predicting: larger is faster, memory stays small.
PREDICT_BATCH = 1024


@dataclass
class Trained:
    """Fitted model(s), their training summaries, their shrinkage and their validation scores."""

    models: dict[str, Any] = field(default_factory=dict)  # key -> forecasting keras.Model, when in this process
    files: dict[str, str] = field(default_factory=dict)  # GLOBAL or ticker -> .keras file, relative to the run
    results: dict[str, network.TrainResult] = field(default_factory=dict)
    shrink: dict[str, list[float]] = field(default_factory=dict)  # key -> per-step shrinkage of the median
    val_scores: pd.DataFrame | None = None  # ticker, step, target_date and scores (score_frame) of validation windows
    rank_file: str | None = None  # the ranking model's .keras file, relative to the run (global mode, when trained)
    rank_result: dict[str, Any] | None = None  # its training summary (``ranking.fit``)
    rank_model: Any = None  # the ranking model, when in this process

    @property
    def per_ticker(self) -> bool:
        return GLOBAL not in self.shrink


def ticker_seed(seed: int, ticker: str) -> int:
    """A per-ticker seed derived from the run's seed: stable across runs and machines."""
    return (seed * 1_000_003 + zlib.crc32(ticker.encode())) % (2**31 - 1)


def predict_scaled(net: Any, windows: Windows) -> np.ndarray:
    """Quantile forecasts (n, horizon, Q) of the scaled log change for ``windows``, batch by batch."""
    if len(windows) == 0:
        return np.zeros((0, windows.y.shape[1], len(network.QUANTILES)), np.float32)
    return np.asarray(net.predict(window_dataset(windows, PREDICT_BATCH), verbose=0), np.float32)


def score_frame(windows: Windows, quantiles: np.ndarray, ends: str = intervals.BAND_ENDS) -> pd.DataFrame:
    """The normalised conformity scores of ``windows`` whose outcomes are known, the calibration data of
    ``intervals.rolling_corrections``: one row per window and step (ticker, step, target_date, and per level the
    scores ``ends`` calibrates with: with "joint" one score per band, ``score80``, ``score95``; with "per_end"
    its lower and upper end's, ``intervals.score_columns``)."""
    horizon = windows.horizon
    target_date = windows.targets()[0]
    by_column: dict[str, np.ndarray] = {}
    for level in LEVELS:
        lower, upper = intervals.scores(windows.y, quantiles, level)
        if ends == "per_end":
            by_column.update(zip(intervals.score_columns(level), (lower, upper), strict=True))
        else:
            by_column[f"score{level}"] = np.maximum(lower, upper)
    known = np.flatnonzero(~np.isnat(target_date.reshape(-1)))  # (window, step) cells, C order
    # Names as Python strings once per window, then repeated (a str column of millions converted row by row costs
    # a second); fresh columns kept apart (copy=False), not copied into one block.
    return pd.DataFrame(
        {
            "ticker": windows.ticker.astype(str).astype(object)[known // horizon],
            "step": known % horizon + 1,
            "target_date": target_date.reshape(-1)[known],
            **{name: values.reshape(-1)[known] for name, values in by_column.items()},
        },
        copy=False,
    )


def fit_one(
    train: Windows, val: Windows, n_features: int, cfg: ModelConfig, verbose: int
) -> tuple[Any, network.TrainResult, list[float], pd.DataFrame]:
    """Seed, build and train one ensemble; return its forecasting model, its training summary, the per-step
    shrinkage of its median and the conformity scores of its validation windows."""
    network.seed_everything(cfg.seed)
    training, forecasting = network.build_model(n_features, cfg)
    result = network.train(
        training,
        window_dataset(train, cfg.batch_size, shuffle=True, seed=cfg.seed, copies=cfg.members),
        window_dataset(val, PREDICT_BATCH, copies=cfg.members),
        cfg,
        verbose=verbose,
    )
    predicted = predict_scaled(forecasting, val)
    shrink = intervals.shrinkage(val.y, predicted[..., network.MEDIAN])
    return forecasting, result, shrink, score_frame(val, predicted)


def fit(train: Windows, val: Windows, n_features: int, cfg: ModelConfig, verbose: int = 2) -> Trained:
    """Fit one global model across all tickers (per-ticker models: ``forecaster.model.per_ticker``)."""
    net, result, shrink, val_scores = fit_one(train, val, n_features, cfg, verbose)
    return Trained(models={GLOBAL: net}, results={GLOBAL: result}, shrink={GLOBAL: shrink}, val_scores=val_scores)


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
    if "shrink" not in card.get("intervals", {}):
        raise ArtifactError(
            f"{run_dir}: made before quantile forecasts (its card has no shrinkage); "
            "retrain with `python -m forecaster run`"
        )
    trained = Trained(shrink=card["intervals"]["shrink"])
    for key, name in card["models"].items():
        if tickers is not None and key != GLOBAL and key not in tickers:
            continue
        path = run_dir / _model_file(key, name)
        net = network.load_model(path)
        network.check_shape(net, path, int(card["lookback"]), len(card["features"]), int(card["horizon"]))
        trained.models[key], trained.files[key] = net, name
    rank = card.get("rank_model")
    if rank:
        if rank.get("file") != artifacts.RANK_MODEL:
            raise ArtifactError(
                f"model card names {rank.get('file')!r} for the ranking model; a run writes {artifacts.RANK_MODEL!r}"
            )
        path = run_dir / artifacts.RANK_MODEL
        trained.rank_model, trained.rank_file = network.load_model(path), artifacts.RANK_MODEL
        network.check_shape(
            trained.rank_model, path, int(card["lookback"]), len(card["features"]), int(card["horizon"]), per_step=1
        )
    return trained


def _model_file(key: str, name: str) -> str:
    """The card's file name for a model, refused unless it is one that `run` writes (never a path out)."""
    expected = model_file_name(key if key == GLOBAL else validate_ticker(key))
    if name != expected:
        raise ArtifactError(f"model card names {name!r} for model {key!r}; a run writes {expected!r}")
    return name
