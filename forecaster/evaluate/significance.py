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
after the Benjamini-Hochberg correction. The MCS bootstrap costs a tenth of a second per ticker and step, so
``tests_on_executors`` runs every ticker's tests on Spark's executors, one task per ticker.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import BASELINE_NAMES, MODEL_NAME, bound_column

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
    return bool(np.allclose(forecast, naive, rtol=0, atol=1e-12))


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
    result = diebold_mariano_test(np.zeros_like(a), a, b, criterion=lambda _, loss: loss, harvey_adj=True,
                                  horizon=horizon)
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
    first = [next(j for j in range(i + 1) if np.array_equal(values[:, j], values[:, i]))
             for i in range(values.shape[1])]
    distinct = sorted(set(first))
    if len(distinct) < 2 or len(losses) < 10:
        return set(losses.columns)  # nothing to tell apart
    mcs = MCS(values[:, distinct], size=size, reps=reps, seed=seed)
    mcs.compute()
    kept = {distinct[i] for i in mcs.included}
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
            out.append({"ticker": str(at["ticker"].iloc[0]), "step": int(step), "model": model, "dm_stat": stat,
                        "dm_p_vs_naive": p, "dm_is80_p_vs_naive": p_is, "pt_p": pt, "in_mcs_90": model in members,
                        "abstains": model != "naive" and abstains(forecast, naive)})
    return pd.DataFrame(out, columns=["ticker", "step", "model", *FIELDS, "abstains"])


def _interval_score(rows: pd.DataFrame, model: str, level: int = 80) -> np.ndarray:
    """The interval score of each day (``forecaster.evaluate.metrics.interval_score`` before its mean)."""
    from forecaster.evaluate.metrics import interval_scores

    return interval_scores(rows["actual"].to_numpy(np.float64), rows[bound_column(level, "lo", model)].to_numpy(),
                           rows[bound_column(level, "hi", model)].to_numpy(), level)


#: The schema of ``tests_on_executors``' rows (what each task returns).
SCHEMA = ("ticker string, step int, model string, dm_stat double, dm_p_vs_naive double, dm_is80_p_vs_naive double, "
          "pt_p double, in_mcs_90 boolean, abstains boolean")


def tests_on_executors(spark: Any, predictions: pd.DataFrame, mcs_reps: int = MCS_REPS) -> pd.DataFrame:
    """``ticker_tests`` of every ticker, computed on Spark's executors, one task per ticker."""
    columns = [c for c in predictions.columns
               if c in ("ticker", "step", "target_date", "actual", "origin_price", *POINT_MODELS)
               or c.startswith(tuple(f"{m}_lo80" for m in (*BANDED, "naive")))
               or c.startswith(tuple(f"{m}_hi80" for m in (*BANDED, "naive")))]
    frame = predictions[columns].copy()
    frame["target_date"] = pd.to_datetime(frame["target_date"]).dt.strftime("%Y-%m-%d")
    tickers = frame["ticker"].nunique()
    spark_frame = spark.createDataFrame(frame).repartition(max(1, min(tickers, 2 * _cores(spark))), "ticker")

    def task(rows: pd.DataFrame) -> pd.DataFrame:
        return _tests_task(rows, mcs_reps)

    result = spark_frame.groupBy("ticker").applyInPandas(task, schema=SCHEMA).toPandas()
    return result.astype({"step": int}).replace({np.nan: None})


def _tests_task(rows: pd.DataFrame, mcs_reps: int) -> pd.DataFrame:
    tests = ticker_tests(rows, mcs_reps)
    return tests.astype({c: "float64" for c in FIELDS if c != "in_mcs_90"})


def _cores(spark: Any) -> int:
    try:
        return max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect has no SparkContext: a guess that keeps tasks few
        return 2


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
        out[str(int(step))] = {"tickers": n, "share_better": better / n, "share_worse": worse / n,
                               "share_abstains": tied / n, "abstains": tied == n,
                               "share_in_mcs_90": float(np.mean(at["in_mcs_90"].astype(bool)))}
    return out
