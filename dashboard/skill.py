"""The Skill tab, pure: does the forecast rank stocks, would trading on it have paid, do its bands keep their promise.

Figures and rows from a run's ``cross_section.parquet`` and ``portfolio.parquet`` (the daily values) and its
report (``summary.cross_section``, ``summary.portfolio``, each entry's ``bands``), so that the page shows the
numbers the report holds. No Dash, no I/O.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures import ahead, day_strings
from dashboard.theme import COLORS, FONT, display_name
from forecaster.evaluate.cross_section import ROLLING_DAYS, rolling_mean

_COMMON = {
    "template": "plotly_white",
    "font": {"family": FONT},
    "hovermode": "x unified",
    "hoverlabel": {"namelength": -1},
    "legend": {"orientation": "h", "y": -0.15, "yanchor": "top", "x": 0},
}


def absent(report: dict[str, Any]) -> str | None:
    """Why the run has no cross-sectional skill (too few tickers), or None when it has."""
    cross = report.get("summary", {}).get("cross_section")
    if cross is None:
        return "this run was made before the cross-sectional tests: run it again to see them"
    return cross.get("absent")


def signals_of(report: dict[str, Any], step: int) -> list[str]:
    """The signals the report's cross-section holds at ``step``, in its order."""
    return [s for s in report["summary"].get("cross_section", {}).get(str(step), {})]


def signal_rows(report: dict[str, Any], step: int) -> list[dict[str, Any]]:
    """One row per signal at ``step``: Rank IC and IC statistics, and its long-short portfolio net of costs."""
    summary = report["summary"]
    held = summary.get("portfolio", {}).get(str(step), {})
    rows = []
    for signal, stats in summary.get("cross_section", {}).get(str(step), {}).items():
        rank, ic, money = stats["rank_ic"], stats["ic"], held.get(signal, {})
        rows.append(
            {
                "signal": signal,
                "name": display_name(signal),
                "rank_ic": rank["mean"],
                "rank_ic_t": rank["t"],
                "rank_ic_t_nw": rank["t_nw"],
                "rank_icir": rank["icir"],
                "rank_ic_positive": rank["share_positive"],
                "ic": ic["mean"],
                "days": rank["days"],
                "annual_return_net": money.get("annual_return_net"),
                "annual_return_gross": money.get("annual_return_gross"),
                "ir_net": money.get("ir_net"),
                "max_drawdown": money.get("max_drawdown"),
                "turnover": money.get("turnover"),
            }
        )
    universe = held.get("universe")
    if universe:
        rows.append(
            {
                "signal": "universe",
                "name": display_name("universe"),
                "annual_return_net": universe.get("annual_return_net"),
                "annual_return_gross": universe.get("annual_return_gross"),
                "ir_net": universe.get("ir_net"),
                "max_drawdown": universe.get("max_drawdown"),
                "turnover": universe.get("turnover"),
            }
        )
    return rows


def band_rows(report: dict[str, Any], step: int) -> list[dict[str, Any]]:
    """One row per ticker, banded model and tail at ``step``: the band backtest of the report's entry."""
    rows = []
    for ticker, entry in sorted(report["tickers"].items()):
        for model, fields in entry["metrics"].get(str(step), {}).items():
            for tail, result in (fields.get("bands") or {}).items():
                rows.append(
                    {
                        "id": f"{ticker}|{model}|{tail}",
                        "ticker": ticker,
                        "model": display_name(model),
                        "tail": tail,
                        **{
                            k: result.get(k)
                            for k in (
                                "days",
                                "exceptions",
                                "expected",
                                "kupiec_p",
                                "christoffersen_ind_p",
                                "christoffersen_cc_p",
                                "zone",
                            )
                        },
                    }
                )
    return rows


def zone_rows(report: dict[str, Any], step: int) -> list[dict[str, Any]]:
    """The share of tickers in each zone at ``step``, per model and tail (``summary.band_zones``)."""
    rows = []
    for model, steps in report["summary"].get("band_zones", {}).items():
        for tail, shares in steps.get(str(step), {}).items():
            rows.append({"model": display_name(model), "tail": tail, **shares})
    return rows


def rank_ic_figure(daily: pd.DataFrame, step: int, signal: str) -> go.Figure:
    """The daily Rank IC of ``signal`` at ``step`` as bars, with its rolling mean; and every signal's cumulative
    Rank IC below (a steady climb is skill; a drift about 0 is none)."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45], vertical_spacing=0.08)
    at = daily[daily["step"] == step]
    mine = rolling_mean(at[at["signal"] == signal])
    dates = day_strings(mine["origin_date"])
    colour = COLORS.get(signal, COLORS["actual"])
    figure.add_trace(
        go.Bar(
            x=dates,
            y=mine["rank_ic"],
            name=f"{display_name(signal)}: Rank IC of the day",
            marker={"color": colour, "opacity": 0.35},
            hovertemplate="%{y:.3f}",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=mine["rank_ic_mean"],
            name=f"its {ROLLING_DAYS}-day mean",
            mode="lines",
            line={"color": colour, "width": 2.2},
            hovertemplate="%{y:.3f}",
        ),
        row=1,
        col=1,
    )
    for name, rows in at.groupby("signal", sort=False):
        line = rolling_mean(rows)
        figure.add_trace(
            go.Scatter(
                x=day_strings(line["origin_date"]),
                y=line["rank_ic_cumulative"],
                mode="lines",
                name=f"{display_name(str(name))}: cumulative",
                line={"color": COLORS.get(str(name), COLORS["actual"]), "width": 2.4 if name == signal else 1.3},
                hovertemplate="%{y:.2f}",
            ),
            row=2,
            col=1,
        )
    figure.update_layout(
        title={"text": f"Ranking stocks {ahead(step)}: Rank IC across tickers, day by day", "font": {"size": 15}},
        height=560,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        bargap=0,
        **_COMMON,
    )
    figure.update_yaxes(title_text="Rank IC", tickformat=".2f", row=1, col=1)
    figure.update_yaxes(title_text="cumulative Rank IC", tickformat=".1f", row=2, col=1)
    figure.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]}])
    return figure


def equity_figure(daily: pd.DataFrame, step: int, signal: str, cost_bps: float) -> go.Figure:
    """The long-short decile portfolios' growth of 1 at ``step``: every signal net of costs, ``signal`` also gross,
    the equal-weight universe; and ``signal``'s drawdown below."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06)
    at = daily[daily["step"] == step].sort_values("date")
    for name, rows in at.groupby("signal", sort=False):
        name = str(name)
        dates = day_strings(rows["date"])
        colour = COLORS.get(name, COLORS["actual"])
        chosen = name == signal
        if chosen:
            figure.add_trace(
                go.Scatter(
                    x=dates,
                    y=np.cumprod(1 + rows["gross"].to_numpy()),
                    mode="lines",
                    name=f"{display_name(name)}, before costs",
                    line={"color": colour, "width": 1.5, "dash": "dash"},
                    hovertemplate="%{y:.3f}",
                ),
                row=1,
                col=1,
            )
        growth = np.cumprod(1 + rows["net"].to_numpy())
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=growth,
                mode="lines",
                name=display_name(name) + ("" if name == "universe" else f", net of {cost_bps:g} bp"),
                line={
                    "color": colour,
                    "width": 2.4 if chosen else 1.2,
                    "dash": "dot" if name == "universe" else "solid",
                },
                hovertemplate="%{y:.3f}",
            ),
            row=1,
            col=1,
        )
        if chosen:
            drawdown = growth / np.maximum.accumulate(growth) - 1
            figure.add_trace(
                go.Scatter(
                    x=dates,
                    y=drawdown,
                    mode="lines",
                    fill="tozeroy",
                    name="its drawdown",
                    line={"color": COLORS["down"], "width": 1},
                    hovertemplate="%{y:.1%}",
                ),
                row=2,
                col=1,
            )
    figure.add_hline(y=1.0, line={"color": COLORS["actual"], "dash": "dash", "width": 1}, row=1, col=1)
    figure.update_layout(
        title={
            "text": f"Long-short deciles {ahead(step)}: growth of 1<br><sup>long the tenth of "
            f"tickers forecast to rise most, short the tenth forecast to fall most, held "
            f"{step} day{'s' if step > 1 else ''}</sup>",
            "font": {"size": 15},
        },
        height=560,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        **_COMMON,
    )
    figure.update_yaxes(title_text="growth of 1", tickformat=".2f", row=1, col=1)
    figure.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    figure.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]}])
    return figure
