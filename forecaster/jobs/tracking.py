"""Optional experiment tracking: each run logged to MLflow (``run --mlflow URI`` or ``MLFLOW_TRACKING_URI``).

Logged: the settings as parameters, the per-step summary of the report as metrics (``<field>_step<k>``, model
and baselines), the model card and the report as JSON, and the model file. Needs ``mlflow-skinny``
(``pip install -r requirements-mlflow.txt``). A published run is never undone by a tracking failure: the
failure is logged as a warning.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from forecaster import artifacts
from forecaster.errors import ConfigError

log = logging.getLogger(__name__)

EXPERIMENT = "stock-forecaster"


def require_mlflow() -> None:
    """ConfigError, before any work, when ``--mlflow`` is asked for without the package."""
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--mlflow needs MLflow's client: .venv/bin/pip install -r requirements-mlflow.txt") from exc


def summary_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The report's per-step summary as flat MLflow metrics.

    Example:
        >>> summary_metrics({"summary": {"median_rmse_ratio_vs_naive": {"1": 0.99},
        ...                              "baselines_median_rmse_ratio_vs_naive": {"garch": {"1": 1.01}}}})
        {'median_rmse_ratio_vs_naive_step1': 0.99, 'garch_median_rmse_ratio_vs_naive_step1': 1.01}
    """
    metrics: dict[str, float] = {}

    def walk(prefix: str, value: Any, step: str | None) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key.isdigit() and step is None:
                    walk(prefix, inner, key)
                else:
                    walk(f"{prefix}_{key}" if prefix else str(key), inner, step)
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and step:
            metrics[f"{prefix}_step{step}"] = float(value)

    for field, value in report.get("summary", {}).items():
        if field.startswith("baselines_") and isinstance(value, dict):
            for model, per_step in value.items():
                walk(f"{model}_{field.removeprefix('baselines_')}", per_step, None)
        else:
            walk(field, value, None)
    return metrics


def log_run(uri: str, run_dir: Path, report: dict[str, Any], card: dict[str, Any]) -> str | None:
    """Log a published run to MLflow at ``uri``; returns MLflow's run id, or None (with a warning) on failure.

    Uses a client of its own: MLflow's module-level ``set_tracking_uri`` would also set ``MLFLOW_TRACKING_URI`` for
    this process and every process it starts.
    """
    import time

    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
        active = client.create_run(
            experiment_id,
            run_name=run_dir.name,
            tags={"forecaster.run_id": run_dir.name, "forecaster.source": str(card.get("source"))},
        )
        run_id = active.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            params=[Param(k, str(v)) for k, v in _params(card).items()],
            metrics=[Metric(k, v, now, 0) for k, v in summary_metrics(report).items()],
        )
        client.log_dict(run_id, card, artifacts.MODEL_CARD)
        client.log_dict(run_id, report, artifacts.REPORT)
        for model in sorted(run_dir.glob("*.keras")) + sorted(run_dir.glob("models/*.keras")):
            client.log_artifact(run_id, str(model), artifact_path="model")
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
        log.info("logged run %s to MLflow at %s (MLflow run %s)", run_dir.name, uri, run_id)
        return run_id
    except Exception as exc:  # the run is published; tracking is a copy of it
        log.warning("run %s was not logged to MLflow at %s: %s", run_dir.name, uri, exc)
        return None


def _params(card: dict[str, Any]) -> dict[str, Any]:
    hyper = card.get("hyper_parameters", {})
    tickers = card.get("tickers", [])
    return {
        **hyper,
        "tickers": ",".join(tickers)[:500],
        "n_tickers": len(tickers),
        "features": ",".join(card.get("features", [])),
        "test_start": card.get("test_start"),
        "per_ticker": card.get("per_ticker"),
        "folds": card.get("folds"),
        "source": card.get("source"),
    }
