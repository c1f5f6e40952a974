"""Pure functions from artifacts to Plotly figures and table rows: no Dash, no I/O."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from forecaster.columns import BASELINE_NAMES, bound_column
from forecaster.columns import MODEL_NAME as MODEL

METRIC_NAMES = ("rmse", "mae", "mape", "smape", "mase", "directional_accuracy")
#: Scores of the forecasts with bands (LSTM, naive, GARCH); ``pinball`` and ``lag1_share`` are the LSTM's only.
INTERVAL_METRICS = ("coverage_80", "coverage_95", "width_80", "width_95", "interval_score_80", "interval_score_95",
                    "pinball", "lag1_share")
#: What the Compare tab ranks tickers by: the LSTM's ratio to naive of each.
COMPARE_MEASURES = {"rmse": "RMSE", "interval_score_80": "80% interval score",
                    "interval_score_95": "95% interval score"}
CHART_TYPES = ("candles", "line")
COLORS = {"actual": "#222222", MODEL: "#1f77b4", "naive": "#7f7f7f", "drift": "#ff7f0e",
          "moving_average": "#2ca02c", "garch": "#9467bd", "forecast": "#d62728"}
RANGE_BUTTONS = [
    {"count": 1, "label": "1M", "step": "month", "stepmode": "backward"},
    {"count": 6, "label": "6M", "step": "month", "stepmode": "backward"},
    {"count": 1, "label": "YTD", "step": "year", "stepmode": "todate"},
    {"count": 1, "label": "1Y", "step": "year", "stepmode": "backward"},
    {"label": "All", "step": "all"},
]


def _ahead(step: int) -> str:
    return f"{step} day{'s' if step > 1 else ''} ahead"


def _actual_traces(figure: go.Figure, prices: pd.DataFrame | None, predictions: pd.DataFrame, chart: str) -> None:
    """Actual adjusted prices (candles or a line) on row 1 and volume on row 2."""
    if prices is None or prices.empty:  # runs without a price snapshot: the backtest's actuals only
        actual = predictions[predictions["step"] == predictions["step"].min()].sort_values("target_date")
        figure.add_trace(go.Scattergl(x=actual["target_date"], y=actual["actual"], name="actual", mode="lines",
                                      line={"color": COLORS["actual"]}), row=1, col=1)
        return
    if chart == "candles":
        figure.add_trace(go.Candlestick(x=prices["date"], open=prices["open"], high=prices["high"],
                                        low=prices["low"], close=prices["close"], name="actual (adjusted OHLC)"),
                         row=1, col=1)
    else:
        # WebGL traces keep long series responsive.
        figure.add_trace(go.Scattergl(x=prices["date"], y=prices["close"], name="actual (adjusted close)",
                                      mode="lines", line={"color": COLORS["actual"], "width": 1.5}), row=1, col=1)
    figure.add_trace(go.Bar(x=prices["date"], y=prices["volume"], name="volume", marker={"color": "#b0b0b0"},
                            showlegend=False), row=2, col=1)


def _forecast_traces(figure: go.Figure, forecast: pd.DataFrame) -> None:
    """The forecast beyond the last day with its 95% and 80% bands, clearly marked."""
    rows = forecast.sort_values("step")
    origin_date, origin_price = rows["origin_date"].iloc[0], float(rows["origin_price"].iloc[0])
    x = [origin_date, *rows["target_date"]]
    for level, opacity in (("95", 0.15), ("80", 0.3)):
        lower = [origin_price, *rows[bound_column(level, "lo")]]
        upper = [origin_price, *rows[bound_column(level, "hi")]]
        figure.add_trace(go.Scatter(x=x + x[::-1], y=upper + lower[::-1], fill="toself", mode="lines",
                                    line={"width": 0}, fillcolor=f"rgba(214,39,40,{opacity})",
                                    name=f"forecast {level}% interval", hoverinfo="skip"), row=1, col=1)
    figure.add_trace(go.Scatter(x=x, y=[origin_price, *rows[MODEL]], name=f"forecast (next {len(rows)} days)",
                                mode="lines+markers", line={"color": COLORS["forecast"], "dash": "dash"}),
                     row=1, col=1)
    figure.add_vline(x=origin_date, line={"color": COLORS["forecast"], "dash": "dot", "width": 1}, row=1, col=1)
    figure.add_annotation(x=origin_date, y=1, yref="y domain", text="forecast →", showarrow=False,
                          xanchor="left", font={"color": COLORS["forecast"]})


def price_figure(prices: pd.DataFrame | None, predictions: pd.DataFrame, forecast: pd.DataFrame | None,
                 ticker: str, step: int, chart: str = "line", baselines: tuple[str, ...] = ()) -> go.Figure:
    """Actual prices, the backtest for ``step``, chosen baselines and the forecast; volume below.

    Example:
        >>> rows = pd.DataFrame({"ticker": ["A"] * 2, "step": [1, 1], "actual": [1.0, 2.0],
        ...                      "lstm": [1.1, 1.9], "naive": [0.9, 1.0],
        ...                      "target_date": pd.to_datetime(["2020-01-02", "2020-01-03"])})
        >>> [trace.name for trace in price_figure(None, rows, None, "A", 1, baselines=("naive",)).data]
        ['actual', 'LSTM (1 day ahead)', 'naive (1 day ahead)']
    """
    backtest = predictions[predictions["step"] == step].sort_values("target_date")
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.78, 0.22], vertical_spacing=0.03)
    _actual_traces(figure, prices, backtest, chart)
    figure.add_trace(go.Scattergl(x=backtest["target_date"], y=backtest[MODEL], name=f"LSTM ({_ahead(step)})",
                                  mode="lines", line={"color": COLORS[MODEL]}), row=1, col=1)
    for name in (b for b in baselines if b in backtest):
        figure.add_trace(go.Scattergl(x=backtest["target_date"], y=backtest[name], name=f"{name} ({_ahead(step)})",
                                      mode="lines", line={"color": COLORS[name], "dash": "dot"}), row=1, col=1)
    if forecast is not None and not forecast.empty:
        _forecast_traces(figure, forecast)
    figure.update_layout(
        title=f"{ticker}: adjusted prices, backtest forecasts and the forecast beyond the data",
        hovermode="x unified", template="plotly_white", margin={"l": 60, "r": 20, "t": 60, "b": 30},
        legend={"orientation": "h", "y": -0.12}, uirevision=ticker,
        xaxis={"rangeselector": {"buttons": RANGE_BUTTONS}, "rangeslider": {"visible": False}},
        xaxis2={"rangeslider": {"visible": True, "thickness": 0.06}, "type": "date"},
        yaxis={"title": "adjusted price"}, yaxis2={"title": "volume"},
    )
    start = backtest["target_date"].min() - pd.Timedelta(days=90) if len(backtest) else None
    end = forecast["target_date"].max() + pd.Timedelta(days=5) if forecast is not None and len(forecast) else None
    if start is not None:
        figure.update_xaxes(range=[start, end or backtest["target_date"].max()])
        figure.update_yaxes(range=visible_range(figure, start, end or backtest["target_date"].max()), row=1, col=1)
    return figure


def visible_range(figure: go.Figure, start: pd.Timestamp, end: pd.Timestamp) -> list[float] | None:
    """The y-range of the price panel's traces between ``start`` and ``end``, padded by 5%."""
    low, high = np.inf, -np.inf
    for trace in figure.data:
        if trace.yaxis not in (None, "y") or trace.visible in ("legendonly", False):
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
    return [low - pad, high + pad]


def residual_figures(predictions: pd.DataFrame, ticker: str, step: int) -> tuple[go.Figure, go.Figure]:
    """Residuals (actual - forecast) of the LSTM and naive over time, and their distributions."""
    rows = predictions[predictions["step"] == step].sort_values("target_date")
    over_time, spread = go.Figure(), go.Figure()
    for name, color in ((MODEL, COLORS[MODEL]), ("naive", COLORS["naive"])):
        residual = rows["actual"] - rows[name]
        label = "LSTM" if name == MODEL else name
        over_time.add_trace(go.Scattergl(x=rows["target_date"], y=residual, name=label, mode="lines",
                                         line={"color": color, "width": 1}))
        spread.add_trace(go.Histogram(x=residual, name=label, opacity=0.6, marker={"color": color}, nbinsx=40))
    over_time.update_layout(title=f"{ticker}: residuals over time ({_ahead(step)})", template="plotly_white",
                            yaxis_title="actual - forecast", margin={"t": 50, "b": 30})
    spread.update_layout(title="distribution of residuals", barmode="overlay", template="plotly_white",
                         xaxis_title="actual - forecast", margin={"t": 50, "b": 30})
    return over_time, spread


def _ratio(by_model: dict[str, Any], measure: str) -> float | None:
    """The LSTM's ``measure`` over naive's in one (ticker, step) entry."""
    if measure == "rmse":
        return by_model[MODEL]["rmse_ratio_vs_naive"]
    ours, theirs = by_model[MODEL].get(measure), by_model.get("naive", {}).get(measure)
    return ours / theirs if ours is not None and theirs else None


def compare_figure(report: dict[str, Any], step: int, measure: str = "rmse") -> go.Figure:
    """Every ticker's LSTM ``measure`` over naive's at ``step`` (``COMPARE_MEASURES``), sorted: below 1 the model
    helps."""
    ratios = sorted((ratio, ticker) for ticker, entry in report["tickers"].items()
                    if str(step) in entry["metrics"]
                    and (ratio := _ratio(entry["metrics"][str(step)], measure)) is not None)
    values = [r for r, _ in ratios]
    names = [t for _, t in ratios]
    colors = ["#2ca02c" if r < 1 else "#d62728" for r in values]
    # Bars grow from 1 (no better, no worse than naive), so differences of a few percent show.
    figure = go.Figure(go.Bar(x=[v - 1 for v in values], base=1, y=names, orientation="h", customdata=values,
                              marker={"color": colors}, hovertemplate="%{y}: %{customdata:.4f}<extra></extra>"))
    figure.add_vline(x=1.0, line={"color": "#222", "dash": "dash"})
    helped = sum(r < 1 for r in values)
    label = COMPARE_MEASURES.get(measure, measure)
    figure.update_layout(
        title=f"LSTM {label} / naive {label}, {_ahead(step)}: below 1 on {helped} of {len(values)} tickers",
        template="plotly_white", height=max(320, 16 * len(values) + 120), margin={"l": 80, "t": 60},
        xaxis_title=f"{label} ratio to naive (lower is better)", yaxis={"autorange": "reversed"},
    )
    return figure


def metrics_rows(report: dict[str, Any], ticker: str) -> list[dict[str, Any]]:
    """Table rows for one ticker: per step, the model beside each baseline; the lowest RMSE is marked."""
    rows = []
    for step, by_model in report["tickers"][ticker]["metrics"].items():
        names = [n for n in (MODEL, *BASELINE_NAMES) if n in by_model]
        best = min(names, key=lambda n: by_model[n]["rmse"])
        for name in names:
            entry = by_model[name]
            rows.append({
                "step": int(step), "forecast": name, "best": "★ lowest RMSE" if name == best else "",
                **{metric: _rounded(entry.get(metric)) for metric in (*METRIC_NAMES, "rmse_ratio_vs_naive")},
                **{metric: _rounded(entry.get(metric)) for metric in INTERVAL_METRICS},
            })
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
