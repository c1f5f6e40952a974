"""Tests of forecaster.prepare."""
