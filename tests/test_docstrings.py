"""The examples in the docstrings of the modules that need neither Spark nor Keras run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["forecaster.columns", "forecaster.config", "forecaster.artifacts", "forecaster.prepare.splits",
           "forecaster.evaluate.metrics", "forecaster.evaluate.baselines", "forecaster.model.intervals",
           "forecaster.data.trading_days",
           "forecaster.data.sources", "forecaster.data.sources.schema", "forecaster.data.sources.yahoo",
           "dashboard.figures", "dashboard.tables", "dashboard.theme", "dashboard.app"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
