"""Configuration: where the data directory is (paths and file:// URIs; other URIs are refused, named, before
anything is written), and settings read from the environment."""

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
    assert config.data_dir("file:/srv/x") == Path("/srv/x")  # the one-slash form Hadoop prints
    assert config.data_dir("file://localhost/srv/y") == Path("/srv/y")
    assert config.data_dir(Path("file:///srv/z")) == Path("/srv/z")  # Path() squashed it to file:/srv/z


def test_a_folder_name_with_a_colon_is_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.data_dir("backup:2024") == tmp_path / "backup:2024"


@pytest.mark.parametrize("uri", ["file://srv/data", "file://otherhost/x", "file://", "file:///x?version=2"])
def test_a_file_uri_that_is_not_a_local_absolute_path_is_refused(uri):
    # file://srv/data names host "srv": taking it as /data would quietly write somewhere else.
    with pytest.raises(ConfigError, match="file:///absolute/path"):
        config.data_dir(uri)


def test_the_environment_variable_is_used_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECASTER_DATA_DIR", str(tmp_path))
    assert config.data_dir() == tmp_path
    monkeypatch.setenv("FORECASTER_DATA_DIR", "s3a://bucket/prices")
    with pytest.raises(ConfigError, match="s3a:// is not supported"):
        config.data_dir()


@pytest.mark.parametrize("uri", ["hdfs://namenode:8020/forecaster", "s3a://bucket/forecaster", "gs://b/x", "hdfs:/x"])
def test_other_uris_are_refused_with_what_to_do(uri, tmp_path):
    with pytest.raises(ConfigError, match="mount at the same path"):
        config.data_dir(uri)
    # The CLI says so as a usage error and creates nothing (Path("hdfs://x") would be a local folder "hdfs:").
    for module in ("forecaster", "dashboard"):
        args = [sys.executable, "-m", module, *(["data"] if module == "forecaster" else []), "--data-dir", uri]
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(config.PROJECT_ROOT)},
        )
        assert done.returncode == 2 and "is not supported" in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())


def test_retrain_after_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("FORECASTER_RETRAIN_AFTER", raising=False)
    assert config.retrain_after() == config.DEFAULT_RETRAIN_AFTER == 21
    monkeypatch.setenv("FORECASTER_RETRAIN_AFTER", "60")
    assert config.retrain_after() == 60 and config.retrain_after(5) == 5
    for bad in ("0", "a month", "-3"):
        monkeypatch.setenv("FORECASTER_RETRAIN_AFTER", bad)
        with pytest.raises(ConfigError, match="FORECASTER_RETRAIN_AFTER"):
            config.retrain_after()


def test_the_compile_cache_is_in_the_users_cache_unless_set_or_off(tmp_path, monkeypatch):
    monkeypatch.delenv("FORECASTER_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.compile_cache_dir() == tmp_path / "forecaster" / "jax"
    monkeypatch.setenv("FORECASTER_COMPILE_CACHE", str(tmp_path / "elsewhere"))
    assert config.compile_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.setenv("FORECASTER_COMPILE_CACHE", "off")
    assert config.compile_cache_dir() is None
