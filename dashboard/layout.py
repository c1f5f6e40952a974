"""Page layout, built per page load from the latest run (or an empty / error state)."""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard.figures import METRIC_NAMES
from dashboard.reader import RunView

RUN_COMMAND = "python -m forecaster run --source sample"


def empty_layout(data_dir: str) -> html.Div:
    """Shown before any run has been published."""
    return html.Div(id="empty-state", className="message", children=[
        html.H2("No forecasts yet"),
        html.P(f"No published run was found in {data_dir}. Create one with:"),
        html.Pre(f"{RUN_COMMAND} --data-dir {data_dir}"),
        html.P("then reload this page."),
    ])


def error_layout(message: str) -> html.Div:
    """Shown when the latest run's artifacts cannot be read."""
    return html.Div(id="error-state", className="message", children=[
        html.H2("The latest run cannot be read"), html.Pre(message),
        html.P("Re-run the forecaster to publish a complete run."),
    ])


def run_layout(view: RunView) -> html.Div:
    """The main page for a run: ticker and step pickers, chart, metrics, model card."""
    horizon = int(view.card.get("horizon", 1))
    columns = ["step", "forecast", *METRIC_NAMES, "rmse_vs_naive"]
    return html.Div([
        html.Div(className="controls", children=[
            html.Label(["Ticker", dcc.Dropdown(id="ticker", options=view.tickers, value=view.tickers[0],
                                               clearable=False, searchable=True)]),
            html.Label(["Forecast step (trading days ahead)", dcc.Dropdown(
                id="step", options=list(range(1, horizon + 1)), value=1, clearable=False)]),
        ], style={"display": "grid", "gridTemplateColumns": "1fr 1fr", "gap": "1em"}),
        html.Div(id="ticker-message"),
        dcc.Graph(id="prediction-graph", config={"displaylogo": False}, style={"height": "520px"}),
        html.H3("Test-period metrics: LSTM beside the naive forecast"),
        dash_table.DataTable(id="metrics-table", columns=[{"name": c, "id": c} for c in columns],
                             style_cell={"fontFamily": "monospace", "padding": "4px"},
                             style_data_conditional=[{"if": {"filter_query": '{forecast} = "lstm"'},
                                                      "fontWeight": "bold"}]),
        html.H3("Model card"),
        html.Pre(id="model-card", children=_card_text(view), style={"whiteSpace": "pre-wrap"}),
        html.Footer(f"run {view.run_id}"),
    ])


def _card_text(view: RunView) -> str:
    card = view.card
    training = card.get("training", {})
    lines = [
        f"trained at      {card.get('created_at')}",
        f"source          {card.get('source')}",
        f"tickers         {', '.join(card.get('tickers', []))}",
        f"test start      {card.get('test_start')}",
        f"features        {', '.join(card.get('features', []))}",
        f"lookback        {card.get('lookback')} days, horizon {card.get('horizon')} days",
        "hyper-params    " + ", ".join(f"{k}={v}" for k, v in card.get("hyper_parameters", {}).items()),
        f"training        {training.get('epochs_run')} epochs in {training.get('seconds')} s, "
        f"best validation loss {training.get('best_val_loss')}",
    ]
    return "\n".join(lines)
