"""The interactive driver against real unix sockets, served in-process by small hostile servers."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import socket
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox import SessionFailure, SessionLimits, check_item_input, drive

SECRET = "SECRET-GARBAGE-7f3a"
FAST = SessionLimits(startup_s=2.0, request_s=2.0, max_answer_bytes=4096, concurrency=2)


# -- a fake model: an HTTP server on a unix socket, with one handler per route --------------------
@dataclass
class Request:
    method: str
    path: str
    body: bytes

    @property
    def messages(self) -> list[dict]:
        return json.loads(self.body)["messages"]


def response(status: int, body: bytes, *, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def completion(text: str) -> bytes:
    document = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
    }
    return response(200, json.dumps(document).encode())


def echo(request: Request, conn: socket.socket) -> None:
    conn.sendall(completion("echo:" + request.messages[-1]["content"]))


def healthy(request: Request, conn: socket.socket) -> None:
    conn.sendall(response(200, b'{"status": "ok"}'))


Handler = Callable[[Request, socket.socket], None]


@dataclass
class FakeModel:
    path: Path
    chat: Handler = echo
    health: Handler = healthy
    stopping: threading.Event = field(default_factory=threading.Event)
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    active: int = 0
    max_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, conn: socket.socket) -> None:
        with self.lock:
            self.connections += 1
        request = read_request(conn)
        if request is None:
            return
        handler = self.health if request.path == "/health" else self.chat
        with self.lock:
            self.requests.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            handler(request, conn)
        finally:
            with self.lock:
                self.active -= 1

    def chats(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]


def read_request(conn: socket.socket) -> Request | None:
    reader = conn.makefile("rb")
    line = reader.readline()
    if not line:
        return None
    method, path, _ = line.decode().split(" ", 2)
    length = 0
    while (header := reader.readline()) not in (b"\r\n", b""):
        name, _, value = header.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return Request(method, path, reader.read(length))


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):  # a hostile server's clients hang up often
        pass


class _Connection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.model.handle(self.request)  # type: ignore[attr-defined]


@pytest.fixture
def run_dir():
    folder = Path(tempfile.mkdtemp(prefix="arena-i-", dir="/tmp"))  # short: sun_path is 108 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def serve():
    servers: list[tuple[_Server, FakeModel]] = []

    def start(path: Path, **handlers: Handler) -> FakeModel:
        model = FakeModel(path, **handlers)
        server = _Server(str(path), _Connection)
        server.model = model  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append((server, model))
        return model

    yield start
    for server, model in servers:
        model.stopping.set()
        server.shutdown()
        server.server_close()


def run(
    socket_path: Path,
    items,
    *,
    limits: SessionLimits = FAST,
    deadline_s: float = 10.0,
    alive: Callable[[], bool] = lambda: True,
) -> tuple[int, dict]:
    sink = io.BytesIO()
    answered = drive(
        socket_path=socket_path,
        items=items,
        limits=limits,
        deadline=time.monotonic() + deadline_s,
        alive=alive,
        sink=sink,
    )
    lines = [json.loads(line) for line in sink.getvalue().decode().splitlines()]
    return answered, {line["id"]: line["prediction"] for line in lines}


def failure_of(socket_path: Path, items, **options) -> tuple[SessionFailure, float]:
    start = time.monotonic()
    with pytest.raises(SessionFailure) as caught:
        run(socket_path, items, **options)
    return caught.value, time.monotonic() - start


def question(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def limits(**changes) -> SessionLimits:
    return SessionLimits(**{**FAST.__dict__, **changes})


# -- a good model ---------------------------------------------------------------------------------
def test_drives_messages_and_turns_items(run_dir, serve):
    model = serve(run_dir / "model.sock")
    items = [
        ("a", {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "ping"}]}),
        ("b", {"system": "sys", "turns": ["My name is Ada.", "What is my name?"]}),
    ]
    answered, predictions = run(run_dir / "model.sock", items)
    assert answered == 2
    assert predictions == {"a": "echo:ping", "b": "echo:What is my name?"}
    second_turn = next(r for r in model.chats() if r.messages[-1]["content"] == "What is my name?")
    assert second_turn.messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "echo:My name is Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert json.loads(second_turn.body)["model"] == "submission"


def test_a_chunked_answer_is_read(run_dir, serve):
    def chunked(request, conn):
        body = json.dumps({"choices": [{"message": {"content": "chunked ok"}}]}).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:9], body[9:]))
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        conn.sendall(head + chunks + b"0\r\n\r\n")

    serve(run_dir / "model.sock", chat=chunked)
    assert run(run_dir / "model.sock", [("a", question("hi"))])[1] == {"a": "chunked ok"}


def test_items_are_driven_concurrently(run_dir, serve):
    def slow(request, conn):
        time.sleep(0.2)
        echo(request, conn)

    model = serve(run_dir / "model.sock", chat=slow)
    items = [(f"i{n}", question(str(n))) for n in range(8)]
    start = time.monotonic()
    answered, predictions = run(run_dir / "model.sock", items, limits=limits(concurrency=4))
    assert answered == 8 and predictions["i5"] == "echo:5"
    assert model.max_active >= 2
    assert time.monotonic() - start < 8 * 0.2


def test_items_are_taken_lazily_and_the_first_failure_stops_the_rest(run_dir, serve):
    def garbage_on_third(request, conn):
        if request.messages[-1]["content"] == "2":
            conn.sendall(response(200, SECRET.encode()))
        else:
            model.stopping.wait(5)  # the others hang until the driver gives up on them

    model = serve(run_dir / "model.sock", chat=garbage_on_third)
    taken = []

    def endless():
        while True:
            taken.append(len(taken))
            yield f"i{taken[-1]}", question(str(taken[-1]))

    failure, elapsed = failure_of(run_dir / "model.sock", endless(), limits=limits(concurrency=4, request_s=5.0))
    assert failure.reason == "invalid_answer" and elapsed < 1.0
    assert len(taken) <= 5
    assert not [t for t in threading.enumerate() if t.name.startswith("arena-drive")]


# -- a model that is slow or silent ---------------------------------------------------------------
def test_a_chat_request_that_never_answers_times_out(run_dir, serve):
    model = serve(run_dir / "model.sock", chat=lambda request, conn: model.stopping.wait(5))
    failure, elapsed = failure_of(run_dir / "model.sock", [("a", question("hi"))], limits=limits(request_s=0.3))
    assert failure.reason == "timeout"
    assert failure.detail == "the model did not answer request 1 within 0.3 s"
    assert elapsed < 1.5


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_drip_fed_answer_is_stopped_at_the_request_limit(run_dir, serve, part):
    answer = completion("x" * 200)
    split = 0 if part == "headers" else answer.index(b"\r\n\r\n") + 4

    def drip(request, conn):
        conn.sendall(answer[:split])
        for byte in answer[split:]:
            if model.stopping.wait(0.2):
                return
            conn.sendall(bytes([byte]))

    model = serve(run_dir / "model.sock", chat=drip)
    failure, elapsed = failure_of(run_dir / "model.sock", [("a", question("hi"))], limits=limits(request_s=0.5))
    assert failure.reason == "timeout" and "request 1 within 0.5 s" in failure.detail
    assert elapsed < 1.5


def test_the_job_deadline_stops_the_session(run_dir, serve):
    def slow(request, conn):
        time.sleep(0.25)
        echo(request, conn)

    serve(run_dir / "model.sock", chat=slow)
    items = [(f"i{n}", question(str(n))) for n in range(10)]
    failure, elapsed = failure_of(
        run_dir / "model.sock", items, deadline_s=0.6, limits=limits(concurrency=1, request_s=5.0)
    )
    assert failure.reason == "timeout"
    assert "within the job's time limit" in failure.detail and "of 10 answered" in failure.detail
    assert elapsed < 1.2


def test_a_socket_never_created_is_not_ready(run_dir):
    failure, elapsed = failure_of(run_dir / "model.sock", [("a", question("hi"))], limits=limits(startup_s=0.5))
    assert failure.reason == "not_ready"
    assert failure.detail == "the model never created /run/arena/model.sock within 0.5 s"
    assert 0.4 < elapsed < 1.5
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.reason, copy.detail) == (failure.reason, failure.detail)


def test_a_health_check_that_never_passes_is_not_ready(run_dir, serve):
    serve(run_dir / "model.sock", health=lambda request, conn: conn.sendall(response(503, b"")))
    failure, _ = failure_of(run_dir / "model.sock", [("a", question("hi"))], limits=limits(startup_s=0.5))
    assert failure.reason == "not_ready" and "did not answer GET /health" in failure.detail


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another uid")
def test_a_socket_the_platform_may_not_connect_to_says_so(run_dir, serve):
    """A model whose socket is not writable by others (the platform may connect as another user)
    is told how to fix it, in a child that runs the driver as `nobody`."""
    serve(run_dir / "model.sock")
    os.chmod(run_dir, 0o755)
    os.chmod(run_dir / "model.sock", 0o700)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's outcome travels through the pipe
        try:
            os.setgid(65534), os.setuid(65534)
            run(run_dir / "model.sock", [("a", question("hi"))], limits=limits(startup_s=0.5))
            os.write(write, b"answered")
        except SessionFailure as failure:
            os.write(write, f"{failure.reason}|{failure.detail}".encode())
        finally:
            os._exit(0)
    os.close(write)
    import select

    ready, _, _ = select.select([read], [], [], 20)
    if not ready:
        os.kill(child, 9)
    os.waitpid(child, 0)
    got = os.read(read, 4096).decode() if ready else "the child hung"
    assert got == (
        "not_ready|/run/arena/model.sock refused the platform's connection (permission denied): "
        "create it writable by all users (mode 0666)"
    )


# -- a model that stops ---------------------------------------------------------------------------
def test_a_container_that_exits_before_health_has_stopped(run_dir):
    failure, elapsed = failure_of(run_dir / "model.sock", [("a", question("hi"))], alive=lambda: False)
    assert failure.reason == "model_stopped" and "before it answered GET /health" in failure.detail
    assert elapsed < 0.5


def test_a_connection_closed_without_an_answer(run_dir, serve):
    serve(run_dir / "model.sock", chat=lambda request, conn: None)
    failure, _ = failure_of(run_dir / "model.sock", [("a", question("hi"))])
    assert failure.reason == "invalid_answer"
    assert failure.detail == "the model closed the connection without answering request 1"


def test_a_container_that_exits_while_serving_has_stopped(run_dir, serve):
    exited = threading.Event()

    def die(request, conn):
        exited.set()

    serve(run_dir / "model.sock", chat=die)
    failure, _ = failure_of(run_dir / "model.sock", [("a", question("hi"))], alive=lambda: not exited.is_set())
    assert failure.reason == "model_stopped"
    assert failure.detail == "the container exited while serving (0 items answered)"


# -- a model that answers garbage -----------------------------------------------------------------
def json_answer(document: object, *, status: int = 200) -> bytes:
    return response(status, json.dumps(document).encode())


GARBAGE = {
    "status 500": json_answer({"choices": [{"message": {"content": SECRET}}]}, status=500),
    "not JSON": response(200, SECRET.encode(), content_type="text/plain"),
    "no choices": json_answer({SECRET: [SECRET]}),
    "NaN": response(200, b'{"choices":[{"message":{"content":"%s"}}],"n":NaN}' % SECRET.encode()),
    "content not a string": json_answer({"choices": [{"message": {"content": [SECRET]}}]}),
    "not HTTP": f"{SECRET} {SECRET}\r\n\r\n".encode(),
    "short body": response(200, SECRET.encode())[:-5],
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_is_an_invalid_answer_and_never_quoted(run_dir, serve, kind):
    serve(run_dir / "model.sock", chat=lambda request, conn: conn.sendall(GARBAGE[kind]))
    failure, _ = failure_of(run_dir / "model.sock", [("a", question("hi"))])
    assert failure.reason == "invalid_answer" and "request 1" in failure.detail
    for text in (str(failure), failure.detail, repr(failure.__context__), repr(failure.__cause__)):
        assert SECRET not in text


def test_an_oversize_answer_names_the_cap(run_dir, serve):
    serve(run_dir / "model.sock", chat=lambda request, conn: conn.sendall(completion("x" * 5000)))
    failure, _ = failure_of(run_dir / "model.sock", [("a", question("hi"))], limits=limits(max_answer_bytes=1000))
    assert failure.reason == "invalid_answer"
    assert failure.detail == "the answer to request 1 was larger than the cap of 1000 bytes"


# -- a model that swaps its socket ----------------------------------------------------------------
def test_a_symlinked_socket_is_refused(run_dir, serve):
    victim = serve(run_dir / "victim.sock")
    os.symlink(run_dir / "victim.sock", run_dir / "model.sock")
    failure, _ = failure_of(run_dir / "model.sock", [("a", question("hi"))])
    assert failure.reason == "invalid_answer"
    assert failure.detail == ("/run/arena/model.sock is not a unix socket (a link or another kind of file)")
    assert victim.connections == 0


@pytest.mark.parametrize("kind", ["fifo", "file"])
def test_a_socket_path_that_is_another_kind_of_file_is_refused(run_dir, kind):
    path = run_dir / "model.sock"
    os.mkfifo(path) if kind == "fifo" else path.write_text("x")
    failure, elapsed = failure_of(path, [("a", question("hi"))])
    assert failure.reason == "invalid_answer" and "not a unix socket" in failure.detail
    assert elapsed < 0.5


def test_a_socket_swapped_for_a_link_while_serving_is_refused(run_dir, serve):
    victim = serve(run_dir / "victim.sock")

    def swap(request, conn):
        (run_dir / "model.sock").unlink()
        os.symlink(run_dir / "victim.sock", run_dir / "model.sock")
        echo(request, conn)

    serve(run_dir / "model.sock", chat=swap)
    failure, _ = failure_of(
        run_dir / "model.sock", [("a", question("1")), ("b", question("2"))], limits=limits(concurrency=1)
    )
    assert failure.reason == "invalid_answer" and "not a unix socket" in failure.detail
    assert victim.connections == 0


# -- item inputs ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        {"messages": [{"role": "user", "content": "hi"}]},
        {
            "messages": [
                {"role": "system", "content": ""},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "bye"},
            ]
        },
        {"turns": ["hi"]},
        {"turns": ["hi", "and?"], "system": "be brief"},
        {"turns": ["What is on this scan?"], "assets": ["assets/scan-1.png"]},
    ],
)
def test_well_formed_inputs_pass(value):
    assert check_item_input(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("hi", "input must hold either 'messages' or 'turns'"),
        ({}, "input must hold either 'messages' or 'turns'"),
        ({"messages": [], "turns": []}, "input must hold either 'messages' or 'turns'"),
        ({"turns": []}, "turns must be a non-empty list of strings"),
        ({"turns": ["a", 1]}, "turns must be a non-empty list of strings"),
        ({"turns": ["a"] * 65}, "turns must hold at most 64 turns"),
        ({"turns": ["a"], "system": 3}, "system must be a string"),
        ({"turns": ["a"], "extra": 1}, "input holds unexpected keys ('extra')"),
        ({"messages": [{"role": "user", "content": "a"}], "system": "s"}, "unexpected keys ('system')"),
        ({"messages": "hi"}, "messages must be a non-empty list"),
        ({"messages": [{"role": "user", "content": "a"}] * 65}, "at most 64 messages"),
        ({"messages": [{"role": "tool", "content": "a"}]}, "message 1 must have role"),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "user"}]}, "message 2 must be an"),
        ({"messages": [{"role": "user", "content": None}]}, "message 1 must have a string content"),
        ({"turns": ["a"], "assets": "assets/x.png"}, "assets must be a list of asset paths"),
        ({"turns": ["a"], "assets": ["x.png"]}, "assets must be a list of asset paths"),
    ],
)
def test_malformed_inputs_are_described(value, problem):
    assert problem in (check_item_input(value) or "")


def test_a_malformed_item_is_the_platforms_error(run_dir, serve):
    serve(run_dir / "model.sock")
    with pytest.raises(ValueError, match="item number 1 has a malformed input"):
        run(run_dir / "model.sock", [("a", {"turns": []})])


# -- tools: the item's scripted environment answers the model's tool calls -------------------------
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def tool_item(question: str, **extra) -> dict:
    return {
        "messages": [{"role": "user", "content": question}],
        "tools": [WEATHER],
        "tool_results": [{"name": "get_weather", "arguments": {"city": "Paris"}, "result": "18 degrees"}],
        **extra,
    }


def calling(arguments: str = '{"city": "Paris"}', *, forever: bool = False) -> Handler:
    """A model that calls get_weather once (or forever), then answers with what the tool said."""

    def handle(request: Request, conn: socket.socket) -> None:
        last = request.messages[-1]
        if last["role"] == "tool" and not forever:
            conn.sendall(completion("it is " + last["content"]))
            return
        call = {
            "id": f"call-{len(request.messages)}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": arguments},
        }
        document = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}
        conn.sendall(response(200, json.dumps(document).encode()))

    return handle


def test_tool_calls_are_answered_from_the_items_environment(run_dir, serve):
    model = serve(run_dir / "model.sock", chat=calling())
    answered, predictions = run(run_dir / "model.sock", [("w", tool_item("Weather in Paris?"))])
    assert (answered, predictions) == (1, {"w": "it is 18 degrees"})
    first, second = (json.loads(r.body) for r in model.chats())
    assert first["tools"] == [WEATHER]
    assert second["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert second["messages"][2] == {"role": "tool", "tool_call_id": "call-1", "content": "18 degrees"}


@pytest.mark.parametrize(
    ("arguments", "result"),
    [
        ('{"city": "Rome"}', "error: this environment has no result for that call"),
        ('{"city": "Paris", "unit": "C"}', "error: this environment has no result for that call"),
        ("city=Paris", "error: the arguments are not JSON"),
        ('{ "city" : "Paris" }', "18 degrees"),  # compared as JSON values, not as text
    ],
)
def test_a_call_is_answered_by_name_and_arguments_or_gets_an_error_result(run_dir, serve, arguments, result):
    serve(run_dir / "model.sock", chat=calling(arguments))
    _answered, predictions = run(run_dir / "model.sock", [("w", tool_item("Weather?"))])
    assert predictions == {"w": f"it is {result}"}


def test_a_model_that_never_stops_calling_tools_answers_nothing(run_dir, serve):
    model = serve(run_dir / "model.sock", chat=calling(forever=True))
    _answered, predictions = run(run_dir / "model.sock", [("w", tool_item("Weather?"))])
    assert predictions == {"w": ""} and len(model.chats()) == 9  # 8 rounds of calls, then it is stopped


def test_tool_calls_where_the_item_offers_no_tools_are_not_an_answer(run_dir, serve):
    serve(run_dir / "model.sock", chat=calling())
    failure, _ = failure_of(run_dir / "model.sock", [("q", question("hi"))])
    assert failure.reason == "invalid_answer" and "no choices[0].message.content string" in failure.detail


def test_a_malformed_tool_call_is_an_invalid_answer(run_dir, serve):
    def bad(request: Request, conn: socket.socket) -> None:
        document = {"choices": [{"message": {"content": None, "tool_calls": [{"function": {"name": 3}}]}}]}
        conn.sendall(response(200, json.dumps(document).encode()))

    serve(run_dir / "model.sock", chat=bad)
    failure, _ = failure_of(run_dir / "model.sock", [("w", tool_item("Weather?"))])
    assert failure.reason == "invalid_answer" and "a tool call lacks" in failure.detail


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"turns": ["a"], "tool_results": []}, "tool_results needs tools beside it"),
        ({"turns": ["a"], "tools": [{"type": "function"}]}, "tools must be a list of at most 32 function tools"),
        (
            {"turns": ["a"], "tools": [WEATHER], "tool_results": [{"name": "x", "result": "y"}]},
            "tool_results must be a list of",
        ),
    ],
)
def test_malformed_tools_are_described(value, problem):
    assert problem in (check_item_input(value) or "")
    assert check_item_input(tool_item("ok?")) is None
