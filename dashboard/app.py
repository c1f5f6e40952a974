"""The Dash app factory.

For one user: ``python -m dashboard``. For many, under gunicorn::

    FORECASTER_DATA_DIR=data gunicorn -w 4 -b 127.0.0.1:8050 dashboard.wsgi:server
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dash import Dash, dcc, html

from dashboard import callbacks, response_cache
from dashboard.jobs import JobSettings
from dashboard.reader import ArtifactReader


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
    # Bootstrap's style sheet is served from dashboard/assets (no CDN: the page works offline).
    app = Dash(__name__, title="Stock forecaster", suppress_callback_exceptions=True,
               background_callback_manager=manager,
               meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}])

    # The address names the run (``?run=<id>``, else the latest); the page is built for it by a callback, so
    # the run picker, the newer-run notice and a bookmarked address all go through one door.
    app.layout = html.Div([dcc.Location(id="url", refresh=False), html.Div(id="page")])
    callbacks.register(app, reader, str(data_dir), jobs)
    app.server.extensions["response_cache"] = response_cache.install(app.server, reader)
    return app
