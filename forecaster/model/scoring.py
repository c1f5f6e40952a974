"""Distributed scoring: saved models applied to every window on the executors, with
``pyspark.ml.functions.predict_batch_udf`` (each model is loaded once per Python worker).

Windows are cut in Spark - each row's ``lookback`` days of features, oldest first - so
no window is ever collected on the driver; only the scores come back (``align`` puts
them in the order of the driver's ``Windows``). The scores are the model's scaled
outputs (one per forecast step), as ``training.predict_scaled`` gives on the driver.

``run`` scores the test split of every fold this way, in every mode (local, cluster
or Spark Connect), and keeps the scores as Parquet in the run folder (``score_split_to``);
``forecast`` scores each ticker's latest window the same way.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import GLOBAL, QUANTILES, feature_column
from forecaster.errors import ArtifactError

log = logging.getLogger(__name__)

#: Windows per model call. Every call is padded to this size, so the backend compiles one shape per model
#: and a window's score does not depend on which others share its batch (the same numbers in local mode
#: and on any cluster). Padding is cheap next to compiling: on this machine a padded call of 1,024 windows
#: took 6 ms, compiling a shape 0.2 s - so even a forecast's one window per ticker pays little for it.
SCORE_BATCH = 1024
#: Windows worth a task of their own: every task's Python worker pays a Keras import and a compile (about 2 s
#: of one core), so a small run scores in one task, a large one in as many as there are cores.
WINDOWS_PER_TASK = 8 * SCORE_BATCH
#: Per-ticker models a Python worker keeps loaded; windows arrive grouped by ticker, so a few suffice.
MODELS_PER_WORKER = 16


def window_frame(rows: Any, features: tuple[str, ...], lookback: int) -> Any:
    """One row per full window in ``rows`` (a Spark DataFrame of ticker, date and feature columns):
    ticker, origin date, and the window flattened (``lookback`` x features, oldest day first)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ordered = Window.partitionBy("ticker").orderBy("date")
    history = ordered.rowsBetween(-(lookback - 1), Window.currentRow)
    day = F.array(*[F.col(feature_column(f)).cast("float") for f in features])
    return (
        rows.select(
            "ticker",
            "date",
            F.flatten(F.collect_list(day).over(history)).alias("window"),
            F.row_number().over(ordered).alias("day"),
        )
        .where(F.col("day") >= lookback)
        .drop("day")
    )


def _padded_predict(net: Any, windows: np.ndarray) -> np.ndarray:
    """The model's outputs for ``windows``, in calls of exactly SCORE_BATCH windows (zeros fill the last)."""
    out = []
    for start in range(0, len(windows), SCORE_BATCH):
        chunk = windows[start : start + SCORE_BATCH]
        padded = np.zeros((SCORE_BATCH, *chunk.shape[1:]), np.float32)
        padded[: len(chunk)] = chunk
        out.append(np.asarray(net.predict_on_batch(padded), np.float32)[: len(chunk)])
    return np.concatenate(out)


def predict_windows(
    model: Callable[[str], Any], windows: np.ndarray, tickers: np.ndarray | None, horizon: int
) -> np.ndarray:
    """Quantile forecasts (n, horizon, Q) of ``windows`` (n, lookback, features): ``model(GLOBAL)`` for every
    window when ``tickers`` is None, else ``model(ticker)`` for each ticker's windows (NaN where ``model``
    returns None: a ticker whose training failed)."""
    if tickers is None:
        return _padded_predict(model(GLOBAL), windows)
    scores = np.full((len(windows), horizon, len(QUANTILES)), np.nan, np.float32)
    for ticker in np.unique(tickers):
        net = model(str(ticker))
        if net is not None:
            mask = tickers == ticker
            scores[mask] = _padded_predict(net, windows[mask])
    return scores


def _predictor(model_files: dict[str, str], horizon: int) -> Callable[[], Callable[..., np.ndarray]]:
    """``make_predict_fn`` for predict_batch_udf: runs once per Python worker; models load lazily, safely."""

    def make() -> Callable[..., np.ndarray]:
        from forecaster.model.network import load_model

        loaded: OrderedDict[str, Any] = OrderedDict()

        def model(key: str) -> Any:
            if key not in model_files:
                return None
            if key not in loaded:
                loaded[key] = load_model(Path(model_files[key]))
                if len(loaded) > MODELS_PER_WORKER:
                    loaded.popitem(last=False)
            loaded.move_to_end(key)
            return loaded[key]

        # predict_batch_udf returns one flat array per row: (horizon x Q) quantiles, steps first.
        if GLOBAL in model_files:
            return lambda windows: predict_windows(model, windows, None, horizon).reshape(len(windows), -1)
        return lambda windows, tickers: predict_windows(model, windows, tickers, horizon).reshape(len(windows), -1)

    return make


def score(
    spark: Any,
    rows: Any,
    model_files: dict[str, Path],
    features: tuple[str, ...],
    lookback: int,
    horizon: int,
    expected_windows: int | None = None,
) -> Any:
    """Score every full window in ``rows`` (Spark DataFrame) on the executors; lazily.

    ``model_files`` maps ``columns.GLOBAL`` (one model for every ticker) or each ticker to its
    ``.keras`` file, on storage every executor reads. ``expected_windows``, when known, sizes the job:
    one task per ``WINDOWS_PER_TASK`` windows, at most one per core. Returns a Spark DataFrame (ticker,
    date, scaled); nothing runs until it is written or collected.
    """
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from forecaster.prepare.session import parallelism, ship_package

    ship_package(spark)
    files = {key: str(path) for key, path in model_files.items()}
    per_ticker = GLOBAL not in files
    scorer = predict_batch_udf(
        _predictor(files, horizon),
        return_type=ArrayType(FloatType()),
        batch_size=SCORE_BATCH,
        input_tensor_shapes=[[lookback, len(features)], None] if per_ticker else [[lookback, len(features)]],
    )
    if per_ticker:
        rows = rows.where(rows["ticker"].isin(list(files)))
    windows = window_frame(rows, features, lookback)
    if expected_windows is not None:
        windows = windows.coalesce(max(1, min(parallelism(spark), math.ceil(expected_windows / WINDOWS_PER_TASK))))
    inputs = ("window", "ticker") if per_ticker else ("window",)
    return windows.select("ticker", "date", scorer(*inputs).alias("scaled"))


def score_split_to(
    spark: Any,
    table_path: Path,
    model_files: dict[str, Path],
    features: tuple[str, ...],
    lookback: int,
    horizon: int,
    out_path: Path,
    split: str = "test",
    expected_windows: int | None = None,
) -> None:
    """``score`` every full window of one split of a prepared table and write the scores to ``out_path``
    (Parquet, written by the executors); read them with ``artifacts.read_parquet``."""
    from pyspark.sql import functions as F

    from forecaster.prepare.session import write_parquet

    rows = (
        spark.read.parquet(str(table_path))
        .where(F.col("split") == split)
        .select("ticker", "date", *map(feature_column, features))
    )
    scored = score(spark, rows, model_files, features, lookback, horizon, expected_windows)
    write_parquet(scored.write.mode("overwrite"), out_path)


@dataclass(frozen=True)
class Scores:
    """Scored windows: their (ticker, origin day) keys, unique, and their scaled outputs (n, horizon x Q)."""

    keys: pd.MultiIndex
    values: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame) -> Scores:
        """From ``score``'s rows (ticker, date, scaled). Raises ArtifactError if a (ticker, date) is there twice."""
        values = np.stack(rows["scaled"].to_numpy()) if len(rows) else np.zeros((0, 0), np.float32)
        return cls(_keys(rows), values)

    @classmethod
    def read(cls, path: Path) -> Scores:
        """``score_split_to``'s Parquet, its list column read straight into one array (not a NumPy array per
        window, which costs seconds at a million windows)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, columns=["ticker", "date", "scaled"])
        except (pa.ArrowException, OSError) as exc:
            raise ArtifactError(f"{path}: missing or damaged scores ({type(exc).__name__}: {exc})") from exc
        scaled = table.column("scaled").combine_chunks()
        lengths = pc.list_value_length(scaled).to_numpy(zero_copy_only=False)
        if len(lengths) and (lengths != lengths[0]).any():
            raise ArtifactError(f"{path}: scores of different lengths ({lengths.min()} to {lengths.max()})")
        values = scaled.flatten().to_numpy(zero_copy_only=False).reshape(len(scaled), -1 if len(scaled) else 0)
        return cls(_keys(table.select(["ticker", "date"]).to_pandas()), values)


def _keys(rows: pd.DataFrame) -> pd.MultiIndex:
    dates = pd.to_datetime(rows["date"]).to_numpy("datetime64[ns]")
    keys = pd.MultiIndex.from_arrays([rows["ticker"].astype(str), dates])
    if not keys.is_unique:
        raise ArtifactError("scores hold some (ticker, date) twice: they are not one scoring of these windows")
    return keys


def align(scores: pd.DataFrame | Scores, windows: Any, per_step: int = len(QUANTILES)) -> np.ndarray:
    """The scores of ``windows``' origins, in their order: quantile forecasts (n, horizon, Q), or with
    ``per_step=1`` one value per step (n, horizon), the ranking model's.

    ``scores``: ``Scores``, or ``score``'s rows (ticker, date, scaled). Raises ArtifactError if a window
    has no score: the scores are not of these windows.
    """
    if not isinstance(scores, Scores):
        scores = Scores.of(scores)
    horizon = windows.y.shape[1]
    wanted = pd.MultiIndex.from_arrays([windows.ticker.astype(str), windows.origin_date])
    position = scores.keys.get_indexer(wanted)
    if (position < 0).any():
        missing = wanted[position < 0]
        raise ArtifactError(f"{len(missing)} windows have no score, first {missing[0][0]} {missing[0][1]:%Y-%m-%d}")
    width = horizon * per_step
    values = scores.values if len(scores.values) else np.zeros((0, width), np.float32)
    if values.shape[1:] != (width,):
        raise ArtifactError(
            f"scores hold {values.shape[1:]} values per window; {horizon} steps x {per_step} values are {width}"
        )
    shape = (-1, horizon, per_step) if per_step > 1 else (-1, horizon)
    return values[position].astype(np.float32).reshape(shape)
