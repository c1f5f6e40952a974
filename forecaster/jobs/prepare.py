"""The ``prepare`` job (Spark preparation of cached tickers into a published folder), and the checks that
every Spark job runs first, without Spark, so that a request it cannot fulfil is refused in a second."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from forecaster import artifacts
from forecaster.config import RunOptions
from forecaster.data import cache, ingest
from forecaster.errors import DataError
from forecaster.prepare.splits import MIN_TRAIN_WINDOWS, MIN_VAL_WINDOWS, check_test_start, min_history

log = logging.getLogger(__name__)


def check_before_spark(price_paths: list[Path], opts: RunOptions) -> None:
    """Refuse what the cache's dates alone show cannot work: a test start outside the data, or no ticker with
    history enough for the lookback, horizon and validation share. Spark checks again, exactly, later; this
    check counts every cached day as usable, so it never refuses what Spark would accept."""
    dates = cache.date_ranges(price_paths, opts.test_start)
    if opts.test_start:
        check_test_start(opts.test_start, dates["first_date"].min(), dates["last_date"].max())
        # Days before the test start (the first has no return), for tickers with a day to test on.
        before = (dates["before"] - 1).where(dates["before"] < dates["rows"], -1)
    else:
        before = dates["rows"] - 2  # the default test period holds at least the last day
    need = min_history(opts.model.lookback, opts.model.horizon, opts.val_share)
    if (before >= need).any():
        return
    longest = dates.loc[before.idxmax()]
    where = f"before the test start {opts.test_start}" if opts.test_start else "before the test period"
    raise DataError(
        f"--lookback {opts.model.lookback} and --horizon {opts.model.horizon} need at least {need:,} trading days "
        f"{where} (for {MIN_TRAIN_WINDOWS} train and {MIN_VAL_WINDOWS} validation windows); the longest history "
        f"here has {max(int(before.max()), 0):,} ({longest['ticker']}, from {longest['first_date']}): use a shorter "
        "--lookback or --horizon, an earlier --test-start, or more history")


def prepare_only(opts: RunOptions) -> tuple[Path, dict[str, Any]]:
    """The ``prepare`` command: Spark preparation of cached tickers into a published folder.

    Returns the folder and its manifest (``prepared.json``).
    """
    data_dir = artifacts.ensure_writable(opts.data_dir)
    price_paths = ingest.gather_prices(opts.source, data_dir, opts.tickers, opts.csv_paths, opts.on_bad_rows)
    check_before_spark(price_paths, opts)
    from forecaster.prepare.session import get_spark
    from forecaster.prepare.table import prepare

    with artifacts.unpublished(data_dir, artifacts.PREPARED) as out_dir:
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
    return out_dir, manifest
