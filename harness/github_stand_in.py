"""GitHub's part in a pull request preview, stood in for by the local git repository.

For the demo only (`harness/demo.py`): there is no GitHub and no internet there. The
preview (`reconciler.preview.run_preview`) takes two ports that are GitHub in a real
installation, `reconciler.github.GitHubSource` and `reconciler.github_report.GitHubReporter`:

- `LocalPullRequests` reads a pull request's head from the demo's git repository: pull
  request number N is a local branch, and its head is that branch's commit;
- `GitHubStandIn` takes what would be posted to GitHub (the one PR comment, the commit
  statuses) and records and prints it instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import SourceError
from reconciler.github_report import MARKER, PLAN_CONTEXT, Annotation
from reconciler.source import Checkout


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SourceError(f"git {args[0]} failed: {last}")
    return done.stdout.strip()


@dataclass(frozen=True)
class LocalPullRequests:
    """The preview's source port over a local repository: `branches` maps a pull
    request's number to its head branch."""

    repository: Path
    branches: Mapping[int, str]

    def checkout_at(self, dest: Path, sha: str) -> Checkout:
        """The files at commit `sha`, written under `dest` (which must not exist)."""
        _git("clone", "--quiet", "--no-checkout", "--", str(self.repository), str(dest))
        _git("checkout", "--quiet", "--detach", sha, cwd=dest)
        return Checkout(dest, _git("rev-parse", "HEAD", cwd=dest))

    def pull_request_head(self, number: int) -> str:
        if number not in self.branches:
            raise SourceError(f"no pull request #{number}")
        return _git("rev-parse", f"refs/heads/{self.branches[number]}", cwd=self.repository)


@dataclass
class GitHubStandIn:
    """The reporter port (as GitHubReporter without an App: a comment and commit
    statuses), recording each report in `comments` / `statuses` and printing it."""

    say: Callable[[str], None] = print
    comments: dict[int, str] = field(default_factory=dict)
    statuses: list[dict[str, str]] = field(default_factory=list)

    def upsert_comment(self, pr_number: int, body: str) -> None:
        text = body if body.startswith(MARKER) else f"{MARKER}\n{body}"
        edited = pr_number in self.comments
        self.comments[pr_number] = text
        self.say(f"  GitHub would {'edit' if edited else 'post'} on pull request #{pr_number}:")
        for line in text.splitlines():
            self.say(f"    | {line}")

    def set_status(
        self, sha: str, context: str, state: str, description: str, target_url: str = ""
    ) -> None:
        status = {"sha": sha, "context": context, "state": state, "description": description}
        self.statuses.append(status)
        self.say(f"  GitHub would set the status of {sha[:12]}: {context}: {state} ({description})")

    def report_plan(
        self, sha: str, *, ok: bool, summary: str, annotations: Sequence[Annotation] = ()
    ) -> Any:
        self.set_status(sha, PLAN_CONTEXT, "success" if ok else "failure", summary)
        for a in annotations:
            self.say(f"    annotation {a.path}:{a.line} {a.level}: {a.message}")
