"""Baseline forecasts every model metric is shown beside.

Each takes the windows and returns prices of shape (n, horizon), on the same
origins and target dates as the model's predictions, using only prices up to
each origin.
"""

from __future__ import annotations

import numpy as np

from forecaster.columns import BASELINE_NAMES
from forecaster.config import DEFAULT_MA_WINDOW
from forecaster.prepare.windows import Windows

__all__ = ["BASELINE_NAMES", "all_baselines", "drift", "moving_average", "naive"]


def _horizon(windows: Windows) -> int:
    return windows.target_price.shape[1]


def naive(windows: Windows) -> np.ndarray:
    """"Tomorrow = today": every step forecasts the origin day's adjusted close.

    On daily prices this random-walk forecast is hard to beat.
    """
    return np.repeat(windows.origin_price[:, None], _horizon(windows), axis=1)


def drift(windows: Windows) -> np.ndarray:
    """The origin price plus the average daily change over the lookback window, per step ahead."""
    history = windows.history(windows.lookback)
    if windows.lookback < 2:
        return naive(windows)
    slope = (history[:, -1] - history[:, 0]) / (windows.lookback - 1)
    steps = np.arange(1, _horizon(windows) + 1)
    return windows.origin_price[:, None] + slope[:, None] * steps[None, :]


def moving_average(windows: Windows, days: int = DEFAULT_MA_WINDOW) -> np.ndarray:
    """The mean adjusted close of the last ``days`` days (at most the lookback), for every step."""
    mean = windows.history(min(days, windows.lookback)).mean(axis=1)
    return np.repeat(mean[:, None], _horizon(windows), axis=1)


def all_baselines(windows: Windows, ma_window: int = DEFAULT_MA_WINDOW) -> dict[str, np.ndarray]:
    """Every baseline's forecasts for ``windows``, by name."""
    return {"naive": naive(windows), "drift": drift(windows), "moving_average": moving_average(windows, ma_window)}
