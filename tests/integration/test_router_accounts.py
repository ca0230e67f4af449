"""The event router across accounts and regions, on a local AWS server: CloudFormation's
events of a member account (222222222222) in eu-west-1 go on that account's bus there, a
forwarding rule sends the managed stacks' ones to the home region's default bus of the
central account, and the home rules deliver them to the handlers with the account and
region they came from."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from handlers.routes import HANDLERS
from harness.router import EventRouter
from localaws.accounts import create_account_access_role
from localaws.server import LocalAws

HOME, OTHER = "us-east-1", "eu-west-1"
MEMBER = "222222222222"
PREFIX = "app-"


class Recorder:
    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {name: [] for name in HANDLERS}

    def functions(self) -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
        def recording(name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
            def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
                self.events[name].append(event)
                return {"status": "handled"}

            return handler

        return {name: recording(name) for name in HANDLERS}

    def places(self, handler: str) -> list[tuple[str, str, str]]:
        """(account, region, status) of the events a handler got."""
        return [
            (e["account"], e["region"], e["detail"]["status-details"].get("status", "drift"))
            for e in self.events[handler]
        ]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(fresh_local_aws: LocalAws) -> Callable[..., Any]:
    def make(service: str, region: str = HOME, credentials: dict | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=fresh_local_aws.endpoint_url,
            region_name=region,
            **(credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}),
        )

    return make


@pytest.fixture
def member(fresh_local_aws: LocalAws, client: Callable[..., Any]) -> dict[str, str]:
    """A session in the member account, as a deployer gets one."""
    role = create_account_access_role(fresh_local_aws.endpoint_url, MEMBER)
    answer = client("sts").assume_role(RoleArn=role, RoleSessionName="deployer")["Credentials"]
    return {
        "aws_access_key_id": answer["AccessKeyId"],
        "aws_secret_access_key": answer["SecretAccessKey"],
        "aws_session_token": answer["SessionToken"],
    }


def _template() -> str:
    parameter = {"Type": "String", "Name": f"/router/{uuid.uuid4().hex}", "Value": "v"}
    return json.dumps(
        {"Resources": {"Parameter": {"Type": "AWS::SSM::Parameter", "Properties": parameter}}}
    )


def test_a_member_account_stack_event_reaches_the_home_rules_with_its_account_and_region(
    fresh_local_aws: LocalAws,
    recorder: Recorder,
    client: Callable[..., Any],
    member: dict[str, str],
) -> None:
    """GIVEN a router in us-east-1 following 222222222222 in eu-west-1, with forwarding there
    WHEN a managed stack is created in that account and region, and the router runs
    THEN the stack status handler gets its CREATE_COMPLETE with account 222222222222 and
    region eu-west-1, and the delivery says where it came from"""
    router = EventRouter(
        fresh_local_aws.endpoint_url, HOME, stack_prefix=PREFIX, handlers=recorder.functions()
    )
    router.follow(MEMBER, OTHER, forward=True)
    name = f"{PREFIX}{uuid.uuid4().hex[:8]}"

    client("cloudformation", OTHER, member).create_stack(StackName=name, TemplateBody=_template())
    deliveries = router.run_until_idle(timeout_s=20)

    assert recorder.places("stack_status") == [(MEMBER, OTHER, "CREATE_COMPLETE")]
    (event,) = recorder.events["stack_status"]
    assert event["detail"]["stack-id"].startswith(
        f"arn:aws:cloudformation:{OTHER}:{MEMBER}:stack/{name}/"
    )
    assert [d.line() for d in deliveries] == [
        f"gitops-stack-status => stack_status: {name} CREATE_COMPLETE in {MEMBER}/{OTHER}"
        " -> handled"
    ]


def test_an_unmanaged_stack_of_the_member_account_is_not_forwarded(
    fresh_local_aws: LocalAws,
    recorder: Recorder,
    client: Callable[..., Any],
    member: dict[str, str],
) -> None:
    """GIVEN the same router and forwarding
    WHEN a stack whose name lacks the managed prefix is created in the member account
    THEN no handler gets anything"""
    router = EventRouter(
        fresh_local_aws.endpoint_url, HOME, stack_prefix=PREFIX, handlers=recorder.functions()
    )
    router.follow(MEMBER, OTHER, forward=True)

    client("cloudformation", OTHER, member).create_stack(
        StackName=f"other-{uuid.uuid4().hex[:8]}", TemplateBody=_template()
    )
    router.run_until_idle(timeout_s=20)

    assert all(events == [] for events in recorder.events.values())


def test_a_member_account_drift_detection_reaches_the_drift_handler(
    fresh_local_aws: LocalAws,
    recorder: Recorder,
    client: Callable[..., Any],
    member: dict[str, str],
) -> None:
    """GIVEN the router following the member account in eu-west-1, with forwarding
    WHEN a drift detection of a managed stack there completes
    THEN the drift handler gets the event with account 222222222222 and region eu-west-1"""
    router = EventRouter(
        fresh_local_aws.endpoint_url, HOME, stack_prefix=PREFIX, handlers=recorder.functions()
    )
    router.follow(MEMBER, OTHER, forward=True)
    name = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    cloudformation = client("cloudformation", OTHER, member)
    cloudformation.create_stack(StackName=name, TemplateBody=_template())
    router.run_until_idle(timeout_s=20)

    cloudformation.detect_stack_drift(StackName=name)
    router.run_until_idle(timeout_s=20)

    assert [(e["account"], e["region"]) for e in recorder.events["drift"]] == [(MEMBER, OTHER)]


def test_another_home_region_forwards_instead_of_routing_in_place(
    fresh_local_aws: LocalAws, recorder: Recorder, client: Callable[..., Any]
) -> None:
    """GIVEN a router for us-east-1 and eu-west-1 with forward=True
    WHEN a managed stack is created in eu-west-1 of the home account
    THEN eu-west-1 has forwarding rules only, and the home rule delivers the event once, with
    region eu-west-1"""
    router = EventRouter(
        fresh_local_aws.endpoint_url,
        (HOME, OTHER),
        stack_prefix=PREFIX,
        handlers=recorder.functions(),
        forward=True,
    )

    client("cloudformation", OTHER).create_stack(
        StackName=f"{PREFIX}{uuid.uuid4().hex[:8]}", TemplateBody=_template()
    )
    router.run_until_idle(timeout_s=20)

    rules = sorted(r["Name"] for r in client("events", OTHER).list_rules()["Rules"])
    assert rules == ["gitops-drift-to-home", "gitops-stack-status-to-home"]
    assert recorder.places("stack_status") == [("123456789012", OTHER, "CREATE_COMPLETE")]
    assert router.rule_names(OTHER) == []
