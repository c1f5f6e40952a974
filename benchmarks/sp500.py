"""The S&P 500 universe: one global LSTM over every ticker, test from 2017-02-08, beside the baselines.

    python benchmarks/sp500.py [--csv ../shared/data/all_stocks_5yr.csv] [--epochs 10] [--batch-size 256]

Runs the real pipeline (import with --on-bad-rows drop, Spark preparation, training with
early stopping on validation, backtest of every test day and step) into a temporary data
directory, then prints per step: the median RMSE ratio to naive, the share of tickers
beating naive, the median directional accuracy and interval coverage, the baselines'
median ratios, and the training time. Epochs are capped because one epoch over ~330k
windows takes about three minutes on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecaster import artifacts  # noqa: E402
from forecaster.config import ModelConfig  # noqa: E402
from forecaster.jobs.run import RunOptions, run  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "all_stocks_5yr.csv"


def arguments(description: str) -> argparse.ArgumentParser:
    """The S&P run's options (``benchmarks/skill.py`` runs the same)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--test-start", default="2017-02-08")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--report", type=Path, default=None, help="also keep the full report JSON here")
    return parser


def sp500_run(args: argparse.Namespace) -> tuple[Any, dict[str, Any], float]:
    """The run on the S&P file with these settings, in a temporary data directory: the result, the model card
    and the seconds it took."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("jax", "py4j", "forecaster.data.sources", "forecaster.data.ingest"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = replace(ModelConfig(), epochs=args.epochs, patience=args.patience, batch_size=args.batch_size)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data_dir:
        result = run(
            RunOptions(
                source="csv",
                csv_paths=[str(args.csv)],
                on_bad_rows="drop",
                test_start=args.test_start,
                model=cfg,
                data_dir=Path(data_dir),
                verbose=2,
                report_path=args.report,
            )
        )
        card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    return result, card, time.perf_counter() - started


def _share(value: float | None) -> str:
    return "abstains" if value is None else f"{value:.3f}"


def main() -> int:
    result, card, seconds = sp500_run(arguments(__doc__).parse_args())
    summary = result.report["summary"]
    print(
        f"tickers={summary['tickers']} skipped={len(card['skipped_tickers'])} "
        f"hyper_parameters={json.dumps(card['hyper_parameters'])}"
    )
    print(
        f"training_s={card['training_seconds_all_folds']:.0f} "
        f"epochs_run={card['training']['global']['epochs_run']} "
        f"member_best_epochs={card['training']['global']['member_best_epochs']}"
        f" total_s={seconds:.0f}"
    )
    for step in summary["median_rmse_ratio_vs_naive"]:
        baselines = " ".join(
            f"{b}_median_ratio={r[step]:.4f}" for b, r in summary["baselines_median_rmse_ratio_vs_naive"].items()
        )
        print(
            f"step={step} median_ratio={summary['median_rmse_ratio_vs_naive'][step]:.4f} "
            f"share_beating_naive={_share(summary['share_beating_naive'][step])} "
            f"median_directional_accuracy={summary['median_directional_accuracy'][step]:.3f} "
            f"coverage_80={summary['median_coverage_80'][step]:.3f} "
            f"coverage_95={summary['median_coverage_95'][step]:.3f} {baselines}"
        )
    for step in summary["median_rmse_ratio_vs_naive"]:
        coverage = " ".join(
            f"{m}_coverage={c[step]['80']:.3f}/{c[step]['95']:.3f}"
            for m, c in summary["median_coverage_by_model"].items()
        )
        scores = " ".join(
            f"{m}_IS_ratio={r[step]['80']:.3f}/{r[step]['95']:.3f} "
            f"{m}_below_1={summary['share_interval_score_beating_naive'][m][step]['80']:.2f}/"
            f"{summary['share_interval_score_beating_naive'][m][step]['95']:.2f}"
            for m, r in summary["median_interval_score_ratio_vs_naive"].items()
        )
        print(f"step={step} bands 80/95: {coverage} {scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
