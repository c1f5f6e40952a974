"""Tests of forecaster.jobs."""
