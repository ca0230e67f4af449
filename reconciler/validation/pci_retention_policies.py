"""PCI006: a resource that holds data is kept (or snapshotted) when the stack deletes or
replaces it. CloudFormation's default UpdateReplacePolicy is Delete, so a replacement
would otherwise destroy the old database, key, secret or log group with its data."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding, Severity
from reconciler.schemas import is_stateful
from reconciler.validation.context import Context
from reconciler.validation.pci_common import finding, is_intrinsic
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import Resource, StackView, stack_views
from reconciler.yamlfile import key_line

RULE_ID = "PCI006"
# Cardholder data, the keys and secrets that unlock it, and the audit trail: an error.
# Other stateful types (queues, buckets, tables...) get a warning.
PCI_TYPES = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
    }
)
SNAPSHOT_TYPES = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::EC2::Volume",
        "AWS::Redshift::Cluster",
        "AWS::Neptune::DBCluster",
        "AWS::DocDB::DBCluster",
    }
)
KEEPS = {
    "DeletionPolicy": ("Retain", "RetainExceptOnCreate", "Snapshot"),
    "UpdateReplacePolicy": ("Retain", "Snapshot"),
}


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for resource in view.resources():
            if is_stateful(resource.type):
                for attribute in KEEPS:
                    found = _policy(view, resource, attribute)
                    if found:
                        yield found


def _policy(view: StackView, resource: Resource, attribute: str) -> Finding | None:
    value = view.value(resource.attribute(attribute))
    if is_intrinsic(value) or value in KEEPS[attribute]:
        return None
    keep = "Snapshot" if _can_snapshot(resource) else "Retain"
    if value is not None:
        said = f"{attribute} is {value}"
    elif attribute == "UpdateReplacePolicy":
        said = f"{attribute} is not set (the default, Delete, destroys it when replaced)"
    else:
        said = f"{attribute} is not set (the default deletes most resources with the stack)"
    severity = Severity.ERROR if resource.type in PCI_TYPES else Severity.WARNING
    line = key_line(resource.node, attribute, resource.line)
    alternative = " (or Retain)" if keep == "Snapshot" else ""
    msg = f"{said}: set {attribute}: {keep}{alternative} so its data outlives the stack"
    return finding(view, resource, None, RULE_ID, msg, severity, line=line)


def _can_snapshot(resource: Resource) -> bool:
    # An Aurora instance's data is the cluster's: only the cluster is snapshotted.
    if resource.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in resource.props:
        return False
    return resource.type in SNAPSHOT_TYPES


RULE = Rule(
    (RULE_ID,),
    "stateful resources have DeletionPolicy and UpdateReplacePolicy Retain or Snapshot",
    check,
)
