"""The model's scaled outputs and the baselines as prices, in the long frames the report and the dashboard read.

``predictions_frame`` is the backtest (one row per window and step with an actual price);
``forecast_beyond`` the next trading days after each ticker's last day, dated on the exchange calendar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.columns import MODEL_NAME, bound_column
from forecaster.data.trading_days import next_sessions
from forecaster.evaluate.baselines import all_baselines
from forecaster.model.intervals import interval_prices
from forecaster.prepare.windows import Windows


def price_forecasts(windows: Windows, scaled: np.ndarray, widths: dict[str, np.ndarray],
                    ma_window: int) -> dict[str, np.ndarray]:
    """The model's prices, its interval bounds (``widths``: scaled half-widths per level) and every baseline,
    for ``windows``; each (n, horizon)."""
    forecasts = {MODEL_NAME: windows.to_prices(scaled)}
    for level, width in widths.items():
        lower, upper = interval_prices(windows.origin_price, scaled, windows.target_scale, width)
        forecasts[bound_column(level, "lo")], forecasts[bound_column(level, "hi")] = lower, upper
    forecasts.update(all_baselines(windows, ma_window))
    return forecasts


def forecast_beyond(last: Windows, scaled: np.ndarray, widths: dict[str, np.ndarray], ma_window: int
                    ) -> pd.DataFrame:
    """The next ``horizon`` trading days after each ticker's last day, with intervals, from the
    model's ``scaled`` outputs for the ``last`` windows (one per ticker)."""
    frame = forecast_frame(last, price_forecasts(last, scaled, widths, ma_window))
    horizon = last.y.shape[1]
    for ticker, origin in zip(last.ticker, last.origin_date, strict=True):
        days = next_sessions(origin, horizon)
        rows = frame.index[frame["ticker"] == str(ticker)]
        frame.loc[rows, "target_date"] = [days[s - 1] for s in frame.loc[rows, "step"]]
    return frame.drop(columns=["actual"]).sort_values(["ticker", "step"], ignore_index=True)


def forecast_frame(windows: Windows, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame, one row per window and step: dates, origin price, actual, and each forecast column."""
    horizon = windows.target_price.shape[1]
    frames = []
    for step in range(horizon):
        frames.append(pd.DataFrame({
            "ticker": windows.ticker.astype(str),
            "origin_date": windows.origin_date,
            "target_date": windows.target_date[:, step],
            "step": step + 1,
            "origin_price": windows.origin_price,
            "actual": windows.target_price[:, step],
            **{name: values[:, step] for name, values in forecasts.items()},
        }))
    return pd.concat(frames, ignore_index=True)


def predictions_frame(windows: Windows, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Backtest rows that have an actual price, sorted by ticker, step and target date."""
    frame = forecast_frame(windows, forecasts)
    frame = frame[frame["actual"].notna()]
    return frame.sort_values(["ticker", "step", "target_date"], ignore_index=True)


