"""Errors a user can act on. The CLI prints their message on one line and exits 1.

Which class to raise:

- ``DataError``: the prices (or the options that ask for them) cannot give what was asked: an empty cache,
  a ticker with too little history, a test start outside the data, a malformed CSV row.
- ``SourceError``: a source could not deliver: offline, rate-limited, an unknown symbol, an unreadable file.
- ``ArtifactError``: something this project wrote is missing, damaged or could not be written (disk full).
- ``ConfigError``: a setting cannot be used: an option, an environment variable, an unwritable data dir.

``ValueError`` and ``TypeError`` are left for programming mistakes, never for what a user typed.
"""


class ForecasterError(Exception):
    """Base class: the message names the input and what is wrong with it."""


class DataError(ForecasterError):
    """Input prices are missing, malformed or too short for what was asked."""


class SourceError(ForecasterError):
    """A data source could not deliver (offline, unknown ticker, bad file)."""


class ArtifactError(ForecasterError):
    """An artifact in the data directory is missing or damaged, or could not be written."""


class ConfigError(ForecasterError):
    """A setting (a command-line option, an environment variable, the data directory) cannot be used."""


class RunFailed(ForecasterError):
    """A run stopped at one of its stages; its finished stages are kept, and the message says how to continue."""

    def __init__(self, message: str, stage: str, run_id: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.run_id = run_id
