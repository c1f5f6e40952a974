"""Import of the S&P 500 file into the cache: wall time and peak memory, beside plain pandas.

    python benchmarks/import_csv.py [--csv ../shared/data/all_stocks_5yr.csv]

Each measurement runs in a fresh Python process, one after the other in the same run:
1. ``pandas.read_csv`` of the file (the floor: parsing only),
2. ``forecaster import`` of the file (validation + one Parquet file per ticker, atomic).
Prints ``<name>_s``, ``<name>_peak_rss_mb`` for each and ``import_over_read_csv=<ratio>``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "all_stocks_5yr.csv"

_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
started = time.perf_counter()
{body}
seconds = time.perf_counter() - started
peak_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({{"seconds": seconds, "peak_rss_mb": peak_kb / 1024}}))
"""

BODIES = {
    "read_csv": "import pandas as pd\nrows = len(pd.read_csv({csv!r}))",
    "import": "from forecaster.data.ingest import import_csv\n"
    "rows = sum(o.rows for o in import_csv([{csv!r}], {out!r}, on_bad_rows='drop', progress=False).outcomes)",
}


def measure(name: str, csv: Path, out: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and return its seconds and peak RSS."""
    code = _CHILD.format(root=str(ROOT), body=BODIES[name].format(csv=str(csv), out=str(out)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        results = {name: measure(name, args.csv, Path(out)) for name in BODIES}
    for name, result in results.items():
        print(f"{name}_s={result['seconds']:.2f}")
        print(f"{name}_peak_rss_mb={result['peak_rss_mb']:.0f}")
    print(f"import_over_read_csv={results['import']['seconds'] / results['read_csv']['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
