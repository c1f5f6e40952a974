"""Load on the dashboard's real callback endpoint: ticker switches over 5,000-day series.

    python benchmarks/dashboard_load.py [--clients 20] [--requests 25] [--workers N] [--chart line|candles]

Makes its own artifacts first (a real run, tiny model, on synthetic 5,000-day price series
for a few tickers), starts the dashboard under gunicorn on a free 127.0.0.1 port, then
drives ``--clients`` concurrent clients, each sending ``--requests`` POSTs to
``/_dash-update-component`` that switch tickers (the callback that builds the candlestick
chart, the metrics table and the residual views). Prints ``p50_ms``, ``p95_ms`` and
``errors``. Goal: p95 <= 200 ms, 0 errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecaster.config import ModelConfig  # noqa: E402
from forecaster.pipeline import RunOptions, run  # noqa: E402

DAYS = 5_000
TICKERS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")


def make_artifacts(data_dir: Path) -> None:
    """A real run over synthetic 5,000-day series (random walks with realistic volatility)."""
    csv_dir = data_dir / "csv"
    csv_dir.mkdir(parents=True)
    dates = pd.bdate_range("1998-01-02", periods=DAYS)
    for k, ticker in enumerate(TICKERS):
        rng = np.random.default_rng(k)
        close = 20 * (k + 1) * np.exp(np.cumsum(rng.normal(0.0003, 0.018, DAYS)))
        spread = np.abs(rng.normal(0, 0.01, DAYS))
        frame = pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Open": close * (1 + rng.normal(0, 0.005, DAYS)),
                              "Close": close, "Adj Close": close, "Volume": rng.integers(1e5, 1e7, DAYS)})
        frame["High"] = frame[["Open", "Close"]].max(axis=1) * (1 + spread)
        frame["Low"] = frame[["Open", "Close"]].min(axis=1) * (1 - spread)
        frame[["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(csv_dir / f"{ticker}.csv",
                                                                                     index=False)
    cfg = replace(ModelConfig(), epochs=1, units=8)
    run(RunOptions(source="csv", csv_paths=[str(p) for p in sorted(csv_dir.glob("*.csv"))], model=cfg,
                   data_dir=data_dir, verbose=0))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def callback_payload(ticker: str, chart: str) -> dict:
    """The request the browser sends when the ticker picker changes."""
    outputs = [("price-graph", "figure"), ("metrics-table", "data"), ("residual-time", "figure"),
               ("residual-hist", "figure"), ("ticker-message", "children")]
    inputs = [("ticker", ticker), ("step", 1), ("chart", chart), ("baselines", ["naive"])]
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": "value", "value": v} for i, v in inputs],
        "changedPropIds": ["ticker.value"], "state": [],
    }


def client(url: str, count: int, offset: int, chart: str, latencies: list[float], errors: list[str]) -> None:
    for i in range(count):
        body = json.dumps(callback_payload(TICKERS[(offset + i) % len(TICKERS)], chart)).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                # A substring check, not a JSON parse: the load generator shares the machine's two cores.
                if response.status != 200 or b'"price-graph"' not in body[:4096] and b'"price-graph"' not in body:
                    errors.append(f"status {response.status}")
        except Exception as exc:  # every failure counts, whatever its kind
            errors.append(repr(exc))
        latencies.append((time.perf_counter() - started) * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="requests per client")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="gunicorn worker processes (default: one per core)")
    parser.add_argument("--chart", choices=("line", "candles"), default="line",
                        help="chart type requested (line is the page's default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        make_artifacts(data_dir)
        port = free_port()
        env = {**os.environ, "FORECASTER_DATA_DIR": str(data_dir)}
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b",
                                   f"127.0.0.1:{port}", "--timeout", "60", "dashboard.wsgi:server"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/", timeout=2).read()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(server.stderr.read().decode()) from None
                    time.sleep(0.3)
            warm: list[float] = []
            client(base + "/_dash-update-component", args.workers * len(TICKERS), 0, args.chart, warm, [])
            latencies: list[float] = []
            errors: list[str] = []
            threads = [threading.Thread(target=client, args=(base + "/_dash-update-component", args.requests, k,
                                                             args.chart, latencies, errors))
                       for k in range(args.clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=20)
    print(f"clients={args.clients} requests={len(latencies)} workers={args.workers} days={DAYS} chart={args.chart} "
          f"throughput_rps={len(latencies) / seconds:.1f}")
    print(f"p50_ms={np.percentile(latencies, 50):.0f}")
    print(f"p95_ms={np.percentile(latencies, 95):.0f}")
    print(f"errors={len(errors)}")
    if errors:
        print("first error:", errors[0])
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
