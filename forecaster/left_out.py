"""Tickers a job leaves out, said so that a person reads it: a line per ticker when there are few, and for a
universe of thousands a count per reason with a few names (the model card keeps every ticker's reason).

Example:
    >>> reasons = {"A": "only 8 days", "B": "only 9 days", "C": "constant"}
    >>> summary_lines(reasons, few=2)
    ['2 tickers (A, B), e.g. A: only 8 days', '1 ticker (C): constant']
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from typing import Any

#: Up to this many tickers, each is named on its own line; beyond, reasons are counted.
FEW = 10
#: Names shown beside a counted reason.
NAMES_SHOWN = 8


def kind(reason: str) -> str:
    """A reason without its numbers and dates, so that the same cause on different tickers counts once.

    Example:
        >>> kind("its adjusted close changes on only 8 of 900 training days (it needs 20: an illiquid stock)")
        'its adjusted close changes on only … of … training days (it needs …: an illiquid stock)'
    """
    return re.sub(r"\d[\d,.%:-]*\d%?|\d%?", "…", reason)


def summary_lines(reasons: dict[str, str], few: int = FEW) -> list[str]:
    """One line per ticker for ``few`` or fewer, else one line per kind of reason: its count, first names and the
    first one's own reason."""
    if len(reasons) <= few:
        return [f"{ticker}: {why}" for ticker, why in reasons.items()]
    grouped: dict[str, list[str]] = defaultdict(list)
    for ticker, why in reasons.items():
        grouped[kind(why)].append(ticker)
    lines = []
    for tickers in sorted(grouped.values(), key=len, reverse=True):
        shown = ", ".join(tickers[:NAMES_SHOWN]) + (", …" if len(tickers) > NAMES_SHOWN else "")
        example = f"e.g. {tickers[0]}: " if len(tickers) > 1 else ""
        lines.append(
            f"{len(tickers)} ticker{'s' if len(tickers) != 1 else ''} ({shown}){',' if example else ':'} "
            f"{example}{reasons[tickers[0]]}"
        )
    return lines


def warn(log: logging.Logger, action: str, reasons: dict[str, str], where: str = "the model card") -> None:
    """Log the tickers ``action`` (e.g. "skipping") leaves out: each on a warning line when they are few; else one
    warning per kind of reason, and each ticker's own reason at DEBUG (shown with ``--verbose``)."""
    if not reasons:
        return
    if len(reasons) <= FEW:
        for ticker, why in reasons.items():
            log.warning("%s %s: %s", action, ticker, why)
        return
    log.warning("%s %d tickers (each one's reason is in %s):", action, len(reasons), where)
    for line in summary_lines(reasons):
        log.warning("  %s", line)
    for ticker, why in reasons.items():
        log.debug("%s %s: %s", action, ticker, why)


def card_lines(card: dict[str, Any]) -> list[str]:
    """The tickers a run left out, from its model card: those skipped before training and those whose model
    failed, each group headed by its count."""
    lines = []
    for label, reasons in (
        ("skipped", card.get("skipped_tickers") or {}),
        ("failed", card.get("failed_tickers") or {}),
    ):
        if reasons:
            lines.append(f"{label} {len(reasons)} ticker{'s' if len(reasons) != 1 else ''}:")
            lines.extend(f"  {line}" for line in summary_lines(reasons))
    return lines
