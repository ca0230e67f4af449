"""EventBridge rules targeting another account's or region's bus on the local AWS server
(`localaws.event_bus_targets`): the event arrives as it was sent, with the account and region
it came from, and goes no further than one hop; targets get `account`; a disabled rule sends
nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws.accounts import in_account
from localaws.server import LocalAws

CENTRAL, MEMBER, THIRD = "123456789012", "222222222222", "333333333333"
HOME, MEMBER_REGION = "us-east-1", "eu-west-1"
CENTRAL_BUS = f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/default"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})

Client = Callable[[str, str, str], Any]


@pytest.fixture(scope="module")
def client(local_aws: LocalAws) -> Client:
    """client(service, region, account): a boto3 client acting in that account."""

    def make(service: str, region: str, account: str) -> Any:
        made = boto3.client(
            service,
            endpoint_url=local_aws.endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        )
        return in_account(made, account)

    return make


@pytest.fixture
def source() -> str:
    """An event source of this test only, so rules of other tests match none of its events."""
    return f"gitops.test.{uuid.uuid4().hex[:8]}"


def _observe(client: Client, region: str, account: str, source: str) -> Callable[[], list[dict]]:
    """A rule on the bus sending the source's events to a new queue; returns its reader."""
    name = f"observe-{uuid.uuid4().hex[:8]}"
    sqs = client("sqs", region, account)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = client("events", region, account)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return received


def _forward(client: Client, region: str, account: str, source: str, bus_arn: str) -> None:
    """A rule forwarding the source's events to another bus, with a role as AWS asks."""
    name = f"forward-{uuid.uuid4().hex[:8]}"
    events = client("events", region, account)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "bus", "Arn": bus_arn, "RoleArn": f"arn:aws:iam::{account}:role/forward-events"}
        ],
    )


def _put(client: Client, region: str, account: str, source: str) -> str:
    entries = client("events", region, account).put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "Stack Thing",
                "Detail": json.dumps({"stack": "app-one", "n": 1}),
                "Resources": ["arn:aws:cloudformation:eu-west-1:222222222222:stack/app-one/1"],
            }
        ]
    )["Entries"]
    return entries[0]["EventId"]


def test_an_event_forwarded_to_the_central_bus_keeps_its_account_and_region(
    client: Client, source: str
) -> None:
    """GIVEN a rule in 222222222222 eu-west-1 forwarding to 123456789012 us-east-1's default bus,
    and a rule there sending to an SQS queue
    WHEN an event is put on the member's bus
    THEN the central queue gets it once, with account 222222222222, region eu-west-1, and the
    id, resources and detail it was put with"""
    central = _observe(client, HOME, CENTRAL, source)
    _forward(client, MEMBER_REGION, MEMBER, source, CENTRAL_BUS)

    event_id = _put(client, MEMBER_REGION, MEMBER, source)

    (event,) = central()
    assert event == {
        "version": "0",
        "id": event_id,
        "detail-type": "Stack Thing",
        "source": source,
        "account": MEMBER,
        "time": event["time"],
        "region": MEMBER_REGION,
        "resources": ["arn:aws:cloudformation:eu-west-1:222222222222:stack/app-one/1"],
        "detail": {"stack": "app-one", "n": 1},
    }


def test_an_event_is_forwarded_to_another_region_of_the_same_account(
    client: Client, source: str
) -> None:
    """GIVEN a rule in the central account's eu-west-1 forwarding to its us-east-1 bus
    WHEN an event is put on the eu-west-1 bus
    THEN us-east-1 gets it with region eu-west-1"""
    central = _observe(client, HOME, CENTRAL, source)
    _forward(client, MEMBER_REGION, CENTRAL, source, CENTRAL_BUS)

    _put(client, MEMBER_REGION, CENTRAL, source)

    assert [(e["account"], e["region"]) for e in central()] == [(CENTRAL, MEMBER_REGION)]


def test_a_forwarded_event_is_not_forwarded_again(client: Client, source: str) -> None:
    """GIVEN the member forwarding to the central bus, and the central bus forwarding to a third
    account's bus
    WHEN an event is put on the member's bus
    THEN the central bus gets it and the third account's bus does not"""
    central = _observe(client, HOME, CENTRAL, source)
    third = _observe(client, HOME, THIRD, source)
    _forward(client, MEMBER_REGION, MEMBER, source, CENTRAL_BUS)
    _forward(client, HOME, CENTRAL, source, f"arn:aws:events:{HOME}:{THIRD}:event-bus/default")

    _put(client, MEMBER_REGION, MEMBER, source)

    assert len(central()) == 1
    assert third() == []


def test_an_event_put_on_a_bus_is_forwarded_by_its_rules(client: Client, source: str) -> None:
    """GIVEN the central bus forwarding to a third account's bus
    WHEN an event is put on the central bus itself
    THEN the third account's bus gets it, with the central account"""
    third = _observe(client, HOME, THIRD, source)
    _forward(client, HOME, CENTRAL, source, f"arn:aws:events:{HOME}:{THIRD}:event-bus/default")

    _put(client, HOME, CENTRAL, source)

    assert [e["account"] for e in third()] == [CENTRAL]


def test_a_queue_target_gets_the_event_account(client: Client, source: str) -> None:
    """GIVEN a rule with a queue target in 222222222222
    WHEN an event is put there
    THEN the queue's event carries account 222222222222"""
    member = _observe(client, MEMBER_REGION, MEMBER, source)

    _put(client, MEMBER_REGION, MEMBER, source)

    assert [e["account"] for e in member()] == [MEMBER]


def test_a_disabled_rule_sends_nothing(client: Client, source: str) -> None:
    """GIVEN a forwarding rule that is disabled
    WHEN an event it matches is put
    THEN the central bus gets nothing"""
    central = _observe(client, HOME, CENTRAL, source)
    name = f"forward-{uuid.uuid4().hex[:8]}"
    events = client("events", MEMBER_REGION, MEMBER)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}), State="DISABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "bus", "Arn": CENTRAL_BUS}])

    _put(client, MEMBER_REGION, MEMBER, source)

    assert central() == []


def test_a_target_bus_that_does_not_exist_fails_no_put(client: Client, source: str) -> None:
    """GIVEN a rule forwarding to a custom bus that does not exist
    WHEN an event it matches is put
    THEN PutEvents still succeeds, and the rule's other buses are unaffected"""
    central = _observe(client, HOME, CENTRAL, source)
    _forward(
        client, MEMBER_REGION, MEMBER, source, f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/nope"
    )
    _forward(client, MEMBER_REGION, MEMBER, source, CENTRAL_BUS)

    event_id = _put(client, MEMBER_REGION, MEMBER, source)

    assert [e["id"] for e in central()] == [event_id]
