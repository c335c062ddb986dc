"""The outside review's findings on the HTTP surface, each reproduced: `next` after sign-in, the
request size cap, security headers, ARENA_PUBLIC_URL (Secure cookies, no Host header), and
sign-out ending a session server-side."""

from __future__ import annotations

import re

import pytest
from conftest import auth, csrf_of, web_sign_in

from arena import create_app
from arena.db import upgrade
from arena.services import accounts


def _sign_in_with_next(client, token: str, next_value: str):
    page = client.get("/sign-in?role=team").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/sign-in", data={"csrf": csrf, "token": token, "role": "team", "next": next_value})


@pytest.mark.parametrize(
    "next_value",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/team\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
        " /team",
        "/é",
    ],
)
def test_next_after_sign_in_never_leaves_the_site_nor_fails(client, team_token, next_value):
    answer = _sign_in_with_next(client, team_token, next_value)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/team"


def test_next_after_sign_in_keeps_a_path_of_this_site(client, team_token):
    answer = _sign_in_with_next(client, team_token, "/team/submissions/sub-1?x=1#here")
    assert answer.headers["Location"] == "/team/submissions/sub-1?x=1#here"


class CountingStream:
    """A request body that counts what the server reads of it."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n is None or n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b" " * n

    # The test client measures the body by seeking to its end and back; nothing is read.
    position = 0

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self.size if whence == 2 else offset
        return self.position


def test_a_400_mib_json_body_is_refused_unread(client, team_token):
    body = CountingStream(400 * 1024**2)
    answer = client.post(
        "/api/uploads",
        input_stream=body,
        content_type="application/json",
        headers={**auth(team_token), "Content-Length": str(body.size)},
    )
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "request_entity_too_large"
    assert body.read_bytes == 0


def test_a_large_json_body_is_refused_on_upload_routes_too(client, platform, team_token, tmp_path):
    """POST .../submissions streams an image under the image limit, but its JSON form has the global one."""
    from test_rounds import World

    World(platform, platform.runner, tmp_path).challenge()
    body = CountingStream(400 * 1024**2)
    answer = client.post(
        "/api/challenges/toy/submissions",
        input_stream=body,
        content_type="application/json",
        headers={**auth(team_token), "Content-Length": str(body.size)},
    )
    assert answer.status_code == 413 and body.read_bytes == 0


def test_a_body_without_a_length_is_cut_off_at_the_cap(app, client, team_token):
    body = CountingStream(400 * 1024**2)
    answer = client.post(
        "/api/uploads",
        content_type="application/json",
        headers=auth(team_token),
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True},
    )
    assert answer.status_code == 413
    assert body.read_bytes <= app.extensions["arena"].settings.max_request_bytes + 2**20


def test_upload_routes_keep_their_own_larger_limits(client, team_token):
    """An image part of 2 MiB (over the 1 MiB global cap) still streams into its upload."""
    start = client.post("/api/uploads", json={"size": 2 * 1024**2, "sha256": "0" * 64}, headers=auth(team_token))
    part = client.put(
        f"/api/uploads/{start.get_json()['id']}?offset=0", data=b"x" * (2 * 1024**2), headers=auth(team_token)
    )
    assert part.status_code == 200 and part.get_json()["received"] == 2 * 1024**2


def test_security_headers_on_pages_api_and_the_embed(client, platform, tmp_path):
    for path in ("/", "/api/challenges", "/sign-in", "/no-such-page"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
    from test_rounds import World

    world = World(platform, platform.runner, tmp_path)
    world.challenge()
    embed = client.get("/challenges/toy/embed")
    assert embed.status_code == 200 and "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers


def _app(tmp_path, job_root, fake_runner, **settings):
    app = create_app(
        {
            "TESTING": True,
            "home": tmp_path / "home",
            "database_url": f"sqlite:///{tmp_path}/a.db",
            "master_key_file": tmp_path / "home" / "master.key",
            "job_root": job_root,
            "scratch_dir": job_root.parent / f"{job_root.name}-scratch",
            "RUNNER": fake_runner,
            **settings,
        }
    )
    upgrade(app.extensions["arena"].engine)
    return app


def test_public_url_replaces_the_host_header_and_makes_cookies_secure(tmp_path, job_root, fake_runner):
    app = _app(tmp_path, job_root, fake_runner, public_url="https://arena.example.eu")
    platform, client = app.extensions["arena"], app.test_client()
    from test_rounds import World

    World(platform, platform.runner, tmp_path).challenge()
    evil = {"Host": "evil.example"}
    page = client.get("/challenges/toy", headers=evil, base_url="https://evil.example").get_data(as_text=True)
    assert "https://arena.example.eu/challenges/toy/embed" in page and "evil.example" not in page
    embed = client.get("/challenges/toy/embed", base_url="https://evil.example").get_data(as_text=True)
    assert 'href="https://arena.example.eu/challenges/toy"' in embed and "evil.example" not in embed
    _team, token = accounts.create_team(platform, name="Solo", factories=["F"])
    client = app.test_client()
    signed = web_sign_in(client, token)
    assert "export ARENA_URL=https://arena.example.eu " in signed.get_data(as_text=True)
    cookie = client.get_cookie("arena_session")
    assert cookie is not None and cookie.secure
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_without_https_the_cookie_is_not_secure(client, team_token):
    web_sign_in(client, team_token)
    assert not client.get_cookie("arena_session").secure


def test_public_url_must_be_http_or_https(tmp_path, job_root, fake_runner):
    with pytest.raises(ValueError, match="ARENA_PUBLIC_URL"):
        _app(tmp_path, job_root, fake_runner, public_url="ftp://x")


def test_sign_out_ends_a_copied_session_cookie(app, client, team_token):
    web_sign_in(client, team_token)
    copied = client.get_cookie("arena_session").value
    thief = app.test_client()
    thief.set_cookie("arena_session", copied)
    assert thief.get("/team").status_code == 200
    client.post("/sign-out", data={"csrf": csrf_of(client, "/team")})
    assert client.get("/team").status_code == 302
    assert thief.get("/team").status_code == 302
    assert team_token.encode() not in copied.encode()


def test_files_under_arena_home_are_private(client, platform, tmp_path):
    """The review's finding: the database (with private scores), keys and blobs were readable by
    every user of the machine. After a challenge, uploads, a scored submission and a sample run,
    every file under ARENA_HOME is 0600 and every folder 0700."""
    import hashlib
    import os
    import stat

    from helpers import make_image_tarball
    from test_rounds import ModelRunner, World

    from arena.worker import Worker

    runner = ModelRunner()
    platform.runner = runner
    world = World(platform, runner, tmp_path)
    world.challenge()
    world.team("Alpha", ["LUMI"])
    world.submit("Alpha", 3)
    token = accounts.create_token(platform, actor=world.teams["Alpha"], label="t")[1]
    image = tmp_path / "sample.tar"
    runner.models[make_image_tarball(image, salt="sample")] = lambda x: "even"
    raw = image.read_bytes()
    started = client.post(
        "/api/uploads", json={"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}, headers=auth(token)
    ).get_json()
    client.put(f"/api/uploads/{started['id']}?offset=0", data=raw, headers=auth(token))
    digest = client.post(f"/api/uploads/{started['id']}/complete", headers=auth(token)).get_json()["image_digest"]
    made = client.post(
        "/api/challenges/toy/submissions?kind=sample", json={"image_digest": digest}, headers=auth(token)
    )
    assert made.status_code == 201, made.get_json()
    Worker(platform).drain()
    home = platform.settings.home
    seen = {"files": 0, "folders": 0}
    for folder, _subfolders, files in os.walk(home):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
        seen["folders"] += 1
        for name in files:
            path = os.path.join(folder, name)
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, path
            seen["files"] += 1
    assert seen["files"] >= 10 and seen["folders"] >= 8
    database = platform.settings.database_url.split("///", 1)[-1]
    if platform.settings.database_url.startswith("sqlite"):
        assert stat.S_IMODE(os.stat(database).st_mode) == 0o600


@pytest.mark.parametrize(
    "field, value",
    [
        ("revoke", "9" * 30),
        ("revoke", "²"),
        ("team_id", "9" * 5000),
        ("team_id", "-1"),
        ("days", "1" * 40),
        ("team_id", "2147483648"),
    ],
)
def test_huge_or_odd_numbers_in_console_forms_never_give_500(client, organiser_token, field, value):
    web_sign_in(client, organiser_token, role="organiser")
    answer = client.post("/console/tokens", data={"csrf": csrf_of(client, "/console/tokens"), field: value})
    assert answer.status_code == 200 and "whole numbers" in answer.get_data(as_text=True)


@pytest.mark.parametrize("value", ["9" * 30, "²", "9" * 5000, "-1"])
def test_odd_numbers_in_log_queries_are_400(client, value):
    assert client.get(f"/api/log?start={value}").status_code == 400


def test_a_malformed_image_upload_is_400_not_500(client, platform, tmp_path, team_token):
    import io
    import json
    import tarfile

    from test_rounds import World

    World(platform, platform.runner, tmp_path).challenge()
    manifest = json.dumps([{"Config": 5, "Layers": ["../../etc/passwd"]}]).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    token = team_token
    client.post("/api/challenges/toy/registration", headers=auth(token))
    answer = client.post(
        "/api/challenges/toy/submissions", data=buffer.getvalue(), content_type="application/x-tar", headers=auth(token)
    )
    assert answer.status_code == 400 and "config" in answer.get_json()["error"]["message"]


def test_a_session_ends_after_thirty_days(client, platform, team_token):
    from datetime import timedelta

    from sqlalchemy import update

    from arena.models import WebSession
    from arena.timeutil import utcnow

    web_sign_in(client, team_token)
    assert client.get("/team").status_code == 200
    with platform.transaction() as session:
        session.execute(update(WebSession).values(created_at=utcnow() - timedelta(days=31)))
    assert client.get("/team").status_code == 302
