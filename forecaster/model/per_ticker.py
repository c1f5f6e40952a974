"""One model per ticker, trained on Spark's executors: ``groupBy("ticker").applyInPandas``.

Each task gets one ticker's prepared rows (all splits), cuts its windows, trains the
model with a seed derived from the ticker, writes ``models/<TICKER>.keras`` and
``models/<TICKER>.json`` (its card) into the run folder - which must be on storage
every executor shares - and returns one row: the training summary and the
validation residual quantiles, or the reason it failed. A failing ticker is
reported and left out; it does not sink the others. Spark reruns a task whose
executor died; the rerun rewrites the same files atomically.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster import left_out
from forecaster.config import ModelConfig
from forecaster.errors import DataError

log = logging.getLogger(__name__)

RESULT_SCHEMA = (
    "ticker string, status string, message string, model string, epochs_run int, best_epoch int, "
    "best_val_loss double, train_seconds double, shrink string, val_scores string"
)


def train_ticker(rows: pd.DataFrame, features: tuple[str, ...], cfg: ModelConfig, run_dir: str) -> pd.DataFrame:
    """The task: train, save and summarise one ticker's model from its prepared ``rows``; never raises."""
    ticker = str(rows["ticker"].iloc[0])
    try:
        return pd.DataFrame([_train(ticker, rows, features, cfg, Path(run_dir))])
    except Exception as exc:  # a task must report its ticker's failure, not kill the job
        return pd.DataFrame(
            [
                {
                    "ticker": ticker,
                    "status": "failed",
                    "message": f"{type(exc).__name__}: {exc}",
                    "model": None,
                    "epochs_run": None,
                    "best_epoch": None,
                    "best_val_loss": None,
                    "train_seconds": None,
                    "shrink": None,
                    "val_scores": None,
                }
            ]
        )


def _train(
    ticker: str, rows: pd.DataFrame, features: tuple[str, ...], cfg: ModelConfig, run_dir: Path
) -> dict[str, Any]:
    from forecaster import artifacts
    from forecaster.model import network, training
    from forecaster.prepare.windows import make_windows

    rows = rows.sort_values("pos", ignore_index=True).assign(date=lambda f: pd.to_datetime(f["date"]))
    train = make_windows(rows, "train", features, cfg.lookback, cfg.horizon, targets=False)
    val = make_windows(rows, "val", features, cfg.lookback, cfg.horizon)
    ticker_cfg = replace(cfg, seed=training.ticker_seed(cfg.seed, ticker))
    net, result, shrink, val_scores = training.fit_one(train, val, len(features), ticker_cfg, verbose=0)
    name = training.model_file_name(ticker)
    network.save_model(net, run_dir / name)
    summary = {
        "ticker": ticker,
        "seed": ticker_cfg.seed,
        "train_windows": len(train),
        "val_windows": len(val),
        **asdict(result),
        "shrink": shrink,
    }
    artifacts.write_json((run_dir / name).with_suffix(".json"), summary)
    scores = val_scores.assign(target_date=val_scores["target_date"].dt.strftime("%Y-%m-%d"))
    return {
        "ticker": ticker,
        "status": "ok",
        "message": "",
        "model": name,
        **{k: v for k, v in asdict(result).items() if k != "member_best_epochs"},
        "shrink": json.dumps(shrink),
        "val_scores": scores.to_json(orient="split", index=False),
    }


def train_on_executors(
    spark: Any, table_path: Path, run_dir: Path, features: tuple[str, ...], cfg: ModelConfig, tickers: list[str]
) -> pd.DataFrame:
    """The Spark job: one ``train_ticker`` task for each of ``tickers``; one result row each."""
    from forecaster.columns import feature_column
    from forecaster.prepare.session import ship_package, sql_options

    ship_package(spark)
    columns = [
        "ticker",
        "date",
        "pos",
        "split",
        "adj_close",
        "first_adj",
        "target_scale",
        *map(feature_column, features),
    ]
    table = spark.read.parquet(str(table_path)).select(*columns)
    table = table.where(table["ticker"].isin(list(tickers)))
    task_features, task_dir = tuple(features), str(run_dir)

    def task(rows: pd.DataFrame) -> pd.DataFrame:
        return train_ticker(rows, task_features, cfg, task_dir)

    # Each group is seconds of training on a few kB of rows: Spark's adaptive execution would merge them into
    # one or two tasks and leave cores idle. Twice as many partitions as tickers: few share a task.
    with sql_options(
        spark,
        {
            "spark.sql.adaptive.coalescePartitions.enabled": "false",
            "spark.sql.shuffle.partitions": str(2 * len(tickers)),
        },
    ):
        return table.groupBy("ticker").applyInPandas(task, RESULT_SCHEMA).toPandas().sort_values("ticker")


def fit_per_ticker(
    spark: Any, table_path: Path, run_dir: Path, features: tuple[str, ...], cfg: ModelConfig, tickers: list[str]
) -> tuple[Any, dict[str, str]]:
    """Train the model of each of ``tickers`` on the executors. The models stay on disk (``Trained.files``);
    the driver never loads them. Returns ``(Trained, failures)``, failures mapping ticker -> reason."""
    from forecaster.model import network
    from forecaster.model.training import Trained

    results = train_on_executors(spark, table_path, run_dir, features, cfg, tickers)
    failures = {r.ticker: r.message for r in results.itertuples() if r.status != "ok"}
    left_out.warn(log, "the model failed and is left out for", failures)
    done = results[results["status"] == "ok"]
    if done.empty:
        raise DataError(f"every ticker's model failed: {failures}")
    trained = Trained()
    scores = []
    for row in done.itertuples():
        trained.files[row.ticker] = row.model
        trained.results[row.ticker] = network.TrainResult(
            int(row.epochs_run), int(row.best_epoch), float(row.best_val_loss), float(row.train_seconds)
        )
        trained.shrink[row.ticker] = json.loads(row.shrink)
        scores.append(pd.read_json(io.StringIO(row.val_scores), orient="split", dtype=False, convert_dates=False))
    trained.val_scores = pd.concat(scores, ignore_index=True).assign(
        target_date=lambda f: pd.to_datetime(f["target_date"])
    )
    log.info("trained %d per-ticker models on the executors (%d failed)", len(done), len(failures))
    return trained, failures


def remove_models_except(run_dir: Path, tickers: list[str]) -> list[str]:
    """Delete per-ticker model files and cards in ``run_dir`` of tickers not in ``tickers`` - left by an earlier
    walk-forward fold whose ticker failed in the last one - so a run folder holds only what its card names."""
    removed = []
    for path in sorted((Path(run_dir) / "models").glob("*")):
        if path.suffix in (".keras", ".json") and path.stem not in tickers:
            path.unlink()
            removed.append(path.name)
    if removed:
        log.info("removed models of earlier folds not in the final one: %s", removed)
    return removed
