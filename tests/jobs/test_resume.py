"""A failure late in a run loses nothing that finished: each stage is failed on purpose, and the same run goes on
from the first unfinished stage without doing a finished one again."""

from __future__ import annotations

from collections import Counter

import pytest

from forecaster import artifacts
from forecaster.errors import ConfigError, RunFailed
from forecaster.evaluate import garch, significance
from forecaster.jobs import card, checkpoint
from forecaster.jobs.run import RunOptions, run
from forecaster.model import scoring, training
from forecaster.prepare import table
from tests.conftest import TINY_MODEL

#: The stages in the order a run reaches them: (the function that does the work, the words the error uses).
STAGES = {
    "prepare": (table, "prepare", "preparing 2 tickers on Spark"),
    "garch": (garch, "fit_on_executors", "fitting GARCH(1,1) per ticker on the executors"),
    "train": (training, "fit", "training"),
    "score": (scoring, "score_split_to", "scoring"),
    "assess": (significance, "every_ticker_tests", "testing each ticker against naive"),
    "write": (card, "model_card", "writing the artifacts"),
}


def _options(data_dir, **extra):
    """The shared ``sample_run``'s options, so that the resumed run can be compared with it."""
    return RunOptions(
        source="sample",
        tickers=["IBM", "MSFT"],
        model=TINY_MODEL,
        data_dir=data_dir,
        verbose=0,
        ma_window=10,
        test_start="2012-03-01",
        min_cross_section=2,
        **extra,
    )


def _counting(monkeypatch, calls: Counter, fail: str | None) -> None:
    """Count each stage's calls; make ``fail``'s raise as an unexpected error would."""
    for name, (module, attribute, _) in STAGES.items():
        original = getattr(module, attribute)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            if _name == fail:
                raise RuntimeError(f"injected failure in {_name}")
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, attribute, wrapper)


def _finished(data_dir, run_id: str) -> set[str]:
    """The stages (``STAGES``' names) an unfinished run has kept."""
    kept = checkpoint.Progress.read(data_dir / "runs" / run_id).finished
    return {name.split("/")[-1] for name in kept} & set(STAGES)


@pytest.mark.slow
def test_each_stage_failed_on_purpose_resumes_without_redoing_the_finished_ones(sample_run, tmp_path, monkeypatch):
    _, reference = sample_run
    finished: set[str] = set()
    run_ids = set()
    # GARCH fits while the model trains: a failure of either lets the other finish (test_a_failed_garch...).
    for stage_name in ("prepare", "train", "score", "assess", "write"):
        calls: Counter = Counter()
        with monkeypatch.context() as patch:
            _counting(patch, calls, fail=stage_name)
            with pytest.raises(RunFailed) as failure:
                run(_options(tmp_path))
        message = str(failure.value)
        assert f"the run stopped while {STAGES[stage_name][2]}" in message and "injected failure" in message, message
        assert f"--resume {failure.value.run_id}" in message
        run_ids.add(failure.value.run_id)
        assert calls[stage_name] == 1 and not any(calls[done] for done in finished), (stage_name, calls)
        finished = _finished(tmp_path, failure.value.run_id)
        assert stage_name not in finished
        # Nothing is published by a failed run; its folder stays, with what finished.
        assert artifacts.latest_run_dir(tmp_path) is None
        assert checkpoint.unfinished_runs(tmp_path) == [tmp_path / "runs" / failure.value.run_id]
    assert len(run_ids) == 1  # every attempt continued the same run
    calls = Counter()
    with monkeypatch.context() as patch:
        _counting(patch, calls, fail=None)
        result = run(_options(tmp_path))
    assert dict(calls) == {"write": 1}  # only the artifacts were left to write
    assert result.run_dir.name in run_ids and artifacts.latest_run_dir(tmp_path) == result.run_dir
    assert not (result.run_dir / checkpoint.CHECKPOINTS).exists()
    assert result.report == reference.report  # the same numbers as a run that never failed


@pytest.mark.slow
def test_a_failed_garch_resumes_without_training_again_and_a_named_resume_must_match(sample_run, tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        _counting(patch, Counter(), fail="garch")
        with pytest.raises(RunFailed) as failure:
            run(_options(tmp_path))
    run_id = failure.value.run_id
    assert f"the run stopped while {STAGES['garch'][2]}" in str(failure.value)
    assert _finished(tmp_path, run_id) == {"prepare", "train"}
    with pytest.raises(ConfigError, match=f"--resume {run_id}: that run was started with other options"):
        run(_options(tmp_path, cost_bps=9.0, resume=run_id))
    with pytest.raises(ConfigError, match="--resume nope: no unfinished run of that id"):
        run(_options(tmp_path, resume="nope"))
    calls: Counter = Counter()
    with monkeypatch.context() as patch:
        _counting(patch, calls, fail="prepare")
        with pytest.raises(RunFailed) as fresh:
            run(_options(tmp_path, fresh=True))
    assert fresh.value.run_id != run_id and calls["prepare"] == 1
    calls = Counter()
    with monkeypatch.context() as patch:
        _counting(patch, calls, fail="score")
        with pytest.raises(RunFailed) as resumed:
            run(_options(tmp_path, resume=run_id))
    assert resumed.value.run_id == run_id and calls["garch"] == 1 and calls["train"] == 0


def test_check_lists_an_unfinished_run_as_resumable(tmp_path, capsys):
    from forecaster.cli import main

    run_dir = tmp_path / "runs" / "20261130T101010Z-abc123"
    run_dir.mkdir(parents=True)
    progress = checkpoint.Progress.start(run_dir, "f00")
    progress.stage("fold-1/prepare", lambda: {"kept": True})
    progress.failed("training", RuntimeError("out of memory"))
    assert main(["check", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "resumable run 20261130T101010Z-abc123 (stopped while training; kept: fold-1/prepare): the same `run` "
        "command continues it, or add --resume 20261130T101010Z-abc123"
    ) in out


def test_a_kept_stage_comes_back_as_it_was(tmp_path):
    """Tables (their index and dtypes; attrs dropped: Spark Connect puts objects there), dataclasses, paths and
    tuples survive the JSON and Parquet of a checkpoint."""
    import pandas as pd

    from forecaster.model.network import TrainResult

    frame = pd.DataFrame(
        {"ticker": ["A", "B"], "date": pd.to_datetime(["2020-01-02", "2020-01-03"]), "x": [1.5, 2.0]},
        index=pd.Index([3, 7], name="row"),
    )
    frame.attrs["metrics"] = [object()]
    value = {
        "table": frame,
        "path": tmp_path / "model.keras",
        "shape": (2, 3),
        "result": TrainResult(
            epochs_run=3, best_epoch=2, best_val_loss=0.5, train_seconds=1.0, member_best_epochs=(2, 1)
        ),
    }
    progress = checkpoint.Progress.start(tmp_path, "f00")
    progress.stage("one", lambda: value)
    again = checkpoint.Progress.read(tmp_path).stage("one", lambda: pytest.fail("a finished stage ran again"))
    assert again["table"].equals(frame) and again["table"].index.name == "row"
    assert again["path"] == value["path"] and again["shape"] == (2, 3) and again["result"] == value["result"]
