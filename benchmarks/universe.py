"""The whole job at scale: the S&P 500 universe at 1 copy and at N copies, side by side, each in a fresh process.

    python benchmarks/universe.py [--copies 5] [--epochs 10] [--patience 3] [--batch-size 256]
                                  [--test-start 2017-02-08] [--csv FILE] [--keep DIR] [--only-copies N]
                                  [--repeats 1]
    python benchmarks/universe.py --copies 5 --build-only DIR

Builds one long-layout CSV per size: copy 1 is the S&P file as it is; copy k >= 2 names each ticker ``<T>-K<k>``
and rebuilds its close from its first price with its daily log returns resampled in circular blocks of 20 days
(a seed per copy and ticker), open/high/low scaled by the close's ratio, volume kept; plus six illiquid tickers
(price unchanged on 60%, 90% and 100% of days, two each). Then runs ``python -m forecaster run`` on each file and
prints per stage (the job's ``<stage> took <s> s`` lines, numbers in stage names replaced by N; the import is the
time before the first stage) the seconds at both sizes and their ratio; the time after scoring (from the end of
the last scoring stage to the end of writing the artifacts: the backtest, the report and the artifacts); the whole
wall time; the peak memory of the driver (its VmHWM) and of its process tree (Spark's JVM and Python workers too);
the tickers and those skipped (the model card); then whether each goal is met, and ``key=value`` lines. Exits 1
when a run failed, after printing its last stderr lines. Each run's stderr is kept in ``<data dir>/stderr.log``.

``--repeats N`` runs both sizes N times, interleaved (1, 5, 1, 5, ...), each in a fresh data directory, and
judges each stage by its shortest time at each size (timeit's rule: noise on a shared machine only ever adds
time; a stage of a second varied 4.5-7.2 in its ratio across three single runs of one day), the whole run by
its shortest wall time and the memory by its highest peak.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402

from tests.synthetic import illiquid_close, price_frame  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "all_stocks_5yr.csv"
COLUMNS = ["date", "open", "high", "low", "close", "volume", "Name"]
ILLIQUID = {f"ILLIQ{round(share * 100)}{letter}": share for share in (0.6, 0.9, 1.0) for letter in "AB"}
BLOCK = 20  # days: keeps a month of volatility clustering, so a copy's volatility looks like the original's
STAGE = re.compile(r"^\d\d:\d\d:\d\d (.+) took (\d+(?:\.\d+)?) s(?: \(.*\))?$")
IMPORT = "import (to the first stage)"
AFTER_SCORING = "writing the artifacts"  # the job's last stage; the backtest and report may be stages before it
GOALS = {"ratio": 5.5, "after_scoring_s": 60.0, "whole_s": 600.0, "driver_peak_mb": 6144.0}
TOO_SMALL_S = 2.0  # a stage under this at both sizes is noise, not scaling


def bootstrap_copy(frame: pd.DataFrame, first: np.ndarray, copy: int) -> pd.DataFrame:
    """Copy ``copy`` of ``frame`` (sorted by ticker and date; ``first``: each ticker's first row): new names,
    closes rebuilt from block-resampled log returns, open/high/low scaled alike."""
    log_close = np.log(frame["close"].to_numpy())
    returns = np.diff(log_close)  # row i: the return into row i + 1 (across tickers where i + 1 is in ``first``)
    lengths = np.diff(np.r_[first, len(frame)])
    picks = []
    for ticker, (start, n) in enumerate(zip(first, lengths, strict=True)):
        rng = np.random.default_rng((copy, ticker))
        m = n - 1  # the ticker's returns
        starts = rng.integers(0, max(m, 1), -(-m // BLOCK))
        picks.append(start + (starts[:, None] + np.arange(BLOCK)).ravel()[:m] % max(m, 1))
    steps = np.empty(len(frame))
    steps[first] = log_close[first]
    steps[np.setdiff1d(np.arange(len(frame)), first)] = returns[np.concatenate(picks)]
    totals = np.cumsum(steps)  # one cumsum for all tickers, less what the tickers before each one summed
    before = np.r_[0.0, totals[first[1:] - 1]]
    ratio = np.exp(totals - np.repeat(before, lengths) - log_close)
    out = frame.copy()
    for column in ("open", "high", "low", "close"):
        out[column] = frame[column].to_numpy() * ratio
    out["Name"] = frame["Name"] + f"-K{copy}"
    return out


def illiquid_rows(dates: np.ndarray) -> pd.DataFrame:
    """The illiquid tickers in the long layout, on the S&P file's dates."""
    frames = []
    for k, (ticker, share) in enumerate(ILLIQUID.items()):
        rng = np.random.default_rng(1000 + k)
        yahoo = price_frame(pd.DatetimeIndex(dates), illiquid_close(len(dates), share, rng), rng)
        frames.append(
            yahoo.drop(columns="Close")
            .rename(columns={"Adj Close": "close"})
            .rename(columns=str.lower)
            .assign(Name=ticker)[COLUMNS]
        )
    return pd.concat(frames)


def _append(out: Any, rows: pd.DataFrame) -> None:
    """Append ``rows`` without a header; Arrow's writer is ~6x faster than pandas' (4 s a copy)."""
    rows = rows.round({"open": 4, "high": 4, "low": 4, "close": 4})
    pa_csv.write_csv(
        pa.Table.from_pandas(rows, preserve_index=False),
        out,
        pa_csv.WriteOptions(include_header=False, quoting_style="none"),
    )


def write_universe(csv: Path, frame: pd.DataFrame, copies: int, path: Path) -> int:
    """Write the universe of ``copies`` copies to ``path``; the number of tickers."""
    shutil.copyfile(csv, path)  # copy 1: the file as it is, blank cells and all
    first = np.r_[0, np.flatnonzero(frame["Name"].to_numpy()[1:] != frame["Name"].to_numpy()[:-1]) + 1]
    with path.open("ab") as out:
        _append(out, illiquid_rows(np.unique(frame["date"])))
        for copy in range(2, copies + 1):
            _append(out, bootstrap_copy(frame, first, copy))
    return len(first) * copies + len(ILLIQUID)


@dataclass
class Run:
    """What one run of the job measured."""

    copies: int
    tickers_in_file: int
    exit_code: int = -1
    wall_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds, summed over folds
    ended: dict[str, float] = field(default_factory=dict)  # when each stage's last line came, from the start
    driver_peak_mb: float = 0.0
    tree_peak_mb: float = 0.0
    card: dict[str, Any] | None = None
    stderr: list[str] = field(default_factory=list)
    after_s: float | None = None  # from the end of the last scoring to the end of writing the artifacts


def best_of(runs: list[Run]) -> Run:
    """The runs of one size as one: each stage's, the after-scoring and the wall time at their shortest, the
    memory at its highest; the first failed run's exit code and stderr, if one failed."""
    failed = [r for r in runs if r.exit_code != 0]
    first = failed[0] if failed else runs[0]
    stages: dict[str, float] = {}
    for r in runs:
        for name, seconds in r.stages.items():
            stages[name] = min(seconds, stages.get(name, seconds))
    afters = [r.after_s for r in runs if r.after_s is not None]
    return Run(
        copies=first.copies,
        tickers_in_file=first.tickers_in_file,
        exit_code=first.exit_code,
        wall_s=min(r.wall_s for r in runs),
        stages=stages,
        driver_peak_mb=max(r.driver_peak_mb for r in runs),
        tree_peak_mb=max(r.tree_peak_mb for r in runs),
        card=first.card,
        stderr=first.stderr,
        after_s=min(afters) if len(afters) == len(runs) else None,
    )


def _driver_hwm_kb(pid: int) -> int | None:
    """The process's VmHWM (peak RSS, kB); None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+)", text, re.MULTILINE)
    return int(found[1]) if found else None  # a zombie has no Vm lines


def _tree_rss(proc: psutil.Process) -> int:
    """Bytes resident in the process and all its descendants now (0 once it has exited)."""
    total = 0
    try:
        for p in [proc, *proc.children(recursive=True)]:
            total += p.memory_info().rss
    except psutil.Error:
        pass  # a process ended between the listing and the read: this sample is low, the next one is not
    return total


def run_job(csv: Path, data_dir: Path, run: Run, args: argparse.Namespace) -> Run:
    """Run the CLI on ``csv`` into ``data_dir``, streaming its stderr to ``data_dir/stderr.log``, sampling memory."""
    python = ROOT / ".venv" / "bin" / "python"
    cmd = [
        str(python if python.exists() else sys.executable),
        "-m",
        "forecaster",
        "run",
        "--source",
        "csv",
        "--csv",
        str(csv),
        "--on-bad-rows",
        "drop",
        "--test-start",
        args.test_start,
        "--epochs",
        str(args.epochs),
        "--patience",
        str(args.patience),
        "--batch-size",
        str(args.batch_size),
        "--quiet",
        "--data-dir",
        str(data_dir),
    ]
    data_dir.mkdir(parents=True, exist_ok=True)
    first_stage_at: list[float] = []  # when each stage began: its line's arrival less its seconds
    started = time.perf_counter()
    stdout = (data_dir / "stdout.log").open("w")  # the forecast table
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True, errors="replace")

    def pump() -> None:
        with (data_dir / "stderr.log").open("w") as log:
            for line in proc.stderr:
                log.write(line)
                log.flush()
                run.stderr.append(line.rstrip("\n"))
                found = STAGE.match(run.stderr[-1])
                if found:
                    name, now = re.sub(r"\d[\d,]*", "N", found[1]), time.perf_counter() - started
                    first_stage_at.append(now - float(found[2]))
                    run.stages[name], run.ended[name] = run.stages.get(name, 0.0) + float(found[2]), now

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    watched = psutil.Process(proc.pid)
    tree_peak = 0
    while proc.poll() is None:
        hwm = _driver_hwm_kb(proc.pid)  # monotone: the last read before the exit is the peak
        run.driver_peak_mb = hwm / 1024 if hwm is not None else run.driver_peak_mb
        tree_peak = max(tree_peak, _tree_rss(watched))
        time.sleep(0.5)
    run.wall_s = time.perf_counter() - started
    reader.join()
    stdout.close()
    run.exit_code, run.tree_peak_mb = proc.returncode, tree_peak / 2**20
    if first_stage_at:  # the Python imports, reading the CSV into the cache and the screening, before Spark
        run.stages = {IMPORT: min(first_stage_at), **run.stages}
    latest = data_dir / "runs" / "LATEST"
    if run.exit_code == 0 and latest.exists():
        run.card = json.loads((data_dir / "runs" / latest.read_text().strip() / "model_card.json").read_text())
    run.after_s = after_scoring(run)
    return run


def after_scoring(run: Run) -> float | None:
    """Seconds from the end of the last scoring to the end of writing the artifacts: the backtest, the report and
    the artifacts, however many stages the job splits them into."""
    scored = [at for name, at in run.ended.items() if name.startswith("scoring ")]
    done = run.ended.get(AFTER_SCORING)
    return None if not scored or done is None else done - max(scored)


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _copies(n: int) -> str:
    return f"{n} cop{'y' if n == 1 else 'ies'}"


def report(small: Run, big: Run) -> dict[str, Any]:
    """Print the table and the goals; the figures of the ``key=value`` lines."""
    print(f"{'stage (seconds)':<72} {_copies(small.copies):>8}  {_copies(big.copies):>10}  ratio")
    ratios: dict[str, float] = {}
    for name in dict.fromkeys([*small.stages, *big.stages]):
        a, b = small.stages.get(name), big.stages.get(name)
        ratio = b / a if a and b is not None else None
        judged = ratio is not None and max(a, b) >= TOO_SMALL_S and small is not big
        if judged:
            ratios[name] = ratio
        note = "" if judged else " (not judged)"
        print(f"{name[:72]:<72} {_fmt(a, '.2f'):>8}  {_fmt(b, '.2f'):>10}  {_fmt(ratio, '.2f'):>5}{note}")
    after = small.after_s, big.after_s
    ratio = after[1] / after[0] if after[0] and after[1] is not None else None
    print(
        f"{'after scoring (its end to the end of ' + AFTER_SCORING + ')':<72} {_fmt(after[0]):>8}  "
        f"{_fmt(after[1]):>10}  {_fmt(ratio, '.2f'):>5}"
    )
    print(f"{'whole run (wall)':<72} {small.wall_s:>8.1f}  {big.wall_s:>10.1f}  {big.wall_s / small.wall_s:>5.2f}")
    print(f"{'driver peak MB (VmHWM)':<72} {small.driver_peak_mb:>8.0f}  {big.driver_peak_mb:>10.0f}")
    print(f"{'process tree peak MB (sampled RSS)':<72} {small.tree_peak_mb:>8.0f}  {big.tree_peak_mb:>10.0f}")
    print(f"{'tickers in the file':<72} {small.tickers_in_file:>8}  {big.tickers_in_file:>10}")
    skipped = [None if r.card is None else len(r.card["skipped_tickers"]) for r in (small, big)]
    print(f"{'tickers skipped (model card)':<72} {_fmt(skipped[0], 'd'):>8}  {_fmt(skipped[1], 'd'):>10}")
    for r in {id(small): small, id(big): big}.values():
        if r.exit_code != 0:
            print(f"\nthe {r.copies}-copy run failed with exit code {r.exit_code}; its last 30 stderr lines:")
            print("\n".join(r.stderr[-30:]))
    worst = max(ratios, key=ratios.get, default=None)
    after = after[1]
    card = big.card or {"skipped_tickers": {}, "tickers": []}
    accounted = [t for t in ILLIQUID if t in card["skipped_tickers"] or t in card["tickers"]]
    goals = {
        f"no stage ratio above {GOALS['ratio']} (stages >= {TOO_SMALL_S:.0f} s)": (
            None if worst is None else ratios[worst] <= GOALS["ratio"],
            "nothing to compare" if worst is None else f"max {ratios[worst]:.2f}: {worst}",
        ),
        f"after scoring <= {GOALS['after_scoring_s']:.0f} s at {_copies(big.copies)}": (
            after is not None and after <= GOALS["after_scoring_s"],
            f"{_fmt(after)} s",
        ),
        f"whole {big.copies}-copy run <= {GOALS['whole_s']:.0f} s": (
            big.wall_s <= GOALS["whole_s"],
            f"{big.wall_s:.1f} s",
        ),
        f"driver peak <= {GOALS['driver_peak_mb']:.0f} MB": (
            big.driver_peak_mb <= GOALS["driver_peak_mb"],
            f"{big.driver_peak_mb:.0f} MB",
        ),
        "run completed, illiquid tickers skipped or scored": (
            big.exit_code == 0 and len(accounted) == len(ILLIQUID),
            f"exit code {big.exit_code}, {len(accounted)}/{len(ILLIQUID)} illiquid accounted for",
        ),
    }
    print()
    for goal, (met, detail) in goals.items():
        print(f"goal: {goal}: {'not judged' if met is None else 'met' if met else 'NOT MET'} ({detail})")
    return {
        "ratio_max": _fmt(None if worst is None else ratios[worst], ".2f"),
        "after_scoring_s": _fmt(after),
        "writing_artifacts_s": _fmt(big.stages.get(AFTER_SCORING)),
        "whole_s": f"{big.wall_s:.1f}",
        "driver_peak_mb": f"{big.driver_peak_mb:.0f}",
        "tree_peak_mb": f"{big.tree_peak_mb:.0f}",
        "tickers": big.tickers_in_file,
        "skipped": _fmt(skipped[1], "d"),
        "exit_code": big.exit_code,
        "goals_met": f"{sum(met is True for met, _ in goals.values())}/{len(goals)}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=5, help="copies of the S&P universe in the large run")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--test-start", default="2017-02-08")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--keep", type=Path, default=None, help="keep the CSVs and data directories here")
    parser.add_argument("--only-copies", type=int, default=None, help="run at this many copies only")
    parser.add_argument(
        "--repeats", type=int, default=1, help="run each size this many times, interleaved; judge the shortest"
    )
    parser.add_argument(
        "--build-only",
        type=Path,
        default=None,
        metavar="DIR",
        help="only write the universe CSVs here and print their tickers and rows",
    )
    args = parser.parse_args()
    sizes = [args.only_copies] if args.only_copies else sorted({1, args.copies})
    started = time.perf_counter()
    frame = pd.read_csv(args.csv).sort_values(["Name", "date"], kind="stable", ignore_index=True)
    print(
        f"read {args.csv.name}: {len(frame)} rows, {frame['Name'].nunique()} tickers "
        f"in {time.perf_counter() - started:.1f} s"
    )
    folder = args.build_only or args.keep or Path(tempfile.mkdtemp(prefix="universe-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs: dict[int, list[Run]] = {copies: [] for copies in sizes}
    paths, tickers_in = {}, {}
    try:
        for copies in sizes:
            started = time.perf_counter()
            paths[copies] = path = folder / f"universe-{copies}.csv"
            tickers_in[copies] = write_universe(args.csv, frame, copies, path)
            rows = sum(1 for _ in path.open()) - 1
            print(f"built {path}: {tickers_in[copies]} tickers, {rows} rows in {time.perf_counter() - started:.1f} s")
        if args.build_only is None:
            for repeat in range(1, args.repeats + 1):
                for copies in sizes:
                    suffix = "" if repeat == 1 else f"-{repeat}"
                    print(f"running the job at {_copies(copies)} (run {repeat} of {args.repeats})...", flush=True)
                    run = Run(copies, tickers_in[copies])
                    done = run_job(paths[copies], folder / f"data-{copies}{suffix}", run, args)
                    runs[copies].append(done)
                    print(f"  exit code {done.exit_code} after {done.wall_s:.0f} s", flush=True)
    finally:
        if args.build_only is None and args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    if args.build_only is not None:
        return 0
    measured = {copies: best_of(done) for copies, done in runs.items()}
    if args.repeats > 1:
        print(f"\nthe shortest of {args.repeats} runs at each size:")
    small, big = measured[sizes[0]], measured[sizes[-1]]
    print()
    figures = report(small, big)
    print()
    for key, value in figures.items():
        print(f"{key}={value}")
    return 0 if all(r.exit_code == 0 for done in runs.values() for r in done) else 1


if __name__ == "__main__":
    sys.exit(main())
