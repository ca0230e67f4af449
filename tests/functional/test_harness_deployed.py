"""The event path through a deployed stack (`harness.deployed.DeployedRouter`), on a real
local AWS server: a small stack with the bootstrap stack's shapes (pattern rules and a
schedule targeting functions, a dead-letter queue, retry settings, a function URL), whose
functions' handlers are the recorders below."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from harness.deployed import DeployedRouter
from harness.router import RouterError
from localaws.server import LocalAws

HERE = __name__  # the handlers are this module's functions
CODE = {"S3Bucket": "deployed-code", "S3Key": "code.zip"}
# What the functions' handlers saw: (handler, event, the variables below as they were).
CALLS: list[tuple[str, dict[str, Any], dict[str, str | None]]] = []
WATCHED = ("RECONCILER_TABLE", "GREETING", "GITHUB_API_URL", "AWS_REGION")


def _seen() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in WATCHED}


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("record", event, _seen()))
    return {"status": "recorded", "reason": context.function_name}


def fail(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("fail", event, _seen()))
    raise RuntimeError("the status table is throttled")


def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("answer", event, _seen()))
    return {"statusCode": 202, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def _function(handler: str, variables: dict[str, str], **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-{handler}"},
            "Runtime": "python3.13",
            "Handler": f"{HERE}.{handler}",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": CODE,
            "Environment": {"Variables": variables},
            **properties,
        },
    }


def _rule(suffix: str, target: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"},
            "Targets": [{"Id": suffix, "Arn": {"Fn::GetAtt": [target, "Arn"]}}],
            **properties,
        },
    }


def template() -> str:
    return json.dumps(
        {
            "Parameters": {"UrlAuth": {"Type": "String", "Default": "NONE"}},
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "lambda.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                }
                            ],
                        }
                    },
                },
                "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
                "Recorder": _function(
                    "record", {"RECONCILER_TABLE": "deployed-table", "GREETING": "hello"}
                ),
                "Failing": _function(
                    "fail",
                    {"GREETING": "failing"},
                    DeadLetterConfig={"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}},
                ),
                "FailingInvokeConfig": {
                    "Type": "AWS::Lambda::EventInvokeConfig",
                    "Properties": {
                        "FunctionName": {"Ref": "Failing"},
                        "Qualifier": "$LATEST",
                        "MaximumRetryAttempts": 1,
                    },
                },
                "Answering": _function("answer", {"GREETING": "webhook"}),
                "Url": {
                    "Type": "AWS::Lambda::Url",
                    "Properties": {
                        "TargetFunctionArn": {"Fn::GetAtt": ["Answering", "Arn"]},
                        "AuthType": {"Ref": "UrlAuth"},
                    },
                },
                "PushRule": _rule("push", "Recorder", EventPattern={"detail-type": ["Git Push"]}),
                "FailRule": _rule("fail", "Failing", EventPattern={"detail-type": ["Fail"]}),
                "TickRule": _rule("tick", "Recorder", ScheduleExpression="rate(1 hour)"),
            },
            "Outputs": {"DeadLetters": {"Value": {"Ref": "DeadLetters"}}},
        }
    )


@pytest.fixture(autouse=True)
def calls() -> list[tuple[str, dict[str, Any], dict[str, str | None]]]:
    CALLS.clear()
    return CALLS


@pytest.fixture
def deploy(fresh_local_aws: LocalAws, local_aws_client) -> Callable[..., str]:
    """Deploys the stack; returns its name."""
    s3 = local_aws_client("s3")
    s3.create_bucket(Bucket=CODE["S3Bucket"])
    s3.put_object(Bucket=CODE["S3Bucket"], Key=CODE["S3Key"], Body=b"PK\x05\x06" + b"\0" * 18)

    def create(**parameters: str) -> str:
        name = f"deployed-{uuid.uuid4().hex[:8]}"
        local_aws_client("cloudformation").create_stack(
            StackName=name,
            TemplateBody=template(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
        return name

    return create


@pytest.fixture
def stack(deploy) -> str:
    return deploy()


@pytest.fixture
def router(fresh_local_aws: LocalAws, stack: str) -> DeployedRouter:
    return DeployedRouter(fresh_local_aws.endpoint_url, stack)


def _put(client, detail_type: str) -> str:
    entries = client("events").put_events(
        Entries=[{"Source": "test", "DetailType": detail_type, "Detail": "{}"}]
    )["Entries"]
    return entries[0]["EventId"]


# --- rules ---------------------------------------------------------------------------------


def test_an_event_reaches_the_function_the_deployed_rule_targets(router, stack, local_aws_client):
    """GIVEN the deployed rule for "Git Push" targeting the recorder function WHEN a Git Push
    is put on the bus and the router pumps THEN the recorder's handler gets it once, by that
    rule, as the deployed function"""
    event_id = _put(local_aws_client, "Git Push")

    deliveries = router.run_until_idle()

    assert [(d.rule, d.handler, d.event_id, d.status) for d in deliveries] == [
        (f"{stack}-push", HERE, event_id, "recorded")
    ]
    assert deliveries[0].reason == f"{stack}-record"


def test_an_event_the_deployed_pattern_does_not_match_is_not_delivered(
    router, local_aws_client, calls
):
    """GIVEN the deployed rules WHEN an event no pattern matches is put on the bus THEN no
    handler is called"""
    _put(local_aws_client, "Something Else")

    assert router.run_until_idle() == []
    assert calls == []


def test_the_handler_runs_with_its_functions_environment_alone(
    router, stack, local_aws_client, calls, monkeypatch
):
    """GIVEN RECONCILER_TABLE set in this process, and a recorder function whose environment
    sets it WHEN its event is delivered THEN the handler sees the function's values and
    the function's region, and the process gets its own back afterwards"""
    monkeypatch.setenv("RECONCILER_TABLE", "process-table")
    monkeypatch.setenv("GREETING", "process")
    _put(local_aws_client, "Git Push")

    router.run_until_idle()

    assert calls[0][2] == {
        "RECONCILER_TABLE": "deployed-table",
        "GREETING": "hello",
        "GITHUB_API_URL": None,
        "AWS_REGION": "us-east-1",
    }
    assert (os.environ["RECONCILER_TABLE"], os.environ["GREETING"]) == ("process-table", "process")


def test_a_variable_another_function_sets_does_not_leak_from_the_process(
    router, local_aws_client, calls, monkeypatch
):
    """GIVEN RECONCILER_TABLE in this process, set by the recorder function but not by the
    failing one WHEN the failing function runs THEN it sees no RECONCILER_TABLE"""
    monkeypatch.setenv("RECONCILER_TABLE", "process-table")
    _put(local_aws_client, "Fail")

    router.run_until_idle()

    assert calls[0][2]["RECONCILER_TABLE"] is None


def test_extra_environment_is_added_to_every_function(
    fresh_local_aws, stack, local_aws_client, calls
):
    """GIVEN a router made with GITHUB_API_URL as extra environment WHEN an event is delivered
    THEN the handler sees it"""
    router = DeployedRouter(
        fresh_local_aws.endpoint_url, stack, environment={"GITHUB_API_URL": "http://127.0.0.1:9"}
    )
    _put(local_aws_client, "Git Push")

    router.run_until_idle()

    assert calls[0][2]["GITHUB_API_URL"] == "http://127.0.0.1:9"


# --- retries and the dead-letter queue ---------------------------------------------------------


def test_a_failing_handler_is_tried_as_often_as_its_invoke_config_says_then_dead_lettered(
    router, stack, local_aws_client, calls
):
    """GIVEN the failing function with MaximumRetryAttempts 1 and a dead-letter queue WHEN
    its event is delivered THEN it is tried twice, and the event goes to the function's
    dead-letter queue with the error"""
    event_id = _put(local_aws_client, "Fail")

    deliveries = router.run_until_idle()

    assert [(d.attempt, d.status) for d in deliveries] == [(1, "error"), (2, "dead-lettered")]
    assert len(calls) == 2
    queue = local_aws_client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    url = queue["Outputs"][0]["OutputValue"]
    (message,) = local_aws_client("sqs").receive_message(
        QueueUrl=url, MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(message["Body"])["id"] == event_id
    attributes = message["MessageAttributes"]
    assert attributes["ErrorCode"]["StringValue"] == "RuntimeError"
    assert attributes["ErrorMessage"]["StringValue"] == "the status table is throttled"


# --- the schedule and the function URL ------------------------------------------------------


def test_fire_schedule_invokes_the_schedule_rules_function(router, stack, calls):
    """GIVEN the deployed schedule rule targeting the recorder WHEN the schedule fires THEN the
    recorder gets a "Scheduled Event" naming the rule"""
    tick = router.fire_schedule()

    deliveries = router.run_until_idle()

    assert [(d.rule, d.detail_type) for d in deliveries] == [(f"{stack}-tick", "Scheduled Event")]
    assert calls[0][1]["resources"] == tick["resources"]
    assert tick["resources"][0].endswith(f":rule/{stack}-tick")


def test_a_post_to_the_function_url_runs_its_function_with_a_version_2_event(
    router, calls, local_aws_client, stack
):
    """GIVEN the function URL of the answering function WHEN a body is posted to it THEN the
    handler gets Lambda's version 2.0 HTTP event (lower-case headers, the body as text) as
    the deployed function, and its answer comes back as the HTTP response"""
    response = router.post_webhook(b'{"zen": "ok"}', {"Content-Type": "application/json"})

    (_, event, seen) = calls[0]
    url = local_aws_client("lambda").get_function_url_config(FunctionName=f"{stack}-answer")
    assert (response.status_code, response.headers, response.body) == (
        202,
        {"content-type": "application/json"},
        "{}",
    )
    assert (event["version"], event["requestContext"]["http"]["method"]) == ("2.0", "POST")
    assert (event["body"], event["isBase64Encoded"]) == ('{"zen": "ok"}', False)
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["host"] == url["FunctionUrl"].removeprefix("https://")
    assert seen["GREETING"] == "webhook"


def test_a_url_that_needs_aws_iam_answers_403_without_running_the_function(
    fresh_local_aws, deploy, calls
):
    """GIVEN a function URL with AuthType AWS_IAM WHEN an unsigned body is posted THEN it
    answers 403 Forbidden and the function does not run"""
    router = DeployedRouter(fresh_local_aws.endpoint_url, deploy(UrlAuth="AWS_IAM"))

    response = router.post_webhook(b"{}", {"Content-Type": "application/json"})

    assert (response.status_code, response.json()) == (403, {"Message": "Forbidden"})
    assert calls == []


# --- what cannot be routed -------------------------------------------------------------------


def test_a_stack_that_does_not_exist_is_refused_in_one_line(fresh_local_aws):
    """GIVEN no stack named gitops WHEN a router is made for it THEN it is refused, naming it"""
    with pytest.raises(RouterError, match=r"^cannot read stack gitops: .*does not exist"):
        DeployedRouter(fresh_local_aws.endpoint_url, "gitops")


def test_a_stack_that_rolled_back_is_refused(fresh_local_aws, local_aws_client):
    """GIVEN a stack whose create rolled back WHEN a router is made for it THEN it is refused:
    its rules and functions are gone"""
    cloudformation = local_aws_client("cloudformation")
    broken = {"Url": {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": "none"}}}
    cloudformation.create_stack(StackName="broken", TemplateBody=json.dumps({"Resources": broken}))

    with pytest.raises(RouterError, match=r"^stack broken is ROLLBACK_COMPLETE, not deployed$"):
        DeployedRouter(fresh_local_aws.endpoint_url, "broken")


def test_posting_to_a_stack_without_a_function_url_is_refused(fresh_local_aws, local_aws_client):
    """GIVEN a deployed stack without a function URL WHEN a body is posted THEN it is refused
    in one line"""
    parameter = {"Type": "String", "Value": "v", "Name": f"/deployed/{uuid.uuid4().hex}"}
    body = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": parameter}}}
    local_aws_client("cloudformation").create_stack(
        StackName="plain", TemplateBody=json.dumps(body)
    )
    router = DeployedRouter(fresh_local_aws.endpoint_url, "plain")

    with pytest.raises(RouterError, match=r"^stack plain has no function URL$"):
        router.post_webhook(b"{}", {})
