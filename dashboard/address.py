"""The page's address holds its view: ``/?run=<id>&ticker=MSFT&step=3&tab=compare&range=6M``.

A copied address opens the same view in a fresh page: the run, the ticker, the forecast step, the tab, the
price chart's date range (a range button's label, or ``YYYY-MM-DD..YYYY-MM-DD`` after a zoom) and the Compare
tab's measure. The page writes it back as a person moves (``history.replaceState``, no reload). Everything in it
comes from a browser, so it is parsed leniently and checked against the run: anything unknown falls back to
the default instead of failing the page. Pure functions, no Dash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd

if TYPE_CHECKING:
    from dashboard.reader import RunView

#: The page's tabs, by the name the address uses.
TABS: tuple[str, ...] = ("ticker", "compare", "skill", "track", "jobs")
#: The price chart's range buttons, in the order they are drawn.
RANGE_BUTTONS: tuple[str, ...] = ("1M", "6M", "YTD", "1Y", "All")
#: The chart opens on this range: the last six months, so the forecast is in view.
DEFAULT_RANGE = "6M"
#: What the Compare tab ranks tickers by, with the name a person reads.
COMPARE_MEASURES = {
    "rmse": "RMSE",
    "interval_score_80": "80% interval score",
    "interval_score_95": "95% interval score",
}
_DAYS = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Address:
    """One view of the dashboard. ``run`` None is the latest run; ``ticker`` None the run's first ticker."""

    run: str | None = None
    ticker: str | None = None
    step: int = 1
    tab: str = "ticker"
    range: str = DEFAULT_RANGE
    measure: str = "rmse"


def parse(search: str | None) -> Address:
    """The view named by an address's query string; values that cannot be read are left at their default.

    Example:
        >>> parse("?run=20990101T000000Z-aaaaaa&ticker=MSFT&step=3&tab=compare&range=1Y")
        Address(run='20990101T000000Z-aaaaaa', ticker='MSFT', step=3, tab='compare', range='1Y', measure='rmse')
        >>> parse("?step=banana&tab=../etc&range=1W").step, parse("?tab=nope").tab, parse("?range=1W").range
        (1, 'ticker', '6M')
    """
    try:
        query = parse_qs(str(search or "").lstrip("?")[:2000], max_num_fields=20)
    except ValueError:  # more fields than any address of the page has: not one of ours
        query = {}
    first = {key: values[0][:80] for key, values in query.items() if values}
    step = first.get("step", "")
    return Address(
        run=first.get("run") or None,
        ticker=first.get("ticker") or None,
        step=int(step) if step.isdigit() and 0 < int(step) < 1000 else 1,
        tab=first["tab"] if first.get("tab") in TABS else "ticker",
        range=first["range"] if _is_range(first.get("range")) else DEFAULT_RANGE,
        measure=first["measure"] if first.get("measure") in COMPARE_MEASURES else "rmse",
    )


def _is_range(value: str | None) -> bool:
    if value in RANGE_BUTTONS:
        return True
    match = _DAYS.match(value or "")
    if not match:
        return False
    try:
        start, end = (pd.Timestamp(day) for day in match.groups())
    except ValueError:
        return False
    return start < end


def referrer_search(referrer: str | None) -> str | None:
    """The query string of the page a request came from (its ``Referer``), "" for none, None when unknown.

    Example:
        >>> referrer_search("http://127.0.0.1:8050/?run=x&ticker=MSFT")
        '?run=x&ticker=MSFT'
        >>> referrer_search("http://127.0.0.1:8050/"), referrer_search(None)
        ('', None)
    """
    if not referrer:
        return None
    query = urlsplit(referrer).query
    return f"?{query}" if query else ""


def resolve(address: Address, view: RunView) -> Address:
    """``address`` made valid for ``view``: its run, a ticker of the run (else the first), a step within the
    horizon (else 1)."""
    ticker = address.ticker if address.ticker in view.tickers else view.tickers[0]
    step = address.step if 1 <= address.step <= view.horizon else 1
    return replace(address, run=view.run_id, ticker=ticker, step=step)


def search(address: Address) -> str:
    """The query string of ``address``: the run and ticker always, the rest only when not the default.

    Example:
        >>> search(Address(run="20990101T000000Z-aaaaaa", ticker="MSFT", step=3, tab="compare"))
        '?run=20990101T000000Z-aaaaaa&ticker=MSFT&step=3&tab=compare'
    """
    default = Address()
    pairs = {"run": address.run, "ticker": address.ticker}
    for key in ("step", "tab", "range", "measure"):
        if getattr(address, key) != getattr(default, key):
            pairs[key] = getattr(address, key)
    return "?" + urlencode({k: v for k, v in pairs.items() if v is not None}, safe="-.")


def _months_back(end: pd.Timestamp, months: int) -> pd.Timestamp:
    # As Plotly's range buttons count (d3's utcMonth.offset, JavaScript's setUTCMonth): the same day of an
    # earlier month, a day past that month's end overflowing into the next (31 March less one month: 3 March).
    month = end.year * 12 + end.month - 1 - months
    first = pd.Timestamp(year=month // 12, month=month % 12 + 1, day=1)
    return first + pd.Timedelta(days=end.day - 1, hours=end.hour, minutes=end.minute)


def x_range(label: str, first: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The price chart's date range for a range label (a button's, or ``start..end``), as Plotly's buttons
    compute it from the chart's end, never before the first day.

    Example:
        >>> end = pd.Timestamp("2013-03-08 12:00")
        >>> [str(x_range(r, pd.Timestamp("2000-01-03"), end)[0]) for r in ("1M", "YTD", "1Y")]
        ['2013-02-08 12:00:00', '2013-01-01 00:00:00', '2012-03-08 12:00:00']
    """
    match = _DAYS.match(label)
    if match:
        start, stop = (pd.Timestamp(day) for day in match.groups())
        return max(first, start), min(end, stop + pd.Timedelta(hours=12))
    if label == "All":
        return first, end
    if label == "YTD":
        return pd.Timestamp(year=end.year, month=1, day=1), end  # Plotly: the year's start (ceil of a year back)
    months = {"1M": 1, "6M": 6, "1Y": 12}.get(label, 6)
    return max(first, _months_back(end, months)), end
