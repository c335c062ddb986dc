"""Leases, lapses and recording under races: every submission scored exactly once (issue 22).

The incident these reproduce: a lapsed job was re-queued twice (two sweeps), the two attempts
both ran, one recorded the result and the other failed on the results' unique key until the
attempts ran out and the scored submission ended `failed`."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from test_evaluation import GOOD, ScriptedRunner, state, submit, write  # noqa: F401 - fixtures

from arena import evaluation
from arena.models import Job, LogEntry, Result
from arena.services import leases
from arena.timeutil import utcnow
from sandbox import FakeRunner


def lapse(platform, job_id: str) -> None:
    with platform.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def take_over(platform, job_id: str) -> None:
    """What another worker's sweep does to a lapsed job, without waiting for the lapse."""
    with platform.transaction() as session:
        assert leases.end_if_running(session, job_id, outcome="lease_expired")
        leases.requeue_or_fail(platform, session, session.get(Job, job_id))


def jobs_of(platform, submission_id: str) -> list[Job]:
    with platform.sessions() as session:
        return list(session.scalars(select(Job).where(Job.submission_id == submission_id).order_by(Job.attempt)))


def scored_verdict(platform, ticket) -> evaluation.JobVerdict:
    """What a real run of the good model would return for `ticket` (scored by the real scorer)."""
    platform.runner = ScriptedRunner(write(GOOD))
    return evaluation.execute(platform, ticket)


# -- the lease's length -----------------------------------------------------------------------------
def test_a_lease_is_extended_by_twice_the_longest_recent_gap_within_bounds():
    assert leases.extension(30, []) == 30
    assert leases.extension(30, [7.5, 7.6]) == 30  # renewals on time: the configured lease
    assert leases.extension(30, [7.5, 22.0, 7.5]) == 44  # one renewal came 22 s late: room for another
    assert leases.extension(30, [1000.0]) == 300  # never more than ten leases: a dead worker's jobs return


# -- one re-queue per lapse ---------------------------------------------------------------------------
def test_two_sweeps_that_notice_the_same_lapse_requeue_it_once(platform, submit):
    sid = submit()
    ticket = evaluation.claim_next_job(platform, worker="stalled")
    lapse(platform, ticket.job_id)
    assert leases.recover_expired_jobs(platform) == 1
    assert leases.recover_expired_jobs(platform) == 0
    attempts = [(j.attempt, j.status, j.outcome) for j in jobs_of(platform, sid)]
    assert attempts == [(1, "failed", "lease_expired"), (2, "queued", None)]


def test_a_lapse_taken_after_its_worker_recorded_is_not_requeued(platform, submit):
    sid = submit()
    ticket = evaluation.claim_next_job(platform, worker="slow")
    lapse(platform, ticket.job_id)
    assert evaluation.record(platform, ticket, scored_verdict(platform, ticket)) is True  # not yet taken: still its own
    assert leases.recover_expired_jobs(platform) == 0
    assert [j.status for j in jobs_of(platform, sid)] == ["done"]
    assert state(platform, sid).status == "scored"


def test_the_incident_a_stale_attempt_never_turns_a_scored_submission_into_a_failed_one(platform, submit):
    sid = submit()
    first = evaluation.claim_next_job(platform, worker="w-a")
    lapse(platform, first.job_id)
    leases.recover_expired_jobs(platform)
    second = evaluation.claim_next_job(platform, worker="w-b")
    assert evaluation.record(platform, second, scored_verdict(platform, second)) is True
    # The first attempt's verdict arrives late: dropped, without an error.
    assert evaluation.record(platform, first, scored_verdict(platform, first)) is False
    sub = state(platform, sid)
    assert (sub.status, sub.score, sub.failure_reason) == ("scored", 1.0, None)
    with platform.sessions() as session:
        splits = session.execute(
            select(Result.split, func.count()).where(Result.submission_id == sid).group_by(Result.split)
        ).all()
        results_logged = session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.kind == "result"))
    assert sorted(splits) == [("private", 1), ("public", 1)]
    assert results_logged == 1


def test_a_second_live_attempt_that_records_after_a_result_is_superseded_not_an_error(platform, submit):
    """Defence in depth: even if a second attempt ran (a bug, a restored backup), its verdict is
    kept on the job and the submission keeps its one result."""
    sid = submit()
    first = evaluation.claim_next_job(platform, worker="w-a")
    assert evaluation.record(platform, first, scored_verdict(platform, first)) is True
    with platform.transaction() as session:
        session.add(
            Job(
                id="job-stray",
                submission_id=sid,
                attempt=2,
                status="running",
                worker="w-b",
                lease_expires_at=utcnow() + timedelta(minutes=1),
            )
        )
    with platform.sessions() as session:
        stray = evaluation.ticket_for(session, session.get(Job, "job-stray"), worker="w-b")
    failed = evaluation.JobVerdict("failed", reason="crashed", detail="exited 1")
    assert evaluation.record(platform, stray, failed) is True
    assert [(j.status, j.outcome) for j in jobs_of(platform, sid)] == [("done", "scored"), ("done", "superseded")]
    assert state(platform, sid).status == "scored"


def test_a_platform_failure_after_a_result_neither_requeues_nor_fails_the_submission(platform, submit):
    sid = submit()
    first = evaluation.claim_next_job(platform, worker="w-a")
    evaluation.record(platform, first, scored_verdict(platform, first))
    with platform.transaction() as session:
        session.add(
            Job(
                id="job-late",
                submission_id=sid,
                attempt=3,
                status="running",
                worker="w-b",
                lease_expires_at=utcnow() + timedelta(minutes=1),
            )
        )
    with platform.sessions() as session:
        late = evaluation.ticket_for(session, session.get(Job, "job-late"), worker="w-b")
    assert evaluation.record(platform, late, evaluation.JobVerdict("retry", reason="infrastructure")) is True
    assert [j.status for j in jobs_of(platform, sid)] == ["done", "failed"]
    assert state(platform, sid).status == "scored"


def test_the_database_refuses_a_second_live_job_for_one_submission(platform, submit):
    from sqlalchemy.exc import IntegrityError

    sid = submit()
    with pytest.raises(IntegrityError), platform.transaction() as session:
        session.add(Job(id="job-twin", submission_id=sid, attempt=2))
    assert len(jobs_of(platform, sid)) == 1


# -- the keeper -------------------------------------------------------------------------------------
def test_the_keeper_renews_its_leases_and_stops_a_container_whose_job_was_taken(platform, submit):
    sid = submit()
    platform.runner = FakeRunner()
    ticket = evaluation.claim_next_job(platform, worker="w-a")
    keeper = leases.LeaseKeeper(database_url=platform.settings.database_url, lease_s=30)
    lost = []
    keeper.hold(ticket.job_id, worker="w-a", on_lost=lambda: lost.append(ticket.job_id))
    before = jobs_of(platform, sid)[0].lease_expires_at
    keeper.beat()
    assert jobs_of(platform, sid)[0].lease_expires_at > before and lost == []
    lapse(platform, ticket.job_id)
    leases.recover_expired_jobs(platform)  # another worker's sweep takes it
    keeper.beat()
    assert lost == [ticket.job_id] and keeper.holding() == set()
    keeper.release(ticket.job_id)
    keeper.engine.dispose()


def test_a_worker_whose_lease_is_lost_stops_its_container_and_drops_the_verdict(platform, submit):
    """The running job is taken over mid-run: the keeper's next beat stops the container (the
    runner's stop), and the verdict the run then returns is dropped."""
    sid = submit()
    taken, stopped = threading.Event(), threading.Event()

    class Blocking(FakeRunner):
        def run(self, spec, during=None):
            taken.set()
            assert stopped.wait(30), "the container was never stopped"
            return super().run(spec, during)

        def stop(self, job_id):
            super().stop(job_id)
            stopped.set()

    platform.runner = Blocking()
    platform.memo["lease-keeper"] = leases.LeaseKeeper(database_url=platform.settings.database_url, lease_s=0.4)
    ticket = evaluation.claim_next_job(platform, worker="w-a")
    runner = threading.Thread(target=evaluation.run_ticket, args=(platform, ticket))
    runner.start()
    assert taken.wait(30)
    take_over(platform, ticket.job_id)
    runner.join(30)
    assert platform.runner.stopped == [ticket.job_id]
    assert [(j.attempt, j.outcome) for j in jobs_of(platform, sid)] == [(1, "lease_expired"), (2, None)]
    assert state(platform, sid).status == "queued"


def test_the_keeper_survives_a_failed_beat(platform, submit, monkeypatch):
    submit()
    keeper = leases.LeaseKeeper(database_url=platform.settings.database_url, lease_s=0.2)
    beats = []

    def flaky():
        beats.append(1)
        if len(beats) == 1:
            raise RuntimeError("database went away")

    monkeypatch.setattr(keeper, "beat", flaky)
    keeper.hold("job-x", worker="w", on_lost=lambda: None)
    deadline = utcnow() + timedelta(seconds=10)
    while len(beats) < 3 and utcnow() < deadline:
        threading.Event().wait(0.05)
    keeper.release("job-x")
    assert len(beats) >= 3


# -- racing sweeps and workers ------------------------------------------------------------------------
def at_once(n: int, work) -> tuple[list, list]:
    """Run `work()` in `n` threads released together; returns (their results, their errors)."""
    start, results, errors = threading.Barrier(n), [], []

    def run() -> None:
        try:
            start.wait()
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


def test_racing_sweeps_take_each_lapse_once(platform, submit):
    sids = [submit(salt=str(i)) for i in range(3)]
    with platform.transaction() as session:  # three running jobs whose worker stalled
        session.execute(
            update(Job).values(status="running", worker="stalled", lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    taken, errors = at_once(4, lambda: leases.recover_expired_jobs(platform))
    assert errors == [] and sum(taken) == 3
    for sid in sids:
        assert [(j.attempt, j.status) for j in jobs_of(platform, sid)] == [(1, "failed"), (2, "queued")]


def test_workers_sweeping_at_once_never_raise(platform, submit):
    for i in range(3):
        submit(salt=str(i))
    stale = platform.settings.job_root / "job-left-behind"
    (stale / "input").mkdir(parents=True)
    _done, errors = at_once(3, lambda: evaluation.sweep(platform))
    assert errors == [] and not stale.exists()
