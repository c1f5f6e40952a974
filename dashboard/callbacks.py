"""Callbacks: browser input -> validated choices -> figures from the cached run. Nothing is trained here."""

from __future__ import annotations

import functools
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, no_update

from dashboard.figures import (
    BASELINE_NAMES,
    CHART_TYPES,
    COMPARE_MEASURES,
    compare_figure,
    metrics_rows,
    price_figure,
    residual_figures,
)
from dashboard.reader import ArtifactReader
from forecaster.errors import ArtifactError

# Rescales the price panel's y-axis to the data inside the x-range after a zoom, a range
# button or the range slider; runs in the browser, so no request reaches the server.
RESCALE_Y = """
function(relayout) {
    const none = window.dash_clientside.no_update;
    if (!relayout || !Object.keys(relayout).some(k => k.startsWith('xaxis'))) { return none; }
    const gd = document.querySelector('#price-graph .js-plotly-plot');
    if (!gd || !gd.layout.xaxis || !gd.layout.xaxis.range || !gd._fullData) { return none; }
    // Dates may carry nanoseconds ("...T00:00:00.000000000"), which Date() rejects: keep the seconds.
    const time = v => new Date(String(v).slice(0, 19)).getTime();
    const x0 = time(gd.layout.xaxis.range[0]), x1 = time(gd.layout.xaxis.range[1]);
    let lo = Infinity, hi = -Infinity;
    // _fullData holds the decoded arrays (gd.data may hold Plotly's base64 "bdata" objects).
    for (const t of gd._fullData) {
        if ((t.yaxis && t.yaxis !== 'y') || t.visible === 'legendonly' || t.visible === false) { continue; }
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
    window.Plotly.relayout(gd, {'yaxis.range': [lo - pad, hi + pad]});
    return [lo - pad, hi + pad];
}
"""


def _empty(message: str) -> tuple[Any, ...]:
    return go.Figure(), [], go.Figure(), go.Figure(), message


#: Built views kept per worker: switching back to a ticker costs no figure building.
VIEW_CACHE_SIZE = 64


def register(app: Dash, reader: ArtifactReader) -> None:
    """Attach the callbacks to ``app``; they only read artifacts through ``reader``."""

    @functools.lru_cache(maxsize=VIEW_CACHE_SIZE)
    def build(version: tuple[str, float], ticker: str, step: int, chart: str, chosen: tuple[str, ...]) -> tuple:
        # ``version`` keys the cache: a new run or forecast builds afresh.
        view = reader.latest()
        predictions = view.rows(view.predictions, ticker)
        figure = price_figure(view.rows(view.prices, ticker), predictions, view.rows(view.forecast, ticker),
                              ticker, step, chart, chosen)
        over_time, spread = residual_figures(predictions, ticker, step)
        return figure, metrics_rows(view.report, ticker), over_time, spread, ""

    @app.callback(
        Output("price-graph", "figure"), Output("metrics-table", "data"), Output("residual-time", "figure"),
        Output("residual-hist", "figure"), Output("ticker-message", "children"),
        Input("ticker", "value"), Input("step", "value"), Input("chart", "value"), Input("baselines", "value"),
    )
    def show_ticker(ticker: Any, step: Any, chart: Any, baselines: Any) -> tuple[Any, ...]:
        try:
            view = reader.latest()
        except ArtifactError as exc:
            return _empty(f"The latest run cannot be read: {exc}")
        # Browser input is untrusted: only this run's tickers and steps are accepted, never used in a path.
        if view is None or not isinstance(ticker, str) or ticker not in view.tickers:
            return (no_update,) * 4 + (f"Unknown ticker {str(ticker)[:40]!r}.",)
        step = step if isinstance(step, int) and 1 <= step <= view.horizon else 1
        chart = chart if chart in CHART_TYPES else "line"
        chosen = tuple(b for b in BASELINE_NAMES if isinstance(baselines, list) and b in baselines)
        try:
            return build(view.version, ticker, step, chart, chosen)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            # One ticker's damaged entries must not take the page down: say so, keep the rest working.
            return _empty(f"The artifacts of {ticker} are damaged ({type(exc).__name__}: {exc}); "
                          "other tickers are unaffected. Re-run the forecaster to repair them.")

    @app.callback(Output("compare-graph", "figure"), Input("compare-step", "value"), Input("compare-measure", "value"))
    def show_compare(step: Any, measure: Any) -> go.Figure:
        try:
            view = reader.latest()
        except ArtifactError:
            return go.Figure()
        if view is None:
            return go.Figure()
        step = step if isinstance(step, int) and 1 <= step <= view.horizon else 1
        try:
            return compare_figure(view.report, step, measure if measure in COMPARE_MEASURES else "rmse")
        except (KeyError, ValueError, TypeError, AttributeError):
            return go.Figure()  # entries damaged: the Ticker tab names them, ticker by ticker

    app.clientside_callback(RESCALE_Y, Output("y-rescaled", "data"), Input("price-graph", "relayoutData"))
