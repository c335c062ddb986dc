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
from typing import Any

import click
import requests
import urllib3

from arena.services.bundles import ASSET_LIMITS
from arena.streams import UnpackError, unpack_assets

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
    from sandbox import detect_amd

    amd = os.environ.get("ROCR_VISIBLE_DEVICES")
    if amd:
        wanted = {g.strip() for g in amd.split(",") if g.strip()}
        return [str(gpu) for gpu in detect_amd() if gpu.id in wanted]
    given = os.environ.get("SLURM_JOB_GPUS") or os.environ.get("CUDA_VISIBLE_DEVICES") or ""
    return [g.strip() for g in given.split(",") if g.strip()]


def _predictions(folder, path: Path, limit: int) -> tuple[Path | None, bool]:
    """The predictions file `path` if it is a regular file; whether the container wrote more than
    `limit` bytes (the platform's cap, as a local run checks it)."""
    regular = path.is_file() and not path.is_symlink()
    return (path if regular else None), folder.output_bytes() > limit


def _stage(client: NodeClient, spec: dict, folder) -> None:
    """The job's inputs (to /input, or beside it for an interactive run), its assets (for an agent
    run, beside the folders the model sees: its environments take their files from there),
    task.json. An agent job's items come without their score files: those never reach a node."""
    from arena.services.evaluation import environment_files, items_path, write_task

    target = items_path(folder, spec["protocol"])
    client.download("/inputs", target)
    with target.open("rb") as staged:
        n_items = sum(1 for line in staged if line.strip())
    if spec["assets"]:
        try:
            with client.stream("/assets") as raw:
                unpack_assets(raw, _assets_dir(spec, folder, environment_files), limits=ASSET_LIMITS)
        except (UnpackError, requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # cut short
            raise click.ClickException(f"the job's assets did not arrive whole: {exc}") from None
    write_task(
        folder.input, challenge=spec["challenge"], metric=spec["metric"], n_items=n_items, protocol=spec["protocol"]
    )


def _assets_dir(spec: dict, folder, environment_files) -> Path:
    if spec["protocol"] != "agent":
        return folder.input
    environment_files(folder).mkdir(mode=0o700, exist_ok=True)
    return environment_files(folder)


def _environment(spec: dict):
    """An agent job's environment, as the platform declared it (no score command: the node never
    scores, it captures each item's final state)."""
    from sandbox import AgentLimits, EnvironmentConfig, Limits

    given = spec["environment"]
    return EnvironmentConfig(
        image_id=given["image_id"],
        tools=tuple(given["tools"]),
        score_command=(),
        workdir=given["workdir"],
        limits=Limits(**given["limits"]),
        agent=AgentLimits(**given["agent"]),
    )


def states_folder(folder) -> Path:
    return folder.path / "final-states"


def _drive(runner, run, spec: dict, folder, answers: Path) -> tuple:
    """Drive an interactive or agent container here; (outcome, protocol failure). An agent run's
    environments run on this node too, each item's final state captured for central scoring."""
    from arena.services.evaluation import environment_files, items_path, trajectory_path
    from sandbox import SessionLimits, run_agent, run_interactive

    common: dict[str, Any] = dict(
        items=items_path(folder, spec["protocol"]),
        answers=answers,
        limits=SessionLimits(**spec["session"]),
        max_answers_bytes=int(spec["max_output_bytes"]),
    )
    if spec["protocol"] != "agent":
        return run_interactive(runner, run, **common)
    states_folder(folder).mkdir(mode=0o700)
    return run_agent(
        runner,
        run,
        **common,
        config=_environment(spec),
        files_root=environment_files(folder),
        work_root=folder.path / "environments",
        trajectory=trajectory_path(folder),
        capture_root=states_folder(folder),
    )


def _run(runner, spec: dict, folder) -> tuple:
    """Run the container (a batch run, or an interactive one driven here); (outcome, predictions
    file, protocol failure)."""
    from arena.services.evaluation import answers_path, driven, limits_from, run_spec
    from sandbox import RunOutcome

    run = run_spec(spec["job"], spec["image_id"], folder, limits_from(spec["limits"]), spec["protocol"])
    answers = answers_path(folder, spec["protocol"])
    if not driven(spec["protocol"]):
        return runner.run(run), answers, None
    try:
        outcome, failure = _drive(runner, run, spec, folder, answers)
    except OSError:  # the job folder is full: the model's doing if it wrote past the cap (reported so)
        if folder.output_bytes() <= int(spec["max_output_bytes"]):
            raise
        outcome, failure = RunOutcome("exited", None, 0.0), None
    return outcome, answers, failure


def _fetch_image(client: NodeClient, runner, image_id: str, path: str) -> None:
    if not runner.has_image(image_id):
        with tempfile.TemporaryDirectory(prefix="arena-image-") as tmp:
            tarball = Path(tmp) / "image.tar"
            client.download(path, tarball)
            runner.ensure_image(image_id=image_id, tarball=tarball)


def run_job(client: NodeClient, *, job_root: Path, runner_for, use_tmpfs: bool) -> dict:
    from sandbox import JobFolder

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
        outcome, produced, failure = _run(runner, spec, folder)
        predictions, too_large = _predictions(folder, produced, int(spec["max_output_bytes"]))
        fields = {
            "verdict": outcome.verdict,
            "exit_code": "" if outcome.exit_code is None else str(outcome.exit_code),
            "duration_s": f"{outcome.duration_s:.3f}",
            "output_too_large": "true" if too_large else "false",
        }
        if failure is not None:
            fields.update(session_reason=failure.reason, session_detail=failure.detail)
        with ExitStack() as opened:
            files = [("log", ("log", outcome.log_tail))]
            if predictions and not too_large:
                files.append(("predictions", ("predictions.jsonl", opened.enter_context(predictions.open("rb")))))
            if spec["protocol"] == "agent":
                files += _agent_files(folder, opened)
            answer = client.send(fields, files)
        log.info(
            "job %s: %s, sent (%s)",
            spec["job"],
            outcome.verdict,
            "recorded" if answer.get("recorded") else "not recorded: the job was taken back",
        )
        return answer
    finally:
        folder.wipe()


def _agent_files(folder, opened: ExitStack) -> list:
    """An agent run's trajectory and each item's captured final state, to be scored centrally."""
    from arena.services.evaluation import trajectory_path

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
    from sandbox import GpuAllocator, make_runner

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

    run_job(client, job_root=root, runner_for=runner_for, use_tmpfs=os.geteuid() == 0)
