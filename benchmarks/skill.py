"""Is the forecast worth acting on? Significance, ranking skill, a portfolio net of costs and the band backtests.

    python benchmarks/skill.py [--csv ../shared/data/all_stocks_5yr.csv] [--epochs 10] [--batch-size 256]

Runs the S&P 500 universe with the settings of ``benchmarks/sp500.py`` (test year 2017-02-08 .. 2018-02-07),
then prints, per step: the share of tickers significantly better and worse than naive (Diebold-Mariano, 5%,
Benjamini-Hochberg); one line per signal (the LSTM, the random walk with drift, GARCH's mean and the factor
anchors) with its Rank IC, t-statistic (and Newey-West's), and its long-short decile portfolio's annual return
and information ratio net of the cost; and the share of tickers whose bands are in each Basel zone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sp500 import arguments, sp500_run  # noqa: E402


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> int:
    result, _, seconds = sp500_run(arguments(__doc__).parse_args())
    summary = result.report["summary"]
    print(f"tickers={summary['tickers']} total_s={seconds:.0f}")
    cross, held = summary.get("cross_section", {}), summary.get("portfolio", {})
    if "absent" in cross:
        print(f"cross-section absent: {cross['absent']}")
    for step, tests in summary["significance"].items():
        print(
            f"step={step} better={tests['share_better']:.3f} worse={tests['share_worse']:.3f} "
            f"abstains={tests['share_abstains']:.3f} in_mcs_90={tests['share_in_mcs_90']:.3f}"
        )
        for signal, stats in cross.get(step, {}).items():
            rank = stats["rank_ic"]
            money = held.get(step, {}).get(signal, {})
            print(
                f"  signal={signal:<13} rank_ic={_number(rank['mean'], '+.4f')} t={_number(rank['t'], '+.2f')} "
                f"t_nw={_number(rank['t_nw'], '+.2f')} icir={_number(rank['icir'], '+.3f')} "
                f"ls_net_annual={_number(money.get('annual_return_net'), '+.3f')} "
                f"ls_net_ir={_number(money.get('ir_net'), '+.2f')} "
                f"ls_gross_annual={_number(money.get('annual_return_gross'), '+.3f')} "
                f"turnover={_number(money.get('turnover'), '.2f')}"
            )
        universe = held.get(step, {}).get("universe", {})
        print(
            f"  signal=universe      annual={_number(universe.get('annual_return_net'), '+.3f')} "
            f"ir={_number(universe.get('ir_net'), '+.2f')}"
        )
        for model, steps in summary["band_zones"].items():
            zones = " ".join(
                f"{tail}:{z['green']:.2f}/{z['yellow']:.2f}/{z['red']:.2f}" for tail, z in steps.get(step, {}).items()
            )
            print(f"  zones green/yellow/red {model:<6} {zones}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
