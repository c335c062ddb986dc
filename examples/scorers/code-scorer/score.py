"""The code-basics scorer (container protocol v3): runs each prediction, Python source defining
the task's function, against the item's hidden unit tests, in a subprocess of its own with
resource limits and a timeout. Per item: 1 if every test passes, else 0; the secondary score
`tests_passed` is the share of tests that passed.

The subprocess is given the source and the tests' arguments only, never the expected results:
it returns what the function gave, and this process compares. So code that inspects its caller,
prints, or writes files learns nothing about the labels and cannot claim a pass.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

INPUT = os.environ.get("ARENA_INPUT_DIR", "/input")
OUTPUT = os.environ.get("ARENA_OUTPUT_DIR", "/output")
TIMEOUT_S = 5
CPU_S = 2
MEMORY_BYTES = 256 * 1024**2
MAX_SOURCE = 20_000
MAX_RESULT_BYTES = 1024**2

CHILD = r"""
import json, os, resource, sys
job = json.loads(sys.stdin.read())
for name, value in job["limits"].items():  # set before any submitted code runs; it cannot raise them
    resource.setrlimit(getattr(resource, name), (value, value))
out = os.fdopen(job["fd"], "w")
namespace = {"__name__": "submission"}
results = []
try:
    exec(compile(job["source"], "<submission>", "exec"), namespace)
    fn = namespace[job["function"]]
except BaseException:
    fn = None
for args in job["args"]:
    try:
        value = fn(*args)
        json.dumps(value)
        results.append({"value": value})
    except BaseException:
        results.append(None)
out.write(json.dumps(results)); out.flush()
"""


LIMITS = {
    "RLIMIT_CPU": CPU_S,
    "RLIMIT_AS": MEMORY_BYTES,
    "RLIMIT_FSIZE": 1024**2,
    "RLIMIT_NOFILE": 16,
    "RLIMIT_CORE": 0,
}


def run(source: str, function: str, args: list) -> list | None:
    """What the function returned for each argument list (None where it failed), or None when
    the subprocess died, ran out of time or wrote nonsense."""
    read, write = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write,),
            env={"PYTHONDONTWRITEBYTECODE": "1"},
            cwd="/tmp",
        )
    except OSError:
        os.close(read)
        raise
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as results:
        try:
            job = {"source": source, "function": function, "args": args, "fd": write, "limits": LIMITS}
            child.communicate(json.dumps(job).encode(), timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            return None
        except BrokenPipeError:
            child.wait()
            return None
        data = results.read(MAX_RESULT_BYTES)
    try:
        found = json.loads(data)
    except ValueError:
        return None
    return found if isinstance(found, list) and len(found) == len(args) else None


def score(item: dict, prediction, label: dict) -> dict:
    tests = label["tests"]
    if not isinstance(prediction, str) or len(prediction) > MAX_SOURCE:
        returned = None
    else:
        returned = run(prediction, item["input"]["function"], [t["args"] for t in tests])
    passed = (
        0
        if returned is None
        else sum(isinstance(r, dict) and r.get("value") == t["expected"] for r, t in zip(returned, tests, strict=True))
    )
    return {"id": item["id"], "score": float(passed == len(tests)), "secondary": {"tests_passed": passed / len(tests)}}


def read(name: str) -> list[dict]:
    with open(os.path.join(INPUT, name)) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    items = read("inputs.jsonl")
    labels = {row["id"]: row["label"] for row in read("labels.jsonl")}
    predictions = {row["id"]: row["prediction"] for row in read("predictions.jsonl")}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        rows = list(pool.map(lambda i: score(i, predictions.get(i["id"]), labels[i["id"]]), items))
    with open(os.path.join(OUTPUT, "scores.jsonl"), "w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    print(f"code-scorer: {len(rows)} items, {sum(r['score'] for r in rows):.0f} passed every test")


if __name__ == "__main__":
    main()
