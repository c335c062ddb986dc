"""A weaker model for gpu-faults: it only looks at the temperature."""

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
        guess = "fault" if item["input"]["temp_c"] > 80 else "ok"
        out.write(json.dumps({"id": item["id"], "prediction": guess}) + "\n")
print("weak model: looked at the temperature only")
