"""An example agent for agent challenges (protocol v2 with tools): rule-based, no weights.

It serves the OpenAI-compatible chat API on /run/arena/model.sock. Arena sends it the whole
conversation on every request; the agent looks at where the conversation stands and takes the
next step with the tools that act in the item's environment:
  1. bash: list the repository's Python files;
  2. read_file: read each of them;
  3. write_file: each file where one of its repair rules applies (a handful of common bugs);
  4. answer what it changed (or that it found nothing it knows how to fix).
It solves the items whose bug its rules know, and no others.
"""

import http.server
import json
import os
import re
import socketserver

SOCKET = os.environ.get("ARENA_MODEL_SOCKET", "/run/arena/model.sock")
RULES = [  # (a line the file must hold, pattern, replacement): the bugs this agent knows
    ("def add(", re.compile(r"return a - b\b"), "return a + b"),
    ("def shout(", re.compile(r"\.lower\(\) \+ \"!\""), '.upper() + "!"'),
    ("def mean(", re.compile(r"/ \(len\((\w+)\) \+ 1\)"), r"/ len(\1)"),
    ("def multiply(", re.compile(r"return a \+ b\b"), "return a * b"),
]


def call(number, name, **arguments):
    return {
        "id": f"call-{number}-{name}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def repaired(source):
    fixed = source
    for where, pattern, replacement in RULES:
        if where in source:
            fixed = pattern.sub(replacement, fixed)
    return fixed


def next_step(messages):
    """(content, tool_calls) for the conversation so far."""
    calls = [m for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    results = {m["tool_call_id"]: m["content"] for m in messages if m["role"] == "tool"}
    if not calls:
        return None, [call(1, "bash", command="find . -name '*.py' -not -path './.*' | sort")]
    last = calls[-1]["tool_calls"]
    if last[0]["function"]["name"] == "bash" and len(calls) == 1:
        files = [line[2:] for line in results.get(last[0]["id"], "").splitlines() if line.startswith("./")]
        return None, [call(2 + i, "read_file", path=path) for i, path in enumerate(files[:8])] or None
    if last[0]["function"]["name"] == "read_file":
        writes = []
        for number, asked in enumerate(last, 20):
            path = json.loads(asked["function"]["arguments"])["path"]
            source = results.get(asked["id"], "")
            fixed = repaired(source)
            if fixed != source:
                writes.append(call(number, "write_file", path=path, content=fixed))
        if not writes:
            return "I found no bug that I know how to fix.", []
        return None, writes
    changed = [json.loads(c["function"]["arguments"])["path"] for c in last]
    return "I fixed " + ", ".join(changed) + ".", []


def completion(content, calls):
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "object": "chat.completion",
        "usage": {"total_tokens": 50},
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
    }


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Handler(http.server.BaseHTTPRequestHandler):
    def address_string(self):
        return "model.sock"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.reply(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content, calls = next_step(body["messages"])
        if calls is None:
            content, calls = "The repository holds no Python files.", []
        self.reply(200, completion(content, calls))

    def reply(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = Server(SOCKET, Handler)
    os.chmod(SOCKET, 0o666)
    print(f"repo agent serving on {SOCKET}", flush=True)
    server.serve_forever()
