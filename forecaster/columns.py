"""Names every stage shares: splits, model keys, forecast columns, interval levels.

Plain constants and one-line helpers, importable from anywhere (the dashboard included) without
loading pandas, Spark or Keras.
"""

from __future__ import annotations

#: The date-based splits of every ticker's history, in time order.
SPLITS: tuple[str, ...] = ("train", "val", "test")

#: The model's column in predictions and forecasts, and its name in the report.
MODEL_NAME = "lstm"

#: Baselines every model metric stands beside, on the same dates.
BASELINE_NAMES: tuple[str, ...] = ("naive", "drift", "moving_average")

#: Nominal coverage of the prediction intervals, in percent.
LEVELS: tuple[int, ...] = (80, 95)

#: Features the model can see, by name; each is a Spark expression in ``forecaster.prepare.table``.
FEATURE_NAMES: tuple[str, ...] = ("log_return", "log_adj_close", "open_rel", "high_rel", "low_rel", "range",
                                  "log_volume", "volume_rel_20", "ma_gap_5", "ma_gap_20", "ma_gap_50")

#: Key of the single model in global mode (per-ticker models are keyed by ticker).
GLOBAL = "global"


def feature_column(name: str) -> str:
    """Name of the scaled feature column in the prepared table.

    Example:
        >>> feature_column("log_return")
        'x_log_return'
    """
    return f"x_{name}"


def bound_column(level: int | str, side: str) -> str:
    """The column of the model's lower (``lo``) or upper (``hi``) bound at ``level`` percent.

    Example:
        >>> bound_column(80, "lo")
        'lstm_lo80'
    """
    return f"{MODEL_NAME}_{side}{level}"
