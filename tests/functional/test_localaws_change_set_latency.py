"""A change set takes LOCALAWS_CHANGE_SET_SECONDS to compute on the local AWS server, as
CloudFormation computes one after CreateChangeSet returns (`localaws.change_set_latency`):
CREATE_PENDING, then CREATE_IN_PROGRESS, unexecutable and without changes, then what moto
computed. The server runs in this process, so the tests move the module's clock instead of
waiting."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import change_set_latency
from tests.functional.localaws_helpers import Clock

TEMPLATE = """\
Parameters:
  Value: {Type: String}
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/latency/${AWS::StackName}", Type: String, Value: !Ref Value}
"""
# Without parameters: moto refuses an update with the same template and parameters at once,
# but computes a change set of the same template alone, and fails it as AWS does.
FIXED = """\
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/latency/${AWS::StackName}", Type: String, Value: fixed}
"""
LATENCY_S = 60.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(change_set_latency, "_now", clock)
    monkeypatch.setenv(change_set_latency.SECONDS, str(LATENCY_S))
    yield clock


@pytest.fixture
def cfn(local_aws_client: Callable[[str], Any]) -> Any:
    return local_aws_client("cloudformation")


def _create(cfn: Any, stack: str, kind: str = "CREATE", template: str = TEMPLATE) -> str:
    name = f"cs-{uuid.uuid4().hex[:8]}"
    values = [{"ParameterKey": "Value", "ParameterValue": "a"}] if template == TEMPLATE else []
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        TemplateBody=template,
        Parameters=values,
        ChangeSetType=kind,
    )
    return name


def _described(cfn: Any, stack: str, name: str) -> tuple[str, str, list[Any]]:
    answer = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
    return answer["Status"], answer["ExecutionStatus"], answer.get("Changes", [])


def _stack() -> str:
    return f"latency-{uuid.uuid4().hex[:8]}"


def test_a_change_set_is_pending_then_in_progress_until_its_time_has_passed(
    cfn: Any, clock: Clock
) -> None:
    # GIVEN a change set just created, with a change-set time of 60 s
    stack = _stack()
    name = _create(cfn, stack)
    # WHEN it is described during the first half, then the second half of that time
    first = _described(cfn, stack, name)
    clock.now += LATENCY_S * 0.75
    second = _described(cfn, stack, name)
    listed = cfn.list_change_sets(StackName=stack)["Summaries"]
    # THEN it is being computed: no changes yet, and not executable
    assert first == ("CREATE_PENDING", "UNAVAILABLE", [])
    assert second == ("CREATE_IN_PROGRESS", "UNAVAILABLE", [])
    assert [(s["Status"], s["ExecutionStatus"]) for s in listed] == [
        ("CREATE_IN_PROGRESS", "UNAVAILABLE")
    ]


def test_a_change_set_is_complete_with_its_changes_once_its_time_has_passed(
    cfn: Any, clock: Clock
) -> None:
    # GIVEN a change set created 60 s ago
    stack = _stack()
    name = _create(cfn, stack)
    clock.now += LATENCY_S
    # WHEN it is described
    status, execution, changes = _described(cfn, stack, name)
    # THEN it is complete, executable, and lists what it adds
    assert (status, execution) == ("CREATE_COMPLETE", "AVAILABLE")
    assert [c["ResourceChange"]["LogicalResourceId"] for c in changes] == ["Param"]


def test_executing_a_change_set_still_being_computed_is_refused_and_changes_nothing(
    cfn: Any, clock: Clock
) -> None:
    # GIVEN a change set still being computed
    stack = _stack()
    name = _create(cfn, stack)
    clock.now += LATENCY_S / 2
    # WHEN it is executed
    with pytest.raises(ClientError) as refused:
        cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    # THEN AWS's error says so, and the stack is still only under review
    error = refused.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
        400,
        "InvalidChangeSetStatus",
    )
    assert "CREATE_IN_PROGRESS" in error["Error"]["Message"]
    (live,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert live["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_a_change_set_executes_once_its_time_has_passed(cfn: Any, clock: Clock) -> None:
    # GIVEN a change set whose time has passed
    stack = _stack()
    name = _create(cfn, stack)
    clock.now += LATENCY_S
    # WHEN it is executed
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    # THEN the stack is created
    (live,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert live["StackStatus"] == "CREATE_COMPLETE"


def test_a_change_set_without_changes_fails_only_once_computed(cfn: Any, clock: Clock) -> None:
    # GIVEN a deployed stack and a change set that changes nothing
    stack = _stack()
    created = _create(cfn, stack, template=FIXED)
    clock.now += LATENCY_S
    cfn.execute_change_set(StackName=stack, ChangeSetName=created)
    same = _create(cfn, stack, "UPDATE", FIXED)
    # WHEN it is described while being computed, then after
    during = _described(cfn, stack, same)[:2]
    clock.now += LATENCY_S
    after = cfn.describe_change_set(StackName=stack, ChangeSetName=same)
    # THEN it is pending first, and FAILED with CloudFormation's reason after
    assert during == ("CREATE_PENDING", "UNAVAILABLE")
    assert (after["Status"], after["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert "didn't contain changes" in after["StatusReason"]


@pytest.mark.parametrize("setting", ["", "0"])
def test_without_a_change_set_time_a_change_set_is_complete_when_created(
    cfn: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    # GIVEN no change-set time (unset or 0): moto's own behaviour
    monkeypatch.setenv(change_set_latency.SECONDS, setting)
    stack = _stack()
    # WHEN a change set is created and described at once
    name = _create(cfn, stack)
    # THEN it is complete already
    assert _described(cfn, stack, name)[:2] == ("CREATE_COMPLETE", "AVAILABLE")


@pytest.mark.parametrize("setting", ["soon", "-1", "inf", "nan"])
def test_a_setting_that_is_not_a_number_of_seconds_is_ignored(setting: str) -> None:
    # GIVEN a change-set time that is not a number of seconds >= 0
    # WHEN it is read
    # THEN the knob is off
    assert change_set_latency.latency_seconds({change_set_latency.SECONDS: setting}) == 0.0


def test_a_change_set_time_is_read_in_seconds() -> None:
    assert change_set_latency.latency_seconds({change_set_latency.SECONDS: " 1.5 "}) == 1.5
