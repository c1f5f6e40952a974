"""Per-ticker models on the executors: a ticker that fails is reported and does not sink the others."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from forecaster import artifacts
from forecaster.model.per_ticker import fit_per_ticker
from tests.conftest import TINY_MODEL


def test_a_failing_ticker_is_reported_and_the_others_are_trained(spark, published_run, tmp_path):
    _, result = published_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    features = tuple(card["features"])
    good = pq.read_table(result.run_dir / "prepared" / "table").to_pandas()
    good["split"] = good["split"].astype(str)
    # BAD is AAPL without its validation rows: its task cannot cut validation windows.
    bad = good[good["split"] != "val"].assign(ticker="BAD")
    table = tmp_path / "table"
    both = pd.concat([good.assign(ticker=good["ticker"].astype(str)), bad], ignore_index=True)
    pq.write_to_dataset(pa.Table.from_pandas(both, preserve_index=False), table, partition_cols=["split"])

    trained, failures = fit_per_ticker(spark, table, tmp_path / "run", features, TINY_MODEL, ["AAPL", "BAD"])
    assert trained.files == {"AAPL": "models/AAPL.keras"} and not trained.models  # the driver loads none
    assert list(failures) == ["BAD"] and "no val windows" in failures["BAD"]
    assert (tmp_path / "run" / "models" / "AAPL.keras").is_file()
    assert artifacts.read_json(tmp_path / "run" / "models" / "AAPL.json")["ticker"] == "AAPL"
    assert not (tmp_path / "run" / "models" / "BAD.keras").exists()


def test_models_of_tickers_the_final_fold_lost_are_removed(tmp_path):
    from forecaster.model.per_ticker import remove_models_except

    models = tmp_path / "models"
    models.mkdir()
    for name in ("AAPL.keras", "AAPL.json", "BAD.keras", "BAD.json", "notes.txt"):
        (models / name).write_text("x")
    assert remove_models_except(tmp_path, ["AAPL"]) == ["BAD.json", "BAD.keras"]
    assert sorted(p.name for p in models.iterdir()) == ["AAPL.json", "AAPL.keras", "notes.txt"]
