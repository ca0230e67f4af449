"""A fake GitHub REST API on 127.0.0.1 for GitHubSource and the webhook handler.

Two servers, as on GitHub: the API (branches, commits, tarball) and "codeload", where
the tarball request is redirected, on another port, so another origin. Every request is
recorded with its headers. The fake can answer every API request with one status, or
slowly, or serve a hand-made tarball.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.repo import make_repo

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


@dataclass(frozen=True)
class Seen:
    server: str  # "api" or "codeload"
    method: str
    path: str
    headers: dict[str, str]  # names in lower case


class FakeGitHub:
    """Serves the files under `files` as OWNER/NAME at `branch`, head `sha`."""

    def __init__(
        self, files: Path, repository: str = "owner/repo", branch: str = "main", sha: str = SHA
    ) -> None:
        self.files = files
        self.repository = repository
        self.branch = branch
        self.sha = sha
        self.requests: list[Seen] = []
        self.status: int | None = None  # answer every API request with this status
        self.delay_seconds = 0.0  # before answering any request
        self.tarball: bytes | None = None  # served instead of one built from `files`
        self._api = _Server(self, "api")
        self._codeload = _Server(self, "codeload")

    @property
    def api_url(self) -> str:
        return self._api.url

    @property
    def codeload_url(self) -> str:
        return self._codeload.url

    def seen(self, server: str) -> list[Seen]:
        return [r for r in self.requests if r.server == server]

    def close(self) -> None:
        self._api.close()
        self._codeload.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGitHub, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.name = name
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def handle_error(self, request, client_address) -> None:
        """A client that timed out and hung up is expected here; say nothing."""

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for the tests."""

    def do_GET(self) -> None:
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake.requests.append(Seen(self.server.name, "GET", self.path, headers))
        if fake.delay_seconds:
            time.sleep(fake.delay_seconds)
        if self.server.name == "codeload":
            self._codeload(fake)
        elif fake.status is not None:
            self._json(fake.status, {"message": "Failed", "documentation_url": "https://docs"})
        else:
            self._api(fake)

    def _api(self, fake: FakeGitHub) -> None:
        owner, name = fake.repository.split("/")
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/(branches|commits|tarball)/(.+)", self.path)
        if not match or (match[1].lower(), match[2].lower()) != (owner.lower(), name.lower()):
            self._json(404, {"message": "Not Found"})
            return
        kind, ref = match[3], match[4]
        if kind == "tarball":
            if ref not in (fake.sha, fake.branch):
                self._json(404, {"message": "Not Found"})
                return
            self.send_response(302)
            self.send_header("Location", f"{fake.codeload_url}/{owner}/{name}/legacy.tar.gz/{ref}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif ref != fake.branch:
            self._json(404, {"message": "Branch not found"})
        elif kind == "commits" and "sha" in self.headers.get("Accept", ""):
            self._send(200, "application/vnd.github.sha", fake.sha.encode())
        else:
            commit = {"sha": fake.sha, "url": f"{fake.api_url}/repos/{fake.repository}/commits"}
            self._json(200, {"name": fake.branch, "commit": commit, "protected": False})

    def _codeload(self, fake: FakeGitHub) -> None:
        owner, name = fake.repository.split("/")
        top = f"{owner}-{name}-{fake.sha[:7]}"
        data = fake.tarball if fake.tarball is not None else tarball_of(fake.files, top, fake.sha)
        self._send(200, "application/x-gzip", data)

    def _json(self, status: int, body: dict) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def tarball_of(files: Path, top: str, sha: str) -> bytes:
    """A tarball shaped as GitHub's: a pax global header with the commit, then every
    file under one top folder."""
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": sha}
    ) as tar:
        tar.add(files, arcname=top)
    return out.getvalue()


def tarball(members: dict[str, bytes | tarfile.TarInfo]) -> bytes:
    """A hand-made tarball: name -> file content, or a TarInfo (links, special files)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, member in members.items():
            if isinstance(member, tarfile.TarInfo):
                member.name = name
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(member)
                tar.addfile(info, io.BytesIO(member))
    return out.getvalue()


@pytest.fixture
def fake_github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """A fake GitHub serving owner/repo at main: the default desired-state repository
    of tests/repo.py."""
    fake = FakeGitHub(make_repo(tmp_path / "github-repo"))
    yield fake
    fake.close()
