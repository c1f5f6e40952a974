"""Load on the dashboard's real callback endpoint: ticker switches over 5,000-day series.

    python benchmarks/dashboard_load.py [--clients 20] [--requests 25] [--workers N] [--chart line|candles]
    python benchmarks/dashboard_load.py --clients 50 --duration 60 --mix       # the mixed load of issue 16

Makes its own artifacts first (a real run, tiny model, on synthetic 5,000-day price series
for a few tickers), starts the dashboard under gunicorn on a free 127.0.0.1 port, then
drives ``--clients`` concurrent clients, each making ``--requests`` ticker switches (or as many
as fit in ``--duration`` seconds). A ticker switch is what the browser sends when the picker
changes: the price figure's request and the details' request (verdict, forecast panel, metrics,
residuals); they are sent one after the other and timed together, so a switch's latency here is
never lower than in a browser, which sends them at once. With ``--mix`` a client also changes the
step (the figure's Patch and the details), and one action in seven opens the Compare view at a
random step and measure. The chart type, the baselines and the range buttons are switched in the
browser (clientside) and send nothing. Requests carry ``Accept-Encoding: br, gzip`` like a browser.
Prints ``p50_ms``, ``p95_ms`` (per action), ``errors``, the bytes on the wire per action, and the
gunicorn processes' resident memory (``rss_start_mb`` after warm-up, ``rss_end_mb`` after the load).
Goals (issue 16): ticker switches at 20 clients p95 <= 100 ms; the mixed load at 50 clients for
60 s p95 <= 400 ms, 0 errors, memory flat.
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


def _request(output: str, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]],
             state: list[tuple[str, str, object]], changed: str) -> dict:
    """A callback request as the Dash renderer sends it."""
    many = len(outputs) > 1
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".." if many else output,
        "outputs": [{"id": i, "property": p} for i, p in outputs] if many else
        {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [changed],
    }


DETAILS = [("verdict", "children"), ("verdict", "color"), ("forecast-panel", "children"),
           ("metrics-table", "children"), ("residual-time", "figure"), ("residual-hist", "figure"),
           ("ticker-message", "children")]


def switch_requests(run_id: str, ticker: str, step: int, chart: str) -> list[dict]:
    """What the browser sends when the ticker picker changes: the figure, then the details."""
    figure = _request("price-graph.figure", [("price-graph", "figure")],
                      [("run-id", "data", run_id), ("ticker", "value", ticker)],
                      [("step", "value", step), ("chart", "value", chart), ("baselines", "value", ["naive"])],
                      "ticker.value")
    details = _request("", DETAILS, [("run-id", "data", run_id), ("ticker", "value", ticker), ("step", "value", step),
                                     ("all-steps", "value", False)], [], "ticker.value")
    return [figure, details]


#: The step callback's output as Dash names it (a second writer of the figure: ``price-graph.figure@<hash>``),
#: read from the server's ``/_dash-dependencies`` at start.
STEP_OUTPUT = {"name": "price-graph.figure"}


def find_step_output(base: str) -> str:
    """The output name of the callback that patches the figure when the step changes."""
    with urllib.request.urlopen(base + "/_dash-dependencies", timeout=10) as response:
        for callback in json.loads(response.read()):
            if callback["output"].startswith("price-graph.figure@") and \
                    [i["id"] for i in callback["inputs"]] == ["step"]:
                return callback["output"]
    raise RuntimeError("the step callback was not found in /_dash-dependencies")


def step_requests(run_id: str, ticker: str, step: int) -> list[dict]:
    """What the browser sends when the step changes: the figure's Patch, then the details."""
    name = STEP_OUTPUT["name"]
    patch = _request(name, [("price-graph", name.split(".", 1)[1])], [("step", "value", step)],
                     [("run-id", "data", run_id), ("ticker", "value", ticker)], "step.value")
    details = _request("", DETAILS, [("run-id", "data", run_id), ("ticker", "value", ticker), ("step", "value", step),
                                     ("all-steps", "value", False)], [], "step.value")
    return [patch, details]


def compare_requests(run_id: str, step: int, measure: str) -> list[dict]:
    """What the browser sends when the Compare view's step or measure changes."""
    return [_request("..compare-graph.figure...compare-table.data..",
                     [("compare-graph", "figure"), ("compare-table", "data")],
                     [("run-id", "data", run_id), ("compare-step", "value", step),
                      ("compare-measure", "value", measure)], [], "compare-step.value")]


def action(rng: random.Random, i: int, offset: int, run_id: str, chart: str, mix: bool, horizon: int = 5) -> list[dict]:
    """The requests of a client's ``i``-th action: a ticker switch, or with ``mix`` a step change or the
    Compare view now and then."""
    ticker = TICKERS[(offset + i) % len(TICKERS)]
    if not mix:
        return switch_requests(run_id, ticker, 1, chart)
    roll = rng.random()
    if roll < 1 / 7:
        return compare_requests(run_id, rng.randint(1, horizon),
                                rng.choice(("rmse", "interval_score_80", "interval_score_95")))
    if roll < 4 / 7:
        return step_requests(run_id, ticker, rng.randint(1, horizon))
    return switch_requests(run_id, ticker, rng.randint(1, horizon), rng.choice(("line", "candles")))


def client(url: str, count: int, offset: int, run_id: str, chart: str, latencies: list[float], errors: list[str],
           wire: list[int], deadline: float | None = None, mix: bool = False) -> None:
    rng = random.Random(offset)
    i = 0
    while (i < count) if deadline is None else (time.monotonic() < deadline):
        requests = action(rng, i, offset, run_id, chart, mix)
        i += 1
        started = time.perf_counter()
        size = 0
        for payload in requests:
            request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={
                "Content-Type": "application/json", "Accept-Encoding": "br, gzip"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = response.read()
                    size += len(body)
                    if response.status != 200 or not body:
                        errors.append(f"status {response.status}")
            except Exception as exc:  # every failure counts, whatever its kind
                errors.append(repr(exc))
        latencies.append((time.perf_counter() - started) * 1000)
        wire.append(size)


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
            run_id = (data_dir / "runs" / "LATEST").read_text().strip()
            STEP_OUTPUT["name"] = find_step_output(base)
            warm: list[float] = []
            # Warm-up: each worker reads the run once (the first request to a worker reads its files).
            client(base + "/_dash-update-component", args.workers * len(TICKERS), 0, run_id, args.chart, warm, [], [])
            cold_ms = warm[0]
            rss_start = rss_mb(server.pid)
            latencies: list[float] = []
            errors: list[str] = []
            wire: list[int] = []
            started = time.perf_counter()
            deadline = None if args.duration is None else time.monotonic() + args.duration
            threads = [threading.Thread(target=client, args=(base + "/_dash-update-component", args.requests, k,
                                                             run_id, args.chart, latencies, errors, wire, deadline,
                                                             args.mix))
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
    print(f"clients={args.clients} actions={len(latencies)} seconds={seconds:.0f} workers={args.workers} "
          f"days={DAYS} chart={chart} throughput_rps={len(latencies) / seconds:.1f}")
    print(f"first_switch_ms={cold_ms:.0f} (a worker's first request: reads the run, builds the figure)")
    print(f"kb_per_action={np.mean(wire) / 1024:.0f} (compressed, on the wire)")
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
