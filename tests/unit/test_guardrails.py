"""The PCI guardrails over live settings: compliant settings pass every control; each
control fails on its own, with its AWS Config rule name, its severity and a message that
says what is wrong and the fix; boundary values and resources a control does not apply to
pass."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.findings import Severity
from reconciler.guardrails import (
    CacheSettings,
    DatabaseSettings,
    IngressRule,
    KeySettings,
    LogGroupSettings,
    Resource,
    SecurityGroupSettings,
    StackSettings,
    Violation,
    check,
)

DB = DatabaseSettings(
    logical_id="Database",
    physical_id="pci-mysql-dev",
    engine="mysql",
    storage_encrypted=True,
    multi_az=True,
    publicly_accessible=False,
    backup_retention_days=7,
    deletion_protection=True,
    log_exports=("audit", "error", "slowquery"),
)
CACHE = CacheSettings(
    logical_id="Redis",
    physical_id="pci-redis-dev",
    at_rest_encryption=True,
    transit_encryption=True,
    auth_token=True,
    user_group_ids=(),
    multi_az="enabled",
    automatic_failover="enabled",
    snapshot_retention_days=1,
)
APP_ONLY = IngressRule("tcp", 3306, 3306, ())  # a rule from a security group: no CIDR
GROUP = SecurityGroupSettings("DBSecurityGroup", "sg-0123", (APP_ONLY,))
LOGS = LogGroupSettings(
    "DBAuditLogGroup", "/aws/rds/instance/pci-mysql-dev/audit", 365, "arn:aws:kms:key/1"
)
KEY = KeySettings(
    logical_id="EncryptionKey",
    physical_id="1234abcd",
    key_manager="CUSTOMER",
    key_spec="SYMMETRIC_DEFAULT",
    key_state="Enabled",
    origin="AWS_KMS",
    rotation_enabled=True,
)


def settings(*resources: Resource) -> StackSettings:
    def of(kind: type) -> tuple:
        return tuple(r for r in resources if isinstance(r, kind))

    return StackSettings(
        stack_name="pci-db-dev",
        region="us-east-1",
        databases=of(DatabaseSettings),
        caches=of(CacheSettings),
        security_groups=of(SecurityGroupSettings),
        log_groups=of(LogGroupSettings),
        keys=of(KeySettings),
    )


def open_to(source: str, protocol: str = "tcp", low: int | None = 6379, high=None):
    rule = IngressRule(protocol, low, low if high is None else high, (source,))
    return replace(GROUP, ingress=(APP_ONLY, rule))


def test_compliant_settings_pass_every_control():
    """GIVEN live settings that meet every control WHEN checked THEN nothing is reported"""
    assert check(settings(DB, CACHE, GROUP, LOGS, KEY)) == []


FAILING = {
    "rds not encrypted": (replace(DB, storage_encrypted=False), "rds-storage-encrypted"),
    "rds single-AZ": (replace(DB, multi_az=False), "rds-multi-az-support"),
    "rds public": (replace(DB, publicly_accessible=True), "rds-instance-public-access-check"),
    "rds 6 days of backups": (
        replace(DB, backup_retention_days=6),
        "db-instance-backup-enabled",
    ),
    "rds deletable": (
        replace(DB, deletion_protection=False),
        "rds-instance-deletion-protection-enabled",
    ),
    "cache not encrypted at rest": (
        replace(CACHE, at_rest_encryption=False),
        "elasticache-repl-grp-encrypted-at-rest",
    ),
    "cache plaintext": (
        replace(CACHE, transit_encryption=False),
        "elasticache-repl-grp-encrypted-in-transit",
    ),
    "cache without auth": (
        replace(CACHE, auth_token=False),
        "elasticache-repl-grp-redis-auth-enabled",
    ),
    "cache single-AZ": (
        replace(CACHE, multi_az="disabled"),
        "elasticache-repl-grp-multi-az-enabled",
    ),
    "cache without failover": (
        replace(CACHE, automatic_failover="disabled"),
        "elasticache-repl-grp-auto-failover-enabled",
    ),
    "cache without snapshots": (
        replace(CACHE, snapshot_retention_days=0),
        "elasticache-redis-cluster-automatic-backup-check",
    ),
    "redis port open to IPv4": (open_to("0.0.0.0/0"), "restricted-common-ports"),
    "mysql port open to IPv6": (open_to("::/0", low=3306), "restricted-common-ports"),
    "all traffic open": (open_to("0.0.0.0/0", "-1", None), "restricted-common-ports"),
    "every tcp port open": (open_to("0.0.0.0/0", low=0, high=65535), "restricted-common-ports"),
    "logs kept 364 days": (replace(LOGS, retention_days=364), "cw-loggroup-retention-period-check"),
    "logs not encrypted": (replace(LOGS, kms_key_id=None), "cloudwatch-log-group-encrypted"),
    "key not rotating": (replace(KEY, rotation_enabled=False), "cmk-backing-key-rotation-enabled"),
}


@pytest.mark.parametrize(("resource", "control"), FAILING.values(), ids=FAILING.keys())
def test_each_control_fails_alone_as_an_error(resource: Resource, control: str):
    """GIVEN live settings breaking one control WHEN checked THEN that control alone is
    reported, as an error, against the resource"""
    (violation,) = check(settings(resource))

    assert (violation.control, violation.severity) == (control, Severity.ERROR)
    assert (violation.logical_id, violation.resource_type, violation.physical_id) == (
        resource.logical_id,
        resource.TYPE,
        resource.physical_id,
    )


def test_missing_log_exports_are_a_warning_that_names_them():
    """GIVEN a MySQL instance exporting only its error log WHEN checked THEN a warning
    names the audit and slow query logs and the template setting that exports them"""
    (violation,) = check(settings(replace(DB, log_exports=("error",))))

    assert (violation.control, violation.severity) == ("rds-logging-enabled", Severity.WARNING)
    assert violation.message.startswith(
        "the audit, slowquery logs are not exported to CloudWatch Logs: "
        "set EnableCloudwatchLogsExports: [audit, error, slowquery] in the template"
    )


def test_message_says_what_is_wrong_and_the_fix():
    """GIVEN backup retention cut to 1 day WHEN checked THEN the message gives the live
    value, what PCI needs, and how the template's value comes back"""
    (violation,) = check(settings(replace(DB, backup_retention_days=1)))

    assert violation.message == (
        "backup retention is 1 day; PCI needs 7 or more: set BackupRetentionPeriod: 7 or "
        "more in the template; where it says so already, the drift repair or a stack update "
        "restores the template's value"
    )


def test_open_ingress_message_names_the_source_and_the_data_ports_reached():
    """GIVEN a group open to the internet on every TCP port WHEN checked THEN the message
    names the source, the range and each data port it reaches"""
    (violation,) = check(settings(open_to("0.0.0.0/0", low=0, high=65535)))

    assert violation.message.startswith(
        "ingress from 0.0.0.0/0 to tcp ports 0-65535 reaches SQL Server, Oracle, MySQL, "
        "PostgreSQL, Redis, Memcached, MongoDB; PCI forbids internet access to data ports: "
        "revoke the rule"
    )


PASSING = {
    "rds 7 days of backups": replace(DB, backup_retention_days=7),
    "cache 1 day of snapshots": replace(CACHE, snapshot_retention_days=1),
    "cache RBAC instead of a token": replace(CACHE, auth_token=False, user_group_ids=("app",)),
    "logs kept 365 days": replace(LOGS, retention_days=365),
    "logs never expire": replace(LOGS, retention_days=None),
    "https open to the internet": open_to("0.0.0.0/0", low=443),
    "mysql open to a private range": open_to("10.0.0.0/8", low=3306),
    "icmp from anywhere": open_to("0.0.0.0/0", "icmp", -1),
    "postgres exports no mysql logs": replace(DB, engine="postgres", log_exports=()),
    "AWS managed key": replace(KEY, key_manager="AWS", rotation_enabled=False),
    "asymmetric key": replace(KEY, key_spec="RSA_2048", rotation_enabled=False),
    "disabled key": replace(KEY, key_state="Disabled", rotation_enabled=False),
    "imported key material": replace(KEY, origin="EXTERNAL", rotation_enabled=False),
}


@pytest.mark.parametrize("resource", PASSING.values(), ids=PASSING.keys())
def test_boundaries_and_exempt_resources_pass(resource: Resource):
    """GIVEN settings at a control's boundary, or a resource the control does not apply to
    WHEN checked THEN nothing is reported"""
    assert check(settings(resource)) == []


def test_read_replica_is_not_asked_for_backups_or_multi_az():
    """GIVEN a single-AZ read replica without backups WHEN checked THEN nothing is reported:
    its source keeps the backups and carries availability"""
    replica = replace(DB, replica_of="pci-mysql-dev", multi_az=False, backup_retention_days=0)

    assert check(settings(replica)) == []


def test_aurora_instance_is_judged_on_encryption_and_public_access_only():
    """GIVEN an Aurora instance that is public, unencrypted and without the cluster-level
    settings WHEN checked THEN only encryption and public access are reported"""
    member = DatabaseSettings(
        logical_id="AuroraWriter",
        physical_id="pci-aurora-1",
        engine="aurora-mysql",
        storage_encrypted=False,
        multi_az=False,
        publicly_accessible=True,
        backup_retention_days=0,
        deletion_protection=False,
        log_exports=(),
        cluster_id="pci-aurora",
    )

    assert [v.control for v in check(settings(member))] == [
        "rds-storage-encrypted",
        "rds-instance-public-access-check",
    ]


def test_violation_reads_as_one_line():
    """GIVEN a violation WHEN printed THEN it reads as resource, severity, message, control"""
    violation = Violation(
        "Logs", "AWS::Logs::LogGroup", "/pci/dev", "cloudwatch-log-group-encrypted",
        Severity.ERROR, "events are not encrypted",
    )  # fmt: skip

    assert str(violation) == (
        "Logs (/pci/dev): error: events are not encrypted [cloudwatch-log-group-encrypted]"
    )
