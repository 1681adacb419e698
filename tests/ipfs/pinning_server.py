"""A small real HTTP server implementing the IPFS Pinning Service API 0.1.x, on 127.0.0.1, for tests.

Not a mock of our client: it speaks the spec's wire format (bearer auth, 202
PinStatus, GET/POST/DELETE /pins/{requestid}, GET /pins filters, `{"error":
{"reason","details"}}`). A pin moves queued → pinning → pinned on successive
status reads, or ends failed for CIDs listed in `fail_cids`.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from integrations.localnet import free_port


class PinningService:
    def __init__(self, token: str, *, port: int | None = None, steps_to_pinned: int = 2):
        self.token = token
        self.port = port or free_port()
        self.steps_to_pinned = steps_to_pinned
        self.pins: dict[str, dict] = {}
        self.fail_cids: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PinningService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict | None = None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, reason: str, details: str = ""):
                self._send(status, {"error": {"reason": reason, "details": details}})

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _handle(self, method: str):
                parts = urlsplit(self.path)
                with service.lock:
                    service.requests.append((method, parts.path))
                if self.headers.get("Authorization") != f"Bearer {service.token}":
                    return self._error(401, "UNAUTHORIZED", "Access token is missing or invalid")
                segments = [segment for segment in parts.path.split("/") if segment]
                if segments[:1] != ["pins"] or len(segments) > 2:
                    return self._error(404, "NOT_FOUND", parts.path)
                query = parse_qs(parts.query)
                with service.lock:
                    if len(segments) == 1 and method == "GET":
                        return self._send(200, service._list(query))
                    if len(segments) == 1 and method == "POST":
                        body = self._body()
                        if not body.get("cid"):
                            return self._error(400, "BAD_REQUEST", "cid is required")
                        return self._send(202, service._create(body))
                    request_id = segments[1]
                    pin = service.pins.get(request_id)
                    if pin is None:
                        return self._error(404, "NOT_FOUND", f"no pin request {request_id}")
                    if method == "GET":
                        return self._send(200, service._advance(pin))
                    if method == "POST":
                        del service.pins[request_id]
                        return self._send(202, service._create(self._body()))
                    if method == "DELETE":
                        del service.pins[request_id]
                        return self._send(202)
                return self._error(405, "METHOD_NOT_ALLOWED", method)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_DELETE(self):
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- state ---------------------------------------------------------------
    def _create(self, body: dict) -> dict:
        request_id = uuid.uuid4().hex
        pin = {"requestid": request_id, "status": "queued", "reads": 0,
               "created": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
               "pin": {"cid": body["cid"], "name": body.get("name"), "origins": body.get("origins", []),
                       "meta": body.get("meta", {})},
               "delegates": ["/ip4/127.0.0.1/tcp/4001/p2p/QmTestDelegate"], "info": {}}
        self.pins[request_id] = pin
        return self._public(pin)

    def _advance(self, pin: dict) -> dict:
        if pin["status"] in ("queued", "pinning"):
            pin["reads"] += 1
            if pin["pin"]["cid"] in self.fail_cids:
                pin["status"] = "failed"
                pin["info"] = {"status_details": "could not fetch the DAG"}
            elif pin["reads"] >= self.steps_to_pinned:
                pin["status"] = "pinned"
            else:
                pin["status"] = "pinning"
        return self._public(pin)

    @staticmethod
    def _public(pin: dict) -> dict:
        return {key: value for key, value in pin.items() if key != "reads"}

    def _list(self, query: dict) -> dict:
        statuses = (query.get("status", ["pinned"])[0]).split(",")
        cids = query.get("cid", [""])[0].split(",") if "cid" in query else None
        limit = min(int(query.get("limit", ["10"])[0]), 1000)
        results = [self._public(pin) for pin in self.pins.values()
                   if pin["status"] in statuses and (cids is None or pin["pin"]["cid"] in cids)]
        return {"count": len(results), "results": results[:limit]}
