"""Distributed scoring: saved models applied to every window on the executors, with
``pyspark.ml.functions.predict_batch_udf`` (each model is loaded once per Python worker).

Windows are cut in Spark - each row's ``lookback`` days of features, oldest first - so
no window is ever collected on the driver; only the scores come back (``align`` puts
them in the order of the driver's ``Windows``). The scores are the model's scaled
outputs (one per forecast step), as ``training.predict_scaled`` gives on the driver.

``run`` scores the test split of every fold this way, in every mode (local, cluster
or Spark Connect), and keeps the scores as Parquet in the run folder; ``forecast``
scores each ticker's latest window the same way.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster.errors import ArtifactError

log = logging.getLogger(__name__)

#: Windows per model call. Every call is padded to this size, so the backend compiles one shape per model
#: and a window's score does not depend on which others share its batch (the same numbers in local mode
#: and on any cluster). Padding is cheap next to compiling: on this machine a padded call of 1,024 windows
#: took 6 ms, compiling a shape 0.2 s - so even a forecast's one window per ticker pays little for it.
SCORE_BATCH = 1024
#: Per-ticker models a Python worker keeps loaded; windows arrive grouped by ticker, so a few suffice.
MODELS_PER_WORKER = 16


def window_frame(rows: Any, features: tuple[str, ...], lookback: int) -> Any:
    """One row per full window in ``rows`` (a Spark DataFrame of ticker, date and feature columns):
    ticker, origin date, and the window flattened (``lookback`` x features, oldest day first)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from forecaster.windows import feature_column

    ordered = Window.partitionBy("ticker").orderBy("date")
    history = ordered.rowsBetween(-(lookback - 1), Window.currentRow)
    day = F.array(*[F.col(feature_column(f)).cast("float") for f in features])
    return (rows.select("ticker", "date", F.flatten(F.collect_list(day).over(history)).alias("window"),
                        F.row_number().over(ordered).alias("day"))
            .where(F.col("day") >= lookback).drop("day"))


def _padded_predict(net: Any, windows: np.ndarray) -> np.ndarray:
    """The model's outputs for ``windows``, in calls of exactly SCORE_BATCH windows (zeros fill the last)."""
    out = []
    for start in range(0, len(windows), SCORE_BATCH):
        chunk = windows[start:start + SCORE_BATCH]
        padded = np.zeros((SCORE_BATCH, *chunk.shape[1:]), np.float32)
        padded[:len(chunk)] = chunk
        out.append(np.asarray(net.predict_on_batch(padded), np.float32)[:len(chunk)])
    return np.concatenate(out)


def _predictor(model_files: dict[str, str], horizon: int) -> Callable[[], Callable[..., np.ndarray]]:
    """``make_predict_fn`` for predict_batch_udf: runs once per Python worker; models load lazily, safely."""
    def make() -> Callable[..., np.ndarray]:
        from forecaster.model import load_model
        from forecaster.training import GLOBAL

        loaded: OrderedDict[str, Any] = OrderedDict()

        def model(key: str) -> Any:
            if key not in loaded:
                loaded[key] = load_model(Path(model_files[key]))
                if len(loaded) > MODELS_PER_WORKER:
                    loaded.popitem(last=False)
            loaded.move_to_end(key)
            return loaded[key]

        if GLOBAL in model_files:
            return lambda windows: _padded_predict(model(GLOBAL), windows)

        def per_ticker(windows: np.ndarray, tickers: np.ndarray) -> np.ndarray:
            scores = np.full((len(windows), horizon), np.nan, np.float32)
            for ticker in np.unique(tickers):
                if ticker in model_files:  # a ticker without a model (its training failed) keeps NaN
                    mask = tickers == ticker
                    scores[mask] = _padded_predict(model(str(ticker)), windows[mask])
            return scores
        return per_ticker
    return make


def score(spark: Any, rows: Any, model_files: dict[str, Path], features: tuple[str, ...], lookback: int,
          horizon: int, out_path: Path | None = None) -> Any:
    """Score every full window in ``rows`` (Spark DataFrame) on the executors.

    ``model_files`` maps ``training.GLOBAL`` (one model for every ticker) or each ticker to its
    ``.keras`` file, on storage every executor reads. Returns a Spark DataFrame (ticker, date,
    scaled); with ``out_path`` it is written there as Parquet and read back from there.
    """
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from forecaster.spark import ship_package, write_parquet
    from forecaster.training import GLOBAL

    ship_package(spark)
    files = {key: str(path) for key, path in model_files.items()}
    per_ticker = GLOBAL not in files
    scorer = predict_batch_udf(_predictor(files, horizon), return_type=ArrayType(FloatType()),
                               batch_size=SCORE_BATCH,
                               input_tensor_shapes=[[lookback, len(features)], None] if per_ticker
                               else [[lookback, len(features)]])
    if per_ticker:
        rows = rows.where(rows["ticker"].isin(list(files)))
    windows = window_frame(rows, features, lookback)
    inputs = ("window", "ticker") if per_ticker else ("window",)
    scored = windows.select("ticker", "date", scorer(*inputs).alias("scaled"))
    if out_path is not None:
        write_parquet(scored.write.mode("overwrite"), out_path)
        scored = spark.read.parquet(str(out_path))
    return scored


def score_split(spark: Any, table_path: Path, model_files: dict[str, Path], features: tuple[str, ...],
                lookback: int, horizon: int, split: str = "test", out_path: Path | None = None) -> Any:
    """``score`` every full window of one split of a prepared table."""
    from pyspark.sql import functions as F

    from forecaster.windows import feature_column

    rows = (spark.read.parquet(str(table_path)).where(F.col("split") == split)
            .select("ticker", "date", *map(feature_column, features)))
    return score(spark, rows, model_files, features, lookback, horizon, out_path)


def align(scores: pd.DataFrame, windows: Any) -> np.ndarray:
    """The scores of ``windows``' origins, in their order: (n, horizon).

    ``scores`` holds ``score``'s rows (ticker, date, scaled). Raises ArtifactError if a window
    has no score: the scores are not of these windows.
    """
    horizon = windows.y.shape[1]
    dates = pd.to_datetime(scores["date"]).to_numpy("datetime64[ns]")
    keys = pd.MultiIndex.from_arrays([scores["ticker"].astype(str), dates])
    wanted = pd.MultiIndex.from_arrays([windows.ticker.astype(str), windows.origin_date])
    if not keys.is_unique:
        raise ArtifactError("scores hold some (ticker, date) twice: they are not one scoring of these windows")
    position = keys.get_indexer(wanted)
    if (position < 0).any():
        missing = wanted[position < 0]
        raise ArtifactError(f"{len(missing)} windows have no score, first {missing[0][0]} {missing[0][1]:%Y-%m-%d}")
    values = np.stack(scores["scaled"].to_numpy()) if len(scores) else np.zeros((0, horizon), np.float32)
    aligned = values[position].astype(np.float32)
    if aligned.shape[1:] != (horizon,):
        raise ArtifactError(f"scores have {aligned.shape[1:]} steps, windows {horizon}")
    return aligned
