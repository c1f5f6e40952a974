"""The reader: pinned runs, the run history, damage named by file."""

from __future__ import annotations

import os
import shutil

import pytest

from dashboard.reader import ArtifactReader
from forecaster import artifacts
from forecaster.errors import ArtifactError
from tests.dashboard.conftest import copy_run


def test_reader_keeps_each_run_and_lists_the_history(published_run, tmp_path):
    _, result = published_run
    first = copy_run(tmp_path, result.run_dir, "20990101T000000Z-aaaaaa")
    reader = ArtifactReader(tmp_path)
    view = reader.latest()
    assert reader.latest() is view  # read once
    second = copy_run(tmp_path, result.run_dir, "20990102T000000Z-bbbbbb")
    copy_run(tmp_path, result.run_dir, "20990103T000000Z-cccccc", publish=False)  # still being written
    assert reader.latest().run_id == second.name
    assert reader.view(first.name) is view  # a page pinned to the first run still gets it
    history = reader.history()
    assert [s.run_id for s in history] == [second.name, first.name]
    assert history[0].tickers == ("AAPL",) and "1 ticker (AAPL)" in history[0].label
    assert history[0].rmse_ratio == result.report["summary"]["median_rmse_ratio_vs_naive"]["1"]


def test_a_refreshed_forecast_is_a_new_version(published_run, tmp_path):
    _, result = published_run
    run = copy_run(tmp_path, result.run_dir, "20990101T000000Z-aaaaaa")
    reader = ArtifactReader(tmp_path)
    before = reader.view(run.name)
    stamp = (run / artifacts.FORECAST).stat().st_mtime + 5
    os.utime(run / artifacts.FORECAST, (stamp, stamp))
    assert reader.view(run.name) is not before and reader.version(run.name) == (run.name, stamp)


@pytest.mark.parametrize("run_id", ["../published", "", "a/b", ".hidden", "20990101T000000Z-nothere", 12])
def test_ids_from_a_browser_are_never_paths(published_run, tmp_path, run_id):
    _, result = published_run
    copy_run(tmp_path, result.run_dir, "20990101T000000Z-aaaaaa")
    with pytest.raises(ArtifactError, match="no complete run"):
        ArtifactReader(tmp_path).view(run_id)
    assert ArtifactReader(tmp_path).version(run_id) is None or run_id == "20990101T000000Z-nothere"


def test_damage_is_named_by_file(published_run, tmp_path):
    _, result = published_run
    damaged = copy_run(tmp_path, result.run_dir, "20990102T000000Z-000000")
    (damaged / artifacts.REPORT).write_text("{not json")
    with pytest.raises(ArtifactError, match="report.json"):
        ArtifactReader(tmp_path).latest()
    assert ArtifactReader(tmp_path).history() == []  # left out of the list, not a crash
    shutil.rmtree(damaged)
