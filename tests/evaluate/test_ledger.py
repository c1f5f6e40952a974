"""The ledger keeps the forecast under its one name, and the network's median apart."""

from __future__ import annotations

import pandas as pd

from forecaster import artifacts
from forecaster.columns import FORECAST_COLUMN
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
