"""The real dashboard in headless Chromium: what a person sees after each click, with screenshots."""

from __future__ import annotations

import copy
import csv
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from dashboard.address import x_range
from dashboard.reader import ArtifactReader
from dashboard.tables import fmt, metrics_table, verdict
from forecaster import artifacts
from forecaster.config import PROJECT_ROOT
from forecaster.evaluate.report_files import read_report, write_report
from tests.dashboard.browsing import (
    GRAPH,
    axes,
    grid_rows,
    open_page,
    opened_in,
    page_text,
    pick,
    settled_axes,
    switch_ticker,
    view_in_address,
    wait_for_grid,
    wait_for_ticker,
)
from tests.dashboard.conftest import copy_run, serve


def _expected_y(view, ticker: str, x: list[str]) -> list[float]:
    """The y-range a person should see: every visible series on the price panel inside the window (closes, the
    LSTM and naive at step 1, the forecast's 95% band), padded by 5%, never below 0."""
    start, end = pd.Timestamp(x[0][:10]), pd.Timestamp(x[1][:19])
    prices, forecast = view.rows(view.prices, ticker), view.rows(view.forecast, ticker)
    backtest = view.rows(view.predictions, ticker)
    backtest = backtest[backtest["step"] == 1]
    values = [
        prices.loc[prices["date"].between(start, end), "close"],
        backtest.loc[backtest["target_date"].between(start, end), ["lstm", "naive"]].stack(),
        forecast.loc[forecast["target_date"].between(start, end), ["lstm_lo95", "lstm_hi95"]].stack(),
        forecast["origin_price"].iloc[:1],
    ]
    both = pd.concat(values)
    low, high = both.min(), both.max()
    pad = (high - low) * 0.05
    return [max(0.0, low - pad), high + pad]


def test_range_buttons_set_what_both_panels_show_and_the_address_keeps_it(browser, two_ticker_run, artifacts_dir):
    view = ArtifactReader(two_ticker_run).latest()
    prices = view.rows(view.prices, "IBM")
    end = view.rows(view.forecast, "IBM")["target_date"].max() + pd.Timedelta(hours=12)
    first = prices["date"].min()
    with serve(two_ticker_run) as url:
        page = open_page(browser, url)
        opened = axes(page)
        assert opened["xaxes"] == ["xaxis"]  # prices and volume share one date axis: nothing to fall out of step
        assert [pd.Timestamp(v) for v in opened["x"]] == list(x_range("6M", first, end))  # the forecast in view
        ytd = (end - pd.Timestamp(end.year, 1, 1)).days  # from 1 January of the forecast's last year
        expected_days = {"1M": (27, 32), "6M": (180, 186), "YTD": (ytd - 1, ytd + 1), "1Y": (364, 367)}
        for label, days in expected_days.items():
            page.click(f".rangeselector .button:has-text('{label}')")
            drawn = settled_axes(page, lambda x: _expected_y(view, "IBM", x), days)
            span = (pd.Timestamp(drawn["x"][1][:19]) - pd.Timestamp(drawn["x"][0][:19])).days
            assert days[0] <= span <= days[1], (label, span)
            # Each button's window is exactly Plotly's, which the address's range reproduces (YTD: from 1 January).
            assert [pd.Timestamp(v[:19]) for v in drawn["x"]] == list(x_range(label, first, end)), label
            # The y-axis fits what is inside the window, no more.
            assert drawn["y"] == pytest.approx(_expected_y(view, "IBM", drawn["x"]), rel=1e-6), (label, drawn)
            page.wait_for_function(
                "l => new URLSearchParams(location.search).get('range') === l"
                " || (l === '6M' && !new URLSearchParams(location.search).get('range'))",
                arg=label,
            )
            page.screenshot(path=str(artifacts_dir / f"dashboard-range-{label}.png"))
        page.click(".rangeselector .button:has-text('All')")
        drawn = settled_axes(page, lambda x: _expected_y(view, "IBM", x), ((end - first).days - 1, 100_000))
        assert pd.Timestamp(drawn["x"][0][:10]) == first
        assert pd.Timestamp(drawn["x"][1][:19]) == end  # no empty months after the forecast
        assert drawn["y"] == pytest.approx(_expected_y(view, "IBM", drawn["x"]), rel=1e-6) and drawn["y"][0] >= 0
        page.wait_for_function("() => new URLSearchParams(location.search).get('range') === 'All'")
        page.screenshot(path=str(artifacts_dir / "dashboard-range-All.png"))
        # A zoom by hand is kept in the address as dates.
        page.evaluate(f"() => Plotly.relayout({GRAPH}, {{'xaxis.range': ['2012-06-01', '2012-09-28 12:00']}})")
        page.wait_for_function("() => new URLSearchParams(location.search).get('range') === '2012-06-01..2012-09-28'")
        page.close()


def test_the_ticker_tab_shows_the_runs_numbers_at_every_width(browser, two_ticker_run, artifacts_dir):
    view = ArtifactReader(two_ticker_run).latest()
    with serve(two_ticker_run) as url:
        page = open_page(browser, url)
        for ticker in ("MSFT", "IBM"):
            switch_ticker(page, ticker)
            forecast = view.rows(view.forecast, ticker).sort_values("step")
            for _, row in forecast.iterrows():
                text = page_text(page, f"#forecast-row-{row['step']}")
                assert fmt(row["lstm"], "price") in text  # the forecast: the shrunk median, as `forecast` prints
                assert f"{row['lstm'] / row['origin_price'] - 1:+.2%}" in text
                assert f"{fmt(row['lstm_lo80'], 'price')} – {fmt(row['lstm_hi80'], 'price')}" in text
                assert f"{fmt(row['lstm_lo95'], 'price')} – {fmt(row['lstm_hi95'], 'price')}" in text
                assert f"{row['target_date']:%Y-%m-%d}" in text
            assert page.inner_text("#last-close") == fmt(forecast["origin_price"].iloc[0], "price")
            days = int((view.rows(view.predictions, ticker)["step"] == 1).sum())
            expected, level = verdict(view.report, ticker, 1, days)
            page.wait_for_function("t => document.querySelector('#verdict').innerText === t", arg=expected)
            colour = {
                "good": "alert-success",
                "warn": "alert-warning",
                "bad": "alert-danger",
                "tie": "alert-secondary",
            }[level]
            assert colour in page.get_attribute("#verdict", "class")
            # The metrics grid: every number of the run's report, as the page writes it.
            models, rows = metrics_table(view.report, ticker, [1])
            page.wait_for_function(
                "t => document.querySelector('#metrics-grid') && document.querySelector("
                "'#metrics-grid .ag-cell[col-id=lstm]') && document.querySelector('#verdict')"
                ".innerText.length > 0",
                arg=ticker,
            )
            wait_for_grid(page, "metrics-grid", len(rows))
            page.wait_for_function(
                "v => Array.from(document.querySelectorAll('#metrics-grid .ag-cell[col-id=lstm]'))"
                ".some(c => c.innerText.startsWith(v))",
                arg=fmt(rows[0]["values"]["lstm"], "price"),
            )
            shown = {r["metric"]: r for r in grid_rows(page, "metrics-grid")}
            for row in rows:
                for model in models:
                    text = fmt(row["values"][model], row["unit"]) + (" ★" if row["best"] == model else "")
                    assert shown[row["metric"]][model].replace("\u2212", "-") == text, (ticker, row["metric"], model)
            assert page.get_attribute("#metrics-grid .ag-header-cell[col-id=naive]", "class")
        page.hover("#metrics-grid .ag-cell[col-id=metric] >> text=MASE")
        page.wait_for_selector(".ag-tooltip", timeout=5_000)  # what a metric means, on hover
        assert "Naive reads about 1" in page.inner_text(".ag-tooltip")
        page.click("#all-steps")
        wait_for_grid(page, "metrics-grid", len(metrics_table(view.report, "IBM", [1, 2, 3])[1]))
        assert {r["step"] for r in grid_rows(page, "metrics-grid")} == {"1", "2", "3"}
        page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
        chart, panel = page.locator("#price-graph").bounding_box(), page.locator("#forecast-panel").bounding_box()
        assert panel["x"] > chart["x"] + chart["width"] - 5  # side by side at 1400 px
        for width, name in ((1024, "1024px"), (390, "phone")):  # a laptop, and a phone held upright
            page.set_viewport_size({"width": width, "height": 844 if width < 500 else 1000})
            # Bootstrap's grid re-flows at once; Plotly resizes the chart on its own clock: wait for both.
            page.wait_for_function(
                "w => { const c = document.querySelector('#price-graph').getBoundingClientRect();"
                " const p = document.querySelector('#forecast-panel').getBoundingClientRect();"
                " return p.top > c.bottom - 5 && c.width > w * 0.85"
                " && document.documentElement.scrollWidth <= w; }",
                arg=width,
                timeout=15_000,
            )
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # nothing runs off the side
            page.screenshot(path=str(artifacts_dir / f"dashboard-{name}.png"), full_page=True)
        page.close()


def _printed_forecast(data_dir) -> dict[tuple[str, int], float]:
    """``python -m forecaster forecast``'s table, as printed: (ticker, step) -> the forecast."""
    out = subprocess.run(
        [sys.executable, "-m", "forecaster", "forecast", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["ticker", "day", "step"])
    assert "(forecast and 80% band" in lines[header - 1]
    printed = {}
    for line in lines[header + 1 :]:
        parts = line.split()
        if len(parts) == 8 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[1]):
            printed[(parts[0], int(parts[2]))] = float(parts[4])
    return printed


def test_every_forecast_on_the_page_is_the_one_the_command_line_prints(browser, two_ticker_run, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(two_ticker_run, data_dir)
    printed = _printed_forecast(data_dir)  # the same run's model, recalibrated with no new outcome: the same numbers
    view = ArtifactReader(data_dir).latest()
    stored = {(r.ticker, int(r.step)): r.lstm for r in view.forecast.itertuples()}
    assert set(printed) == set(stored) and len(printed) == 6
    assert all(printed[key] == pytest.approx(value, abs=0.005) for key, value in stored.items())
    with serve(data_dir) as url:
        page = open_page(browser, url)
        for ticker in ("IBM", "MSFT"):
            if ticker != "IBM":
                switch_ticker(page, ticker)
            for step in (1, 2, 3):  # the forecast panel
                cell = page.inner_text(f"#forecast-row-{step} .forecast-value")
                assert cell == f"{stored[(ticker, step)]:,.2f}" == f"{printed[(ticker, step)]:,.2f}"
            line = page.evaluate(f"() => Array.from({GRAPH}._fullData.find(t => t.name.startsWith('forecast (')).y)")
            assert line[1:] == pytest.approx([stored[(ticker, s)] for s in (1, 2, 3)])  # the chart's forecast line
        page.click("text=Compare tickers")  # the Compare grid's next-day forecast
        wait_for_grid(page, "compare-grid", 2)
        for row in grid_rows(page, "compare-grid"):
            assert row["forecast"] == f"{printed[(row['ticker'], 1)]:,.2f}"
        page.click("text=Track record")  # the forecasts as issued, in the live record
        page.wait_for_function(
            "() => { const g = document.querySelector('#track-graph .js-plotly-plot');"
            " return g && g.data && g.data.length > 0; }",
            timeout=15_000,
        )
        issued = page.evaluate(
            "() => Array.from(document.querySelector('#track-graph .js-plotly-plot')._fullData[0].y)"
        )
        assert issued == pytest.approx([stored[("IBM", 1)]])
        page.close()


def test_step_chart_and_baselines_change_the_figure_in_place(browser, two_ticker_run):
    view = ArtifactReader(two_ticker_run).latest()
    backtest = view.rows(view.predictions, "IBM")
    with serve(two_ticker_run) as url:
        page = open_page(browser, url)
        pick(page, "#step", "2 days ahead")
        page.wait_for_function(f"() => {GRAPH}.data[3].name === 'LSTM, 2 days ahead'")
        shown = page.evaluate(f"() => Array.from({GRAPH}._fullData[3].y)")
        expected = backtest[backtest["step"] == 2].sort_values("target_date")["lstm"]
        assert shown == pytest.approx(expected.tolist())
        page.wait_for_function("() => document.querySelector('#verdict').innerText.startsWith('2 days ahead')")
        page.click("label:has-text('candles')")
        page.wait_for_function(f"() => {GRAPH}._fullData[0].visible === true && {GRAPH}._fullData[1].visible === false")
        page.click("label:has-text('GARCH')")
        page.wait_for_function(f"() => {GRAPH}._fullData[7].visible === true")
        assert page.evaluate(f"() => {GRAPH}._fullData[7].name") == "GARCH(1,1)-t, 2 days ahead"
        page.close()


def _with_a_third_ticker(data_dir, tmp_path):
    """A copy of the run whose report has a third ticker, AAA, its step-1 RMSE ratio between the other two:
    sorted by ratio, three tickers come in an order that is neither the tickers' nor its reverse, so a grid
    that kept its order, or reversed it, cannot pass for one that sorts."""
    run_dir = artifacts.latest_run_dir(data_dir)
    copied = copy_run(tmp_path / "three", run_dir, run_dir.name)
    report = read_report(copied)
    low, high = sorted(e["metrics"]["1"]["lstm"]["rmse_ratio_vs_naive"] for e in report["tickers"].values())
    third = copy.deepcopy(report["tickers"]["IBM"])
    lstm, naive = third["metrics"]["1"]["lstm"], third["metrics"]["1"]["naive"]
    lstm["rmse_ratio_vs_naive"] = (low + high) / 2
    lstm["rmse"] = naive["rmse"] * lstm["rmse_ratio_vs_naive"]
    report["tickers"]["AAA"] = third
    write_report(copied, report)
    return tmp_path / "three"


def test_compare_grid_sorts_filters_downloads_and_opens_a_ticker(browser, two_ticker_run, artifacts_dir, tmp_path):
    data_dir = _with_a_third_ticker(two_ticker_run, tmp_path)
    view = ArtifactReader(data_dir).latest()
    ratios = {t: e["metrics"]["1"]["lstm"]["rmse_ratio_vs_naive"] for t, e in view.report["tickers"].items()}
    by_ratio = sorted(ratios, key=ratios.get)
    assert len(ratios) == 3 and by_ratio not in (sorted(ratios), sorted(ratios)[::-1])
    with serve(data_dir) as url:
        page = open_page(browser, url + "?ticker=IBM")  # AAA, the first, has a report entry and nothing else
        page.click("text=Compare tickers")
        wait_for_grid(page, "compare-grid", 3)
        page.wait_for_function("() => document.querySelectorAll('#compare-graph .bars .point').length === 3")
        labels = page.evaluate("() => document.querySelector('#compare-graph .js-plotly-plot').data[2].text")
        assert sorted(labels) == sorted(f"{r:.3f}" for r in ratios.values())
        layout = page.evaluate("() => document.querySelector('#compare-graph .js-plotly-plot')._fullLayout")
        low, high = layout["xaxis"]["range"]
        assert low <= 0.98 and high >= 1.02 and abs((1 - low) - (high - 1)) < 1e-9
        # Nothing is cut off: the axis title and the value labels lie inside the chart.
        chart = page.locator("#compare-graph .main-svg").first.bounding_box()
        for selector in ("#compare-graph .xtitle", "#compare-graph .scatterlayer .trace:last-child text"):
            box = page.locator(selector).first.bounding_box()
            assert chart["x"] <= box["x"] and box["x"] + box["width"] <= chart["x"] + chart["width"], selector
        rows = grid_rows(page, "compare-grid")
        assert {r["ticker"] for r in rows} == set(ratios) and rows[0]["ticker"] == min(ratios)  # sorted by ticker
        for row in rows:
            assert row["rmse_ratio"] == f"{ratios[row['ticker']]:.3f}"
        # Sort by the RMSE ratio, both ways.
        header = "#compare-grid .ag-header-cell[col-id=rmse_ratio] .ag-header-cell-label"
        for descending in (False, True):
            page.click(header)
            order = sorted(ratios, key=ratios.get, reverse=descending)
            page.wait_for_function(
                "o => Array.from(document.querySelectorAll('#compare-grid .ag-pinned-left-cols-"
                "container .ag-row')).sort((a, b) => a.getAttribute('row-index') - b.getAttribute("
                "'row-index')).map(r => r.innerText.trim()).join() === o.join()",
                arg=order,
            )
        page.screenshot(path=str(artifacts_dir / "dashboard-compare.png"), full_page=True)
        # Filter on the ticker, then download what the grid shows.
        page.click("#compare-grid .ag-header-cell[col-id=ticker] .ag-header-cell-filter-button")
        page.fill(".ag-filter input[type=text]", "MS")
        wait_for_grid(page, "compare-grid", 1)
        page.keyboard.press("Escape")
        with page.expect_download() as download:
            page.click("#compare-grid-csv")
        saved = tmp_path / "compare.csv"
        download.value.save_as(saved)
        with saved.open(encoding="utf-8-sig") as handle:  # AG Grid writes a byte-order mark, for Excel
            exported = list(csv.DictReader(handle))
        assert [r["Ticker"] for r in exported] == ["MSFT"]
        assert float(exported[0]["RMSE / naive"]) == pytest.approx(ratios["MSFT"], abs=1e-4)
        assert download.value.suggested_filename == f"compare-{view.run_id}.csv"
        # A click on a row opens its ticker on the Ticker tab.
        page.click("#compare-grid .ag-row[row-index='0'] .ag-cell[col-id=rmse_ratio]")
        wait_for_ticker(page, "MSFT")
        assert page.is_visible("#price-graph") and view_in_address(page)["ticker"] == "MSFT"
        page.close()


def test_a_copied_address_opens_the_same_view(browser, two_ticker_run, artifacts_dir):
    view = ArtifactReader(two_ticker_run).latest()
    with serve(two_ticker_run) as url:
        page = open_page(browser, url)
        switch_ticker(page, "MSFT")
        pick(page, "#step", "3 days ahead")
        page.wait_for_function(f"() => {GRAPH}.data[3].name === 'LSTM, 3 days ahead'")
        page.click(".rangeselector .button:has-text('1Y')")
        page.wait_for_function("() => new URLSearchParams(location.search).get('range') === '1Y'")
        drawn = axes(page)
        page.click("text=Compare tickers")
        page.click("label:has-text('80% interval score')")
        page.wait_for_function("() => new URLSearchParams(location.search).get('measure') === 'interval_score_80'")
        copied = page.url
        assert view_in_address(page) == {
            "run": view.run_id,
            "ticker": "MSFT",
            "step": "3",
            "tab": "compare",
            "range": "1Y",
            "measure": "interval_score_80",
        }
        page.close()

        fresh = browser.new_page(viewport={"width": 1400, "height": 1000})  # a colleague's browser
        fresh.goto(copied)
        fresh.wait_for_function(
            "() => document.querySelector('#compare-graph .js-plotly-plot')"
            " && document.querySelector('#compare-graph .gtitle')",
            timeout=30_000,
        )
        assert fresh.inner_text("#tabs .nav-link.active") == "Compare tickers"
        title = fresh.eval_on_selector("#compare-graph .gtitle", "e => e.textContent")
        assert "80% interval score / naive's, 3 days ahead" in title
        assert fresh.is_checked("#compare-measure input[value=interval_score_80]")
        fresh.click("#tabs .nav-link:has-text('Ticker')")
        wait_for_ticker(fresh, "MSFT")
        assert (
            "3 days ahead" in fresh.inner_text("#step")
            and fresh.evaluate(f"() => {GRAPH}.data[3].name") == "LSTM, 3 days ahead"
        )
        assert [pd.Timestamp(v) for v in axes(fresh)["x"]] == [pd.Timestamp(v) for v in drawn["x"]]  # same window
        fresh.screenshot(path=str(artifacts_dir / "dashboard-copied-address.png"))
        # It keeps following the person: back on the Ticker tab, the default, which the address leaves out.
        fresh.wait_for_function("() => !new URLSearchParams(location.search).has('tab')")
        assert view_in_address(fresh)["ticker"] == "MSFT" and view_in_address(fresh)["step"] == "3"
        fresh.close()


def test_a_page_stays_on_its_run_and_the_picker_switches_runs(browser, two_ticker_run, tmp_path, artifacts_dir):
    source = artifacts.latest_run_dir(two_ticker_run)
    older = copy_run(tmp_path, source, "20990101T000000Z-aaaaaa")
    newer = copy_run(tmp_path, source, "20990102T000000Z-bbbbbb")
    forecast = artifacts.read_parquet(newer / artifacts.FORECAST)
    moved = forecast.copy()
    numeric = [c for c in moved.columns if c.startswith(("lstm", "naive", "drift", "moving", "garch"))]
    moved[numeric] = moved[numeric] * 1.5  # the newer run's forecast reads differently
    artifacts.write_parquet(newer / artifacts.FORECAST, moved)
    step1 = forecast[(forecast["ticker"] == "MSFT") & (forecast["step"] == 1)].iloc[0]
    with serve(tmp_path) as url:
        page = open_page(browser, url)
        assert newer.name in page.inner_text("#run-footer")
        page.click("#run-picker")
        options = page.eval_on_selector_all("[role=option]", "els => els.map(e => e.innerText)")
        assert len(options) == 2 and "(latest)" in options[0] and "2 tickers (IBM, MSFT)" in options[0]
        page.click("[role=option] >> nth=1")
        page.wait_for_url(f"**/?run={older.name}*")
        page.wait_for_function(f"() => document.querySelector('#run-footer').innerText.includes('{older.name}')")
        wait_for_ticker(page, "IBM")

        third = copy_run(tmp_path, newer, "20990103T000000Z-cccccc")  # published while the page is open
        switch_ticker(page, "MSFT")
        assert fmt(step1["lstm"], "price") in page.inner_text("#forecast-row-1")  # still the older run
        page.wait_for_selector("#newer-run", state="visible", timeout=20_000)
        assert third.name in page.inner_text("#newer-run")
        page.screenshot(path=str(artifacts_dir / "dashboard-newer-run.png"))
        page.click("#open-newer-run")
        page.wait_for_url(f"**/?run={third.name}&ticker=MSFT*")  # the newer run, on the same ticker
        page.wait_for_function(f"() => document.querySelector('#run-footer').innerText.includes('{third.name}')")
        wait_for_ticker(page, "MSFT")
        page.close()


def test_a_damaged_ticker_gets_a_message_and_the_rest_keeps_working(browser, two_ticker_run, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(two_ticker_run, data_dir)
    run_dir = artifacts.latest_run_dir(data_dir)
    metrics = artifacts.read_parquet(run_dir / artifacts.METRICS)
    artifacts.write_parquet(run_dir / artifacts.METRICS, metrics[metrics["ticker"] != "MSFT"])  # MSFT loses its numbers
    with serve(data_dir) as url:
        page = open_page(browser, url)
        pick(page, "#ticker", "MSFT")
        page.wait_for_function("() => document.querySelector('#ticker-message').innerText.includes('damaged')")
        assert "MSFT" in page.inner_text("#ticker-message")
        switch_ticker(page, "IBM")
        page.wait_for_function("() => document.querySelector('#ticker-message').innerText === ''")
        page.close()


def test_a_report_of_the_wrong_shape_says_which_file_instead_of_crashing(
    browser, two_ticker_run, tmp_path, artifacts_dir
):
    data_dir = tmp_path / "data"
    shutil.copytree(two_ticker_run, data_dir)
    run_dir = artifacts.latest_run_dir(data_dir)
    artifacts.write_json(run_dir / artifacts.REPORT, {"tickers": ["IBM", "MSFT"], "summary": {}})  # valid JSON
    text = _page_text(browser, data_dir, "#error-state", artifacts_dir / "dashboard-malformed-report.png")
    assert "cannot be read" in text and "report.json: not a report of a run" in text


def test_empty_data_dir_says_which_command_to_run(browser, tmp_path, artifacts_dir):
    text = _page_text(browser, tmp_path, "#empty-state", artifacts_dir / "dashboard-empty.png")
    assert "No forecasts yet" in text and "python -m forecaster run" in text


def _page_text(browser, data_dir, selector: str, screenshot) -> str:
    """The text of ``selector`` on the page served from ``data_dir``, with a screenshot of that page."""
    with serve(data_dir) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(selector, timeout=30_000)
        text = page.inner_text(selector)
        page.screenshot(path=str(screenshot))
        page.close()
    return text


def test_track_record_tab_shows_the_live_scores_of_issued_forecasts(browser, replay, artifacts_dir):
    from forecaster.evaluate import ledger

    data_dir, _, _ = replay
    record = ledger.track_record(data_dir, ["AAPL"])
    every = record[(record["step"] == 1) & (record["window"] == "all")].iloc[0]
    with serve(data_dir) as url:
        page = open_page(browser, url, "AAPL")
        page.click("text=Track record")
        wait_for_grid(page, "track-grid", len(record))
        rows = {(r["step"], r["window"]): r for r in grid_rows(page, "track-grid")}
        shown = rows[("1", "all")]
        assert shown["ticker"] == "AAPL" and shown["scored"] == str(every["scored"])
        assert shown["coverage_80"] == f"{every['coverage_80']:.1%}"
        assert shown["rmse_ratio_vs_naive"] == f"{every['rmse_ratio_vs_naive']:.3f}"
        page.wait_for_function(
            "() => { const g = document.querySelector('#track-graph .js-plotly-plot');"
            " return g && g.data && g.data.length > 0; }",
            timeout=10_000,
        )
        traces = page.evaluate(
            "() => document.querySelector('#track-graph .js-plotly-plot').data.map(t => [t.name, t.x.length])"
        )
        assert traces == [["forecast as issued, 1 day ahead", 5], ["what happened", 4]]  # the last still waits
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400
        page.screenshot(path=str(artifacts_dir / "dashboard-track-record.png"), full_page=True)
        page.close()


def test_a_track_record_before_any_outcome_says_so_in_days(browser, two_ticker_run, artifacts_dir):
    with serve(two_ticker_run) as url:
        page = open_page(browser, url, width=1400)
        page.click("text=Track record")
        page.wait_for_function("() => document.querySelector('#track-graph .xtick')", timeout=15_000)
        ticks = page.eval_on_selector_all("#track-graph .xtick text", "els => els.map(e => e.textContent)")
        assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", t) for t in ticks), ticks  # days, not ms
        assert "None of IBM's forecasts has met its day yet" in page.inner_text("#track-message")
        page.wait_for_selector("#track-grid .ag-overlay-no-rows-center, #track-grid .ag-overlay", timeout=10_000)
        assert "No forecast has met its day yet" in page.inner_text("#track-grid")
        page.screenshot(path=str(artifacts_dir / "dashboard-track-record-empty.png"))
        page.close()


def test_the_page_is_quick_to_first_sight_and_to_each_ticker(browser, two_ticker_run):
    with serve(two_ticker_run) as url:
        opens = []
        for _ in range(4):  # a browser with nothing cached each time: a first visit
            page = open_page(browser, url)
            opens.append(opened_in(page))
            page.close()
        page = open_page(browser, url)
        first = [switch_ticker(page, "MSFT")]
        page.wait_for_timeout(1500)  # what is below the fold arrives after the chart
        repeats = []
        for ticker in ("IBM", "MSFT", "IBM", "MSFT"):
            repeats.append(switch_ticker(page, ticker))
            page.wait_for_timeout(1500)
        page.close()
    print(
        f"\npage opened to its price chart drawn: {', '.join(f'{t:.0f} ms' for t in opens)}"
        f"\nfirst visit to a ticker: {first[0]:.0f} ms; repeat visits: {', '.join(f'{t:.0f} ms' for t in repeats)}"
    )
    # Bounds that catch a page grown several times slower, not a busy machine: the docs' medians (2.3 s to open,
    # 0.6 s to a first visit, 0.4 s repeated) come from `python benchmarks/dashboard_sight.py`, which measures the
    # code before beside it; in the full suite, beside Spark jobs on the other worker, the best of four opens took
    # 4.3 s once.
    assert min(opens) < 8_000 and first[0] < 4_000 and min(repeats) < 3_000


def _signed(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def test_the_skill_tab_shows_the_reports_numbers(browser, two_ticker_run, artifacts_dir):
    view = ArtifactReader(two_ticker_run).latest()
    summary = view.report["summary"]
    with serve(two_ticker_run) as url:
        page = open_page(browser, url + "?tab=skill", "IBM")
        signals = summary["cross_section"]["1"]
        wait_for_grid(page, "signal-grid", len(signals) + 1)  # and the equal-weight universe
        shown = {r["name"]: r for r in grid_rows(page, "signal-grid")}
        from dashboard.theme import display_name

        for signal, stats in signals.items():
            row, money = shown[display_name(signal)], summary["portfolio"]["1"][signal]
            assert row["rank_ic"].replace("\u2212", "-") == _signed(stats["rank_ic"]["mean"], "+.3f"), signal
            assert row["rank_ic_t"].replace("\u2212", "-") == _signed(stats["rank_ic"]["t"], "+.2f"), signal
            assert row["annual_return_net"].replace("\u2212", "-") == _signed(money["annual_return_net"], "+.1%")
            assert row["ir_net"].replace("\u2212", "-") == _signed(money["ir_net"], "+.2f"), signal
        zones = {(r["model"], r["tail"]): r for r in grid_rows(page, "zone-grid")}
        for model, steps in summary["band_zones"].items():
            for tail, share in steps["1"].items():
                assert zones[(display_name(model), tail)]["green"] == f"{share['green']:.1%}"
        wait_for_grid(page, "band-grid", 2 * 3 * 4)  # tickers x banded models x tails
        band = view.report["tickers"]["IBM"]["metrics"]["1"]["lstm"]["bands"]["lo80"]
        first = next(
            r
            for r in grid_rows(page, "band-grid")
            if r["ticker"] == "IBM" and r["model"] == "LSTM" and r["tail"] == "lo80"
        )
        assert (first["exceptions"], first["zone"]) == (str(band["exceptions"]), band["zone"])
        assert first["kupiec_p"] == f"{band['kupiec_p']:.3f}"
        page.wait_for_function(
            "() => document.querySelector('#rank-ic-graph .js-plotly-plot')"
            " && document.querySelector('#equity-graph .js-plotly-plot')"
        )
        page.screenshot(path=str(artifacts_dir / "dashboard-skill.png"), full_page=True)
        # A click on a signal's row charts that signal.
        page.click("#signal-grid .ag-row >> text=20-day momentum")
        page.wait_for_function(
            "() => document.querySelector('#rank-ic-graph .js-plotly-plot').data[0].name.startsWith('20-day momentum')",
            timeout=15_000,
        )
        assert view_in_address(page)["tab"] == "skill"
        # The Compare grid carries each ticker's test against naive and its band's zone.
        page.click("text=Compare tickers")
        wait_for_grid(page, "compare-grid", 2)
        for row in grid_rows(page, "compare-grid"):
            lstm = view.report["tickers"][row["ticker"]]["metrics"]["1"]["lstm"]
            assert row["dm_p"] == f"{lstm['dm_p_vs_naive']:.3f}" and row["vs_naive"] == lstm["vs_naive"]
            zones = [lstm["bands"][t]["zone"] for t in ("lo80", "hi80")]
            assert row["zone_80"] == max(zones, key=("green", "yellow", "red").index)
        page.close()


def test_a_run_of_too_few_tickers_says_why_it_has_no_cross_section(browser, replay, artifacts_dir):
    data_dir, _, _ = replay
    with serve(data_dir) as url:
        page = open_page(browser, url + "?tab=skill", "AAPL")
        page.wait_for_selector("#skill-absent", timeout=15_000)
        assert "at most 1 ticker on a day" in page.inner_text("#skill-absent")
        wait_for_grid(page, "band-grid", 3 * 4)  # the bands are still backtested
        page.screenshot(path=str(artifacts_dir / "dashboard-skill-absent.png"))
        page.close()
