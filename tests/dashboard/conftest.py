"""The real dashboard process and Debian's headless Chromium, shared by the browser tests."""

from __future__ import annotations

import os
import shutil
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

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(data_dir: Path) -> Iterator[str]:
    """The real ``python -m dashboard`` process on a free loopback port; yields its address."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "dashboard", "--data-dir", str(data_dir), "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dashboard did not start: {process.stdout.read().decode()}") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
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
