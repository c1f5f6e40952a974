"""Pure functions from artifacts to Plotly figures: no Dash, no I/O.

The price figure has a fixed order of traces (``TRACE_*``), so that the step, chart and baseline toggles
change a few traces in place (Dash ``Patch``) instead of rebuilding and re-sending the whole figure.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.address import COMPARE_MEASURES, DEFAULT_RANGE, RANGE_BUTTONS, x_range
from dashboard.theme import COLORS, FONT, FORECAST_BAND_FILL, display_name
from forecaster.columns import BASELINE_NAMES, FORECAST_COLUMN, FORECAST_LABEL, LEVELS, bound_column
from forecaster.columns import MODEL_NAME as MODEL

CHART_TYPES = ("candles", "line")
#: Plotly's definition of each range button (``dashboard.address.x_range`` computes the same ranges).
_BUTTONS: dict[str, dict[str, Any]] = {
    "1M": {"count": 1, "step": "month", "stepmode": "backward"},
    "6M": {"count": 6, "step": "month", "stepmode": "backward"},
    "YTD": {"count": 1, "step": "year", "stepmode": "todate"},
    "1Y": {"count": 1, "step": "year", "stepmode": "backward"},
    "All": {"step": "all"},
}
RANGE_SELECTOR = [{"label": label, **_BUTTONS[label]} for label in RANGE_BUTTONS]
#: Smallest half-width of the Compare tab's axis around 1: a 0.3% difference must not look like a chasm.
COMPARE_MIN_SPAN = 0.02

# Trace positions in the price figure (the Patch callbacks address traces by index).
TRACE_CANDLES, TRACE_CLOSE, TRACE_VOLUME, TRACE_MODEL = 0, 1, 2, 3
TRACE_BASELINE = {name: TRACE_MODEL + 1 + i for i, name in enumerate(BASELINE_NAMES)}
TRACE_FORECAST = TRACE_MODEL + 1 + len(BASELINE_NAMES)  # then its 95% band, 80% band and the forecast

PRICE_FORMAT = ".2f"
# The model is drawn first so that naive's dashed line stays visible above it.
_BACKTEST_STYLE: dict[str, dict[str, Any]] = {
    MODEL: {"width": 1.8},
    "naive": {"width": 1.5, "dash": "dash"},
    "drift": {"width": 1.2, "dash": "dot"},
    "moving_average": {"width": 1.2, "dash": "dot"},
    "garch": {"width": 1.2, "dash": "dashdot"},
}


def day_strings(dates: pd.Series) -> np.ndarray:
    """Dates as ``YYYY-MM-DD`` text: a third of the bytes of Plotly's nanosecond timestamps, and faster to draw."""
    return pd.to_datetime(dates).dt.strftime("%Y-%m-%d").to_numpy()


def ahead(step: int) -> str:
    """``1 day ahead``, ``3 days ahead``."""
    return f"{step} day{'s' if step > 1 else ''} ahead"


def backtest_name(name: str, step: int) -> str:
    """Legend and hover name of a backtest series."""
    return f"{display_name(name)}, {ahead(step)}"


def backtest_series(predictions: pd.DataFrame, step: int) -> dict[int, dict[str, Any]]:
    """The model's and every baseline's test-period forecasts at ``step``, keyed by trace position: what a
    step change replaces in the price figure (a baseline this run lacks is an empty series)."""
    rows = predictions[predictions["step"] == step].sort_values("target_date")
    dates = day_strings(rows["target_date"])
    series = {TRACE_MODEL: {"x": dates, "y": rows[MODEL].to_numpy(dtype=float), "name": backtest_name(MODEL, step)}}
    for name, index in TRACE_BASELINE.items():
        present = name in rows
        series[index] = {
            "x": dates if present else [],
            "y": rows[name].to_numpy(dtype=float) if present else [],
            "name": backtest_name(name, step),
        }
    return series


def visibility(chart: str, baselines: tuple[str, ...]) -> dict[int, bool]:
    """``{trace index: visible}`` of the traces the chart type and baseline toggles switch."""
    shown = {TRACE_CANDLES: chart == "candles", TRACE_CLOSE: chart != "candles"}
    shown.update({index: name in baselines for name, index in TRACE_BASELINE.items()})
    return shown


def _price_traces(figure: go.Figure, prices: pd.DataFrame | None, predictions: pd.DataFrame) -> None:
    """Candles and a close line of the adjusted prices (one of them visible), and volume below."""
    if prices is None or prices.empty:  # runs without a price snapshot: the backtest's actuals only
        first = predictions[predictions["step"] == predictions["step"].min()].sort_values("target_date")
        prices = pd.DataFrame({"date": first["target_date"], "close": first["actual"]})
        for column in ("open", "high", "low"):
            prices[column] = prices["close"]
        prices["volume"] = np.nan
    dates = day_strings(prices["date"])
    figure.add_trace(
        go.Candlestick(
            x=dates,
            open=prices["open"],
            high=prices["high"],
            low=prices["low"],
            close=prices["close"],
            name="actual price (adjusted OHLC)",
            yhoverformat=PRICE_FORMAT,
            increasing={"line": {"color": COLORS["up"]}, "fillcolor": COLORS["up"]},
            decreasing={"line": {"color": COLORS["down"]}, "fillcolor": COLORS["down"]},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=prices["close"],
            name="actual price (adjusted close)",
            mode="lines",
            line={"color": COLORS["actual"], "width": 1.5},
            hovertemplate=f"%{{y:{PRICE_FORMAT}}}",
        )
    )
    # An area, not bars: one path instead of thousands of rectangles draws several times faster.
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=prices["volume"],
            name="volume",
            yaxis="y2",
            mode="lines",
            fill="tozeroy",
            line={"width": 0, "shape": "hv"},
            fillcolor=COLORS["volume"],
            showlegend=False,
            hovertemplate="%{y:,.0f}",
        )
    )


def _backtest_traces(figure: go.Figure, predictions: pd.DataFrame, step: int) -> None:
    for index, series in sorted(backtest_series(predictions, step).items()):
        name = MODEL if index == TRACE_MODEL else BASELINE_NAMES[index - TRACE_MODEL - 1]
        figure.add_trace(
            go.Scatter(
                x=series["x"],
                y=series["y"],
                name=series["name"],
                mode="lines",
                line={"color": COLORS[name], **_BACKTEST_STYLE[name]},
                hovertemplate=f"%{{y:{PRICE_FORMAT}}}",
            )
        )


def _forecast_traces(figure: go.Figure, forecast: pd.DataFrame | None) -> None:
    """The next trading days beyond the data: 95% and 80% bands and the forecast, starting at the last close."""
    if forecast is None or forecast.empty:
        for _ in range(len(LEVELS) + 1):
            figure.add_trace(go.Scatter(x=[], y=[], showlegend=False))
        return
    rows = forecast.sort_values("step")
    origin_date, origin_price = rows["origin_date"].iloc[0], float(rows["origin_price"].iloc[0])
    x = [f"{origin_date:%Y-%m-%d}", *day_strings(rows["target_date"])]
    for level in sorted(LEVELS, reverse=True):
        lower = [origin_price, *rows[bound_column(level, "lo")]]
        upper = [origin_price, *rows[bound_column(level, "hi")]]
        figure.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=upper + lower[::-1],
                fill="toself",
                mode="lines",
                line={"width": 0},
                fillcolor=FORECAST_BAND_FILL[level],
                name=f"forecast {level}% band",
                hoverinfo="skip",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[origin_price, *rows[FORECAST_COLUMN]],
            mode="lines+markers",
            name=f"{FORECAST_LABEL} (next {len(rows)} days)",
            line={"color": COLORS["forecast"], "width": 2.5},
            marker={"size": 6},
            hovertemplate=f"%{{y:{PRICE_FORMAT}}}",
        )
    )
    figure.add_vline(x=x[0], line={"color": COLORS["forecast"], "dash": "dot", "width": 1})
    figure.add_annotation(
        x=x[0],
        y=1,
        yref="y domain",
        text="forecast →",
        showarrow=False,
        xanchor="right",
        yanchor="top",
        font={"color": COLORS["forecast"], "size": 12},
    )


@functools.lru_cache(maxsize=32)
def _closed_days(start: str, end: str) -> tuple[str, ...]:
    from forecaster.data.trading_days import closed_weekdays

    return tuple(f"{d:%Y-%m-%d}" for d in closed_weekdays(pd.Timestamp(start), pd.Timestamp(end)))


def _date_span(figure: go.Figure) -> tuple[pd.Timestamp, pd.Timestamp]:
    dates = [
        pd.Timestamp(v)
        for trace in figure.data
        if trace.x is not None and len(trace.x)
        for v in (min(trace.x), max(trace.x))
    ]
    return min(dates), max(dates)


def price_figure(
    prices: pd.DataFrame | None,
    predictions: pd.DataFrame,
    forecast: pd.DataFrame | None,
    ticker: str,
    step: int,
    chart: str = "line",
    baselines: tuple[str, ...] = (),
    window: str = DEFAULT_RANGE,
) -> go.Figure:
    """Actual prices, the backtest at ``step``, the chosen baselines and the forecast on one date axis without
    weekends and exchange holidays; volume in a strip below. Opens on ``window`` (a range button's label or
    ``start..end``, ``dashboard.address.x_range``; the last six months by default), the y-axis fitted to it.

    Example:
        >>> rows = pd.DataFrame({"ticker": ["A"] * 2, "step": [1, 1], "actual": [1.0, 2.0],
        ...                      "lstm": [1.1, 1.9], "naive": [0.9, 1.0],
        ...                      "target_date": pd.to_datetime(["2020-01-02", "2020-01-03"])})
        >>> figure = price_figure(None, rows, None, "A", 1, baselines=("naive",))
        >>> [t.name for t in figure.data if t.visible is not False][:4]
        ['actual price (adjusted close)', 'volume', 'LSTM, 1 day ahead', 'naive (tomorrow = today), 1 day ahead']
    """
    figure = go.Figure()
    _price_traces(figure, prices, predictions)
    _backtest_traces(figure, predictions, step)
    _forecast_traces(figure, forecast)
    for index, visible in visibility(chart, baselines).items():
        figure.data[index].visible = visible
    first, last = _date_span(figure)
    end = last + pd.Timedelta(hours=12)
    start, stop = x_range(window, first, end)
    figure.update_layout(
        title={"text": f"{ticker}: prices, backtest and forecast", "font": {"size": 16}},
        hovermode="x unified",
        hoverlabel={"namelength": -1},
        template="plotly_white",
        font={"family": FONT},
        margin={"l": 60, "r": 20, "t": 50, "b": 10},
        height=620,
        legend={"orientation": "h", "y": -0.06, "x": 0, "yanchor": "top"},
        uirevision=ticker,
        xaxis={
            "rangeselector": {"buttons": RANGE_SELECTOR, "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
            "rangeslider": {"visible": False},  # candlesticks would add one; zoom and the buttons suffice
            "rangebreaks": [
                {"bounds": ["sat", "mon"]},
                {"values": list(_closed_days(f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"))},
            ],
            "type": "date",
            "range": [start, stop],
            "minallowed": first,
            "maxallowed": end,
        },
        yaxis={
            "title": "adjusted price",
            "domain": [0.22, 1.0],
            "tickformat": ",.2f",
            "range": visible_range(figure, start, stop),
        },
        yaxis2={"title": "volume", "domain": [0.0, 0.16], "showgrid": False, "rangemode": "tozero"},
    )
    return figure


def visible_range(figure: go.Figure, start: pd.Timestamp, end: pd.Timestamp) -> list[float] | None:
    """The y-range of the price panel's visible traces between ``start`` and ``end``, padded by 5%."""
    low, high = np.inf, -np.inf
    for trace in figure.data:
        if trace.yaxis not in (None, "y") or trace.visible in ("legendonly", False) or trace.x is None:
            continue
        x = pd.to_datetime(pd.Series(trace.x))
        inside = ((x >= start) & (x <= end)).to_numpy()
        columns = (trace.low, trace.high) if trace.type == "candlestick" else (trace.y,)
        for values in columns:
            values = np.asarray(values, dtype=float)[inside]
            if values.size and not np.isnan(values).all():
                low, high = min(low, np.nanmin(values)), max(high, np.nanmax(values))
    if not np.isfinite(low):
        return None
    pad = (high - low) * 0.05 or 1.0
    return [max(0.0, low - pad) if low >= 0 else low - pad, high + pad]  # prices never go below 0


def residual_figures(predictions: pd.DataFrame, ticker: str, step: int) -> tuple[go.Figure, go.Figure]:
    """Residuals (actual - forecast) of the LSTM and naive over time, and their distributions."""
    rows = predictions[predictions["step"] == step].sort_values("target_date")
    over_time, spread = go.Figure(), go.Figure()
    # Naive first and lighter, the model on top: two series that must not look alike.
    for name, style in (("naive", {"color": "#adb5bd", "width": 1}), (MODEL, {"color": COLORS[MODEL], "width": 1.2})):
        residual = rows["actual"] - rows[name]
        over_time.add_trace(
            go.Scatter(
                x=day_strings(rows["target_date"]),
                y=residual,
                name=display_name(name),
                mode="lines",
                line=style,
                hovertemplate=f"%{{y:{PRICE_FORMAT}}}",
            )
        )
        spread.add_trace(
            go.Histogram(
                x=residual,
                name=display_name(name),
                nbinsx=40,
                opacity=0.45 if name == "naive" else 0.75,
                marker={"color": style["color"]},
            )
        )
    common = {
        "template": "plotly_white",
        "font": {"family": FONT},
        "margin": {"t": 50, "b": 40, "l": 60, "r": 10},
        "legend": {"orientation": "h", "y": -0.18, "yanchor": "top", "x": 0},
        "height": 340,
    }
    over_time.update_layout(
        title=f"Residuals over time ({ahead(step)})",
        yaxis_title="actual - forecast",
        hovermode="x unified",
        xaxis={"rangebreaks": [{"bounds": ["sat", "mon"]}]},
        **common,
    )
    spread.update_layout(
        title="Distribution of residuals",
        barmode="overlay",
        xaxis_title="actual - forecast",
        yaxis_title="days",
        **common,
    )
    return over_time, spread


def ratio_to_naive(by_model: dict[str, Any], measure: str, model: str = MODEL) -> float | None:
    """``model``'s ``measure`` over naive's in one (ticker, step) entry of the report."""
    if measure == "rmse":
        return by_model.get(model, {}).get("rmse_ratio_vs_naive")
    ours, theirs = by_model.get(model, {}).get(measure), by_model.get("naive", {}).get(measure)
    return ours / theirs if ours is not None and theirs else None


def compare_figure(report: dict[str, Any], step: int, measure: str = "rmse") -> go.Figure:
    """Every ticker's LSTM ``measure`` over naive's at ``step`` (``COMPARE_MEASURES``), sorted, on an axis
    symmetric around 1 (no narrower than +-2%): below 1 the model helps. The values stand in a column at the
    right of the bars, where no bar can cover them. A click on a ticker opens it."""
    ratios = sorted(
        (ratio, ticker)
        for ticker, entry in report["tickers"].items()
        if str(step) in entry["metrics"] and (ratio := ratio_to_naive(entry["metrics"][str(step)], measure)) is not None
    )
    values = [r for r, _ in ratios]
    names = [t for _, t in ratios]
    colors = [COLORS["up"] if r < 1 else COLORS["down"] if r > 1 else COLORS["naive"] for r in values]
    span = max(COMPARE_MIN_SPAN, max((abs(v - 1) for v in values), default=0) * 1.25)
    figure = go.Figure()
    # Bars grow from 1 (no better, no worse than naive); a marker at each ratio shows ties at exactly 1.
    figure.add_trace(
        go.Bar(
            x=[v - 1 for v in values],
            base=1,
            y=names,
            orientation="h",
            customdata=values,
            marker={"color": colors},
            name="ratio",
            hovertemplate="%{y}: %{customdata:.3f} (click to open)<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=values,
            y=names,
            mode="markers",
            marker={"color": colors, "size": 9, "symbol": "line-ns", "line": {"width": 2, "color": colors}},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[1 + span] * len(values),
            y=names,
            mode="text",
            text=[f"{v:.3f}" for v in values],
            textposition="middle right",
            textfont={"color": colors},
            cliponaxis=False,
            hoverinfo="skip",
            showlegend=False,
            name="value",
        )
    )
    figure.add_vline(x=1.0, line={"color": COLORS["actual"], "dash": "dash", "width": 1})
    helped = sum(r < 1 for r in values)
    label = COMPARE_MEASURES.get(measure, measure)
    figure.update_layout(
        title={
            "text": f"LSTM {label} / naive's, {ahead(step)}<br><sup>below 1 (the model helps) on {helped} of "
            f"{len(values)} tickers; click a bar to open its ticker</sup>",
            "font": {"size": 15},
        },
        template="plotly_white",
        font={"family": FONT},
        height=max(320, 26 * len(values) + 150),
        margin={"l": 80, "t": 70, "r": 60, "b": 60},
        showlegend=False,
        xaxis={
            "title": {"text": "ratio to naive (below 1: lower error)", "font": {"size": 12}},
            "range": [1 - span, 1 + span],
            "tickformat": ".3f",
            "zeroline": False,
            "nticks": 5,
        },
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure


def track_figure(issued: pd.DataFrame, scored: pd.DataFrame, ticker: str, step: int = 1) -> go.Figure:
    """The live record of one ticker: the forecasts issued ``step`` days ahead (the forecast and its 80% band)
    against the prices that then came, and the forecasts still waiting for their day."""
    figure = go.Figure()
    mine = issued[(issued["ticker"] == ticker) & (issued["step"] == step)].sort_values("target_date")
    done = scored[(scored["ticker"] == ticker) & (scored["step"] == step)].sort_values("target_date")
    dates = day_strings(mine["target_date"])
    forecast = mine[FORECAST_COLUMN]
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=forecast,
            mode="markers",
            name=f"{FORECAST_LABEL} as issued, {ahead(step)}",
            marker={"color": COLORS["forecast"], "size": 8},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (mine[bound_column(80, "hi")] - forecast),
                "arrayminus": (forecast - mine[bound_column(80, "lo")]),
                "color": FORECAST_BAND_FILL[80],
                "thickness": 6,
                "width": 0,
            },
            hovertemplate=f"%{{y:{PRICE_FORMAT}}}",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=day_strings(done["target_date"]),
            y=done["actual"],
            mode="lines+markers",
            name="what happened",
            line={"color": COLORS["actual"], "width": 1.5},
            marker={"size": 5},
            hovertemplate=f"%{{y:{PRICE_FORMAT}}}",
        )
    )
    xaxis: dict[str, Any] = {
        "type": "date",
        "tickformat": "%b %-d, %Y",
        "nticks": 6,
        "rangebreaks": [{"bounds": ["sat", "mon"]}],
    }
    if len(mine):
        # A week either side: one or two forecasts must not get an axis ticked in hours.
        first, last = mine["target_date"].min(), mine["target_date"].max()
        xaxis["range"] = [f"{first - pd.Timedelta(days=7):%Y-%m-%d}", f"{last + pd.Timedelta(days=7):%Y-%m-%d}"]
    figure.update_layout(
        title={
            "text": f"{ticker}: forecasts as issued ({ahead(step)}, with the 80% band) and the outcomes",
            "font": {"size": 15},
        },
        template="plotly_white",
        font={"family": FONT},
        hovermode="x unified",
        hoverlabel={"namelength": -1},
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        legend={"orientation": "h", "y": -0.18, "yanchor": "top", "x": 0},
        yaxis={"title": "adjusted price", "tickformat": ",.2f"},
        xaxis=xaxis,
    )
    return figure
