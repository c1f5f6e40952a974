"""The ``prepare`` job (Spark preparation of cached tickers into a published folder), and the checks that
every Spark job runs first, without Spark, so that a request it cannot fulfil is refused in a second."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import artifacts
from forecaster.config import RunOptions
from forecaster.data import cache, ingest
from forecaster.errors import DataError
from forecaster.left_out import warn as warn_left_out
from forecaster.prepare.screen import screen
from forecaster.prepare.splits import (
    MIN_TRAIN_WINDOWS,
    MIN_VAL_WINDOWS,
    check_test_start,
    default_test_start,
    min_history,
)

log = logging.getLogger(__name__)


def check_before_spark(price_paths: list[Path], opts: RunOptions) -> dict[str, str]:
    """Refuse what the cache alone shows cannot work - a test start outside the data, or no ticker with history
    enough for the lookback, horizon and validation share - and name the tickers that cannot be modelled or scored
    (``forecaster.prepare.screen``: illiquid or constant prices), which the job leaves out. Spark checks the
    histories again, exactly, later; this check counts every cached day as usable, so it never refuses what Spark
    would accept. Returns the tickers left out, with their reasons."""
    series = cache.closes(price_paths)
    dates = pd.DataFrame(
        [
            {
                "ticker": t,
                "rows": len(f),
                "first_date": f["date"].min().date(),
                "last_date": f["date"].max().date(),
                "before": int((f["date"] < pd.Timestamp(opts.test_start)).sum()) if opts.test_start else len(f),
            }
            for t, f in series.items()
        ]
    )
    if opts.test_start:
        check_test_start(opts.test_start, dates["first_date"].min(), dates["last_date"].max())
        # Days before the test start (the first has no return), for tickers with a day to test on.
        before = (dates["before"] - 1).where(dates["before"] < dates["rows"], -1)
    else:
        before = dates["rows"] - 2  # the default test period holds at least the last day
    need = min_history(opts.model.lookback, opts.model.horizon, opts.val_share)
    if not (before >= need).any():
        longest = dates.loc[before.idxmax()]
        where = f"before the test start {opts.test_start}" if opts.test_start else "before the test period"
        raise DataError(
            f"--lookback {opts.model.lookback} and --horizon {opts.model.horizon} need at least {need:,} trading "
            f"days {where} (for {MIN_TRAIN_WINDOWS} train and {MIN_VAL_WINDOWS} validation windows); the longest "
            f"history here has {max(int(before.max()), 0):,} ({longest['ticker']}, from {longest['first_date']}): "
            "use a shorter --lookback or --horizon, an earlier --test-start, or more history"
        )
    every_day = np.unique(np.concatenate([frame["date"].to_numpy() for frame in series.values()]))
    test_start = opts.test_start or default_test_start(list(pd.to_datetime(every_day).date))
    left_out = screen(series, test_start, opts.model.horizon, opts.val_share)
    warn_left_out(log, "skipping", left_out)
    if len(left_out) == len(series):
        details = "; ".join(f"{t}: {why}" for t, why in list(left_out.items())[:10])
        raise DataError(f"no ticker can be modelled: {details}" + (" ..." if len(left_out) > 10 else ""))
    return left_out


def prepare_only(opts: RunOptions) -> tuple[Path, dict[str, Any]]:
    """The ``prepare`` command: Spark preparation of cached tickers into a published folder.

    Returns the folder and its manifest (``prepared.json``).
    """
    data_dir = artifacts.ensure_writable(opts.data_dir)
    price_paths = ingest.gather_prices(opts.source, data_dir, opts.tickers, opts.csv_paths, opts.on_bad_rows)
    left_out = check_before_spark(price_paths, opts)
    price_paths = [p for p in price_paths if p.stem not in left_out]
    from forecaster.prepare.session import get_spark
    from forecaster.prepare.table import prepare

    with artifacts.unpublished(data_dir, artifacts.PREPARED) as out_dir:
        prepared = prepare(
            get_spark(opts.master, opts.remote),
            price_paths,
            out_dir,
            lookback=opts.model.lookback,
            horizon=opts.model.horizon,
            test_start=opts.test_start,
            val_share=opts.val_share,
            features=opts.features,
            missing=opts.missing,
        )
        manifest = {
            "test_start": prepared.test_start,
            "lookback": prepared.lookback,
            "horizon": prepared.horizon,
            "features": list(prepared.features),
            "val_share": opts.val_share,
            "missing": opts.missing,
            "tickers": prepared.bounds["ticker"].tolist(),
            "skipped_tickers": {**left_out, **prepared.skipped},
            "table": "table",
            "scaling": "scaling",
        }
        artifacts.write_json(out_dir / artifacts.PREPARED_MANIFEST, manifest)
    return out_dir, manifest
