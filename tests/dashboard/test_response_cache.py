"""Callback answers are compressed and, asked again of the same run, sent from stored bytes."""

from __future__ import annotations

import json
import os

from dashboard.app import create_app
from forecaster import artifacts
from tests.dashboard.conftest import copy_run

RUN_ID = "20990101T000000Z-aaaaaa"


def _price_request(ticker: str) -> dict:
    """The request a browser sends when the ticker picker changes (the price figure's callback)."""
    return {
        "output": "price-graph.figure",
        "outputs": {"id": "price-graph", "property": "figure"},
        "inputs": [{"id": "ticker", "property": "value", "value": ticker}],
        "state": [
            {"id": "run-id", "property": "data", "value": RUN_ID},
            {"id": "step", "property": "value", "value": 1},
            {"id": "chart", "property": "value", "value": "line"},
            {"id": "baselines", "property": "value", "value": ["naive"]},
            {"id": "range-label", "property": "data", "value": "6M"},
        ],
        "changedPropIds": ["ticker.value"],
    }


def test_answers_are_compressed_and_stored_per_run_version(published_run, tmp_path):
    _, result = published_run
    run = copy_run(tmp_path, result.run_dir, RUN_ID)
    app = create_app(tmp_path)
    raw, compressed = app.server.extensions["response_cache"]
    client = app.server.test_client()
    client.get("/")  # the first request sets Dash's routes up
    body = json.dumps(_price_request("AAPL"))
    headers = {"Content-Type": "application/json", "Accept-Encoding": "br, gzip"}

    first = client.post("/_dash-update-component", data=body, headers=headers)
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    stored, stored_compressed = raw.size, compressed.size
    assert stored > 100_000 and 0 < stored_compressed < stored / 2  # the figure, and its brotli form
    second = client.post("/_dash-update-component", data=body, headers=headers)
    assert second.data == first.data and (raw.size, compressed.size) == (stored, stored_compressed)
    plain = client.post("/_dash-update-component", data=body, headers={"Content-Type": "application/json"})
    assert "Content-Encoding" not in plain.headers and json.loads(plain.data)["response"]["price-graph"]["figure"]

    # `forecast` refreshes a run's forecast in place: its answers are built afresh.
    stamp = (run / artifacts.FORECAST).stat().st_mtime + 5
    os.utime(run / artifacts.FORECAST, (stamp, stamp))
    client.post("/_dash-update-component", data=body, headers=headers)
    assert raw.size > stored


def test_answers_that_change_with_time_are_never_stored(published_run, tmp_path):
    _, result = published_run
    copy_run(tmp_path, result.run_dir, RUN_ID)
    app = create_app(tmp_path)
    raw, _ = app.server.extensions["response_cache"]
    client = app.server.test_client()
    client.get("/")
    poll = {
        "output": "..newer-run.children...newer-run.is_open..",
        "outputs": [{"id": "newer-run", "property": "children"}, {"id": "newer-run", "property": "is_open"}],
        "inputs": [
            {"id": "poll", "property": "n_intervals", "value": 1},
            {"id": "address", "property": "data", "value": f"?run={RUN_ID}&ticker=AAPL"},
        ],
        "state": [{"id": "run-id", "property": "data", "value": RUN_ID}],
        "changedPropIds": ["poll.n_intervals"],
    }
    headers = {"Content-Type": "application/json"}
    first = client.post("/_dash-update-component", data=json.dumps(poll), headers=headers)
    assert json.loads(first.data)["response"]["newer-run"] == {"is_open": False}  # no newer run yet
    assert raw.size == 0
    newer = copy_run(tmp_path, result.run_dir, "20990102T000000Z-bbbbbb")  # published while the page is open
    second = client.post("/_dash-update-component", data=json.dumps(poll), headers=headers)
    answer = json.loads(second.data)["response"]["newer-run"]
    assert answer["is_open"] is True and newer.name in json.dumps(answer["children"])
    assert f"run={newer.name}&ticker=AAPL" in json.dumps(answer["children"])  # the same view, on the newer run
    assert raw.size == 0
    client.post("/_dash-update-component", data=json.dumps(_price_request("AAPL")), headers=headers)
    assert raw.size > 0  # the same cache stores an answer that does not change with time


def test_a_page_arrives_built_for_its_address_and_is_kept(published_run, tmp_path):
    _, result = published_run
    copy_run(tmp_path, result.run_dir, RUN_ID)
    app = create_app(tmp_path)
    raw, _ = app.server.extensions["response_cache"]
    client = app.server.test_client()
    page = f"http://localhost/?run={RUN_ID}&ticker=AAPL&step=2&range=1Y"
    first = client.get("/_dash-layout", headers={"Referer": page})
    text = first.get_data(as_text=True)
    assert '"price-graph"' in text and "AAPL: prices, backtest and forecast" in text  # the chart comes with it
    assert '"value": 2' in text.replace('"value":2', '"value": 2')  # the step picker opens on the address's step
    stored = raw.size
    assert stored > 50_000
    second = client.get("/_dash-layout", headers={"Referer": page})
    assert second.data == first.data and raw.size == stored
    bare = client.get("/_dash-layout").get_data(as_text=True)  # no referrer: the page callback builds it
    assert '"price-graph"' not in bare
