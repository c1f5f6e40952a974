"""The model's scaled outputs and the baselines as prices, in the long frames the report and the dashboard read.

``predictions_frame`` is the backtest (one row per window and step with an actual price);
``forecast_beyond`` the next trading days after each ticker's last day, dated on the exchange calendar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecaster.columns import MODEL_NAME, QUANTILES, bound_column, quantile_column
from forecaster.data.trading_days import next_sessions
from forecaster.evaluate.baselines import all_baselines, naive_bands
from forecaster.evaluate.metrics import sort_series
from forecaster.model import intervals
from forecaster.prepare.windows import Windows


@dataclass
class ModelOutputs:
    """What turns the model's scaled quantiles of some windows into prices: per window and step (n, horizon)
    the shrinkage of the median and each level's calibration correction (``forecaster.model.intervals``)."""

    quantiles: np.ndarray  # (n, horizon, Q) scaled log change
    shrink: np.ndarray  # (n, horizon)
    corrections: dict[int, np.ndarray]  # level -> (n, horizon)


def model_prices(windows: Windows, outputs: ModelOutputs) -> dict[str, np.ndarray]:
    """The model's columns for ``windows``: the point forecast (the shrunk median), its raw quantiles and its
    calibrated bands, in prices; each (n, horizon)."""
    to_price = lambda scaled: intervals.interval_prices(windows.origin_price, scaled, windows.target_scale)  # noqa: E731
    columns = {MODEL_NAME: to_price(outputs.shrink * outputs.quantiles[..., QUANTILES.index(0.5)])}
    for i, q in enumerate(QUANTILES):
        columns[quantile_column(q)] = to_price(outputs.quantiles[..., i])
    for level, (lower, upper) in intervals.calibrated_bands(outputs.quantiles, outputs.corrections).items():
        columns[bound_column(level, "lo")], columns[bound_column(level, "hi")] = to_price(lower), to_price(upper)
    return columns


def price_forecasts(
    windows: Windows,
    outputs: ModelOutputs,
    ma_window: int,
    naive_quantiles: dict[str, list[list[float]]],
    garch: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Every forecast column for ``windows``: the model's, and each baseline's with the bands of ``naive``
    and ``garch`` (``garch``: ``forecaster.evaluate.garch.forecasts`` for these windows, when fitted)."""
    return {
        **model_prices(windows, outputs),
        **all_baselines(windows, ma_window),
        **naive_bands(windows, naive_quantiles),
        **(garch or {}),
    }


def forecast_beyond(last: Windows, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The next ``horizon`` trading days after each ticker's last day, from the forecast ``columns`` of the
    ``last`` windows (one per ticker), dated on the exchange calendar."""
    frame = forecast_frame(last, columns)
    horizon = last.y.shape[1]
    # Most tickers end on the same day: the calendar is asked once per last day.
    sessions = {origin: next_sessions(origin, horizon) for origin in frame["origin_date"].drop_duplicates()}
    frame["target_date"] = [
        sessions[origin][step - 1] for origin, step in zip(frame["origin_date"], frame["step"], strict=True)
    ]
    return frame.drop(columns=["actual"]).sort_values(["ticker", "step"], ignore_index=True)


def forecast_frame(windows: Windows, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame, one row per window and step: dates, origin price, actual, and each forecast column."""
    horizon = windows.target_price.shape[1]
    tickers = windows.ticker.astype(str).astype(object)  # once: each step's rows share the names
    frames = []
    for step in range(horizon):
        frames.append(
            pd.DataFrame(
                {
                    "ticker": tickers,
                    "origin_date": windows.origin_date,
                    "target_date": windows.target_date[:, step],
                    "step": step + 1,
                    "origin_price": windows.origin_price,
                    "actual": windows.target_price[:, step],
                    **{name: values[:, step] for name, values in forecasts.items()},
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def predictions_frame(windows: Windows, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Backtest rows that have an actual price, sorted by ticker, step and target date."""
    frame = forecast_frame(windows, forecasts)
    return sort_series(frame[frame["actual"].notna()])[0]
