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

from dashboard.figures import metrics_rows, prediction_figure
from dashboard.reader import ArtifactReader
from forecaster import artifacts
from forecaster.errors import ArtifactError
from tests.conftest import TINY_MODEL

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def two_ticker_run(spark, tmp_path_factory):
    """A real run on two sample tickers, so the page has a ticker to switch to."""
    from forecaster.pipeline import RunOptions, run

    data_dir = tmp_path_factory.mktemp("dash")
    run(RunOptions(source="sample", tickers=["IBM", "MSFT"], model=TINY_MODEL, data_dir=data_dir, verbose=0))
    return data_dir


def test_prediction_figure_has_actual_model_and_baseline(published_run):
    data_dir, result = published_run
    view = ArtifactReader(data_dir).latest()
    figure = prediction_figure(view.predictions, "AAPL", 2)
    names = [trace.name for trace in figure.data]
    assert names == ["actual", "LSTM (2 days ahead)", "naive (2 days ahead)", "drift (2 days ahead)",
                     "moving_average (2 days ahead)"]
    assert len(figure.data[0].x) == result.report["tickers"]["AAPL"]["n_test"] - 1
    assert figure.data[0].type == "scattergl"


def test_metrics_rows_put_lstm_beside_naive(published_run):
    _, result = published_run
    rows = metrics_rows(result.report, "AAPL")
    assert [(r["step"], r["forecast"]) for r in rows[:4]] == [(1, "lstm"), (1, "naive"), (1, "drift"),
                                                               (1, "moving_average")]
    assert rows[1]["rmse_vs_naive"] == 1.0
    assert rows[0]["rmse"] == round(result.report["tickers"]["AAPL"]["metrics"]["1"]["lstm"]["rmse"], 4)


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


def _trace_names(page) -> list[str]:
    return page.evaluate("() => document.querySelector('#prediction-graph .js-plotly-plot').data.map(t => t.name)")


def test_page_shows_predictions_and_switches_ticker(browser, two_ticker_run, artifacts_dir):
    with serve(two_ticker_run) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.goto(url)
        page.wait_for_function("() => { const g = document.querySelector('#prediction-graph .js-plotly-plot');"
                               " return g && g.data && g.data.length > 0 && g.querySelector('.gtitle'); }",
                               timeout=30_000)
        assert "IBM" in page.text_content("#prediction-graph .gtitle")
        assert _trace_names(page)[:2] == ["actual", "LSTM (1 day ahead)"]
        assert "lstm" in page.inner_text("#metrics-table")
        first_table = page.inner_text("#metrics-table")

        page.click("#ticker")
        page.fill(".dash-dropdown-search", "MSF")  # the picker is searchable
        page.click("[role=option]:has-text('MSFT')")
        page.wait_for_function("() => document.querySelector('#prediction-graph .gtitle').textContent.includes('MSFT')")
        page.wait_for_function(f"() => document.querySelector('#metrics-table').innerText !== {first_table!r}")
        page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
        page.close()


def test_empty_data_dir_says_which_command_to_run(browser, tmp_path, artifacts_dir):
    with serve(tmp_path) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#empty-state", timeout=30_000)
        text = page.inner_text("#empty-state")
        assert "No forecasts yet" in text and "python -m forecaster run" in text
        page.screenshot(path=str(artifacts_dir / "dashboard-empty.png"))
        page.close()
