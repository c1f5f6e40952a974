"""The address holds the view: parsed leniently, checked against the run, written back the same way."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.address import Address, parse, referrer_search, resolve, search, x_range


class _Run:
    """The two things ``resolve`` reads of a run."""

    run_id, tickers, horizon = "20990101T000000Z-aaaaaa", ["IBM", "MSFT"], 5


def test_an_address_round_trips_through_its_query_string():
    view = Address(
        run="20990101T000000Z-aaaaaa", ticker="BRK-B", step=3, tab="compare", range="1Y", measure="interval_score_80"
    )
    assert parse(search(view)) == view
    custom = Address(run="r", ticker="^GSPC", range="2012-01-03..2012-06-29")
    assert parse(search(custom)) == custom
    # Defaults are left out, so a plain view has a short address.
    assert search(Address(run="r", ticker="IBM")) == "?run=r&ticker=IBM"


@pytest.mark.parametrize(
    "query",
    [
        "?step=0",
        "?step=-1",
        "?step=1e3",
        "?tab=admin",
        "?range=2W",
        "?range=2013-02-30..2013-03-01",
        "?range=2013-03-01..2012-01-01",
        "?measure=mape",
        "?" + "x=1&" * 50,
    ],
)
def test_anything_unreadable_falls_back_to_the_default(query):
    parsed = parse(query)
    assert (parsed.step, parsed.tab, parsed.range, parsed.measure) == (1, "ticker", "6M", "rmse")


def test_an_address_is_made_valid_for_its_run():
    assert resolve(parse("?ticker=NOPE&step=9"), _Run()) == Address(run=_Run.run_id, ticker="IBM", step=1)
    assert resolve(parse("?ticker=MSFT&step=5&tab=track"), _Run()).ticker == "MSFT"


def test_the_layout_reads_the_address_of_the_page_that_asked():
    assert referrer_search("http://127.0.0.1:8050/?run=r&ticker=MSFT") == "?run=r&ticker=MSFT"
    assert referrer_search("http://127.0.0.1:8050/") == "" and referrer_search(None) is None


def test_range_buttons_count_months_as_plotly_does():
    first, end = pd.Timestamp("2000-01-03"), pd.Timestamp("2013-03-31 12:00")
    # JavaScript's setUTCMonth: 31 March less one month is 3 March (February has no 31st), not 28 February.
    assert x_range("1M", first, end) == (pd.Timestamp("2013-03-03 12:00"), end)
    assert x_range("6M", first, end)[0] == pd.Timestamp("2012-10-01 12:00")  # 31 September -> 1 October
    assert x_range("1Y", first, end)[0] == pd.Timestamp("2012-03-31 12:00")
    assert x_range("YTD", first, end)[0] == pd.Timestamp("2013-01-01")
    assert x_range("All", first, end) == (first, end)
    assert x_range("6M", pd.Timestamp("2013-01-02"), end)[0] == pd.Timestamp("2013-01-02")  # never before the data
    assert x_range("2012-06-01..2012-12-31", first, end) == (
        pd.Timestamp("2012-06-01"),
        pd.Timestamp("2012-12-31 12:00"),
    )
