"""Callbacks: browser input -> validated ticker -> figures from the cached run."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, no_update

from dashboard.figures import metrics_rows, prediction_figure
from dashboard.reader import ArtifactReader
from forecaster.errors import ArtifactError


def register(app: Dash, reader: ArtifactReader) -> None:
    """Attach the callbacks to ``app``; they only read artifacts through ``reader``."""

    @app.callback(
        Output("prediction-graph", "figure"),
        Output("metrics-table", "data"),
        Output("ticker-message", "children"),
        Input("ticker", "value"),
        Input("step", "value"),
    )
    def show_ticker(ticker: Any, step: Any) -> tuple[Any, Any, str]:
        try:
            view = reader.latest()
        except ArtifactError as exc:
            return go.Figure(), [], f"The latest run cannot be read: {exc}"
        # Browser input is untrusted: only tickers and steps of this run are accepted.
        if view is None or ticker not in view.tickers:
            return no_update, no_update, f"Unknown ticker {str(ticker)[:40]!r}."
        horizon = int(view.card.get("horizon", 1))
        if not isinstance(step, int) or not 1 <= step <= horizon:
            step = 1
        return prediction_figure(view.predictions, ticker, step), metrics_rows(view.report, ticker), ""
