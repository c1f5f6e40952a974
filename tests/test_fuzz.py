"""Fuzzing the CSV importer and the report reader: any input ends in a result or one of our clear errors."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecaster.errors import ForecasterError
from forecaster.sources.csv_files import read_csv_prices
from forecaster.sources.schema import PRICE_COLUMNS

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
LONG_HEADER = "date,open,high,low,close,volume,Name"
FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

cell = st.one_of(st.text(max_size=12), st.floats(allow_nan=True, allow_infinity=True).map(str),
                 st.integers(-10**12, 10**12).map(str), st.sampled_from(["2020-01-02", "2020-02-30", "", "NaN"]))


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


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12).map(lambda v: json.dumps(v).encode())))
def test_report_reader_never_crashes(tmp_path, data):
    from dashboard.reader import ArtifactReader
    from forecaster import artifacts

    run_dir = tmp_path / "runs" / "20990101T000000Z-fuzz00"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / artifacts.REPORT).write_bytes(data)
    (run_dir / artifacts.MODEL_CARD).write_bytes(data)
    (run_dir / artifacts.PREDICTIONS).write_bytes(data)
    artifacts.publish_run(run_dir)
    try:
        ArtifactReader(tmp_path).latest()
    except ForecasterError:
        pass
