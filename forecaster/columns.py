"""Names every stage shares: splits, model keys, forecast columns, interval levels.

Plain constants and one-line helpers, importable from anywhere (the dashboard included) without
loading pandas, Spark or Keras.
"""

from __future__ import annotations

#: The date-based splits of every ticker's history, in time order.
SPLITS: tuple[str, ...] = ("train", "val", "test")

#: The model's column in predictions and forecasts, and its name in the report.
MODEL_NAME = "lstm"

#: The ranking model's signal (``forecaster.model.ranking``): a score per ticker, origin day and step - higher, expected
#: to rise more than the day's other tickers - in predictions and forecasts beside the prices; not a price.
RANK_SIGNAL = "lstm_rank"

#: The forecast: the one number every view shows for a future day - the command line, the report, the ledger, the
#: dashboard and the notebooks all read this column of ``predictions.parquet`` and ``forecast.parquet``. It is the
#: network ensemble's median shrunk toward "no change" by a factor per step chosen on validation
#: (``forecaster.model.intervals.shrinkage``); its bands are the ``bound_column`` columns.
FORECAST_COLUMN = MODEL_NAME

#: What the forecast is called wherever a person reads it.
FORECAST_LABEL = "forecast"

#: The network's raw median before that shrinkage (``quantile_column(0.5)``, ``lstm_q50``): kept in the files for
#: analysis, called this wherever it is shown, never "the forecast" nor "the median".
NETWORK_MEDIAN_LABEL = "network median (before shrinkage)"

#: Baselines every model metric stands beside, on the same dates.
BASELINE_NAMES: tuple[str, ...] = ("naive", "drift", "moving_average", "garch")

#: Forecasts that come with 80% and 95% bands, scored by coverage, width and interval score.
INTERVAL_MODELS: tuple[str, ...] = (MODEL_NAME, "naive", "garch")

#: Nominal coverage of the prediction intervals, in percent.
LEVELS: tuple[int, ...] = (80, 95)

#: Lower and upper quantiles of each interval level (the model's and the baselines' bands).
BAND_QUANTILES: dict[int, tuple[float, float]] = {
    level: ((1 - level / 100) / 2, 1 - (1 - level / 100) / 2) for level in LEVELS
}

#: Features the model can see, by name; each is a Spark expression in ``forecaster.prepare.table``.
FEATURE_NAMES: tuple[str, ...] = (
    "log_return",
    "log_adj_close",
    "open_rel",
    "high_rel",
    "low_rel",
    "range",
    "abs_return",
    "rv_5",
    "rv_20",
    "log_volume",
    "volume_rel_20",
    "ma_gap_5",
    "ma_gap_20",
    "ma_gap_50",
    "return_60",
    "return_120",
    "return_250",
    "high_52w_gap",
    "drift_250",
    "market_return",
    "relative_return",
    "return_rank",
    "volatility_relative",
)
#: The features computed across the run's tickers on each day (the rest use one ticker's rows alone).
CROSS_SECTIONAL: tuple[str, ...] = ("market_return", "relative_return", "return_rank", "volatility_relative")

#: The quantiles the model forecasts for every step: the 95% and 80% bands' ends and the median.
QUANTILES: tuple[float, ...] = (0.025, 0.1, 0.5, 0.9, 0.975)

#: Key of the single model in global mode (per-ticker models are keyed by ticker).
GLOBAL = "global"


def feature_column(name: str) -> str:
    """Name of the scaled feature column in the prepared table.

    Example:
        >>> feature_column("log_return")
        'x_log_return'
    """
    return f"x_{name}"


def bound_column(level: int | str, side: str, model: str = MODEL_NAME) -> str:
    """The column of a forecast's lower (``lo``) or upper (``hi``) bound at ``level`` percent.

    Example:
        >>> bound_column(80, "lo"), bound_column(95, "hi", "garch")
        ('lstm_lo80', 'garch_hi95')
    """
    return f"{model}_{side}{level}"


def quantile_column(q: float) -> str:
    """The column of the model's raw ``q`` quantile forecast, in prices.

    Example:
        >>> quantile_column(0.025), quantile_column(0.5)
        ('lstm_q025', 'lstm_q50')
    """
    return f"{MODEL_NAME}_q{str(q).split('.')[1].ljust(2, '0')}"  # the decimals: 0.025 -> 025, 0.1 -> 10
