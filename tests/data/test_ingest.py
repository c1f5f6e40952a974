"""fetch and import into the cache: yfinance mocked only at its HTTP getter, with Yahoo's chart JSON."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from unittest import mock

import pandas as pd
import pytest
import yfinance.data
from yfinance.exceptions import YFRateLimitError

from forecaster.cli import main
from forecaster.data import cache
from forecaster.data.ingest import fetch, import_csv
from forecaster.data.sources import yahoo as yahoo_source
from forecaster.errors import ArtifactError, DataError
from tests.conftest import AAPL_CSV, SP500_CSV
from tests.yahoo_fake import FakeYahoo


@pytest.fixture(scope="module")
def aapl_bars(shared_data):
    """The real AAPL file, as Yahoo's CSV layout."""
    return pd.read_csv(AAPL_CSV)


@pytest.fixture
def yahoo(aapl_bars):
    """Yahoo serving the last 300 days of the real AAPL file as AAPL and, shifted, as MSFT."""
    server = FakeYahoo(
        {
            "AAPL": aapl_bars.iloc[-300:].reset_index(drop=True),
            "MSFT": aapl_bars.iloc[-300:].assign(**{"Adj Close": aapl_bars["Adj Close"].iloc[-300:] / 3}),
        }
    )
    with mock.patch.multiple(yfinance.data.YfData, get=server.getter(), cache_get=server.getter()):
        yield server


def _fetch(data_dir, tickers, **kwargs):
    return fetch(tickers, data_dir, retries=2, backoff_s=0.0, progress=False, **kwargs)


def test_fetch_caches_many_tickers_with_metadata(tmp_path, yahoo, aapl_bars):
    report = _fetch(tmp_path, ["AAPL", "msft"])
    assert report.ok and [o.status for o in report.outcomes] == ["new", "new"]
    entry = cache.read_ticker(tmp_path, "AAPL")
    assert len(entry.prices) == 300
    assert entry.prices["adj_close"].tolist() == pytest.approx(aapl_bars["Adj Close"].iloc[-300:].tolist())
    assert entry.meta["source"] == "yahoo" and "auto_adjust" in entry.meta["adjustment"]
    assert (entry.meta["first_date"], entry.meta["last_date"]) == ("2017-02-21", "2018-04-30")
    assert (tmp_path / "yfinance-cache").is_dir()


def test_partial_result_keeps_the_good_tickers_and_names_the_bad(tmp_path, yahoo):
    report = _fetch(tmp_path, ["AAPL", "NOPE"])
    assert not report.ok
    assert [(o.ticker, o.status) for o in report.outcomes] == [("AAPL", "new"), ("NOPE", "failed")]
    assert "no prices" in report.failures[0].message and "delisted" in report.failures[0].message
    assert cache.cached_tickers(tmp_path) == ["AAPL"]


def _attempts(monkeypatch) -> tuple[list[str], list[float]]:
    """The downloads tried and the waits between them, recorded (the waits without waiting)."""
    tried, waits = [], []
    download = yahoo_source.download

    def counted(ticker, *args):
        tried.append(ticker)
        return download(ticker, *args)

    monkeypatch.setattr(yahoo_source, "download", counted)
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        # Patching the module's sleep patches time.sleep for every thread of the process: record this test's
        # waits only (its own thread), and let any other thread (a library's poller) wait as it would.
        if threading.current_thread() is threading.main_thread():
            waits.append(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(yahoo_source.time, "sleep", sleep)
    return tried, waits


def test_rate_limit_is_retried_with_backoff(tmp_path, yahoo, monkeypatch):
    tried, waits = _attempts(monkeypatch)
    yahoo.failures["AAPL"] = [YFRateLimitError(), YFRateLimitError()]
    report = fetch(["AAPL"], tmp_path, retries=3, backoff_s=1.5, progress=False)
    assert report.ok and report.outcomes[0].rows == 300
    assert tried == ["AAPL"] * 3 and waits == [1.5, 3.0]  # refused twice, waiting twice as long the second time


def test_persistent_rate_limit_fails_and_leaves_the_cache_alone(tmp_path, yahoo, aapl_bars):
    _fetch(tmp_path, ["AAPL"])
    before = cache.prices_path(tmp_path, "AAPL").read_bytes()
    yahoo.bars["AAPL"] = aapl_bars.iloc[-320:].reset_index(drop=True)
    yahoo.failures["AAPL"] = [YFRateLimitError() for _ in range(10)]
    report = _fetch(tmp_path, ["AAPL"])
    assert report.outcomes[0].status == "failed"
    assert "rate-limiting" in report.outcomes[0].message
    assert cache.prices_path(tmp_path, "AAPL").read_bytes() == before


def test_time_outs_are_retried_then_reported(tmp_path, yahoo, monkeypatch):
    tried, waits = _attempts(monkeypatch)
    yahoo.failures["AAPL"] = [TimeoutError("curl: (28) Operation timed out after 30001 milliseconds")] * 9
    report = _fetch(tmp_path, ["AAPL"])
    assert "could not reach Yahoo Finance" in report.outcomes[0].message
    assert tried == ["AAPL"] * 3 and len(waits) == 2  # the first try and two retries (retries=2), then reported
    assert not cache.cached_tickers(tmp_path)


def test_refresh_fetches_only_from_the_last_cached_day(tmp_path, yahoo):
    full = yahoo.bars["AAPL"]
    yahoo.bars["AAPL"] = full.iloc[:250]
    _fetch(tmp_path, ["AAPL"])
    yahoo.bars["AAPL"] = full
    yahoo.requests.clear()
    report = _fetch(tmp_path, ["AAPL"])
    assert (report.outcomes[0].status, report.outcomes[0].added, report.outcomes[0].rows) == ("updated", 50, 300)
    (request,) = yahoo.history_requests("AAPL")
    last_cached = pd.Timestamp(full["Date"].iloc[249], tz="America/New_York").timestamp()
    assert request["period1"] == last_cached
    entry = cache.read_ticker(tmp_path, "AAPL")
    assert entry.prices["date"].is_monotonic_increasing and not entry.prices["date"].duplicated().any()
    assert entry.prices["adj_close"].tolist() == pytest.approx(full["Adj Close"].tolist())


def test_late_adjustment_triggers_a_full_refetch(tmp_path, yahoo):
    full = yahoo.bars["AAPL"]
    yahoo.bars["AAPL"] = full.iloc[:250]
    _fetch(tmp_path, ["AAPL"])
    # A dividend after the cached period: Yahoo re-adjusts every earlier close.
    yahoo.bars["AAPL"] = full.assign(**{"Adj Close": full["Adj Close"] * 0.99})
    report = _fetch(tmp_path, ["AAPL"])
    assert report.outcomes[0].status == "refetched"
    entry = cache.read_ticker(tmp_path, "AAPL")
    assert entry.prices["adj_close"].tolist() == pytest.approx((full["Adj Close"] * 0.99).tolist())


def test_up_to_date_cache_is_unchanged(tmp_path, yahoo):
    _fetch(tmp_path, ["AAPL"])
    assert _fetch(tmp_path, ["AAPL"]).outcomes[0].status == "unchanged"


def test_fetch_command_exits_non_zero_when_a_ticker_fails(tmp_path, yahoo, capsys):
    code = main(["fetch", "--tickers", "AAPL", "NOPE", "--data-dir", str(tmp_path), "--retries", "0", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "AAPL      new" in out and "NOPE      failed" in out and "1 new: " in out and "; 1 failed" in out


def test_import_of_both_real_files(tmp_path, shared_data):
    report = import_csv([AAPL_CSV], tmp_path, progress=False)
    assert report.outcomes[0].rows == 4610
    report = import_csv([SP500_CSV], tmp_path, on_bad_rows="drop", progress=False)
    assert len(report.outcomes) == 505
    assert sum(o.rows for o in report.outcomes) == 619_040 - 12
    # A universe's import fits a screen: the summary line alone (every ticker with --verbose).
    assert report.format() == "505 imported: 619,028 rows added, 619,028 cached; 0 failed"
    assert len(report.format(every_ticker=True).splitlines()) == 507
    listing = cache.list_cache(tmp_path)
    assert len(listing) == 505 and (listing["status"] == "ok").all()
    aptv = listing.set_index("ticker").loc["APTV"]
    assert aptv["rows"] == 44 and aptv["source"] == "csv:all_stocks_5yr.csv"


def test_many_cache_files_read_as_one_table_by_ticker_and_date(tmp_path, shared_data):
    """Files given in any order come back sorted, and the order check that spares the sort catches a table
    that is not (a date out of order within a ticker, tickers out of order)."""
    import pyarrow as pa

    import_csv([SP500_CSV], tmp_path, on_bad_rows="drop", progress=False, tickers=["MSFT", "AAPL", "A", "IBM"])
    paths = sorted(cache.prices_dir(tmp_path).glob("*.parquet"), key=lambda p: p.stem, reverse=True)
    table = cache.read_many(paths, ["date", "adj_close"])
    frame = table.to_pandas()
    assert frame["ticker"].drop_duplicates().tolist() == ["A", "AAPL", "IBM", "MSFT"]
    assert frame.equals(frame.sort_values(["ticker", "date"], ignore_index=True)) and cache._in_order(table)
    swapped = pa.concat_tables([table.slice(1, 1), table.slice(0, 1), table.slice(2)])  # A's first two days
    assert not cache._in_order(swapped)
    assert not cache._in_order(pa.concat_tables([table.slice(len(table) - 1), table.slice(0, len(table) - 1)]))


def test_import_with_errors_caches_nothing(tmp_path, shared_data):
    with pytest.raises(DataError, match="line"):
        import_csv([SP500_CSV], tmp_path, progress=False)
    assert cache.cached_tickers(tmp_path) == []


def test_import_ticker_option_names_a_yahoo_file(tmp_path, shared_data):
    renamed = tmp_path / "apple prices.csv"
    renamed.write_bytes(AAPL_CSV.read_bytes())
    with pytest.raises(DataError, match="not a valid symbol"):
        import_csv([renamed], tmp_path / "a", progress=False)
    assert import_csv([renamed], tmp_path / "b", ticker="AAPL", progress=False).outcomes[0].ticker == "AAPL"


def test_damaged_cache_file_is_reported_not_crashed_on(tmp_path, capsys, shared_data):
    import_csv([AAPL_CSV], tmp_path, progress=False)
    path = cache.prices_path(tmp_path, "AAPL")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ArtifactError, match="AAPL.parquet: damaged cache file"):
        cache.read_ticker(tmp_path, "AAPL")
    assert main(["data", "--data-dir", str(tmp_path)]) == 1
    assert "damaged" in capsys.readouterr().out
    assert main(["run", "--source", "cache", "--data-dir", str(tmp_path)]) == 1


def test_kill_during_write_leaves_the_previous_file_whole(tmp_path, shared_data):
    import_csv([AAPL_CSV], tmp_path, progress=False)
    before = cache.read_ticker(tmp_path, "AAPL").prices
    writer = textwrap.dedent(f"""
        import numpy as np, pandas as pd
        from forecaster.data import cache
        n = 100_000
        price = np.linspace(10, 20, n)
        big = pd.DataFrame({{"ticker": "AAPL", "date": pd.date_range("1750-01-01", periods=n), "open": price,
                             "high": price, "low": price, "close": price, "adj_close": price, "volume": 1.0}})
        print("writing", flush=True)
        while True:
            cache.write_ticker({str(tmp_path)!r}, "AAPL", big, "test", "test")
    """)
    for delay in (0.05, 0.4, 0.9, 1.3):  # kill at different moments of the write cycle
        process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "writing"
        time.sleep(delay)
        process.kill()
        process.wait()
        entry = cache.read_ticker(tmp_path, "AAPL")
        assert len(entry.prices) in (len(before), 100_000)  # the old file or a complete new one
        assert entry.meta["rows"] == len(entry.prices)
    assert cache.cached_tickers(tmp_path) == ["AAPL"]


def test_network_drop_and_rate_limit_mid_fetch_keep_the_tickers_that_succeeded(tmp_path, yahoo):
    yahoo.bars["IBM"] = yahoo.bars["AAPL"]
    # MSFT's connection drops on every try, IBM stays rate-limited; AAPL, before and after them, comes through.
    yahoo.failures["MSFT"] = [ConnectionError("curl: (56) Recv failure: Connection reset by peer")] * 9
    yahoo.failures["IBM"] = [YFRateLimitError() for _ in range(9)]
    report = _fetch(tmp_path, ["AAPL", "MSFT", "IBM"])
    assert [(o.ticker, o.status) for o in report.outcomes] == [("AAPL", "new"), ("MSFT", "failed"), ("IBM", "failed")]
    assert "could not reach Yahoo Finance" in report.outcomes[1].message
    assert "rate-limiting" in report.outcomes[2].message
    assert cache.cached_tickers(tmp_path) == ["AAPL"] and len(cache.read_ticker(tmp_path, "AAPL").prices) == 300
    assert "MSFT" in report.format() and "IBM" in report.format()


def test_an_empty_download_is_a_named_failure_and_caches_nothing(tmp_path, yahoo, aapl_bars):
    yahoo.bars["EMPTY"] = aapl_bars.iloc[:0]
    report = _fetch(tmp_path, ["EMPTY"])
    assert [(o.ticker, o.status) for o in report.outcomes] == [("EMPTY", "failed")]
    assert "EMPTY" in report.format() and "no prices" in report.outcomes[0].message
    assert cache.cached_tickers(tmp_path) == []


def test_an_offline_machine_is_not_retried_and_the_other_tickers_are_not_tried(tmp_path, yahoo):
    dns = "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com (Domain name not found)."
    yahoo.failures["AAPL"] = [ConnectionError(dns)] * 9
    started = time.perf_counter()
    report = fetch(["AAPL", "MSFT"], tmp_path, retries=3, backoff_s=2.0, progress=False)
    assert time.perf_counter() - started < 2  # no back-off waits
    aapl, msft = report.outcomes
    assert aapl.failed and "does not resolve" in aapl.message and "internet connection" in aapl.message
    assert "curl" not in aapl.message  # yfinance's long message adds nothing offline
    assert msft.failed and msft.message == "not tried: Yahoo Finance is unreachable (see AAPL)"
    assert len(yahoo.failures["AAPL"]) >= 7 and not yahoo.history_requests("MSFT")  # one try, then none
    assert not cache.cached_tickers(tmp_path)
