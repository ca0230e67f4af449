"""The notification adapters on moto: EventBridge (a rule on a custom bus delivering to an
SQS queue, as a subscriber would set it up) and SNS (an SQS subscription); and the rule
that a notification that cannot be sent is logged and dropped, never raised."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from reconciler.aws import session
from reconciler.aws.notifications import EventBridgeNotifier, SnsNotifier, notifier_from_env
from reconciler.notify import Collected, Kind, Notification

BUS = "gitops-notifications"
PATTERN = {"source": ["gitops.reconciler"]}
BLOCKED = Notification(
    Kind.BLOCKED,
    "app-dev",
    "us-east-1",
    "Database would be replaced; add it to allow-replacement to allow",
    revision="8f3c2a1d9e7b",
    change_set="gitops-8f3c2a1d9e7b",
)
SUCCEEDED = Notification(
    Kind.SUCCEEDED, "app-prod", "us-east-1", "UPDATE_COMPLETE", "8f3c2a1d9e7b", "", 41.5
)


def receive_all(sqs, queue_url: str, expected: int) -> list[dict]:
    bodies: list[dict] = []
    for _ in range(expected + 1):  # SQS returns at most 10 a call
        if len(bodies) >= expected:
            break
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        bodies += [json.loads(m["Body"]) for m in got.get("Messages", [])]
    return bodies


def queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


@pytest.fixture
def subscriber(aws) -> Callable[[str], str]:
    """A custom bus in a region whose rule on the notifications' source feeds a queue;
    returns the queue's URL."""

    def make(region: str = "us-east-1") -> str:
        events = boto3.client("events", region_name=region)
        sqs = boto3.client("sqs", region_name=region)
        events.create_event_bus(Name=BUS)
        url, arn = queue(sqs, "reconciler-events")
        events.put_rule(Name="to-queue", EventBusName=BUS, EventPattern=json.dumps(PATTERN))
        events.put_targets(Rule="to-queue", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
        return url

    return make


@pytest.fixture
def put_events_calls() -> list[int]:
    """Entries per PutEvents call made through reconciler.aws.session's clients (read from
    the serialized request body)."""
    sizes: list[int] = []

    def count(model, params, **_) -> None:
        if model.name == "PutEvents":
            sizes.append(len(json.loads(params["body"])["Entries"]))

    session.on_every_call(count)
    return sizes


def test_each_notification_reaches_a_rule_on_the_bus_as_one_event(subscriber):
    """GIVEN a rule matching source gitops.reconciler on a custom bus WHEN two
    notifications are sent THEN each arrives as an event whose detail-type is the kind and
    whose detail carries the stack, revision, change set and message."""
    url = subscriber()
    EventBridgeNotifier(BUS).send([BLOCKED, SUCCEEDED])

    events = receive_all(boto3.client("sqs", region_name="us-east-1"), url, 2)
    by_stack = {e["detail"]["stack_name"]: e for e in events}
    blocked = by_stack["app-dev"]
    assert (blocked["source"], blocked["detail-type"]) == ("gitops.reconciler", "Reconcile Blocked")
    assert blocked["detail"] == {
        "kind": "Reconcile Blocked",
        "stack_name": "app-dev",
        "region": "us-east-1",
        "message": BLOCKED.message,
        "revision": "8f3c2a1d9e7b",
        "change_set": "gitops-8f3c2a1d9e7b",
    }
    assert by_stack["app-prod"]["detail-type"] == "Reconcile Succeeded"
    assert by_stack["app-prod"]["detail"]["duration_seconds"] == 41.5


def test_twelve_notifications_go_in_two_put_events_calls(subscriber, put_events_calls):
    """GIVEN 12 notifications WHEN sent THEN PutEvents is called twice (10, then 2), its
    limit being 10 entries, and all 12 arrive."""
    url = subscriber()
    notes = [
        Notification(Kind.DRIFT_DETECTED, f"stack-{i}", "us-east-1", "drifted") for i in range(12)
    ]
    EventBridgeNotifier(BUS).send(notes)

    assert put_events_calls == [10, 2]
    events = receive_all(boto3.client("sqs", region_name="us-east-1"), url, 12)
    assert sorted(e["detail"]["stack_name"] for e in events) == sorted(n.stack_name for n in notes)


def test_a_bus_arn_in_another_region_is_sent_to_that_region(subscriber, monkeypatch):
    """GIVEN NOTIFY_EVENT_BUS is a bus ARN in eu-west-1 and the Lambda runs in us-east-1
    WHEN a notification is sent THEN it reaches the rule on that bus."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    url = subscriber("eu-west-1")
    EventBridgeNotifier(f"arn:aws:events:eu-west-1:123456789012:event-bus/{BUS}").send([BLOCKED])

    (event,) = receive_all(boto3.client("sqs", region_name="eu-west-1"), url, 1)
    assert event["detail"]["stack_name"] == "app-dev"


def test_a_topic_subscriber_gets_the_message_with_subject_and_attributes(aws):
    """GIVEN an SNS topic with an SQS subscription WHEN a notification is sent THEN the
    message has a subject naming kind and stack, the detail as its JSON body, and kind
    and stack attributes a subscription filter can use."""
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="reconciler")["TopicArn"]
    url, arn = queue(sqs, "reconciler-mail")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    SnsNotifier(topic).send([BLOCKED])

    (envelope,) = receive_all(sqs, url, 1)
    assert envelope["Subject"] == "Reconcile Blocked: app-dev"
    assert json.loads(envelope["Message"]) == BLOCKED.detail()
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {"kind": "Reconcile Blocked", "stack": "app-dev"}


def test_a_long_stack_name_keeps_the_subject_under_the_sns_limit(aws):
    """GIVEN a 128-character stack name (CloudFormation's maximum) WHEN sent to SNS THEN
    the subject is cut below 100 characters, which SNS would otherwise refuse."""
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="reconciler")["TopicArn"]
    url, arn = queue(sqs, "reconciler-mail")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    SnsNotifier(topic).send([Notification(Kind.FAILED, "s" * 128, "us-east-1", "failed")])

    (envelope,) = receive_all(sqs, url, 1)
    assert len(envelope["Subject"]) == 99
    assert envelope["Subject"].startswith("Reconcile Failed: sss")


TOPIC = "arn:aws:sns:us-east-1:123456789012:reconciler"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, []),
        ({"NOTIFY_EVENT_BUS": BUS}, [EventBridgeNotifier]),
        ({"NOTIFY_TOPIC_ARN": TOPIC}, [SnsNotifier]),
        ({"NOTIFY_EVENT_BUS": BUS, "NOTIFY_TOPIC_ARN": TOPIC}, [EventBridgeNotifier, SnsNotifier]),
        ({"NOTIFY_EVENT_BUS": "", "NOTIFY_TOPIC_ARN": ""}, []),
    ],
    ids=["none", "bus", "topic", "both", "empty-values"],
)
def test_notifier_from_env_picks_the_configured_channels(env, expected):
    """GIVEN NOTIFY_EVENT_BUS and/or NOTIFY_TOPIC_ARN WHEN the notifier is built THEN
    it sends to exactly those; with neither, notifications are only kept in memory."""
    notifier = notifier_from_env(env)
    if expected:
        assert [type(n) for n in notifier.notifiers] == expected
    else:
        assert isinstance(notifier, Collected)


def test_a_bus_that_does_not_exist_is_logged_not_raised(aws, caplog):
    """GIVEN NOTIFY_EVENT_BUS names a bus that does not exist WHEN a notification is
    sent THEN the error is logged with what was dropped, and the pass goes on."""
    with caplog.at_level(logging.ERROR, logger="reconciler.aws.notifications"):
        EventBridgeNotifier("no-such-bus").send([BLOCKED])

    (record,) = caplog.records
    assert "Reconcile Blocked app-dev" in record.getMessage()
    assert "Event bus no-such-bus does not exist" in record.getMessage()


def test_a_topic_that_does_not_exist_is_logged_not_raised(aws, caplog):
    with caplog.at_level(logging.ERROR, logger="reconciler.aws.notifications"):
        SnsNotifier(TOPIC).send([BLOCKED, SUCCEEDED])

    assert [r.getMessage().split(" (")[1].split(")")[0] for r in caplog.records] == [
        "Reconcile Blocked app-dev",
        "Reconcile Succeeded app-prod",
    ]


def stubbed_events() -> tuple[object, Stubber]:
    client = boto3.client(
        "events", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    return client, Stubber(client)


def test_a_refused_batch_does_not_stop_the_next_one(caplog):
    """GIVEN 11 notifications and a PutEvents that fails for the first batch (checked
    against the service model by Stubber) WHEN sent THEN the failure is logged and the
    second batch is still put."""
    client, stubber = stubbed_events()
    stubber.add_client_error("put_events", "AccessDeniedException", "not allowed", 400)
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e11"}]})
    notes = [Notification(Kind.FAILED, f"s{i}", "us-east-1", "failed") for i in range(11)]

    with stubber, caplog.at_level(logging.ERROR, logger="reconciler.aws.notifications"):
        EventBridgeNotifier(BUS, client=client).send(notes)

    stubber.assert_no_pending_responses()
    (record,) = caplog.records
    assert "AccessDeniedException: not allowed" in record.getMessage()
    assert "Reconcile Failed s9" in record.getMessage()
    assert "s10" not in record.getMessage()


def test_entries_refused_by_put_events_are_logged_by_stack(caplog):
    """GIVEN PutEvents accepts the call but refuses one entry (FailedEntryCount 1) WHEN
    sent THEN the refused notification is named in the log with EventBridge's code."""
    client, stubber = stubbed_events()
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [
                {"EventId": "e1"},
                {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"},
            ],
        },
    )
    with stubber, caplog.at_level(logging.ERROR, logger="reconciler.aws.notifications"):
        EventBridgeNotifier(BUS, client=client).send([BLOCKED, SUCCEEDED])

    (record,) = caplog.records
    assert "Reconcile Succeeded app-prod: InternalFailure: try again" in record.getMessage()
    assert "app-dev" not in record.getMessage()
