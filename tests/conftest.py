"""Shared fixtures and the test tiers.

Tiers (markers, registered in pyproject.toml):

- ``spark``: starts Spark (given automatically to every test that uses the ``spark`` fixture);
- ``cluster``: starts a standalone Spark cluster on 127.0.0.1;
- ``browser``: drives Debian's headless Chromium (given to every test that uses the ``browser`` fixture);
- ``slow``: long end-to-end work: ``python -m pytest -m "not slow"`` is the quick tier;
- ``shared_data``: reads the real price files in ``../shared/data`` (given to every test that uses the
  ``shared_data`` fixture, directly or through ``published_run``). Only these need the files; without them
  they fail, saying so, and ``-m "not shared_data"`` leaves them out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forecaster.config import ModelConfig

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AAPL_CSV = SHARED_DATA / "AAPL.csv"
SP500_CSV = SHARED_DATA / "all_stocks_5yr.csv"

#: Small enough to train in seconds, big enough to be a real LSTM ensemble (two members).
TINY_MODEL = ModelConfig(lookback=20, horizon=3, layers=1, units=8, epochs=2, patience=1, batch_size=128, members=2)

#: Markers given by the fixtures a test uses.
_MARKED_BY_FIXTURE = {"spark": "spark", "browser": "browser", "shared_data": "shared_data"}


#: The files that take longest (seconds of one worker, full suite on this 2-core machine), started first: the two
#: workers (``--dist loadfile``) take files in this order, and a long file started last would leave one worker
#: idle while the other finishes it. ``--no-loadscope-reorder`` (pyproject) keeps xdist from reordering by size.
LONGEST_FIRST = (
    "tests/test_cluster.py",  # 361 s (full suite of 2026-12-01, 12 min 1 s)
    "tests/dashboard/test_browser.py",  # 230 s
    "tests/test_notebooks.py",  # 165 s
    "tests/test_faults.py",  # 115 s
    "tests/dashboard/test_jobs.py",  # 100 s
    "tests/jobs/test_refresh.py",  # 87 s
)


def _start_order(item: pytest.Item) -> int:
    path = item.nodeid.split("::")[0]
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in _MARKED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
        if item.get_closest_marker("cluster") or item.get_closest_marker("browser"):
            item.add_marker("slow")
    items.sort(key=_start_order)  # stable: within a file, and among the other files, the order stays


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before a run that starts Spark dozens of times (the slow tests, in subprocesses and notebooks), build
    the class archive every later driver JVM starts from (``forecaster.prepare.jvm_cache``): about a minute
    once, some 4 s less per start. The quick tier uses an archive that exists but does not wait for one."""
    if any(item.get_closest_marker("slow") for item in session.items):
        from forecaster.prepare import jvm_cache

        jvm_cache.build_and_wait()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real price files beside the checkout; the test fails, saying where, if it is missing."""
    if not AAPL_CSV.is_file() or not SP500_CSV.is_file():
        pytest.fail(
            f"the real price files are missing: expected AAPL.csv and all_stocks_5yr.csv in {SHARED_DATA} "
            "(run the tests that need no files with -m 'not shared_data')"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run (two local cores, like this machine)."""
    from forecaster.prepare.session import get_spark

    session = get_spark("local[2]", app_name="forecaster-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def published_run(spark, shared_data, tmp_path_factory):
    """One real run on AAPL.csv with the book's split, tiny model: the artifacts most tests read."""
    from forecaster.jobs.run import RunOptions, run

    data_dir = tmp_path_factory.mktemp("published")
    result = run(
        RunOptions(
            source="csv",
            csv_paths=[str(AAPL_CSV)],
            test_start="2017-01-01",
            model=TINY_MODEL,
            data_dir=data_dir,
            verbose=0,
        )
    )
    return data_dir, result


@pytest.fixture(scope="session")
def sample_run(spark, tmp_path_factory):
    """One real run on two sample tickers (no shared files needed): a ticker to switch to in the dashboard,
    a second ticker for forecasts, and the subject of the walk-forward and forecast tests. Its cross-section
    needs 2 tickers (not the default 30), so the Skill tab and the portfolio have something to show."""
    from forecaster.jobs.run import RunOptions, run

    data_dir = tmp_path_factory.mktemp("sample")
    result = run(
        RunOptions(
            source="sample",
            tickers=["IBM", "MSFT"],
            model=TINY_MODEL,
            data_dir=data_dir,
            verbose=0,
            ma_window=10,
            test_start="2012-03-01",
            min_cross_section=2,
        )
    )
    return data_dir, result


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots)."""
    path = Path(os.environ.get("FORECASTER_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


#: Month ends of the replay (2018-03-30 was Good Friday: the last March session is the 29th).
MONTH_ENDS = ("2018-01-31", "2018-02-28", "2018-03-29", "2018-04-30")


def cut_csv(csv, last_day: str, folder: Path) -> Path:
    """``csv`` (AAPL.csv's rows) up to ``last_day``, written as ``folder/AAPL.csv``."""
    path = folder / "AAPL.csv"
    csv[csv["Date"] <= last_day].to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def replay(spark, shared_data, tmp_path_factory):
    """AAPL cut at 2017-12-29, a run, then one more month at a time to 2018-04-30 with a refresh after each."""
    from dataclasses import replace

    import pandas as pd

    from forecaster.data.ingest import import_csv
    from forecaster.jobs.refresh import refresh
    from forecaster.jobs.run import RunOptions, run

    data_dir = tmp_path_factory.mktemp("replay")
    csv = pd.read_csv(AAPL_CSV)
    import_csv([cut_csv(csv, "2017-12-29", data_dir)], data_dir, progress=False)
    run(
        RunOptions(source="cache", tickers=["AAPL"], model=replace(TINY_MODEL, members=1), data_dir=data_dir, verbose=0)
    )
    results = []
    for month_end in MONTH_ENDS:
        import_csv([cut_csv(csv, month_end, data_dir)], data_dir, progress=False)
        results.append(refresh(data_dir, retrain_after=1000))
    return data_dir, csv, results
