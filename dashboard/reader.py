"""The dashboard's one way to read artifacts, cached until a new run (or forecast) is published."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster import artifacts
from forecaster.errors import ArtifactError


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


class ArtifactReader:
    """Reads the latest run under ``data_dir`` and keeps it until ``runs/LATEST`` or its forecast changes.

    A run is read whole and swapped in at once, so a page never mixes two runs.
    Damaged files raise ``ArtifactError``.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._view: RunView | None = None

    def latest(self) -> RunView | None:
        """The latest published run, or None when there is none yet."""
        run_dir = artifacts.latest_run_dir(self.data_dir)
        if run_dir is None:
            return None
        version = (run_dir.name, _mtime(run_dir / artifacts.FORECAST))
        with self._lock:
            if self._view is None or self._view.version != version:
                self._view = _read_run(run_dir, version)
            return self._view


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
    if not (isinstance(report, dict) and isinstance(report.get("tickers"), dict) and report["tickers"]
            and all(isinstance(e, dict) for e in report["tickers"].values())
            and isinstance(report.get("summary"), dict)):
        raise ArtifactError(f"{run_dir / artifacts.REPORT}: not a report of a run (expected an object with "
                            "'tickers', one entry per ticker, and 'summary')")
    if not isinstance(card, dict) or not isinstance(card.get("horizon"), int) or card["horizon"] < 1:
        raise ArtifactError(f"{run_dir / artifacts.MODEL_CARD}: not a model card (expected an object with a "
                            "horizon of at least 1)")
    tables = ((artifacts.PREDICTIONS, view.predictions, PREDICTION_COLUMNS),
              (artifacts.FORECAST, view.forecast, FORECAST_COLUMNS),
              (artifacts.PRICES_SNAPSHOT, view.prices, PRICE_COLUMNS))
    for name, frame, columns in tables:
        missing = [c for c in columns if frame is not None and c not in frame]
        if missing:
            raise ArtifactError(f"{run_dir / name}: lacks the columns {missing}")
    return view


def _read_run(run_dir: Path, version: tuple[str, float]) -> RunView:
    return _check_shape(run_dir, RunView(
        run_id=run_dir.name,
        version=version,
        report=artifacts.read_json(run_dir / artifacts.REPORT),
        card=artifacts.read_json(run_dir / artifacts.MODEL_CARD),
        predictions=_dates(run_dir / artifacts.PREDICTIONS, artifacts.read_parquet(run_dir / artifacts.PREDICTIONS),
                           "origin_date", "target_date"),
        prices=_dates(run_dir / artifacts.PRICES_SNAPSHOT, _optional(run_dir / artifacts.PRICES_SNAPSHOT), "date"),
        forecast=_dates(run_dir / artifacts.FORECAST, _optional(run_dir / artifacts.FORECAST), "origin_date",
                        "target_date"),
    ))
