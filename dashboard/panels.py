"""The Ticker tab's written parts as components: the forecast panel and the metrics table (from ``tables``)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.tables import fmt, forecast_rows, metrics_table
from dashboard.theme import COLORS, display_name
from forecaster.columns import MODEL_NAME as MODEL


def forecast_panel(forecast: pd.DataFrame | None, ticker: str) -> list[Any]:
    """Last close and date, then each next trading day: median, 80% and 95% bands, change from the last close."""
    if forecast is None or forecast.empty:
        return [html.P(f"This run has no forecast beyond the data for {ticker}.", className="text-muted")]
    first = forecast.sort_values("step").iloc[0]
    rows = forecast_rows(forecast)
    header = html.Thead(html.Tr([html.Th("Day"), html.Th("Median", className="text-end"),
                                 html.Th("Change", className="text-end"),
                                 html.Th(["80% band", html.Br(), html.Span("95% band", className="text-muted")],
                                         className="text-end")]))
    body = html.Tbody([html.Tr(id=f"forecast-row-{r['step']}", children=[
        html.Td(r["date"], className="text-nowrap"),
        html.Td(r["median"], className="text-end fw-semibold", style={"color": COLORS["forecast"]}),
        html.Td(r["change"], className="text-end",
                style={"color": COLORS["up"] if r["change"].startswith("+") else COLORS["down"]}),
        html.Td([html.Span(r["band_80"], className="band-80"), html.Br(),
                 html.Span(r["band_95"], className="band-95 text-muted")], className="text-end text-nowrap"),
    ]) for r in rows])
    return [
        html.Div(className="d-flex justify-content-between align-items-baseline mb-2", children=[
            html.Span(ticker, className="fs-4 fw-semibold"),
            html.Span(["last close ", html.Strong(fmt(first["origin_price"], "price"), id="last-close"),
                       f" on {first['origin_date']:%a %Y-%m-%d}"], className="text-muted"),
        ]),
        dbc.Table([header, body], id="forecast-table", size="sm", hover=True, className="mb-2 small"),
        html.P(f"The LSTM's median and bands for the next {len(rows)} trading days after the data (exchange "
               "calendar), re-calibrated on the latest outcomes. A band is a promise: the test period shows how "
               "often it held.", className="small text-muted mb-0"),
    ]


def metrics_component(report: dict[str, Any], ticker: str, steps: list[int]) -> dbc.Table:
    """Models as columns, metrics as rows (grouped by step when several); hover a metric for what it means."""
    models, rows = metrics_table(report, ticker, steps)
    header = html.Thead(html.Tr([html.Th("Metric"), *[
        html.Th(display_name(m), className="text-end", style={"color": COLORS.get(m, COLORS["actual"])})
        for m in models]]))
    body: list[Any] = []
    for step in steps:
        if len(steps) > 1:
            body.append(html.Tr(html.Th(f"{step} day{'s' if step > 1 else ''} ahead", colSpan=len(models) + 1,
                                        className="table-light")))
        for row in (r for r in rows if r["step"] == step):
            body.append(html.Tr([
                html.Td(html.Abbr(row["metric"], title=row["help"], className="text-decoration-none")
                        if row["help"] else row["metric"]),
                *[html.Td(row["values"][m] + (" ★" if row["best"] == m else ""),
                          className="text-end" + (" fw-semibold" if m == MODEL else "")
                          + (" table-success" if row["best"] == m else "")) for m in models],
            ]))
    return dbc.Table([header, html.Tbody(body)], size="sm", hover=True, className="mb-0 small",
                     id="metrics-grid")
