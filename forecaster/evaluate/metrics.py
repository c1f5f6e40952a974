"""Forecast error metrics. Inputs are prices; NaN pairs are ignored."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _valid(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~(np.isnan(actual) | np.isnan(predicted))
    return actual[keep], predicted[keep]


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error, in price units."""
    a, p = _valid(actual, predicted)
    return float(np.sqrt(np.mean((a - p) ** 2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error, in price units."""
    a, p = _valid(actual, predicted)
    return float(np.mean(np.abs(a - p)))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error, in percent.

    Example:
        >>> round(mape(np.array([100.0, 200.0]), np.array([110.0, 190.0])), 6)
        7.5
    """
    a, p = _valid(actual, predicted)
    return float(np.mean(np.abs((a - p) / a)) * 100)


def directional_accuracy(origin: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> float | None:
    """Share of forecasts whose direction from the origin price matches the actual move.

    None when the forecast never calls a direction (the naive forecast never does).
    """
    keep = ~(np.isnan(actual) | np.isnan(predicted))
    called = np.sign(predicted[keep] - origin[keep])
    if not np.any(called):
        return None
    return float(np.mean(called == np.sign(actual[keep] - origin[keep])))


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric mean absolute percentage error, in percent (0..200)."""
    a, p = _valid(actual, predicted)
    return float(np.mean(2 * np.abs(p - a) / (np.abs(a) + np.abs(p))) * 100)


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float | None:
    """Mean absolute scaled error: MAE over ``scale``, the in-sample MAE of one-step naive forecasts.

    Below 1 beats what naive did on the training days. None when the training prices never moved.
    """
    return mae(actual, predicted) / scale if scale > 0 else None


def lag1_share(origin: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of forecasts closer to the origin day's price than to the actual target.

    The classic sign of an LSTM that only echoes the last price: near 1 means the
    forecast tracks yesterday, not tomorrow.
    """
    keep = ~(np.isnan(actual) | np.isnan(predicted))
    return float(np.mean(np.abs(predicted[keep] - origin[keep]) < np.abs(predicted[keep] - actual[keep])))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper]."""
    keep = ~np.isnan(actual)
    return float(np.mean((actual[keep] >= lower[keep]) & (actual[keep] <= upper[keep])))


def naive_scales(train: pd.DataFrame) -> dict[str, float]:
    """Per ticker, MASE's scale: the mean absolute one-day change of the adjusted close over ``train`` rows
    (ticker, adj_close, in date order within each ticker)."""
    changes = train.groupby("ticker", observed=True)["adj_close"].diff().abs()
    return {str(t): float(v) for t, v in changes.groupby(train["ticker"], observed=True).mean().items()}
