"""The dashboard's jobs on Celery and Redis, for a dashboard served by several gunicorn workers.

    export FORECASTER_DATA_DIR=data FORECASTER_REDIS_URL=redis://127.0.0.1:6379/0
    export FORECASTER_ALLOW_JOBS=1 FORECASTER_JOB_TOKEN=...
    .venv/bin/celery -A dashboard.celery_app:celery worker --concurrency 1 --loglevel INFO    # runs the jobs
    .venv/bin/gunicorn -w 4 -b 127.0.0.1:8050 dashboard.wsgi:server                   # serves the pages

The worker builds the same app, so that it knows the job callbacks; one worker process is enough (jobs run one at a
time per data directory anyway).
"""

import os

from celery import Celery
from dash import CeleryManager

from dashboard.app import create_app
from dashboard.jobs import JobSettings
from forecaster import config

REDIS_URL = os.environ.get("FORECASTER_REDIS_URL", "redis://127.0.0.1:6379/0")

celery = Celery(__name__, broker=REDIS_URL, backend=REDIS_URL)
dash_app = create_app(config.data_dir(), JobSettings.from_environment(), CeleryManager(celery))
