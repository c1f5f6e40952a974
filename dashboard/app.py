"""The Dash app factory.

For one user: ``python -m dashboard``. For many, under gunicorn::

    FORECASTER_DATA_DIR=data gunicorn -w 4 -b 127.0.0.1:8050 dashboard.wsgi:server
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash, html

from dashboard import callbacks, layout
from dashboard.reader import ArtifactReader
from forecaster.errors import ArtifactError


def create_app(data_dir: str | Path) -> Dash:
    """Build the dashboard over the artifacts in ``data_dir``; it only reads them.

    Example:
        >>> app = create_app("data")
        >>> app.title
        'Stock forecaster'
    """
    reader = ArtifactReader(Path(data_dir))
    app = Dash(__name__, title="Stock forecaster", suppress_callback_exceptions=True)

    def serve_layout() -> html.Div:
        # A function, so every page load sees the newest published run.
        try:
            view = reader.latest()
        except ArtifactError as exc:
            body = layout.error_layout(str(exc))
        else:
            body = layout.empty_layout(str(data_dir)) if view is None else layout.run_layout(view)
        return html.Div([html.H1("Stock forecaster"), body],
                        style={"maxWidth": "1280px", "margin": "0 auto", "fontFamily": "sans-serif"})

    app.layout = serve_layout
    callbacks.register(app, reader)
    return app
