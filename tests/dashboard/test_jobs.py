"""Jobs started from the page: progress and result, one at a time, cancel; who may start them; Celery and Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.jobs import JobSettings
from forecaster import artifacts
from forecaster.config import PROJECT_ROOT
from tests.dashboard.conftest import free_port, running, serve

#: The replay's model is months behind its prices, so a refresh would retrain it (tens of seconds); a refresh in
#: these tests only has to run, so it may keep the model (the dashboard's jobs read the same setting as the CLI).
KEEP_THE_MODEL = {"FORECASTER_RETRAIN_AFTER": "1000"}


@pytest.fixture()
def job_data(replay, tmp_path) -> Path:
    """A copy of the replay's data folder (AAPL cached, a run, a ledger) for jobs to change."""
    data_dir = tmp_path / "data"
    shutil.copytree(replay[0], data_dir)
    return data_dir


def _jobs_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#price-graph .js-plotly-plot", timeout=30_000)
    page.click("text=Jobs")
    page.wait_for_selector("#job-refresh")
    return page


def _result(page, timeout: float = 120_000) -> str:
    page.wait_for_selector("#job-result", state="visible", timeout=timeout)
    return page.inner_text("#job-result")


def test_a_job_shows_progress_and_result_and_a_second_is_refused(browser, job_data, artifacts_dir):
    before = artifacts.latest_run_dir(job_data).name
    with serve(job_data) as url:
        first, second = _jobs_page(browser, url), _jobs_page(browser, url)
        first.click("#job-retrain")
        first.wait_for_function("() => document.querySelector('#job-status').innerText.startsWith('Retrain:')")
        assert first.is_disabled("#job-refresh") and first.is_enabled("#job-cancel")
        first.wait_for_function("() => document.querySelector('#job-log').innerText.includes('Spark')", timeout=60_000)
        assert int(first.get_attribute("#job-progress .progress-bar", "aria-valuenow")) > 0  # the bar moves
        assert "progress-bar-animated" in first.get_attribute("#job-progress .progress-bar", "class")
        first.screenshot(path=str(artifacts_dir / "dashboard-job-running.png"))
        second.click("#job-refresh")  # another person, same data directory
        refused = _result(second, 60_000)
        assert "another job" in refused and "is running" in refused
        assert "alert-danger" in second.get_attribute("#job-result", "class")
        done = _result(first)
        assert "retrained: run" in done and "alert-success" in first.get_attribute("#job-result", "class")
        first.wait_for_function(
            "() => document.querySelector('#job-progress .progress-bar').getAttribute('aria-valuenow') === '100'"
        )
        assert "progress-bar-animated" not in first.get_attribute("#job-progress .progress-bar", "class")
        first.wait_for_timeout(700)  # Bootstrap's 0.6 s width transition, for the screenshot
        first.screenshot(path=str(artifacts_dir / "dashboard-job-done.png"))
        assert artifacts.latest_run_dir(job_data).name != before  # published like any run
        first.close()
        second.close()


def test_cancel_stops_a_job_and_publishes_nothing(browser, job_data):
    before = artifacts.latest_run_dir(job_data).name
    with serve(job_data, env=KEEP_THE_MODEL) as url:
        page = _jobs_page(browser, url)
        page.click("#job-retrain")
        page.wait_for_function("() => document.querySelector('#job-log').innerText.includes('Spark')", timeout=60_000)
        page.click("#job-cancel")
        page.wait_for_function("() => !document.querySelector('#job-refresh').disabled", timeout=30_000)
        time.sleep(3)
        assert artifacts.latest_run_dir(job_data).name == before
        page.click("#job-refresh")  # the lock went with the cancelled job
        refreshed = _result(page)
        assert "Refresh prices: refresh ok" in refreshed and "retrained" not in refreshed, refreshed
        page.close()


def test_errors_show_in_the_page(browser, job_data):
    with serve(job_data) as url:
        page = _jobs_page(browser, url)
        page.fill("#job-tickers", "../etc")
        page.click("#job-add")
        assert "Add tickers: " in _result(page) and "ticker" in page.inner_text("#job-result").lower()
        page.fill("#job-tickers", "NVDA")
        page.click("#job-add")
        page.wait_for_function("() => document.querySelector('#job-result').innerText.includes('NVDA')", timeout=60_000)
        assert "could not reach Yahoo Finance" in page.inner_text("#job-result")  # this machine is offline
        page.close()


def test_who_may_start_jobs():
    assert JobSettings.for_host("127.0.0.1", False, None).refuses(None) is None
    exposed = JobSettings.for_host("0.0.0.0", False, "secret")
    assert not exposed.enabled and "--allow-jobs" in exposed.refuses("secret")
    allowed = JobSettings.for_host("0.0.0.0", True, "secret")
    assert allowed.refuses("secret") is None and allowed.refuses("guess") == "wrong or missing job token"
    assert allowed.refuses(None) == "wrong or missing job token"
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "--host", "0.0.0.0", "--allow-jobs"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if k != "FORECASTER_JOB_TOKEN"},
    )
    assert done.returncode == 2 and "--allow-jobs needs a token" in done.stderr


def test_a_token_is_asked_for_and_checked(browser, job_data):
    with serve(job_data, "--job-token", "s3cret", env=KEEP_THE_MODEL) as url:
        page = _jobs_page(browser, url)
        page.click("#job-refresh")
        assert "Not started: wrong or missing job token" in _result(page)
        page.fill("#job-token", "s3cret")
        page.click("#job-refresh")
        page.wait_for_function(
            "() => document.querySelector('#job-result').innerText.includes('refresh ok')", timeout=120_000
        )
        page.close()


@pytest.mark.slow
def test_jobs_on_celery_and_redis_behind_several_gunicorn_workers(browser, job_data, tmp_path, artifacts_dir):
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(redis_server).exists():
        pytest.fail("redis-server is not installed: apt-get install redis-server")
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "FORECASTER_DATA_DIR": str(job_data),
        "FORECASTER_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FORECASTER_ALLOW_JOBS": "1",
        "FORECASTER_JOB_TOKEN": "s3cret",
        **KEEP_THE_MODEL,
    }
    bin_dir = Path(sys.executable).parent
    with (
        running(
            [
                redis_server,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ]
        ),
        running(
            [
                str(bin_dir / "celery"),
                "-A",
                "dashboard.celery_app:celery",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
            ],
            env=env,
        ),
        running(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{web_port}",
                "--timeout",
                "120",
                "dashboard.wsgi:server",
            ],
            f"http://127.0.0.1:{web_port}/",
            env=env,
        ),
    ):
        page = _jobs_page(browser, f"http://127.0.0.1:{web_port}/")
        page.fill("#job-token", "s3cret")
        # A refresh that keeps the model: the same job machinery as a retrain (tested on one process above), in
        # a few seconds. Its progress and result reach the page through whichever gunicorn worker it polls.
        page.click("#job-refresh")
        done = _result(page, 180_000)
        assert "Refresh prices: refresh ok" in done, done
        page.screenshot(path=str(artifacts_dir / "dashboard-job-celery.png"))
        page.close()
