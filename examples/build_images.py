"""Build the example model images (arena-example/NAME:latest) from examples/models/*/, and the
example scorer images (protocol v3) from examples/scorers/*/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import build_image  # noqa: E402

MODELS = Path(__file__).resolve().parent / "models"
SCORERS = Path(__file__).resolve().parent / "scorers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="arena/python-base:bookworm", help="base image to build FROM")
    args = parser.parse_args()
    folders = [*MODELS.iterdir(), *SCORERS.iterdir()]
    for folder in sorted((p for p in folders if (p / "Dockerfile").exists()), key=lambda p: p.name):
        tag = f"arena-example/{folder.name}:latest"
        image_id = build_image(folder, tag=tag, buildargs={"BASE": args.base})
        print(f"built {tag} ({image_id[:19]})")


if __name__ == "__main__":
    main()
