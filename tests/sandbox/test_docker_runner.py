"""The real runner against the real engine: hardening, deadlines, memory, cleanup."""

from __future__ import annotations

import json
import os
import secrets
import stat
import textwrap
from pathlib import Path

import pytest
from conftest import BASE_IMAGE

from sandbox import (
    CONTAINER_UID,
    Gpu,
    GpuAllocator,
    Limits,
    RunSpec,
    SandboxError,
    build_image,
    export_image,
    parse_gpu_setting,
)
from sandbox._docker import MANAGED_LABEL, DockerRunner

pytestmark = pytest.mark.docker

PROBE_DOCKERFILE = f"""
FROM {BASE_IMAGE}
ENTRYPOINT ["python3", "-c", "import os; exec(os.environ['PROBE'])"]
"""


@pytest.fixture(scope="session")
def probe_image(docker_engine, tmp_path_factory):
    context = tmp_path_factory.mktemp("probe")
    (context / "Dockerfile").write_text(PROBE_DOCKERFILE)
    return build_image(context, tag="arena-test/probe:latest")


@pytest.fixture
def runner():
    return DockerRunner()


def run_probe(runner, image, folder: Path, script: str, **limits) -> tuple:
    (folder / "in").mkdir(exist_ok=True)
    (folder / "out").mkdir(exist_ok=True)
    os.chmod(folder / "out", 0o777)
    (folder / "in" / "inputs.jsonl").write_text('{"id": "a", "input": 1}\n')
    spec = RunSpec(
        job_id="job-test-" + secrets.token_hex(4),
        image_id=image,
        input_dir=folder / "in",
        output_dir=folder / "out",
        limits=Limits(**{"time_limit_s": 20, "memory_mb": 256, **limits}),
        environment={"PROBE": textwrap.dedent(script)},
    )
    return runner.run(spec), folder / "out"


# The kernel sends SIGXFSZ when a write passes the file-size limit; the probe ignores it, so the
# write fails with EFBIG (27) instead of killing the process.
SIGXFSZ_IGNORED = "import signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"


FACTS = """
import json, os, subprocess
def attempt(path):
    try:
        open(path, "w").write("x"); return "written"
    except OSError as exc:
        return exc.strerror
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
facts = {
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "uid": os.getuid(), "gid": os.getgid(),
    "root_fs": attempt("/etc/arena-probe"), "input": attempt("/input/x"), "tmp": attempt("/tmp/x"),
    "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
    "env": {k: v for k, v in os.environ.items() if k.startswith("ARENA")},
    "docker_sock": os.path.exists("/var/run/docker.sock"),
}
json.dump(facts, open("/output/facts.json", "w"))
"""


def test_the_container_is_locked_down(runner, probe_image, tmp_path):
    outcome, out = run_probe(runner, probe_image, tmp_path, FACTS)
    assert (outcome.verdict, outcome.exit_code) == ("exited", 0), outcome.log_tail
    facts = json.loads((out / "facts.json").read_text())
    assert facts["interfaces"] == ["lo"]
    assert facts["uid"] == CONTAINER_UID and facts["gid"] == CONTAINER_UID
    assert facts["root_fs"] == "Read-only file system"
    assert facts["input"] == "Read-only file system"
    assert facts["tmp"] == "written"
    assert facts["cap_eff"] == "0000000000000000"
    assert facts["no_new_privs"] == "1"
    assert facts["docker_sock"] is False


def test_exit_codes_are_reported(runner, probe_image, tmp_path):
    outcome, _ = run_probe(runner, probe_image, tmp_path, "import sys; sys.exit(3)")
    assert (outcome.verdict, outcome.exit_code) == ("exited", 3)


def test_a_sigterm_ignoring_sleeper_is_killed_at_the_deadline(runner, probe_image, tmp_path):
    script = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(300)"
    outcome, _ = run_probe(runner, probe_image, tmp_path, script, time_limit_s=2)
    assert outcome.verdict == "timeout"
    assert outcome.duration_s < 15


def test_a_memory_hog_is_out_of_memory(runner, probe_image, tmp_path):
    script = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))"
    outcome, _ = run_probe(runner, probe_image, tmp_path, script, memory_mb=96)
    assert outcome.verdict == "out_of_memory"


def test_a_fork_bomb_hits_the_process_limit(runner, probe_image, tmp_path):
    script = """
    import os, time
    children = 0
    try:
        for _ in range(500):
            if os.fork() == 0:
                time.sleep(30); os._exit(0)
            children += 1
    except OSError:
        pass
    open("/output/children", "w").write(str(children))
    os._exit(0)
    """
    outcome, out = run_probe(runner, probe_image, tmp_path, script, pids=32, time_limit_s=20)
    assert outcome.verdict in ("exited", "timeout")
    assert int((out / "children").read_text()) < 32


def test_containers_are_removed_after_the_run(runner, probe_image, tmp_path, docker_engine):
    run_probe(runner, probe_image, tmp_path, "pass")
    assert docker_engine.containers.list(all=True, filters={"label": MANAGED_LABEL}) == []


def test_sweep_removes_containers_of_dead_jobs_only(runner, probe_image, tmp_path, docker_engine):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()

    def spec(job: str) -> RunSpec:
        return RunSpec(
            job_id=job,
            image_id=probe_image,
            input_dir=tmp_path / "in",
            output_dir=tmp_path / "out",
            limits=Limits(),
            environment={"PROBE": ""},
        )

    other_instance = DockerRunner(instance="someone-else")
    live, dead = runner._create(spec("job-live")), runner._create(spec("job-dead"))
    foreign = other_instance._create(spec("job-of-another-arena"))
    try:
        assert runner.sweep(keep={"job-live"}) == 1
        remaining = {c.id for c in docker_engine.containers.list(all=True, filters={"label": MANAGED_LABEL})}
        assert remaining == {live.id, foreign.id}
    finally:
        for container in (live, dead, foreign):
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


def test_sweeps_racing_each_other_never_raise_and_remove_everything(probe_image, tmp_path, docker_engine):
    """Two workers' sweeps at once: a container one lists and the other removes is no error."""
    import threading

    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    instance = "race-" + secrets.token_hex(3)
    runners = [DockerRunner(instance=instance) for _ in range(3)]
    for i in range(8):
        runners[0]._create(
            RunSpec(
                job_id=f"job-dead-{i}",
                image_id=probe_image,
                input_dir=tmp_path / "in",
                output_dir=tmp_path / "out",
                limits=Limits(),
                environment={"PROBE": ""},
            )
        )
    start, errors = threading.Barrier(3), []

    def sweep(runner) -> None:
        try:
            start.wait()
            runner.sweep(keep=set())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert docker_engine.containers.list(all=True, filters={"label": f"arena.instance={instance}"}) == []


def test_stop_ends_a_running_container_at_once(runner, probe_image, tmp_path):
    """A worker that lost its job's lease stops the container instead of waiting for the deadline."""
    import threading
    import time

    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    spec = RunSpec(
        job_id="job-stop-" + secrets.token_hex(3),
        image_id=probe_image,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        limits=Limits(time_limit_s=120),
        environment={"PROBE": "import time; time.sleep(120)"},
    )
    found = {}
    thread = threading.Thread(target=lambda: found.update(outcome=runner.run(spec)))
    started = time.monotonic()
    thread.start()
    while (
        not runner._managed(**{"arena.job": spec.job_id})
        or runner.client.containers.get(runner._managed(**{"arena.job": spec.job_id})[0].id).status != "running"
    ):
        assert time.monotonic() - started < 60, "the container never started"
        time.sleep(0.2)
    runner.stop(spec.job_id)
    thread.join(60)
    # Killed, not timed out: the run returned before its 120 s deadline.
    assert found["outcome"].verdict == "exited" and found["outcome"].exit_code != 0
    runner.stop(spec.job_id)  # nothing runs any more: no error


def test_ensure_image_loads_a_saved_tarball(runner, docker_engine, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL arena.test={secrets.token_hex(4)}\n")
    image_id = build_image(context, tag="arena-test/load-me:latest")
    saved_id, digest, size = export_image("arena-test/load-me:latest", tmp_path / "image.tar")
    assert saved_id == image_id and size > 0 and len(digest) == 64
    docker_engine.images.remove(image_id, force=True)
    runner.ensure_image(image_id=image_id, tarball=tmp_path / "image.tar")
    assert docker_engine.images.get(image_id).id == image_id
    docker_engine.images.remove(image_id, force=True)


def test_gpus_are_requested_by_device_id(probe_image, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    runner = DockerRunner(gpus=GpuAllocator(["0", "1", "2"]))
    spec = RunSpec(
        job_id="job-gpu",
        image_id=probe_image,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        limits=Limits(gpus=2),
        environment={},
    )
    devices = runner.gpus.acquire(spec.job_id, 2)
    container = runner._create(spec, devices)
    try:
        (request,) = container.attrs["HostConfig"]["DeviceRequests"]
        assert (request["DeviceIDs"], request["Capabilities"]) == (["0", "1"], [["gpu"]])
    finally:
        container.remove(force=True)
        runner.gpus.release(spec.job_id)
    assert runner.gpus.free() == 3


def test_a_run_that_cannot_start_gives_its_gpus_back(probe_image, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    runner = DockerRunner(gpus=GpuAllocator(["7"]))  # no such device here: the start fails
    spec = RunSpec(
        job_id="job-gpu-fail",
        image_id=probe_image,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        limits=Limits(gpus=1),
        environment={"PROBE": ""},
    )
    if parse_gpu_setting("auto"):
        pytest.skip("this node has GPUs; the failing start is checked on nodes without")
    with pytest.raises(SandboxError):
        runner.run(spec)
    assert runner.gpus.free() == 1


@pytest.mark.skipif(not parse_gpu_setting("auto"), reason="needs an NVIDIA GPU on this node")
def test_nvidia_smi_runs_in_a_container_with_a_gpu(probe_image, tmp_path):
    runner = DockerRunner(gpus=GpuAllocator(parse_gpu_setting("auto")))
    outcome, out = run_probe(
        runner,
        probe_image,
        tmp_path,
        "import subprocess; open('/output/smi', 'w').write("
        "subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True).stdout)",
        gpus=1,
    )
    assert outcome.exit_code == 0 and "GPU 0" in (out / "smi").read_text()


def test_every_hardening_flag_reaches_the_engine(runner, probe_image, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    limits = Limits(time_limit_s=5, memory_mb=300, cpus=1.5, pids=77, tmp_mb=33, max_file_bytes=12345678)
    spec = RunSpec(
        job_id="job-flags",
        image_id=probe_image,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        limits=limits,
        environment={},
    )
    container = runner._create(spec)
    try:
        host = container.attrs["HostConfig"]
        config = container.attrs["Config"]
    finally:
        container.remove(force=True)
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Init"] is True and host["Privileged"] is False
    assert host["Memory"] == host["MemorySwap"] == 300 * 1024**2
    assert host["NanoCpus"] == 1_500_000_000 and host["PidsLimit"] == 77
    assert host["ShmSize"] == 64 * 1024**2
    assert host["Tmpfs"] == {"/tmp": "rw,nosuid,nodev,size=33m,mode=1777"}
    ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in host["Ulimits"]}
    assert ulimits == {"core": (0, 0), "nofile": (1024, 1024), "fsize": (12345678, 12345678)}
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "1", "max-size": "1m"}}
    assert config["User"] == f"{CONTAINER_UID}:{CONTAINER_UID}"
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert set(mounts) == {"/input", "/output"} and mounts["/input"]["ReadOnly"] is True
    assert not any("docker.sock" in str(m) for m in host["Mounts"]) and not host.get("Binds")


def test_a_file_past_the_size_limit_cannot_be_written(runner, probe_image, tmp_path):
    script = (
        SIGXFSZ_IGNORED
        + """
try:
    with open("/tmp/big", "wb") as out:
        out.write(b"x" * 3_000_000)
    open("/output/result", "w").write("written")
except OSError as exc:
    open("/output/result", "w").write(f"refused {exc.errno}")
"""
    )
    outcome, out = run_probe(runner, probe_image, tmp_path, script, max_file_bytes=1_000_000)
    assert outcome.exit_code == 0 and (out / "result").read_text() == "refused 27"


def test_amd_gpus_reach_the_container_as_their_own_device_nodes_only(probe_image, tmp_path):
    """Fake AMD device nodes (character devices like /dev/null): a job with one GPU sees /dev/kfd
    and its own render node, not its neighbour's, and ROCR_VISIBLE_DEVICES names it."""
    if os.geteuid() != 0:
        pytest.skip("making device nodes needs root")
    dev = tmp_path / "dev"
    (dev / "dri").mkdir(parents=True)
    for node in ("kfd", "dri/renderD128", "dri/renderD129"):
        os.mknod(dev / node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    gpus = [Gpu("amd", "0", str(dev / "dri/renderD128")), Gpu("amd", "1", str(dev / "dri/renderD129"))]
    runner = DockerRunner(gpus=GpuAllocator(gpus, kfd=str(dev / "kfd")))
    runner.gpus.acquire("someone-else", 1)  # holds GPU 0
    outcome, out = run_probe(
        runner,
        probe_image,
        tmp_path,
        """
        import os
        open('/output/seen', 'w').write(' '.join(sorted(os.listdir('/dev/dri'))) + ' ' +
                                        str(os.path.exists('/dev/kfd')) + ' ' + os.environ['ROCR_VISIBLE_DEVICES'])
        """,
        gpus=1,
    )
    assert outcome.exit_code == 0 and (out / "seen").read_text() == "renderD129 True 1"
    assert runner.gpus.free() == 1  # GPU 1 is back after the run, GPU 0 still held by the other job
