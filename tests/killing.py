"""Kill -9 a real command at a chosen moment, then look at what readers would see.

Shared by ``tests/test_faults.py`` (a few kill points) and ``benchmarks/faults.py`` (the campaign).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A regular expression that a line of the command's output matches, a function polled every 5 ms
# until it returns True (say, "this file now exists"), or None (the start of the command).
Marker = str | Callable[[], bool] | None


@dataclass(frozen=True)
class Kill:
    """One attempt: whether the command was still running when SIGKILL was sent, and when."""

    killed: bool
    at_s: float  # seconds after the start
    returncode: int | None
    output: str


class Watched:
    """``python args`` started from the project root in its own process group, its output collected."""

    def __init__(self, args: list[str], marker: Marker) -> None:
        self.start = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.marker = marker
        self._seen = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        pattern = re.compile(self.marker) if isinstance(self.marker, str) else None
        for line in self.process.stdout:
            self.lines.append(line)
            if pattern is not None and pattern.search(line):
                self._seen.set()
        self._seen.set()  # ended without the marker: stop waiting

    def wait_for_marker(self, timeout_s: float) -> float:
        """Block until the marker (or the end); return the seconds since the start."""
        if isinstance(self.marker, str):
            self._seen.wait(timeout_s)
        elif callable(self.marker):
            while not self.marker() and self.process.poll() is None and time.perf_counter() - self.start < timeout_s:
                time.sleep(0.005)
        return time.perf_counter() - self.start

    def finish(self, timeout_s: float, kill: bool = False) -> tuple[int | None, str]:
        """SIGKILL the whole group (the Python process and Spark's JVM alike) if ``kill``; wait; return
        the exit code (None when killed) and the output."""
        if kill:
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait(timeout_s)
        self._reader.join(10)
        return (None if kill else code), "".join(self.lines)


def timed_run(args: list[str], marker: Marker = None, timeout_s: float = 600) -> tuple[int, str, float, float]:
    """Run ``python args`` to the end; return its exit code, output, seconds to the marker and in all."""
    watched = Watched(args, marker)
    marker_s = watched.wait_for_marker(timeout_s)
    code, output = watched.finish(timeout_s)
    return code, output, marker_s, time.perf_counter() - watched.start


def kill_after(args: list[str], marker: Marker, delay_s: float, timeout_s: float = 600) -> Kill:
    """Start ``python args`` and SIGKILL it ``delay_s`` after ``marker``, unless it has ended by then."""
    watched = Watched(args, marker)
    watched.wait_for_marker(timeout_s)
    time.sleep(delay_s)
    killed = watched.process.poll() is None
    at_s = time.perf_counter() - watched.start
    code, output = watched.finish(timeout_s, kill=killed)
    return Kill(killed, at_s, code, output)


def new_file(data_dir: Path, pattern: str) -> Callable[[], bool]:
    """A marker: a file matching ``pattern`` (a glob under ``data_dir``, hidden temporary files included)
    was written after this call, so by the command being watched."""
    since = time.time()

    def written_since(path: Path) -> bool:
        try:
            return path.stat().st_mtime >= since
        except FileNotFoundError:  # a temporary file renamed or removed meanwhile
            return False

    def ready() -> bool:
        return any(written_since(p) for p in Path(data_dir).glob(pattern))

    return ready
