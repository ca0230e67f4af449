"""Who authored a commit, from the sources without pull request reviews: GitSource on a
temporary repository (the head's author read at checkout, another commit fetched alone)
and CodeCommitSource on botocore's Stubber (moto has no GetCommit)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from reconciler import source as source_module
from reconciler.aws.codecommit import CodeCommitSource
from reconciler.errors import AwsError
from reconciler.source import CommitInfo, GitSource
from tests.repo import commit, git, git_repo

REPO = "gitops-desired-state"
COMMIT = "5d8e2f9a1b3c4d5e6f708192a3b4c5d6e7f80912"


def authored(repo: Path, name: str, email: str) -> str:
    """A commit by `name <email>` (the committer is someone else); its sha."""
    (repo / "notes.txt").write_text(f"{name}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "change", f"--author={name} <{email}>")
    return git(repo, "rev-parse", "HEAD")


# -- GitSource ---------------------------------------------------------------------------


def test_the_heads_author_is_read_at_checkout_without_another_git_call(tmp_path, monkeypatch):
    """GIVEN a repository whose head is Alice's WHEN checked out and then asked who
    authored the head THEN "Alice <alice@example.com>", with no git call after the
    checkout, and no login nor pull request (git has neither)."""
    repo = git_repo(tmp_path / "repo")
    head = authored(repo, "Alice Smith", "alice@example.com")
    source = GitSource(str(repo))
    checkout = source.checkout(tmp_path / "out")
    assert checkout.revision == head

    def no_git(*args, **kwargs):
        raise AssertionError(f"git called again: {args}")

    monkeypatch.setattr(source_module, "_git", no_git)
    assert source.commit(head) == CommitInfo(
        "Alice Smith <alice@example.com>", "Alice Smith", "alice@example.com", ""
    )
    assert source.reviews(head) == ()


def test_an_older_commit_is_fetched_alone(tmp_path):
    """GIVEN Bob's commit, then Alice's on top (the shallow checkout has only Alice's)
    WHEN asked who authored Bob's THEN it is fetched by sha and names Bob."""
    repo = git_repo(tmp_path / "repo")
    older = authored(repo, "Bob", "bob@example.com")
    authored(repo, "Alice", "alice@example.com")
    source = GitSource(str(repo))
    source.checkout(tmp_path / "out")
    assert source.commit(older) == CommitInfo("Bob <bob@example.com>", "Bob", "bob@example.com")


def test_an_older_commit_of_a_repository_named_by_a_relative_path_is_found(tmp_path, monkeypatch):
    """GIVEN the repository named relative to the working folder (as the CLI may be
    given it) WHEN an older commit is asked for THEN it is found there."""
    repo = git_repo(tmp_path / "repo")
    older = authored(repo, "Bob", "bob@example.com")
    authored(repo, "Alice", "alice@example.com")
    monkeypatch.chdir(tmp_path)
    assert GitSource("repo").commit(older).author == "Bob <bob@example.com>"


def test_a_commit_is_asked_of_git_once(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "repo")
    older = authored(repo, "Bob", "bob@example.com")
    commit(repo, {"more.txt": "x"})
    source = GitSource(f"file://{repo}")
    first = source.commit(older)
    monkeypatch.setattr(source_module, "_git", lambda *a, **k: pytest.fail("git asked again"))
    assert source.commit(older) == first


@pytest.mark.parametrize(
    "revision", ["d" * 40, "", "abc+dirty", "main", "--upload-pack=touch /tmp/x", "HEAD~1"]
)
def test_an_unknown_revision_is_an_empty_commit_info(tmp_path, revision):
    """GIVEN a sha the repository does not have, or something that is not a sha (a
    dirty working copy, a branch name, an option) WHEN asked THEN an empty CommitInfo,
    never a traceback, and nothing given to git as an option."""
    source = GitSource(str(git_repo(tmp_path / "repo")))
    assert source.commit(revision) == CommitInfo()


def test_an_unreachable_repository_is_an_empty_commit_info(tmp_path):
    source = GitSource(str(tmp_path / "nowhere"))
    assert source.commit("d" * 40) == CommitInfo()


# -- CodeCommitSource --------------------------------------------------------------------


@pytest.fixture
def stubbed() -> tuple[CodeCommitSource, Stubber]:
    client = boto3.client("codecommit", region_name="us-east-1")
    with Stubber(client) as stub:
        yield CodeCommitSource(REPO, "main", client=client), stub
        stub.assert_no_pending_responses()


def get_commit(stub: Stubber, name: str = "Alice", email: str = "alice@example.com") -> None:
    person = {"name": name, "email": email, "date": "1714557600 +0000"}
    stub.add_response(
        "get_commit",
        {
            "commit": {
                "commitId": COMMIT,
                "treeId": "0" * 40,
                "parents": [],
                "message": "change\n",
                "author": person,
                "committer": person,
            }
        },
        {"repositoryName": REPO, "commitId": COMMIT},
    )


def test_codecommit_names_gits_author_from_get_commit(stubbed):
    """GIVEN a commit by Alice WHEN asked THEN "Alice <alice@example.com>" from one
    GetCommit naming the repository and commit; no reviews (approval rules are out of
    scope)."""
    source, stub = stubbed
    get_commit(stub)
    assert source.commit(COMMIT) == CommitInfo(
        "Alice <alice@example.com>", "Alice", "alice@example.com", ""
    )
    assert source.reviews(COMMIT) == ()


def test_codecommit_asks_once_per_commit(stubbed):
    source, stub = stubbed
    get_commit(stub)
    assert source.commit(COMMIT) == source.commit(COMMIT)  # one response queued: one call


@pytest.mark.parametrize("code", ["CommitIdDoesNotExistException", "InvalidCommitIdException"])
def test_codecommit_unknown_commit_is_an_empty_commit_info(stubbed, code):
    source, stub = stubbed
    stub.add_client_error("get_commit", code, "no such commit", 400)
    assert source.commit(COMMIT) == CommitInfo()


def test_codecommit_access_denied_is_a_one_line_aws_error(stubbed):
    """GIVEN a role without codecommit:GetCommit WHEN asked THEN an AwsError naming the
    operation, not a traceback nor an empty answer."""
    source, stub = stubbed
    stub.add_client_error("get_commit", "AccessDeniedException", "not authorized", 400)
    with pytest.raises(AwsError, match="AccessDenied"):
        source.commit(COMMIT)
