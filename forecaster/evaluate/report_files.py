"""The report on disk: a small JSON summary beside Parquet tables of every ticker's metrics, so that a report of
thousands of tickers stays quick to write and to open.

A run folder holds

- ``report.json``: the ``summary`` and, per ticker, its test period (``test_start``, ``test_end``, ``n_test``);
- ``metrics.parquet``: one row per ticker, step and model with every metric and test of the report (``undefined``:
  the JSON of the reasons of the fields that are null; ``absent``: the JSON list of the columns this model's
  entry does not have, such as naive's ratio to itself's tests);
- ``bands.parquet``: one row per ticker, step, model and band tail (``lo80`` .. ``hi95``) with its backtest.

``read_report`` puts them back together as the nested report that ``build_report`` returns (the ``--report``
contract, which keeps the whole report in one JSON file); a run written before the split has its whole report in
``report.json`` and is read as it is.

Example:
    >>> write_report(run_dir, report)  # doctest: +SKIP
    >>> read_report(run_dir) == report  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster import artifacts
from forecaster.errors import ArtifactError
from forecaster.evaluate.records import records

KEYS = ("ticker", "step", "model")
#: Band backtest fields that count days: whole numbers, whatever Parquet made of a column with nulls.
WHOLE = ("days", "exceptions")


def tables(report: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The report split in three: its JSON part (summary and test periods), the metrics and the band backtests."""
    spans, metric_rows, band_rows = {}, [], []
    shapes: list[tuple[str, ...]] = []  # each row's columns: the few kinds of entry repeat on every ticker
    texts: dict[tuple[tuple[str, str], ...], str] = {}  # the same few reasons repeat too: each written once
    for ticker, entry in report["tickers"].items():
        spans[ticker] = {k: v for k, v in entry.items() if k != "metrics"}
        for step, by_model in entry["metrics"].items():
            for model, fields in by_model.items():
                key = {"ticker": ticker, "step": int(step), "model": model}
                row = {**key, **fields}
                bands, undefined = row.pop("bands", None), row.pop("undefined", None)
                if undefined:
                    reasons = tuple(undefined.items())
                    row["undefined"] = texts.get(reasons) or texts.setdefault(reasons, json.dumps(undefined))
                else:
                    row["undefined"] = None
                metric_rows.append(row)
                shapes.append(tuple(row))
                for band, backtest in (bands or {}).items():
                    band_rows.append({**key, "band": band, **backtest})
    kinds = dict.fromkeys(shapes)
    columns = list(dict.fromkeys(c for shape in kinds for c in shape))
    for shape in kinds:  # a null in the table is a null in the report; what an entry lacks is named
        absent = [c for c in columns if c not in shape]
        kinds[shape] = json.dumps(absent) if absent else None
    for row, shape in zip(metric_rows, shapes, strict=True):
        row["absent"] = kinds[shape]
    return (
        {"summary": report["summary"], "tickers": spans},
        pd.DataFrame(metric_rows, columns=[*columns, "absent"]),
        pd.DataFrame(band_rows),
    )


def write_report(run_dir: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as ``report.json``, ``metrics.parquet`` and ``bands.parquet`` in ``run_dir`` (each
    atomically; the JSON last, since readers start from it)."""
    head, metrics, bands = tables(report)
    artifacts.write_parquet(run_dir / artifacts.METRICS, metrics)
    artifacts.write_parquet(run_dir / artifacts.BANDS, bands)
    artifacts.write_json(run_dir / artifacts.REPORT, head)


@lru_cache(maxsize=4096)
def _parsed(text: str | None) -> Any:
    """A JSON cell's value; the same few texts repeat on every row, so each is parsed once (callers copy it)."""
    return json.loads(text) if text else None


def read_report(run_dir: Path) -> dict[str, Any]:
    """The nested report of a run (``build_report``'s), from its three files; or ArtifactError naming the file
    that is missing or damaged."""
    head = artifacts.read_json(run_dir / artifacts.REPORT)
    tickers = head.get("tickers") if isinstance(head, dict) else None
    if not isinstance(tickers, dict) or any(not isinstance(e, dict) or "metrics" in e for e in tickers.values()):
        return head  # a report written whole (before the split), or not a report: the reader says which
    bands: dict[tuple[str, int, str], dict[str, Any]] = {}
    for row in records(artifacts.read_parquet(run_dir / artifacts.BANDS)):
        key = tuple(row.pop(k) for k in KEYS)
        band = row.pop("band")
        bands.setdefault(key, {})[band] = {k: (int(v) if k in WHOLE and v is not None else v) for k, v in row.items()}
    entries = {t: dict(span) for t, span in tickers.items()}  # a ticker without rows stays without metrics
    for row in records(artifacts.read_parquet(run_dir / artifacts.METRICS)):
        key = tuple(row.pop(k) for k in KEYS)
        undefined = dict(_parsed(row.pop("undefined")) or {})
        absent = _parsed(row.pop("absent")) or ()
        fields = {k: v for k, v in row.items() if k not in absent}
        if key in bands:
            fields["bands"] = bands[key]
        if undefined:
            fields["undefined"] = undefined
        ticker, step, model = key
        if ticker not in entries:
            raise ArtifactError(f"{run_dir / artifacts.METRICS}: ticker {ticker} is not in {artifacts.REPORT}")
        entries[ticker].setdefault("metrics", {}).setdefault(str(step), {})[model] = fields
    return {"tickers": entries, "summary": head["summary"]}
