"""Is everything a reader can see in a data directory whole? The ``check`` command.

Readers (the dashboard, ``forecast``, ``run --source cache``) see cache files that are
not hidden, and the run and preparation that ``LATEST`` points at. Interrupted work
leaves only hidden temporary files and unpublished folders, which readers never open;
they are counted, not reported as damage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from forecaster import artifacts
from forecaster.data import cache
from forecaster.errors import ForecasterError
from forecaster.evaluate import ledger
from forecaster.evaluate.report_files import read_report
from forecaster.jobs import checkpoint


@dataclass
class Check:
    """What was looked at and what was wrong with it."""

    cache_files: int = 0
    run: str | None = None
    prepared: str | None = None
    problems: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)  # folders of interrupted or running jobs
    resumable: dict[str, str] = field(default_factory=dict)  # unfinished run id -> where it stopped, what it kept

    @property
    def ok(self) -> bool:
        return not self.problems


def check_data_dir(data_dir: Path, load_models: bool = True) -> Check:
    """Read every cache file, every ledger file, the latest run (with its models unless ``load_models`` is off) and the
    latest preparation; return what was damaged.

    Example:
        >>> check_data_dir(Path("data")).ok  # doctest: +SKIP
        True
    """
    data_dir = Path(data_dir)
    result = Check()
    for ticker in cache.cached_tickers(data_dir):
        result.cache_files += 1
        _try(result, lambda t=ticker: cache.read_ticker(data_dir, t))
    for path in ledger.files(data_dir):  # the forecasts as issued and their scores
        _try(result, lambda p=path: artifacts.read_parquet(p))
    run_dir = _try(result, lambda: artifacts.latest_run_dir(data_dir))
    if run_dir is not None:
        result.run = run_dir.name
        _check_run(run_dir, load_models, result)
    prepared_dir = _try(result, lambda: artifacts.latest_run_dir(data_dir, artifacts.PREPARED))
    if prepared_dir is not None:
        result.prepared = prepared_dir.name
        manifest = _try(result, lambda: artifacts.read_json(prepared_dir / artifacts.PREPARED_MANIFEST))
        if manifest is not None:
            _try(result, lambda: artifacts.read_parquet(prepared_dir / manifest["table"]))
            _try(result, lambda: artifacts.read_parquet(prepared_dir / manifest["scaling"]))
    for kind, published in ((artifacts.RUNS, result.run), (artifacts.PREPARED, result.prepared)):
        folder = data_dir / kind
        if folder.is_dir():
            result.unpublished += [
                f"{kind}/{d.name}"
                for d in sorted(folder.iterdir())
                if d.is_dir() and d.name != published and not _was_published(d)
            ]
    for run_dir in checkpoint.unfinished_runs(data_dir):
        try:
            state = checkpoint.Progress.read(run_dir).state
        except ForecasterError:
            continue
        failed = state.get("failed")
        stopped = f"stopped while {failed['stage']}" if failed else "killed, or still running"
        result.resumable[run_dir.name] = f"{stopped}; kept: {', '.join(state['finished']) or 'nothing'}"
    return result


def _check_run(run_dir: Path, load_models: bool, result: Check) -> None:
    card = _try(result, lambda: artifacts.read_json(run_dir / artifacts.MODEL_CARD))
    _try(result, lambda: read_report(run_dir))
    for name in (artifacts.PREDICTIONS, artifacts.FORECAST, artifacts.PRICES_SNAPSHOT):
        _try(result, lambda n=name: artifacts.read_parquet(run_dir / n))
    for name in (artifacts.CROSS_SECTION, artifacts.PORTFOLIO):  # only runs of enough tickers have them
        if (run_dir / name).exists():
            _try(result, lambda n=name: artifacts.read_parquet(run_dir / n))
    if card is None:
        return
    _try(result, lambda: artifacts.read_parquet(run_dir / card.get("scaling", artifacts.PREPARED_SCALING)))
    for scores in card.get("scores", []):  # runs before distributed scoring have none
        _try(result, lambda s=scores: artifacts.read_parquet(run_dir / s))
    calibration = card.get("intervals", {}).get("calibration")
    if calibration:  # runs before online calibration have none
        _try(result, lambda: artifacts.read_parquet(run_dir / calibration))
    if load_models:
        from forecaster.model import training

        _try(result, lambda: training.load(run_dir, card))


def _was_published(folder: Path) -> bool:
    # A run finished by someone else after ours stays complete though LATEST moved on: it has its model card
    # (the last file a run writes).
    return (folder / artifacts.MODEL_CARD).is_file() or (folder / artifacts.PREPARED_MANIFEST).is_file()


def _try(result: Check, read):
    try:
        return read()
    except (ForecasterError, KeyError, TypeError) as exc:
        result.problems.append(str(exc) if isinstance(exc, ForecasterError) else f"malformed: {exc!r}")
        return None
