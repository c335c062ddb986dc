"""The site agent's pass with a fake Slurm and a fake platform (the seams); the real thing runs in
tests/end_to_end/test_site_agents.py."""

from __future__ import annotations

from arena.siteagent import AgentConfig, SiteAgent, batch_script
from arena.slurm import SlurmError

CAPS = {"runtime": "podman", "max_jobs": 2, "partitions": []}


class FakePlatform:
    def __init__(self, jobs: list[str]) -> None:
        self.queue = list(jobs)
        self.running: set[str] = set()
        self.calls: list[tuple] = []

    def heartbeat(self, capabilities):
        self.calls.append(("heartbeat",))
        return {"site": "lumi", "capabilities": capabilities}

    def claim(self):
        if not self.queue:
            return None
        job = self.queue.pop(0)
        self.running.add(job)
        return {
            "job": job,
            "partition": "standard-g",
            "node_token": f"arena_node_{job}",
            "time_seconds": 130,
            "cpus": 2,
            "memory_mb": 2048,
            "gpus": 1,
        }

    def renew(self, jobs):
        self.calls.append(("renew", dict(jobs)))
        return {
            "running": [j for j in jobs if j in self.running],
            "stopped": [j for j in jobs if j not in self.running],
        }

    def ended(self, job_id, state):
        self.calls.append(("ended", job_id, state))
        self.running.discard(job_id)
        return {"job": job_id, "requeued": True}


class FakeSlurm:
    def __init__(self, fail: bool = False) -> None:
        self.submitted, self.state, self.cancelled, self.fail = [], {}, [], fail

    def submit(self, request):
        if self.fail:
            raise SlurmError("sbatch: invalid partition")
        self.submitted.append(request)
        slurm_id = str(100 + len(self.submitted))
        self.state[slurm_id] = "RUNNING"
        return slurm_id

    def states(self, ids):
        return {i: self.state[i] for i in ids if i in self.state}

    def cancel(self, slurm_id):
        self.cancelled.append(slurm_id)
        self.state[slurm_id] = "CANCELLED"

    def mine(self, *, prefix):
        return {"99": f"{prefix}job-0000000000000000"}


def _agent(platform, slurm) -> SiteAgent:
    config = AgentConfig(
        url="https://arena.example",
        capabilities=CAPS,
        relay_url="http://login01:8181",
        node_env={"ARENA_RUNNER": "podman"},
        account="project_465000000",
    )
    agent = SiteAgent(config, client=platform, slurm=slurm)
    agent.lease_s = 0.0  # renew at every pass (a real lease: every quarter of it)
    agent.start()
    return agent


def test_claims_up_to_max_jobs_submits_with_the_job_s_request_and_follows():
    platform, slurm = FakePlatform(["job-a", "job-b", "job-c"]), FakeSlurm()
    agent = _agent(platform, slurm)
    assert slurm.cancelled == ["99"]  # an earlier agent's leftover, by this site's name prefix
    assert agent.step() == 2 and set(agent.jobs) == {"job-a", "job-b"}
    first = slurm.submitted[0]
    assert (first.name, first.partition, first.gpus, first.memory_mb, first.time_minutes, first.account) == (
        "arena-lumi-job-a",
        "standard-g",
        1,
        2048,
        3,
        "project_465000000",
    )
    assert "ARENA_NODE_URL=http://login01:8181" in first.script and "arena_node_job-a" in first.script
    slurm.state["101"] = "NODE_FAIL"  # job-a's Slurm job died: reported, and a place frees up
    agent.step()
    assert ("ended", "job-a", "NODE_FAIL") in platform.calls and set(agent.jobs) == {"job-b", "job-c"}
    agent.step()
    assert platform.calls[-1] == ("renew", {"job-b": "102", "job-c": "103"})  # one call for all


def test_a_job_the_platform_finished_is_left_to_end_then_forgotten():
    platform, slurm = FakePlatform(["job-a"]), FakeSlurm()
    agent = _agent(platform, slurm)
    agent.step()
    platform.running.discard("job-a")  # its result is in
    agent.step()
    assert slurm.cancelled == ["99"] and "job-a" in agent.jobs  # not cancelled while node-run ends
    slurm.state["101"] = "COMPLETED"
    agent.step()
    assert agent.jobs == {} and not any(c[0] == "ended" for c in platform.calls)


def test_sbatch_failing_gives_the_job_back_and_stops_the_pass():
    platform, slurm = FakePlatform(["job-a", "job-b"]), FakeSlurm(fail=True)
    agent = _agent(platform, slurm)
    assert agent.step() == 0
    assert ("ended", "job-a", "SBATCH_FAILED") in platform.calls and platform.queue == ["job-b"]


def test_the_batch_script_quotes_what_it_exports():
    config = AgentConfig(url="u", capabilities=CAPS, relay_url="http://x", node_env={"A": "it's; rm -rf /"})
    script = batch_script(config, job_id="job-a", node_token="arena_node_t")
    assert "export A='it'\"'\"'s; rm -rf /'" in script and script.endswith("exec arena node-run\n")


def test_renewals_come_every_quarter_lease_and_heartbeats_every_half_minute():
    platform, slurm = FakePlatform(["job-a"]), FakeSlurm()
    agent = _agent(platform, slurm)
    agent.lease_s = 30.0
    for _ in range(5):
        agent.step()
    assert sum(1 for c in platform.calls if c[0] == "renew") == 2  # after sbatch, then one pass: no more
    assert sum(1 for c in platform.calls if c[0] == "heartbeat") == 2  # start, then the first pass
