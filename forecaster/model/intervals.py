"""Prediction intervals by split conformal prediction on validation residuals.

The residuals are in the model's scaled space (log change divided by the ticker's
train volatility), so one set of quantiles per step serves every ticker; turned back
into prices, the intervals are wider for volatile tickers and slightly asymmetric.
"""

from __future__ import annotations

import math

import numpy as np

from forecaster.columns import GLOBAL, LEVELS


def conformal_quantiles(y_val: np.ndarray, predicted_val: np.ndarray, levels: tuple[int, ...] = LEVELS
                        ) -> dict[str, list[float]]:
    """Per step, the absolute validation residual not exceeded with probability ``level``.

    Uses the finite-sample rank ceil((n + 1) * level) of n residuals.

    Example:
        >>> q = conformal_quantiles(np.zeros((99, 1)), np.arange(99.0)[:, None] / 98, levels=(80,))
        >>> round(q["80"][0], 3)
        0.806
    """
    residuals = np.abs(y_val - predicted_val)
    out = {}
    for level in levels:
        quantiles = []
        for step in range(residuals.shape[1]):
            values = np.sort(residuals[:, step][~np.isnan(residuals[:, step])])
            rank = min(math.ceil((len(values) + 1) * level / 100), len(values))
            quantiles.append(float(values[rank - 1]))
        out[str(level)] = quantiles
    return out


def interval_prices(origin_price: np.ndarray, scaled: np.ndarray, target_scale: np.ndarray,
                    width: np.ndarray | list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper price bounds (n, horizon) around scaled predictions.

    ``width`` is the scaled half-width: one value per step, or one per window and step.
    """
    width = np.asarray(width)
    width = width[None, :] if width.ndim == 1 else width
    scale = target_scale[:, None]
    lower = origin_price[:, None] * np.exp((scaled - width) * scale)
    upper = origin_price[:, None] * np.exp((scaled + width) * scale)
    return lower, upper


def interval_widths(quantiles: dict[str, dict[str, list[float]]], tickers: np.ndarray, horizon: int
                    ) -> dict[str, np.ndarray]:
    """Per level, the scaled half-widths (n, horizon) for windows of ``tickers``: the global model's
    quantiles (``quantiles`` keyed by ``columns.GLOBAL``), or each ticker's own (NaN for a ticker without
    a model)."""
    shape = (len(tickers), horizon)
    if GLOBAL in quantiles:
        return {level: np.broadcast_to(np.asarray(q, np.float64)[None, :], shape)
                for level, q in quantiles[GLOBAL].items()}
    widths = {level: np.full(shape, np.nan) for level in next(iter(quantiles.values()))}
    for ticker, by_level in quantiles.items():
        mask = tickers == ticker
        for level, q in by_level.items():
            widths[level][mask] = np.asarray(q)[None, :]
    return widths
