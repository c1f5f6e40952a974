"""The ``refresh`` job, the daily cycle: new prices in, issued forecasts scored, the next forecast out, and the
model retrained when it is due.

1. every cached ticker (or ``tickers``) fetched from Yahoo Finance if that is where it came from; tickers imported
   from CSV files or the sample are not fetched (they get new days by ``import``) and the summary says so;
2. the ledger's forecasts whose days now have prices are scored;
3. retrain (a new ``run`` on the cache, with the latest run's settings) when the model's data ends more than
   ``retrain_after`` trading days (``config.retrain_after``: 21 unless ``FORECASTER_RETRAIN_AFTER`` says otherwise)
   before the newest cached day, or when the live 80% band covered more than
   ``COVERAGE_DROP`` below its nominal level over the last ``COVERAGE_DAYS`` scored days; otherwise
4. forecast the next trading days from the latest model, unless that forecast was already issued.

One refresh at a time per data directory: an exclusive ``flock`` on ``DATA_DIR/.refresh.lock``, which the kernel
releases when the holder dies, so a killed refresh never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forecaster import artifacts, config
from forecaster.config import DEFAULT_MA_WINDOW, ModelConfig, RunOptions
from forecaster.data import cache
from forecaster.errors import ForecasterError
from forecaster.evaluate import ledger

log = logging.getLogger(__name__)

#: Retrain when the live 80% band's coverage over the last COVERAGE_DAYS scored next days falls this far below 80%.
COVERAGE_DROP = 0.10
COVERAGE_DAYS = 60
#: Exit codes, for cron, systemd timers and Airflow.
EXIT_OK, EXIT_FAILED, EXIT_BUSY = 0, 1, 3
LOCK_FILE = ".refresh.lock"


class RefreshBusy(ForecasterError):
    """Another refresh holds the data directory."""


@dataclass
class RefreshResult:
    """What one refresh did."""

    new_days: dict[str, int] = field(default_factory=dict)  # fetched tickers -> days added
    not_fetched: dict[str, str] = field(default_factory=dict)  # ticker -> why
    failed: dict[str, str] = field(default_factory=dict)  # ticker -> error
    scored: int = 0
    issued: int = 0
    forecast_from: str | None = None
    retrained: str | None = None  # why, when it retrained
    model_age: int | None = None  # trading days between the model's last day and the newest price
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when every ticker was brought up to date (or did not need to be), 1 when one failed."""
        return EXIT_FAILED if self.failed else EXIT_OK

    def summary(self) -> str:
        """One line for a log or a mail from cron."""
        added = sum(self.new_days.values())
        parts = [
            f"refresh {'FAILED' if self.failed else 'ok'} in {self.seconds:.1f} s:",
            f"{len(self.new_days)} fetched ({added} new day{'s' if added != 1 else ''})",
            f"{len(self.not_fetched)} not fetched (imported: use `import`)" if self.not_fetched else "",
            f"{len(self.failed)} failed ({', '.join(sorted(self.failed))})" if self.failed else "",
            f"{self.scored} forecasts scored",
            f"{self.issued} issued from {self.forecast_from}" if self.issued else "no new forecast",
            f"retrained ({self.retrained})"
            if self.retrained
            else (f"model {self.model_age} trading days old" if self.model_age is not None else ""),
        ]
        return " ".join(p if p.endswith(":") else p + ";" for p in parts if p).rstrip(";")


@contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's refresh lock, or raise RefreshBusy naming the holder."""
    path = Path(data_dir) / LOCK_FILE
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise RefreshBusy(
                f"another job (a refresh, a retrain or tickers being added) is running on {data_dir} "
                f"(pid {handle.read().strip() or '?'}); this one did nothing"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refresh(
    data_dir: Path,
    tickers: list[str] | None = None,
    retrain_after: int | None = None,
    master: str | None = None,
    remote: str | None = None,
    retries: int = 3,
) -> RefreshResult:
    """One turn of the daily cycle (see the module's text). Raises RefreshBusy if another refresh is running.

    Example:
        >>> refresh(Path("data")).summary()  # doctest: +SKIP
        'refresh ok in 2.1 s: 4 fetched (4 new days); 12 forecasts scored; 20 issued from 2026-11-27; ...'
    """
    started = time.perf_counter()
    retrain_after = config.retrain_after(retrain_after)  # a bad setting stops the refresh before it does anything
    data_dir = artifacts.ensure_writable(data_dir)
    result = RefreshResult()
    with exclusive(data_dir):
        wanted = cache.wanted_tickers(data_dir, tickers)
        _bring_up_to_date(data_dir, wanted, result, retries)
        result.scored = ledger.score(data_dir)
        run_dir = artifacts.latest_run_dir(data_dir)
        if run_dir is None:
            raise ForecasterError(
                f"no published run in {data_dir} to forecast with: train one first with "
                "`python -m forecaster run --source cache`"
            )
        card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
        result.model_age = _model_age(data_dir, card)
        result.retrained = _retrain_reason(data_dir, result.model_age, retrain_after)
        if result.retrained:
            from forecaster.jobs.run import run

            log.info("retraining: %s", result.retrained)
            done = run(retrain_options(card, data_dir, master, remote))  # records its forecast in the ledger
            result.issued = len(done.forecast)
            result.forecast_from = f"{pd.Timestamp(done.forecast['origin_date'].max()):%Y-%m-%d}"
        elif _needs_forecast(data_dir, run_dir, card):
            from forecaster.jobs.forecast import forecast_latest

            _, frame = forecast_latest(data_dir, None, master, remote)  # records it in the ledger
            result.issued = len(frame)
            result.forecast_from = f"{pd.Timestamp(frame['origin_date'].max()):%Y-%m-%d}"
    result.seconds = time.perf_counter() - started
    return result


def _bring_up_to_date(data_dir: Path, tickers: list[str], result: RefreshResult, retries: int) -> None:
    """Fetch the tickers that came from Yahoo Finance; note the others."""
    from forecaster.data.ingest import fetch

    from_yahoo = []
    for ticker in tickers:
        try:
            source = cache.read_meta(cache.prices_path(data_dir, ticker)).get("source", "")
        except ForecasterError as exc:
            result.failed[ticker] = str(exc)
            continue
        if source == "yahoo":
            from_yahoo.append(ticker)
        else:
            result.not_fetched[ticker] = f"from {source}: new days come with `import`"
    if from_yahoo:
        report = fetch(from_yahoo, data_dir, retries=retries, progress=False)
        for outcome in report.outcomes:
            if outcome.failed:
                result.failed[outcome.ticker] = outcome.message
            else:
                result.new_days[outcome.ticker] = outcome.added
    for ticker, why in result.not_fetched.items():
        log.info("%s not fetched: %s", ticker, why)


def _last_day(data_dir: Path, ticker: str) -> pd.Timestamp:
    """A ticker's last cached day, from its file's metadata (the rows are not read)."""
    return pd.Timestamp(cache.read_meta(cache.prices_path(data_dir, ticker))["last_date"])


def _model_age(data_dir: Path, card: dict) -> int:
    """Trading days (NYSE) from the last day the model was trained on to the newest cached day of its tickers."""
    from forecaster.data.trading_days import closed_weekdays

    trained_to = max(pd.Timestamp(end) for _, end in card["data_range"].values())
    newest = max(_last_day(data_dir, t) for t in card["tickers"])
    if newest <= trained_to:
        return 0
    weekdays = pd.bdate_range(trained_to + pd.Timedelta(days=1), newest)
    return len(weekdays) - len(closed_weekdays(weekdays[0], weekdays[-1]))


def _retrain_reason(data_dir: Path, age: int, retrain_after: int) -> str | None:
    if age > retrain_after:
        return f"the model is {age} trading days old, more than {retrain_after}"
    coverage = ledger.recent_coverage(data_dir, 80, COVERAGE_DAYS)
    if coverage is not None and coverage < 0.80 - COVERAGE_DROP:
        return (
            f"the live 80% band covered {coverage:.0%} over the last {COVERAGE_DAYS} scored days, more than "
            f"{COVERAGE_DROP:.0%} below 80%"
        )
    return None


def _needs_forecast(data_dir: Path, run_dir: Path, card: dict) -> bool:
    """False when the run's forecast already starts at every ticker's newest cached day and is in the ledger."""
    path = run_dir / artifacts.FORECAST
    if not path.exists():
        return True
    issued = artifacts.read_parquet(path).groupby("ticker")["origin_date"].max()
    for ticker in card["tickers"]:
        if ticker not in issued or pd.Timestamp(issued[ticker]) != _last_day(data_dir, ticker):
            return True
    in_ledger = ledger.read_issued(data_dir)
    in_ledger = in_ledger[in_ledger["model_card_hash"] == ledger.card_hash(run_dir)]
    return not set(card["tickers"]) <= set(in_ledger["ticker"])


def retrain_options(card: dict, data_dir: Path, master: str | None = None, remote: str | None = None) -> RunOptions:
    """The latest run's settings, on the cache, with the default test period up to the newest day."""
    hyper = {k: v for k, v in card.get("hyper_parameters", {}).items() if k in ModelConfig.__dataclass_fields__}
    return RunOptions(
        source="cache",
        tickers=list(card["tickers"]),
        model=ModelConfig(**hyper),
        features=tuple(card["features"]),
        missing=card.get("missing", "drop"),
        per_ticker=bool(card.get("per_ticker")),
        ma_window=int(card.get("moving_average_window", DEFAULT_MA_WINDOW)),
        data_dir=data_dir,
        master=master,
        remote=remote,
        verbose=0,
    )
