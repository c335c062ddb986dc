"""A small Python client for the Arena API, used by the CLI and by scripts."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from arena import streams
from arena.config import client_token, client_url

TERMINAL = ("scored", "failed")


class ClientError(Exception):
    """A problem to show to the person at the keyboard, as it is. `status` is the HTTP status, or
    None when no answer came (connection refused, dropped, timed out)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def worth_retrying(self) -> bool:
        return self.status is None or self.status >= 500 or self.status == 409


def _asset_files(assets_dir: Path) -> list[tuple[str, Path]]:
    """(name under assets/, path) of every file below `assets_dir`, in name order. Links on the
    organiser's machine are followed (a bundle may link to a dataset kept elsewhere; the server
    gets the files' contents), each folder once, so a link loop ends."""
    found, seen = [], set()
    for parent, dirs, files in os.walk(assets_dir, followlinks=True):
        real = os.path.realpath(parent)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        for name in files:
            path = Path(parent) / name
            if path.is_file():
                found.append((path.relative_to(assets_dir.parent).as_posix(), path))
    return sorted(found)


class ArenaClient:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60) -> None:
        self.url = (url or client_url()).rstrip("/")
        self.token = token if token is not None else client_token()
        self.timeout = timeout
        self.http = requests.Session()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._decode(self._send(method, path, **kwargs))

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(
                method, self.url + path, headers=headers, timeout=kwargs.pop("timeout", self.timeout), **kwargs
            )
        except requests.ConnectionError:
            raise ClientError(
                f"cannot reach Arena at {self.url}; is `arena serve` running there? (set ARENA_URL to another address)"
            ) from None
        except requests.Timeout:
            raise ClientError(f"Arena at {self.url} did not answer in time; try again") from None
        except requests.RequestException as exc:
            raise ClientError(
                f"the connection to Arena at {self.url} failed ({type(exc).__name__}); try again"
            ) from None
        return response

    def raw(self, path: str) -> bytes:
        """A resource's bytes (a checkpoint, a tile); ClientError on an error answer."""
        response = self._send("GET", path)
        if not response.ok:
            self._decode(response)
        return response.content

    def text(self, path: str) -> str:
        return self.raw(path).decode()

    def post_note(self, path: str, note: str) -> dict:
        return self._request("POST", path, data=note.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and body is not None:
            return body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise ClientError(body["error"].get("message", "the server refused the request"), response.status_code)
        raise ClientError(f"the server answered {response.status_code} {response.reason}", response.status_code)

    # -- organisers -------------------------------------------------------------------------------
    def _upload_folder(
        self,
        path: str,
        folder: Path,
        names: list[str],
        asset_parts: dict[str, Path],
        progress: Callable[[int, int], None] | None,
    ) -> dict:
        """POST the files of `folder` as one multipart body, streamed from disk (never held in
        memory), with each assets/ folder as one uncompressed tar part. `progress(sent, total)`
        is told of each block sent (its bytes) and the body's length."""
        parts = []
        for name in names:
            if (folder / name).is_file():
                entry = streams.file_entry(name, folder / name)
                parts.append((name, entry.size, entry.chunks))
        for part, assets_dir in asset_parts.items():
            if assets_dir.is_dir():
                entries = [streams.file_entry(name, path) for name, path in _asset_files(assets_dir)]
                parts.append((part, streams.tar_length(entries), functools.partial(streams.tar_chunks, entries)))
        content_type, body = streams.multipart(parts)
        if progress:
            body.progress = lambda n: progress(n, len(body))
        return self._request("POST", path, data=body, headers={"Content-Type": content_type}, timeout=3600)

    def create_challenge(
        self, bundle_dir: Path, progress: Callable[[int, int], None] | None = None, scorer_digest: str | None = None
    ) -> dict:
        names = ["challenge.yaml", "inputs.jsonl", "labels.jsonl", "sample/inputs.jsonl", "sample/labels.jsonl"]
        path = f"/api/challenges?scorer_digest={scorer_digest}" if scorer_digest else "/api/challenges"
        return self._upload_folder(
            path,
            bundle_dir,
            names,
            {"assets.tar": bundle_dir / "assets", "sample/assets.tar": bundle_dir / "sample/assets"},
            progress,
        )

    def set_scorer(self, slug: str, image_digest: str) -> dict:
        """Pin a new scorer image (uploaded first with `upload_tarball`) for a challenge."""
        return self._request("PUT", f"/api/challenges/{slug}/scorer", json={"image_digest": image_digest})

    def add_version(self, slug: str, folder: Path, progress: Callable[[int, int], None] | None = None) -> dict:
        return self._upload_folder(
            f"/api/challenges/{slug}/versions",
            folder,
            ["inputs.jsonl", "labels.jsonl"],
            {"assets.tar": folder / "assets"},
            progress,
        )

    def reveal(self, slug: str, ids: list[str] | None, version: int | None = None) -> dict:
        body: dict = {"all": True} if ids is None else {"ids": ids}
        if version is not None:
            body["version"] = version
        return self._request("POST", f"/api/challenges/{slug}/reveal", json=body, timeout=3600)

    def revealed(self, slug: str, version: int | None = None) -> dict:
        params = {"version": version} if version is not None else {}
        return self._request("GET", f"/api/challenges/{slug}/reveal", params=params, timeout=3600)

    def download_sample(self, slug: str, name: str, write: Callable[[Iterator[bytes]], None]) -> None:
        """GET a file of the public sample set, handing its body to `write` as chunks."""
        try:
            with self.http.get(
                f"{self.url}/api/challenges/{slug}/sample/{name}", stream=True, timeout=self.timeout
            ) as response:
                if not response.ok:
                    self._decode(response)
                write(response.iter_content(1 << 20))
        except requests.RequestException:
            raise ClientError(f"the download from Arena at {self.url} failed; try again") from None

    def register(self, slug: str) -> dict:
        return self._request("POST", f"/api/challenges/{slug}/registration")

    def registrations(self, slug: str) -> list[dict]:
        return self._request("GET", f"/api/challenges/{slug}/registrations")["registrations"]

    def decide(self, slug: str, team_id: int, approve: bool) -> dict:
        return self._request("POST", f"/api/challenges/{slug}/registrations/{team_id}", json={"approve": approve})

    def create_team(self, name: str, factories: list[str]) -> dict:
        return self._request("POST", "/api/teams", json={"name": name, "factories": factories})

    def me(self) -> dict:
        return self._request("GET", "/api/me")

    def challenge(self, slug: str) -> dict:
        return self._request("GET", f"/api/challenges/{slug}")

    # -- teams ------------------------------------------------------------------------------------
    def can_submit(self, challenge: str, kind: str = "hidden") -> dict:
        """The pre-flight: whether this team may submit now, and if not, why (nothing changes)."""
        return self._request("GET", f"/api/challenges/{quote(challenge, safe='')}/can-submit", params={"kind": kind})

    def submissions(self, challenge: str | None = None) -> dict:
        """Submissions, newest first; for a team, also its receipts and its quota left today."""
        params = {"challenge": challenge} if challenge else {}
        return self._request("GET", "/api/submissions", params=params)

    def teams(self) -> list[dict]:
        return self._request("GET", "/api/teams")["teams"]

    def sample_labels(self, slug: str) -> bytes:
        """The public sample set's labels (for `arena try` to score a local run; never in /input)."""
        chunks: list[bytes] = []
        self.download_sample(slug, "labels.jsonl", chunks.extend)
        return b"".join(chunks)

    def submit_image(
        self,
        challenge: str,
        chunks: Iterable[bytes],
        progress: Callable[[int], None] | None = None,
        kind: str = "hidden",
    ) -> dict:
        """Stream an image tarball (chunks of `docker save`) as the body of one request."""

        def body() -> Iterator[bytes]:
            for chunk in chunks:
                if progress:
                    progress(len(chunk))
                yield chunk

        return self._request(
            "POST",
            f"/api/challenges/{challenge}/submissions",
            data=body(),
            params={"kind": kind},
            headers={"Content-Type": "application/x-tar"},
            timeout=3600,
        )

    # -- resumable uploads --------------------------------------------------------------------------
    def start_upload(self, size: int, sha256: str) -> dict:
        return self._request("POST", "/api/uploads", json={"size": size, "sha256": sha256})

    def upload_status(self, upload_id: str) -> dict:
        return self._request("GET", f"/api/uploads/{upload_id}")

    def put_part(self, upload_id: str, offset: int, data: bytes) -> dict:
        return self._request(
            "PUT",
            f"/api/uploads/{upload_id}",
            params={"offset": offset},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=600,
        )

    def complete_upload(self, upload_id: str) -> dict:
        return self._request("POST", f"/api/uploads/{upload_id}/complete", timeout=3600)

    def upload_tarball(
        self,
        tarball: Path,
        sha256: str,
        *,
        upload_id: str | None = None,
        progress: Callable[[int], None] | None = None,
        part_bytes: int = 16 * 1024**2,
        retries: int = 8,
        pause_s: float = 1.0,
    ) -> dict:
        """Send a tarball in parts, resuming after dropped connections; returns the completed upload."""
        size = tarball.stat().st_size
        state = self.upload_status(upload_id) if upload_id else self.start_upload(size, sha256)
        failures = 0
        with tarball.open("rb") as handle:
            while state["received"] < size:
                handle.seek(state["received"])
                chunk = handle.read(part_bytes)
                try:
                    state = self.put_part(state["id"], state["received"], chunk)
                    failures = 0
                    if progress:
                        progress(len(chunk))
                except ClientError as exc:
                    failures += 1
                    if failures > retries or not exc.worth_retrying:
                        raise
                    time.sleep(min(pause_s * 2 ** (failures - 1), 30))
                    state = self.upload_status(state["id"])  # resume where the server is
        return self.complete_upload(state["id"])

    def submit_digest(
        self, challenge: str, image_digest: str, *, kind: str = "hidden", idempotency_key: str | None = None
    ) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._request(
            "POST",
            f"/api/challenges/{challenge}/submissions",
            params={"kind": kind},
            json={"image_digest": image_digest},
            headers=headers,
        )

    def log(self, submission_id: str) -> dict:
        return self._request("GET", f"/api/submissions/{submission_id}/log")

    def read_hidden_log(self, submission_id: str, reason: str) -> dict:
        """Organisers: a hidden run's log, read with a reason (audited; the team is told)."""
        return self._request("POST", f"/api/submissions/{submission_id}/log-reads", json={"reason": reason})

    def organisers(self, slug: str) -> dict:
        return self._request("GET", f"/api/challenges/{slug}/organisers")

    def add_organiser(self, slug: str, name: str) -> dict:
        return self._request("POST", f"/api/challenges/{slug}/organisers", json={"organiser": name})

    def remove_organiser(self, slug: str, organiser_id: int) -> dict:
        return self._request("DELETE", f"/api/challenges/{slug}/organisers/{organiser_id}")

    def predictions(self, submission_id: str) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.http.get(
                f"{self.url}/api/submissions/{submission_id}/predictions", headers=headers, timeout=self.timeout
            )
        except requests.RequestException:
            raise ClientError(f"cannot reach Arena at {self.url}") from None
        if not response.ok:
            self._decode(response)
        return response.content

    def set_environment(self, challenge: str, chunks: Iterable[bytes]) -> dict:
        """Stream an agent challenge's environment image (chunks of `docker save`)."""
        return self._request(
            "PUT",
            f"/api/challenges/{challenge}/environment",
            data=chunks,
            headers={"Content-Type": "application/octet-stream"},
            timeout=3600,
        )

    def trajectory(self, submission_id: str) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.http.get(
                f"{self.url}/api/submissions/{submission_id}/trajectory", headers=headers, timeout=self.timeout
            )
        except requests.RequestException:
            raise ClientError(f"cannot reach Arena at {self.url}") from None
        if not response.ok:
            self._decode(response)
        return response.content

    def submission(self, submission_id: str) -> dict:
        return self._request("GET", f"/api/submissions/{submission_id}")

    def wait(
        self,
        submission_id: str,
        *,
        poll_s: float = 1.0,
        timeout_s: float = 3600,
        on_change: Callable[[dict], None] | None = None,
    ) -> dict:
        deadline, last = time.monotonic() + timeout_s, None
        while True:
            state = self.submission(submission_id)
            if state["status"] != last and on_change:
                on_change(state)
            last = state["status"]
            if last in TERMINAL:
                return state
            if time.monotonic() > deadline:
                raise ClientError(
                    f"submission {submission_id} is still {last} after {timeout_s:.0f} s; "
                    f"follow it with `arena status {submission_id}`"
                )
            time.sleep(poll_s)

    # -- public -----------------------------------------------------------------------------------
    def leaderboard(self, challenge: str) -> dict:
        return self._request("GET", f"/api/challenges/{challenge}/leaderboard")

    def log_export(self, challenge: str) -> dict:
        return self._request("GET", f"/api/challenges/{challenge}/log/export", timeout=600)

    def challenges(self) -> list[dict]:
        return self._request("GET", "/api/challenges")["challenges"]

    # -- rounds -----------------------------------------------------------------------------------
    def rounds(self, challenge: str) -> dict:
        return self._request("GET", f"/api/challenges/{quote(challenge, safe='')}/rounds")

    def rewards(self, challenge: str, number: int | None = None) -> dict:
        params = {"round": number} if number is not None else {}
        return self._request("GET", f"/api/challenges/{quote(challenge, safe='')}/rewards", params=params)

    def close_round(self, challenge: str, *, early: bool = False) -> dict:
        return self._request("POST", f"/api/challenges/{quote(challenge, safe='')}/rounds/close", json={"early": early})

    def add_rounds(self, challenge: str, doc: dict) -> dict:
        return self._request("POST", f"/api/challenges/{quote(challenge, safe='')}/rounds", json=doc)

    def readmit(self, challenge: str, team: str) -> dict:
        return self._request(
            "POST", f"/api/challenges/{quote(challenge, safe='')}/teams/{quote(team, safe='')}/readmit"
        )

    def set_method_card(self, submission_id: str, card: dict) -> dict:
        return self._request("PUT", f"/api/submissions/{quote(submission_id, safe='')}/method-card", json=card)
