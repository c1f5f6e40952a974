"""Where prices come from: Yahoo Finance, CSV files, or the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecaster.data.sources.csv_files import load_csv
from forecaster.data.sources.sample import load_sample
from forecaster.data.sources.schema import PRICE_COLUMNS, validate_ticker
from forecaster.data.sources.yahoo import load_yahoo
from forecaster.errors import SourceError

SOURCES = ("yahoo", "csv", "sample")

__all__ = ["PRICE_COLUMNS", "SOURCES", "load_prices", "validate_ticker"]


def load_prices(
    source: str,
    tickers: list[str] | None = None,
    csv_paths: list[str] | None = None,
    yahoo_cache_dir: Path | None = None,
    on_bad_rows: str = "fail",
) -> pd.DataFrame:
    """Load daily prices from ``source`` into the common table (see ``sources.schema``).

    Reads straight from the source, bypassing the cache: for notebooks and quick looks.

    Example:
        >>> prices = load_prices("sample", ["AAPL"])
        >>> list(prices.columns)
        ['ticker', 'date', 'open', 'high', 'low', 'close', 'adj_close', 'volume']
    """
    if source == "yahoo":
        return load_yahoo(tickers or [], cache_dir=yahoo_cache_dir)
    if source == "csv":
        return load_csv(list(csv_paths or []), tickers, on_bad_rows)
    if source == "sample":
        return load_sample(tickers)
    raise SourceError(f"unknown source {source!r}: choose one of {SOURCES}")
