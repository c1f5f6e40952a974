"""The examples in the docstrings of the modules that need neither Spark nor Keras run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

#: Each module and the number of examples its docstrings hold today: a module that loses its examples fails here,
#: rather than passing with nothing run.
EXAMPLES = {
    "forecaster.columns": 3,
    "forecaster.config": 5,
    "forecaster.artifacts": 2,
    "forecaster.left_out": 3,
    "forecaster.data.trading_days": 4,
    "forecaster.data.sources": 2,
    "forecaster.data.sources.schema": 1,
    "forecaster.data.sources.yahoo": 1,
    "forecaster.prepare.splits": 6,
    "forecaster.prepare.screen": 4,
    "forecaster.model.intervals": 1,
    "forecaster.evaluate.metrics": 5,
    "forecaster.evaluate.baselines": 2,
    "forecaster.evaluate.significance": 9,
    "forecaster.evaluate.band_backtest": 6,
    "forecaster.evaluate.cross_section": 5,
    "forecaster.evaluate.portfolio": 2,
    "forecaster.evaluate.skill": 1,
    "dashboard.figures": 3,
    "dashboard.tables": 9,
    "dashboard.theme": 1,
    "dashboard.app": 2,
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
    assert result.attempted >= EXAMPLES[name], f"{name} holds {result.attempted} examples, not {EXAMPLES[name]}"
