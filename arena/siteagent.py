"""The site agent: on an HPC site's login node, it pulls jobs from the central platform and runs
them in the site's own Slurm. It only ever calls out (HTTPS to the platform's /api/site/...); the
platform never connects to it, and it needs neither root, nor an inbound port from outside the
site, nor the platform's database.

One pass (`SiteAgent.step`): say what the site can run (heartbeat), follow the Slurm jobs it
submitted (`squeue`/`scontrol`): renew the lease of each one Slurm still holds, report each one that
ended without a result (the platform re-queues it), cancel one the platform took back; then claim
jobs while there is room, and `sbatch` each with a batch script that runs `arena node-run` against
the agent's relay (arena/siterelay.py), so compute nodes need no route beyond the login node.
"""

from __future__ import annotations

import logging
import shlex
import time
from dataclasses import dataclass, field

import requests

from arena.slurm import ALIVE, BatchRequest, SlurmCli, SlurmError

log = logging.getLogger("arena.site")
JOB_PREFIX = "arena-"
GRACE_S = 60.0  # a Slurm job whose result is in may take this long to finish (node-run cleans up)
HEARTBEAT_S = 30.0  # at most one heartbeat this often (the platform counts a site active for 10 min)


class AgentError(Exception):
    """The platform refused the agent or could not be reached; the message is safe to print."""


@dataclass(frozen=True)
class AgentConfig:
    url: str  # the central platform
    capabilities: dict
    relay_url: str  # how compute nodes reach this agent's relay
    node_command: str = "arena"
    node_env: dict[str, str] = field(default_factory=dict)  # e.g. ARENA_RUNNER=podman
    account: str | None = None
    log_dir: str = "/tmp"
    poll_s: float = 5.0


class SiteClient:
    """The agent's calls to the platform, with its site credential."""

    def __init__(self, url: str, token: str, *, timeout: float = 30) -> None:
        self.base = url.rstrip("/") + "/api/site"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def _post(self, path: str, body: dict | None = None) -> dict | None:
        try:
            response = self.http.post(self.base + path, json=body or {}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise AgentError(f"cannot reach the platform: {type(exc).__name__}") from None
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            raise AgentError(f"the platform refused {path}: {response.status_code} {_message(response)}")
        return response.json()

    def _answer(self, path: str, body: dict) -> dict:
        """A call the platform always answers with an object (never 204 No Content)."""
        answer = self._post(path, body)
        if answer is None:
            raise AgentError(f"the platform answered {path} with no content")
        return answer

    def heartbeat(self, capabilities: dict) -> dict:
        return self._answer("/heartbeat", {"capabilities": capabilities})

    def claim(self) -> dict | None:
        return self._post("/claim")

    def renew(self, jobs: dict[str, str]) -> dict:
        """Renew the leases of {job id: Slurm job id} in one call."""
        return self._answer("/renew", {"jobs": jobs})

    def ended(self, job_id: str, state: str) -> dict:
        return self._answer(f"/jobs/{job_id}/ended", {"state": state[:40]})


def _message(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.reason


def batch_script(config: AgentConfig, *, job_id: str, node_token: str) -> str:
    """node-run against the relay, with the job's credential: nothing of the site's own."""
    exports = {
        **config.node_env,
        "ARENA_NODE_URL": config.relay_url,
        "ARENA_NODE_JOB": job_id,
        "ARENA_NODE_TOKEN": node_token,
    }
    return "\n".join(
        [
            "#!/bin/sh",
            "# Arena evaluation job (site agent): one container on this node, predictions back via the relay.",
            "set -e",
            *(f"export {key}={shlex.quote(value)}" for key, value in exports.items()),
            f"exec {config.node_command} node-run",
            "",
        ]
    )


class SiteAgent:
    def __init__(self, config: AgentConfig, *, client: SiteClient, slurm: SlurmCli, relay=None) -> None:
        self.config = config
        self.client = client
        self.slurm = slurm
        self.relay = relay  # told which jobs it may serve
        self.jobs: dict[str, str] = {}  # Arena job id -> Slurm job id
        self.done: dict[str, float] = {}  # jobs the platform has finished with -> since when
        self.max_jobs = int(config.capabilities.get("max_jobs", 100))
        self.prefix = JOB_PREFIX  # arena-<site>-: set once the platform says which site this is
        self.lease_s = 30.0  # the platform's lease, as its claims say; renewals every quarter of it
        self._heartbeat_at = self._renewed_at = float("-inf")

    def start(self) -> None:
        """Say what the site can run; cancel Slurm jobs a previous agent left (their jobs are
        re-queued centrally once their leases lapse, so their credentials no longer serve)."""
        self.prefix = f"{JOB_PREFIX}{self.client.heartbeat(self.config.capabilities)['site']}-"
        for slurm_id, name in self.slurm.mine(prefix=self.prefix).items():
            log.warning("cancelling Slurm job %s (%s), left by an earlier agent", slurm_id, name)
            self.slurm.cancel(slurm_id)

    def step(self) -> int:
        """One pass: heartbeat (when due), follow, claim; returns how many jobs it submitted."""
        if time.monotonic() - self._heartbeat_at >= HEARTBEAT_S:
            self.client.heartbeat(self.config.capabilities)
            self._heartbeat_at = time.monotonic()
        self.follow()
        submitted = 0
        while len(self.jobs) < self.max_jobs and self.claim_one():
            submitted += 1
        return submitted

    def follow(self) -> None:
        if not self.jobs:
            return
        try:
            states = self.slurm.states(list(self.jobs.values()))
        except SlurmError as exc:
            log.warning("could not read the Slurm queue: %s", exc)
            return
        alive: dict[str, str] = {}
        for job_id, slurm_id in list(self.jobs.items()):
            state = states.get(slurm_id, "UNKNOWN").split()[0].rstrip("+")
            if job_id in self.done:
                self._wind_down(job_id, slurm_id, alive=state in ALIVE)
            elif state in ALIVE:
                alive[job_id] = slurm_id
            else:
                self._ended(job_id, slurm_id, state)
        if alive and time.monotonic() - self._renewed_at >= self.lease_s / 4:  # one call for all of them
            for job_id in self.client.renew(alive)["stopped"]:
                self.done.setdefault(job_id, time.monotonic())  # its result is in, or it was taken back
            self._renewed_at = time.monotonic()

    def _ended(self, job_id: str, slurm_id: str, state: str) -> None:
        """Its Slurm job ended while the platform still ran it: no result came; re-queued."""
        if self.client.ended(job_id, state)["requeued"]:
            log.warning("job %s: Slurm job %s ended %s without a result; re-queued", job_id, slurm_id, state)
        self._forget(job_id)

    def _wind_down(self, job_id: str, slurm_id: str, *, alive: bool) -> None:
        """A job the platform no longer runs: let its Slurm job end by itself, or cancel it after
        the grace period (it was taken back, or node-run hangs)."""
        if alive and time.monotonic() - self.done[job_id] < GRACE_S:
            return
        if alive:
            self.slurm.cancel(slurm_id)
        self._forget(job_id)

    def claim_one(self) -> bool:
        claimed = self.client.claim()
        if claimed is None:
            return False
        job_id = claimed["job"]
        self.lease_s = float(claimed.get("lease_s") or self.lease_s)
        if self.relay is not None:
            self.relay.allow(job_id)
        request = BatchRequest(
            name=f"{self.prefix}{job_id}",
            script=batch_script(self.config, job_id=job_id, node_token=claimed["node_token"]),
            time_minutes=max(1, -(-int(claimed["time_seconds"]) // 60)),
            cpus=int(claimed["cpus"]),
            memory_mb=int(claimed["memory_mb"]),
            gpus=int(claimed["gpus"]),
            partition=claimed["partition"],
            account=self.config.account,
            output=f"{self.config.log_dir}/arena-%j.out",
        )
        try:
            slurm_id = self.slurm.submit(request)
        except SlurmError as exc:
            log.error("job %s: sbatch failed: %s", job_id, exc)
            self.client.ended(job_id, "SBATCH_FAILED")
            self._forget(job_id)
            return False  # stop this pass: a broken partition must not burn the queue
        self.jobs[job_id] = slurm_id
        self.client.renew({job_id: slurm_id})
        log.info("job %s: Slurm job %s on partition %s", job_id, slurm_id, claimed["partition"])
        return True

    def _forget(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)
        self.done.pop(job_id, None)
        if self.relay is not None:
            self.relay.forbid(job_id)

    def run_forever(self, stop) -> None:
        self.start()
        while not stop.is_set():
            try:
                self.step()
            except AgentError as exc:
                log.error("%s", exc)
            except SlurmError as exc:
                log.error("Slurm: %s", exc)
            stop.wait(self.config.poll_s)
