"""Pure functions from artifacts to what the page writes in words and tables: the verdict, the metrics, the
forecast panel, the Compare table. No Dash, no I/O. The grids get numbers and format them in the browser with
the d3 formats of ``UNIT_FORMATS``; ``fmt`` writes the same formats in Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.figures import ahead, ratio_to_naive
from dashboard.theme import display_name
from forecaster.columns import BASELINE_NAMES, FORECAST_COLUMN, LEVELS, bound_column
from forecaster.columns import MODEL_NAME as MODEL

#: A band whose coverage is further than this from its nominal level (in percentage points) is flagged.
COVERAGE_TOLERANCE_POINTS = 5.0


@dataclass(frozen=True)
class Metric:
    """One row of the metrics table: how to show a report field."""

    key: str
    label: str
    unit: str  # a key of UNIT_FORMATS ("price", "share" in percent, "pct" already in percent, "ratio"), or "flag"
    help: str = ""


METRICS: tuple[Metric, ...] = (
    Metric("rmse", "RMSE", "price", "Root mean squared error, in the ticker's price units. Lower is better."),
    Metric(
        "rmse_ratio_vs_naive",
        "RMSE / naive's RMSE",
        "ratio",
        "Below 1: the forecast's error is lower than 'tomorrow = today' on the same days.",
    ),
    Metric("mae", "MAE", "price", "Mean absolute error, in price units."),
    Metric("mape", "MAPE", "pct", "Mean absolute percentage error."),
    Metric(
        "mase",
        "MASE",
        "ratio",
        "Mean absolute scaled error on log prices: the mean absolute error over the average one-day move "
        "in the training period. Naive reads about 1 at one day ahead; lower is better.",
    ),
    Metric(
        "directional_accuracy",
        "Direction right",
        "share",
        "Share of days on which the forecast called the direction of the move from the last close right. "
        "Naive never calls a direction.",
    ),
    Metric(
        "coverage_80",
        "80% band held",
        "share",
        "Share of test days on which the actual price fell inside the 80% band. Should read about 80%.",
    ),
    Metric(
        "coverage_95",
        "95% band held",
        "share",
        "Share of test days on which the actual price fell inside the 95% band. Should read about 95%.",
    ),
    Metric("width_80", "80% band width", "price", "Mean width of the 80% band, in price units."),
    Metric("width_95", "95% band width", "price", "Mean width of the 95% band, in price units."),
    Metric(
        "interval_score_80",
        "80% interval score",
        "price",
        "Width of the 80% band plus a penalty of 2/0.2 = 10 times each miss (Gneiting & Raftery; M4's MSIS "
        "before scaling), in price units. Rewards narrow bands only while they hold. Lower is better.",
    ),
    Metric(
        "interval_score_95",
        "95% interval score",
        "price",
        "Width of the 95% band plus 2/0.05 = 40 times each miss, in price units. Lower is better.",
    ),
    Metric(
        "pinball",
        "Pinball loss",
        "price",
        "Mean quantile (pinball) loss over the model's five quantiles, in price units. Lower is better.",
    ),
    Metric(
        "lag1_share",
        "Lag-1 share",
        "share",
        "Share of forecasts closer to the last close than to the outcome. Near 100%: the model mostly "
        "echoes today's price.",
    ),
    Metric(
        "dm_p_vs_naive",
        "Diebold-Mariano p vs naive",
        "ratio",
        "Is the difference from naive's squared error more than noise? Below 0.05 it is (two-sided; HAC variance "
        "over the step's overlap, Harvey's correction).",
    ),
    Metric(
        "dm_is80_p_vs_naive",
        "DM p, 80% interval score",
        "ratio",
        "The same test on the 80% band's interval score against naive's constant band.",
    ),
    Metric(
        "pt_p",
        "Direction test p",
        "ratio",
        "Pesaran-Timmermann: does it call the direction of the change better than chance? Below 0.05 it does.",
    ),
    Metric(
        "in_mcs_90",
        "In the 90% model confidence set",
        "flag",
        "Among the forecasts that cannot be told from the best on squared error (Hansen, Lunde and Nason).",
    ),
)


#: How each unit is written, as d3 formats (the grids format in the browser with these): a share in percent, a
#: percentage already in percent, a ratio to three decimals, a price with two decimals (three significant
#: digits below 1). ``fmt`` writes the same in Python.
UNIT_FORMATS = {"share": (".1%", ""), "pct": (".2f", "%"), "ratio": (".3f", ""), "price": (",.2f", "")}
#: A price below 1 in absolute value: three significant digits, trailing zeros dropped.
SMALL_PRICE_FORMAT = ".3~g"


def fmt(value: Any, unit: str) -> str:
    """A number as a person reads it: percentages with %, prices and ratios with a few significant digits
    (the formats of ``UNIT_FORMATS``).

    Example:
        >>> fmt(0.7936, "share"), fmt(1.4559, "pct"), fmt(1.00352, "ratio"), fmt(1234.567, "price")
        ('79.4%', '1.46%', '1.004', '1,234.57')
    """
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if unit == "flag":
        return "yes" if value else "no"
    value = float(value)
    if unit == "price" and abs(value) < 1:
        return format(value, ".3g")  # SMALL_PRICE_FORMAT, as Python writes it
    spec, suffix = UNIT_FORMATS.get(unit, UNIT_FORMATS["price"])
    return format(value, spec) + suffix


def models_in(by_model: dict[str, Any]) -> list[str]:
    """The model and the baselines present in one (ticker, step) entry, in the page's order."""
    return [name for name in (MODEL, *BASELINE_NAMES) if name in by_model]


def metrics_table(report: dict[str, Any], ticker: str, steps: list[int]) -> tuple[list[str], list[dict[str, Any]]]:
    """The metrics of ``ticker`` with models as columns and metrics as rows, for each of ``steps``.

    Returns the model keys (columns) and rows ``{"step", "metric", "key", "help", "unit", "values": {model:
    number or None}, "best": model or None}``; ``best`` marks the lowest of an error measure.
    """
    metrics = report["tickers"][ticker]["metrics"]
    first = metrics[str(steps[0])]
    models = models_in(first)
    rows = []
    for step in steps:
        by_model = metrics[str(step)]
        for metric in METRICS:
            raw = {m: by_model.get(m, {}).get(metric.key) for m in models}
            if all(v is None for v in raw.values()):
                continue
            lower_is_better = metric.unit == "price" and not metric.key.startswith("width")
            present = {m: v for m, v in raw.items() if v is not None}
            rows.append(
                {
                    "step": step,
                    "metric": metric.label,
                    "help": metric.help,
                    "key": metric.key,
                    "unit": metric.unit,
                    "values": raw,
                    "best": min(present, key=present.__getitem__) if lower_is_better and present else None,
                }
            )
    return models, rows


def _significance(entry: dict[str, Any]) -> str:
    """The Diebold-Mariano verdict on a difference from naive, as a clause; "" for runs made before the tests."""
    p = entry.get("dm_p_vs_naive")
    if p is None:
        return ""
    shown = f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"
    if entry.get("vs_naive") in ("better", "worse"):
        return f", a significant difference (Diebold-Mariano {shown})"
    return f", a difference no test can tell from chance (Diebold-Mariano {shown})"


def verdict(report: dict[str, Any], ticker: str, step: int, days: int) -> tuple[str, str]:
    """One sentence on ``ticker`` at ``step``: does the model beat 'tomorrow = today', is the difference more than
    noise (Diebold-Mariano), and did its bands hold?

    Returns the sentence and a level: ``good`` (significantly better), ``bad`` (significantly worse), ``tie`` (no
    significant difference, or the step's forecast is naive's), ``warn`` (a band off its nominal coverage by more
    than ``COVERAGE_TOLERANCE_POINTS``). Runs made before the tests: ``good`` or ``bad`` by the RMSE ratio.

    Example:
        >>> report = {"tickers": {"A": {"metrics": {"1": {"lstm": {"rmse_ratio_vs_naive": 0.995,
        ...     "coverage_80": 0.79, "coverage_95": 0.95, "dm_p_vs_naive": 0.41,
        ...     "vs_naive": "no significant difference"}}}}}}
        >>> text, level = verdict(report, "A", 1, 706)
        >>> text
        "Next-day error 0.5% lower than naive's (tomorrow = today) over 706 test days, a difference no test can \
tell from chance (Diebold-Mariano p = 0.410); the 80% band held 79% of days, the 95% band 95%."
        >>> level
        'tie'
    """
    entry = report["tickers"][ticker]["metrics"][str(step)][MODEL]
    ratio, words = entry.get("rmse_ratio_vs_naive"), entry.get("vs_naive")
    horizon = "Next-day" if step == 1 else f"{ahead(step).capitalize()}"
    level = "good"
    if words == "tie (abstains)":
        sentence = (
            f"{horizon} forecast: validation chose to forecast no change at this step, so the forecast is "
            f"naive's - a tie over {days} test days"
        )
        level = "tie"
    elif ratio is None:
        sentence = f"{horizon} error: no naive forecast to compare with"
    elif round(ratio, 3) == 1:
        sentence = f"{horizon} error the same as naive's (tomorrow = today) over {days} test days"
        level = "tie" if words else "good"
    else:
        direction = "lower" if ratio < 1 else "higher"
        sentence = (
            f"{horizon} error {abs(1 - ratio):.1%} {direction} than naive's (tomorrow = today) over {days} test days"
        )
        level = "good" if ratio < 1 else "bad"
        if words is not None:  # the test decides the colour: a difference that may be noise is a tie
            level = {"better": "good", "worse": "bad"}.get(words, "tie")
    sentence += _significance(entry) if words != "tie (abstains)" else ""
    coverage = [(lvl, c) for lvl in LEVELS if (c := entry.get(f"coverage_{lvl}")) is not None]
    held = [
        f"the {lvl}% band held {c:.0%} of days" if i == 0 else f"the {lvl}% band {c:.0%}"
        for i, (lvl, c) in enumerate(coverage)
    ]
    off = [lvl for lvl, c in coverage if coverage_is_off(c, lvl)]
    if off and level in ("good", "tie"):
        level = "warn"
    text = sentence + ("; " + ", ".join(held) if held else "") + "."
    if off:
        text += (
            " "
            + " and ".join(
                f"The {lvl}% band is more than {COVERAGE_TOLERANCE_POINTS:.0f} points off its nominal {lvl}%"
                for lvl in off
            )
            + "."
        )
    return text, level


def forecast_rows(forecast: pd.DataFrame) -> list[dict[str, Any]]:
    """The forecast panel: each next trading day with the forecast (``FORECAST_COLUMN``), both bands and the
    change from the last close.

    Example:
        >>> frame = pd.DataFrame({"step": [1], "target_date": pd.to_datetime(["2013-03-04"]),
        ...     "origin_price": [100.0], "lstm": [101.0], "lstm_lo80": [98.0], "lstm_hi80": [103.0],
        ...     "lstm_lo95": [96.0], "lstm_hi95": [105.0]})
        >>> row = forecast_rows(frame)[0]
        >>> row["forecast"], row["change"], row["band_80"]
        ('101.00', '+1.00%', '98.00 – 103.00')
    """
    out = []
    for _, row in forecast.sort_values("step").iterrows():
        value, origin = float(row[FORECAST_COLUMN]), float(row["origin_price"])
        out.append(
            {
                "step": int(row["step"]),
                "date": f"{row['target_date']:%a %Y-%m-%d}",
                "forecast": fmt(value, "price"),
                "change": f"{value / origin - 1:+.2%}",
                **{
                    f"band_{lvl}": f"{fmt(row[bound_column(lvl, 'lo')], 'price')} – "
                    f"{fmt(row[bound_column(lvl, 'hi')], 'price')}"
                    for lvl in LEVELS
                },
            }
        )
    return out


def compare_rows(report: dict[str, Any], forecast: pd.DataFrame | None, step: int) -> list[dict[str, Any]]:
    """One row per ticker for the Compare grid: the next-day forecast and the test-period scores at ``step``
    (numbers, so the grid sorts and filters them as numbers, and formats them)."""
    next_days = (
        {}
        if forecast is None
        else {str(t): rows.iloc[0] for t, rows in forecast[forecast["step"] == 1].groupby("ticker")}
    )
    rows = []
    for ticker, entry in sorted(report["tickers"].items()):
        by_model = entry["metrics"].get(str(step), {})
        lstm = by_model.get(MODEL, {})
        row: dict[str, Any] = {
            "ticker": ticker,
            "rmse_ratio": _round(ratio_to_naive(by_model, "rmse"), 4),
            "dm_p": _round(lstm.get("dm_p_vs_naive"), 4),
            "vs_naive": lstm.get("vs_naive"),
            "zone_80": worst_zone(lstm.get("bands", {}), 80),
        }
        for lvl in LEVELS:
            row[f"coverage_{lvl}"] = _round(lstm.get(f"coverage_{lvl}"), 3)
            row[f"is_ratio_{lvl}"] = _round(ratio_to_naive(by_model, f"interval_score_{lvl}"), 4)
        first = next_days.get(ticker)
        if first is not None:
            value, origin = float(first[FORECAST_COLUMN]), float(first["origin_price"])
            row.update(
                {
                    "last_close": _round(origin, 2),
                    "next_date": f"{first['target_date']:%Y-%m-%d}",
                    "forecast": _round(value, 2),
                    "change": _round(value / origin - 1, 6),
                    "band_80": f"{first[bound_column(80, 'lo')]:,.2f} – {first[bound_column(80, 'hi')]:,.2f}",
                }
            )
        rows.append(row)
    return rows


def worst_zone(bands: dict[str, dict[str, Any]], level: int) -> str | None:
    """The worse traffic-light zone of a band's two ends (``report`` entries' ``bands``), or None.

    Example:
        >>> worst_zone({"lo80": {"zone": "green"}, "hi80": {"zone": "yellow"}}, 80)
        'yellow'
    """
    order = ("green", "yellow", "red")
    found = [bands.get(f"{side}{level}", {}).get("zone") for side in ("lo", "hi")]
    found = [z for z in found if z in order]
    return max(found, key=order.index) if found else None


def _round(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def coverage_is_off(value: float | None, level: int) -> bool:
    """True when a coverage share is further than the tolerance from ``level`` percent."""
    return value is not None and abs(value * 100 - level) > COVERAGE_TOLERANCE_POINTS


def metrics_frame(report: dict[str, Any], ticker: str, steps: list[int] | None = None) -> pd.DataFrame:
    """The metrics table as a DataFrame (for notebooks): rows (step, metric), a column per model, written as
    the page writes them.

    Example:
        >>> metrics_frame(result.report, "AAPL").loc[1]  # doctest: +SKIP
    """
    steps = steps or sorted(int(s) for s in report["tickers"][ticker]["metrics"])
    models, rows = metrics_table(report, ticker, steps)
    return pd.DataFrame(
        [
            {
                "step": r["step"],
                "metric": r["metric"],
                **{display_name(m): fmt(r["values"][m], r["unit"]) for m in models},
            }
            for r in rows
        ]
    ).set_index(["step", "metric"])
