"""The audit trail on AWS: a DynamoDB table written only by conditional PutItem, and,
when a bucket is given, a copy of each record in S3 under Object Lock.

The table is keyed by `stack` ("-" for a record about no stack) and `at`
(`<time>#<id>`), so one stack's records come back in time order from a Query. A record
is put with `attribute_not_exists(#at)`: an append never replaces a record, and an
append retried with the same record finds it there and changes nothing. No code path
here updates or deletes an item, and infra/bootstrap.yml gives no role the permission
to (tests/unit/test_audit_append_only.py).

IAM cannot forbid a PutItem without that condition to a role that has PutItem, so the
table alone is append-only by this code and by the roles, not against a stolen role.
The S3 copy is the tamper-proof one: the bucket's default retention in COMPLIANCE mode
(infra/bootstrap.yml) keeps every version of every object for its retention period,
whoever asks to delete it, the account's root user included
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from reconciler.audit import AuditRecord
from reconciler.aws import session
from reconciler.aws.dynamodb import call_creating, create_table
from reconciler.errors import AwsError, PermanentAwsError

DEFAULT_TABLE = "gitops-reconciler-audit"
STACK_KEY = "stack"
SORT_KEY = "at"
NO_STACK = "-"  # the partition of a record about no stack (an event received)
PREFIX = "audit/"
T = TypeVar("T")


class DynamoAuditLog:
    """AuditLog on one DynamoDB table (and one S3 bucket when `bucket` is given). The
    table is created on first append if it is missing, as the status table is, so the
    CLI needs no setup step; reading a missing table finds no records and creates
    nothing."""

    def __init__(
        self,
        table_name: str,
        region: str | None = None,
        client: Any = None,
        *,
        bucket: str = "",
        s3_client: Any = None,
        create_if_missing: bool = True,
        default_name_used: bool = False,
    ) -> None:
        self.table_name = table_name
        self.bucket = bucket
        self._client = client or session.client("dynamodb", region)
        self.region: str = self._client.meta.region_name
        self._s3 = (s3_client or session.client("s3", self.region)) if bucket else None
        self._create_if_missing = create_if_missing
        self._default_name_used = default_name_used
        self.created = False
        self.description = self._describe()

    # --- appending ----------------------------------------------------------------------

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Each record put once, then copied to S3. A copy that fails raises a transient
        AwsError after the table has the record, so the event is retried rather than the
        copy lost. Appending the same stamped records again (AuditRecord.stamped before
        the first call) puts nothing twice and writes the copies again (a new version of
        the same key); records made anew by a retried event are new records."""
        stamped = [record.stamped() for record in records]
        for batch in _batches(stamped, TRANSACTION_ITEMS):
            if len(batch) == 1 or not self._call(lambda b=batch: self._put_together(b)):
                for record in batch:
                    self._call(lambda r=record: self._put_item(r))
        if self._s3 is not None:
            for record in stamped:
                self._put_copy(record)

    def _put_together(self, records: Sequence[AuditRecord]) -> bool:
        """Several records in one TransactWriteItems of conditional Puts: one round trip
        for a step's records, all or none. Its Puts need only dynamodb:PutItem (IAM has
        no TransactWriteItems action), so the roles stay append-only. False when a
        condition failed (a retry of an append): they are then put one by one, which
        tells a record already there from a key taken by another."""
        try:
            self._client.transact_write_items(
                TransactItems=[{"Put": self._put(record)} for record in records]
            )
        except self._client.exceptions.TransactionCanceledException as err:
            reasons = err.response.get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return False
            raise
        return True

    def _put(self, record: AuditRecord) -> dict:
        return {
            "TableName": self.table_name,
            "Item": {
                STACK_KEY: {"S": record.stack or NO_STACK},
                SORT_KEY: {"S": sort_key(record)},
                "record": {"S": record.to_json()},
                "event": {"S": str(record.event)},
                "time": {"S": record.time},
            },
            "ConditionExpression": "attribute_not_exists(#at)",
            "ExpressionAttributeNames": {"#at": SORT_KEY},
        }

    def _put_item(self, record: AuditRecord) -> None:
        body = record.to_json()
        failed = self._client.exceptions.ConditionalCheckFailedException
        try:
            self._client.put_item(
                **self._put(record), ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except failed as err:
            kept = (err.response.get("Item") or {}).get("record", {}).get("S")
            if kept is not None and _same(kept, body):
                return  # a retry of this very append: it is there already
            raise PermanentAwsError(
                f"audit record {record.stack or NO_STACK} {sort_key(record)} is already in "
                f"DynamoDB table '{self.table_name}' with other content: not overwritten",
                "ConditionalCheckFailedException",
            ) from err

    def _put_copy(self, record: AuditRecord) -> None:
        """Object Lock buckets refuse a PutObject without Content-MD5 or a checksum
        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html):
        the SHA-256 of the body is sent, and S3 checks the bytes it stores against it."""
        body = record.to_json().encode()
        key = object_key(record)
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
            )
        except session.BOTOCORE_ERRORS as err:
            cause = session.translated(err)
            raise AwsError(
                f"audit record {record.id} ({record.event}, stack {record.stack or NO_STACK}) "
                f"is in DynamoDB table '{self.table_name}', but its copy to "
                f"s3://{self.bucket}/{key} failed ({cause}); retry to write the copy",
                cause.code,
            ) from err

    # --- reading ------------------------------------------------------------------------

    def read(self, stack: str | None = None, since: str = "", until: str = "") -> list[AuditRecord]:
        """One stack's records by Query (its key bounded by since and until), or every
        stack's by Scan; all pages, oldest first."""
        missing = self._client.exceptions.ResourceNotFoundException
        with session.aws_errors():
            try:
                items = list(
                    self._query(stack, since, until)
                    if stack is not None
                    else self._scan(since, until)
                )
            except missing:
                return []
        found = [self._record(item) for item in items]
        return sorted(
            (r for r in found if (not since or r.time >= since) and (not until or r.time < until)),
            key=lambda r: (r.time, r.id),
        )

    def _query(self, stack: str, since: str, until: str) -> Iterable[Mapping[str, Any]]:
        # `at` is "<time>#<id>": at >= since keeps the records of time `since`, and
        # at <= until keeps none of time `until` ("<until>#..." sorts after "<until>").
        condition = "#stack = :stack"
        values = {":stack": {"S": stack or NO_STACK}}
        if since and until:
            condition += " AND #at BETWEEN :since AND :until"
        elif since:
            condition += " AND #at >= :since"
        elif until:
            condition += " AND #at < :until"
        values |= {f":{k}": {"S": v} for k, v in (("since", since), ("until", until)) if v}
        names = {"#stack": STACK_KEY} | ({"#at": SORT_KEY} if since or until else {})
        pages = self._client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        return (item for page in pages for item in page["Items"])

    def _scan(self, since: str, until: str) -> Iterable[Mapping[str, Any]]:
        given = {k: v for k, v in (("since", since), ("until", until)) if v}
        extra: dict[str, Any] = {}
        if given:
            operator = {"since": ">=", "until": "<"}
            extra = {
                "FilterExpression": " AND ".join(f"#time {operator[k]} :{k}" for k in given),
                "ExpressionAttributeNames": {"#time": "time"},
                "ExpressionAttributeValues": {f":{k}": {"S": v} for k, v in given.items()},
            }
        pages = self._client.get_paginator("scan").paginate(
            TableName=self.table_name, ConsistentRead=True, **extra
        )
        return (item for page in pages for item in page["Items"])

    def _record(self, item: Mapping[str, Any]) -> AuditRecord:
        """A record this version cannot read is an error naming its key, never skipped:
        a trail with a silent gap is no evidence."""
        key = f"{item.get(STACK_KEY, {}).get('S', '?')} {item.get(SORT_KEY, {}).get('S', '?')}"
        try:
            return AuditRecord.from_dict(json.loads(item["record"]["S"]))
        except (KeyError, TypeError, ValueError) as err:
            raise PermanentAwsError(
                f"audit record {key} in DynamoDB table '{self.table_name}' cannot be read "
                f"({type(err).__name__}: {err})",
                "UnreadableAuditRecord",
            ) from err

    # --- the table ----------------------------------------------------------------------

    def _call(self, run: Callable[[], T]) -> T:
        """Run one call, creating the table if it is missing."""
        return call_creating(self._client, run, self._create_table)

    def _create_table(self) -> None:
        where = f"DynamoDB table '{self.table_name}' in {self.region}"
        if not self._create_if_missing:
            raise AwsError(
                f"{where} does not exist (set RECONCILER_AUDIT_TABLE to an existing table)"
            )
        keys = [(STACK_KEY, "HASH"), (SORT_KEY, "RANGE")]
        self.created = create_table(
            self._client, self.table_name, keys, DeletionProtectionEnabled=True
        )
        if self.created:
            # Point-in-time recovery (35 days of any past state) is set once the table is
            # active; a failure here is said, not left for an assessor to find.
            try:
                self._client.update_continuous_backups(
                    TableName=self.table_name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
            except session.BOTOCORE_ERRORS as err:
                raise AwsError(
                    f"{where} was created, but point-in-time recovery could not be turned "
                    f"on ({session.translated(err)}): turn it on with "
                    f"`aws dynamodb update-continuous-backups --table-name {self.table_name} "
                    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`",
                    session.error_code(err),
                ) from err
        self.description = self._describe()

    def _describe(self) -> str:
        where = f"DynamoDB table '{self.table_name}' in {self.region}"
        if self.bucket:
            where += f", copied to s3://{self.bucket}/{PREFIX}"
        if self.created and self._default_name_used:
            return f"{where} (created now: RECONCILER_AUDIT_TABLE was not set)"
        if self.created:
            return f"{where} (created now)"
        if self._default_name_used:
            return f"{where} (default name: RECONCILER_AUDIT_TABLE was not set)"
        return where


TRANSACTION_ITEMS = 100  # TransactWriteItems' limit


def _batches(items: Sequence[AuditRecord], size: int) -> list[Sequence[AuditRecord]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def sort_key(record: AuditRecord) -> str:
    return f"{record.time}#{record.id}"


def object_key(record: AuditRecord) -> str:
    """audit/YYYY/MM/DD/<stack or ->/<time>-<id>.json: one day's records of one stack
    are one listing."""
    day = "/".join((record.time[0:4], record.time[5:7], record.time[8:10]))
    return f"{PREFIX}{day}/{record.stack or NO_STACK}/{record.time}-{record.id}.json"


def _same(kept: str, body: str) -> bool:
    try:
        return json.loads(kept) == json.loads(body)
    except ValueError:
        return False
