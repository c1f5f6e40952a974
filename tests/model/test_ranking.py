"""The ranking model: rank-normalised targets per origin day, and a tiny model that learns a cross-sectional order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.columns import feature_column
from forecaster.config import ModelConfig
from forecaster.model import ranking
from forecaster.prepare.windows import make_windows

TINY = ModelConfig(lookback=4, horizon=2, units=8, epochs=3, patience=1, batch_size=64, learning_rate=3e-3)


def _universe(tickers: int, days: int, signal: float, seed: int = 0) -> pd.DataFrame:
    """A prepared-looking table: each ticker's feature is known at the close and its next day's return is
    ``signal`` times it plus noise, so the feature orders tomorrow's changes across tickers."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=days)
    frames = []
    for k in range(tickers):
        feature = rng.normal(size=days)
        returns = np.r_[0.0, signal * 0.01 * feature[:-1] + 0.01 * rng.normal(size=days - 1)]
        split = np.where(np.arange(days) < int(days * 0.7), "train", "val")
        frames.append(
            pd.DataFrame(
                {
                    "ticker": f"T{k:02d}",
                    "date": dates,
                    "pos": np.arange(days),
                    "split": split,
                    "adj_close": 50 * np.exp(np.cumsum(returns)),
                    "target_scale": 0.01,
                    feature_column("log_return"): feature.astype(np.float32),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_rank_targets_are_centred_unit_scores_per_day_and_none_on_a_thin_day():
    table = _universe(tickers=12, days=60, signal=0.0)
    windows = make_windows(table, "train", ("log_return",), 4, 2)
    targets = ranking.rank_targets(windows)
    by_day = pd.DataFrame({"day": windows.origin_date, "score": targets[:, 0]}).groupby("day")["score"]
    assert np.allclose(by_day.mean(), 0.0, atol=1e-6)
    assert np.allclose(by_day.std(ddof=0), ranking.RANK_SCALE * np.sqrt((12**2 - 1) / 12) / 12, rtol=1e-5)
    # The order is the order of the log changes of that day: the highest change gets the highest score.
    change = windows.y[:, 0] * windows.target_scale
    first_day = windows.origin_date == windows.origin_date[0]
    assert np.argmax(targets[first_day, 0]) == np.argmax(change[first_day])
    alone = ranking.rank_targets(windows.subset(windows.ticker == "T00"))
    assert np.isnan(alone).all()  # one ticker a day: nothing to rank


@pytest.mark.parametrize("loss", ranking.LOSSES)
def test_the_ranking_model_learns_an_order_that_holds_on_validation_days(loss):
    table = _universe(tickers=40, days=160, signal=1.0)
    train, val = (make_windows(table, split, ("log_return",), 4, 2) for split in ("train", "val"))
    model, summary = ranking.fit(train, val, 1, TINY, loss=loss)
    scores = np.asarray(model.predict(val.x, verbose=0))
    assert scores.shape == (len(val), 2)
    day = pd.factorize(val.origin_date)[0]
    realised = ranking.rank_normalise(day, val.y[:, 0].astype(np.float64))
    mine = ranking.rank_normalise(day, scores[:, 0].astype(np.float64))
    daily = pd.DataFrame({"day": day, "a": mine, "b": realised}).groupby("day")[["a", "b"]].corr().xs("a", level=1)["b"]
    assert daily.mean() > 0.3  # a step-1 Rank IC that noise alone would not give
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"] <= TINY.epochs and summary["loss"] == loss


def test_a_day_batch_holds_one_origin_day_padded_with_unknown_targets():
    table = _universe(tickers=7, days=40, signal=0.0)
    table = table[~((table["ticker"] == "T06") & (table["pos"] > 20))]  # one ticker ends early: a thinner day
    windows = make_windows(table, "train", ("log_return",), 4, 2)
    targets = ranking.rank_targets(windows)
    days = ranking.day_dataset(windows, targets)
    assert len(days) == len(np.unique(windows.origin_date))
    for i in range(len(days)):
        x, y = days[i]
        assert x.shape == (7, 4, 1) and y.shape == (7, 2)  # every batch one shape: one compilation
    x, y = days[len(days) - 1]  # the last day: six tickers, one padded row
    assert np.isnan(y[6]).all() and not x[6].any() and np.isfinite(y[:6]).all()


def test_a_day_of_more_tickers_than_a_batch_comes_in_chunks_that_cover_it_once(monkeypatch):
    monkeypatch.setattr(ranking, "DAY_BATCH", 3)
    table = _universe(tickers=7, days=30, signal=0.0)
    windows = make_windows(table, "train", ("log_return",), 4, 2)
    targets = ranking.rank_targets(windows)
    for shuffle in (False, True):
        days = ranking.day_dataset(windows, targets, shuffle=shuffle, seed=1)
        batches = [days[i] for i in range(len(days))]
        assert len(days) == 3 * len(np.unique(windows.origin_date))  # 7 tickers a day: chunks of 3, 2 and 2
        assert all(x.shape == (3, 4, 1) for x, _ in batches)
        seen = np.sort(np.concatenate([y[np.isfinite(y[:, 0]), 0] for _, y in batches]))
        assert np.array_equal(seen, np.sort(targets[:, 0]))  # every window once
