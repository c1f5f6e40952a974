"""What a user waits for at the command line, measured side by side in one run.

    python benchmarks/cli_times.py [--repeats 2] [--compare archive|compile-cache]

For each case, fresh ``python -m forecaster`` processes on the bundled sample (4 tickers), with and without one
start-up aid: the class archive of Spark's classes (``--compare archive``, the default;
``forecaster.prepare.jvm_cache``, built first if missing) or JAX's cache of compiled code (``--compare
compile-cache``; ``config.compile_cache_dir``: a fresh folder, filled by one run before the measured ones):

- the README's main job, ``run --source sample``, in total and by stage (from its own log lines, with the
  number of Spark jobs each stage started);
- ``forecast`` for the 4 sample tickers;
- three requests refused before Spark starts (a test start after the data, a lookback longer than the
  history, a ticker not in the cache).

Prints the median of ``--repeats`` runs per case, and the ratios of the times with and without the aid.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^\S+ (.+?) took ([\d.]+) s(?: \((\d+) Spark jobs?\))?$", re.M)


#: The setting that turns each start-up aid off.
AIDS = {"archive": "FORECASTER_SPARK_CLASS_ARCHIVE", "compile-cache": "FORECASTER_COMPILE_CACHE"}


def _command(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "forecaster", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900
    )
    return time.perf_counter() - started, done.stderr


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--compare",
        choices=sorted(AIDS),
        default="archive",
        help="the start-up aid measured with and without (default: archive)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from forecaster.prepare import jvm_cache

    if jvm_cache.build_and_wait() is None:
        print("no class archive could be built (no java?): measuring without it only")
    with tempfile.TemporaryDirectory(prefix="cli-times-") as tmp:
        data = Path(tmp) / "data"
        environments = {True: dict(os.environ), False: {**os.environ, AIDS[args.compare]: "off"}}
        if args.compare == "compile-cache":
            environments[True][AIDS[args.compare]] = str(Path(tmp) / "compiled")
            for command in (["run", "--source", "sample", "--quiet"], ["forecast"]):  # fills the cache
                _command([*command, "--data-dir", str(data)], environments[True])
        results: dict[tuple[str, bool], list[float]] = {}
        stages: dict[tuple[str, bool], list[float]] = {}
        jobs: dict[str, str] = {}
        for _ in range(args.repeats):
            for aided in (True, False):
                seconds, log = _command(
                    ["run", "--source", "sample", "--quiet", "--data-dir", str(data)], environments[aided]
                )
                results.setdefault(("run --source sample", aided), []).append(seconds)
                for name, took, count in STAGE.findall(log):
                    stages.setdefault((name, aided), []).append(float(took))
                    if count:
                        jobs[name] = count
                seconds, _ = _command(["forecast", "--data-dir", str(data)], environments[aided])
                results.setdefault(("forecast (4 tickers)", aided), []).append(seconds)
                for label, bad in (
                    ("--test-start 2030-01-01", ["--test-start", "2030-01-01"]),
                    ("--lookback 5000", ["--lookback", "5000"]),
                    ("--source cache --tickers NVDA", ["--source", "cache", "--tickers", "NVDA"]),
                ):
                    seconds, _ = _command(["run", *bad, "--data-dir", str(data)], environments[aided])
                    results.setdefault((f"refused: {label}", aided), []).append(seconds)
        print(f"{'case':<42}{'with ' + args.compare:>19}{'without':>10}{'ratio':>8}")
        for case in dict.fromkeys(case for case, _ in results):
            with_, without = _median(results[(case, True)]), _median(results[(case, False)])
            print(f"{case:<42}{with_:>18.1f}s{without:>9.1f}s{with_ / without:>8.2f}")
        print("stages of run --source sample (Spark jobs):")
        for name in dict.fromkeys(name for name, _ in stages):
            with_, without = _median(stages[(name, True)]), _median(stages[(name, False)])
            print(f"  {name + (f' ({jobs[name]} jobs)' if name in jobs else ''):<57}{with_:>6.1f}s{without:>9.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
