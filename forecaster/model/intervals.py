"""Prediction intervals that keep their promise out of time: conformalised quantile regression (Romano et al.,
2019), normalised by the model's own predicted spread, recalibrated online.

The model forecasts quantiles of the scaled log change (``network.QUANTILES``). For a ``level`` % band it
forecasts an inner pair ``(lo, hi)`` (the 10% and 90% quantiles for 80%) and a spread ``w`` (half the 10-90%
width). Each outcome ``y`` that becomes known gives two scores, one per end: ``(lo - y) / w`` and ``(y - hi) / w``,
how far below the lower end (positive) or above the upper end, in units of the model's own spread. The calibrated
band is ``[lo - c w, hi + c w]``, with ``c`` the conformal quantile at ``level`` % of the joint scores
``max(lo - y, y - hi) / w`` known so far (``BAND_ENDS = "joint"``). With ``ends="per_end"`` each end has its own
correction, the conformal quantile at ``(100 + level) / 2`` % of its end's scores (Romano et al.'s asymmetric form:
each end misses ``(100 - level) / 2`` % of outcomes, so a forecast whose location drifts is moved, not only
widened); it did worse on validation days.

Online: at each origin ``t`` the scores are those of the ticker's validation windows and of every backtest
window whose target date is on or before ``t`` - never a later one - and only the last ``CALIBRATION_WINDOW``
of them. When volatility changes, the model's spread follows what its volatility inputs show, and the
rolling scores correct what it misses within weeks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import GLOBAL, LEVELS

#: Scores (one per past outcome, per ticker and step) that calibrate each band: about a year of trading days.
CALIBRATION_WINDOW = 250
#: Fewer known scores than this: the band stays as the model's raw quantiles say (c = 0).
MIN_SCORES = 20
#: How a band is calibrated: "joint" (one correction for both ends, widening them alike) or "per_end" (one for
#: each end). Chosen on validation days (``benchmarks/tune_intervals.py --ends``, S&P 500, 2026-12-03): the median
#: 80% interval score over naive's at steps 1-5 was 0.991-1.010 joint and 0.998-1.039 per end.
BAND_ENDS = "joint"
ENDS_CHOICES = ("per_end", "joint")
#: Index of each level's inner quantile pair in ``network.QUANTILES`` (0.025, 0.1, 0.5, 0.9, 0.975).
BAND_INDEX = {80: (1, 3), 95: (0, 4)}


def spread(quantiles: np.ndarray) -> np.ndarray:
    """The model's own scale of each forecast: half its 10%-90% width (> 0: the quantiles never cross)."""
    return np.maximum((quantiles[..., 3] - quantiles[..., 1]) / 2, 1e-6)


def scores(y: np.ndarray, quantiles: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised conformity scores of outcomes ``y`` (n, horizon; NaN where unknown) against quantile forecasts
    (n, horizon, Q), one per end of the ``level`` % band: how far below its lower end, and how far above its upper
    end, each (n, horizon) in units of the forecast's spread. The joint score is their maximum."""
    lo, hi = (quantiles[..., i] for i in BAND_INDEX[level])
    w = spread(quantiles)
    return (lo - y) / w, (y - hi) / w


def score_columns(level: int) -> tuple[str, str]:
    """The calibration data's columns of the ``level`` % band's scores, lower end then upper end."""
    return f"score{level}_lo", f"score{level}_hi"


def conformal_rank(n: Any, level: float) -> Any:
    """The rank (1 = smallest) of the score among ``n`` that covers ``level`` % of exchangeable new ones:
    ceil((n + 1) level), at most n; ``n`` a count or an array of counts.

    Example:
        >>> conformal_rank(99, 80), conformal_rank(np.array([9, 99]), 80).tolist()
        (80, [8, 80])
    """
    rank = np.minimum(n, np.ceil((np.asarray(n) + 1) * level / 100)).astype(int)
    return int(rank) if np.ndim(rank) == 0 else rank


def calibrated_bands(
    quantiles: np.ndarray, corrections: dict[int, np.ndarray]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per level, the band (lower, upper), each (n, horizon) in scaled log change, from the raw quantiles and
    the corrections of each window and step: (n, horizon, 2), the lower end's and the upper end's (as
    ``rolling_corrections`` gives them), or (n, horizon), one for both ends."""
    w = spread(quantiles)
    bands = {}
    for level, c in corrections.items():
        lo, hi = (quantiles[..., i] for i in BAND_INDEX[level])
        c_lo, c_hi = (c[..., 0], c[..., 1]) if c.ndim == w.ndim + 1 else (c, c)
        bands[level] = (lo - c_lo * w, hi + c_hi * w)
    return bands


#: Windows of scores searched at once: bounds the memory of one batch (rows x CALIBRATION_WINDOW numbers).
BATCH_ROWS = 512
#: Threads that calibrate blocks of tickers.
THREADS = 2
#: Whole windows to search per known score at or above which the rolling order statistic of every score costs
#: less than a partial sort of each window (measured at 2,531 tickers: 0.6 us a score against 5.7 us a window).
ROLLING_SHARE = 0.1
#: Tickers calibrated at once (``rolling_corrections``).
TICKER_BLOCK = 256


def rolling_corrections(
    known: pd.DataFrame, origins: pd.DataFrame, window: int = CALIBRATION_WINDOW, ends: str = BAND_ENDS
) -> dict[int, np.ndarray]:
    """The corrections of each origin and step, from the scores known on the origin's day.

    ``known``: one row per past outcome - ticker, step, target_date (when the outcome became known) and each
    level's scores (``score_columns``) - validation windows and backtest windows alike. ``origins``: ticker,
    origin_date, one row per window to calibrate. Returns per level an array (len(origins), horizon, 2) of the
    lower end's and the upper end's corrections, or (len(origins), horizon) of one for both ends with
    ``ends="joint"`` or when ``known`` holds only joint scores ``score80``, ``score95`` (as runs before per-end
    calibration wrote them). Only scores with ``target_date <= origin_date`` are used: an interval never sees a
    later outcome.
    """
    if ends not in ENDS_CHOICES:
        raise ValueError(f"ends must be one of {ENDS_CHOICES}, not {ends!r}")
    steps = sorted(known["step"].unique()) if len(known) else []
    horizon = int(max(steps)) if steps else 0
    per_end = ends == "per_end" and has_end_scores(known)
    shape = (len(origins), horizon, 2) if per_end else (len(origins), horizon)
    out = {level: np.zeros(shape) for level in LEVELS}
    if not horizon or not len(origins):
        return out
    columns, coverages = _score_columns(known, per_end)
    # One pass over every ticker name, the known scores' and the origins' together (millions of them).
    codes, _ = pd.factorize(np.concatenate([_names(known["ticker"]), _names(origins["ticker"])]))
    known_code, origin_code = codes[: len(known)].astype(np.int64), codes[len(known) :].astype(np.int64)
    known_day = pd.to_datetime(known["target_date"]).to_numpy("datetime64[ns]")
    origin_day = pd.to_datetime(origins["origin_date"]).to_numpy("datetime64[ns]")
    step = known["step"].to_numpy(np.int64)

    # A block of whole tickers at a time (each group's scores are its ticker's alone): a block's arrays are the
    # same size in a universe of thousands as in one of hundreds, so they stay in the processor's cache and in
    # memory the process already holds, and the cost per score does not grow with the universe.
    def calibrate(k: np.ndarray, o: np.ndarray) -> None:
        use, found = _block_corrections(
            known_code[k], step[k], known_day[k], [c[k] for c in columns], origin_code[o], origin_day[o], horizon,
            window, coverages,
        )  # fmt: skip
        window_of, step_of = np.nonzero(use)
        for j, level in enumerate(LEVELS):
            out[level][o[window_of], step_of] = found[:, 2 * j : 2 * j + 2] if per_end else found[:, j]

    # NumPy's sorts and searches and pandas' rolling quantile let go of the interpreter's lock: blocks in two
    # threads use both cores of a small machine.
    with ThreadPoolExecutor(THREADS, thread_name_prefix="forecaster-calibration") as pool:
        count = int(codes.max(initial=0)) // TICKER_BLOCK + 1
        list(pool.map(calibrate, _blocks(known_code, count), _blocks(origin_code, count)))
    return out


def _blocks(code: np.ndarray, count: int) -> list[np.ndarray]:
    """Positions of the rows of each of ``count`` blocks of ``TICKER_BLOCK`` ticker codes (block ``code //
    TICKER_BLOCK``; empty where a block has no rows), each in the rows' order."""
    block = code // TICKER_BLOCK
    order = np.argsort(block, kind="stable")
    edges = np.searchsorted(block[order], np.arange(count + 1))
    return [order[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _block_corrections(
    known_code: np.ndarray,
    step: np.ndarray,
    known_day: np.ndarray,
    columns: list[np.ndarray],
    origin_code: np.ndarray,
    origin_day: np.ndarray,
    horizon: int,
    window: int,
    coverages: list[float],
) -> tuple[np.ndarray, np.ndarray]:
    """``rolling_corrections`` of one block of tickers: which (origin, step) pairs have enough known scores
    (``use``, (origins, horizon)) and, for each of them in order, each column's correction (``found``)."""
    # Every (ticker, step) is a group, every day a number: one sorted key finds, for every origin and step at
    # once, how many of its group's scores are known on its day (no loop over tickers).
    days = np.sort(pd.unique(np.concatenate([known_day, origin_day])))  # hashed: a few thousand days of millions
    group = known_code * (horizon + 1) + step
    key = group * len(days) + np.searchsorted(days, known_day)
    order = np.argsort(key, kind="stable")
    key = key[order]
    known_scores = np.column_stack([values[order] for values in columns])
    origin_group = origin_code[:, None] * (horizon + 1) + np.arange(1, horizon + 1)[None, :]  # (origins, horizon)
    first = np.searchsorted(key, origin_group * len(days))  # where each group's scores start
    end = np.searchsorted(key, origin_group * len(days) + np.searchsorted(days, origin_day)[:, None], side="right")
    count = end - first
    use = count >= MIN_SCORES  # fewer known scores: c = 0, the raw band
    # Origins on the same day share a window: each is searched once.
    which, needed = pd.factorize(end[use] - 1, sort=True)  # hashed, then the unique ends sorted
    needed_count = np.empty(len(needed), np.int64)
    needed_count[which] = count[use]  # the same for every origin of a window: its group's scores up to its end
    return use, _window_quantiles(known_scores, needed, needed_count, window, coverages)[which]


def has_end_scores(known: pd.DataFrame) -> bool:
    """True when ``known`` holds each end's scores (``score_columns``), not only joint ones."""
    return all(c in known for level in LEVELS for c in score_columns(level))


def _joint(known: pd.DataFrame, level: int) -> np.ndarray:
    """The ``level`` % band's joint scores: a run's own column, or the larger of its ends' scores."""
    if f"score{level}" in known:
        return known[f"score{level}"].to_numpy(np.float64)
    lo, hi = score_columns(level)
    return np.maximum(known[lo].to_numpy(np.float64), known[hi].to_numpy(np.float64))


def _score_columns(known: pd.DataFrame, per_end: bool) -> tuple[list[np.ndarray], list[float]]:
    """The score columns to calibrate with, and the share of new scores each correction must cover: per level
    the lower and the upper end's at (100 + level) / 2 %, or one joint score (the larger end's) at level %."""
    if per_end:
        columns = [known[c].to_numpy(np.float64) for level in LEVELS for c in score_columns(level)]
        return columns, [(100 + level) / 2 for level in LEVELS for _ in range(2)]
    return [_joint(known, level) for level in LEVELS], list(LEVELS)


def _names(tickers: pd.Series) -> np.ndarray:
    """Ticker names as strings (a column of them as it is: converting millions of names costs seconds)."""
    values = tickers.to_numpy(dtype=object)
    return values if pd.api.types.infer_dtype(values, skipna=False) == "string" else values.astype(str).astype(object)


def _window_quantiles(
    values: np.ndarray, last: np.ndarray, count: np.ndarray, window: int, coverages: list[float]
) -> np.ndarray:
    """For each window - the scores of one group up to position ``last[i]`` of ``values`` (scores sorted by group
    and day, a column per correction), of which there are ``count[i]`` - and each column: the conformal quantile
    at ``coverages[j]`` % of its last ``window`` scores. Returns (len(last), columns)."""
    found = np.zeros((len(last), values.shape[1]))
    full = count >= window

    def rolled(j: int) -> None:
        """Whole windows of scores, as the rolling order statistic of every score (a window that ends in a group
        holds only that group's scores when the group has a window of them): 'lower' at (kth + 1/2) / (window -
        1) is the kth smallest, half a rank away from any rounding."""
        kth = conformal_rank(window, coverages[j]) - 1
        share = min(1.0, (kth + 0.5) / (window - 1))
        found[whole, j] = (
            pd.Series(values[:, j]).rolling(window).quantile(share, interpolation="lower").to_numpy()[last[whole]]
        )

    def partial_sort(j: int, rows: np.ndarray) -> None:
        """Whole windows of scores, one rank for all, found by a partial sort of each."""
        kth = conformal_rank(window, coverages[j]) - 1
        windows = np.lib.stride_tricks.sliding_window_view(values[:, j], window)[last[rows] - window + 1]
        found[rows, j] = np.partition(windows, kth, axis=1)[:, kth]

    def first(j: int, size: int, rows: np.ndarray) -> None:
        """The group's first ``size`` scores (fewer than a window), one rank for all, by a partial sort of each."""
        kth = conformal_rank(size, coverages[j]) - 1
        windows = np.lib.stride_tricks.sliding_window_view(values[:, j], size)[last[rows] - size + 1]
        found[rows, j] = np.partition(windows, kth, axis=1)[:, kth]

    def batches(rows: np.ndarray, size: int = window) -> list[np.ndarray]:
        """Batches of about BATCH_ROWS windows of ``window`` scores: more of them when they are shorter."""
        step = BATCH_ROWS * max(1, window // max(size, 1))
        return [rows[i : i + step] for i in range(0, len(rows), step)]

    # pandas' rolling quantile is a skip list (log(window) a score); small batches of sorts stay in the processor's
    # cache.
    whole, partial = np.flatnonzero(full), np.flatnonzero(~full)
    levels = range(values.shape[1])
    tasks: list[tuple[Any, ...]]
    if window > 1 and len(whole) and len(whole) >= ROLLING_SHARE * len(values):
        tasks = [(rolled, j) for j in levels]
    else:
        tasks = [(partial_sort, j, rows) for j in levels for rows in batches(whole)]
    # The group's first scores, by their number: windows of one size share one rank (a partial sort, not a sort of
    # windows padded to the longest).
    by_size = partial[np.argsort(count[partial], kind="stable")]
    sizes, starts = np.unique(count[by_size], return_index=True)
    groups = np.split(by_size, starts[1:]) if len(by_size) else []
    tasks += [
        (first, j, int(size), rows)
        for j in levels
        for size, group in zip(sizes, groups, strict=True)
        for rows in batches(group, int(size))
    ]
    for task in tasks:
        task[0](*task[1:])
    return found


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
