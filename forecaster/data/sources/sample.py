"""Real prices that install with the project: no network needed.

Quandl WIKI daily prices (public domain) from the ``bokeh_sampledata`` package:
AAPL, IBM and MSFT from 2000-03-01, GOOG from 2004-08-19, all to 2013-03-01.
OHLC and volume are as traded; ``adj_close`` is split- and dividend-adjusted.
"""

from __future__ import annotations

import pandas as pd

from forecaster.data.sources.schema import normalise_prices, validate_ticker
from forecaster.errors import DataError


def load_sample(tickers: list[str] | None = None) -> pd.DataFrame:
    """Return the sample prices for ``tickers`` (default: every sample ticker)."""
    from bokeh_sampledata import stocks  # imported late: it parses a bundled file

    prices = stocks.data
    available = sorted(prices["ticker"].unique())
    if tickers:
        wanted = [validate_ticker(t) for t in tickers]
        absent = sorted(set(wanted) - set(available))
        if absent:
            raise DataError(f"tickers {absent} are not in the sample data; it has {available}")
        prices = prices[prices["ticker"].isin(wanted)]
    return normalise_prices(prices, origin="sample data (bokeh_sampledata.stocks)")
