"""Regenerate this example bundle from chat-basics: the same chats, but the labels are
references for a judge (the reference answer and any other acceptable answers) with a public
slice, the kind of question. Run chat-basics/generate.py first if you change its items."""

import json
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE.parent / "chat-basics"


def kind(item: dict, label: str) -> str:
    if "tools" in item["input"]:
        return "tools"
    if label.lstrip("-").replace(".", "").isdigit():
        return "arithmetic"
    text = json.dumps(item["input"])
    return "memory" if "name" in text.lower() and label in text else "capitals"


def convert(folder: Path, target: Path) -> None:
    target.mkdir(exist_ok=True)
    (target / "inputs.jsonl").write_text((folder / "inputs.jsonl").read_text())
    items = [json.loads(line) for line in (folder / "inputs.jsonl").read_text().splitlines()]
    labels = [json.loads(line) for line in (folder / "labels.jsonl").read_text().splitlines()]
    with (target / "labels.jsonl").open("w") as out:
        for item, row in zip(items, labels, strict=True):
            reference = row["label"]
            label = {"reference": reference, "accept": [reference]}
            out.write(json.dumps({"id": row["id"], "label": label, "slice": kind(item, reference)}) + "\n")


if __name__ == "__main__":
    convert(SOURCE, HERE)
    convert(SOURCE / "sample", HERE / "sample")
