"""The rootless Podman runner on the real podman, as an unprivileged user."""

from __future__ import annotations

import os
import secrets
import threading
import time

import pytest
from conftest import BASE_IMAGE, load_into_podman

from sandbox import (
    EnvironmentSpec,
    GpuAllocator,
    JobFolder,
    Limits,
    RunSpec,
    SandboxError,
    build_image,
    make_runner,
)
from sandbox._podman import PodmanRunner

pytestmark = [pytest.mark.docker, pytest.mark.podman]


@pytest.fixture(scope="module")
def image(docker_engine, tmp_path_factory) -> str:
    """The base image, running the script the test puts at /input/model.py."""
    context = tmp_path_factory.mktemp("podman-probe")
    (context / "Dockerfile").write_text(f'FROM {BASE_IMAGE}\nENTRYPOINT ["python3", "/input/model.py"]\n')
    return build_image(context, tag="arena-test/podman-probe:latest")


@pytest.fixture(scope="module")
def runner(podman_runner_user, image):
    runner = make_runner("podman", user=podman_runner_user, instance=f"test-{secrets.token_hex(3)}")
    load_into_podman(runner, [image])
    yield runner
    runner.sweep(keep=set())


@pytest.fixture
def folder(runner, job_root):
    job = f"job-{secrets.token_hex(4)}"
    made = JobFolder.create(
        root=job_root, job_id=job, size_bytes=8 << 20, use_tmpfs=os.geteuid() == 0, owner=runner.folder_owner()
    )
    yield made
    made.wipe()


def spec_for(folder: JobFolder, image: str, script: str, **limits) -> RunSpec:
    (folder.input / "model.py").write_text(script)
    return RunSpec(
        job_id=folder.path.name,
        image_id=image,
        input_dir=folder.input,
        output_dir=folder.output,
        limits=Limits(**{"time_limit_s": 20, "memory_mb": 256, **limits}),
        environment={"PYTHONDONTWRITEBYTECODE": "1"},
    )


PROBE = """
import json, os, socket
report = {"uid": os.getuid(), "gid": os.getgid(), "net": sorted(os.listdir("/sys/class/net")),
          "caps": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0],
          "nnp": [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0]}
for path in ("/etc/evil", "/input/evil"):
    try:
        open(path, "w"); report[path] = "written"
    except OSError:
        report[path] = "refused"
open("/tmp/ok", "w").write("tmp is writable")
open("/output/report.json", "w").write(json.dumps(report))
"""


def test_the_sandbox_holds_under_rootless_podman(runner, image, folder):
    spec = spec_for(folder, image, PROBE)
    outcome = runner.run(spec)
    assert (outcome.verdict, outcome.exit_code) == ("exited", 0), outcome
    report = __import__("json").loads((folder.output / "report.json").read_text())
    assert report == {
        "uid": 65532,
        "gid": 65532,
        "net": ["lo"],
        "caps": "0000000000000000",
        "nnp": "1",
        "/etc/evil": "refused",
        "/input/evil": "refused",
    }
    # The output belongs to the podman user (uid 65532 inside is mapped onto it), never to root.
    assert (folder.output / "report.json").stat().st_uid == runner.folder_owner()[0]


def test_deadline_kills_and_the_log_tail_is_capped(runner, image, folder):
    spec = spec_for(
        folder,
        image,
        "import sys, time\nsys.stdout.write('x' * 200000)\nsys.stdout.flush()\ntime.sleep(600)\n",
        time_limit_s=3,
        log_tail_bytes=1000,
    )
    started = time.monotonic()
    outcome = runner.run(spec)
    assert outcome.verdict == "timeout" and len(outcome.log_tail) == 1000
    assert time.monotonic() - started < 60
    assert runner._managed() == []


def test_stop_ends_a_running_container_at_once(runner, image, folder):
    spec = spec_for(folder, image, "import time\ntime.sleep(600)\n", time_limit_s=300)
    timer = threading.Timer(3, runner.stop, args=(spec.job_id,))
    timer.start()
    outcome = runner.run(spec)
    timer.join()
    assert (outcome.verdict, outcome.exit_code) == ("exited", None) and outcome.duration_s < 60


def test_racing_sweeps_never_raise(runner, image, folder):
    spec = spec_for(folder, image, "import time\ntime.sleep(600)\n", time_limit_s=300)
    thread = threading.Thread(target=lambda: _swallow(runner.run, spec))
    thread.start()
    for _ in range(100):
        if runner._managed():
            break
        time.sleep(0.2)
    counts = []
    sweepers = [threading.Thread(target=lambda: counts.append(runner.sweep(keep=set()))) for _ in range(3)]
    for sweeper in sweepers:
        sweeper.start()
    for sweeper in sweepers:
        sweeper.join()
    thread.join(timeout=120)
    assert max(counts) >= 1 and runner._managed() == []


def test_as_root_without_a_user_it_refuses(image, folder):
    if os.geteuid() != 0:
        pytest.skip("checks what root is refused")
    with pytest.raises(SandboxError, match="must not run as root"):
        PodmanRunner(instance="x").has_image(image)


def test_agent_environments_are_refused_with_a_clear_error(tmp_path):
    runner = PodmanRunner(user="nobody", instance="x")
    spec = EnvironmentSpec(
        job_id="job-e",
        name="job-e-1",
        image_id="sha256:" + "0" * 64,
        stage_dir=tmp_path,
        hidden_dir=tmp_path,
        workdir="/work",
        workdir_mb=8,
        limits=Limits(),
    )
    with pytest.raises(SandboxError, match="Docker only"):
        runner.start_environment(spec)
    with pytest.raises(SandboxError, match="no environments"):
        runner.exec_in("none", ["true"], user=1000, workdir="/work", time_limit_s=1, max_output_bytes=10)
    runner.stop_environment("none")  # nothing to remove, no error


def test_amd_and_nvidia_devices_become_podman_flags():
    gpus = GpuAllocator(["amd:0:/dev/dri/renderD128", "amd:1:/dev/dri/renderD129", "nvidia:3"], kfd="/dev/kfd")
    taken = gpus.acquire("job-a", 2)
    assert gpus.options(taken, engine="podman") == (
        [
            "--device=/dev/kfd:/dev/kfd",
            "--device=/dev/dri/renderD128:/dev/dri/renderD128",
            "--device=/dev/dri/renderD129:/dev/dri/renderD129",
        ],
        {"ROCR_VISIBLE_DEVICES": "0,1"},
    )
    assert gpus.options(gpus.acquire("job-b", 1), engine="podman") == (["--device=nvidia.com/gpu=3"], {})


def _swallow(function, *args) -> None:
    try:
        function(*args)
    except SandboxError:
        pass
