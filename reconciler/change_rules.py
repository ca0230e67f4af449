"""Which API calls can change the managed stacks' resources behind the reconciler's back:
for each resource type the templates use, the write actions of its own service among the
update and delete handler permissions of its resource schema (the same data as the
execution role's least privilege, reconciler.iam_actions). `handlers.routes.change_rules`
turns them into the EventBridge rules on "AWS API Call via CloudTrail".

Left out: read-only actions (the service authorization reference's List and Read access
levels; CloudTrail does not send them to EventBridge either), other services' actions a
handler also needs (kms:Decrypt for an RDS instance, firehose:PutRecord for a cache's
logs), creation-only actions, and custom resources (no schema)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from handlers.routes import Watched
from reconciler.desired import DesiredState
from reconciler.iam_actions import expand, facts

HANDLERS = ("update", "delete")
READ_LEVELS = frozenset({"List", "Read"})
# A type's service name (AWS::<Service>::...) where it is not its IAM prefix.
PREFIX = {
    "elasticloadbalancingv2": "elasticloadbalancing",
    "stepfunctions": "states",
    "certificatemanager": "acm",
    "apigatewayv2": "apigateway",
    "opensearchservice": "es",
    "elasticsearch": "es",
}
# An IAM prefix whose CloudTrail eventSource is not <prefix>.amazonaws.com.
EVENT_SOURCE = {"cloudwatch": "monitoring.amazonaws.com"}


def watched(state: DesiredState) -> tuple[Watched, ...]:
    """The watched calls of every type a stack file's template uses, by service."""
    names: dict[str, set[str]] = {}
    for spec in state.stacks:
        template = state.templates.get(spec.template_file_path)
        if template is None:
            continue
        for node in template.resources.values():
            kind = str(node.get("Type")) if isinstance(node, dict) else ""
            for action in type_calls(spec.region, kind):
                service, _, name = action.partition(":")
                names.setdefault(service, set()).add(name)
    return tuple(
        Watched(service, EVENT_SOURCE.get(service, f"{service}.amazonaws.com"), tuple(sorted(n)))
        for service, n in sorted(names.items())
    )


def type_calls(region: str, resource_type: str) -> tuple[str, ...]:
    """service:Action of the type's own service that its update and delete handlers
    need and that write; () for a type without a schema."""
    if not resource_type.startswith("AWS::"):
        return ()
    actions = {a for a in _handler_actions(region, resource_type) if _writes(a)}
    own = _own_service(resource_type, actions)
    return tuple(sorted(a for a in actions if a.partition(":")[0] == own))


def _handler_actions(region: str, resource_type: str) -> set[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return set()
    found: set[str] = set()
    for name in HANDLERS:
        handler = (schema.get("handlers") or {}).get(name) or {}
        for action in handler.get("permissions") or ():
            found.update(expand(str(action)))
    return found


def _writes(action: str) -> bool:
    known = facts(action)
    return known is not None and known.access_level not in READ_LEVELS


def _own_service(resource_type: str, actions: Iterable[str]) -> str:
    """AWS::EC2::SecurityGroup -> ec2; a type whose service name is not a prefix of its
    actions: the prefix most of them have."""
    name = resource_type.split("::")[1].lower()
    name = PREFIX.get(name, name)
    prefixes = Counter(a.partition(":")[0] for a in actions)
    if name in prefixes or not prefixes:
        return name
    return prefixes.most_common(1)[0][0]
