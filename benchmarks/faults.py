"""Kill -9 campaign: real commands killed at random moments of fetch, import, prepare, train,
artifact writing and forecast; after every kill, is everything readers can see complete, and does
a rerun finish?

    python benchmarks/faults.py [--kills-per-stage 4] [--seed 7] [--tickers 20]

Each stage first runs once to the end (which also times it and leaves good data behind), then
is killed ``--kills-per-stage`` times at moments drawn uniformly over its measured length after
its marker: the start (prepare, forecast), the first cache file written (fetch, import), the
training's start or the first artifact written (train, write: both inside ``run``). SIGKILL goes to the whole process
group, so Spark's JVM dies too. After each kill: ``forecaster.jobs.check.check_data_dir`` (every
cache file, the latest run with its models, the latest preparation) and the dashboard's own
reader; then the same command is rerun to the end and checked again.

Prints one line per kill and ``kills=<n> damaged=<n> reruns_ok=<n>`` (goal: damaged=0,
reruns_ok=kills). Yahoo is answered from ``../shared/data/all_stocks_5yr.csv`` by
``tests/yahoo_fake.py`` with 0.1 s latency per request; everything else is real.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.reader import ArtifactReader  # noqa: E402
from forecaster.errors import ForecasterError  # noqa: E402
from forecaster.jobs.check import check_data_dir  # noqa: E402
from tests.conftest import SP500_CSV  # noqa: E402
from tests.killing import Marker, kill_after, new_file, timed_run  # noqa: E402

CACHE_WRITES = "prices/*"  # the first cache file (or its hidden temporary file) being written
RUN_OPTIONS = ["--epochs", "2", "--units", "16", "--quiet", "--test-start", "2017-02-01"]


@dataclass
class Stage:
    """A command, and from which marker on its kill moments are drawn: a line of its output, or
    (``writes``) a file matching that glob under the data dir being written."""

    name: str
    args: list[str]
    marker: str | None = None
    writes: str | None = None

    def fresh_marker(self, data_dir: Path) -> Marker:
        return new_file(data_dir, self.writes) if self.writes else self.marker


def stages(data_dir: Path, tickers: list[str], kills: int) -> list[tuple[Stage, list[Stage]]]:
    """Each stage's warm-up (run to the end) and the commands killed; fetches take fresh tickers each time
    so that every kill interrupts real downloads and writes."""
    d = ["--data-dir", str(data_dir)]
    half = len(tickers) // 2
    fetched, imported = tickers[:half], tickers[half:]
    groups = [fetched[i :: kills + 1] for i in range(kills + 1)]

    def fetch(group: list[str]) -> Stage:
        return Stage(
            "fetch",
            [
                "-m",
                "tests.yahoo_fake",
                "--long",
                str(SP500_CSV),
                "--latency",
                "0.1",
                "--",
                "fetch",
                "--tickers",
                *group,
                *d,
                "--no-progress",
            ],
            writes=CACHE_WRITES,
        )

    imp = Stage(
        "import",
        [
            "-m",
            "forecaster",
            "import",
            "--csv",
            str(SP500_CSV),
            "--tickers",
            *imported,
            "--on-bad-rows",
            "drop",
            *d,
            "--no-progress",
        ],
        writes=CACHE_WRITES,
    )
    prep = Stage("prepare", ["-m", "forecaster", "prepare", "--tickers", *tickers, *d])
    run_args = ["-m", "forecaster", "run", "--source", "cache", "--tickers", *tickers, *d, *RUN_OPTIONS]
    train = Stage("train", run_args, r"fold 1 of 1")
    forecast = Stage("forecast", ["-m", "forecaster", "forecast", *d])
    write = Stage("write", run_args, writes="runs/*/model.keras")
    return [
        (fetch(groups[0]), [fetch(g) for g in groups[1:]]),
        (imp, [imp] * kills),
        (prep, [prep] * kills),
        (train, [train] * kills),
        (write, [write] * kills),
        (forecast, [forecast] * kills),
    ]


def damage(data_dir: Path) -> list[str]:
    """What a reader would find broken: the integrity check and the dashboard's reader."""
    problems = check_data_dir(data_dir).problems
    try:
        ArtifactReader(data_dir).latest()
    except ForecasterError as exc:
        problems.append(f"dashboard: {exc}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills-per-stage", type=int, default=4, help="kills in each of the six stages")
    parser.add_argument("--seed", type=int, default=7, help="seed of the kill moments")
    parser.add_argument("--tickers", type=int, default=20, help="S&P tickers used (half fetched, half imported)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tickers = sorted(pd.read_csv(SP500_CSV, usecols=["Name"])["Name"].unique())
    tickers = rng.sample(tickers, args.tickers)
    kills = damaged = reruns_ok = missed = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        data_dir = Path(tmp)
        for warm, targets in stages(data_dir, tickers, args.kills_per_stage):
            code, output, marker_s, total_s = timed_run(warm.args, warm.fresh_marker(data_dir))
            if code != 0:
                raise SystemExit(f"{warm.name}: the warm-up run failed:\n{output[-3000:]}")
            window = max(total_s - marker_s, 0.1)
            print(
                f"{warm.name}: {total_s:.1f} s to the end, kills drawn over the {window:.1f} s "
                f"{'after its marker' if warm.marker or warm.writes else 'of the run'}",
                flush=True,
            )
            for stage in targets:
                attempt = kill_after(stage.args, stage.fresh_marker(data_dir), rng.uniform(0.0, window) * 0.9)
                if not attempt.killed:
                    missed += 1
                    print(f"  {stage.name}: ended before its kill moment ({attempt.at_s:.1f} s); not counted")
                    continue
                kills += 1
                problems = damage(data_dir)
                damaged += bool(problems)
                code, output, _, rerun_s = timed_run(stage.args)
                rerun_ok = code == 0 and not damage(data_dir)
                reruns_ok += rerun_ok
                print(
                    f"  {stage.name}: killed at {attempt.at_s:5.1f} s; damaged={'yes' if problems else 'no'}"
                    f" rerun={'ok' if rerun_ok else 'FAILED'} ({rerun_s:.1f} s)"
                    + (f" {problems}" if problems else "")
                    + ("" if code == 0 else f"\n{output[-2000:]}"),
                    flush=True,
                )
    print(f"stages=6 missed={missed} seconds={time.perf_counter() - started:.0f}")
    print(f"kills={kills} damaged={damaged} reruns_ok={reruns_ok}")


if __name__ == "__main__":
    main()
