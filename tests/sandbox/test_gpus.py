import threading

import pytest

from sandbox import GpuAllocator, SandboxError, detect_amd, parse_gpu_setting


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


def _fake_amd_node(tmp_path, gpus: int):
    """A KFD topology and /dev as an AMD node shows them: node 0 a CPU, then `gpus` GPUs."""
    nodes = tmp_path / "sys/class/kfd/kfd/topology/nodes"
    (tmp_path / "dev/dri").mkdir(parents=True)
    (tmp_path / "dev/kfd").touch()
    for index in range(gpus + 1):
        (nodes / str(index)).mkdir(parents=True)
        props = (
            "cpu_cores_count 64\nsimd_count 0\ndrm_render_minor 0\n"
            if index == 0
            else f"cpu_cores_count 0\nsimd_count 440\ndrm_render_minor {127 + index}\n"
        )
        (nodes / str(index) / "properties").write_text(props)
        if index:
            (tmp_path / f"dev/dri/renderD{127 + index}").touch()
    return tmp_path / "sys", tmp_path / "dev"


def test_amd_gpus_are_found_in_the_kfd_topology_with_their_own_render_nodes(tmp_path):
    sys_root, dev_root = _fake_amd_node(tmp_path, 3)
    found = [str(g) for g in detect_amd(sys_root=sys_root, dev_root=dev_root)]
    assert found == ["amd:0:/dev/dri/renderD128", "amd:1:/dev/dri/renderD129", "amd:2:/dev/dri/renderD130"]
    (dev_root / "kfd").unlink()
    assert detect_amd(sys_root=sys_root, dev_root=dev_root) == []


def test_amd_devices_are_never_shared_and_each_job_gets_only_its_render_nodes(tmp_path):
    sys_root, dev_root = _fake_amd_node(tmp_path, 4)
    allocator = GpuAllocator(detect_amd(sys_root=sys_root, dev_root=dev_root), kfd=str(dev_root / "kfd"))
    first, second = allocator.acquire("a", 2), allocator.acquire("b", 2)
    assert set(first).isdisjoint(second)
    with pytest.raises(SandboxError):
        allocator.acquire("c", 1)
    paths, env = allocator.options(second, engine="docker")
    assert paths == [
        f"{dev_root}/kfd:/dev/kfd:rwm",
        "/dev/dri/renderD130:/dev/dri/renderD130:rwm",
        "/dev/dri/renderD131:/dev/dri/renderD131:rwm",
    ]
    assert env == {"ROCR_VISIBLE_DEVICES": "2,3"} and allocator.nvidia(second) == []
    allocator.release("a")
    assert allocator.free() == 2


@pytest.mark.parametrize("value", ["amd:0", "amd:0:/dev/sda", "intel:0"])
def test_a_malformed_gpu_entry_is_refused(value):
    with pytest.raises(ValueError, match="a GPU is written"):
        parse_gpu_setting(value)
