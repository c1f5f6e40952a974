"""The dashboard's one way to read artifacts, cached until a new run is published."""

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
    report: dict[str, Any]
    card: dict[str, Any]
    predictions: pd.DataFrame

    @property
    def tickers(self) -> list[str]:
        """Tickers with results in this run, sorted."""
        return sorted(self.report["tickers"])

    def ticker_predictions(self, ticker: str) -> pd.DataFrame:
        """Backtest rows of one ticker (any step)."""
        return self.predictions[self.predictions["ticker"] == ticker]


class ArtifactReader:
    """Reads the latest run under ``data_dir`` and keeps it until ``runs/LATEST`` changes.

    A run is read whole (report, card, predictions) and swapped in at once, so a
    page never mixes two runs. Damaged files raise ``ArtifactError``.
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
        with self._lock:
            if self._view is None or self._view.run_id != run_dir.name:
                self._view = _read_run(run_dir)
            return self._view


def _read_run(run_dir: Path) -> RunView:
    predictions = artifacts.read_parquet(run_dir / artifacts.PREDICTIONS)
    for column in ("origin_date", "target_date"):
        predictions[column] = pd.to_datetime(predictions[column])
    return RunView(
        run_id=run_dir.name,
        report=artifacts.read_json(run_dir / artifacts.REPORT),
        card=artifacts.read_json(run_dir / artifacts.MODEL_CARD),
        predictions=predictions,
    )
