"""The change-control gates as pure decisions: who may approve, which approval counts,
windows and suspension, and when a drift repair may run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.change_control import (
    AWAITING,
    GO,
    SUSPENDED,
    WINDOW,
    commit_of,
    gate,
    identity_names,
    refusal,
    repair_allowed,
)
from reconciler.desired import StackSpec
from reconciler.source import CommitInfo, Review
from reconciler.status import Phase, StackStatus
from reconciler.windows import Window

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
AT = "2026-12-07T11:00:00Z"
DANA = CommitInfo("dana", "Dana Developer", "dana@example.com", "7")
SPEC = StackSpec("desired-state/db.yml", "pci-db-prod", "us-east-1", "t.yml", approval=True)
HELD = StackStatus(
    "pci-db-prod", phase=Phase.AWAITING_APPROVAL, change_set="gitops-1", attempted_revision="r1"
)
CLOSED = Window("0 22 * * *", timedelta(hours=2), "UTC")  # 22:00-24:00 daily; NOW is noon
OPEN = Window("0 11 * * *", timedelta(hours=2), "UTC")


def approved(by: str, at: str = AT, change_set: str = "gitops-1", revision: str = "r1"):
    return replace(
        HELD,
        approved_by=by,
        approved_at=at,
        approved_change_set=change_set,
        approved_revision=revision,
    )


@pytest.mark.parametrize(
    ("identity", "names"),
    [
        ("arn:aws:iam::123456789012:user/alice", {"alice"}),
        (
            "arn:aws:sts::123456789012:assumed-role/Admin/Alice@Example.com",
            {"alice@example.com", "alice"},
        ),
        ("github:Bob", {"bob"}),
        ("arn:aws:iam::123456789012:root", {"root"}),
    ],
)
def test_an_identity_goes_by_its_user_or_session_name(identity, names):
    assert identity_names(identity) == names


@pytest.mark.parametrize(
    "identity",
    [
        "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin/dana@example.com",  # SSO: the email
        "arn:aws:iam::1:user/dana",  # the GitHub login
        "arn:aws:iam::1:user/DANA",  # in any case
        "github:dana",
    ],
)
def test_the_author_may_not_approve_under_any_of_their_names(identity):
    assert "is the author of the change" in refusal(identity, SPEC, DANA)


def test_someone_else_may_approve_when_no_approvers_are_listed():
    assert refusal("arn:aws:iam::1:user/bob", SPEC, DANA) == ""


def test_an_unknown_author_admits_no_approval():
    assert "author is not known" in refusal("arn:aws:iam::1:user/bob", SPEC, CommitInfo())


def test_approvers_limit_who_may_approve_and_teams_are_asked_of_github():
    spec = replace(SPEC, approvers=("Carol", "acme/dba"))
    members = {"acme/dba": {"erin"}}.get
    assert refusal("arn:aws:iam::1:user/carol", spec, DANA, members) == ""
    assert "not among the approvers" in refusal("arn:aws:iam::1:user/bob", spec, DANA, members)
    assert refusal("github:erin", spec, DANA, lambda team: members(team) or set()) == ""
    # a team cannot be checked for an IAM identity
    assert "not among" in refusal("arn:aws:iam::1:user/erin", spec, DANA, members)


def test_a_recorded_approval_of_this_change_set_and_commit_lets_it_go():
    result = gate(SPEC, approved("arn:aws:iam::1:user/bob"), "gitops-1", "r1", DANA, now=NOW)
    assert (result.verdict, result.approved_by) == (GO, "arn:aws:iam::1:user/bob")


@pytest.mark.parametrize(
    "status",
    [
        HELD,  # none recorded
        approved("arn:aws:iam::1:user/bob", revision="r0"),  # another commit
        approved("arn:aws:iam::1:user/bob", change_set="gitops-0"),  # another change set
        approved("arn:aws:iam::1:user/dana"),  # by the author (recorded by hand, say)
    ],
)
def test_any_other_approval_holds_the_change(status):
    assert gate(SPEC, status, "gitops-1", "r1", DANA, now=NOW).verdict == AWAITING


def test_an_approval_expires_after_approval_expires():
    status = approved("arn:aws:iam::1:user/bob", at="2026-12-06T11:00:00Z")
    held = gate(SPEC, status, "gitops-1", "r1", DANA, now=NOW)
    assert held.verdict == AWAITING and "expired" in held.message
    longer = replace(SPEC, approval_expires=timedelta(days=2))
    assert gate(longer, status, "gitops-1", "r1", DANA, now=NOW).verdict == GO


def test_an_approving_review_by_another_person_counts_and_the_authors_does_not():
    def review(login, state="APPROVED"):
        return Review(login, state, "head", AT, "7")

    assert gate(SPEC, HELD, "gitops-1", "r1", DANA, [review("dana")], NOW).verdict == AWAITING
    assert (
        gate(SPEC, HELD, "gitops-1", "r1", DANA, [review("bob", "COMMENTED")], NOW).verdict
        == AWAITING
    )
    went = gate(SPEC, HELD, "gitops-1", "r1", DANA, [review("bob")], NOW)
    assert (went.verdict, went.approved_by, went.approved_at) == (GO, "github:bob", AT)


def test_reviews_are_not_read_when_no_approval_is_needed():
    def never():
        raise AssertionError("reviews read")
        yield  # pragma: no cover

    spec = replace(SPEC, approval=False)
    assert gate(spec, None, "gitops-1", "r1", DANA, never(), NOW).verdict == GO


def test_a_closed_window_holds_even_an_approved_change_and_names_the_next_opening():
    spec = replace(SPEC, change_windows=(CLOSED,))
    result = gate(spec, approved("arn:aws:iam::1:user/bob"), "gitops-1", "r1", DANA, now=NOW)
    assert (result.verdict, result.window_opens) == (WINDOW, "2026-12-07T22:00:00Z")
    assert result.approved_by == "arn:aws:iam::1:user/bob"


def test_any_open_window_lets_the_change_go():
    spec = replace(SPEC, approval=False, change_windows=(CLOSED, OPEN))
    assert gate(spec, None, "gitops-1", "r1", DANA, now=NOW).verdict == GO


def test_suspension_comes_first_and_says_who_and_why():
    status = replace(
        HELD,
        suspended_by="arn:aws:iam::1:user/ops",
        suspended_at=AT,
        suspended_reason="incident 42",
    )
    result = gate(SPEC, status, "gitops-1", "r1", DANA, now=NOW)
    assert result.verdict == SUSPENDED
    assert "arn:aws:iam::1:user/ops" in result.message and "incident 42" in result.message


@pytest.mark.parametrize(
    ("windows", "allow", "violated", "verdict"),
    [
        ((), "none", False, GO),  # no window: always
        ((OPEN,), "none", False, GO),
        ((CLOSED,), "none", True, WINDOW),  # not allowed outside
        ((CLOSED,), "guardrails", False, WINDOW),  # ordinary drift waits
        ((CLOSED,), "guardrails", True, GO),  # a guardrail violation does not
    ],
)
def test_a_drift_repair_runs_outside_a_window_only_for_a_guardrail_when_allowed(
    windows, allow, violated, verdict
):
    spec = replace(SPEC, change_windows=windows, repair_outside_window=allow)
    assert repair_allowed(spec, None, violated, NOW).verdict == verdict


def test_a_suspended_stack_is_never_repaired_even_for_a_guardrail():
    spec = replace(SPEC, suspended=True, repair_outside_window="guardrails")
    assert repair_allowed(spec, None, True, NOW).verdict == SUSPENDED


def test_the_recorded_author_is_read_back_for_approvals_from_the_cli():
    status = StackStatus("s", author="Dana Developer <dana@example.com>", pull_request="7")
    assert commit_of(status).identities() == {
        "dana developer <dana@example.com>",
        "dana developer",
        "dana@example.com",
        "dana",
    }
    assert commit_of(StackStatus("s", author="dana")).identities() == {"dana"}


def test_the_pull_requests_author_is_an_author_too():
    merged_by_bob = CommitInfo("bob", "Bob", "bob@example.com", "7", pull_request_author="dana")
    assert "is the author" in refusal("arn:aws:iam::1:user/dana", SPEC, merged_by_bob)


def test_the_cli_refuses_every_name_the_pass_recorded_for_the_author():
    status = replace(HELD, author="dana", author_identities="dana,dana developer,dana@example.com")
    sso = "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin/dana@example.com"
    assert "is the author" in refusal(sso, SPEC, commit_of(status))


def test_the_approval_rules_recorded_with_the_hold_win_over_a_local_copy():
    from reconciler.change_control import rules_of

    local = replace(SPEC, approval=False, approvers=())
    status = replace(HELD, approvers="carol,acme/dba", approval_expires="3600")
    rules = rules_of(local, status)
    assert (rules.approval, rules.approvers, rules.approval_expires) == (
        True,
        ("carol", "acme/dba"),
        timedelta(hours=1),
    )
    assert rules_of(local, HELD) is local  # nothing recorded: the file as it is
