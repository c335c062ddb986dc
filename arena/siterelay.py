"""The site agent's relay: compute nodes reach the platform through the login node.

It listens on the site's internal network (never on the internet) and forwards only the node API of
jobs its agent runs now (`/api/node/jobs/<job>[/image|/inputs|/assets|/result]`), streaming both
ways without keeping anything: the image, the inputs and assets, the predictions. The node's own
one-job credential goes through untouched; the relay adds nothing and reads no body.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

log = logging.getLogger("arena.site.relay")
NODE_PATH = re.compile(r"^/api/node/jobs/(job-[0-9a-f]{16})(/image|/inputs|/assets|/result)?$")
CHUNK = 1 << 20
PASSED_HEADERS = ("Content-Type", "Content-Length", "Content-Disposition")


class Relay:
    def __init__(self, *, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self._allowed: set[str] = set()
        self._lock = threading.Lock()
        self.http = requests.Session()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def allow(self, job_id: str) -> None:
        with self._lock:
            self._allowed.add(job_id)

    def forbid(self, job_id: str) -> None:
        with self._lock:
            self._allowed.discard(job_id)

    def allowed(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._allowed

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="arena-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(relay: Relay):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            log.debug("relay: " + format, *args)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._forward("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._forward("POST")

        def _refuse(self, status: int, message: str) -> None:
            body = json.dumps({"error": {"code": "refused", "message": message}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, method: str) -> None:
            match = NODE_PATH.match(self.path)
            if match is None or (method == "POST") != (match.group(2) == "/result"):
                return self._refuse(404, "the relay serves only the node API of this site's jobs")
            if not relay.allowed(match.group(1)):
                return self._refuse(403, "this job is not one this site runs now")
            headers = {"Authorization": self.headers.get("Authorization", "")}
            body = None
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                headers.update({"Content-Type": self.headers.get("Content-Type", ""), "Content-Length": str(length)})
                body = _Limited(self.rfile, length)
            try:
                upstream = relay.http.request(
                    method, relay.upstream + self.path, headers=headers, data=body, stream=True, timeout=(10, 600)
                )
            except requests.RequestException as exc:
                return self._refuse(502, f"the platform did not answer: {type(exc).__name__}")
            with upstream:
                self._copy(upstream)

        def _copy(self, upstream: requests.Response) -> None:
            self.send_response(upstream.status_code)
            for name in PASSED_HEADERS:
                if name in upstream.headers and not (name == "Content-Length" and _chunked(upstream)):
                    self.send_header(name, upstream.headers[name])
            chunked = "Content-Length" not in upstream.headers or _chunked(upstream)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in upstream.raw.stream(CHUNK, decode_content=False):
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

    return Handler


def _chunked(response: requests.Response) -> bool:
    return "chunked" in response.headers.get("Transfer-Encoding", "").lower()


class _Limited:
    """Exactly `length` bytes of the request body, read as requests streams it upstream."""

    def __init__(self, stream, length: int) -> None:
        self._stream, self._left = stream, length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size)
        self._left -= len(data)
        return data

    def __len__(self) -> int:
        return self._left
