"""GPU allocation on one node: each running job holds whole devices, never shared."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Sequence

from sandbox._base import SandboxError


class GpuAllocator:
    def __init__(self, device_ids: Sequence[str] = ()) -> None:
        self._free = list(device_ids)
        self._held: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.total = len(self._free)

    def free(self) -> int:
        with self._lock:
            return len(self._free)

    def acquire(self, job_id: str, count: int) -> list[str]:
        """Hand `count` devices to `job_id`; raises SandboxError when the node has too few free."""
        if count <= 0:
            return []
        with self._lock:
            if job_id in self._held:
                raise SandboxError(f"job {job_id} holds GPUs already")
            if count > len(self._free):
                raise SandboxError(f"the job needs {count} GPU(s); this node has {len(self._free)} "
                                   f"free of {self.total}")
            taken, self._free = self._free[:count], self._free[count:]
            self._held[job_id] = taken
            return list(taken)

    def release(self, job_id: str) -> None:
        with self._lock:
            self._free.extend(self._held.pop(job_id, []))


def detect_gpus() -> list[str]:
    """The node's GPU indices from nvidia-smi; none where there is no NVIDIA driver."""
    if shutil.which("nvidia-smi") is None:
        return []
    done = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                          capture_output=True, text=True, timeout=30)
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def parse_gpu_setting(value: str) -> list[str]:
    """ARENA_GPUS: 'auto' (ask nvidia-smi), 'none', or a comma list of device ids."""
    value = value.strip().lower()
    if value == "auto":
        return detect_gpus()
    if value in ("", "none"):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]
