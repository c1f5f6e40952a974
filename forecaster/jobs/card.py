"""The model card: what a run's model was trained on and how. Read by people, ``forecast``, ``check`` and the
dashboard; ``run`` writes it last, beside the model.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from forecaster import artifacts
from forecaster.columns import QUANTILES
from forecaster.config import RunOptions
from forecaster.data import cache
from forecaster.model.intervals import BAND_ENDS, CALIBRATION_WINDOW


def library_versions() -> dict[str, str]:
    """Versions that decide whether a saved model and its numbers can be reproduced."""
    found = {}
    for name in ("keras", "jax", "pyspark", "numpy", "pandas", "pyarrow"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "keras_backend": os.environ["KERAS_BACKEND"], **found}


def _cache_meta(path: Path) -> dict[str, Any]:
    # Footer only: the rows were already read and validated before Spark saw them.
    meta = cache.read_meta(path)
    return {key: meta[key] for key in ("source", "adjustment", "first_date", "last_date", "fetched_at")}


def model_card(
    opts: RunOptions,
    run_dir: Path,
    prepared: Any,
    trained: Any,
    folds: list[Any],
    price_paths: list[Path],
    left_out: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The card of a run whose last fold is ``folds[-1]`` (its ``prepared`` and ``trained`` are the ones kept);
    ``left_out``: the tickers skipped before Spark (``forecaster.prepare.screen``), with their reasons.

    Each fold holds ``counts`` (windows per split), ``failed`` (per-ticker models that failed),
    ``scores_path`` and ``trained``.
    """
    bounds = prepared.bounds
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": opts.source,
        "data": {p.stem: _cache_meta(p) for p in price_paths},
        "tickers": [t for t in bounds["ticker"] if not trained.per_ticker or t in trained.files],
        "skipped_tickers": {**(left_out or {}), **prepared.skipped},
        "failed_tickers": folds[-1].failed,
        "data_range": {row.ticker: [str(row.first_date), str(row.last_date)] for row in bounds.itertuples()},
        "test_start": prepared.test_start,
        "target": "adjusted close; the model predicts log(adj_close[t+k] / adj_close[t]) / train volatility",
        "features": list(prepared.features),
        "lookback": prepared.lookback,
        "horizon": prepared.horizon,
        "hyper_parameters": opts.model.to_dict(),
        "per_ticker": trained.per_ticker,
        "models": dict(trained.files),
        # The ranking model (global mode), its training and its scores of every test window; absent when none.
        **(
            {
                "rank_model": {
                    "file": trained.rank_file,
                    "training": trained.rank_result,
                    "scores": [str(f.rank_scores_path.relative_to(run_dir)) for f in folds if f.rank_scores_path],
                }
            }
            if trained.rank_file
            else {}
        ),
        "folds": opts.folds,
        "windows": [f.counts for f in folds],
        "moving_average_window": opts.ma_window,
        "missing": opts.missing,
        "intervals": {
            "method": "conformalised quantile regression, normalised by the model's spread, "
            "recalibrated online on the last calibration_window outcomes known at each origin "
            + ("for each end of a band" if BAND_ENDS == "per_end" else "for both ends of a band at once"),
            "quantiles": list(QUANTILES),
            "shrink": trained.shrink,
            "calibration_window": CALIBRATION_WINDOW,
            "ends": BAND_ENDS,
            "calibration": artifacts.CALIBRATION,
        },
        "members": opts.model.members,
        "baselines": {"naive_band_quantiles": folds[-1].naive_quantiles, "garch": folds[-1].garch_params},
        "training": {
            key: {
                "seconds": round(r.train_seconds, 2),
                "epochs_run": r.epochs_run,
                "best_epoch": r.best_epoch,
                "best_val_loss": r.best_val_loss,
                "member_best_epochs": list(r.member_best_epochs),
            }
            for key, r in trained.results.items()
        },
        "training_seconds_all_folds": round(sum(r.train_seconds for f in folds for r in f.trained.results.values()), 2),
        # Train-only scaling statistics, and the scaled outputs of every test window scored on the executors.
        "scaling": str(prepared.scaling_path.relative_to(run_dir)),
        "scores": [str(f.scores_path.relative_to(run_dir)) for f in folds],
        "versions": library_versions(),
    }
