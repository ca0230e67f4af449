"""The desired-state repository: read at the branch head at processing time, never at
the commit an event names, so a late or repeated delivery cannot roll a stack back."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from reconciler.errors import SourceError


@dataclass(frozen=True)
class Checkout:
    root: Path
    revision: str


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


def checkout_head(repository: str, branch: str, dest: Path) -> Checkout:
    """A shallow clone of `branch` at its head into `dest` (which must not exist)."""
    _git(
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--branch",
        branch,
        "--",
        repository,
        str(dest),
    )
    return Checkout(dest, _git("rev-parse", "HEAD", cwd=dest))


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
