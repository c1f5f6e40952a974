"""The command line as a user meets it: help, errors that come back before Spark starts, and quiet output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from forecaster.artifacts import ensure_writable
from forecaster.cli import main
from forecaster.config import PROJECT_ROOT
from forecaster.data.ingest import store_sample
from forecaster.errors import ConfigError
from tests.conftest import AAPL_CSV

COMMANDS = ["run", "fetch", "import", "data", "prepare", "forecast", "check"]
TINY = ["--lookback", "20", "--horizon", "2", "--epochs", "1", "--units", "4", "--members", "2", "--quiet"]


def _cli(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "forecaster", *args], capture_output=True, text=True, timeout=timeout)
    return done, time.perf_counter() - started


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_each_default_said_once(command):
    done, seconds = _cli(command, "--help")
    assert done.returncode == 0 and seconds < 5, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    assert "(default: None)" not in text and "(default: False)" not in text
    for option in re.findall(r"\n  (--[a-z-]+)", done.stdout):
        help_of = text.split(f" {option} ", 1)[-1].split(" --", 1)[0]
        assert help_of.count("default") <= 1, (option, help_of)
    assert "--data-dir" in text and "--verbose" in text


def test_run_help_has_every_option_the_docs_name():
    """docs/running.md describes ``run``'s options by hand; each one it names must exist (benchmarks' own
    options aside), so the page cannot keep an option the command has lost."""
    done, _ = _cli("run", "--help")
    page = (PROJECT_ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    named = {
        option
        for line in page.splitlines()
        if "benchmarks/" not in line
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", line)
    }
    assert len(named) > 30  # the page still has its table of options
    assert sorted(o for o in named if o not in done.stdout) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--test-start", "2030-01-01"],
            "--test-start 2030-01-01 is outside the data, which runs 2000-03-01 .. 2013-03-01",
        ),
        (["--lookback", "5000"], "--lookback 5000 and --horizon 5 need at least 16,887 trading days"),
        (["--source", "cache", "--tickers", "NVDA"], "no cached prices for NVDA; fetch or import them first"),
        (["--source", "csv"], "--source csv needs the files"),
    ],
)
def test_bad_requests_are_refused_before_spark_starts(tmp_path, args, message):
    store_sample(tmp_path, ["AAPL", "IBM"])
    done, seconds = _cli("run", "--data-dir", str(tmp_path), *args)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert seconds < 3, f"took {seconds:.1f} s"
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")  # one line, no traceback
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_forecast_refuses_an_unknown_ticker_before_spark_starts(sample_run):
    data_dir, _ = sample_run
    done, seconds = _cli("forecast", "--tickers", "NVDA", "--data-dir", str(data_dir))
    assert done.returncode == 1 and "['NVDA'] are not in the latest run's model" in done.stderr
    assert seconds < 3


def test_a_path_like_ticker_is_refused_and_nothing_written(tmp_path, caplog, shared_data):
    code = main(["run", "--source", "csv", "--csv", str(AAPL_CSV), "--tickers", "../x", "--data-dir", str(tmp_path)])
    assert code == 1
    assert "'../x' is not a valid symbol" in caplog.text
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("option", ["--lookback", "--horizon"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_non_positive_sizes_are_usage_errors(option, value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", option, value])
    assert stop.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_an_unwritable_data_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="not writable"):
        ensure_writable(blocker / "data")


@pytest.mark.slow
@pytest.mark.spark
def test_a_run_prints_its_report_and_forecast_and_nothing_it_cannot_act_on(tmp_path):
    report_path = tmp_path / "report.json"
    done, _ = _cli(
        "run",
        "--source",
        "sample",
        "--tickers",
        "IBM",
        *TINY,
        "--data-dir",
        str(tmp_path / "data"),
        "--report",
        str(report_path),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(report_path.read_text())["tickers"]["IBM"]["n_test"] > 200
    out = done.stdout
    assert "median ratio by step" in out
    assert "forecast from the last day, 2013-03-01" in out and "2013-03-04" in out and "80% low" in out
    for noise in ("log4j", "NativeCodeLoader", "os.fork()", "WARN ", "Traceback", "incubator", "T00:00:00"):
        assert noise not in out + done.stderr, noise
    # Progress: one short line per stage, each with its time.
    for stage in ("starting Spark took", "preparing 1 ticker on Spark took", "training took", "scoring"):
        assert stage in done.stderr


@pytest.mark.parametrize(
    "error, verbose, line",
    [
        (
            "stopped",
            False,
            "error: the run stopped while training: boom. Finished stages are kept (fold-1/prepare): run "
            "the same command again, or add --resume R1, to continue from there (--verbose shows the "
            "traceback)",
        ),
        ("bug", False, "error: unexpected ValueError: boom (--verbose shows the traceback)"),
        ("bug", True, "Traceback (most recent call last)"),
    ],
)
def test_a_failed_run_says_in_one_line_where_it_stopped_and_how_to_go_on(
    tmp_path, monkeypatch, capfd, error, verbose, line
):
    from forecaster.errors import RunFailed
    from forecaster.jobs import run as run_module

    def failing(_opts):
        if error == "stopped":
            raise RunFailed(
                "the run stopped while training: boom. Finished stages are kept (fold-1/prepare): run the "
                "same command again, or add --resume R1, to continue from there",
                "training",
                "R1",
            )
        raise ValueError("boom")

    monkeypatch.setattr(run_module, "run", failing)
    monkeypatch.delenv("FORECASTER_VERBOSE", raising=False)  # restored afterwards: --verbose sets it
    code = _main_with_its_console(["run", "--data-dir", str(tmp_path), *(["--verbose"] if verbose else [])])
    err = capfd.readouterr().err
    assert code == 1 and line in err
    if not verbose:
        assert err.strip().count("\n") == 0, err  # one line


def _main_with_its_console(argv: list[str]) -> int:
    """``main`` in this process, with its console handler in place of pytest's log capture."""
    import logging

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        return main(argv)
    finally:
        root.handlers = saved


def test_the_forecast_of_a_large_universe_is_summarised_per_step():
    import pandas as pd

    from forecaster.cli import format_forecast

    days = pd.bdate_range("2018-02-08", periods=3)
    rows = [
        {
            "ticker": f"T{k:02d}",
            "origin_date": pd.Timestamp("2018-02-07"),
            "target_date": day,
            "step": step,
            "origin_price": 100.0,
            "lstm": 100.0 + (k - 12) * 0.1 * step,
            "lstm_lo80": 98.0,
            "lstm_hi80": 102.0,
        }
        for k in range(25)
        for step, day in enumerate(days, 1)
    ]
    frame = pd.DataFrame(rows)
    lines = format_forecast(frame).splitlines()
    assert lines[0].startswith("forecast of 25 tickers") and len(lines) == 4
    assert lines[1] == (
        "step 1: median change +0.00%, median 80% band width 4.00% of the last close; largest rises "
        "T24 +1.20%, T23 +1.10%, T22 +1.00%; largest falls T00 -1.20%, T01 -1.10%, T02 -1.00%"
    )
    assert len(format_forecast(frame, "all").splitlines()) == 2 + 75
