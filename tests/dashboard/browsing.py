"""What the browser tests do to the page and read off it, as a person would: pick, click, read the text."""

from __future__ import annotations

import time

import pandas as pd
import pytest

GRAPH = "document.querySelector('#price-graph .js-plotly-plot')"

#: Records, in the page, when the price chart of ``window.__want`` is drawn (its title and a line in the DOM) and
#: when the next frame follows, so a timing does not wait on the test's own polling.
DRAWN_WATCH = """
(() => {
  const drawn = () => { const g = document.querySelector('#price-graph .js-plotly-plot');
    const title = g && g.querySelector('.gtitle');
    const panel = document.querySelector('#forecast-panel');
    return title && title.textContent.startsWith(window.__want + ':') && g.querySelector('.scatterlayer .trace path')
      && panel && panel.innerText.includes(window.__want); };
  const observer = new MutationObserver(() => {
    if (window.__want && !window.__drawnAt && drawn()) {
      window.__drawnAt = performance.now();
      requestAnimationFrame(() => { window.__frameAt = performance.now(); });
    } });
  const start = () => observer.observe(document.documentElement, {childList: true, subtree: true, characterData: true});
  if (document.documentElement) { start(); } else { document.addEventListener('DOMContentLoaded', start); }
  // The moment a person picks an option (a ticker switch starts there, not when the list opens).
  document.addEventListener('mousedown', e => {
    if (e.target.closest('[role=option]')) { window.__pickedAt = performance.now(); } }, true);
})();
"""


def open_page(browser, url: str, ticker: str = "IBM", width: int = 1400, height: int = 1000):
    """A new page at ``url`` once the price chart of ``ticker`` is drawn."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.add_init_script(f"window.__want = {ticker!r};" + DRAWN_WATCH)
    page.goto(url)
    wait_for_ticker(page, ticker)
    return page


def opened_in(page) -> float:
    """Milliseconds from the start of the page's navigation to its first price chart drawn (``open_page``)."""
    page.wait_for_function("() => window.__frameAt", timeout=30_000)
    return page.evaluate("() => window.__frameAt")


def wait_for_ticker(page, ticker: str) -> None:
    """Until the price chart shows ``ticker`` and the forecast panel names it."""
    page.wait_for_function(
        f"t => {{ const g = {GRAPH}; const title = g && g.querySelector('.gtitle');"
        " return title && title.textContent.startsWith(t + ':') && g.data.length > 0"
        " && document.querySelector('#forecast-panel').innerText.includes(t); }",
        arg=ticker,
        timeout=30_000,
    )


def switch_ticker(page, ticker: str) -> float:
    """Pick ``ticker``; returns the milliseconds from the pick to the new chart drawn with its panel."""
    page.evaluate(f"() => {{ window.__want = {ticker!r}; window.__drawnAt = null; window.__frameAt = null; }}")
    pick(page, "#ticker", ticker)
    page.wait_for_function("() => window.__frameAt", timeout=30_000)
    return page.evaluate("() => window.__frameAt - window.__pickedAt")


def pick(page, control: str, option: str) -> None:
    """Choose ``option`` in the dropdown ``control``."""
    page.click(control)
    page.click(f"[role=option]:has-text('{option}')")


def axes(page) -> dict:
    """The ranges Plotly drew (its full layout), and the names of every x-axis."""
    return page.evaluate(
        f"() => {{ const l = {GRAPH}._fullLayout; return {{x: l.xaxis.range, y: l.yaxis.range,"
        " xaxes: Object.keys(l).filter(k => /^xaxis\\d*$/.test(k))}; }"
    )


def settled_axes(page, expected_y, days: tuple[int, int], timeout_s: float = 15.0) -> dict:
    """The axes once the click's x-range is drawn and the clientside y-fit has answered it (``expected_y(x)``):
    the fit runs after Plotly redraws, so a slow machine shows the old y-range for a moment. Returns the last
    reading if it never settles (the caller's asserts then say what was drawn)."""
    deadline = time.monotonic() + timeout_s
    while True:
        drawn = axes(page)
        start, end = (pd.Timestamp(v[:19]) for v in drawn["x"])
        if (
            days[0] <= (end - start).days <= days[1] and drawn["y"] == pytest.approx(expected_y(drawn["x"]), rel=1e-6)
        ) or time.monotonic() > deadline:
            return drawn
        page.wait_for_timeout(100)


def grid_rows(page, grid_id: str) -> list[dict[str, str]]:
    """The rows a grid shows, in the order it shows them: ``{column id: the cell's text}`` (pinned columns too)."""
    return page.evaluate(
        """id => {
        const rows = {};
        for (const row of document.querySelectorAll(`#${id} .ag-row`)) {
            const at = Number(row.getAttribute('row-index'));
            rows[at] = rows[at] || {};
            for (const cell of row.querySelectorAll('.ag-cell')) {
                rows[at][cell.getAttribute('col-id')] = cell.innerText.trim();
            }
        }
        return Object.keys(rows).map(Number).sort((a, b) => a - b).map(k => rows[k]);
    }""",
        grid_id,
    )


def wait_for_grid(page, grid_id: str, rows: int, timeout: int = 30_000) -> None:
    """Until ``grid_id`` shows ``rows`` rows."""
    page.wait_for_function(
        f"() => new Set(Array.from(document.querySelectorAll('#{grid_id} .ag-row'))"
        ".map(r => r.getAttribute('row-index'))).size === " + str(rows),
        timeout=timeout,
    )


def page_text(page, selector: str) -> str:
    """The text a person reads in ``selector``, with d3's minus sign written as ``-``."""
    return page.inner_text(selector).replace("\u2212", "-")


def view_in_address(page) -> dict[str, str]:
    """The view the page's address holds now."""
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
