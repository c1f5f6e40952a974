"""Dashboard: figure functions without a browser, the reader's cache, and the real app in headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard.figures import compare_figure, metrics_rows, price_figure, residual_figures
from dashboard.reader import ArtifactReader
from forecaster import artifacts
from forecaster.errors import ArtifactError

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def two_ticker_run(sample_run):
    """The shared run on two sample tickers, so the page has a ticker to switch to."""
    return sample_run[0]


def test_price_figure_shows_actual_backtest_baselines_and_forecast(published_run):
    data_dir, result = published_run
    view = ArtifactReader(data_dir).latest()
    rows = view.rows(view.predictions, "AAPL")
    figure = price_figure(view.rows(view.prices, "AAPL"), rows, view.rows(view.forecast, "AAPL"), "AAPL", 2,
                          "candles", ("naive", "drift"))
    names = [trace.name for trace in figure.data]
    assert names[:4] == ["actual (adjusted OHLC)", "volume", "LSTM (2 days ahead)", "naive (2 days ahead)"]
    assert "drift (2 days ahead)" in names and "forecast (next 3 days)" in names
    assert {"forecast 80% interval", "forecast 95% interval"} <= set(names)
    assert figure.data[0].type == "candlestick" and figure.data[2].type == "scattergl"
    assert len(figure.data[0].x) == 4610  # the whole history, scaled to the adjusted close
    assert [b["label"] for b in figure.layout.xaxis.rangeselector.buttons] == ["1M", "6M", "YTD", "1Y", "All"]
    low, high = figure.layout.yaxis.range
    assert 80 < low < 120 and 170 < high < 200  # fitted to the test period, not to 2000's $1 prices


def test_line_chart_and_residuals(published_run):
    data_dir, _ = published_run
    view = ArtifactReader(data_dir).latest()
    rows = view.rows(view.predictions, "AAPL")
    figure = price_figure(view.rows(view.prices, "AAPL"), rows, None, "AAPL", 1, "line")
    assert figure.data[0].name == "actual (adjusted close)"
    over_time, spread = residual_figures(rows, "AAPL", 1)
    assert [t.name for t in over_time.data] == ["LSTM", "naive"]
    step1 = rows[rows["step"] == 1].sort_values("target_date")
    assert list(over_time.data[1].y) == pytest.approx((step1["actual"] - step1["naive"]).tolist())
    assert spread.data[0].type == "histogram"


def test_compare_figure_sorts_tickers_by_ratio():
    report = {"tickers": {t: {"metrics": {"1": {"lstm": {"rmse_ratio_vs_naive": r}}}}
                          for t, r in {"A": 1.02, "B": 0.97, "C": 1.0}.items()}}
    figure = compare_figure(report, 1)
    assert list(figure.data[0].y) == ["B", "C", "A"]
    assert "below 1 on 1 of 3 tickers" in figure.layout.title.text


def test_metrics_rows_put_lstm_beside_the_baselines_and_mark_the_best(published_run):
    _, result = published_run
    rows = metrics_rows(result.report, "AAPL")
    assert [(r["step"], r["forecast"]) for r in rows[:4]] == [(1, "lstm"), (1, "naive"), (1, "drift"),
                                                               (1, "moving_average")]
    step1 = rows[:4]
    best = min(step1, key=lambda r: r["rmse"])
    assert best["best"] and all(not r["best"] for r in step1 if r is not best)
    assert rows[1]["rmse_ratio_vs_naive"] == 1.0
    assert rows[0]["coverage_80"] is not None and rows[1]["coverage_80"] is not None  # LSTM and naive bands
    assert rows[2]["coverage_80"] is None  # drift has none


def test_reader_notices_a_new_run_and_reports_damage(published_run, tmp_path):
    source_dir, result = published_run
    data_dir = tmp_path / "data"
    shutil.copytree(source_dir / artifacts.RUNS, data_dir / artifacts.RUNS)
    reader = ArtifactReader(data_dir)
    first = reader.latest()
    assert reader.latest() is first  # cached
    second_dir = data_dir / artifacts.RUNS / "20990101T000000Z-000000"
    shutil.copytree(result.run_dir, second_dir)
    artifacts.publish_run(second_dir)
    assert reader.latest().run_id == second_dir.name
    damaged = data_dir / artifacts.RUNS / "20990102T000000Z-000000"
    shutil.copytree(result.run_dir, damaged)
    (damaged / artifacts.REPORT).write_text("{not json")
    artifacts.publish_run(damaged)
    with pytest.raises(ArtifactError, match="report.json"):
        reader.latest()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(data_dir: Path):
    """The real ``python -m dashboard`` process on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "dashboard", "--data-dir", str(data_dir), "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dashboard did not start: {process.stdout.read().decode()}") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()


def _wait_for_graph(page, title_part: str) -> None:
    page.wait_for_function(
        "t => { const g = document.querySelector('#price-graph .js-plotly-plot');"
        " const title = g && g.querySelector('.gtitle');"
        " return title && title.textContent.includes(t) && g.data.length > 0; }", arg=title_part, timeout=30_000)


def _layout(page, path: str):
    return page.evaluate(f"() => document.querySelector('#price-graph .js-plotly-plot').layout.{path}")


def test_page_shows_predictions_switches_ticker_and_range(browser, two_ticker_run, artifacts_dir):
    with serve(two_ticker_run) as url:
        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        page.goto(url)
        _wait_for_graph(page, "IBM")
        names = page.evaluate("() => document.querySelector('#price-graph .js-plotly-plot').data.map(t => t.name)")
        assert "LSTM (1 day ahead)" in names and any(n.startswith("forecast") for n in names)
        page.wait_for_function("() => document.querySelector('#metrics-table').innerText.includes('lstm')")
        first_table = page.inner_text("#metrics-table")

        page.click("#ticker")
        page.fill(".dash-dropdown-search", "MSF")  # the picker is searchable
        page.click("[role=option]:has-text('MSFT')")
        _wait_for_graph(page, "MSFT")
        page.wait_for_function(f"() => document.querySelector('#metrics-table').innerText !== {first_table!r}")

        # Range buttons move the x-range; the y-axis follows the data inside it.
        page.click(".rangeselector .button:has-text('1M')")
        page.wait_for_function("() => { const r = document.querySelector('#price-graph .js-plotly-plot')"
                               ".layout.xaxis.range; return (new Date(r[1]) - new Date(r[0])) < 40 * 864e5; }")
        month_y = _layout(page, "yaxis.range")
        page.click(".rangeselector .button:has-text('All')")
        # 2000-2013 spans a far wider price range than the last month.
        page.wait_for_function("span => { const r = document.querySelector('#price-graph .js-plotly-plot')"
                               ".layout.yaxis.range; return r[1] - r[0] > span * 2; }",
                               arg=month_y[1] - month_y[0], timeout=10_000)
        assert _layout(page, "xaxis.range")[0] < "2001"
        page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)

        page.click("text=Compare tickers")
        page.wait_for_function("() => { const g = document.querySelector('#compare-graph .js-plotly-plot');"
                               " return g && g.data.length && g.data[0].y.length === 2; }", timeout=30_000)
        page.screenshot(path=str(artifacts_dir / "dashboard-compare.png"), full_page=True)
        page.close()


def test_a_damaged_ticker_gets_a_message_and_the_rest_keeps_working(browser, two_ticker_run, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(two_ticker_run, data_dir)
    run_dir = artifacts.latest_run_dir(data_dir)
    report = artifacts.read_json(run_dir / artifacts.REPORT)
    del report["tickers"]["MSFT"]["metrics"]  # one ticker's entry loses its numbers
    artifacts.write_json(run_dir / artifacts.REPORT, report)
    with serve(data_dir) as url:
        page = browser.new_page()
        page.goto(url)
        _wait_for_graph(page, "IBM")
        page.click("#ticker")
        page.click("[role=option]:has-text('MSFT')")
        page.wait_for_function("() => document.querySelector('#ticker-message').innerText.includes('damaged')")
        assert "MSFT" in page.inner_text("#ticker-message")
        page.click("#ticker")
        page.click("[role=option]:has-text('IBM')")
        _wait_for_graph(page, "IBM")
        page.wait_for_function("() => document.querySelector('#ticker-message').innerText === ''")
        page.close()


def test_a_report_of_the_wrong_shape_says_which_file_instead_of_crashing(browser, two_ticker_run, tmp_path,
                                                                         artifacts_dir):
    data_dir = tmp_path / "data"
    shutil.copytree(two_ticker_run, data_dir)
    run_dir = artifacts.latest_run_dir(data_dir)
    artifacts.write_json(run_dir / artifacts.REPORT, {"tickers": ["IBM", "MSFT"], "summary": {}})  # valid JSON
    text = _page_text(browser, data_dir, "#error-state", artifacts_dir / "dashboard-malformed-report.png")
    assert "cannot be read" in text and "report.json: not a report of a run" in text


def test_empty_data_dir_says_which_command_to_run(browser, tmp_path, artifacts_dir):
    text = _page_text(browser, tmp_path, "#empty-state", artifacts_dir / "dashboard-empty.png")
    assert "No forecasts yet" in text and "python -m forecaster run" in text


def _page_text(browser, data_dir: Path, selector: str, screenshot: Path) -> str:
    """The text of ``selector`` on the page served from ``data_dir``, with a screenshot of that page."""
    with serve(data_dir) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(selector, timeout=30_000)
        text = page.inner_text(selector)
        page.screenshot(path=str(screenshot))
        page.close()
    return text
