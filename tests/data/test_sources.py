"""Sources: the real CSV files, the offline sample, and yfinance mocked at its HTTP edge."""

from __future__ import annotations

from unittest import mock

import pandas as pd
import pytest
import yfinance.data

from forecaster.data.sources import PRICE_COLUMNS, csv_files, load_prices, validate_ticker
from forecaster.data.sources.csv_files import read_csv_prices
from forecaster.data.sources.yahoo import load_yahoo
from forecaster.errors import DataError, SourceError
from tests.conftest import AAPL_CSV, SP500_CSV
from tests.yahoo_fake import FakeResponse, chart_payload, not_found_payload


def test_yahoo_layout_csv_reads_every_row_of_aapl(shared_data):
    prices = read_csv_prices(AAPL_CSV)
    assert list(prices.columns) == PRICE_COLUMNS
    assert len(prices) == 4610
    assert prices["date"].min() == pd.Timestamp("2000-01-03")
    assert prices["date"].max() == pd.Timestamp("2018-04-30")
    assert set(prices["ticker"]) == {"AAPL"}
    raw = pd.read_csv(AAPL_CSV)
    assert prices["adj_close"].tolist() == pytest.approx(raw["Adj Close"].tolist())


def test_long_layout_names_the_bad_lines_of_the_sp500_file(shared_data):
    with pytest.raises(DataError) as error:
        read_csv_prices(SP500_CSV)
    message = str(error.value)
    assert "12 bad rows" in message
    assert "blank values on lines 82951" in message
    assert "high < low on lines 53004" in message
    assert "--on-bad-rows drop" in message


def test_long_layout_drop_policy_keeps_the_rest_of_the_sp500_file(shared_data):
    prices = read_csv_prices(SP500_CSV, on_bad_rows="drop")
    assert len(prices) == 619_040 - 12
    assert prices["ticker"].nunique() == 505
    assert (prices["adj_close"] == prices["close"]).all()


def test_sample_source_is_real_adjusted_prices_offline():
    prices = load_prices("sample", ["aapl", "MSFT"])
    assert set(prices["ticker"]) == {"AAPL", "MSFT"}
    assert prices["date"].max() == pd.Timestamp("2013-03-01")
    assert (prices["adj_close"] < prices["close"]).all()  # dividends and splits adjusted away


@pytest.mark.parametrize("bad", ["../x", "a/b", "/etc/passwd", "..", "", "A B", "x" * 30])
def test_tickers_that_look_like_paths_are_refused(bad):
    with pytest.raises(DataError, match="not a valid symbol"):
        validate_ticker(bad)


def test_valid_tickers_are_upper_cased():
    assert [validate_ticker(t) for t in ["brk-b", "^GSPC", "EURUSD=X", "7203.T"]] == [
        "BRK-B",
        "^GSPC",
        "EURUSD=X",
        "7203.T",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,1\n", "fits neither layout"),
        ("Date,Open,High,Low,Close,Adj Close,Volume\n", "header but no rows"),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,1,1,5\n2020-13-45,1,2,1,1,1,5\n",
            "unparsable date .* on lines 3",
        ),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,abc,1,5\n",
            "unparsable number in 'close' on lines 2",
        ),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,1,1,5\n2020-01-02,1,2,1,1,1,5\n",
            "duplicate date on lines 3",
        ),
        ("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,-1,1,5\n", "zero or negative 'close' on lines 2"),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,1,1,5,EXTRA\n",
            "lines 2 have more fields than the header's 7",
        ),
        ("", "empty"),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,1,,5\n2020-01-03,1,2,1,1,,5\n",
            "'adj_close' have no values on any line",
        ),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-03,1,2,1,1,1,5\n2020-01-02,1,2,1,1,1,5\n",
            r"not in date order: line 3 \(ABC 2020-01-02\) comes after a later date",
        ),
        ("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,2,1,1,5\n", "high < low on lines 2"),
        ("Date,Open,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,5\n", "fits neither layout"),
        ("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,inf,1,5\n", "infinite 'close' on lines 2"),
        ("date,open,high,low,close,volume,Name,ticker\n2020-01-02,1,2,1,1.5,5,A,B\n", "both Name and ticker"),
    ],
)
def test_malformed_csv_names_the_file_and_line(tmp_path, content, expected):
    path = tmp_path / "ABC.csv"
    path.write_text(content)
    with pytest.raises((DataError, SourceError), match=expected) as error:
        read_csv_prices(path)
    assert str(path) in str(error.value)


def _both_ways(path, monkeypatch, **kwargs):
    """``read_csv_prices`` of ``path`` as it reads it, and read as text throughout (the typed reading refused):
    each the prices, or the error's message."""

    def outcome():
        try:
            return read_csv_prices(path, **kwargs)
        except DataError as error:
            return str(error)

    typed = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(csv_files, "_read_typed", lambda _: None)
        return typed, outcome()


def test_the_typed_reading_of_the_real_files_is_the_text_reading(shared_data, monkeypatch):
    assert csv_files._read_typed(SP500_CSV) is not None  # the clean path is the one taken
    for path in (AAPL_CSV, SP500_CSV):
        typed, text = _both_ways(path, monkeypatch, on_bad_rows="drop")
        pd.testing.assert_frame_equal(typed, text)


@pytest.mark.parametrize(
    "body",
    [
        "2020-01-02,1,2,1,1.5,1.5,5\n2020-01-03,1,2,1,null,1.5,5\n2020-01-06,1,2,1,1.25,1.25,7\n",  # a blank
        "2020-01-02,1,2,1,1.5,1.5,5\n\n2020-01-06,1,2,1,1.25,1.25,7\n",  # a blank line: a row of blanks
        "2020-01-02,1,2,1, 1.5,1.5,5\n2020-01-06,1,2,1,1.25,1.25,7\n",  # a space before a number
        # too few fields: read as text
        "2020-01-02,1,2,1,1.5,1.5,5\n2020-01-03,1,2,1,1.5,1.5\n2020-01-06,1,2,1,1.25,1.25,7\n",
        # long decimals: correctly rounded either way (pandas' own parser is a unit off on the first)
        "2020-01-02,1,400,1,367.45330810546875,367.45330810546875,5\n2020-01-03,1,400,1,367.4533081054688,1,5\n",
        "2020-01-02,1,2,1,1e400,1.5,5\n2020-01-03,1,2,1,1.5,1.5,5\n",  # too large: unparsable
        "2020-01-02,1,2,1,inf,1.5,5\n2020-01-03,1,2,1,1.5,1.5,5\n",  # infinite: a bad row
        "2020-01-02,1,2,1,NAN,1.5,5\n2020-01-03,1,2,1,1.5,1.5,5\n",  # not one of the blanks: unparsable
    ],
)
def test_a_file_read_either_way_gives_the_same_prices_or_the_same_error(tmp_path, monkeypatch, body):
    path = tmp_path / "ABC.csv"
    path.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n" + body)
    for policy in ("drop", "fail"):
        typed, text = _both_ways(path, monkeypatch, on_bad_rows=policy)
        if isinstance(text, str):
            assert typed == text
        else:
            pd.testing.assert_frame_equal(typed, text)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "XYZ.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SourceError, match="XYZ.csv"):
        read_csv_prices(path)


def _patched_yahoo(handler):
    return mock.patch.multiple(yfinance.data.YfData, get=handler, cache_get=handler)


def test_yahoo_download_parses_yahoo_chart_json(tmp_path, shared_data):
    bars = pd.read_csv(AAPL_CSV).iloc[-40:]

    def handler(self, url, params=None, timeout=30):
        return FakeResponse(chart_payload("AAPL", bars))

    with _patched_yahoo(handler):
        prices = load_yahoo(["AAPL"], cache_dir=tmp_path / "yf")
    assert len(prices) == 40
    assert prices["date"].iloc[-1] == pd.Timestamp("2018-04-30")
    # auto_adjust=True: Close is the adjusted close, and that is what we forecast.
    assert prices["adj_close"].tolist() == pytest.approx(bars["Adj Close"].tolist())
    assert (tmp_path / "yf").is_dir()


def test_yahoo_unknown_ticker_is_a_clear_error(tmp_path):
    def handler(self, url, params=None, timeout=30):
        return FakeResponse(not_found_payload("NOPE"), status_code=404)

    with _patched_yahoo(handler), pytest.raises(SourceError, match="NOPE: Yahoo Finance returned no prices"):
        load_yahoo(["NOPE"], cache_dir=tmp_path)


def test_yahoo_offline_is_a_clear_error(tmp_path):
    def handler(self, url, params=None, timeout=30):
        raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")

    with _patched_yahoo(handler), pytest.raises(SourceError, match="internet connection"):
        load_yahoo(["AAPL"], cache_dir=tmp_path)


def test_a_long_file_sorted_by_date_then_ticker_is_in_order(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "date,open,high,low,close,volume,Name\n2020-01-02,1,2,1,1,5,AAA\n2020-01-02,1,2,1,1,5,BBB\n"
        "2020-01-03,1,2,1,1,5,AAA\n2020-01-03,1,2,1,1,5,BBB\n"
    )
    prices = read_csv_prices(path)
    assert prices.groupby("ticker").size().to_dict() == {"AAA": 2, "BBB": 2}
