"""Security: safe model loading only, no pickle, a pinned Keras past the safe_mode bypasses, the CI audit's verdict,
the dashboard's bind address."""

from __future__ import annotations

import importlib.util
import logging
import re
from importlib.metadata import version
from pathlib import Path

import keras
import pytest

import dashboard.__main__ as dashboard_main
from forecaster.errors import ArtifactError
from forecaster.model.network import load_model

ROOT = Path(__file__).resolve().parents[1]
# Keras 3.14.0 is the newest release in the advisories we track: CVE-2025-1550 (fixed 3.9.0), CVE-2025-8747 and
# CVE-2025-9906 (3.11.0), CVE-2025-49655 and CVE-2025-9905 (3.11.3), CVE-2026-1462 (3.14.0).
KERAS_AT_LEAST = (3, 14, 0)


def _load_ci_audit():
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_installed_keras_is_past_the_known_safe_mode_bypasses():
    installed = tuple(int(part) for part in re.findall(r"\d+", version("keras"))[:3])
    assert installed >= KERAS_AT_LEAST


def test_a_model_with_a_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    with pytest.raises(ArtifactError, match="Lambda.*arbitrary code execution"):
        load_model(path)


def test_only_the_native_keras_format_is_loaded(tmp_path):
    legacy = tmp_path / "model.h5"
    legacy.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ArtifactError, match="not a .keras file"):
        load_model(legacy)


def test_no_pickle_and_no_unsafe_loading_in_the_code():
    unsafe = re.compile(
        r"\bimport pickle\b|\bpickle\.loads?\(|allow_pickle=True|safe_mode=False|\bjoblib\b"
        r"|read_pickle|cloudpickle"
    )
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("forecaster", "dashboard")
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if unsafe.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("require_service, expected", [(False, 0), (True, 1)])
def test_ci_audit_passes_unchecked_packages_only_when_the_service_is_not_required(require_service, expected):
    # pip-audit's JSON when its vulnerability service cannot be reached.
    report = {
        "dependencies": [
            {"name": "keras", "skip_reason": "Dependency not found on PyPI and could not be audited: keras (3.15.1)"}
        ],
        "fixes": [],
    }
    code, lines = _load_ci_audit().verdict(report, require_service)
    assert code == expected and lines[0].startswith("UNCHECKED 1 of 1 packages")


def test_ci_audit_fails_on_a_known_vulnerability():
    report = {
        "dependencies": [
            {
                "name": "keras",
                "version": "3.8.0",
                "vulns": [
                    {
                        "id": "GHSA-48g7-3x6r-xfhp",
                        "fix_versions": ["3.9.0"],
                        "aliases": ["CVE-2025-1550"],
                        "description": "...",
                    }
                ],
            },
            {"name": "numpy", "version": "2.4.6", "vulns": []},
        ],
        "fixes": [],
    }
    code, lines = _load_ci_audit().verdict(report, require_service=False)
    assert code == 1
    assert lines[0] == "VULNERABLE keras 3.8.0: GHSA-48g7-3x6r-xfhp (CVE-2025-1550) fixed in 3.9.0"
    assert lines[-1] == "audited=2 vulnerable=1 unchecked=0"


class _Served:
    def __init__(self) -> None:
        self.options = None

    def run(self, **options) -> None:
        self.options = options


@pytest.mark.parametrize("argv, host, loud", [([], "127.0.0.1", False), (["--host", "0.0.0.0"], "0.0.0.0", True)])
def test_dashboard_binds_loopback_without_debugger_unless_asked(monkeypatch, caplog, tmp_path, argv, host, loud):
    served = _Served()
    monkeypatch.setattr("dashboard.app.create_app", lambda data_dir, *jobs: served)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        assert dashboard_main.main(["--data-dir", str(tmp_path), *argv]) == 0
    assert served.options == {"host": host, "port": 8050, "debug": False}
    assert any("EXPOSED" in r.getMessage() for r in caplog.records) == loud
