"""The per-job memory folder: plaintext inputs live here, and nowhere else, while a job runs.

Where the platform runs as root, each job folder is its own size-capped tmpfs mount (so the inputs
never touch a disk and /output cannot grow past its cap); otherwise it is a plain folder under a
memory-backed root such as /dev/shm. Wiping unmounts (or removes) it; a sweep at worker start
removes what a crash left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sandbox._base import CONTAINER_GID, CONTAINER_UID, SandboxError


@dataclass(frozen=True)
class JobFolder:
    path: Path
    mounted: bool

    @property
    def input(self) -> Path:
        return self.path / "input"

    @property
    def output(self) -> Path:
        return self.path / "output"

    @property
    def run(self) -> Path:
        """Shared with an interactive container at /run/arena (its socket); nothing else."""
        return self.path / "run"

    @classmethod
    def create(
        cls, *, root: Path, job_id: str, size_bytes: int, use_tmpfs: bool, owner: tuple[int, int] | None = None
    ) -> JobFolder:
        """`owner`: who owns the writable folders (a rootless runner's user, onto whom the
        container's uid is mapped); by default the container's uid where the platform is root."""
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o711 if owner else 0o700)  # a rootless runner's user must traverse it
        path = root / job_id
        path.mkdir(mode=0o711)
        folder = cls(path, mounted=False)
        try:
            if use_tmpfs:
                _mount_tmpfs(path, size_bytes)
                folder = cls(path, mounted=True)
            _prepare(folder, owner)
        except BaseException:
            folder.wipe()
            raise
        return folder

    def output_bytes(self) -> int:
        """What the container wrote: the files under output/ and run/ (an interactive model's
        socket folder), by size; both count towards the output cap."""
        total = 0
        for top in (self.output, self.run):
            for parent, _dirs, files in os.walk(top):
                for name in files:
                    total += os.lstat(os.path.join(parent, name)).st_size
        return total

    def wipe(self) -> None:
        wipe_path(self.path)


def _prepare(folder: JobFolder, owner: tuple[int, int] | None) -> None:
    os.chmod(folder.path, 0o711)
    folder.input.mkdir(mode=0o755)
    os.chmod(folder.input, 0o755)
    for writable in (folder.output, folder.run):
        writable.mkdir(mode=0o700)
        if owner is not None and owner[0] == os.geteuid():
            continue  # a rootless runner as this very user: 0700 and its own already
        if os.geteuid() == 0:
            os.chown(writable, *(owner or (CONTAINER_UID, CONTAINER_GID)))
        else:
            os.chmod(writable, 0o777)  # development without root: the container's uid differs


def _mount_tmpfs(path: Path, size_bytes: int) -> None:
    size_kib = max(size_bytes // 1024 + 1024, 4096)
    options = f"size={size_kib}k,mode=0711,nosuid,nodev,noexec"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "arena-job", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SandboxError(f"could not mount the job's tmpfs: {done.stderr.strip()}")


def wipe_path(path: Path) -> None:
    """Remove a job folder: unmount it if it is a mount (its memory is freed), then delete."""
    if os.path.ismount(path):
        done = subprocess.run(["umount", str(path)], capture_output=True)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def sweep_job_folders(root: Path, *, keep: set[str], only: set[str] | None = None) -> int:
    """Remove job folders left by a crash (all but those of jobs in `keep`, and, when `only` is
    given, only among those names); returns how many."""
    try:
        found = list(root.iterdir())
    except FileNotFoundError:
        return 0
    removed = 0
    for path in found:
        if path.name not in keep and (only is None or path.name in only):
            wipe_path(path)
            removed += 1
    return removed


# -- what a job folder holds ------------------------------------------------------------------------
# Binary assets (assets/ in a bundle, referenced from items): the limits of one hidden set, for
# every tar of assets unpacked (a bundle's, a job's on a node, a sample's).
MAX_ASSET_FILES = 100_000
MAX_ASSET_FILE_BYTES = 4 * 1024**3
MAX_ASSETS_BYTES = 256 * 1024**3


@dataclass(frozen=True)
class AssetLimits:
    max_files: int
    max_file_bytes: int
    max_total_bytes: int


ASSET_LIMITS = AssetLimits(MAX_ASSET_FILES, MAX_ASSET_FILE_BYTES, MAX_ASSETS_BYTES)


def driven(protocol: str) -> bool:
    """Whether the platform drives the container through its socket (protocol v2, agents too)."""
    return protocol in ("interactive", "agent")


def items_path(folder: JobFolder, protocol: str) -> Path:
    """Where a job's inputs are staged: /input/inputs.jsonl for a batch container; for a driven
    one, beside the folders it sees (the driver sends it items one at a time)."""
    return folder.path / "items.jsonl" if driven(protocol) else folder.input / "inputs.jsonl"


def answers_path(folder: JobFolder, protocol: str) -> Path:
    """Where the predictions are read: the container's /output, or the driver's answers file
    (outside every folder the container sees)."""
    return folder.path / "answers.jsonl" if driven(protocol) else folder.output / "predictions.jsonl"


def trajectory_path(folder: JobFolder) -> Path:
    """An agent run's trajectory: every message and tool call, as JSON lines."""
    return folder.path / "trajectory.jsonl"


def environment_files(folder: JobFolder) -> Path:
    """Where an agent job's assets are decrypted: beside the folders its container sees; from here
    each item's declared files reach its environment, never the agent's container."""
    return folder.path / "environment-files"


def environments_root(folder: JobFolder) -> Path:
    """Where an agent job's per-item environment folders are made."""
    return folder.path / "environments"


def states_folder(folder: JobFolder) -> Path:
    """Where each item's final state is captured (on a node) or received (centrally)."""
    return folder.path / "final-states"


def assets_dir(folder: JobFolder, protocol: str) -> Path:
    """Where a job's assets are unpacked: /input/assets, or (agent) its environments' files."""
    if protocol != "agent":
        return folder.input
    environment_files(folder).mkdir(mode=0o700, exist_ok=True)
    return environment_files(folder)


def write_task(input_dir: Path, *, challenge: str, metric: str, n_items: int, protocol: str) -> None:
    """/input/task.json; protocol 1 (batch) or 2 (driven, which gets no inputs.jsonl)."""
    task = {"protocol": 2 if driven(protocol) else 1, "challenge": challenge, "metric": metric, "n_items": n_items}
    (input_dir / "task.json").write_text(json.dumps(task))
    for name in ("inputs.jsonl", "task.json"):
        if (input_dir / name).exists():
            os.chmod(input_dir / name, 0o644)


def count_items(path: Path) -> int:
    """The items of a JSON-lines file: its non-blank lines."""
    with path.open("rb") as staged:
        return sum(1 for line in staged if line.strip())
