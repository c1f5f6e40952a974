"""Forecasts beyond the last cached day, from the latest published run's model(s).

``run`` writes ``forecast.parquet`` for the data it trained on; ``python -m forecaster
forecast`` recomputes it later from the cache (after a ``fetch`` brought new days) with
the same model, features and train-only scaling, without retraining.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster import artifacts, cache
from forecaster.errors import ArtifactError, DataError
from forecaster.sources.schema import validate_ticker

log = logging.getLogger(__name__)


def price_forecasts(windows: Any, scaled: Any, widths: dict[str, Any], ma_window: int) -> dict[str, Any]:
    """The LSTM's prices, its interval bounds and every baseline, for ``windows``."""
    from forecaster.baselines import all_baselines
    from forecaster.intervals import interval_prices

    forecasts = {"lstm": windows.to_prices(scaled)}
    for level, width in widths.items():
        lower, upper = interval_prices(windows.origin_price, scaled, windows.target_scale, width)
        forecasts[f"lstm_lo{level}"], forecasts[f"lstm_hi{level}"] = lower, upper
    forecasts.update(all_baselines(windows, ma_window))
    return forecasts


def forecast_beyond(trained: Any, last: Any, scaled: Any, ma_window: int) -> Any:
    """The next ``horizon`` trading days after each ticker's last day, with intervals, from the
    model's ``scaled`` outputs for the ``last`` windows (one per ticker)."""
    from forecaster import evaluation, training
    from forecaster.trading_days import next_sessions

    widths = training.interval_widths(trained, last)
    frame = evaluation.forecast_frame(last, price_forecasts(last, scaled, widths, ma_window))
    horizon = last.y.shape[1]
    for ticker, origin in zip(last.ticker, last.origin_date, strict=True):
        days = next_sessions(origin, horizon)
        rows = frame.index[frame["ticker"] == str(ticker)]
        frame.loc[rows, "target_date"] = [days[s - 1] for s in frame.loc[rows, "step"]]
    return frame.drop(columns=["actual"]).sort_values(["ticker", "step"], ignore_index=True)


def load_trained(run_dir: Path, card: dict[str, Any], tickers: list[str] | None = None) -> Any:
    """The run's models (``safe_mode`` only), each checked against the shapes its card names; with
    ``tickers``, only those tickers' per-ticker models (a global model is always loaded)."""
    from forecaster import model as model_lib
    from forecaster.training import GLOBAL, Trained

    trained = Trained(quantiles=card["intervals"]["quantiles"])
    for key, name in card["models"].items():
        if tickers is not None and key != GLOBAL and key not in tickers:
            continue
        path = run_dir / _model_file(key, name)
        net = model_lib.load_model(path)
        model_lib.check_shape(net, path, int(card["lookback"]), len(card["features"]), int(card["horizon"]))
        trained.models[key], trained.files[key] = net, name
    return trained


def _model_file(key: str, name: str) -> str:
    """The card's file name for a model, refused unless it is one that `run` writes (never a path out)."""
    from forecaster.training import GLOBAL, model_file_name

    expected = model_file_name(key if key == GLOBAL else validate_ticker(key))
    if name != expected:
        raise ArtifactError(f"model card names {name!r} for model {key!r}; a run writes {expected!r}")
    return name


def _last_rows(spark: Any, data_dir: Path, run_dir: Path, card: dict[str, Any], tickers: list[str]) -> Any:
    """Each ticker's last ``lookback`` usable cached days (Spark DataFrame), scaled with the run's train
    statistics."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from forecaster.preparation import add_features, apply_scaling, clean_prices

    features, lookback = tuple(card["features"]), int(card["lookback"])
    paths = [str(cache.prices_path(data_dir, t)) for t in tickers]
    featured = add_features(clean_prices(spark.read.parquet(*paths), card.get("missing", "drop")), features)
    latest_first = Window.partitionBy("ticker").orderBy(F.desc("date"))
    recent = (featured.where(F.col("usable")).withColumn("rank", F.row_number().over(latest_first))
              .where(F.col("rank") <= lookback).drop("rank", "usable").withColumn("split", F.lit("test")))
    stats = spark.read.parquet(str(run_dir / card.get("scaling", "prepared/scaling")))
    return apply_scaling(recent, stats, features)


def _last_windows(rows: Any, card: dict[str, Any], tickers: list[str]) -> Any:
    """One window per ticker ending on its last cached day, from ``_last_rows``."""
    from forecaster.windows import make_windows

    features, lookback = tuple(card["features"]), int(card["lookback"])
    table = rows.toPandas()  # lookback rows per ticker: small
    table["date"] = pd.to_datetime(table["date"])
    short = {t: int(n) for t, n in table.groupby("ticker")["date"].size().items() if n < lookback}
    missing = sorted(set(tickers) - set(table["ticker"]))
    if short or missing:
        raise DataError(f"the model needs {lookback} usable days per ticker (its card's lookback); "
                        f"too few for {short or missing}")
    table = table.sort_values(["ticker", "date"], ignore_index=True)
    return make_windows(table, "test", features, lookback, int(card["horizon"]), last_only=True)


def forecast_latest(data_dir: Path, tickers: list[str] | None = None, master: str | None = None,
                    remote: str | None = None) -> tuple[Path, pd.DataFrame]:
    """Forecast the next trading days for ``tickers`` (default: the run's) from the cache; update the run.

    Returns the run folder and the new forecast rows. Rows of other tickers in the
    run's ``forecast.parquet`` are kept; the file is replaced atomically.
    """
    from forecaster import scoring
    from forecaster.spark import get_spark

    run_dir = artifacts.latest_run_dir(data_dir)
    if run_dir is None:
        raise ArtifactError(f"no published run in {data_dir}: train one first with `python -m forecaster run`")
    card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
    wanted = [validate_ticker(t) for t in tickers] if tickers else list(card["tickers"])
    unknown = sorted(set(wanted) - set(card["tickers"]))
    if unknown:
        raise DataError(f"tickers {unknown} are not in the latest run's model (it knows {card['tickers']}); "
                        "train a run that includes them")
    for ticker in wanted:
        cache.read_ticker(data_dir, ticker)  # a damaged or missing cache file stops here, named
    trained = load_trained(run_dir, card, wanted)  # shapes checked here, before any executor loads a model
    spark = get_spark(master, remote)
    rows = _last_rows(spark, data_dir, run_dir, card, wanted).cache()
    last = _last_windows(rows, card, wanted)
    files = {key: run_dir / name for key, name in trained.files.items()}
    scores = scoring.score(spark, rows, files, tuple(card["features"]), int(card["lookback"]),
                           int(card["horizon"])).toPandas()
    rows.unpersist()
    scaled = scoring.align(scores, last)
    frame = forecast_beyond(trained, last, scaled, int(card.get("moving_average_window", 20)))
    forecast_path = run_dir / artifacts.FORECAST
    if forecast_path.exists():
        previous = artifacts.read_parquet(forecast_path)
        frame = pd.concat([previous[~previous["ticker"].isin(wanted)], frame], ignore_index=True)
    artifacts.write_parquet(forecast_path, frame.sort_values(["ticker", "step"], ignore_index=True))
    log.info("forecast %d tickers from %s into %s", len(wanted), last.origin_date.max(), forecast_path)
    return run_dir, frame[frame["ticker"].isin(wanted)].reset_index(drop=True)
