"""Jobs started from the page: add tickers, refresh prices, retrain. They run in Dash background callbacks (a
separate process: ``DiskcacheManager`` for one server process, ``CeleryManager`` with Redis for several), never
inside a request, one at a time per data directory (the same lock as ``python -m forecaster refresh``), and publish
what they make like any command does, atomically.

Who may start them (``JobSettings``): on 127.0.0.1 anyone who can open the page; on any other address nobody,
unless the server was started with ``--allow-jobs`` and a token, which the page then asks for.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forecaster.errors import ForecasterError

#: The jobs a page offers, by button id.
JOBS = {"job-add": "Add tickers", "job-refresh": "Refresh prices", "job-retrain": "Retrain"}
#: Log lines a job usually writes, for its progress bar (the bar stops at 95% until the job ends).
EXPECTED_LINES = {"job-add": 3, "job-refresh": 8, "job-retrain": 12}
LOG_TAIL = 12
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class JobSettings:
    """Whether the page may start jobs, and the token it must be given (None: no token asked)."""

    enabled: bool = False
    token: str | None = None
    why_off: str = "jobs are off for this server"

    @classmethod
    def for_host(cls, host: str, allow_jobs: bool, token: str | None) -> JobSettings:
        """The rule of ``python -m dashboard``: on by default on loopback, elsewhere only with both switches.

        Example:
            >>> JobSettings.for_host("127.0.0.1", False, None).enabled
            True
            >>> JobSettings.for_host("0.0.0.0", True, None).enabled
            False
        """
        if host in LOOPBACK:
            return cls(True, token or None)
        if allow_jobs and token:
            return cls(True, token)
        return cls(
            False,
            None,
            f"jobs are off: this server binds {host}, so anyone who reaches it could start "
            "them; start it with --allow-jobs and --job-token (or FORECASTER_JOB_TOKEN) to allow "
            "them to people who have the token",
        )

    @classmethod
    def from_environment(cls) -> JobSettings:
        """The rule under gunicorn, which may bind any address: off unless ``FORECASTER_ALLOW_JOBS=1`` and
        ``FORECASTER_JOB_TOKEN`` are both set."""
        token = os.environ.get("FORECASTER_JOB_TOKEN")
        if os.environ.get("FORECASTER_ALLOW_JOBS") == "1" and token:
            return cls(True, token)
        return cls(
            False,
            None,
            "jobs are off for this server: set FORECASTER_ALLOW_JOBS=1 and FORECASTER_JOB_TOKEN "
            "to allow them to people who have the token",
        )

    def refuses(self, token: Any) -> str | None:
        """Why a request may not start a job, or None when it may."""
        if not self.enabled:
            return self.why_off
        if self.token is not None and not (
            isinstance(token, str) and hmac.compare_digest(token.encode(), self.token.encode())
        ):
            return "wrong or missing job token"
        return None


class _Tail(logging.Handler):
    """The last lines the job's loggers wrote."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=LOG_TAIL)
        self.count = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.count += 1


def parse_tickers(text: Any) -> list[str]:
    """Tickers typed in the page (spaces or commas), validated; DataError naming a bad one."""
    from forecaster.data.sources.schema import validate_ticker

    names = [t for t in str(text or "").replace(",", " ").split() if t]
    if not names:
        raise ForecasterError("type one or more tickers, e.g. AAPL MSFT")
    return [validate_ticker(t.upper()) for t in names[:50]]


def _work(job: str, data_dir: Path, tickers: list[str]) -> str:
    """The job itself, in the background process; returns its summary line."""
    from forecaster.jobs import refresh

    if job == "job-refresh":
        return refresh.refresh(data_dir).summary()  # holds the data directory's lock itself
    with refresh.exclusive(data_dir):
        if job == "job-add":
            from forecaster.data.ingest import fetch

            report = fetch(tickers, data_dir, progress=False)
            if not report.ok:
                raise ForecasterError("; ".join(f"{o.ticker}: {o.message}" for o in report.failures))
            return f"added {', '.join(tickers)}: " + ", ".join(f"{o.ticker} {o.rows} days" for o in report.outcomes)
        from forecaster import artifacts
        from forecaster.jobs.run import run

        run_dir = artifacts.latest_run_dir(data_dir)
        if run_dir is None:
            raise ForecasterError("no run to retrain: run `python -m forecaster run` once first")
        card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
        done = run(refresh.retrain_options(card, data_dir))
        return f"retrained: run {done.run_dir.name} published"


def run_job(set_progress: Callable[[tuple], None], job: str, data_dir: Path, tickers_text: Any) -> tuple[str, str, str]:
    """Run ``job`` while reporting progress and the log tail; returns (message, Bootstrap colour, last log lines)."""
    try:
        tickers = parse_tickers(tickers_text) if job == "job-add" else []
    except ForecasterError as exc:
        return f"{JOBS[job]}: {exc}", "danger", ""
    tail = _Tail()
    logger = logging.getLogger("forecaster")
    logger.addHandler(tail)
    logger.setLevel(logging.INFO)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["summary"] = _work(job, Path(data_dir), tickers)
        except ForecasterError as exc:
            outcome["error"] = str(exc)
        except Exception as exc:  # the page must say what went wrong, whatever it was
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=target, name=f"forecaster-{job}", daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        while worker.is_alive():
            done = min(95, int(100 * tail.count / EXPECTED_LINES[job]))
            set_progress((max(done, 3), f"{JOBS[job]}: {time.monotonic() - started:.0f} s", "\n".join(tail.lines)))
            worker.join(0.5)
    finally:
        logger.removeHandler(tail)
    lines = "\n".join(list(tail.lines)[-5:])
    if "error" in outcome:
        return f"{JOBS[job]} failed: {outcome['error']}", "danger", lines
    return f"{JOBS[job]}: {outcome['summary']}", "success", lines
