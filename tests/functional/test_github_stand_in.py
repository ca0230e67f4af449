"""harness/github_stand_in.py: the demo's stand-ins for GitHub's preview ports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.github_stand_in import GitHubStandIn, LocalPullRequests
from reconciler.errors import SourceError
from reconciler.github_report import MARKER


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_pull_request_head_is_its_branch_and_is_checked_out_at_a_sha(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "f.txt").write_text("main\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "main")
    git(repo, "switch", "--quiet", "-c", "feature")
    (repo / "f.txt").write_text("feature\n")
    git(repo, "commit", "--quiet", "-am", "feature")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "--quiet", "main")
    source = LocalPullRequests(repo, {7: "feature"})

    assert source.pull_request_head(7) == head
    checkout = source.checkout_at(tmp_path / "out", head)
    assert checkout.revision == head
    assert (checkout.root / "f.txt").read_text() == "feature\n"
    with pytest.raises(SourceError):
        source.pull_request_head(8)


def test_the_stand_in_records_one_comment_per_pull_request_and_the_plan_status():
    said: list[str] = []
    github = GitHubStandIn(say=said.append)
    github.upsert_comment(1, "first")
    github.upsert_comment(1, "second")
    github.report_plan("a" * 40, ok=False, summary="1 blocked")

    assert github.comments == {1: f"{MARKER}\nsecond"}
    assert [(s["context"], s["state"]) for s in github.statuses] == [
        ("gitops-reconciler/plan", "failure")
    ]
    assert "  GitHub would edit on pull request #1:" in said
    assert said[-1].endswith("gitops-reconciler/plan: failure (1 blocked)")
