"""Stack status events as EventBridge would deliver them (`localaws.stack_events`), read off
a real local AWS server."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from localaws.server import LocalAws
from localaws.stack_events import StackStatusEvents, put_on_bus, stack_status_change


def _template(value: str) -> str:
    parameter = {"Type": "String", "Name": f"/stack-events/{uuid.uuid4().hex}", "Value": value}
    return json.dumps(
        {"Resources": {"Parameter": {"Type": "AWS::SSM::Parameter", "Properties": parameter}}}
    )


def _statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["status-details"]["status"] for e in events]


@pytest.fixture
def cloudformation(fresh_local_aws: LocalAws, local_aws_client: Callable[[str], Any]) -> Any:
    """A CloudFormation client on a local AWS with no stacks."""
    return local_aws_client("cloudformation")


@pytest.fixture
def events(cloudformation: Any) -> StackStatusEvents:
    return StackStatusEvents(cloudformation)


def test_first_poll_without_stacks_returns_nothing(events: StackStatusEvents) -> None:
    """GIVEN an account with no stacks
    WHEN the events are polled
    THEN there are none"""
    assert events.poll() == []


def test_create_then_update_come_out_once_each_in_order(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN a stack that was created, then updated
    WHEN the events are polled
    THEN each stack status change comes out once, oldest first"""
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))
    cloudformation.update_stack(StackName="app-dev", TemplateBody=_template("b"))

    polled = events.poll()

    assert _statuses(polled) == [
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]


def test_events_have_the_shape_eventbridge_delivers(
    cloudformation: Any, events: StackStatusEvents, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN a created stack
    WHEN the events are polled
    THEN each is a "CloudFormation Stack Status Change" event exactly as AWS shapes it"""
    stack_id = cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))[
        "StackId"
    ]
    account = local_aws_client("sts").get_caller_identity()["Account"]

    in_progress, complete = events.poll()

    assert set(in_progress) == {
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail",
    }  # fmt: skip
    assert str(uuid.UUID(in_progress["id"])) == in_progress["id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", in_progress["time"])
    assert {k: v for k, v in in_progress.items() if k not in ("id", "time")} == {
        "version": "0",
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": account,
        "region": "us-east-1",
        "resources": [stack_id],
        "detail": {
            "stack-id": stack_id,
            "status-details": {"status": "CREATE_IN_PROGRESS", "status-reason": "User Initiated"},
            "client-request-token": "",
        },
    }
    assert complete["detail"]["status-details"] == {
        "status": "CREATE_COMPLETE",
        "status-reason": "",
    }
    assert in_progress["id"] != complete["id"]


def test_second_poll_with_nothing_new_returns_nothing(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN a stack whose events were already polled
    WHEN the events are polled again with nothing new
    THEN there are none"""
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))
    events.poll()

    assert events.poll() == []


def test_a_poll_returns_only_what_happened_since_the_last_one(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN a stack whose creation was already polled
    WHEN it is updated and the events polled again
    THEN only the update's status changes come out"""
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))
    events.poll()
    cloudformation.update_stack(StackName="app-dev", TemplateBody=_template("b"))

    assert _statuses(events.poll()) == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]


def test_an_executed_create_change_set_starts_with_review_in_progress(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN a stack created by executing a CREATE change set
    WHEN the events are polled
    THEN they begin with REVIEW_IN_PROGRESS, as on AWS"""
    cloudformation.create_change_set(
        StackName="app-dev",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=_template("a"),
    )
    cloudformation.execute_change_set(StackName="app-dev", ChangeSetName="first")

    assert _statuses(events.poll()) == [
        "REVIEW_IN_PROGRESS",
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
    ]


def test_a_deleted_stack_reports_its_deletion_once(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN a stack whose creation was polled, then deleted (DescribeStacks no longer lists it)
    WHEN the events are polled twice
    THEN the first poll gives its deletion and the second nothing"""
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))
    events.poll()
    cloudformation.delete_stack(StackName="app-dev")

    first, second = events.poll(), events.poll()

    assert _statuses(first) == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert second == []


def test_events_of_several_stacks_are_merged_oldest_first(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN stack A created, then stack B created, then stack A updated
    WHEN the events are polled
    THEN they come out in that order across the stacks"""
    cloudformation.create_stack(StackName="app-a", TemplateBody=_template("a"))
    cloudformation.create_stack(StackName="app-b", TemplateBody=_template("a"))
    cloudformation.update_stack(StackName="app-a", TemplateBody=_template("b"))

    order = [
        (e["resources"][0].split("/")[1], e["detail"]["status-details"]["status"])
        for e in events.poll()
    ]

    assert order == [
        ("app-a", "CREATE_IN_PROGRESS"),
        ("app-a", "CREATE_COMPLETE"),
        ("app-b", "CREATE_IN_PROGRESS"),
        ("app-b", "CREATE_COMPLETE"),
        ("app-a", "UPDATE_IN_PROGRESS"),
        ("app-a", "UPDATE_COMPLETE"),
    ]


def test_another_poller_gives_the_same_event_ids(
    cloudformation: Any, events: StackStatusEvents
) -> None:
    """GIVEN a stack whose events one poller returned
    WHEN a new poller (say, after a restart) returns them again
    THEN the event ids are the same, so a consumer can drop the duplicates"""
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))
    first = [e["id"] for e in events.poll()]

    again = [e["id"] for e in StackStatusEvents(cloudformation).poll()]

    assert again == first


def test_client_request_token_is_carried_when_cloudformation_gives_one() -> None:
    """GIVEN a stack event that carries a ClientRequestToken (AWS does; moto never does)
    WHEN it becomes an EventBridge event
    THEN the token is in the detail, and account and region come from the stack ARN"""
    stack_id = "arn:aws:cloudformation:eu-west-1:111122223333:stack/app-prod/0d3e-4f"
    stack_event = {
        "StackId": stack_id,
        "EventId": "e-1",
        "StackName": "app-prod",
        "LogicalResourceId": "app-prod",
        "PhysicalResourceId": stack_id,
        "ResourceType": "AWS::CloudFormation::Stack",
        "Timestamp": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "ResourceStatus": "UPDATE_COMPLETE",
        "ClientRequestToken": "gitops-0123456789abcdef",
    }

    event = stack_status_change(stack_event)

    assert event["detail"]["client-request-token"] == "gitops-0123456789abcdef"
    assert (event["account"], event["region"]) == ("111122223333", "eu-west-1")
    assert event["time"] == "2026-01-02T03:04:05Z"


def test_put_on_bus_delivers_events_to_rule_targets(
    cloudformation: Any, events: StackStatusEvents, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN an EventBridge rule for stack status changes that targets an SQS queue
    WHEN polled events are put on the default bus
    THEN the queue receives them with their source, detail type and detail"""
    sqs, eventbridge = local_aws_client("sqs"), local_aws_client("events")
    queue_url = sqs.create_queue(QueueName="stack-status")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    pattern = {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Stack Status Change"],
    }
    eventbridge.put_rule(Name="stack-status", EventPattern=json.dumps(pattern))
    eventbridge.put_targets(Rule="stack-status", Targets=[{"Id": "queue", "Arn": queue_arn}])
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template("a"))
    polled = events.poll()

    put_on_bus(eventbridge, polled)

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    delivered = [json.loads(m["Body"]) for m in messages]
    assert sorted(_statuses(delivered)) == sorted(_statuses(polled))
    assert {(d["source"], d["detail-type"]) for d in delivered} == {
        ("aws.cloudformation", "CloudFormation Stack Status Change")
    }
