"""The Ticker tab's forecast panel as components (its rows from ``dashboard.tables.forecast_rows``)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.tables import fmt, forecast_rows
from dashboard.theme import COLORS


def forecast_panel(forecast: pd.DataFrame | None, ticker: str) -> list[Any]:
    """Last close and date, then each next trading day: the forecast, the change from the last close, and the
    80% and 95% bands."""
    if forecast is None or forecast.empty:
        return [html.P(f"This run has no forecast beyond the data for {ticker}.", className="text-muted")]
    first = forecast.sort_values("step").iloc[0]
    rows = forecast_rows(forecast)
    header = html.Thead(
        html.Tr(
            [
                html.Th("Day"),
                html.Th("Forecast", className="text-end"),
                html.Th("Change", className="text-end"),
                html.Th(["80% band", html.Br(), html.Span("95% band", className="text-muted")], className="text-end"),
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                id=f"forecast-row-{r['step']}",
                children=[
                    html.Td(r["date"]),
                    html.Td(
                        r["forecast"],
                        className="text-end fw-semibold forecast-value",
                        style={"color": COLORS["forecast"]},
                    ),
                    html.Td(
                        r["change"],
                        className="text-end",
                        style={"color": COLORS["up"] if r["change"].startswith("+") else COLORS["down"]},
                    ),
                    html.Td(
                        [
                            html.Span(r["band_80"], className="band-80"),
                            html.Br(),
                            html.Span(r["band_95"], className="band-95 text-muted"),
                        ],
                        className="text-end text-nowrap",
                    ),
                ],
            )
            for r in rows
        ]
    )
    return [
        html.Div(
            className="d-flex justify-content-between align-items-baseline mb-2 flex-wrap",
            children=[
                html.Span(ticker, className="fs-4 fw-semibold"),
                html.Span(
                    [
                        "last close ",
                        html.Strong(fmt(first["origin_price"], "price"), id="last-close"),
                        f" on {first['origin_date']:%a %Y-%m-%d}",
                    ],
                    className="text-muted",
                ),
            ],
        ),
        # On a phone the table scrolls sideways within the card rather than push the page wider.
        dbc.Table([header, body], id="forecast-table", size="sm", hover=True, responsive=True, className="mb-2 small"),
        html.P(
            f"The forecast (the LSTM ensemble's median, shrunk toward no change as much as validation asked) and "
            f"its bands for the next {len(rows)} trading days after the data (exchange calendar), the bands "
            "re-calibrated on the latest outcomes. A band is a promise: the test period shows how often it held.",
            className="small text-muted mb-0",
        ),
    ]
