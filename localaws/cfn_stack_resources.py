"""Stand-in for DescribeStackResources by PhysicalResourceId: which stack owns a resource.

AWS behaviour (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResources.html):
"If PhysicalResourceId is specified, the associated resources of the stack that the resource
belongs to are returned" - "you can pass the EC2 InstanceId to DescribeStackResources to find
which stack the instance belongs to and what other resources are part of the stack".
`PhysicalResourceId` is "the name or unique identifier that corresponds to a physical
instance ID of a resource", as DescribeStackResources itself reports it (`sg-...` for a
security group, the DB instance identifier, the log group name, the KMS key id). "You must
specify either StackName or PhysicalResourceId, but not both"; `LogicalResourceId` still
filters the result; "A ValidationError is returned if you specify both StackName and
PhysicalResourceId in the same request". An id that no stack owns is a `ValidationError`
"Stack for <id> does not exist" (the message AWS gives, as reported in
https://github.com/Netflix/eureka/issues/1255 for an EC2 instance id).

moto 5.2.5 ignores PhysicalResourceId: without StackName the call fails ("Stack with id None
does not exist"), with it the stack named is described.

`install()` makes moto's DescribeStackResources (in-process and on the server) answer a
PhysicalResourceId with the resources of the stack, among the account and region's stacks,
that has a resource with exactly that physical id, filtered by LogicalResourceId when given;
an id no stack owns, both StackName and PhysicalResourceId, or neither, is a ValidationError.
A call with StackName alone is moto's.

Not modelled: deleted stacks (AWS answers for 90 days after the deletion) are not searched;
when two stacks report the same physical id the oldest stack answers (AWS is reported to
answer with one resource only in that case, cloudformation-coverage-roadmap#998); the
messages for "both" and "neither" are paraphrased (AWS documents the error, not its text);
the 100-resource limit is not applied.
"""

from __future__ import annotations

from typing import Any

_INSTALLED_MARK = "_localaws_cfn_stack_resources"
NEITHER = "Either StackName or PhysicalResourceId must be specified"
BOTH = "Specify either StackName or PhysicalResourceId, not both"


def owning_stack(backend: Any, physical_id: str) -> Any | None:
    """The oldest stack of a CloudFormation backend with a resource whose physical id,
    as DescribeStackResources reports it, is `physical_id`; None when no stack has one."""
    for stack in list(backend.stacks.values()):
        for resource in list(stack.stack_resources):
            if getattr(resource, "physical_resource_id", None) == physical_id:
                return stack
    return None


def describe_by_physical_id(response: Any) -> Any | None:
    """The answer to a DescribeStackResources without StackName; None to leave the call to
    moto (StackName alone)."""
    from moto.cloudformation import responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    stack_name = response._get_param("StackName")
    physical_id = response._get_param("PhysicalResourceId")
    if not physical_id:
        if not stack_name:
            raise ValidationError(message=NEITHER)
        return None
    if stack_name:
        raise ValidationError(message=BOTH)
    stack = owning_stack(response.cloudformation_backend, physical_id)
    if stack is None:
        raise ValidationError(message=f"Stack for {physical_id} does not exist")
    logical_id = response._get_param("LogicalResourceId")
    resources = [
        resource
        for resource in list(stack.stack_resources)
        if logical_id is None or getattr(resource, "logical_resource_id", None) == logical_id
    ]
    return ActionResult(
        {"StackResources": [responses.StackResourceDTO(stack, r) for r in resources]}
    )


def install() -> None:
    """Answer DescribeStackResources by PhysicalResourceId. Safe to call again."""
    from moto.cloudformation.responses import CloudFormationResponse

    if CloudFormationResponse.__dict__.get(_INSTALLED_MARK):
        return
    moto_describe_stack_resources = CloudFormationResponse.describe_stack_resources

    def describe_stack_resources(self: Any) -> Any:
        answer = describe_by_physical_id(self)
        return moto_describe_stack_resources(self) if answer is None else answer

    CloudFormationResponse.describe_stack_resources = describe_stack_resources
    setattr(CloudFormationResponse, _INSTALLED_MARK, True)
