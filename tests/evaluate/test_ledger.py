"""The ledger keeps the forecast under its one name and the network's median apart, issues each forecast once, scores
it when its price arrives, and sums the track record by hand."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecaster import artifacts
from forecaster.columns import FORECAST_COLUMN
from forecaster.data import cache
from forecaster.evaluate import ledger


def _forecast() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": ["A", "A"],
            "origin_date": pd.to_datetime(["2013-03-01"] * 2),
            "step": [1, 2],
            "target_date": pd.to_datetime(["2013-03-04", "2013-03-05"]),
            "origin_price": [100.0] * 2,
            "lstm": [100.2, 100.3],
            "lstm_q50": [100.5, 100.9],
            "lstm_lo80": [98.0, 97.0],
            "lstm_hi80": [102.0, 103.0],
            "lstm_lo95": [96.0, 95.0],
            "lstm_hi95": [104.0, 105.0],
            "naive": [100.0, 100.0],
        }
    )


def test_the_ledger_issues_the_forecast_and_keeps_the_network_median_apart(tmp_path):
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    artifacts.write_json(run_dir / artifacts.MODEL_CARD, {"horizon": 2})
    assert ledger.record(tmp_path, run_dir, _forecast()) == 2
    issued = ledger.read_issued(tmp_path)
    assert issued[FORECAST_COLUMN].tolist() == [100.2, 100.3]  # the number the command line and the page show
    assert issued[ledger.NETWORK_MEDIAN].tolist() == [100.5, 100.9] and "median" not in issued


def test_a_ledger_written_before_the_median_had_its_name_reads_the_same(tmp_path):
    old = (
        _forecast()
        .rename(columns={"lstm_q50": "median"})
        .assign(model_card_hash="abc", run_id="r0", issued_at="2013-03-01T22:00:00+00:00")
    )
    artifacts.write_parquet(ledger.ledger_dir(tmp_path) / ledger.ISSUED / "20130301T220000Z-aaaaaa.parquet", old)
    issued = ledger.read_issued(tmp_path)
    assert issued[ledger.NETWORK_MEDIAN].tolist() == [100.5, 100.9] and "median" not in issued


# The ledger's arithmetic and bookkeeping by hand: what is issued once, what is scored when its price arrives,
# and the track record's windows.


def _run_dir(tmp_path: Path, name: str = "r1", card: dict | None = None) -> Path:
    run_dir = tmp_path / "runs" / name
    run_dir.mkdir(parents=True)
    artifacts.write_json(run_dir / artifacts.MODEL_CARD, card or {"horizon": 2})
    return run_dir


def _cache_prices(data_dir: Path, ticker: str, closes: dict[str, float]) -> None:
    dates = pd.to_datetime(list(closes))
    close = np.array(list(closes.values()))
    prices = pd.DataFrame(
        {"ticker": ticker, "date": dates, "open": close, "high": close, "low": close, "close": close}
        | {"adj_close": close, "volume": 1000.0}
    )
    cache.write_ticker(data_dir, ticker, prices, source="test", adjustment="adjusted")


def test_a_forecast_is_issued_once_per_ticker_origin_step_and_model(tmp_path, caplog):
    run_dir = _run_dir(tmp_path)
    expected_hash = hashlib.sha256((run_dir / artifacts.MODEL_CARD).read_bytes()).hexdigest()[:16]
    assert ledger.card_hash(run_dir) == expected_hash and len(expected_hash) == 16
    with caplog.at_level(logging.INFO, logger="forecaster.evaluate.ledger"):
        assert ledger.record(tmp_path, run_dir, _forecast()) == 2
    assert caplog.records[-1].getMessage() == "ledger: 2 forecasts issued, 2 new"
    issued = ledger.read_issued(tmp_path)
    assert list(issued) == ledger.ISSUED_COLUMNS
    assert issued["ticker"].tolist() == ["A", "A"] and issued["step"].tolist() == [1, 2]
    assert issued["step"].dtype == np.int64  # a key: the same type in every file
    assert issued["model_card_hash"].tolist() == [expected_hash] * 2 and issued["run_id"].tolist() == ["r1"] * 2
    assert issued["origin_date"].tolist() == [pd.Timestamp("2013-03-01")] * 2
    assert issued["target_date"].tolist() == list(pd.to_datetime(["2013-03-04", "2013-03-05"]))
    assert issued["origin_price"].tolist() == [100.0, 100.0] and issued["naive"].tolist() == [100.0, 100.0]
    assert issued["lstm_lo80"].tolist() == [98.0, 97.0] and issued["lstm_hi95"].tolist() == [104.0, 105.0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", issued["issued_at"][0])  # to the second, UTC
    stamp = datetime.fromisoformat(issued["issued_at"][0])
    assert stamp.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
    files = ledger.files(tmp_path)
    assert [f.parent.name for f in files] == ["issued"] and re.fullmatch(
        r"\d{8}T\d{12}Z-[0-9a-f]{6}\.parquet", files[0].name
    )

    # The same forecast again: nothing new, no file added. One more step: only it.
    assert ledger.record(tmp_path, run_dir, _forecast()) == 0 and ledger.files(tmp_path) == files
    third = _forecast().iloc[[1]].assign(step=3, target_date=pd.Timestamp("2013-03-06"))
    assert ledger.record(tmp_path, run_dir, pd.concat([_forecast(), third])) == 1
    # Another model's forecast of the same days is another forecast.
    assert ledger.record(tmp_path, _run_dir(tmp_path, "r2", {"horizon": 3}), _forecast()) == 2
    assert len(ledger.read_issued(tmp_path)) == 5 and ledger.read_issued(tmp_path).index.tolist() == [0, 1, 2, 3, 4]


def test_nothing_to_record_writes_nothing(tmp_path):
    assert ledger.record(tmp_path, _run_dir(tmp_path), _forecast().iloc[:0]) == 0
    assert not ledger.ledger_dir(tmp_path).exists() and ledger.files(tmp_path) == []
    assert ledger.read_issued(tmp_path).empty and list(ledger.read_issued(tmp_path)) == ledger.ISSUED_COLUMNS


def test_a_forecast_without_the_network_median_is_issued_with_none(tmp_path):
    ledger.record(tmp_path, _run_dir(tmp_path), _forecast().drop(columns=["lstm_q50"]))
    assert ledger.read_issued(tmp_path)[ledger.NETWORK_MEDIAN].isna().all()


def test_the_first_issue_of_a_forecast_is_the_one_kept(tmp_path):
    folder = ledger.ledger_dir(tmp_path) / ledger.ISSUED
    early = _forecast().assign(model_card_hash="h", run_id="r0", issued_at="2013-03-01T22:00:00+00:00")
    late = early.assign(lstm=[1.0, 2.0], run_id="r1", issued_at="2013-03-02T22:00:00+00:00")
    artifacts.write_parquet(folder / "20130301T000000Z-bbbbbb.parquet", late)  # the later issue's file sorts first
    artifacts.write_parquet(folder / "20130302T000000Z-aaaaaa.parquet", early)
    artifacts.write_parquet(folder / ".20130303T000000Z-cccccc.parquet", late.assign(step=[7, 8]))  # half-written
    issued = ledger.read_issued(tmp_path)
    assert issued["run_id"].tolist() == ["r0", "r0"] and issued["lstm"].tolist() == [100.2, 100.3]
    assert issued.index.tolist() == [0, 1] and len(ledger.files(tmp_path)) == 2


def test_issues_stamped_in_the_same_second_keep_the_one_read_first(tmp_path):
    # The lock keeps a key from being stored twice; a ledger put together from two copies would hold both, and the
    # stamps only tell them apart to the second: the earlier file wins, for every key (enough rows that an
    # unstable sort would mix them).
    folder = ledger.ledger_dir(tmp_path) / ledger.ISSUED
    days = pd.bdate_range("2013-01-01", periods=300)
    keys = pd.DataFrame({"ticker": "A", "step": 1, "origin_date": days, "target_date": days + pd.offsets.BDay(1)})
    first = keys.assign(model_card_hash="h", issued_at="2013-03-01T22:00:00+00:00", lstm=1.0)
    artifacts.write_parquet(folder / "20130301T220000000000Z-aaaaaa.parquet", first.assign(run_id="r0"))
    artifacts.write_parquet(folder / "20130301T220000000001Z-aaaaaa.parquet", first.assign(run_id="r1", lstm=2.0))
    issued = ledger.read_issued(tmp_path)
    assert len(issued) == 300 and set(issued["run_id"]) == {"r0"}


def test_a_forecast_scored_twice_is_read_once(tmp_path):
    _write_scored(tmp_path, _history()[:1])
    again = artifacts.read_parquet(ledger.files(tmp_path)[-1]).assign(scored_at="2021-01-02T00:00:00+00:00")
    artifacts.write_parquet(ledger.ledger_dir(tmp_path) / ledger.SCORED / "20210102T000000Z-aaaaaa.parquet", again)
    assert len(ledger.read_scored(tmp_path)) == 1


def test_file_names_are_stamped_in_utc_whatever_the_machines_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "JST-9")  # nine hours ahead of UTC all year
    time.tzset()
    try:
        ledger.record(tmp_path, _run_dir(tmp_path), _forecast())
    finally:
        monkeypatch.undo()
        time.tzset()
    name = ledger.files(tmp_path)[0].name
    stamp = datetime.strptime(name[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


def test_an_old_file_with_median_and_a_new_one_read_as_one_column(tmp_path):
    folder = ledger.ledger_dir(tmp_path) / ledger.ISSUED
    stamp = {"model_card_hash": "h", "run_id": "r0", "issued_at": "2013-03-01T22:00:00+00:00"}
    old = _forecast().iloc[[0]].rename(columns={"lstm_q50": "median"}).assign(**stamp)
    new = _forecast().iloc[[1]].assign(**stamp)
    artifacts.write_parquet(folder / "20130301T000000Z-aaaaaa.parquet", old)
    artifacts.write_parquet(folder / "20130302T000000Z-aaaaaa.parquet", new)
    issued = ledger.read_issued(tmp_path)
    assert issued[ledger.NETWORK_MEDIAN].tolist() == [100.5, 100.9] and "median" not in issued


def test_a_forecast_is_scored_once_its_days_price_is_cached(tmp_path, caplog):
    run_dir = _run_dir(tmp_path)
    other = _forecast().assign(ticker="B", lstm=[50.0, 50.0], naive=[49.0, 49.0])
    missing = _forecast().assign(ticker="AB")  # between A and B: the tickers after it are still scored
    ledger.record(tmp_path, run_dir, pd.concat([_forecast(), other, missing], ignore_index=True))
    # A closes on its 80% band's top (102, inside: the band is closed) and B far above every band; AB has no prices.
    _cache_prices(tmp_path, "A", {"2013-03-01": 100.0, "2013-03-04": 102.0})
    _cache_prices(tmp_path, "B", {"2013-03-01": 100.0, "2013-03-04": 110.0})
    with caplog.at_level(logging.INFO, logger="forecaster.evaluate.ledger"):
        assert ledger.score(tmp_path) == 2
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert warning.startswith("ledger: AB not scored: ") and warning.endswith(
        "no cached prices for AB; fetch or import them first"
    )
    assert caplog.records[-1].getMessage() == "ledger: 2 forecasts scored"
    scored = ledger.read_scored(tmp_path)
    assert scored["ticker"].tolist() == ["A", "B"] and scored["step"].tolist() == [1, 1]
    assert scored["target_date"].tolist() == [pd.Timestamp("2013-03-04")] * 2
    assert scored["actual"].tolist() == [102.0, 110.0]
    assert scored["error"].tolist() == pytest.approx([102.0 - 100.2, 110.0 - 50.0])
    assert scored["naive_error"].tolist() == [2.0, 61.0]
    assert scored["in_80"].tolist() == [True, False] and scored["in_95"].tolist() == [True, False]
    written = artifacts.read_parquet(next(f for f in ledger.files(tmp_path) if f.parent.name == "scored"))
    assert list(written) == ledger.SCORED_COLUMNS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", written["scored_at"][0])
    stamp = datetime.fromisoformat(written["scored_at"][0])
    assert stamp.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)

    # Scored once: again, nothing; the next day's price arrives, and only its forecast is scored.
    assert ledger.score(tmp_path) == 0
    _cache_prices(tmp_path, "A", {"2013-03-01": 100.0, "2013-03-04": 102.0, "2013-03-05": 97.0})  # on lo80
    assert ledger.score(tmp_path) == 1
    scored = ledger.read_scored(tmp_path)
    assert len(scored) == 3 and scored.loc[scored["step"] == 2, "actual"].tolist() == [97.0]
    assert scored.loc[scored["step"] == 2, ["in_80", "in_95"]].values.tolist() == [[True, True]]


def test_nothing_issued_scores_nothing(tmp_path):
    assert ledger.score(tmp_path) == 0 and ledger.files(tmp_path) == []


def _write_scored(data_dir: Path, rows: list[tuple[str, int, str, float, float, bool, bool]]) -> None:
    """Issued and scored files written directly: (ticker, step, target day, error, naive error, in 80, in 95)."""
    frame = pd.DataFrame(rows, columns=["ticker", "step", "target_date", "error", "naive_error", "in_80", "in_95"])
    frame["target_date"] = pd.to_datetime(frame["target_date"])
    frame["origin_date"] = frame["target_date"] - pd.Timedelta(days=1)
    frame["model_card_hash"] = "h"
    issued = frame[ledger.KEY + ["target_date"]].assign(issued_at="2020-01-01T00:00:00+00:00", lstm=1.0)
    scored = frame.assign(scored_at="2021-01-01T00:00:00+00:00", actual=1.0)[ledger.SCORED_COLUMNS]
    artifacts.write_parquet(ledger.ledger_dir(data_dir) / ledger.ISSUED / "20200101T000000Z-aaaaaa.parquet", issued)
    artifacts.write_parquet(ledger.ledger_dir(data_dir) / ledger.SCORED / "20210101T000000Z-aaaaaa.parquet", scored)


def _history() -> list[tuple[str, int, str, float, float, bool, bool]]:
    """A at step 1: 100 days, errors 4 (first 10), 2 (next 60), 1 (last 30) against naive's 2 throughout, inside
    the 80% band on the last 30 days and the 95% band on the last 90. A at step 2: three days naive got exactly.
    B at step 1: two days, inside the 80% band and outside the 95% one (as it can only be on paper)."""
    days = [f"{d:%Y-%m-%d}" for d in pd.bdate_range("2020-01-01", periods=100)]
    errors = [4.0] * 10 + [2.0] * 60 + [1.0] * 30
    rows = [("A", 1, d, e, 2.0, k >= 70, k >= 10) for k, (d, e) in enumerate(zip(days, errors, strict=True))]
    rows += [("A", 2, d, 0.5, 0.0, True, True) for d in days[:3]]
    rows += [("B", 1, d, 3.0, 1.0, True, False) for d in days[-2:]]
    return rows


def test_the_track_record_by_ticker_step_and_window_by_hand(tmp_path):
    _write_scored(tmp_path, _history())
    record = ledger.track_record(tmp_path)
    assert list(record) == [
        *("ticker", "step", "window", "scored", "rmse", "rmse_ratio_vs_naive"),
        *("coverage_80", "coverage_95", "first_day", "last_day"),
    ]
    a1 = record[(record["ticker"] == "A") & (record["step"] == 1)].set_index("window")
    assert a1.index.tolist() == ["30d", "90d", "all"] and a1["scored"].tolist() == [30, 90, 100]
    assert a1["rmse"].tolist() == pytest.approx([1.0, np.sqrt(3.0), np.sqrt(4.3)])  # (30 + 240) / 90, (+ 160) / 100
    assert a1["rmse_ratio_vs_naive"].tolist() == pytest.approx([0.5, np.sqrt(3.0) / 2, np.sqrt(4.3) / 2])
    assert a1["coverage_80"].tolist() == pytest.approx([1.0, 1 / 3, 0.3])
    assert a1["coverage_95"].tolist() == pytest.approx([1.0, 1.0, 0.9])
    assert a1["first_day"].tolist() == ["2020-04-08", "2020-01-15", "2020-01-01"]
    assert a1["last_day"].tolist() == ["2020-05-19"] * 3
    a2 = record[(record["ticker"] == "A") & (record["step"] == 2)]
    assert a2["scored"].tolist() == [3, 3, 3] and a2["rmse_ratio_vs_naive"].isna().all()  # naive was exact: no ratio
    assert a2["rmse"].tolist() == [0.5] * 3
    b = record[record["ticker"] == "B"]
    assert b["scored"].tolist() == [2, 2, 2] and b["rmse_ratio_vs_naive"].tolist() == [3.0] * 3
    assert b["coverage_95"].tolist() == [0.0] * 3 and b["step"].tolist() == [1, 1, 1]


def test_the_track_record_of_some_tickers_since_a_day(tmp_path):
    _write_scored(tmp_path, _history())
    only_b = ledger.track_record(tmp_path, ["B"])
    assert set(only_b["ticker"]) == {"B"} and len(only_b) == 3
    since = ledger.track_record(tmp_path, since="2020-05-18")  # the last two days: A's and B's
    assert since.groupby("ticker")["scored"].max().to_dict() == {"A": 2, "B": 2}
    assert ledger.track_record(tmp_path, since="2020-05-18").equals(ledger.track_record(tmp_path, [], "2020-05-18"))
    empty = ledger.track_record(tmp_path, ["Z"])
    assert empty.empty and list(empty) == list(only_b)


def test_recent_coverage_pools_each_tickers_last_next_day_forecasts(tmp_path):
    _write_scored(tmp_path, _history())
    # A's last 60 step-1 days: 30 inside the 80% band, all 60 inside the 95% one; B's two: inside, outside.
    assert ledger.recent_coverage(tmp_path, 80, days=60) == pytest.approx(32 / 62)
    assert ledger.recent_coverage(tmp_path, 95, days=60) == pytest.approx(60 / 62)
    assert ledger.recent_coverage(tmp_path) == pytest.approx(32 / 62)  # 80% and 60 days unless asked
    assert ledger.recent_coverage(tmp_path, 80, days=102) == pytest.approx(32 / 102)  # exactly enough days
    assert ledger.recent_coverage(tmp_path, 80, days=103) is None  # steps 2 do not count toward the days
    assert ledger.recent_coverage(tmp_path / "empty") is None
