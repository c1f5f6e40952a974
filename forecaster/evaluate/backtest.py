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
from forecaster.model import intervals
from forecaster.prepare.windows import Windows


@dataclass
class ModelOutputs:
    """What turns the model's scaled quantiles of some windows into prices: per window and step (n, horizon)
    the shrinkage of the median and each level's calibration correction (``forecaster.model.intervals``)."""

    quantiles: np.ndarray  # (n, horizon, Q) scaled log change
    shrink: np.ndarray  # (n, horizon)
    corrections: dict[int, np.ndarray]  # level -> (n, horizon), or (n, horizon, 2) per end


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


def forecast_frame(windows: Windows, forecasts: dict[str, np.ndarray], rows: np.ndarray | None = None) -> pd.DataFrame:
    """Long frame, one row per window and step: dates, origin price, actual, and each forecast column.

    ``rows``: which (window, step) pairs, in which order, as positions ``step * len(windows) + window`` (steps
    stacked); all of them by default. Each column is gathered once, straight into its place.
    """
    target_date, target_price = windows.targets()
    n, horizon = target_price.shape
    flat = np.arange(n * horizon) if rows is None else rows
    window, step = flat % n, flat // n
    cell = window * horizon + step  # each (window, step) in a C-ordered (n, horizon) array: one take per column

    def taken(values: np.ndarray) -> np.ndarray:
        return np.take(values.reshape(-1), cell)

    tickers = windows.ticker.astype(str).astype(object)  # once: each step's rows share the names
    # Fresh arrays, each kept as its own column (copy=False): gathering them into one block would copy
    # every number once more (1.5 s at 3 million rows).
    return pd.DataFrame(
        {
            "ticker": tickers[window],
            "origin_date": windows.origin_date[window],
            "target_date": taken(target_date),
            "step": step + 1,
            "origin_price": windows.origin_price[window],
            "actual": taken(target_price),
            **{name: taken(values) for name, values in forecasts.items()},
        },
        copy=False,
    )


def predictions_frame(windows: Windows, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Backtest rows that have an actual price, sorted by ticker, step and target date (``metrics.sort_series``'s
    order, found on the arrays: sorting the long frame afterwards copies every column once more)."""
    target_date, target_price = windows.targets()
    n, horizon = target_price.shape
    known = np.flatnonzero(~np.isnan(target_price.T.ravel()))  # steps stacked, as ``forecast_frame``
    window, step = known % n, known // n
    ticker = pd.factorize(windows.ticker.astype(str), sort=True)[0]
    day = target_date[window, step].astype("datetime64[ns]")
    return forecast_frame(windows, forecasts, known[np.lexsort((day, step, ticker[window]))])
