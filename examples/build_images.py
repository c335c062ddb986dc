"""Build the example model images (arena-example/NAME:latest) from examples/models/*/, and the
example scorer images (protocol v3) from examples/scorers/*/, and agent challenges' environment images
from examples/environments/*/."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import build_image  # noqa: E402

MODELS = Path(__file__).resolve().parent / "models"
SCORERS = Path(__file__).resolve().parent / "scorers"
ENVIRONMENTS = Path(__file__).resolve().parent / "environments"  # agent challenges' environment images
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static (scripts/setup.sh installs it)


def build_tiny(folder: Path, tag: str) -> str | None:
    """The tiny model is FROM scratch with a static busybox, copied into its build context."""
    if not BUSYBOX.is_file():
        print(f"skipped {tag}: no static {BUSYBOX} (apt-get install busybox-static)")
        return None
    with tempfile.TemporaryDirectory() as context:
        for path in folder.iterdir():
            shutil.copy(path, context)
        shutil.copy(BUSYBOX, Path(context) / "busybox")
        for path in Path(context).iterdir():
            path.chmod(0o755)
        # Built afresh (2 MB, a second): FROM scratch, a cached step may be one made for an image
        # labelled with another architecture from the same files, whose label it would carry.
        return build_image(Path(context), tag=tag, nocache=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="arena/python-base:bookworm", help="base image to build FROM")
    args = parser.parse_args()
    folders = [*MODELS.iterdir(), *SCORERS.iterdir()]
    for folder in sorted((p for p in folders if (p / "Dockerfile").exists()), key=lambda p: p.name):
        tag = f"arena-example/{folder.name}:latest"
        if folder.name == "tiny":
            image_id = build_tiny(folder, tag)
        else:
            image_id = build_image(folder, tag=tag, buildargs={"BASE": args.base})
        if image_id:
            print(f"built {tag} ({image_id[:19]})")
    for folder in sorted(p for p in ENVIRONMENTS.iterdir() if (p / "Dockerfile").exists()):
        tag = f"arena-example/{folder.name}:latest"
        image_id = build_image(folder, tag=tag, buildargs={"BASE": args.base})
        print(f"built {tag} ({image_id[:19]})")


if __name__ == "__main__":
    main()
