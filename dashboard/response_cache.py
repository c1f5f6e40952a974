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

from dashboard.reader import ArtifactReader

#: Serialised responses kept per worker process (bytes, raw and compressed together).
CACHE_BYTES = 96 * 2**20
#: Callbacks whose answer changes with time, not with their request: never stored.
UNCACHED_OUTPUTS = ("url.search", "newer-run.")
_CALLBACK_PATH = "/_dash-update-component"


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


def request_key(body: bytes, reader: ArtifactReader) -> str | None:
    """What identifies a callback request's answer: the request itself and the version of the run it names;
    None when it names no run or asks for something that changes with time."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or any(marker in str(payload.get("output", "")) for marker in UNCACHED_OUTPUTS):
        return None
    values = [*(payload.get("inputs") or []), *(payload.get("state") or [])]
    run_id = next((v.get("value") for v in values if isinstance(v, dict) and v.get("id") == "run-id"), None)
    version = reader.version(run_id) if isinstance(run_id, str) else None
    if version is None:
        return None
    return hashlib.sha256(body + repr(version).encode()).hexdigest()


def install(server: flask.Flask, reader: ArtifactReader) -> tuple[ByteLRU, ByteLRU]:
    """Compress responses (brotli or gzip) and answer repeated callback requests from stored bytes; returns the
    two stores (serialised, compressed)."""
    raw, compressed = ByteLRU(CACHE_BYTES // 2), ByteLRU(CACHE_BYTES // 2)
    server.config.update(COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=4, COMPRESS_LEVEL=6,
                         COMPRESS_CACHE_BACKEND=lambda: compressed,
                         COMPRESS_CACHE_KEY=lambda request: str(flask.g.get("response_key")))
    Compress(server)  # its after_request runs after ours (Flask runs them last-registered first)

    @server.before_request
    def answer_from_cache() -> flask.Response | None:
        if flask.request.method != "POST" or not flask.request.path.endswith(_CALLBACK_PATH):
            return None
        key = request_key(flask.request.get_data(cache=True), reader)
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
