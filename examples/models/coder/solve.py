"""An example model for code-basics (container protocol v1): reads each task and writes Python
source for it, from templates filled in with the numbers of the prompt. It has two blind spots
on purpose: its Caesar shift does not wrap around the alphabet, and its max_gap fails on lists
of fewer than two numbers."""

import json
import os
import re

INPUT = os.environ.get("ARENA_INPUT_DIR", "/input")
OUTPUT = os.environ.get("ARENA_OUTPUT_DIR", "/output")

TEMPLATES = {
    "add_k": "def add_k(x):\n    return x + {0}\n",
    "clamp": "def clamp(x):\n    return max({0}, min({1}, x))\n",
    "digit_sum": "def digit_sum(n):\n    return sum(int(d) for d in str(n))\n",
    "factorial": "def factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n",
    "fib": "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "reverse_words": "def reverse_words(s):\n    return ' '.join(s.split()[::-1])\n",
    "count_vowels": "def count_vowels(s):\n    return sum(c in 'aeiouAEIOU' for c in s)\n",
    "is_palindrome": "def is_palindrome(w):\n    return w == w[::-1]\n",
    "caesar": "def caesar(s):\n    return ''.join(chr(ord(c) + {0}) if c.islower() else c for c in s)\n",
    "scale": "def scale(xs):\n    return [{0} * x for x in xs]\n",
    "unique_sorted": "def unique_sorted(xs):\n    return sorted(set(xs))\n",
    "max_gap": "def max_gap(xs):\n    s = sorted(xs)\n    return max(b - a for a, b in zip(s, s[1:]))\n",
    "evens": "def evens(xs):\n    return [x for x in xs if x % 2 == 0]\n",
}


def solve(task: dict) -> str:
    numbers = re.findall(r"-?\d+", task["prompt"])
    return TEMPLATES.get(task["function"], "def nothing():\n    pass\n").format(*numbers)


with open(os.path.join(INPUT, "inputs.jsonl")) as handle:
    items = [json.loads(line) for line in handle if line.strip()]
with open(os.path.join(OUTPUT, "predictions.jsonl"), "w") as out:
    for item in items:
        out.write(json.dumps({"id": item["id"], "prediction": solve(item["input"])}) + "\n")
print(f"coder: wrote {len(items)} functions")
