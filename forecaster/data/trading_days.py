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
