"""WSGI entry for gunicorn: ``gunicorn dashboard.wsgi:server`` (data dir from FORECASTER_DATA_DIR)."""

from dashboard.app import create_app
from forecaster import config

server = create_app(config.data_dir()).server
