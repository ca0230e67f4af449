"""Stand-in for CloudFormation creating an `AWS::S3::Bucket` with Object Lock, versioning
and a public access block.

AWS behaviour (the AWS::S3::Bucket page of the CloudFormation User Guide, and the S3 User
Guide's "Locking objects with Object Lock"):
- `ObjectLockEnabled: true` makes a bucket whose objects can be locked; S3 turns versioning
  on with it, and versioning can then never be suspended.
- `ObjectLockConfiguration` {ObjectLockEnabled: Enabled, Rule: {DefaultRetention: {Mode,
  Days | Years}}} is the bucket's default retention: every new object version is locked
  in that mode until that many days (or years) after it was written. In COMPLIANCE mode
  nobody, the account's root user included, can delete or overwrite a locked version, or
  shorten its retention, until the date passes. A default retention needs a mode and
  exactly one of Days and Years, a positive whole number; it applies only to a bucket
  with Object Lock enabled (S3 answers InvalidBucketState otherwise).
- A PutObject to a bucket with a default retention must carry Content-MD5 or an
  x-amz-checksum header (moto checks that already).
- `VersioningConfiguration` {Status: Enabled | Suspended} and
  `PublicAccessBlockConfiguration` {BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy,
  RestrictPublicBuckets} set the bucket's versioning and public access block.

infra/bootstrap.yml makes its audit bucket this way (COMPLIANCE, AuditRetentionDays).

moto 5.2.5 creates the bucket from a template with its encryption and tags only: Object
Lock, versioning and the public access block are dropped, so an object written there is
not locked and a delete of its version succeeds.

`install()` checks those properties before moto creates the bucket (a refused one fails
the resource and rolls the stack back), then applies them as the S3 API would; a stack
update that keeps the bucket applies them again (a new default retention is for objects
written from then on). Limit: Object Lock, once on, stays on when a template drops it, as
on AWS; no other property is added to moto's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaws import cfn_models
from localaws.cfn_models import as_bool
from localaws.rollback import ResourceFailed

_INSTALLED_MARK = "_localaws_cfn_s3_bucket"
MODES = ("GOVERNANCE", "COMPLIANCE")
_ACCESS_BLOCK = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def _retention(properties: Mapping[str, Any]) -> tuple[str, int, int] | None:
    """(mode, days, years) of the default retention (0 for the period not used), None
    without one; ResourceFailed for one S3 refuses."""
    configuration = properties.get("ObjectLockConfiguration") or {}
    rule = (configuration.get("Rule") or {}).get("DefaultRetention")
    if not rule:
        return None
    locked = as_bool(properties.get("ObjectLockEnabled", False))
    versioned = (properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled"
    if not locked and not versioned:
        raise ResourceFailed(
            "InvalidBucketState: Versioning must be 'Enabled' on the bucket to apply a "
            "Object Lock configuration (set ObjectLockEnabled: true)"
        )
    mode = str(rule.get("Mode") or "")
    if mode not in MODES:
        raise ResourceFailed(
            f"MalformedXML: DefaultRetention Mode must be GOVERNANCE or COMPLIANCE, not {mode!r}"
        )
    days, years = rule.get("Days"), rule.get("Years")
    if (days is None) == (years is None):
        raise ResourceFailed("MalformedXML: DefaultRetention needs exactly one of Days and Years")
    period = str(days if days is not None else years)
    if not period.isdigit() or int(period) < 1:
        raise ResourceFailed(f"InvalidArgument: DefaultRetention period must be positive: {period}")
    return (mode, int(period), 0) if days is not None else (mode, 0, int(period))


def _check(properties: Mapping[str, Any], account_id: str, region_name: str) -> None:
    _retention(properties)
    locked = as_bool(properties.get("ObjectLockEnabled", False))
    status = (properties.get("VersioningConfiguration") or {}).get("Status")
    if locked and status == "Suspended":
        raise ResourceFailed(
            "InvalidBucketState: An Object Lock configuration is present on this bucket, so "
            "the versioning state cannot be changed."
        )


def _apply(bucket: Any, properties: Mapping[str, Any]) -> None:
    from moto.s3.models import s3_backends

    backend = s3_backends[bucket.account_id][bucket.partition]
    status = (properties.get("VersioningConfiguration") or {}).get("Status")
    if status in ("Enabled", "Suspended") and not bucket.object_lock_enabled:
        backend.put_bucket_versioning(bucket.name, str(status))
    if as_bool(properties.get("ObjectLockEnabled", False)):
        bucket.object_lock_enabled = True
        bucket.versioning_status = "Enabled"
    retention = _retention(properties)
    if retention is not None:
        # Set on the bucket, not through moto's PutObjectLockConfiguration, which refuses
        # a bucket holding objects: AWS changes a default retention at any time.
        bucket.object_lock_enabled = True
        bucket.versioning_status = "Enabled"
        bucket.default_lock_mode, bucket.default_lock_days, bucket.default_lock_years = retention
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(
            bucket.name, {key: as_bool(block.get(key, False)) for key in _ACCESS_BLOCK}
        )


def install() -> None:
    """Apply Object Lock, versioning and the public access block when a template creates
    or updates a bucket. Safe to call again."""
    from moto.s3.models import FakeBucket

    if FakeBucket.__dict__.get(_INSTALLED_MARK):
        return
    cfn_models.extend_create(FakeBucket, after=_apply, before=_check)
    update = FakeBucket.update_from_cloudformation_json.__func__

    def update_from_cloudformation_json(
        cls: type[Any],
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        _check(properties, account_id, region_name)
        bucket = update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        if bucket is original_resource:  # a replacement was made by the create above
            _apply(bucket, properties)
        return bucket

    FakeBucket.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    setattr(FakeBucket, _INSTALLED_MARK, True)
