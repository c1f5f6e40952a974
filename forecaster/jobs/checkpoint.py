"""The finished stages of a run, kept in its unpublished folder, so that a failure (or a kill) late in a long run
loses nothing that finished: the same command continues from the first unfinished stage.

A run folder that is not yet published holds ``progress.json`` (the run's fingerprint - its options and the
content of its prices - and the stages finished so far) and ``checkpoints/`` (each finished stage's result as
JSON, its tables as Parquet files beside it, each written atomically; never pickle, which would run code from a
folder anyone with write access to the data directory could change). Stages that write their own files (the
prepared table, the model, the executors' scores) write them into the run folder as always; their checkpoint
records what the next stages need to use them. A run resumes only with the same fingerprint: other options or
other prices start afresh. The checkpoints are removed when the run is published.

Example:
    >>> progress = Progress.start(Path("data/runs/20261130T101010Z-abc123"), "f1e2d3")  # doctest: +SKIP
    >>> prepared = progress.stage("fold-1/prepare", lambda: prepare(...))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from forecaster import artifacts
from forecaster.config import RunOptions
from forecaster.data import cache
from forecaster.errors import ArtifactError, ConfigError

log = logging.getLogger(__name__)

PROGRESS = "progress.json"
#: The attribute an error carries with the name of the stage it stopped (``forecaster.jobs.run.stage`` sets it).
STAGE_ATTRIBUTE = "forecaster_stage"
CHECKPOINTS = "checkpoints"
#: Options that change how a run reports or where it runs, not what it computes: a resume may change them.
NOT_FINGERPRINTED = (
    "verbose",
    "report_path",
    "mlflow_uri",
    "data_dir",
    "master",
    "remote",
    "csv_paths",
    "resume",
    "fresh",
)

T = TypeVar("T")


def fingerprint(opts: RunOptions, price_paths: list[Path]) -> str:
    """What a run computes from: its options (but those in ``NOT_FINGERPRINTED``) and the content of each price
    file it reads (the rows, not the file's bytes: a re-import of the same prices stamps a new import time)."""
    digest = hashlib.sha256()
    options = {k: v for k, v in asdict(opts).items() if k not in NOT_FINGERPRINTED}
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    table = cache.read_many(price_paths, ["date", "open", "high", "low", "close", "adj_close", "volume"])
    rows = table.column("ticker").to_pandas().value_counts().sort_index()
    digest.update(json.dumps({str(t): int(n) for t, n in rows.items()}).encode())  # the rows' tickers, in order
    for name in table.column_names[1:]:
        digest.update(np.ascontiguousarray(table.column(name).to_numpy()).tobytes())
    return digest.hexdigest()[:16]


class Progress:
    """The finished stages of one unpublished run folder."""

    def __init__(self, run_dir: Path, state: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.state = state

    @classmethod
    def start(cls, run_dir: Path, print_: str) -> Progress:
        """A new run's progress (nothing finished yet), written at once so that a kill leaves a resumable folder."""
        progress = cls(run_dir, {"fingerprint": print_, "finished": []})
        progress._write()
        return progress

    @classmethod
    def read(cls, run_dir: Path) -> Progress:
        """The progress of an unfinished run folder, or ArtifactError."""
        return cls(run_dir, artifacts.read_json(run_dir / PROGRESS))

    @property
    def finished(self) -> list[str]:
        return list(self.state["finished"])

    def stage(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``'s result, kept as the checkpoint ``name``; read back instead when that stage finished
        in an earlier attempt of this run."""
        folder = self.run_dir / CHECKPOINTS / name
        if name in self.state["finished"]:
            try:
                value = _decode(json.loads((folder / "value.json").read_text(encoding="utf-8")), folder)
                log.info("%s: finished earlier, kept", name)
                return value
            except (OSError, ValueError, KeyError, TypeError, ArtifactError) as exc:
                log.warning("%s: its checkpoint cannot be read (%s); running it again", name, exc)
        value = compute()
        try:
            shutil.rmtree(folder, ignore_errors=True)
            encoded = json.dumps(_encode(value, folder, [0]))
            artifacts.atomic_write(folder / "value.json", lambda tmp: tmp.write_text(encoded, encoding="utf-8"))
        except Exception as exc:
            setattr(exc, STAGE_ATTRIBUTE, f"keeping the finished stage {name}")  # the run's one-line error says it
            raise
        self.state["finished"] = [s for s in self.state["finished"] if s != name] + [name]
        self._write()
        return value

    def failed(self, stage: str, error: BaseException) -> None:
        """Note where and why the run stopped (shown by ``check`` and the next attempt)."""
        self.state["failed"] = {"stage": stage, "error": f"{type(error).__name__}: {error}"[:500]}
        self._write()

    def done(self) -> None:
        """The run is published: its checkpoints are of no further use."""
        shutil.rmtree(self.run_dir / CHECKPOINTS, ignore_errors=True)
        (self.run_dir / PROGRESS).unlink(missing_ok=True)

    def _write(self) -> None:
        artifacts.write_json(self.run_dir / PROGRESS, self.state)


#: Types JSON keeps as they are, compared exactly (a NumPy float is a float subclass, tagged below).
_PLAIN = frozenset({str, bool, int, float, type(None)})


def _encode(value: Any, folder: Path, tables: list[int]) -> Any:
    """``value`` as JSON: tables go to Parquet files in ``folder`` (named in order), and dataclasses, paths,
    tuples and NumPy numbers are tagged so that ``_decode`` gives back the same types."""
    # The common cases first, by exact type: a report holds millions of numbers in hundreds of thousands of dicts.
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"a checkpoint keeps dicts with text keys only, not {sorted(map(repr, value))[:3]}")
        return {k: _encode(v, folder, tables) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v, folder, tables) for v in value]
    if isinstance(value, pd.DataFrame):
        tables[0] += 1
        path = folder / f"table-{tables[0]}.parquet"
        plain = value.copy(deep=False)
        plain.attrs = {}  # pandas writes attrs as JSON; Spark Connect's toPandas puts its plan metrics there
        artifacts.atomic_write(path, lambda tmp: plain.to_parquet(tmp))  # pandas keeps the index and dtypes
        return {"__table__": path.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        return {
            "__dataclass__": f"{kind.__module__}:{kind.__qualname__}",
            "fields": {f.name: _encode(getattr(value, f.name), folder, tables) for f in dataclasses.fields(value)},
        }
    if isinstance(value, Path):
        return {"__path__": str(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, folder, tables) for v in value]}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"a checkpoint cannot keep a {type(value).__name__}")


def _decode(value: Any, folder: Path) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [_decode(v, folder) for v in value]
    if "__table__" in value:
        return pd.read_parquet(folder / value["__table__"])
    if "__path__" in value:
        return Path(value["__path__"])
    if "__tuple__" in value:
        return tuple(_decode(v, folder) for v in value["__tuple__"])
    if "__dataclass__" in value:
        module, name = value["__dataclass__"].split(":")
        if not module.startswith("forecaster."):
            raise TypeError(f"a checkpoint names a class outside forecaster: {module}")
        kind = getattr(importlib.import_module(module), name)
        if not dataclasses.is_dataclass(kind):
            raise TypeError(f"{module}:{name} is not a dataclass")
        return kind(**{k: _decode(v, folder) for k, v in value["fields"].items()})
    return {k: _decode(v, folder) for k, v in value.items()}


def unfinished_runs(data_dir: Path) -> list[Path]:
    """Run folders that started and never published, newest first (those a resume can continue)."""
    runs = Path(data_dir) / artifacts.RUNS
    if not runs.is_dir():
        return []
    found = [
        d
        for d in runs.iterdir()
        if d.is_dir() and (d / PROGRESS).is_file() and not (d / artifacts.MODEL_CARD).is_file()
    ]
    return sorted(found, key=lambda d: d.name, reverse=True)


def resumable(data_dir: Path, print_: str, run_id: str | None) -> Progress | None:
    """The unfinished run to continue: ``run_id`` when given (refused, saying why, if it cannot be continued),
    else the newest unfinished run with the same fingerprint, or None."""
    if run_id is None:
        for run_dir in unfinished_runs(data_dir):
            try:
                progress = Progress.read(run_dir)
            except ArtifactError:
                continue
            if progress.state.get("fingerprint") == print_:
                return progress
        return None
    run_dir = Path(data_dir) / artifacts.RUNS / run_id
    if (run_dir / artifacts.MODEL_CARD).is_file():
        raise ConfigError(f"--resume {run_id}: that run finished; nothing to resume")
    if not (run_dir / PROGRESS).is_file():
        known = ", ".join(d.name for d in unfinished_runs(data_dir)) or "none"
        raise ConfigError(f"--resume {run_id}: no unfinished run of that id in {run_dir.parent} (unfinished: {known})")
    progress = Progress.read(run_dir)
    if progress.state.get("fingerprint") != print_:
        raise ConfigError(
            f"--resume {run_id}: that run was started with other options or other prices; give the "
            "same options (and prices), or leave out --resume to start afresh"
        )
    return progress
