"""An example interactive model (container protocol v2): a rule-based chat responder, no weights.

It serves an OpenAI-compatible API on the unix socket /run/arena/model.sock (ARENA_MODEL_SOCKET):
GET /health and POST /v1/chat/completions. It does arithmetic ("What is 17 + 25?"), knows the
capitals of some European countries, remembers a name told earlier in the conversation, and when
it is offered a get_weather tool and asked for the weather somewhere, calls the tool and answers
with what the tool said.
ARENA_EXAMPLE_MODE picks a behaviour: good (the rules), hang (chat requests never answer),
garbage (chat answers are not JSON) or silent (the socket is never created).
"""

import http.server
import itertools
import json
import os
import re
import signal
import socketserver
import sys
import time

SOCKET = os.environ.get("ARENA_MODEL_SOCKET", "/run/arena/model.sock")
MODE = os.environ.get("ARENA_EXAMPLE_MODE", "good")
MODES = ("good", "hang", "garbage", "silent")
MAX_BODY = 4 * 1024 * 1024

CAPITALS = {
    "austria": "Vienna",
    "belgium": "Brussels",
    "czechia": "Prague",
    "denmark": "Copenhagen",
    "finland": "Helsinki",
    "france": "Paris",
    "germany": "Berlin",
    "greece": "Athens",
    "hungary": "Budapest",
    "ireland": "Dublin",
    "italy": "Rome",
    "netherlands": "Amsterdam",
    "norway": "Oslo",
    "poland": "Warsaw",
    "portugal": "Lisbon",
    "spain": "Madrid",
    "sweden": "Stockholm",
}
OPERATIONS = {
    "+": int.__add__,
    "plus": int.__add__,
    "-": int.__sub__,
    "minus": int.__sub__,
    "*": int.__mul__,
    "x": int.__mul__,
    "times": int.__mul__,
}

ARITHMETIC = re.compile(r"what is (-?\d+)\s*(\+|-|\*|x|plus|minus|times)\s*(-?\d+)", re.I)
CAPITAL = re.compile(r"capital of (?:the )?([a-z][a-z .'-]*?)\s*\??\s*$", re.I)
NAME_IS = re.compile(r"\bname is ([^\W\d_][\w'-]*)", re.I)
ASK_NAME = re.compile(r"\bwhat(?: is|'s) my name\b", re.I)
WEATHER = re.compile(r"weather (?:in|for) ([^\W\d_][\w .'-]*?)\s*(?:today)?\s*\??\s*$", re.I)
GREETING = re.compile(r"^\s*(hello|hi|hey|good (morning|afternoon|evening))\b", re.I)
COUNTER = itertools.count(1)


# -- the rules ------------------------------------------------------------------------------------
def tool_call(messages, tools):
    """A call of the get_weather tool, when it is offered and the last message asks for the weather."""
    offered = {(t.get("function") or {}).get("name") for t in tools or [] if isinstance(t, dict)}
    last = messages[-1] if messages else {}
    match = WEATHER.search(str(last.get("content") or "")) if last.get("role") == "user" else None
    if "get_weather" not in offered or not match:
        return None
    return {
        "id": f"call-{next(COUNTER)}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": match.group(1).strip()})},
    }


def reply(messages):
    """The answer to the conversation's last user message (or the tool result just received)."""
    if messages and messages[-1].get("role") == "tool":
        return str(messages[-1].get("content", ""))
    said = [m.get("content", "") for m in messages if m.get("role") in ("system", "user")]
    last = said[-1] if said else ""
    for rule in (introduction, recall_name, arithmetic, capital, greeting):
        answer = rule(last, said[:-1])
        if answer is not None:
            return answer
    return "I don't know."


def introduction(text, _earlier):
    match = NAME_IS.search(text) if re.search(r"\bmy name is\b", text, re.I) else None
    return f"Nice to meet you, {match.group(1)}." if match else None


def recall_name(text, earlier):
    if not ASK_NAME.search(text):
        return None
    names = [match.group(1) for said in earlier for match in NAME_IS.finditer(said)]
    return names[-1] if names else "I don't know."


def arithmetic(text, _earlier):
    match = ARITHMETIC.search(text)
    if not match:
        return None
    left, operation, right = int(match.group(1)), match.group(2).lower(), int(match.group(3))
    return str(OPERATIONS[operation](left, right))


def capital(text, _earlier):
    match = CAPITAL.search(text)
    if not match:
        return None
    return CAPITALS.get(match.group(1).strip().lower(), "I don't know.")


def greeting(text, _earlier):
    return "Hello! How can I help you?" if GREETING.search(text) else None


def completion(text, messages, call=None):
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    answer_tokens = len((text or "").split())
    message = {"role": "assistant", "content": text}
    if call:
        message["tool_calls"] = [call]
    return {
        "id": f"chatcmpl-{next(COUNTER)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "arena-example-chat",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": answer_tokens,
            "total_tokens": prompt_tokens + answer_tokens,
        },
    }


# -- the server -----------------------------------------------------------------------------------
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):  # a client that hung up is no news
            print(f"error while serving: {type(error).__name__}: {error}", file=sys.stderr)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "arena-example-chat/1"

    def address_string(self):
        return "model.sock"  # client_address is a string for unix sockets

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):
        if self.path == "/health":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"error": "not found"})
        if MODE == "hang":
            while True:
                time.sleep(3600)
        if MODE == "garbage":
            return self.send_bytes(200, b"this is not JSON at all", "text/plain")
        body = self.read_body()
        if body is None:
            return self.send_json(400, {"error": "expected a JSON body with a messages list"})
        messages = body["messages"]
        call = tool_call(messages, body.get("tools"))
        if call:
            return self.send_json(200, completion(None, messages, call))
        return self.send_json(200, completion(reply(messages), messages))

    def read_body(self):
        """The request as a dict with a list of message objects (and maybe tools), or None."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 < length <= MAX_BODY:
                return None
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return None
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return None
        return body

    def send_json(self, status, document):
        self.send_bytes(status, json.dumps(document).encode(), "application/json")

    def send_bytes(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def stop(_signum, _frame):
    sys.exit(0)


def serve():
    if os.path.lexists(SOCKET):
        os.unlink(SOCKET)  # a stale socket from an earlier run
    server = Server(SOCKET, Handler)
    os.chmod(SOCKET, 0o666)  # the platform may connect as another uid
    print(f"serving on {SOCKET} (mode {MODE})", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        os.unlink(SOCKET)


def main():
    signal.signal(signal.SIGTERM, stop)
    if MODE not in MODES:
        sys.exit(f"unknown ARENA_EXAMPLE_MODE {MODE!r}; use one of {', '.join(MODES)}")
    if MODE == "silent":
        print(f"silent: never creating {SOCKET}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    serve()


if __name__ == "__main__":
    main()
