"""Baseline forecasts every model metric is shown beside.

Each takes the windows and returns prices of shape (n, horizon), on the same
origins and target dates as the model's predictions.
"""

from __future__ import annotations

import numpy as np

from forecaster.windows import Windows


def naive(windows: Windows) -> np.ndarray:
    """"Tomorrow = today": every step forecasts the origin day's adjusted close.

    On daily prices this random-walk forecast is hard to beat.
    """
    horizon = windows.target_price.shape[1]
    return np.repeat(windows.origin_price[:, None], horizon, axis=1)


BASELINES = {"naive": naive}
