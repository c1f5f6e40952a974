"""Errors a user can act on. The CLI prints their message and exits non-zero."""


class ForecasterError(Exception):
    """Base class: the message names the input and what is wrong with it."""


class DataError(ForecasterError):
    """Input prices are missing, malformed or too short."""


class SourceError(ForecasterError):
    """A data source could not deliver (offline, unknown ticker, bad file)."""


class ArtifactError(ForecasterError):
    """An artifact in the data directory is missing or damaged."""


class ConfigError(ForecasterError):
    """A setting (a command-line option or an environment variable) cannot be used."""
