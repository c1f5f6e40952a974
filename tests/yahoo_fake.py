"""Yahoo's chart API at the network edge: JSON in Yahoo's real v8 chart format.

Tests patch yfinance's internal HTTP getter (``YfData.get`` / ``cache_get``) with
these responses, so yfinance's own parsing, time zones and adjustment run for real.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd


class FakeResponse:
    """The parts of a curl_cffi response that yfinance reads."""

    def __init__(self, payload: dict[str, Any], status_code: int = 200) -> None:
        self._payload = payload
        self.status_code = status_code
        self.text = json.dumps(payload)
        self.url = "https://query2.finance.yahoo.com/v8/finance/chart"

    def json(self) -> dict[str, Any]:
        return self._payload

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP Error {self.status_code}")


def chart_payload(symbol: str, bars: pd.DataFrame) -> dict[str, Any]:
    """Chart JSON for daily ``bars`` (columns Date, Open, High, Low, Close, Adj Close, Volume)."""
    # Yahoo stamps daily bars at the session open, 09:30 New York time.
    stamps = pd.to_datetime(bars["Date"]).dt.tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)
    timestamps = [int(t.timestamp()) for t in stamps]
    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeName": "NMS",
                        "fullExchangeName": "NasdaqGS",
                        "instrumentType": "EQUITY",
                        "firstTradeDate": 345479400,
                        "regularMarketTime": timestamps[-1],
                        "hasPrePostMarketData": True,
                        "gmtoffset": -18000,
                        "timezone": "EST",
                        "exchangeTimezoneName": "America/New_York",
                        "regularMarketPrice": float(bars["Close"].iloc[-1]),
                        "priceHint": 2,
                        "dataGranularity": "1d",
                        "range": "",
                        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
                    },
                    "timestamp": timestamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": bars["Open"].astype(float).tolist(),
                                "high": bars["High"].astype(float).tolist(),
                                "low": bars["Low"].astype(float).tolist(),
                                "close": bars["Close"].astype(float).tolist(),
                                "volume": bars["Volume"].astype(int).tolist(),
                            }
                        ],
                        "adjclose": [{"adjclose": bars["Adj Close"].astype(float).tolist()}],
                    },
                }
            ],
            "error": None,
        }
    }


def not_found_payload(symbol: str) -> dict[str, Any]:
    """What Yahoo answers for an unknown symbol."""
    return {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": f"No data found, symbol may be delisted: {symbol}"},
        }
    }


class FakeYahoo:
    """A scripted Yahoo chart endpoint over real bars, honouring period1/period2.

    ``bars`` maps symbol -> frame in the Yahoo CSV layout. ``failures`` maps symbol ->
    a list of exceptions to raise on that symbol's next requests, in order (the real
    getter raises YFRateLimitError on HTTP 429 and curl errors on time-outs).
    """

    def __init__(self, bars: dict[str, pd.DataFrame]) -> None:
        self.bars = bars
        self.failures: dict[str, list[Exception]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def getter(self):
        """A function to patch over ``YfData.get`` and ``YfData.cache_get``."""

        def get(_data: Any, url: str, params: dict[str, Any] | None = None, timeout: float = 30) -> FakeResponse:
            return self(url, params, timeout)

        return get

    def __call__(self, url: str, params: dict[str, Any] | None = None, timeout: float = 30) -> FakeResponse:
        params = dict(params or {})
        symbol = url.rstrip("/").split("/")[-1]
        self.requests.append((symbol, params))
        pending = self.failures.get(symbol)
        if pending:
            raise pending.pop(0)
        if "/v8/finance/chart/" not in url or symbol not in self.bars:
            return FakeResponse(not_found_payload(symbol), status_code=404)
        bars = self.bars[symbol]
        if "period1" in params:
            stamps = pd.to_datetime(bars["Date"]).dt.tz_localize("America/New_York").map(lambda t: t.timestamp())
            bars = bars[(stamps >= params["period1"]) & (stamps < params["period2"])]
        else:  # range=1d: the time-zone probe
            bars = bars.iloc[-1:]
        return FakeResponse(chart_payload(symbol, bars))

    def history_requests(self, symbol: str) -> list[dict[str, Any]]:
        """The price requests (not time-zone probes) made for ``symbol``."""
        return [p for s, p in self.requests if s == symbol and "period1" in p]


def bars_from_long_csv(path: str, tickers: list[str]) -> dict[str, pd.DataFrame]:
    """Yahoo-layout bars per ticker from the long ``date,open,high,low,close,volume,Name`` file."""
    frame = pd.read_csv(path)
    frame = frame[frame["Name"].isin(tickers)]
    renamed = frame.rename(
        columns={"date": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}
    )
    renamed["Adj Close"] = renamed["Close"]
    return {name: group.drop(columns="Name").reset_index(drop=True) for name, group in renamed.groupby("Name")}


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.yahoo_fake --long FILE --latency S -- fetch ...``: the real ``forecaster`` command line,
    with Yahoo answered from a long CSV after ``--latency`` seconds per request (a subprocess can then be killed
    in the middle of a fetch)."""
    import argparse
    import time
    from unittest import mock

    import yfinance

    from forecaster import cli

    parser = argparse.ArgumentParser(prog="python -m tests.yahoo_fake")
    parser.add_argument("--long", required=True, help="long-layout CSV whose tickers Yahoo serves")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then a forecaster command line")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no forecaster command given after --")
    after = command[command.index("--tickers") + 1 :] if "--tickers" in command else []
    tickers = after[: next((i for i, t in enumerate(after) if t.startswith("-")), len(after))]
    server = FakeYahoo(bars_from_long_csv(args.long, tickers))

    def slow_get(_data: Any, url: str, params: dict[str, Any] | None = None, timeout: float = 30) -> FakeResponse:
        time.sleep(args.latency)
        return server(url, params, timeout)

    with mock.patch.multiple(yfinance.data.YfData, get=slow_get, cache_get=slow_get):
        return cli.main(command)


if __name__ == "__main__":
    raise SystemExit(main())
