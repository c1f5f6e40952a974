"""Distributed scoring with predict_batch_udf gives the driver's predictions, window for window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster import artifacts
from forecaster.errors import ArtifactError
from forecaster.model import training
from forecaster.model.network import load_model
from forecaster.model.scoring import SCORE_BATCH, Scores, align, score, score_split_to
from forecaster.prepare.windows import make_windows, read_split


def _test_windows(result, card):
    rows = read_split(result.run_dir / "prepared" / "table", "test", tuple(card["features"]))
    return make_windows(rows, "test", tuple(card["features"]), card["lookback"], card["horizon"])


def test_scores_on_the_executors_equal_the_drivers_predictions(spark, published_run, tmp_path):
    _, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    features, lookback, horizon = tuple(card["features"]), card["lookback"], card["horizon"]
    score_split_to(
        spark,
        result.run_dir / "prepared" / "table",
        {"global": result.run_dir / artifacts.MODEL},
        features,
        lookback,
        horizon,
        tmp_path / "scored",
    )
    scored = artifacts.read_parquet(tmp_path / "scored")

    windows = _test_windows(result, card)
    expected = training.predict_scaled(load_model(result.run_dir / artifacts.MODEL), windows)
    # The backtest's windows stop one day before the end (the last day has no target): score has one more.
    assert len(scored) == len(windows) + 1
    np.testing.assert_allclose(align(scored, windows), expected, rtol=1e-4, atol=1e-5)


def test_run_keeps_the_scores_it_computed_on_the_executors(published_run):
    _, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    assert card["scores"] == ["scores"]
    scores = artifacts.read_parquet(result.run_dir / "scores")
    windows = _test_windows(result, card)
    predictions = artifacts.read_parquet(result.run_dir / artifacts.PREDICTIONS)
    step1 = predictions[predictions["step"] == 1].sort_values("origin_date")
    shrink = np.asarray(card["intervals"]["shrink"]["global"])
    prices = windows.to_prices(align(scores, windows)[..., 2] * shrink[None, :])[:, 0]  # the shrunk median
    np.testing.assert_array_equal(prices, step1["lstm"].to_numpy())
    # What the run reads, the list column straight into one array, is what the rows give.
    read = Scores.read(result.run_dir / "scores")
    assert read.values.shape == (len(scores), 5 * card["horizon"]) and read.keys.equals(Scores.of(scores).keys)
    np.testing.assert_array_equal(align(read, windows), align(scores, windows))


def test_per_ticker_models_score_their_own_tickers_only(spark, published_run, tmp_path):
    """Two tickers, two models (here the same file): each window is scored by its ticker's model;
    a ticker without a model is not scored."""
    _, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    features, lookback, horizon = tuple(card["features"]), card["lookback"], card["horizon"]
    table = artifacts.read_parquet(result.run_dir / "prepared" / "table")
    table = table.astype({"ticker": str, "split": str})
    both = pd.concat([table, table.assign(ticker="TWIN"), table.assign(ticker="NOMODEL")], ignore_index=True)
    path = tmp_path / "table"
    spark.createDataFrame(both.assign(date=pd.to_datetime(both["date"]).dt.date)).write.parquet(str(path))
    model = result.run_dir / artifacts.MODEL
    rows = spark.read.parquet(str(path)).where("split = 'test'")
    scored = score(spark, rows, {"AAPL": model, "TWIN": model}, features, lookback, horizon).toPandas()

    assert sorted(scored["ticker"].unique()) == ["AAPL", "TWIN"]
    by_ticker = {t: np.stack(rows.sort_values("date")["scaled"]) for t, rows in scored.groupby("ticker")}
    np.testing.assert_array_equal(by_ticker["AAPL"], by_ticker["TWIN"])
    windows = _test_windows(result, card)
    np.testing.assert_allclose(
        align(scored[scored["ticker"] == "AAPL"], windows),
        training.predict_scaled(load_model(model), windows),
        rtol=1e-4,
        atol=1e-5,
    )


def test_a_window_without_a_score_is_an_error_not_a_silent_gap(published_run):
    _, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    scores = artifacts.read_parquet(result.run_dir / "scores")
    windows = _test_windows(result, card)
    with pytest.raises(ArtifactError, match="1 windows have no score, first AAPL"):
        align(scores.iloc[1:], windows)
    with pytest.raises(ArtifactError, match="twice"):
        align(pd.concat([scores, scores.iloc[:1]]), windows)


class _RecordingNet:
    """Stands in for a model: returns each window's last day, records the batch shapes it was called with."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def predict_on_batch(self, batch):
        self.shapes.append(batch.shape)
        return batch[:, -1, :2]


def test_every_model_call_has_the_same_batch_shape():
    """Padding to SCORE_BATCH: one compiled shape, and a window's score does not depend on its neighbours."""
    from forecaster.model.scoring import _padded_predict

    net = _RecordingNet()
    windows = np.random.default_rng(0).normal(size=(SCORE_BATCH + 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(_padded_predict(net, windows), windows[:, -1, :2])
    assert net.shapes == [(SCORE_BATCH, 4, 2)] * 2
