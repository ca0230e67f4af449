"""Stand-in for the Lambda behind `Custom::DefaultSecurityGroupRestriction`, which closes a
VPC's default security group.

AWS behaviour: CloudFormation sends the custom resource's Create, Update and Delete
requests to the Lambda named by `ServiceToken` and waits for its answer. The PCI template's
function revokes every ingress and egress rule of the security group given as
`DefaultSecurityGroupId` (`!GetAtt Vpc.DefaultSecurityGroup`) on Create and on Update (the
group may be a new one), and does nothing on Delete: the default group lives and dies with
its VPC. A ServiceToken naming no function fails the resource.

moto 5.2.5 runs a Lambda-backed custom resource by invoking the function in Docker, in a
background thread. Without Docker the invocation fails in that thread, nobody answers,
and the stack stays CREATE_IN_PROGRESS for ever; on update moto drops the resource from
the stack (it has no update for custom resources).

`install()` performs that function's work directly in moto's EC2 backend for this one
custom type, keyed by type name, not by what the function's code says. Every other
`Custom::` type is not run locally: it fails at once with a reason saying so, and the
stack rolls back (`localaws.rollback`), instead of waiting for ever. (moto skips the
`AWS::CloudFormation::CustomResource` spelling altogether, with a warning.)

`!GetAtt Vpc.DefaultSecurityGroup` needs no help: moto gives the id of the VPC's default
group.
"""

from __future__ import annotations

import logging
from typing import Any

from localaws import rollback
from localaws.rollback import ResourceFailed

logger = logging.getLogger(__name__)

RESTRICTION_TYPE = "Custom::DefaultSecurityGroupRestriction"
_INSTALLED_MARK = "_localaws_custom_resources"


def install() -> None:
    """Run `Custom::DefaultSecurityGroupRestriction` locally; fail other custom types
    at once. Safe to call again."""
    from moto.cloudformation.custom_model import CustomModel

    rollback.install()
    if CustomModel.__dict__.get(_INSTALLED_MARK):
        return
    CustomModel.create_from_cloudformation_json = classmethod(_create)
    CustomModel.update_from_cloudformation_json = classmethod(_update)
    CustomModel.delete = _delete
    setattr(CustomModel, _INSTALLED_MARK, True)


def restrict_default_security_group(group_id: str, account_id: str, region_name: str) -> None:
    """What the function does on Create and Update: revoke every rule of the group."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account_id][region_name]
    group = ec2.get_security_group_from_id(group_id)
    if group is None:
        raise ResourceFailed(f"The security group '{group_id}' does not exist")
    ingress = [rule.id for rule in group.ingress_rules]
    egress = [rule.id for rule in group.egress_rules]
    if ingress:
        ec2.revoke_security_group_ingress(group_id, None, None, None, [], security_rule_ids=ingress)
    if egress:
        ec2.revoke_security_group_egress(group_id, None, None, None, [], security_rule_ids=egress)


def _create(
    cls: type[Any],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    from moto.cloudformation import cloudformation_backends
    from moto.moto_api._internal import mock_random

    resource_type = kwargs.get("ResourceType") or cloudformation_json.get("Type", "")
    _run(resource_type, cloudformation_json, account_id, region_name)
    resource = cls(region_name, str(mock_random.uuid4()), kwargs["LogicalId"], resource_name)
    resource.set_data({})  # the function answers with no Data
    stack = cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"])
    stack.add_custom_resource(resource)
    return resource


def _update(
    cls: type[Any],
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    resource_type = cloudformation_json.get("Type", "")
    _run(resource_type, cloudformation_json, account_id, region_name)
    return original_resource  # the function answers with the same physical id


def _delete(self: Any, account_id: str, region_name: str) -> None:
    """Delete requests succeed and change nothing: the default group goes with its VPC."""


def _run(
    resource_type: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
) -> None:
    properties = cloudformation_json.get("Properties") or {}
    if resource_type != RESTRICTION_TYPE:
        raise ResourceFailed(
            f"Custom resource type {resource_type} is not run by the local AWS: moto would "
            "invoke its Lambda in Docker. Only Custom::DefaultSecurityGroupRestriction has "
            "a stand-in (localaws.custom_resources)."
        )
    _require_function(str(properties.get("ServiceToken", "")), account_id, region_name)
    group_id = properties.get("DefaultSecurityGroupId")
    if not group_id:
        raise ResourceFailed("DefaultSecurityGroupId is required")
    restrict_default_security_group(str(group_id), account_id, region_name)


def _require_function(service_token: str, account_id: str, region_name: str) -> None:
    from moto.awslambda.utils import get_backend

    try:
        get_backend(account_id, region_name).get_function(service_token)
    except Exception:
        raise ResourceFailed(f"Invalid ServiceToken: no function {service_token}") from None
