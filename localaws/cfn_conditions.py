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

`install()` makes a moto stack's resources leave out those whose Condition is false.
Resources of a type moto has no model for are left as moto lists them.
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
    """List only the resources a stack has. Safe to call again."""
    from moto.cloudformation.models import Stack

    if Stack.__dict__.get(_INSTALLED_MARK):
        return
    Stack.stack_resources = property(_created)
    setattr(Stack, _INSTALLED_MARK, True)
