"""The desired state read from GitHub's REST API, since the Lambda runtime has no git.

Two calls per pass: the branch (its head sha), then the tarball at that sha, which
GitHub answers with a redirect to codeload. The token goes to the API's host only, never
along a redirect to another host. The tarball is untrusted input: its size, its member
count and its members' kinds are capped before anything is written.

For change control, and only when a stack changes: who authored a commit, the pull
request that merged it and that pull request's reviews, and a team's members (an
`approvers:` entry ORG/TEAM).
"""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from reconciler.errors import SourceError
from reconciler.source import Checkout, CommitInfo, Review

API_VERSION = "2022-11-28"
USER_AGENT = "gitops-reconciler"
MAX_TARBALL_BYTES = 50 * 1024 * 1024  # compressed, as downloaded
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # the members' declared sizes, added up
MAX_MEMBERS = 10_000
MAX_REDIRECTS = 3
MAX_JSON_BYTES = 4 * 1024 * 1024  # one answer of the change-control calls
PER_PAGE = 100  # GitHub's largest page
MAX_PAGES = 30  # 3,000 reviews or team members: more is refused, not cut short
# Reviews and team members change; a pass reads them afresh (checkout forgets them), and
# a caller that does not check out never sees them older than this.
FRESH_SECONDS = 30.0
_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{40}")
_ORG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# Review states that decide: a later COMMENTED leaves an approval standing (as on GitHub).
_DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")
_PULLS_READ = "pull requests: read"


class SourceUnavailableError(SourceError):
    """GitHub did not answer, or answered 429 or 5xx: worth trying again later."""


@dataclass(frozen=True)
class _Merged:
    """The pull request that merged a commit: what judging its reviews needs."""

    number: str
    author: str  # its author's login: GitHub refuses a review of one's own pull request
    head: str  # its head when merged: an approval of an earlier head is stale


@dataclass(frozen=True)
class _Reading:
    """What was read about one commit."""

    commit: CommitInfo
    merged: _Merged | None
    # Why its pull requests could not be listed (a token without pull requests: read):
    # the author is still known, and reviews() says this instead of answering ().
    problem: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects come back as HTTPErrors, so each hop decides about the token itself."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class GitHubSource:
    """`repository` is "OWNER/NAME"; `token` returns a token that may read its contents
    (None for a public repository), called when a pass starts, not at construction."""

    repository: str
    branch: str = "main"
    token: Callable[[], str] | None = None
    api_url: str = "https://api.github.com"
    timeout_seconds: float = 10.0
    # A commit merged by a pull request never changes: read once per sha. Reviews, team
    # members and a commit without a pull request (yet) are kept, with when they were
    # read, until the next checkout or FRESH_SECONDS.
    _commits: dict[str, _Reading] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _recent: dict[tuple[str, ...], tuple[float, object]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.repository):
            raise SourceError(
                f"GitHub repository must be OWNER/NAME, got {self.repository!r} "
                "(DESIRED_STATE_REPOSITORY=github:OWNER/NAME)"
            )

    def is_repository(self, name: str) -> bool:
        """GitHub's names are case-insensitive; a webhook sends repository.full_name."""
        return name.casefold() == self.repository.casefold()

    def head_revision(self) -> str:
        return self._head(self._token())

    def checkout(self, dest: Path) -> Checkout:
        """The files at the branch head, from the tarball of the head's sha (so the files
        and the revision reported always match)."""
        self._recent.clear()  # a new pass: reviews and teams are read afresh
        token = self._token()
        return self._checkout(dest, self._head(token), token)

    def checkout_at(self, dest: Path, sha: str) -> Checkout:
        """The files at commit `sha` (a pull request's head, for a preview): the branch
        is not read."""
        if not _SHA.fullmatch(sha):
            raise SourceError(f"{self._what()}: {sha!r} is not a commit sha")
        return self._checkout(dest, sha, self._token())

    def pull_request_head(self, number: int) -> str:
        """The sha pull request `number`'s head points at now: a preview whose commit is
        no longer it has been superseded."""
        body = self._get(f"/repos/{self.repository}/pulls/{int(number)}", self._token(), 4 << 20)
        try:
            sha = json.loads(body)["head"]["sha"]
        except (ValueError, KeyError, TypeError) as err:
            raise SourceError(
                f"{self._what()}: GitHub answered an unexpected pull request"
            ) from err
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise SourceError(f"{self._what()}: GitHub answered an unexpected commit sha")
        return sha

    def commit(self, revision: str) -> CommitInfo:
        """The commit's author as a GitHub login (git's "Name <email>" when GitHub ties
        the commit to no account) and the number of the merged pull request that brought
        it. A revision that is not a sha, or that GitHub does not know, is an empty
        CommitInfo; a commit no pull request merged has pull_request "".

        GET /repos/{owner}/{repo}/commits/{sha} (per_page=1: the answer lists the
        commit's files, paginated, and none is needed) and GET .../commits/{sha}/pulls.
        """
        reading = self._reading(revision)
        return reading.commit if reading else CommitInfo()

    def reviews(self, revision: str) -> tuple[Review, ...]:
        """The reviews of the merged pull request that brought `revision`, latest per
        reviewer, oldest first; () when no pull request merged it.

        A reviewer's latest APPROVED, CHANGES_REQUESTED or DISMISSED review is their
        verdict (a later COMMENTED does not withdraw an approval, as on GitHub; a
        reviewer who only commented is listed COMMENTED). An approval of a head other
        than the one merged is reported DISMISSED, as GitHub's "Dismiss stale pull
        request approvals" branch rule would make it: it did not see what was merged
        (its commit_id says what it saw). The pull request's author's own reviews are
        left out (GitHub refuses their approval anyway), and so are pending (unsubmitted)
        reviews and reviews by deleted accounts.

        GET /repos/{owner}/{repo}/pulls/{number}/reviews, every page.
        """
        reading = self._reading(revision)
        if reading is not None and reading.problem:
            raise SourceError(reading.problem)
        if reading is None or reading.merged is None:
            return ()
        merged = reading.merged
        key = ("reviews", merged.number)
        kept = self._kept(key)
        if kept is not None:
            return kept  # type: ignore[return-value]
        what = f"cannot read the reviews of pull request #{merged.number} of {self._where()}"
        listed = self._pages(
            f"/repos/{self.repository}/pulls/{merged.number}/reviews",
            self._token(),
            what,
            need=_PULLS_READ,
            missing="pull request not found (or the token cannot see it)",
        )
        found = _verdicts(listed, merged, what)
        self._recent[key] = (time.monotonic(), found)
        return found

    def team_members(self, org: str, team: str) -> set[str]:
        """The lower-cased logins of team ORG/TEAM (its slug, as in the team's URL),
        for an `approvers:` entry naming a team.

        GET /orgs/{org}/teams/{team_slug}/members, every page. GitHub answers 404 for a
        team the token cannot see, so a 404 or 403 says which permission is needed.
        """
        if not (_ORG.fullmatch(org) and _TEAM.fullmatch(team)):
            raise SourceError(f"{org}/{team} is not a GitHub team (ORG/TEAM-SLUG)")
        key = ("team", org.lower(), team.lower())
        kept = self._kept(key)
        if kept is not None:
            return set(kept)  # type: ignore[arg-type]
        what = f"cannot read the members of GitHub team {org}/{team}"
        need = "read:org, or a GitHub App's Members: read"
        listed = self._pages(
            f"/orgs/{org}/teams/{team}/members",
            self._token(),
            what,
            need=need,
            missing=f"no such team, or the token cannot see it (it needs {need})",
            forbidden=f"the token cannot list the team's members (it needs {need})",
        )
        logins = set()
        for member in listed:
            login = member.get("login") if isinstance(member, dict) else None
            if not isinstance(login, str) or not login:
                raise SourceError(f"{what}: GitHub answered an unexpected member")
            logins.add(login.lower())
        self._recent[key] = (time.monotonic(), frozenset(logins))
        return logins

    def _reading(self, revision: str) -> _Reading | None:
        """The commit's author and merged pull request, read once per sha; None for a
        revision that is not a sha or that GitHub does not know."""
        if not _SHA.fullmatch(revision):
            return None
        if revision in self._commits:
            return self._commits[revision]
        recent = self._kept(("commit", revision))
        if recent is not None:
            return recent  # type: ignore[return-value]
        token = self._token()
        what = f"cannot read commit {revision[:12]} of {self._where()}"
        body = self._get(
            f"/repos/{self.repository}/commits/{revision}?per_page=1",
            token,
            MAX_JSON_BYTES,
            what=what,
            absent=(404, 422),  # GitHub: 422 "No commit found for SHA"
        )
        if body is None:
            return None
        author = _commit_author(_json(body, what, dict), what)
        what = f"cannot read the pull requests of commit {revision[:12]} of {self._where()}"
        problem = ""
        try:
            pulls = self._get(
                f"/repos/{self.repository}/commits/{revision}/pulls?per_page={PER_PAGE}",
                token,
                MAX_JSON_BYTES,
                what=what,
                need=_PULLS_READ,
                absent=(404, 422),  # no pull request
            )
        except SourceUnavailableError:
            raise
        except SourceError as err:  # a token made for contents:read only
            pulls, problem = None, str(err)
        merged = _merged(_json(pulls, what, list), revision, self.branch) if pulls else None
        number = merged.number if merged else ""
        by = merged.author if merged else ""
        info = CommitInfo(**author, pull_request=number, pull_request_author=by)
        reading = _Reading(info, merged, problem)
        if merged:
            self._commits[revision] = reading
        else:  # GitHub links a merge to its pull request a moment later: ask again soon
            self._recent[("commit", revision)] = (time.monotonic(), reading)
        return reading

    def _kept(self, key: tuple[str, ...]) -> object | None:
        kept = self._recent.get(key)
        if kept is None or time.monotonic() - kept[0] > FRESH_SECONDS:
            return None
        return kept[1]

    def _pages(
        self,
        path: str,
        token: str,
        what: str,
        *,
        need: str,
        missing: str,
        forbidden: str = "",
    ) -> list:
        """Every item of a paginated list, PER_PAGE at a time until a short page."""
        items: list = []
        for page in range(1, MAX_PAGES + 1):
            body = self._get(
                f"{path}?per_page={PER_PAGE}&page={page}",
                token,
                MAX_JSON_BYTES,
                what=what,
                need=need,
                missing=missing,
                forbidden=forbidden,
            )
            chunk = _json(body, what, list)
            items.extend(chunk)
            if len(chunk) < PER_PAGE:
                return items
        raise SourceError(f"{what}: more than {MAX_PAGES * PER_PAGE} entries; not read")

    def _where(self) -> str:
        return f"github:{self.repository}"

    def _checkout(self, dest: Path, sha: str, token: str) -> Checkout:
        data = self._get(f"/repos/{self.repository}/tarball/{sha}", token, MAX_TARBALL_BYTES)
        dest.mkdir(parents=True)
        _extract(data, dest, self._what())
        return Checkout(dest, sha)

    def _head(self, token: str) -> str:
        branch = quote(self.branch, safe="/")
        body = self._get(f"/repos/{self.repository}/branches/{branch}", token, 1024 * 1024)
        try:
            sha = json.loads(body)["commit"]["sha"]
        except (ValueError, KeyError, TypeError) as err:
            raise SourceError(f"{self._what()}: GitHub answered an unexpected branch") from err
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise SourceError(f"{self._what()}: GitHub answered an unexpected commit sha")
        return sha

    def _token(self) -> str:
        return self.token() if self.token else ""

    def _what(self) -> str:
        return f"cannot read github:{self.repository} at {self.branch}"

    def _get(
        self,
        path: str,
        token: str,
        limit: int,
        *,
        what: str = "",
        need: str = "contents:read",
        missing: str = "repository or branch not found (or the token cannot see it)",
        forbidden: str = "",
        absent: tuple[int, ...] = (),
    ) -> bytes | None:
        """GET with redirects followed by hand: the Authorization header goes only to the
        API's own scheme, host and port. An HTTP status in `absent` answers None (a
        thing that is not there); any other error is a SourceError saying `what` could
        not be done and, for 401/403, the permission `need`ed."""
        what = what or self._what()
        url = self.api_url.rstrip("/") + path
        api = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            request = urllib.request.Request(url, headers=self._headers())
            if token and _origin(url) == api:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with _opener.open(request, timeout=self.timeout_seconds) as answer:
                    return _read_capped(answer, limit, what)
            except urllib.error.HTTPError as err:
                location = (
                    err.headers.get("Location") if err.code in (301, 302, 303, 307, 308) else None
                )
                err.close()
                if err.code in absent:
                    return None
                if not location:
                    raise self._http_error(err, what, need, missing, forbidden) from None
                url = urljoin(url, location)
                if urlsplit(url).scheme not in ("https", "http"):
                    raise SourceError(f"{what}: redirected to an unsupported URL") from None
            except TimeoutError as err:
                raise SourceUnavailableError(f"{what}: GitHub unavailable: timed out") from err
            except urllib.error.URLError as err:
                reason = "timed out" if isinstance(err.reason, TimeoutError) else str(err.reason)
                raise SourceUnavailableError(f"{what}: GitHub unavailable: {reason}") from err
            except OSError as err:  # a connection reset while reading
                raise SourceUnavailableError(
                    f"{what}: GitHub unavailable: {err.strerror or err}"
                ) from err
        raise SourceError(f"{what}: too many redirects")

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }

    def _http_error(
        self,
        err: urllib.error.HTTPError,
        what: str,
        need: str = "contents:read",
        missing: str = "repository or branch not found (or the token cannot see it)",
        forbidden: str = "",
    ) -> SourceError:
        """One line naming what could not be read and the status; never the URL
        (codeload's carries a token) nor the request's headers."""
        code = err.code
        rate_limited = code == 429 or (
            code == 403
            and (err.headers.get("X-RateLimit-Remaining") == "0" or err.headers.get("Retry-After"))
        )
        if rate_limited:
            return SourceUnavailableError(f"{what}: HTTP {code}: GitHub rate limit reached")
        if code >= 500:
            return SourceUnavailableError(f"{what}: HTTP {code}: GitHub unavailable")
        if code == 403 and forbidden:
            return SourceError(f"{what}: HTTP 403: {forbidden}")
        if code in (401, 403):
            return SourceError(f"{what}: HTTP {code}: token missing or lacks {need}")
        if code == 404:
            return SourceError(f"{what}: HTTP 404: {missing}")
        return SourceError(f"{what}: HTTP {code}")


def _json(body: bytes | None, what: str, kind: type) -> object:
    try:
        value = json.loads(body or b"")
    except ValueError as err:
        raise SourceError(f"{what}: GitHub answered something that is not JSON") from err
    if not isinstance(value, kind):
        raise SourceError(f"{what}: GitHub answered an unexpected {kind.__name__}")
    return value


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _commit_author(data: dict, what: str) -> dict[str, str]:
    """author, author_name, author_email of a "Get a commit" answer: `author` is the
    GitHub account the commit's email belongs to (null when none), `commit.author` what
    git recorded."""
    user = data.get("author")
    commit = data.get("commit")
    git_author = commit.get("author") if isinstance(commit, dict) else None
    if not isinstance(git_author, dict):
        raise SourceError(f"{what}: GitHub answered an unexpected commit")
    name, email = _text(git_author.get("name")), _text(git_author.get("email"))
    login = _text(user.get("login")) if isinstance(user, dict) else ""
    shown = f"{name} <{email}>" if name and email else name or email
    return {"author": login or shown, "author_name": name, "author_email": email}


def _merged(pulls: list, sha: str, branch: str) -> _Merged | None:
    """Of the pull requests a commit belongs to, the merged one that made it (its
    merge_commit_sha is `sha`), else one merged into `branch`, else the first merged."""
    merged = [p for p in pulls if isinstance(p, dict) and p.get("merged_at")]

    def base(p: dict) -> str:
        return _text(p["base"].get("ref")) if isinstance(p.get("base"), dict) else ""

    chosen = next(
        (p for p in merged if p.get("merge_commit_sha") == sha),
        next((p for p in merged if base(p) == branch), merged[0] if merged else None),
    )
    if chosen is None or not isinstance(chosen.get("number"), int):
        return None
    user = chosen.get("user") if isinstance(chosen.get("user"), dict) else {}
    head = chosen.get("head") if isinstance(chosen.get("head"), dict) else {}
    return _Merged(str(chosen["number"]), _text(user.get("login")), _text(head.get("sha")))


def _verdicts(listed: list, merged: _Merged, what: str) -> tuple[Review, ...]:
    """Each reviewer's latest verdict (see GitHubSource.reviews), oldest first."""
    reviews = []
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("state"), str):
            raise SourceError(f"{what}: GitHub answered an unexpected review")
        user = item.get("user")
        login = _text(user.get("login")) if isinstance(user, dict) else ""
        state = item["state"].upper()
        if not login or state == "PENDING" or login.lower() == merged.author.lower():
            continue
        commit_id = _text(item.get("commit_id"))
        if state == "APPROVED" and merged.head and commit_id != merged.head:
            state = "DISMISSED"  # stale: it approved an earlier head
        submitted = _text(item.get("submitted_at"))
        ident = item.get("id") if isinstance(item.get("id"), int) else 0
        reviews.append(
            (submitted, ident, Review(login, state, commit_id, submitted, merged.number))
        )
    latest: dict[str, Review] = {}
    for _, _, review in sorted(reviews, key=lambda r: (r[0], r[1])):
        kept = latest.get(review.login.lower())
        if review.state in _DECISIVE or kept is None or kept.state not in _DECISIVE:
            latest[review.login.lower()] = review
    return tuple(sorted(latest.values(), key=lambda r: r.submitted_at))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _read_capped(answer: Any, limit: int, what: str) -> bytes:
    declared = answer.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise SourceError(f"{what}: answer larger than {limit // (1024 * 1024)} MiB")
    data = answer.read(limit + 1)
    if len(data) > limit:
        raise SourceError(f"{what}: answer larger than {limit // (1024 * 1024)} MiB")
    return data


def _extract(data: bytes, dest: Path, what: str) -> None:
    """Extract GitHub's tarball into `dest` without its single top folder
    (`OWNER-NAME-SHA/`). Streamed, so a member's declared size is checked before its
    data is inflated; only files and folders; tarfile's "data" filter refuses absolute
    paths and paths that leave `dest`."""
    import tarfile  # here: only a pass at a new commit unpacks one (~20 ms of a cold start)

    top = None
    members = 0
    unpacked = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as tar:
            for member in tar:
                members += 1
                if members > MAX_MEMBERS:
                    raise SourceError(f"{what}: tarball has more than {MAX_MEMBERS} entries")
                first, _, rest = member.name.partition("/")
                top = top or first
                if first != top or first in ("", ".", "..") or not (rest or member.isdir()):
                    raise SourceError(f"{what}: tarball is not one top folder")
                if not rest:
                    continue
                if not (member.isfile() or member.isdir()):
                    raise SourceError(f"{what}: {rest} is a link or special file; not allowed")
                unpacked += member.size
                if unpacked > MAX_UNPACKED_BYTES:
                    raise SourceError(
                        f"{what}: tarball unpacks to more than "
                        f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MiB"
                    )
                tar.extract(member.replace(name=str(PurePosixPath(rest))), dest, filter="data")
    except tarfile.FilterError as err:
        raise SourceError(f"{what}: unsafe path in tarball: {err}") from err
    except (tarfile.TarError, EOFError, OSError) as err:
        raise SourceError(f"{what}: unreadable tarball: {err}") from err
