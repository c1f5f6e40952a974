"""The book's chapter-9 model reproduced honestly, beside naive, to show why it is not a forecast.

    python benchmarks/book_setup.py [--csv ../shared/data/AAPL.csv]

The Apache Spark Deep Learning Cookbook feeds the *same day's* Close (one timestep) to an
LSTM with one unit and predicts that day's Adj Close. Here: the same inputs, split at
2017-01-01, Min-Max scaling fitted on training rows only, then the test RMSE in scaled
units and in dollars, beside "tomorrow = today" on the same days. A second variant feeds
the *previous* day's Close instead, which is a real one-day-ahead forecast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import forecaster  # noqa: E402,F401  (Keras backend)

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "AAPL.csv"


def fit_book_model(x_train: np.ndarray, y_train: np.ndarray, epochs: int, seed: int) -> keras.Model:
    """One timestep, one LSTM unit, one dense output: the book's architecture."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((1, 1)), keras.layers.LSTM(1), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x_train[:, None, None], y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    prices = pd.read_csv(args.csv, parse_dates=["Date"])
    prices["PrevClose"] = prices["Close"].shift(1)
    prices = prices.dropna().reset_index(drop=True)
    train, test = prices[prices["Date"] < "2017-01-01"], prices[prices["Date"] >= "2017-01-01"]
    print(f"test days={len(test)} ({test['Date'].min():%Y-%m-%d}..{test['Date'].max():%Y-%m-%d})")
    first_naive = prices.loc[test.index[0] - 1, "Adj Close"]
    naive_all = np.sqrt(
        np.mean((test["Adj Close"].to_numpy() - np.r_[first_naive, test["Adj Close"].to_numpy()[:-1]]) ** 2)
    )
    print(f"naive (tomorrow = today) rmse_usd={naive_all:.4f}")
    variants = (
        ("book: same-day Close, scaler fitted on train rows", "Close", train),
        ("book: same-day Close, scaler fitted on all rows (leaks the test range)", "Close", prices),
        ("previous-day Close, scaler fitted on train rows", "PrevClose", train),
    )
    for name, column, scaler_rows in variants:
        lo = scaler_rows[["Close", "Adj Close"]].min().min()
        hi = scaler_rows[["Close", "Adj Close"]].max().max()

        def scale(v: pd.Series, lo: float = lo, hi: float = hi) -> np.ndarray:
            return ((v - lo) / (hi - lo)).to_numpy(np.float32)

        model = fit_book_model(scale(train[column]), scale(train["Adj Close"]), args.epochs, args.seed)
        predicted = model.predict(scale(test[column])[:, None, None], verbose=0)[:, 0]
        scaled_rmse = float(np.sqrt(np.mean((predicted - scale(test["Adj Close"])) ** 2)))
        dollars = predicted * (hi - lo) + lo
        usd_rmse = float(np.sqrt(np.mean((dollars - test["Adj Close"].to_numpy()) ** 2)))
        print(
            f"{name}: rmse_scaled={scaled_rmse:.4f} rmse_usd={usd_rmse:.4f} ratio_vs_naive={usd_rmse / naive_all:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
