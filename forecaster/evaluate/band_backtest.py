"""Do the bands keep their promise the way risk managers check it? Each tail as a value-at-risk forecast.

A band's lower (upper) end is a forecast that the price falls below (above) it with the tail's probability: 10%
for each end of the 80% band, 2.5% for the 95% band's. Every test day is one trial; a day beyond the end is an
*exception*. For each tail of each banded forecast (``lstm``, ``naive``, ``garch``), per ticker and step:

- the exception count and the days;
- **Kupiec's proportion-of-failures test** (1995): is the share of exceptions the tail's probability? A
  likelihood ratio, chi-squared with 1 degree of freedom;
- **Christoffersen's tests** (1998): are exceptions independent of the day before's (a first-order Markov chain
  against independence; chi-squared, 1 degree of freedom), and the conditional-coverage test of both at once
  (the sum of the two ratios; 2 degrees of freedom);
- **the traffic light** of the Basel backtesting framework (1996), at the tail's own probability: green when the
  binomial probability of seeing at most this many exceptions is below 0.95, yellow below 0.9999, red otherwise
  (for 250 days at 1%: 0-4 green, 5-9 yellow, 10 or more red).

For a step h > 1 the forecasts overlap (h - 1 days of every window are shared), so exceptions cluster by
construction and the independence test rejects more often: read it at step 1. No maintained package implements
these tests; the formulas are short, written with ``scipy.stats``, and tested against the published tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from forecaster.columns import LEVELS, bound_column
from forecaster.evaluate.metrics import series_starts, sort_series, sum_by_series
from forecaster.evaluate.records import records

#: The banded forecasts whose tails are backtested.
MODELS: tuple[str, ...] = ("lstm", "naive", "garch")
#: Each tail by name: (level, side).
TAILS: dict[str, tuple[int, str]] = {f"{side}{level}": (level, side) for level in LEVELS for side in ("lo", "hi")}
ZONES: tuple[str, ...] = ("green", "yellow", "red")


def tail_probability(level: int) -> float:
    """The probability of an exception beyond one end of a central band of ``level`` percent.

    Example:
        >>> tail_probability(80), tail_probability(95)
        (0.1, 0.025)
    """
    return round((1 - level / 100) / 2, 10)


def _log_likelihood(hits: np.ndarray, misses: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """``misses * ln(1 - p) + hits * ln(p)``, with 0 * ln(0) = 0 (arrays)."""
    return special.xlogy(misses, 1 - p) + special.xlogy(hits, p)


def kupiec_lr(exceptions: ArrayLike, days: ArrayLike, p: float) -> np.ndarray:
    """Kupiec's likelihood ratio ``-2 ln[(1-p)^(n-x) p^x / ((1-x/n)^(n-x) (x/n)^x)]`` (arrays)."""
    x, n = np.asarray(exceptions, np.float64), np.asarray(days, np.float64)
    share = np.divide(x, n, out=np.zeros_like(x), where=n > 0)
    return np.maximum(0.0, -2 * (_log_likelihood(x, n - x, p) - _log_likelihood(x, n - x, share)))


def kupiec_pof(exceptions: int, days: int, p: float) -> float | None:
    """Kupiec's proportion-of-failures p-value: ``kupiec_lr``, chi-squared with 1 degree of freedom; None
    without days.

    Example:
        >>> round(kupiec_pof(6, 252, 0.01), 3) > 0.05, round(kupiec_pof(7, 252, 0.01), 3) < 0.05  # Jorion's table
        (True, True)
    """
    return None if days <= 0 else float(stats.chi2.sf(kupiec_lr(exceptions, days, p), 1))


def transitions(hits: np.ndarray) -> tuple[int, int, int, int]:
    """``n00, n01, n10, n11``: the days with no exception after none, an exception after none, none after an
    exception, an exception after an exception.

    Example:
        >>> transitions(np.array([0, 1, 1, 0, 0, 1]))
        (1, 2, 1, 1)
    """
    h = np.asarray(hits, bool)
    before, after = h[:-1], h[1:]
    return (
        int(np.sum(~before & ~after)),
        int(np.sum(~before & after)),
        int(np.sum(before & ~after)),
        int(np.sum(before & after)),
    )


def independence_lr(n00: ArrayLike, n01: ArrayLike, n10: ArrayLike, n11: ArrayLike) -> np.ndarray:
    """Christoffersen's likelihood ratio of a first-order Markov chain of exceptions against independence, from
    the transition counts (arrays)."""
    n00, n01, n10, n11 = (np.asarray(v, np.float64) for v in (n00, n01, n10, n11))
    after_none, after_one, pairs = n00 + n01, n10 + n11, n00 + n01 + n10 + n11
    pi0 = np.divide(n01, after_none, out=np.zeros_like(n01), where=after_none > 0)
    pi1 = np.divide(n11, after_one, out=np.zeros_like(n11), where=after_one > 0)
    pi = np.divide(n01 + n11, pairs, out=np.zeros_like(pairs), where=pairs > 0)
    null = _log_likelihood(n01 + n11, n00 + n10, pi)
    markov = _log_likelihood(n01, n00, pi0) + _log_likelihood(n11, n10, pi1)
    return np.maximum(0.0, -2 * (null - markov))


def christoffersen(hits: np.ndarray, p: float) -> tuple[float | None, float | None]:
    """Christoffersen's independence and conditional-coverage p-values of a day-by-day exception series: the
    first-order Markov chain of exceptions against independence (``LR_ind``, chi-squared 1), and ``LR_ind`` plus
    Kupiec's ``LR_pof`` (chi-squared 2). (None, None) for fewer than two days.

    Example:
        >>> p_ind, p_cc = christoffersen(np.array([0] * 95 + [1] * 5), 0.05)  # five exceptions in a row
        >>> p_ind < 0.01
        True
    """
    h = np.asarray(hits, bool)
    if len(h) < 2:
        return None, None
    lr_ind = independence_lr(*transitions(h))
    lr_pof = kupiec_lr(int(h.sum()), len(h), p)
    return float(stats.chi2.sf(lr_ind, 1)), float(stats.chi2.sf(lr_pof + lr_ind, 2))


def zones(exceptions: np.ndarray, days: np.ndarray, p: float) -> np.ndarray:
    """The Basel zone of each count (arrays): green below a cumulative binomial probability of 0.95, yellow
    below 0.9999, red above."""
    cumulative = stats.binom.cdf(exceptions, days, p)
    return np.where(cumulative < 0.95, "green", np.where(cumulative < 0.9999, "yellow", "red"))


def traffic_light(exceptions: int, days: int, p: float) -> str | None:
    """The Basel zone of ``exceptions`` in ``days`` at tail probability ``p``: green, yellow or red.

    Example:
        >>> [traffic_light(x, 250, 0.01) for x in (4, 5, 9, 10)]  # the Basel Committee's table (1996)
        ['green', 'yellow', 'yellow', 'red']
    """
    return None if days <= 0 else str(zones(np.array([exceptions]), np.array([days]), p)[0])


def backtest(actual: np.ndarray, bound: np.ndarray, side: str, level: int) -> dict[str, Any]:
    """One tail's backtest over days in time order: exceptions, Kupiec's and Christoffersen's p-values, the zone."""
    keep = ~(np.isnan(actual) | np.isnan(bound))
    y, b = actual[keep], bound[keep]
    hits = y < b if side == "lo" else y > b
    p = tail_probability(level)
    x, n = int(hits.sum()), int(len(hits))
    p_ind, p_cc = christoffersen(hits, p)
    return {
        "days": n,
        "exceptions": x,
        "expected": round(p * n, 2),
        "kupiec_p": kupiec_pof(x, n, p),
        "christoffersen_ind_p": p_ind,
        "christoffersen_cc_p": p_cc,
        "zone": traffic_light(x, n, p),
    }


#: The fields of one tail's backtest.
FIELDS = ("days", "exceptions", "expected", "kupiec_p", "christoffersen_ind_p", "christoffersen_cc_p", "zone")


def backtests(predictions: pd.DataFrame, series: tuple[np.ndarray, pd.MultiIndex] | None = None) -> pd.DataFrame:
    """Every tail of every banded forecast, per ticker and step, for the whole backtest at once (vectorised:
    the cost grows with the rows): one row per (ticker, step, model, tail) with ``FIELDS``; the same numbers
    as ``backtest`` on each series. ``series``: the rows' ``metrics.series_groups`` when they are already in
    ``sort_series``' order and numbered from 0."""
    if series is None:
        rows, group, index = sort_series(predictions)
    else:
        rows, (group, index) = predictions, series
    same_series = np.r_[False, group[1:] == group[:-1]]
    starts = series_starts(group, len(index))
    actual = rows["actual"].to_numpy(np.float64)
    frames = []
    for model in MODELS:
        for tail, (level, side) in TAILS.items():
            column = bound_column(level, side, model)
            if column not in rows or rows[column].isna().all():
                continue
            bound = rows[column].to_numpy(np.float64)
            valid = ~(np.isnan(actual) | np.isnan(bound))
            hit = valid & ((actual < bound) if side == "lo" else (actual > bound))
            # A pair of days: this day and the one before it, both valid, in the same (ticker, step) series.
            pair = valid & np.r_[False, valid[:-1]] & same_series
            before = np.r_[False, hit[:-1]]
            flags = {
                "days": valid,
                "exceptions": hit,
                "n00": pair & ~before & ~hit,
                "n01": pair & ~before & hit,
                "n10": pair & before & ~hit,
                "n11": pair & before & hit,
            }
            counts = pd.DataFrame(
                {name: sum_by_series(flag, group, len(index), starts) for name, flag in flags.items()}, index
            )
            p = tail_probability(level)
            n, x = counts["days"].to_numpy(), counts["exceptions"].to_numpy()
            lr_pof = kupiec_lr(x, n, p)
            lr_ind = independence_lr(counts["n00"], counts["n01"], counts["n10"], counts["n11"])
            enough = n >= 2
            frames.append(
                pd.DataFrame(
                    {
                        "ticker": counts.index.get_level_values(0),
                        "step": counts.index.get_level_values(1).astype(int),
                        "model": model,
                        "tail": tail,
                        "days": n,
                        "exceptions": x,
                        "expected": np.round(p * n, 2),
                        "kupiec_p": np.where(n > 0, stats.chi2.sf(lr_pof, 1), np.nan),
                        "christoffersen_ind_p": np.where(enough, stats.chi2.sf(lr_ind, 1), np.nan),
                        "christoffersen_cc_p": np.where(enough, stats.chi2.sf(lr_pof + lr_ind, 2), np.nan),
                        "zone": np.where(n > 0, zones(x, n, p), np.array(None, dtype=object)),
                    }
                )
            )
    columns = ["ticker", "step", "model", "tail", *FIELDS]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def as_entries(table: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, dict[str, Any]]]:
    """``backtests``' rows as the report's ``bands`` entries: ``{(ticker, step, model): {tail: fields}}``."""
    out: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for row in records(table):
        fields = {f: row[f] for f in FIELDS}
        fields["days"], fields["exceptions"] = int(fields["days"]), int(fields["exceptions"])
        fields["expected"] = float(fields["expected"])
        out.setdefault((str(row["ticker"]), str(int(row["step"])), str(row["model"])), {})[str(row["tail"])] = fields
    return out


def zone_shares(table: pd.DataFrame) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Across tickers, per model, step and tail: the share of tickers in each zone (``table``: ``backtests``'
    rows; a tail without a zone, with no day to test, is not counted)."""
    zoned = table[table["zone"].notna()]
    counts = zoned.groupby(["model", "step", "tail", "zone"], sort=False).size()
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for (model, step, tail), by_zone in counts.groupby(level=[0, 1, 2], sort=False):
        tally = {zone: int(by_zone.get((model, step, tail, zone), 0)) for zone in ZONES}
        total = max(1, sum(tally.values()))
        out.setdefault(str(model), {}).setdefault(str(int(step)), {})[str(tail)] = {
            zone: n / total for zone, n in tally.items()
        }
    return out
