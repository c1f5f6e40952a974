"""The forecasting contract: reproducibility, per-ticker models, walk-forward folds, forecasts beyond the data."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from forecaster import artifacts
from forecaster.columns import RANK_SIGNAL
from forecaster.errors import ArtifactError, ConfigError, DataError
from forecaster.jobs.forecast import forecast_latest
from forecaster.jobs.run import RunOptions, run
from tests.conftest import TINY_MODEL


def _tiny_run(data_dir, **options):
    """A run with the options of the shared ``sample_run`` but for ``options``."""
    defaults = {
        "source": "sample",
        "tickers": ["IBM", "MSFT"],
        "model": TINY_MODEL,
        "data_dir": data_dir,
        "verbose": 0,
        "ma_window": 10,
        "test_start": "2012-03-01",
        "min_cross_section": 2,
    }
    return run(RunOptions(**{**defaults, **options}))


def test_the_forecast_command_reproduces_the_run_forecast_on_real_trading_days(published_run):
    data_dir, result = published_run
    written = artifacts.read_parquet(result.run_dir / artifacts.FORECAST)
    run_dir, fresh = forecast_latest(data_dir)
    assert run_dir == result.run_dir
    assert fresh["lstm"].to_numpy() == pytest.approx(written["lstm"].to_numpy(), rel=1e-6)
    # AAPL.csv ends on Monday 2018-04-30: the next NYSE sessions, no weekend.
    assert [f"{d:%Y-%m-%d}" for d in fresh["target_date"]] == ["2018-05-01", "2018-05-02", "2018-05-03"]
    assert (fresh["origin_date"] == pd.Timestamp("2018-04-30")).all()
    ordered = fresh[["lstm_lo95", "lstm_lo80", "lstm", "lstm_hi80", "lstm_hi95"]].to_numpy()
    assert (ordered[:, :-1] <= ordered[:, 1:]).all()


def test_forecast_refuses_tickers_the_model_does_not_know(published_run):
    data_dir, _ = published_run
    with pytest.raises(DataError, match=r"\['MSFT'\] are not in the latest run's model"):
        forecast_latest(data_dir, ["MSFT"])


def test_forecast_without_a_run_says_what_to_do(tmp_path):
    with pytest.raises(ArtifactError, match="python -m forecaster run"):
        forecast_latest(tmp_path)


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics(sample_run, tmp_path):
    _, first = sample_run
    assert _tiny_run(tmp_path).report == first.report


def test_the_forecast_of_a_second_ticker_is_its_own(sample_run):
    data_dir, result = sample_run
    _, fresh = forecast_latest(data_dir, ["MSFT"])
    assert fresh["ticker"].unique().tolist() == ["MSFT"]
    written = artifacts.read_parquet(result.run_dir / artifacts.FORECAST)
    assert sorted(written["ticker"].unique()) == ["IBM", "MSFT"]  # IBM's rows are kept
    msft = written[written["ticker"] == "MSFT"].reset_index(drop=True)
    assert fresh["lstm"].to_numpy() == pytest.approx(msft["lstm"].to_numpy(), rel=1e-6)


def test_the_ranking_model_scores_every_test_window_and_the_forecast_beside_the_prices(sample_run):
    data_dir, result = sample_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    assert card["rank_model"]["file"] == artifacts.RANK_MODEL and card["rank_model"]["training"]["loss"] == "ic"
    assert (result.run_dir / artifacts.RANK_MODEL).is_file() and (result.run_dir / "rank_scores").is_dir()
    predictions = artifacts.read_parquet(result.run_dir / artifacts.PREDICTIONS)
    assert predictions[RANK_SIGNAL].notna().all()
    # A score per ticker, day and step, read as a signal of its own in the cross-sectional tests and the portfolio.
    summary = result.report["summary"]
    assert RANK_SIGNAL in summary["cross_section"]["1"] and RANK_SIGNAL in summary["portfolio"]["1"]
    written = artifacts.read_parquet(result.run_dir / artifacts.FORECAST)
    _, fresh = forecast_latest(data_dir, ["IBM"])
    # The forecast job scores the last window in the driver: the number the executors gave the run.
    ibm = written[written["ticker"] == "IBM"].reset_index(drop=True)
    assert fresh[RANK_SIGNAL].to_numpy() == pytest.approx(ibm[RANK_SIGNAL].to_numpy(), rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_per_ticker_models_are_trained_and_saved_separately(spark, tmp_path):
    result = _tiny_run(tmp_path, per_ticker=True)
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    assert card["per_ticker"] is True
    assert card["models"] == {"IBM": "models/IBM.keras", "MSFT": "models/MSFT.keras"}
    assert set(card["intervals"]["shrink"]) == {"IBM", "MSFT"}
    assert set(result.report["tickers"]) == {"IBM", "MSFT"}
    assert (result.run_dir / "models" / "MSFT.keras").is_file()


@pytest.mark.slow
def test_walk_forward_folds_cover_every_test_day_once(sample_run, tmp_path):
    _, single = sample_run
    folded = _tiny_run(tmp_path, folds=3)
    assert folded.report["tickers"]["IBM"]["n_test"] == single.report["tickers"]["IBM"]["n_test"]
    predictions = artifacts.read_parquet(folded.run_dir / artifacts.PREDICTIONS)
    step1 = predictions[predictions["step"] == 1]
    assert step1.groupby("ticker")["target_date"].apply(lambda d: d.is_unique).all()
    card = artifacts.read_json(folded.run_dir / artifacts.MODEL_CARD)
    assert card["folds"] == 3 and len(card["windows"]) == 3
    # Each later fold trains on more history.
    assert card["windows"][0]["train"] < card["windows"][1]["train"] < card["windows"][2]["train"]


def test_moving_average_longer_than_the_lookback_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="longer than --lookback"):
        _tiny_run(tmp_path, ma_window=TINY_MODEL.lookback + 1)


def test_an_unknown_ranking_loss_is_refused_before_any_work(tmp_path):
    from dataclasses import replace

    with pytest.raises(ConfigError, match="--ranking 'rank': choose one of ic, mse, off"):
        _tiny_run(tmp_path, model=replace(TINY_MODEL, ranking="rank"))
    assert not (tmp_path / "runs").exists()


def _copy_with_card(published_run, tmp_path, **changes):
    """A copy of the published data dir whose latest model card has ``changes``."""
    data_dir, result = published_run
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    card_path = copy / artifacts.RUNS / result.run_dir.name / artifacts.MODEL_CARD
    artifacts.write_json(card_path, {**artifacts.read_json(card_path), **changes})
    return copy


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"lookback": TINY_MODEL.lookback + 5},
            rf"takes windows of {TINY_MODEL.lookback} days .* card says lookback "
            rf"{TINY_MODEL.lookback + 5}",
        ),
        ({"horizon": TINY_MODEL.horizon + 1}, rf"forecasts {TINY_MODEL.horizon} steps x 5 values, but .* horizon"),
        ({"models": {"global": "../../../elsewhere.keras"}}, "a run writes 'model.keras'"),
    ],
)
def test_forecast_refuses_a_model_card_that_does_not_match_its_model(published_run, tmp_path, changes, message):
    data_dir = _copy_with_card(published_run, tmp_path, **changes)
    with pytest.raises(ArtifactError, match=message):
        forecast_latest(data_dir)


def test_a_run_whose_card_names_no_ends_forecasts_with_one_correction_for_both(published_run, tmp_path):
    from forecaster.model import intervals

    data_dir, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    # Runs before 2026-12-03 named no way of calibrating the ends; they kept one score per band, as runs do now.
    old = {key: value for key, value in card["intervals"].items() if key != "ends"}
    copy = _copy_with_card(published_run, tmp_path, intervals=old)
    calibration = copy / artifacts.RUNS / result.run_dir.name / artifacts.CALIBRATION
    stored = artifacts.read_parquet(calibration)
    assert {"score80", "score95"} <= set(stored) and not intervals.has_end_scores(stored)  # joint: half the columns
    _, then = forecast_latest(copy)
    _, now = forecast_latest(data_dir)
    bands = ["lstm_lo95", "lstm_lo80", "lstm_hi80", "lstm_hi95"]
    np.testing.assert_array_equal(then[bands].to_numpy(), now[bands].to_numpy())  # joint is today's default too


@pytest.mark.slow
def test_forecast_recalibrates_with_the_outcomes_that_arrived_since_the_run(
    spark, shared_data, tmp_path, caplog, monkeypatch
):
    """A run on AAPL to 2018-03-29; then the cache gets April 2018 and ``forecast`` issues from 2018-04-30 with
    bands calibrated by April's outcomes too, and never by one after its origin."""
    import logging

    from forecaster.data import cache
    from forecaster.data.sources import load_prices
    from forecaster.model import intervals
    from tests.conftest import AAPL_CSV

    calibrated = []  # the outcomes and origins each calibration was given
    real = intervals.rolling_corrections
    monkeypatch.setattr(
        intervals,
        "rolling_corrections",
        lambda known, origins, *a, **k: calibrated.append((known, origins)) or real(known, origins, *a, **k),
    )

    prices = load_prices("csv", csv_paths=[str(AAPL_CSV)])
    cache.write_prices(tmp_path, prices[prices["date"] <= "2018-03-29"], "test", "test")
    result = run(
        RunOptions(
            source="cache", tickers=["AAPL"], model=TINY_MODEL, data_dir=tmp_path, verbose=0, test_start="2017-06-01"
        )
    )
    cache.write_prices(tmp_path, prices, "test", "test")  # 21 new days
    with caplog.at_level(logging.INFO, logger="forecaster.jobs.forecast"):
        _, fresh = forecast_latest(tmp_path)
    assert (fresh["origin_date"] == pd.Timestamp("2018-04-30")).all()
    assert "and 63 outcomes since the run" in caplog.text  # 21 new days x 3 steps
    known, origins = calibrated[-1]  # the forecast's own calibration
    arrived = pd.to_datetime(known["target_date"]) > pd.Timestamp("2018-03-29")
    assert arrived.sum() == 63 and (pd.to_datetime(known["target_date"]) <= pd.Timestamp("2018-04-30")).all()
    with_them, without = real(known, origins), real(known[~arrived], origins)
    assert not np.array_equal(with_them[80], without[80])  # April's outcomes moved the bands
    stored = artifacts.read_parquet(result.run_dir / artifacts.CALIBRATION)
    assert pd.to_datetime(stored["target_date"]).max() <= pd.Timestamp("2018-03-29")
    ordered = fresh[["lstm_lo95", "lstm_lo80", "lstm_hi80", "lstm_hi95"]].to_numpy()
    assert (ordered[:, :-1] <= ordered[:, 1:]).all()


def test_a_cross_sectional_feature_reads_the_run_s_whole_universe_whatever_is_forecast(spark, tmp_path):
    from forecaster.data import cache
    from forecaster.data.sources import load_prices
    from forecaster.jobs.forecast import _last_rows

    tickers = ["IBM", "MSFT", "AAPL"]
    cache.write_prices(tmp_path, load_prices("sample", tickers), "test", "test")
    run_dir = tmp_path / "runs" / "r"
    stats = pd.DataFrame(
        {"ticker": tickers, "market_return_mean": 0.0, "market_return_std": 1.0, "log_return_mean": 0.0}
    ).assign(log_return_std=1.0)
    artifacts.write_parquet(run_dir / "scaling" / "part-00000.parquet", stats)
    card = {"features": ["market_return"], "tickers": tickers, "data": dict.fromkeys(tickers), "scaling": "scaling"}
    one = _last_rows(spark, tmp_path, run_dir, card, ["IBM"], days=5)
    prices = load_prices("sample", tickers).sort_values(["ticker", "date"])
    prices["r"] = np.log(prices["adj_close"] / prices.groupby("ticker")["adj_close"].shift(1))
    market = prices.groupby("date")["r"].mean()
    assert one["ticker"].unique().tolist() == ["IBM"]
    expected = market.reindex(pd.to_datetime(one["date"])).to_numpy()
    np.testing.assert_allclose(one["x_market_return"], expected, rtol=1e-12)


def test_a_cross_sectional_model_refuses_a_cache_without_its_market(tmp_path):
    from forecaster.data import cache
    from forecaster.data.sources import load_prices
    from forecaster.jobs.forecast import check_universe

    tickers = ["IBM", "MSFT", "AAPL"]
    prices = load_prices("sample", tickers)
    paths = cache.write_prices(tmp_path, prices, "test", "test")
    card = {"features": ["log_return", "market_return"], "tickers": tickers, "data": dict.fromkeys(tickers)}
    last = prices["date"].max()
    check_universe(tmp_path, card, last)  # every ticker there, through the last day
    later = last + pd.offsets.BDay(1)
    one_more = prices[prices["ticker"] == "AAPL"].tail(1).assign(date=later)
    cache.write_prices(tmp_path, pd.concat([prices[prices["ticker"] == "AAPL"], one_more]), "test", "test")
    with pytest.raises(DataError, match=r"2 of the run's 3 tickers have no prices for .*refresh every ticker"):
        check_universe(tmp_path, card, later)  # AAPL alone on its newest day would be the market
    next(p for p in paths if p.stem == "MSFT").unlink()
    with pytest.raises(DataError, match=r"\['market_return'\] are computed across the run's 3 tickers.*MSFT"):
        check_universe(tmp_path, card, last)
