"""PCI guardrails over live settings. CloudFormation's drift detection compares only the
properties a template sets, so a control left to AWS's default, or changed where drift
does not look, stays invisible while the stack reports IN_SYNC. These checks judge what
the resources actually run with, whatever the template says.

Controls are named after the AWS Config managed rules (the PCI DSS conformance packs and
their neighbours), so a finding here can be matched with AWS Config's. Thresholds and
data ports are the validation rules' own, so the template check and the live check agree.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from reconciler.findings import Severity
from reconciler.validation.pci_backups import MIN_DB_DAYS
from reconciler.validation.pci_log_retention import MIN_DAYS as MIN_LOG_DAYS
from reconciler.validation.pci_open_ingress import DATA_PORTS

# Log types a MySQL-family instance must export (other engines have other log types and
# are not judged).
LOG_EXPORTS = {
    "mysql": ("audit", "error", "slowquery"),
    "mariadb": ("audit", "error", "slowquery"),
}
ALL_PROTOCOLS = ("-1", "all")
PORTED_PROTOCOLS = ("tcp", "udp", "6", "17")


# --- live settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseSettings:
    TYPE: ClassVar[str] = "AWS::RDS::DBInstance"
    logical_id: str
    physical_id: str
    engine: str
    storage_encrypted: bool
    multi_az: bool
    publicly_accessible: bool
    backup_retention_days: int
    deletion_protection: bool
    log_exports: tuple[str, ...]
    # An Aurora instance: storage, backups, deletion protection and logs are its cluster's.
    cluster_id: str | None = None
    # A read replica: its source keeps the backups and carries availability.
    replica_of: str | None = None


@dataclass(frozen=True)
class CacheSettings:
    TYPE: ClassVar[str] = "AWS::ElastiCache::ReplicationGroup"
    logical_id: str
    physical_id: str
    at_rest_encryption: bool
    transit_encryption: bool
    auth_token: bool
    user_group_ids: tuple[str, ...]  # RBAC: authenticates clients as an AUTH token does
    multi_az: str  # enabled | disabled
    automatic_failover: str  # enabled | disabled | enabling | disabling
    snapshot_retention_days: int


@dataclass(frozen=True)
class IngressRule:
    protocol: str  # "-1" (all), "tcp", "udp", "icmp", or a number
    from_port: int | None
    to_port: int | None
    sources: tuple[str, ...]  # IPv4 and IPv6 CIDRs; group and prefix-list sources are left out


@dataclass(frozen=True)
class SecurityGroupSettings:
    TYPE: ClassVar[str] = "AWS::EC2::SecurityGroup"
    logical_id: str
    physical_id: str
    ingress: tuple[IngressRule, ...]


@dataclass(frozen=True)
class LogGroupSettings:
    TYPE: ClassVar[str] = "AWS::Logs::LogGroup"
    logical_id: str
    physical_id: str
    retention_days: int | None  # None: events never expire
    kms_key_id: str | None


@dataclass(frozen=True)
class KeySettings:
    TYPE: ClassVar[str] = "AWS::KMS::Key"
    logical_id: str
    physical_id: str
    key_manager: str  # CUSTOMER | AWS
    key_spec: str
    key_state: str
    origin: str  # AWS_KMS | EXTERNAL | AWS_CLOUDHSM | EXTERNAL_KEY_STORE
    rotation_enabled: bool | None  # None: not asked, the key cannot rotate

    @property
    def rotatable(self) -> bool:
        """KMS rotates only enabled, customer-managed symmetric keys whose material it made."""
        return (
            self.key_manager == "CUSTOMER"
            and self.key_spec == "SYMMETRIC_DEFAULT"
            and self.key_state == "Enabled"
            and self.origin == "AWS_KMS"
        )


@dataclass(frozen=True)
class Unread:
    """A guarded resource whose settings could not be read, so nothing was checked."""

    logical_id: str
    resource_type: str
    physical_id: str
    reason: str


@dataclass(frozen=True)
class StackSettings:
    stack_name: str
    region: str
    databases: tuple[DatabaseSettings, ...] = ()
    caches: tuple[CacheSettings, ...] = ()
    security_groups: tuple[SecurityGroupSettings, ...] = ()
    log_groups: tuple[LogGroupSettings, ...] = ()
    keys: tuple[KeySettings, ...] = ()
    unread: tuple[Unread, ...] = ()


Resource = DatabaseSettings | CacheSettings | SecurityGroupSettings | LogGroupSettings | KeySettings


@dataclass(frozen=True)
class Violation:
    logical_id: str
    resource_type: str
    physical_id: str
    control: str  # the AWS Config rule name
    severity: Severity
    message: str  # what is wrong, then the fix

    def __str__(self) -> str:
        where = f"{self.logical_id} ({self.physical_id})"
        return f"{where}: {self.severity}: {self.message} [{self.control}]"


# --- checks ------------------------------------------------------------------------------


def check(settings: StackSettings) -> list[Violation]:
    """Every PCI violation in the live settings, resource by resource."""
    found: list[Violation] = []
    for db in settings.databases:
        found.extend(_database(db))
    for cache in settings.caches:
        found.extend(_cache(cache))
    for group in settings.security_groups:
        found.extend(_security_group(group))
    for log_group in settings.log_groups:
        found.extend(_log_group(log_group))
    for key in settings.keys:
        found.extend(_key(key))
    return found


def _violation(
    resource: Resource, control: str, message: str, severity: Severity = Severity.ERROR
) -> Violation:
    return Violation(
        resource.logical_id, resource.TYPE, resource.physical_id, control, severity, message
    )


def _restore(prop: str, wanted: str) -> str:
    return (
        f"set {prop}: {wanted} in the template; where it says so already, the drift repair "
        "or a stack update restores the template's value"
    )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _database(db: DatabaseSettings) -> Iterator[Violation]:
    if not db.storage_encrypted:
        yield _violation(
            db,
            "rds-storage-encrypted",
            "storage is not encrypted; PCI needs encryption at rest: it can only be chosen "
            "at creation, so restore an encrypted copy of a snapshot into a new instance "
            "(StorageEncrypted: true with a customer-managed KmsKeyId)",
        )
    if db.publicly_accessible:
        yield _violation(
            db,
            "rds-instance-public-access-check",
            "the instance is publicly accessible; PCI forbids a database reachable from the "
            f"internet: {_restore('PubliclyAccessible', 'false')}",
        )
    if db.cluster_id:
        return  # the cluster's settings, not the instance's
    if not db.replica_of:
        if not db.multi_az:
            yield _violation(
                db,
                "rds-multi-az-support",
                "Multi-AZ is off, so losing one Availability Zone stops the database: "
                f"{_restore('MultiAZ', 'true')}",
            )
        if db.backup_retention_days < MIN_DB_DAYS:
            wanted = f"{MIN_DB_DAYS} or more"
            yield _violation(
                db,
                "db-instance-backup-enabled",
                f"backup retention is {_days(db.backup_retention_days)}; PCI needs {wanted}: "
                + _restore("BackupRetentionPeriod", wanted),
            )
    if not db.deletion_protection:
        yield _violation(
            db,
            "rds-instance-deletion-protection-enabled",
            "deletion protection is off, so one call deletes the cardholder data: "
            f"{_restore('DeletionProtection', 'true')}",
        )
    wanted = LOG_EXPORTS.get(db.engine.lower(), ())
    missing = [log for log in wanted if log not in db.log_exports]
    if missing:
        yield _violation(
            db,
            "rds-logging-enabled",
            f"the {', '.join(missing)} log{'s are' if len(missing) > 1 else ' is'} not "
            "exported to CloudWatch Logs: "
            f"{_restore('EnableCloudwatchLogsExports', '[' + ', '.join(wanted) + ']')}",
            Severity.WARNING,
        )


def _cache(cache: CacheSettings) -> Iterator[Violation]:
    if not cache.at_rest_encryption:
        yield _violation(
            cache,
            "elasticache-repl-grp-encrypted-at-rest",
            "data at rest is not encrypted; PCI needs encryption at rest: it can only be "
            "chosen at creation, so AtRestEncryptionEnabled: true in the template replaces "
            "the group (take a snapshot first)",
        )
    if not cache.transit_encryption:
        yield _violation(
            cache,
            "elasticache-repl-grp-encrypted-in-transit",
            "in-transit encryption is off, so clients talk to the cache in plaintext: "
            f"{_restore('TransitEncryptionEnabled', 'true')}",
        )
    if not cache.auth_token and not cache.user_group_ids:
        yield _violation(
            cache,
            "elasticache-repl-grp-redis-auth-enabled",
            "neither an AUTH token nor an RBAC user group is set, so any client in reach "
            "can connect: set AuthToken from a Secrets Manager secret (it needs "
            "TransitEncryptionEnabled: true)",
        )
    if cache.multi_az != "enabled":
        # No AWS Config rule checks this; the name follows their pattern.
        yield _violation(
            cache,
            "elasticache-repl-grp-multi-az-enabled",
            f"Multi-AZ is {cache.multi_az}, so losing one Availability Zone stops the cache: "
            f"{_restore('MultiAZEnabled', 'true')}",
        )
    if cache.automatic_failover != "enabled":
        yield _violation(
            cache,
            "elasticache-repl-grp-auto-failover-enabled",
            f"automatic failover is {cache.automatic_failover}, so a failed primary is not "
            f"replaced: {_restore('AutomaticFailoverEnabled', 'true')}",
        )
    if cache.snapshot_retention_days < 1:
        yield _violation(
            cache,
            "elasticache-redis-cluster-automatic-backup-check",
            f"snapshot retention is {_days(cache.snapshot_retention_days)}, so there are no "
            "automatic snapshots to restore from: "
            + _restore("SnapshotRetentionLimit", "1 or more"),
        )


def _security_group(group: SecurityGroupSettings) -> Iterator[Violation]:
    fix = (
        "revoke the rule and allow only the application's security group; a drift repair "
        "removes it only where the template lists the group's SecurityGroupIngress"
    )
    for rule in group.ingress:
        for source in rule.sources:
            if not _is_anywhere(source):
                continue
            reached = _reaches(rule)
            if reached:
                yield _violation(
                    group,
                    "restricted-common-ports",
                    f"ingress from {source} {reached}; PCI forbids internet access to data "
                    f"ports: {fix}",
                )


def _is_anywhere(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def _reaches(rule: IngressRule) -> str | None:
    """How the rule reaches data ports ("to tcp port 6379 reaches Redis"), or None."""
    protocol = rule.protocol.lower()
    if protocol in ALL_PROTOCOLS:
        return "on every protocol and port reaches every data port"
    if protocol not in PORTED_PROTOCOLS:
        return None
    low = 0 if rule.from_port in (None, -1) else rule.from_port
    high = 65535 if rule.to_port in (None, -1) else rule.to_port
    hit = [name for port, name in sorted(DATA_PORTS.items()) if low <= port <= high]
    if not hit:
        return None
    span = f"port {low}" if low == high else f"ports {low}-{high}"
    return f"to {protocol} {span} reaches {', '.join(hit)}"


def _log_group(group: LogGroupSettings) -> Iterator[Violation]:
    if group.retention_days is not None and group.retention_days < MIN_LOG_DAYS:
        wanted = f"{MIN_LOG_DAYS} or more (or leave it out to keep events forever)"
        yield _violation(
            group,
            "cw-loggroup-retention-period-check",
            f"events are kept {_days(group.retention_days)}; PCI DSS 10.5.1 needs "
            f"{MIN_LOG_DAYS} or more: {_restore('RetentionInDays', wanted)}",
        )
    if not group.kms_key_id:
        yield _violation(
            group,
            "cloudwatch-log-group-encrypted",
            "events are not encrypted with a KMS key: "
            + _restore("KmsKeyId", "a customer-managed key's ARN"),
        )


def _key(key: KeySettings) -> Iterator[Violation]:
    if key.rotatable and key.rotation_enabled is False:
        yield _violation(
            key,
            "cmk-backing-key-rotation-enabled",
            "automatic rotation of the key material is off; PCI needs keys rotated: "
            f"{_restore('EnableKeyRotation', 'true')}",
        )
