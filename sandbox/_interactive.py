"""Drive an interactive (protocol v2) model: OpenAI-style chat requests over the job's unix socket.

The container serves HTTP on /run/arena/model.sock, which the host sees as <job>/run/model.sock.
The container is hostile, so every request is bounded in total time (not idle time) and in size;
before each connect the socket is opened without following links and checked to be a socket, and
the connection is made to that very inode through /proc/self/fd. No message raised here quotes
what the model sent or an item's content. Stdlib only; nothing here knows about the platform.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from sandbox._agent import ItemEnvironment, check_files, split_agent_input

CONTAINER_SOCKET = "/run/arena/model.sock"
MAX_TURNS = 64
MAX_TOOLS = 32
MAX_TOOL_ROUNDS = 8  # tool-call rounds in answer to one user turn; past them the item's answer is empty
MAX_TOOL_CALLS = 16  # tool calls in one answer
NO_RESULT = "error: this environment has no result for that call"
ROLES = ("system", "user", "assistant")
REASONS = frozenset({"not_ready", "timeout", "invalid_answer", "model_stopped"})

_POLL_S = 0.15
_EXIT_GRACE_S = 0.2
_HEALTH_BODY_BYTES = 4096
_PIECE_BYTES = 64 * 1024
_NOT_A_SOCKET = f"{CONTAINER_SOCKET} is not a unix socket (a link or another kind of file)"
_DONE = object()
T = TypeVar("T")


class AnswerSink(Protocol):
    """Where `drive` writes the answers lines: a binary file, or a wrapper of one."""

    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class SessionLimits:
    startup_s: float  # how long to wait for GET /health to answer 200
    request_s: float  # total time of one request: connect, send, headers, body
    max_answer_bytes: int  # cap on one response body
    concurrency: int  # how many items are driven at once

    def __post_init__(self) -> None:
        if not (self.startup_s > 0 and self.request_s > 0):
            raise ValueError("startup_s and request_s must be positive")
        if self.max_answer_bytes < 1 or self.concurrency < 1:
            raise ValueError("max_answer_bytes and concurrency must be at least 1")


class SessionFailure(Exception):
    """The model broke the protocol. `reason` is one of REASONS; `detail` is safe to show the team
    (it never quotes the model's bytes, nor an item's content or id)."""

    def __init__(self, reason: str, detail: str):
        if reason not in REASONS:
            raise ValueError(f"unknown session failure reason {reason!r}")
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return SessionFailure, (self.reason, self.detail)  # so that it survives pickling


class _NotASocket(Exception):
    """The socket path is a link, a FIFO, a file: anything but a unix socket."""


class _Stopped(Exception):
    """Another worker failed first; this one stops quietly."""


class _NotACompletion(Exception):
    """The answer is not an OpenAI chat completion; the message says what, in general words."""


# -- item inputs ----------------------------------------------------------------------------------
def check_item_input(value: Any) -> str | None:
    """The problem with one item's input, as a sentence, or None when it is well formed. Besides
    'messages' or 'turns' (and 'system'), an item may list the binary assets its conversation
    speaks of under 'assets' (staged at /input/assets/…; never sent in the requests)."""
    if not isinstance(value, dict) or ("messages" in value) == ("turns" in value):
        return "input must hold either 'messages' or 'turns'"
    allowed = ({"messages"} if "messages" in value else {"turns", "system"}) | {"assets", "tools", "tool_results"}
    extra = sorted(str(key) for key in set(value) - allowed)
    if extra:
        return f"input holds unexpected keys ({', '.join(map(repr, extra[:5]))})"
    assets = value.get("assets", [])
    if not isinstance(assets, list) or not all(isinstance(a, str) and a.startswith("assets/") for a in assets):
        return "assets must be a list of asset paths (strings starting with 'assets/')"
    problem = _check_tools(value)
    if problem:
        return problem
    if "messages" in value:
        return _check_messages(value["messages"])
    return _check_turns(value)


def check_agent_input(value: Any) -> str | None:
    """An agent challenge's item: a conversation ('messages' or 'turns', 'system') as above but
    without 'tools' (the challenge declares them), and 'files' (staged into the environment's
    working directory) and 'score_files' (staged at /arena/hidden only for the score command),
    each {relative path: asset path}."""
    if not isinstance(value, dict):
        return "input must hold either 'messages' or 'turns'"
    if "tools" in value or "tool_results" in value:
        return "an agent challenge's items take no tools or tool_results: the environment answers tool calls"
    rest, _files, _score = split_agent_input(value)
    return (
        check_files(value.get("files"), "files")
        or check_files(value.get("score_files"), "score_files")
        or check_item_input(rest)
    )


def _check_tools(value: dict[str, Any]) -> str | None:
    """'tools' (OpenAI function specs offered to the model) and 'tool_results' (the item's scripted
    environment: what each call, by name and arguments, returns)."""
    if "tool_results" in value and "tools" not in value:
        return "tool_results needs tools beside it"
    tools = value.get("tools", [])
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS or not all(_tool_name(t) for t in tools):
        return (
            f"tools must be a list of at most {MAX_TOOLS} function tools "
            '({"type": "function", "function": {"name": ..., ...}})'
        )
    results = value.get("tool_results", [])
    if not isinstance(results, list) or not all(
        isinstance(r, dict)
        and set(r) == {"name", "arguments", "result"}
        and isinstance(r["name"], str)
        and isinstance(r["arguments"], dict)
        and isinstance(r["result"], str)
        for r in results
    ):
        return 'tool_results must be a list of {"name", "arguments" (an object), "result" (a string)}'
    return None


def _tool_name(tool: Any) -> str | None:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else None


def _check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list of {role, content} objects"
    if len(messages) > MAX_TURNS:
        return f"messages must hold at most {MAX_TURNS} messages"
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            return f"message {number} must be an object with exactly 'role' and 'content'"
        if not isinstance(message["role"], str) or message["role"] not in ROLES:
            return f"message {number} must have role 'system', 'user' or 'assistant'"
        if not isinstance(message["content"], str):
            return f"message {number} must have a string content"
    return None


def _check_turns(value: dict[str, Any]) -> str | None:
    turns = value["turns"]
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        return "turns must be a non-empty list of strings"
    if len(turns) > MAX_TURNS:
        return f"turns must hold at most {MAX_TURNS} turns"
    if not isinstance(value.get("system", ""), str):
        return "system must be a string"
    return None


# -- one HTTP exchange ----------------------------------------------------------------------------
class _TimedSocket(socket.socket):
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


def _connect(socket_path: Path, *, until: float) -> _TimedSocket:
    """Connect to the socket at `socket_path`, never through a link, and only if it is a socket."""
    fd = os.open(socket_path, os.O_PATH | os.O_NOFOLLOW)
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise _NotASocket
        sock = _TimedSocket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.until = until
        try:
            sock.connect(f"/proc/self/fd/{fd}")  # exactly the inode checked above: no race
        except BaseException:
            sock.close()
            raise
        return sock
    finally:
        os.close(fd)


def _request_bytes(method: str, target: str, body: bytes | None) -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close", "Accept: application/json"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body or b"")


def _read_capped(response: http.client.HTTPResponse, *, cap: int) -> bytes:
    """At most cap + 1 bytes of the body, so that a longer body shows as longer than the cap."""
    body = bytearray()
    while len(body) <= cap:
        piece = response.read(min(_PIECE_BYTES, cap + 1 - len(body)))
        if not piece:
            break
        body += piece
    return bytes(body)


def _health_status(response: http.client.HTTPResponse) -> int:
    try:
        _read_capped(response, cap=_HEALTH_BODY_BYTES)  # the body is ignored
    except (OSError, http.client.HTTPException):
        pass
    return response.status


def _usage_tokens(body: bytes) -> int | None:
    """usage.total_tokens of an answer, when it gives a whole number."""
    try:
        usage = json.loads(body.decode("utf-8")).get("usage")
    except (ValueError, AttributeError, RecursionError):
        return None
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else None


def _completion_text(status: int, body: bytes, *, tools: bool = False) -> tuple[str | None, list[dict[str, Any]]]:
    """The answer's choices[0].message: its content, and the tool calls it asks for (only where
    the item offers tools: then the content may be null); _NotACompletion says what was wrong."""
    if status != 200:
        raise _NotACompletion(f"status {status}")
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise _NotACompletion("its body was not JSON") from None
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices:
        raise _NotACompletion("no non-empty choices list")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    calls = _tool_calls(message.get("tool_calls")) if tools and isinstance(message, dict) else []
    if not isinstance(content, str) and not (calls and content is None):
        raise _NotACompletion("no choices[0].message.content string")
    return content, calls


def _tool_calls(given: Any) -> list[dict[str, Any]]:
    """The tool calls of an answer, as they will be sent back in the conversation."""
    if given is None or given == []:
        return []
    if not isinstance(given, list) or len(given) > MAX_TOOL_CALLS:
        raise _NotACompletion(f"tool_calls is not a list of at most {MAX_TOOL_CALLS} calls")
    calls = []
    for call in given:
        function = call.get("function") if isinstance(call, dict) else None
        if not (
            isinstance(function, dict)
            and isinstance(call.get("id"), str)
            and isinstance(function.get("name"), str)
            and isinstance(function.get("arguments"), str)
        ):
            raise _NotACompletion("a tool call lacks a string id, function.name or function.arguments")
        calls.append(
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": function["arguments"]},
            }
        )
    return calls


def tool_result(value: dict[str, Any], call: dict[str, Any]) -> str:
    """What the item's scripted environment returns for one call (by name and arguments)."""
    try:
        arguments = json.loads(call["function"]["arguments"], parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return "error: the arguments are not JSON"
    for scripted in value.get("tool_results", []):
        if scripted["name"] == call["function"]["name"] and scripted["arguments"] == arguments:
            result: str = scripted["result"]  # a string: _check_tools refused anything else
            return result
    return NO_RESULT


def _no_constant(name: str) -> None:
    raise ValueError("NaN and Infinity are not JSON")


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"


# -- the session ----------------------------------------------------------------------------------
class _Session:
    """One model, driven by several worker threads; the first failure stops them all."""

    def __init__(
        self,
        *,
        socket_path: Path,
        limits: SessionLimits,
        deadline: float,
        alive: Callable[[], bool],
        sink: AnswerSink,
        environment: Callable[[int, Any, dict[str, Any]], ItemEnvironment] | None = None,
    ):
        self._path, self._limits, self._deadline = socket_path, limits, deadline
        self._environment = environment
        self._alive, self._sink = alive, sink
        self._lock = threading.Lock()  # counters, the sink, open sockets, the first failure
        self._items_lock = threading.Lock()
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._failure: BaseException | None = None
        self._items: Iterator[Any] = iter(())
        self._total: int | None = None
        self._taken = self._requests = self._answered = 0

    # -- connections
    def _exchange(
        self,
        method: str,
        target: str,
        body: bytes | None,
        *,
        until: float,
        read: Callable[[http.client.HTTPResponse], T],
    ) -> T:
        sock = _connect(self._path, until=until)
        try:
            self._track(sock)
            sock.sendall(_request_bytes(method, target, body))
            response = http.client.HTTPResponse(sock, method=method)
            try:
                response.begin()
                return read(response)
            finally:
                response.close()
        finally:
            with self._lock:
                self._open.discard(sock)
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            if self._stop.is_set():
                raise _Stopped
            self._open.add(sock)

    def _abort(self) -> None:
        """Stop every worker: no new item or request, and shut the connections now open."""
        self._stop.set()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._failure is None and not isinstance(exc, _Stopped):
                self._failure = exc
        self._abort()

    # -- startup
    def wait_until_healthy(self) -> None:
        start = time.monotonic()
        end = min(start + self._limits.startup_s, self._deadline)
        appeared = denied = False
        while time.monotonic() < end:
            state = self._probe_health(until=min(time.monotonic() + self._limits.request_s, end))
            if state == "ready":
                return
            appeared = appeared or state != "missing"
            denied = state == "denied"
            if not self._alive():
                raise SessionFailure(
                    "model_stopped", f"the container exited before it answered GET /health on {CONTAINER_SOCKET}"
                )
            time.sleep(max(0.0, min(_POLL_S, end - time.monotonic())))
        waited = _seconds(end - start)
        if not appeared:
            raise SessionFailure("not_ready", f"the model never created {CONTAINER_SOCKET} within {waited} s")
        if denied:
            raise SessionFailure(
                "not_ready",
                f"{CONTAINER_SOCKET} refused the platform's connection "
                "(permission denied): create it writable by all users "
                "(mode 0666)",
            )
        raise SessionFailure(
            "not_ready", f"the model did not answer GET /health on {CONTAINER_SOCKET} within {waited} s"
        )

    def _probe_health(self, *, until: float) -> str:
        """'ready', 'missing' (no socket yet) or 'failed' (anything else: not yet)."""
        try:
            status = self._exchange("GET", "/health", None, until=until, read=_health_status)
        except FileNotFoundError:
            return "missing"
        except PermissionError:
            return "denied"
        except _NotASocket:
            raise SessionFailure("invalid_answer", _NOT_A_SOCKET) from None
        except (OSError, http.client.HTTPException):
            return "failed"
        return "ready" if status == 200 else "failed"

    # -- items
    def drive_all(self, items: Iterable[tuple[str, Any]]) -> int:
        self._items = iter(items)
        self._total = len(items) if isinstance(items, Sized) else None
        threads: list[threading.Thread] = []
        try:
            for number in range(self._limits.concurrency):
                threads.append(threading.Thread(target=self._work, daemon=True, name=f"arena-drive-{number}"))
                threads[-1].start()
            for thread in threads:
                thread.join()
        except BaseException:
            self._abort()
            for thread in threads:
                if thread.is_alive():
                    thread.join()
            raise
        if self._failure is not None:
            raise self._failure
        return self._answered

    def _work(self) -> None:
        try:
            while (taken := self._take()) is not None:
                number, (item_id, value) = taken
                if self._environment is not None:
                    self._write(item_id, self._drive_in_environment(number, item_id, value))
                else:
                    self._write(item_id, self._drive_item(number, value))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller of drive()
            self._fail(exc)

    def _take(self) -> tuple[int, Any] | None:
        with self._items_lock:
            if self._stop.is_set():
                return None
            entry = next(self._items, _DONE)
            if entry is _DONE:
                return None
            self._taken += 1
            return self._taken, entry

    def _drive_in_environment(self, number: int, item_id: Any, value: Any) -> float | str | None:
        """An agent item: its environment is started, the conversation driven with tools that act
        in it until the agent answers or a limit stops it, then the final state scored (on a GPU
        node: captured, to be scored centrally)."""
        problem = check_agent_input(value)
        if problem:
            raise ValueError(f"item number {number} has a malformed input: {problem}")
        rest = split_agent_input(value)[0]
        assert self._environment is not None  # _work calls this only with an environment
        with self._environment(number, item_id, value) as env:
            env.trajectory.add(
                item_id, "input", messages=rest.get("messages"), turns=rest.get("turns"), system=rest.get("system")
            )
            answer = self._drive_item(number, rest, env)
            env.trajectory.add(
                item_id,
                "answer",
                content=answer,
                stopped_by=env.stopped,
                tool_calls=env.calls,
                tokens=env.tokens,
                tool_seconds=round(env.tool_time, 3),
            )
            return env.finish()

    def _drive_item(self, number: int, value: Any, env: ItemEnvironment | None = None) -> str:
        problem = None if env is not None else check_item_input(value)
        if problem:
            raise ValueError(f"item number {number} has a malformed input: {problem}")
        if "messages" in value:
            messages = [{"role": m["role"], "content": m["content"]} for m in value["messages"]]
            return self._respond(messages, value, env)
        conversation = [{"role": "system", "content": value["system"]}] if "system" in value else []
        answer = ""
        for turn in value["turns"]:
            conversation.append({"role": "user", "content": turn})
            answer = self._respond(conversation, value, env)
        return answer

    def _respond(
        self, conversation: list[dict[str, Any]], value: dict[str, Any], env: ItemEnvironment | None = None
    ) -> str:
        """The model's answer to the conversation so far (appended to it). Where the item offers
        tools, each round of tool calls is answered from the item's scripted results and the model
        is asked again, up to MAX_TOOL_ROUNDS; a model still calling tools then answers ''.
        In an environment, its tools act there, and the item's limits end the rounds instead."""
        if env is not None:
            return self._respond_in(conversation, env)
        tools = value.get("tools")
        for _round in range(MAX_TOOL_ROUNDS + 1 if tools else 1):
            content, calls, _tokens = self._chat(conversation, tools)
            if not calls:
                conversation.append({"role": "assistant", "content": content})
                return cast(str, content)  # null only beside tool calls (_completion_text)
            conversation.append({"role": "assistant", "content": content, "tool_calls": calls})
            conversation += [
                {"role": "tool", "tool_call_id": call["id"], "content": tool_result(value, call)} for call in calls
            ]
        return ""

    def _respond_in(self, conversation: list[dict[str, Any]], env: ItemEnvironment) -> str:
        tools = env.tool_specs()
        while env.stopped is None:
            content, calls, tokens = self._chat(conversation, tools)
            conversation.append({"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})})
            env.trajectory.add(env.item_id, "assistant", content=content, tool_calls=calls)
            env.account(tokens=tokens, messages=len(conversation))
            if not calls:
                return cast(str, content)  # null only beside tool calls (_completion_text)
            for call in calls:
                conversation.append({"role": "tool", "tool_call_id": call["id"], "content": env.call(call)})
            env.account(tokens=0, messages=len(conversation))
        return ""

    def _write(self, item_id: Any, answer: Any) -> None:
        line = (json.dumps({"id": item_id, "prediction": answer}) + "\n").encode("utf-8")
        with self._lock:
            self._sink.write(line)
            self._answered += 1

    # -- one chat request
    def _chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
    ) -> tuple[str | None, list[dict[str, Any]], int]:
        """The answer's content and tool calls, and its tokens: usage.total_tokens when the model
        gives it, else the request's and the answer's bytes / 4."""
        with self._lock:
            if self._stop.is_set():
                raise _Stopped
            self._requests += 1
            number = self._requests
        now = time.monotonic()
        left = self._deadline - now
        if left <= 0:
            raise self._job_timeout()
        request = {"model": "submission", "messages": messages, "stream": False}
        if tools:
            request["tools"] = tools
        body = json.dumps(request).encode()
        cap = self._limits.max_answer_bytes
        try:
            status, data = self._exchange(
                "POST",
                "/v1/chat/completions",
                body,
                until=now + min(self._limits.request_s, left),
                read=lambda response: (response.status, _read_capped(response, cap=cap)),
            )
        except Exception as exc:  # noqa: BLE001 - sorted below, raised outside this block
            failure = self._request_failure(exc, number=number, by_deadline=left < self._limits.request_s)
        else:
            content, calls = self._answer_text(status, data, number=number, tools=bool(tools))
            tokens = _usage_tokens(data)
            return content, calls, tokens if tokens is not None else (len(body) + len(data)) // 4
        raise failure  # outside the except block, so the model's bytes are not chained on

    def _answer_text(
        self, status: int, data: bytes, *, number: int, tools: bool
    ) -> tuple[str | None, list[dict[str, Any]]]:
        cap = self._limits.max_answer_bytes
        if len(data) > cap:
            raise SessionFailure(
                "invalid_answer", f"the answer to request {number} was larger than the cap of {cap} bytes"
            )
        try:
            return _completion_text(status, data, tools=tools)
        except _NotACompletion as exc:
            what = str(exc)
        raise SessionFailure(
            "invalid_answer", f"the answer to request {number} was not an OpenAI chat completion ({what})"
        )

    def _request_failure(self, exc: Exception, *, number: int, by_deadline: bool) -> BaseException:
        if self._stop.is_set() or isinstance(exc, _Stopped):
            return _Stopped()
        if isinstance(exc, TimeoutError):
            if by_deadline:
                return self._job_timeout()
            return SessionFailure(
                "timeout", f"the model did not answer request {number} within {_seconds(self._limits.request_s)} s"
            )
        if isinstance(exc, _NotASocket):
            return SessionFailure("invalid_answer", _NOT_A_SOCKET)
        if isinstance(exc, (OSError, http.client.IncompleteRead)):
            return self._closed(exc, number=number)
        if isinstance(exc, http.client.HTTPException):
            return SessionFailure("invalid_answer", f"the answer to request {number} was not an HTTP response")
        return exc

    def _closed(self, exc: Exception, *, number: int) -> SessionFailure:
        if not self._still_alive():
            return SessionFailure(
                "model_stopped", f"the container exited while serving ({self._answered} items answered)"
            )
        if isinstance(exc, FileNotFoundError):
            return SessionFailure("invalid_answer", f"the model removed {CONTAINER_SOCKET} before request {number}")
        return SessionFailure("invalid_answer", f"the model closed the connection without answering request {number}")

    def _still_alive(self) -> bool:
        """alive(), asked twice a moment apart: a container that just died may still show."""
        if not self._alive():
            return False
        time.sleep(_EXIT_GRACE_S)
        return self._alive()

    def _job_timeout(self) -> SessionFailure:
        answered = self._answered
        counted = f"{answered} of {self._total}" if self._total is not None else f"{answered} items"
        return SessionFailure(
            "timeout", f"the model did not answer every item within the job's time limit ({counted} answered)"
        )


def drive(
    *,
    socket_path: Path,
    items: Iterable[tuple[str, Any]],
    limits: SessionLimits,
    deadline: float,
    alive: Callable[[], bool],
    sink: AnswerSink,
    environment: Callable[[int, Any, dict[str, Any]], ItemEnvironment] | None = None,
) -> int:
    """Wait for GET /health, then drive every (id, input) item and write one line per item to
    `sink`: {"id": ..., "prediction": <final answer>} as JSON and a newline, UTF-8, in any order.

    `deadline` is a time.monotonic() value, the whole job's limit (startup included); `alive()`
    says whether the container still runs (it is called from worker threads). Returns how many
    items were answered. Raises SessionFailure on the model's fault, ValueError on an item whose
    input is malformed (the platform's fault); no worker thread outlives the call.

    With `environment` (an agent challenge), `environment(number, id, input)` gives each item its
    ItemEnvironment: the model's tool calls act there, and the line written is the score of the
    environment's final state instead of the answer.
    """
    session = _Session(
        socket_path=Path(socket_path), limits=limits, deadline=deadline, alive=alive, sink=sink, environment=environment
    )
    session.wait_until_healthy()
    return session.drive_all(items)
