"""The dashboard's one way to read artifacts, cached until a new run (or forecast) is published."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster import artifacts


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


def _dates(frame: pd.DataFrame | None, *columns: str) -> pd.DataFrame | None:
    if frame is not None:
        for column in columns:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def _read_run(run_dir: Path, version: tuple[str, float]) -> RunView:
    return RunView(
        run_id=run_dir.name,
        version=version,
        report=artifacts.read_json(run_dir / artifacts.REPORT),
        card=artifacts.read_json(run_dir / artifacts.MODEL_CARD),
        predictions=_dates(artifacts.read_parquet(run_dir / artifacts.PREDICTIONS), "origin_date", "target_date"),
        prices=_dates(_optional(run_dir / artifacts.PRICES_SNAPSHOT), "date"),
        forecast=_dates(_optional(run_dir / artifacts.FORECAST), "origin_date", "target_date"),
    )
