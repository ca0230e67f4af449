"""PCI004: automated backups are kept long enough to restore from (the AWS Config rule
db-instance-backup-enabled; the product asks for a week). RDS keeps one day when
BackupRetentionPeriod is absent, ElastiCache none when SnapshotRetentionLimit is."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import (
    CACHE_GROUP,
    DB_CLUSTER,
    DB_INSTANCE,
    require_at_least,
)
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import stack_views

RULE_ID = "PCI004"
MIN_DB_DAYS = 7
DB_FIX = f"set BackupRetentionPeriod to at least {MIN_DB_DAYS} days (at most 35)"
CACHE_FIX = "set SnapshotRetentionLimit to at least 1 day of daily snapshots"
# Aurora instances (the cluster keeps the backups) and read replicas (the source does).
NOT_THE_PRIMARY = ("DBClusterIdentifier", "SourceDBInstanceIdentifier", "SourceDBClusterIdentifier")


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for db in view.resources(DB_INSTANCE, DB_CLUSTER):
            if db.type == DB_INSTANCE and any(k in db.props for k in NOT_THE_PRIMARY):
                continue
            found = require_at_least(
                view, db, "BackupRetentionPeriod", MIN_DB_DAYS, 1, RULE_ID, DB_FIX
            )
            if found:
                yield found
        for cache in view.resources(CACHE_GROUP):
            found = require_at_least(
                view, cache, "SnapshotRetentionLimit", 1, 0, RULE_ID, CACHE_FIX
            )
            if found:
                yield found


RULE = Rule(
    (RULE_ID,),
    f"RDS keeps {MIN_DB_DAYS}+ days of backups, ElastiCache keeps snapshots",
    check,
)
