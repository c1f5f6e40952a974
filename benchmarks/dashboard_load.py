"""Load on the dashboard's real callback endpoint: ticker switches over 5,000-day series.

    python benchmarks/dashboard_load.py [--clients 20] [--requests 25] [--workers N] [--chart line|candles]
    python benchmarks/dashboard_load.py --clients 50 --duration 60 --mix       # the mixed load of issue 16

Makes its own artifacts first (a real run, tiny model, on synthetic 5,000-day price series
for a few tickers), starts the dashboard under gunicorn on a free 127.0.0.1 port, then
drives ``--clients`` concurrent clients, each making ``--requests`` ticker switches (or as many
as fit in ``--duration`` seconds). A ticker switch is what the browser sends when the picker
changes: the price figure's request and the details' request (verdict, forecast panel), sent one
after the other and timed together, so a switch's latency here is never lower than in a browser,
which sends them at once; then the request for what is below the fold (metrics grid and residual
charts), which the browser sends once the chart is drawn, timed apart (``below_the_fold_*``). With
``--mix`` a client also changes the step (the figure's Patch and the details, then below the fold),
and one action in seven opens the Compare view at a random step and measure. The chart type, the
baselines and the range buttons are switched in the browser (clientside) and send nothing. Requests
carry ``Accept-Encoding: br, gzip`` like a browser.
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
        frame = pd.DataFrame(
            {
                "Date": dates.strftime("%Y-%m-%d"),
                "Open": close * (1 + rng.normal(0, 0.005, DAYS)),
                "Close": close,
                "Adj Close": close,
                "Volume": rng.integers(1e5, 1e7, DAYS),
            }
        )
        frame["High"] = frame[["Open", "Close"]].max(axis=1) * (1 + spread)
        frame["Low"] = frame[["Open", "Close"]].min(axis=1) * (1 - spread)
        frame[["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(
            csv_dir / f"{ticker}.csv", index=False
        )
    cfg = replace(ModelConfig(), epochs=1, units=8)
    run(
        RunOptions(
            source="csv",
            csv_paths=[str(p) for p in sorted(csv_dir.glob("*.csv"))],
            model=cfg,
            data_dir=data_dir,
            verbose=0,
        )
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The server's callbacks as the browser knows them (``/_dash-dependencies``), read once at start.
DEPENDENCIES: list[dict] = []


def load_dependencies(base: str) -> None:
    """Read the callbacks' exact output names and arguments from the server (outputs written by two callbacks
    carry a hash: ``price-graph.figure@<hash>``)."""
    with urllib.request.urlopen(base + "/_dash-dependencies", timeout=10) as response:
        DEPENDENCIES[:] = [c for c in json.loads(response.read()) if not c.get("clientside_function")]


def _request(first_output: str, inputs: list[str], values: dict[str, object], changed: str) -> dict:
    """The request the Dash renderer sends for the server callback whose outputs start with ``first_output`` and
    whose inputs are ``inputs`` (``id.property``), its arguments taken from ``values``."""
    for callback in DEPENDENCIES:
        names = [f"{i['id']}.{i['property']}" for i in callback["inputs"]]
        if callback["output"].lstrip(".").startswith(first_output) and names == inputs:
            break
    else:
        raise RuntimeError(f"no callback {first_output} <- {inputs} in /_dash-dependencies")
    outputs = [part.split("@")[0].rsplit(".", 1) for part in callback["output"].strip(".").split("...")]
    many = callback["output"].startswith("..")

    def argument(item: dict) -> dict:
        key = f"{item['id']}.{item['property']}"
        return {"id": item["id"], "property": item["property"], "value": values.get(key)}

    return {
        "output": callback["output"],
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if many
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [argument(i) for i in callback["inputs"]],
        "state": [argument(i) for i in callback["state"]],
        "changedPropIds": [changed],
    }


def _page_values(run_id: str, ticker: str, step: int, chart: str) -> dict[str, object]:
    return {
        "run-id.data": run_id,
        "ticker.value": ticker,
        "step.value": step,
        "chart.value": chart,
        "baselines.value": ["naive"],
        "range-label.data": "6M",
        "all-steps.value": False,
        "after-draw.data": {"run": run_id, "ticker": ticker, "step": step},
        "below-built.data": True,
    }


#: An action's requests: those a person waits for (sent together by the browser), then those sent after the chart
#: is drawn (below the fold), timed apart.
Action = tuple[list[dict], list[dict]]


def switch_requests(run_id: str, ticker: str, step: int, chart: str) -> Action:
    """What the browser sends when the ticker picker changes: the figure and the details at once, then (once the
    chart is drawn) what is below the fold."""
    values = _page_values(run_id, ticker, step, chart)
    return (
        [
            _request("price-graph.figure", ["ticker.value"], values, "ticker.value"),
            _request("verdict.children", ["ticker.value", "step.value"], values, "ticker.value"),
        ],
        [_request("metrics-grid.columnDefs", ["after-draw.data", "all-steps.value"], values, "after-draw.data")],
    )


def step_requests(run_id: str, ticker: str, step: int) -> Action:
    """What the browser sends when the step changes: the figure's Patch and the details, then what is below."""
    values = _page_values(run_id, ticker, step, "line")
    return (
        [
            _request("price-graph.figure@", ["step.value"], values, "step.value"),
            _request("verdict.children", ["ticker.value", "step.value"], values, "step.value"),
        ],
        [_request("metrics-grid.columnDefs", ["after-draw.data", "all-steps.value"], values, "after-draw.data")],
    )


def compare_requests(run_id: str, step: int, measure: str) -> Action:
    """What the browser sends when the Compare view's step or measure changes."""
    values = {
        "tabs.active_tab": "compare",
        "compare-step.value": step,
        "compare-measure.value": measure,
        "run-id.data": run_id,
    }
    return (
        [
            _request(
                "compare-body.children",
                ["tabs.active_tab", "compare-step.value", "compare-measure.value"],
                values,
                "compare-step.value",
            )
        ],
        [],
    )


def action(rng: random.Random, i: int, offset: int, run_id: str, chart: str, mix: bool, horizon: int = 5) -> Action:
    """The requests of a client's ``i``-th action: a ticker switch, or with ``mix`` a step change or the
    Compare view now and then."""
    ticker = TICKERS[(offset + i) % len(TICKERS)]
    if not mix:
        return switch_requests(run_id, ticker, 1, chart)
    roll = rng.random()
    if roll < 1 / 7:
        return compare_requests(
            run_id, rng.randint(1, horizon), rng.choice(("rmse", "interval_score_80", "interval_score_95"))
        )
    if roll < 4 / 7:
        return step_requests(run_id, ticker, rng.randint(1, horizon))
    return switch_requests(run_id, ticker, rng.randint(1, horizon), rng.choice(("line", "candles")))


def _send(url: str, requests: list[dict], errors: list[str]) -> tuple[float, int]:
    """Sends ``requests`` one after the other; returns the milliseconds they took together and the bytes."""
    started, size = time.perf_counter(), 0
    for payload in requests:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Accept-Encoding": "br, gzip"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                size += len(body)
                if response.status != 200 or not body:
                    errors.append(f"status {response.status}")
        except Exception as exc:  # every failure counts, whatever its kind
            errors.append(repr(exc))
    return (time.perf_counter() - started) * 1000, size


def client(
    url: str,
    count: int,
    offset: int,
    run_id: str,
    chart: str,
    latencies: list[float],
    errors: list[str],
    wire: list[int],
    deadline: float | None = None,
    mix: bool = False,
    below: list[float] | None = None,
) -> None:
    rng = random.Random(offset)
    i = 0
    while (i < count) if deadline is None else (time.monotonic() < deadline):
        shown, after = action(rng, i, offset, run_id, chart, mix)
        i += 1
        took, size = _send(url, shown, errors)
        latencies.append(took)
        if after:
            took_after, size_after = _send(url, after, errors)
            size += size_after
            if below is not None:
                below.append(took_after)
        wire.append(size)


def rss_mb(master_pid: int) -> float:
    """Resident memory of the gunicorn master and its workers, in MB (from /proc)."""
    pids = [master_pid] + [int(p) for p in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]
    total_kb = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total_kb += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return total_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="requests per client")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes (default: one per core)"
    )
    parser.add_argument(
        "--chart", choices=("line", "candles"), default="line", help="chart type requested (line is the page's default)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of load; each client sends requests until then (overrides --requests)",
    )
    parser.add_argument(
        "--mix",
        action="store_true",
        help="random step, chart and baselines per request, and the compare view now and then",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        make_artifacts(data_dir)
        port = free_port()
        env = {**os.environ, "FORECASTER_DATA_DIR": str(data_dir)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(args.workers),
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "dashboard.wsgi:server",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
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
            load_dependencies(base)
            warm: list[float] = []
            # Warm-up: each worker reads the run once (the first request to a worker reads its files).
            client(base + "/_dash-update-component", args.workers * len(TICKERS), 0, run_id, args.chart, warm, [], [])
            cold_ms = warm[0]
            rss_start = rss_mb(server.pid)
            latencies: list[float] = []
            below: list[float] = []
            errors: list[str] = []
            wire: list[int] = []
            started = time.perf_counter()
            deadline = None if args.duration is None else time.monotonic() + args.duration
            threads = [
                threading.Thread(
                    target=client,
                    args=(
                        base + "/_dash-update-component",
                        args.requests,
                        k,
                        run_id,
                        args.chart,
                        latencies,
                        errors,
                        wire,
                        deadline,
                        args.mix,
                        below,
                    ),
                )
                for k in range(args.clients)
            ]
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
    print(
        f"clients={args.clients} actions={len(latencies)} seconds={seconds:.0f} workers={args.workers} "
        f"days={DAYS} chart={chart} throughput_rps={len(latencies) / seconds:.1f}"
    )
    print(f"first_switch_ms={cold_ms:.0f} (a worker's first request: reads the run, builds the figure)")
    print(f"kb_per_action={np.mean(wire) / 1024:.0f} (compressed, on the wire)")
    print(f"p50_ms={np.percentile(latencies, 50):.0f}")
    print(f"p95_ms={np.percentile(latencies, 95):.0f}")
    if below:
        print(
            f"below_the_fold_p50_ms={np.percentile(below, 50):.0f} "
            f"below_the_fold_p95_ms={np.percentile(below, 95):.0f} (sent after the chart is drawn; not part of the "
            "latency above)"
        )
    print(f"errors={len(errors)}")
    print(f"rss_start_mb={rss_start:.0f} rss_end_mb={rss_end:.0f}")
    print("rss_every_10s_mb=" + ",".join(f"{mb:.0f}" for mb in samples + [rss_end]))
    if errors:
        print("first error:", errors[0])
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
