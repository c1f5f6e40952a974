"""Page layout, built per page load for the run it is pinned to (or an empty / error state).

Components come from dash-bootstrap-components (cards, alerts, a responsive grid); Bootstrap's style sheet is
served from ``dashboard/assets`` so the page works without internet access.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from dashboard.figures import COMPARE_MEASURES, ahead
from dashboard.jobs import JobSettings
from dashboard.reader import RunSummary, RunView
from dashboard.theme import COLORS, FONT, display_name
from forecaster.columns import BASELINE_NAMES

RUN_COMMAND = "python -m forecaster run --source sample"
#: How often an open page asks whether a newer run was published (milliseconds).
POLL_MS = 15_000


def page(body: Any, header: Any = None) -> dbc.Container:
    """The frame every state shares: a title bar and the body."""
    return dbc.Container(fluid=True, className="px-4 pb-4", style={"maxWidth": "1680px"}, children=[
        dbc.Navbar(dbc.Container(fluid=True, children=[
            dbc.NavbarBrand("Stock forecaster", className="fw-semibold"), header or html.Span()]),
            color="dark", dark=True, className="mb-3 rounded-bottom"),
        body,
    ])


def empty_layout(data_dir: str) -> dbc.Container:
    """Shown before any run has been published."""
    return page(dbc.Alert(id="empty-state", color="info", children=[
        html.H4("No forecasts yet", className="alert-heading"),
        html.P(f"No published run was found in {data_dir}. Create one with:"),
        html.Pre(f"{RUN_COMMAND} --data-dir {data_dir}", className="mb-2"),
        html.P("then reload this page.", className="mb-0"),
    ]))


def error_layout(message: str) -> dbc.Container:
    """Shown when the run a page asks for cannot be read."""
    return page(dbc.Alert(id="error-state", color="danger", children=[
        html.H4("The latest run cannot be read", className="alert-heading"),
        html.Pre(message, style={"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}),
        html.P(["Re-run the forecaster to publish a complete run, or ",
                dcc.Link("open the latest run", href="/"), "."], className="mb-0"),
    ]))


def _labelled(label: str, control: Any, width: dict[str, int]) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small text-muted mb-1"), control], **width)


def _ticker_controls(view: RunView) -> dbc.Row:
    steps = [{"label": ahead(s), "value": s} for s in range(1, view.horizon + 1)]
    return dbc.Row(className="g-3 align-items-end mb-3", children=[
        _labelled("Ticker", dcc.Dropdown(id="ticker", options=view.tickers, value=view.tickers[0], clearable=False,
                                         searchable=True), {"md": 3, "lg": 2}),
        _labelled("Forecast step", dcc.Dropdown(id="step", options=steps, value=1, clearable=False),
                  {"md": 3, "lg": 2}),
        _labelled("Chart", dbc.RadioItems(id="chart", inline=True, value="line", options=[
            {"label": "line", "value": "line"}, {"label": "candles", "value": "candles"}]), {"md": 3, "lg": 2}),
        _labelled("Baselines on the chart", dbc.Checklist(id="baselines", inline=True, value=["naive"], options=[
            {"label": html.Span(display_name(b), style={"color": COLORS[b]}), "value": b} for b in BASELINE_NAMES]),
            {"md": 12, "lg": 6}),
    ])


def _forecast_card() -> dbc.Card:
    return dbc.Card(className="h-100 shadow-sm", children=[
        dbc.CardHeader(html.Span("Forecast", className="fw-semibold", style={"color": COLORS["forecast"]})),
        dbc.CardBody(id="forecast-panel"),
    ])


def _ticker_tab(view: RunView) -> dbc.Tab:
    return dbc.Tab(label="Ticker", tab_id="ticker", children=html.Div(className="pt-3", children=[
        _ticker_controls(view),
        html.Div(id="ticker-message", className="text-danger"),
        dbc.Alert(id="verdict", color="secondary", className="py-2"),
        dbc.Row(className="g-3 mb-3", children=[
            dbc.Col(dbc.Card(dbc.CardBody(dcc.Graph(id="price-graph", config={"displaylogo": False},
                                                    style={"height": "620px"}), className="p-1"),
                             className="shadow-sm"), xl=8),
            dbc.Col(_forecast_card(), xl=4),
        ]),
        dcc.Store(id="y-rescaled"),
        dbc.Card(className="shadow-sm mb-3", children=[
            dbc.CardHeader(dbc.Row(className="align-items-center", children=[
                dbc.Col(html.Span("Test-period metrics: the LSTM beside the baselines, on the same days",
                                  className="fw-semibold")),
                dbc.Col(dbc.Switch(id="all-steps", label="all steps", value=False, className="mb-0"), width="auto"),
            ])),
            dbc.CardBody(html.Div(id="metrics-table", className="table-responsive")),
        ]),
        dbc.Row(className="g-3 mb-3", children=[
            dbc.Col(dbc.Card(dcc.Graph(id="residual-time", config={"displaylogo": False}), className="shadow-sm"),
                    lg=6),
            dbc.Col(dbc.Card(dcc.Graph(id="residual-hist", config={"displaylogo": False}), className="shadow-sm"),
                    lg=6),
        ]),
        dbc.Accordion(start_collapsed=True, children=[dbc.AccordionItem(
            html.Pre(id="model-card", children=card_text(view), className="mb-0", style={"whiteSpace": "pre-wrap"}),
            title="Model card: what this run was trained on, and how")]),
    ]))


#: Columns of the Compare tab's table (numbers stay numbers, so the table sorts them as numbers).
COMPARE_COLUMNS = [
    {"name": "Ticker", "id": "ticker"},
    {"name": "Last close", "id": "last_close", "type": "numeric", "format": {"specifier": ",.2f"}},
    {"name": "Next-day median", "id": "median", "type": "numeric", "format": {"specifier": ",.2f"}},
    {"name": "Change", "id": "change_pct", "type": "numeric", "format": {"specifier": "+.2f"}},
    {"name": "Next-day 80% band", "id": "band_80"},
    {"name": "RMSE / naive", "id": "rmse_ratio", "type": "numeric", "format": {"specifier": ".3f"}},
    {"name": "80% band held", "id": "coverage_80", "type": "numeric", "format": {"specifier": ".1%"}},
    {"name": "95% band held", "id": "coverage_95", "type": "numeric", "format": {"specifier": ".1%"}},
    {"name": "80% interval score / naive", "id": "is_ratio_80", "type": "numeric", "format": {"specifier": ".3f"}},
]


def _compare_tab(view: RunView) -> dbc.Tab:
    steps = [{"label": ahead(s), "value": s} for s in range(1, view.horizon + 1)]
    return dbc.Tab(label="Compare tickers", tab_id="compare", children=html.Div(className="pt-3", children=[
        dbc.Row(className="g-3 align-items-end mb-3", children=[
            _labelled("Forecast step", dcc.Dropdown(id="compare-step", value=1, clearable=False, options=steps),
                      {"md": 3, "lg": 2}),
            _labelled("Ratio to naive of", dbc.RadioItems(
                id="compare-measure", value="rmse", inline=True,
                options=[{"label": label, "value": key} for key, label in COMPARE_MEASURES.items()]),
                {"md": 9, "lg": 6}),
        ]),
        dbc.Row(className="g-3", children=[
            dbc.Col(dbc.Card(dbc.CardBody(dcc.Graph(id="compare-graph", config={"displaylogo": False}),
                                          className="p-1"), className="shadow-sm"), xl=4),
            dbc.Col(dbc.Card(className="shadow-sm", children=[
                dbc.CardHeader("Every ticker: the next-day forecast and the test-period scores at the chosen step "
                               "(click a header to sort)", className="fw-semibold"),
                dbc.CardBody(dash_table.DataTable(
                    id="compare-table", columns=COMPARE_COLUMNS, sort_action="native", page_size=50,
                    style_table={"overflowX": "auto"}, style_as_list_view=True,
                    style_header={"fontWeight": "600", "whiteSpace": "normal", "height": "auto",
                                  "fontFamily": FONT},
                    style_cell={"fontFamily": FONT, "fontSize": "0.9rem", "padding": "4px 8px"},
                    style_data_conditional=[
                        {"if": {"filter_query": "{rmse_ratio} < 1", "column_id": "rmse_ratio"},
                         "color": COLORS["up"], "fontWeight": "600"},
                        {"if": {"filter_query": "{rmse_ratio} > 1", "column_id": "rmse_ratio"},
                         "color": COLORS["down"]},
                        {"if": {"filter_query": "{coverage_80} < 0.75 || {coverage_80} > 0.85",
                                "column_id": "coverage_80"}, "backgroundColor": "#fff3cd"},
                        {"if": {"filter_query": "{coverage_95} < 0.90", "column_id": "coverage_95"},
                         "backgroundColor": "#fff3cd"},
                    ])),
            ]), xl=8),
        ]),
    ]))


TRACK_COLUMNS = [
    {"name": "Step", "id": "step"}, {"name": "Window", "id": "window"},
    {"name": "Scored forecasts", "id": "scored", "type": "numeric"},
    {"name": "RMSE / naive", "id": "rmse_ratio_vs_naive", "type": "numeric", "format": {"specifier": ".3f"}},
    {"name": "80% band held", "id": "coverage_80", "type": "numeric", "format": {"specifier": ".1%"}},
    {"name": "95% band held", "id": "coverage_95", "type": "numeric", "format": {"specifier": ".1%"}},
    {"name": "From", "id": "first_day"}, {"name": "To", "id": "last_day"},
]


def _track_tab() -> dbc.Tab:
    return dbc.Tab(label="Track record", tab_id="track", children=html.Div(className="pt-3", children=[
        html.P("The forecasts actually issued beyond the data (by run, forecast and refresh), scored as their days' "
               "prices arrived: the live record, across runs, separate from the backtest.", className="text-muted"),
        dbc.Row(className="g-3 align-items-end mb-3", children=[
            _labelled("Ticker", dcc.Dropdown(id="track-ticker", clearable=False), {"md": 3, "lg": 2}),
        ]),
        html.Div(id="track-message"),
        dbc.Row(className="g-3", children=[
            dbc.Col(dbc.Card(dcc.Graph(id="track-graph", config={"displaylogo": False}), className="shadow-sm"),
                    xl=7),
            dbc.Col(dbc.Card(className="shadow-sm", children=[
                dbc.CardHeader("Live scores: the last 30 and 90 trading days with outcomes, and all time",
                               className="fw-semibold"),
                dbc.CardBody(dash_table.DataTable(
                    id="track-table", columns=TRACK_COLUMNS, style_as_list_view=True,
                    style_table={"overflowX": "auto"},
                    style_header={"fontWeight": "600", "fontFamily": FONT, "whiteSpace": "normal", "height": "auto"},
                    style_cell={"fontFamily": FONT, "fontSize": "0.9rem", "padding": "4px 8px"})),
            ]), xl=5),
        ]),
    ]))


def _jobs_tab(jobs: JobSettings) -> dbc.Tab:
    if not jobs.enabled:
        body: list = [dbc.Alert(jobs.why_off.capitalize() + ".", color="secondary", id="jobs-off")]
    else:
        body = [
            html.P("Jobs run in the background, one at a time per data directory (a refresh started by cron "
                   "counts), and publish their results like the command line does: a page shows a new run when "
                   "it is complete.", className="text-muted"),
            dbc.Row(className="g-3 align-items-end mb-3", children=[
                *([_labelled("Job token", dbc.Input(id="job-token", type="password", placeholder="token"),
                             {"md": 3})] if jobs.token else [dcc.Input(id="job-token", type="hidden", value="")]),
                _labelled("Tickers to add (Yahoo Finance symbols)",
                          dbc.Input(id="job-tickers", placeholder="e.g. NVDA BRK-B ^GSPC"), {"md": 3}),
                dbc.Col(width="auto", children=dbc.ButtonGroup([
                    dbc.Button("Add tickers", id="job-add", color="primary"),
                    dbc.Button("Refresh prices", id="job-refresh", color="primary", outline=True),
                    dbc.Button("Retrain", id="job-retrain", color="primary", outline=True),
                ])),
                dbc.Col(dbc.Button("Cancel", id="job-cancel", color="danger", outline=True, disabled=True),
                        width="auto"),
            ]),
            dbc.Progress(id="job-progress", value=0, striped=False, animated=False, className="mb-2",
                         style={"height": "1.4rem"}),
            html.Div(id="job-status", className="small text-muted mb-2"),
            html.Pre(id="job-log", className="small bg-light p-2 rounded", style={"minHeight": "4em"}),
            dbc.Alert(id="job-result", is_open=False, className="mt-2"),
        ]
    return dbc.Tab(label="Jobs", tab_id="jobs", children=html.Div(className="pt-3", children=body))


def run_picker(history: list[RunSummary], run_id: str) -> html.Div:
    """The run history as a picker; the page shows ``run_id``."""
    options = [{"label": s.label + ("  (latest)" if i == 0 else ""), "value": s.run_id}
               for i, s in enumerate(history)]
    if run_id not in {o["value"] for o in options}:
        options.append({"label": run_id, "value": run_id})
    return html.Div(className="d-flex align-items-center gap-2", style={"minWidth": "min(720px, 70vw)"}, children=[
        html.Span("Run", className="text-light small"),
        dcc.Dropdown(id="run-picker", options=options, value=run_id, clearable=False, searchable=False,
                     className="flex-grow-1", style={"fontSize": "0.85rem"}),
    ])


def run_layout(view: RunView, history: list[RunSummary], jobs: JobSettings | None = None) -> dbc.Container:
    """The main page for one run: one ticker in depth, every ticker compared, the live record, and jobs."""
    body = html.Div([
        dcc.Store(id="run-id", data=view.run_id),  # the run this page shows, passed to every callback
        dcc.Interval(id="poll", interval=POLL_MS),
        dbc.Alert(id="newer-run", is_open=False, color="info", className="py-2"),
        dbc.Tabs(id="tabs", active_tab="ticker", children=[_ticker_tab(view), _compare_tab(view), _track_tab(),
                                                          _jobs_tab(jobs or JobSettings())]),
        html.Footer(f"run {view.run_id}", id="run-footer", className="text-muted small mt-3"),
    ])
    return page(body, header=run_picker(history, view.run_id))


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
