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
    """Mean absolute scaled error on log prices: the mean absolute log error over ``scale``, the in-sample
    mean absolute one-day log change (the one-step naive forecast's error) on the training days.

    On log prices a model as good as naive reads about 1 whatever the price level; in price units a
    20-year history of low prices makes the scale small and a tie with naive read 3.
    None when the training prices never moved.

    Example:
        >>> round(mase(np.array([110.0]), np.array([100.0]), scale=float(np.log(1.1))), 6)
        1.0
    """
    a, p = _valid(actual, predicted)
    return float(np.mean(np.abs(np.log(a) - np.log(p)))) / scale if scale > 0 else None


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
    """Per ticker, MASE's scale: the mean absolute one-day log change of the adjusted close over ``train`` rows
    (ticker, adj_close, in date order within each ticker)."""
    log_price = np.log(train["adj_close"].astype(np.float64))
    changes = log_price.groupby(train["ticker"], observed=True).diff().abs()
    return {str(t): float(v) for t, v in changes.groupby(train["ticker"], observed=True).mean().items()}


def width(lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean width of the intervals, in price units (where both bounds exist)."""
    keep = ~(np.isnan(lower) | np.isnan(upper))
    return float(np.mean(upper[keep] - lower[keep]))


def interval_scores(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: int) -> np.ndarray:
    """The interval score of each day (NaN where a value is missing): the width of the central ``level``% band
    plus ``2 / alpha`` times the miss (Gneiting & Raftery, 2007).

    Example:
        >>> interval_scores(np.array([10.0, 13.0]), np.array([9.0, 9.0]), np.array([11.0, 11.0]), 80).round(6).tolist()
        [2.0, 22.0]
    """
    alpha = 1 - level / 100
    y, lo, hi = (np.asarray(v, np.float64) for v in (actual, lower, upper))
    return (hi - lo) + 2 / alpha * (lo - y) * (y < lo) + 2 / alpha * (y - hi) * (y > hi)


def interval_score(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: int) -> float:
    """Mean interval score of central ``level``% intervals (Gneiting & Raftery, 2007; MSIS in M4 before its
    scaling): the width plus ``2 / alpha`` times each miss, in price units. Lower is better; it rewards
    narrow bands only while they hold.

    Example:
        >>> round(interval_score(np.array([10.0, 13.0]), np.array([9.0, 9.0]), np.array([11.0, 11.0]), 80), 6)
        12.0
    """
    keep = ~(np.isnan(actual) | np.isnan(lower) | np.isnan(upper))
    return float(np.mean(interval_scores(actual[keep], lower[keep], upper[keep], level)))


def pinball(actual: np.ndarray, quantiles: dict[float, np.ndarray]) -> float:
    """Mean pinball (quantile) loss over the forecast ``quantiles`` (probability -> predicted values), in
    price units.

    Example:
        >>> round(pinball(np.array([10.0]), {0.1: np.array([8.0]), 0.9: np.array([9.0])}), 6)
        0.55
    """
    losses = []
    for q, predicted in quantiles.items():
        keep = ~(np.isnan(actual) | np.isnan(predicted))
        miss = actual[keep] - predicted[keep]
        losses.append(np.mean(np.maximum(q * miss, (q - 1) * miss)))
    return float(np.mean(losses))


def series_groups(rows: pd.DataFrame) -> tuple[np.ndarray, pd.MultiIndex]:
    """Each row's (ticker, step) series as one integer, 0 .. series - 1 in (ticker, step) order, and the index of
    the series present, in that order: grouping by the integers is grouping by ticker and step, without hashing
    millions of ticker names again for every table (and a bincount over them is a sum per series).

    Example:
        >>> rows = pd.DataFrame({"ticker": ["B", "A", "B", "A"], "step": [1, 2, 2, 2]})
        >>> group, index = series_groups(rows)
        >>> group.tolist(), index.tolist()
        ([1, 0, 2, 0], [('A', 2), ('B', 1), ('B', 2)])
    """
    tickers, names = pd.factorize(rows["ticker"], sort=True)
    steps, step_values = pd.factorize(rows["step"], sort=True)
    width = max(len(step_values), 1)
    # Numbered by counting, not sorting: a sort of millions of rows grows faster than the rows.
    key = tickers.astype(np.int64) * width + steps
    present = np.flatnonzero(np.bincount(key, minlength=len(names) * width))
    number = np.empty(len(names) * width, np.int64)
    number[present] = np.arange(len(present))
    group = number[key]
    index = pd.MultiIndex.from_arrays(
        [np.asarray(names, dtype=object)[present // width].astype(str), np.asarray(step_values)[present % width]],
        names=["ticker", "step"],
    )
    return group, index


def series_starts(group: np.ndarray, count: int) -> np.ndarray | None:
    """Where each series 0 .. ``count`` - 1 starts when the rows are in series order (``sort_series``' order;
    ``group``: ``series_groups``' numbers), or None when they are not (or there are none).

    Example:
        >>> series_starts(np.array([0, 0, 1, 2, 2]), 3).tolist(), series_starts(np.array([1, 0]), 2)
        ([0, 2, 3], None)
    """
    if not len(group) or group[0] != 0 or np.any(np.diff(group) < 0):
        return None
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return starts if len(starts) == count else None


def sum_by_series(values: np.ndarray, group: np.ndarray, count: int, starts: np.ndarray | None) -> np.ndarray:
    """Per series 0 .. ``count`` - 1, the sum of ``values`` (of booleans: how many are true). Given ``starts``
    (``series_starts``), by ``np.add.reduceat`` over each series' rows: 3.5-5 times quicker than ``np.bincount``,
    which adds the rows in whatever order they come; else by ``np.bincount``.

    Example:
        >>> group = np.array([0, 0, 1])
        >>> sum_by_series(np.array([1.0, 2.0, 4.0]), group, 2, series_starts(group, 2)).tolist()
        [3.0, 4.0]
        >>> sum_by_series(np.array([True, False, True]), group, 2, None).tolist()
        [1, 1]
    """
    if values.dtype == bool:
        if starts is None:
            return np.bincount(group[values], minlength=count)
        return np.add.reduceat(values, starts, dtype=np.int64)
    return np.bincount(group, values, count) if starts is None else np.add.reduceat(values, starts)


def sort_series(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.MultiIndex]:
    """``rows`` by ticker, step and target day (the order the run writes the backtest in; as they are, without
    a copy, when already so), each row's series number in that order, and the series' index (``series_groups``).
    Integer keys: sorting millions of rows by ticker name costs several times more.

    Example:
        >>> rows = pd.DataFrame({"ticker": ["B", "A", "A"], "step": 1,
        ...                      "target_date": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-02"])})
        >>> ordered, group, index = sort_series(rows)
        >>> ordered["ticker"].tolist(), group.tolist(), index.tolist()
        (['A', 'A', 'B'], [0, 0, 1], [('A', 1), ('B', 1)])
    """
    group, index = series_groups(rows)
    day = pd.to_datetime(rows["target_date"]).to_numpy("datetime64[ns]")
    # Already in order (the run's backtest is): found in one pass, where a sort to check it grows faster.
    step_group, step_day = np.diff(group), np.diff(day)
    in_order = bool(np.all((step_group > 0) | ((step_group == 0) & (step_day >= np.timedelta64(0)))))
    if in_order and rows.index.equals(pd.RangeIndex(len(rows))):
        return rows, group, index
    order = np.lexsort((day, group))
    ordered = rows.iloc[order]
    ordered.index = pd.RangeIndex(len(ordered))  # in place: a reset_index would copy every column once more
    return ordered, group[order], index
