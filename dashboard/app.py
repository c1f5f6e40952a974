"""The Dash app factory.

For one user: ``python -m dashboard``. For many, under gunicorn::

    FORECASTER_DATA_DIR=data gunicorn -w 4 -b 127.0.0.1:8050 dashboard.wsgi:server
"""

from __future__ import annotations

from pathlib import Path

import flask
from dash import Dash

from dashboard import callbacks, layout, response_cache
from dashboard.reader import ArtifactReader
from forecaster.errors import ArtifactError


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

    def serve_layout() -> object:
        # A function, so every page load sees the newest published run (or the one its address names).
        requested = flask.request.args.get("run") if flask.has_request_context() else None
        try:
            run_id = requested or reader.latest_id()
            if run_id is None:
                return layout.empty_layout(str(data_dir))
            return layout.run_layout(reader.view(run_id), reader.history())
        except ArtifactError as exc:
            return layout.error_layout(str(exc))

    app.layout = serve_layout
    callbacks.register(app, reader)
    response_cache.install(app.server, reader)
    return app
