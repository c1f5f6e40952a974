"""Prediction intervals that keep their promise out of time: conformalised quantile regression (Romano et al.,
2019), normalised by the model's own predicted spread, recalibrated online.

The model forecasts quantiles of the scaled log change (``network.QUANTILES``). For a ``level``% band it
forecasts an inner pair ``(lo, hi)`` (the 10% and 90% quantiles for 80%) and a spread ``w`` (half the 10-90%
width). Each outcome ``y`` that becomes known gives a score ``E = max(lo - y, y - hi) / w``: how far outside
(positive) or inside (negative) the raw band it fell, in units of the model's own spread. The calibrated band
is ``[lo - c w, hi + c w]``, with ``c`` the conformal quantile of the scores known so far.

Online: at each origin ``t`` the scores are those of the ticker's validation windows and of every backtest
window whose target date is on or before ``t`` - never a later one - and only the last ``CALIBRATION_WINDOW``
of them. When volatility changes, the model's spread follows what its volatility inputs show, and the
rolling scores correct what it misses within weeks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import GLOBAL, LEVELS

#: Scores (one per past outcome, per ticker and step) that calibrate each band: about a year of trading days.
CALIBRATION_WINDOW = 250
#: Fewer known scores than this: the band stays as the model's raw quantiles say (c = 0).
MIN_SCORES = 20
#: Index of each level's inner quantile pair in ``network.QUANTILES`` (0.025, 0.1, 0.5, 0.9, 0.975).
BAND_INDEX = {80: (1, 3), 95: (0, 4)}


def spread(quantiles: np.ndarray) -> np.ndarray:
    """The model's own scale of each forecast: half its 10%-90% width (> 0: the quantiles never cross)."""
    return np.maximum((quantiles[..., 3] - quantiles[..., 1]) / 2, 1e-6)


def scores(y: np.ndarray, quantiles: np.ndarray, level: int) -> np.ndarray:
    """Normalised conformity scores (n, horizon) of outcomes ``y`` (n, horizon; NaN where unknown) against
    quantile forecasts (n, horizon, Q)."""
    lo, hi = (quantiles[..., i] for i in BAND_INDEX[level])
    return np.maximum(lo - y, y - hi) / spread(quantiles)


def conformal_rank(n: Any, level: int) -> Any:
    """The rank (1 = smallest) of the score among ``n`` that covers ``level``% of exchangeable new ones:
    ceil((n + 1) level), at most n; ``n`` a count or an array of counts.

    Example:
        >>> conformal_rank(99, 80), conformal_rank(np.array([9, 99]), 80).tolist()
        (80, [8, 80])
    """
    rank = np.minimum(n, np.ceil((np.asarray(n) + 1) * level / 100)).astype(int)
    return int(rank) if np.ndim(rank) == 0 else rank


def calibrated_bands(quantiles: np.ndarray, corrections: dict[int, np.ndarray]) -> dict[int, tuple[np.ndarray, ...]]:
    """Per level, the band (lower, upper), each (n, horizon) in scaled log change, from the raw quantiles and
    the correction ``c`` (n, horizon) of each window and step."""
    w = spread(quantiles)
    bands = {}
    for level, c in corrections.items():
        lo, hi = (quantiles[..., i] for i in BAND_INDEX[level])
        bands[level] = (lo - c * w, hi + c * w)
    return bands


def rolling_corrections(known: pd.DataFrame, origins: pd.DataFrame, window: int = CALIBRATION_WINDOW
                        ) -> dict[int, np.ndarray]:
    """The correction ``c`` of each origin and step, from the scores known on the origin's day.

    ``known``: one row per past outcome - ticker, step, target_date (when the outcome became known) and
    ``score80``, ``score95`` - validation windows and backtest windows alike. ``origins``: ticker,
    origin_date, one row per window to calibrate. Returns per level an array (len(origins), horizon).
    Only scores with ``target_date <= origin_date`` are used: an interval never sees a later outcome.
    """
    steps = sorted(known["step"].unique()) if len(known) else []
    horizon = max(steps) if steps else 0
    out = {level: np.zeros((len(origins), horizon)) for level in LEVELS}
    origin_date = pd.to_datetime(origins["origin_date"]).to_numpy("datetime64[ns]")
    # Each ticker's origins, found once: a comparison with every origin per ticker and step grows with the
    # square of the number of tickers.
    by_ticker = pd.Series(np.arange(len(origins))).groupby(origins["ticker"].astype(str).to_numpy()).indices
    # Sorted once by day within each ticker and step; then each group is a run of positions.
    known = known.sort_values(["ticker", "step", "target_date"], kind="stable")
    every_date = pd.to_datetime(known["target_date"]).to_numpy("datetime64[ns]")
    every_score = np.column_stack([known[f"score{level}"].to_numpy(np.float64) for level in LEVELS])
    for (ticker, step), positions in known.groupby(["ticker", "step"], sort=False).indices.items():
        mask = by_ticker.get(str(ticker))
        if mask is None:
            continue
        # How many scores are known at each origin: those dated on or before it.
        known_count = np.searchsorted(every_date[positions], origin_date[mask], side="right")
        columns = every_score[positions]
        for level, values in zip(LEVELS, _window_quantiles(columns, known_count, window).T, strict=True):
            out[level][mask, int(step) - 1] = values
    return out


def _window_quantiles(values: np.ndarray, known_count: np.ndarray, window: int) -> np.ndarray:
    """For each count k and each level's column of ``values`` (scores in time order, one column per level of
    ``LEVELS``): the conformal quantile of the last ``window`` of the first k scores; 0 with fewer than
    ``MIN_SCORES``. Returns (len(known_count), len(LEVELS))."""
    n = len(values)
    out = np.zeros((len(known_count), len(LEVELS)))
    if n == 0:
        return out
    held = np.minimum(known_count, window)  # scores in each origin's window
    last = np.clip(known_count - 1, 0, n - 1)
    needed, which = np.unique(last, return_inverse=True)  # the windows some origin uses: only those are sorted
    for j, level in enumerate(LEVELS):
        padded = np.concatenate([np.full(window - 1, np.inf), values[:, j]])
        # Row i: the window of scores ending with score needed[i], sorted (the padding sorts last).
        rows = np.sort(np.lib.stride_tricks.sliding_window_view(padded, window)[needed], axis=1)
        rank = np.where(held > 0, conformal_rank(held, level), 1)  # 1 where nothing is known: that origin gets 0
        picked = rows[which.ravel(), rank - 1]
        out[:, j] = np.where(held >= MIN_SCORES, picked, 0.0)
    return out


def shrinkage(y: np.ndarray, median: np.ndarray) -> list[float]:
    """Per step, the factor in [0, 1] by which the forecast change is shrunk toward "no change", chosen by
    least squares on validation: ``argmin_l sum (y - l m)^2``. 1 keeps the model's median; 0 is naive."""
    out = []
    for step in range(y.shape[1]):
        keep = ~(np.isnan(y[:, step]) | np.isnan(median[:, step]))
        m, target = median[keep, step], y[keep, step]
        denominator = float(np.dot(m, m))
        out.append(float(np.clip(np.dot(m, target) / denominator, 0.0, 1.0)) if denominator > 0 else 0.0)
    return out


def interval_prices(origin_price: np.ndarray, bound: np.ndarray, target_scale: np.ndarray) -> np.ndarray:
    """A bound in scaled log change (n, horizon) as a price."""
    return origin_price[:, None] * np.exp(bound * target_scale[:, None])


def per_window(values: dict[str, list[float]], tickers: np.ndarray, horizon: int) -> np.ndarray:
    """A per-step setting of each model key (``GLOBAL`` or a ticker) spread over windows: (n, horizon); NaN
    for a ticker without a model."""
    if GLOBAL in values:
        return np.broadcast_to(np.asarray(values[GLOBAL], np.float64)[None, :], (len(tickers), horizon))
    known = pd.Index(list(values))
    rows = np.full((len(known) + 1, horizon), np.nan)  # the last row: a ticker without a model
    for k, per_step in enumerate(values.values()):
        rows[k] = np.asarray(per_step)
    position = known.get_indexer(np.asarray(tickers, dtype=str))
    return rows[np.where(position >= 0, position, len(known))]
