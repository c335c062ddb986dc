from arena import create_app
from arena.db import upgrade
from arena.ratelimit import RateLimiter
from arena.services import accounts
from conftest import auth


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(per_minute=2, clock=clock)
    assert limiter.allow("t") == 0 and limiter.allow("t") == 0
    assert limiter.allow("t") == 30.0
    assert limiter.allow("other") == 0
    clock.now = 30.0
    assert limiter.allow("t") == 0


def test_the_api_answers_429_with_retry_after(tmp_path, job_root, fake_runner):
    app = create_app({"home": tmp_path, "database_url": f"sqlite:///{tmp_path}/a.db",
                      "master_key_file": tmp_path / "k", "job_root": job_root, "RUNNER": fake_runner,
                      "rate_limit_per_minute": 3})
    upgrade(app.extensions["arena"].engine)
    token = accounts.create_team(app.extensions["arena"], name="Busy", factories=[])[1]
    client = app.test_client()
    codes = [client.get("/api/me", headers=auth(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/api/me", headers=auth(token))
    assert refused.json["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
    assert client.get("/api/health").status_code == 200
    app.extensions["arena"].engine.dispose()
