"""Daily bars from Yahoo Finance through yfinance (needs the internet).

Options are passed explicitly so a change of yfinance's defaults cannot change our
data: ``auto_adjust=True`` (OHLC adjusted for splits and dividends, so ``Close`` is
the adjusted close), ``actions=False``, ``multi_level_index=False``, ``repair=False``.

yfinance does not raise when a download fails: it logs the error and returns an
empty frame. We read its log to tell a user why (rate limit, network, no data),
and retry the transient failures with bounded exponential back-off.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd

from forecaster.data.sources.schema import normalise_prices, validate_ticker
from forecaster.errors import SourceError

log = logging.getLogger(__name__)

#: What the cache records about Yahoo data's adjustment.
ADJUSTMENT = "split+dividend adjusted OHLC (yfinance auto_adjust=True)"
RATE_LIMITED, NETWORK, OFFLINE, NO_DATA = "rate_limited", "network", "offline", "no_data"
#: Failures worth retrying. A host name that does not resolve is not one: this machine is offline (or its DNS
#: is broken), and waiting seconds between tries only delays the message.
TRANSIENT = (RATE_LIMITED, NETWORK)

# Substrings of yfinance's logged errors, by kind (yfinance logs repr() of the exception).
_RATE_LIMIT_MARKERS = ("YFRateLimitError", "Too Many Requests", "Rate limited")
_OFFLINE_MARKERS = (
    "Could not resolve",
    "DNSError",
    "Name or service not known",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "getaddrinfo failed",
)
_NETWORK_MARKERS = (
    "Timeout",
    "timed out",
    "Could not resolve",
    "DNSError",
    "ConnectionError",
    "ConnectError",
    "curl: (",
    "Connection refused",
    "Connection reset",
    "SSLError",
)


class YahooError(SourceError):
    """A download that failed, with its kind: rate_limited, network or no_data."""

    def __init__(self, ticker: str, kind: str, detail: str | None) -> None:
        self.ticker, self.kind, self.detail = ticker, kind, detail
        # Offline, yfinance's long curl message adds nothing to ours.
        said = f" (yfinance said: {detail})" if detail and kind != OFFLINE else ""
        advice = {
            RATE_LIMITED: "Yahoo Finance is rate-limiting requests: wait a few minutes, then fetch again",
            NETWORK: "could not reach Yahoo Finance: check your internet connection, "
            "or use --source csv / --source sample offline",
            OFFLINE: "could not reach Yahoo Finance (its host name does not resolve: this machine looks offline): "
            "check your internet connection, or use --source csv / --source sample offline",
            NO_DATA: "Yahoo Finance returned no prices: check the symbol (it may be delisted) and the date range",
        }[kind]
        super().__init__(f"{ticker}: {advice}{said}")

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed."""
        return self.kind in TRANSIENT


class _ErrorLog(logging.Handler):
    """Collects the errors yfinance logs during one download."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().strip()
        if text and "Failed download" not in text:
            self.messages.append(text)


def classify(message: str | None) -> str:
    """The kind of failure a yfinance error message describes.

    Example:
        >>> classify("['AAPL']: YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')")
        'rate_limited'
    """
    text = message or ""
    if any(marker in text for marker in _RATE_LIMIT_MARKERS):
        return RATE_LIMITED
    if any(marker in text for marker in _OFFLINE_MARKERS):
        return OFFLINE
    if any(marker in text for marker in _NETWORK_MARKERS):
        return NETWORK
    return NO_DATA


def set_cache_dir(cache_dir: Path) -> None:
    """Put yfinance's own caches (time zones, cookies) under our data directory."""
    import yfinance as yf

    cache_dir.mkdir(parents=True, exist_ok=True)
    yf.set_tz_cache_location(str(cache_dir))  # despite its name, it moves every yfinance cache


def download(
    ticker: str, start: str | None = None, end: str | None = None, period: str | None = None, timeout: float = 30
) -> pd.DataFrame:
    """One ticker's adjusted daily bars as the common price table, or YahooError.

    ``start`` is inclusive and ``end`` exclusive (YYYY-MM-DD); ``period`` (e.g. "1y",
    "max") applies when ``start`` is None; neither means the whole history.
    """
    import yfinance as yf

    ticker = validate_ticker(ticker)
    errors = _ErrorLog()
    yf_log = logging.getLogger("yfinance")
    yf_log.addHandler(errors)
    # yfinance's own error lines would repeat, less clearly, what YahooError says.
    propagate, yf_log.propagate = yf_log.propagate, False
    # Without this, yfinance swallows a time-out in the price request and logs only
    # "possibly delisted": with it, the real exception reaches the log we read.
    hide, yf.config.debug.hide_exceptions = yf.config.debug.hide_exceptions, False
    try:
        bars = yf.download(
            ticker,
            start=start,
            end=end,
            period=None if start else (period or "max"),
            interval="1d",
            auto_adjust=True,
            actions=False,
            multi_level_index=False,
            repair=False,
            keepna=False,
            ignore_tz=True,
            group_by="column",
            progress=False,
            threads=False,
            timeout=timeout,
        )
    finally:
        yf_log.removeHandler(errors)
        yf_log.propagate = propagate
        yf.config.debug.hide_exceptions = hide
    if bars is None or bars.empty:
        # An earlier message may hold the cause (a DNS error) and the last only its effect (no time zone).
        kind = classify("\n".join(errors.messages))
        last = errors.messages[-1] if errors.messages else None
        detail = next((m for m in errors.messages if classify(m) == kind), last)
        raise YahooError(ticker, kind, detail)
    bars = bars.rename(columns=str.lower).rename_axis("date").reset_index()
    bars = bars.dropna(subset=["open", "high", "low", "close"])
    bars["ticker"] = ticker
    bars["adj_close"] = bars["close"]  # auto_adjust=True: Close is already adjusted
    return normalise_prices(bars, origin=f"Yahoo Finance {ticker}")


def download_with_retries(
    ticker: str,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    retries: int = 3,
    backoff_s: float = 2.0,
) -> pd.DataFrame:
    """``download``, retrying rate limits and network errors up to ``retries`` times.

    Waits ``backoff_s``, then twice that, and so on (capped at 60 s) between tries.
    """
    for attempt in range(retries + 1):
        try:
            return download(ticker, start, end, period)
        except YahooError as exc:
            if not exc.transient or attempt == retries:
                raise
            wait = min(backoff_s * 2**attempt, 60.0)
            log.warning(
                "%s: %s; retry %d of %d in %.0f s", ticker, exc.kind.replace("_", " "), attempt + 1, retries, wait
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


def load_yahoo(
    tickers: list[str], start: str | None = None, end: str | None = None, cache_dir: Path | None = None
) -> pd.DataFrame:
    """Download several tickers into one price table; the first failure raises YahooError."""
    if not tickers:
        raise SourceError("--source yahoo needs --tickers")
    if cache_dir is not None:
        set_cache_dir(cache_dir)
    frames = [download_with_retries(t, start, end) for t in tickers]
    return pd.concat(frames, ignore_index=True)
