"""The same preparation as ``forecaster.prepare.table``, in plain pandas and numpy, on one machine.

It exists to check the Spark code (tests compare the two on real prices) and as the
baseline that ``benchmarks/prepare.py`` measures Spark against. Use the Spark version
in the product: it is the one that scales past one machine's memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.columns import feature_column
from forecaster.prepare.splits import compute_bounds, label_positions, skip_reasons
from forecaster.prepare.table import PRICE_FIELDS, TARGET_SCALE_FEATURE


def _features(rows: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """Feature columns for one ticker's rows (sorted by date), same definitions as the Spark module."""
    adj, volume = rows["adj_close"], np.log1p(rows["volume"])
    out = pd.DataFrame(index=rows.index)
    definitions = {
        "log_return": lambda: np.log(adj / adj.shift(1)),
        "log_adj_close": lambda: np.log(adj),
        "open_rel": lambda: np.log(rows["open"] / rows["close"]),
        "high_rel": lambda: np.log(rows["high"] / rows["close"]),
        "low_rel": lambda: np.log(rows["low"] / rows["close"]),
        "range": lambda: np.log(rows["high"] / rows["low"]),
        "abs_return": lambda: np.log(adj / adj.shift(1)).abs(),
        "rv_5": lambda: np.sqrt((np.log(adj / adj.shift(1)) ** 2).rolling(5, min_periods=5).mean()),
        "rv_20": lambda: np.sqrt((np.log(adj / adj.shift(1)) ** 2).rolling(20, min_periods=20).mean()),
        "log_volume": lambda: volume,
        "volume_rel_20": lambda: volume - volume.rolling(20, min_periods=20).mean(),
        "ma_gap_5": lambda: np.log(adj / adj.rolling(5, min_periods=5).mean()),
        "ma_gap_20": lambda: np.log(adj / adj.rolling(20, min_periods=20).mean()),
        "ma_gap_50": lambda: np.log(adj / adj.rolling(50, min_periods=50).mean()),
    }
    for name in dict.fromkeys([*names, TARGET_SCALE_FEATURE]):
        out[name] = definitions[name]()
    out["has_prev"] = adj.shift(1).notna()
    return out


def prepare_pandas(prices: pd.DataFrame, *, lookback: int, horizon: int, test_start: str, val_share: float,
                   features: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Return (table, scaling statistics, bounds, skipped) as the Spark preparation computes them."""
    clean = prices.dropna(subset=["ticker", "date", *PRICE_FIELDS]).drop_duplicates(["ticker", "date"])
    positive = (clean[["open", "high", "low", "close", "adj_close"]] > 0).all(axis=1) & (clean["volume"] >= 0)
    clean = clean[positive].sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    per_ticker = clean.groupby("ticker", group_keys=False)[list(PRICE_FIELDS)]
    featured = pd.concat([clean, per_ticker.apply(_features, names=features)], axis=1)
    featured = featured[featured["has_prev"]].dropna(subset=list(features)).drop(columns="has_prev")
    featured["pos"] = featured.groupby("ticker").cumcount()
    featured["first_adj"] = featured.groupby("ticker")["adj_close"].transform("first")
    per_ticker = featured.groupby("ticker").agg(
        n=("pos", "size"), first_date=("date", "min"), last_date=("date", "max"))
    per_ticker["a_test"] = featured[featured["date"] >= pd.Timestamp(test_start)].groupby("ticker")["pos"].min()
    bounds = compute_bounds(per_ticker.reset_index(), lookback, horizon, val_share)
    skipped = skip_reasons(bounds, test_start, lookback, horizon,
                            sorted(set(clean["ticker"]) - set(bounds["ticker"])))
    bounds = bounds[~bounds["ticker"].isin(skipped)].reset_index(drop=True)
    table = featured.merge(bounds[["ticker", "a_val", "a_test"]], on="ticker")
    table["split"] = label_positions(table["pos"].to_numpy(), table["a_val"].to_numpy(), table["a_test"].to_numpy(),
                                     lookback)
    names = list(dict.fromkeys([*features, TARGET_SCALE_FEATURE]))
    train = table[table["split"] == "train"].groupby("ticker")[names]
    stats = pd.concat([train.mean().add_suffix("_mean"), train.std(ddof=0).add_suffix("_std")], axis=1)
    for name in names:
        stats[f"{name}_std"] = stats[f"{name}_std"].replace(0.0, 1.0).fillna(1.0)
    table = table.merge(stats, left_on="ticker", right_index=True)
    for name in features:
        table[feature_column(name)] = (table[name] - table[f"{name}_mean"]) / table[f"{name}_std"]
    table["target_scale"] = table[f"{TARGET_SCALE_FEATURE}_std"]
    keep = ["ticker", "date", "pos", "split", "adj_close", "first_adj", "target_scale",
            *map(feature_column, features)]
    return table[keep].reset_index(drop=True), stats.reset_index(), bounds, skipped
