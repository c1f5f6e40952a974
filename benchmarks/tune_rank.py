"""Does a model trained to rank stocks rank them better? Settings of the ranking model compared on validation days
only (the test period is never cut).

    python benchmarks/tune_rank.py [--csv ../shared/data/all_stocks_5yr.csv] [--sets default both]
                                   [--units 32] [--losses mse ic] [--epochs 6]

Prepares the universe once per feature set with Spark (test start 2017-02-08, as ``benchmarks/sp500.py``),
trains the ranking model (``forecaster.model.ranking``) with each loss on the training windows' rank-normalised
changes (``ic``: one origin day a batch; ``mse``: shuffled batches of ``--batch-size``), and
prints, after every epoch, per step the Rank IC across tickers of its scores with the realised change on the
validation windows (mean over the validation origin days and its t-statistic), and the validation loss. The
quantile network's median on the same days is in ``benchmarks/tune_features.py``'s output.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tune_features import DEFAULT_CSV, SETS, fmt, validation_windows  # noqa: E402

from forecaster.columns import RANK_SIGNAL  # noqa: E402
from forecaster.config import ModelConfig  # noqa: E402
from forecaster.evaluate import cross_section  # noqa: E402
from forecaster.model import network, ranking  # noqa: E402
from forecaster.prepare.windows import Windows, window_dataset  # noqa: E402


def score_rank_ic(val: Windows, scores: np.ndarray) -> dict[int, dict[str, float | None]]:
    """Per step: the Rank IC summary (``cross_section.summary``) of ``scores`` (n, horizon) against the realised
    change, over the validation days."""
    frames = [
        pd.DataFrame(
            {
                "ticker": val.ticker.astype(str),
                "origin_date": val.origin_date,
                "step": step + 1,
                "realised": np.expm1(val.y[:, step] * val.target_scale),
                RANK_SIGNAL: scores[:, step],
            }
        )
        for step in range(val.horizon)
    ]
    summary = cross_section.summary(cross_section.daily_ic(pd.concat(frames, ignore_index=True)))
    return {int(step): by[RANK_SIGNAL]["rank_ic"] for step, by in summary.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=["default", "both"])
    parser.add_argument("--units", nargs="+", type=int, default=[ModelConfig().units])
    parser.add_argument("--losses", nargs="+", choices=ranking.LOSSES, default=list(ranking.LOSSES))
    parser.add_argument("--test-start", default="2017-02-08")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=ModelConfig().seed)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each epoch's line as it comes
    logging.basicConfig(level=logging.ERROR)
    base = ModelConfig()
    for name, prepared, train, val in validation_windows(args.csv, args.sets, args.test_start, base):
        features = prepared.features
        train_ranked, val_ranked = (replace(w, y=ranking.rank_targets(w)) for w in (train, val))
        for units, loss in ((u, loss) for u in args.units for loss in args.losses):
            cfg = replace(base, units=units, seed=args.seed, batch_size=args.batch_size)
            network.seed_everything(cfg.seed)
            model = ranking.build_model(len(features), cfg, loss)
            if loss == "ic":
                feed = ranking.day_dataset(train, train_ranked.y, shuffle=True, seed=cfg.seed)
                checked = ranking.day_dataset(val, val_ranked.y)
            else:
                feed = window_dataset(train_ranked, cfg.batch_size, shuffle=True, seed=cfg.seed)
                checked = window_dataset(val_ranked, 4096)
            print(f"{name} ({len(features)} features), {units} units, loss {loss}: {len(train)} windows")
            for epoch in range(1, args.epochs + 1):
                model.fit(feed, epochs=1, verbose=0)
                val_loss = float(model.evaluate(checked, verbose=0))
                scores = np.asarray(model.predict(window_dataset(val, 4096), verbose=0))
                parts = [
                    f"step {step} {fmt(ic['mean'], '+.4f')} (t {fmt(ic['t'], '.1f')})"
                    for step, ic in score_rank_ic(val, scores).items()
                ]
                print(f"  epoch {epoch}: val_loss {val_loss:.5f}; validation Rank IC " + ", ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
