"""A small Python client for the Arena API, used by the CLI and by scripts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import requests

from arena.config import client_token, client_url

TERMINAL = ("scored", "failed")


class ClientError(Exception):
    """A problem to show to the person at the keyboard, as it is."""


class ArenaClient:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60) -> None:
        self.url = (url or client_url()).rstrip("/")
        self.token = token if token is not None else client_token()
        self.timeout = timeout
        self.http = requests.Session()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(method, self.url + path, headers=headers,
                                         timeout=kwargs.pop("timeout", self.timeout), **kwargs)
        except requests.ConnectionError:
            raise ClientError(f"cannot reach Arena at {self.url}; is `arena serve` running there? "
                              "(set ARENA_URL to another address)") from None
        except requests.Timeout:
            raise ClientError(f"Arena at {self.url} did not answer in time; try again") from None
        return self._decode(response)

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and body is not None:
            return body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise ClientError(body["error"].get("message", "the server refused the request"))
        raise ClientError(f"the server answered {response.status_code} {response.reason}")

    # -- organisers -------------------------------------------------------------------------------
    def create_challenge(self, bundle_dir: Path) -> dict:
        names = ["challenge.yaml", "inputs.jsonl", "labels.jsonl",
                 "sample/inputs.jsonl", "sample/labels.jsonl"]
        present = [n for n in names if (bundle_dir / n).is_file()]
        handles = {n: (n, (bundle_dir / n).open("rb")) for n in present}
        try:
            return self._request("POST", "/api/challenges", files=handles, timeout=3600)
        finally:
            for _name, handle in handles.values():
                handle.close()

    def add_version(self, slug: str, folder: Path) -> dict:
        handles = {n: (n, (folder / n).open("rb")) for n in ("inputs.jsonl", "labels.jsonl")
                   if (folder / n).is_file()}
        try:
            return self._request("POST", f"/api/challenges/{slug}/versions", files=handles, timeout=3600)
        finally:
            for _name, handle in handles.values():
                handle.close()

    def reveal(self, slug: str, ids: list[str] | None, version: int | None = None) -> dict:
        body: dict = {"all": True} if ids is None else {"ids": ids}
        if version is not None:
            body["version"] = version
        return self._request("POST", f"/api/challenges/{slug}/reveal", json=body, timeout=3600)

    def revealed(self, slug: str, version: int | None = None) -> dict:
        params = {"version": version} if version is not None else {}
        return self._request("GET", f"/api/challenges/{slug}/reveal", params=params, timeout=3600)

    def create_team(self, name: str, factories: list[str]) -> dict:
        return self._request("POST", "/api/teams", json={"name": name, "factories": factories})

    def me(self) -> dict:
        return self._request("GET", "/api/me")

    def challenge(self, slug: str) -> dict:
        return self._request("GET", f"/api/challenges/{slug}")

    # -- teams ------------------------------------------------------------------------------------
    def submit_image(self, challenge: str, chunks: Iterable[bytes],
                     progress: Callable[[int], None] | None = None, kind: str = "hidden") -> dict:
        """Stream an image tarball (chunks of `docker save`) as the body of one request."""

        def body() -> Iterator[bytes]:
            for chunk in chunks:
                if progress:
                    progress(len(chunk))
                yield chunk

        return self._request(
            "POST", f"/api/challenges/{challenge}/submissions", data=body(), params={"kind": kind},
            headers={"Content-Type": "application/x-tar"}, timeout=3600,
        )

    def log(self, submission_id: str) -> dict:
        return self._request("GET", f"/api/submissions/{submission_id}/log")

    def predictions(self, submission_id: str) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.http.get(f"{self.url}/api/submissions/{submission_id}/predictions",
                                     headers=headers, timeout=self.timeout)
        except requests.RequestException:
            raise ClientError(f"cannot reach Arena at {self.url}") from None
        if not response.ok:
            self._decode(response)
        return response.content

    def submission(self, submission_id: str) -> dict:
        return self._request("GET", f"/api/submissions/{submission_id}")

    def wait(self, submission_id: str, *, poll_s: float = 1.0, timeout_s: float = 3600,
             on_change: Callable[[dict], None] | None = None) -> dict:
        deadline, last = time.monotonic() + timeout_s, None
        while True:
            state = self.submission(submission_id)
            if state["status"] != last and on_change:
                on_change(state)
            last = state["status"]
            if last in TERMINAL:
                return state
            if time.monotonic() > deadline:
                raise ClientError(f"submission {submission_id} is still {last} after {timeout_s:.0f} s; "
                                  f"follow it with `arena status {submission_id}`")
            time.sleep(poll_s)

    # -- public -----------------------------------------------------------------------------------
    def leaderboard(self, challenge: str) -> dict:
        return self._request("GET", f"/api/challenges/{challenge}/leaderboard")

    def challenges(self) -> list[dict]:
        return self._request("GET", "/api/challenges")["challenges"]
