"""Callback responses kept in serialised form, and compressed once.

A callback's answer depends only on its request and on the run the request names (runs never change once
published, but for the forecast, which ``forecast`` refreshes in place: its file time is part of the key). So
the second time anyone asks the same thing of the same run, the stored bytes go back without building or
serialising anything, and Flask-Compress sends its stored brotli/gzip bytes without compressing again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import flask
import orjson
from flask_compress import Compress

from dashboard import address
from dashboard.reader import ArtifactReader

#: Serialised responses kept per worker process (bytes, raw and compressed together).
CACHE_BYTES = 96 * 2**20
#: Callbacks whose answer changes with time, not with their request: never stored.
UNCACHED_OUTPUTS = ("url.search", "newer-run.", "track-")
_CALLBACK_PATH = "/_dash-update-component"
_LAYOUT_PATH = "/_dash-layout"
#: Scripts and style sheets: compressed once, not at every page load (plotly.js alone is 1.3 MB).
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")


class ByteLRU:
    """A thread-safe least-recently-used store of bytes, bounded by their total size."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None) -> bytes | None:
        if key is None or key.endswith(";None"):
            return None
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str | None, value: bytes) -> None:
        if key is None or key.endswith(";None") or len(value) > self.budget // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size += len(value) - (len(old) if old is not None else 0)
            self._items[key] = value
            while self.size > self.budget:
                self.size -= len(self._items.popitem(last=False)[1])


def _version_named(values: list, reader: ArtifactReader) -> tuple | None:
    """The version of the run a callback request is about: the page's run, or for the page itself the run its
    address names (the latest when it names none) and the latest run (the run picker lists it); None when it
    names no run, or asks for the live ledger."""
    for value in values:
        if not isinstance(value, dict):
            continue
        if value.get("id") == "run-id" and isinstance(value.get("value"), str):
            return reader.version(value["value"])
        if value.get("id") == "url" and value.get("property") == "search":
            wanted, latest = address.parse(value.get("value")), reader.latest_id()
            name = wanted.run or latest
            run = reader.version(name) if isinstance(name, str) else None
            return None if wanted.tab == "track" or run is None else (*run, latest)
        if value.get("id") == "after-draw" and isinstance(value.get("value"), dict):
            run = value["value"].get("run")
            return reader.version(run) if isinstance(run, str) else None
    return None


def request_key(body: bytes, reader: ArtifactReader) -> str | None:
    """What identifies a callback request's answer: the request itself and the version of the run it names;
    None when it names no run or asks for something that changes with time."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or any(marker in str(payload.get("output", "")) for marker in UNCACHED_OUTPUTS):
        return None
    version = _version_named([*(payload.get("inputs") or []), *(payload.get("state") or [])], reader)
    if version is None:
        return None
    return hashlib.sha256(body + repr(version).encode()).hexdigest()


def layout_key(search: str | None, reader: ArtifactReader) -> str | None:
    """What identifies the layout sent to a page at ``search`` (the page arrives built for its address): the
    address and the versions of its run and of the latest run; None when unknown or live (the Track record)."""
    if search is None:
        return None
    version = _version_named([{"id": "url", "property": "search", "value": search}], reader)
    return None if version is None else hashlib.sha256(f"layout{search}{version!r}".encode()).hexdigest()


def _compressed_key(request: flask.Request) -> str:
    """The key of a response's compressed bytes: a callback's answer by its request and run, a script or style
    sheet by its address (which carries the file's time, so an upgrade is a new address); "None" stores nothing."""
    key = flask.g.get("response_key")
    if key is None and request.method == "GET" and request.path.startswith(STATIC_PREFIXES):
        return "static:" + request.full_path
    return str(key)


def install(server: flask.Flask, reader: ArtifactReader) -> tuple[ByteLRU, ByteLRU]:
    """Compress responses (brotli or gzip) and answer repeated callback requests from stored bytes; returns the
    two stores (serialised, compressed)."""
    raw, compressed = ByteLRU(CACHE_BYTES // 2), ByteLRU(CACHE_BYTES // 2)
    server.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=4,
        COMPRESS_LEVEL=6,
        COMPRESS_CACHE_BACKEND=lambda: compressed,
        COMPRESS_CACHE_KEY=_compressed_key,
    )
    Compress(server)  # its after_request runs after ours (Flask runs them last-registered first)

    @server.before_request
    def answer_from_cache() -> flask.Response | None:
        if flask.request.method == "GET" and flask.request.path.endswith(_LAYOUT_PATH):
            key = layout_key(address.referrer_search(flask.request.referrer), reader)
        elif flask.request.method == "POST" and flask.request.path.endswith(_CALLBACK_PATH):
            key = request_key(flask.request.get_data(cache=True), reader)
        else:
            return None
        flask.g.response_key = key
        stored = raw.get(key)
        return None if stored is None else flask.Response(stored, mimetype="application/json")

    @server.after_request
    def keep(response: flask.Response) -> flask.Response:
        key = flask.g.get("response_key")
        if key is not None and response.status_code == 200 and not response.is_streamed and raw.get(key) is None:
            raw.set(key, response.get_data())
        return response

    return raw, compressed
