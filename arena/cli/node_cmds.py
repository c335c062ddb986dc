"""`arena node-run`: one evaluation job on a GPU node, started by a Slurm batch script.

It reads ARENA_NODE_URL, ARENA_NODE_JOB and ARENA_NODE_TOKEN (the job's own credential) from the
environment; fetches the job's spec, image and inputs; runs the container in the same sandbox as a
local worker, with the GPUs Slurm gave the job; posts the outcome and predictions back; and wipes
the job's memory folder. It prints only its own steps, never what the container printed (that goes
to the platform, sealed for organisers on hidden data). It never sees a label or a key.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click
import requests
import urllib3

from arena.streams import UnpackError, unpack_assets
from sandbox import (
    ASSET_LIMITS,
    AgentLimits,
    EnvironmentConfig,
    GpuAllocator,
    JobFolder,
    JobRun,
    JobRunResult,
    Limits,
    SessionLimits,
    answers_path,
    assets_dir,
    count_items,
    detect_amd,
    items_path,
    limits_from,
    make_runner,
    run_job,
    states_folder,
    trajectory_path,
    write_task,
)

log = logging.getLogger("arena.node")
CHUNK = 1024 * 1024


class NodeClient:
    def __init__(self, url: str, job_id: str, token: str) -> None:
        self.base = f"{url.rstrip('/')}/api/node/jobs/{job_id}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _get(self, path: str = "", *, stream: bool = False) -> requests.Response:
        for attempt in range(5):
            try:
                response = self.http.get(self.base + path, stream=stream, timeout=(10, 600))
            except requests.RequestException as exc:
                if attempt == 4:
                    raise click.ClickException(f"cannot reach the platform: {type(exc).__name__}") from None
                time.sleep(2**attempt)
                continue
            if response.status_code != 200:
                raise click.ClickException(
                    f"the platform refused GET {path or '/'}: {response.status_code} {_message(response)}"
                )
            return response
        raise AssertionError("unreachable")

    def spec(self) -> dict:
        return self._get().json()

    @contextmanager
    def stream(self, path: str) -> Iterator:
        """The raw body of GET `path`, as a file to read from."""
        with self._get(path, stream=True) as response:
            response.raw.decode_content = True
            yield response.raw

    def download(self, path: str, target: Path) -> None:
        with self._get(path, stream=True) as response, target.open("wb") as out:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)

    def send(self, fields: dict, files: list) -> dict:
        response = self.http.post(self.base + "/result", data=fields, files=files, timeout=(10, 600))
        if response.status_code != 200:
            raise click.ClickException(f"the platform refused the result: {response.status_code} {_message(response)}")
        return response.json()


def _message(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.reason


def _gpus() -> list[str]:
    """The GPUs Slurm gave this job: AMD ones (ROCR_VISIBLE_DEVICES, with their render nodes from
    the KFD topology) or NVIDIA ones (SLURM_JOB_GPUS or CUDA_VISIBLE_DEVICES)."""
    amd = os.environ.get("ROCR_VISIBLE_DEVICES")
    if amd:
        wanted = {g.strip() for g in amd.split(",") if g.strip()}
        return [str(gpu) for gpu in detect_amd() if gpu.id in wanted]
    given = os.environ.get("SLURM_JOB_GPUS") or os.environ.get("CUDA_VISIBLE_DEVICES") or ""
    return [g.strip() for g in given.split(",") if g.strip()]


def _stage(client: NodeClient, spec: dict, folder: JobFolder) -> None:
    """The job's inputs (to /input, or beside it for a driven run), its assets (for an agent run,
    beside the folders the model sees: its environments take their files from there), task.json.
    An agent job's items come without their score files: those never reach a node."""
    target = items_path(folder, spec["protocol"])
    client.download("/inputs", target)
    if spec["assets"]:
        try:
            with client.stream("/assets") as raw:
                unpack_assets(raw, assets_dir(folder, spec["protocol"]), limits=ASSET_LIMITS)
        except (UnpackError, requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # cut short
            raise click.ClickException(f"the job's assets did not arrive whole: {exc}") from None
    write_task(
        folder.input,
        challenge=spec["challenge"],
        metric=spec["metric"],
        n_items=count_items(target),
        protocol=spec["protocol"],
    )


def _environment(spec: dict) -> EnvironmentConfig | None:
    """An agent job's environment, as the platform declared it (no score command: the node never
    scores, it captures each item's final state)."""
    given = spec.get("environment")
    if not given:
        return None
    return EnvironmentConfig(
        image_id=given["image_id"],
        tools=tuple(given["tools"]),
        score_command=(),
        workdir=given["workdir"],
        limits=Limits(**given["limits"]),
        agent=AgentLimits(**given["agent"]),
    )


def job_run(spec: dict) -> JobRun:
    """The run the platform asked for, as the sandbox runs it (the same run as a local worker's)."""
    return JobRun(
        job_id=spec["job"],
        image_id=spec["image_id"],
        protocol=spec["protocol"],
        limits=limits_from(spec["limits"]),
        max_output_bytes=int(spec["max_output_bytes"]),
        session_limits=SessionLimits(**spec["session"]) if spec.get("session") else None,
        environment=_environment(spec),
        capture_states=True,  # a node never holds score files: each final state goes back
    )


def _fetch_image(client: NodeClient, runner, image_id: str, path: str) -> None:
    if not runner.has_image(image_id):
        with tempfile.TemporaryDirectory(prefix="arena-image-") as tmp:
            tarball = Path(tmp) / "image.tar"
            client.download(path, tarball)
            runner.ensure_image(image_id=image_id, tarball=tarball)


def run_one(client: NodeClient, *, job_root: Path, runner_for, use_tmpfs: bool) -> dict:
    """Fetch, stage, run and send one job; its memory folder is wiped however it ends."""
    spec = client.spec()
    runner = runner_for(spec.get("runtime"))
    log.info("job %s: %s run for %s", spec["job"], spec["kind"], spec["challenge"])
    _fetch_image(client, runner, spec["image_id"], "/image")
    if spec.get("environment"):
        _fetch_image(client, runner, spec["environment"]["image_id"], "/environment-image")
    owner = getattr(runner, "folder_owner", None)  # a rootless runner's user
    folder = JobFolder.create(
        root=job_root,
        job_id=spec["job"],
        size_bytes=int(spec["folder_bytes"]),
        use_tmpfs=use_tmpfs,
        owner=owner() if owner else None,
    )
    try:
        _stage(client, spec, folder)
        ran = run_job(runner, job_run(spec), folder)
        answer = _send(client, spec, folder, ran)
        log.info(
            "job %s: %s, sent (%s)",
            spec["job"],
            ran.outcome.verdict,
            "recorded" if answer.get("recorded") else "not recorded: the job was taken back",
        )
        return answer
    finally:
        folder.wipe()


def _send(client: NodeClient, spec: dict, folder: JobFolder, ran: JobRunResult) -> dict:
    """The outcome, the predictions (a regular file, within the cap), the log and an agent run's
    files, to the platform, which checks and scores them where the labels are."""
    outcome, failure = ran.outcome, ran.session_failure
    answers = answers_path(folder, spec["protocol"])
    too_large = folder.output_bytes() > int(spec["max_output_bytes"])
    fields = {
        "verdict": outcome.verdict,
        "exit_code": "" if outcome.exit_code is None else str(outcome.exit_code),
        "duration_s": f"{outcome.duration_s:.3f}",
        "output_too_large": "true" if too_large else "false",
    }
    if failure is not None:
        fields.update(session_reason=failure.reason, session_detail=failure.detail)
    with ExitStack() as opened:
        files: list = [("log", ("log", outcome.log_tail))]
        if answers.is_file() and not answers.is_symlink() and not too_large:
            files.append(("predictions", ("predictions.jsonl", opened.enter_context(answers.open("rb")))))
        if spec["protocol"] == "agent":
            files += _agent_files(folder, opened)
        return client.send(fields, files)


def _agent_files(folder: JobFolder, opened: ExitStack) -> list:
    """An agent run's trajectory and each item's captured final state, to be scored centrally."""
    files = []
    if trajectory_path(folder).is_file():
        files.append(("trajectory", ("trajectory.jsonl", opened.enter_context(trajectory_path(folder).open("rb")))))
    for state in sorted(states_folder(folder).glob("item-*.tar.gz")):
        files.append(("final_states", (state.name, opened.enter_context(state.open("rb")))))
    return files


@click.command("node-run")
def node_run() -> None:
    """On a GPU node, inside a Slurm job: run one Arena evaluation job (started by Arena's batch
    script; reads ARENA_NODE_URL, ARENA_NODE_JOB and ARENA_NODE_TOKEN)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    missing = [name for name in ("ARENA_NODE_URL", "ARENA_NODE_JOB", "ARENA_NODE_TOKEN") if not os.environ.get(name)]
    if missing:
        raise click.ClickException(f"node-run is started by Arena's Slurm batch script; {', '.join(missing)} unset")

    def stop(_signum, _frame):  # scancel, preemption: unwind, so the container and folder go
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
    client = NodeClient(os.environ["ARENA_NODE_URL"], os.environ["ARENA_NODE_JOB"], os.environ["ARENA_NODE_TOKEN"])
    root = Path(os.environ.get("ARENA_NODE_JOB_ROOT", "/dev/shm/arena-node"))
    engine = os.environ.get("ARENA_RUNNER", "docker")  # the site's choice: docker, or podman (rootless)
    if engine not in ("docker", "podman"):
        raise click.ClickException(f"ARENA_RUNNER={engine!r}: a node runs docker or podman")

    def runner_for(runtime):
        options = {"runtime": runtime} if engine == "docker" else {"user": os.environ.get("ARENA_PODMAN_USER") or None}
        return make_runner(engine, instance="node", gpus=GpuAllocator(_gpus()), **options)

    run_one(client, job_root=root, runner_for=runner_for, use_tmpfs=os.geteuid() == 0)
