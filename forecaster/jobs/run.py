"""The main job: prices -> Spark preparation -> training -> scoring on the executors -> backtest beside the
baselines -> report -> published artifacts. Orchestration only: every step lives in its stage's package.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import artifacts
from forecaster.columns import GLOBAL, RANK_SIGNAL
from forecaster.config import RANKING_CHOICES, ModelConfig, RunOptions
from forecaster.data import cache, ingest
from forecaster.errors import ConfigError, ForecasterError, RunFailed
from forecaster.evaluate import ledger, metrics, report_files
from forecaster.jobs import checkpoint, tracking
from forecaster.jobs.prepare import check_before_spark

__all__ = ["ModelConfig", "RunOptions", "RunResult", "run"]

log = logging.getLogger(__name__)

STAGE_ATTRIBUTE = checkpoint.STAGE_ATTRIBUTE


@dataclass(frozen=True)
class RunResult:
    """Where the run's artifacts are, the report they hold and the forecast beyond the data."""

    run_dir: Path
    report: dict[str, Any]
    forecast: pd.DataFrame


@dataclass
class Fold:
    """What one walk-forward fold produced."""

    prepared: Any  # forecaster.prepare.table.Prepared
    trained: Any  # forecaster.model.training.Trained
    predictions: pd.DataFrame  # backtest rows of this fold
    forecast: pd.DataFrame  # the next horizon days after each ticker's last day, from this fold's model(s)
    mase_scale: dict[str, float]
    counts: dict[str, int]  # windows per split
    failed: dict[str, str]  # ticker -> why its model failed (per-ticker models only)
    scores_path: Path  # the model's scaled outputs for every test window, computed on the executors
    calibration: pd.DataFrame  # conformity scores of every outcome known at the fold's end (val and test)
    naive_quantiles: dict[str, list[list[float]]]  # the naive bands' h-day log change quantiles per ticker
    garch_params: dict[str, dict[str, float]]  # per ticker, fitted on its train returns
    rank_scores_path: Path | None = None  # the ranking model's scores of every test window, when it was trained


@contextmanager
def stage(name: str, spark: Any = None) -> Iterator[None]:
    """Log how long a stage of the job took and, given a session, how many Spark jobs it started. An error
    raised inside is tagged with the (innermost) stage's name, which the run's error message gives."""
    started = time.perf_counter()
    try:
        if spark is None:
            yield
            count = None
        else:
            from forecaster.prepare.session import job_group

            with job_group(spark, name) as jobs:
                yield
                count = jobs()
    except BaseException as exc:
        if not hasattr(exc, STAGE_ATTRIBUTE):
            setattr(exc, STAGE_ATTRIBUTE, name)
        raise
    seconds = time.perf_counter() - started
    log.info(
        "%s took %s s%s",
        name,
        # Hundredths under 10 s: a stage of half a second, to a tenth, is 10% off (benchmarks compare such).
        f"{seconds:.{2 if seconds < 10 else 1}f}",
        "" if count is None else f" ({count} Spark job{'s' if count != 1 else ''})",
    )


def run(opts: RunOptions) -> RunResult:
    """Run the whole job and publish its artifacts as the latest run.

    Example:
        >>> result = run(RunOptions(source="sample", tickers=["AAPL"]))  # doctest: +SKIP
        >>> result.report["summary"]["median_rmse_ratio_vs_naive"]["1"]  # doctest: +SKIP
    """
    if opts.ma_window > opts.model.lookback:
        raise ConfigError(
            f"--ma-window {opts.ma_window} is longer than --lookback {opts.model.lookback}: "
            "the baseline may only use the days the model sees"
        )
    if opts.model.ranking not in RANKING_CHOICES:
        raise ConfigError(f"--ranking {opts.model.ranking!r}: choose one of {', '.join(RANKING_CHOICES)}")
    data_dir = artifacts.ensure_writable(opts.data_dir)
    if opts.mlflow_uri:
        tracking.require_mlflow()  # before any work
    price_paths = ingest.gather_prices(
        opts.source, data_dir, opts.tickers, opts.csv_paths, opts.on_bad_rows, progress=opts.verbose > 0
    )
    left_out = check_before_spark(price_paths, opts)  # illiquid or constant prices: named, left out
    price_paths = [p for p in price_paths if p.stem not in left_out]
    progress = _progress(opts, data_dir, price_paths)
    run_dir = progress.run_dir
    try:
        folds = [_run_fold(opts, price_paths, progress, k) for k in range(opts.folds)]
        with stage("writing the predictions"):
            predictions = _predictions(folds)
            prices = _price_snapshot(price_paths, folds[-1].prepared.bounds["ticker"].tolist())
            artifacts.write_parquet(run_dir / artifacts.PRICES_SNAPSHOT, prices)
            artifacts.write_parquet(run_dir / artifacts.PREDICTIONS, predictions)
        report, assessed = progress.stage("assess", lambda: _assess(opts, predictions, prices, folds[-1].mase_scale))
        with stage("writing the artifacts"):
            result = _write_artifacts(opts, price_paths, run_dir, folds, left_out, report, assessed)
    except Exception as exc:
        raise _failed(progress, exc) from exc
    artifacts.publish_run(run_dir)
    progress.done()
    if opts.report_path is not None:
        artifacts.write_json(Path(opts.report_path), result.report)
    log.info("published run %s", run_dir)
    ledger.record(data_dir, run_dir, result.forecast)
    if opts.mlflow_uri:
        tracking.log_run(opts.mlflow_uri, run_dir, result.report, artifacts.read_json(run_dir / artifacts.MODEL_CARD))
    return result


def _progress(opts: RunOptions, data_dir: Path, price_paths: list[Path]) -> checkpoint.Progress:
    """The unfinished run this one continues (``--resume``, or the newest with the same options and prices),
    or a new run folder."""
    print_ = checkpoint.fingerprint(opts, price_paths)
    found = None if opts.fresh else checkpoint.resumable(data_dir, print_, opts.resume)
    if found is None:
        return checkpoint.Progress.start(artifacts.new_run_dir(data_dir), print_)
    stopped = found.state.get("failed", {})
    log.info(
        "resuming run %s (finished: %s%s)",
        found.run_dir.name,
        ", ".join(found.finished) or "nothing",
        f"; it stopped while {stopped['stage']}" if stopped else "",
    )
    return found


def _failed(progress: checkpoint.Progress, exc: Exception) -> RunFailed:
    """The one-line error of a run that stopped: the stage, the cause and how to continue."""
    where = getattr(exc, STAGE_ATTRIBUTE, "running")
    progress.failed(where, exc)
    run_id = progress.run_dir.name
    cause = str(exc) if isinstance(exc, ForecasterError) else f"{type(exc).__name__}: {exc}"
    kept = ", ".join(progress.finished) or "none"
    return RunFailed(
        f"the run stopped while {where}: {cause}. Finished stages are kept ({kept}): run the same "
        f"command again, or add --resume {run_id}, to continue from there",
        where,
        run_id,
    )


def _fold_path(opts: RunOptions, run_dir: Path, name: str, fold: int) -> Path:
    return run_dir / (name if opts.folds == 1 else f"{name}/fold-{fold + 1}")


def _run_fold(opts: RunOptions, price_paths: list[Path], progress: checkpoint.Progress, fold: int) -> Fold:
    """One walk-forward fold, each of its costly stages kept when it finishes. The backtest after scoring is
    not: redoing it from the kept scores takes seconds, and keeping it wrote every prediction twice."""
    # Spark starts before Keras is imported: JAX's threads would make the JVM's fork unsafe.
    from forecaster.prepare.session import get_spark, ship_package

    with stage("starting Spark"):
        spark = get_spark(opts.master, opts.remote)
    from forecaster.evaluate import backtest, baselines, garch
    from forecaster.model import scoring, training
    from forecaster.prepare.table import prepare
    from forecaster.prepare.windows import make_windows, read_split

    cfg, run_dir, name = opts.model, progress.run_dir, f"fold-{fold + 1}"

    def prepare_fold() -> Any:
        with stage(f"preparing {len(price_paths)} ticker{'s' if len(price_paths) != 1 else ''} on Spark", spark):
            return prepare(
                spark,
                price_paths,
                _fold_path(opts, run_dir, "prepared", fold),
                lookback=cfg.lookback,
                horizon=cfg.horizon,
                test_start=opts.test_start,
                val_share=opts.val_share,
                features=opts.features,
                missing=opts.missing,
                n_folds=opts.folds,
                fold=fold,
            )

    prepared = progress.stage(f"{name}/prepare", prepare_fold)
    with stage("cutting the windows"):
        tables = {
            split: read_split(prepared.table_path, split, prepared.features) for split in ("train", "val", "test")
        }
        windows = {
            # Training reads only the targets' scaled changes; validation's dates calibrate the bands.
            split: make_windows(table, split, prepared.features, cfg.lookback, cfg.horizon, targets=split != "train")
            for split, table in tables.items()
        }
        last = make_windows(tables["test"], "test", prepared.features, cfg.lookback, cfg.horizon, last_only=True)
    counts = {split: len(w) for split, w in windows.items()}
    log.info("fold %d of %d: windows %s", fold + 1, opts.folds, counts)
    # Shipped here, before the GARCH thread: shipping calls importlib.invalidate_caches, which fails ("dictionary
    # changed size during iteration") when it runs in one thread while another imports (seen in a notebook's first
    # run, training importing Keras).
    ship_package(spark)
    with ThreadPoolExecutor(1, thread_name_prefix="forecaster-garch") as background:
        # GARCH fits on the executors while the driver trains: they use different processes (and in local mode
        # training leaves a core to spare).
        fitting = background.submit(progress.stage, f"{name}/garch", lambda: _fit_garch(spark, prepared, cfg.horizon))
        trained, failed = progress.stage(f"{name}/train", lambda: _train(opts, spark, prepared, windows, run_dir))
        garch_origins, garch_params = fitting.result()
    test, last = windows["test"], last
    if trained.per_ticker:
        modelled = list(trained.files)
        test, last = test.subset(np.isin(test.ticker, modelled)), last.subset(np.isin(last.ticker, modelled))
    scores_path = _fold_path(opts, run_dir, "scores", fold)
    rank_scores_path = _fold_path(opts, run_dir, "rank_scores", fold)

    def score() -> None:
        with stage(f"scoring {len(test)} test windows on the executors", spark):
            # Every test window - the backtest's and each ticker's last, the forecast's - in one Spark job.
            scoring.score_split_to(
                spark,
                prepared.table_path,
                {k: run_dir / f for k, f in trained.files.items()},
                prepared.features,
                cfg.lookback,
                cfg.horizon,
                scores_path,
                expected_windows=len(test) + len(last),
            )
            if trained.rank_file:
                scoring.score_split_to(
                    spark,
                    prepared.table_path,
                    {GLOBAL: run_dir / trained.rank_file},
                    prepared.features,
                    cfg.lookback,
                    cfg.horizon,
                    rank_scores_path,
                    expected_windows=len(test) + len(last),
                )

    progress.stage(f"{name}/score", score)
    with stage(f"backtest of {len(test)} test windows beside the baselines, with online calibration"):
        scores = scoring.Scores.read(scores_path)
        test_quantiles, last_quantiles = scoring.align(scores, test), scoring.align(scores, last)
        # Online calibration: each origin's bands from the outcomes known on its day, validation's and the test's.
        known = pd.concat([trained.val_scores, training.score_frame(test, test_quantiles)], ignore_index=True)
        naive_quantiles = baselines.naive_band_quantiles(tables["train"], cfg.horizon)
        outputs = _outputs(trained, [(test, test_quantiles), (last, last_quantiles)], known)
        # The ranking model's scores stand beside the prices: a signal, not a forecast of a price.
        rank = scoring.Scores.read(rank_scores_path) if trained.rank_file else None
        columns = {
            kind: {
                **backtest.price_forecasts(
                    w, out, opts.ma_window, naive_quantiles, garch.for_windows(garch_origins, garch_params, w)
                ),
                **({RANK_SIGNAL: scoring.align(rank, w, per_step=1)} if rank is not None else {}),
            }
            for kind, w, out in (("test", test, outputs[0]), ("last", last, outputs[1]))
        }
        return Fold(
            prepared,
            trained,
            backtest.predictions_frame(test, columns["test"]),
            backtest.forecast_beyond(last, columns["last"]),
            metrics.naive_scales(tables["train"]),
            counts,
            failed,
            scores_path,
            known,
            naive_quantiles,
            garch_params,
            rank_scores_path if rank is not None else None,
        )


def _fit_garch(spark: Any, prepared: Any, horizon: int) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The GARCH baseline of every ticker, fitted on its train returns on the executors."""
    from forecaster.evaluate import garch

    with stage("fitting GARCH(1,1) per ticker on the executors"):
        origins, params, _ = garch.fit_on_executors(
            spark, prepared.table_path, prepared.bounds["ticker"].tolist(), horizon
        )
    return origins, params


def _train(
    opts: RunOptions, spark: Any, prepared: Any, windows: dict[str, Any], run_dir: Path
) -> tuple[Any, dict[str, str]]:
    """The global model in the driver, or one model per ticker on the executors; returns the trained models
    (saved in the run folder; the checkpoint keeps the rest, without the Keras objects) and the failed tickers."""
    from forecaster.model import per_ticker, training

    failed: dict[str, str] = {}
    cfg = opts.model
    with stage("training", spark):
        if opts.per_ticker:
            # One task per ticker on the executors, each cutting its own windows and saving its model.
            trained, failed = per_ticker.fit_per_ticker(
                spark, prepared.table_path, run_dir, prepared.features, cfg, prepared.bounds["ticker"].tolist()
            )
        else:
            trained = training.fit(windows["train"], windows["val"], len(prepared.features), cfg, verbose=opts.verbose)
            training.save(trained, run_dir)  # where the executors load it from; a later fold replaces it
    if not opts.per_ticker and cfg.ranking != "off":
        _train_ranking(opts, prepared, windows, run_dir, trained)
    return replace(trained, models={}, rank_model=None), failed


def _train_ranking(opts: RunOptions, prepared: Any, windows: dict[str, Any], run_dir: Path, trained: Any) -> None:
    """The ranking model beside the global one, saved in the run folder (``trained`` records it), when the
    training days hold enough tickers to rank: at least ``--min-cross-section`` on the median day."""
    from forecaster.model import network, ranking

    per_day = pd.Series(windows["train"].origin_date).value_counts()
    if per_day.median() < opts.min_cross_section:
        log.info(
            "no ranking model: %d tickers on the median training day, fewer than --min-cross-section %d",
            per_day.median(),
            opts.min_cross_section,
        )
        return
    with stage("training the ranking model"):
        net, summary = ranking.fit(
            windows["train"], windows["val"], len(prepared.features), opts.model, opts.model.ranking, opts.verbose
        )
        network.save_model(net, run_dir / artifacts.RANK_MODEL)
    trained.rank_file, trained.rank_result = artifacts.RANK_MODEL, summary


def _outputs(trained: Any, windows: list[tuple[Any, np.ndarray]], known: pd.DataFrame) -> list[Any]:
    """For each (windows, their quantiles): the model's quantiles with their shrinkage and their online
    calibration, every origin calibrated in one pass over the known scores (millions of them at thousands of
    tickers: sorting them once per set of windows doubles the cost)."""
    from forecaster.evaluate.backtest import ModelOutputs
    from forecaster.model import intervals

    origins = pd.DataFrame(
        {
            "ticker": np.concatenate([w.ticker for w, _ in windows]),
            "origin_date": np.concatenate([w.origin_date for w, _ in windows]),
        }
    )
    corrections = intervals.rolling_corrections(known, origins)
    out, first = [], 0
    for w, quantiles in windows:
        rows = slice(first, first + len(w))
        first += len(w)
        out.append(
            ModelOutputs(
                quantiles,
                intervals.per_window(trained.shrink, w.ticker, w.y.shape[1]),
                {level: c[rows] for level, c in corrections.items()},
            )
        )
    return out


def _price_snapshot(price_paths: list[Path], tickers: list[str]) -> pd.DataFrame:
    """The run's price history for the dashboard, OHLC scaled to the adjusted close so candles match it."""
    columns = ["date", "open", "high", "low", "close", "adj_close", "volume"]
    kept = set(tickers)
    prices = cache.read_many([p for p in price_paths if p.stem in kept], columns).to_pandas()
    prices["date"] = pd.to_datetime(prices["date"])
    factor = prices["adj_close"] / prices["close"]
    prices = prices.assign(**{c: prices[c] * factor for c in ("open", "high", "low", "close")})
    return prices[["ticker", "date", "open", "high", "low", "close", "volume"]]


def _assess(
    opts: RunOptions, predictions: pd.DataFrame, prices: pd.DataFrame, mase_scale: dict[str, float]
) -> tuple[dict[str, Any], Any]:
    """The report: every ticker's metrics, band backtests and tests against naive, the cross-sectional skill and
    the portfolio, each computed for every ticker at once (arrays, on the driver: they grow with the number of
    backtest rows and nothing else)."""
    from forecaster.evaluate import significance, skill
    from forecaster.evaluate.report import build_report

    # One after the other: the skill beside the metrics in a second thread saved 10 s at 2,531 tickers but held
    # 1.3 GB more, past the 6 GB the driver may use (measured with benchmarks/universe.py).
    with stage("testing each ticker against naive (Diebold-Mariano, Pesaran-Timmermann, MCS)"):
        tests = significance.every_ticker_tests(predictions)
    with stage("cross-sectional skill and the long-short portfolio"):
        assessed = skill.assess(predictions, prices, opts.min_cross_section, opts.cost_bps)
    with stage("metrics and band backtests of every ticker"):
        report = build_report(predictions, mase_scale, tests=tests, skill=assessed)
    return report, assessed


def _predictions(folds: list[Fold]) -> pd.DataFrame:
    """Every fold's backtest rows, by ticker, step and day, taken out of the folds: the run holds them once (at
    2,500 tickers a copy is about 900 MB)."""
    parts = [f.predictions for f in folds]
    predictions = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    for fold in folds:
        fold.predictions = fold.predictions.iloc[:0]
    return metrics.sort_series(predictions)[0]


def _write_artifacts(
    opts: RunOptions,
    price_paths: list[Path],
    run_dir: Path,
    folds: list[Fold],
    left_out: dict[str, str],
    report: dict[str, Any],
    assessed: Any,
) -> RunResult:
    from forecaster.jobs.card import model_card
    from forecaster.model import per_ticker

    final = folds[-1]  # trained on the most history: the model kept and used to forecast
    if final.trained.per_ticker:
        per_ticker.remove_models_except(run_dir, list(final.trained.files))
    # The outcomes known at the run's end, for the online calibration of later forecasts.
    artifacts.write_parquet(run_dir / artifacts.CALIBRATION, final.calibration)
    if assessed.daily_ic is not None:
        artifacts.write_parquet(run_dir / artifacts.CROSS_SECTION, assessed.daily_ic)
        artifacts.write_parquet(run_dir / artifacts.PORTFOLIO, assessed.daily_returns)
    report_files.write_report(run_dir, report)
    artifacts.write_parquet(run_dir / artifacts.FORECAST, final.forecast)
    card = model_card(opts, run_dir, final.prepared, final.trained, folds, price_paths, left_out)
    artifacts.write_json(run_dir / artifacts.MODEL_CARD, card)
    return RunResult(run_dir, report, final.forecast)
