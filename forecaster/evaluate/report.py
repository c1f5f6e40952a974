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
from forecaster.config import TABLE_TICKERS, every_row
from forecaster.evaluate import band_backtest, metrics, significance
from forecaster.evaluate.records import collector_paused, records

#: A band whose coverage is this far from its level (in points) is flagged in the run's output.
COVERAGE_WARNING_POINTS = 10


def _grouped_means(terms: dict[str, np.ndarray], series: tuple[np.ndarray, pd.MultiIndex]) -> pd.DataFrame:
    """The mean of each term per (ticker, step) (``series``: ``metrics.series_groups``), skipping NaN (a row a
    metric does not apply to)."""
    group, index = series
    starts = metrics.series_starts(group, len(index))
    rows_per_series = np.bincount(group, minlength=len(index))
    means = {}
    for name, term in terms.items():
        values = np.asarray(term, dtype=np.float64)
        known = ~np.isnan(values)
        # Sums per series a column at a time: a frame of the terms, grouped, stacked every column into one
        # block first (a copy that cost 30 times more at 3 M rows than at 600 k).
        if known.all():
            sums, counts = metrics.sum_by_series(values, group, len(index), starts), rows_per_series
        else:
            sums = metrics.sum_by_series(np.where(known, values, 0.0), group, len(index), starts)
            counts = metrics.sum_by_series(known, group, len(index), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[name] = np.where(counts > 0, sums / counts, np.nan)
    return pd.DataFrame(means, index=index)


def _model_metrics(rows: pd.DataFrame, model: str, series: tuple[np.ndarray, pd.MultiIndex]) -> pd.DataFrame:
    """Every metric of ``model`` per (ticker, step), for all tickers at once: the numbers ``metrics.rmse``,
    ``metrics.mae``, ... give on each series (``tests/evaluate`` checks they agree)."""
    # NumPy arrays, not Series: at millions of rows each pandas operation's copies and checks cost more than
    # the arithmetic. NaN marks a row a term does not apply to.
    actual, origin = rows["actual"].to_numpy(np.float64), rows["origin_price"].to_numpy(np.float64)
    predicted = rows[model].to_numpy(np.float64)
    valid = ~(np.isnan(actual) | np.isnan(predicted))
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or negative price gives inf or NaN, as pandas
        error = np.where(valid, actual - predicted, np.nan)
        called = np.where(valid, np.sign(predicted - origin), np.nan)
        terms = {
            "sq": error**2,
            "mae": np.abs(error),
            "mape": np.abs(error / actual) * 100,
            "smape": 2 * np.abs(error) / (np.abs(actual) + np.abs(predicted)) * 100,
            "alog": np.where(valid, np.abs(np.log(actual) - np.log(predicted)), np.nan),
            "hit": np.where(valid, called == np.sign(actual - origin), np.nan),
            "called": np.where(valid, called != 0, np.nan),
            "valid": valid.astype(float),
        }
        if model == MODEL_NAME:
            terms["lag1_share"] = np.where(valid, np.abs(predicted - origin) < np.abs(predicted - actual), np.nan)
            if quantile_column(QUANTILES[0]) in rows:
                for q in QUANTILES:
                    miss = actual - rows[quantile_column(q)].to_numpy(np.float64)
                    terms[f"pinball_{q}"] = np.maximum(q * miss, (q - 1) * miss)
        for level in LEVELS:
            lower, upper = bound_column(level, "lo", model), bound_column(level, "hi", model)
            if lower in rows and rows[lower].notna().any():
                lo, hi = rows[lower].to_numpy(np.float64), rows[upper].to_numpy(np.float64)
                terms[f"coverage_{level}"] = np.where(np.isnan(actual), np.nan, (actual >= lo) & (actual <= hi))
                terms[f"width_{level}"] = hi - lo
                terms[f"interval_score_{level}"] = np.asarray(metrics.interval_scores(actual, lo, hi, level))
    means = _grouped_means(terms, series)
    out = pd.DataFrame(index=means.index)
    out["rmse"] = np.sqrt(means["sq"])
    out["mae"], out["mape"], out["smape"] = means["mae"], means["mape"], means["smape"]
    out["alog"] = means["alog"]
    # A forecast that never calls a direction (naive) has no directional accuracy.
    out["directional_accuracy"] = means["hit"].where(means["called"] > 0)
    for column in means.columns:
        if column.startswith(("lag1", "coverage_", "width_", "interval_score_")):
            out[column] = means[column]
    pinballs = [c for c in means.columns if c.startswith("pinball_")]
    if pinballs:
        out["pinball"] = means[pinballs].mean(axis=1)
    return out[means["valid"] > 0]


def metric_table(
    predictions: pd.DataFrame,
    mase_scale: dict[str, float],
    series: tuple[np.ndarray, pd.MultiIndex] | None = None,
) -> dict[str, pd.DataFrame]:
    """Per model present, its metrics per (ticker, step) for every ticker at once (vectorised: the cost grows
    with the rows), with ``mase`` and ``rmse_ratio_vs_naive``. ``series``: the rows' ``metrics.series_groups``,
    when already known."""
    # Rows numbered 0..n-1, as the run's are (a copy of every column otherwise: about 1 GB at 2,500 tickers).
    numbered = predictions.index.equals(pd.RangeIndex(len(predictions)))
    rows = predictions if numbered else predictions.reset_index(drop=True)
    series = metrics.series_groups(rows) if series is None else series
    models = [MODEL_NAME, *[b for b in BASELINE_NAMES if b in rows and rows[b].notna().any()]]
    tables = {m: _model_metrics(rows, m, series) for m in models}
    naive_rmse = tables["naive"]["rmse"]
    for table in tables.values():
        scale = pd.Series(table.index.get_level_values(0)).map(mase_scale).to_numpy()
        table["mase"] = np.where(scale > 0, table["alog"] / np.where(scale > 0, scale, 1), np.nan)
        # A price that never moved in the test period makes naive perfect: no ratio exists.
        theirs = naive_rmse.reindex(table.index).to_numpy()
        table["rmse_ratio_vs_naive"] = np.where(theirs > 0, table["rmse"] / np.where(theirs > 0, theirs, 1), np.nan)
    return tables


#: The order of an entry's fields, as the report has always written them.
_ORDER = (
    "rmse",
    "mae",
    "mape",
    "smape",
    "mase",
    "directional_accuracy",
    "rmse_ratio_vs_naive",
    "lag1_share",
    "coverage_80",
    "width_80",
    "interval_score_80",
    "coverage_95",
    "width_95",
    "interval_score_95",
    "pinball",
)


#: Why a metric of a ticker that remains in the run can be undefined: written beside it (``undefined``), where
#: the report has null. Never NaN or infinity.
UNDEFINED = {
    "rmse_ratio_vs_naive": "naive's error is 0 on these days: the price never moved",
    "directional_accuracy": "the forecast never calls a direction: it is the last price every day",
    "mase": "the price never moved on the training days",
    "dm_stat": "no difference to test: the forecast is naive's, or too few days",
    "dm_p_vs_naive": "no difference to test: the forecast is naive's, or too few days",
    "dm_is80_p_vs_naive": "no difference to test: the forecast is naive's, or too few days",
    "pt_p": "the forecast, or the outcome, never changes direction",
}


def _entries(table: pd.DataFrame) -> dict[tuple[str, int], dict[str, Any]]:
    columns = [c for c in _ORDER if c in table]
    tickers, steps = table.index.get_level_values(0).astype(str), table.index.get_level_values(1).astype(int)
    keys = zip(tickers, steps.tolist(), strict=True)
    out = {}
    for key, entry in zip(keys, records(table[columns]), strict=True):
        missing = {c: UNDEFINED.get(c, "no value on these days") for c, v in entry.items() if v is None}
        if missing:
            entry["undefined"] = missing
        out[key] = entry
    return out


def _tests_by_key(tests: pd.DataFrame | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    if tests is None or tests.empty:
        return {}
    rows = records(tests)
    return {(str(r["ticker"]), str(int(r["step"])), str(r["model"])): r for r in rows}


def _with_tests(entry: dict[str, Any], found: dict[str, Any] | None, model: str) -> dict[str, Any]:
    """The significance fields of one (ticker, step, model) entry, and the difference from naive in words."""
    if found is None:
        return entry
    entry.update({field: found.get(field) for field in significance.FIELDS})
    entry["in_mcs_90"] = bool(entry["in_mcs_90"])
    if model != "naive":
        entry["vs_naive"] = significance.verdict_vs_naive(
            found.get("dm_stat"), found.get("dm_p_vs_naive"), bool(found.get("abstains"))
        )
    missing = {}
    for field in significance.FIELDS:
        if entry.get(field) is None:
            missing[field] = (
                "naive is what the others are tested against"
                if model == "naive"
                else "this forecast has no band"
                if field == "dm_is80_p_vs_naive" and model not in significance.BANDED
                else UNDEFINED[field]
            )
    if missing:
        entry["undefined"] = {**entry.get("undefined", {}), **missing}
    return entry


#: At most this many backtest rows (of whole tickers) are made into report entries at once: every block then
#: costs what a universe of its size costs, whatever the number of tickers (one block of 3 M rows took about half
#: as much again per row as five of 650 k: its arrays and entries outgrow the processor's cache).
BLOCK_ROWS = 650_000


def ticker_metrics(predictions: pd.DataFrame, mase_scale: dict[str, float]) -> dict[str, dict]:
    """Per ticker: the test period and, per step, each forecast's metrics and its bands' backtests (``bands``,
    per tail); ``add_tests`` adds the tests against naive. Made ``BLOCK_ROWS`` rows of whole tickers at a time:
    every number of a ticker comes from its own rows."""
    return _metrics(predictions, mase_scale)[0]


def _metrics(
    predictions: pd.DataFrame, mase_scale: dict[str, float]
) -> tuple[dict[str, dict], dict[str, pd.DataFrame], pd.DataFrame]:
    """``ticker_metrics``, with the tables it was made from: each model's ``metric_table`` and the band
    backtests (``band_backtest.backtests``), for every ticker."""
    rows, _, _ = metrics.sort_series(predictions)
    if len(rows) <= BLOCK_ROWS:
        return _block_metrics(rows, mase_scale)
    tickers = rows["ticker"].to_numpy()
    firsts = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1]])
    at = np.searchsorted(firsts, np.arange(0, len(rows), BLOCK_ROWS))  # the first ticker from each multiple on
    cuts = np.unique(np.r_[firsts[at[at < len(firsts)]], len(rows)])
    report: dict[str, dict] = {}
    tables: dict[str, list[pd.DataFrame]] = {}
    bands = []
    for start, end in zip(cuts[:-1], cuts[1:], strict=True):
        block = rows.iloc[start:end]
        block.index = pd.RangeIndex(len(block))  # numbered from 0 as a whole backtest is: no copy of its columns
        entries, block_tables, block_bands = _block_metrics(block, mase_scale)
        report.update(entries)
        for model, table in block_tables.items():
            tables.setdefault(model, []).append(table)
        bands.append(block_bands)
    return report, {m: pd.concat(t) for m, t in tables.items()}, pd.concat(bands, ignore_index=True)


def _block_metrics(
    predictions: pd.DataFrame, mase_scale: dict[str, float]
) -> tuple[dict[str, dict], dict[str, pd.DataFrame], pd.DataFrame]:
    # The block is in series order (``_metrics`` sorted it): its series numbered once, for both tables.
    rows, group, index = metrics.sort_series(predictions)
    tables = metric_table(rows, mase_scale, (group, index))
    entries = {model: _entries(table) for model, table in tables.items()}
    band_table = band_backtest.backtests(rows, (group, index))
    bands = band_backtest.as_entries(band_table)
    first_step = predictions[predictions["step"] == predictions["step"].min()].groupby("ticker", sort=True)
    spans = first_step["target_date"].agg(["min", "max", "size"])
    steps = sorted(int(s) for s in predictions["step"].unique())
    report: dict[str, dict] = {}
    for ticker, (start, end, count) in spans.iterrows():
        ticker = str(ticker)
        by_step = {}
        for step in steps:
            found = {model: entry[(ticker, step)] for model, entry in entries.items() if (ticker, step) in entry}
            if found:
                by_step[str(step)] = {
                    name: {
                        **fields,
                        **({"bands": bands[(ticker, str(step), name)]} if (ticker, str(step), name) in bands else {}),
                    }
                    for name, fields in found.items()
                }
        report[ticker] = {
            "test_start": f"{start:%Y-%m-%d}",
            "test_end": f"{end:%Y-%m-%d}",
            "n_test": int(count),
            "metrics": by_step,
        }
    return report, tables, band_table


def add_tests(report: dict[str, Any], tests: pd.DataFrame) -> dict[str, Any]:
    """``report`` with each (ticker, step, model) entry's tests against naive (``significance.ticker_tests``
    rows: ``dm_stat``, ``dm_p_vs_naive``, ``dm_is80_p_vs_naive``, ``pt_p``, ``in_mcs_90``, and ``vs_naive`` in
    words) and ``summary.significance``."""
    found = _tests_by_key(tests)
    for ticker, entry in report["tickers"].items():
        for step, by_model in entry["metrics"].items():
            for name, fields in by_model.items():
                _with_tests(fields, found.get((ticker, step, name)), name)
    report["summary"]["significance"] = significance.summary(tests)
    return report


def _median(values: pd.Series) -> float | None:
    present = values.to_numpy(np.float64)
    present = present[np.isfinite(present)]  # what the entries hold as null
    return float(np.median(present)) if len(present) else None


def _share_below_one(values: pd.Series) -> float | None:
    present = values.to_numpy(np.float64)
    present = present[np.isfinite(present)]
    return float(np.mean(present < 1.0)) if len(present) else None


def interval_score_ratio(by_model: dict[str, dict], model: str, level: int) -> float | None:
    """``model``'s interval score over naive's at ``level``, from one (ticker, step) entry; None if absent."""
    key = f"interval_score_{level}"
    ours, theirs = by_model.get(model, {}).get(key), by_model.get("naive", {}).get(key)
    return ours / theirs if ours is not None and theirs else None


def abstaining_steps(predictions: pd.DataFrame) -> dict[str, bool]:
    """Per step: True when the model's forecast is naive's for every ticker and day (validation chose a
    shrinkage of 0): the step is a tie with naive, not a loss."""
    # Counted over the steps' numbers, not grouped: a groupby gathers every step's rows (23 times the cost at
    # 5 times the rows, measured with benchmarks/universe.py).
    steps, values = pd.factorize(predictions["step"], sort=True)
    apart = significance.apart_from_naive(
        predictions[MODEL_NAME].to_numpy(np.float64), predictions["naive"].to_numpy(np.float64)
    )
    days_apart = np.bincount(steps, weights=apart, minlength=len(values))
    return {str(int(step)): bool(days_apart[i] == 0) for i, step in enumerate(values)}


def summary(tables: dict[str, pd.DataFrame], tickers: int) -> dict[str, Any]:
    """Across the ``tickers`` tickers, per step: medians of the LSTM's metrics and ratios, the share beating
    naive, and the interval scores of the LSTM and GARCH against naive's bands (``tables``: each model's
    ``metric_table``, every ticker; an undefined value is skipped, as the entries' nulls are)."""
    steps = sorted({int(s) for t in tables.values() for s in t.index.get_level_values(1)})
    by_step = {m: {s: rows for s, rows in t.groupby(level=1)} for m, t in tables.items()}

    def collect(model: str, key: str, step: int) -> pd.Series:
        rows = by_step.get(model, {}).get(step)
        return rows[key] if rows is not None and key in rows else pd.Series(dtype=np.float64)

    def ratios(model: str, step: int, level: int) -> pd.Series:
        key = f"interval_score_{level}"
        ours, theirs = collect(model, key, step), collect("naive", key, step)
        theirs = theirs.reindex(ours.index)
        defined = np.isfinite(ours) & np.isfinite(theirs) & (theirs != 0)  # naive's band without width: none
        return (ours / theirs).where(defined)

    present = set(tables)
    baselines = [b for b in BASELINE_NAMES if b in present]
    banded = [m for m in INTERVAL_MODELS if m in present and m != "naive"]
    lstm = MODEL_NAME
    out: dict[str, Any] = {
        "tickers": tickers,
        "median_rmse_ratio_vs_naive": {str(s): _median(collect(lstm, "rmse_ratio_vs_naive", s)) for s in steps},
        "share_beating_naive": {str(s): _share_below_one(collect(lstm, "rmse_ratio_vs_naive", s)) for s in steps},
        "median_directional_accuracy": {str(s): _median(collect(lstm, "directional_accuracy", s)) for s in steps},
        "median_mase": {str(s): _median(collect(lstm, "mase", s)) for s in steps},
        "baselines_median_rmse_ratio_vs_naive": {
            b: {str(s): _median(collect(b, "rmse_ratio_vs_naive", s)) for s in steps} for b in baselines if b != "naive"
        },
    }
    for level in LEVELS:
        out[f"median_coverage_{level}"] = {str(s): _median(collect(lstm, f"coverage_{level}", s)) for s in steps}
    out["median_coverage_by_model"] = {
        m: {str(s): {str(level): _median(collect(m, f"coverage_{level}", s)) for level in LEVELS} for s in steps}
        for m in INTERVAL_MODELS
        if m in present
    }
    out["median_interval_score_ratio_vs_naive"] = {
        m: {str(s): {str(level): _median(ratios(m, s, level)) for level in LEVELS} for s in steps} for m in banded
    }
    out["share_interval_score_beating_naive"] = {
        m: {str(s): {str(level): _share_below_one(ratios(m, s, level)) for level in LEVELS} for s in steps}
        for m in banded
    }
    return out


def build_report(
    predictions: pd.DataFrame, mase_scale: dict[str, float], tests: pd.DataFrame | None = None, skill: Any = None
) -> dict[str, Any]:
    """The report JSON (see the module docstring), with the tests against naive when given ``tests``
    (``significance.ticker_tests`` rows) and the cross-sectional skill when given ``skill``
    (``forecaster.evaluate.skill.Skill``)."""
    with collector_paused():
        per_ticker, tables, bands = _metrics(predictions, mase_scale)
        out = {"tickers": per_ticker, "summary": summary(tables, len(per_ticker))}
        abstains = abstaining_steps(predictions)
        out["summary"]["abstains"] = abstains
        for step, tied in abstains.items():
            if tied:  # the forecast is naive's: no ticker beats it, none loses to it
                out["summary"]["share_beating_naive"][step] = None
        out["summary"]["band_zones"] = band_backtest.zone_shares(bands)
        if tests is not None:
            add_tests(out, tests)
        if skill is not None:
            out["summary"]["cross_section"] = skill.cross_section
            out["summary"]["portfolio"] = skill.portfolio
    return out


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _vs_naive(entry: dict[str, Any]) -> str:
    """The table's words for the model against naive at one (ticker, step): better, worse, same, or tie."""
    words = entry.get("vs_naive")
    if words is None:
        return ""
    if words.startswith("tie"):
        return "tie (abstains)"
    short = {"no significant difference": "same"}.get(words, words)
    p = entry.get("dm_p_vs_naive")
    return f"{short} p={p:.2f}" if p is not None and p >= 0.01 else f"{short} p<0.01" if p is not None else short


#: In the summary of a larger universe, the best and the worst tickers shown per step.
BEST_AND_WORST = 3


def format_report(report: dict[str, Any], table: str = "auto") -> str:
    """A short human table of the report: each forecast's RMSE, the LSTM's ratio to naive and whether the
    difference is significant (Diebold-Mariano), its band coverage and its interval score against naive's and
    GARCH's; then the medians, the cross-sectional skill and the portfolio when computed, and the bands that miss
    their level. ``table``: ``all`` prints a row per ticker and step, ``summary`` the best and worst tickers of
    each step, ``auto`` the first up to ``TABLE_TICKERS`` tickers and the second beyond."""
    lines = [
        f"{'ticker':<8}{'step':>5}{'lstm':>10}{'naive':>10}{'drift':>10}{'garch':>10}{'ratio':>8}"
        f"  {'vs naive (DM)':<16}{'dir.acc':>8}{'cov80':>7}{'cov95':>7}{'IS80/naive':>11}{'IS80/garch':>11}"
        "  test days"
    ]
    tickers = report["tickers"]
    if every_row(table, len(tickers)):
        lines += [_row(t, step, entry) for t, entry in tickers.items() for step in entry["metrics"]]
    else:
        lines.insert(
            0,
            f"the {BEST_AND_WORST} best and {BEST_AND_WORST} worst of {len(tickers):,} tickers at each "
            "step by the LSTM's RMSE ratio to naive (every ticker: --table all, or metrics.parquet in "
            "the run folder)",
        )
        for step in next(iter(tickers.values()))["metrics"]:
            ranked = _ranked(tickers, step)
            shown = ranked[:BEST_AND_WORST] + [t for t in ranked[-BEST_AND_WORST:] if t not in ranked[:BEST_AND_WORST]]
            lines += [_row(t, step, tickers[t]) for t in shown]
    lines.extend(summary_lines(report["summary"]))
    lines.extend(coverage_warnings(report))
    return "\n".join(lines)


def _ranked(tickers: dict[str, Any], step: str) -> list[str]:
    """Tickers from the lowest LSTM RMSE ratio to naive at ``step`` to the highest (undefined ratios left out)."""
    ratios = {t: e["metrics"][step][MODEL_NAME]["rmse_ratio_vs_naive"] for t, e in tickers.items()}
    return sorted((t for t, r in ratios.items() if r is not None), key=lambda t: ratios[t])


def _row_values(ticker: str, step: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One row of the run's table as values, under the table's column names (None where undefined)."""
    by_model = entry["metrics"][step]
    lstm = by_model[MODEL_NAME]
    garch_is = by_model.get("garch", {}).get("interval_score_80")
    return {
        "ticker": ticker,
        "step": int(step),
        **{
            name: by_model[name]["rmse"] if name in by_model else None
            for name in (MODEL_NAME, "naive", "drift", "garch")
        },
        "ratio": lstm["rmse_ratio_vs_naive"],
        "vs naive (DM)": _vs_naive(lstm),
        "dir.acc": lstm["directional_accuracy"],
        "cov80": lstm.get("coverage_80"),
        "cov95": lstm.get("coverage_95"),
        "IS80/naive": interval_score_ratio(by_model, MODEL_NAME, 80),
        "IS80/garch": lstm["interval_score_80"] / garch_is if garch_is and lstm.get("interval_score_80") else None,
        "test_start": entry["test_start"],
        "test_end": entry["test_end"],
        "test_days": entry["n_test"],
    }


def _row(ticker: str, step: str, entry: dict[str, Any]) -> str:
    v = _row_values(ticker, step, entry)
    return (
        f"{ticker:<8}{step:>5}{_number(v['lstm'], '.4f'):>10}{_number(v['naive'], '.4f'):>10}"
        f"{_number(v['drift'], '.4f'):>10}{_number(v['garch'], '.4f'):>10}"
        f"{_number(v['ratio'], '.3f'):>8}  {v['vs naive (DM)']:<16}"
        f"{_number(v['dir.acc'], '.3f'):>8}{_number(v['cov80'], '.2f'):>7}{_number(v['cov95'], '.2f'):>7}"
        f"{_number(v['IS80/naive'], '.3f'):>11}{_number(v['IS80/garch'], '.3f'):>11}  "
        f"{v['test_start']}..{v['test_end']} ({v['test_days']})"
    )


def report_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The run's table (``format_report``'s rows, every ticker and step) as a DataFrame indexed by ticker and
    step, for notebooks: it renders as a table, in Jupyter and in an exported page alike, with the numbers
    as numbers (RMSEs in price units, NaN where undefined).

    Example:
        >>> report_frame(result.report).loc["AAPL"]  # doctest: +SKIP
    """
    rows = [_row_values(t, step, e) for t, e in report["tickers"].items() for step in e.get("metrics", {})]
    return pd.DataFrame(rows).set_index(["ticker", "step"])


def summary_lines(summary_: dict[str, Any]) -> list[str]:
    """The report's summary in a few lines: the medians against naive, how many tickers are significantly better
    or worse, and, when computed, the ranking skill and the long-short portfolio."""
    abstains = summary_.get("abstains", {})
    lines = [
        "RMSE columns are in price units; ratio = lstm RMSE / naive RMSE (below 1 beats naive); vs naive: "
        "Diebold-Mariano on squared errors; IS80 = interval score of the 80% band (lower is better) over "
        "naive's or GARCH's.",
        "median ratio by step: "
        + ", ".join(f"{s}: {_number(r, '.3f')}" for s, r in summary_["median_rmse_ratio_vs_naive"].items()),
        "share of tickers beating naive by step: "
        + ", ".join(
            f"{s}: {'abstains (the forecast is naive' + chr(39) + 's)' if abstains.get(s) else _number(r, '.2f')}"
            for s, r in summary_["share_beating_naive"].items()
        ),
    ]
    tests = summary_.get("significance")
    if tests:
        lines.append(
            "significantly better / worse than naive (Diebold-Mariano, 5% after Benjamini-Hochberg) by "
            "step: " + ", ".join(f"{s}: {v['share_better']:.0%} / {v['share_worse']:.0%}" for s, v in tests.items())
        )
    lines.extend(_skill_lines(summary_))
    return lines


def _skill_lines(summary_: dict[str, Any]) -> list[str]:
    cross, held = summary_.get("cross_section"), summary_.get("portfolio")
    if not cross:
        return []
    if "absent" in cross:
        return [f"cross-sectional tests and portfolio: not computed ({cross['absent']})"]
    lines = []
    for step, signals in cross.items():
        if not isinstance(signals, dict) or step == "min_tickers":
            continue
        ranks = [
            f"{name} {_number(v['rank_ic']['mean'], '+.3f')} (t {_number(v['rank_ic']['t'], '.1f')})"
            if not v.get("abstains")
            else f"{name} abstains"
            for name, v in signals.items()
        ]
        lines.append(f"Rank IC across tickers, step {step} (mean, t): " + ", ".join(ranks))
    cost = held.get("cost_bps") if held else None
    for step, signals in (held or {}).items():
        if not isinstance(signals, dict):
            continue
        figures = [
            f"{name} {_number(v.get('annual_return_net'), '+.1%')} (IR {_number(v.get('ir_net'), '.2f')})"
            for name, v in signals.items()
        ]
        lines.append(
            f"long-short decile, net of {cost:g} bp a half-turn, step {step} (a year, IR): " + ", ".join(figures)
        )
    return lines


def coverage_warnings(report: dict[str, Any], few: int = TABLE_TICKERS) -> list[str]:
    """A line per ticker and band of the LSTM whose test coverage is ``COVERAGE_WARNING_POINTS`` or more from its
    level (mean over every step): each of them up to ``few``, else their count and the ``few`` farthest."""
    found = []
    for ticker, entry in report["tickers"].items():
        for level in LEVELS:
            covered = [m[MODEL_NAME].get(f"coverage_{level}") for m in entry["metrics"].values()]
            covered = [c for c in covered if c is not None]
            if covered and abs(np.mean(covered) * 100 - level) >= COVERAGE_WARNING_POINTS:
                found.append((abs(np.mean(covered) * 100 - level), ticker, level, float(np.mean(covered))))
    lines = [
        f"warning: {ticker}'s {level}% band held {held:.0%} of test days (mean over steps), {off:.0f} points "
        f"from {level}%"
        for off, ticker, level, held in (found if len(found) <= few else sorted(found, reverse=True)[:few])
    ]
    if len(found) > few:
        lines.insert(
            0,
            f"warning: {len(found):,} bands of {len(report['tickers']):,} tickers held their level "
            f"{COVERAGE_WARNING_POINTS} points or more off; the {few} farthest:",
        )
    return lines
