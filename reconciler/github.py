"""The desired state read from GitHub's REST API, since the Lambda runtime has no git.

Two calls per pass: the branch (its head sha), then the tarball at that sha, which
GitHub answers with a redirect to codeload. The token goes to the API's host only, never
along a redirect to another host. The tarball is untrusted input: its size, its member
count and its members' kinds are capped before anything is written.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from reconciler.errors import SourceError
from reconciler.source import Checkout

API_VERSION = "2022-11-28"
USER_AGENT = "gitops-reconciler"
MAX_TARBALL_BYTES = 50 * 1024 * 1024  # compressed, as downloaded
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # the members' declared sizes, added up
MAX_MEMBERS = 10_000
MAX_REDIRECTS = 3
_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{40}")


class SourceUnavailableError(SourceError):
    """GitHub did not answer, or answered 429 or 5xx: worth trying again later."""


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

    def _get(self, path: str, token: str, limit: int) -> bytes:
        """GET with redirects followed by hand: the Authorization header goes only to the
        API's own scheme, host and port."""
        url = self.api_url.rstrip("/") + path
        api = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            request = urllib.request.Request(url, headers=self._headers())
            if token and _origin(url) == api:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with _opener.open(request, timeout=self.timeout_seconds) as answer:
                    return _read_capped(answer, limit, self._what())
            except urllib.error.HTTPError as err:
                location = (
                    err.headers.get("Location") if err.code in (301, 302, 303, 307, 308) else None
                )
                err.close()
                if not location:
                    raise self._http_error(err) from None
                url = urljoin(url, location)
                if urlsplit(url).scheme not in ("https", "http"):
                    raise SourceError(f"{self._what()}: redirected to an unsupported URL") from None
            except TimeoutError as err:
                raise SourceUnavailableError(
                    f"{self._what()}: GitHub unavailable: timed out"
                ) from err
            except urllib.error.URLError as err:
                reason = "timed out" if isinstance(err.reason, TimeoutError) else str(err.reason)
                raise SourceUnavailableError(
                    f"{self._what()}: GitHub unavailable: {reason}"
                ) from err
            except OSError as err:  # a connection reset while reading
                raise SourceUnavailableError(
                    f"{self._what()}: GitHub unavailable: {err.strerror or err}"
                ) from err
        raise SourceError(f"{self._what()}: too many redirects")

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }

    def _http_error(self, err: urllib.error.HTTPError) -> SourceError:
        """One line naming the repository and the status; never the URL (codeload's
        carries a token) nor the request's headers."""
        code = err.code
        rate_limited = code == 429 or (
            code == 403
            and (err.headers.get("X-RateLimit-Remaining") == "0" or err.headers.get("Retry-After"))
        )
        if rate_limited:
            return SourceUnavailableError(f"{self._what()}: HTTP {code}: GitHub rate limit reached")
        if code >= 500:
            return SourceUnavailableError(f"{self._what()}: HTTP {code}: GitHub unavailable")
        if code in (401, 403):
            return SourceError(f"{self._what()}: HTTP {code}: token missing or lacks contents:read")
        if code == 404:
            return SourceError(
                f"{self._what()}: HTTP 404: repository or branch not found "
                "(or the token cannot see it)"
            )
        return SourceError(f"{self._what()}: HTTP {code}")


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
