"""WSGI entry for gunicorn: ``gunicorn dashboard.wsgi:server`` (data dir from FORECASTER_DATA_DIR).

Jobs from the page are off unless ``FORECASTER_ALLOW_JOBS=1`` and ``FORECASTER_JOB_TOKEN`` are set (gunicorn may
bind any address). With several workers, give them Redis and a Celery worker (``dashboard.celery_app``):
``FORECASTER_REDIS_URL=redis://127.0.0.1:6379/0``; without it, jobs run through a DiskcacheManager.
"""

import os

from dashboard.jobs import JobSettings
from forecaster import config

if os.environ.get("FORECASTER_REDIS_URL"):
    from dashboard.celery_app import dash_app as app
else:
    from dashboard.app import create_app

    app = create_app(config.data_dir(), JobSettings.from_environment())
server = app.server
