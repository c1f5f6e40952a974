"""Tests of forecaster.data."""
