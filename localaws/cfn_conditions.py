"""Stand-in for what CloudFormation lists of a stack whose template has resources with a
false `Condition`.

AWS behaviour: a resource whose Condition is false is not created and is not part of the
stack: DescribeStackResources, ListStackResources and DescribeStackResource know nothing of
it. infra/bootstrap.yml has such resources (no webhook function and URL without a webhook
secret, no CodeCommit rule for a GitHub repository, no email subscription without an
address).

moto 5.2.5 keeps an empty entry for each of them: DescribeStackResources and
ListStackResources list a resource with no LogicalResourceId, type or physical id, and
DescribeStackResource (or DescribeStackResources with a LogicalResourceId) of any resource
listed after one fails with HTTP 500 ('NoneType' object has no attribute
'logical_resource_id').

On update, moto also updates such a resource whenever a parameter it references changes,
evaluating its properties: a `!GetAtt` of another conditioned-out resource then fails the
whole update ("Fn::GetAtt references undefined resource"). AWS never touches it.

`install()` makes a moto stack's resources leave out those whose Condition is false, and
an update skip them. Resources of a type moto has no model for are left as moto lists
them. A condition that turns on update is `localaws.cfn_policies`'s: the resource is
created (true) or deleted by its DeletionPolicy (false).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_INSTALLED_MARK = "_localaws_cfn_conditions"


def _created(stack: Any) -> Iterable[Any]:
    resource_map = stack.resource_map
    conditions = getattr(resource_map, "lazy_condition_map", {})
    listed = []
    for logical_id, resource_json in resource_map._resource_json_map.items():
        condition = resource_json.get("Condition")
        if condition in conditions and not conditions[condition]:  # resolves a lazy one
            continue
        listed.append(resource_map[logical_id])
    return listed


def install() -> None:
    """List only the resources a stack has; update only those. Safe to call again."""
    from moto.cloudformation import parsing
    from moto.cloudformation.models import Stack

    if Stack.__dict__.get(_INSTALLED_MARK):
        return
    Stack.stack_resources = property(_created)
    update = parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return resources_map._parsed_resources.get(logical_id)  # left as it is
        return update(logical_id, resource_json, resources_map, *args, **kw)

    parsing.parse_and_update_resource = parse_and_update_resource
    setattr(Stack, _INSTALLED_MARK, True)
