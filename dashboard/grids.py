"""The page's tables as Dash AG Grids.

Every grid sorts and filters in the browser, pins its first column, formats numbers there with the d3 formats of
``dashboard.tables.UNIT_FORMATS`` (the numbers stay numbers, so they sort as numbers), opens a ticker when a row
is clicked (where rows are tickers), and has a "Download CSV" button that saves the rows as the grid shows them
(sorted and filtered; the numbers at full precision). Pure builders, no callbacks.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from dashboard.tables import SMALL_PRICE_FORMAT, UNIT_FORMATS
from dashboard.theme import COLORS, FONT, ZONE_COLORS, display_name
from forecaster.columns import MODEL_NAME as MODEL

#: The grids' look: Quartz (AG Grid's default theme), tightened to the page's type.
THEME = {
    "function": f'themeQuartz.withParams({{fontFamily: "{FONT}", fontSize: 13, spacing: 5, '
    "headerFontWeight: 600, wrapperBorderRadius: 6})"
}
#: Shown in a grid with no rows.
NO_ROWS = "Nothing to show"


def unit_formatter(unit: str) -> str:
    """An AG Grid ``valueFormatter`` expression writing ``params.value`` in ``unit`` (a key of
    ``UNIT_FORMATS``, or ``params.data.unit`` for a per-row unit), as ``dashboard.tables.fmt`` does in Python.

    Example:
        >>> unit_formatter("'ratio'")
        "params.value == null ? '–' : 'ratio' === 'flag' ? (params.value ? 'yes' : 'no') : ... d3.format('.3f')..."
    """
    value = "params.value"
    cases = [f"{unit} === 'flag' ? ({value} ? 'yes' : 'no')"]
    cases += [
        f"{unit} === '{name}' ? d3.format('{spec}')({value}){f' + {suffix!r}' if suffix else ''}"
        for name, (spec, suffix) in UNIT_FORMATS.items()
        if name != "price"
    ]
    price = (
        f"({value} >= 1 || {value} <= -1) ? d3.format('{UNIT_FORMATS['price'][0]}')({value}) : "
        f"d3.format('{SMALL_PRICE_FORMAT}')({value})"
    )
    return f"{value} == null ? '–' : " + " : ".join([*cases, price])


def number_column(field: str, header: str, unit: str, **options: Any) -> dict[str, Any]:
    """A numeric column in one unit: right-aligned, a number filter, formatted with d3."""
    return {
        "field": field,
        "headerName": header,
        "type": "rightAligned",
        "filter": "agNumberColumnFilter",
        "valueFormatter": {"function": unit_formatter(repr(unit))},
        "useValueFormatterForExport": False,
        **options,
    }


def text_column(field: str, header: str, **options: Any) -> dict[str, Any]:
    """A text column with a text filter."""
    return {"field": field, "headerName": header, "filter": "agTextColumnFilter", **options}


def ticker_column(**options: Any) -> dict[str, Any]:
    """The ticker, pinned to the left so it stays in view while the grid scrolls sideways."""
    return text_column(
        "ticker", "Ticker", pinned="left", minWidth=105, maxWidth=130, cellClass="fw-semibold", **options
    )


#: Up to this many rows a grid is as tall as its rows; beyond, it scrolls within its height.
FIT_ROWS = 20


def grid(
    grid_id: str,
    columns: list[dict[str, Any]],
    rows: list[dict[str, Any]] | None,
    file_name: str,
    height: str | None = None,
    row_id: str | None = "params.data.ticker",
    no_rows: str = NO_ROWS,
    title: Any = None,
) -> html.Div:
    """A grid with its "Download CSV" button (``<grid_id>-csv``); it scrolls within ``height`` when it has more
    than ``FIT_ROWS`` rows, and is as tall as its rows otherwise."""
    options: dict[str, Any] = {
        "theme": THEME,
        "localeText": {"noRowsToShow": no_rows},
        "tooltipShowDelay": 300,
        "enableCellTextSelection": True,
        "suppressDragLeaveHidesColumns": True,
        "suppressColumnVirtualisation": True,
    }  # ten columns at most: all in the page
    if height is None or len(rows or []) <= FIT_ROWS:
        options["domLayout"] = "autoHeight"
        height = None
    return html.Div(
        [
            html.Div(
                className="d-flex justify-content-between align-items-center mb-2",
                children=[
                    html.Div(title, className="fw-semibold"),
                    dbc.Button(
                        "Download CSV",
                        id=f"{grid_id}-csv",
                        size="sm",
                        color="secondary",
                        outline=True,
                        className="ms-2 text-nowrap",
                    ),
                ],
            ),
            dag.AgGrid(
                id=grid_id,
                columnDefs=columns,
                rowData=rows or [],
                getRowId=row_id,
                defaultColDef={
                    "sortable": True,
                    "filter": True,
                    "resizable": True,
                    "minWidth": 110,
                    "wrapHeaderText": True,
                    "autoHeaderHeight": True,
                },
                dashGridOptions=options,
                csvExportParams={"fileName": file_name},
                columnSize="responsiveSizeToFit",
                style={"height": height} if height else {"width": "100%"},
            ),
        ]
    )


def metrics_columns(models: list[str], all_steps: bool) -> list[dict[str, Any]]:
    """The metrics grid's columns: the step (when every step is shown), the metric (pinned; its meaning on
    hover), then one column per model, the lowest error of a row starred."""
    columns = [
        number_column(
            "step", "Step", "'ratio'", hide=not all_steps, pinned="left", minWidth=80, maxWidth=90, valueFormatter=None
        ),
        text_column("metric", "Metric", pinned="left", minWidth=170, tooltipField="help"),
    ]
    for model in models:
        star = f"(params.data.best === '{model}' ? ' ★' : '')"
        columns.append(
            {
                **number_column(model, display_name(model), "params.data.unit"),
                "valueFormatter": {"function": f"({unit_formatter('params.data.unit')}) + {star}"},
                "cellClassRules": {"best-cell": f"params.data.best === '{model}'"},
                "headerStyle": {"color": COLORS.get(model, COLORS["actual"])},
                **({"cellClass": "fw-semibold"} if model == MODEL else {}),
            }
        )
    return columns


def metrics_rows(models: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``dashboard.tables.metrics_table`` rows as grid rows (one field per model)."""
    return [
        {
            "id": f"{r['step']}-{r['key']}",
            "step": r["step"],
            "metric": r["metric"],
            "help": r["help"],
            "unit": r["unit"],
            "best": r["best"],
            **{m: r["values"][m] for m in models},
        }
        for r in rows
    ]


#: Highlight of the Compare grid's scores: green where the model beats naive, red where it loses, amber where a
#: band is more than 5 points off its level.
_BEATS = {
    "styleConditions": [
        {"condition": "params.value != null && params.value < 1", "style": {"color": COLORS["up"], "fontWeight": 600}},
        {"condition": "params.value != null && params.value > 1", "style": {"color": COLORS["down"]}},
    ]
}


def _off(level: int) -> dict[str, Any]:
    off = f"(params.value * 100 - {level} > 5 || params.value * 100 - {level} < -5)"
    return {
        "styleConditions": [{"condition": f"params.value != null && {off}", "style": {"backgroundColor": "#fff3cd"}}]
    }


#: A traffic-light zone's cell: its colour.
_ZONE = {
    "styleConditions": [
        {"condition": f"params.value === '{zone}'", "style": {"backgroundColor": colour}}
        for zone, colour in ZONE_COLORS.items()
    ]
}
#: A p-value below 5%: bold.
_SIGNIFICANT = {
    "styleConditions": [{"condition": "params.value != null && params.value < 0.05", "style": {"fontWeight": 600}}]
}


def p_value_column(field: str, header: str, **options: Any) -> dict[str, Any]:
    """A p-value: three decimals, bold below 5%."""
    return number_column(field, header, "ratio", cellStyle=_SIGNIFICANT, **options)


COMPARE_COLUMNS: list[dict[str, Any]] = [
    ticker_column(),
    number_column("last_close", "Last close", "price"),
    number_column(
        "forecast",
        "Next-day forecast",
        "price",
        cellStyle={"color": COLORS["forecast"]},
        headerTooltip="The model's forecast of the next trading day's adjusted close",
    ),
    {
        **number_column("change", "Change", "share"),
        "valueFormatter": {"function": "params.value == null ? '–' : d3.format('+.2%')(params.value)"},
    },
    text_column("band_80", "Next-day 80% band", minWidth=150),
    number_column(
        "rmse_ratio",
        "RMSE / naive",
        "ratio",
        cellStyle=_BEATS,
        headerTooltip="The model's test-period RMSE over naive's at the chosen step; below 1 it helps",
    ),
    number_column("coverage_80", "80% band held", "share", cellStyle=_off(80)),
    number_column("coverage_95", "95% band held", "share", cellStyle=_off(95)),
    number_column("is_ratio_80", "80% interval score / naive", "ratio", cellStyle=_BEATS),
    p_value_column(
        "dm_p",
        "DM p vs naive",
        headerTooltip="Diebold-Mariano p-value of the difference from naive's squared error; below 0.05 "
        "it is more than noise",
    ),
    text_column("vs_naive", "vs naive", minWidth=150),
    text_column(
        "zone_80",
        "80% band zone",
        cellStyle=_ZONE,
        headerTooltip="Basel traffic light of the 80% band's worse end: green, yellow or red",
    ),
]

#: The band backtests of the Skill tab: one row per ticker, model and tail at the chosen step.
BAND_COLUMNS: list[dict[str, Any]] = [
    ticker_column(),
    text_column("model", "Model", minWidth=190),
    text_column(
        "tail",
        "Tail",
        minWidth=90,
        headerTooltip="lo80: below the 80% band's lower end (10% of days "
        "promised), hi95: above the 95% band's upper end (2.5%)",
    ),
    number_column("days", "Days", "ratio", valueFormatter=None),
    number_column("exceptions", "Exceptions", "ratio", valueFormatter=None),
    number_column("expected", "Expected", "ratio", valueFormatter={"function": "d3.format('.1f')(params.value)"}),
    p_value_column(
        "kupiec_p", "Kupiec p", headerTooltip="proportion of failures: is the share of exceptions the tail's promise?"
    ),
    p_value_column(
        "christoffersen_ind_p",
        "Independence p",
        headerTooltip="Christoffersen: do exceptions follow each other more than chance? (read at step 1)",
    ),
    p_value_column("christoffersen_cc_p", "Cond. coverage p", headerTooltip="Christoffersen: both at once"),
    text_column("zone", "Zone", cellStyle=_ZONE, headerTooltip="Basel traffic light at the tail's own probability"),
]


def _signed(spec: str) -> dict[str, str]:
    return {"function": f"params.value == null ? '–' : d3.format('{spec}')(params.value)"}


#: The Skill tab's signals at a step: ranking skill and the portfolio, as the report holds them.
SIGNAL_COLUMNS: list[dict[str, Any]] = [
    text_column("name", "Signal", pinned="left", minWidth=190, cellClass="fw-semibold"),
    number_column(
        "rank_ic",
        "Rank IC",
        "ratio",
        valueFormatter=_signed("+.3f"),
        cellClass="fw-semibold",
        headerTooltip="the mean over days of the Spearman correlation across tickers between the signal "
        "and the change that followed",
    ),
    number_column("rank_ic_t", "t", "ratio", valueFormatter=_signed("+.2f")),
    number_column(
        "rank_ic_t_nw",
        "t (Newey-West)",
        "ratio",
        valueFormatter=_signed("+.2f"),
        headerTooltip="with standard errors that allow for the overlap of h-day changes",
    ),
    number_column("rank_icir", "ICIR", "ratio", valueFormatter=_signed("+.3f")),
    number_column("rank_ic_positive", "Days above 0", "share"),
    number_column("ic", "IC", "ratio", valueFormatter=_signed("+.3f")),
    number_column(
        "annual_return_net",
        "Long-short a year, net",
        "share",
        valueFormatter=_signed("+.1%"),
        cellStyle={
            "styleConditions": [
                {"condition": "params.value != null && params.value > 0", "style": {"color": COLORS["up"]}},
                {"condition": "params.value != null && params.value < 0", "style": {"color": COLORS["down"]}},
            ]
        },
    ),
    number_column("annual_return_gross", "before costs", "share", valueFormatter=_signed("+.1%")),
    number_column("ir_net", "IR, net", "ratio", valueFormatter=_signed("+.2f")),
    number_column("max_drawdown", "Max drawdown", "share"),
    number_column("turnover", "Turnover a day", "ratio", valueFormatter=_signed(".2f")),
]

ZONE_SHARE_COLUMNS: list[dict[str, Any]] = [
    text_column("model", "Model", pinned="left", minWidth=140),
    text_column("tail", "Tail"),
    number_column(
        "green",
        "Green",
        "share",
        cellStyle={
            "styleConditions": [{"condition": "params.value > 0", "style": {"backgroundColor": ZONE_COLORS["green"]}}]
        },
    ),
    number_column(
        "yellow",
        "Yellow",
        "share",
        cellStyle={
            "styleConditions": [{"condition": "params.value > 0", "style": {"backgroundColor": ZONE_COLORS["yellow"]}}]
        },
    ),
    number_column(
        "red",
        "Red",
        "share",
        cellStyle={
            "styleConditions": [{"condition": "params.value > 0", "style": {"backgroundColor": ZONE_COLORS["red"]}}]
        },
    ),
]

TRACK_COLUMNS: list[dict[str, Any]] = [
    ticker_column(),
    number_column("step", "Step", "ratio", valueFormatter=None, minWidth=80),
    text_column("window", "Window", minWidth=100),
    number_column("scored", "Scored forecasts", "ratio", valueFormatter=None),
    number_column("rmse_ratio_vs_naive", "RMSE / naive", "ratio", cellStyle=_BEATS),
    number_column("coverage_80", "80% band held", "share", cellStyle=_off(80)),
    number_column("coverage_95", "95% band held", "share", cellStyle=_off(95)),
    text_column("first_day", "From"),
    text_column("last_day", "To"),
]
