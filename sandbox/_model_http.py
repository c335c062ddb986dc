"""HTTP to an interactive model over its unix socket, and reading its OpenAI chat completions.

The container serves HTTP on /run/arena/model.sock, which the host sees as <job>/run/model.sock.
The container is hostile, so every exchange is bounded in total time (not idle time) and in size;
before each connect the socket is opened without following links and checked to be a socket, and
the connection is made to that very inode through /proc/self/fd. No message raised here quotes
what the model sent. Stdlib only; the session that uses this is `sandbox._interactive_driver`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

CONTAINER_SOCKET = "/run/arena/model.sock"
MAX_TOOL_CALLS = 16  # tool calls in one answer
NOT_A_SOCKET = f"{CONTAINER_SOCKET} is not a unix socket (a link or another kind of file)"

_HEALTH_BODY_BYTES = 4096
_PIECE_BYTES = 64 * 1024


class NotASocket(Exception):
    """The socket path is a link, a FIFO, a file: anything but a unix socket."""


class NotACompletion(Exception):
    """The answer is not an OpenAI chat completion; the message says what, in general words."""


class TimedSocket(socket.socket):
    """A unix stream socket whose every operation must end by `until` (a time.monotonic() value),
    so that a request's total time is bounded, however slowly the peer drips its bytes."""

    until = 0.0

    def _arm(self) -> None:
        left = self.until - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's time is up")
        self.settimeout(left)

    def connect(self, address: Any) -> None:
        self._arm()
        super().connect(address)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        super().sendall(data, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)


def connect(socket_path: Path, *, until: float) -> TimedSocket:
    """Connect to the socket at `socket_path`, never through a link, and only if it is a socket."""
    fd = os.open(socket_path, os.O_PATH | os.O_NOFOLLOW)
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise NotASocket
        sock = TimedSocket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.until = until
        try:
            sock.connect(f"/proc/self/fd/{fd}")  # exactly the inode checked above: no race
        except BaseException:
            sock.close()
            raise
        return sock
    finally:
        os.close(fd)


def request_bytes(method: str, target: str, body: bytes | None) -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close", "Accept: application/json"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body or b"")


def read_capped(response: http.client.HTTPResponse, *, cap: int) -> bytes:
    """At most cap + 1 bytes of the body, so that a longer body shows as longer than the cap."""
    body = bytearray()
    while len(body) <= cap:
        piece = response.read(min(_PIECE_BYTES, cap + 1 - len(body)))
        if not piece:
            break
        body += piece
    return bytes(body)


def health_status(response: http.client.HTTPResponse) -> int:
    try:
        read_capped(response, cap=_HEALTH_BODY_BYTES)  # the body is ignored
    except (OSError, http.client.HTTPException):
        pass
    return response.status


def usage_tokens(body: bytes) -> int | None:
    """usage.total_tokens of an answer, when it gives a whole number."""
    try:
        usage = json.loads(body.decode("utf-8")).get("usage")
    except (ValueError, AttributeError, RecursionError):
        return None
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else None


def completion_text(status: int, body: bytes, *, tools: bool = False) -> tuple[str | None, list[dict[str, Any]]]:
    """The answer's choices[0].message: its content, and the tool calls it asks for (only where
    the item offers tools: then the content may be null); NotACompletion says what was wrong."""
    if status != 200:
        raise NotACompletion(f"status {status}")
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        raise NotACompletion("its body was not JSON") from None
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices:
        raise NotACompletion("no non-empty choices list")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    calls = tool_calls(message.get("tool_calls")) if tools and isinstance(message, dict) else []
    if not isinstance(content, str) and not (calls and content is None):
        raise NotACompletion("no choices[0].message.content string")
    return content, calls


def tool_calls(given: Any) -> list[dict[str, Any]]:
    """The tool calls of an answer, as they will be sent back in the conversation."""
    if given is None or given == []:
        return []
    if not isinstance(given, list) or len(given) > MAX_TOOL_CALLS:
        raise NotACompletion(f"tool_calls is not a list of at most {MAX_TOOL_CALLS} calls")
    calls = []
    for call in given:
        function = call.get("function") if isinstance(call, dict) else None
        if not (
            isinstance(function, dict)
            and isinstance(call.get("id"), str)
            and isinstance(function.get("name"), str)
            and isinstance(function.get("arguments"), str)
        ):
            raise NotACompletion("a tool call lacks a string id, function.name or function.arguments")
        calls.append(
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": function["arguments"]},
            }
        )
    return calls


def refuse_constant(name: str) -> None:
    """json's parse_constant: NaN and Infinity are not JSON."""
    raise ValueError("NaN and Infinity are not JSON")
