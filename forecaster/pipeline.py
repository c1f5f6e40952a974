"""The main job: load -> Spark prepare -> train -> backtest -> metrics -> published artifacts."""

from __future__ import annotations

import logging
import os
import platform
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from forecaster import artifacts, cache, config, ingest
from forecaster.config import ModelConfig
from forecaster.errors import DataError, SourceError
from forecaster.forecasting import forecast_beyond, price_forecasts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Everything ``run`` needs; defaults come from ``forecaster.config``."""

    source: str = "sample"
    tickers: list[str] | None = None
    csv_paths: list[str] = field(default_factory=list)
    on_bad_rows: str = "fail"
    test_start: str | None = None
    val_share: float = config.DEFAULT_VAL_SHARE
    features: tuple[str, ...] = config.DEFAULT_FEATURES
    model: ModelConfig = field(default_factory=ModelConfig)
    data_dir: Path = field(default_factory=config.data_dir)
    master: str | None = None
    remote: str | None = None  # Spark Connect URL; used instead of master when given
    report_path: Path | None = None
    verbose: int = 2  # Keras fit verbosity: 2 = one line per epoch
    missing: str = "drop"  # missing price values: drop the row, or ffill from the previous day
    per_ticker: bool = False  # one model per ticker instead of one global model
    folds: int = 1  # walk-forward folds over the test period (each retrains on all history before it)
    ma_window: int = 20  # days of the moving-average baseline (at most the lookback)


@dataclass(frozen=True)
class RunResult:
    """Where the run's artifacts are and the report they hold."""

    run_dir: Path
    report: dict[str, Any]


def ensure_writable(data_dir: Path) -> Path:
    """Create ``data_dir`` if needed, or raise DataError if it cannot be written to."""
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        probe = Path(data_dir) / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataError(f"data directory {data_dir} is not writable ({exc.strerror})") from exc
    return Path(data_dir)


def library_versions() -> dict[str, str]:
    """Versions that decide whether a saved model and its numbers can be reproduced."""
    names = ["keras", "jax", "pyspark", "numpy", "pandas", "pyarrow"]
    found = {name: version(name) for name in names if _installed(name)}
    return {"python": platform.python_version(), "keras_backend": os.environ["KERAS_BACKEND"], **found}


def _cache_meta(path: Path) -> dict[str, Any]:
    # Footer only: the rows were already read and validated before Spark saw them.
    meta = cache.read_meta(path)
    return {key: meta[key] for key in ("source", "adjustment", "first_date", "last_date", "fetched_at")}


def _installed(name: str) -> bool:
    try:
        version(name)
    except Exception:
        return False
    return True


def model_card(opts: RunOptions, prepared: Any, trained: Any, folds: list[Any], price_paths: list[Path],
               model_files: dict[str, str]) -> dict[str, Any]:
    """What the model was trained on and how: read by people and by the dashboard."""
    bounds = prepared.bounds
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": opts.source,
        "data": {p.stem: _cache_meta(p) for p in price_paths},
        "tickers": [t for t in bounds["ticker"] if not trained.per_ticker or t in trained.files],
        "skipped_tickers": prepared.skipped,
        "failed_tickers": folds[-1].failed,
        "data_range": {row.ticker: [str(row.first_date), str(row.last_date)] for row in bounds.itertuples()},
        "test_start": prepared.test_start,
        "target": "adjusted close; the model predicts log(adj_close[t+k] / adj_close[t]) / train volatility",
        "features": list(prepared.features),
        "lookback": prepared.lookback,
        "horizon": prepared.horizon,
        "hyper_parameters": opts.model.to_dict(),
        "per_ticker": trained.per_ticker,
        "models": model_files,
        "folds": opts.folds,
        "windows": [f.counts for f in folds],
        "moving_average_window": opts.ma_window,
        "missing": opts.missing,
        "intervals": {"method": "split conformal on validation residuals (scaled log change)",
                      "quantiles": trained.quantiles},
        "training": {
            key: {"seconds": round(r.train_seconds, 2), "epochs_run": r.epochs_run, "best_epoch": r.best_epoch,
                  "best_val_loss": r.best_val_loss}
            for key, r in trained.results.items()
        },
        "training_seconds_all_folds": round(sum(r.train_seconds for f in folds for r in f.trained.results.values()),
                                            2),
        "versions": library_versions(),
    }


def gather_prices(opts: RunOptions, data_dir: Path) -> list[Path]:
    """Fill the cache from the chosen source and return the cache files to prepare.

    ``cache`` uses what is cached, with no network; the other sources store into
    the cache first, so Spark always reads the same validated Parquet files.
    """
    if opts.source == "cache":
        tickers = opts.tickers or cache.cached_tickers(data_dir)
        if not tickers:
            raise SourceError(f"the cache in {cache.prices_dir(data_dir)} is empty; fetch or import prices first")
        for ticker in tickers:
            cache.read_ticker(data_dir, ticker)  # a damaged file stops here, named, before Spark sees it
        return [cache.prices_path(data_dir, t) for t in tickers]
    if opts.source == "yahoo":
        if not opts.tickers:
            raise SourceError("--source yahoo needs --tickers")
        report = ingest.fetch(opts.tickers, data_dir)
        if not report.ok:
            raise SourceError("could not fetch: " + "; ".join(o.message for o in report.failures))
    elif opts.source == "csv":
        report = ingest.import_csv(opts.csv_paths, data_dir, tickers=opts.tickers, on_bad_rows=opts.on_bad_rows)
    elif opts.source == "sample":
        report = ingest.store_sample(data_dir, opts.tickers)
    else:
        raise SourceError(f"unknown source {opts.source!r}")
    return [cache.prices_path(data_dir, o.ticker) for o in report.outcomes]


def prepare_only(opts: RunOptions) -> tuple[Path, dict[str, Any]]:
    """The ``prepare`` command: Spark preparation of cached tickers into a published folder.

    Returns the folder and its manifest (``prepared.json``).
    """
    from forecaster.preparation import prepare
    from forecaster.spark import get_spark

    data_dir = ensure_writable(opts.data_dir)
    price_paths = gather_prices(opts, data_dir)
    out_dir = artifacts.new_run_dir(data_dir, artifacts.PREPARED)
    try:
        prepared = prepare(get_spark(opts.master, opts.remote), price_paths, out_dir, lookback=opts.model.lookback,
                           horizon=opts.model.horizon, test_start=opts.test_start, val_share=opts.val_share,
                           features=opts.features, missing=opts.missing)
        manifest = {
            "test_start": prepared.test_start, "lookback": prepared.lookback, "horizon": prepared.horizon,
            "features": list(prepared.features), "val_share": opts.val_share, "missing": opts.missing,
            "tickers": prepared.bounds["ticker"].tolist(), "skipped_tickers": prepared.skipped,
            "table": "table", "scaling": "scaling",
        }
        artifacts.write_json(out_dir / artifacts.PREPARED_MANIFEST, manifest)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    artifacts.publish_run(out_dir)
    return out_dir, manifest


def run(opts: RunOptions) -> RunResult:
    """Run the whole job and publish its artifacts as the latest run.

    Example:
        >>> result = run(RunOptions(source="sample", tickers=["AAPL"]))  # doctest: +SKIP
        >>> result.report["summary"]["median_rmse_ratio_vs_naive"]["1"]  # doctest: +SKIP
    """
    if opts.ma_window > opts.model.lookback:
        raise DataError(f"--ma-window {opts.ma_window} is longer than --lookback {opts.model.lookback}: "
                        "the baseline may only use the days the model sees")
    data_dir = ensure_writable(opts.data_dir)
    price_paths = gather_prices(opts, data_dir)
    run_dir = artifacts.new_run_dir(data_dir)
    try:
        result = _train_and_evaluate(opts, price_paths, run_dir)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # an unpublished, incomplete run is of no use
        raise
    artifacts.publish_run(run_dir)
    if opts.report_path is not None:
        artifacts.write_json(Path(opts.report_path), result.report)
    log.info("published run %s", run_dir)
    return result


def _mase_scales(train_table: Any) -> dict[str, float]:
    """Per ticker, the mean absolute one-day change of the adjusted close over train rows."""
    changes = train_table.groupby("ticker", observed=True)["adj_close"].diff().abs()
    return {str(t): float(v) for t, v in changes.groupby(train_table["ticker"], observed=True).mean().items()}


@dataclass
class FoldOutput:
    """What one walk-forward fold produced."""

    prepared: Any
    trained: Any
    predictions: Any  # backtest rows of this fold
    forecast: Any  # the next horizon days after each ticker's last day, from this fold's model(s)
    mase_scale: dict[str, float]
    counts: dict[str, int]
    failed: dict[str, str]  # ticker -> why its model failed (per-ticker models only)
    scores_path: Path  # the model's scaled outputs for every test window, computed on the executors


def _run_fold(opts: RunOptions, price_paths: list[Path], run_dir: Path, out_dir: Path, scores_path: Path,
              fold: int) -> FoldOutput:
    import numpy as np

    from forecaster import distributed, evaluation, scoring, training
    from forecaster.preparation import prepare
    from forecaster.spark import get_spark
    from forecaster.windows import make_windows, read_split

    cfg = opts.model
    spark = get_spark(opts.master, opts.remote)
    prepared = prepare(spark, price_paths, out_dir, lookback=cfg.lookback, horizon=cfg.horizon,
                       test_start=opts.test_start, val_share=opts.val_share, features=opts.features,
                       missing=opts.missing, n_folds=opts.folds, fold=fold)
    tables = {split: read_split(prepared.table_path, split, prepared.features) for split in ("train", "val", "test")}
    windows = {split: make_windows(table, split, prepared.features, cfg.lookback, cfg.horizon)
               for split, table in tables.items()}
    counts = {split: len(w) for split, w in windows.items()}
    log.info("fold %d of %d: windows %s", fold + 1, opts.folds, counts)
    last = make_windows(tables["test"], "test", prepared.features, cfg.lookback, cfg.horizon, last_only=True)
    test, failed = windows["test"], {}
    if opts.per_ticker:
        # One task per ticker on the executors, each cutting its own windows and saving its model.
        trained, failed = distributed.fit_per_ticker(spark, prepared.table_path, run_dir, prepared.features, cfg,
                                                     prepared.bounds["ticker"].tolist())
        modelled = list(trained.files)
        test, last = test.subset(np.isin(test.ticker, modelled)), last.subset(np.isin(last.ticker, modelled))
    else:
        trained = training.fit(windows["train"], windows["val"], len(prepared.features), cfg, verbose=opts.verbose)
        training.save(trained, run_dir)  # where the executors load it from; a later fold replaces it
    # Every test window - the backtest's and each ticker's last, the forecast's - scored on the executors.
    scoring.score_split(spark, prepared.table_path, {k: run_dir / f for k, f in trained.files.items()},
                        prepared.features, cfg.lookback, cfg.horizon, "test", out_path=scores_path)
    scores = artifacts.read_parquet(scores_path)
    log.info("scored %d test windows on the executors into %s", len(scores), scores_path)
    scaled = scoring.align(scores, test)
    widths = training.interval_widths(trained, test)
    predictions = evaluation.predictions_frame(test, price_forecasts(test, scaled, widths, opts.ma_window))
    forecast = forecast_beyond(trained, last, scoring.align(scores, last), opts.ma_window)
    return FoldOutput(prepared, trained, predictions, forecast, _mase_scales(tables["train"]), counts, failed,
                      scores_path)


def _price_snapshot(price_paths: list[Path], tickers: list[str]) -> Any:
    """The run's price history for the dashboard, OHLC scaled to the adjusted close so candles match it."""
    import pandas as pd

    frames = []
    for path in price_paths:
        if path.stem in tickers:
            prices = cache.read_ticker(path.parent.parent, path.stem).prices
            factor = prices["adj_close"] / prices["close"]
            frames.append(prices.assign(**{c: prices[c] * factor for c in ("open", "high", "low", "close")}))
    return pd.concat(frames, ignore_index=True)[["ticker", "date", "open", "high", "low", "close", "volume"]]


def _train_and_evaluate(opts: RunOptions, price_paths: list[Path], run_dir: Path) -> RunResult:
    # Imported here: Spark and Keras take seconds to load, and `--help` should not wait.
    import pandas as pd

    from forecaster import distributed, evaluation

    def fold_dir(name: str, k: int) -> Path:
        return run_dir / (name if opts.folds == 1 else f"{name}/fold-{k + 1}")

    folds = [_run_fold(opts, price_paths, run_dir, fold_dir("prepared", k), fold_dir("scores", k), k)
             for k in range(opts.folds)]
    final = folds[-1]  # trained on the most history: the model kept and used to forecast
    if final.trained.per_ticker:
        distributed.remove_models_except(run_dir, list(final.trained.files))
    predictions = pd.concat([f.predictions for f in folds], ignore_index=True)
    predictions = predictions.sort_values(["ticker", "step", "target_date"], ignore_index=True)
    artifacts.write_parquet(run_dir / artifacts.PRICES_SNAPSHOT,
                            _price_snapshot(price_paths, final.prepared.bounds["ticker"].tolist()))
    artifacts.write_parquet(run_dir / artifacts.PREDICTIONS, predictions)
    report = evaluation.build_report(predictions, final.mase_scale)
    artifacts.write_json(run_dir / artifacts.REPORT, report)
    artifacts.write_parquet(run_dir / artifacts.FORECAST, final.forecast)
    card = model_card(opts, final.prepared, final.trained, folds, price_paths, final.trained.files)
    card["scaling"] = str(final.prepared.scaling_path.relative_to(run_dir))
    # Scaled outputs of every test window, per fold, scored on the executors (predict_batch_udf).
    card["scores"] = [str(f.scores_path.relative_to(run_dir)) for f in folds]
    artifacts.write_json(run_dir / artifacts.MODEL_CARD, card)
    return RunResult(run_dir, report)
