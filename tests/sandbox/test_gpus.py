import threading

import pytest

from sandbox import GpuAllocator, SandboxError, parse_gpu_setting


def test_jobs_never_share_a_device_even_when_racing():
    allocator = GpuAllocator([str(i) for i in range(8)])
    taken: dict[str, list[str]] = {}
    start = threading.Barrier(8)

    def grab(job: str) -> None:
        start.wait()
        try:
            taken[job] = allocator.acquire(job, 2)
        except SandboxError:
            taken[job] = []

    threads = [threading.Thread(target=grab, args=(f"job-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    devices = [d for held in taken.values() for d in held]
    assert len(devices) == 8 and len(set(devices)) == 8
    assert sum(1 for held in taken.values() if held) == 4


def test_release_returns_devices_and_too_many_is_refused():
    allocator = GpuAllocator(["0", "1"])
    assert allocator.acquire("a", 2) == ["0", "1"]
    with pytest.raises(SandboxError, match="needs 1 GPU"):
        allocator.acquire("b", 1)
    allocator.release("a")
    assert allocator.free() == 2 and allocator.acquire("b", 0) == []


@pytest.mark.parametrize(("value", "expected"), [("none", []), ("", []), ("0, 2", ["0", "2"])])
def test_gpu_setting(value, expected):
    assert parse_gpu_setting(value) == expected
