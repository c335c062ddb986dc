"""GPU allocation on one node: each running job holds whole devices, never shared.

A device is NVIDIA (handed to Docker as a device request by id, to Podman by its CDI name
`nvidia.com/gpu=ID`) or AMD (the container gets /dev/kfd and that device's own render node
/dev/dri/renderD*, and ROCR_VISIBLE_DEVICES names it). Devices are written `ID` or `nvidia:ID`,
and `amd:ID:/dev/dri/renderDN`.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sandbox._base import SandboxError

KFD = "/dev/kfd"


@dataclass(frozen=True)
class Gpu:
    vendor: str  # "nvidia" or "amd"
    id: str
    render: str | None = None  # AMD: the device's render node

    @classmethod
    def parse(cls, text: str) -> Gpu:
        parts = text.strip().split(":", 2)
        if len(parts) == 1 or parts[0] == "nvidia" and len(parts) == 2:
            return cls("nvidia", parts[-1])
        if parts[0] == "amd" and len(parts) == 3 and parts[2].startswith("/dev/dri/renderD"):
            return cls("amd", parts[1], parts[2])
        raise ValueError(f"a GPU is written ID, nvidia:ID or amd:ID:/dev/dri/renderDN, not {text!r}")

    def __str__(self) -> str:
        return self.id if self.vendor == "nvidia" else f"amd:{self.id}:{self.render}"


class GpuAllocator:
    def __init__(self, devices: Sequence[str | Gpu] = (), *, kfd: str = KFD) -> None:
        self._free = [d if isinstance(d, Gpu) else Gpu.parse(d) for d in devices]
        if len({g.id for g in self._free}) != len(self._free):
            raise ValueError("a GPU is listed twice")
        self._by_id = {g.id: g for g in self._free}
        self._held: dict[str, list[Gpu]] = {}
        self._lock = threading.Lock()
        self._kfd = kfd
        self.total = len(self._free)

    @property
    def vendors(self) -> set[str]:
        return {g.vendor for g in self._by_id.values()}

    def free(self) -> int:
        with self._lock:
            return len(self._free)

    def acquire(self, job_id: str, count: int) -> list[str]:
        """Hand `count` devices (their ids) to `job_id`; SandboxError when too few are free."""
        if count <= 0:
            return []
        with self._lock:
            if job_id in self._held:
                raise SandboxError(f"job {job_id} holds GPUs already")
            if count > len(self._free):
                raise SandboxError(
                    f"the job needs {count} GPU(s); this node has {len(self._free)} free of {self.total}"
                )
            taken, self._free = self._free[:count], self._free[count:]
            self._held[job_id] = taken
            return [g.id for g in taken]

    def release(self, job_id: str) -> None:
        with self._lock:
            self._free.extend(self._held.pop(job_id, []))

    def nvidia(self, ids: Sequence[str]) -> list[str]:
        """Of devices `ids`, the NVIDIA ones (Docker requests them by id)."""
        return [i for i in ids if self._by_id[i].vendor == "nvidia"]

    def options(self, ids: Sequence[str], *, engine: str) -> tuple[list[str], dict[str, str]]:
        """Podman's flags and the environment for devices `ids` (engine "podman"), or for Docker
        the device paths to map (NVIDIA ones go as a device request instead)."""
        gpus = [self._by_id[i] for i in ids]
        nvidia = [g.id for g in gpus if g.vendor == "nvidia"]
        amd = [g for g in gpus if g.vendor == "amd"]
        flags: list[str] = []
        env: dict[str, str] = {}
        if amd:  # host path -> the path ROCm expects in the container
            renders = [cast(str, g.render) for g in amd]  # an AMD Gpu is made with its render node
            paths = [(self._kfd, KFD), *((r, f"/dev/dri/{r.rsplit('/', 1)[-1]}") for r in renders)]
            flags += [f"--device={h}:{c}" if engine == "podman" else f"{h}:{c}:rwm" for h, c in paths]
            env["ROCR_VISIBLE_DEVICES"] = ",".join(g.id for g in amd)
        if nvidia and engine == "podman":
            flags += [f"--device=nvidia.com/gpu={i}" for i in nvidia]
        return flags, env


def detect_nvidia() -> list[Gpu]:
    """The node's NVIDIA GPU indices from nvidia-smi; none where there is no NVIDIA driver."""
    if shutil.which("nvidia-smi") is None:
        return []
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        return []
    return [Gpu("nvidia", line.strip()) for line in done.stdout.splitlines() if line.strip()]


def detect_amd(*, sys_root: Path = Path("/sys"), dev_root: Path = Path("/dev")) -> list[Gpu]:
    """The node's AMD GPUs from the KFD topology (nodes with SIMDs and a render node), numbered
    as ROCm numbers them; none without /dev/kfd."""
    nodes = sys_root / "class/kfd/kfd/topology/nodes"
    if not (dev_root / "kfd").exists() or not nodes.is_dir():
        return []
    found: list[Gpu] = []
    for node in sorted(nodes.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 1 << 30):
        props = _properties(node / "properties")
        if props.get("simd_count", 0) > 0 and "drm_render_minor" in props:
            render = dev_root / "dri" / f"renderD{props['drm_render_minor']}"
            if render.exists():
                found.append(Gpu("amd", str(len(found)), f"/dev/dri/{render.name}"))
    return found


def _properties(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.split() for line in lines)
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}


def detect_gpus() -> list[Gpu]:
    return detect_nvidia() + detect_amd()


def parse_gpu_setting(value: str) -> list[str]:
    """ARENA_GPUS: 'auto' (ask nvidia-smi and the AMD KFD topology), 'none', or a comma list of
    devices (`0,1` or `nvidia:0`, `amd:0:/dev/dri/renderD128`)."""
    value = value.strip()
    if value.lower() == "auto":
        return [str(g) for g in detect_gpus()]
    if value.lower() in ("", "none"):
        return []
    devices = [part.strip() for part in value.split(",") if part.strip()]
    for device in devices:
        Gpu.parse(device)  # a clear error for a malformed entry
    return devices
