"""PCI003: the database and the cache survive the loss of an Availability Zone. Multi-AZ
is in neither AWS Config PCI pack; the product checks it because a single-AZ cardholder
database is an availability finding in every assessment we have seen."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import (
    CACHE_GROUP,
    DB_INSTANCE,
    as_int,
    finding,
    is_intrinsic,
    require_at_least,
    require_true,
)
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import Resource, StackView, stack_views

RULE_ID = "PCI003"
# Read replicas and Aurora instances: the primary, or the cluster, carries availability.
NOT_THE_PRIMARY = ("DBClusterIdentifier", "SourceDBInstanceIdentifier", "SourceDBClusterIdentifier")


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for db in view.resources(DB_INSTANCE):
            if not any(k in db.props for k in NOT_THE_PRIMARY):
                fix = "set MultiAZ: true (a standby in a second Availability Zone)"
                found = require_true(view, db, "MultiAZ", RULE_ID, fix)
                if found:
                    yield found
        for cache in view.resources(CACHE_GROUP):
            yield from _cache(view, cache)


def _cache(view: StackView, cache: Resource) -> Iterator[Finding]:
    for prop in ("MultiAZEnabled", "AutomaticFailoverEnabled"):
        found = require_true(view, cache, prop, RULE_ID, f"set {prop}: true")
        if found:
            yield found
    props = cache.props
    if "NumNodeGroups" in props or "NodeGroupConfiguration" in props:
        yield from _replicas_per_shard(view, cache)
        return
    fix = "set NumCacheClusters to 2 or more (a replica in another Availability Zone)"
    found = require_at_least(view, cache, "NumCacheClusters", 2, 1, RULE_ID, fix)
    if found:
        yield found


def _replicas_per_shard(view: StackView, cache: Resource) -> Iterator[Finding]:
    """Cluster mode: every shard needs a replica to fail over to."""
    fix = "give every shard a replica: set ReplicasPerNodeGroup to 1 or more"
    if "ReplicasPerNodeGroup" in cache.props:
        found = require_at_least(view, cache, "ReplicasPerNodeGroup", 1, None, RULE_ID, fix)
        if found:
            yield found
        return
    groups = cache.props.get("NodeGroupConfiguration")
    if "NodeGroupConfiguration" not in cache.props:
        msg = f"ReplicasPerNodeGroup is not set, so shards have no replica: {fix}"
        yield finding(view, cache, None, RULE_ID, msg)
        return
    if not isinstance(groups, list):
        return  # not known offline
    counts = [g.get("ReplicaCount") if isinstance(g, dict) else None for g in groups]
    if any(c is None or is_intrinsic(c) for c in counts):
        return  # not known offline
    if any((as_int(c) or 0) < 1 for c in counts):
        msg = "a shard in NodeGroupConfiguration has ReplicaCount 0: set it to 1 or more"
        yield finding(view, cache, "NodeGroupConfiguration", RULE_ID, msg)


RULE = Rule((RULE_ID,), "RDS instances and ElastiCache groups are Multi-AZ", check)
