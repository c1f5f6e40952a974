"""The one price-table shape every source returns, and ticker validation.

Columns: ``ticker, date, open, high, low, close, adj_close, volume``, one row per
ticker and trading day, sorted. ``adj_close`` is the forecast target: split- and
dividend-adjusted where the source has it, else the best adjusted close it offers.
"""

from __future__ import annotations

import re

import pandas as pd

from forecaster.errors import DataError

PRICE_COLUMNS: list[str] = ["ticker", "date", "open", "high", "low", "close", "adj_close", "volume"]
NUMERIC_COLUMNS: list[str] = ["open", "high", "low", "close", "adj_close", "volume"]

# Yahoo symbols: letters, digits and . - ^ = (BRK-B, ^GSPC, EURUSD=X, 7203.T).
# Never a slash or a leading dot, so a ticker is always safe inside a file name.
_TICKER_PATTERN = re.compile(r"^[A-Z0-9^][A-Z0-9.\-^=]{0,19}$")


def validate_ticker(ticker: str) -> str:
    """Return the ticker upper-cased, or raise DataError if it is not a plain symbol.

    Example:
        >>> validate_ticker("brk-b")
        'BRK-B'
    """
    candidate = str(ticker).strip().upper()
    if not _TICKER_PATTERN.match(candidate) or ".." in candidate:
        raise DataError(
            f"ticker {ticker!r} is not a valid symbol: use letters, digits and . - ^ = only "
            "(at most 20 characters, no slashes)"
        )
    return candidate


def normalise_prices(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Coerce a source's frame to PRICE_COLUMNS with clean types, sorted by ticker and date.

    ``origin`` names where the rows came from, for error messages.
    """
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing columns {missing}")
    out = frame[PRICE_COLUMNS].copy()
    out["ticker"] = out["ticker"].astype(str)
    # Fast paths: a frame that is already clean (a cache write of validated rows) is
    # only checked, not converted again.
    if out["date"].dtype != "datetime64[ns]":
        out["date"] = pd.to_datetime(out["date"]).dt.tz_localize(None).astype("datetime64[ns]")
    if (out["date"].to_numpy().astype("int64") % 86_400_000_000_000).any():
        out["date"] = out["date"].dt.normalize()
    for column in NUMERIC_COLUMNS:
        if out[column].dtype != "float64":
            out[column] = pd.to_numeric(out[column], errors="raise").astype("float64")
    in_order = (
        out["ticker"].is_monotonic_increasing
        and (out["ticker"].iloc[0] == out["ticker"].iloc[-1] if len(out) else True)
        and out["date"].is_monotonic_increasing
    )
    if not in_order:
        out = out.sort_values(["ticker", "date"], kind="stable")
    out = out.reset_index(drop=True)
    duplicated = out.duplicated(["ticker", "date"])
    if duplicated.any():
        first = out.loc[duplicated].iloc[0]
        raise DataError(
            f"{origin}: {int(duplicated.sum())} duplicate dates, first {first['ticker']} {first['date']:%Y-%m-%d}"
        )
    return out
