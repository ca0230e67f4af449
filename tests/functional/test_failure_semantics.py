"""What fails, and how: transient AWS errors are retried by botocore, permanent ones
are recorded and notified once and not retried by events, a failed create is re-created
only when nothing stateful was kept, and a stuck rollback is reported with the way out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from localaws import extensions
from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.services import services_from_env
from reconciler.errors import AwsError
from reconciler.notify import Kind
from reconciler.reconcile import finish
from reconciler.source import GitSource
from reconciler.status import Health, Phase, StackStatus, Sync
from reconciler.triggers import on_push, on_stack_status, reconcile_head
from tests.repo import STACK, TEMPLATE, commit, git_repo

extensions.install_all()
REF = "refs/heads/main"
UNRESOLVABLE = TEMPLATE.replace("Value: !Ref Greeting", 'Value: "{{resolve:ssm:/no/such/param}}"')
SUPPRESSED = STACK + "suppress:\n  DYN004: the test needs a reference that fails at deploy\n"
HI = {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)}


@pytest.fixture
def calls():
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def services(aws, calls):
    return services_from_env(change_set_wait_seconds=0)


@pytest.fixture
def repo(tmp_path):
    root = git_repo(tmp_path / "desired")
    return root


def stack_event(status: str, repo: Path, services) -> dict:
    return on_stack_status("app-dev", "us-east-1", status, GitSource(str(repo)), services, "e")


def sent(services, kind: Kind) -> list:
    return [n for n in services.notifier.sent if n.kind is kind]


# --- transient errors: botocore's retry modes ------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


def throttle(times: int, attempts: list[str]):
    """A before-send hook answering the first `times` DescribeStacks with CloudFormation's
    Throttling error, as AWS does in a burst; later attempts go to moto."""

    def hook(request, **_):
        attempts.append(request.url)
        if len(attempts) > times:
            return None
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error></ErrorResponse>"
        )
        return AWSResponse(request.url, 400, {}, _Raw(body))

    return hook


@pytest.fixture
def backoffs(monkeypatch):
    """Sleeps (botocore's between attempts among them), recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", slept.append)
    return slept


def test_a_burst_of_throttling_is_retried_with_backoff(repo, services, backoffs):
    """GIVEN CloudFormation throttles the first three DescribeStacks WHEN a push is
    reconciled THEN botocore's standard mode retries with backoff and the pass succeeds."""
    attempts: list[str] = []
    cfn = session.client("cloudformation", "us-east-1")
    cfn.meta.events.register("before-send.cloudformation.DescribeStacks", throttle(3, attempts))
    outcome = on_push(None, REF, GitSource(str(repo)), services, "push")
    assert outcome.stacks[0]["outcome"] == "executed"
    assert len(attempts) == 4  # three throttled, the fourth answered
    assert len(backoffs) >= 3  # botocore slept between attempts


def test_throttling_beyond_the_retry_budget_raises_so_lambda_retries(repo, services, backoffs):
    """GIVEN CloudFormation keeps throttling WHEN a push is reconciled THEN the error is
    raised (Lambda's asynchronous retries and the DLQ take it) and nothing is written."""
    attempts: list[str] = []
    cfn = session.client("cloudformation", "us-east-1")
    cfn.meta.events.register("before-send.cloudformation.DescribeStacks", throttle(99, attempts))
    with pytest.raises(Exception, match="Throttling"):
        on_push(None, REF, GitSource(str(repo)), services, "push")
    assert len(attempts) == 5  # AWS_MAX_ATTEMPTS' default
    assert services.status.all() == []


def test_adaptive_retry_mode_and_attempts_come_from_the_environment(monkeypatch, aws):
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "8")
    session.reset_clients()
    retries = session.client("cloudformation").meta.config.retries
    assert (retries["mode"], retries["total_max_attempts"]) == ("adaptive", 8)


@pytest.mark.parametrize(
    ("name", "value"), [("AWS_RETRY_MODE", "legacy"), ("AWS_MAX_ATTEMPTS", "zero")]
)
def test_a_bad_retry_setting_is_a_clear_error(monkeypatch, aws, name, value):
    monkeypatch.setenv(name, value)
    session.reset_clients()
    with pytest.raises(AwsError, match=name):
        session.client("cloudformation")


# --- permanent errors: recorded and notified once ------------------------------------


def test_an_invalid_head_is_recorded_and_notified_once(repo, services, calls):
    """GIVEN a head that fails validation WHEN it is pushed twice THEN nothing is written
    to CloudFormation, the stack records why, and one Reconcile Blocked is sent."""
    commit(repo, {"desired-state/app-dev.yml": STACK + "drift: sometimes\n"})
    first = on_push(None, REF, GitSource(str(repo)), services, "push")
    again = on_push(None, REF, GitSource(str(repo)), services, "same push again")
    assert first.status == again.status == "invalid"
    assert "CreateChangeSet" not in calls
    assert services.status.get("app-dev").sync is Sync.BLOCKED
    assert len(sent(services, Kind.BLOCKED)) == 1


def test_a_failed_update_rolls_back_is_notified_once_and_not_retried_until_fixed(
    repo, services, calls
):
    """GIVEN a deployed stack WHEN an update fails and rolls back THEN the status says
    Failed (Healthy: the old inputs still run), one Reconcile Failed is sent even if the
    event repeats, the same head is not tried again by events, and a fix is applied."""
    on_push(None, REF, GitSource(str(repo)), services, "push")
    stack_event("CREATE_COMPLETE", repo, services)
    broken = commit(
        repo, {"templates/app.yml": UNRESOLVABLE, "desired-state/app-dev.yml": SUPPRESSED}
    )
    assert on_push(None, REF, GitSource(str(repo)), services, "p").stacks[0]["outcome"] == (
        "executed"
    )
    stack_event("UPDATE_ROLLBACK_COMPLETE", repo, services)
    stack_event("UPDATE_ROLLBACK_COMPLETE", repo, services)  # delivered twice
    status = services.status.get("app-dev")
    assert (status.sync, status.health, status.phase) == (Sync.FAILED, Health.HEALTHY, Phase.FAILED)
    assert status.message.startswith("UPDATE_ROLLBACK_COMPLETE")
    assert status.attempted_revision == broken
    (failed,) = sent(services, Kind.FAILED)
    assert (failed.stack_name, failed.revision) == ("app-dev", broken)

    calls.clear()
    retried = on_push(None, REF, GitSource(str(repo)), services, "schedule")
    assert retried.stacks[0]["outcome"] == "failed"
    assert "not retried" in retried.stacks[0]["message"]
    assert "CreateChangeSet" not in calls

    fixed = commit(repo, {"templates/app.yml": TEMPLATE, **HI})
    assert on_push(None, REF, GitSource(str(repo)), services, "p").stacks[0]["outcome"] == (
        "executed"
    )
    stack_event("UPDATE_COMPLETE", repo, services)
    assert services.status.get("app-dev").applied_revision == fixed
    (succeeded, *_) = reversed(sent(services, Kind.SUCCEEDED))
    assert succeeded.revision == fixed and succeeded.duration_seconds is not None


# --- a failed create: ROLLBACK_COMPLETE ---------------------------------------------


def test_a_failed_create_is_re_created_once_the_inputs_change(repo, services, calls):
    """GIVEN a create that failed (ROLLBACK_COMPLETE) WHEN the same head comes again THEN
    it is blocked; WHEN a fix is pushed THEN the empty stack is deleted and, on its
    DELETE_COMPLETE event, created again at the fix."""
    commit(repo, {"templates/app.yml": UNRESOLVABLE, "desired-state/app-dev.yml": SUPPRESSED})
    on_push(None, REF, GitSource(str(repo)), services, "push")
    stack_event("ROLLBACK_COMPLETE", repo, services)
    again = on_push(None, REF, GitSource(str(repo)), services, "push")
    assert again.stacks[0]["outcome"] in {"blocked", "failed"}
    assert "DeleteStack" not in calls

    fixed = commit(repo, {"templates/app.yml": TEMPLATE, "desired-state/app-dev.yml": STACK})
    outcome = on_push(None, REF, GitSource(str(repo)), services, "push")
    assert outcome.stacks[0]["outcome"] == "deleting"
    assert "DeleteStack" in calls
    recreated = stack_event("DELETE_COMPLETE", repo, services)
    assert (recreated.revision, recreated.stacks[0]["outcome"]) == (fixed, "executed")
    stack_event("CREATE_COMPLETE", repo, services)
    assert services.status.get("app-dev").applied_revision == fixed


class KeptDatabase(CloudFormation):
    def retained_resources(self, stack):
        return [("Database", "AWS::RDS::DBInstance"), ("Logs", "AWS::Logs::LogGroup")]


def test_a_failed_create_that_kept_a_database_is_never_re_created(repo, services, calls):
    """GIVEN a failed create whose rollback kept a database WHEN a fix is pushed THEN
    the stack is not deleted: the status names the kept database and a human decides."""
    commit(repo, {"templates/app.yml": UNRESOLVABLE, "desired-state/app-dev.yml": SUPPRESSED})
    on_push(None, REF, GitSource(str(repo)), services, "push")
    stack_event("ROLLBACK_COMPLETE", repo, services)
    services.cfn = KeptDatabase()
    commit(repo, {"templates/app.yml": TEMPLATE, "desired-state/app-dev.yml": STACK})
    outcome = on_push(None, REF, GitSource(str(repo)), services, "push")
    assert outcome.stacks[0]["outcome"] == "blocked"
    assert "Database (AWS::RDS::DBInstance)" in outcome.stacks[0]["message"]
    assert "DeleteStack" not in calls
    assert sent(services, Kind.BLOCKED)


def stubbed_cfn(responses: list[tuple[str, dict]]):
    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    for operation, response in responses:
        stubber.add_response(operation, response)
    stubber.activate()
    return CloudFormation(client_for=lambda service, region: client), stubber


STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-dev/1"


def test_retained_resources_are_the_ones_the_rollback_skipped(aws):
    """ListStackResources after a create rollback: DELETE_SKIPPED marks what was kept."""
    summaries = [
        ("Database", "AWS::RDS::DBInstance", "DELETE_SKIPPED"),
        ("Param", "AWS::SSM::Parameter", "DELETE_COMPLETE"),
    ]
    now = datetime.now(UTC)
    cfn, stubber = stubbed_cfn(
        [
            (
                "list_stack_resources",
                {
                    "StackResourceSummaries": [
                        {
                            "LogicalResourceId": lid,
                            "ResourceType": kind,
                            "ResourceStatus": status,
                            "LastUpdatedTimestamp": now,
                        }
                        for lid, kind, status in summaries
                    ]
                },
            )
        ]
    )
    live = _live_stack("ROLLBACK_COMPLETE")
    assert cfn.retained_resources(live) == [("Database", "AWS::RDS::DBInstance")]
    stubber.assert_no_pending_responses()


def _live_stack(status: str):
    from reconciler.live import LiveStack

    return LiveStack("app-dev", STACK_ID, "us-east-1", status)


# --- a stuck rollback: UPDATE_ROLLBACK_FAILED ----------------------------------------


def test_update_rollback_failed_is_reported_with_the_way_out(services):
    """GIVEN an update whose rollback failed (moto cannot show it: Stubber) WHEN its
    stack event arrives THEN the status and the Reconcile Failed notification say how to
    continue the rollback, and the stack is Degraded."""
    described = {
        "Stacks": [
            {
                "StackName": "app-dev",
                "StackId": STACK_ID,
                "CreationTime": datetime.now(UTC),
                "StackStatus": "UPDATE_ROLLBACK_FAILED",
                "StackStatusReason": "Logs: resource is in use",
                "Tags": [{"Key": MANAGED_TAG, "Value": "true"}, {"Key": HASH_TAG, "Value": "h"}],
            }
        ]
    }
    services.cfn, stubber = stubbed_cfn([("describe_stacks", described)])
    services.status.put(
        StackStatus("app-dev", "us-east-1", "/app-dev", phase=Phase.APPLYING, desired_hash="h")
    )
    status = finish("app-dev", "us-east-1", services)
    assert (status.sync, status.health) == (Sync.FAILED, Health.DEGRADED)
    assert "continue-update-rollback --stack-name app-dev --region us-east-1" in status.message
    assert "Logs: resource is in use" in status.message
    (note,) = sent(services, Kind.FAILED)
    assert "continue-update-rollback" in note.message
    stubber.assert_no_pending_responses()


def test_reconcile_head_raises_when_the_source_cannot_be_read(tmp_path, services):
    """A missing repository is an error the handler raises (its message is one line)."""
    from reconciler.errors import SourceError

    with pytest.raises(SourceError, match="git clone failed"):
        reconcile_head(GitSource(str(tmp_path / "nowhere")), services, "push")
