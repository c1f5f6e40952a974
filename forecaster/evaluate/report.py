"""Backtest predictions on the test days, metrics beside the baselines, and the report.

The report (``--report FILE``) is a contract other tools read::

    {"tickers": {"AAPL": {"test_start": "2017-01-03", "test_end": "2018-04-30", "n_test": 333,
       "metrics": {"1": {"lstm": {"rmse": .., "mae": .., "mape": .., "smape": .., "mase": ..,
                                  "directional_accuracy": .., "rmse_ratio_vs_naive": .., "lag1_share": ..,
                                  "coverage_80": .., "coverage_95": ..},
                         "naive": {...}, "drift": {...}, "moving_average": {...}}, "2": {...}}}},
     "summary": {"median_rmse_ratio_vs_naive": {"1": ..}, "share_beating_naive": {"1": ..}, ...}}

Steps are strings ("1" = next trading day); errors are in adjusted-close price units;
every model is scored on exactly the same (ticker, origin, step) rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import BASELINE_NAMES, LEVELS, MODEL_NAME, bound_column
from forecaster.evaluate import metrics


def _entry(rows: pd.DataFrame, column: str, mase_scale: float) -> dict[str, float | None]:
    actual, predicted, origin = rows["actual"].to_numpy(), rows[column].to_numpy(), rows["origin_price"].to_numpy()
    naive_rmse = metrics.rmse(actual, rows["naive"].to_numpy())
    entry = {
        "rmse": metrics.rmse(actual, predicted),
        "mae": metrics.mae(actual, predicted),
        "mape": metrics.mape(actual, predicted),
        "smape": metrics.smape(actual, predicted),
        "mase": metrics.mase(actual, predicted, mase_scale),
        "directional_accuracy": metrics.directional_accuracy(origin, actual, predicted),
        # A price that never moved in the test period makes naive perfect: no ratio exists.
        "rmse_ratio_vs_naive": metrics.rmse(actual, predicted) / naive_rmse if naive_rmse > 0 else None,
    }
    if column == MODEL_NAME:
        entry["lag1_share"] = metrics.lag1_share(origin, actual, predicted)
        for level in LEVELS:
            if bound_column(level, "lo") in rows:
                entry[f"coverage_{level}"] = metrics.coverage(actual, rows[bound_column(level, "lo")].to_numpy(),
                                                              rows[bound_column(level, "hi")].to_numpy())
    return entry


def ticker_metrics(predictions: pd.DataFrame, mase_scale: dict[str, float]) -> dict[str, dict]:
    """Per ticker: the test period and, per step, each forecast's metrics."""
    models = [MODEL_NAME, *[b for b in BASELINE_NAMES if b in predictions]]
    report: dict[str, dict] = {}
    for ticker, rows in predictions.groupby("ticker", sort=True):
        first_step = rows[rows["step"] == 1]
        report[str(ticker)] = {
            "test_start": f"{first_step['target_date'].min():%Y-%m-%d}",
            "test_end": f"{first_step['target_date'].max():%Y-%m-%d}",
            "n_test": int(len(first_step)),
            "metrics": {
                str(step): {name: _entry(step_rows, name, mase_scale[str(ticker)]) for name in models}
                for step, step_rows in rows.groupby("step", sort=True)
            },
        }
    return report


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.median(present)) if present else None


def _share_below_one(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean([v < 1.0 for v in present])) if present else None


def summary(per_ticker: dict[str, dict]) -> dict[str, Any]:
    """Across tickers, per step: medians of the LSTM's metrics and ratios, and the share beating naive."""
    steps = sorted({s for e in per_ticker.values() for s in e["metrics"]}, key=int)

    def collect(model: str, key: str, step: str) -> list[float | None]:
        return [e["metrics"][step][model].get(key) for e in per_ticker.values() if step in e["metrics"]]

    baselines = sorted({m for e in per_ticker.values() for by in e["metrics"].values() for m in by} - {MODEL_NAME})
    out: dict[str, Any] = {
        "tickers": len(per_ticker),
        "median_rmse_ratio_vs_naive": {s: _median(collect(MODEL_NAME, "rmse_ratio_vs_naive", s)) for s in steps},
        "share_beating_naive": {s: _share_below_one(collect(MODEL_NAME, "rmse_ratio_vs_naive", s)) for s in steps},
        "median_directional_accuracy": {s: _median(collect(MODEL_NAME, "directional_accuracy", s)) for s in steps},
        "median_mase": {s: _median(collect(MODEL_NAME, "mase", s)) for s in steps},
        "baselines_median_rmse_ratio_vs_naive": {
            b: {s: _median(collect(b, "rmse_ratio_vs_naive", s)) for s in steps} for b in baselines if b != "naive"},
    }
    for level in LEVELS:
        out[f"median_coverage_{level}"] = {s: _median(collect(MODEL_NAME, f"coverage_{level}", s)) for s in steps}
    return out


def build_report(predictions: pd.DataFrame, mase_scale: dict[str, float]) -> dict[str, Any]:
    """The report JSON (see the module docstring)."""
    per_ticker = ticker_metrics(predictions, mase_scale)
    return {"tickers": per_ticker, "summary": summary(per_ticker)}


def format_report(report: dict[str, Any], max_tickers: int = 20) -> str:
    """A short human table of the report's numbers (RMSE of each forecast, the LSTM's ratio and coverage)."""
    lines = [f"{'ticker':<8}{'step':>5}{'lstm':>10}{'naive':>10}{'drift':>10}{'mov.avg':>10}{'ratio':>8}"
             f"{'dir.acc':>8}{'cov80':>7}{'cov95':>7}  test days"]
    for ticker, entry in list(report["tickers"].items())[:max_tickers]:
        for step, by_model in entry["metrics"].items():
            lstm = by_model[MODEL_NAME]
            rmse = {name: by_model[name]["rmse"] if name in by_model else float("nan")
                    for name in (MODEL_NAME, *BASELINE_NAMES)}
            direction = lstm["directional_accuracy"]
            ratio = lstm["rmse_ratio_vs_naive"]
            lines.append(
                f"{ticker:<8}{step:>5}{rmse['lstm']:>10.4f}{rmse['naive']:>10.4f}{rmse['drift']:>10.4f}"
                f"{rmse['moving_average']:>10.4f}{'' if ratio is None else f'{ratio:.3f}':>8}"
                f"{'' if direction is None else f'{direction:.3f}':>8}{lstm.get('coverage_80', float('nan')):>7.2f}"
                f"{lstm.get('coverage_95', float('nan')):>7.2f}  {entry['test_start']}..{entry['test_end']} "
                f"({entry['n_test']})"
            )
    hidden = len(report["tickers"]) - max_tickers
    if hidden > 0:
        lines.append(f"... and {hidden} more tickers (see the report JSON)")
    summary_ = report["summary"]
    lines.append("RMSE columns are in price units; ratio = lstm RMSE / naive RMSE (below 1 beats naive).")
    lines.append("median ratio by step: " + ", ".join(
        f"{s}: {'n/a' if r is None else f'{r:.3f}'}" for s, r in summary_["median_rmse_ratio_vs_naive"].items()))
    lines.append("share of tickers beating naive by step: " + ", ".join(
        f"{s}: {'n/a' if r is None else f'{r:.2f}'}" for s, r in summary_["share_beating_naive"].items()))
    return "\n".join(lines)
