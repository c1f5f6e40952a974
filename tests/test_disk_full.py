"""Disk full while writing, on a real (small) tmpfs: a clear error, and the previous data intact.

Mounting needs root (CI runs as root here); elsewhere these tests are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from forecaster import artifacts, cli
from forecaster.data import cache
from forecaster.jobs import checkpoint
from tests.test_faults import TINY_RUN, _complete

DISK_MB = 6


@pytest.fixture()
def small_disk(tmp_path):
    """A 6 MB tmpfs at ``tmp_path/disk``, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _fill_leaving(disk: Path, free_kb: int) -> None:
    """Fill the disk with one file so that about ``free_kb`` KiB stay free."""
    stats = os.statvfs(disk)
    available = stats.f_bavail * stats.f_frsize
    with open(disk / "filler", "wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * max(0, available - free_kb * 1024))


def _files(data_dir: Path) -> dict[str, int]:
    """Every file under ``data_dir`` (hidden ones too: Spark's checksums, our temporary files) with its size."""
    return {str(p.relative_to(data_dir)): p.stat().st_size for p in data_dir.rglob("*") if p.is_file()}


# Free space left before the second run, and where that run then runs out: the cache file it refreshes,
# Spark's prepared table, or the run's own files after training (its checkpoints or artifacts).
@pytest.mark.parametrize("free_kb, runs_out_in", [(4, "prices/IBM.parquet"), (200, "/prepared/"), (450, "/runs/")])
def test_a_full_disk_gives_a_clear_error_and_leaves_the_previous_run_intact(
    spark, small_disk, caplog, free_kb, runs_out_in
):
    data_dir = small_disk / "data"
    args = ["run", "--source", "sample", "--tickers", "IBM", "--data-dir", str(data_dir), *TINY_RUN]
    assert cli.main(args) == 0
    good_run = artifacts.latest_run_dir(data_dir)
    before = _files(data_dir)
    cached = cache.read_ticker(data_dir, "IBM")

    _fill_leaving(small_disk, free_kb)
    caplog.clear()
    assert cli.main(args) == 1
    message = caplog.records[-1].getMessage()
    assert "no space left on the device" in message and runs_out_in in message, message

    # No file was changed or left half-written; the good run is still the published one, whole. What the stopped
    # run finished is kept in its unpublished folder, for a resume once there is room.
    assert artifacts.latest_run_dir(data_dir) == good_run and _complete(good_run)
    after = _files(data_dir)
    added = {name for name in after if name not in before}
    assert {name: after[name] for name in before} == before
    unfinished = [f"runs/{d.name}/" for d in checkpoint.unfinished_runs(data_dir)]
    assert all(any(name.startswith(u) for u in unfinished) and ".tmp" not in name for name in added), added
    assert cache.read_ticker(data_dir, "IBM").prices.equals(cached.prices)
