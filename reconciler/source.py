"""The desired-state repository: read at the branch head at processing time, never at
the commit an event names, so a late or repeated delivery cannot roll a stack back.

A `Source` is where the desired state lives. `GitSource` reads any git URL or path with
the git CLI (the CLI, the demo, self-hosted git); `reconciler.github.GitHubSource` reads
GitHub through its REST API and `reconciler.aws.codecommit.CodeCommitSource` reads
CodeCommit through its API, since the Lambda runtime has no git.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from reconciler.errors import SourceError


@dataclass(frozen=True)
class Checkout:
    root: Path
    revision: str


@dataclass(frozen=True)
class CommitInfo:
    """Who made a commit, and through which pull request: for the audit trail and for
    refusing an approval by the commit's own author."""

    author: str = ""  # a GitHub login where the source knows it, else git's "Name <email>"
    author_name: str = ""
    author_email: str = ""
    pull_request: str = ""  # the number of the pull request that merged it, when known
    # That pull request's author (a GitHub login): with a merge commit, the commit's
    # author is whoever merged, and the change is still the pull request author's.
    pull_request_author: str = ""

    def identities(self) -> set[str]:
        """Lower-cased names an approver's identity is compared with: the login, the
        name, the email and the email's local part, and the pull request's author."""
        found = {self.author, self.author_name, self.author_email, self.pull_request_author}
        found.add(self.author_email.partition("@")[0])
        return {n.strip().lower() for n in found if n and n.strip()}


@dataclass(frozen=True)
class Review:
    """A pull request review, as GitHub reports it."""

    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    commit_id: str  # the pull request's head when the review was given
    submitted_at: str
    pull_request: str


class Source(Protocol):
    """A desired-state repository followed at one branch."""

    repository: str  # as configured; said in messages
    branch: str

    def is_repository(self, name: str) -> bool:
        """Whether an event's repository name (as the event spells it) is this one."""
        ...

    def head_revision(self) -> str:
        """The commit the branch points at now (one cheap call)."""
        ...

    def checkout(self, dest: Path) -> Checkout:
        """The files at the branch head, written under `dest` (which must not exist)."""
        ...

    def commit(self, revision: str) -> CommitInfo:
        """Who authored `revision` and its pull request; empty where unknown. Called
        only when a stack changes, so a no-op pass costs nothing more."""
        ...

    def reviews(self, revision: str) -> tuple[Review, ...]:
        """The reviews of the pull request that merged `revision`, latest per reviewer;
        () where the source has no reviews (plain git, CodeCommit)."""
        ...


def ref_of(source: Source) -> str:
    return f"refs/heads/{source.branch}"


def _git(*args: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except FileNotFoundError as err:
        raise SourceError("git is not installed") from err
    except subprocess.TimeoutExpired as err:
        raise SourceError(f"git {args[0]} timed out") from err
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SourceError(f"git {args[0]} failed: {last}")
    return done.stdout.strip()


_SHA = re.compile(r"[0-9a-f]{7,40}")
_AUTHOR_FORMAT = "--format=%an%x00%ae"  # name NUL email: neither may hold a NUL


@dataclass(frozen=True)
class GitSource:
    """Any repository the git CLI can clone: a path, file://, https:// or ssh URL."""

    repository: str
    branch: str = "main"
    # revision -> its author, read at checkout (the clone is at hand then) or fetched
    # once: a commit's author never changes, so it is asked of git once per revision.
    _authors: dict[str, CommitInfo] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def is_repository(self, name: str) -> bool:
        return same_repository(name, self.repository)

    def head_revision(self) -> str:
        ref = f"refs/heads/{self.branch}"
        listed = _git("ls-remote", "--", self.repository, ref)
        for line in listed.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        raise SourceError(f"branch {self.branch!r} not found in {self.repository}")

    def checkout(self, dest: Path) -> Checkout:
        """A shallow clone of the branch at its head."""
        _git(
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--single-branch",
            "--branch",
            self.branch,
            "--",
            self.repository,
            str(dest),
        )
        revision = _git("rev-parse", "HEAD", cwd=dest)
        if revision not in self._authors:
            self._authors[revision] = _author(_git("log", "-1", _AUTHOR_FORMAT, "HEAD", cwd=dest))
        return Checkout(dest, revision)

    def commit(self, revision: str) -> CommitInfo:
        """The author git recorded ("Name <email>"; git knows no logins nor pull
        requests). The head's was read at checkout; another revision is fetched alone
        (depth 1) into a scratch repository. A revision that is not a sha (a working
        copy's "+dirty") or that the repository does not have is an empty CommitInfo."""
        if revision in self._authors:
            return self._authors[revision]
        if not _SHA.fullmatch(revision):
            return CommitInfo()
        with tempfile.TemporaryDirectory(prefix="commit-") as scratch:
            # A bare scratch repository named by --git-dir: git runs in this process's
            # folder, so a relative repository path means what it means to clone.
            scratched = ("--git-dir", scratch)
            try:
                _git("init", "--quiet", "--bare", scratch)
                _git(
                    *scratched, "fetch", "--quiet", "--depth", "1", "--no-tags", "--",
                    self.repository, revision,
                )  # fmt: skip
                found = _author(_git(*scratched, "log", "-1", _AUTHOR_FORMAT, "FETCH_HEAD"))
            except SourceError:
                return CommitInfo()  # not in the repository (or not fetchable by sha)
        self._authors[revision] = found
        return found

    def reviews(self, revision: str) -> tuple[Review, ...]:
        """Plain git has no pull requests, so no reviews."""
        return ()


def _author(line: str) -> CommitInfo:
    name, _, email = line.partition("\0")
    name, email = name.strip(), email.strip()
    if not (name or email):
        return CommitInfo()
    author = f"{name} <{email}>" if name and email else name or email
    return CommitInfo(author=author, author_name=name, author_email=email)


def local_revision(path: Path) -> str:
    """HEAD of a working copy (with '+dirty' when it has uncommitted changes), or ''
    when the path is not in a git repository."""
    try:
        head = _git("rev-parse", "HEAD", cwd=path)
        dirty = _git("status", "--porcelain", cwd=path)
    except SourceError:
        return ""
    return f"{head}+dirty" if dirty else head


def same_repository(a: str, b: str) -> bool:
    """Whether two spellings (a path, a file:// URL, a remote URL) name one repository."""
    return _normal(a) == _normal(b)


def _normal(location: str) -> str:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        location = parsed.path
    elif parsed.scheme:
        return location.rstrip("/").removesuffix(".git")
    return str(Path(location).expanduser().resolve()).removesuffix("/.git")
