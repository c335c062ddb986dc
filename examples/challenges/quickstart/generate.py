"""Regenerate the quickstart bundle's data (seeded): 300 hidden items and a 12-item sample in the
shape of the gpu-faults example, so that its example models (arena-example/good, broken…) run on it.
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent


def item(rng: random.Random, item_id: str) -> tuple[dict, dict]:
    temp, power, fan = round(rng.uniform(40, 100), 1), round(rng.uniform(150, 500), 1), round(rng.uniform(10, 100), 1)
    faulty = (temp > 85 or (power > 400 and fan < 30)) != (rng.random() < 0.05)
    return (
        {"id": item_id, "input": {"temp_c": temp, "power_w": power, "fan_pct": fan}},
        {"id": item_id, "label": "fault" if faulty else "ok"},
    )


def write(folder: Path, rows: list[tuple[dict, dict]]) -> None:
    folder.mkdir(exist_ok=True)
    for name, index in (("inputs.jsonl", 0), ("labels.jsonl", 1)):
        with (folder / name).open("w") as out:
            out.writelines(json.dumps(r[index]) + "\n" for r in rows)


if __name__ == "__main__":
    rng = random.Random(20261202)
    write(HERE, [item(rng, f"q{i:04d}") for i in range(300)])
    write(HERE / "sample", [item(rng, f"s{i:02d}") for i in range(12)])
