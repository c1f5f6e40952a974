"""Command line: ``python -m forecaster COMMAND --help``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from forecaster import config
from forecaster.config import ModelConfig
from forecaster.errors import ConfigError, ForecasterError

RUN_SOURCES = ("yahoo", "csv", "sample", "cache")

log = logging.getLogger("forecaster")
_DEFAULTS = ModelConfig()


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


def iso_date(text: str) -> str:
    """argparse type: a YYYY-MM-DD date, returned as written."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def _add_run_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run", help="load prices, prepare with Spark, train the LSTM, backtest and publish artifacts",
        description="Load prices, prepare them with Spark, train the LSTM, backtest it on the test days "
                    "beside the naive baseline, and publish the artifacts the dashboard reads.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = run.add_argument_group("data")
    data.add_argument("--source", choices=RUN_SOURCES, default="sample",
                      help="yahoo = download (online); csv = files given by --csv; sample = bundled offline prices; "
                           "cache = what fetch/import cached, no network")
    data.add_argument("--csv", nargs="+", default=[], metavar="FILE",
                      help="CSV files (Yahoo layout or long date,open,high,low,close,volume,Name layout)")
    data.add_argument("--tickers", nargs="+", metavar="T",
                      help="tickers to use (required for yahoo; default: all in the files or the cache, or the "
                           f"sample's {' '.join(config.SAMPLE_TICKERS)})")
    _add_bad_rows_option(data)
    _add_data_dir_option(data)
    _add_preparation_options(run.add_argument_group("preparation"))
    model = run.add_argument_group("model")
    model.add_argument("--epochs", type=positive_int, default=_DEFAULTS.epochs, help="maximum training epochs")
    model.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="random seed")
    model.add_argument("--layers", type=positive_int, default=_DEFAULTS.layers, help="stacked LSTM layers")
    model.add_argument("--units", type=positive_int, default=_DEFAULTS.units, help="cells per LSTM layer")
    model.add_argument("--dropout", type=float, default=_DEFAULTS.dropout, help="dropout after each LSTM layer")
    model.add_argument("--learning-rate", type=float, default=_DEFAULTS.learning_rate, help="Adam learning rate")
    model.add_argument("--batch-size", type=positive_int, default=_DEFAULTS.batch_size, help="training batch size")
    model.add_argument("--patience", type=positive_int, default=_DEFAULTS.patience,
                       help="epochs without validation improvement before early stopping")
    model.add_argument("--per-ticker", action="store_true", help="one model per ticker instead of one global model")
    evaluation = run.add_argument_group("evaluation")
    evaluation.add_argument("--folds", type=positive_int, default=1,
                            help="walk-forward folds over the test period; each retrains on all history before it")
    evaluation.add_argument("--ma-window", type=positive_int, default=20,
                            help="days of the moving-average baseline (at most --lookback)")
    out = run.add_argument_group("output and engine")
    out.add_argument("--report", type=Path, default=None, metavar="FILE", help="also write the report JSON here")
    out.add_argument("--quiet", action="store_true", help="no per-epoch training lines")
    run.set_defaults(handler=_run)


def _add_preparation_options(group: argparse._ArgumentGroup) -> None:
    from forecaster.preparation import AVAILABLE_FEATURES, MISSING_POLICIES

    group.add_argument("--test-start", type=iso_date, default=None,
                       help="first test day, YYYY-MM-DD (default: the last year of trading days)")
    group.add_argument("--val-share", type=share, default=config.DEFAULT_VAL_SHARE,
                       help="share of the pre-test history used for validation (early stopping)")
    group.add_argument("--lookback", type=positive_int, default=_DEFAULTS.lookback, help="input days per window")
    group.add_argument("--horizon", type=positive_int, default=_DEFAULTS.horizon, help="trading days forecast")
    group.add_argument("--features", nargs="+", choices=AVAILABLE_FEATURES, default=list(config.DEFAULT_FEATURES),
                       metavar="NAME", help=f"model inputs, from: {' '.join(AVAILABLE_FEATURES)}")
    group.add_argument("--missing", choices=MISSING_POLICIES, default="drop",
                       help="days with a missing price: drop them, or carry the previous day's value forward")
    _add_spark_options(group)


def _add_spark_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--master", default=None,
                       help="Spark master URL: local[*], spark://host:7077, yarn, k8s://... "
                            f"(default: $FORECASTER_SPARK_MASTER or {config.DEFAULT_SPARK_MASTER})")
    where.add_argument("--remote", default=None, metavar="sc://HOST:PORT",
                       help="a Spark Connect server to run on instead of a master (default: $FORECASTER_SPARK_REMOTE)")


def data_dir_arg(text: str) -> Path:
    """The argparse type of ``--data-dir``: an absolute path, or a usage error that says what is wrong."""
    try:
        return config.data_dir(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_data_dir_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--data-dir", type=data_dir_arg, default=None,
                        help="where data and artifacts live (default: $FORECASTER_DATA_DIR or "
                             f"{config.DEFAULT_DATA_DIR})")


def _add_bad_rows_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--on-bad-rows", choices=("fail", "drop"), default="fail",
                        help="CSV rows that are blank or invalid: fail naming their lines, or drop them with a warning")


def _add_data_parsers(commands: argparse._SubParsersAction) -> None:
    formatter = argparse.ArgumentDefaultsHelpFormatter
    fetch = commands.add_parser("fetch", help="download daily prices from Yahoo Finance into the cache",
                                description="Download adjusted daily prices from Yahoo Finance into the local "
                                            "cache. Cached tickers only fetch their new days. Exits 1 if any "
                                            "ticker failed; the others are cached.", formatter_class=formatter)
    fetch.add_argument("--tickers", nargs="+", required=True, metavar="T", help="Yahoo symbols, e.g. AAPL BRK-B ^GSPC")
    fetch.add_argument("--start", type=iso_date, default=None, help="first day, YYYY-MM-DD (default: all history)")
    fetch.add_argument("--end", type=iso_date, default=None, help="day after the last one, YYYY-MM-DD (exclusive)")
    fetch.add_argument("--period", default=None, choices=("1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"),
                       help="instead of --start: how far back (default: max)")
    fetch.add_argument("--retries", type=int, default=3, help="retries of rate limits and network errors per ticker")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_data_dir_option(fetch)
    fetch.set_defaults(handler=_fetch)

    imp = commands.add_parser("import", help="validate CSV files and store them in the cache",
                              description="Validate CSV files (Yahoo layout Date,Open,High,Low,Close,Adj Close,Volume "
                                          "or long layout date,open,high,low,close,volume,Name) and cache each "
                                          "ticker. Errors name the file and line.", formatter_class=formatter)
    imp.add_argument("--csv", nargs="+", required=True, metavar="FILE", help="CSV files to import")
    imp.add_argument("--ticker", default=None,
                     help="ticker of a Yahoo-layout file (default: the file name, e.g. AAPL.csv -> AAPL)")
    imp.add_argument("--tickers", nargs="+", metavar="T", help="import only these tickers (default: all)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_bad_rows_option(imp)
    _add_data_dir_option(imp)
    imp.set_defaults(handler=_import)

    data = commands.add_parser("data", help="list the cached prices", formatter_class=formatter,
                               description="List what is cached: ticker, rows, first and last day, source, "
                                           "adjustment; damaged files are named.")
    _add_data_dir_option(data)
    data.set_defaults(handler=_data)

    prep = commands.add_parser("prepare", help="Spark preparation of cached tickers (features, splits, scaling)",
                               description="Prepare cached prices with Spark: clean, add features, label "
                                           "train/validation/test by date, scale from train rows, write Parquet "
                                           "under DATA_DIR/prepared/.", formatter_class=formatter)
    which = prep.add_mutually_exclusive_group(required=True)
    which.add_argument("--tickers", nargs="+", metavar="T", help="cached tickers to prepare")
    which.add_argument("--all", action="store_true", help="every cached ticker")
    _add_preparation_options(prep.add_argument_group("preparation"))
    _add_data_dir_option(prep)
    prep.set_defaults(handler=_prepare)

    fc = commands.add_parser("forecast", help="forecast the next trading days from the cache with the latest model",
                             description="Forecast the next H trading days (NYSE calendar) after each ticker's last "
                                         "cached day, with 80%% and 95%% intervals, using the latest run's model "
                                         "and train-only scaling; no retraining. Updates that run's "
                                         "forecast.parquet, which the dashboard shows.", formatter_class=formatter)
    fc.add_argument("--tickers", nargs="+", metavar="T", help="tickers (default: every ticker of the latest run)")
    _add_spark_options(fc)
    _add_data_dir_option(fc)
    fc.set_defaults(handler=_forecast)

    check = commands.add_parser(
        "check", help="read everything readers can see in the data dir and report damage", formatter_class=formatter,
        description="Read every cached price file, the latest run (report, card, predictions, forecast, prices, "
                    "scaling and its models) and the latest preparation. Exit 1 if any is missing or damaged. "
                    "Folders of interrupted runs are listed; readers never open them.")
    check.add_argument("--skip-models", action="store_true", help="do not load the Keras models (faster)")
    _add_data_dir_option(check)
    check.set_defaults(handler=_check)


def _forecast(args: argparse.Namespace) -> int:
    from forecaster.forecasting import forecast_latest

    run_dir, frame = forecast_latest(_writable(args.data_dir), args.tickers, args.master, args.remote)
    columns = ["ticker", "origin_date", "target_date", "step", "origin_price", "lstm", "lstm_lo80", "lstm_hi80",
               "lstm_lo95", "lstm_hi95"]
    print(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"written to {run_dir}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from forecaster.pipeline import RunOptions, prepare_only

    opts = RunOptions(source="cache", tickers=None if args.all else args.tickers, test_start=args.test_start,
                      val_share=args.val_share, features=tuple(args.features), missing=args.missing,
                      model=ModelConfig(lookback=args.lookback, horizon=args.horizon),
                      data_dir=config.data_dir(args.data_dir), master=args.master,
                      remote=args.remote)
    out_dir, manifest = prepare_only(opts)
    skipped = manifest["skipped_tickers"]
    print(f"prepared {len(manifest['tickers'])} tickers, test from {manifest['test_start']}, into {out_dir}")
    if skipped:
        print(f"skipped {len(skipped)}: " + "; ".join(f"{t}: {why}" for t, why in skipped.items()))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from forecaster.ingest import fetch

    if args.start and args.period:
        raise ForecasterError("give either --start or --period, not both")
    data_dir = _writable(args.data_dir)
    report = fetch(args.tickers, data_dir, start=args.start, end=args.end, period=args.period,
                   retries=args.retries, progress=not args.no_progress)
    print(report.format())
    return 0 if report.ok else 1


def _import(args: argparse.Namespace) -> int:
    from forecaster.ingest import import_csv

    data_dir = _writable(args.data_dir)
    report = import_csv(args.csv, data_dir, ticker=args.ticker, tickers=args.tickers, on_bad_rows=args.on_bad_rows,
                        progress=not args.no_progress)
    print(report.format())
    return 0 if report.ok else 1


def _data(args: argparse.Namespace) -> int:
    from forecaster.cache import list_cache

    listing = list_cache(config.data_dir(args.data_dir))
    if listing.empty:
        print(f"nothing cached in {config.data_dir(args.data_dir)}: use `fetch` or `import`")
        return 0
    print(listing.to_string(index=False))
    return 0 if (listing["status"] == "ok").all() else 1


def _check(args: argparse.Namespace) -> int:
    from forecaster.integrity import check_data_dir

    data_dir = config.data_dir(args.data_dir)
    found = check_data_dir(data_dir, load_models=not args.skip_models)
    print(f"{data_dir}: {found.cache_files} cache files, run {found.run or '(none)'}, "
          f"preparation {found.prepared or '(none)'}")
    for problem in found.problems:
        print(f"DAMAGED {problem}")
    if found.unpublished:
        print(f"{len(found.unpublished)} unpublished folders (interrupted or running jobs; never read): "
              + ", ".join(found.unpublished))
    print("ok" if found.ok else f"{len(found.problems)} problems")
    return 0 if found.ok else 1


def _writable(data_dir: Path | None) -> Path:
    from forecaster.pipeline import ensure_writable

    return ensure_writable(config.data_dir(data_dir))


def _run(args: argparse.Namespace) -> int:
    from forecaster.evaluation import format_report
    from forecaster.pipeline import RunOptions, run

    model = ModelConfig(
        lookback=args.lookback, horizon=args.horizon, layers=args.layers, units=args.units, dropout=args.dropout,
        learning_rate=args.learning_rate, batch_size=args.batch_size, epochs=args.epochs, patience=args.patience,
        seed=args.seed,
    )
    tickers = args.tickers or (list(config.SAMPLE_TICKERS) if args.source == "sample" else None)
    opts = RunOptions(
        source=args.source, tickers=tickers, csv_paths=args.csv, on_bad_rows=args.on_bad_rows,
        test_start=args.test_start, val_share=args.val_share, model=model, data_dir=config.data_dir(args.data_dir),
        master=args.master, remote=args.remote, report_path=args.report, verbose=0 if args.quiet else 2,
        features=tuple(args.features), missing=args.missing, per_ticker=args.per_ticker, folds=args.folds,
        ma_window=args.ma_window,
    )
    result = run(opts)
    print(format_report(result.report))
    print(f"artifacts: {result.run_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m forecaster`` parser with one sub-command per stage."""
    parser = argparse.ArgumentParser(
        prog="python -m forecaster",
        description="Stock-price forecasting: Spark preparation, a Keras LSTM, honest evaluation against baselines.",
    )
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run_parser(commands)
    _add_data_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 user-facing error, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("jax", "py4j", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except ForecasterError as exc:
        log.error("%s", exc)
        return 1
