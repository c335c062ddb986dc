"""A good model for gpu-faults: the whole rule, vectorised with numpy (container protocol v1)."""

import json
import os

import numpy as np

input_dir = os.environ.get("ARENA_INPUT_DIR", "/input")
output_dir = os.environ.get("ARENA_OUTPUT_DIR", "/output")

with open(os.path.join(input_dir, "inputs.jsonl")) as handle:
    items = [json.loads(line) for line in handle]
x = np.array([[i["input"]["temp_c"], i["input"]["power_w"], i["input"]["fan_pct"]] for i in items])
faulty = (x[:, 0] > 85) | ((x[:, 1] > 400) & (x[:, 2] < 30))
with open(os.path.join(output_dir, "predictions.jsonl"), "w") as out:
    for item, bad in zip(items, faulty, strict=False):
        out.write(json.dumps({"id": item["id"], "prediction": "fault" if bad else "ok"}) + "\n")
print(f"good model: {len(items)} items, {int(faulty.sum())} predicted faulty")
