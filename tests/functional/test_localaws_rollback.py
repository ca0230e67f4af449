"""Stack rollbacks and the update cleanup phase as CloudFormation runs them
(`localaws.rollback`), through a real local AWS server.

A failing dynamic reference is the failure used here; the rollback itself is what is
tested (the reference's own behaviour is in test_localaws_dynamic_references.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import rollback
from tests.functional.localaws_helpers import StackUnderTest


class Stack(StackUnderTest):
    """One test's stack of SSM parameters, and the SSM client that looks behind it."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "rb")
        self.ssm = client("ssm")

    def parameter(self, suffix: str, value: str = "v", **attributes: Any) -> dict[str, Any]:
        properties = {"Name": f"/{self.name}/{suffix}", "Type": "String", "Value": value}
        return {"Type": "AWS::SSM::Parameter", "Properties": properties, **attributes}

    def failing(self, suffix: str, **attributes: Any) -> dict[str, Any]:
        """A parameter whose value refers to an SSM parameter that does not exist."""
        return self.parameter(suffix, f"{{{{resolve:ssm:/{self.name}/missing}}}}", **attributes)

    def create(  # type: ignore[override]
        self, resources: dict[str, Any], outputs: dict[str, Any] | None = None
    ) -> None:
        super().create(body(resources, outputs))

    def update(self, resources: dict[str, Any]) -> None:  # type: ignore[override]
        super().update(body(resources))

    def exists(self, suffix: str) -> bool:
        try:
            self.ssm.get_parameter(Name=f"/{self.name}/{suffix}")
        except ClientError:
            return False
        return True

    def resources(self) -> list[str]:
        listed = self.cloudformation.describe_stack_resources(StackName=self.name)
        return [r["LogicalResourceId"] for r in listed["StackResources"]]


def body(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    return json.dumps({"Resources": resources, "Outputs": outputs or {}})


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- failed create ------------------------------------------------------------------------------


def test_rolled_back_stack_lists_no_resources_and_no_outputs(stack: Stack) -> None:
    """GIVEN a create that failed after its first resource was made, with an output on it
    WHEN the stack, its resources and its outputs are described (twice)
    THEN nothing is listed and describing does not make the deleted resource again"""
    first = stack.parameter("first")
    stack.create(
        {"First": first, "Second": stack.failing("second", DependsOn="First")},
        outputs={"First": {"Value": {"Ref": "First"}}},
    )

    described = [stack.described(), stack.resources(), stack.described(), stack.resources()]

    assert described[0]["StackStatus"] == "ROLLBACK_COMPLETE"
    assert [d.get("Outputs") for d in described[::2]] == [None, None]
    assert described[1::2] == [[], []]
    assert not stack.exists("first")


def test_rolled_back_stack_can_be_deleted_but_not_updated(stack: Stack) -> None:
    """GIVEN a stack whose create rolled back
    WHEN it is updated, then deleted
    THEN the update is refused as on AWS and the deletion completes"""
    stack.create({"Failing": stack.failing("failing")})

    with pytest.raises(ClientError, match="ROLLBACK_COMPLETE state and can not be updated"):
        stack.update({"Fine": stack.parameter("fine")})
    stack.cloudformation.delete_stack(StackName=stack.name)

    deleted = stack.cloudformation.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])
    assert stack.name in [s["StackName"] for s in deleted["StackSummaries"]]


def test_create_rollback_keeps_a_resource_with_retain_policy(stack: Stack) -> None:
    """GIVEN a create that failed after making a resource whose DeletionPolicy is Retain
    WHEN the stack has rolled back
    THEN that resource still exists (AWS retains it on a create rollback too)"""
    kept = stack.parameter("kept", DeletionPolicy="Retain")

    stack.create({"Kept": kept, "Failing": stack.failing("failing", DependsOn="Kept")})

    assert stack.described()["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack.exists("kept")


# --- update cleanup -----------------------------------------------------------------------------


def test_resource_removed_by_an_update_with_retain_policy_is_kept(stack: Stack) -> None:
    """GIVEN a stack with a parameter whose DeletionPolicy is Retain
    WHEN an update removes it from the template
    THEN the update completes, the stack no longer lists it, and it still exists"""
    stack.create(
        {"Kept": stack.parameter("kept", DeletionPolicy="Retain"), "Other": stack.parameter("o")}
    )

    stack.update({"Other": stack.parameter("o")})

    assert stack.described()["StackStatus"] == "UPDATE_COMPLETE"
    assert stack.resources() == ["Other"]
    assert stack.exists("kept")


def test_logical_id_removed_then_added_back_is_created_again(stack: Stack) -> None:
    """GIVEN a stack whose parameter an update removed (and deleted)
    WHEN a later update adds the same logical id back
    THEN the parameter exists again"""
    stack.create({"Flip": stack.parameter("flip"), "Other": stack.parameter("o")})
    stack.update({"Other": stack.parameter("o")})

    stack.update({"Flip": stack.parameter("flip"), "Other": stack.parameter("o")})

    assert stack.exists("flip")
    assert sorted(stack.resources()) == ["Flip", "Other"]


def test_removed_resource_is_deleted_only_after_the_update_succeeds(stack: Stack) -> None:
    """GIVEN a stack with a parameter
    WHEN an update removes it and fails on another resource
    THEN the removed parameter still exists and is still listed"""
    stack.create({"Removed": stack.parameter("removed"), "Other": stack.parameter("o")})

    stack.update({"Other": stack.failing("o")})

    assert stack.described()["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.exists("removed")
    assert sorted(stack.resources()) == ["Other", "Removed"]


# --- install() ----------------------------------------------------------------------------------


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN the patched operations are the same functions and a failed create still rolls back"""
    from moto.cloudformation import models, parsing

    def patched() -> list[Any]:
        return [
            models.CloudFormationBackend.create_stack,
            models.Stack.update,
            parsing.ResourceMap.update,
            parsing.parse_and_create_resource,
        ]

    before = patched()

    rollback.install()

    stack.create({"Failing": stack.failing("failing")})
    assert patched() == before
    assert stack.described()["StackStatus"] == "ROLLBACK_COMPLETE"


# --- service_failure() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_code", "handler_error_code"),
    [
        ("InvalidParameterValue", "InvalidRequest"),
        ("DBInstanceNotFound", "NotFound"),
        ("ResourceExistsException", "AlreadyExists"),
        ("ReplicationGroupAlreadyExists", "AlreadyExists"),
    ],
)
def test_service_failure_reason_has_the_resource_handler_shape(
    error_code: str, handler_error_code: str
) -> None:
    """GIVEN a service's refusal of a call a resource made
    WHEN it becomes the resource's failure
    THEN the reason reads as a resource handler's: the message with the service, status code
    and a request id, then a request token and the handler error code for the error"""
    failure = rollback.service_failure("ElastiCache", error_code, "It is refused.", 404)

    uuid_pattern = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(
        r'Resource handler returned message: "It is refused\. \(Service: ElastiCache, '
        rf'Status Code: 404, Request ID: {uuid_pattern}\)" '
        rf"\(RequestToken: {uuid_pattern}, HandlerErrorCode: {handler_error_code}\)",
        failure.reason,
    ), failure.reason
    assert (failure.logical_id, failure.operation) == (None, None)  # filled in where it fails
