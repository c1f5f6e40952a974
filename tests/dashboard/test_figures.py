"""The figures, built from a real run without a browser."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.figures import (
    TRACE_BASELINE,
    TRACE_CANDLES,
    TRACE_CLOSE,
    TRACE_FORECAST,
    TRACE_MODEL,
    TRACE_VOLUME,
    backtest_series,
    compare_figure,
    price_figure,
    residual_figures,
    track_figure,
    visibility,
)
from dashboard.reader import ArtifactReader
from dashboard.theme import COLORS


@pytest.fixture(scope="module")
def aapl(published_run):
    view = ArtifactReader(published_run[0]).latest()
    return (view.rows(view.prices, "AAPL"), view.rows(view.predictions, "AAPL"), view.rows(view.forecast, "AAPL"))


def test_price_figure_has_its_traces_in_the_fixed_order_the_patches_address(aapl):
    prices, predictions, forecast = aapl
    figure = price_figure(prices, predictions, forecast, "AAPL", 2, "candles", ("naive", "garch"))
    names = [trace.name for trace in figure.data]
    assert names[TRACE_CANDLES] == "actual price (adjusted OHLC)" and names[TRACE_CLOSE].endswith("adjusted close)")
    assert names[TRACE_VOLUME] == "volume" and names[TRACE_MODEL] == "LSTM, 2 days ahead"
    assert names[TRACE_BASELINE["naive"]] == "naive (tomorrow = today), 2 days ahead"
    assert names[TRACE_FORECAST:] == ["forecast 95% band", "forecast 80% band", "forecast (next 3 days)"]
    # The forecast line is the forecast the command line prints (the lstm column), from the last close on.
    assert list(figure.data[-1].y[1:]) == pytest.approx(forecast.sort_values("step")["lstm"].tolist())
    shown = {trace.name for trace in figure.data if trace.visible is not False}
    assert "actual price (adjusted close)" not in shown and "GARCH(1,1)-t, 2 days ahead" in shown
    assert "random walk with drift, 2 days ahead" not in shown
    assert len(figure.data[TRACE_CANDLES].x) == 4610  # the whole history, scaled to the adjusted close


def test_price_figure_opens_on_the_last_six_months_with_the_forecast_in_view(aapl):
    prices, predictions, forecast = aapl
    figure = price_figure(prices, predictions, forecast, "AAPL", 1)
    start, end = (pd.Timestamp(v) for v in figure.layout.xaxis.range)
    last_forecast = forecast["target_date"].max()
    assert end == last_forecast + pd.Timedelta(hours=12) and pd.Timestamp(figure.layout.xaxis.maxallowed) == end
    assert 180 <= (end - start).days <= 186
    low, high = figure.layout.yaxis.range
    inside = prices[prices["date"] >= start]["close"]
    assert low <= inside.min() and high >= inside.max() and low > inside.min() * 0.8  # fitted to the window
    # One date axis for prices and volume, with weekends and the exchange's holidays left out.
    assert figure.data[TRACE_VOLUME].yaxis == "y2" and figure.layout.yaxis2.domain == (0.0, 0.16)
    breaks = figure.layout.xaxis.rangebreaks
    assert breaks[0].bounds == ("sat", "mon") and "2017-12-25" in breaks[1].values and "2018-03-30" in breaks[1].values
    assert not figure.layout.xaxis.rangeslider.visible


def test_naive_is_dashed_grey_above_the_model_and_the_forecast_is_not_red(aapl):
    prices, predictions, forecast = aapl
    figure = price_figure(prices, predictions, forecast, "AAPL", 1, baselines=("naive",))
    naive = figure.data[TRACE_BASELINE["naive"]]
    assert naive.line.dash == "dash" and naive.line.color == COLORS["naive"]
    assert TRACE_BASELINE["naive"] > TRACE_MODEL  # drawn after, so on top
    candles = figure.data[TRACE_CANDLES]
    assert COLORS["forecast"] not in (candles.increasing.line.color, candles.decreasing.line.color)
    assert figure.data[TRACE_MODEL].hovertemplate == "%{y:.2f}" and figure.layout.hoverlabel.namelength == -1


def test_a_step_patch_carries_the_same_series_a_rebuild_would(aapl):
    prices, predictions, forecast = aapl
    rebuilt = price_figure(prices, predictions, forecast, "AAPL", 3)
    for index, series in backtest_series(predictions, 3).items():
        assert list(rebuilt.data[index].y) == pytest.approx(list(series["y"]), nan_ok=True)
        assert list(rebuilt.data[index].x) == list(series["x"]) and rebuilt.data[index].name == series["name"]
    assert visibility("line", ("drift",)) == {
        TRACE_CANDLES: False,
        TRACE_CLOSE: True,
        **{index: name == "drift" for name, index in TRACE_BASELINE.items()},
    }


def test_residuals_show_the_model_and_naive_in_distinct_colours(aapl):
    _, predictions, _ = aapl
    over_time, spread = residual_figures(predictions, "AAPL", 1)
    assert [t.name for t in over_time.data] == ["naive (tomorrow = today)", "LSTM"]
    assert over_time.data[0].line.color != over_time.data[1].line.color
    step1 = predictions[predictions["step"] == 1].sort_values("target_date")
    assert list(over_time.data[0].y) == pytest.approx((step1["actual"] - step1["naive"]).tolist())
    assert spread.data[0].type == "histogram"


def test_compare_figure_labels_every_bar_draws_ties_and_keeps_a_symmetric_axis():
    report = {
        "tickers": {
            t: {"metrics": {"1": {"lstm": {"rmse_ratio_vs_naive": r}}}}
            for t, r in {"A": 1.004, "B": 0.997, "C": 1.0}.items()
        }
    }
    figure = compare_figure(report, 1)
    bars, marks, labels = figure.data
    assert list(bars.y) == ["B", "C", "A"] and list(labels.text) == ["0.997", "1.000", "1.004"]
    assert list(marks.x) == [0.997, 1.0, 1.004]  # a tie at exactly 1 still shows a mark
    low, high = figure.layout.xaxis.range
    assert low == pytest.approx(0.98) and high == pytest.approx(1.02)  # the +-2% floor
    # The values stand in a column at the axis's right end, where no bar can cover them.
    assert list(labels.x) == pytest.approx([high] * 3)
    assert labels.textposition == "middle right" and not labels.cliponaxis
    assert "below 1 (the model helps) on 1 of 3 tickers" in figure.layout.title.text
    wide = compare_figure({"tickers": {"A": {"metrics": {"1": {"lstm": {"rmse_ratio_vs_naive": 1.1}}}}}}, 1)
    assert wide.layout.xaxis.range[1] - 1 == pytest.approx(1 - wide.layout.xaxis.range[0])


def test_price_figure_opens_on_the_range_its_address_names(aapl):
    prices, predictions, forecast = aapl
    end = forecast["target_date"].max() + pd.Timedelta(hours=12)
    year = price_figure(prices, predictions, forecast, "AAPL", 1, window="1Y")
    assert [pd.Timestamp(v) for v in year.layout.xaxis.range] == [end - pd.DateOffset(years=1), end]
    custom = price_figure(prices, predictions, forecast, "AAPL", 1, window="2017-06-01..2017-08-31")
    start, stop = (pd.Timestamp(v) for v in custom.layout.xaxis.range)
    assert (start, stop) == (pd.Timestamp("2017-06-01"), pd.Timestamp("2017-08-31 12:00"))
    inside = prices[prices["date"].between(start, stop)]["close"]
    low, high = custom.layout.yaxis.range
    assert low <= inside.min() and high >= inside.max() and high < prices["close"].max()  # fitted to that window


def test_a_track_record_of_one_forecast_is_dated_in_days_not_milliseconds():
    issued = pd.DataFrame(
        {
            "ticker": ["A"],
            "step": [1],
            "target_date": pd.to_datetime(["2013-03-04"]),
            "lstm": [101.0],
            "lstm_lo80": [99.0],
            "lstm_hi80": [103.0],
        }
    )
    figure = track_figure(issued, issued.iloc[:0].assign(actual=[]), "A")
    assert figure.layout.xaxis.type == "date" and figure.layout.xaxis.tickformat == "%b %-d, %Y"
    assert list(figure.layout.xaxis.range) == ["2013-02-25", "2013-03-11"]  # a week either side
    assert list(figure.data[0].y) == [101.0] and figure.data[0].name == "forecast as issued, 1 day ahead"
