"""Shared fixtures: one SparkSession per test run, the real price files, one tiny published run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forecaster.config import ModelConfig

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AAPL_CSV = SHARED_DATA / "AAPL.csv"
SP500_CSV = SHARED_DATA / "all_stocks_5yr.csv"

#: Small enough to train in seconds, big enough to be a real LSTM.
TINY_MODEL = ModelConfig(lookback=20, horizon=3, layers=1, units=8, epochs=2, patience=1, batch_size=128)


def pytest_configure(config: pytest.Config) -> None:
    if not AAPL_CSV.is_file() or not SP500_CSV.is_file():
        raise pytest.UsageError(f"the real price files are missing: expected them in {SHARED_DATA}")


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run (two local cores, like this machine)."""
    from forecaster.spark import get_spark

    session = get_spark("local[2]", app_name="forecaster-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def published_run(spark, tmp_path_factory):
    """One real run on AAPL.csv with the book's split, tiny model: artifacts for many tests."""
    from forecaster.pipeline import RunOptions, run

    data_dir = tmp_path_factory.mktemp("published")
    result = run(RunOptions(source="csv", csv_paths=[str(AAPL_CSV)], test_start="2017-01-01",
                            model=TINY_MODEL, data_dir=data_dir, verbose=0))
    return data_dir, result


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots)."""
    path = Path(os.environ.get("FORECASTER_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
