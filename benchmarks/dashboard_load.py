"""Load on the dashboard's real callback endpoint: ticker switches over 5,000-day series.

    python benchmarks/dashboard_load.py [--clients 20] [--requests 25] [--workers N] [--chart line|candles]
    python benchmarks/dashboard_load.py --clients 50 --duration 60 --workers 4 --mix    # issue 9's load test

Makes its own artifacts first (a real run, tiny model, on synthetic 5,000-day price series
for a few tickers), starts the dashboard under gunicorn on a free 127.0.0.1 port, then
drives ``--clients`` concurrent clients, each sending ``--requests`` POSTs (or as many as
fit in ``--duration`` seconds) to ``/_dash-update-component`` that switch tickers (the
callback that builds the chart, the metrics table and the residual views). With ``--mix``
each request also picks a random step, chart type and set of baselines, and one in seven
opens the compare view; the range buttons (1M ... All) are handled in the browser by Plotly
and send nothing to the server. Prints ``p50_ms``, ``p95_ms``, ``errors`` and the gunicorn
processes' resident memory (``rss_start_mb`` after warm-up, ``rss_end_mb`` after the load).
Goal: p95 <= 200 ms with 20 clients, 0 errors, memory flat.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
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
from forecaster.jobs.run import RunOptions, run  # noqa: E402

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


def compare_payload(step: int) -> dict:
    """The request the browser sends when the compare view's step changes."""
    return {"output": "compare-graph.figure", "outputs": {"id": "compare-graph", "property": "figure"},
            "inputs": [{"id": "compare-step", "property": "value", "value": step}],
            "changedPropIds": ["compare-step.value"], "state": []}


def mixed_payload(rng: random.Random, i: int, offset: int, chart: str, horizon: int = 5) -> dict:
    """A user clicking around: ticker, step, chart type, baselines; now and then the compare view."""
    if rng.random() < 1 / 7:
        return compare_payload(rng.randint(1, horizon))
    payload = callback_payload(TICKERS[(offset + i) % len(TICKERS)], rng.choice(("line", "candles")))
    payload["inputs"][1]["value"] = rng.randint(1, horizon)
    payload["inputs"][3]["value"] = [b for b in ("naive", "drift", "moving_average") if rng.random() < 0.5]
    return payload


def client(url: str, count: int, offset: int, chart: str, latencies: list[float], errors: list[str],
           deadline: float | None = None, mix: bool = False) -> None:
    rng = random.Random(offset)
    i = 0
    while (i < count) if deadline is None else (time.monotonic() < deadline):
        payload = mixed_payload(rng, i, offset, chart) if mix else callback_payload(
            TICKERS[(offset + i) % len(TICKERS)], chart)
        i += 1
        expected = b'"compare-graph"' if payload["changedPropIds"] == ["compare-step.value"] else b'"price-graph"'
        body = json.dumps(payload).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                # A substring check, not a JSON parse: the load generator shares the machine's two cores.
                if response.status != 200 or expected not in body:
                    errors.append(f"status {response.status}")
        except Exception as exc:  # every failure counts, whatever its kind
            errors.append(repr(exc))
        latencies.append((time.perf_counter() - started) * 1000)


def rss_mb(master_pid: int) -> float:
    """Resident memory of the gunicorn master and its workers, in MB (from /proc)."""
    pids = [master_pid] + [int(p) for p in Path(f"/proc/{master_pid}/task/{master_pid}/children")
                           .read_text().split()]
    total_kb = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total_kb += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return total_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="requests per client")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="gunicorn worker processes (default: one per core)")
    parser.add_argument("--chart", choices=("line", "candles"), default="line",
                        help="chart type requested (line is the page's default)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds of load; each client sends requests until then (overrides --requests)")
    parser.add_argument("--mix", action="store_true",
                        help="random step, chart and baselines per request, and the compare view now and then")
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
            rss_start = rss_mb(server.pid)
            latencies: list[float] = []
            errors: list[str] = []
            started = time.perf_counter()
            deadline = None if args.duration is None else time.monotonic() + args.duration
            threads = [threading.Thread(target=client, args=(base + "/_dash-update-component", args.requests, k,
                                                             args.chart, latencies, errors, deadline, args.mix))
                       for k in range(args.clients)]
            for thread in threads:
                thread.start()
            samples = [rss_start]
            while any(thread.is_alive() for thread in threads):
                time.sleep(0.5)
                if time.perf_counter() - started >= 10 * len(samples):
                    samples.append(rss_mb(server.pid))
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            rss_end = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=20)
    chart = "mixed" if args.mix else args.chart
    print(f"clients={args.clients} requests={len(latencies)} seconds={seconds:.0f} workers={args.workers} "
          f"days={DAYS} chart={chart} throughput_rps={len(latencies) / seconds:.1f}")
    print(f"p50_ms={np.percentile(latencies, 50):.0f}")
    print(f"p95_ms={np.percentile(latencies, 95):.0f}")
    print(f"errors={len(errors)}")
    print(f"rss_start_mb={rss_start:.0f} rss_end_mb={rss_end:.0f}")
    print("rss_every_10s_mb=" + ",".join(f"{mb:.0f}" for mb in samples + [rss_end]))
    if errors:
        print("first error:", errors[0])
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
