"""What AWS says about replacing and updating resources: the resource schemas' create-only
and conditionally create-only properties (as shipped by cfn-lint), the resource types that
hold data, and the few behaviours AWS documents that the schemas leave out, each with the
documentation it comes from."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from reconciler import cache as disk
from reconciler.render import ABSENT, same

# Types the data-loss guard protects besides cfn-lint's stateful list (which has DynamoDB
# tables, S3 buckets, EFS file systems, ElastiCache and RDS clusters and OpenSearch
# domains already): the KMS key that encrypts the data and the secrets that unlock it are
# as irreplaceable as the data, and the log groups hold the audit trail. The rest of the
# issue's list is written out too, so that a cfn-lint release dropping one cannot weaken
# the guard.
EXTRA_STATEFUL = frozenset(
    {
        "AWS::KMS::Key",
        "AWS::KMS::ReplicaKey",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::EFS::FileSystem",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElastiCache::ServerlessCache",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::OpenSearchService::Domain",
        "AWS::Elasticsearch::Domain",
    }
)


@cache
def stateful_types() -> frozenset[str]:
    return frozenset(disk.memo("stateful-types", (), _read_stateful, disk.strings)) | EXTRA_STATEFUL


def _read_stateful() -> list[str]:
    spec = resources.files("cfnlint.data.AdditionalSpecs").joinpath("StatefulResources.json")
    return sorted(json.loads(spec.read_text())["ResourceTypes"])


def is_stateful(resource_type: str) -> bool:
    return resource_type in stateful_types()


Path = tuple[str, ...]  # a property path below /properties, e.g. ("KeySchema",)


@cache
def _schema(region: str, resource_type: str) -> Mapping[str, Any]:
    # cfn-lint's schema manager costs ~0.8 s to import: only paid when a stack changed.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return {}


def _paths(region: str, resource_type: str, key: str) -> tuple[Path, ...]:
    """The schema's `key` pointers below /properties (kept in the disk cache, by
    cfn-lint's version: reading a schema imports cfn-lint)."""

    def read() -> list[list[str]]:
        pointers = _schema(region, resource_type).get(key) or ()
        return [p.split("/")[2:] for p in pointers if p.startswith("/properties/")]

    def load(found: Any) -> tuple[Path, ...]:
        if not isinstance(found, list):
            raise TypeError("paths are a list")
        return tuple(tuple(disk.strings(path)) for path in found)

    return disk.memo("schema-paths", (region, resource_type, key), read, load)


@cache
def create_only_paths(region: str, resource_type: str) -> tuple[Path, ...]:
    """Property paths whose change replaces the resource. Unknown types have none
    (custom resources, or types newer than cfn-lint's data)."""
    return _paths(region, resource_type, "createOnlyProperties")


@cache
def conditional_create_only_paths(region: str, resource_type: str) -> tuple[Path, ...]:
    """Property paths whose change replaces the resource in some cases only."""
    return _paths(region, resource_type, "conditionalCreateOnlyProperties")


def create_only_properties(region: str, resource_type: str) -> frozenset[str]:
    """Top-level names of the create-only properties."""
    return frozenset(p[0] for p in create_only_paths(region, resource_type))


Props = Mapping[str, Any]


@dataclass(frozen=True)
class Documented:
    """A behaviour AWS documents for one property. `applies(old, new)` says whether the
    change at hand is the documented case."""

    source: str
    applies: Callable[[Props, Props], bool] = lambda old, new: True


def _had_token(old: Props, new: Props) -> bool:
    return old.get("AuthToken", ABSENT) is not ABSENT


# Replacement AWS documents where the schema says nothing, or says "conditionally".
REPLACES: dict[tuple[str, str], Documented] = {
    ("AWS::DynamoDB::Table", "KeySchema"): Documented(
        "Amazon DynamoDB Developer Guide / CloudFormation AWS::DynamoDB::Table KeySchema: "
        "Update requires: Replacement"
    ),
    ("AWS::ElastiCache::ReplicationGroup", "AuthToken"): Documented(
        "CloudFormation User Guide, AWS::ElastiCache::ReplicationGroup AuthToken: adding a "
        "token to a group that had none requires replacement",
        lambda old, new: not _had_token(old, new),
    ),
}

# No table lowers a conditionally create-only property to an in-place update (an RDS
# instance's MultiAZ or BackupRetentionPeriod, say), though AWS often applies them in place:
# CloudFormation's change set reports such a change `Replacement: Conditional` (the
# schema's `conditionalCreateOnlyProperties` are what it reports "Conditionally" from), and
# the change set is the last word. A prediction softer than the change set would make
# `plan` say "update" where `apply` then blocks.

# Updates AWS fails rather than applies: (type, property) -> (value when absent, source).
REFUSED: dict[tuple[str, str], tuple[Any, str]] = {
    ("AWS::KMS::Key", "KeySpec"): (
        "SYMMETRIC_DEFAULT",
        "AWS KMS Developer Guide: a key's key spec cannot be changed after it is created",
    ),
    ("AWS::KMS::Key", "KeyUsage"): (
        "ENCRYPT_DECRYPT",
        "AWS KMS Developer Guide: a key's key usage cannot be changed after it is created",
    ),
    ("AWS::KMS::Key", "MultiRegion"): (
        False,
        "AWS KMS Developer Guide: a single-Region key cannot be made multi-Region, nor the "
        "reverse; CloudFormation fails the update instead of replacing the key",
    ),
    ("AWS::KMS::Key", "Origin"): (
        "AWS_KMS",
        "CloudFormation User Guide, AWS::KMS::Key: a change to KeySpec, KeyUsage, Origin or "
        "MultiRegion of an existing key fails the update, whatever the UpdateReplacePolicy",
    ),
    ("AWS::RDS::DBInstance", "Engine"): (
        ABSENT,
        "Amazon RDS User Guide: a DB instance's engine cannot be changed by "
        "ModifyDBInstance; migrate through a snapshot or a new instance",
    ),
}


def refusal(resource_type: str, prop: str, old: Any, new: Any) -> str:
    """Why AWS would fail this property change, or '' when it would apply it."""
    entry = REFUSED.get((resource_type, prop))
    if entry is None:
        return ""
    default, source = entry
    before = default if old is ABSENT else old
    after = default if new is ABSENT else new
    if isinstance(before, str) and isinstance(after, str):
        before, after = before.lower(), after.lower()
    return "" if same(before, after) else source
