"""Command line: ``python -m forecaster COMMAND --help``.

Each command checks what it can before Spark or Keras load, so a mistyped option, an unknown ticker or a
test start outside the data comes back in about a second. Output is one line per problem; Spark's and
JAX's start-up chatter is hidden unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any

from forecaster import __version__, config
from forecaster.columns import FEATURE_NAMES, FORECAST_COLUMN, FORECAST_LABEL
from forecaster.config import MISSING_POLICIES, SOURCES, ModelConfig, RunOptions
from forecaster.errors import ConfigError, ForecasterError, RunFailed

log = logging.getLogger("forecaster")
_DEFAULTS = ModelConfig()


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows an option's default once: only where it has one and its help text does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def share(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def iso_date(text: str) -> str:
    """argparse type: a YYYY-MM-DD date, returned as written."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def _common() -> argparse.ArgumentParser:
    """Options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=config.data_dir_argument,
        default=None,
        help=f"where data and artifacts live (default: $FORECASTER_DATA_DIR or "
        f"{config.DEFAULT_DATA_DIR_TEXT}); a path or a file:// URI",
    )
    common.add_argument(
        "--verbose",
        action="store_true",
        help="also show Spark's and JAX's own start-up messages and warnings, and debug lines",
    )
    return common


def _command(
    commands: argparse._SubParsersAction, name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name, help=summary, description=description, parents=[_common()], formatter_class=HelpFormatter
    )


def _add_run_parser(commands: argparse._SubParsersAction) -> None:
    run = _command(
        commands,
        "run",
        "load prices, prepare with Spark, train the LSTM, backtest and publish artifacts",
        "Load prices, prepare them with Spark, train the LSTM, backtest it on the test days beside the "
        "naive baseline, publish the artifacts the dashboard reads, and print the forecast of the next "
        "trading days.",
    )
    data = run.add_argument_group("data")
    data.add_argument(
        "--source",
        choices=SOURCES,
        default="sample",
        help="yahoo = download (online); csv = files given by --csv; sample = bundled offline prices; "
        "cache = what fetch/import cached, no network",
    )
    data.add_argument(
        "--csv",
        nargs="+",
        default=[],
        metavar="FILE",
        help="CSV files for --source csv (Yahoo layout or long date,open,high,low,close,volume,Name)",
    )
    data.add_argument(
        "--tickers",
        nargs="+",
        metavar="T",
        help="tickers to use (required for yahoo; default: all in the files or the cache, or the "
        f"sample's {' '.join(config.SAMPLE_TICKERS)})",
    )
    _add_bad_rows_option(data)
    _add_preparation_options(run.add_argument_group("preparation"))
    model = run.add_argument_group("model")
    model.add_argument(
        "--epochs",
        type=positive_int,
        default=_DEFAULTS.epochs,
        help="maximum training epochs; early stopping keeps the best",
    )
    model.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="random seed: same seed, same numbers")
    model.add_argument("--layers", type=positive_int, default=_DEFAULTS.layers, help="stacked LSTM layers")
    model.add_argument("--units", type=positive_int, default=_DEFAULTS.units, help="cells per LSTM layer")
    model.add_argument("--dropout", type=float, default=_DEFAULTS.dropout, help="dropout after each LSTM layer")
    model.add_argument("--learning-rate", type=float, default=_DEFAULTS.learning_rate, help="Adam learning rate")
    model.add_argument("--batch-size", type=positive_int, default=_DEFAULTS.batch_size, help="training batch size")
    model.add_argument(
        "--patience",
        type=positive_int,
        default=_DEFAULTS.patience,
        help="epochs without validation improvement before early stopping",
    )
    model.add_argument(
        "--members",
        type=positive_int,
        default=_DEFAULTS.members,
        help="LSTMs trained together, each with its own early stopping; their quantiles are averaged",
    )
    model.add_argument(
        "--ranking",
        choices=config.RANKING_CHOICES,
        default=_DEFAULTS.ranking,
        help="the ranking model beside the quantile network (global mode, with at least --min-cross-section "
        "tickers a day): trained on each day's ranks with this loss (ic: minus the daily correlation; mse), or off",
    )
    model.add_argument(
        "--per-ticker",
        action="store_true",
        help="one model per ticker, trained on Spark's executors, instead of one global model",
    )
    evaluation = run.add_argument_group("evaluation")
    evaluation.add_argument(
        "--folds",
        type=positive_int,
        default=1,
        help="walk-forward folds over the test period; each retrains on all history before it",
    )
    evaluation.add_argument(
        "--ma-window",
        type=positive_int,
        default=config.DEFAULT_MA_WINDOW,
        help="days of the moving-average baseline (at most --lookback)",
    )
    evaluation.add_argument(
        "--min-cross-section",
        type=positive_int,
        default=config.DEFAULT_MIN_CROSS_SECTION,
        metavar="N",
        help="tickers a day needs for the cross-sectional tests (information "
        "coefficient) and the long-short portfolio backtest",
    )
    evaluation.add_argument(
        "--cost-bps",
        type=non_negative_float,
        default=config.DEFAULT_COST_BPS,
        metavar="BP",
        help="the portfolio backtest's cost of trading, in basis points per half-turn",
    )
    out = run.add_argument_group("output")
    out.add_argument("--report", type=Path, default=None, metavar="FILE", help="also write the report JSON here")
    out.add_argument(
        "--mlflow",
        default=None,
        metavar="URI",
        help="also log the run (settings, per-step metrics, model card, report, model) to this MLflow "
        "tracking URI (default: $MLFLOW_TRACKING_URI; needs pip install -r requirements-mlflow.txt)",
    )
    out.add_argument("--quiet", action="store_true", help="no per-epoch training lines and no progress bars")
    again = run.add_argument_group("after a failure")
    again.add_argument(
        "--resume",
        default=None,
        metavar="RUN_ID",
        help="continue this unfinished run from its first unfinished stage (by default the newest "
        "unfinished run with the same options and prices is continued)",
    )
    again.add_argument(
        "--fresh",
        action="store_true",
        help="start a new run even when an unfinished one with the same options could be continued",
    )
    _add_table_option(out)
    run.set_defaults(handler=_run)


def _add_table_option(group: Any) -> None:
    group.add_argument(
        "--table",
        default="auto",
        choices=config.TABLE_CHOICES,
        help="rows printed: all = one per ticker and step; summary = per step, the medians and the "
        "best and worst tickers; auto = all up to 20 tickers, else summary (every row is in the "
        "run folder's files either way)",
    )


def _add_preparation_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--test-start",
        type=iso_date,
        default=None,
        help="first test day, YYYY-MM-DD (default: the last year of trading days, at most 20%% of the history)",
    )
    group.add_argument(
        "--val-share",
        type=share,
        default=config.DEFAULT_VAL_SHARE,
        help="share of the pre-test history used for validation (early stopping)",
    )
    group.add_argument("--lookback", type=positive_int, default=_DEFAULTS.lookback, help="input days per window")
    group.add_argument("--horizon", type=positive_int, default=_DEFAULTS.horizon, help="trading days forecast at once")
    group.add_argument(
        "--features",
        nargs="+",
        choices=FEATURE_NAMES,
        default=list(config.DEFAULT_FEATURES),
        metavar="NAME",
        help=f"model inputs, from: {' '.join(FEATURE_NAMES)} (default: {' '.join(config.DEFAULT_FEATURES)})",
    )
    group.add_argument(
        "--missing",
        choices=MISSING_POLICIES,
        default="drop",
        help="days with a missing price: drop them, or carry the previous day's value forward",
    )
    _add_spark_options(group)


def _add_spark_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--master",
        default=None,
        help="Spark master URL: local[*], spark://host:7077, yarn, k8s://... "
        f"(default: $FORECASTER_SPARK_MASTER or {config.DEFAULT_SPARK_MASTER})",
    )
    where.add_argument(
        "--remote",
        default=None,
        metavar="sc://HOST:PORT",
        help="a Spark Connect server to run on instead of a master (default: $FORECASTER_SPARK_REMOTE)",
    )


def _add_bad_rows_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--on-bad-rows",
        choices=("fail", "drop"),
        default="fail",
        help="CSV rows that are blank or invalid: fail naming their lines, or drop them with a warning",
    )


def _add_data_parsers(commands: argparse._SubParsersAction) -> None:
    fetch = _command(
        commands,
        "fetch",
        "download daily prices from Yahoo Finance into the cache",
        "Download adjusted daily prices from Yahoo Finance into the local cache. Cached tickers only "
        "fetch their new days. Exits 1 if any ticker failed; the others are cached.",
    )
    fetch.add_argument("--tickers", nargs="+", required=True, metavar="T", help="Yahoo symbols, e.g. AAPL BRK-B ^GSPC")
    fetch.add_argument("--start", type=iso_date, default=None, help="first day, YYYY-MM-DD (default: all history)")
    fetch.add_argument("--end", type=iso_date, default=None, help="day after the last one, YYYY-MM-DD (exclusive)")
    fetch.add_argument(
        "--period",
        default=None,
        choices=("1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"),
        help="instead of --start: how far back (default: max)",
    )
    fetch.add_argument(
        "--retries",
        type=int,
        default=3,
        help="retries of rate limits and dropped connections per ticker (an offline machine is not retried)",
    )
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.set_defaults(handler=_fetch)

    imp = _command(
        commands,
        "import",
        "validate CSV files and store them in the cache",
        "Validate CSV files (Yahoo layout Date,Open,High,Low,Close,Adj Close,Volume or long layout "
        "date,open,high,low,close,volume,Name) and cache each ticker. Errors name the file and line.",
    )
    imp.add_argument("--csv", nargs="+", required=True, metavar="FILE", help="CSV files to import")
    imp.add_argument(
        "--ticker", default=None, help="ticker of a Yahoo-layout file (default: the file name, e.g. AAPL.csv -> AAPL)"
    )
    imp.add_argument("--tickers", nargs="+", metavar="T", help="import only these tickers (default: all)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_bad_rows_option(imp)
    imp.set_defaults(handler=_import)

    data = _command(
        commands,
        "data",
        "list the cached prices",
        "List what is cached: ticker, rows, first and last day, source, adjustment; damaged files are "
        "named (and the command exits 1).",
    )
    data.set_defaults(handler=_data)

    prep = _command(
        commands,
        "prepare",
        "Spark preparation of cached tickers (features, splits, scaling)",
        "Prepare cached prices with Spark: clean, add features, label train/validation/test by date, "
        "scale from train rows, write Parquet under DATA_DIR/prepared/.",
    )
    which = prep.add_mutually_exclusive_group(required=True)
    which.add_argument("--tickers", nargs="+", metavar="T", help="cached tickers to prepare")
    which.add_argument("--all", action="store_true", help="every cached ticker")
    _add_preparation_options(prep.add_argument_group("preparation"))
    prep.set_defaults(handler=_prepare)

    fc = _command(
        commands,
        "forecast",
        "forecast the next trading days from the cache with the latest model",
        "Forecast the next H trading days (NYSE calendar) after each ticker's last cached day, with 80% "
        "and 95% intervals, using the latest run's model and train-only scaling; no retraining. Updates "
        "that run's forecast.parquet, which the dashboard shows.",
    )
    fc.add_argument("--tickers", nargs="+", metavar="T", help="tickers (default: every ticker of the latest run)")
    _add_table_option(fc)
    _add_spark_options(fc)
    fc.set_defaults(handler=_forecast)

    refresh = _command(
        commands,
        "refresh",
        "the daily cycle: new prices, score issued forecasts, forecast, retrain",
        "Bring every cached ticker up to date (tickers fetched from Yahoo Finance are fetched again; "
        "those imported from CSV are not: give them new days with `import`), score the forecasts in "
        "the ledger whose days now have prices, then issue the next forecast from the latest model, "
        "retraining first when the model is older than --retrain-after trading days or its live 80% "
        "band covered less than 70% of the last 60 scored days. One refresh at a time per data "
        "directory. Prints one summary line. Exit codes: 0 ok, 1 a ticker or step failed, 2 bad "
        "arguments, 3 another refresh is running.",
    )
    refresh.add_argument("--tickers", nargs="+", metavar="T", help="cached tickers to refresh (default: all)")
    refresh.add_argument(
        "--retrain-after",
        type=positive_int,
        default=None,
        metavar="DAYS",
        help="retrain when the model's data ends more than DAYS trading days before the newest "
        f"price (default: $FORECASTER_RETRAIN_AFTER or {config.DEFAULT_RETRAIN_AFTER}, about "
        "a month)",
    )
    refresh.add_argument(
        "--retries", type=int, default=3, help="retries per ticker of rate limits and dropped connections"
    )
    _add_spark_options(refresh)
    refresh.set_defaults(handler=_refresh)

    record = _command(
        commands,
        "track-record",
        "how the forecasts actually issued have done",
        "Per ticker and step, the live record of the forecasts issued beyond the data (by run, "
        "forecast and refresh) against what then happened: the RMSE ratio to naive on the same "
        "days, each band's coverage and the count of scored forecasts, over the last 30 and 90 "
        "trading days and all time. Separate from the backtest.",
    )
    record.add_argument("--tickers", nargs="+", metavar="T", help="only these tickers")
    record.add_argument("--since", type=iso_date, default=None, help="only outcomes from this day, YYYY-MM-DD")
    record.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")
    record.set_defaults(handler=_track_record)

    check = _command(
        commands,
        "check",
        "read everything readers can see in the data dir and report damage",
        "Read every cached price file, the latest run (report, card, predictions, forecast, prices, "
        "scaling and its models) and the latest preparation. Exit 1 if any is missing or damaged. "
        "Folders of interrupted runs are listed; readers never open them.",
    )
    check.add_argument("--skip-models", action="store_true", help="do not load the Keras models (faster)")
    check.set_defaults(handler=_check)


def format_forecast(frame: Any, table: str = "auto") -> str:
    """The forecast as a person reads it: per ticker, the next days' forecast (``FORECAST_COLUMN``, the number
    every view shows) and its 80% band; for more than ``TABLE_TICKERS`` tickers (``table="auto"``) or with
    ``table="summary"``, per step the median change and band and the largest forecast rises and falls."""
    if not config.every_row(table, frame["ticker"].nunique()):
        return _forecast_summary(frame)
    columns = ["ticker", "target_date", "step", "origin_price", FORECAST_COLUMN, "lstm_lo80", "lstm_hi80"]
    shown = frame[columns].rename(
        columns={
            "target_date": "day",
            "origin_price": "last close",
            FORECAST_COLUMN: FORECAST_LABEL,
            "lstm_lo80": "80% low",
            "lstm_hi80": "80% high",
        }
    )
    shown["day"] = shown["day"].map(lambda d: f"{d:%Y-%m-%d}")
    shown["change"] = (frame[FORECAST_COLUMN] / frame["origin_price"] - 1).map(lambda v: f"{v:+.2%}")
    last = frame.groupby("ticker")["origin_date"].first().map(lambda d: f"{d:%Y-%m-%d}")
    if last.nunique() == 1:
        lines = [f"forecast from the last day, {last.iloc[0]} ({FORECAST_LABEL} and 80% band, adjusted prices):"]
    else:
        lines = [f"forecast from each ticker's last day ({', '.join(f'{t} {d}' for t, d in last.items())}):"]
    lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return "\n".join(lines)


def _forecast_summary(frame: Any, shown: int = 3) -> str:
    change = frame[FORECAST_COLUMN] / frame["origin_price"] - 1
    width = (frame["lstm_hi80"] - frame["lstm_lo80"]) / frame["origin_price"]
    lines = [
        f"forecast of {frame['ticker'].nunique():,} tickers ({FORECAST_LABEL} and 80% band; every ticker: "
        "--table all, or forecast.parquet in the run folder):"
    ]
    for step, rows in frame.assign(change=change, width=width).groupby("step"):
        ranked = rows.sort_values("change")
        rises = ", ".join(f"{r.ticker} {r.change:+.2%}" for r in ranked.iloc[::-1][:shown].itertuples())
        falls = ", ".join(f"{r.ticker} {r.change:+.2%}" for r in ranked[:shown].itertuples())
        lines.append(
            f"step {step}: median change {rows['change'].median():+.2%}, median 80% band width "
            f"{rows['width'].median():.2%} of the last close; largest rises {rises}; largest falls {falls}"
        )
    return "\n".join(lines)


def _forecast(args: argparse.Namespace) -> int:
    from forecaster.jobs.forecast import forecast_latest

    run_dir, frame = forecast_latest(_writable(args.data_dir), args.tickers, args.master, args.remote)
    print(format_forecast(frame, args.table))
    print(f"written to {run_dir}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from forecaster.jobs.prepare import prepare_only

    opts = RunOptions(
        source="cache",
        tickers=None if args.all else args.tickers,
        test_start=args.test_start,
        val_share=args.val_share,
        features=tuple(args.features),
        missing=args.missing,
        model=ModelConfig(lookback=args.lookback, horizon=args.horizon),
        data_dir=config.data_dir(args.data_dir),
        master=args.master,
        remote=args.remote,
    )
    out_dir, manifest = prepare_only(opts)
    from forecaster.left_out import card_lines

    print(f"prepared {len(manifest['tickers'])} tickers, test from {manifest['test_start']}, into {out_dir}")
    for line in card_lines(manifest):
        print(line)
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from forecaster.data.ingest import fetch

    if args.start and args.period:
        raise ConfigError("give either --start or --period, not both")
    data_dir = _writable(args.data_dir)
    report = fetch(
        args.tickers,
        data_dir,
        start=args.start,
        end=args.end,
        period=args.period,
        retries=args.retries,
        progress=not args.no_progress,
    )
    print(report.format(every_ticker=True if args.verbose else None))
    _score_ledger(data_dir)
    return 0 if report.ok else 1


def _import(args: argparse.Namespace) -> int:
    from forecaster.data.ingest import import_csv

    data_dir = _writable(args.data_dir)
    report = import_csv(
        args.csv,
        data_dir,
        ticker=args.ticker,
        tickers=args.tickers,
        on_bad_rows=args.on_bad_rows,
        progress=not args.no_progress,
    )
    print(report.format(every_ticker=True if args.verbose else None))
    _score_ledger(data_dir)
    return 0 if report.ok else 1


def _score_ledger(data_dir: Path) -> None:
    """New prices may be the outcomes of issued forecasts: score them now (nothing to do without a ledger)."""
    from forecaster.evaluate import ledger

    if ledger.ledger_dir(data_dir).is_dir():
        scored = ledger.score(data_dir)
        if scored:
            print(f"{scored} issued forecasts met their day and were scored (see `track-record`)")


def _data(args: argparse.Namespace) -> int:
    from forecaster.data.cache import list_cache

    listing = list_cache(config.data_dir(args.data_dir))
    if listing.empty:
        print(f"nothing cached in {config.data_dir(args.data_dir)}: use `fetch` or `import`")
        return 0
    print(listing.to_string(index=False))
    return 0 if (listing["status"] == "ok").all() else 1


def _check(args: argparse.Namespace) -> int:
    from forecaster.jobs.check import check_data_dir

    data_dir = config.data_dir(args.data_dir)
    found = check_data_dir(data_dir, load_models=not args.skip_models)
    print(
        f"{data_dir}: {found.cache_files} cache files, run {found.run or '(none)'}, "
        f"preparation {found.prepared or '(none)'}"
    )
    for problem in found.problems:
        print(f"DAMAGED {problem}")
    if found.unpublished:
        print(
            f"{len(found.unpublished)} unpublished folders (interrupted or running jobs; never read): "
            + ", ".join(found.unpublished)
        )
    for run_id, where in found.resumable.items():
        print(f"resumable run {run_id} ({where}): the same `run` command continues it, or add --resume {run_id}")
    print("ok" if found.ok else f"{len(found.problems)} problems")
    return 0 if found.ok else 1


def _refresh(args: argparse.Namespace) -> int:
    from forecaster.jobs.refresh import EXIT_BUSY, RefreshBusy, refresh

    try:
        result = refresh(
            config.data_dir(args.data_dir), args.tickers, args.retrain_after, args.master, args.remote, args.retries
        )
    except RefreshBusy as exc:
        print(f"refresh BUSY: {exc}")
        return EXIT_BUSY
    for ticker, why in sorted(result.failed.items()):
        print(f"FAILED {ticker}: {why}")
    print(result.summary())
    return result.exit_code


def _track_record(args: argparse.Namespace) -> int:
    from forecaster.evaluate.ledger import track_record

    table = track_record(config.data_dir(args.data_dir), args.tickers, args.since)
    if args.json:
        print(json.dumps({"track_record": table.to_dict(orient="records")}, indent=2))
        return 0
    if table.empty:
        print(
            "no scored forecasts yet: forecasts are scored when prices for their days arrive "
            "(`refresh`, `fetch` or `import`, then `refresh`)"
        )
        return 0
    shown = table.rename(
        columns={"rmse_ratio_vs_naive": "RMSE/naive", "coverage_80": "80% held", "coverage_95": "95% held"}
    )
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def _mlflow_uri(explicit: str | None) -> str | None:
    """``--mlflow``, else ``MLFLOW_TRACKING_URI`` when MLflow's client is installed (set for other tools without
    it, the variable is not this run's business: a warning, not an error)."""
    if explicit:
        return explicit
    from_env = os.environ.get("MLFLOW_TRACKING_URI")
    if from_env:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            log.warning(
                "MLFLOW_TRACKING_URI is set but MLflow's client is not installed: this run is not logged "
                "(pip install -r requirements-mlflow.txt)"
            )
            return None
    return from_env or None


def _writable(data_dir: Path | None) -> Path:
    from forecaster.artifacts import ensure_writable

    return ensure_writable(config.data_dir(data_dir))


def _run(args: argparse.Namespace) -> int:
    from forecaster import artifacts
    from forecaster.jobs.run import run
    from forecaster.left_out import card_lines

    model = ModelConfig(
        lookback=args.lookback,
        horizon=args.horizon,
        layers=args.layers,
        units=args.units,
        dropout=args.dropout,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        members=args.members,
        ranking=args.ranking,
    )
    if args.source == "csv" and not args.csv:
        raise ConfigError("--source csv needs the files: --csv FILE [FILE ...]")
    if args.csv and args.source != "csv":
        raise ConfigError(f"--csv is read only with --source csv (the source is {args.source})")
    tickers = args.tickers or (list(config.SAMPLE_TICKERS) if args.source == "sample" else None)
    opts = RunOptions(
        source=args.source,
        tickers=tickers,
        csv_paths=args.csv,
        on_bad_rows=args.on_bad_rows,
        test_start=args.test_start,
        val_share=args.val_share,
        model=model,
        data_dir=config.data_dir(args.data_dir),
        master=args.master,
        remote=args.remote,
        report_path=args.report,
        verbose=0 if args.quiet else 2,
        features=tuple(args.features),
        missing=args.missing,
        per_ticker=args.per_ticker,
        folds=args.folds,
        ma_window=args.ma_window,
        mlflow_uri=_mlflow_uri(args.mlflow),
        min_cross_section=args.min_cross_section,
        cost_bps=args.cost_bps,
        resume=args.resume,
        fresh=args.fresh,
    )
    if args.resume and args.fresh:
        raise ConfigError("give either --resume RUN_ID or --fresh, not both")
    result = run(opts)
    from forecaster.evaluate.report import format_report  # scipy's import is slow: not before the checks

    print(format_report(result.report, args.table))
    print(format_forecast(result.forecast, args.table))
    for line in card_lines(artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)):
        print(line)
    print(f"artifacts: {result.run_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m forecaster`` parser with one sub-command per stage."""
    parser = argparse.ArgumentParser(
        prog=config.program_name("forecaster"),
        formatter_class=HelpFormatter,
        description="Stock-price forecasting: Spark preparation, a Keras LSTM, honest evaluation against baselines.",
        epilog="Every command has its own --help, e.g. python -m forecaster run --help",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="how much the log says (default: INFO, DEBUG with --verbose)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run_parser(commands)
    _add_data_parsers(commands)
    return parser


class _ConsoleFormatter(logging.Formatter):
    """One short line per record: the time and the message; problems say what they are."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"warning: {message}"
        return f"{self.formatTime(record, '%H:%M:%S')} {message}"


def _configure_output(verbose: bool, level: str | None) -> None:
    """Logging to stderr; without ``verbose``, third-party warnings and Spark's start-up banner are hidden."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s") if verbose else _ConsoleFormatter()
    )
    # A no-op where logging is already set up (a notebook, a test): the output is then theirs.
    logging.basicConfig(level=level or ("DEBUG" if verbose else "INFO"), handlers=[handler])
    for noisy in ("jax", "py4j", "absl", "matplotlib", "urllib3", "yfinance", "peewee"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose and level == "DEBUG" else logging.WARNING)
    if verbose:
        os.environ["FORECASTER_VERBOSE"] = "1"  # Spark's JVM and its Python workers inherit it
    else:
        # Library warnings (deprecations, JAX's CPU notice) are not the user's to act on; ours go through logging.
        warnings.filterwarnings("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")  # the same in Spark's Python workers
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 user-facing error, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    _configure_output(args.verbose, args.log_level)
    try:
        return args.handler(args)
    except ForecasterError as exc:
        hint = " (--verbose shows the traceback)" if isinstance(exc, RunFailed) and not args.verbose else ""
        log.error("%s%s", exc, hint, exc_info=args.verbose)
        return 1
    except Exception as exc:  # a bug or an environment problem: one line, the traceback under --verbose
        log.error(
            "unexpected %s: %s%s",
            type(exc).__name__,
            exc,
            "" if args.verbose else " (--verbose shows the traceback)",
            exc_info=args.verbose,
        )
        return 1
    finally:
        _after_spark()


def _after_spark() -> None:
    """After a command that started a local Spark driver: build the class archive that makes the next start
    faster, once, in the background (``forecaster.prepare.jvm_cache``)."""
    if "pyspark" not in sys.modules:
        return  # this command never started Spark
    from forecaster.prepare import jvm_cache, session

    if session.started_a_driver():
        jvm_cache.start_background_build()
