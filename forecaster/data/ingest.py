"""Filling the price cache: ``fetch`` from Yahoo Finance and ``import`` from CSV files.

Both work ticker by ticker and report, per ticker, what happened. A ticker that
fails leaves its cached file exactly as it was; the others are still cached.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from forecaster.config import SOURCES
from forecaster.data import cache
from forecaster.data.sources import csv_files, yahoo
from forecaster.data.sources.schema import validate_ticker
from forecaster.errors import ArtifactError, ConfigError, DataError, ForecasterError, SourceError
from forecaster.left_out import FEW

log = logging.getLogger(__name__)

#: Relative difference above which a re-fetched day counts as changed (a late adjustment).
ADJUSTMENT_TOLERANCE = 1e-6
CSV_ADJUSTMENT = {
    "yahoo": "adj_close split+dividend adjusted (CSV 'Adj Close'); OHLC as in the file",
    "long": "as in the file (no adjusted close: adj_close = close)",
}
SAMPLE_ADJUSTMENT = "adj_close split+dividend adjusted (Quandl WIKI); OHLC as traded"


@dataclass(frozen=True)
class Outcome:
    """What happened to one ticker."""

    ticker: str
    status: str  # new, updated, unchanged, refetched, imported, failed
    rows: int = 0  # rows cached afterwards
    added: int = 0  # rows added by this call
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass
class IngestReport:
    """Per-ticker outcomes of one fetch or import."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no ticker failed."""
        return not any(o.failed for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    def format(self, every_ticker: bool | None = None) -> str:
        """A table a user can act on: one line per ticker (by default only up to ``FEW`` tickers; beyond, the
        failures alone), then a summary line of tickers, rows and failures."""
        every_ticker = len(self.outcomes) <= FEW if every_ticker is None else every_ticker
        shown = self.outcomes if every_ticker else self.failures
        lines = [f"{'ticker':<10}{'status':<11}{'rows':>7}{'added':>7}  message"] if shown else []
        lines += [f"{o.ticker:<10}{o.status:<11}{o.rows:>7}{o.added:>7}  {o.message}" for o in shown]
        lines.append(self.summary())
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: how many tickers ended in each status, the rows added and cached, and the failures."""
        statuses = Counter(o.status for o in self.outcomes if not o.failed)
        done = ", ".join(f"{count:,} {status}" for status, count in sorted(statuses.items())) or "no ticker"
        rows = sum(o.rows for o in self.outcomes)
        added = sum(o.added for o in self.outcomes)
        return f"{done}: {added:,} rows added, {rows:,} cached; {len(self.failures)} failed"


def _progress(items: list, what: str, enabled: bool, unit: str = "ticker") -> tqdm:
    return tqdm(items, desc=what, unit=unit, file=sys.stderr, disable=not enabled or len(items) < 2)


def _same_prices(cached: pd.DataFrame, fetched: pd.DataFrame) -> bool:
    """Whether the days both hold agree (they differ after a late split or dividend adjustment)."""
    both = cached.merge(fetched, on="date", suffixes=("_c", "_f"))
    if both.empty:
        return True
    return bool(np.allclose(both["adj_close_c"], both["adj_close_f"], rtol=ADJUSTMENT_TOLERANCE, atol=0))


def _merge(cached: pd.DataFrame, fetched: pd.DataFrame) -> pd.DataFrame:
    merged = pd.concat([cached, fetched], ignore_index=True)
    return merged.drop_duplicates("date", keep="last").sort_values("date", ignore_index=True)


def _fetch_one(
    data_dir: Path, ticker: str, start: str | None, end: str | None, period: str | None, retries: int, backoff_s: float
) -> Outcome:
    try:
        entry = cache.read_ticker(data_dir, ticker) if cache.prices_path(data_dir, ticker).exists() else None
    except ArtifactError as exc:
        log.warning("%s; fetching the whole series again", exc)
        entry = None
    get = lambda s, p=None: yahoo.download_with_retries(ticker, s, end, p, retries, backoff_s)  # noqa: E731
    if entry is None or (start is not None and start < entry.meta["first_date"]):
        fresh = get(start, period)
        cache.write_ticker(data_dir, ticker, fresh, "yahoo", yahoo.ADJUSTMENT, requested_start=start)
        return Outcome(
            ticker, "new", len(fresh), len(fresh), f"{fresh['date'].min():%Y-%m-%d}..{fresh['date'].max():%Y-%m-%d}"
        )
    last = entry.meta["last_date"]
    if end is not None and end <= last:
        return Outcome(ticker, "unchanged", entry.meta["rows"], 0, f"cache already reaches {last}")
    # From the last cached day on: the overlap shows whether Yahoo re-adjusted the past.
    recent = get(last)
    if not _same_prices(entry.prices, recent):
        origin = entry.meta.get("requested_start")
        full = get(origin, None if origin else "max")
        cache.write_ticker(data_dir, ticker, full, "yahoo", yahoo.ADJUSTMENT, requested_start=origin)
        return Outcome(
            ticker,
            "refetched",
            len(full),
            len(full) - entry.meta["rows"],
            f"prices on or before {last} changed (a late split/dividend adjustment): whole series re-fetched",
        )
    merged = _merge(entry.prices, recent)
    added = len(merged) - len(entry.prices)
    if added == 0:
        return Outcome(ticker, "unchanged", len(merged), 0, f"no new days after {last}")
    cache.write_ticker(
        data_dir, ticker, merged, "yahoo", yahoo.ADJUSTMENT, requested_start=entry.meta.get("requested_start")
    )
    return Outcome(ticker, "updated", len(merged), added, f"{added} new days to {merged['date'].max():%Y-%m-%d}")


def fetch(
    tickers: list[str],
    data_dir: Path,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    retries: int = 3,
    backoff_s: float = 2.0,
    progress: bool = True,
) -> IngestReport:
    """Download ``tickers`` from Yahoo Finance into the cache; cached tickers only get their new days.

    Example:
        >>> report = fetch(["AAPL", "MSFT"], Path("data"), start="2020-01-01")  # doctest: +SKIP
        >>> print(report.format())  # doctest: +SKIP
    """
    if not tickers:
        raise ConfigError("fetch needs at least one ticker: --tickers T [T ...]")
    symbols = [validate_ticker(t) for t in tickers]
    yahoo.set_cache_dir(Path(data_dir) / "yfinance-cache")
    report = IngestReport()
    offline_at: str | None = None  # the ticker that found Yahoo unreachable: the rest are not tried
    for ticker in _progress(symbols, "fetch", progress):
        if offline_at is not None:
            report.outcomes.append(
                Outcome(ticker, "failed", message=f"not tried: Yahoo Finance is unreachable (see {offline_at})")
            )
            continue
        try:
            outcome = _fetch_one(Path(data_dir), ticker, start, end, period, retries, backoff_s)
        except yahoo.YahooError as exc:
            outcome = Outcome(ticker, "failed", message=str(exc))
            offline_at = ticker if exc.kind == yahoo.OFFLINE else None
        except ForecasterError as exc:
            outcome = Outcome(ticker, "failed", message=str(exc))
        if not outcome.failed:  # failures are the report's to present, once
            log.info("%s: %s %s", ticker, outcome.status, outcome.message)
        report.outcomes.append(outcome)
    return report


def import_csv(
    paths: Sequence[str | Path],
    data_dir: Path,
    ticker: str | None = None,
    tickers: list[str] | None = None,
    on_bad_rows: str = "fail",
    progress: bool = True,
) -> IngestReport:
    """Validate CSV files and cache every ticker in them (or only ``tickers``).

    ``ticker`` names the ticker of a Yahoo-layout file whose name is not the symbol.
    A file with errors (under ``on_bad_rows="fail"``) raises before anything is cached.
    """
    if not paths:
        raise ConfigError("import needs at least one file: --csv FILE [FILE ...]")
    loaded = []
    # One bar over the files: a universe is often a file per ticker, thousands of them.
    for path in _progress(list(paths), "import: reading", progress, unit="file"):
        prices = csv_files.read_csv_prices(path, ticker=ticker, on_bad_rows=on_bad_rows)
        layout = csv_files.detect_layout(list(pd.read_csv(path, nrows=0).columns), Path(path))
        loaded.append((Path(path), layout, prices))
    wanted = {validate_ticker(t) for t in tickers} if tickers else None
    found = {t for _, _, prices in loaded for t in prices["ticker"].unique()}
    if wanted and wanted - found:
        raise DataError(f"tickers {sorted(wanted - found)} are not in {[str(p) for p, _, _ in loaded]}")
    report = IngestReport()
    with _progress(list(found if wanted is None else wanted), "import: caching", progress) as bar:
        for path, layout, prices in loaded:
            for symbol, rows in cache.write_tickers(
                data_dir, prices, f"csv:{path.name}", CSV_ADJUSTMENT[layout], wanted
            ):
                dates = rows.column("date")
                report.outcomes.append(
                    Outcome(
                        symbol,
                        "imported",
                        rows.num_rows,
                        rows.num_rows,
                        f"{dates[0].as_py():%Y-%m-%d}..{dates[-1].as_py():%Y-%m-%d} from {path.name}",
                    )
                )
                bar.update()
    log.info(
        "imported %d tickers (%s rows) from %d file%s",
        len(report.outcomes),
        f"{sum(o.rows for o in report.outcomes):,}",
        len(loaded),
        "s" if len(loaded) != 1 else "",
    )
    return report


def store_sample(data_dir: Path, tickers: list[str] | None = None) -> IngestReport:
    """Cache the bundled offline sample prices."""
    from forecaster.data.sources.sample import load_sample

    report = IngestReport()
    for symbol, rows in load_sample(tickers).groupby("ticker", sort=True):
        cache.write_ticker(data_dir, str(symbol), rows, "sample:bokeh_sampledata", SAMPLE_ADJUSTMENT)
        report.outcomes.append(Outcome(str(symbol), "imported", len(rows), len(rows), "sample"))
    return report


def gather_prices(
    source: str,
    data_dir: Path,
    tickers: list[str] | None = None,
    csv_paths: list[str] | None = None,
    on_bad_rows: str = "fail",
    progress: bool = False,
) -> list[Path]:
    """Fill the cache from ``source`` and return the cache files to prepare, in ticker order.

    ``cache`` uses what is cached, with no network (every file is read once, so a damaged one stops here,
    named, before Spark sees it); the other sources store into the cache first, so Spark always reads the
    same validated Parquet files.
    """
    if source == "cache":
        wanted = cache.wanted_tickers(data_dir, tickers)
        for ticker in wanted:
            cache.read_ticker(data_dir, ticker)
        return [cache.prices_path(data_dir, t) for t in wanted]
    if source == "yahoo":
        if not tickers:
            raise ConfigError("--source yahoo needs --tickers")
        report = fetch(tickers, data_dir, progress=progress)
        if not report.ok:
            raise SourceError(
                "could not fetch: "
                + "; ".join(
                    o.message if o.message.startswith(o.ticker) else f"{o.ticker}: {o.message}" for o in report.failures
                )
            )
    elif source == "csv":
        if not csv_paths:
            raise ConfigError("--source csv needs --csv FILE [FILE ...]")
        report = import_csv(csv_paths, data_dir, tickers=tickers, on_bad_rows=on_bad_rows, progress=progress)
    elif source == "sample":
        report = store_sample(data_dir, tickers)
    else:
        raise ConfigError(f"unknown source {source!r}: choose one of {SOURCES}")
    return [cache.prices_path(data_dir, o.ticker) for o in report.outcomes]
