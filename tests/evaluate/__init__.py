"""Tests of forecaster.evaluate."""
