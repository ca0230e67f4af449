"""GitHubSource against a fake GitHub on 127.0.0.1: the head, the checkout, the token's
reach, errors a user can act on, and tarballs that must not be unpacked."""

from __future__ import annotations

import tarfile

import pytest

from reconciler import github
from reconciler.errors import SourceError
from reconciler.github import GitHubSource, SourceUnavailableError
from tests.functional.fake_github import SHA, FakeGitHub, fake_github, tarball
from tests.repo import STACK, TEMPLATE

__all__ = ["fake_github"]  # the fixture, imported for pytest
TOKEN = "ghp_do_not_print_me"


def source_for(fake: FakeGitHub, **kwargs) -> GitHubSource:
    return GitHubSource("owner/repo", api_url=fake.api_url, **kwargs)


def test_head_revision_is_the_branch_heads_sha(fake_github):
    """GIVEN a branch whose head is SHA WHEN the head is asked for THEN SHA, from one
    request carrying GitHub's media type, API version and a User-Agent."""
    assert source_for(fake_github).head_revision() == SHA
    (seen,) = fake_github.requests
    assert seen.path == "/repos/owner/repo/branches/main"
    assert seen.headers["accept"] == "application/vnd.github+json"
    assert seen.headers["x-github-api-version"] == "2022-11-28"
    assert seen.headers["user-agent"].startswith("gitops-reconciler")


def test_checkout_writes_the_files_without_githubs_top_folder(fake_github, tmp_path):
    """GIVEN the repository of tests/repo.py WHEN checked out THEN its files are under
    dest (GitHub's OWNER-NAME-SHA folder stripped) and the revision is the head's sha."""
    checkout = source_for(fake_github).checkout(tmp_path / "out")
    assert checkout.revision == SHA
    assert checkout.root == tmp_path / "out"
    assert (checkout.root / "desired-state" / "app-dev.yml").read_text() == STACK
    assert (checkout.root / "templates" / "app.yml").read_text() == TEMPLATE


def test_checkout_downloads_the_tarball_of_the_head_sha_through_the_redirect(fake_github, tmp_path):
    """GIVEN GitHub's 302 from the API to codeload WHEN checked out THEN the tarball asked
    for is the one of the sha just read, and the redirect is followed."""
    source_for(fake_github).checkout(tmp_path / "out")
    paths = [(r.server, r.path) for r in fake_github.requests]
    assert paths == [
        ("api", "/repos/owner/repo/branches/main"),
        ("api", f"/repos/owner/repo/tarball/{SHA}"),
        ("codeload", f"/owner/repo/legacy.tar.gz/{SHA}"),
    ]


def test_token_goes_to_the_api_as_bearer_but_not_to_the_codeload_redirect(fake_github, tmp_path):
    """GIVEN a token WHEN checked out THEN every API request carries it as a Bearer token
    and the request to codeload (another origin) carries no Authorization header."""
    source_for(fake_github, token=lambda: TOKEN).checkout(tmp_path / "out")
    api = fake_github.seen("api")
    assert [r.headers.get("authorization") for r in api] == [f"Bearer {TOKEN}"] * 2
    (codeload,) = fake_github.seen("codeload")
    assert "authorization" not in codeload.headers


def test_without_a_token_no_authorization_header_is_sent(fake_github):
    """GIVEN no token (a public repository) WHEN the head is read THEN no Authorization."""
    source_for(fake_github).head_revision()
    assert "authorization" not in fake_github.requests[0].headers


def test_the_token_is_asked_for_when_github_is_read_not_when_built(fake_github):
    """GIVEN a token callable WHEN the source is built THEN it is not called (building
    happens on a cold start, the secret is read on the first event)."""
    calls: list[int] = []
    source = source_for(fake_github, token=lambda: calls.append(1) or TOKEN)
    assert calls == []
    source.head_revision()
    assert calls == [1]


@pytest.mark.parametrize(
    ("status", "error", "says"),
    [
        (401, SourceError, "HTTP 401: token missing or lacks contents:read"),
        (403, SourceError, "HTTP 403: token missing or lacks contents:read"),
        (404, SourceError, "HTTP 404: repository or branch not found"),
        (429, SourceUnavailableError, "HTTP 429: GitHub rate limit reached"),
        (500, SourceUnavailableError, "HTTP 500: GitHub unavailable"),
        (503, SourceUnavailableError, "HTTP 503: GitHub unavailable"),
    ],
)
def test_http_errors_are_one_line_naming_the_repository_and_status(
    fake_github, tmp_path, status, error, says
):
    """GIVEN GitHub answering `status` WHEN checked out THEN a SourceError (transient
    ones a SourceUnavailableError) names the repository and the status, not the token."""
    fake_github.status = status
    with pytest.raises(SourceError) as raised:
        source_for(fake_github, token=lambda: TOKEN).checkout(tmp_path / "out")
    assert type(raised.value) is error
    message = str(raised.value)
    assert message == f"cannot read github:owner/repo at main: {says}" or message.startswith(
        f"cannot read github:owner/repo at main: {says} "
    )
    assert TOKEN not in message and "\n" not in message


def test_a_missing_branch_is_a_permanent_error_naming_it(fake_github):
    """GIVEN a branch GitHub does not have WHEN its head is read THEN a plain SourceError
    (not worth retrying) naming the repository and the branch."""
    with pytest.raises(SourceError) as raised:
        GitHubSource("owner/repo", "nope", api_url=fake_github.api_url).head_revision()
    assert not isinstance(raised.value, SourceUnavailableError)
    assert str(raised.value).startswith("cannot read github:owner/repo at nope: HTTP 404")


def test_a_slow_github_times_out_as_unavailable(fake_github, tmp_path):
    """GIVEN GitHub answering later than the timeout WHEN checked out THEN a
    SourceUnavailableError saying it timed out, without the token, and nothing written."""
    fake_github.delay_seconds = 0.5
    source = source_for(fake_github, token=lambda: TOKEN, timeout_seconds=0.05)
    with pytest.raises(SourceUnavailableError) as raised:
        source.checkout(tmp_path / "out")
    assert (
        str(raised.value) == "cannot read github:owner/repo at main: GitHub unavailable: timed out"
    )
    assert not (tmp_path / "out").exists()


def test_github_not_listening_is_unavailable(fake_github):
    """GIVEN nothing listening at the API URL WHEN the head is read THEN unavailable."""
    url = fake_github.api_url
    fake_github.close()
    with pytest.raises(SourceUnavailableError, match="GitHub unavailable"):
        GitHubSource("owner/repo", api_url=url).head_revision()


def test_a_path_escaping_the_checkout_is_refused(fake_github, tmp_path):
    """GIVEN a tarball member `top/../../escaped` WHEN checked out THEN refused, and
    nothing is written outside dest."""
    fake_github.tarball = tarball({"top/ok.txt": b"ok", "top/../../escaped": b"x"})
    with pytest.raises(SourceError, match="unsafe path in tarball"):
        source_for(fake_github).checkout(tmp_path / "a" / "out")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "a" / "escaped").exists()


def test_an_absolute_path_is_refused(fake_github, tmp_path):
    """GIVEN a member with an absolute name WHEN checked out THEN refused."""
    fake_github.tarball = tarball({"/tmp/evil": b"x"})
    with pytest.raises(SourceError, match="not one top folder"):
        source_for(fake_github).checkout(tmp_path / "out")


def test_a_symlink_is_refused_even_inside_the_checkout(fake_github, tmp_path):
    """GIVEN a symlink member WHEN checked out THEN refused: a desired-state file must be
    a file, and a link could point a template at anything on the host."""
    link = tarfile.TarInfo()
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    fake_github.tarball = tarball({"top/templates/app.yml": link})
    with pytest.raises(SourceError, match=r"templates/app\.yml is a link or special file"):
        source_for(fake_github).checkout(tmp_path / "out")
    assert not (tmp_path / "out" / "templates" / "app.yml").is_symlink()


def test_a_hard_link_is_refused(fake_github, tmp_path):
    link = tarfile.TarInfo()
    link.type, link.linkname = tarfile.LNKTYPE, "top/a"
    fake_github.tarball = tarball({"top/a": b"a", "top/b": link})
    with pytest.raises(SourceError, match=": b is a link"):
        source_for(fake_github).checkout(tmp_path / "out")


def test_an_oversize_tarball_is_refused_before_unpacking(fake_github, tmp_path, monkeypatch):
    """GIVEN a tarball over the download cap WHEN checked out THEN refused, dest not made."""
    monkeypatch.setattr(github, "MAX_TARBALL_BYTES", 64)
    with pytest.raises(SourceError, match="answer larger than"):
        source_for(fake_github).checkout(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_tarball_that_unpacks_too_large_is_refused(fake_github, tmp_path, monkeypatch):
    """GIVEN a small tarball whose members declare more than the unpacked cap (a
    compression bomb) WHEN checked out THEN refused."""
    monkeypatch.setattr(github, "MAX_UNPACKED_BYTES", 1024)
    fake_github.tarball = tarball({"top/zeros": bytes(4096)})
    with pytest.raises(SourceError, match="unpacks to more than"):
        source_for(fake_github).checkout(tmp_path / "out")


def test_a_tarball_with_too_many_members_is_refused(fake_github, tmp_path, monkeypatch):
    monkeypatch.setattr(github, "MAX_MEMBERS", 3)
    fake_github.tarball = tarball({f"top/{i}": b"" for i in range(5)})
    with pytest.raises(SourceError, match="more than 3 entries"):
        source_for(fake_github).checkout(tmp_path / "out")


def test_a_tarball_that_is_not_one_top_folder_is_refused(fake_github, tmp_path):
    fake_github.tarball = tarball({"one/a": b"a", "two/b": b"b"})
    with pytest.raises(SourceError, match="not one top folder"):
        source_for(fake_github).checkout(tmp_path / "out")


def test_garbage_instead_of_a_tarball_is_a_clear_error(fake_github, tmp_path):
    fake_github.tarball = b"<html>not a tarball</html>"
    with pytest.raises(SourceError, match="unreadable tarball"):
        source_for(fake_github).checkout(tmp_path / "out")


def test_repository_names_match_case_insensitively():
    """GIVEN github:Owner/Repo WHEN a webhook names owner/repo THEN it is this one; a
    different repository is not."""
    source = GitHubSource("Owner/Repo")
    assert source.is_repository("owner/repo")
    assert not source.is_repository("owner/other")
    assert not source.is_repository("other/repo")


@pytest.mark.parametrize("name", ["owner", "owner/repo/extra", "", "owner/re po"])
def test_a_malformed_repository_name_is_refused_when_built(name):
    with pytest.raises(SourceError, match="must be OWNER/NAME"):
        GitHubSource(name)


NEWER = "1f9b4a4c2e0d5a7b8c9d0e1f2a3b4c5d6e7f8a9b"


def test_a_pull_requests_head_is_read_from_the_pulls_endpoint(fake_github):
    """GIVEN pull request 7 whose head is NEWER WHEN its head is asked for THEN NEWER,
    from one GET of /pulls/7 carrying the token."""
    fake_github.open_pull(7, NEWER)
    assert source_for(fake_github, token=lambda: TOKEN).pull_request_head(7) == NEWER
    (seen,) = fake_github.requests
    assert (seen.method, seen.path) == ("GET", "/repos/owner/repo/pulls/7")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_pull_request_that_moved_answers_its_new_head(fake_github):
    """GIVEN a push to the pull request between two reads WHEN read twice THEN the second
    read says the new head."""
    fake_github.open_pull(7, SHA, NEWER)
    source = source_for(fake_github)
    assert [source.pull_request_head(7), source.pull_request_head(7)] == [SHA, NEWER]


def test_a_missing_pull_request_is_an_error_naming_the_repository(fake_github):
    with pytest.raises(SourceError, match=r"owner/repo.*404"):
        source_for(fake_github).pull_request_head(8)
