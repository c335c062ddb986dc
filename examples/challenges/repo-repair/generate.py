"""Regenerate this example bundle (deterministic).

Each item is a tiny Python package with one bug, given to the agent as files in its environment's
working directory (`files`), and one hidden test file (`score_files`) that only the score command
sees, after the agent has finished. The first three bugs are ones the example agent's rules
recognise; the last two are beyond it on purpose. The sample set holds one more item, public.
"""

import json
import shutil
from pathlib import Path

HERE = Path(__file__).parent

ITEMS = {
    "r01": (
        "calc/__init__.py",
        "calc/arith.py",
        'def add(a, b):\n    """The sum of a and b."""\n    return a - b\n',
        "from calc.arith import add\n\n\ndef test_small():\n    assert add(2, 3) == 5\n\n\n"
        "def test_negative():\n    assert add(-4, 1) == -3\n",
        "The function add in calc/arith.py gives wrong results. Fix the bug so that the package's tests pass.",
    ),
    "r02": (
        "textutil/__init__.py",
        "textutil/case.py",
        'def shout(text):\n    """The text in capitals, with an exclamation mark."""\n    return text.lower() + "!"\n',
        'from textutil.case import shout\n\n\ndef test_shout():\n    assert shout("hey") == "HEY!"\n',
        "textutil.case.shout should return the text in capitals followed by '!'. It does not. Repair it.",
    ),
    "r03": (
        "stats/__init__.py",
        "stats/mean.py",
        'def mean(values):\n    """The arithmetic mean of a non-empty list."""\n'
        "    return sum(values) / (len(values) + 1)\n",
        "from stats.mean import mean\n\n\ndef test_mean():\n    assert mean([1, 2, 3, 6]) == 3\n\n\n"
        "def test_one():\n    assert mean([7]) == 7\n",
        "stats.mean.mean returns a value that is too small. Find and fix the bug.",
    ),
    "r04": (
        "stock/__init__.py",
        "stock/levels.py",
        'def needs_reorder(quantity, threshold):\n    """True when stock is at or below the threshold."""\n'
        "    return quantity < threshold\n",
        "from stock.levels import needs_reorder\n\n\ndef test_at_threshold():\n"
        "    assert needs_reorder(5, 5)\n\n\ndef test_above():\n    assert not needs_reorder(6, 5)\n",
        "stock.levels.needs_reorder is wrong at the boundary. Fix it.",
    ),
    "r05": (
        "words/__init__.py",
        "words/count.py",
        'def count_words(text):\n    """How many whitespace-separated words the text holds."""\n'
        '    return len(text.split(" "))\n',
        "from words.count import count_words\n\n\ndef test_spaces():\n"
        '    assert count_words("  two   words ") == 2\n\n\ndef test_empty():\n    assert count_words("") == 0\n',
        "words.count.count_words miscounts text with several spaces, and empty text. Fix it.",
    ),
}
SAMPLE = {
    "s01": (
        "calc/__init__.py",
        "calc/ops.py",
        'def multiply(a, b):\n    """The product of a and b."""\n    return a + b\n',
        "from calc.ops import multiply\n\n\ndef test_product():\n    assert multiply(3, 4) == 12\n",
        "calc.ops.multiply adds instead of multiplying. Fix it.",
    ),
}


def write(folder: Path, items: dict) -> None:
    shutil.rmtree(folder / "assets", ignore_errors=True)
    inputs, labels = [], []
    for item_id, (init, module, source, test, task) in items.items():
        base = folder / "assets" / item_id
        for relative, text in ((f"repo/{init}", ""), (f"repo/{module}", source), (f"hidden/test_{item_id}.py", test)):
            (base / relative).parent.mkdir(parents=True, exist_ok=True)
            (base / relative).write_text(text)
        inputs.append(
            {
                "id": item_id,
                "input": {
                    "messages": [
                        {
                            "role": "system",
                            "content": "You are a software engineer. The repository is your "
                            "working directory; use the tools to inspect and edit it, then say what you changed.",
                        },
                        {"role": "user", "content": task},
                    ],
                    "files": {init: f"assets/{item_id}/repo/{init}", module: f"assets/{item_id}/repo/{module}"},
                    "score_files": {f"test_{item_id}.py": f"assets/{item_id}/hidden/test_{item_id}.py"},
                },
            }
        )
        labels.append({"id": item_id, "label": 1})
    (folder / "inputs.jsonl").write_text("".join(json.dumps(i) + "\n" for i in inputs))
    (folder / "labels.jsonl").write_text("".join(json.dumps(label) + "\n" for label in labels))


if __name__ == "__main__":
    write(HERE, ITEMS)
    (HERE / "sample").mkdir(exist_ok=True)
    write(HERE / "sample", SAMPLE)
