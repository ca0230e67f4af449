"""Change control through the real pass on moto (with localaws's extensions): approval,
change windows, suspension and the audit records they leave (PCI DSS v4.0 6.5, 10).

Commits are made with git in a temporary repository, so the author the pass records is
real; the approver's identity comes from moto's STS (arn:aws:sts::123456789012:user/moto).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from localaws import extensions
from reconciler import change_control
from reconciler.audit import Event, Kept
from reconciler.aws.services import services_from_env
from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.drift_actions import on_detection
from reconciler.notify import Kind
from reconciler.reconcile import About, apply, finish
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from tests.functional.fake_github import fake_github
from tests.repo import STACK, make_repo

extensions.install_all()
__all__ = ["fake_github"]  # the fixture, imported for pytest

APPROVER = "arn:aws:sts::123456789012:user/moto"  # moto's GetCallerIdentity
GATED = STACK + "approval: required\n"
OTHER_GREETING = {"desired-state/app-dev.yml": GATED + "parameters:\n  EnvironmentSuffix: dev\n"}


def commit(repo: Path, files: dict[str, str], author: str = "Dana Developer") -> str:
    make_repo(repo, files, defaults=False)
    email = f"{author.split()[0].lower()}@example.com"
    run = ["git", "-c", f"user.name={author}", "-c", f"user.email={email}"]
    subprocess.run([*run, "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run([*run, "commit", "-qm", "change"], cwd=repo, check=True, capture_output=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def services(aws):
    built = services_from_env(change_set_wait_seconds=0)
    built.audit = Kept()
    built.actor = "test-pass"
    return built


@pytest.fixture
def repo(tmp_path):
    root = make_repo(tmp_path / "repo", {"desired-state/app-dev.yml": GATED})
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    return root


def run_pass(repo: Path, services, revision: str, **kwargs):
    state = load_desired_state(repo)
    return apply(state, revision, services, "test", about=About(GitSource(str(repo))), **kwargs)


def change_sets() -> list[str]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return [c["ChangeSetName"] for c in cfn.list_change_sets(StackName="app-dev")["Summaries"]]


def stack_status() -> str:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return cfn.describe_stacks(StackName="app-dev")["Stacks"][0]["StackStatus"]


def approve(repo: Path, monkeypatch, *extra: str) -> int:
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    return main(["approve", "app-dev", str(repo), *extra])


AUDIT = Kept()


@pytest.fixture(autouse=True)
def fresh_audit():
    AUDIT.records.clear()


# --- approval ---------------------------------------------------------------------------


def test_a_change_needing_approval_is_held_with_its_change_set_kept_and_the_plan_notified(
    repo, services
):
    revision = commit(repo, {})
    (result,) = run_pass(repo, services, revision).stacks
    status = services.status.get("app-dev")
    assert (result.outcome, status.phase) == ("awaiting approval", Phase.AWAITING_APPROVAL)
    assert status.change_set in change_sets()  # kept, not executed
    assert stack_status() == "REVIEW_IN_PROGRESS"
    assert status.author == "Dana Developer <dana@example.com>"
    (note,) = [n for n in services.notifier.sent if n.kind is Kind.APPROVAL_REQUIRED]
    assert "Add Logs (AWS::Logs::LogGroup)" in note.message
    assert services.audit.events("app-dev") == ["validated", "planned", "held for approval"]


def test_the_same_event_again_holds_once_notifies_once_records_once(repo, services):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    (again,) = run_pass(repo, services, revision, retry_failed=False).stacks
    assert again.outcome == "awaiting approval"
    assert [n.kind for n in services.notifier.sent].count(Kind.APPROVAL_REQUIRED) == 1
    assert services.audit.events("app-dev").count("held for approval") == 1


def test_an_approval_by_the_commits_author_is_refused_and_recorded(
    repo, services, monkeypatch, capsys
):
    revision = commit(repo, {}, author="Moto Person")  # moto@example.com: the approver
    run_pass(repo, services, revision)
    assert approve(repo, monkeypatch) == 1
    assert "is the author of the change" in capsys.readouterr().err
    status = services.status.get("app-dev")
    assert (status.phase, status.approved_by) == (Phase.AWAITING_APPROVAL, "")
    assert [str(r.event) for r in AUDIT.records] == ["approval refused"]
    assert stack_status() == "REVIEW_IN_PROGRESS"


def test_an_approval_by_another_person_runs_the_held_change_set(
    repo, services, monkeypatch, capsys
):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    held = services.status.get("app-dev").change_set
    assert approve(repo, monkeypatch, "--change-set", held) == 0
    assert f"change set {held} approved by {APPROVER}" in capsys.readouterr().out
    status = services.status.get("app-dev")
    assert (status.phase, status.approved_by, status.approved_revision) == (
        Phase.APPLYING,
        APPROVER,
        revision,
    )
    assert [str(r.event) for r in AUDIT.records] == ["approved", "executed"]
    assert AUDIT.records[1].detail["approved_by"] == APPROVER
    finished = finish("app-dev", "us-east-1", services)
    assert (finished.sync, stack_status()) == (Sync.SYNCED, "CREATE_COMPLETE")


def test_an_approval_of_a_change_set_no_longer_held_is_refused(repo, services, monkeypatch, capsys):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    assert approve(repo, monkeypatch, "--change-set", "gitops-0000000000000000") == 1
    assert "review the new one" in capsys.readouterr().err
    assert services.status.get("app-dev").approved_by == ""


def test_an_approval_is_invalidated_by_a_newer_commit(repo, services, monkeypatch):
    first = commit(repo, {})
    run_pass(repo, services, first)
    old = services.status.get("app-dev").change_set
    assert approve(repo, monkeypatch, "--no-execute") == 0
    second = commit(repo, {"templates/app.yml": _greeting("bonjour")})
    (result,) = run_pass(repo, services, second).stacks
    status = services.status.get("app-dev")
    assert result.outcome == "awaiting approval"
    assert status.change_set != old and old not in change_sets()  # the stale hold deleted
    assert (status.attempted_revision, status.approved_revision) == (second, first)
    invalidated, superseded = [
        r
        for r in services.audit.read("app-dev")
        if r.event in (Event.APPROVAL_INVALIDATED, Event.SUPERSEDED)
    ]
    # recorded at the commit and change set they are about, by the pass at the newer one
    assert (invalidated.commit, invalidated.change_set) == (first, old)
    assert (superseded.commit, superseded.change_set) == (first, old)
    assert superseded.detail["superseded_by"] == second
    assert f"change set {old} deleted" in superseded.message


def test_a_newer_commit_that_leaves_the_stack_alone_still_needs_a_new_approval(
    repo, services, monkeypatch
):
    first = commit(repo, {})
    run_pass(repo, services, first)
    assert approve(repo, monkeypatch, "--no-execute") == 0
    second = commit(repo, {"README.md": "unrelated\n"})
    (result,) = run_pass(repo, services, second).stacks
    assert result.outcome == "awaiting approval"
    assert stack_status() == "REVIEW_IN_PROGRESS"
    superseded = [r for r in services.audit.read("app-dev") if r.event is Event.SUPERSEDED]
    assert "held again" in superseded[0].message  # the same inputs: the change set stays


def test_an_approval_recorded_without_execute_is_used_by_the_next_pass(repo, services, monkeypatch):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    assert approve(repo, monkeypatch, "--no-execute") == 0
    (result,) = run_pass(repo, services, revision).stacks
    assert result.outcome == "executed"
    assert f"approved by {APPROVER}" in result.message


def test_an_expired_approval_no_longer_counts(repo, services, monkeypatch):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    assert approve(repo, monkeypatch, "--no-execute") == 0
    later = datetime.now(UTC) + timedelta(hours=25)  # approval-expires: 24h by default
    monkeypatch.setattr(change_control, "current_time", lambda: later)
    (result,) = run_pass(repo, services, revision).stacks
    assert result.outcome == "awaiting approval"
    assert "expired" in result.message


def test_a_rejected_change_set_is_deleted_and_not_proposed_again_by_events(
    repo, services, monkeypatch, capsys
):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main(["reject", "app-dev", str(repo), "--reason", "not in this release"]) == 0
    status = services.status.get("app-dev")
    assert (status.phase, status.sync) == (Phase.REJECTED, Sync.BLOCKED)
    assert change_sets() == []
    (again,) = run_pass(repo, services, revision, retry_failed=False).stacks
    assert again.outcome == "rejected"
    assert change_sets() == []
    assert [str(r.event) for r in AUDIT.records] == ["rejected"]
    assert AUDIT.records[0].detail["reason"] == "not in this release"


def test_approve_on_a_stack_with_nothing_held_is_a_clear_error(repo, services, monkeypatch, capsys):
    assert approve(repo, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "holds no change set awaiting a decision" in err
    assert "Traceback" not in err


def test_approve_of_an_unknown_stack_names_the_repository(repo, monkeypatch, capsys, aws):
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main(["approve", "nope", str(repo)]) == 1
    assert "no stack file in" in capsys.readouterr().err


# --- change windows --------------------------------------------------------------------


def closed_window() -> str:
    """A daily one-hour window opening three hours from now."""
    opens = datetime.now(UTC) + timedelta(hours=3)
    return (
        f"change-window:\n  cron: '{opens.minute} {opens.hour} * * *'\n  duration: 1h\n"
        "  timezone: UTC\n"
    )


def test_a_change_outside_its_window_waits_and_runs_when_the_window_opens(
    repo, services, monkeypatch
):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK + closed_window()})
    (result,) = run_pass(repo, services, revision).stacks
    status = services.status.get("app-dev")
    assert (result.outcome, status.phase) == ("waiting for window", Phase.WAITING_FOR_WINDOW)
    assert status.window_opens and status.change_set in change_sets()
    opens = datetime.strptime(status.window_opens, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    monkeypatch.setattr(change_control, "current_time", lambda: opens + timedelta(minutes=5))
    (later,) = run_pass(repo, services, revision, retry_failed=False).stacks
    assert later.outcome == "executed"
    assert services.audit.events("app-dev")[-2:] == ["waiting for window", "executed"]


def test_status_shows_the_next_opening_of_a_waiting_stack(repo, services, capsys):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK + closed_window()})
    run_pass(repo, services, revision)
    assert main(["status", str(repo)]) == 0
    opens = services.status.get("app-dev").window_opens
    assert f"waiting for window (opens {opens})" in capsys.readouterr().out


def test_an_approval_given_before_the_window_opens_waits_for_it(repo, services, monkeypatch):
    text = GATED + closed_window()
    revision = commit(repo, {"desired-state/app-dev.yml": text})
    (held,) = run_pass(repo, services, revision).stacks
    assert held.outcome == "awaiting approval"
    assert approve(repo, monkeypatch) == 0
    status = services.status.get("app-dev")
    assert (status.phase, status.approved_by) == (Phase.WAITING_FOR_WINDOW, APPROVER)
    assert stack_status() == "REVIEW_IN_PROGRESS"


# --- suspension --------------------------------------------------------------------------


def test_a_stack_suspended_by_its_file_is_not_changed(repo, services):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK + "suspended: true\n"})
    (result,) = run_pass(repo, services, revision).stacks
    assert result.outcome == "suspended"
    assert services.status.get("app-dev").phase is Phase.SUSPENDED
    assert "suspended: true" in result.message
    assert not _exists()  # no change set was made, so not even an empty stack


def _exists() -> bool:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return any(s["StackName"] == "app-dev" for s in cfn.list_stacks()["StackSummaries"])


def test_suspend_and_resume_by_the_cli_record_who_when_and_why(repo, services, monkeypatch, capsys):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: AUDIT)
    assert main(["suspend", "app-dev", str(repo), "--reason", "incident 42"]) == 0
    status = services.status.get("app-dev")
    assert (status.suspended_by, status.suspended_reason) == (APPROVER, "incident 42")
    capsys.readouterr()
    assert main(["status", str(repo)]) == 0
    shown = capsys.readouterr().out
    assert "suspended" in shown and f"suspended by {APPROVER}" in shown and "incident 42" in shown
    changed = commit(repo, {"templates/app.yml": _greeting("bonjour")})
    (result,) = run_pass(repo, services, changed).stacks
    assert result.outcome == "suspended"
    assert main(["resume", "app-dev", str(repo)]) == 0
    (resumed,) = run_pass(repo, services, changed).stacks
    assert resumed.outcome == "executed"
    assert [str(r.event) for r in AUDIT.records] == ["suspended", "resumed"]


def test_suspend_needs_a_reason(repo, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["suspend", "app-dev", str(repo)])
    assert exit_.value.code == 2


def test_a_suspended_stacks_drift_is_detected_and_reported_but_not_repaired(
    repo, services, monkeypatch
):
    spec, _ = _deployed_with_drift(repo, services, "suspended: true\n")
    outcome = on_detection(spec, desired_changed=False, services=services, owner="t")
    assert "drift not repaired" in outcome.message and "suspended" in outcome.message
    assert _retention() == 1  # left as the out-of-band change made it
    status = services.status.get("app-dev")
    assert status.drift_status == "DRIFTED"
    assert [n.kind for n in services.notifier.sent].count(Kind.DRIFT_DETECTED) == 1
    assert services.audit.events("app-dev")[-2:] == ["drift detected", "drift not repaired"]


def test_outside_its_window_a_guardrail_violation_is_repaired_when_the_file_allows(repo, services):
    allow = closed_window() + "repair-outside-window: guardrails\n"
    spec, _ = _deployed_with_drift(repo, services, allow)
    outcome = on_detection(spec, desired_changed=False, services=services, owner="t")
    assert _retention() == 365  # log retention cut below a year: a PCI guardrail
    assert "outside its change window" in outcome.message
    (started,) = [
        r for r in services.audit.read("app-dev") if r.event is Event.DRIFT_REPAIR_STARTED
    ]
    assert started.detail["outside_window"] is True


def test_outside_its_window_drift_waits_without_repair_outside_window(repo, services):
    spec, _ = _deployed_with_drift(repo, services, closed_window())
    outcome = on_detection(spec, desired_changed=False, services=services, owner="t")
    assert "waits for the change window" in outcome.message
    assert _retention() == 1


def _deployed_with_drift(repo: Path, services, extra: str):
    """app-dev deployed with no gate, then the stack file given `extra` (the live stack's
    inputs unchanged), and its log group's retention cut behind the reconciler's back."""
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    commit(repo, {"desired-state/app-dev.yml": STACK + extra})
    boto3.client("logs", region_name="us-east-1").put_retention_policy(
        logGroupName="/test/dev/logs", retentionInDays=1
    )
    services.cfn.detect_drift("app-dev", "us-east-1")
    return load_desired_state(repo).stack("app-dev"), revision


def _retention() -> int:
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups(
        logGroupNamePrefix="/test/dev/logs"
    )["logGroups"]
    return groups[0]["retentionInDays"]


def _greeting(word: str) -> str:
    from tests.repo import TEMPLATE

    return TEMPLATE.replace("Default: hello", f"Default: {word}")


# --- the trail of a whole change ----------------------------------------------------------


def test_a_completed_change_leaves_its_whole_story_in_the_trail(repo, services, monkeypatch):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    assert approve(repo, monkeypatch) == 0
    services.audit.append(AUDIT.records)  # the CLI's records, beside the pass's
    finish("app-dev", "us-east-1", services)
    trail = services.audit.read("app-dev")
    assert [str(r.event) for r in trail] == [
        "validated",
        "planned",
        "held for approval",
        "approved",
        "executed",
        "completed",
        "outputs published",
    ]
    assert {r.commit for r in trail} == {revision}
    assert trail[1].detail["change_control"]["approval"] == "required"  # the policy in force
    assert {r.author for r in trail} == {"Dana Developer <dana@example.com>"}
    assert all(r.account == "123456789012" for r in trail[3:])
    published = trail[-1].detail
    assert published["written"] == ["/app-dev/GreetingName", "/app-dev/LogGroup"]
    assert "hello" not in str(published)  # names, never values


# --- an approving review on GitHub ----------------------------------------------------------


def test_an_approving_review_of_the_merged_pull_request_runs_the_held_change(fake_github, services):
    from reconciler.github import GitHubSource
    from reconciler.triggers import reconcile_head

    make_repo(fake_github.files, {"desired-state/app-dev.yml": GATED})
    fake_github.merge_pull(7, fake_github.sha, head="b" * 40, author="alice")
    source = GitHubSource("owner/repo", api_url=fake_github.api_url, token=lambda: "t")
    (held,) = reconcile_head(source, services, "test").stacks
    assert held["outcome"] == "awaiting approval"
    status = services.status.get("app-dev")
    assert (status.author, status.pull_request) == ("alice", "7")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake_github.review(7, "bob", "CHANGES_REQUESTED", submitted_at=now)
    (still,) = reconcile_head(source, services, "test").stacks
    assert still["outcome"] == "awaiting approval"
    fake_github.review(7, "bob", "APPROVED", submitted_at=now)
    (ran,) = reconcile_head(source, services, "test").stacks
    assert ran["outcome"] == "executed"
    assert f"approved by github:bob at {now}" in ran["message"]
    executed = [r for r in services.audit.read("app-dev") if r.event is Event.EXECUTED]
    assert executed[0].detail["approved_by"] == "github:bob"
    assert executed[0].pull_request == "7"


def test_suspending_and_resuming_by_the_stack_file_is_shown_and_recorded_once(repo, services):
    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    suspended = commit(repo, {"desired-state/app-dev.yml": STACK + "suspended: true\n"})
    for _ in range(2):
        (result,) = run_pass(repo, services, suspended, retry_failed=False).stacks
        assert result.outcome == "suspended"  # shown, though the live stack is in sync
    assert services.status.get("app-dev").phase is Phase.SUSPENDED
    resumed = commit(repo, {"desired-state/app-dev.yml": STACK})
    (result,) = run_pass(repo, services, resumed, retry_failed=False).stacks
    assert (result.outcome, services.status.get("app-dev").phase) == ("unchanged", Phase.IDLE)
    events = services.audit.events("app-dev")
    assert (events.count("suspended"), events.count("resumed")) == (1, 1)


def test_an_approval_that_expired_while_waiting_for_the_window_is_given_again(
    repo, services, monkeypatch
):
    revision = commit(repo, {"desired-state/app-dev.yml": GATED + closed_window()})
    run_pass(repo, services, revision)
    assert approve(repo, monkeypatch) == 0  # waits for the window now
    later = datetime.now(UTC) + timedelta(hours=25)
    monkeypatch.setattr(change_control, "current_time", lambda: later)
    assert approve(repo, monkeypatch, "--no-execute") == 0
    status = services.status.get("app-dev")
    assert status.phase is Phase.WAITING_FOR_WINDOW
    assert [str(r.event) for r in AUDIT.records].count("approved") == 2


def test_an_invalid_desired_state_records_what_was_found(repo, services):
    from reconciler.reconcile import record_invalid
    from reconciler.validation import validate

    commit(repo, {"desired-state/app-dev.yml": STACK + "drift: sometimes\n"})
    state = load_desired_state(repo)
    record_invalid(state, "r1", list(validate(state).findings), services)
    validated, blocked = services.audit.read("app-dev")
    assert (str(validated.event), str(blocked.event)) == ("validated", "blocked")
    assert "drift" in validated.detail["findings"][0]


def test_a_blocked_change_is_recorded_with_its_author(repo, services):
    from tests.repo import TEMPLATE

    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    run_pass(repo, services, revision)
    finish("app-dev", "us-east-1", services)
    renamed = TEMPLATE.replace("/test/${EnvironmentSuffix}/logs", "/test/${EnvironmentSuffix}/l2")
    blocked = commit(repo, {"templates/app.yml": renamed}, author="Rene Renamer")
    (result,) = run_pass(repo, services, blocked).stacks
    assert result.outcome == "blocked"
    records = [r for r in services.audit.read("app-dev") if r.commit == blocked]
    assert [str(r.event) for r in records][-1] == "blocked"
    assert {r.author for r in records} == {"Rene Renamer <rene@example.com>"}


def test_plan_says_what_change_control_will_do_with_each_change(repo, capsys, aws):
    text = GATED + closed_window()
    make_repo(repo, {"desired-state/app-dev.yml": text}, defaults=False)
    assert main(["plan", str(repo), "--offline"]) == 0
    shown = capsys.readouterr().out
    assert "change control: held for approval by someone other than the author" in shown
    assert "outside its change windows: waits until" in shown
    assert main(["plan", str(repo), "--offline", "--json"]) == 0
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    gates = stack["change_control"]
    assert (gates["approval"], gates["window"], gates["suspended"]) == ("required", "closed", False)
    assert gates["next_window"].endswith("Z")


# --- faults: nothing is lost ---------------------------------------------------------------


class FailingOnce(Kept):
    """A trail whose first append fails as DynamoDB being unreachable would."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def append(self, records):
        if not self.failed:
            self.failed = True
            from reconciler.errors import AwsError

            raise AwsError("audit table unreachable (injected)")
        super().append(records)


def test_a_trail_that_fails_leaves_the_status_unwritten_so_the_retry_records_it(repo, services):
    from reconciler.errors import AwsError

    revision = commit(repo, {})
    services.audit = FailingOnce()
    with pytest.raises(AwsError, match="injected"):
        run_pass(repo, services, revision)
    assert services.status.get("app-dev") is None  # nothing written after the failed trail
    assert services.notifier.sent == []
    (again,) = run_pass(repo, services, revision).stacks  # the event's retry
    assert again.outcome == "awaiting approval"
    assert services.audit.events("app-dev") == ["validated", "planned", "held for approval"]
    assert [n.kind for n in services.notifier.sent] == [Kind.APPROVAL_REQUIRED]


def test_an_approval_whose_record_failed_is_recorded_once_when_approve_runs_again(
    repo, services, monkeypatch, capsys
):
    revision = commit(repo, {})
    run_pass(repo, services, revision)
    trail = FailingOnce()
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: trail)
    assert main(["approve", "app-dev", str(repo), "--no-execute"]) == 1
    assert "injected" in capsys.readouterr().err
    assert services.status.get("app-dev").approved_by == APPROVER  # recorded before
    assert main(["approve", "app-dev", str(repo), "--no-execute"]) == 0
    assert "already approved" in capsys.readouterr().out
    (approved,) = trail.records
    assert (str(approved.event), approved.actor) == ("approved", APPROVER)
    assert approved.time == services.status.get("app-dev").approved_at


def test_an_execution_is_on_the_trail_before_it_runs(repo, services):
    """The trail failing just before ExecuteChangeSet leaves the change set unexecuted
    (the retry runs it and records it); it can never have run unrecorded."""
    from reconciler.errors import AwsError

    revision = commit(repo, {"desired-state/app-dev.yml": STACK})
    trail = FailingOnce()
    trail.append = _fail_on_executed(trail)
    services.audit = trail
    with pytest.raises(AwsError, match="injected"):
        run_pass(repo, services, revision)
    assert stack_status() == "REVIEW_IN_PROGRESS"  # created, described, not executed
    (again,) = run_pass(repo, services, revision).stacks
    assert again.outcome == "executed"
    assert services.audit.events("app-dev")[-1] == "executed"


def _fail_on_executed(trail: FailingOnce):
    keep = Kept.append.__get__(trail)

    def append(records):
        if not trail.failed and any(r.event is Event.EXECUTED for r in records):
            trail.failed = True
            from reconciler.errors import AwsError

            raise AwsError("audit table unreachable (injected)")
        keep(records)

    return append
