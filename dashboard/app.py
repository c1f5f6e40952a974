"""The Dash app factory.

For one user: ``python -m dashboard``. For many, under gunicorn::

    FORECASTER_DATA_DIR=data gunicorn -w 4 -b 127.0.0.1:8050 dashboard.wsgi:server
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask
from dash import Dash, dcc, html

from dashboard import address, callbacks, response_cache
from dashboard.jobs import JobSettings
from dashboard.reader import ArtifactReader


def page_search() -> str | None:
    """The query string of the page that asks for the layout (``?run=...`` or ""), None when unknown."""
    try:
        return address.referrer_search(flask.request.referrer)
    except RuntimeError:  # outside a request: Dash checking the layout at start
        return None


def create_app(data_dir: str | Path, jobs: JobSettings | None = None, manager: Any = None) -> Dash:
    """Build the dashboard over the artifacts in ``data_dir``; it only reads them. With ``jobs`` enabled it also
    offers jobs (add tickers, refresh, retrain), run by ``manager`` (a Dash background callback manager; default:
    a ``DiskcacheManager`` in ``data_dir/.dashboard-jobs``, for one server process).

    A page shows the latest run, or the run named in its address (``/?run=<run id>``), and stays on it.

    Example:
        >>> app = create_app("data")
        >>> app.title
        'Stock forecaster'
    """
    reader = ArtifactReader(Path(data_dir))
    jobs = jobs or JobSettings()
    if jobs.enabled and manager is None:
        import diskcache
        from dash import DiskcacheManager

        manager = DiskcacheManager(diskcache.Cache(str(Path(data_dir) / ".dashboard-jobs")))
    # Bootstrap's style sheet and plotly.js are served from dashboard/assets (no CDN: the page works offline).
    # plotly.js is Plotly's finance bundle (scatter, bar, histogram, candlestick: what the charts draw), 1.3 MB
    # against the full bundle's 4.8 MB: loaded with the page, it is there before any chart mounts, so Dash never
    # fetches the full one (assets/README.md).
    app = Dash(
        __name__,
        title="Stock forecaster",
        suppress_callback_exceptions=True,
        background_callback_manager=manager,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    page_for = callbacks.register(app, reader, str(data_dir), jobs)

    def serve_layout() -> html.Div:
        # The address names the run and the view (``dashboard.address``). The browser asks for the layout from
        # the page, so the request's referrer is that address: the page arrives built, with its chart, and no
        # callback has to run before it can be drawn. Without a referrer the page callback builds it.
        search = page_search()
        return html.Div(
            [
                dcc.Location(id="url", refresh=False),
                dcc.Store(id="page-search", data=search),
                html.Div(id="page", children=None if search is None else page_for(search)),
            ]
        )

    app.layout = serve_layout
    app.server.extensions["response_cache"] = response_cache.install(app.server, reader)
    return app
