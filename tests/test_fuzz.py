"""Fuzzing the CSV importer and the report reader: any input ends in a result or one of our clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecaster.data.sources.csv_files import read_csv_prices
from forecaster.data.sources.schema import PRICE_COLUMNS
from forecaster.errors import ForecasterError

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
LONG_HEADER = "date,open,high,low,close,volume,Name"
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

cell = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["2020-01-02", "2020-02-30", "", "NaN"]),
)


@st.composite
def csv_texts(draw):
    header = draw(st.sampled_from([YAHOO_HEADER, LONG_HEADER, "", "a,b,c", YAHOO_HEADER.lower()]))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=8), max_size=6))
    return header + "\n" + "\n".join(",".join(r) for r in rows)


@FUZZ
@given(csv_texts())
def test_csv_importer_never_crashes_on_text(tmp_path, text):
    path = tmp_path / "FUZZ.csv"
    path.write_text(text, encoding="utf-8")
    _import_or_clear_error(path)


@FUZZ
@given(st.binary(max_size=400))
def test_csv_importer_never_crashes_on_bytes(tmp_path, data):
    path = tmp_path / "FUZZ.csv"
    path.write_bytes(data)
    _import_or_clear_error(path)


def _import_or_clear_error(path):
    try:
        prices = read_csv_prices(path, on_bad_rows="drop")
    except ForecasterError:
        return
    assert list(prices.columns) == PRICE_COLUMNS
    assert (prices[["open", "high", "low", "close", "adj_close"]] > 0).all().all()
    assert not prices.duplicated(["ticker", "date"]).any()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
#: Reports shaped like the real one, with any of their parts replaced: the reader's shape checks are reached.
report_like = st.fixed_dictionaries(
    {
        "tickers": st.one_of(
            json_values,
            st.dictionaries(st.sampled_from(["IBM", "X"]), json_values, max_size=2),
            st.just({"IBM": {"metrics": {"1": {"lstm": {"rmse": 1.0, "rmse_ratio_vs_naive": 1.0}}}}}),
        ),
        "summary": json_values,
    }
)


def _valid_run(data_dir: Path) -> Path:
    """A run folder whose files are all well formed (no Spark or Keras needed), for one file to be fuzzed."""
    from forecaster import artifacts

    run_dir = data_dir / "runs" / "20990101T000000Z-fuzz00"
    run_dir.mkdir(parents=True, exist_ok=True)
    days = pd.bdate_range("2020-01-01", periods=4)
    artifacts.write_parquet(
        run_dir / artifacts.PREDICTIONS,
        pd.DataFrame(
            {
                "ticker": "IBM",
                "origin_date": days[:3],
                "target_date": days[1:],
                "step": 1,
                "origin_price": 1.0,
                "actual": [1.0, 1.1, 1.2],
                "lstm": 1.0,
                "naive": 1.0,
            }
        ),
    )
    artifacts.write_json(run_dir / artifacts.MODEL_CARD, {"horizon": 1, "tickers": ["IBM"]})
    artifacts.write_json(run_dir / artifacts.REPORT, {"tickers": {"IBM": {"metrics": {}}}, "summary": {}})
    artifacts.publish_run(run_dir)
    return run_dir


def _read_and_lay_out(data_dir: Path) -> None:
    """A page load: the browser asks for the layout from the page's address, and the server reads the run and
    builds the page. It must answer with the page or with the page that says what is damaged, never fail."""
    from dashboard.app import create_app

    answer = create_app(data_dir).server.test_client().get("/_dash-layout", headers={"Referer": "http://127.0.0.1/"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[-2000:]
    text = answer.get_data(as_text=True)
    assert '"price-graph"' in text or '"error-state"' in text


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        report_like.map(lambda v: json.dumps(v).encode()),
    )
)
def test_a_page_load_never_crashes_on_a_fuzzed_report(tmp_path, data):
    from forecaster import artifacts

    run_dir = _valid_run(tmp_path)
    (run_dir / artifacts.REPORT).write_bytes(data)
    _read_and_lay_out(tmp_path)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"horizon": json_values}).map(lambda v: json.dumps(v).encode()),
    )
)
def test_a_page_load_never_crashes_on_a_fuzzed_model_card(tmp_path, data):
    from forecaster import artifacts

    run_dir = _valid_run(tmp_path)
    (run_dir / artifacts.MODEL_CARD).write_bytes(data)
    _read_and_lay_out(tmp_path)


def test_the_valid_run_the_fuzzers_start_from_is_read(tmp_path):
    """Without this, a reader that refused everything would pass the two fuzz tests above."""
    from dashboard.reader import ArtifactReader

    _valid_run(tmp_path)
    assert ArtifactReader(tmp_path).latest().tickers == ["IBM"]
