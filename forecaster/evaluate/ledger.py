"""The forecast ledger: every forecast issued beyond the data, kept, and scored when its day's price arrives.

Layout (under the data directory)::

    ledger/issued/<stamp>-<token>.parquet   forecasts as issued (one file per issue, never rewritten)
    ledger/scored/<stamp>-<token>.parquet   outcomes of issued forecasts (one file per scoring pass)
    ledger/.lock                            held while a file is added (readers do not need it)

Files are only ever added, each written to a temporary name and renamed, so a killed process leaves the
ledger as it was or with one more complete file. A forecast is identified by ticker, origin date, step and the
model card's hash: issued twice (a ``forecast`` repeated, a refresh rerun after a kill), it is stored once,
because an append first reads which keys exist, under the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster import artifacts
from forecaster.columns import LEVELS, bound_column, quantile_column
from forecaster.columns import MODEL_NAME as MODEL
from forecaster.data import cache
from forecaster.errors import ArtifactError

log = logging.getLogger(__name__)

LEDGER = "ledger"
ISSUED, SCORED = "issued", "scored"
KEY = ["ticker", "origin_date", "step", "model_card_hash"]
#: The forecast is ``MODEL`` (``FORECAST_COLUMN``); ``NETWORK_MEDIAN`` is the network's median before shrinkage.
NETWORK_MEDIAN = quantile_column(0.5)
ISSUED_COLUMNS = [
    *KEY,
    "issued_at",
    "target_date",
    "origin_price",
    NETWORK_MEDIAN,
    MODEL,
    *(bound_column(level, side) for level in LEVELS for side in ("lo", "hi")),
    "naive",
    "run_id",
]
SCORED_COLUMNS = [
    *KEY,
    "target_date",
    "scored_at",
    "actual",
    "error",
    "naive_error",
    *(f"in_{level}" for level in LEVELS),
]
#: The windows of the track record: the last 30 and 90 trading days with outcomes, and all of them.
WINDOWS: tuple[int | None, ...] = (30, 90, None)


def ledger_dir(data_dir: Path) -> Path:
    """The ledger's folder under ``data_dir``."""
    return Path(data_dir) / LEDGER


def card_hash(run_dir: Path) -> str:
    """A short hash of the run's model card: which model issued a forecast."""
    return hashlib.sha256((Path(run_dir) / artifacts.MODEL_CARD).read_bytes()).hexdigest()[:16]


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    # flock is released by the kernel when the holder dies: a killed process never leaves it stuck.
    folder = ledger_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_all(folder: Path, columns: list[str]) -> pd.DataFrame:
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return pd.DataFrame(columns=columns)
    frames = [artifacts.read_parquet(path) for path in files]  # a damaged file is named, not skipped
    frame = pd.concat(frames, ignore_index=True)
    if "median" in frame:  # ledgers written before the network's median had its own name
        old = frame.pop("median")
        frame[NETWORK_MEDIAN] = frame[NETWORK_MEDIAN].fillna(old) if NETWORK_MEDIAN in frame else old
    for column in ("origin_date", "target_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _append(data_dir: Path, kind: str, rows: pd.DataFrame) -> Path | None:
    if rows.empty:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return artifacts.write_parquet(ledger_dir(data_dir) / kind / f"{stamp}-{secrets.token_hex(3)}.parquet", rows)


def read_issued(data_dir: Path) -> pd.DataFrame:
    """Every forecast in the ledger, once each (the first issue of a key)."""
    frame = _read_all(ledger_dir(data_dir) / ISSUED, ISSUED_COLUMNS)
    return frame.sort_values("issued_at", kind="stable").drop_duplicates(KEY).reset_index(drop=True)


def read_scored(data_dir: Path) -> pd.DataFrame:
    """Every issued forecast whose outcome is known, with its scores."""
    scored = _read_all(ledger_dir(data_dir) / SCORED, SCORED_COLUMNS).drop_duplicates(KEY)
    issued = read_issued(data_dir)
    return issued.merge(scored.drop(columns=["target_date"]), on=KEY, how="inner")


def record(data_dir: Path, run_dir: Path, forecast: pd.DataFrame) -> int:
    """Append the forecasts of ``forecast`` (a run's ``forecast.parquet`` rows) to the ledger; returns how many
    were new. The same forecast issued again is not stored again.

    Example:
        >>> record(Path("data"), run_dir, frame)  # doctest: +SKIP
        15
    """
    if forecast.empty:
        return 0
    rows = pd.DataFrame(
        {
            "ticker": forecast["ticker"].astype(str),
            "origin_date": pd.to_datetime(forecast["origin_date"]),
            "step": forecast["step"].astype(int),
            "model_card_hash": card_hash(run_dir),
            "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "target_date": pd.to_datetime(forecast["target_date"]),
            "origin_price": forecast["origin_price"],
            NETWORK_MEDIAN: forecast[NETWORK_MEDIAN] if NETWORK_MEDIAN in forecast else np.nan,
            MODEL: forecast[MODEL],
            **{c: forecast[c] for c in ISSUED_COLUMNS if c.startswith(f"{MODEL}_") and c != NETWORK_MEDIAN},
            "naive": forecast["naive"],
            "run_id": Path(run_dir).name,
        }
    )[ISSUED_COLUMNS]
    with _locked(data_dir):
        known = read_issued(data_dir)[KEY]
        new = rows.merge(known, on=KEY, how="left", indicator=True)
        new = new[new["_merge"] == "left_only"].drop(columns="_merge")
        _append(data_dir, ISSUED, new)
    log.info("ledger: %d forecasts issued, %d new", len(rows), len(new))
    return len(new)


def score(data_dir: Path) -> int:
    """Score every issued forecast whose target day's price is now in the cache; returns how many were scored.

    A forecast whose target day passed without a price (a ticker's gap) stays unscored.
    """
    with _locked(data_dir):
        issued = read_issued(data_dir)
        done = _read_all(ledger_dir(data_dir) / SCORED, SCORED_COLUMNS)[KEY]
        waiting = issued.merge(done, on=KEY, how="left", indicator=True)
        waiting = waiting[waiting["_merge"] == "left_only"].drop(columns="_merge")
        outcomes = []
        for ticker, rows in waiting.groupby("ticker"):
            try:
                prices = cache.read_ticker(data_dir, str(ticker)).prices
            except ArtifactError as exc:
                log.warning("ledger: %s not scored: %s", ticker, exc)
                continue
            actual = prices.set_index("date")["adj_close"]
            known = rows[rows["target_date"].isin(actual.index)]
            outcomes.append(known.assign(actual=actual.reindex(known["target_date"]).to_numpy()))
        if not outcomes:
            return 0
        scored = pd.concat(outcomes, ignore_index=True)
        scored["scored_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        scored["error"] = scored["actual"] - scored[MODEL]
        scored["naive_error"] = scored["actual"] - scored["naive"]
        for level in LEVELS:
            scored[f"in_{level}"] = (scored["actual"] >= scored[bound_column(level, "lo")]) & (
                scored["actual"] <= scored[bound_column(level, "hi")]
            )
        _append(data_dir, SCORED, scored[SCORED_COLUMNS])
    log.info("ledger: %d forecasts scored", len(scored))
    return len(scored)


def track_record(data_dir: Path, tickers: list[str] | None = None, since: str | None = None) -> pd.DataFrame:
    """Per ticker, step and window (the last 30 and 90 trading days with outcomes, and all time): the count of
    scored forecasts, the live RMSE ratio to naive and each band's coverage.

    Example:
        >>> track_record(Path("data"), ["AAPL"])  # doctest: +SKIP
    """
    scored = read_scored(data_dir)
    if tickers:
        scored = scored[scored["ticker"].isin(tickers)]
    if since:
        scored = scored[scored["target_date"] >= pd.Timestamp(since)]
    rows = []
    for (ticker, step), group in scored.groupby(["ticker", "step"]):
        days = np.sort(group["target_date"].unique())
        for window in WINDOWS:
            part = group if window is None else group[group["target_date"].isin(days[-window:])]
            naive = float(np.sqrt(np.mean(part["naive_error"] ** 2)))
            rows.append(
                {
                    "ticker": ticker,
                    "step": int(step),
                    "window": "all" if window is None else f"{window}d",
                    "scored": len(part),
                    "rmse": float(np.sqrt(np.mean(part["error"] ** 2))),
                    "rmse_ratio_vs_naive": float(np.sqrt(np.mean(part["error"] ** 2))) / naive if naive else None,
                    **{f"coverage_{level}": float(part[f"in_{level}"].mean()) for level in LEVELS},
                    "first_day": f"{part['target_date'].min():%Y-%m-%d}",
                    "last_day": f"{part['target_date'].max():%Y-%m-%d}",
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "ticker",
            "step",
            "window",
            "scored",
            "rmse",
            "rmse_ratio_vs_naive",
            *(f"coverage_{level}" for level in LEVELS),
            "first_day",
            "last_day",
        ],
    )


def recent_coverage(data_dir: Path, level: int = 80, days: int = 60) -> float | None:
    """The live coverage of the ``level``% band over each ticker's last ``days`` scored next-day forecasts, pooled;
    None while fewer than ``days`` are scored (a handful of days says nothing about a band)."""
    scored = read_scored(data_dir)
    recent = scored[scored["step"] == 1].sort_values("target_date").groupby("ticker").tail(days)
    return float(recent[f"in_{level}"].mean()) if len(recent) >= days else None


def files(data_dir: Path) -> list[Path]:
    """Every file of the ledger (for checks and tests)."""
    return sorted(p for p in ledger_dir(data_dir).rglob("*.parquet") if not p.name.startswith("."))
