"""The local price cache: one Parquet file per ticker under ``<data dir>/prices/``.

Each file carries its own metadata (in the Parquet schema) so the cache can say
where every series came from::

    {"source": "yahoo", "fetched_at": "2026-11-26T15:00:00+00:00", "first_date": "2000-01-03",
     "last_date": "2018-04-30", "rows": 4610, "adjustment": "split+dividend (yfinance auto_adjust)",
     "requested_start": null}

Files are written to a temporary name and renamed, so a crash leaves the previous
file whole. A file that cannot be read is reported as damaged, never half-used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forecaster.artifacts import PRICES, atomic_write
from forecaster.data.sources.schema import PRICE_COLUMNS, normalise_prices, validate_ticker
from forecaster.errors import ArtifactError, DataError

_META_KEY = b"forecaster"


@dataclass(frozen=True)
class CacheEntry:
    """One ticker's cached series and what is known about it."""

    ticker: str
    prices: pd.DataFrame
    meta: dict[str, Any]


def prices_dir(data_dir: Path) -> Path:
    """The folder of cached price files."""
    return Path(data_dir) / PRICES


def prices_path(data_dir: Path, ticker: str) -> Path:
    """Where a ticker's cached prices live (the ticker is validated first)."""
    return prices_dir(data_dir) / f"{validate_ticker(ticker)}.parquet"


def write_ticker(
    data_dir: Path, ticker: str, prices: pd.DataFrame, source: str, adjustment: str, requested_start: str | None = None
) -> Path:
    """Cache one ticker's prices (the common price table), atomically, with metadata."""
    ticker = validate_ticker(ticker)
    rows = normalise_prices(prices, origin=f"cache write of {ticker}")
    if rows.empty:
        raise ArtifactError(f"refusing to cache an empty series for {ticker}")
    return _write_table(data_dir, ticker, _to_arrow(rows), source, adjustment, requested_start)


def write_tickers(
    data_dir: Path, prices: pd.DataFrame, source: str, adjustment: str, wanted: set[str] | None = None
) -> Iterator[tuple[str, pa.Table]]:
    """Cache every ticker of a table of many (or only those ``wanted``), one file each as ``write_ticker``
    writes it; yields each ticker and its rows once its file is in place.

    The table becomes Arrow once and each ticker's file is a slice of it: converting thousands of small frames
    one by one cost more than reading the CSV they came from.
    """
    rows = normalise_prices(prices, origin="cache write")  # sorted by ticker, then date: a ticker is one slice
    tickers = rows["ticker"].to_numpy()
    starts = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1]]) if len(rows) else np.array([], int)
    table = _to_arrow(rows)
    for start, end in zip(starts, [*starts[1:], len(rows)], strict=True):
        ticker = validate_ticker(tickers[start])
        if wanted is None or ticker in wanted:
            piece = table.slice(start, end - start)
            _write_table(data_dir, ticker, piece, source, adjustment)
            yield ticker, piece


def _to_arrow(rows: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(rows.assign(date=rows["date"].dt.date), preserve_index=False)


def _write_table(
    data_dir: Path, ticker: str, table: pa.Table, source: str, adjustment: str, requested_start: str | None = None
) -> Path:
    dates = table.column("date")
    meta = {
        "source": source,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "first_date": f"{pc.min(dates).as_py():%Y-%m-%d}",
        "last_date": f"{pc.max(dates).as_py():%Y-%m-%d}",
        "rows": int(table.num_rows),
        "adjustment": adjustment,
        "requested_start": requested_start,
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
    return atomic_write(prices_path(data_dir, ticker), lambda tmp: pq.write_table(table, tmp))


def read_ticker(data_dir: Path, ticker: str) -> CacheEntry:
    """Read one cached ticker, or raise ArtifactError naming the missing or damaged file."""
    path = prices_path(data_dir, ticker)
    if not path.is_file():
        raise ArtifactError(f"{path}: no cached prices for {ticker}; fetch or import them first")
    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[_META_KEY])
        prices = table.to_pandas()
        prices["date"] = pd.to_datetime(prices["date"])
        prices = normalise_prices(prices, origin=str(path))
    except (pa.ArrowException, OSError, KeyError, ValueError, TypeError) as exc:
        raise ArtifactError(
            f"{path}: damaged cache file ({type(exc).__name__}: {exc}); fetch or import the ticker again"
        ) from exc
    if len(prices) != meta.get("rows"):
        raise ArtifactError(
            f"{path}: damaged cache file (holds {len(prices)} rows, its metadata says {meta.get('rows')})"
        )
    return CacheEntry(validate_ticker(ticker), prices, meta)


def read_meta(path: Path) -> dict[str, Any]:
    """A cache file's metadata alone, from its Parquet footer (the rows are not read)."""
    try:
        return json.loads((pq.read_schema(path).metadata or {})[_META_KEY])
    except (pa.ArrowException, OSError, KeyError, ValueError) as exc:
        raise ArtifactError(f"{path}: damaged cache file ({type(exc).__name__}: {exc})") from exc


def read_many(paths: list[Path], columns: list[str]) -> pa.Table:
    """``columns`` of many cache files as one Arrow table, sorted by ticker and date: one multi-threaded scan
    (reading thousands of files one by one costs 20 times as much). A damaged file is named."""
    import pyarrow.dataset as ds

    if not paths:
        return pa.table({c: [] for c in columns})
    # Files in ticker order: each holds one ticker in date order, so the scan, which keeps the files' order,
    # is already sorted, and sorting millions of rows by name (seconds) is left to the check below.
    paths = sorted(paths, key=lambda p: p.stem)
    try:
        table = ds.dataset([str(p) for p in paths], format="parquet").to_table(columns=["ticker", *columns])
    except (pa.ArrowException, OSError) as exc:
        for path in paths:  # find which file it is
            try:
                pq.read_table(path, columns=["ticker", *columns])
            except (pa.ArrowException, OSError, KeyError) as damage:
                raise ArtifactError(f"{path}: damaged cache file ({type(damage).__name__}: {damage})") from exc
        raise ArtifactError(f"cache files could not be read together ({exc})") from exc
    return table if _in_order(table) else table.sort_by([("ticker", "ascending"), ("date", "ascending")])


def _in_order(table: pa.Table) -> bool:
    """Whether ``table``'s rows are by ticker and date (one pass of comparisons, no sort)."""
    if "date" not in table.column_names or table.num_rows < 2:
        return table.num_rows < 2
    ticker, date = table["ticker"], table["date"]
    before, after = ticker.slice(0, len(ticker) - 1), ticker.slice(1)
    later_day = pc.and_(pc.equal(before, after), pc.greater(date.slice(1), date.slice(0, len(date) - 1)))
    return bool(pc.all(pc.or_(pc.less(before, after), later_day)).as_py())


def closes(paths: list[Path]) -> dict[str, pd.DataFrame]:
    """Per cache file (ticker), its ``date`` and ``adj_close`` columns in date order: what the checks made before
    Spark starts read (two columns of each file, not the whole table)."""
    frame = read_many(paths, ["date", "adj_close"]).to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    return {
        str(t): rows.drop(columns="ticker").reset_index(drop=True) for t, rows in frame.groupby("ticker", sort=True)
    }


def cached_tickers(data_dir: Path) -> list[str]:
    """Tickers with a cache file (damaged or not), sorted; temporary files are ignored."""
    folder = prices_dir(data_dir)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.parquet") if not p.name.startswith("."))


def list_cache(data_dir: Path) -> pd.DataFrame:
    """One row per cached ticker: rows, first, last, source, adjustment, fetched_at, status."""
    rows = []
    for ticker in cached_tickers(data_dir):
        try:
            meta = read_ticker(data_dir, ticker).meta
        except ArtifactError as exc:
            rows.append({"ticker": ticker, "status": f"damaged: {exc}"})
            continue
        rows.append(
            {
                "ticker": ticker,
                "rows": meta["rows"],
                "first": meta["first_date"],
                "last": meta["last_date"],
                "source": meta["source"],
                "adjustment": meta["adjustment"],
                "fetched_at": meta["fetched_at"],
                "status": "ok",
            }
        )
    columns = ["ticker", "rows", "first", "last", "source", "adjustment", "fetched_at", "status"]
    return pd.DataFrame(rows, columns=columns)


def wanted_tickers(data_dir: Path, tickers: list[str] | None = None) -> list[str]:
    """``tickers`` validated, or every cached ticker; DataError when that leaves none."""
    wanted = [validate_ticker(t) for t in tickers] if tickers else cached_tickers(data_dir)
    if not wanted:
        raise DataError(f"the cache in {prices_dir(data_dir)} is empty; fetch or import prices first")
    return wanted


def load_cached(data_dir: Path, tickers: list[str] | None = None) -> pd.DataFrame:
    """The cached prices of ``tickers`` (default: every cached ticker) as one price table."""
    frames = [read_ticker(data_dir, t).prices for t in wanted_tickers(data_dir, tickers)]
    return pd.concat(frames, ignore_index=True)[PRICE_COLUMNS]


def write_prices(data_dir: Path, prices: pd.DataFrame, source: str, adjustment: str) -> list[Path]:
    """Cache a price table of any number of tickers; returns the files, in ticker order."""
    return [
        write_ticker(data_dir, str(ticker), rows, source, adjustment)
        for ticker, rows in prices.groupby("ticker", sort=True)
    ]
