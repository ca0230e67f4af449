"""A fake GitHub REST API on 127.0.0.1 for GitHubSource and the webhook handler.

Two servers, as on GitHub: the API (branches, commits, tarball) and "codeload", where
the tarball request is redirected, on another port, so another origin. Every request is
recorded with its headers (and its JSON body). The fake can answer every API request with
one status, or slowly, or serve a hand-made tarball.

Pull requests (`pulls`) answer GET /repos/OWNER/NAME/pulls/N in GitHub's shape; a pull
request given several heads answers them in turn, the last for good (a push landing
while a preview runs).

For change control the API serves commits with their authors (`add_commit`), the merged
pull requests a commit belongs to (`merge_pull`), a pull request's reviews, paginated
(`review`), and a team's members, paginated (`add_team`): "pull request #7 merged as sha
X, approved by bob at head Y" is `merge_pull(7, X, head=Y)` then `review(7, "bob",
"APPROVED")`.

For GitHubReporter the API also keeps issue comments, commit statuses, check runs and a
GitHub App's installation and its access tokens. Request bodies are checked against the
fields GitHub documents: a bad one is answered 422 and listed in `invalid`. Queued
`failures` answer the next API requests (500, 429, 403 with no rate left, a redirect).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.repo import make_repo

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
_SHA_PATH = re.compile(r"/repos/([^/]+)/([^/]+)/commits/([0-9a-f]{40})(/pulls)?")


@dataclass(frozen=True)
class Seen:
    server: str  # "api" or "codeload"
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: object = None  # the JSON body, parsed
    query: str = ""


@dataclass
class Failure:
    """One answer served instead of the real one."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(reset: int | None = None, retry_after: int | None = None) -> Failure:
    """GitHub's 403 once the primary rate limit is used up."""
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000"}
    if reset is not None:
        headers["x-ratelimit-reset"] = str(reset)
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return Failure(403, headers)


STATUS_STATES = ("error", "failure", "pending", "success")
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = (
    "action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale",
    "timed_out",
)  # fmt: skip
ANNOTATION_LEVELS = ("notice", "warning", "failure")
INSTALLATION_ID = 4242


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
        self.failures: list[Failure] = []  # answer the next API requests, in order
        self.failing: list[tuple[str, Failure]] = []  # (path regex, answer), every time
        self.invalid: list[str] = []  # why request bodies were refused
        self.comments: dict[int, dict] = {}  # id -> {"id", "issue", "body", "user"}
        self.statuses: list[dict] = []
        self.check_runs: dict[int, dict] = {}
        self.app_public_key = None  # verify App JWTs with this key (cryptography) when set
        self.app_id = "12345"
        self.installation_tokens: list[str] = []
        self.plain_token = ""  # a PAT: statuses and comments, not check runs
        self.pulls: dict[int, list[str]] = {}  # number -> the head shas it answers in turn
        # sha -> its author: {"login" (None: no GitHub account), "name", "email"}
        self.commits: dict[str, dict] = {}
        self.merged: dict[int, dict] = {}  # number -> {"merge_sha", "head", "author", ...}
        self.reviews: dict[int, list[dict]] = {}  # number -> reviews as GitHub lists them
        self.teams: dict[tuple[str, str], list[str]] = {}  # (org, slug) -> logins
        self._ids = itertools.count(1001)
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

    def calls(self, method: str, pattern: str = "") -> list[Seen]:
        """The API requests of `method` whose path matches the regex `pattern`."""
        return [
            r
            for r in self.seen("api")
            if r.method == method and re.fullmatch(pattern or ".*", r.path)
        ]

    def add_comments(self, issue: int, bodies: list[str]) -> list[int]:
        """Comments written by others (or by us, earlier); their ids."""
        ids = []
        for body in bodies:
            ids.append(next(self._ids))
            self.comments[ids[-1]] = {"id": ids[-1], "issue": issue, "body": body}
        return ids

    def open_pull(self, number: int, *heads: str) -> None:
        """Pull request `number` from branch feature, its head the first of `heads`, then
        each next one at each next read of it (the last one stays)."""
        self.pulls[number] = list(heads or (self.sha,))

    def add_commit(
        self,
        sha: str,
        login: str | None = "octocat",
        name: str = "The Octocat",
        email: str = "octocat@github.com",
    ) -> None:
        """A commit by `name <email>`, whose email belongs to GitHub account `login`
        (None: to no account, so GitHub's "author" is null)."""
        self.commits[sha] = {"login": login, "name": name, "email": email}

    def merge_pull(
        self,
        number: int,
        merge_sha: str,
        head: str,
        author: str = "octocat",
        base: str | None = None,
        commits: tuple[str, ...] = (),
    ) -> None:
        """Pull request `number` by `author`, from a branch whose head is `head`,
        merged into `base` (the followed branch) as `merge_sha`: GET commits/SHA/pulls
        lists it for the merge, its head and `commits`. A commit not yet added is added,
        by `author`."""
        for sha in (merge_sha, head, *commits):
            if sha not in self.commits:
                self.add_commit(sha, author, author.title(), f"{author}@example.com")
        self.merged[number] = {
            "merge_sha": merge_sha,
            "head": head,
            "author": author,
            "base": base or self.branch,
            "commits": {merge_sha, head, *commits},
        }
        self.pulls[number] = [head]

    def review(
        self,
        number: int,
        login: str,
        state: str,
        commit_id: str | None = None,
        submitted_at: str | None = None,
    ) -> dict:
        """A review of pull request `number` by `login` (state as the REST API spells
        it: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING), of `commit_id`
        (default the pull request's head), submitted after the ones before."""
        reviews = self.reviews.setdefault(number, [])
        rid = 80 + len(self.reviews[number]) + 1000 * number
        when = submitted_at or f"2024-05-01T10:{len(reviews):02d}:00Z"
        head = self.merged.get(number, {}).get("head") or (self.pulls.get(number) or [SHA])[-1]
        url = f"https://github.com/{self.repository}/pull/{number}#pullrequestreview-{rid}"
        api = f"{self.api_url}/repos/{self.repository}/pulls/{number}"
        reviews.append(
            {
                "id": rid,
                "node_id": f"PRR_{rid}",
                "user": _user(login),
                "body": "",
                "state": state,
                "html_url": url,
                "pull_request_url": api,
                "_links": {"html": {"href": url}, "pull_request": {"href": api}},
                "submitted_at": None if state == "PENDING" else when,
                "commit_id": commit_id or head,
                "author_association": "COLLABORATOR",
            }
        )
        return reviews[-1]

    def fail_on(self, pattern: str, failure: Failure) -> None:
        """Answer every API request whose path matches the regex `pattern` with
        `failure` (its status, and {"message": "Failed"})."""
        self.failing.append((pattern, failure))

    def add_team(self, org: str, slug: str, logins: list[str]) -> None:
        self.teams[(org.lower(), slug.lower())] = list(logins)

    def issue_comments(self, issue: int) -> list[dict]:
        return [c for c in self.comments.values() if c["issue"] == issue]

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
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        path, _, query = self.path.partition("?")
        seen = Seen(self.server.name, method, path, headers, body, query)
        fake.requests.append(seen)
        if fake.delay_seconds:
            time.sleep(fake.delay_seconds)
        if self.server.name == "codeload":
            self._codeload(fake)
        elif fake.status is not None:
            self._json(fake.status, {"message": "Failed", "documentation_url": "https://docs"})
        elif fake.failures:
            failure = fake.failures.pop(0)
            self._json(failure.status, {"message": "Failed"}, failure.headers)
        elif failing := next((f for p, f in fake.failing if re.fullmatch(p, path)), None):
            self._json(failing.status, {"message": "Failed"}, failing.headers)
        elif method == "GET" and _SHA_PATH.fullmatch(path):
            _Reports(self, fake, seen).commit_by_sha()
        elif method == "GET" and re.fullmatch(
            r"/repos/[^/]+/[^/]+/(branches|commits|tarball)/.+", path
        ):
            self._api(fake)
        else:
            _Reports(self, fake, seen).answer()

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

    def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send(status, "application/json; charset=utf-8", data, headers)

    def _send(
        self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Reports:
    """Comments, statuses, check runs and the App's endpoints, with GitHub's checks of
    the request body."""

    def __init__(self, handler: _Handler, fake: FakeGitHub, seen: Seen) -> None:
        self.h, self.fake, self.seen = handler, fake, seen

    def answer(self) -> None:
        repo = re.escape(self.fake.repository)
        routes = [
            ("GET", rf"/repos/{repo}/issues/(\d+)/comments", self.list_comments),
            ("POST", rf"/repos/{repo}/issues/(\d+)/comments", self.create_comment),
            ("PATCH", rf"/repos/{repo}/issues/comments/(\d+)", self.edit_comment),
            ("POST", rf"/repos/{repo}/statuses/([0-9a-f]{{40}})", self.create_status),
            ("POST", rf"/repos/{repo}/check-runs", self.create_check_run),
            ("PATCH", rf"/repos/{repo}/check-runs/(\d+)", self.update_check_run),
            ("GET", rf"/repos/{repo}/installation", self.installation),
            ("GET", rf"/repos/{repo}/pulls/(\d+)", self.pull_request),
            ("GET", rf"/repos/{repo}/pulls/(\d+)/reviews", self.pull_reviews),
            ("GET", r"/orgs/([^/]+)/teams/([^/]+)/members", self.team_members),
            ("POST", r"/app/installations/(\d+)/access_tokens", self.access_token),
        ]
        for method, pattern, route in routes:
            match = re.fullmatch(pattern, self.seen.path)
            if method == self.seen.method and match:
                route(*match.groups())
                return
        self.h._json(404, {"message": "Not Found"})

    # -- auth ------------------------------------------------------------------------

    def _token(self) -> str:
        value = self.seen.headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else ""

    def _user(self) -> bool:
        """An installation token, or the PAT when one is set (any token otherwise)."""
        token = self._token()
        ok = token in self.fake.installation_tokens or (
            token == self.fake.plain_token if self.fake.plain_token else bool(token)
        )
        if not ok:
            self.h._json(401, {"message": "Bad credentials"})
        return ok

    def _app(self) -> bool:
        """A JWT of the App, checked with its public key when the fake has one."""
        token = self._token()
        reason = _jwt_problem(token, self.fake.app_id, self.fake.app_public_key)
        if reason:
            self.fake.invalid.append(f"JWT: {reason}")
            self.h._json(401, {"message": f"A JSON web token could not be decoded: {reason}"})
        return not reason

    def _refuse(self, problems: list[str]) -> bool:
        if problems:
            self.fake.invalid.extend(problems)
            self.h._json(422, {"message": "Validation Failed", "errors": problems})
        return bool(problems)

    # -- comments --------------------------------------------------------------------

    def list_comments(self, issue: str) -> None:
        if not self._user():
            return
        params = dict(p.partition("=")[::2] for p in self.seen.query.split("&") if p)
        per_page = min(int(params.get("per_page") or 30), 100)
        page = int(params.get("page") or 1)
        comments = self.fake.issue_comments(int(issue))
        chunk = comments[(page - 1) * per_page : page * per_page]
        self.h._json(200, chunk)

    def create_comment(self, issue: str) -> None:
        body = self.seen.body
        if self._user() and not self._refuse(_comment_problems(body)):
            cid = next(self.fake._ids)
            self.fake.comments[cid] = {"id": cid, "issue": int(issue), "body": body["body"]}
            self.h._json(201, self.fake.comments[cid])

    def edit_comment(self, cid: str) -> None:
        body = self.seen.body
        if not self._user() or self._refuse(_comment_problems(body)):
            return
        if int(cid) not in self.fake.comments:
            self.h._json(404, {"message": "Not Found"})
            return
        self.fake.comments[int(cid)]["body"] = body["body"]
        self.h._json(200, self.fake.comments[int(cid)])

    # -- statuses and check runs -----------------------------------------------------

    def create_status(self, sha: str) -> None:
        body = self.seen.body
        if self._user() and not self._refuse(_status_problems(body)):
            self.fake.statuses.append({"sha": sha, **body})
            self.h._json(201, {"id": next(self.fake._ids), **body})

    def create_check_run(self) -> None:
        if self._token() not in self.fake.installation_tokens:
            self.h._json(403, {"message": "Resource not accessible by personal access token"})
            return
        body = self.seen.body
        problems = _check_run_problems(body, creating=True)
        if not self._refuse(problems):
            rid = next(self.fake._ids)
            annotations = list(body.get("output", {}).get("annotations", []))
            self.fake.check_runs[rid] = {"id": rid, **body, "annotations": annotations}
            self.h._json(201, {"id": rid, "name": body["name"], "head_sha": body["head_sha"]})

    def update_check_run(self, rid: str) -> None:
        if self._token() not in self.fake.installation_tokens:
            self.h._json(403, {"message": "Resource not accessible by personal access token"})
            return
        body = self.seen.body
        if self._refuse(_check_run_problems(body, creating=False)):
            return
        run = self.fake.check_runs.get(int(rid))
        if run is None:
            self.h._json(404, {"message": "Not Found"})
            return
        run["annotations"].extend(body.get("output", {}).get("annotations", []))
        run.update({k: v for k, v in body.items() if k != "output"})
        run["output"] = body.get("output", run.get("output"))
        self.h._json(200, {"id": run["id"], "name": run["name"]})

    # -- pull requests ---------------------------------------------------------------

    def pull_request(self, number: str) -> None:
        """A pull request as GitHub's "Get a pull request" answers it (the fields a
        client reads; the real answer has many more)."""
        heads = self.fake.pulls.get(int(number))
        if not heads:
            self.h._json(404, {"message": "Not Found"})
            return
        sha = heads.pop(0) if len(heads) > 1 else heads[0]
        self.h._json(200, self._pull(int(number), sha))

    def _pull(self, number: int, head: str) -> dict:
        api, name = self.fake.api_url, self.fake.repository
        owner = name.split("/")[0]
        merged = self.fake.merged.get(number)
        repo = {
            "id": 1296269,
            "name": name.split("/")[1],
            "full_name": name,
            "owner": {"login": owner, "type": "User"},
            "private": False,
            "url": f"{api}/repos/{name}",
        }
        base = merged["base"] if merged else self.fake.branch
        return {
            "url": f"{api}/repos/{name}/pulls/{number}",
            "id": 1000 + number,
            "number": number,
            "state": "closed" if merged else "open",
            "locked": False,
            "title": f"Pull request {number}",
            "user": _user(merged["author"] if merged else "octocat"),
            "draft": False,
            "merged": bool(merged),
            "merged_at": "2024-05-01T09:00:00Z" if merged else None,
            "merge_commit_sha": merged["merge_sha"] if merged else None,
            "html_url": f"https://github.com/{name}/pull/{number}",
            "head": {
                "label": f"{owner}:feature",
                "ref": "feature",
                "sha": head,
                "user": {"login": owner, "type": "User"},
                "repo": repo,
            },
            "base": {
                "label": f"{owner}:{base}",
                "ref": base,
                "sha": self.fake.sha,
                "user": {"login": owner, "type": "User"},
                "repo": repo,
            },
        }

    # -- change control: commits, their pull requests, reviews, teams ----------------

    def _known(self, sha: str) -> bool:
        return (
            sha == self.fake.sha
            or sha in self.fake.commits
            or any(sha in m["commits"] for m in self.fake.merged.values())
        )

    def commit_by_sha(self) -> None:
        """GET commits/SHA as "Get a commit" answers it, or GET commits/SHA/pulls as
        "List pull requests associated with a commit" does (merged ones here). A sha the
        repository does not have is answered 422, as GitHub does."""
        match = _SHA_PATH.fullmatch(self.seen.path)
        owner, name = self.fake.repository.lower().split("/")
        if (match[1].lower(), match[2].lower()) != (owner, name):
            self.h._json(404, {"message": "Not Found"})
            return
        sha = match[3]
        if not self._known(sha):
            self.h._json(422, {"message": f"No commit found for SHA: {sha}"})
            return
        if match[4]:
            pulls = [
                self._pull(number, m["head"])
                for number, m in sorted(self.fake.merged.items())
                if sha in m["commits"]
            ]
            self.h._json(200, pulls)
            return
        who = self.fake.commits.get(sha) or {
            "login": "octocat", "name": "The Octocat", "email": "octocat@github.com"
        }  # fmt: skip
        person = {"name": who["name"], "email": who["email"], "date": "2024-05-01T09:00:00Z"}
        api = f"{self.fake.api_url}/repos/{self.fake.repository}"
        self.h._json(
            200,
            {
                "sha": sha,
                "node_id": f"C_{sha[:12]}",
                "commit": {
                    "author": person,
                    "committer": person,
                    "message": "change",
                    "tree": {"sha": "0" * 40, "url": f"{api}/git/trees/{'0' * 40}"},
                    "url": f"{api}/git/commits/{sha}",
                    "comment_count": 0,
                },
                "url": f"{api}/commits/{sha}",
                "html_url": f"https://github.com/{self.fake.repository}/commit/{sha}",
                "author": _user(who["login"]) if who["login"] else None,
                "committer": _user("web-flow"),
                "parents": [],
                "stats": {"total": 0, "additions": 0, "deletions": 0},
                "files": [],
            },
        )

    def pull_reviews(self, number: str) -> None:
        if int(number) not in self.fake.pulls and int(number) not in self.fake.merged:
            self.h._json(404, {"message": "Not Found"})
            return
        self.h._json(200, self._page(self.fake.reviews.get(int(number), [])))

    def team_members(self, org: str, slug: str) -> None:
        """GitHub answers 404 for a team the caller cannot see: here, without a token."""
        logins = self.fake.teams.get((org.lower(), slug.lower()))
        if logins is None or not self._token():
            self.h._json(404, {"message": "Not Found"})
            return
        self.h._json(200, self._page([_user(login) for login in logins]))

    def _page(self, items: list) -> list:
        """One page of `items`, by the request's per_page (default 30, at most 100)
        and page (from 1), as GitHub paginates."""
        params = dict(p.partition("=")[::2] for p in self.seen.query.split("&") if p)
        per_page = min(int(params.get("per_page") or 30), 100)
        page = int(params.get("page") or 1)
        return items[(page - 1) * per_page : page * per_page]

    # -- the App ---------------------------------------------------------------------

    def installation(self) -> None:
        if self._app():
            self.h._json(200, {"id": INSTALLATION_ID, "app_id": int(self.fake.app_id)})

    def access_token(self, installation: str) -> None:
        if not self._app():
            return
        if int(installation) != INSTALLATION_ID:
            self.h._json(404, {"message": "Not Found"})
            return
        token = f"ghs_installation{len(self.fake.installation_tokens) + 1:04d}"
        self.fake.installation_tokens.append(token)
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.h._json(201, {"token": token, "expires_at": expires, "permissions": {}})


def _user(login: str) -> dict:
    """A user as GitHub embeds one in an answer (the fields a client reads)."""
    return {
        "login": login,
        "id": 5000 + sum(map(ord, login)),
        "type": "User",
        "html_url": f"https://github.com/{login}",
        "site_admin": False,
    }


def _comment_problems(body: object) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return ["comment: body (a string) is required"]
    extra = set(body) - {"body"}
    problems = [f"comment: unknown field {k}" for k in sorted(extra)]
    if len(body["body"]) > 65536:
        problems.append("comment: body is longer than 65536 characters")
    return problems


def _status_problems(body: object) -> list[str]:
    if not isinstance(body, dict):
        return ["status: body is not an object"]
    problems = [f"status: unknown field {k}" for k in sorted(set(body) - {
        "state", "target_url", "description", "context"})]  # fmt: skip
    if body.get("state") not in STATUS_STATES:
        problems.append(f"status: state {body.get('state')!r} not in {STATUS_STATES}")
    for name in ("description", "context", "target_url"):
        if name in body and not isinstance(body[name], str):
            problems.append(f"status: {name} is not a string")
    if len(str(body.get("description", ""))) > 140:
        problems.append("status: description is longer than 140 characters")
    if not body.get("context"):
        problems.append("status: context should be set (default is 'default')")
    return problems


def _check_run_problems(body: object, *, creating: bool) -> list[str]:
    if not isinstance(body, dict):
        return ["check run: body is not an object"]
    known = {"name", "head_sha", "details_url", "external_id", "status", "started_at",
             "conclusion", "completed_at", "output", "actions"}  # fmt: skip
    problems = [f"check run: unknown field {k}" for k in sorted(set(body) - known)]
    if creating:
        if not isinstance(body.get("name"), str) or not body.get("name"):
            problems.append("check run: name is required")
        if not re.fullmatch(r"[0-9a-f]{40}", str(body.get("head_sha", ""))):
            problems.append("check run: head_sha is required")
    if "status" in body and body["status"] not in CHECK_STATUSES:
        problems.append(f"check run: status {body['status']!r} not allowed")
    if "conclusion" in body and body["conclusion"] not in CHECK_CONCLUSIONS:
        problems.append(f"check run: conclusion {body['conclusion']!r} not allowed")
    if body.get("status") == "completed" and "conclusion" not in body and creating:
        problems.append("check run: a completed run needs a conclusion")
    output = body.get("output")
    if output is not None:
        problems += _output_problems(output)
    return problems


def _output_problems(output: object) -> list[str]:
    if not isinstance(output, dict):
        return ["check run: output is not an object"]
    problems = []
    for name in ("title", "summary"):
        if not isinstance(output.get(name), str) or not output[name]:
            problems.append(f"check run: output.{name} is required")
        elif len(output[name]) > 65535:
            problems.append(f"check run: output.{name} is longer than 65535 characters")
    annotations = output.get("annotations", [])
    if not isinstance(annotations, list) or len(annotations) > 50:
        return [*problems, "check run: at most 50 annotations per request"]
    for i, a in enumerate(annotations):
        where = f"check run: annotations[{i}]"
        if not isinstance(a, dict):
            problems.append(f"{where} is not an object")
            continue
        if not isinstance(a.get("path"), str) or not a["path"]:
            problems.append(f"{where}.path is required")
        for name in ("start_line", "end_line"):
            if not isinstance(a.get(name), int) or a[name] < 1:
                problems.append(f"{where}.{name} is required (a line number)")
        if a.get("annotation_level") not in ANNOTATION_LEVELS:
            problems.append(f"{where}.annotation_level not in {ANNOTATION_LEVELS}")
        if not isinstance(a.get("message"), str) or not a["message"]:
            problems.append(f"{where}.message is required")
        if len(str(a.get("title", ""))) > 255:
            problems.append(f"{where}.title is longer than 255 characters")
        extra = set(a) - {"path", "start_line", "end_line", "start_column", "end_column",
                          "annotation_level", "message", "title", "raw_details"}  # fmt: skip
        problems += [f"{where}: unknown field {k}" for k in sorted(extra)]
    return problems


def _jwt_problem(token: str, app_id: str, public_key) -> str:
    """Why `token` is not a valid App JWT ("" when it is)."""
    parts = token.split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        header, claims = (json.loads(_unb64(p)) for p in parts[:2])
        signature = _unb64(parts[2])
    except ValueError:
        return "undecodable"
    if header.get("alg") != "RS256":
        return "alg is not RS256"
    now = time.time()
    if str(claims.get("iss")) != app_id:
        return "iss is not the App's id"
    if not (claims.get("iat", now + 1) <= now < claims.get("exp", 0)):
        return "outside iat..exp"
    if claims["exp"] - claims["iat"] > 600:
        return "valid for more than ten minutes"
    if public_key is not None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            public_key.verify(
                signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return "bad signature"
    return ""


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
