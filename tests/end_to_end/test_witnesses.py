"""Witnesses as separate processes against real servers: they cosign a log that grows honestly,
refuse one rewritten by its operator or shown differently to another party, keep their state
across restarts; `arena verify` and the JavaScript verifier require their cosignatures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from helpers import ARENA, arena, make_bundle, make_image_tarball, serve_arena, write_jsonl
from sqlalchemy import delete, select

from arena.config import load_settings
from arena.models import LogEntry, LogNode
from arena.runtime import build_platform
from arena.services import publiclog
from arena.signing import loads

ROOT = Path(__file__).parents[2]


def _witness_key(folder: Path, number: int) -> tuple[str, list[str]]:
    """A witness's verifier key, and the arguments that run it (its key, name and state files)."""
    name = f"witness-{number}.factory.example/arena"
    args = ["--key", str(folder / f"w{number}.key"), "--name", name, "--state", str(folder / f"w{number}.state")]
    vkey = subprocess.run(
        [ARENA, "witness", *args, "--show-key"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return vkey, args


def _run_witnesses(env: dict, witnesses: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Each witness in its own process, all at once, one round each."""
    log_key = requests.get(env["ARENA_URL"] + "/.well-known/arena-keys.json", timeout=10).json()["log"]["vkey"]
    running = [
        subprocess.Popen(
            [ARENA, "witness", "--url", env["ARENA_URL"], *args, "--log-key", log_key, "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in witnesses
    ]
    done = []
    for process in running:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _scored_submission(env: dict, team: str, folder: Path, salt: str) -> str:
    image = folder / f"{salt}.tar"
    make_image_tarball(image, salt=salt)
    made = requests.post(
        f"{env['ARENA_URL']}/api/challenges/toy/submissions",
        data=image.read_bytes(),
        timeout=60,
        headers={"Authorization": f"Bearer {team}", "Content-Type": "application/x-tar"},
    ).json()
    for _ in range(300):
        if json.loads(arena(env, "status", made["id"], "--json", token=team).stdout)["status"] in ("scored", "failed"):
            return made["id"]
        time.sleep(0.2)
    raise AssertionError("the submission was not scored in a minute")


def _new_challenge(env: dict, organiser: str, folder: Path, slug: str) -> None:
    """A challenge whose inputs are their labels: the fake runner (which echoes each input) scores 1.0,
    a number RFC 8785 writes as `1` where Python's json.dumps wrote `1.0`."""
    bundle = make_bundle(folder / slug, slug=slug, n=6)
    write_jsonl(bundle / "inputs.jsonl", [{"id": f"i{i}", "input": "even" if i % 2 == 0 else "odd"} for i in range(6)])
    arena(env, "challenge", "create", str(bundle), token=organiser)


def _export(env: dict, path: Path, slug: str = "toy") -> dict:
    arena(env, "log", "export", slug, "-o", str(path))
    return json.loads(path.read_text())


def _verify(env: dict, path: Path, *args: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    python = arena(env, "verify", str(path), *args, check=False)
    javascript = subprocess.run(
        ["node", str(ROOT / "verifiers/js/verify.mjs"), str(path), *args], capture_output=True, text=True, timeout=120
    )
    return python, javascript


def _drop_and_re_sign(env: dict, seq: int) -> None:
    """The operator, holding the signing key, drops one entry and re-signs everything after it."""
    platform = build_platform(load_settings(env))
    with platform.transaction() as session:
        bodies = [loads(e.body) for e in session.scalars(select(LogEntry).order_by(LogEntry.seq))]
        session.execute(delete(LogNode))
        session.execute(delete(LogEntry))
        session.flush()
        for body in bodies:
            if body["seq"] != seq:
                publiclog.append(platform, session, kind=body["kind"], challenge=body["challenge"], data=body["data"])
    platform.engine.dispose()


def _start(tmp_path: Path, vkeys: list[str]) -> tuple[Path, dict]:
    home = tmp_path / "home"
    home.mkdir()
    return home, {"ARENA_RUNNER": "fake", "ARENA_WITNESS_KEYS": " ".join(vkeys), "ARENA_LOG_ORIGIN": "arena.test/log"}


def test_witnesses_cosign_an_honest_log_and_refuse_a_rewritten_one(tmp_path):
    (w1, args1), (w2, args2) = _witness_key(tmp_path, 1), _witness_key(tmp_path, 2)
    home, extra = _start(tmp_path, [w1, w2])
    with serve_arena(home, extra) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Org", "--json").stdout)["token"]
        team = json.loads(arena(env, "team", "create", "Team A", "--json", token=organiser).stdout)["token"]
        _new_challenge(env, organiser, tmp_path, "toy")
        _scored_submission(env, team, tmp_path, "a")
        assert [d.returncode for d in _run_witnesses(env, [args1, args2])] == [0, 0]
        genuine = _export(env, tmp_path / "genuine.json")
        [result] = [e["body"] for e in genuine["entries"] if e["body"]["kind"] == "result"]
        assert result["v"] == 2 and result["data"]["score"] == 1.0  # `1` in its RFC 8785 bytes
        python, javascript = _verify(env, tmp_path / "genuine.json", "--witness", w1, "--witness", w2)
        assert python.returncode == 0 and "2 witness(es) cosigned its first 3 entries" in python.stdout
        assert javascript.returncode == 0, javascript.stdout + javascript.stderr
        assert arena(env, "log", "audit").stdout.startswith("OK: 3 entries rebuilt from the tiles")
        proven = arena(env, "log", "proof", "inclusion", "1").stdout
        assert proven.startswith("entry 1 (leaf ") and "is in the log of size 3" in proven
        assert "extends the log of size 1" in arena(env, "log", "proof", "consistency", "1").stdout
        assert "\u2014 witness-1.factory.example/arena " in arena(env, "log", "checkpoint").stdout
        # Restarted (a new process), witness 1 picks up from its state file: size 3, then 4.
        _new_challenge(env, organiser, tmp_path, "toy2")
        [again] = _run_witnesses(env, [args1])
        assert again.returncode == 0 and again.stdout.startswith("cosigned 4 ")
        assert json.loads((tmp_path / "w1.state").read_text())["size"] == 4
    _drop_and_re_sign(env, seq=1)  # the receipt of Team A's submission
    with serve_arena(home, extra) as env:
        refused = _run_witnesses(env, [args1, args2])
        assert [d.returncode for d in refused] == [1, 1]
        assert all(d.stdout.startswith("REFUSED: ") for d in refused), [d.stdout for d in refused]
        assert json.loads((tmp_path / "w1.state").read_text())["size"] == 4  # unchanged
        rewritten = _export(env, tmp_path / "rewritten.json")
        python, javascript = _verify(
            env, tmp_path / "rewritten.json", "--witness", w1, "--witness", w2, "--min-witnesses", "1"
        )
        assert python.returncode == 1 and javascript.returncode == 1
        assert "only 0 of the 1 witnesses required cosigned a checkpoint of this log" in python.stdout
        # Handing out the genuine cosigned checkpoints with the rewritten log names the witness.
        rewritten["cosigned"] = genuine["cosigned"]
        (tmp_path / "rewritten.json").write_text(json.dumps(rewritten))
        python, javascript = _verify(env, tmp_path / "rewritten.json", "--witness", w1, "--min-witnesses", "1")
        assert (
            "witness witness-1.factory.example/arena cosigned a checkpoint of size 3 that this log does not extend"
            in python.stdout
        )
        assert "witness witness-1.factory.example/arena cosigned a checkpoint of size 3" in javascript.stdout
        # Without witnesses the re-signed log is self-consistent: exactly why witnesses exist.
        assert _verify(env, tmp_path / "rewritten.json")[0].returncode == 0


def test_a_split_view_is_caught_as_soon_as_a_cosigned_checkpoint_is_checked(tmp_path):
    (w1, args1), (w2, args2) = _witness_key(tmp_path, 1), _witness_key(tmp_path, 2)
    home, extra = _start(tmp_path, [w1, w2])
    with serve_arena(home, extra) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Org", "--json").stdout)["token"]
        _new_challenge(env, organiser, tmp_path, "toy")
    shutil.copytree(home, tmp_path / "other")  # the operator keeps a second copy, same key
    with serve_arena(home, extra) as public, serve_arena(tmp_path / "other", extra) as private:
        _new_challenge(public, organiser, tmp_path / "p", "shown-to-all")
        _new_challenge(private, organiser, tmp_path / "q", "shown-to-one")
        assert [d.returncode for d in _run_witnesses(public, [args1, args2])] == [0, 0]
        [fork] = _run_witnesses(private, [args1])  # the operator asks a witness to cosign the other view
        assert fork.returncode == 1 and "another root for size 2" in fork.stdout
        seen_by_all, seen_by_one = _export(public, tmp_path / "all.json"), _export(private, tmp_path / "one.json")
        assert seen_by_all["tree_head"]["head"]["size"] == seen_by_one["tree_head"]["head"]["size"] == 2
        assert _verify(public, tmp_path / "all.json", "--witness", w1, "--witness", w2)[0].returncode == 0
        python, javascript = _verify(private, tmp_path / "one.json", "--witness", w1, "--min-witnesses", "1")
        assert python.returncode == 1 and javascript.returncode == 1
        seen_by_one["cosigned"] = seen_by_all["cosigned"]
        (tmp_path / "one.json").write_text(json.dumps(seen_by_one))
        python, javascript = _verify(private, tmp_path / "one.json", "--witness", w1, "--min-witnesses", "1")
        assert "cosigned a checkpoint of size 2 that this log does not extend" in python.stdout
        assert javascript.returncode == 1


@pytest.mark.docker
def test_a_team_following_the_readme_sees_and_keeps_its_signed_receipt_and_result(docker_engine, tmp_path):
    docker_engine.images.get("arena-example/good:latest")  # built by scripts/setup.sh
    w1, args1 = _witness_key(tmp_path, 1)
    home, extra = _start(tmp_path, [w1])
    extra.pop("ARENA_RUNNER")
    with serve_arena(home, extra) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Org", "--json").stdout)["token"]
        team = json.loads(arena(env, "team", "create", "Good", "--json", token=organiser).stdout)["token"]
        arena(env, "challenge", "create", str(ROOT / "examples/challenges/gpu-faults"), token=organiser)
        done = arena(env, "submit", "gpu-faults", "arena-example/good", "--wait", token=team)
        kept = Path(env["XDG_STATE_HOME"]) / "arena" / "receipts"
        assert re.search(r"^receipt: log entry 1 at \S+Z, leaf [0-9a-f]{64}, signature \S+$", done.stderr, re.M)
        assert re.search(r"^signed result: log entry 2, public score 0\.\d+$", done.stderr, re.M), done.stderr
        assert f"kept in {kept / 'gpu-faults'}" in done.stderr
        sub = done.stdout.split()[0]
        assert sorted(p.name for p in (kept / "gpu-faults").iterdir()) == [
            f"{sub}.receipt.json",
            f"{sub}.result-2.json",
        ]
        assert [d.returncode for d in _run_witnesses(env, [args1])] == [0]
        _export(env, tmp_path / "log.json", "gpu-faults")
        python, javascript = _verify(env, tmp_path / "log.json", "--witness", w1, "--receipts", str(kept))
        assert python.returncode == 0 and "2 kept receipt(s) proven in the log" in python.stdout, python.stdout
        assert javascript.returncode == 2 and "unknown argument --receipts" in javascript.stderr  # refused, not ignored
