"""Page layout, built per page load from the latest run (or an empty / error state)."""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard.figures import BASELINE_NAMES, COMPARE_MEASURES, INTERVAL_METRICS, METRIC_NAMES
from dashboard.reader import RunView

RUN_COMMAND = "python -m forecaster run --source sample"
_ROW = {"display": "grid", "gridTemplateColumns": "2fr 1fr 1fr 2fr", "gap": "1em", "alignItems": "end"}


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
        html.H2("The latest run cannot be read"),
        html.Pre(message, style={"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}),
        html.P("Re-run the forecaster to publish a complete run."),
    ])


def _ticker_tab(view: RunView) -> dcc.Tab:
    steps = list(range(1, view.horizon + 1))
    columns = ["step", "forecast", "best", *METRIC_NAMES, "rmse_ratio_vs_naive", *INTERVAL_METRICS]
    controls = html.Div(style=_ROW, children=[
        html.Label(["Ticker", dcc.Dropdown(id="ticker", options=view.tickers, value=view.tickers[0],
                                           clearable=False, searchable=True)]),
        html.Label(["Step (trading days ahead)", dcc.Dropdown(id="step", options=steps, value=1, clearable=False)]),
        html.Label(["Chart", dcc.RadioItems(id="chart", options=[{"label": " candles", "value": "candles"},
                                                                  {"label": " line", "value": "line"}],
                                            value="line", inline=True)]),
        html.Label(["Baselines", dcc.Checklist(id="baselines", options=list(BASELINE_NAMES), value=["naive"],
                                               inline=True)]),
    ])
    return dcc.Tab(label="Ticker", value="ticker", children=[
        controls,
        html.Div(id="ticker-message", style={"color": "#b00020", "margin": "0.5em 0"}),
        dcc.Graph(id="price-graph", config={"displaylogo": False}, style={"height": "640px"}),
        dcc.Store(id="y-rescaled"),
        html.H3("Test-period metrics: the LSTM beside the baselines, same days"),
        dash_table.DataTable(
            id="metrics-table", columns=[{"name": c, "id": c} for c in columns],
            style_cell={"fontFamily": "monospace", "padding": "4px"}, style_table={"overflowX": "auto"},
            style_data_conditional=[{"if": {"filter_query": '{forecast} = "lstm"'}, "fontWeight": "bold"},
                                    {"if": {"filter_query": '{best} != ""'}, "backgroundColor": "#e8f5e9"}]),
        html.Div(style={"display": "grid", "gridTemplateColumns": "1fr 1fr", "gap": "1em"}, children=[
            dcc.Graph(id="residual-time", config={"displaylogo": False}),
            dcc.Graph(id="residual-hist", config={"displaylogo": False}),
        ]),
        html.H3("Model card"),
        html.Pre(id="model-card", children=card_text(view), style={"whiteSpace": "pre-wrap"}),
    ])


def _compare_tab(view: RunView) -> dcc.Tab:
    return dcc.Tab(label="Compare tickers", value="compare", children=[
        html.Div(style={"display": "flex", "gap": "1em"}, children=[
            html.Label(["Step (trading days ahead)", dcc.Dropdown(id="compare-step", value=1, clearable=False,
                                                                  options=list(range(1, view.horizon + 1)))],
                       style={"width": "300px"}),
            html.Label(["Ratio to naive of", dcc.RadioItems(
                id="compare-measure", value="rmse", inline=True,
                options=[{"label": f" {label} ", "value": key} for key, label in COMPARE_MEASURES.items()])]),
        ]),
        dcc.Graph(id="compare-graph", config={"displaylogo": False}),
    ])


def run_layout(view: RunView) -> html.Div:
    """The main page for a run: one ticker in depth, and every ticker compared."""
    return html.Div([
        dcc.Tabs(id="tabs", value="ticker", children=[_ticker_tab(view), _compare_tab(view)]),
        html.Footer(f"run {view.run_id}", style={"color": "#666", "marginTop": "1em"}),
    ])


def card_text(view: RunView) -> str:
    """The model card as a few readable lines."""
    card = view.card
    training = card.get("training", {})
    first = next(iter(training.values()), {}) if isinstance(training, dict) else {}
    ranges = card.get("data_range", {})
    span = (f"{min(r[0] for r in ranges.values())} .. {max(r[1] for r in ranges.values())}" if ranges else "?")
    tickers = card.get("tickers", [])
    lines = [
        f"trained at      {card.get('created_at')}",
        f"source          {card.get('source')}",
        f"tickers         {len(tickers)}: {', '.join(tickers[:30])}{' ...' if len(tickers) > 30 else ''}",
        f"data            {span}; test from {card.get('test_start')}",
        f"features        {', '.join(card.get('features', []))}",
        f"lookback        {card.get('lookback')} days, horizon {card.get('horizon')} days",
        "hyper-params    " + ", ".join(f"{k}={v}" for k, v in card.get("hyper_parameters", {}).items()),
        f"model           {'one per ticker' if card.get('per_ticker') else 'one global model'}",
        f"training        {first.get('epochs_run')} epochs in {first.get('seconds')} s, "
        f"best validation loss {first.get('best_val_loss')}",
    ]
    return "\n".join(lines)
