"""Is a difference from naive more than noise? The field's standard tests, per ticker and step.

- **Diebold-Mariano** (``statsmodels.tsa.stattools.diebold_mariano_test``: HAC variance, ``horizon=h``, Harvey's
  small-sample correction) of each point forecast against naive, on squared error (``dm_stat``, ``dm_p_vs_naive``;
  a negative statistic means a lower error than naive's) and, for the banded forecasts, on the 80% interval score
  (``dm_is80_p_vs_naive``).
- **Pesaran-Timmermann** (``statsmodels.stats.diagnostic.pesaran_timmermann``): does the forecast call the
  direction of the h-day change better than chance (``pt_p``)? Undefined for a forecast that never calls one.
- **The model confidence set** at 90% (``arch.bootstrap.MCS``) over the point forecasters on squared error
  (``in_mcs_90``): the forecasters that cannot be told from the best (``MCS_REPS`` bootstrap replications).

A forecast equal to naive's on every day *abstains*: its tests are undefined (``None``) and it counts as a tie,
never as a loss. Across tickers, ``summary`` counts the tickers significantly better and worse than naive at 5%
after the Benjamini-Hochberg correction.

``ticker_tests`` runs the libraries' own functions on one ticker (0.15 s a ticker, the MCS bootstrap most of it).
A universe's run calls ``every_ticker_tests`` instead: the same tests for every ticker at once, in arrays - the
Diebold-Mariano statistic from the HAC variance statsmodels' OLS computes (Bartlett weights, no small-sample
factor), the Pesaran-Timmermann statistic, and the MCS's bootstrap means as one product of bootstrap counts and
losses (arch's stationary bootstrap indices, drawn once per length of history with the same seed arch is given)
followed by arch's elimination - equal to ``ticker_tests`` (``tests/evaluate/test_significance.py``), at a cost
that grows with the number of tickers and nothing else.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from forecaster.columns import BASELINE_NAMES, MODEL_NAME, bound_column
from forecaster.evaluate.metrics import sort_series

#: The point forecasters whose squared errors enter the model confidence set.
POINT_MODELS: tuple[str, ...] = (MODEL_NAME, *BASELINE_NAMES)
#: The models whose 80% band is compared with naive's on interval score.
BANDED: tuple[str, ...] = (MODEL_NAME, "garch")
#: The significance level of the summary's counts (after Benjamini-Hochberg across tickers).
LEVEL = 0.05
#: The model confidence set's size (0.10: the 90% set) and its bootstrap. The bootstrap is what the tests cost
#: (0.02 s per ticker and step at 250 replications); with 100, 98.4% of the S&P 500 test year's memberships were
#: those of 2,000 replications (40 tickers x 5 steps x 5 models), and the S&P run's tests take 32 s instead of 52.
MCS_SIZE, MCS_REPS, MCS_SEED = 0.10, 100, 0
#: The fields of one (ticker, step, model) row of the tests.
FIELDS = ("dm_stat", "dm_p_vs_naive", "dm_is80_p_vs_naive", "pt_p", "in_mcs_90")


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def abstains(forecast: np.ndarray, naive: np.ndarray) -> bool:
    """True when ``forecast`` is naive's on every day (a shrinkage of 0): a tie, with nothing to test.

    Example:
        >>> abstains(np.array([1.0, 2.0]), np.array([1.0, 2.0])), abstains(np.array([1.0, 2.1]), np.array([1.0, 2.0]))
        (True, False)
    """
    return not apart_from_naive(forecast, naive).any()


def apart_from_naive(forecast: np.ndarray, naive: np.ndarray) -> np.ndarray:
    """Per day: True where ``forecast`` is not naive's (more than 1e-12 apart, or either missing).

    Example:
        >>> apart_from_naive(np.array([1.0, 2.1, np.nan]), np.array([1.0, 2.0, 3.0])).tolist()
        [False, True, True]
    """
    return ~(np.abs(forecast - naive) <= 1e-12)


def diebold_mariano(loss_a: np.ndarray, loss_b: np.ndarray, horizon: int) -> tuple[float | None, float | None]:
    """The Diebold-Mariano statistic and two-sided p-value of equal mean loss of forecasts a and b (negative: a's
    loss is lower), with HAC variance for an ``horizon``-step forecast and Harvey's correction; (None, None) when
    the losses are equal every day or too few.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> stat, p = diebold_mariano(rng.normal(1, 0.1, 200), rng.normal(1.1, 0.1, 200), 1)
        >>> stat < 0 and p < 0.05
        True
    """
    from statsmodels.tsa.stattools import diebold_mariano_test

    a, b = np.asarray(loss_a, np.float64), np.asarray(loss_b, np.float64)
    if len(a) < 3 or np.allclose(a, b, rtol=0, atol=1e-15):
        return None, None
    # The losses are given already: the criterion hands them through (y is not used).
    result = diebold_mariano_test(
        np.zeros_like(a), a, b, criterion=lambda _, loss: loss, harvey_adj=True, horizon=horizon
    )
    return _finite(result.statistic), _finite(result.pvalue)


def pesaran_timmermann(actual_change: np.ndarray, predicted_change: np.ndarray) -> float | None:
    """The Pesaran-Timmermann p-value (two-sided) of directional accuracy; None when the forecast, or the outcome,
    never changes direction (the test is undefined)."""
    from statsmodels.stats.diagnostic import pesaran_timmermann as test

    actual, predicted = np.asarray(actual_change, np.float64), np.asarray(predicted_change, np.float64)
    if len(actual) < 3 or len(np.unique(predicted > 0)) < 2 or len(np.unique(actual > 0)) < 2:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        return _finite(test(actual, predicted).pvalue)


def mcs_members(losses: pd.DataFrame, size: float = MCS_SIZE, reps: int = MCS_REPS, seed: int = MCS_SEED) -> set[str]:
    """The models (columns of ``losses``, one row per day) in the model confidence set of level 1 - ``size``
    (Hansen, Lunde and Nason 2011; ``arch.bootstrap.MCS``, its default "R" statistic and block bootstrap). Models
    with the same losses every day (a forecast that abstains is naive) enter or leave the set together.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> losses = pd.DataFrame({"a": rng.normal(1.0, 0.2, 300), "b": rng.normal(1.0, 0.2, 300),
        ...                        "c": rng.normal(1.5, 0.2, 300)})
        >>> sorted(mcs_members(losses.assign(naive=losses["b"])))  # naive's losses are b's: they go together
        ['a', 'b', 'naive']
    """
    from arch.bootstrap import MCS

    values = losses.to_numpy(np.float64)
    # One column per distinct loss series; each column's representative among them.
    first = [
        next(j for j in range(i + 1) if np.array_equal(values[:, j], values[:, i])) for i in range(values.shape[1])
    ]
    distinct = sorted(set(first))
    if len(distinct) < 2 or len(losses) < 10:
        return set(losses.columns)  # nothing to tell apart
    mcs = MCS(values[:, distinct], size=size, reps=reps, seed=seed)
    mcs.compute()
    kept = {distinct[cast(int, i)] for i in mcs.included}  # columns of an array: labelled 0..k-1
    return {column for column, representative in zip(losses.columns, first, strict=True) if representative in kept}


def ticker_tests(rows: pd.DataFrame, mcs_reps: int = MCS_REPS) -> pd.DataFrame:
    """Every test of one ticker's backtest rows (``predictions.parquet``): one row per step and point model, with
    ``FIELDS`` (None where a test is undefined, e.g. for naive itself, or a forecast that abstains)."""
    out = []
    for step, at in rows.groupby("step", sort=True):
        at = at.sort_values("target_date")
        actual, origin, naive = (at[c].to_numpy(np.float64) for c in ("actual", "origin_price", "naive"))
        models = [m for m in POINT_MODELS if m in at and at[m].notna().all()]
        losses = pd.DataFrame({m: (actual - at[m].to_numpy(np.float64)) ** 2 for m in models})
        members = mcs_members(losses, reps=mcs_reps)
        for model in models:
            forecast = at[model].to_numpy(np.float64)
            stat = p = p_is = pt = None
            if model != "naive" and not abstains(forecast, naive):
                stat, p = diebold_mariano(losses[model].to_numpy(), losses["naive"].to_numpy(), int(step))
                pt = pesaran_timmermann(actual - origin, forecast - origin)
                if model in BANDED and bound_column(80, "lo", model) in at:
                    _, p_is = diebold_mariano(_interval_score(at, model), _interval_score(at, "naive"), int(step))
            out.append(
                {
                    "ticker": str(at["ticker"].iloc[0]),
                    "step": int(step),
                    "model": model,
                    "dm_stat": stat,
                    "dm_p_vs_naive": p,
                    "dm_is80_p_vs_naive": p_is,
                    "pt_p": pt,
                    "in_mcs_90": model in members,
                    "abstains": model != "naive" and abstains(forecast, naive),
                }
            )
    return pd.DataFrame(out, columns=["ticker", "step", "model", *FIELDS, "abstains"])


def _interval_score(rows: pd.DataFrame, model: str, level: int = 80) -> np.ndarray:
    """The interval score of each day (``forecaster.evaluate.metrics.interval_score`` before its mean)."""
    from forecaster.evaluate.metrics import interval_scores

    return interval_scores(
        rows["actual"].to_numpy(np.float64),
        rows[bound_column(level, "lo", model)].to_numpy(),
        rows[bound_column(level, "hi", model)].to_numpy(),
        level,
    )


def benjamini_hochberg(pvalues: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (``statsmodels``' ``fdr_bh``) of the defined ones; None stays None.

    Example:
        >>> [round(p, 3) for p in benjamini_hochberg([0.01, 0.04, 0.03, None])[:3]]
        [0.03, 0.04, 0.04]
    """
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if present:
        adjusted = multipletests([pvalues[i] for i in present], method="fdr_bh")[1]
        for i, value in zip(present, adjusted, strict=True):
            out[i] = float(value)
    return out


def verdict_vs_naive(stat: float | None, p: float | None, abstained: bool, level: float = LEVEL) -> str:
    """The difference from naive in words: ``tie (abstains)``, ``better``, ``worse`` or ``no significant
    difference``.

    Example:
        >>> verdict_vs_naive(-2.5, 0.012, False), verdict_vs_naive(0.4, 0.7, False), verdict_vs_naive(None, None, True)
        ('better', 'no significant difference', 'tie (abstains)')
    """
    if abstained:
        return "tie (abstains)"
    if p is None or stat is None or p >= level:
        return "no significant difference"
    return "better" if stat < 0 else "worse"


def summary(tests: pd.DataFrame, model: str = MODEL_NAME) -> dict[str, dict[str, Any]]:
    """Per step, for ``model`` against naive: the tickers compared, the shares significantly better and worse at
    ``LEVEL`` after Benjamini-Hochberg across tickers, the share that abstains, and whether the step abstains
    everywhere (its forecast is naive's)."""
    out: dict[str, dict[str, Any]] = {}
    mine = tests[tests["model"] == model]
    for step, at in mine.groupby("step", sort=True):
        p = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in at["dm_p_vs_naive"]]
        adjusted = benjamini_hochberg(p)
        stats = at["dm_stat"].tolist()
        n = len(at)
        better = sum(1 for a, s in zip(adjusted, stats, strict=True) if a is not None and a < LEVEL and s < 0)
        worse = sum(1 for a, s in zip(adjusted, stats, strict=True) if a is not None and a < LEVEL and s > 0)
        tied = int(at["abstains"].astype(bool).sum())
        out[str(int(step))] = {
            "tickers": n,
            "share_better": better / n,
            "share_worse": worse / n,
            "share_abstains": tied / n,
            "abstains": tied == n,
            "share_in_mcs_90": float(np.mean(at["in_mcs_90"].astype(bool))),
        }
    return out


def _dm_arrays(loss_a: np.ndarray, loss_b: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """``diebold_mariano`` of each row of two (n, T) loss arrays: the statistics and p-values (NaN where the losses
    are equal every day)."""
    from scipy import stats

    d = loss_a - loss_b
    n, t = d.shape
    lags = int(max(horizon - 1, math.ceil(t ** (1 / 3))))
    u = d - d.mean(axis=1, keepdims=True)
    long_run = np.einsum("ij,ij->i", u, u)
    for lag in range(1, min(lags, t - 1) + 1):
        long_run += 2 * (1 - lag / (lags + 1)) * np.einsum("ij,ij->i", u[:, lag:], u[:, :-lag])
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = d.mean(axis=1) / np.sqrt(long_run / t**2)
    stat *= math.sqrt((t + 1 - 2 * horizon + horizon * (horizon - 1) / t) / t)
    p = 2 * stats.t.cdf(-np.abs(stat), df=t - 1)
    equal = np.all(np.abs(loss_a - loss_b) <= 1e-15, axis=1) | (t < 3)
    finite = np.isfinite(stat) & np.isfinite(p) & ~equal
    return np.where(finite, stat, np.nan), np.where(finite, p, np.nan)


def _pt_arrays(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``pesaran_timmermann``'s two-sided p-value of each row of (n, T) changes; NaN where undefined."""
    from scipy import stats

    up, called = actual > 0, predicted > 0
    t = actual.shape[1]
    p_y, p_z, hit = up.mean(axis=1), called.mean(axis=1), (up == called).mean(axis=1)
    p_ind = p_y * p_z + (1 - p_y) * (1 - p_z)
    variance = (p_ind * (1 - p_ind) - (2 * p_y - 1) ** 2 * p_z * (1 - p_z) - (2 * p_z - 1) ** 2 * p_y * (1 - p_y)) / t
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = (hit - p_ind) / np.sqrt(variance)
    defined = (t >= 3) & (p_y > 0) & (p_y < 1) & (p_z > 0) & (p_z < 1) & (variance > 0) & np.isfinite(stat)
    return np.where(defined, 2 * stats.norm.sf(np.abs(stat)), np.nan)


def _bootstrap_counts(t: int, reps: int, seed: int) -> np.ndarray:
    """How often each of ``t`` days is drawn in each of ``reps`` replications of arch's stationary bootstrap, as
    ``arch.bootstrap.MCS`` draws them (block size sqrt(t), the same seed): (reps, t)."""
    from arch.bootstrap import StationaryBootstrap

    bootstrap = StationaryBootstrap(int(np.sqrt(t)), np.arange(t), seed=seed)
    counts = np.zeros((reps, t))
    for rep, data in enumerate(bootstrap.bootstrap(reps)):
        np.add.at(counts[rep], np.asarray(data[0][0], dtype=int), 1.0)
    return counts


def _mcs_arrays(losses: np.ndarray, candidates: np.ndarray, size: float, reps: int, seed: int) -> np.ndarray:
    """``mcs_members`` of many loss tables of the same length at once: ``losses`` (n, T, k), ``candidates`` (n, k)
    the distinct columns that enter each set. Returns which columns are in each set (n, k), candidates only."""
    n, t, k = losses.shape
    losses = np.where(candidates[:, None, :], losses, 0.0)
    counts = _bootstrap_counts(t, reps, seed)
    mean = losses.mean(axis=1)  # (n, k)
    diffs = mean[:, :, None] - mean[:, None, :]
    boot = np.matmul(counts, losses) / t  # (n, reps, k): one BLAS product per ticker, not einsum's loops
    boot_diffs = boot[:, :, :, None] - boot[:, :, None, :] - diffs[:, None]
    variances = (boot_diffs**2).mean(axis=1) + np.eye(k)
    std_diffs = diffs / np.sqrt(variances)
    std_boot = boot_diffs / np.sqrt(variances)[:, None]
    included = candidates.copy()
    pvalues = np.ones((n, k))
    running = np.zeros(n)  # arch makes each p-value at least those of the models eliminated before it
    pair = included[:, :, None] & included[:, None, :]
    while True:
        active = included.sum(axis=1) > 1
        if not active.any():
            break
        pair = included[:, :, None] & included[:, None, :]
        stat = np.where(pair, std_diffs, -np.inf).reshape(n, -1)
        worst = stat.argmax(axis=1)
        test_stat = stat[np.arange(n), worst]
        simulated = np.where(pair[:, None], std_boot, -np.inf).reshape(n, reps, -1).max(axis=2)
        p = (test_stat[:, None] < simulated).mean(axis=1)
        running = np.where(active, np.maximum(running, p), running)
        eliminated = worst // k
        rows = np.flatnonzero(active)
        pvalues[rows, eliminated[rows]] = running[rows]
        included[rows, eliminated[rows]] = False
    return candidates & (pvalues > size)


def every_ticker_tests(predictions: pd.DataFrame, mcs_reps: int = MCS_REPS) -> pd.DataFrame:
    """``ticker_tests`` of every ticker of ``predictions`` at once (arrays, on the driver): the same rows."""
    used = ["ticker", "step", "target_date", "actual", "origin_price", *POINT_MODELS]
    used += [bound_column(80, side, m) for m in (*BANDED, "naive") for side in ("lo", "hi")]
    # The columns the tests read, only: each group below is a copy of its rows (of every column, else).
    read = {c: predictions[c] for c in dict.fromkeys(used) if c in predictions}
    rows, group, _ = sort_series(pd.DataFrame(read, copy=False))  # a view of them, not a copy
    size = np.bincount(group)[group]
    frames = []
    # Within each (step, length) the rows keep their order: by ticker, then day.
    for (step, _), at in rows.groupby([rows["step"].to_numpy(), size], sort=True):
        frames.append(_tests_of_equal_length(at, int(step), mcs_reps))
    columns = ["ticker", "step", "model", *FIELDS, "abstains"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out.sort_values(["ticker", "step"], kind="stable", ignore_index=True)[columns]


def _tests_of_equal_length(rows: pd.DataFrame, step: int, mcs_reps: int) -> pd.DataFrame:
    """The tests of one step for tickers with the same number of days (rows sorted by ticker and day)."""
    tickers = rows["ticker"].drop_duplicates().to_numpy()
    n = len(tickers)
    t = len(rows) // n

    def table(column: str) -> np.ndarray:
        return rows[column].to_numpy(np.float64).reshape(n, t)

    actual, origin, naive = table("actual"), table("origin_price"), table("naive")
    models = [m for m in POINT_MODELS if m in rows]
    forecasts = {m: table(m) for m in models}
    complete = {m: ~np.isnan(f).any(axis=1) for m, f in forecasts.items()}
    losses = np.stack([(actual - np.nan_to_num(forecasts[m])) ** 2 for m in models], axis=2)
    # Each ticker's distinct complete loss series (a forecast that abstains is naive's: they go together).
    available = np.stack([complete[m] for m in models], axis=1)
    representative = np.tile(np.arange(len(models)), (n, 1))
    for i in range(len(models)):
        for j in range(i):
            same = available[:, i] & available[:, j] & np.all(losses[:, :, i] == losses[:, :, j], axis=1)
            representative[:, i] = np.where(
                same & (representative[:, i] == i), representative[:, j], representative[:, i]
            )
    candidates = available & (representative == np.arange(len(models)))
    testable = (candidates.sum(axis=1) >= 2) & (t >= 10)
    members = available.copy()  # nothing to tell apart: every available model is in the set
    if testable.any():
        kept = _mcs_arrays(losses[testable], candidates[testable], MCS_SIZE, mcs_reps, MCS_SEED)
        members[testable] = np.take_along_axis(kept, representative[testable], axis=1) & available[testable]
    out = []
    for index, model in enumerate(models):
        forecast = forecasts[model]
        abstaining = np.all(np.abs(forecast - naive) <= 1e-12, axis=1)
        tested = (model != "naive") & ~abstaining
        stat, p = _dm_arrays(losses[:, :, index], losses[:, :, models.index("naive")], step)
        pt = _pt_arrays(actual - origin, forecast - origin)
        p_is = np.full(n, np.nan)
        if model in BANDED and bound_column(80, "lo", model) in rows:
            _, p_is = _dm_arrays(
                _interval_score(rows, model).reshape(n, t), _interval_score(rows, "naive").reshape(n, t), step
            )
        frame = pd.DataFrame(
            {
                "ticker": tickers,
                "step": step,
                "model": model,
                "dm_stat": np.where(tested, stat, np.nan),
                "dm_p_vs_naive": np.where(tested, p, np.nan),
                "dm_is80_p_vs_naive": np.where(tested, p_is, np.nan),
                "pt_p": np.where(tested, pt, np.nan),
                "in_mcs_90": members[:, index],
                "abstains": (model != "naive") & abstaining,
            }
        )
        out.append(frame[complete[model]])
    return pd.concat(out, ignore_index=True).astype(object).where(lambda f: f.notna(), None)
