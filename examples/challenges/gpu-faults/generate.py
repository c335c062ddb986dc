"""Regenerate this example bundle's data (seeded, so the files are reproducible).

Each item is one minute of telemetry from a GPU; the label says whether the GPU was faulty.
A GPU is faulty when it runs hot (temp > 85 °C) or draws high power with a slow fan; 4% of the
labels are flipped, as real incident tickets are noisy.
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent


def item(rng: random.Random, index: int, prefix: str) -> tuple[dict, dict]:
    temp = round(rng.uniform(40, 100), 1)
    power = round(rng.uniform(150, 500), 1)
    fan = round(rng.uniform(10, 100), 1)
    faulty = temp > 85 or (power > 400 and fan < 30)
    if rng.random() < 0.04:
        faulty = not faulty
    item_id = f"{prefix}{index:05d}"
    return (
        {"id": item_id, "input": {"temp_c": temp, "power_w": power, "fan_pct": fan}},
        {"id": item_id, "label": "fault" if faulty else "ok"},
    )


def write(folder: Path, rows: list[tuple[dict, dict]]) -> None:
    folder.mkdir(exist_ok=True)
    for name, index in (("inputs.jsonl", 0), ("labels.jsonl", 1)):
        with (folder / name).open("w") as out:
            out.writelines(json.dumps(r[index]) + "\n" for r in rows)


def main() -> None:
    rng = random.Random(20261125)
    write(HERE, [item(rng, i, "h") for i in range(500)])
    write(HERE / "sample", [item(rng, i, "s") for i in range(20)])


if __name__ == "__main__":
    main()
