"""The Lambda handlers on moto: a push reconciles the branch head; a stack status event
publishes outputs and records the result."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from handlers import idempotency, push, runtime, stack_status
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.services import services_from_env
from reconciler.source import GitSource
from reconciler.status import Health, StackStatus, Sync
from reconciler.triggers import on_stack_status
from tests.repo import STACK, commit, git, git_repo

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"


@pytest.fixture
def calls():
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def repo(tmp_path, monkeypatch, aws, calls):
    root = git_repo(tmp_path / "desired")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(root))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    return root


def push_event(repo: Path, after: str | None = None, ref: str = "refs/heads/main") -> dict:
    event = json.loads((EVENTS / "push.json").read_text())
    event.update(repository=str(repo), ref=ref, after=after or git(repo, "rev-parse", "HEAD"))
    return event


def status_event(name: str, stack_id: str | None = None) -> dict:
    event = json.loads((EVENTS / name).read_text())
    if stack_id:
        event["detail"]["stack-id"] = stack_id
        event["resources"] = [stack_id]
    return event


def live_stack_id(name: str = "app-dev") -> str:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def test_push_deploys_and_the_status_event_publishes_outputs(repo):
    """GIVEN a repository with one stack file WHEN a push arrives and then the
    CREATE_COMPLETE event THEN the stack exists and its outputs are in SSM."""
    outcome = push.handler(push_event(repo), LambdaContext())
    assert outcome["status"] == "reconciled"
    assert outcome["stacks"][0]["outcome"] == "executed"

    event = status_event("stack_status_create_complete.json", live_stack_id())
    done = stack_status.handler(event, LambdaContext())
    assert done["status"] == "recorded"
    ssm = boto3.client("ssm", region_name="us-east-1")
    assert ssm.get_parameter(Name="/app-dev/LogGroup")["Parameter"]["Value"] == "/test/dev/logs"
    head = git(repo, "rev-parse", "HEAD")
    assert runtime.services().status.get("app-dev").applied_revision == head


def test_push_reads_the_branch_head_not_the_commit_the_event_names(repo):
    """GIVEN a push event for an older commit, delivered late WHEN handled THEN the
    branch head is what gets applied, so a late delivery cannot roll back."""
    old = git(repo, "rev-parse", "HEAD")
    new = commit(
        repo, {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)}
    )
    outcome = push.handler(push_event(repo, after=old), LambdaContext())
    assert outcome["revision"] == new
    assert runtime.services().status.get("app-dev").attempted_revision == new


def test_the_same_push_twice_changes_nothing_the_second_time(repo):
    push.handler(push_event(repo), LambdaContext())
    stack_status.handler(
        status_event("stack_status_create_complete.json", live_stack_id()), LambdaContext()
    )
    again = push.handler(push_event(repo), LambdaContext())
    assert [s["outcome"] for s in again["stacks"]] == ["unchanged"]


def test_push_for_another_repository_is_rejected_before_any_aws_call(repo, calls):
    event = push_event(repo)
    event["repository"] = "/somewhere/else"
    outcome = push.handler(event, LambdaContext())
    assert outcome["status"] == "rejected"
    assert "this reconciler follows" in outcome["reason"]
    assert calls == []


def test_push_to_another_branch_is_skipped(repo, calls):
    outcome = push.handler(push_event(repo, ref="refs/heads/feature"), LambdaContext())
    assert outcome["status"] == "skipped"
    assert calls == []


def test_malformed_push_event_is_rejected_without_a_traceback(repo, calls):
    outcome = push.handler({"repository": str(repo)}, LambdaContext())
    assert outcome["status"] == "rejected"
    assert "not a push event" in outcome["reason"]
    assert calls == []


STACK_WRITES = {"CreateChangeSet", "ExecuteChangeSet", "CreateStack", "UpdateStack", "PutParameter"}


def test_invalid_desired_state_at_head_is_reported_and_no_stack_is_touched(repo, calls):
    """Only the status table is written (to say why); nothing reaches CloudFormation or
    SSM."""
    commit(repo, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    outcome = push.handler(push_event(repo), LambdaContext())
    assert outcome["status"] == "invalid"
    assert any("DS002" in f and "desired-state/app-dev.yml:8" in f for f in outcome["findings"])
    assert not STACK_WRITES & set(calls)


def test_in_progress_status_event_is_ignored(repo):
    outcome = stack_status.handler(
        status_event("stack_status_update_in_progress.json"), LambdaContext()
    )
    assert outcome["status"] == "ignored"


def test_status_event_for_an_unmanaged_stack_is_ignored(repo):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    body = (repo / "templates" / "app.yml").read_text()
    cfn.create_stack(
        StackName="app-dev",
        TemplateBody=body,
        Parameters=[{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "x"}],
    )
    outcome = stack_status.handler(
        status_event("stack_status_create_complete.json", live_stack_id()), LambdaContext()
    )
    assert outcome["status"] == "ignored"


def test_rolled_back_update_is_recorded_as_failed_with_the_reason(repo):
    """moto has no rollback; the CloudFormation answer comes from a Stubber, checked
    against the service model. GIVEN UPDATE_ROLLBACK_COMPLETE WHEN the event is
    handled THEN status is Failed with CloudFormation's reason; health stays Healthy
    (the stack runs at its previous inputs)."""
    services = services_from_env(change_set_wait_seconds=0)
    services.status.put(
        StackStatus("app-dev", region="us-east-1", outputs_path="/app-dev", desired_hash="h2")
    )
    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    reason = "The following resource(s) failed to update: [Database]."
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "app-dev",
                    "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app-dev/x",
                    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                    "StackStatus": "UPDATE_ROLLBACK_COMPLETE",
                    "StackStatusReason": reason,
                    "Tags": [
                        {"Key": MANAGED_TAG, "Value": "true"},
                        {"Key": HASH_TAG, "Value": "h1"},
                    ],
                }
            ]
        },
        {"StackName": "app-dev"},
    )
    services.cfn = CloudFormation(client_for=lambda service, region: client)
    with stubber:
        outcome = on_stack_status(
            "app-dev",
            "us-east-1",
            "UPDATE_ROLLBACK_COMPLETE",
            GitSource(str(repo)),
            services,
            "t",
        )
    status = services.status.get("app-dev")
    assert outcome.status == "recorded"
    assert (status.sync, status.health) == (Sync.FAILED, Health.HEALTHY)
    assert status.message == f"UPDATE_ROLLBACK_COMPLETE: {reason}"
    stubber.assert_no_pending_responses()


def test_a_completed_dependency_lets_the_waiting_stack_go_on(repo):
    """GIVEN app-dev waits for base WHEN base's CREATE_COMPLETE event arrives THEN the
    handler reconciles the head again and app-dev is created."""
    base = STACK.replace("app-dev", "base").replace("dev\n", "base\n", 1)
    commit(
        repo,
        {
            "desired-state/app-dev.yml": STACK + "depends-on: [base]\n",
            "desired-state/base.yml": base,
        },
    )
    services = runtime.services()
    from reconciler.desired import load_desired_state
    from reconciler.reconcile import apply

    state = load_desired_state(repo)
    (waiting,) = apply(state, "r0", services, "t", only={"app-dev"}).stacks
    assert waiting.outcome == "waiting"
    apply(state, "r0", services, "t", only={"base"})

    outcome = stack_status.handler(
        status_event("stack_status_create_complete.json", live_stack_id("base")), LambdaContext()
    )
    assert outcome["status"] == "reconciled"
    assert {s["stack_name"]: s["outcome"] for s in outcome["stacks"]}["app-dev"] == "executed"


def test_invalid_head_is_recorded_in_each_affected_stacks_status(repo):
    """GIVEN a head whose stack file has an error WHEN pushed THEN the stack's status says
    why nothing was written, at that revision."""
    head = commit(repo, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    push.handler(push_event(repo), LambdaContext())
    status = runtime.services().status.get("app-dev")
    assert (status.sync, status.attempted_revision) == (Sync.BLOCKED, head)
    assert status.message.startswith(
        "invalid desired state, nothing written: desired-state/app-dev.yml:8"
    )


def drift_event(stack_id: str, detection: str = "DETECTION_COMPLETE") -> dict:
    event = json.loads((EVENTS / "drift_detection_complete.json").read_text())
    event["detail"]["stack-id"] = stack_id
    event["detail"]["status-details"]["detection-status"] = detection
    return event


def test_schedule_then_drift_event_repairs_a_drifted_stack(repo):
    """GIVEN a deployed stack whose log group retention was cut in the console WHEN the
    schedule runs and the detection's event arrives THEN the drift is reverted."""
    from handlers import drift, schedule

    push.handler(push_event(repo), LambdaContext())
    stack_status.handler(
        status_event("stack_status_create_complete.json", live_stack_id()), LambdaContext()
    )
    logs = boto3.client("logs", region_name="us-east-1")
    logs.put_retention_policy(logGroupName="/test/dev/logs", retentionInDays=1)

    started = schedule.handler({}, LambdaContext())
    assert started["status"] == "detecting"
    outcome = drift.handler(drift_event(live_stack_id()), LambdaContext())
    assert (
        outcome["status"] == "recorded"
        and "reverting drifted: Logs /RetentionInDays" in outcome["reason"]
    )
    group = logs.describe_log_groups(logGroupNamePrefix="/test/dev/logs")["logGroups"][0]
    assert group["retentionInDays"] == 365


def test_drift_event_still_in_progress_is_ignored(repo):
    from handlers import drift

    outcome = drift.handler(
        drift_event(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/x/y", "DETECTION_IN_PROGRESS"
        ),
        LambdaContext(),
    )
    assert outcome["status"] == "ignored"


def test_malformed_drift_event_is_rejected(repo):
    from handlers import drift

    assert drift.handler({"detail": {}}, LambdaContext())["status"] == "rejected"
