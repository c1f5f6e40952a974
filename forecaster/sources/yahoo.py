"""Daily bars from Yahoo Finance through yfinance (needs the internet).

Options are passed explicitly so a change of yfinance's defaults cannot change our
data: ``auto_adjust=True`` (OHLC adjusted for splits and dividends, so ``Close`` is
the adjusted close), ``actions=False`` and ``multi_level_index=False``.
yfinance does not raise when it gets nothing (offline, unknown or delisted
ticker): it logs and returns an empty frame, which we turn into SourceError.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from forecaster.errors import SourceError
from forecaster.sources.schema import normalise_prices, validate_ticker

log = logging.getLogger(__name__)


class _LastError(logging.Handler):
    """Keeps the last error yfinance logged, to say why a download came back empty."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage().strip()


def _download_one(ticker: str, start: str | None, end: str | None) -> pd.DataFrame:
    import yfinance as yf

    catcher = _LastError()
    yf_log = logging.getLogger("yfinance")
    yf_log.addHandler(catcher)
    try:
        bars = yf.download(
            ticker, start=start, end=end, period=None if start else "max", interval="1d",
            auto_adjust=True, actions=False, multi_level_index=False,
            progress=False, threads=False, timeout=30,
        )
    finally:
        yf_log.removeHandler(catcher)
    if bars is None or bars.empty:
        reason = f" (yfinance said: {catcher.message})" if catcher.message else ""
        raise SourceError(
            f"Yahoo Finance returned no prices for {ticker}{reason}. Check the symbol and your "
            "internet connection, or use --source csv / --source sample offline."
        )
    bars = bars.rename(columns=str.lower).reset_index().rename(columns={"Date": "date"})
    bars["ticker"] = ticker
    bars["adj_close"] = bars["close"]  # auto_adjust=True: Close is already adjusted
    return bars


def load_yahoo(tickers: list[str], start: str | None = None, end: str | None = None,
               cache_dir: Path | None = None) -> pd.DataFrame:
    """Download adjusted daily bars for ``tickers`` from Yahoo Finance.

    ``start`` is inclusive and ``end`` exclusive (YYYY-MM-DD); without ``start`` the
    whole history is fetched. ``cache_dir`` receives yfinance's own timezone cache.
    """
    if not tickers:
        raise SourceError("--source yahoo needs --tickers")
    if cache_dir is not None:
        import yfinance as yf

        cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(cache_dir))
    frames = []
    for ticker in (validate_ticker(t) for t in tickers):
        log.info("downloading %s from Yahoo Finance", ticker)
        frames.append(_download_one(ticker, start, end))
    return normalise_prices(pd.concat(frames, ignore_index=True), origin="Yahoo Finance")
