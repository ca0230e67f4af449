"""An event matching a rule with a Lambda target is put on the bus, and the rule's other
targets get it (`localaws.cfn_event_rule_targets`), through a real local AWS server."""

from __future__ import annotations

import json
import uuid

PATTERN = {"detail-type": ["Git Push"]}
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gitops-push"


def test_put_events_succeeds_and_the_queue_target_gets_the_event(local_aws_client):
    """GIVEN a rule targeting a Lambda function and an SQS queue WHEN a matching event is put
    on the bus THEN PutEvents reports no failure (moto answered HTTP 500) and the queue
    receives the event"""
    sqs, events = local_aws_client("sqs"), local_aws_client("events")
    name = f"push-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(Name=name, EventPattern=json.dumps(PATTERN))
    events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "function", "Arn": FUNCTION_ARN},
            {"Id": "queue", "Arn": queue_arn["Attributes"]["QueueArn"]},
        ],
    )
    detail = {"repository": "owner/repo", "ref": "refs/heads/main", "after": "0" * 40}

    answer = events.put_events(
        Entries=[{"Source": "gitops.git", "DetailType": "Git Push", "Detail": json.dumps(detail)}]
    )

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert answer["FailedEntryCount"] == 0
    assert [json.loads(m["Body"])["detail"] for m in received] == [detail]


def test_the_rule_still_lists_its_lambda_target(local_aws_client):
    """GIVEN a rule targeting a Lambda function WHEN an event matched it THEN
    ListTargetsByRule still lists the function"""
    events = local_aws_client("events")
    name = f"push-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=name, EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule=name, Targets=[{"Id": "function", "Arn": FUNCTION_ARN}])
    events.put_events(Entries=[{"Source": "gitops.git", "DetailType": "Git Push", "Detail": "{}"}])

    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    assert targets == [{"Id": "function", "Arn": FUNCTION_ARN}]
