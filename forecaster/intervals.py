"""Prediction intervals by split conformal prediction on validation residuals.

The residuals are in the model's scaled space (log change divided by the ticker's
train volatility), so one set of quantiles per step serves every ticker; turned back
into prices, the intervals are wider for volatile tickers and slightly asymmetric.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = (80, 95)


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
