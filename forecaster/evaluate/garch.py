"""The GARCH(1,1) baseline with Student-t errors, from the ``arch`` package.

Fitted per ticker on the ticker's train returns only, on Spark's executors (a few tasks per core, each fitting
its share of the tickers), then filtered forward with those parameters - never refitted on validation or test days -
so that each origin's forecast uses the returns up to that origin and nothing later. The point forecast is the
origin price times the fitted mean return; the ``h``-day band comes from the sum of the per-day variance
forecasts and the fitted t distribution's quantiles.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import left_out
from forecaster.columns import LEVELS
from forecaster.errors import DataError

log = logging.getLogger(__name__)

#: arch's optimiser is tuned for returns in percent.
RETURN_SCALE = 100.0
#: Spark tasks per executor core that the fits are spread over (see ``fit_on_executors``).
TASKS_PER_CORE = 4
RESULT_SCHEMA = "ticker string, pos long, variance array<double>, params string, message string"


def fit(prices: np.ndarray, n_train: int) -> dict[str, float]:
    """GARCH(1,1)-t parameters (mu, omega, alpha[1], beta[1], nu; returns in percent) fitted on the log returns
    of the first ``n_train`` prices."""
    from arch import arch_model

    returns = RETURN_SCALE * np.diff(np.log(prices[:n_train]))
    if len(returns) < 100:
        raise DataError(f"GARCH needs at least 100 train returns, got {len(returns)}")
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes; the parameters are checked below
        result = model.fit(disp="off", show_warning=False)
    params = {name: float(value) for name, value in result.params.items()}
    if not np.isfinite(list(params.values())).all():
        raise DataError(f"GARCH fit did not converge: {params}")
    return params


def variances(prices: np.ndarray, params: dict[str, float], horizon: int, first_origin: int) -> np.ndarray:
    """Per-day variance forecasts (percent squared), one row per origin ``first_origin .. len(prices) - 1``
    (positions in ``prices``) and one column per step 1..``horizon``: from the returns up to each origin only."""
    from arch import arch_model

    returns = RETURN_SCALE * np.diff(np.log(prices))
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    fixed = model.fix(list(params.values()))
    # Return i ends at position i + 1: an origin at position t has seen returns 0 .. t - 1.
    forecast = fixed.forecast(horizon=horizon, start=max(first_origin - 1, 0), reindex=False)
    return np.asarray(forecast.variance, np.float64)


def fit_ticker(rows: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The Spark task: fit one ticker's GARCH on its train rows and forecast from every test origin.

    ``rows`` are the ticker's prepared rows (pos, split, adj_close). Returns one row per test origin (its
    position and per-day variances) carrying the parameters; or one row with the reason it failed.
    """
    ticker = str(rows["ticker"].iloc[0])
    rows = rows.sort_values("pos", ignore_index=True)
    try:
        prices = rows["adj_close"].to_numpy(np.float64)
        params = fit(prices, int((rows["split"] == "train").sum()))
        first_test = int(np.flatnonzero(rows["split"].to_numpy() == "test")[0])
        per_day = variances(prices, params, horizon, first_test)
        return pd.DataFrame(
            {
                "ticker": ticker,
                "pos": rows["pos"].to_numpy()[first_test:],
                "variance": list(per_day),
                "params": json.dumps(params),
                "message": "",
            }
        )
    except Exception as exc:  # a task reports its ticker's failure, it does not fail the job
        return pd.DataFrame(
            [{"ticker": ticker, "pos": -1, "variance": None, "params": None, "message": f"{type(exc).__name__}: {exc}"}]
        )


def fit_on_executors(
    spark: Any, table_path: Path, tickers: list[str], horizon: int
) -> tuple[pd.DataFrame, dict[str, dict], dict]:
    """``fit_ticker`` for every ticker of a prepared table, in ``TASKS_PER_CORE`` tasks per core. Returns the
    per-origin variances (ticker, pos, variance), the parameters by ticker, and the failures by ticker (logged,
    left out)."""
    from forecaster.prepare.session import parallelism, ship_package, sql_options

    ship_package(spark)
    table = spark.read.parquet(str(table_path)).select("ticker", "pos", "split", "adj_close")
    # A fit is tens of milliseconds, about what a task costs to start: a task per ticker spent 60% of the stage
    # on starting tasks (measured on 499 tickers: 42 s, against 17 s for 8 or 32 tasks). A few tasks per core
    # still balance the load.
    tasks = max(1, min(len(tickers), TASKS_PER_CORE * parallelism(spark)))
    with sql_options(
        spark, {"spark.sql.adaptive.coalescePartitions.enabled": "false", "spark.sql.shuffle.partitions": str(tasks)}
    ):
        result = table.groupBy("ticker").applyInPandas(lambda rows: fit_ticker(rows, horizon), RESULT_SCHEMA).toPandas()
    failed = result[result["message"] != ""]
    failures = dict(zip(failed["ticker"], failed["message"], strict=True))
    left_out.warn(log, "GARCH failed and is left out for", failures, where="the log under --verbose")
    done = result[result["message"] == ""]
    params = {t: json.loads(p) for t, p in done.groupby("ticker")["params"].first().items()}
    return done[["ticker", "pos", "variance"]], params, failures


def forecasts(
    origin_price: np.ndarray, variance: np.ndarray, tickers: np.ndarray, params: dict[str, dict[str, float]]
) -> dict[str, np.ndarray]:
    """The ``garch`` point forecast and its bands in prices, (n, horizon) each, from each origin's per-day
    variance forecasts (n, horizon; NaN rows for a ticker without a fit), its ticker and the tickers' parameters
    (NaN for a ticker not in ``params``)."""
    from scipy import stats

    n, horizon = variance.shape
    # Per ticker, then spread over its origins: the t quantile of a million origins' degrees of freedom is
    # seconds, of a few thousand tickers' milliseconds.
    code, names = pd.factorize(np.asarray(tickers, dtype=str))
    fitted = [params.get(name) for name in names]
    mu = np.array([p["mu"] if p else np.nan for p in fitted])
    nu = np.array([p["nu"] if p else np.nan for p in fitted])
    unit = np.sqrt((nu - 2) / nu)  # arch's t has unit variance: its quantiles are the t's, shrunk by this
    steps = np.arange(1, horizon + 1)[None, :]
    mean = mu[code][:, None] * steps / RETURN_SCALE
    spread = np.sqrt(np.cumsum(variance, axis=1)) / RETURN_SCALE
    origin = origin_price[:, None]
    out = {"garch": origin * np.exp(mean)}
    for level in LEVELS:
        z = (stats.t.ppf(1 - (1 - level / 100) / 2, nu) * unit)[code][:, None]
        out[f"garch_lo{level}"] = origin * np.exp(mean - z * spread)
        out[f"garch_hi{level}"] = origin * np.exp(mean + z * spread)
    return out


def for_windows(per_origin: pd.DataFrame, params: dict[str, dict[str, float]], windows: Any) -> dict[str, np.ndarray]:
    """``forecasts`` for each of ``windows``, looking up its origin's variances in ``per_origin`` (ticker, pos,
    variance); NaN for a window whose ticker has no fit."""
    horizon = windows.y.shape[1]
    index = pd.MultiIndex.from_arrays([per_origin["ticker"].astype(str), per_origin["pos"].astype(np.int64)])
    wanted = pd.MultiIndex.from_arrays([windows.ticker.astype(str), windows.origin_pos.astype(np.int64)])
    position = index.get_indexer(wanted)
    variance = np.full((len(position), horizon), np.nan)
    found = np.flatnonzero(position >= 0)
    if len(found):  # only the rows asked for: the forecast's few windows need not stack a backtest's variances
        variance[found] = np.stack(per_origin["variance"].to_numpy()[position[found]])[:, :horizon]
    return forecasts(windows.origin_price, variance, windows.ticker, params)
