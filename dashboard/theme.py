"""One colour language for every chart and table, and the page's style sheets (served from ``assets/``)."""

from __future__ import annotations

from forecaster.columns import MODEL_NAME as MODEL
from forecaster.columns import RANK_SIGNAL

#: The same colour means the same thing everywhere: the model blue, naive grey, the forecast purple (never red
#: or green, which are the candles' up and down days).
COLORS = {
    "actual": "#212529",
    MODEL: "#1f77b4",
    RANK_SIGNAL: "#0b3d91",
    "naive": "#6c757d",
    "drift": "#8c564b",
    "moving_average": "#bcbd22",
    "garch": "#17becf",
    "forecast": "#7b2cbf",
    "up": "#2e9e6b",
    "down": "#d64545",
    "volume": "#ced4da",
    "reversal_1d": "#e377c2",
    "reversal_5d": "#ff7f0e",
    "momentum_20d": "#2ca02c",
    "universe": "#adb5bd",
}

#: Bands of the forecast, lighter for the wider one.
FORECAST_BAND_FILL = {95: "rgba(123,44,191,0.12)", 80: "rgba(123,44,191,0.28)"}

#: Full names, as a person reads them (legends, hover labels, table headers).
DISPLAY_NAMES = {
    MODEL: "LSTM",
    RANK_SIGNAL: "LSTM ranking score",
    "naive": "naive (tomorrow = today)",
    "drift": "random walk with drift",
    "moving_average": "moving average",
    "garch": "GARCH(1,1)-t",
    "reversal_1d": "1-day reversal",
    "reversal_5d": "5-day reversal",
    "momentum_20d": "20-day momentum",
    "universe": "every ticker, equal weights (long only)",
}

#: Bootstrap colours of a verdict: significantly better, worth a look, significantly worse, no significant
#: difference (a tie).
VERDICT_COLORS = {"good": "success", "warn": "warning", "bad": "danger", "tie": "secondary"}

#: The traffic-light zones of the band backtests, as cell colours.
ZONE_COLORS = {"green": "#d1e7dd", "yellow": "#fff3cd", "red": "#f8d7da"}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def display_name(name: str) -> str:
    """The name a person reads for a model key.

    Example:
        >>> display_name("naive"), display_name("lstm")
        ('naive (tomorrow = today)', 'LSTM')
    """
    return DISPLAY_NAMES.get(name, name.replace("_", " "))
