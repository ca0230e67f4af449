"""GitHubSource for change control, against a fake GitHub on 127.0.0.1: who authored a
commit, the merged pull request that brought it, that pull request's reviews (each
reviewer's latest verdict, every page) and a team's members; GitHub's errors become
SourceErrors naming what could not be read and the permission it needs."""

from __future__ import annotations

import pytest

from reconciler import github
from reconciler.errors import SourceError
from reconciler.github import GitHubSource, SourceUnavailableError
from reconciler.source import CommitInfo, Review
from tests.functional.fake_github import SHA, Failure, FakeGitHub, fake_github, rate_limited

__all__ = ["fake_github"]  # the fixture, imported for pytest
TOKEN = "ghp_do_not_print_me"
MERGE = "a" * 40  # pull request #7 merged as this sha
HEAD = "b" * 40  # #7's head when merged
EARLIER = "c" * 40  # an earlier head of #7
STRANGER = "d" * 40  # a sha the repository does not have


def source_for(fake: FakeGitHub, **kwargs) -> GitHubSource:
    return GitHubSource("owner/repo", api_url=fake.api_url, token=lambda: TOKEN, **kwargs)


@pytest.fixture
def merged(fake_github) -> FakeGitHub:
    """Pull request #7 by alice, head HEAD (after EARLIER), merged into main as MERGE."""
    fake_github.merge_pull(7, MERGE, head=HEAD, author="alice", commits=(EARLIER,))
    return fake_github


def paths(fake: FakeGitHub) -> list[str]:
    return [r.path + (f"?{r.query}" if r.query else "") for r in fake.seen("api")]


# -- who authored a commit, and which pull request merged it ---------------------------


def test_commit_names_the_authors_login_and_the_merged_pull_request(merged):
    """GIVEN #7 merged as MERGE, authored by alice WHEN commit(MERGE) THEN her login,
    git's name and email, and pull request "7" with its author."""
    info = source_for(merged).commit(MERGE)
    assert info == CommitInfo("alice", "Alice", "alice@example.com", "7", "alice")
    assert paths(merged) == [
        f"/repos/owner/repo/commits/{MERGE}?per_page=1",
        f"/repos/owner/repo/commits/{MERGE}/pulls?per_page=100",
    ]


def test_a_merge_commit_by_another_person_names_the_pull_requests_author_too(fake_github):
    """GIVEN alice's pull request #8 merged by bob as a merge commit WHEN commit() THEN
    bob is the commit's author and alice the pull request's: both are authors to
    change control."""
    fake_github.add_commit(MERGE, login="bob", name="Bob", email="bob@example.com")
    fake_github.merge_pull(8, MERGE, head=HEAD, author="alice")
    info = source_for(fake_github).commit(MERGE)
    assert (info.author, info.pull_request, info.pull_request_author) == ("bob", "8", "alice")
    assert {"bob", "alice"} <= info.identities()


def test_a_commit_tied_to_no_github_account_names_gits_author(fake_github):
    """GIVEN a commit whose email belongs to no GitHub account ("author": null) WHEN
    commit() THEN author is git's "Name <email>"."""
    fake_github.add_commit(SHA, login=None, name="Ops Bot", email="ops@example.com")
    info = source_for(fake_github).commit(SHA)
    assert info == CommitInfo("Ops Bot <ops@example.com>", "Ops Bot", "ops@example.com", "")


def test_a_commit_no_pull_request_merged_has_no_pull_request(fake_github):
    """GIVEN the head pushed straight to main WHEN commit() and reviews() THEN its
    author, pull_request "" and no reviews."""
    source = source_for(fake_github)
    assert source.commit(SHA).author == "octocat"
    assert source.commit(SHA).pull_request == ""
    assert source.reviews(SHA) == ()


def test_a_404_listing_a_commits_pull_requests_is_no_pull_request(fake_github):
    """GIVEN GitHub answering 404 for commits/SHA/pulls WHEN commit() THEN no pull
    request, not an error."""
    fake_github.fail_on(r".*/commits/[0-9a-f]{40}/pulls", Failure(404))
    assert source_for(fake_github).commit(SHA) == CommitInfo(
        "octocat", "The Octocat", "octocat@github.com", ""
    )


@pytest.mark.parametrize("revision", [STRANGER, "", "abc+dirty", "main", "A" * 40])
def test_an_unknown_revision_is_an_empty_commit_info(fake_github, revision):
    """GIVEN a sha GitHub does not have (422 "No commit found"), or something that is
    not a sha WHEN commit() and reviews() THEN an empty CommitInfo and (), no error."""
    source = source_for(fake_github)
    assert source.commit(revision) == CommitInfo()
    assert source.reviews(revision) == ()


def test_the_merged_pull_request_is_the_one_whose_merge_commit_is_the_sha(fake_github):
    """GIVEN HEAD in three merged pull requests: #3 into develop, #7 merged as MERGE and
    #9 merged as HEAD itself (a rebase) WHEN commit(HEAD) THEN #9, whose
    merge_commit_sha is HEAD."""
    fake_github.merge_pull(3, "e" * 40, head=HEAD, base="develop")
    fake_github.merge_pull(7, MERGE, head=HEAD)
    fake_github.merge_pull(9, HEAD, head=HEAD)
    assert source_for(fake_github).commit(HEAD).pull_request == "9"


def test_without_a_merge_commit_match_the_pull_request_into_the_branch_is_chosen(fake_github):
    """GIVEN HEAD in #3 (into develop) and #7 (into main), neither merged as HEAD WHEN
    commit(HEAD) THEN #7, the one into the followed branch."""
    fake_github.merge_pull(3, "e" * 40, head=HEAD, base="develop")
    fake_github.merge_pull(7, MERGE, head=HEAD)
    assert source_for(fake_github).commit(HEAD).pull_request == "7"


def test_a_commit_is_read_once_per_sha(merged):
    """GIVEN a pass asking about MERGE three times WHEN commit() THEN GitHub is asked
    once (a merged commit never changes)."""
    source = source_for(merged)
    for _ in range(3):
        source.commit(MERGE)
    assert len(merged.seen("api")) == 2


def test_a_commit_without_a_pull_request_is_asked_again_after_a_checkout(fake_github, tmp_path):
    """GIVEN a merge GitHub had not yet linked to its pull request WHEN the next pass
    checks out and asks again THEN GitHub is asked again, and the link is found."""
    fake_github.add_commit(MERGE)
    source = source_for(fake_github)
    assert source.commit(MERGE).pull_request == ""
    fake_github.merge_pull(7, MERGE, head=HEAD)
    assert source.commit(MERGE).pull_request == ""  # same pass: kept
    source.checkout(tmp_path / "out")
    assert source.commit(MERGE).pull_request == "7"


# -- the reviews of the merged pull request ---------------------------------------------


def test_reviews_are_each_reviewers_latest_verdict(merged):
    """GIVEN bob approving, carol commenting, dave asking for changes WHEN reviews()
    THEN one Review each, oldest first, naming #7 and the head they reviewed."""
    merged.review(7, "bob", "APPROVED", submitted_at="2024-05-01T10:00:00Z")
    merged.review(7, "carol", "COMMENTED", submitted_at="2024-05-01T10:01:00Z")
    merged.review(7, "dave", "CHANGES_REQUESTED", submitted_at="2024-05-01T10:02:00Z")
    assert source_for(merged).reviews(MERGE) == (
        Review("bob", "APPROVED", HEAD, "2024-05-01T10:00:00Z", "7"),
        Review("carol", "COMMENTED", HEAD, "2024-05-01T10:01:00Z", "7"),
        Review("dave", "CHANGES_REQUESTED", HEAD, "2024-05-01T10:02:00Z", "7"),
    )
    assert paths(merged)[-1] == "/repos/owner/repo/pulls/7/reviews?per_page=100&page=1"


def test_a_later_request_for_changes_cancels_an_approval(merged):
    merged.review(7, "bob", "APPROVED")
    merged.review(7, "bob", "CHANGES_REQUESTED")
    (only,) = source_for(merged).reviews(MERGE)
    assert (only.login, only.state) == ("bob", "CHANGES_REQUESTED")


def test_a_dismissed_approval_does_not_stand(merged):
    """GIVEN bob's approval, dismissed (GitHub turns the review itself DISMISSED) WHEN
    reviews() THEN bob's verdict is DISMISSED."""
    merged.review(7, "bob", "DISMISSED")
    (only,) = source_for(merged).reviews(MERGE)
    assert only.state == "DISMISSED"


def test_an_approval_after_a_request_for_changes_stands(merged):
    merged.review(7, "bob", "CHANGES_REQUESTED")
    merged.review(7, "bob", "APPROVED")
    assert [r.state for r in source_for(merged).reviews(MERGE)] == ["APPROVED"]


def test_a_later_comment_does_not_withdraw_an_approval(merged):
    """GIVEN bob approving then commenting WHEN reviews() THEN bob's verdict is still
    APPROVED, as GitHub counts it."""
    merged.review(7, "bob", "APPROVED")
    merged.review(7, "bob", "COMMENTED")
    assert [(r.login, r.state) for r in source_for(merged).reviews(MERGE)] == [("bob", "APPROVED")]


def test_reviewers_are_told_apart_without_case(merged):
    merged.review(7, "Bob", "APPROVED")
    merged.review(7, "bob", "CHANGES_REQUESTED")
    assert [r.state for r in source_for(merged).reviews(MERGE)] == ["CHANGES_REQUESTED"]


def test_an_approval_of_an_earlier_head_is_reported_dismissed(merged):
    """GIVEN bob approving EARLIER, then a push making HEAD the merged head WHEN
    reviews() THEN bob's approval is DISMISSED (stale: it did not see what was merged),
    its commit_id still EARLIER."""
    merged.review(7, "bob", "APPROVED", commit_id=EARLIER)
    (only,) = source_for(merged).reviews(MERGE)
    assert (only.state, only.commit_id) == ("DISMISSED", EARLIER)


def test_a_fresh_approval_of_the_merged_head_replaces_a_stale_one(merged):
    merged.review(7, "bob", "APPROVED", commit_id=EARLIER)
    merged.review(7, "bob", "APPROVED")
    assert [(r.state, r.commit_id) for r in source_for(merged).reviews(MERGE)] == [
        ("APPROVED", HEAD)
    ]


def test_the_pull_request_authors_pending_and_deleted_reviews_are_left_out(merged):
    """GIVEN a review by the pull request's author (alice), a pending review and one by a
    deleted account (user null) WHEN reviews() THEN none of them."""
    merged.review(7, "alice", "APPROVED")
    merged.review(7, "erin", "PENDING")
    merged.review(7, "ghost", "APPROVED")["user"] = None
    assert source_for(merged).reviews(MERGE) == ()


def test_every_page_of_reviews_is_read(merged):
    """GIVEN 150 reviews (two pages of 100), bob's approval on the second WHEN reviews()
    THEN both pages are read and bob's approval is there."""
    for i in range(149):
        merged.review(
            7, f"user{i}", "COMMENTED", submitted_at=f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z"
        )
    merged.review(7, "bob", "APPROVED", submitted_at="2024-05-01T11:00:00Z")
    found = source_for(merged).reviews(MERGE)
    assert len(found) == 150
    assert found[-1].login == "bob" and found[-1].state == "APPROVED"
    assert [r.query for r in merged.calls("GET", r".*/reviews")] == [
        "per_page=100&page=1",
        "per_page=100&page=2",
    ]


def test_more_reviews_than_the_cap_are_refused_not_cut_short(merged, monkeypatch):
    monkeypatch.setattr(github, "MAX_PAGES", 1)
    for i in range(100):
        merged.review(7, f"user{i}", "COMMENTED")
    with pytest.raises(SourceError, match="more than 100 entries; not read"):
        source_for(merged).reviews(MERGE)


def test_reviews_are_read_once_per_pass_and_afresh_after_a_checkout(merged, tmp_path):
    """GIVEN reviews read in a pass WHEN asked again in the same pass THEN GitHub is not
    asked; WHEN bob approves and the next pass checks out THEN his approval is seen."""
    source = source_for(merged)
    assert source.reviews(MERGE) == ()
    assert source.reviews(MERGE) == ()
    assert len(merged.calls("GET", r".*/reviews")) == 1
    merged.review(7, "bob", "APPROVED")
    source.checkout(tmp_path / "out")
    assert [r.login for r in source.reviews(MERGE)] == ["bob"]


def test_reviews_kept_longer_than_fresh_seconds_are_read_again(merged, monkeypatch):
    source = source_for(merged)
    assert source.reviews(MERGE) == ()
    merged.review(7, "bob", "APPROVED")
    monkeypatch.setattr(github, "FRESH_SECONDS", -1.0)
    assert [r.login for r in source.reviews(MERGE)] == ["bob"]


# -- team members -----------------------------------------------------------------------


def test_team_members_are_lower_cased_logins_from_every_page(fake_github):
    logins = ["Bob", *(f"member{i}" for i in range(120))]
    fake_github.add_team("payments", "dba", logins)
    members = source_for(fake_github).team_members("payments", "dba")
    assert members == {login.lower() for login in logins}
    assert [r.query for r in fake_github.calls("GET", r"/orgs/.*")] == [
        "per_page=100&page=1",
        "per_page=100&page=2",
    ]


def test_a_team_the_token_cannot_see_names_the_permission_needed(fake_github):
    """GIVEN no such team (GitHub's 404 also for a team the token cannot see) WHEN
    team_members() THEN a SourceError naming the team and read:org / Members: read."""
    with pytest.raises(SourceError) as raised:
        source_for(fake_github).team_members("payments", "dba")
    message = str(raised.value)
    assert "team payments/dba" in message and "HTTP 404" in message
    assert "read:org" in message and "Members: read" in message


def test_a_forbidden_team_names_the_permission_needed(fake_github):
    fake_github.add_team("payments", "dba", ["bob"])
    fake_github.failures.append(Failure(403))
    with pytest.raises(SourceError, match=r"team payments/dba: HTTP 403: .*read:org"):
        source_for(fake_github).team_members("payments", "dba")


@pytest.mark.parametrize(
    ("org", "team"), [("", "dba"), ("payments", ""), ("a/b", "dba"), ("payments", "../x")]
)
def test_a_team_that_is_not_a_name_is_refused_without_asking(fake_github, org, team):
    with pytest.raises(SourceError, match="is not a GitHub team"):
        source_for(fake_github).team_members(org, team)
    assert fake_github.requests == []


# -- GitHub's errors --------------------------------------------------------------------


def test_a_token_without_pull_request_access_still_names_the_author(merged):
    """GIVEN a token that may read contents but not pull requests (403 on
    commits/SHA/pulls) WHEN commit() THEN the author, no pull request; WHEN reviews()
    THEN a SourceError naming "pull requests: read" (never a silent "no reviews")."""
    merged.fail_on(r".*/pulls", Failure(403))
    source = source_for(merged)
    assert source.commit(MERGE) == CommitInfo("alice", "Alice", "alice@example.com", "")
    with pytest.raises(SourceError, match=r"HTTP 403: token missing or lacks pull requests: read"):
        source.reviews(MERGE)


def test_reviews_github_cannot_list_are_an_error_naming_the_pull_request(merged):
    source = source_for(merged)
    source.commit(MERGE)
    merged.failures.append(Failure(401))
    with pytest.raises(SourceError) as raised:
        source.reviews(MERGE)
    assert str(raised.value) == (
        "cannot read the reviews of pull request #7 of github:owner/repo: HTTP 401: "
        "token missing or lacks pull requests: read"
    )


@pytest.mark.parametrize(
    "failure", [Failure(500), Failure(502), Failure(429), rate_limited(retry_after=60)]
)
def test_github_down_or_rate_limited_is_worth_retrying(merged, failure):
    merged.failures.append(failure)
    with pytest.raises(SourceUnavailableError):
        source_for(merged).commit(MERGE)


def test_no_error_carries_the_token(merged):
    merged.status = 401
    with pytest.raises(SourceError) as raised:
        source_for(merged).commit(MERGE)
    assert TOKEN not in str(raised.value)
    assert "cannot read commit aaaaaaaaaaaa of github:owner/repo: HTTP 401" in str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "call", "unexpected"),
    [
        (r".*/commits/a{40}", "commit", "commit"),
        (r".*/commits/a{40}/pulls", "commit", "list"),
        (r".*/reviews", "reviews", "list"),
        (r"/orgs/.*", "team", "list"),
    ],
)
def test_an_answer_of_another_shape_is_a_source_error(merged, pattern, call, unexpected):
    """GIVEN GitHub answering 200 with an object where a commit or a list belongs WHEN
    asked THEN a SourceError saying so, not a traceback."""
    merged.fail_on(pattern, Failure(200))
    source = source_for(merged)
    ask = {
        "commit": lambda: source.commit(MERGE),
        "reviews": lambda: source.reviews(MERGE),
        "team": lambda: source.team_members("payments", "dba"),
    }[call]
    with pytest.raises(SourceError, match=f"GitHub answered an unexpected {unexpected}"):
        ask()
