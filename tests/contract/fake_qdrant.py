"""A small stand-in for a Qdrant cluster's REST API, for what local mode cannot show.

qdrant-client's ``:memory:`` mode ignores shard keys, write ordering and timeouts and never
fails. This server answers the handful of endpoints the adapter uses the way a Qdrant 1.x
server with ``sharding_method=custom`` does (as read in Qdrant's source):

- a write to a custom-sharded collection must name an existing shard key (400 otherwise);
- a read that names an unknown shard key is refused with 400 ("Shard key ... not found");
- a read without a shard key reads every shard;
- a delete only touches the shard it names.

It does not evaluate filters or rank vectors: reads return every point of the selected shards.
Tests script failures per endpoint (a status code to answer with, or seconds to stall first)
and read back every request it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

COLLECTION = "memories"
_BASE = f"/collections/{COLLECTION}"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Stall:
    """Wait this long before answering normally (longer than the client's timeout: no answer)."""

    seconds: float


@dataclass
class FakeQdrant:
    dimension: int
    # The collection as it stands: None until created (or preset by a test).
    collection: dict[str, Any] | None = None
    payload_schema: dict[str, Any] = field(default_factory=dict)
    shard_keys: set[str] = field(default_factory=set)
    # point id -> (shard key or None, payload)
    points: dict[str, tuple[str | None, dict[str, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    # Paths whose answer was written in full, in order.
    answered: list[str] = field(default_factory=list)
    # (method, path) -> actions taken by the next requests, in order: a status or a Stall.
    script: dict[tuple[str, str], list[int | Stall]] = field(default_factory=dict)
    # Called on a create-shard-key request before it is answered (to stage races).
    on_create_shard_key: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    # -- test helpers -------------------------------------------------------------------

    def requests(self, method: str, suffix: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == _BASE + suffix]

    def fail(self, method: str, suffix: str, *actions: int | Stall) -> None:
        self.script.setdefault((method, _BASE + suffix), []).extend(actions)

    def preset_collection(self, *, sharding_method: str | None) -> None:
        self.collection = {
            "vectors": {"size": self.dimension, "distance": "Cosine"},
            **({"sharding_method": sharding_method} if sharding_method else {}),
        }

    @property
    def custom(self) -> bool:
        return bool(self.collection and self.collection.get("sharding_method") == "custom")

    # -- the API ------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/":
            return 200, {"title": "qdrant - vector search engine", "version": "1.20.0"}
        route = (method, path.removeprefix(_BASE) if path.startswith(_BASE) else None)
        handlers = {
            ("GET", "/exists"): self._exists,
            ("PUT", ""): self._create_collection,
            ("GET", ""): self._get_collection,
            ("PUT", "/index"): self._create_index,
            ("GET", "/shards"): self._list_shard_keys,
            ("PUT", "/shards"): self._create_shard_key,
            ("PUT", "/points"): self._upsert,
            ("POST", "/points"): self._retrieve,
            ("POST", "/points/delete"): self._delete,
            ("POST", "/points/scroll"): self._scroll,
            ("POST", "/points/count"): self._count,
            ("POST", "/points/query"): self._query,
        }
        handler = handlers.get(route)
        if handler is None:
            return 404, {"status": {"error": f"Not found: {method} {path}"}}
        with self.lock:
            return handler(body or {})

    def _ok(self, result: Any) -> tuple[int, Any]:
        return 200, {"result": result, "status": "ok", "time": 0.0}

    @staticmethod
    def _bad(message: str, status: int = 400) -> tuple[int, Any]:
        return status, {"status": {"error": message}, "time": 0.0}

    def _exists(self, _body: Any) -> tuple[int, Any]:
        return self._ok({"exists": self.collection is not None})

    def _create_collection(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.collection is not None:
            return self._bad(f"Wrong input: Collection `{COLLECTION}` already exists!", 409)
        self.collection = {
            "vectors": body["vectors"],
            **{
                k: body[k]
                for k in (
                    "shard_number",
                    "sharding_method",
                    "replication_factor",
                    "write_consistency_factor",
                )
                if body.get(k) is not None
            },
        }
        return self._ok(result=True)

    def _get_collection(self, _body: Any) -> tuple[int, Any]:
        if self.collection is None:
            return self._bad(f"Collection `{COLLECTION}` doesn't exist!", 404)
        return self._ok(
            {
                "status": "green",
                "optimizer_status": "ok",
                "segments_count": 1,
                "config": {
                    "params": self.collection,
                    "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
                    "optimizer_config": {
                        "deleted_threshold": 0.2,
                        "vacuum_min_vector_number": 1000,
                        "default_segment_number": 0,
                        "flush_interval_sec": 5,
                    },
                    "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
                },
                "payload_schema": self.payload_schema,
            }
        )

    def _create_index(self, body: dict[str, Any]) -> tuple[int, Any]:
        schema = body["field_schema"]
        data_type = schema if isinstance(schema, str) else schema["type"]
        self.payload_schema[body["field_name"]] = {
            "data_type": data_type,
            **({"params": schema} if isinstance(schema, dict) else {}),
            "points": 0,
        }
        return self._ok({"operation_id": 0, "status": "completed"})

    def _list_shard_keys(self, _body: Any) -> tuple[int, Any]:
        return self._ok({"shard_keys": [{"key": k} for k in sorted(self.shard_keys)]})

    def _create_shard_key(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.on_create_shard_key is not None:
            self.on_create_shard_key(self, body)
        if not self.custom:
            return self._bad("Shard keys need sharding_method custom")
        key = body["shard_key"]
        if key in self.shard_keys:
            return self._bad(f"Wrong input: Shard key {key} already exists")
        self.shard_keys.add(key)
        return self._ok(result=True)

    def _selected(self, body: dict[str, Any], *, write: bool) -> list[str | None] | str:
        """The shards a request names, or an error message."""
        key = body.get("shard_key")
        if not self.custom:
            return "Shard keys need sharding_method custom" if key is not None else [None]
        if key is None:
            return "Shard key not specified" if write else sorted(self.shard_keys)
        keys = key if isinstance(key, list) else [key]
        for k in keys:
            if k not in self.shard_keys:
                return f"Bad request: Shard key {k} not found"
        return keys

    def _points_in(self, shards: list[str | None]) -> list[tuple[str, dict[str, Any]]]:
        return sorted((pid, p) for pid, (shard, p) in self.points.items() if shard in shards)

    def _upsert(self, body: dict[str, Any]) -> tuple[int, Any]:
        shards = self._selected(body, write=True)
        if isinstance(shards, str):
            return self._bad(shards)
        if len(shards) != 1:
            return self._bad("an upsert names one shard key here")
        for point in body["points"]:
            self.points[str(point["id"])] = (shards[0], point["payload"])
        return self._ok({"operation_id": 1, "status": "completed"})

    def _retrieve(self, body: dict[str, Any]) -> tuple[int, Any]:
        shards = self._selected(body, write=False)
        if isinstance(shards, str):
            return self._bad(shards)
        wanted = {str(i) for i in body["ids"]}
        return self._ok(
            [
                {"id": pid, "payload": payload if body.get("with_payload") else None}
                for pid, payload in self._points_in(shards)
                if pid in wanted
            ]
        )

    def _delete(self, body: dict[str, Any]) -> tuple[int, Any]:
        shards = self._selected(body, write=True)
        if isinstance(shards, str):
            return self._bad(shards)
        for pid in body["points"]:
            if str(pid) in self.points and self.points[str(pid)][0] in shards:
                del self.points[str(pid)]
        return self._ok({"operation_id": 2, "status": "completed"})

    def _scroll(self, body: dict[str, Any]) -> tuple[int, Any]:
        shards = self._selected(body, write=False)
        if isinstance(shards, str):
            return self._bad(shards)
        points = [{"id": pid, "payload": p} for pid, p in self._points_in(shards)]
        return self._ok({"points": points[: body.get("limit", 10)], "next_page_offset": None})

    def _count(self, body: dict[str, Any]) -> tuple[int, Any]:
        shards = self._selected(body, write=False)
        if isinstance(shards, str):
            return self._bad(shards)
        return self._ok({"count": len(self._points_in(shards))})

    def _query(self, body: dict[str, Any]) -> tuple[int, Any]:
        shards = self._selected(body, write=False)
        if isinstance(shards, str):
            return self._bad(shards)
        points = [
            {"id": pid, "version": 1, "score": 1.0, "payload": p}
            for pid, p in self._points_in(shards)
        ]
        return self._ok({"points": points[: body.get("limit", 10)]})


def _handler_for(fake: FakeQdrant) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with fake.lock:
                fake.seen.append(Seen(self.command, parts.path, query, body))
                actions = fake.script.get((self.command, parts.path))
                action = actions.pop(0) if actions else None
            if isinstance(action, Stall):
                time.sleep(action.seconds)
                action = None
            if isinstance(action, int):
                status, answer = action, {"status": {"error": "scripted failure"}, "time": 0.0}
            else:
                status, answer = fake.handle(self.command, parts.path, query, body)
            payload = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                fake.answered.append(parts.path)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def running(fake: FakeQdrant) -> Iterator[FakeQdrant]:
    """Serve ``fake`` on a free local port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll so that shutting down does not wait out the default half second.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
