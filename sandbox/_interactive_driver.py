"""Drive an interactive (protocol v2) model: OpenAI-style chat requests over the job's unix socket.

`drive` waits for the model's GET /health, then drives every item with several worker threads,
each request bounded in time and size (`sandbox._model_http`), the items checked by
`sandbox._interactive_items`; the first failure stops every worker. No message raised here quotes
what the model sent or an item's content. Stdlib only; nothing here knows about the platform.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from sandbox._agent import ItemEnvironment, split_agent_input
from sandbox._interactive_items import check_agent_input, check_item_input, tool_result
from sandbox._model_http import (
    CONTAINER_SOCKET,
    NOT_A_SOCKET,
    NotACompletion,
    NotASocket,
    completion_text,
    connect,
    health_status,
    read_capped,
    request_bytes,
    usage_tokens,
)

MAX_TOOL_ROUNDS = 8  # tool-call rounds in answer to one user turn; past them the item's answer is empty
REASONS = frozenset({"not_ready", "timeout", "invalid_answer", "model_stopped"})

_POLL_S = 0.15
_EXIT_GRACE_S = 0.2
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


class _Stopped(Exception):
    """Another worker failed first; this one stops quietly."""


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
        sock = connect(self._path, until=until)
        try:
            self._track(sock)
            sock.sendall(request_bytes(method, target, body))
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
            status = self._exchange("GET", "/health", None, until=until, read=health_status)
        except FileNotFoundError:
            return "missing"
        except PermissionError:
            return "denied"
        except NotASocket:
            raise SessionFailure("invalid_answer", NOT_A_SOCKET) from None
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
                return cast(str, content)  # null only beside tool calls (completion_text)
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
                return cast(str, content)  # null only beside tool calls (completion_text)
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
                read=lambda response: (response.status, read_capped(response, cap=cap)),
            )
        except Exception as exc:  # noqa: BLE001 - sorted below, raised outside this block
            failure = self._request_failure(exc, number=number, by_deadline=left < self._limits.request_s)
        else:
            content, calls = self._answer_text(status, data, number=number, tools=bool(tools))
            tokens = usage_tokens(data)
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
            return completion_text(status, data, tools=tools)
        except NotACompletion as exc:
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
        if isinstance(exc, NotASocket):
            return SessionFailure("invalid_answer", NOT_A_SOCKET)
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
