"""Pure functions from artifacts to Plotly figures and table rows: no Dash, no I/O."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

MODEL = "lstm"
BASELINE_NAMES = ("naive", "drift", "moving_average")
METRIC_NAMES = ("rmse", "mae", "mape", "smape", "mase", "directional_accuracy")


def prediction_figure(predictions: pd.DataFrame, ticker: str, step: int) -> go.Figure:
    """Actual adjusted close against the model's and the naive baseline's ``step``-ahead backtest.

    Example:
        >>> rows = pd.DataFrame({"ticker": ["A"] * 2, "step": [1, 1], "actual": [1.0, 2.0],
        ...                      "lstm": [1.1, 1.9], "naive": [0.9, 1.0],
        ...                      "target_date": pd.to_datetime(["2020-01-02", "2020-01-03"])})
        >>> [trace.name for trace in prediction_figure(rows, "A", 1).data]
        ['actual', 'LSTM (1 day ahead)', 'naive (1 day ahead)']
    """
    rows = predictions[(predictions["ticker"] == ticker) & (predictions["step"] == step)]
    rows = rows.sort_values("target_date")
    ahead = f"{step} day{'s' if step > 1 else ''} ahead"
    figure = go.Figure()
    # WebGL traces keep long series responsive.
    figure.add_trace(go.Scattergl(x=rows["target_date"], y=rows["actual"], name="actual",
                                  mode="lines", line={"color": "#222", "width": 2}))
    figure.add_trace(go.Scattergl(x=rows["target_date"], y=rows[MODEL], name=f"LSTM ({ahead})",
                                  mode="lines", line={"color": "#1f77b4"}))
    for name in (b for b in BASELINE_NAMES if b in rows):
        figure.add_trace(go.Scattergl(x=rows["target_date"], y=rows[name], name=f"{name} ({ahead})",
                                      mode="lines", line={"dash": "dot"}, visible="legendonly"))
    figure.update_layout(
        title=f"{ticker}: adjusted close, actual vs backtest forecasts",
        xaxis_title="target date", yaxis_title="adjusted close", hovermode="x unified",
        margin={"l": 60, "r": 20, "t": 60, "b": 40}, legend={"orientation": "h", "y": -0.15},
        template="plotly_white",
    )
    return figure


def metrics_rows(report: dict[str, Any], ticker: str) -> list[dict[str, Any]]:
    """Table rows for one ticker: per step, the model beside each baseline, ratio to naive."""
    rows = []
    for step, by_model in report["tickers"][ticker]["metrics"].items():
        naive_rmse = by_model["naive"]["rmse"]
        for name in (n for n in (MODEL, *BASELINE_NAMES) if n in by_model):
            entry = by_model[name]
            rows.append({
                "step": int(step), "forecast": name,
                **{metric: _rounded(entry.get(metric)) for metric in METRIC_NAMES},
                "rmse_vs_naive": _rounded(entry["rmse"] / naive_rmse),
            })
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
