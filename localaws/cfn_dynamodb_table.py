"""Stand-in for CloudFormation creating an `AWS::DynamoDB::Table` with point-in-time
recovery, time to live and server-side encryption.

AWS behaviour: `PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled` turns on
continuous backups (DescribeContinuousBackups: PointInTimeRecoveryStatus ENABLED);
`TimeToLiveSpecification` {AttributeName, Enabled} sets the table's TTL attribute
(DescribeTimeToLive: ENABLED with the name); `SSESpecification.SSEEnabled` encrypts the
table with a KMS key, the AWS managed `alias/aws/dynamodb` unless `KMSMasterKeyId` names one
(DescribeTable: SSEDescription {Status ENABLED, SSEType KMS, KMSMasterKeyArn}). The
reconciler's status and idempotency tables in infra/bootstrap.yml set all three.

moto 5.2.5 ignores the first two when it creates a table from a template (both stay
DISABLED), and reads `SSESpecification` with the API's key `Enabled` instead of
CloudFormation's `SSEEnabled`, so a table encrypted by its template shows no SSEDescription.

`install()` wraps moto's create of the table: after it, the three settings are applied as
the service API would (UpdateContinuousBackups, UpdateTimeToLive, the SSE settings of
CreateTable). Limit: moto has no update for a table: a stack update that changes a table's
properties still drops it from the stack (as noted for other types in docs/local-aws.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaws import cfn_models
from localaws.cfn_models import as_bool

_INSTALLED_MARK = "_localaws_cfn_dynamodb_table"


def _after_table_create(table: Any, properties: Mapping[str, Any]) -> None:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[table.account_id][table.region_name]
    recovery = properties.get("PointInTimeRecoverySpecification") or {}
    if as_bool(recovery.get("PointInTimeRecoveryEnabled", False)):
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
        if recovery.get("RecoveryPeriodInDays") is not None:
            spec["RecoveryPeriodInDays"] = int(recovery["RecoveryPeriodInDays"])
        backend.update_continuous_backups(table.name, spec)
    ttl = properties.get("TimeToLiveSpecification") or {}
    if ttl.get("AttributeName"):
        backend.update_time_to_live(
            table.name,
            {"AttributeName": str(ttl["AttributeName"]), "Enabled": as_bool(ttl.get("Enabled"))},
        )
    table.sse_specification = _sse(properties.get("SSESpecification") or {}, table)


def _sse(specification: Mapping[str, Any], table: Any) -> dict[str, Any] | None:
    """The SSE settings as moto keeps them for CreateTable's SSESpecification; None: the
    table is encrypted with an AWS owned key, which DescribeTable does not report."""
    if not as_bool(specification.get("SSEEnabled", False)):
        return None
    key = specification.get("KMSMasterKeyId")
    return {
        "Enabled": True,
        "SSEType": str(specification.get("SSEType") or "KMS"),
        "KMSMasterKeyId": str(key)
        if key
        else table._get_default_encryption_key(table.account_id, table.region_name),
    }


def install() -> None:
    """Apply the three settings when a template creates a table. Safe to call again."""
    from moto.dynamodb.models.table import Table

    if Table.__dict__.get(_INSTALLED_MARK):
        return
    cfn_models.extend_create(Table, after=_after_table_create)
    setattr(Table, _INSTALLED_MARK, True)
