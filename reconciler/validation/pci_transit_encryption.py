"""PCI002: connections to the database and the cache are encrypted (PCI DSS 4.2; the AWS
Config rule elasticache-repl-grp-encrypted-in-transit). RDS accepts plaintext clients
unless its parameter group requires TLS, and the default groups of MySQL and MariaDB
(and of PostgreSQL before 15) do not: the group must be in the template to be checked.
PostgreSQL 15 and later force TLS by default, so only a group turning it off is flagged."""

from __future__ import annotations

import re
from collections.abc import Iterator

from reconciler.findings import Finding, Severity
from reconciler.render import Unknown
from reconciler.validation.context import Context
from reconciler.validation.pci_common import (
    CACHE_GROUP,
    DB_CLUSTER,
    DB_INSTANCE,
    finding,
    is_intrinsic,
    raw_property,
    ref_target,
    require_true,
    show,
)
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import Resource, StackView, stack_views
from reconciler.yamlfile import key_line

RULE_ID = "PCI002"
CACHE_FIX = "set TransitEncryptionEnabled: true (clients then connect with TLS)"

# engine -> the parameter that refuses plaintext connections
TLS_PARAMETER = {
    "mysql": "require_secure_transport",
    "mariadb": "require_secure_transport",
    "aurora-mysql": "require_secure_transport",
    "postgres": "rds.force_ssl",
    "aurora-postgresql": "rds.force_ssl",
}
# resource type -> (its group property, the group's resource type)
GROUPS = {
    DB_INSTANCE: ("DBParameterGroupName", "AWS::RDS::DBParameterGroup"),
    DB_CLUSTER: ("DBClusterParameterGroupName", "AWS::RDS::DBClusterParameterGroup"),
}
TRUE_VALUES = ("1", "on", "true")


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for resource in view.resources(CACHE_GROUP):
            found = require_true(view, resource, "TransitEncryptionEnabled", RULE_ID, CACHE_FIX)
            if found:
                yield found
        for resource in view.resources(DB_INSTANCE, DB_CLUSTER):
            # Aurora instances take their TLS setting from the cluster's group.
            if resource.type == DB_INSTANCE and "DBClusterIdentifier" in resource.props:
                continue
            found = _database(view, resource)
            if found:
                yield found


def _database(view: StackView, db: Resource) -> Finding | None:
    engine = db.props.get("Engine")
    if not isinstance(engine, str) or engine.lower() not in TLS_PARAMETER:
        return None  # other engines, or not known offline
    name = TLS_PARAMETER[engine.lower()]
    group_prop, group_type = GROUPS[db.type]
    fix = f"set {name}: 1 in an {group_type} of this template and name it in {group_prop}"
    if group_prop not in db.props:
        if name == "rds.force_ssl" and _forces_ssl_by_default(db.props.get("EngineVersion")):
            return None
        msg = (
            f"{group_prop} is not set, so the {engine} default parameter group applies, "
            f"which may accept plaintext connections: {fix}"
        )
        return finding(view, db, None, RULE_ID, msg, Severity.WARNING)

    value = db.props[group_prop]
    target = _resource_ref(value) or ref_target(raw_property(db, group_prop))
    if target is not None and target in view.template.resources:
        group = view.by_id(target)
        if group is None or group.type != group_type:
            return None  # a wrong reference is cfn-lint's finding
    elif isinstance(value, str):
        group = _named(view, group_type, value)
        if group is None:
            msg = (
                f"{group_prop} names the parameter group {value!r}, which is not in this "
                f"template, so whether it requires TLS cannot be checked: {fix}"
            )
            return finding(view, db, group_prop, RULE_ID, msg, Severity.WARNING)
    else:
        return None  # Fn::If and the like: not known offline
    return _group(view, db, group, name)


def _resource_ref(value: object) -> str | None:
    """The resource a rendered value is a Ref to (the group Fn::If chose, say)."""
    if isinstance(value, Unknown) and len(value.refs) == 1:
        (target,) = value.refs
        return target if value.expression == f"Ref {target}" else None
    return None


def _group(view: StackView, db: Resource, group: Resource, name: str) -> Finding | None:
    params = group.props.get("Parameters")
    if "Parameters" in group.props and not isinstance(params, dict):
        return None  # not known offline
    params = params or {}
    family = re.fullmatch(r"postgres(\d+)", str(group.props.get("Family", "")))
    if name not in params and family and _forces_ssl_by_default(family.group(1)):
        return None
    if name not in params:
        msg = (
            f"does not set {name}, so {db.logical_id} ({db.props.get('Engine')}) accepts "
            f"plaintext connections: add {name}: 1 to its Parameters"
        )
        where = "Parameters" if "Parameters" in group.props else None
        return finding(view, group, where, RULE_ID, msg)
    value = params[name]
    if is_intrinsic(value) or show(value).lower() in TRUE_VALUES:
        return None
    msg = (
        f"sets {name} to {show(value)}, so {db.logical_id} accepts plaintext connections: "
        f"set {name}: 1"
    )
    raw = raw_property(group, "Parameters")
    line = key_line(raw, name, group.line_of("Parameters")) if isinstance(raw, dict) else None
    return finding(view, group, "Parameters", RULE_ID, msg, line=line)


def _forces_ssl_by_default(version: object) -> bool:
    """RDS for PostgreSQL 15 and later ship rds.force_ssl = 1 in their default values."""
    major = re.match(r"(\d+)", str(version)) if isinstance(version, (str, int)) else None
    return major is not None and int(major.group(1)) >= 15


def _named(view: StackView, group_type: str, name: str) -> Resource | None:
    """A group of this template carrying that literal name."""
    name_prop = GROUPS[DB_CLUSTER if "Cluster" in group_type else DB_INSTANCE][0]
    return next((g for g in view.resources(group_type) if g.props.get(name_prop) == name), None)


RULE = Rule(
    (RULE_ID,),
    "ElastiCache and RDS (MySQL, MariaDB, PostgreSQL) require TLS in transit",
    check,
)
