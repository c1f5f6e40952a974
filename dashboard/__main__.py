"""``python -m dashboard [--data-dir DIR] [--host 127.0.0.1] [--port 8050] [--allow-jobs --job-token T]``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from dashboard.jobs import JobSettings
from forecaster import __version__, config
from forecaster.config import data_dir_argument
from forecaster.errors import ForecasterError

log = logging.getLogger("dashboard")


def build_parser() -> argparse.ArgumentParser:
    """The ``forecaster-dashboard`` (``python -m dashboard``) parser."""
    parser = argparse.ArgumentParser(
        prog=config.program_name("dashboard"),
        description="Serve the forecast dashboard.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data-dir",
        type=data_dir_argument,
        default=None,
        help=f"artifacts to show (default: $FORECASTER_DATA_DIR, else {config.DEFAULT_DATA_DIR_TEXT})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind; 0.0.0.0 exposes it to the network")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--debug", action="store_true", help="Dash debug mode (never on a shared network)")
    parser.add_argument(
        "--allow-jobs",
        action="store_true",
        help="on an address other than 127.0.0.1, let people with the token start jobs (add tickers, "
        "refresh, retrain); on 127.0.0.1 jobs are on anyway",
    )
    parser.add_argument(
        "--job-token",
        default=os.environ.get("FORECASTER_JOB_TOKEN"),
        metavar="TOKEN",
        help="the token the page asks for before starting a job (default: $FORECASTER_JOB_TOKEN); "
        "required with --allow-jobs",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve the dashboard with Dash's own server (one user; use gunicorn for many)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        data_dir = config.data_dir(args.data_dir)
    except ForecasterError as exc:  # FORECASTER_DATA_DIR names something unusable
        parser.error(str(exc))
    if args.allow_jobs and not args.job_token:
        parser.error("--allow-jobs needs a token: --job-token TOKEN or FORECASTER_JOB_TOKEN")
    jobs = JobSettings.for_host(args.host, args.allow_jobs, args.job_token)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "EXPOSED: binding to %s - anyone who can reach this machine on port %d can open the "
            "dashboard and read every forecast in %s",
            args.host,
            args.port,
            data_dir,
        )
    from dashboard.app import create_app

    log.info(
        "serving %s on http://%s:%d; jobs %s",
        data_dir,
        args.host,
        args.port,
        ("on" + (" (token required)" if jobs.token else "")) if jobs.enabled else "off",
    )
    create_app(data_dir, jobs).run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
