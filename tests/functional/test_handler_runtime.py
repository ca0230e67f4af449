"""How the handlers run on moto: each EventBridge event once (Powertools idempotency on
DynamoDB), transient failures raised for Lambda to retry, permanent ones returned, and
the metrics printed as EMF."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.metrics.provider.cold_start import reset_cold_start_flag

from handlers import drift, idempotency, push, runtime, stack_status
from handlers.metrics import MetricsNotifier, metrics
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.aws import session
from reconciler.aws.idempotency import DEFAULT_TABLE
from reconciler.errors import AwsError, SourceError
from reconciler.notify import Kind, Notification
from reconciler.source import GitSource
from tests.functional.emf import emf_blobs
from tests.repo import STACK, commit, git, git_repo

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
WORK = {"cloudformation", "ssm"}  # the services a handler's work calls; idempotency is dynamodb


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    """(service, operation) of every AWS call made through reconciler.aws.session."""
    made: list[tuple[str, str]] = []
    session.on_every_call(
        lambda model, **_: made.append((model.service_model.service_name, model.name))
    )
    return made


@pytest.fixture
def repo(tmp_path, monkeypatch, aws, calls):
    root = git_repo(tmp_path / "desired")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(root))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    metrics.clear_metrics()  # a test that called services() outside a handler left some
    return root


def git_push_event(repo: Path) -> dict:
    """A "Git Push" from EventBridge: it has an id, so it is handled once."""
    event = json.loads((EVENTS / "git_push.json").read_text())
    event["detail"].update(repository=str(repo), after=git(repo, "rev-parse", "HEAD"))
    return event


def bare_push_event(repo: Path) -> dict:
    event = json.loads((EVENTS / "push.json").read_text())
    event.update(repository=str(repo), after=git(repo, "rev-parse", "HEAD"))
    return event


def status_event(stack_id: str) -> dict:
    event = json.loads((EVENTS / "stack_status_create_complete.json").read_text())
    event["detail"]["stack-id"] = stack_id
    event["resources"] = [stack_id]
    return event


def live_stack_id(name: str = "app-dev") -> str:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def work_calls(calls: list[tuple[str, str]]) -> list[str]:
    return [op for service, op in calls if service in WORK]


def metric_names(blob: dict) -> list[str]:
    return [m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]


def test_the_same_stack_status_event_twice_does_the_work_once(repo, calls):
    """GIVEN a deployed stack WHEN EventBridge delivers its CREATE_COMPLETE event twice
    (the same id) THEN the second delivery makes no CloudFormation or SSM call and
    returns the first result."""
    push.handler(bare_push_event(repo), LambdaContext())
    event = status_event(live_stack_id())

    calls.clear()
    first = stack_status.handler(event, LambdaContext())
    assert first["status"] == "recorded"
    assert "PutParameter" in work_calls(calls)

    calls.clear()
    second = stack_status.handler(event, LambdaContext())
    assert second == first
    assert work_calls(calls) == []
    assert len(idempotency_records()) == 1


def test_a_direct_invoke_without_an_id_is_not_deduplicated(repo, calls):
    """GIVEN a bare push (a direct invoke, no event id) WHEN invoked twice THEN both
    reconcile (reading CloudFormation), and no idempotency record is written."""
    push.handler(bare_push_event(repo), LambdaContext())
    calls.clear()
    again = push.handler(bare_push_event(repo), LambdaContext())
    assert [s["outcome"] for s in again["stacks"]] == ["unchanged"]
    assert "DescribeStacks" in work_calls(calls)
    assert idempotency_records() == []


def idempotency_records() -> list[dict]:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    if DEFAULT_TABLE not in dynamodb.list_tables()["TableNames"]:
        return []
    return dynamodb.scan(TableName=DEFAULT_TABLE)["Items"]


def test_a_transient_aws_failure_is_raised_and_the_retry_does_the_work(repo, monkeypatch):
    """GIVEN CloudFormation fails (an AwsError) WHEN a Git Push event is handled THEN the
    handler raises, so Lambda retries it; and the retried delivery of the same event
    does the work, as a failure leaves no idempotency record."""
    event = git_push_event(repo)
    cfn = runtime.services().cfn

    def unreachable(regions):
        raise AwsError("cannot reach AWS: Could not connect to the endpoint URL")

    with monkeypatch.context() as patched, pytest.raises(AwsError):
        patched.setattr(cfn, "list_stacks", unreachable)
        push.handler(event, LambdaContext())

    retried = push.handler(event, LambdaContext())
    assert retried["status"] == "reconciled"
    assert retried["stacks"][0]["outcome"] == "executed"


def test_an_unreachable_source_is_raised_for_a_retry(repo, monkeypatch):
    """GIVEN the desired-state source cannot be reached now (SourceUnavailableError) WHEN
    a Git Push event is handled THEN the handler raises, so Lambda retries it."""
    github = pytest.importorskip("reconciler.github")

    def down(self, dest):
        raise github.SourceUnavailableError("GitHub: HTTP 503: GitHub unavailable")

    monkeypatch.setattr(GitSource, "checkout", down)
    with pytest.raises(github.SourceUnavailableError):
        push.handler(git_push_event(repo), LambdaContext())


def test_a_permanent_source_failure_is_returned_not_raised(repo, monkeypatch):
    """GIVEN the followed branch does not exist (a SourceError no retry can fix) WHEN a
    drift event arrives THEN the handler returns status failed with the reason."""

    def missing(self, dest):
        raise SourceError(f"branch 'main' not found in {self.repository}")

    monkeypatch.setattr(GitSource, "checkout", missing)
    event = json.loads((EVENTS / "drift_detection_complete.json").read_text())
    result = drift.handler(event, LambdaContext())
    assert result == {"status": "failed", "reason": f"branch 'main' not found in {repo}"}


def test_an_invalid_desired_state_is_returned_not_raised(repo, calls):
    """GIVEN the branch head has an invalid stack file WHEN a Git Push event is handled
    THEN the handler returns status invalid with the findings (no retry can fix it) and
    nothing is written to CloudFormation."""
    commit(repo, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    result = push.handler(git_push_event(repo), LambdaContext())
    assert result["status"] == "invalid"
    assert any("DS002" in f for f in result["findings"])
    assert not {"CreateChangeSet", "ExecuteChangeSet"} & set(work_calls(calls))


def test_an_unparseable_event_is_rejected_without_any_aws_call(repo, calls):
    """GIVEN a stack status event without its detail WHEN handled THEN it is returned as
    rejected, and no idempotency record (nor anything else) is written."""
    event = status_event("arn:aws:cloudformation:us-east-1:123456789012:stack/app-dev/x")
    del event["detail"]
    assert stack_status.handler(event, LambdaContext())["status"] == "rejected"
    assert calls == []


def test_a_blocked_reconcile_is_counted_in_the_emf_output(repo, capsys):
    """GIVEN an invalid head (the pass records the stacks Blocked and notifies it) WHEN
    the push handler runs THEN the EMF it prints counts ReconcileBlocked once, in the
    GitOpsReconciler namespace with the service as the only dimension."""
    commit(repo, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    capsys.readouterr()
    push.handler(git_push_event(repo), LambdaContext())

    (blob,) = [b for b in emf_blobs(capsys.readouterr().out) if "ReconcileBlocked" in b]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "GitOpsReconciler"
    assert directive["Dimensions"] == [["service"]]
    assert (blob["service"], blob["ReconcileBlocked"]) == ("gitops-reconciler", [1.0])


def test_the_first_invocation_of_a_container_emits_the_cold_start_metric(repo, capsys):
    """GIVEN a fresh container WHEN two events are handled THEN only the first prints a
    ColdStart metric, with the function name as a dimension."""
    reset_cold_start_flag()
    capsys.readouterr()
    event = bare_push_event(repo) | {"ref": "refs/heads/feature"}  # skipped: no AWS work
    push.handler(event, LambdaContext())
    first = emf_blobs(capsys.readouterr().out)
    push.handler(event, LambdaContext())
    second = emf_blobs(capsys.readouterr().out)

    (cold,) = [b for b in first if "ColdStart" in metric_names(b)]
    assert cold["function_name"] == "gitops-reconciler-local"
    assert not [b for b in second if "ColdStart" in metric_names(b)]


def test_metrics_notifier_counts_by_kind_and_records_operation_durations(capsys):
    """GIVEN two Reconcile Succeeded (with durations) and a Drift Repaired WHEN sent to
    the MetricsNotifier and flushed THEN the EMF holds one count per notification under
    names without spaces, and StackOperationDuration in seconds."""
    metrics.clear_metrics()
    MetricsNotifier(metrics).send(
        [
            Notification(Kind.SUCCEEDED, "a", "us-east-1", "UPDATE_COMPLETE", duration_seconds=30),
            Notification(Kind.SUCCEEDED, "b", "us-east-1", "CREATE_COMPLETE", duration_seconds=95),
            Notification(Kind.DRIFT_REPAIRED, "c", "us-east-1", "reverted"),
        ]
    )
    metrics.flush_metrics()

    (blob,) = emf_blobs(capsys.readouterr().out)
    units = {m["Name"]: m["Unit"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {
        "ReconcileSucceeded": "Count",
        "DriftRepaired": "Count",
        "StackOperationDuration": "Seconds",
    }
    assert blob["ReconcileSucceeded"] == [1.0, 1.0]
    assert blob["DriftRepaired"] == [1.0]
    assert blob["StackOperationDuration"] == [30.0, 95.0]
