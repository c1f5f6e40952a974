"""The exchange's real trading days, from the maintained ``exchange_calendars`` library."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

#: NYSE: the exchange of the bundled and shared US data.
DEFAULT_EXCHANGE = "XNYS"


def next_sessions(last_day: pd.Timestamp, count: int, exchange: str = DEFAULT_EXCHANGE) -> list[pd.Timestamp]:
    """The ``count`` trading days after ``last_day`` on ``exchange`` (holidays and weekends skipped).

    Example:
        >>> [f"{d:%Y-%m-%d}" for d in next_sessions(pd.Timestamp("2018-03-29"), 2)]  # Good Friday is closed
        ['2018-04-02', '2018-04-03']
    """
    import exchange_calendars

    last_day = pd.Timestamp(last_day).normalize()
    # Ask only for the stretch needed: the library's default range starts 20 years back.
    calendar = exchange_calendars.get_calendar(exchange, start=last_day - timedelta(days=10),
                                               end=last_day + timedelta(days=count * 3 + 30))
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
    import exchange_calendars

    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    # The library's default range starts 20 years back: ask for the whole stretch.
    calendar = exchange_calendars.get_calendar(exchange, start=start, end=end + timedelta(days=7))  # end > start
    first, last = max(start, calendar.first_session), min(end, calendar.last_session)
    if first > last:
        return []
    sessions = calendar.sessions_in_range(first, last)
    weekdays = pd.bdate_range(first, last)
    return [pd.Timestamp(d) for d in weekdays.difference(sessions)]
