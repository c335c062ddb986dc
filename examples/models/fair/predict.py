"""A fair model for gpu-faults: the temperature rule of the good one, without the power-and-fan part."""

import json
import os

input_dir = os.environ.get("ARENA_INPUT_DIR", "/input")
output_dir = os.environ.get("ARENA_OUTPUT_DIR", "/output")

with (
    open(os.path.join(input_dir, "inputs.jsonl")) as handle,
    open(os.path.join(output_dir, "predictions.jsonl"), "w") as out,
):
    for line in handle:
        item = json.loads(line)
        guess = "fault" if item["input"]["temp_c"] > 85 else "ok"
        out.write(json.dumps({"id": item["id"], "prediction": guess}) + "\n")
print("fair model: the temperature rule only")
