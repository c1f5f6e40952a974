"""Page layout, built per page load for the run it is pinned to (or an empty / error state).

Components come from dash-bootstrap-components (cards, alerts, a responsive grid); Bootstrap's style sheet is
served from ``dashboard/assets`` so the page works without internet access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import grids
from dashboard.address import COMPARE_MEASURES, Address, search
from dashboard.figures import ahead
from dashboard.jobs import JobSettings
from dashboard.reader import RunSummary, RunView
from dashboard.theme import COLORS, display_name
from forecaster.columns import BASELINE_NAMES
from forecaster.evaluate.cross_section import SIGNALS
from forecaster.left_out import card_lines

RUN_COMMAND = "python -m forecaster run --source sample"
#: How often an open page asks whether a newer run was published (milliseconds).
POLL_MS = 15_000


def page(body: Any, header: Any = None) -> dbc.Container:
    """The frame every state shares: a title bar and the body."""
    return dbc.Container(
        fluid=True,
        className="px-2 px-md-4 pb-4",
        style={"maxWidth": "1680px"},
        children=[
            dbc.Navbar(
                dbc.Container(
                    fluid=True,
                    className="flex-wrap gap-2",
                    children=[dbc.NavbarBrand("Stock forecaster", className="fw-semibold"), header or html.Span()],
                ),
                color="dark",
                dark=True,
                className="mb-3 rounded-bottom",
            ),
            body,
        ],
    )


def empty_layout(data_dir: str) -> dbc.Container:
    """Shown before any run has been published."""
    return page(
        dbc.Alert(
            id="empty-state",
            color="info",
            children=[
                html.H4("No forecasts yet", className="alert-heading"),
                html.P(f"No published run was found in {data_dir}. Create one with:"),
                html.Pre(f"{RUN_COMMAND} --data-dir {data_dir}", className="mb-2"),
                html.P("then reload this page.", className="mb-0"),
            ],
        )
    )


def error_layout(message: str) -> dbc.Container:
    """Shown when the run a page asks for cannot be read."""
    return page(
        dbc.Alert(
            id="error-state",
            color="danger",
            children=[
                html.H4("The latest run cannot be read", className="alert-heading"),
                html.Pre(message, style={"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}),
                html.P(
                    [
                        "Re-run the forecaster to publish a complete run, or ",
                        dcc.Link("open the latest run", href="/"),
                        ".",
                    ],
                    className="mb-0",
                ),
            ],
        )
    )


def _labelled(label: str, control: Any, width: dict[str, int]) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small text-muted mb-1"), control], **width)


#: Shown where a part of the page is still on its way.
LOADING = html.Span("Loading…", className="small text-muted")


@dataclass(frozen=True)
class TickerContent:
    """What the Ticker tab shows above the fold for one ticker and step, built into the page it arrives in (no
    callback waits): the price figure, the verdict and the forecast panel."""

    figure: Any
    verdict: str
    verdict_color: str
    panel: list[Any]
    message: str = ""


def metrics_file(run_id: str, ticker: str) -> str:
    """The name the metrics grid's CSV is saved under."""
    return f"metrics-{ticker}-{run_id}.csv"


def metrics_block(run_id: str, ticker: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> html.Div:
    """The metrics grid of one ticker (``dashboard.grids.metrics_columns`` and ``metrics_rows``)."""
    return grids.grid(
        "metrics-grid",
        columns,
        rows,
        metrics_file(run_id, ticker),
        row_id="params.data.id",
        title=html.Span(
            "Hover a metric for what it means; ★ marks the lowest error.", className="small text-muted fw-normal"
        ),
    )


def residuals_block(over_time: Any, spread: Any) -> dbc.Row:
    """The residual charts: over time, and their distribution."""
    return dbc.Row(
        className="g-3",
        children=[
            dbc.Col(
                dbc.Card(
                    dcc.Graph(id="residual-time", figure=over_time, config={"displaylogo": False}),
                    className="shadow-sm",
                ),
                lg=6,
            ),
            dbc.Col(
                dbc.Card(
                    dcc.Graph(id="residual-hist", figure=spread, config={"displaylogo": False}), className="shadow-sm"
                ),
                lg=6,
            ),
        ],
    )


def compare_block(run_id: str, figure: Any, rows: list[dict[str, Any]]) -> dbc.Row:
    """The Compare tab's chart and grid."""
    return dbc.Row(
        className="g-3",
        children=[
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        dcc.Graph(id="compare-graph", figure=figure, config={"displaylogo": False}), className="p-1"
                    ),
                    className="shadow-sm",
                ),
                xl=4,
            ),
            dbc.Col(
                dbc.Card(
                    className="shadow-sm",
                    children=dbc.CardBody(
                        grids.grid(
                            "compare-grid",
                            grids.COMPARE_COLUMNS,
                            rows,
                            f"compare-{run_id}.csv",
                            height="640px",
                            title="Every ticker: the next-day forecast and the test-period scores at the chosen step "
                            "(sort and filter in the headers; click a row to open its ticker)",
                        )
                    ),
                ),
                xl=8,
            ),
        ],
    )


def skill_block(view: RunView, step: int, signal: str) -> Any:
    """The Skill tab at ``step``: the signals' ranking skill and portfolios, their charts, the band backtests; or,
    for a run of too few tickers, why the cross-sectional parts are absent (the band backtests stay)."""
    from dashboard import skill

    reason = skill.absent(view.report)
    bands = dbc.Card(
        className="shadow-sm mb-3",
        children=dbc.CardBody(
            [
                html.P(
                    "Each end of a band is a promise, like a value-at-risk: the 80% band's lower end is crossed on "
                    "10% of "
                    "days, the 95% band's on 2.5%. Kupiec's test asks whether the share of exceptions keeps it, "
                    "Christoffersen's whether exceptions come in runs, and the Basel traffic light grades the count.",
                    className="small text-muted",
                ),
                grids.grid(
                    "zone-grid",
                    grids.ZONE_SHARE_COLUMNS,
                    skill.zone_rows(view.report, step),
                    "band-zones.csv",
                    row_id=None,
                    title=f"Share of tickers in each zone, {ahead(step)}",
                ),
                html.Div(
                    className="mt-3",
                    children=grids.grid(
                        "band-grid",
                        grids.BAND_COLUMNS,
                        skill.band_rows(view.report, step),
                        f"band-backtests-{view.run_id}.csv",
                        height="520px",
                        row_id="params.data.id",
                        title="Every ticker's bands, end by end",
                    ),
                ),
            ]
        ),
    )
    if reason:
        return html.Div(
            [
                dbc.Alert(f"No cross-sectional skill for this run: {reason}.", color="secondary", id="skill-absent"),
                bands,
            ]
        )
    signals = skill.signals_of(view.report, step)
    chosen = signal if signal in signals else signals[0]
    return html.Div(
        [
            dbc.Card(
                className="shadow-sm mb-3",
                children=dbc.CardBody(
                    grids.grid(
                        "signal-grid",
                        grids.SIGNAL_COLUMNS,
                        skill.signal_rows(view.report, step),
                        f"skill-{view.run_id}.csv",
                        row_id="params.data.signal",
                        title=f"Does it rank stocks, and would trading it have paid? {ahead(step).capitalize()}, "
                        "over the test "
                        "days (click a row to chart that signal)",
                    )
                ),
            ),
            dbc.Row(
                className="g-3 mb-3",
                children=[
                    dbc.Col(
                        dbc.Card(
                            dcc.Graph(
                                id="rank-ic-graph",
                                figure=skill.rank_ic_figure(view.daily_ic, step, chosen),
                                config={"displaylogo": False},
                            ),
                            className="shadow-sm",
                        ),
                        xl=6,
                    ),
                    dbc.Col(
                        dbc.Card(
                            dcc.Graph(
                                id="equity-graph",
                                figure=skill.equity_figure(
                                    view.daily_returns,
                                    step,
                                    chosen,
                                    view.report["summary"]["portfolio"].get("cost_bps", 0),
                                ),
                                config={"displaylogo": False},
                            ),
                            className="shadow-sm",
                        ),
                        xl=6,
                    ),
                ],
            ),
            bands,
        ]
    )


def track_block(figure: Any, rows: list[dict[str, Any]]) -> dbc.Row:
    """The Track record tab's chart and grid."""
    return dbc.Row(
        className="g-3",
        children=[
            dbc.Col(
                dbc.Card(
                    dcc.Graph(id="track-graph", figure=figure, config={"displaylogo": False}), className="shadow-sm"
                ),
                xl=7,
            ),
            dbc.Col(
                dbc.Card(
                    className="shadow-sm",
                    children=dbc.CardBody(
                        grids.grid(
                            "track-grid",
                            grids.TRACK_COLUMNS,
                            rows,
                            "track-record.csv",
                            height="420px",
                            row_id="params.data.id",
                            no_rows="No forecast has met its day yet: they are scored when their prices arrive "
                            "(refresh, fetch "
                            "or import).",
                            title="Live scores: the last 30 and 90 trading days with outcomes, and all time "
                            "(click a row for its "
                            "ticker)",
                        )
                    ),
                ),
                xl=5,
            ),
        ],
    )


def _step_options(view: RunView) -> list[dict[str, Any]]:
    return [{"label": ahead(s), "value": s} for s in range(1, view.horizon + 1)]


def _signal_options(view: RunView) -> list[dict[str, Any]]:
    """The signals the run's cross-sectional tests hold (the ranking model's only where the run trained one)."""
    cross = view.report.get("summary", {}).get("cross_section", {})
    present = {signal for step, signals in cross.items() if isinstance(signals, dict) for signal in signals}
    return [{"label": display_name(s), "value": s} for s in SIGNALS if s in present or not present]


def _ticker_controls(view: RunView, address: Address) -> dbc.Row:
    return dbc.Row(
        className="g-3 align-items-end mb-3",
        children=[
            _labelled(
                "Ticker",
                dcc.Dropdown(id="ticker", options=view.tickers, value=address.ticker, clearable=False, searchable=True),
                {"xs": 6, "md": 3, "lg": 2},
            ),
            _labelled(
                "Forecast step",
                dcc.Dropdown(
                    id="step", options=_step_options(view), value=address.step, clearable=False, searchable=False
                ),
                {"xs": 6, "md": 3, "lg": 2},
            ),
            _labelled(
                "Chart",
                dbc.RadioItems(
                    id="chart",
                    inline=True,
                    value="line",
                    options=[{"label": "line", "value": "line"}, {"label": "candles", "value": "candles"}],
                ),
                {"md": 3, "lg": 2},
            ),
            _labelled(
                "Baselines on the chart",
                dbc.Checklist(
                    id="baselines",
                    inline=True,
                    value=["naive"],
                    options=[
                        {"label": html.Span(display_name(b), style={"color": COLORS[b]}), "value": b}
                        for b in BASELINE_NAMES
                    ],
                ),
                {"md": 12, "lg": 6},
            ),
        ],
    )


def _forecast_card(content: TickerContent) -> dbc.Card:
    return dbc.Card(
        className="h-100 shadow-sm",
        children=[
            dbc.CardHeader(html.Span("Forecast", className="fw-semibold", style={"color": COLORS["forecast"]})),
            dbc.CardBody(id="forecast-panel", children=content.panel),
        ],
    )


def _ticker_tab(view: RunView, address: Address, content: TickerContent) -> dbc.Tab:
    return dbc.Tab(
        label="Ticker",
        tab_id="ticker",
        children=html.Div(
            className="pt-3",
            children=[
                _ticker_controls(view, address),
                html.Div(id="ticker-message", className="text-danger", children=content.message),
                dbc.Alert(id="verdict", color=content.verdict_color, className="py-2", children=content.verdict),
                dbc.Row(
                    className="g-3 mb-3",
                    children=[
                        dbc.Col(
                            dbc.Card(
                                dbc.CardBody(
                                    dcc.Graph(
                                        id="price-graph",
                                        figure=content.figure,
                                        config={"displaylogo": False, "responsive": True},
                                        style={"height": "620px"},
                                    ),
                                    className="p-1",
                                ),
                                className="shadow-sm",
                            ),
                            xl=8,
                        ),
                        dbc.Col(_forecast_card(content), xl=4),
                    ],
                ),
                dcc.Store(id="y-rescaled"),
                dcc.Store(id="range-label", data=address.range),
                # Below the fold (the metrics grid, the residual charts): asked for once the price chart is drawn.
                dcc.Store(id="after-draw"),
                dcc.Store(id="below-built"),
                dbc.Card(
                    className="shadow-sm mb-3",
                    children=[
                        dbc.CardHeader(
                            dbc.Row(
                                className="align-items-center",
                                children=[
                                    dbc.Col(
                                        html.Span(
                                            "Test-period metrics: the LSTM beside the baselines, on the same days",
                                            className="fw-semibold",
                                        )
                                    ),
                                    dbc.Col(
                                        dbc.Switch(id="all-steps", label="all steps", value=False, className="mb-0"),
                                        width="auto",
                                    ),
                                ],
                            )
                        ),
                        dbc.CardBody(html.Div(id="metrics-body", children=LOADING, style={"minHeight": "120px"})),
                    ],
                ),
                html.Div(id="residuals-body", className="mb-3", style={"minHeight": "340px"}),
                dbc.Accordion(
                    start_collapsed=True,
                    children=[
                        dbc.AccordionItem(
                            html.Pre(
                                id="model-card",
                                children=card_text(view),
                                className="mb-0",
                                style={"whiteSpace": "pre-wrap"},
                            ),
                            title="Model card: what this run was trained on, and how",
                        )
                    ],
                ),
            ],
        ),
    )


def _compare_tab(view: RunView, address: Address, content: tuple[Any, list[dict[str, Any]]] | None) -> dbc.Tab:
    # The chart and the grid are built when the tab is first shown (or now, when the page opens on it).
    return dbc.Tab(
        label="Compare tickers",
        tab_id="compare",
        children=html.Div(
            className="pt-3",
            children=[
                dbc.Row(
                    className="g-3 align-items-end mb-3",
                    children=[
                        _labelled(
                            "Forecast step",
                            dcc.Dropdown(
                                id="compare-step",
                                value=address.step,
                                clearable=False,
                                searchable=False,
                                options=_step_options(view),
                            ),
                            {"xs": 6, "md": 3, "lg": 2},
                        ),
                        _labelled(
                            "Ratio to naive of",
                            dbc.RadioItems(
                                id="compare-measure",
                                value=address.measure,
                                inline=True,
                                options=[{"label": label, "value": key} for key, label in COMPARE_MEASURES.items()],
                            ),
                            {"md": 9, "lg": 6},
                        ),
                    ],
                ),
                html.Div(id="compare-body", children=compare_block(view.run_id, *content) if content else LOADING),
            ],
        ),
    )


def _skill_tab(view: RunView, address: Address, opened: bool) -> dbc.Tab:
    # Built when first shown (or now, when the page opens on it), like the Compare tab.
    return dbc.Tab(
        label="Skill",
        tab_id="skill",
        children=html.Div(
            className="pt-3",
            children=[
                html.P(
                    "Is the forecast worth acting on? Across tickers: does it rank them (the information coefficient, "
                    "as quant platforms judge a daily signal), would a long-short portfolio built on it have paid "
                    "after "
                    "costs, and do its bands keep their promise the way risk managers check it. Beside it, the simple "
                    "signals it must beat.",
                    className="text-muted",
                ),
                dbc.Row(
                    className="g-3 align-items-end mb-3",
                    children=[
                        _labelled(
                            "Forecast step",
                            dcc.Dropdown(
                                id="skill-step",
                                value=address.step,
                                clearable=False,
                                searchable=False,
                                options=_step_options(view),
                            ),
                            {"xs": 6, "md": 3, "lg": 2},
                        ),
                        _labelled(
                            "Signal charted",
                            dcc.Dropdown(
                                id="skill-signal",
                                value="lstm",
                                clearable=False,
                                searchable=False,
                                options=_signal_options(view),
                            ),
                            {"xs": 6, "md": 3, "lg": 2},
                        ),
                    ],
                ),
                html.Div(id="skill-body", children=skill_block(view, address.step, "lstm") if opened else LOADING),
            ],
        ),
    )


def _track_tab(content: tuple[Any, ...] | None) -> dbc.Tab:
    options, ticker, figure, rows, message = content if content is not None else ([], None, None, [], "")
    return dbc.Tab(
        label="Track record",
        tab_id="track",
        children=html.Div(
            className="pt-3",
            children=[
                html.P(
                    "The forecasts actually issued beyond the data (by run, forecast and refresh), scored as their "
                    "days' "
                    "prices arrived: the live record, across runs, separate from the backtest.",
                    className="text-muted",
                ),
                dbc.Row(
                    className="g-3 align-items-end mb-3",
                    children=[
                        _labelled(
                            "Ticker",
                            dcc.Dropdown(id="track-ticker", options=options, value=ticker, clearable=False),
                            {"xs": 6, "md": 3, "lg": 2},
                        ),
                    ],
                ),
                html.Div(id="track-message", children=message),
                html.Div(id="track-body", children=track_block(figure, rows) if content else LOADING),
            ],
        ),
    )


def _jobs_tab(jobs: JobSettings) -> dbc.Tab:
    if not jobs.enabled:
        body: list = [dbc.Alert(jobs.why_off.capitalize() + ".", color="secondary", id="jobs-off")]
    else:
        body = [
            html.P(
                "Jobs run in the background, one at a time per data directory (a refresh started by cron "
                "counts), and publish their results like the command line does: a page shows a new run when "
                "it is complete.",
                className="text-muted",
            ),
            dbc.Row(
                className="g-3 align-items-end mb-3",
                children=[
                    *(
                        [
                            _labelled(
                                "Job token", dbc.Input(id="job-token", type="password", placeholder="token"), {"md": 3}
                            )
                        ]
                        if jobs.token
                        else [dcc.Input(id="job-token", type="hidden", value="")]
                    ),
                    _labelled(
                        "Tickers to add (Yahoo Finance symbols)",
                        dbc.Input(id="job-tickers", placeholder="e.g. NVDA BRK-B ^GSPC"),
                        {"md": 3},
                    ),
                    dbc.Col(
                        width="auto",
                        children=dbc.ButtonGroup(
                            [
                                dbc.Button("Add tickers", id="job-add", color="primary"),
                                dbc.Button("Refresh prices", id="job-refresh", color="primary", outline=True),
                                dbc.Button("Retrain", id="job-retrain", color="primary", outline=True),
                            ]
                        ),
                    ),
                    dbc.Col(
                        dbc.Button("Cancel", id="job-cancel", color="danger", outline=True, disabled=True), width="auto"
                    ),
                ],
            ),
            dbc.Progress(
                id="job-progress", value=0, striped=False, animated=False, className="mb-2", style={"height": "1.4rem"}
            ),
            html.Div(id="job-status", className="small text-muted mb-2"),
            html.Pre(id="job-log", className="small bg-light p-2 rounded", style={"minHeight": "4em"}),
            dbc.Alert(id="job-result", is_open=False, className="mt-2"),
        ]
    return dbc.Tab(label="Jobs", tab_id="jobs", children=html.Div(className="pt-3", children=body))


def run_picker(history: list[RunSummary], run_id: str) -> html.Div:
    """The run history as a picker; the page shows ``run_id``."""
    options = [{"label": s.label + ("  (latest)" if i == 0 else ""), "value": s.run_id} for i, s in enumerate(history)]
    if run_id not in {o["value"] for o in options}:
        options.append({"label": run_id, "value": run_id})
    # It takes the bar's width left of the title, up to 760 px; on a phone it goes below the title, whole width.
    return html.Div(
        className="d-flex align-items-center gap-2",
        style={"flex": "1 1 300px", "maxWidth": "760px", "minWidth": 0},
        children=[
            html.Span("Run", className="text-light small"),
            dcc.Dropdown(
                id="run-picker",
                options=options,
                value=run_id,
                clearable=False,
                searchable=False,
                className="flex-grow-1",
                style={"fontSize": "0.85rem", "minWidth": 0},
            ),
        ],
    )


def run_layout(
    view: RunView,
    history: list[RunSummary],
    address: Address,
    ticker: TickerContent,
    compare: tuple[Any, list[dict[str, Any]]] | None = None,
    track: tuple[Any, ...] | None = None,
    jobs: JobSettings | None = None,
) -> dbc.Container:
    """The main page for one run, opened on the view of ``address`` (already resolved against ``view``): one
    ticker in depth, every ticker compared, the live record, and jobs. ``compare`` and ``track`` are those tabs'
    contents when the page opens on them (otherwise they are filled when first shown)."""
    body = html.Div(
        [
            dcc.Store(id="run-id", data=view.run_id),  # the run this page shows, passed to every callback
            dcc.Store(id="address", data=search(address)),  # the view as an address, written back to the URL
            dcc.Interval(id="poll", interval=POLL_MS),
            dbc.Alert(id="newer-run", is_open=False, color="info", className="py-2"),
            dbc.Tabs(
                id="tabs",
                active_tab=address.tab,
                children=[
                    _ticker_tab(view, address, ticker),
                    _compare_tab(view, address, compare),
                    _skill_tab(view, address, address.tab == "skill"),
                    _track_tab(track),
                    _jobs_tab(jobs or JobSettings()),
                ],
            ),
            html.Footer(f"run {view.run_id}", id="run-footer", className="text-muted small mt-3"),
        ]
    )
    return page(body, header=run_picker(history, view.run_id))


def card_text(view: RunView) -> str:
    """The model card as a few readable lines."""
    card = view.card
    training = card.get("training", {})
    first: dict[str, Any] = next(iter(training.values()), {}) if isinstance(training, dict) else {}
    ranges = card.get("data_range", {})
    span = f"{min(r[0] for r in ranges.values())} .. {max(r[1] for r in ranges.values())}" if ranges else "?"
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
    return "\n".join(lines + card_lines(card))
