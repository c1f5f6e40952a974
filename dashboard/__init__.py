"""Dash dashboard over the forecaster's published artifacts. It never trains."""
