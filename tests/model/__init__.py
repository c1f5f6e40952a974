"""Tests of forecaster.model."""
