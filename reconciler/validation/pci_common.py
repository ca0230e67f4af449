"""What the PCI rules share (no rule of its own): reading a property once the stack's
parameters are in, telling a value that cannot be known offline (any other intrinsic)
from one that is wrong, and saying where a parameter-fed value came from, since the
same template line can be right in one stack and wrong in another."""

from __future__ import annotations

from typing import Any

from reconciler.findings import Finding, Severity
from reconciler.render import Unknown
from reconciler.validation.stack_view import Resource, StackView

DB_INSTANCE = "AWS::RDS::DBInstance"
DB_CLUSTER = "AWS::RDS::DBCluster"
CACHE_GROUP = "AWS::ElastiCache::ReplicationGroup"

# A DB instance with one of these takes its storage, backups and TLS settings from a
# cluster, a snapshot or a source instance, and must not set them itself.
INHERITS_FROM_SOURCE = (
    "DBClusterIdentifier",
    "DBSnapshotIdentifier",
    "DBClusterSnapshotIdentifier",
    "SourceDBInstanceIdentifier",
    "SourceDBClusterIdentifier",
    "SourceDbiResourceId",
)
CLUSTER_INHERITS_FROM_SOURCE = ("SnapshotIdentifier", "SourceDBClusterIdentifier")


def is_intrinsic(value: Any) -> bool:
    """A value CloudFormation evaluates at deploy time (a Ref to a resource, Fn::GetAtt...),
    rendered or as written."""
    if isinstance(value, Unknown):
        return True
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or str(key).startswith("Fn::")


def as_bool(value: Any) -> bool | None:
    """True or False, or None when the value is not known offline (or not a boolean)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def raw_property(resource: Resource, prop: str) -> Any:
    props = resource.node.get("Properties")
    return props.get(prop) if isinstance(props, dict) else None


def parameter_of(view: StackView, value: Any) -> str | None:
    """The template parameter a value (as written) is a Ref to, if any."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Ref"), str):
        name = value["Ref"]
        return name if name in view.template.parameters else None
    return None


def stated(view: StackView, resource: Resource, prop: str, default: str) -> str:
    """`Prop is false`, `Prop is 1 (parameter P in stack S)`, or `Prop is not set (...)`."""
    if prop not in resource.props:
        return f"{prop} is not set ({default})"
    name = parameter_of(view, raw_property(resource, prop))
    if name is None:
        return f"{prop} is {show(resource.props[prop])}"
    value = "the NoEcho value" if view.template.parameters[name].no_echo else None
    value = value or show(resource.props[prop])
    return f"{prop} is {value} (parameter {name} in stack {view.spec.stack_name})"


def finding(
    view: StackView,
    resource: Resource,
    prop: str | None,
    rule: str,
    message: str,
    severity: Severity = Severity.ERROR,
    line: int | None = None,
) -> Finding:
    """A finding at `line`, else the property's line (the resource's when it is absent)."""
    if line is None:
        line = resource.line_of(prop) if prop else resource.line
    return Finding(
        view.path,
        line,
        rule,
        severity,
        f"{resource.logical_id} ({resource.type}): {message}",
        view.spec.stack_name,
    )


def require_true(
    view: StackView,
    resource: Resource,
    prop: str,
    rule: str,
    fix: str,
    severity: Severity = Severity.ERROR,
) -> Finding | None:
    """A finding when a boolean property is false or absent (AWS's default is false);
    None when it is true or cannot be known offline."""
    value = as_bool(resource.props.get(prop, False))
    if value is None or value:
        return None
    said = stated(view, resource, prop, "defaults to false")
    return finding(view, resource, prop, rule, f"{said}: {fix}", severity)


def require_at_least(
    view: StackView,
    resource: Resource,
    prop: str,
    minimum: int,
    default: int | None,
    rule: str,
    fix: str,
) -> Finding | None:
    """A finding when an integer property is below `minimum`; when absent, AWS's
    `default` is judged (None: absent is acceptable)."""
    if prop not in resource.props:
        if default is None or default >= minimum:
            return None
        said = stated(view, resource, prop, f"AWS's default is {default}")
        return finding(view, resource, prop, rule, f"{said}: {fix}")
    value = as_int(resource.props[prop])
    if value is None or value >= minimum:
        return None
    return finding(view, resource, prop, rule, f"{stated(view, resource, prop, '')}: {fix}")


def inherits(resource: Resource) -> bool:
    """The instance or cluster takes its data settings from a cluster, snapshot or source."""
    keys = INHERITS_FROM_SOURCE if resource.type == DB_INSTANCE else CLUSTER_INHERITS_FROM_SOURCE
    return any(k in resource.props for k in keys)


def ref_target(value: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt (as written) points at."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((fn, arg),) = value.items()
    if fn == "Ref" and isinstance(arg, str):
        return arg
    if fn == "Fn::GetAtt":
        target = arg[0] if isinstance(arg, list) and arg else str(arg).split(".")[0]
        return str(target)
    return None
