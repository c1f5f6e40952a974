"""Where the data directory is: paths and file:// URIs; other URIs are refused, named, before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forecaster import config
from forecaster.errors import ConfigError


def test_a_relative_path_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.data_dir("here") == tmp_path / "here"


def test_a_file_uri_is_its_path(tmp_path):
    assert config.data_dir(tmp_path.as_uri()) == tmp_path
    assert config.data_dir("file:///srv/my%20data") == Path("/srv/my data")


def test_the_environment_variable_is_used_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECASTER_DATA_DIR", str(tmp_path))
    assert config.data_dir() == tmp_path
    monkeypatch.setenv("FORECASTER_DATA_DIR", "s3a://bucket/prices")
    with pytest.raises(ConfigError, match="s3a:// is not supported"):
        config.data_dir()


@pytest.mark.parametrize("uri", ["hdfs://namenode:8020/forecaster", "s3a://bucket/forecaster", "gs://b/x"])
def test_other_uris_are_refused_with_what_to_do(uri, tmp_path):
    with pytest.raises(ConfigError, match="mount at the same path"):
        config.data_dir(uri)
    # The CLI says so as a usage error and creates nothing (Path("hdfs://x") would be a local folder "hdfs:").
    for module in ("forecaster", "dashboard"):
        args = [sys.executable, "-m", module, *(["data"] if module == "forecaster" else []), "--data-dir", uri]
        done = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(config.PROJECT_ROOT)})
        assert done.returncode == 2 and "is not supported" in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())
