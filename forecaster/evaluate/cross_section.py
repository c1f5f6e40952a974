"""Does a forecast rank stocks? The daily information coefficient across tickers.

Each origin day and step, across the tickers forecast that day: the correlation between a signal's predicted
h-day change and the realised one - Pearson (the information coefficient, IC) and Spearman (Rank IC) - as qlib's
``SigAnaRecord`` and alphalens' ``factor_information_coefficient`` compute it. Over the test days: the mean, the
standard deviation, ICIR = mean / std, the t-statistic of the mean (``t``: mean / std * sqrt(days), as those
packages report it; ``t_nw``: with Newey-West standard errors over h - 1 lags, since h-day changes of
neighbouring days overlap), and the share of days above 0. A day with fewer than ``min_tickers`` tickers, or a
signal that is the same for every ticker that day (a forecast that abstains), has no IC.

Signals: the model's forecast, the ranking model's score (``lstm_rank``, where the run trained one), the random walk
with drift, GARCH's mean, and the factor anchors (``forecaster.evaluate.anchors``); naive predicts no change and
has none.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import RANK_SIGNAL
from forecaster.config import DEFAULT_MIN_CROSS_SECTION
from forecaster.evaluate.anchors import ANCHORS, anchor_signals
from forecaster.model.ranking import ranks_by_group

#: The forecasts whose predicted change is a signal (price columns of ``predictions.parquet``).
FORECAST_SIGNALS: tuple[str, ...] = ("lstm", "drift", "garch")
#: Columns of ``predictions.parquet`` that are a signal as they are: scores, not prices.
SCORE_SIGNALS: tuple[str, ...] = (RANK_SIGNAL,)
SIGNALS: tuple[str, ...] = (*FORECAST_SIGNALS, *SCORE_SIGNALS, *ANCHORS)
#: The default least number of tickers on a day (``--min-cross-section``).
MIN_TICKERS = DEFAULT_MIN_CROSS_SECTION
#: Days of the rolling mean drawn on the dashboard's Skill tab.
ROLLING_DAYS = 20


def signal_frame(predictions: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker, origin day and step: the realised h-day change and every signal's predicted one."""
    codes, names = pd.factorize(predictions["ticker"])
    names = pd.Index(np.asarray(names).astype(str), dtype=object)
    origin_date = pd.to_datetime(predictions["origin_date"]).to_numpy("datetime64[ns]")
    origin_price = predictions["origin_price"].to_numpy(np.float64)
    columns: dict[str, Any] = {
        "ticker": names.to_numpy().take(codes),
        "origin_date": origin_date,
        "step": predictions["step"].to_numpy(),
    }
    for signal in FORECAST_SIGNALS:
        if signal in predictions:
            columns[signal] = predictions[signal].to_numpy(np.float64) / origin_price - 1
    for signal in SCORE_SIGNALS:
        if signal in predictions:
            columns[signal] = predictions[signal].to_numpy(np.float64)
    columns["realised"] = predictions["actual"].to_numpy(np.float64) / origin_price - 1
    columns.update(_anchors_at(codes, names, origin_date, anchor_signals(prices)))
    # Built from arrays in one go: a frame grown a column at a time, then joined, is copied whole several times.
    return pd.DataFrame(columns)


def _anchors_at(codes: np.ndarray, names: pd.Index, days: np.ndarray, anchors: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each anchor's value at each row's ticker (``codes`` into ``names``) and origin day (NaN where it has none):
    a left join found by position in a tickers x days table, rather than by hashing millions of keys."""
    day_codes, unique_days = pd.factorize(days)
    at_day = pd.Index(unique_days).get_indexer(anchors["origin_date"].to_numpy("datetime64[ns]"))
    on_days = anchors[at_day >= 0]  # only the origin days: the years of prices before them are not looked up
    at_ticker = names.get_indexer(on_days["ticker"].astype(str))
    known = at_ticker >= 0
    key = at_ticker[known] * len(unique_days) + at_day[at_day >= 0][known]
    where = np.full(len(names) * len(unique_days), -1, dtype=np.int64)
    where[key] = np.arange(len(key))
    twice = key[where[key] != np.arange(len(key))]  # a key written twice keeps only its last row
    if len(twice):
        ticker, day = names[twice[0] // len(unique_days)], pd.Timestamp(unique_days[twice[0] % len(unique_days)])
        raise ValueError(f"the prices hold {ticker} twice on {day:%Y-%m-%d}: the anchors cannot be joined")
    position = where[codes * len(unique_days) + day_codes]
    # A row without an anchor (position -1) reads the NaN appended at the end.
    return {name: np.r_[on_days[name].to_numpy(np.float64)[known], np.nan][position] for name in ANCHORS}


def _pearson_by_group(group: np.ndarray, groups: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group (``group``: each row's group number, 0 .. groups - 1): the count of rows with both values and
    their Pearson correlation (NaN when either is constant). Sums by ``np.bincount``: one pass, whatever the
    number of groups."""
    both = np.isfinite(x) & np.isfinite(y)
    g, x, y = group[both], x[both], y[both]
    n = np.bincount(g, minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = x - (np.bincount(g, x, groups) / n)[g]
        dy = y - (np.bincount(g, y, groups) / n)[g]
        xy, xx, yy = (np.bincount(g, a * b, groups) for a, b in ((dx, dy), (dx, dx), (dy, dy)))
        denominator = np.sqrt(xx * yy)
        # Below 1e-12 of the products' scale a signal is constant (a forecast that abstains): no correlation.
        defined = denominator > 1e-12 * np.maximum(1.0, np.sqrt(yy))
        return n, np.where(defined, xy / np.where(defined, denominator, 1.0), np.nan)


def daily_ic(signals: pd.DataFrame, min_tickers: int = MIN_TICKERS) -> pd.DataFrame:
    """Per step, origin day and signal: the tickers ranked, IC and Rank IC (NaN where undefined), for the days
    with at least ``min_tickers`` tickers.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(50, 40)); y = 0.5 * x + rng.normal(size=(50, 40))
        >>> frame = pd.DataFrame({"ticker": np.tile(np.arange(40), 50), "step": 1, "realised": y.ravel(),
        ...     "origin_date": np.repeat(pd.bdate_range("2020-01-01", periods=50), 40), "lstm": x.ravel()})
        >>> ic = daily_ic(frame)
        >>> round(float(ic["ic"].mean()), 1), len(ic)
        (0.4, 50)
    """
    keys = ["step", "origin_date"]
    present = [s for s in SIGNALS if s in signals]
    if signals.empty or not present:
        return pd.DataFrame(columns=[*keys, "signal", "tickers", "ic", "rank_ic"])
    # Each row's day (step and origin) as one integer, found once: every sum below is a bincount over it.
    group = signals.groupby(keys, sort=True).ngroup().to_numpy()
    _, first_rows = np.unique(group, return_index=True)
    days = signals[keys].iloc[first_rows].reset_index(drop=True)
    values = {c: signals[c].to_numpy(np.float64) for c in ("realised", *present)}
    ranks = dict(zip(values, ranks_by_group(group, *values.values()), strict=True))
    frames = []
    for signal in present:
        tickers, ic = _pearson_by_group(group, len(days), values[signal], values["realised"])
        _, rank_ic = _pearson_by_group(group, len(days), ranks[signal], ranks["realised"])
        frames.append(days.assign(signal=signal, tickers=tickers, ic=ic, rank_ic=rank_ic))
    out = pd.concat(frames, ignore_index=True)
    return out[out["tickers"] >= min_tickers].reset_index(drop=True)


def _stats(values: pd.Series, step: int) -> dict[str, Any]:
    v = values.dropna().to_numpy(np.float64)
    if len(v) < 2 or np.std(v, ddof=1) == 0:
        return {
            "days": int(len(v)),
            "mean": None,
            "std": None,
            "icir": None,
            "t": None,
            "t_nw": None,
            "share_positive": None,
        }
    mean, std = float(v.mean()), float(v.std(ddof=1))
    return {
        "days": int(len(v)),
        "mean": mean,
        "std": std,
        "icir": mean / std,
        "t": mean / std * np.sqrt(len(v)),
        "t_nw": _newey_west_t(v, max(0, step - 1)),
        "share_positive": float(np.mean(v > 0)),
    }


def _newey_west_t(values: np.ndarray, lags: int) -> float:
    """The t-statistic of the mean with Newey-West (Bartlett) standard errors over ``lags`` lags."""
    d = values - values.mean()
    n = len(values)
    variance = float(d @ d) / n
    for lag in range(1, min(lags, n - 1) + 1):
        variance += 2 * (1 - lag / (lags + 1)) * float(d[lag:] @ d[:-lag]) / n
    return float(values.mean() / np.sqrt(variance / n)) if variance > 0 else float("nan")


def summary(daily: pd.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """Per step and signal, for IC and Rank IC: days, mean, std, ICIR, t, t_nw, share of days above 0."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (step, signal), rows in daily.groupby(["step", "signal"], sort=True):
        out.setdefault(str(int(step)), {})[str(signal)] = {
            "ic": _stats(rows["ic"], int(step)),
            "rank_ic": _stats(rows["rank_ic"], int(step)),
            "abstains": bool(rows["ic"].isna().all()),
        }
    return out


def rolling_mean(daily: pd.DataFrame, days: int = ROLLING_DAYS) -> pd.DataFrame:
    """``daily`` (one step's, one signal's days) with the Rank IC's rolling mean over ``days`` days and its
    cumulative sum, for the dashboard's chart."""
    rows = daily.sort_values("origin_date").copy()
    rows["rank_ic_mean"] = rows["rank_ic"].rolling(days, min_periods=days // 2).mean()
    rows["rank_ic_cumulative"] = rows["rank_ic"].fillna(0).cumsum()
    return rows
