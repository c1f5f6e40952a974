"""The dashboard's one way to read artifacts, cached until a new run (or forecast) is published."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster import artifacts
from forecaster.errors import ArtifactError
from forecaster.evaluate.report_files import read_report


@dataclass(frozen=True)
class RunView:
    """One published run, as the dashboard shows it."""

    run_id: str
    version: tuple[str, float]  # run id and forecast file time: a new forecast is a new version
    report: dict[str, Any]
    card: dict[str, Any]
    predictions: pd.DataFrame
    prices: pd.DataFrame | None  # absent in runs made before price snapshots existed
    forecast: pd.DataFrame | None
    daily_ic: pd.DataFrame | None = None  # the cross-sectional IC per day; absent for runs of too few tickers
    daily_returns: pd.DataFrame | None = None  # the long-short portfolios' daily returns; absent likewise

    @property
    def tickers(self) -> list[str]:
        """Tickers with results in this run, sorted."""
        return sorted(self.report["tickers"])

    @property
    def horizon(self) -> int:
        return int(self.card.get("horizon", 1))

    def rows(self, frame: pd.DataFrame | None, ticker: str) -> pd.DataFrame | None:
        """Rows of one ticker in ``frame`` (None stays None)."""
        return None if frame is None else frame[frame["ticker"] == ticker]


@dataclass(frozen=True)
class RunSummary:
    """One line of the run history: when, on what, and its headline numbers."""

    run_id: str
    created_at: str
    tickers: tuple[str, ...]
    rmse_ratio: float | None  # median over tickers of the LSTM's next-day RMSE over naive's
    coverage_80: float | None  # median over tickers of the next-day 80% band's coverage

    @property
    def label(self) -> str:
        """The run picker's text for this run."""
        names = ", ".join(self.tickers[:4]) + (" ..." if len(self.tickers) > 4 else "")
        count = f"{len(self.tickers)} ticker{'s' if len(self.tickers) != 1 else ''}"
        parts = [self.created_at[:16].replace("T", " ") + " UTC", f"{count} ({names})"]
        if self.rmse_ratio is not None:
            parts.append(f"next-day RMSE / naive {self.rmse_ratio:.3f}")
        if self.coverage_80 is not None:
            parts.append(f"80% band held {self.coverage_80:.0%}")
        return " · ".join(parts)


class ArtifactReader:
    """Reads published runs under ``data_dir``; each is read whole, once, and kept until its forecast changes.

    A page is pinned to one run (``view(run_id)``), so a new run never mixes into a page showing an older one.
    Damaged files raise ``ArtifactError``.
    """

    #: Runs kept in memory per process: the latest and a few that pages still show.
    KEPT_RUNS = 4

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._views: dict[str, RunView] = {}
        self._summaries: dict[str, RunSummary] = {}

    def latest_id(self) -> str | None:
        """The id of the published run, or None when there is none yet (cheap: one small file)."""
        run_dir = artifacts.latest_run_dir(self.data_dir)
        return None if run_dir is None else run_dir.name

    def latest(self) -> RunView | None:
        """The latest published run, or None when there is none yet."""
        run_id = self.latest_id()
        return None if run_id is None else self.view(run_id)

    def view(self, run_id: str) -> RunView:
        """The published run ``run_id``; ArtifactError if there is no such run (ids come from browsers)."""
        run_dir = self._run_dir(run_id)
        version = (run_id, _mtime(run_dir / artifacts.FORECAST))
        with self._lock:
            view = self._views.pop(run_id, None)
            if view is None or view.version != version:
                view = _read_run(run_dir, version)
            self._views[run_id] = view  # most recently used last
            while len(self._views) > self.KEPT_RUNS:
                self._views.pop(next(iter(self._views)))
            return view

    def version(self, run_id: str) -> tuple[str, float] | None:
        """What identifies the content of ``run_id`` now (its forecast is refreshed in place), or None."""
        if not _is_run_id(run_id):
            return None
        return run_id, _mtime(self.data_dir / artifacts.RUNS / run_id / artifacts.FORECAST)

    def history(self) -> list[RunSummary]:
        """Every complete run, newest first, with its headline numbers."""
        summaries = []
        for run_dir in artifacts.published_run_dirs(self.data_dir):
            if run_dir.name not in self._summaries:
                try:
                    self._summaries[run_dir.name] = _summary(run_dir)
                except (ArtifactError, AttributeError, TypeError, ValueError):
                    continue  # a damaged run is left out of the list; opening it says why
            summaries.append(self._summaries[run_dir.name])
        return summaries

    def _run_dir(self, run_id: str) -> Path:
        run_dir = self.data_dir / artifacts.RUNS / str(run_id)
        if not _is_run_id(run_id) or not (run_dir / artifacts.MODEL_CARD).is_file():
            raise ArtifactError(f"no complete run {str(run_id)[:60]!r} in {self.data_dir / artifacts.RUNS}")
        return run_dir


def _is_run_id(run_id: object) -> bool:
    # Run ids are folder names made by artifacts.new_run_dir: never a path, never hidden.
    return (
        isinstance(run_id, str)
        and 0 < len(run_id) <= 64
        and run_id.replace("-", "").isalnum()
        and not run_id.startswith("-")
    )


def _summary(run_dir: Path) -> RunSummary:
    card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
    summary = artifacts.read_json(run_dir / artifacts.REPORT).get("summary", {})
    by_model = summary.get("median_coverage_by_model", {}).get("lstm", {}).get("1", {})
    return RunSummary(
        run_id=run_dir.name,
        created_at=str(card.get("created_at", run_dir.name)),
        tickers=tuple(card.get("tickers", [])),
        rmse_ratio=summary.get("median_rmse_ratio_vs_naive", {}).get("1"),
        coverage_80=by_model.get("80") if isinstance(by_model, dict) else None,
    )


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _optional(path: Path) -> pd.DataFrame | None:
    return artifacts.read_parquet(path) if path.exists() else None


def _dates(path: Path, frame: pd.DataFrame | None, *columns: str) -> pd.DataFrame | None:
    if frame is not None:
        for column in columns:
            if column in frame:  # a missing column is reported by _check_shape, naming the file
                try:
                    frame[column] = pd.to_datetime(frame[column])
                except (ValueError, TypeError) as exc:
                    raise ArtifactError(f"{path}: column {column!r} holds values that are not dates ({exc})") from exc
    return frame


#: Columns the pages read from each table of a run.
PREDICTION_COLUMNS = ("ticker", "origin_date", "target_date", "step", "origin_price", "actual", "lstm", "naive")
FORECAST_COLUMNS = ("ticker", "origin_date", "target_date", "step", "origin_price", "lstm")
PRICE_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume")


def _check_shape(run_dir: Path, view: RunView) -> RunView:
    """ArtifactError naming the file when a run's files parse but are not what a run writes (a report that is
    a list, a card without a horizon, a table without its columns): a page must say so, not crash."""
    report, card = view.report, view.card
    if not (
        isinstance(report, dict)
        and isinstance(report.get("tickers"), dict)
        and report["tickers"]
        and all(isinstance(e, dict) for e in report["tickers"].values())
        and isinstance(report.get("summary"), dict)
    ):
        raise ArtifactError(
            f"{run_dir / artifacts.REPORT}: not a report of a run (expected an object with "
            "'tickers', one entry per ticker, and 'summary')"
        )
    if not isinstance(card, dict) or not isinstance(card.get("horizon"), int) or card["horizon"] < 1:
        raise ArtifactError(
            f"{run_dir / artifacts.MODEL_CARD}: not a model card (expected an object with a horizon of at least 1)"
        )
    tables = (
        (artifacts.PREDICTIONS, view.predictions, PREDICTION_COLUMNS),
        (artifacts.FORECAST, view.forecast, FORECAST_COLUMNS),
        (artifacts.PRICES_SNAPSHOT, view.prices, PRICE_COLUMNS),
    )
    for name, frame, columns in tables:
        missing = [c for c in columns if frame is not None and c not in frame]
        if missing:
            raise ArtifactError(f"{run_dir / name}: lacks the columns {missing}")
    return view


def _read_run(run_dir: Path, version: tuple[str, float]) -> RunView:
    return _check_shape(
        run_dir,
        RunView(
            run_id=run_dir.name,
            version=version,
            report=read_report(run_dir),
            card=artifacts.read_json(run_dir / artifacts.MODEL_CARD),
            predictions=_dates(
                run_dir / artifacts.PREDICTIONS,
                artifacts.read_parquet(run_dir / artifacts.PREDICTIONS),
                "origin_date",
                "target_date",
            ),
            prices=_dates(run_dir / artifacts.PRICES_SNAPSHOT, _optional(run_dir / artifacts.PRICES_SNAPSHOT), "date"),
            forecast=_dates(
                run_dir / artifacts.FORECAST, _optional(run_dir / artifacts.FORECAST), "origin_date", "target_date"
            ),
            daily_ic=_dates(
                run_dir / artifacts.CROSS_SECTION, _optional(run_dir / artifacts.CROSS_SECTION), "origin_date"
            ),
            daily_returns=_dates(run_dir / artifacts.PORTFOLIO, _optional(run_dir / artifacts.PORTFOLIO), "date"),
        ),
    )
