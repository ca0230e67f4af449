"""An SQS event source mapping on the local AWS server (`localaws.sqs_event_source_mappings`):
the mapping is kept with its settings, and sending a message leaves the queue to its pollers
(moto would receive the message and try to run the function through Docker)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

Client = Callable[[str], Any]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("worker.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def function(local_aws_client: Client) -> str:
    name = f"worker-{uuid.uuid4().hex[:8]}"
    role = local_aws_client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    local_aws_client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="worker.handler",
        Code={"ZipFile": _zip()},
    )
    return name


def _fifo_queue(sqs: Any, redrive_to: str | None = None) -> tuple[str, str]:
    attributes = {"FifoQueue": "true"}
    if redrive_to:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive_to, "maxReceiveCount": 1}
        )
    url = sqs.create_queue(QueueName=f"work-{uuid.uuid4().hex[:8]}.fifo", Attributes=attributes)[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def test_a_sent_message_waits_for_the_pollers_with_no_receive_counted(
    local_aws_client: Client, function: str
) -> None:
    """GIVEN a FIFO queue (dead-lettering after one receive) mapped to a function
    WHEN two messages are sent, one after the other
    THEN both are still in the queue, and the first is received with a receive count of 1"""
    sqs = local_aws_client("sqs")
    _, dead_arn = _fifo_queue(sqs)
    url, arn = _fifo_queue(sqs, redrive_to=dead_arn)
    local_aws_client("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=arn, BatchSize=1
    )

    for n in (1, 2):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"item {n}", MessageGroupId="g", MessageDeduplicationId=str(n)
        )

    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "2"
    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert (message["Body"], message["Attributes"]["ApproximateReceiveCount"]) == ("item 1", "1")


def test_a_mapping_made_by_a_stack_keeps_its_scaling_and_response_types(
    local_aws_client: Client, function: str
) -> None:
    """GIVEN a stack with a FIFO queue and an event source mapping to a function, with a
    maximum concurrency of 4 and ReportBatchItemFailures
    WHEN the mapping is read back
    THEN it has BatchSize 1, MaximumConcurrency 4 and ReportBatchItemFailures"""
    name = f"mapping-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": f"{name}.fifo", "FifoQueue": True},
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": function,
                    "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "BatchSize": 1,
                    "ScalingConfig": {"MaximumConcurrency": 4},
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
        }
    }
    cloudformation = local_aws_client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    uuid_ = next(r for r in resources if r["LogicalResourceId"] == "Mapping")["PhysicalResourceId"]

    mapping = local_aws_client("lambda").get_event_source_mapping(UUID=uuid_)

    assert (
        mapping["BatchSize"],
        mapping["ScalingConfig"],
        mapping["FunctionResponseTypes"],
    ) == (1, {"MaximumConcurrency": 4}, ["ReportBatchItemFailures"])
