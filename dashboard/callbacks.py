"""Callbacks: browser input -> validated choices -> views of the run the page is pinned to. Nothing is trained here.

Every callback takes the page's run id (``run-id`` store) and reads that run, so a page never mixes two runs.
A ticker switch sends the figure once; a step change sends only the backtest series (``Patch``); chart type and
baselines switch traces on and off in the browser (a clientside ``Patch``), with no request at all.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, State, callback_context, dcc, html, no_update

from dashboard import layout
from dashboard.figures import (
    CHART_TYPES,
    COMPARE_MEASURES,
    TRACE_BASELINE,
    TRACE_CANDLES,
    TRACE_CLOSE,
    backtest_series,
    compare_figure,
    price_figure,
    residual_figures,
    track_figure,
)
from dashboard.jobs import JOBS, JobSettings, run_job
from dashboard.panels import forecast_panel, metrics_component
from dashboard.reader import ArtifactReader, RunView
from dashboard.tables import compare_rows, verdict
from dashboard.theme import VERDICT_COLORS
from forecaster.columns import BASELINE_NAMES
from forecaster.errors import ArtifactError
from forecaster.evaluate import ledger

# Fits the price panel's y-axis to the data inside the x-range after a zoom or a range button, and makes "All"
# span exactly the first day to the last forecast day (Plotly's autorange pads it by months). Runs in the
# browser, so no request reaches the server. It reads the x-range the chart has now, not the event's keys: Dash
# hands a callback only the latest relayoutData, and on a busy machine the first draw's {"autosize": true} can
# arrive after a click's x-range and hide it. Only a change of the y-axes alone (its own, or a person's y-zoom)
# is left as it is; an update that changes nothing is not sent.
RESCALE_Y = """
function(relayout) {
    const none = window.dash_clientside.no_update;
    if (!relayout || Object.keys(relayout).every(k => k.startsWith('yaxis'))) { return none; }
    const gd = document.querySelector('#price-graph .js-plotly-plot');
    if (!gd || !gd._fullData) { return none; }
    const time = v => new Date(String(v).slice(0, 19)).getTime();
    const onPrices = t => !(t.yaxis && t.yaxis !== 'y') && t.visible !== false && t.visible !== 'legendonly';
    const update = {};
    let x0, x1;
    if (!gd.layout.xaxis) { return none; }
    if (gd.layout.xaxis.autorange === true) {
        x0 = Infinity; x1 = -Infinity;
        for (const t of gd._fullData) {
            if (!onPrices(t)) { continue; }
            for (const x of (t.x || [])) { const v = time(x); if (v < x0) { x0 = v; } if (v > x1) { x1 = v; } }
        }
        if (!isFinite(x0)) { return none; }
        x1 += 12 * 3600e3;
        update['xaxis.range'] = [new Date(x0).toISOString().slice(0, 10), new Date(x1).toISOString().slice(0, 13)];
    } else {
        if (!gd.layout.xaxis.range) { return none; }
        x0 = time(gd.layout.xaxis.range[0]); x1 = time(gd.layout.xaxis.range[1]);
    }
    let lo = Infinity, hi = -Infinity;
    // _fullData holds the decoded arrays (gd.data may hold Plotly's base64 "bdata" objects).
    for (const t of gd._fullData) {
        if (!onPrices(t)) { continue; }
        const xs = t.x || [];
        for (let i = 0; i < xs.length; i++) {
            const x = time(xs[i]);
            if (x < x0 || x > x1) { continue; }
            const low = t.type === 'candlestick' ? t.low[i] : t.y[i];
            const high = t.type === 'candlestick' ? t.high[i] : t.y[i];
            if (low != null && !isNaN(low)) { lo = Math.min(lo, low); }
            if (high != null && !isNaN(high)) { hi = Math.max(hi, high); }
        }
    }
    if (!isFinite(lo)) { return none; }
    const pad = (hi - lo) * 0.05 || 1;
    update['yaxis.range'] = [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];  // prices never go below 0
    const now = gd.layout.yaxis && gd.layout.yaxis.range;
    const same = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
    if (!update['xaxis.range'] && now && same(now[0], update['yaxis.range'][0])
        && same(now[1], update['yaxis.range'][1])) { return none; }
    window.Plotly.relayout(gd, update);
    return update['yaxis.range'];
}
"""

# Chart type and baselines only switch traces on and off: a Patch built in the browser, no request.
TOGGLE_TRACES = f"""
function(chart, baselines) {{
    const patch = new window.dash_clientside.Patch();
    const chosen = Array.isArray(baselines) ? baselines : [];
    patch.assign(['data', {TRACE_CANDLES}, 'visible'], chart === 'candles');
    patch.assign(['data', {TRACE_CLOSE}, 'visible'], chart !== 'candles');
    const baselineTraces = {dict(TRACE_BASELINE)!r};
    for (const [name, index] of Object.entries(baselineTraces)) {{
        patch.assign(['data', index, 'visible'], chosen.includes(name));
    }}
    return patch.build();
}}
"""

# A click on a Compare bar opens that ticker on the Ticker tab.
OPEN_TICKER = """
function(click) {
    const none = window.dash_clientside.no_update;
    if (!click || !click.points || !click.points.length) { return [none, none]; }
    return ['ticker', click.points[0].y];
}
"""

#: Built views kept per worker: switching back to a ticker costs no building.
VIEW_CACHE_SIZE = 64


def _step(view: RunView, step: Any) -> int:
    return step if isinstance(step, int) and 1 <= step <= view.horizon else 1


def _ticker(view: RunView, ticker: Any) -> str | None:
    # Browser input is untrusted: only this run's tickers are accepted, never used in a path.
    return ticker if isinstance(ticker, str) and ticker in view.tickers else None


def _damaged(ticker: str, exc: Exception) -> str:
    return (f"The artifacts of {ticker} are damaged ({type(exc).__name__}: {exc}); other tickers are unaffected. "
            "Re-run the forecaster to repair them.")


DAMAGE = (KeyError, ValueError, TypeError, IndexError, AttributeError)


def register(app: Dash, reader: ArtifactReader, data_dir: str, jobs: JobSettings | None = None) -> None:
    """Attach the callbacks to ``app``; they only read artifacts through ``reader`` (of ``data_dir``), but for the
    jobs (``jobs``), which run in background callbacks, never inside a request."""
    jobs = jobs or JobSettings()

    @app.callback(Output("page", "children"), Input("url", "search"))
    def render_page(search: Any) -> Any:
        requested = parse_qs(str(search or "").lstrip("?")).get("run", [None])[0]
        try:
            run_id = requested or reader.latest_id()
            if run_id is None:
                return layout.empty_layout(data_dir)
            return layout.run_layout(reader.view(run_id), reader.history(), jobs)
        except ArtifactError as exc:
            return layout.error_layout(str(exc))

    def view_of(run_id: Any) -> RunView | None:
        try:
            return reader.view(run_id)
        except ArtifactError:
            return None

    @functools.lru_cache(maxsize=VIEW_CACHE_SIZE)
    def build_figure(version: tuple[str, float], ticker: str, step: int, chart: str,
                     baselines: tuple[str, ...]) -> go.Figure:
        # ``version`` keys the cache: a refreshed forecast builds afresh.
        view = reader.view(version[0])
        return price_figure(view.rows(view.prices, ticker), view.rows(view.predictions, ticker),
                            view.rows(view.forecast, ticker), ticker, step, chart, baselines)

    @functools.lru_cache(maxsize=VIEW_CACHE_SIZE)
    def build_details(version: tuple[str, float], ticker: str, step: int, all_steps: bool) -> tuple:
        view = reader.view(version[0])
        predictions = view.rows(view.predictions, ticker)
        days = int((predictions["step"] == step).sum())
        text, level = verdict(view.report, ticker, step, days)
        steps = list(range(1, view.horizon + 1)) if all_steps else [step]
        over_time, spread = residual_figures(predictions, ticker, step)
        return (text, VERDICT_COLORS[level], forecast_panel(view.rows(view.forecast, ticker), ticker),
                metrics_component(view.report, ticker, steps), over_time, spread, "")

    @app.callback(Output("price-graph", "figure"), Input("run-id", "data"), Input("ticker", "value"),
                  State("step", "value"), State("chart", "value"), State("baselines", "value"))
    def show_price(run_id: Any, ticker: Any, step: Any, chart: Any, baselines: Any) -> Any:
        view = view_of(run_id)
        if view is None or (ticker := _ticker(view, ticker)) is None:
            return no_update
        chosen = tuple(b for b in BASELINE_NAMES if isinstance(baselines, list) and b in baselines)
        try:
            return build_figure(view.version, ticker, _step(view, step), chart if chart in CHART_TYPES else "line",
                                chosen)
        except DAMAGE:
            return go.Figure()  # the details callback says what is damaged

    @app.callback(Output("price-graph", "figure", allow_duplicate=True), Input("step", "value"),
                  State("run-id", "data"), State("ticker", "value"), prevent_initial_call=True)
    def change_step(step: Any, run_id: Any, ticker: Any) -> Any:
        view = view_of(run_id)
        if view is None or (ticker := _ticker(view, ticker)) is None:
            return no_update
        patch = Patch()
        try:
            for index, series in backtest_series(view.rows(view.predictions, ticker), _step(view, step)).items():
                patch["data"][index]["x"] = series["x"]
                patch["data"][index]["y"] = series["y"]
                patch["data"][index]["name"] = series["name"]
        except DAMAGE:
            return no_update
        return patch

    app.clientside_callback(TOGGLE_TRACES, Output("price-graph", "figure", allow_duplicate=True),
                            Input("chart", "value"), Input("baselines", "value"), prevent_initial_call=True)

    @app.callback(
        Output("verdict", "children"), Output("verdict", "color"), Output("forecast-panel", "children"),
        Output("metrics-table", "children"), Output("residual-time", "figure"), Output("residual-hist", "figure"),
        Output("ticker-message", "children"),
        Input("run-id", "data"), Input("ticker", "value"), Input("step", "value"), Input("all-steps", "value"),
    )
    def show_details(run_id: Any, ticker: Any, step: Any, all_steps: Any) -> tuple[Any, ...]:
        try:
            view = reader.view(run_id)
        except ArtifactError as exc:
            return ("", "secondary", [], [], go.Figure(), go.Figure(), f"This run cannot be read: {exc}")
        chosen = _ticker(view, ticker)
        if chosen is None:
            return (no_update,) * 6 + (f"Unknown ticker {str(ticker)[:40]!r}.",)
        try:
            return build_details(view.version, chosen, _step(view, step), all_steps is True)
        except DAMAGE as exc:
            # One ticker's damaged entries must not take the page down: say so, keep the rest working.
            return ("", "secondary", [], [], go.Figure(), go.Figure(), _damaged(chosen, exc))

    @app.callback(Output("compare-graph", "figure"), Output("compare-table", "data"), Input("run-id", "data"),
                  Input("compare-step", "value"), Input("compare-measure", "value"))
    def show_compare(run_id: Any, step: Any, measure: Any) -> tuple[Any, Any]:
        view = view_of(run_id)
        if view is None:
            return go.Figure(), []
        step = _step(view, step)
        try:
            return (compare_figure(view.report, step, measure if measure in COMPARE_MEASURES else "rmse"),
                    compare_rows(view.report, view.forecast, step))
        except DAMAGE:
            return go.Figure(), []  # entries damaged: the Ticker tab names them, ticker by ticker

    @app.callback(Output("track-ticker", "options"), Output("track-ticker", "value"), Output("track-graph", "figure"),
                  Output("track-table", "data"), Output("track-message", "children"),
                  Input("tabs", "active_tab"), Input("track-ticker", "value"), prevent_initial_call=True)
    def show_track(tab: Any, ticker: Any) -> tuple[Any, ...]:
        # The ledger is live (refresh adds to it): read at each look, not pinned to the page's run.
        if tab != "track":
            return (no_update,) * 5
        try:
            issued, scored = ledger.read_issued(reader.data_dir), ledger.read_scored(reader.data_dir)
        except ArtifactError as exc:
            return [], None, go.Figure(), [], f"The ledger cannot be read: {exc}"
        tickers = sorted(issued["ticker"].unique())
        if not tickers:
            return [], None, go.Figure(), [], ("No forecasts issued yet: `run`, `forecast` and `refresh` add them "
                                               "to the ledger.")
        ticker = ticker if ticker in tickers else tickers[0]
        record = ledger.track_record(reader.data_dir, [ticker])
        message = "" if len(record) else (f"None of {ticker}'s forecasts has met its day yet: they are scored when "
                                          "`refresh` finds its prices.")
        return (tickers, ticker, track_figure(issued, scored, ticker), record.to_dict(orient="records"), message)

    app.clientside_callback(OPEN_TICKER, Output("tabs", "active_tab"), Output("ticker", "value"),
                            Input("compare-graph", "clickData"), prevent_initial_call=True)

    @app.callback(Output("url", "search"), Input("run-picker", "value"), State("run-id", "data"),
                  prevent_initial_call=True)
    def open_run(picked: Any, run_id: Any) -> Any:
        # Another run is another page (its own tickers, steps and numbers), pinned by its address.
        if picked == run_id or view_of(picked) is None:
            return no_update
        return f"?run={picked}"

    @app.callback(Output("newer-run", "children"), Output("newer-run", "is_open"), Input("poll", "n_intervals"),
                  Input("ticker", "value"), Input("tabs", "active_tab"), State("run-id", "data"),
                  prevent_initial_call=True)
    def offer_newer_run(_: Any, __: Any, ___: Any, run_id: Any) -> tuple[Any, bool]:
        try:
            latest = reader.latest_id()
        except ArtifactError:
            return no_update, False
        if latest is None or latest == run_id or not isinstance(run_id, str) or latest < run_id:
            return no_update, False
        return [f"A newer run ({latest}) has been published. This page stays on run {run_id}. ",
                dcc.Link("Show the newer run", href=f"/?run={latest}", id="open-newer-run",
                         className="alert-link")], True

    app.clientside_callback(RESCALE_Y, Output("y-rescaled", "data"), Input("price-graph", "relayoutData"))
    if jobs.enabled:
        _register_jobs(app, jobs, reader.data_dir)


def _register_jobs(app: Dash, jobs: JobSettings, data_dir: Path) -> None:
    """One background callback for the three job buttons: while a job runs, the buttons are off and Cancel on."""
    buttons = list(JOBS)

    @app.callback(
        Output("job-result", "children"), Output("job-result", "color"), Output("job-result", "is_open"),
        [Input(button, "n_clicks") for button in buttons], State("job-tickers", "value"), State("job-token", "value"),
        background=True, prevent_initial_call=True,
        running=[*[(Output(b, "disabled"), True, False) for b in buttons],
                 (Output("job-cancel", "disabled"), False, True),
                 # Stripes that move say "working": only while a job runs, never on a finished one.
                 (Output("job-progress", "animated"), True, False), (Output("job-progress", "striped"), True, False)],
        cancel=[Input("job-cancel", "n_clicks")],
        progress=[Output("job-progress", "value"), Output("job-status", "children"), Output("job-log", "children")],
        progress_default=[100, "", ""],  # when a job has ended; the log's last lines go with its result
    )
    def start_job(set_progress: Any, *args: Any) -> tuple[str, str, bool]:
        tickers, token = args[-2], args[-1]
        job = callback_context.triggered_id
        refused = jobs.refuses(token)
        if refused or job not in JOBS:
            return f"Not started: {refused or 'unknown job'}.", "danger", True
        message, colour, tail = run_job(set_progress, job, data_dir, tickers)
        return [html.Div(message), html.Pre(tail, className="small mb-0 mt-2")] if tail else message, colour, True
