"""The audit trail on DynamoDB and S3 (reconciler.aws.audit.DynamoAuditLog) against moto:
records come back oldest first, per stack or all, bounded by since (inclusive) and until
(exclusive); a record is never overwritten; the S3 copy is locked in COMPLIANCE mode; a
copy that fails is a clear, transient error after the table has the record."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from reconciler.audit import AuditRecord, Event, Kept
from reconciler.aws.audit import DEFAULT_TABLE, DynamoAuditLog, object_key
from reconciler.aws.services import audit_from_env
from reconciler.errors import AwsError, PermanentAwsError

TABLE = "audit-trail"
BUCKET = "acme-audit"
REGION = "us-east-1"


def record(event: Event, stack: str, time: str, **fields) -> AuditRecord:
    return AuditRecord(event, stack, time=time, id=f"id-{stack or 'none'}-{time[11:19]}", **fields)


# Three stacks' records and one about no stack, in no particular order.
RECORDS = [
    record(Event.PLANNED, "pci-db-prod", "2026-03-01T10:00:02.000000Z", commit="b2"),
    record(Event.RECEIVED, "", "2026-03-01T10:00:00.000000Z", actor="lambda:push"),
    record(Event.VALIDATED, "pci-db-prod", "2026-03-01T10:00:01.000000Z", commit="b2"),
    record(Event.HELD, "pci-db-prod", "2026-03-01T10:00:03.000000Z", change_set="cs-1"),
    record(Event.PLANNED, "pci-db-dev", "2026-02-28T09:00:00.000000Z", commit="a1"),
    record(Event.APPROVED, "pci-db-prod", "2026-03-02T08:00:00.000000Z", actor="arn:alice"),
]


def dynamodb():
    return boto3.client("dynamodb", region_name=REGION)


def s3():
    return boto3.client("s3", region_name=REGION)


def locked_bucket(days: int = 365) -> None:
    s3().create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3().put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": days}},
        },
    )


@pytest.fixture
def trail(aws) -> DynamoAuditLog:
    log = DynamoAuditLog(TABLE, REGION)
    log.append(RECORDS)
    return log


def items() -> list[dict]:
    return dynamodb().scan(TableName=TABLE)["Items"]


# --- appending and reading ---------------------------------------------------------------


def test_every_stacks_records_come_back_oldest_first(trail):
    """GIVEN records appended in no order WHEN the whole trail is read (a Scan) THEN all of
    them come back, oldest first, as they were appended."""
    assert trail.read() == sorted(RECORDS, key=lambda r: r.time)


def test_one_stacks_records_come_back_by_query_oldest_first(trail):
    """GIVEN the trail WHEN one stack's records are read THEN only that stack's, in time
    order; the records about no stack are the stack ""."""
    assert [r.event for r in trail.read("pci-db-prod")] == [
        Event.VALIDATED,
        Event.PLANNED,
        Event.HELD,
        Event.APPROVED,
    ]
    assert [r.event for r in trail.read("")] == [Event.RECEIVED]
    assert trail.read("pci-db-unknown") == []


@pytest.mark.parametrize("stack", [None, "pci-db-prod", ""])
@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-03-01T10:00:01.000000Z", ""),
        ("", "2026-03-01T10:00:03.000000Z"),
        ("2026-03-01T10:00:01.000000Z", "2026-03-01T10:00:03.000000Z"),
        ("2026-03-01", "2026-03-02"),
        ("2026-03-02", "2026-03-01"),
    ],
)
def test_since_is_inclusive_and_until_exclusive_as_in_memory(trail, stack, since, until):
    """GIVEN the trail WHEN it is read between since and until (record times, whole days,
    an empty range), all stacks or one THEN exactly what the in-memory trail answers."""
    kept = Kept()
    kept.append(RECORDS)
    assert trail.read(stack, since, until) == kept.read(stack, since, until)


def test_a_record_without_time_or_id_is_stamped_when_appended(aws):
    """GIVEN a record with neither time nor id WHEN it is appended THEN it is kept with the
    current time and an id."""
    log = DynamoAuditLog(TABLE, REGION)
    log.append([AuditRecord(Event.SUSPENDED, "pci-db-prod", message="freeze")])
    (kept,) = log.read("pci-db-prod")
    assert kept.time.startswith(datetime.now(UTC).strftime("%Y-%m-%d")) and kept.id
    assert (kept.event, kept.message) == (Event.SUSPENDED, "freeze")


def test_many_records_are_read_across_pages(aws):
    """GIVEN more records than one page of a Query or Scan holds (1 MB) WHEN the trail is
    read THEN every one comes back."""
    log = DynamoAuditLog(TABLE, REGION)
    bulky = {"findings": ["x" * 1000] * 100}  # ~100 KB each
    log.append(
        [
            record(
                Event.VALIDATED, "pci-db-prod", f"2026-03-01T10:00:{n:02d}.000000Z", detail=bulky
            )
            for n in range(15)
        ]
    )
    assert len(log.read("pci-db-prod")) == len(log.read()) == 15


# --- never overwritten -----------------------------------------------------------------


def test_a_put_with_the_same_key_is_refused_and_the_original_stays(trail):
    """GIVEN an appended record WHEN a PutItem with its key and other content is made with
    the append's condition THEN DynamoDB refuses it and the record reads as before."""
    original = trail.read("pci-db-prod")[0]
    with pytest.raises(ClientError) as refused:
        dynamodb().put_item(
            TableName=TABLE,
            Item={
                "stack": {"S": "pci-db-prod"},
                "at": {"S": f"{original.time}#{original.id}"},
                "record": {"S": "{}"},
            },
            ConditionExpression="attribute_not_exists(#at)",
            ExpressionAttributeNames={"#at": "at"},
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert trail.read("pci-db-prod")[0] == original


def test_appending_a_record_again_changes_nothing(trail):
    """GIVEN an appended record WHEN it is appended again (a retried event) THEN no error,
    and the trail holds it once."""
    trail.append([RECORDS[0]])
    assert len(items()) == len(RECORDS)
    assert trail.read() == sorted(RECORDS, key=lambda r: r.time)


def test_a_steps_records_are_appended_in_one_conditional_transaction(aws):
    """GIVEN the records of one step WHEN appended THEN one TransactWriteItems of
    conditional Puts (one round trip, all or none), no PutItem; appending them all again
    (a retry) falls back to one PutItem each and adds nothing."""
    from reconciler.aws import session

    seen: list[str] = []
    session.on_every_call(lambda model, **_: seen.append(model.name))
    log = DynamoAuditLog(TABLE, REGION)
    log.append(RECORDS[:1])  # the table is created by the first append
    seen.clear()
    log.append(RECORDS[1:])
    assert [n for n in seen if n in ("TransactWriteItems", "PutItem")] == ["TransactWriteItems"]
    seen.clear()
    log.append(RECORDS[1:])
    assert seen.count("TransactWriteItems") == 1 and seen.count("PutItem") == len(RECORDS) - 1
    assert len(items()) == len(RECORDS)


def test_a_different_record_under_a_taken_key_is_refused_not_written(trail):
    """GIVEN an appended record WHEN another with the same time and id but other content is
    appended THEN a permanent error names the key, and the original stays."""
    forged = replace(RECORDS[0], actor="arn:mallory", message="approved after all")
    with pytest.raises(PermanentAwsError, match="already in DynamoDB table 'audit-trail'"):
        trail.append([forged])
    assert RECORDS[0] in trail.read("pci-db-prod")
    assert forged not in trail.read("pci-db-prod")


# --- the table ---------------------------------------------------------------------------


def test_the_table_is_created_on_first_append_on_demand_encrypted_protected_recoverable(aws):
    """GIVEN no table WHEN a record is appended THEN the table is created keyed by stack and
    at, on demand, encrypted, with deletion protection and point-in-time recovery, and the
    description says it was created now."""
    log = DynamoAuditLog(TABLE, REGION)
    log.append([RECORDS[0]])

    table = dynamodb().describe_table(TableName=TABLE)["Table"]
    backups = dynamodb().describe_continuous_backups(TableName=TABLE)
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("stack", "HASH"),
        ("at", "RANGE"),
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["DeletionProtectionEnabled"] is True
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    assert log.description == f"DynamoDB table '{TABLE}' in {REGION} (created now)"


def test_reading_a_missing_table_finds_nothing_and_creates_nothing(aws):
    """GIVEN no table WHEN the trail is read THEN no records, and no table was created."""
    assert DynamoAuditLog(TABLE, REGION).read() == []
    assert dynamodb().list_tables()["TableNames"] == []


def test_a_missing_table_is_an_error_when_it_may_not_be_created(aws):
    """GIVEN no table and create_if_missing False WHEN a record is appended THEN one error
    names the table and the variable to set."""
    log = DynamoAuditLog(TABLE, REGION, create_if_missing=False)
    with pytest.raises(AwsError, match=f"'{TABLE}' in {REGION} does not exist .*AUDIT_TABLE"):
        log.append([RECORDS[0]])


def test_an_item_the_code_cannot_read_is_an_error_naming_its_key(trail):
    """GIVEN an item whose record is not JSON WHEN the trail is read THEN a permanent error
    names its key: a gap in the trail is never silent."""
    dynamodb().put_item(
        TableName=TABLE,
        Item={"stack": {"S": "pci-db-prod"}, "at": {"S": "2026-03-03#x"}, "record": {"S": "{"}},
    )
    with pytest.raises(PermanentAwsError, match=r"audit record pci-db-prod 2026-03-03#x .* cannot"):
        trail.read("pci-db-prod")


def test_the_environment_names_the_table_and_the_bucket(aws):
    """GIVEN RECONCILER_AUDIT_TABLE and RECONCILER_AUDIT_BUCKET, or neither WHEN the trail
    is built from them THEN it uses them, or the default table and no copy."""
    given = audit_from_env({"RECONCILER_AUDIT_TABLE": TABLE, "RECONCILER_AUDIT_BUCKET": BUCKET})
    default = audit_from_env({})
    assert (given.table_name, given.bucket) == (TABLE, BUCKET)
    assert (
        given.description == f"DynamoDB table '{TABLE}' in {REGION}, copied to s3://{BUCKET}/audit/"
    )
    assert (default.table_name, default.bucket) == (DEFAULT_TABLE, "")
    assert "RECONCILER_AUDIT_TABLE was not set" in default.description


# --- the copy in S3 ---------------------------------------------------------------------


def test_each_record_is_copied_to_s3_under_its_day_and_stack(aws):
    """GIVEN a locked bucket WHEN records are appended THEN each is one object
    audit/YYYY/MM/DD/<stack or ->/<time>-<id>.json holding the record's JSON."""
    locked_bucket()
    DynamoAuditLog(TABLE, REGION, bucket=BUCKET).append(RECORDS[:2])

    listed = sorted(o["Key"] for o in s3().list_objects_v2(Bucket=BUCKET)["Contents"])
    assert listed == [
        "audit/2026/03/01/-/2026-03-01T10:00:00.000000Z-id-none-10:00:00.json",
        "audit/2026/03/01/pci-db-prod/2026-03-01T10:00:02.000000Z-id-pci-db-prod-10:00:02.json",
    ]
    body = s3().get_object(Bucket=BUCKET, Key=object_key(RECORDS[0]))["Body"].read()
    assert AuditRecord.from_dict(json.loads(body)) == RECORDS[0]


def test_the_copy_is_locked_in_compliance_mode_for_a_year_and_cannot_be_deleted(aws):
    """GIVEN a bucket whose default retention is COMPLIANCE for 365 days WHEN a record is
    appended THEN its object is locked until at least a year from now, and a delete of its
    version is refused."""
    locked_bucket(365)
    DynamoAuditLog(TABLE, REGION, bucket=BUCKET).append([RECORDS[0]])
    key = object_key(RECORDS[0])
    (version,) = s3().list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]

    head = s3().head_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])
    with pytest.raises(ClientError) as refused:
        s3().delete_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])

    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= datetime.now(UTC) + timedelta(days=364)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3().head_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])


def test_a_failed_copy_is_a_transient_error_after_the_table_has_the_record(aws):
    """GIVEN a bucket that does not exist WHEN a record is appended THEN a transient AwsError
    names the record, the table and the object (the event is retried), the table has the
    record, and no traceback-worthy botocore error escapes."""
    log = DynamoAuditLog(TABLE, REGION, bucket=BUCKET)
    with pytest.raises(AwsError) as failed:
        log.append([RECORDS[0]])

    assert not isinstance(failed.value, PermanentAwsError)
    message = str(failed.value)
    assert f"audit record {RECORDS[0].id} (planned, stack pci-db-prod)" in message
    assert f"is in DynamoDB table '{TABLE}', but its copy to s3://{BUCKET}/audit/" in message
    assert "NoSuchBucket" in message and "\n" not in message
    assert log.read() == [RECORDS[0]]


def test_the_retried_append_writes_the_copy_and_the_table_once(aws):
    """GIVEN an append whose copy failed WHEN it is retried once the bucket is there THEN
    the copy is written and the table still holds the record once."""
    log = DynamoAuditLog(TABLE, REGION, bucket=BUCKET)
    with pytest.raises(AwsError):
        log.append([RECORDS[0]])
    locked_bucket()

    log.append([RECORDS[0]])

    assert len(items()) == 1
    assert s3().head_object(Bucket=BUCKET, Key=object_key(RECORDS[0]))["ObjectLockMode"] == (
        "COMPLIANCE"
    )
