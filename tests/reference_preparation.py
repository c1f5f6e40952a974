"""The same preparation as ``forecaster.prepare.table``, in plain pandas and numpy, on one machine.

It exists to check the Spark code (tests compare the two on real prices) and as the
baseline that ``benchmarks/prepare.py`` measures Spark against. Use the Spark version
in the product: it is the one that scales past one machine's memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.columns import CROSS_SECTIONAL, feature_column
from forecaster.prepare.splits import MIN_TRAIN_WINDOWS, MIN_VAL_WINDOWS
from forecaster.prepare.table import (
    PRICE_FIELDS,
    TARGET_SCALE_FEATURE,
    VOLATILITY_DAYS,
    VOLATILITY_FLOOR,
)


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
        # Over the days there are while the history is shorter: the first row stands in for the one k days back.
        "return_60": lambda: np.log(adj / adj.shift(60).fillna(adj.iloc[0])),
        "return_120": lambda: np.log(adj / adj.shift(120).fillna(adj.iloc[0])),
        "return_250": lambda: np.log(adj / adj.shift(250).fillna(adj.iloc[0])),
        "high_52w_gap": lambda: np.log(adj / adj.rolling(250, min_periods=1).max()),
        "drift_250": lambda: np.log(adj / adj.shift(1)).rolling(250, min_periods=1).mean(),
        # Per ticker here; made cross-sectional in ``_cross_sectional``.
        "_return": lambda: np.log(adj / adj.shift(1)),
        "_volatility": lambda: np.sqrt(
            (np.log(adj / adj.shift(1)) ** 2).rolling(VOLATILITY_DAYS, min_periods=1).mean()
        ).clip(lower=VOLATILITY_FLOOR),
    }
    cross = [n for n in names if n in CROSS_SECTIONAL]
    names = (*[n for n in names if n not in CROSS_SECTIONAL], *(("_return", "_volatility") if cross else ()))
    for name in dict.fromkeys([*names, TARGET_SCALE_FEATURE]):
        out[name] = definitions[name]()
    out["has_prev"] = adj.shift(1).notna()
    return out


def _cross_sectional(featured: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """The features computed across the tickers of each day, from the per-ticker ``_return`` and ``_volatility``:
    the day's mean return, each ticker's return less it, its rank among the day's returns (0 .. 1, 0.5 alone)
    and the log of its volatility over the day's mean volatility."""
    day = featured.groupby("date")
    market_return = day["_return"].transform("mean")
    market_volatility = day["_volatility"].transform("mean")
    count = day["_return"].transform("count")
    rank = day["_return"].rank(method="min")
    definitions = {
        "market_return": lambda: market_return,
        "relative_return": lambda: featured["_return"] - market_return,
        "return_rank": lambda: ((rank - 1) / (count - 1)).where(count > 1, 0.5).where(featured["_return"].notna()),
        "volatility_relative": lambda: np.log(featured["_volatility"] / market_volatility),
    }
    out = featured.drop(columns=["_return", "_volatility"])
    for name in [n for n in names if n in CROSS_SECTIONAL]:
        out[name] = definitions[name]()
    return out


def _split_bounds(
    per_ticker: pd.DataFrame, lookback: int, horizon: int, val_share: float
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The split rule, written out here on its own (not ``forecaster.prepare.splits``, which it checks): the
    rows from ``lookback`` before the first test day on are the test split's; of the ``m`` rows before them, the
    last ``round(val_share * m)`` are validation targets, whose inputs reach ``lookback`` rows further back; the
    rest is training. A ticker without a test day, or with fewer windows (rows less lookback and horizon, plus
    one) than the thresholds, is left out."""
    rows, skipped = [], {}
    for ticker, n, a_test in zip(per_ticker["ticker"], per_ticker["n"], per_ticker["a_test"], strict=True):
        if pd.isna(a_test):
            skipped[ticker] = "no trading days on or after the test start"
            continue
        before_test = int(a_test) - lookback
        validation_targets = round(before_test * val_share)
        a_val = before_test - validation_targets
        train_rows, val_rows = a_val - lookback, validation_targets + lookback
        if (
            train_rows - lookback - horizon + 1 < MIN_TRAIN_WINDOWS
            or val_rows - lookback - horizon + 1 < MIN_VAL_WINDOWS
        ):
            skipped[ticker] = "too few days before the test start"
            continue
        rows.append({"ticker": ticker, "n": int(n), "a_val": a_val, "a_test": int(a_test)})
    return pd.DataFrame(rows), skipped


def prepare_pandas(
    prices: pd.DataFrame, *, lookback: int, horizon: int, test_start: str, val_share: float, features: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Return (table, scaling statistics, bounds, skipped) as the Spark preparation computes them."""
    clean = prices.dropna(subset=["ticker", "date", *PRICE_FIELDS]).drop_duplicates(["ticker", "date"])
    positive = (clean[["open", "high", "low", "close", "adj_close"]] > 0).all(axis=1) & (clean["volume"] >= 0)
    clean = clean[positive].sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    per_ticker = clean.groupby("ticker", group_keys=False)[list(PRICE_FIELDS)]
    featured = pd.concat([clean, per_ticker.apply(_features, names=features)], axis=1)
    if set(features) & set(CROSS_SECTIONAL):
        featured = _cross_sectional(featured, features)
    featured = featured[featured["has_prev"]].dropna(subset=list(features)).drop(columns="has_prev")
    featured["pos"] = featured.groupby("ticker").cumcount()
    featured["first_adj"] = featured.groupby("ticker")["adj_close"].transform("first")
    per_ticker = featured.groupby("ticker").agg(
        n=("pos", "size"), first_date=("date", "min"), last_date=("date", "max")
    )
    per_ticker["a_test"] = featured[featured["date"] >= pd.Timestamp(test_start)].groupby("ticker")["pos"].min()
    bounds, skipped = _split_bounds(per_ticker.reset_index(), lookback, horizon, val_share)
    skipped = {
        **{t: "too few days for the features" for t in sorted(set(clean["ticker"]) - set(featured["ticker"]))},
        **skipped,
    }
    table = featured.merge(bounds[["ticker", "a_val", "a_test"]], on="ticker")
    pos, a_val, a_test = table["pos"], table["a_val"], table["a_test"]
    table["split"] = np.select([pos >= a_test - lookback, pos >= a_val - lookback], ["test", "val"], "train")
    names = list(dict.fromkeys([*features, TARGET_SCALE_FEATURE]))
    train = table[table["split"] == "train"].groupby("ticker")[names]
    stats = pd.concat([train.mean().add_suffix("_mean"), train.std(ddof=0).add_suffix("_std")], axis=1)
    for name in names:
        stats[f"{name}_std"] = stats[f"{name}_std"].replace(0.0, 1.0).fillna(1.0)
    table = table.merge(stats, left_on="ticker", right_index=True)
    for name in features:
        table[feature_column(name)] = (table[name] - table[f"{name}_mean"]) / table[f"{name}_std"]
    table["target_scale"] = table[f"{TARGET_SCALE_FEATURE}_std"]
    keep = ["ticker", "date", "pos", "split", "adj_close", "first_adj", "target_scale", *map(feature_column, features)]
    return table[keep].reset_index(drop=True), stats.reset_index(), bounds, skipped
