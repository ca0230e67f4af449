"""The change handler (handlers/change.py) as Lambda runs it, on moto: an "AWS API Call
via CloudTrail" event it cannot read is rejected with the reason and no AWS call; one it
can is acted on once per event id (Powertools idempotency on DynamoDB); AWS refusing the
detection is returned once, throttling raised for a retry; a bad RECONCILER_ROLES fails
the cold start, clearly.

CloudFormation answers through a botocore Stubber (tests/functional/change_world has the
helpers); the events are AWS's documented records (tests/events/cloudtrail)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from handlers import change
from localaws.lambda_context import LambdaContext
from reconciler import environment
from reconciler.errors import AwsError
from reconciler.reconcile import Services
from tests.functional.change_world import (
    HOME,
    Cloud,
    behind_the_handler,
    build_services,
    modify_db,
    now_seconds,
    record_calls,
    sample,
)
from tests.functional.emf import emf_metrics
from tests.functional.test_bad_environment import cold_start


@pytest.fixture
def calls(aws) -> list[tuple[str, str]]:
    """(service, operation) of every call through reconciler.aws.session's clients (the
    status and idempotency tables)."""
    return record_calls()


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


@pytest.fixture
def services(tmp_path, monkeypatch, calls, cloud) -> Services:
    """The handler's services as runtime.services builds them (no account set), but with
    CloudFormation behind the Stubber and the trail in memory."""
    built = behind_the_handler(build_services(cloud, account=""), tmp_path / "desired", monkeypatch)
    calls.clear()
    return built


def event(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("at", now_seconds())
    return modify_db(**kwargs)


# --- events it cannot read -------------------------------------------------------------


def _other_source() -> dict[str, Any]:
    made = event()
    made["source"] = "com.example.rds"
    return made


def _name_with_spaces() -> dict[str, Any]:
    made = event()
    made["detail"]["eventName"] = "Modify DB Instance"
    return made


def _identity_a_string() -> dict[str, Any]:
    made = event()
    made["detail"]["userIdentity"] = "arn:aws:iam::123456789012:user/johndoe"
    return made


def _time(at: str) -> Callable[[], dict[str, Any]]:
    """A call whose eventTime is `at` (CloudTrail writes YYYY-MM-DDTHH:MM:SSZ)."""

    def made() -> dict[str, Any]:
        changed = event()
        changed["detail"]["eventTime"] = at
        return changed

    return made


def _source_not_aws() -> dict[str, Any]:
    made = event()
    made["detail"]["eventSource"] = "rds.amazonaws.com.example.net"
    return made


MALFORMED = {
    "a string": (lambda: "{}", "the event is str, not a JSON object"),
    "a list": (lambda: [event()], "the event is list, not a JSON object"),
    "null": (lambda: None, "the event is null, not a JSON object"),
    # AWS's RotationFailed record, as EventBridge delivers an AWS service event.
    "another detail-type": (
        lambda: sample("secretsmanager-rotation-failed-service-event.json"),
        "detail-type: Input should be 'AWS API Call via CloudTrail'",
    ),
    "a source not aws.*": (
        _other_source,
        "source 'com.example.rds' is not an AWS service's (aws.*)",
    ),
    "an eventName with spaces": (_name_with_spaces, "detail.eventName: String should match"),
    # AWS's own EC2 Instance Connect sample: "SendSSHPublicKey " ends in a space.
    "AWS's eventName with a trailing space": (
        lambda: sample("ec2-instance-connect-send-ssh-public-key.json"),
        "detail.eventName: String should match",
    ),
    "a userIdentity that is a string": (
        _identity_a_string,
        "detail.userIdentity: Input should be a valid dictionary",
    ),
    "an eventSource not of amazonaws.com": (_source_not_aws, "detail.eventSource"),
    "an eventTime that is not a time": (_time("not-a-time"), "detail.eventTime: String should"),
    "an eventTime with an offset": (
        _time("2026-12-07T10:00:00+01:00"),
        "detail.eventTime: String should match",
    ),
    "an eventTime without seconds": (_time("2026-12-07T10:00Z"), "detail.eventTime"),
    "an eventTime that is a number": (_time(1796637600), "detail.eventTime: Input should be"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_an_event_it_cannot_read_is_rejected_with_the_reason_and_no_aws_call(
    services, calls, cloud, kind
):
    """GIVEN an event that is not an AWS API call event as the rules deliver it WHEN
    the handler gets it THEN it answers rejected, saying why in one line, makes no AWS
    call at all (not even the idempotency table's) and leaves no trace on the trail."""
    make, why = MALFORMED[kind]
    answer = change.handler(make(), LambdaContext())
    assert answer["status"] == "rejected"
    assert answer["reason"].startswith("not an AWS API call event: ")
    assert why in answer["reason"]
    assert "\n" not in answer["reason"] and "Traceback" not in answer["reason"]
    assert (calls, cloud.calls, services.audit.records) == ([], [], [])


# --- once per event ---------------------------------------------------------------------


def test_an_event_time_with_milliseconds_is_read(services, cloud):
    """GIVEN a call on the managed DB whose eventTime has milliseconds
    (YYYY-MM-DDTHH:MM:SS.fffZ) WHEN handled THEN it is acted on: the detection starts
    and the call is noted in whole seconds."""
    at = now_seconds()
    cloud.owns()
    cloud.started("d-ms")
    answer = change.handler(event(at=at.replace("Z", ".123Z")), LambdaContext())
    assert answer["status"] == "detecting"
    assert services.status.get("pci-db-dev").changed_at == at
    cloud.done()


def test_the_same_event_twice_is_acted_on_once(services, calls, cloud):
    """GIVEN a ModifyDBInstance on the managed DB WHEN EventBridge delivers it twice
    (the same id) THEN the first starts one detection and the second returns the first
    answer without any CloudFormation call or second trail record."""
    cloud.owns()
    cloud.started("d-once")
    delivered = event(event_id="e-twice")
    first = change.handler(delivered, LambdaContext())
    second = change.handler(delivered, LambdaContext())
    assert first["status"] == "detecting"
    assert second == first
    assert cloud.operations("DetectStackDrift") == 1
    # The call's record is dated when the call was made, before the event was received.
    assert services.audit.events() == ["out-of-band call", "event received"]
    cloud.done()


def test_access_denied_is_answered_failed_once_and_not_retried(services, cloud):
    """GIVEN DetectStackDrift answers AccessDenied WHEN the event is delivered, then
    delivered again THEN both answers are the same "failed" naming the refusal, and
    the second makes no CloudFormation call (a permanent refusal is not retried)."""
    cloud.owns()
    cloud.refused("AccessDenied", 403, "not authorized to perform DetectStackDrift")
    delivered = event(event_id="e-denied")
    first = change.handler(delivered, LambdaContext())
    tried = list(cloud.calls)
    second = change.handler(delivered, LambdaContext())
    assert first["status"] == "failed"
    assert "DetectStackDrift failed: AccessDenied" in first["reason"]
    assert second == first and cloud.calls == tried
    assert services.status.get("pci-db-dev").drift_status == "IN_SYNC"  # the claim given back
    cloud.done()


def test_throttling_is_raised_and_the_redelivery_does_the_work(services, cloud):
    """GIVEN DetectStackDrift answers Throttling WHEN the event is handled THEN the
    handler raises (Lambda retries it) and keeps no idempotency answer, so the
    redelivery starts the detection."""
    cloud.owns()
    cloud.refused("Throttling", 400, "Rate exceeded")
    delivered = event(event_id="e-throttled")
    with pytest.raises(AwsError, match="Throttling"):
        change.handler(delivered, LambdaContext())
    cloud.owns()
    cloud.started("d-retried")
    assert change.handler(delivered, LambdaContext())["status"] == "detecting"
    cloud.done()


# --- left out, counted ------------------------------------------------------------------


def test_a_call_by_cloudformation_is_ignored_and_counted(services, cloud, capsys):
    """GIVEN a ModifyDBInstance CloudFormation made (invokedBy) WHEN handled THEN it is
    ignored with no CloudFormation call, not put on the trail, and counted as
    IgnoredApiCalls."""
    made = event()
    made["detail"]["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    answer = change.handler(made, LambdaContext())
    assert answer["status"] == "ignored"
    assert cloud.calls == []
    assert services.audit.records == []
    assert "IgnoredApiCalls" in emf_metrics(capsys.readouterr().out)


def test_a_call_in_a_role_named_by_reconciler_roles_is_ignored(services, cloud, monkeypatch):
    """GIVEN RECONCILER_ROLES=gitops-push,RoleToBeAssumed and a ModifyDBInstance made in
    a RoleToBeAssumed session (the CloudTrail user guide's AssumedRole identity) WHEN
    handled THEN it is ignored as the reconciler's own, with no CloudFormation call."""
    monkeypatch.setenv("RECONCILER_ROLES", "gitops-push,RoleToBeAssumed")
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    answer = change.handler(event(identity=identity), LambdaContext())
    assert (answer["status"], answer["reason"]) == (
        "ignored",
        "rds:ModifyDBInstance was made by the reconciler's own role RoleToBeAssumed",
    )
    assert cloud.calls == []


def test_a_call_on_an_unmanaged_resource_is_counted_and_not_on_the_trail(services, cloud, capsys):
    """GIVEN a call on a DB no stack owns WHEN handled THEN it is unmanaged, counted as
    UnmanagedApiCalls, and not put on the trail (anyone's calls could fill it)."""
    cloud.owns_nothing("someone-elses-db")
    answer = change.handler(event(db="someone-elses-db"), LambdaContext())
    assert answer["status"] == "unmanaged"
    assert services.audit.records == []
    assert "UnmanagedApiCalls" in emf_metrics(capsys.readouterr().out)
    cloud.done()


def test_the_trail_names_the_caller_and_the_function_apart(services, cloud):
    """GIVEN a call on the managed DB WHEN the handler acts on it THEN the out-of-band
    record names the call's account and its caller as the actor (who changed the
    resource), and the event received names the function's invocation."""
    cloud.owns()
    cloud.started("d-actor")
    context = LambdaContext()
    delivered = event()
    change.handler(delivered, context)
    (record,) = [r for r in services.audit.records if str(r.event) == "out-of-band call"]
    assert record.account == HOME
    assert record.actor == delivered["detail"]["userIdentity"]["arn"]
    (received,) = [r for r in services.audit.records if str(r.event) == "event received"]
    assert received.actor == f"lambda:{context.function_name}:{context.aws_request_id}"
    cloud.done()


# --- RECONCILER_ROLES at cold start -----------------------------------------------------


@pytest.mark.parametrize(
    "value", ["gitops push", "gitops-push,,gitops-drift", "gitops-push,", "r" * 65, "a/b"]
)
def test_a_bad_reconciler_roles_value_is_one_line_naming_it(value):
    """GIVEN RECONCILER_ROLES with a space, an empty name, a trailing comma, a name
    over 64 characters or a slash WHEN checked THEN one line names it and its form."""
    (problem,) = environment.problems({"RECONCILER_ROLES": value})
    assert problem == f"RECONCILER_ROLES={value!r}: expected IAM role names separated by commas"


def test_good_reconciler_roles_are_read_as_names():
    """GIVEN RECONCILER_ROLES of valid IAM role names WHEN checked and read THEN there
    is no problem and the names come back in order."""
    env = {"RECONCILER_ROLES": "gitops-push,gitops-drift,Admin@x.y+z=1"}
    assert environment.problems(env) == []
    assert environment.reconciler_roles(env) == ("gitops-push", "gitops-drift", "Admin@x.y+z=1")


def test_a_bad_reconciler_roles_fails_the_change_handlers_cold_start():
    """GIVEN RECONCILER_ROLES="gitops push" (a space) WHEN the change handler's
    container starts THEN the import fails with one ConfigurationError naming the
    variable and its form: no event is ever half handled."""
    started = cold_start("change", RECONCILER_ROLES="gitops push")
    assert started.returncode != 0
    assert started.stderr.splitlines()[-1] == (
        "reconciler.environment.ConfigurationError: configuration error: "
        "RECONCILER_ROLES='gitops push': expected IAM role names separated by commas"
    )
    assert started.stderr.count("ConfigurationError: ") == 1
