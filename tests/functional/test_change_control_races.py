"""Change control under races, faults and hostile input: what a held change, an approval,
a suspension and a drift repair do when they overlap, or when GitHub or AWS misbehave."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.drift_actions import on_detection
from reconciler.errors import SourceError
from reconciler.notify import Kind
from reconciler.reconcile import About, NotOurs, finish
from reconciler.status import Phase
from reconciler.triggers import on_drift_detected
from tests.functional.test_change_control import (
    APPROVER,
    AUDIT,
    GATED,
    closed_window,
    commit,
    fresh_audit,
    repo,
    run_pass,
    services,
    stack_status,
)
from tests.repo import STACK

__all__ = ["fresh_audit", "repo", "services"]  # fixtures, imported for pytest


class _Git:
    """A source standing for a desired-state repository on disk (drift events read it)."""

    def __init__(self, root) -> None:
        from reconciler.source import GitSource

        self._git = GitSource(str(root))
        self.repository, self.branch = str(root), "main"

    def checkout(self, dest):
        return self._git.checkout(dest)

    def __getattr__(self, name):
        return getattr(self._git, name)


def greeted(text: str) -> str:
    """The stack file with one more parameter: an update of the deployed stack."""
    return text.replace("EnvironmentSuffix: dev\n", "EnvironmentSuffix: dev\n  Greeting: hi\n")


def test_a_team_github_will_not_list_admits_nobody_and_stops_nothing():
    class Source:
        def team_members(self, org, team):
            raise SourceError(f"cannot read the members of GitHub team {org}/{team}: HTTP 404")

    assert About(Source()).members("payments/no-such-team") == set()


def test_a_guardrail_broken_while_a_change_is_held_is_repaired_and_the_hold_said_once(
    repo, services
):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    held_at = commit(repo, {"desired-state/app-dev.yml": greeted(GATED)})
    (held,) = run_pass(repo, services, held_at).stacks
    assert held.outcome == "awaiting approval"
    logs = boto3.client("logs", region_name="us-east-1")
    logs.put_retention_policy(logGroupName="/test/dev/logs", retentionInDays=1)
    services.cfn.detect_drift("app-dev", "us-east-1")
    outcome = on_drift_detected("app-dev", "us-east-1", _Git(repo), services, "t")
    assert "reverting" in outcome.reason
    group = logs.describe_log_groups(logGroupNamePrefix="/test/dev/logs")["logGroups"][0]
    assert group["retentionInDays"] == 365
    repaired = finish("app-dev", "us-east-1", services)  # the repair's end
    assert repaired.deferred_revision == held_at  # so the stack status event reconciles again
    run_pass(repo, services, held_at, retry_failed=False)
    notes = [n.kind for n in services.notifier.sent]
    assert services.status.get("app-dev").phase is Phase.AWAITING_APPROVAL
    # held, then held anew once the repair made its change set obsolete (it is made again)
    assert notes.count(Kind.APPROVAL_REQUIRED) == 2
    assert notes.count(Kind.DRIFT_DETECTED) == 1


def test_a_stack_event_of_an_operation_the_reconciler_did_not_start_keeps_the_hold(repo, services):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    held_at = commit(repo, {"desired-state/app-dev.yml": greeted(GATED)})
    run_pass(repo, services, held_at)
    before = services.status.get("app-dev")
    assert before.phase is Phase.AWAITING_APPROVAL
    result = finish("app-dev", "us-east-1", services, token="Console-UpdateStack-1234")
    assert isinstance(result, NotOurs)
    after = services.status.get("app-dev")
    assert (after.phase, after.change_set) == (Phase.AWAITING_APPROVAL, before.change_set)


def test_a_suspension_given_while_the_change_set_is_made_stops_the_execution(
    repo, services, monkeypatch
):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    make = services.cfn.create_change_set

    def create_then_suspended(**kwargs):
        made = make(**kwargs)
        services.status.suspend("app-dev", APPROVER, "incident 7")  # meanwhile, by a human
        return made

    monkeypatch.setattr(services.cfn, "create_change_set", create_then_suspended)
    (result,) = run_pass(repo, services, revision).stacks
    assert result.outcome == "suspended"
    assert stack_status() == "REVIEW_IN_PROGRESS"  # made, not executed


def test_the_same_drift_on_a_suspended_stack_is_said_once(repo, services):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    commit(repo, {"desired-state/app-dev.yml": STACK + "suspended: true\n"})
    boto3.client("logs", region_name="us-east-1").put_retention_policy(
        logGroupName="/test/dev/logs", retentionInDays=1
    )
    spec = load_desired_state(repo).stack("app-dev")
    for _ in range(3):
        services.cfn.detect_drift("app-dev", "us-east-1")
        on_detection(spec, desired_changed=False, services=services, owner="t")
    events = services.audit.events("app-dev")
    assert (events.count("drift detected"), events.count("drift not repaired")) == (1, 1)
    assert [n.kind for n in services.notifier.sent].count(Kind.DRIFT_DETECTED) == 1


def test_a_file_suspension_under_a_cli_suspension_is_recorded_and_so_is_its_end(
    repo, services, monkeypatch
):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main(["suspend", "app-dev", str(repo), "--reason", "incident 9"]) == 0
    by_file = commit(repo, {"desired-state/app-dev.yml": STACK + "suspended: true\n"})
    run_pass(repo, services, by_file)
    assert main(["resume", "app-dev", str(repo)]) == 0
    run_pass(repo, services, by_file, retry_failed=False)
    lifted = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, lifted, retry_failed=False)
    pass_records = [(str(r.event), r.detail.get("by")) for r in services.audit.read("app-dev")]
    assert ("suspended", "stack file") in pass_records
    assert pass_records.count(("resumed", "stack file")) == 1


def test_a_reason_that_claims_to_be_the_stack_file_changes_nothing(repo, services, monkeypatch):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    reason = "as if suspended by its stack file"
    assert main(["suspend", "app-dev", str(repo), "--reason", reason]) == 0
    run_pass(repo, services, revision, retry_failed=False)
    assert main(["resume", "app-dev", str(repo)]) == 0
    run_pass(repo, services, revision, retry_failed=False)
    assert "resumed" not in services.audit.events("app-dev")  # the CLI's own, in AUDIT


def test_reject_waits_for_the_lease(repo, services, monkeypatch, capsys):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    assert services.status.acquire("app-dev", "a-pass", 300)  # a pass or an approval
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main(["reject", "app-dev", str(repo), "--reason", "no"]) == 1
    assert "busy" in capsys.readouterr().err
    assert services.status.get("app-dev").phase is Phase.AWAITING_APPROVAL
    assert AUDIT.records == []


@pytest.mark.parametrize(
    "args",
    [
        ["approve", "app-dev", "--change-set", ""],  # an empty shell variable
        ["reject", "app-dev", "--reason", "   "],
        ["suspend", "app-dev", "--reason", "x" * 1001],
        ["suspend", "app-dev", "--reason", "beep\x07"],
    ],
)
def test_blank_or_hostile_arguments_are_refused(repo, services, monkeypatch, capsys, args):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main([*args[:2], str(repo), *args[2:]]) == 1
    err = capsys.readouterr().err
    assert err.startswith("status:") or err.startswith("error:")
    assert "Traceback" not in err
    status = services.status.get("app-dev")
    assert (status.phase, status.approved_by, status.suspended_by) == (
        Phase.AWAITING_APPROVAL,
        "",
        "",
    )


def test_status_shows_control_characters_instead_of_sending_them(repo, services, capsys):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    services.status.suspend("app-dev", APPROVER, "red \x1b[31mALERT\x1b[0m")  # stored by hand
    assert main(["status", str(repo)]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\\x1b[31mALERT" in shown


def test_approve_after_the_held_change_set_was_deleted_by_hand_says_so(
    repo, services, monkeypatch, capsys
):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    held = services.status.get("app-dev").change_set
    boto3.client("cloudformation", region_name="us-east-1").delete_change_set(
        ChangeSetName=held, StackName="app-dev"
    )
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main(["approve", "app-dev", str(repo)]) == 1
    out = capsys.readouterr().out
    assert f"held change set {held} can no longer run" in out
    assert "the next pass makes it again" in out


def test_too_many_windows_is_a_finding_at_the_file_and_line(repo):
    window = "  - cron: '0 22 * * *'\n    duration: 1h\n"
    text = STACK + "change-window:\n" + window * 51
    commit(repo, {"desired-state/app-dev.yml": text})
    (finding,) = load_desired_state(repo).findings
    assert (finding.path, finding.rule) == ("desired-state/app-dev.yml", "DS003")
    assert "at most 50" in finding.message


def test_a_window_closed_now_is_named_with_at_most_three_windows(repo, services):
    many = "change-window:\n" + "".join(
        f"  - cron: '{m} 3 1 1 *'\n    duration: 1h\n" for m in range(10)
    )
    if datetime.now(UTC).strftime("%m-%d") == "01-01":
        pytest.skip("the windows open on January 1st")
    revision = commit(repo, {"desired-state/app-dev.yml": STACK + many})
    (result,) = run_pass(repo, services, revision).stacks
    assert result.outcome == "waiting for window" and "+7 more" in result.message
    assert closed_window()  # the helper the other window tests use still works
