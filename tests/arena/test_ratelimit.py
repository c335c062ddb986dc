"""Rate limits per team and per organiser, counted in the database: more tokens buy no more
requests, and every API process shares one count (the review found both escapes)."""

from conftest import auth

from arena import create_app
from arena.db import upgrade
from arena.ratelimit import RateLimiter
from arena.services import accounts


class Clock:
    def __init__(self, now: float = 6000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_refused_requests_are_not_counted(platform):
    clock = Clock()
    limiter = RateLimiter(platform=platform, per_minute=2, clock=clock)
    assert limiter.allow("team:1") == 0 and limiter.allow("team:1") == 0
    assert limiter.allow("team:1") == 60.0
    assert limiter.allow("team:1") == 60.0  # refused requests do not push the wait further
    assert limiter.allow("team:2") == 0
    clock.now += 90  # half of the first minute has slid out: one of its two requests still counts
    assert limiter.allow("team:1") == 0
    assert limiter.allow("team:1") == 30.0
    clock.now += 60
    assert limiter.allow("team:1") == 0


def test_old_minutes_are_deleted(platform):
    from sqlalchemy import func, select

    from arena.models import RateCounter

    clock = Clock()
    limiter = RateLimiter(platform=platform, per_minute=5, clock=clock)
    for _ in range(10):
        limiter.allow("team:1")
        clock.now += 60
    with platform.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RateCounter)) == 2


def _app(tmp_path, job_root, fake_runner, database_url, name):
    app = create_app(
        {
            "home": tmp_path / name,
            "database_url": database_url,
            "master_key_file": tmp_path / "k",
            "job_root": job_root,
            "RUNNER": fake_runner,
            "scratch_dir": job_root.parent / f"{job_root.name}-scratch",
            "rate_limit_per_minute": 3,
        }
    )
    upgrade(app.extensions["arena"].engine)
    return app


def test_the_api_answers_429_with_retry_after(tmp_path, job_root, fake_runner, database_url):
    app = _app(tmp_path, job_root, fake_runner, database_url, "one")
    token = accounts.create_team(app.extensions["arena"], name="Busy", factories=[])[1]
    client = app.test_client()
    codes = [client.get("/api/me", headers=auth(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/api/me", headers=auth(token))
    assert refused.json["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
    assert client.get("/api/health").status_code == 200
    app.extensions["arena"].engine.dispose()


def test_more_tokens_and_more_processes_share_one_limit(tmp_path, job_root, fake_runner, database_url):
    """Two apps on one database stand for two API processes; two tokens of one team share its limit."""
    first = _app(tmp_path, job_root, fake_runner, database_url, "one")
    second = _app(tmp_path, job_root, fake_runner, database_url, "two")
    team, token = accounts.create_team(first.extensions["arena"], name="Busy", factories=[])
    other = accounts.create_token(first.extensions["arena"], actor=team, label="second")[1]
    organiser_token = accounts.create_organiser(first.extensions["arena"], name="Org")[1]
    codes = [
        first.test_client().get("/api/me", headers=auth(token)).status_code,
        second.test_client().get("/api/me", headers=auth(other)).status_code,
        first.test_client().get("/api/me", headers=auth(other)).status_code,
        second.test_client().get("/api/me", headers=auth(token)).status_code,
    ]
    assert codes == [200, 200, 200, 429]
    assert second.test_client().get("/api/me", headers=auth(organiser_token)).status_code == 200
    for app in (first, second):
        app.extensions["arena"].engine.dispose()
