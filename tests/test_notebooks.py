"""The analyst notebooks: committed without outputs, and run top to bottom on small data."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_many_tickers.ipynb",
        "03_explore_windows.ipynb",
        "04_is_it_worth_acting_on.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.shared_data
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch, shared_data):
    # The kernel inherits these: a private data dir, one epoch, a few tickers, no dashboard server.
    monkeypatch.setenv("FORECASTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NOTEBOOK_EPOCHS", "1")
    monkeypatch.setenv("NOTEBOOK_TICKERS", "2")
    monkeypatch.setenv("NOTEBOOK_OPEN_DASHBOARD", "0")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if PLOTLY_MIME in o.get("data", {})]
    assert figures, "no Plotly figure rendered"
    # Readable when exported to HTML (nbconvert, the docs): every chart also carries the HTML that draws it
    # without Jupyter, printed lines fit a page, and forecast prices show cents.
    assert all("Plotly.newPlot" in o["data"].get("text/html", "") for o in figures), (
        "a chart a static page leaves blank"
    )
    page, _ = HTMLExporter().from_notebook_node(notebook)
    assert page.count('class="dataframe"') >= 1  # tables are DataFrames, not printed text
    printed = [line for o in outputs if o.get("name") == "stdout" for line in o.text.splitlines()]  # not the log
    assert not [line for line in printed if len(line) > 120], "a printed line wraps on an exported page"
    for table in _tables_with(outputs, "lstm_lo80"):
        prices = re.findall(r"<td>(-?\d+\.\d+)</td>", table)
        assert prices and all(len(p.split(".")[1]) == 2 for p in prices), prices[:5]


def _tables_with(outputs: list, column: str) -> list[str]:
    """The HTML of every DataFrame output that has ``column``."""
    return [
        o["data"]["text/html"]
        for o in outputs
        if column in o.get("data", {}).get("text/html", "") and "<td>" in o["data"]["text/html"]
    ]
