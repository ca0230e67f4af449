"""SNS subscriptions deploy, update and delete through CloudFormation on the local AWS
(`localaws.cfn_sns_subscription`), backed by moto's SNS, through a real local AWS server."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.localaws_helpers import StackUnderTest, handler_refusal

TOPIC = {"Type": "AWS::SNS::Topic", "Properties": {}}


def template(**properties: Any) -> str:
    subscription = {
        "TopicArn": {"Ref": "Topic"},
        "Protocol": "email",
        "Endpoint": "platform@example.com",
        **properties,
    }
    return json.dumps(
        {
            "Resources": {
                "Topic": TOPIC,
                "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": subscription},
            },
            "Outputs": {
                "Ref": {"Value": {"Ref": "Subscription"}},
                "Arn": {"Value": {"Fn::GetAtt": ["Subscription", "Arn"]}},
                "Topic": {"Value": {"Ref": "Topic"}},
            },
        }
    )


def subscriptions(client, topic_arn: str) -> list[dict[str, Any]]:
    return client("sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]


def test_the_endpoint_is_subscribed_to_the_topic(local_aws_client):
    """GIVEN an e-mail subscription to a topic of the stack WHEN it is created THEN the topic
    lists it, and Ref and GetAtt Arn give its ARN"""
    stack = StackUnderTest(local_aws_client, "sub")
    stack.create(template())

    outputs = stack.outputs()
    (listed,) = subscriptions(local_aws_client, outputs["Topic"])
    assert (listed["Protocol"], listed["Endpoint"]) == ("email", "platform@example.com")
    assert outputs["Ref"] == outputs["Arn"] == listed["SubscriptionArn"]


def test_attributes_are_set_and_updated_in_place(local_aws_client):
    """GIVEN a subscription with a filter policy WHEN the stack is updated to another policy
    and raw delivery THEN the same subscription carries the new attributes"""
    stack = StackUnderTest(local_aws_client, "sub")
    stack.create(template(FilterPolicy={"kind": ["Reconcile Failed"]}))
    before = stack.outputs()["Ref"]

    stack.update(template(FilterPolicy={"kind": ["Drift Detected"]}, RawMessageDelivery=True))

    attributes = local_aws_client("sns").get_subscription_attributes(SubscriptionArn=before)
    assert stack.outputs()["Ref"] == before
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {"kind": ["Drift Detected"]}
    assert attributes["Attributes"]["RawMessageDelivery"] == "true"


def test_a_new_endpoint_replaces_the_subscription(local_aws_client):
    """GIVEN a subscription WHEN the stack is updated with another endpoint THEN the topic
    lists only the new endpoint, under a new ARN"""
    stack = StackUnderTest(local_aws_client, "sub")
    stack.create(template())
    before = stack.outputs()["Ref"]

    stack.update(template(Endpoint="oncall@example.com"))

    listed = subscriptions(local_aws_client, stack.outputs()["Topic"])
    assert [s["Endpoint"] for s in listed] == ["oncall@example.com"]
    assert listed[0]["SubscriptionArn"] != before


def test_deleting_the_stack_unsubscribes(local_aws_client):
    """GIVEN a subscription to a topic outside the stack WHEN the stack is deleted THEN the
    topic has no subscription left"""
    topic = local_aws_client("sns").create_topic(Name="kept-topic")["TopicArn"]
    stack = StackUnderTest(local_aws_client, "sub")
    body = json.loads(template(TopicArn=topic))
    del body["Resources"]["Topic"], body["Outputs"]["Topic"]
    stack.create(json.dumps(body))

    local_aws_client("cloudformation").delete_stack(StackName=stack.name)

    assert subscriptions(local_aws_client, topic) == []


def test_a_topic_that_does_not_exist_fails_the_resource(local_aws_client):
    """GIVEN a subscription to a topic ARN that does not exist WHEN the stack is created THEN
    the subscription fails with SNS's NotFound and the stack rolls back"""
    stack = StackUnderTest(local_aws_client, "sub")
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    body = json.loads(template(TopicArn=missing))
    del body["Resources"]["Topic"], body["Outputs"]["Topic"]
    stack.create(json.dumps(body))

    logical_id, status, reason = stack.failure()
    refusal = handler_refusal("Sns", 404).fullmatch(reason)
    assert (logical_id, status) == ("Subscription", "CREATE_FAILED")
    assert refusal is not None, reason
    assert (refusal["message"], refusal["code"]) == ("Topic does not exist", "NotFound")
    assert stack.status() == "ROLLBACK_COMPLETE"
