"""An S3 bucket a template creates gets the Object Lock, versioning and public access
block the template asks for (`localaws.cfn_s3_bucket`), through a real local AWS server:
an object written there is locked by the default retention, and a delete of its version
is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.functional.localaws_helpers import StackUnderTest

LOCKED = {
    "ObjectLockEnabled": True,
    "ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
    },
}


def template(**properties: Any) -> str:
    bucket = {"BucketName": f"locked-{uuid.uuid4().hex[:12]}", **properties}
    return json.dumps(
        {
            "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": bucket}},
            "Outputs": {"Name": {"Value": {"Ref": "Bucket"}}},
        }
    )


def deployed(client, body: str) -> str:
    stack = StackUnderTest(client, "bucket")
    stack.create(body)
    assert stack.status() == "CREATE_COMPLETE", stack.failure()
    return stack.outputs()["Name"]


def put(s3, bucket: str, key: str = "audit/record.json") -> dict[str, Any]:
    body = b'{"event": "planned"}'
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return s3.put_object(
        Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=digest
    )


def test_object_lock_in_compliance_mode_is_the_buckets_default_retention(local_aws_client):
    """GIVEN ObjectLockEnabled and a COMPLIANCE default retention of 365 days WHEN the
    bucket is created THEN GetObjectLockConfiguration reports them and versioning is on"""
    name = deployed(local_aws_client, template(**LOCKED))

    s3 = local_aws_client("s3")
    configuration = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    retention = configuration["Rule"]["DefaultRetention"]
    assert configuration["ObjectLockEnabled"] == "Enabled"
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 365)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"


def test_an_object_written_there_is_locked_and_its_version_cannot_be_deleted(local_aws_client):
    """GIVEN the locked bucket WHEN an object is written and its version deleted THEN the
    object is locked in COMPLIANCE mode for 365 days and the delete is refused"""
    name = deployed(local_aws_client, template(**LOCKED))
    s3 = local_aws_client("s3")
    version = put(s3, name)["VersionId"]

    head = s3.head_object(Bucket=name, Key="audit/record.json", VersionId=version)
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=name, Key="audit/record.json", VersionId=version)

    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= datetime.now(UTC) + timedelta(days=364)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_write_without_a_checksum_is_refused_by_a_locked_bucket(local_aws, local_aws_client):
    """GIVEN the locked bucket WHEN an object is written with no Content-MD5 and no
    checksum THEN S3 refuses it, as AWS does for a bucket with a default retention"""
    name = deployed(local_aws_client, template(**LOCKED))
    # botocore adds a CRC32 checksum unless told to add one only when an API requires it.
    s3 = boto3.client(
        "s3",
        endpoint_url=local_aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(request_checksum_calculation="when_required", retries={"max_attempts": 1}),
    )

    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=name, Key="audit/bare.json", Body=b"{}")

    # AWS answers InvalidRequest, moto its own code; both say the header is required.
    assert "Content-MD5" in refused.value.response["Error"]["Message"]


def test_versioning_and_the_public_access_block_are_set(local_aws_client):
    """GIVEN VersioningConfiguration Enabled and a public access block with every switch on
    WHEN the bucket is created THEN both are as the template says"""
    block = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    name = deployed(
        local_aws_client,
        template(
            VersioningConfiguration={"Status": "Enabled"}, PublicAccessBlockConfiguration=block
        ),
    )

    s3 = local_aws_client("s3")
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == block


def test_a_retention_given_as_a_parameter_string_is_read_as_days(local_aws_client):
    """GIVEN the retention days as a parameter (a string, as parameters arrive) WHEN the
    bucket is created THEN the default retention is that many days"""
    body = json.loads(template(**LOCKED))
    body["Parameters"] = {"Days": {"Type": "Number", "Default": 400}}
    rule = body["Resources"]["Bucket"]["Properties"]["ObjectLockConfiguration"]["Rule"]
    rule["DefaultRetention"]["Days"] = {"Ref": "Days"}
    name = deployed(local_aws_client, json.dumps(body))

    configuration = local_aws_client("s3").get_object_lock_configuration(Bucket=name)
    assert configuration["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"] == 400


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (
            {"ObjectLockConfiguration": LOCKED["ObjectLockConfiguration"]},
            "Versioning must be 'Enabled'",
        ),
        (
            {
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1, "Years": 1}},
                },
            },
            "exactly one of Days and Years",
        ),
        (
            {
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "FOREVER", "Days": 1}},
                },
            },
            "GOVERNANCE or COMPLIANCE",
        ),
        ({**LOCKED, "VersioningConfiguration": {"Status": "Suspended"}}, "cannot be changed"),
    ],
    ids=["lock-without-object-lock", "days-and-years", "unknown-mode", "suspended-versioning"],
)
def test_a_lock_s3_refuses_fails_the_bucket_and_rolls_back(local_aws_client, properties, reason):
    """GIVEN an Object Lock setting S3 refuses WHEN the stack is created THEN the bucket
    fails with S3's reason and the stack rolls back"""
    stack = StackUnderTest(local_aws_client, "bucket")
    stack.create(template(**properties))

    logical_id, status, why = stack.failure()
    assert (logical_id, status) == ("Bucket", "CREATE_FAILED")
    assert reason in why
    assert stack.status() == "ROLLBACK_COMPLETE"


def test_an_update_of_the_retention_keeps_the_bucket_and_sets_the_new_default(local_aws_client):
    """GIVEN a locked bucket holding an object WHEN a stack update raises the retention to
    400 days THEN the same bucket has the new default retention"""
    body = json.loads(template(**LOCKED))
    body["Parameters"] = {"Days": {"Type": "Number", "Default": 365}}
    rule = body["Resources"]["Bucket"]["Properties"]["ObjectLockConfiguration"]["Rule"]
    rule["DefaultRetention"]["Days"] = {"Ref": "Days"}
    stack = StackUnderTest(local_aws_client, "bucket")
    stack.create(json.dumps(body))
    name = stack.outputs()["Name"]
    put(local_aws_client("s3"), name)

    stack.update(json.dumps(body), {"Days": "400"})

    configuration = local_aws_client("s3").get_object_lock_configuration(Bucket=name)
    assert stack.status() == "UPDATE_COMPLETE"
    assert stack.outputs()["Name"] == name
    assert configuration["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"] == 400
