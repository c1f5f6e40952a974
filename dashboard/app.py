"""The Dash app factory.

For one user: ``python -m dashboard``. For many, under gunicorn::

    FORECASTER_DATA_DIR=data gunicorn -w 4 -b 127.0.0.1:8050 dashboard.wsgi:server
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash, dcc, html

from dashboard import callbacks, response_cache
from dashboard.reader import ArtifactReader


def create_app(data_dir: str | Path) -> Dash:
    """Build the dashboard over the artifacts in ``data_dir``; it only reads them.

    A page shows the latest run, or the run named in its address (``/?run=<run id>``), and stays on it.

    Example:
        >>> app = create_app("data")
        >>> app.title
        'Stock forecaster'
    """
    reader = ArtifactReader(Path(data_dir))
    # Bootstrap's style sheet is served from dashboard/assets (no CDN: the page works offline).
    app = Dash(__name__, title="Stock forecaster", suppress_callback_exceptions=True,
               meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}])

    # The address names the run (``?run=<id>``, else the latest); the page is built for it by a callback, so
    # the run picker, the newer-run notice and a bookmarked address all go through one door.
    app.layout = html.Div([dcc.Location(id="url", refresh=False), html.Div(id="page")])
    callbacks.register(app, reader, str(data_dir))
    app.server.extensions["response_cache"] = response_cache.install(app.server, reader)
    return app
