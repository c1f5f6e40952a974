"""Metrics of the backtest beside the baselines, and the report.

The report (``--report FILE``) is a contract other tools read::

    {"tickers": {"AAPL": {"test_start": "2017-01-03", "test_end": "2018-04-30", "n_test": 333,
       "metrics": {"1": {"lstm": {"rmse": .., "mae": .., "mape": .., "smape": .., "mase": ..,
                                  "directional_accuracy": .., "rmse_ratio_vs_naive": .., "lag1_share": ..,
                                  "coverage_80": .., "coverage_95": .., "width_80": .., "width_95": ..,
                                  "interval_score_80": .., "interval_score_95": .., "pinball": ..},
                         "naive": {..., "coverage_80": .., ..., "interval_score_95": ..},
                         "garch": {...}, "drift": {...}, "moving_average": {...}}, "2": {...}}}},
     "summary": {"median_rmse_ratio_vs_naive": {"1": ..}, "share_beating_naive": {"1": ..}, ...,
                 "median_interval_score_ratio_vs_naive": {"lstm": {"1": {"80": .., "95": ..}}, "garch": {...}},
                 "share_interval_score_beating_naive": {"lstm": {"1": {"80": .., "95": ..}}, "garch": {...}}}}

Steps are strings ("1" = next trading day); errors, widths and interval scores are in adjusted-close price
units; MASE is on log prices; every model is scored on exactly the same (ticker, origin, step) rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecaster.columns import (
    BASELINE_NAMES,
    INTERVAL_MODELS,
    LEVELS,
    MODEL_NAME,
    QUANTILES,
    bound_column,
    quantile_column,
)
from forecaster.evaluate import metrics

#: A band whose coverage is this far from its level (in points) is flagged in the run's output.
COVERAGE_WARNING_POINTS = 10


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
        lower, upper = bound_column(level, "lo", column), bound_column(level, "hi", column)
        if lower in rows and rows[lower].notna().any():
            lo, hi = rows[lower].to_numpy(), rows[upper].to_numpy()
            entry[f"coverage_{level}"] = metrics.coverage(actual, lo, hi)
            entry[f"width_{level}"] = metrics.width(lo, hi)
            entry[f"interval_score_{level}"] = metrics.interval_score(actual, lo, hi, level)
    if column == MODEL_NAME and quantile_column(QUANTILES[0]) in rows:
        entry["pinball"] = metrics.pinball(actual, {q: rows[quantile_column(q)].to_numpy() for q in QUANTILES})
    return entry


def ticker_metrics(predictions: pd.DataFrame, mase_scale: dict[str, float]) -> dict[str, dict]:
    """Per ticker: the test period and, per step, each forecast's metrics."""
    models = [MODEL_NAME, *[b for b in BASELINE_NAMES if b in predictions and predictions[b].notna().any()]]
    report: dict[str, dict] = {}
    for ticker, rows in predictions.groupby("ticker", sort=True):
        first_step = rows[rows["step"] == 1]
        report[str(ticker)] = {
            "test_start": f"{first_step['target_date'].min():%Y-%m-%d}",
            "test_end": f"{first_step['target_date'].max():%Y-%m-%d}",
            "n_test": int(len(first_step)),
            "metrics": {
                str(step): {name: _entry(step_rows, name, mase_scale[str(ticker)]) for name in models
                            if step_rows[name].notna().any()}
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


def interval_score_ratio(by_model: dict[str, dict], model: str, level: int) -> float | None:
    """``model``'s interval score over naive's at ``level``, from one (ticker, step) entry; None if absent."""
    key = f"interval_score_{level}"
    ours, theirs = by_model.get(model, {}).get(key), by_model.get("naive", {}).get(key)
    return ours / theirs if ours is not None and theirs else None


def summary(per_ticker: dict[str, dict]) -> dict[str, Any]:
    """Across tickers, per step: medians of the LSTM's metrics and ratios, the share beating naive, and the
    interval scores of the LSTM and GARCH against naive's bands."""
    steps = sorted({s for e in per_ticker.values() for s in e["metrics"]}, key=int)
    entries = [e["metrics"] for e in per_ticker.values()]

    def collect(model: str, key: str, step: str) -> list[float | None]:
        return [m[step][model].get(key) for m in entries if step in m and model in m[step]]

    def ratios(model: str, step: str, level: int) -> list[float | None]:
        return [interval_score_ratio(m[step], model, level) for m in entries if step in m]

    present = {name for m in entries for by in m.values() for name in by}
    baselines = [b for b in BASELINE_NAMES if b in present]
    banded = [m for m in INTERVAL_MODELS if m in present and m != "naive"]
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
    out["median_coverage_by_model"] = {
        m: {s: {str(level): _median(collect(m, f"coverage_{level}", s)) for level in LEVELS} for s in steps}
        for m in INTERVAL_MODELS if m in present}
    out["median_interval_score_ratio_vs_naive"] = {
        m: {s: {str(level): _median(ratios(m, s, level)) for level in LEVELS} for s in steps} for m in banded}
    out["share_interval_score_beating_naive"] = {
        m: {s: {str(level): _share_below_one(ratios(m, s, level)) for level in LEVELS} for s in steps}
        for m in banded}
    return out


def build_report(predictions: pd.DataFrame, mase_scale: dict[str, float]) -> dict[str, Any]:
    """The report JSON (see the module docstring)."""
    per_ticker = ticker_metrics(predictions, mase_scale)
    return {"tickers": per_ticker, "summary": summary(per_ticker)}


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def format_report(report: dict[str, Any], max_tickers: int = 20) -> str:
    """A short human table of the report: each forecast's RMSE, the LSTM's ratio to naive, its band coverage and
    its interval score against naive's and GARCH's; then the medians and a line per band that misses its level."""
    lines = [f"{'ticker':<8}{'step':>5}{'lstm':>10}{'naive':>10}{'drift':>10}{'garch':>10}{'ratio':>8}"
             f"{'dir.acc':>8}{'cov80':>7}{'cov95':>7}{'IS80/naive':>11}{'IS80/garch':>11}  test days"]
    for ticker, entry in list(report["tickers"].items())[:max_tickers]:
        for step, by_model in entry["metrics"].items():
            lstm = by_model[MODEL_NAME]
            rmse = {name: by_model[name]["rmse"] if name in by_model else float("nan")
                    for name in (MODEL_NAME, "naive", "drift", "garch")}
            garch_is = by_model.get("garch", {}).get("interval_score_80")
            vs_garch = lstm["interval_score_80"] / garch_is if garch_is and "interval_score_80" in lstm else None
            lines.append(
                f"{ticker:<8}{step:>5}{rmse['lstm']:>10.4f}{rmse['naive']:>10.4f}{rmse['drift']:>10.4f}"
                f"{rmse['garch']:>10.4f}{_number(lstm['rmse_ratio_vs_naive'], '.3f'):>8}"
                f"{_number(lstm['directional_accuracy'], '.3f'):>8}{_number(lstm.get('coverage_80'), '.2f'):>7}"
                f"{_number(lstm.get('coverage_95'), '.2f'):>7}"
                f"{_number(interval_score_ratio(by_model, MODEL_NAME, 80), '.3f'):>11}"
                f"{_number(vs_garch, '.3f'):>11}  {entry['test_start']}..{entry['test_end']} ({entry['n_test']})"
            )
    hidden = len(report["tickers"]) - max_tickers
    if hidden > 0:
        lines.append(f"... and {hidden} more tickers (see the report JSON)")
    summary_ = report["summary"]
    lines.append("RMSE columns are in price units; ratio = lstm RMSE / naive RMSE (below 1 beats naive); "
                 "IS80 = interval score of the 80% band (lower is better) over naive's or GARCH's.")
    lines.append("median ratio by step: " + ", ".join(
        f"{s}: {_number(r, '.3f')}" for s, r in summary_["median_rmse_ratio_vs_naive"].items()))
    lines.append("share of tickers beating naive by step: " + ", ".join(
        f"{s}: {_number(r, '.2f')}" for s, r in summary_["share_beating_naive"].items()))
    lines.extend(coverage_warnings(report))
    return "\n".join(lines)


def coverage_warnings(report: dict[str, Any]) -> list[str]:
    """One line per ticker and band of the LSTM whose test coverage is ``COVERAGE_WARNING_POINTS`` or more
    from its level (over every step)."""
    out = []
    for ticker, entry in report["tickers"].items():
        for level in LEVELS:
            covered = [m[MODEL_NAME].get(f"coverage_{level}") for m in entry["metrics"].values()]
            covered = [c for c in covered if c is not None]
            if covered and abs(np.mean(covered) * 100 - level) >= COVERAGE_WARNING_POINTS:
                out.append(f"warning: {ticker}'s {level}% band held {np.mean(covered):.0%} of test days "
                           f"(mean over steps), {abs(np.mean(covered) * 100 - level):.0f} points from {level}%")
    return out
