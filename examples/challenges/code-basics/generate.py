"""Regenerate this example bundle's data (seeded, so the files are reproducible).

Each item is a small programming task: a function to write, named and described, with its
signature. The label holds the hidden unit tests (arguments and expected results) and a public
slice: "numbers", "strings" or "lists". Predictions are Python source defining the function; the
organiser's scorer (examples/scorers/code-scorer) runs each against its tests.
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
WORDS = ["arena", "lumi", "factory", "leonardo", "gpu", "model", "level", "noon", "europe", "kayak"]


def numbers(rng: random.Random) -> dict:
    kind = rng.choice(["add", "clamp", "digits", "factorial", "fib"])
    if kind == "add":
        k = rng.randint(2, 99)
        return task(
            "add_k",
            f"Return x plus {k}.",
            "def add_k(x):",
            [[x] for x in rng.sample(range(-50, 50), 4)],
            lambda x: x + k,
        )
    if kind == "clamp":
        lo, hi = sorted(rng.sample(range(-20, 20), 2))
        return task(
            "clamp",
            f"Return x limited to the range {lo} to {hi} (inclusive).",
            "def clamp(x):",
            [[x] for x in (lo - 5, hi + 5, (lo + hi) // 2, lo)],
            lambda x: max(lo, min(hi, x)),
        )
    if kind == "digits":
        return task(
            "digit_sum",
            "Return the sum of the decimal digits of the non-negative integer n.",
            "def digit_sum(n):",
            [[n] for n in rng.sample(range(0, 100000), 4)],
            lambda n: sum(map(int, str(n))),
        )
    if kind == "factorial":
        return task(
            "factorial",
            "Return n! for a non-negative integer n.",
            "def factorial(n):",
            [[n] for n in (0, 1, rng.randint(2, 8), rng.randint(9, 15))],
            _factorial,
        )
    return task(
        "fib",
        "Return the n-th Fibonacci number (fib(0) = 0, fib(1) = 1).",
        "def fib(n):",
        [[n] for n in (0, 1, rng.randint(2, 10), rng.randint(20, 30))],
        _fib,
    )


def strings(rng: random.Random) -> dict:
    kind = rng.choice(["reverse", "vowels", "palindrome", "caesar"])
    sample = [[" ".join(rng.sample(WORDS, rng.randint(1, 4)))] for _ in range(4)]
    if kind == "reverse":
        return task(
            "reverse_words",
            "Return the words of s in reverse order, separated by single spaces.",
            "def reverse_words(s):",
            sample,
            lambda s: " ".join(reversed(s.split())),
        )
    if kind == "vowels":
        return task(
            "count_vowels",
            "Return how many of the characters of s are vowels (a, e, i, o, u; any case).",
            "def count_vowels(s):",
            sample,
            lambda s: sum(c in "aeiouAEIOU" for c in s),
        )
    if kind == "palindrome":
        return task(
            "is_palindrome",
            "Return True if the word w reads the same backwards, else False.",
            "def is_palindrome(w):",
            [[w] for w in rng.sample(WORDS, 4)],
            lambda w: w == w[::-1],
        )
    k = rng.choice([1, 3, 5, 13, -2])
    return task(
        "caesar",
        f"Shift each lowercase letter of s by {k} places in the alphabet (wrapping around); "
        "leave other characters as they are.",
        "def caesar(s):",
        sample,
        lambda s: "".join(chr((ord(c) - 97 + k) % 26 + 97) if c.islower() else c for c in s),
    )


def lists(rng: random.Random) -> dict:
    kind = rng.choice(["scale", "unique", "gap", "evens"])
    sample = [[rng.sample(range(-30, 30), rng.randint(0, 6))] for _ in range(4)]
    if kind == "scale":
        k = rng.randint(2, 9)
        return task(
            "scale",
            f"Return a new list with each number of xs multiplied by {k}.",
            "def scale(xs):",
            sample,
            lambda xs: [k * x for x in xs],
        )
    if kind == "unique":
        return task(
            "unique_sorted",
            "Return the distinct numbers of xs in increasing order.",
            "def unique_sorted(xs):",
            sample,
            lambda xs: sorted(set(xs)),
        )
    if kind == "gap":
        return task(
            "max_gap",
            "Return the largest difference between two neighbours of sorted(xs); 0 when xs has fewer than two numbers.",
            "def max_gap(xs):",
            sample,
            _max_gap,
        )
    return task(
        "evens",
        "Return the even numbers of xs, in their order.",
        "def evens(xs):",
        sample,
        lambda xs: [x for x in xs if x % 2 == 0],
    )


def _factorial(n: int) -> int:
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _max_gap(xs: list) -> int:
    ordered = sorted(xs)
    return max((b - a for a, b in zip(ordered, ordered[1:], strict=False)), default=0)


def task(function: str, prompt: str, signature: str, cases: list, solve) -> dict:
    return {
        "input": {"function": function, "prompt": prompt, "signature": signature},
        "label": {"tests": [{"args": args, "expected": solve(*args)} for args in cases]},
    }


def write(folder: Path, prefix: str, n_per_slice: int, seed: int) -> None:
    rng = random.Random(seed)
    items = [
        (name, make(rng))
        for name, make in (("numbers", numbers), ("strings", strings), ("lists", lists))
        for _ in range(n_per_slice)
    ]
    rng.shuffle(items)
    folder.mkdir(exist_ok=True)
    with (folder / "inputs.jsonl").open("w") as inputs, (folder / "labels.jsonl").open("w") as labels:
        for number, (name, item) in enumerate(items, start=1):
            item_id = f"{prefix}{number:04d}"
            inputs.write(json.dumps({"id": item_id, "input": item["input"]}) + "\n")
            labels.write(json.dumps({"id": item_id, "label": item["label"], "slice": name}) + "\n")


if __name__ == "__main__":
    write(HERE, "t", 120, seed=17)
    write(HERE / "sample", "s", 2, seed=71)
