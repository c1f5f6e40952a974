"""The exchange's real trading days, from the maintained ``exchange_calendars`` library."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pandas as pd

#: NYSE: the exchange of the bundled and shared US data.
DEFAULT_EXCHANGE = "XNYS"


@functools.lru_cache(maxsize=8)
def _calendar(exchange: str, first_year: int, last_year: int) -> Any:
    import exchange_calendars

    return exchange_calendars.get_calendar(exchange, start=f"{first_year}-01-01", end=f"{last_year}-12-31")


def calendar_for(start: pd.Timestamp, end: pd.Timestamp, exchange: str = DEFAULT_EXCHANGE) -> Any:
    """An ``exchange_calendars`` calendar of ``exchange`` that covers ``start`` .. ``end``.

    Building one costs 0.2-0.3 s, so the span is widened to whole decades before and a year after: one
    calendar then serves every chart and forecast of a process (the dashboard's ticker switches among them).

    Example:
        >>> calendar_for(pd.Timestamp("2012-05-01"), pd.Timestamp("2013-03-01")).first_session.year
        2010
    """
    return _calendar(exchange, pd.Timestamp(start).year // 10 * 10, pd.Timestamp(end).year + 1)


def next_sessions(last_day: pd.Timestamp, count: int, exchange: str = DEFAULT_EXCHANGE) -> list[pd.Timestamp]:
    """The ``count`` trading days after ``last_day`` on ``exchange`` (holidays and weekends skipped).

    Example:
        >>> [f"{d:%Y-%m-%d}" for d in next_sessions(pd.Timestamp("2018-03-29"), 2)]  # Good Friday is closed
        ['2018-04-02', '2018-04-03']
    """
    last_day = pd.Timestamp(last_day).normalize()
    calendar = calendar_for(last_day - timedelta(days=10), last_day + timedelta(days=count * 3 + 30), exchange)
    sessions = calendar.sessions[calendar.sessions > last_day]
    return [pd.Timestamp(d) for d in sessions[:count]]


def closed_weekdays(start: pd.Timestamp, end: pd.Timestamp, exchange: str = DEFAULT_EXCHANGE) -> list[pd.Timestamp]:
    """Weekdays from ``start`` to ``end`` on which ``exchange`` did not trade (holidays, closures): what a
    chart's date axis leaves out, beside weekends.

    Example:
        >>> [f"{d:%Y-%m-%d}" for d in closed_weekdays(pd.Timestamp("2018-03-26"), pd.Timestamp("2018-04-06"))]
        ['2018-03-30']
        >>> closed_weekdays(pd.Timestamp("2018-02-07"), pd.Timestamp("2018-02-07"))
        []
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    calendar = calendar_for(start, end, exchange)
    first, last = max(start, calendar.first_session), min(end, calendar.last_session)
    if first > last:
        return []
    sessions = calendar.sessions_in_range(first, last)
    weekdays = pd.bdate_range(first, last)
    return [pd.Timestamp(d) for d in weekdays.difference(sessions)]
