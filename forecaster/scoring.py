"""Distributed scoring: a saved model applied to every window of a prepared split on the executors,
with ``pyspark.ml.functions.predict_batch_udf`` (the model is loaded once per Python worker).

Windows are cut in Spark - each row's ``lookback`` days of features, oldest first - so
no window is ever collected on the driver. The scores are the model's scaled outputs
(one per forecast step), as ``training.predict_scaled`` gives on the driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def window_frame(spark: Any, table_path: Path, features: tuple[str, ...], lookback: int, split: str) -> Any:
    """One row per full window of ``split``: ticker, origin date and pos, and the window flattened
    (``lookback`` x features, oldest day first)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from forecaster.windows import feature_column

    rows = spark.read.parquet(str(table_path)).where(F.col("split") == split)
    ordered = Window.partitionBy("ticker").orderBy("pos")
    history = ordered.rowsBetween(-(lookback - 1), Window.currentRow)
    day = F.array(*[F.col(feature_column(f)).cast("float") for f in features])
    return (rows.select("ticker", "date", "pos", F.flatten(F.collect_list(day).over(history)).alias("window"),
                        F.row_number().over(ordered).alias("day"))
            .where(F.col("day") >= lookback).drop("day"))


def _predictor(model_path: str):
    """``make_predict_fn`` for predict_batch_udf: runs once per Python worker, loads the model safely."""
    def make() -> Any:
        from forecaster.model import load_model

        net = load_model(Path(model_path))

        def predict(inputs: np.ndarray) -> np.ndarray:
            return np.asarray(net.predict(inputs, verbose=0), dtype=np.float32)
        return predict
    return make


def score_split(spark: Any, table_path: Path, model_path: Path, features: tuple[str, ...], lookback: int,
                split: str = "test", out_path: Path | None = None, batch_size: int = 1024) -> Any:
    """Score every full window of ``split`` with the model at ``model_path`` on the executors.

    Returns a Spark DataFrame (ticker, date, pos, scaled); with ``out_path`` it is also written there as Parquet.
    """
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from forecaster.spark import ship_package, write_parquet

    ship_package(spark)
    scorer = predict_batch_udf(_predictor(str(model_path)), return_type=ArrayType(FloatType()),
                               batch_size=batch_size, input_tensor_shapes=[[lookback, len(features)]])
    scored = window_frame(spark, table_path, features, lookback, split).select(
        "ticker", "date", "pos", scorer("window").alias("scaled"))
    if out_path is not None:
        write_parquet(scored.write.mode("overwrite"), out_path)
        scored = spark.read.parquet(str(out_path))
    return scored
