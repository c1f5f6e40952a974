"""Backtest predictions on the test days, metrics beside the baselines, and the report.

The report (``--report FILE``) is a contract other tools read::

    {"tickers": {"AAPL": {"test_start": "2017-01-03", "test_end": "2018-04-30", "n_test": 333,
       "metrics": {"1": {"lstm": {"rmse": .., "mae": .., "mape": .., "directional_accuracy": ..},
                         "naive": {...}}}}},
     "summary": {"median_rmse_ratio_vs_naive": {"1": ..}}}

Steps are strings ("1" = next trading day); errors are in adjusted-close price units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster import metrics
from forecaster.baselines import BASELINES
from forecaster.windows import Windows

MODEL_NAME = "lstm"


def predictions_frame(windows: Windows, model_prices: np.ndarray) -> pd.DataFrame:
    """One row per ticker, origin and step that has an actual price: actual, lstm and each baseline."""
    horizon = windows.target_price.shape[1]
    forecasts = {MODEL_NAME: model_prices, **{name: fn(windows) for name, fn in BASELINES.items()}}
    frames = []
    for step in range(horizon):
        frame = pd.DataFrame({
            "ticker": windows.ticker,
            "origin_date": windows.origin_date,
            "target_date": windows.target_date[:, step],
            "step": step + 1,
            "origin_price": windows.origin_price,
            "actual": windows.target_price[:, step],
            **{name: values[:, step] for name, values in forecasts.items()},
        })
        frames.append(frame[frame["actual"].notna()])
    return pd.concat(frames, ignore_index=True).sort_values(["ticker", "step", "target_date"], ignore_index=True)


def _entry(rows: pd.DataFrame, column: str) -> dict[str, float | None]:
    actual, predicted = rows["actual"].to_numpy(), rows[column].to_numpy()
    return {
        "rmse": metrics.rmse(actual, predicted),
        "mae": metrics.mae(actual, predicted),
        "mape": metrics.mape(actual, predicted),
        "directional_accuracy": metrics.directional_accuracy(rows["origin_price"].to_numpy(), actual, predicted),
    }


def ticker_metrics(predictions: pd.DataFrame) -> dict[str, dict]:
    """Per ticker: the test period and, per step, each forecast's metrics."""
    models = [MODEL_NAME, *BASELINES]
    report: dict[str, dict] = {}
    for ticker, rows in predictions.groupby("ticker", sort=True):
        first_step = rows[rows["step"] == 1]
        report[str(ticker)] = {
            "test_start": f"{first_step['target_date'].min():%Y-%m-%d}",
            "test_end": f"{first_step['target_date'].max():%Y-%m-%d}",
            "n_test": int(len(first_step)),
            "metrics": {
                str(step): {name: _entry(step_rows, name) for name in models}
                for step, step_rows in rows.groupby("step", sort=True)
            },
        }
    return report


def summary(per_ticker: dict[str, dict]) -> dict[str, dict]:
    """Across tickers, per step: the median RMSE ratio to naive and the share of tickers beating naive."""
    ratios: dict[str, list[float]] = {}
    for entry in per_ticker.values():
        for step, by_model in entry["metrics"].items():
            ratios.setdefault(step, []).append(by_model[MODEL_NAME]["rmse"] / by_model["naive"]["rmse"])
    return {
        "median_rmse_ratio_vs_naive": {step: float(np.median(r)) for step, r in ratios.items()},
        "share_beating_naive": {step: float(np.mean(np.array(r) < 1.0)) for step, r in ratios.items()},
    }


def build_report(predictions: pd.DataFrame) -> dict[str, dict]:
    """The report JSON (see the module docstring)."""
    per_ticker = ticker_metrics(predictions)
    return {"tickers": per_ticker, "summary": summary(per_ticker)}


def format_report(report: dict[str, dict]) -> str:
    """A short human table of the report's numbers."""
    lines = [f"{'ticker':<8}{'step':>5}{'lstm rmse':>11}{'naive rmse':>12}{'ratio':>8}"
             f"{'lstm mae':>10}{'naive mae':>11}{'lstm dir':>10}  test days"]
    for ticker, entry in report["tickers"].items():
        for step, by_model in entry["metrics"].items():
            lstm, naive = by_model[MODEL_NAME], by_model["naive"]
            direction = lstm["directional_accuracy"]
            lines.append(
                f"{ticker:<8}{step:>5}{lstm['rmse']:>11.4f}{naive['rmse']:>12.4f}{lstm['rmse'] / naive['rmse']:>8.3f}"
                f"{lstm['mae']:>10.4f}{naive['mae']:>11.4f}{'' if direction is None else f'{direction:.3f}':>10}"
                f"  {entry['test_start']}..{entry['test_end']} ({entry['n_test']})"
            )
    medians = report["summary"]["median_rmse_ratio_vs_naive"]
    lines.append("median RMSE ratio lstm/naive by step: " + ", ".join(f"{s}: {r:.3f}" for s, r in medians.items()))
    return "\n".join(lines)
