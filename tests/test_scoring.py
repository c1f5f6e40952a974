"""Distributed scoring with predict_batch_udf gives the driver's predictions, window for window."""

from __future__ import annotations

import numpy as np

from forecaster import artifacts, training
from forecaster.model import load_model
from forecaster.scoring import score_split
from forecaster.windows import make_windows, read_split


def test_scores_on_the_executors_equal_the_drivers_predictions(spark, published_run, tmp_path):
    _, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    features, lookback = tuple(card["features"]), card["lookback"]
    table = result.run_dir / "prepared" / "table"
    scored = score_split(spark, table, result.run_dir / artifacts.MODEL, features, lookback, "test",
                         out_path=tmp_path / "scored").toPandas().sort_values(["ticker", "pos"], ignore_index=True)

    rows = read_split(table, "test", features)
    windows = make_windows(rows, "test", features, lookback, card["horizon"], last_only=False)
    expected = training.predict_scaled(load_model(result.run_dir / artifacts.MODEL), windows)
    # The backtest's windows stop one day before the end (the last day has no target): score has one more.
    assert len(scored) == len(windows) + 1
    by_date = dict(zip(scored["date"].astype("datetime64[ns]"), scored["scaled"], strict=True))
    got = np.stack([by_date[d] for d in windows.origin_date])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
