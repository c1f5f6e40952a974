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
from dashboard.theme import COLORS, FONT, display_name
from forecaster.columns import MODEL_NAME as MODEL

#: The grids' look: Quartz (AG Grid's default theme), tightened to the page's type.
THEME = {"function": f"themeQuartz.withParams({{fontFamily: \"{FONT}\", fontSize: 13, spacing: 5, "
                     "headerFontWeight: 600, wrapperBorderRadius: 6})"}
#: Shown in a grid with no rows.
NO_ROWS = "Nothing to show"


def unit_formatter(unit: str) -> str:
    """An AG Grid ``valueFormatter`` expression writing ``params.value`` in ``unit`` (a key of
    ``UNIT_FORMATS``, or ``params.data.unit`` for a per-row unit), as ``dashboard.tables.fmt`` does in Python.

    Example:
        >>> unit_formatter("'ratio'")
        "params.value == null ? '–' : 'ratio' === 'share' ? d3.format('.1%')(params.value) : ..."
    """
    value = "params.value"
    cases = [f"{unit} === '{name}' ? d3.format('{spec}')({value}){f' + {suffix!r}' if suffix else ''}"
             for name, (spec, suffix) in UNIT_FORMATS.items() if name != "price"]
    price = (f"({value} >= 1 || {value} <= -1) ? d3.format('{UNIT_FORMATS['price'][0]}')({value}) : "
             f"d3.format('{SMALL_PRICE_FORMAT}')({value})")
    return f"{value} == null ? '–' : " + " : ".join([*cases, price])


def number_column(field: str, header: str, unit: str, **options: Any) -> dict[str, Any]:
    """A numeric column in one unit: right-aligned, a number filter, formatted with d3."""
    return {"field": field, "headerName": header, "type": "rightAligned", "filter": "agNumberColumnFilter",
            "valueFormatter": {"function": unit_formatter(repr(unit))}, "useValueFormatterForExport": False,
            **options}


def text_column(field: str, header: str, **options: Any) -> dict[str, Any]:
    """A text column with a text filter."""
    return {"field": field, "headerName": header, "filter": "agTextColumnFilter", **options}


def ticker_column(**options: Any) -> dict[str, Any]:
    """The ticker, pinned to the left so it stays in view while the grid scrolls sideways."""
    return text_column("ticker", "Ticker", pinned="left", minWidth=105, maxWidth=130, cellClass="fw-semibold",
                       **options)


#: Up to this many rows a grid is as tall as its rows; beyond, it scrolls within its height.
FIT_ROWS = 20


def grid(grid_id: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]] | None, file_name: str,
         height: str | None = None, row_id: str | None = "params.data.ticker", no_rows: str = NO_ROWS,
         title: Any = None) -> html.Div:
    """A grid with its "Download CSV" button (``<grid_id>-csv``); it scrolls within ``height`` when it has more
    than ``FIT_ROWS`` rows, and is as tall as its rows otherwise."""
    options: dict[str, Any] = {"theme": THEME, "localeText": {"noRowsToShow": no_rows}, "tooltipShowDelay": 300,
                               "enableCellTextSelection": True, "suppressDragLeaveHidesColumns": True,
                               "suppressColumnVirtualisation": True}  # ten columns at most: all in the page
    if height is None or len(rows or []) <= FIT_ROWS:
        options["domLayout"] = "autoHeight"
        height = None
    return html.Div([
        html.Div(className="d-flex justify-content-between align-items-center mb-2", children=[
            html.Div(title, className="fw-semibold"),
            dbc.Button("Download CSV", id=f"{grid_id}-csv", size="sm", color="secondary", outline=True,
                       className="ms-2 text-nowrap"),
        ]),
        dag.AgGrid(id=grid_id, columnDefs=columns, rowData=rows or [], getRowId=row_id,
                   defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110,
                                  "wrapHeaderText": True, "autoHeaderHeight": True},
                   dashGridOptions=options, csvExportParams={"fileName": file_name},
                   columnSize="responsiveSizeToFit", style={"height": height} if height else {"width": "100%"}),
    ])


def metrics_columns(models: list[str], all_steps: bool) -> list[dict[str, Any]]:
    """The metrics grid's columns: the step (when every step is shown), the metric (pinned; its meaning on
    hover), then one column per model, the lowest error of a row starred."""
    columns = [number_column("step", "Step", "'ratio'", hide=not all_steps, pinned="left", minWidth=80, maxWidth=90,
                             valueFormatter=None),
               text_column("metric", "Metric", pinned="left", minWidth=170, tooltipField="help")]
    for model in models:
        star = f"(params.data.best === '{model}' ? ' ★' : '')"
        columns.append({**number_column(model, display_name(model), "params.data.unit"),
                        "valueFormatter": {"function": f"({unit_formatter('params.data.unit')}) + {star}"},
                        "cellClassRules": {"best-cell": f"params.data.best === '{model}'"},
                        "headerStyle": {"color": COLORS.get(model, COLORS["actual"])},
                        **({"cellClass": "fw-semibold"} if model == MODEL else {})})
    return columns


def metrics_rows(models: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``dashboard.tables.metrics_table`` rows as grid rows (one field per model)."""
    return [{"id": f"{r['step']}-{r['key']}", "step": r["step"], "metric": r["metric"], "help": r["help"],
             "unit": r["unit"], "best": r["best"], **{m: r["values"][m] for m in models}} for r in rows]


#: Highlight of the Compare grid's scores: green where the model beats naive, red where it loses, amber where a
#: band is more than 5 points off its level.
_BEATS = {"styleConditions": [
    {"condition": "params.value != null && params.value < 1", "style": {"color": COLORS["up"], "fontWeight": 600}},
    {"condition": "params.value != null && params.value > 1", "style": {"color": COLORS["down"]}}]}


def _off(level: int) -> dict[str, Any]:
    off = f"(params.value * 100 - {level} > 5 || params.value * 100 - {level} < -5)"
    return {"styleConditions": [{"condition": f"params.value != null && {off}",
                                 "style": {"backgroundColor": "#fff3cd"}}]}


COMPARE_COLUMNS: list[dict[str, Any]] = [
    ticker_column(),
    number_column("last_close", "Last close", "price"),
    number_column("forecast", "Next-day forecast", "price", cellStyle={"color": COLORS["forecast"]},
                  headerTooltip="The model's forecast of the next trading day's adjusted close"),
    {**number_column("change", "Change", "share"), "valueFormatter": {
        "function": "params.value == null ? '–' : d3.format('+.2%')(params.value)"}},
    text_column("band_80", "Next-day 80% band", minWidth=150),
    number_column("rmse_ratio", "RMSE / naive", "ratio", cellStyle=_BEATS,
                  headerTooltip="The model's test-period RMSE over naive's at the chosen step; below 1 it helps"),
    number_column("coverage_80", "80% band held", "share", cellStyle=_off(80)),
    number_column("coverage_95", "95% band held", "share", cellStyle=_off(95)),
    number_column("is_ratio_80", "80% interval score / naive", "ratio", cellStyle=_BEATS),
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
