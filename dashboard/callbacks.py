"""Callbacks: browser input -> validated choices -> views of the run the page is pinned to. Nothing is trained here.

The page arrives whole: the address (``dashboard.address``) names the run and the view, and the page's callback
builds that view - the price figure, verdict, forecast panel and metrics - into the page it sends, so no
callback waits on another before the chart is drawn. After that, every callback takes the page's run id
(``run-id`` store) and reads that run, so a page never mixes two runs. A ticker switch sends the figure once; a
step change sends only the backtest series (``Patch``); chart type and baselines switch traces on and off in the
browser (a clientside ``Patch``), with no request at all; what is below the fold (the metrics grid, the residual
charts) is asked for once the price chart is drawn. The clientside functions live in ``assets/forecaster.js``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import plotly.graph_objects as go
from dash import ClientsideFunction, Dash, Input, Output, Patch, State, callback_context, dcc, html, no_update

from dashboard import address as addresses
from dashboard import grids, layout
from dashboard.address import COMPARE_MEASURES
from dashboard.figures import (
    CHART_TYPES,
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
from dashboard.layout import TickerContent
from dashboard.panels import forecast_panel
from dashboard.reader import ArtifactReader, RunView
from dashboard.tables import compare_rows, metrics_table, verdict
from dashboard.theme import VERDICT_COLORS
from forecaster.columns import BASELINE_NAMES
from forecaster.errors import ArtifactError
from forecaster.evaluate import ledger
from forecaster.evaluate.cross_section import SIGNALS

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

#: Built views kept per worker: switching back to a ticker costs no building.
VIEW_CACHE_SIZE = 64
#: What the page shows before anyone chooses: a line chart with naive beside the model.
DEFAULT_CHART, DEFAULT_BASELINES = "line", ("naive",)
DAMAGE = (KeyError, ValueError, TypeError, IndexError, AttributeError)


def _step(view: RunView, step: Any) -> int:
    return step if isinstance(step, int) and 1 <= step <= view.horizon else 1


def _ticker(view: RunView, ticker: Any) -> str | None:
    # Browser input is untrusted: only this run's tickers are accepted, never used in a path.
    return ticker if isinstance(ticker, str) and ticker in view.tickers else None


def _window(label: Any) -> str:
    return (
        label
        if isinstance(label, str) and addresses.parse(f"?range={label}").range == label
        else addresses.DEFAULT_RANGE
    )


def _damaged(ticker: str, exc: Exception) -> str:
    return (
        f"The artifacts of {ticker} are damaged ({type(exc).__name__}: {exc}); other tickers are unaffected. "
        "Re-run the forecaster to repair them."
    )


class Views:
    """What the callbacks show, built from a reader's runs and kept per worker (keyed by the run's version, so
    a refreshed forecast builds afresh)."""

    def __init__(self, reader: ArtifactReader) -> None:
        self.reader = reader
        self.figure = functools.lru_cache(maxsize=VIEW_CACHE_SIZE)(self._figure)
        self.details = functools.lru_cache(maxsize=VIEW_CACHE_SIZE)(self._details)
        self.below = functools.lru_cache(maxsize=VIEW_CACHE_SIZE)(self._below)

    def _figure(
        self, version: tuple[str, float], ticker: str, step: int, chart: str, baselines: tuple[str, ...], window: str
    ) -> go.Figure:
        view = self.reader.view(version[0])
        return price_figure(
            view.rows(view.prices, ticker),
            view.rows(view.predictions, ticker),
            view.rows(view.forecast, ticker),
            ticker,
            step,
            chart,
            baselines,
            window,
        )

    def _details(self, version: tuple[str, float], ticker: str, step: int) -> tuple[str, str, list[Any]]:
        view = self.reader.view(version[0])
        predictions = view.predictions
        days = int((predictions.loc[predictions["ticker"] == ticker, "step"] == step).sum())
        text, level = verdict(view.report, ticker, step, days)
        return text, VERDICT_COLORS[level], forecast_panel(view.rows(view.forecast, ticker), ticker)

    def _below(self, version: tuple[str, float], ticker: str, step: int, all_steps: bool) -> tuple[Any, ...]:
        """The metrics grid's columns, rows and file name, and the two residual figures."""
        view = self.reader.view(version[0])
        models, rows = metrics_table(view.report, ticker, list(range(1, view.horizon + 1)) if all_steps else [step])
        over_time, spread = residual_figures(view.rows(view.predictions, ticker), ticker, step)
        return (
            grids.metrics_columns(models, all_steps),
            grids.metrics_rows(models, rows),
            {"fileName": layout.metrics_file(view.run_id, ticker)},
            over_time,
            spread,
        )

    def ticker_content(self, view: RunView, ticker: str, step: int, window: str) -> TickerContent:
        """The Ticker tab of a page that opens on ``ticker`` at ``step`` over ``window``, above the fold."""
        try:
            figure = self.figure(view.version, ticker, step, DEFAULT_CHART, DEFAULT_BASELINES, window)
            return TickerContent(figure, *self.details(view.version, ticker, step))
        except DAMAGE as exc:
            # One ticker's damaged entries must not take the page down: say so, keep the rest working.
            return TickerContent(go.Figure(), "", "secondary", [], _damaged(ticker, exc))

    def compare(self, view: RunView, step: int, measure: str) -> tuple[go.Figure, list[dict[str, Any]]]:
        """The Compare tab: every ticker's ratio to naive at ``step``, and the grid's rows."""
        try:
            return (
                compare_figure(view.report, step, measure if measure in COMPARE_MEASURES else "rmse"),
                compare_rows(view.report, view.forecast, step),
            )
        except DAMAGE:
            return go.Figure(), []  # entries damaged: the Ticker tab names them, ticker by ticker

    def track(self, ticker: Any) -> tuple[Any, ...]:
        """The Track record tab for ``ticker`` (or the first): options, the chosen ticker, its chart, every
        ticker's live scores, and a message. The ledger is live (refresh adds to it): read at each look."""
        data_dir = self.reader.data_dir
        try:
            issued, scored = ledger.read_issued(data_dir), ledger.read_scored(data_dir)
        except ArtifactError as exc:
            return [], None, go.Figure(), [], f"The ledger cannot be read: {exc}"
        tickers = sorted(issued["ticker"].unique())
        if not tickers:
            return (
                [],
                None,
                go.Figure(),
                [],
                ("No forecasts issued yet: `run`, `forecast` and `refresh` add them to the ledger."),
            )
        ticker = ticker if ticker in tickers else tickers[0]
        record = ledger.track_record(data_dir)
        record.insert(0, "id", record["ticker"] + "|" + record["step"].astype(str) + "|" + record["window"])
        message = (
            ""
            if (record["ticker"] == ticker).any()
            else (f"None of {ticker}'s forecasts has met its day yet: they are scored when `refresh` finds its prices.")
        )
        return tickers, ticker, track_figure(issued, scored, ticker), record.to_dict(orient="records"), message


def register(app: Dash, reader: ArtifactReader, data_dir: str, jobs: JobSettings | None = None) -> Callable[[str], Any]:
    """Attach the callbacks to ``app``; they only read artifacts through ``reader`` (of ``data_dir``), but for the
    jobs (``jobs``), which run in background callbacks, never inside a request. Returns the function that builds
    the page for an address's query string (the app's layout uses it too)."""
    jobs = jobs or JobSettings()
    views = Views(reader)

    def view_of(run_id: Any) -> RunView | None:
        try:
            return reader.view(run_id)
        except ArtifactError:
            return None

    def page_for(search: str) -> Any:
        wanted = addresses.parse(search)
        try:
            run_id = wanted.run or reader.latest_id()
            if run_id is None:
                return layout.empty_layout(data_dir)
            view = reader.view(run_id)
            shown = addresses.resolve(wanted, view)
            return layout.run_layout(
                view,
                reader.history(),
                shown,
                views.ticker_content(view, cast(str, shown.ticker), shown.step, shown.range),  # resolve names one
                views.compare(view, shown.step, shown.measure) if shown.tab == "compare" else None,
                views.track(None) if shown.tab == "track" else None,
                jobs,
            )
        except ArtifactError as exc:
            return layout.error_layout(str(exc))

    @app.callback(
        Output("page", "children"), Output("page-search", "data"), Input("url", "search"), State("page-search", "data")
    )
    def render_page(search: Any, built_for: Any) -> Any:
        # The page usually arrives built with the layout (``dashboard.app``): then there is nothing to do. It is
        # built here when the address changes (another run, back and forward) or the layout could not know it.
        search = str(search or "")
        if search == built_for:
            return no_update, no_update
        return page_for(search), search

    @app.callback(
        Output("price-graph", "figure"),
        Input("ticker", "value"),
        State("run-id", "data"),
        State("step", "value"),
        State("chart", "value"),
        State("baselines", "value"),
        State("range-label", "data"),
        prevent_initial_call=True,
    )
    def show_price(ticker: Any, run_id: Any, step: Any, chart: Any, baselines: Any, window: Any) -> Any:
        view = view_of(run_id)
        if view is None or (ticker := _ticker(view, ticker)) is None:
            return no_update
        chosen = tuple(b for b in BASELINE_NAMES if isinstance(baselines, list) and b in baselines)
        try:
            return views.figure(
                view.version,
                ticker,
                _step(view, step),
                chart if chart in CHART_TYPES else "line",
                chosen,
                _window(window),
            )
        except DAMAGE:
            return go.Figure()  # the details callback says what is damaged

    @app.callback(
        Output("price-graph", "figure", allow_duplicate=True),
        Input("step", "value"),
        State("run-id", "data"),
        State("ticker", "value"),
        prevent_initial_call=True,
    )
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

    app.clientside_callback(
        TOGGLE_TRACES,
        Output("price-graph", "figure", allow_duplicate=True),
        Input("chart", "value"),
        Input("baselines", "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("verdict", "children"),
        Output("verdict", "color"),
        Output("forecast-panel", "children"),
        Output("ticker-message", "children"),
        Input("ticker", "value"),
        Input("step", "value"),
        State("run-id", "data"),
        prevent_initial_call=True,
    )
    def show_details(ticker: Any, step: Any, run_id: Any) -> tuple[Any, ...]:
        try:
            view = reader.view(run_id)
        except ArtifactError as exc:
            return "", "secondary", [], f"This run cannot be read: {exc}"
        chosen = _ticker(view, ticker)
        if chosen is None:
            return no_update, no_update, no_update, f"Unknown ticker {str(ticker)[:40]!r}."
        try:
            return (*views.details(view.version, chosen, _step(view, step)), "")
        except DAMAGE as exc:
            return "", "secondary", [], _damaged(chosen, exc)

    app.clientside_callback(
        ClientsideFunction("forecaster", "afterDraw"),
        Output("after-draw", "data"),
        Input("price-graph", "figure"),
        State("run-id", "data"),
        State("ticker", "value"),
        State("step", "value"),
        State("after-draw", "data"),
    )

    def below(drawn: Any, all_steps: Any) -> tuple[Any, ...] | None:
        drawn = drawn if isinstance(drawn, dict) else {}
        view = view_of(drawn.get("run"))
        if view is None or (ticker := _ticker(view, drawn.get("ticker"))) is None:
            return None
        try:
            return views.below(view.version, ticker, _step(view, drawn.get("step")), all_steps is True)
        except DAMAGE:
            return None  # the details callback says what is damaged

    # Below the fold is built once, when the first chart is drawn; after that its grid and charts are updated in
    # place (a new grid or chart per ticker would be mounted and drawn again). Dash calls the second callback
    # only once its outputs exist.
    @app.callback(
        Output("metrics-body", "children"),
        Output("residuals-body", "children"),
        Output("below-built", "data"),
        Input("after-draw", "data"),
        Input("all-steps", "value"),
        State("below-built", "data"),
        prevent_initial_call=True,
    )
    def build_below(drawn: Any, all_steps: Any, built: Any) -> tuple[Any, ...]:
        parts = None if built else below(drawn, all_steps)
        if parts is None:
            return no_update, no_update, no_update
        columns, rows, export, over_time, spread = parts
        ticker = drawn["ticker"]
        return (
            layout.metrics_block(drawn["run"], ticker, columns, rows),
            layout.residuals_block(over_time, spread),
            True,
        )

    @app.callback(
        Output("metrics-grid", "columnDefs"),
        Output("metrics-grid", "rowData"),
        Output("metrics-grid", "csvExportParams"),
        Output("residual-time", "figure"),
        Output("residual-hist", "figure"),
        Input("after-draw", "data"),
        Input("all-steps", "value"),
        State("below-built", "data"),
        prevent_initial_call=True,
    )
    def update_below(drawn: Any, all_steps: Any, built: Any) -> tuple[Any, ...]:
        parts = below(drawn, all_steps) if built else None
        return parts if parts is not None else (no_update,) * 5

    @app.callback(
        Output("compare-body", "children"),
        Input("tabs", "active_tab"),
        Input("compare-step", "value"),
        Input("compare-measure", "value"),
        State("run-id", "data"),
        prevent_initial_call=True,
    )
    def show_compare(tab: Any, step: Any, measure: Any, run_id: Any) -> Any:
        view = view_of(run_id)
        if tab != "compare" or view is None:
            return no_update  # built when first shown
        return layout.compare_block(view.run_id, *views.compare(view, _step(view, step), measure))

    @app.callback(
        Output("skill-body", "children"),
        Input("tabs", "active_tab"),
        Input("skill-step", "value"),
        Input("skill-signal", "value"),
        State("run-id", "data"),
        prevent_initial_call=True,
    )
    def show_skill(tab: Any, step: Any, signal: Any, run_id: Any) -> Any:
        view = view_of(run_id)
        if tab != "skill" or view is None:
            return no_update  # built when first shown
        try:
            return layout.skill_block(view, _step(view, step), signal if signal in SIGNALS else "lstm")
        except DAMAGE:
            return html.Div("The run's skill files are damaged; run it again.", className="text-danger")

    app.clientside_callback(
        ClientsideFunction("forecaster", "signalRow"),
        Output("skill-signal", "value"),
        Input("signal-grid", "cellClicked"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("track-ticker", "options"),
        Output("track-ticker", "value"),
        Output("track-body", "children"),
        Output("track-message", "children"),
        Input("tabs", "active_tab"),
        Input("track-ticker", "value"),
        prevent_initial_call=True,
    )
    def show_track(tab: Any, ticker: Any) -> tuple[Any, ...]:
        if tab != "track":
            return (no_update,) * 4
        options, chosen, figure, rows, message = views.track(ticker)
        return options, chosen, layout.track_block(figure, rows), message

    # A click on a row of the live scores shows its ticker's chart (the grid comes with the tab's body, so this
    # callback has only its inputs: Dash fires no callback with an input missing from the page).
    app.clientside_callback(
        ClientsideFunction("forecaster", "trackRow"),
        Output("track-ticker", "value", allow_duplicate=True),
        Input("track-grid", "cellClicked"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        ClientsideFunction("forecaster", "syncStep"),
        Output("step", "value"),
        Output("compare-step", "value"),
        Output("skill-step", "value"),
        Input("step", "value"),
        Input("compare-step", "value"),
        Input("skill-step", "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("forecaster", "openTicker"),
        Output("tabs", "active_tab"),
        Output("ticker", "value"),
        Input("compare-graph", "clickData"),
        Input("compare-grid", "cellClicked"),
        prevent_initial_call=True,
    )
    for grid_id in ("metrics-grid", "compare-grid", "track-grid", "signal-grid", "zone-grid", "band-grid"):
        app.clientside_callback(
            ClientsideFunction("forecaster", "exportCsv"),
            Output(grid_id, "exportDataAsCsv"),
            Input(f"{grid_id}-csv", "n_clicks"),
            prevent_initial_call=True,
        )
    app.clientside_callback(
        ClientsideFunction("forecaster", "rescaleY"),
        Output("y-rescaled", "data"),
        Output("range-label", "data"),
        Input("price-graph", "relayoutData"),
        State("range-label", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("forecaster", "writeAddress"),
        Output("address", "data"),
        Input("run-id", "data"),
        Input("ticker", "value"),
        Input("step", "value"),
        Input("tabs", "active_tab"),
        Input("range-label", "data"),
        Input("compare-measure", "value"),
    )

    @app.callback(
        Output("url", "search"),
        Input("run-picker", "value"),
        State("run-id", "data"),
        State("address", "data"),
        prevent_initial_call=True,
    )
    def open_run(picked: Any, run_id: Any, shown: Any) -> Any:
        # Another run is another page (its own tickers, steps and numbers), pinned by its address; the view
        # (ticker, step, tab, range) carries over where the other run has it.
        if picked == run_id or view_of(picked) is None:
            return no_update
        return addresses.search(replace(addresses.parse(shown), run=picked))

    # Asked again whenever the view moves (its address changes), so that the link opens the view shown now.
    @app.callback(
        Output("newer-run", "children"),
        Output("newer-run", "is_open"),
        Input("poll", "n_intervals"),
        Input("address", "data"),
        State("run-id", "data"),
        prevent_initial_call=True,
    )
    def offer_newer_run(_: Any, shown: Any, run_id: Any) -> tuple[Any, bool]:
        try:
            latest = reader.latest_id()
        except ArtifactError:
            return no_update, False
        if latest is None or latest == run_id or not isinstance(run_id, str) or latest < run_id:
            return no_update, False
        href = "/" + addresses.search(replace(addresses.parse(shown), run=latest))
        return [
            f"A newer run ({latest}) has been published. This page stays on run {run_id}. ",
            dcc.Link("Show the newer run", href=href, id="open-newer-run", className="alert-link"),
        ], True

    if jobs.enabled:
        _register_jobs(app, jobs, reader.data_dir)
    return page_for


def _register_jobs(app: Dash, jobs: JobSettings, data_dir: Path) -> None:
    """One background callback for the three job buttons: while a job runs, the buttons are off and Cancel on."""
    buttons = list(JOBS)

    @app.callback(
        Output("job-result", "children"),
        Output("job-result", "color"),
        Output("job-result", "is_open"),
        [Input(button, "n_clicks") for button in buttons],
        State("job-tickers", "value"),
        State("job-token", "value"),
        background=True,
        prevent_initial_call=True,
        running=[
            *[(Output(b, "disabled"), True, False) for b in buttons],
            (Output("job-cancel", "disabled"), False, True),
            # Stripes that move say "working": only while a job runs, never on a finished one.
            (Output("job-progress", "animated"), True, False),
            (Output("job-progress", "striped"), True, False),
        ],
        cancel=[Input("job-cancel", "n_clicks")],
        progress=[Output("job-progress", "value"), Output("job-status", "children"), Output("job-log", "children")],
        progress_default=[100, "", ""],  # when a job has ended; the log's last lines go with its result
    )
    def start_job(set_progress: Any, *args: Any) -> tuple[Any, str, bool]:
        tickers, token = args[-2], args[-1]
        job = callback_context.triggered_id
        refused = jobs.refuses(token)
        if refused or job not in JOBS:
            return f"Not started: {refused or 'unknown job'}.", "danger", True
        message, colour, tail = run_job(set_progress, job, data_dir, tickers)
        return [html.Div(message), html.Pre(tail, className="small mb-0 mt-2")] if tail else message, colour, True
