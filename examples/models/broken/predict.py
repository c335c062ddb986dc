"""A broken model: it stops after the first 100 items, so most ids get no prediction."""

import json
import os

input_dir = os.environ.get("ARENA_INPUT_DIR", "/input")
output_dir = os.environ.get("ARENA_OUTPUT_DIR", "/output")

with (
    open(os.path.join(input_dir, "inputs.jsonl")) as handle,
    open(os.path.join(output_dir, "predictions.jsonl"), "w") as out,
):
    for number, line in enumerate(handle):
        if number == 100:
            break
        item = json.loads(line)
        out.write(json.dumps({"id": item["id"], "prediction": "ok"}) + "\n")
print("broken model: stopped after 100 items")
