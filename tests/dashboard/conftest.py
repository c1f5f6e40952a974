"""The real dashboard process and Debian's headless Chromium, shared by the browser tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from forecaster import artifacts
from forecaster.config import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(
    command: list[str], ready_url: str | None = None, env: dict | None = None, cwd: Path = PROJECT_ROOT
) -> Iterator[subprocess.Popen]:
    """A server process (and its children) started in ``cwd``, stopped at the end; waits until ``ready_url``
    answers, if given."""
    process = subprocess.Popen(
        command,
        env=env or {**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while ready_url:
            try:
                urllib.request.urlopen(ready_url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode()[-3000:]
                    raise RuntimeError(f"{command[:3]} did not start: {output}") from None
                time.sleep(0.3)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@contextmanager
def serve(data_dir: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The real ``python -m dashboard`` process on a free loopback port (``env`` added to this process's
    environment); yields its address."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "dashboard", "--data-dir", str(data_dir), "--port", str(port), *options]
    with running(command, url, env={**os.environ, "PYTHONUNBUFFERED": "1", **env} if env else None):
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def two_ticker_run(sample_run) -> Path:
    """The data folder of the shared run on two sample tickers (IBM, MSFT), so a page has a ticker to switch to."""
    return sample_run[0]


def copy_run(data_dir: Path, run_dir: Path, run_id: str, publish: bool = True) -> Path:
    """A copy of ``run_dir`` under ``data_dir`` as run ``run_id``, published unless told otherwise."""
    target = data_dir / artifacts.RUNS / run_id
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("prepared", "model.keras"))
    if publish:
        artifacts.publish_run(target)
    return target
