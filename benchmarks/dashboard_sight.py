"""How soon a person sees the dashboard: the page opened to its price chart drawn, and ticker switches.

    python benchmarks/dashboard_sight.py [--opens 6] [--compare REF]

Makes a real run on the four sample tickers (the README's main job, tiny model), serves the dashboard with
``python -m dashboard`` and opens it in Debian's headless Chromium: ``--opens`` times in a browser with nothing
cached (a first visit: every script and the page are fetched), then, in one page, a first visit to each other
ticker and repeat visits. Times run from the start of the navigation (or the pick of a ticker) to the frame
after the chart and the forecast panel are drawn, recorded in the page (``tests/dashboard/browsing.py``).
With ``--compare REF`` the dashboard of that git revision (``git archive``) is served on the same artifacts and
measured in the same run, alternating, and the ratios are printed: this machine is shared, absolute times drift.
Goals (issue 21): opened within 1.2 s, a first visit to a ticker within 0.5 s, repeat visits within 0.4 s.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import replace
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecaster.config import ModelConfig  # noqa: E402
from forecaster.jobs.run import RunOptions, run  # noqa: E402
from tests.dashboard.browsing import open_page, opened_in, switch_ticker  # noqa: E402
from tests.dashboard.conftest import CHROMIUM, running  # noqa: E402

TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")


def checkout(ref: str, folder: Path) -> Path:
    """The ``dashboard`` and ``forecaster`` packages of git revision ``ref``, unpacked into ``folder``."""
    archive = subprocess.run(
        ["git", "archive", ref, "dashboard", "forecaster"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def measure(browser, url: str, opens: int) -> dict[str, list[float]]:
    """Open times (nothing cached), first visits to each ticker and repeat visits, in milliseconds."""
    times: dict[str, list[float]] = {"open": [], "first visit": [], "repeat visit": []}
    for _ in range(opens):
        page = open_page(browser, url, TICKERS[0])
        times["open"].append(opened_in(page))
        page.close()
    page = open_page(browser, url, TICKERS[0])
    page.wait_for_timeout(1500)
    for ticker in TICKERS[1:]:
        times["first visit"].append(switch_ticker(page, ticker))
        page.wait_for_timeout(1500)  # what is below the fold arrives after the chart
    for ticker in (*TICKERS, *TICKERS):
        times["repeat visit"].append(switch_ticker(page, ticker))
        page.wait_for_timeout(1500)
    page.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opens", type=int, default=6, help="page opens per version and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, alternating the versions")
    parser.add_argument("--compare", metavar="REF", help="also measure the dashboard of this git revision")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        run(
            RunOptions(
                source="sample",
                tickers=list(TICKERS),
                data_dir=data_dir,
                verbose=0,
                model=replace(ModelConfig(), epochs=1, units=8),
            )
        )
        versions = {"this checkout": ROOT}
        if args.compare:
            versions[args.compare] = checkout(args.compare, Path(tmp) / "before")
        results: dict[str, dict[str, list[float]]] = {name: {} for name in versions}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            for _ in range(args.rounds):
                for name, folder in versions.items():
                    port = 8700 + list(versions).index(name)
                    command = [sys.executable, "-m", "dashboard", "--data-dir", str(data_dir), "--port", str(port)]
                    url = f"http://127.0.0.1:{port}/"
                    with running(command, url, cwd=folder):
                        open_page(browser, url, TICKERS[0]).close()  # the server reads the run once
                        for kind, values in measure(browser, url, args.opens).items():
                            results[name].setdefault(kind, []).extend(values)
            browser.close()
    print(f"medians (ms) over {args.rounds} rounds; {args.opens} opens per round in a browser with nothing cached")
    print(f"{'':14}" + "".join(f"{name:>16}" for name in versions) + ("      ratio" if args.compare else ""))
    for kind in ("open", "first visit", "repeat visit"):
        medians = [statistics.median(results[name][kind]) for name in versions]
        ratio = f"   {medians[0] / medians[1]:8.2f}" if args.compare else ""
        print(f"{kind:<14}" + "".join(f"{m:16.0f}" for m in medians) + ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
