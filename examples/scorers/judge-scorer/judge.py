"""A rule-based judge for chat-judge (container protocol v3): grades each free-form answer against
the item's reference answers.

- 1.0: the answer, normalised (case, punctuation, articles and surrounding words such as "The
  answer is" ignored), is an acceptable answer, or states one in at most MAX_PLAIN_WORDS words;
  for a number, the answer's only number equals it.
- 0.5: an acceptable answer appears, but inside a longer reply.
- 0.0: otherwise.

The secondary score `contains_reference` is 1 where an acceptable answer appears at all. See
README.md for putting an open-weight judge model (vLLM or llama.cpp) in this image instead.
"""

import json
import os
import re
import string

INPUT = os.environ.get("ARENA_INPUT_DIR", "/input")
OUTPUT = os.environ.get("ARENA_OUTPUT_DIR", "/output")
MAX_PLAIN_WORDS = 8
ARTICLES = re.compile(r"\b(a|an|the)\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def normalise(text: str) -> str:
    text = "".join(c for c in text.lower() if c not in string.punctuation or c == "-")
    return " ".join(ARTICLES.sub(" ", text).split())


def contains(answer: str, reference: str) -> bool:
    return re.search(rf"(^|\s){re.escape(reference)}($|\s)", answer) is not None


def grade(answer, accept: list[str]) -> tuple[float, float]:
    """(score, contains_reference) for one answer."""
    if not isinstance(answer, str):
        return 0.0, 0.0
    said = normalise(answer)
    references = [normalise(a) for a in accept]
    if said in references:
        return 1.0, 1.0
    numbers = NUMBER.findall(said)
    if any(NUMBER.fullmatch(r) for r in references) and len(numbers) == 1:
        return (1.0, 1.0) if numbers[0] in references else (0.0, 0.0)
    if not any(contains(said, r) for r in references):
        return 0.0, 0.0
    return (1.0 if len(said.split()) <= MAX_PLAIN_WORDS else 0.5), 1.0


def read(name: str) -> list[dict]:
    with open(os.path.join(INPUT, name)) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    labels = {row["id"]: row["label"] for row in read("labels.jsonl")}
    answers = {row["id"]: row["prediction"] for row in read("predictions.jsonl")}
    with open(os.path.join(OUTPUT, "scores.jsonl"), "w") as out:
        for item_id, label in labels.items():
            score, seen = grade(answers.get(item_id), label["accept"])
            out.write(json.dumps({"id": item_id, "score": score, "secondary": {"contains_reference": seen}}) + "\n")
    print(f"judge: graded {len(labels)} answers")


if __name__ == "__main__":
    main()
