"""CloudTrail's "AWS API Call via CloudTrail" events on the local AWS
(`localaws.cloudtrail_events`), through a real local AWS server: with a trail logging, a
write management call puts the CloudTrail record on the default bus of the call's account
and region, where a rule routes it to SQS, and on `CloudTrailEvents` pollers; read-only
calls, data events, failed calls and accounts without a trail send nothing."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.accounts import in_account
from localaws.cloudtrail_events import DETAIL_TYPE, HIDDEN, CloudTrailEvents
from localaws.server import LocalAws
from tests.functional.localaws_helpers import BusObserver

HOME, MEMBER, NO_TRAIL = "123456789012", "222222222222", "333333333333"
REGION = "us-east-1"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
TESTING = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
OPEN_MYSQL = {
    "IpProtocol": "tcp",
    "FromPort": 3306,
    "ToPort": 3306,
    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
}
INGRESS_PATTERN = {
    "source": ["aws.ec2"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["ec2.amazonaws.com"],
        "eventName": ["AuthorizeSecurityGroupIngress"],
    },
}

Client = Callable[..., Any]


@pytest.fixture(scope="module")
def client(local_aws: LocalAws) -> Client:
    """client(service, credentials=None, account=None): a boto3 client of the module's local
    AWS in us-east-1, with the `testing` keys unless credentials are given, acting in
    `account` (through moto's account header) when one is given."""

    def make(service: str, credentials: dict | None = None, account: str | None = None) -> Any:
        made = boto3.client(
            service,
            endpoint_url=local_aws.endpoint_url,
            region_name=REGION,
            config=NO_RETRIES,
            **(credentials or TESTING),
        )
        return in_account(made, account) if account else made

    return make


def _start_trail(client: Client, account: str | None = None) -> Callable[[], None]:
    """A multi-Region trail logging in `account` (the home account when None); returns
    what deletes it."""
    bucket = f"trail-{uuid.uuid4().hex[:12]}"
    client("s3", account=account).create_bucket(Bucket=bucket)
    cloudtrail = client("cloudtrail", account=account)
    cloudtrail.create_trail(Name=f"{bucket}-trail", S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name=f"{bucket}-trail")
    return lambda: cloudtrail.delete_trail(Name=f"{bucket}-trail")


@pytest.fixture(scope="module", autouse=True)
def trails(client: Client) -> Iterator[None]:
    """The home account and 222222222222 log their management events; 333333333333 has no
    trail. The trails go with the module: moto's backends outlive it, and a later module's
    observer of aws.cloudformation events would otherwise hear CloudTrail's too."""
    deletes = [_start_trail(client), _start_trail(client, MEMBER)]
    yield
    for delete in deletes:
        delete()


def observe(client: Client, pattern: dict, account: str | None = None) -> BusObserver:
    """A rule on the default bus of one account, sending what matches `pattern` to an SQS
    queue of its own; `received()` drains it."""
    return BusObserver(client("sqs", account=account), client("events", account=account), pattern)


def _security_group(client: Client, account: str | None = None) -> str:
    ec2 = client("ec2", account=account)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    name = f"db-{uuid.uuid4().hex[:8]}"
    return ec2.create_security_group(GroupName=name, Description="db", VpcId=vpc)["GroupId"]


def _database(client: Client) -> str:
    name = f"db-{uuid.uuid4().hex[:8]}"
    client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
    )
    return name


def _only(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["detail"]["eventName"] == name]
    return event


# --- what a call sends ------------------------------------------------------------------------


def test_an_ingress_rule_opened_to_the_world_is_one_event_on_the_default_bus(
    client: Client,
) -> None:
    """GIVEN a trail, a security group, and a rule matching AuthorizeSecurityGroupIngress
    calls recorded by CloudTrail, sending them to SQS
    WHEN MySQL is opened to 0.0.0.0/0
    THEN the queue receives one event: the CloudTrail record with the group id and the
    permissions as CloudTrail writes EC2's lists, the same event a poller returns"""
    group = _security_group(client)
    observer = observe(client, INGRESS_PATTERN)
    poller = CloudTrailEvents()

    client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=[OPEN_MYSQL])

    (delivered,) = observer.received()
    assert delivered["detail-type"] == DETAIL_TYPE
    assert (delivered["source"], delivered["account"], delivered["region"]) == (
        "aws.ec2",
        HOME,
        REGION,
    )
    assert delivered["resources"] == []
    detail = delivered["detail"]
    assert detail["requestParameters"] == {
        "groupId": group,
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 3306,
                    "toPort": 3306,
                    "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                }
            ]
        },
    }
    assert {k: detail[k] for k in ("eventSource", "eventName", "awsRegion")} == {
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": REGION,
    }
    assert {
        k: detail[k]
        for k in (
            "eventVersion",
            "readOnly",
            "eventType",
            "managementEvent",
            "recipientAccountId",
            "eventCategory",
        )
    } == {
        "eventVersion": "1.09",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": HOME,
        "eventCategory": "Management",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", detail["eventTime"])
    assert uuid.UUID(detail["eventID"]) and detail["requestID"]
    assert detail["userAgent"].startswith("Boto3/") and detail["sourceIPAddress"] == "127.0.0.1"
    polled = _only(poller.poll(), "AuthorizeSecurityGroupIngress")
    assert polled == delivered
    assert poller.poll() == []


def test_a_backup_retention_change_gives_the_instance_and_the_typed_period(
    client: Client,
) -> None:
    """GIVEN a trail and a DB instance
    WHEN its BackupRetentionPeriod is set to 7
    THEN the event's requestParameters name the instance as dBInstanceIdentifier and hold
    backupRetentionPeriod as the number 7"""
    database = _database(client)
    poller = CloudTrailEvents()

    client("rds").modify_db_instance(
        DBInstanceIdentifier=database, BackupRetentionPeriod=7, ApplyImmediately=True
    )

    event = _only(poller.poll(), "ModifyDBInstance")
    assert (event["source"], event["detail"]["eventSource"]) == ("aws.rds", "rds.amazonaws.com")
    assert event["detail"]["requestParameters"] == {
        "dBInstanceIdentifier": database,
        "backupRetentionPeriod": 7,
        "applyImmediately": True,
    }


def test_a_password_is_hidden_as_cloudtrail_hides_it(client: Client) -> None:
    """GIVEN a trail and a DB instance
    WHEN its master password is changed
    THEN the event carries HIDDEN_DUE_TO_SECURITY_REASONS, never the password"""
    database = _database(client)
    poller = CloudTrailEvents()

    client("rds").modify_db_instance(
        DBInstanceIdentifier=database, MasterUserPassword="new-secret-42", ApplyImmediately=True
    )

    event = _only(poller.poll(), "ModifyDBInstance")
    assert event["detail"]["requestParameters"]["masterUserPassword"] == HIDDEN
    assert "new-secret-42" not in json.dumps(event)


def test_a_log_retention_change_gives_the_log_group(client: Client) -> None:
    """GIVEN a trail and a log group
    WHEN PutRetentionPolicy sets 30 days
    THEN the event (source aws.logs) holds logGroupName and retentionInDays"""
    logs = client("logs")
    name = f"/app/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    poller = CloudTrailEvents()

    logs.put_retention_policy(logGroupName=name, retentionInDays=30)

    (event,) = poller.poll()
    assert (event["source"], event["detail"]["eventName"]) == ("aws.logs", "PutRetentionPolicy")
    assert event["detail"]["requestParameters"] == {"logGroupName": name, "retentionInDays": 30}


def test_identifiers_are_where_cloudtrail_puts_them(client: Client) -> None:
    """GIVEN a trail
    WHEN a KMS key, a secret, a replication group, a Lambda function, a role and a security
    group's tags are changed
    THEN each event names its resource as CloudTrail does: keyId, secretId (its value
    hidden), replicationGroupId (the token hidden), functionName, roleName,
    resourcesSet.items[].resourceId"""
    suffix = uuid.uuid4().hex[:8]
    key = client("kms").create_key(Description="k")["KeyMetadata"]["KeyId"]
    secret = client("secretsmanager").create_secret(Name=f"s-{suffix}", SecretString="first-value")
    elasticache = client("elasticache")
    elasticache.create_replication_group(
        ReplicationGroupId=f"rg-{suffix}",
        ReplicationGroupDescription="cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        TransitEncryptionEnabled=True,
        AuthToken="a" * 20,
    )
    role = client("iam").create_role(
        RoleName=f"role-{suffix}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", "def handler(event, context):\n    pass\n")
    client("lambda").create_function(
        FunctionName=f"fn-{suffix}",
        Runtime="python3.13",
        Role=role["Arn"],
        Handler="index.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    group = _security_group(client)
    poller = CloudTrailEvents()

    client("kms").enable_key_rotation(KeyId=key)
    client("secretsmanager").put_secret_value(SecretId=secret["ARN"], SecretString="second-value")
    elasticache.modify_replication_group(
        ReplicationGroupId=f"rg-{suffix}",
        AuthToken="b" * 20,
        AuthTokenUpdateStrategy="ROTATE",
        ApplyImmediately=True,
    )
    client("lambda").put_function_concurrency(
        FunctionName=f"fn-{suffix}", ReservedConcurrentExecutions=2
    )
    client("iam").update_role(RoleName=f"role-{suffix}", MaxSessionDuration=7200)
    client("ec2").create_tags(Resources=[group], Tags=[{"Key": "team", "Value": "db"}])

    events = poller.poll()
    parameters = {e["detail"]["eventName"]: e["detail"]["requestParameters"] for e in events}
    assert parameters["EnableKeyRotation"] == {"keyId": key}
    assert parameters["PutSecretValue"]["secretId"] == secret["ARN"]
    assert parameters["PutSecretValue"]["secretString"] == HIDDEN
    assert parameters["ModifyReplicationGroup"] == {
        "replicationGroupId": f"rg-{suffix}",
        "authToken": HIDDEN,
        "authTokenUpdateStrategy": "ROTATE",
        "applyImmediately": True,
    }
    assert parameters["PutFunctionConcurrency"] == {
        "functionName": f"fn-{suffix}",
        "reservedConcurrentExecutions": 2,
    }
    assert parameters["UpdateRole"] == {"roleName": f"role-{suffix}", "maxSessionDuration": 7200}
    assert parameters["CreateTags"] == {
        "resourcesSet": {"items": [{"resourceId": group}]},
        "tagSet": {"items": [{"key": "team", "value": "db"}]},
    }
    sources = {e["detail"]["eventName"]: e["source"] for e in events}
    assert sources["PutFunctionConcurrency"] == "aws.lambda"
    assert sources["UpdateRole"] == "aws.iam"
    assert "second-value" not in json.dumps(events) and "b" * 20 not in json.dumps(events)


# --- what sends nothing -----------------------------------------------------------------------


def test_read_only_calls_and_data_events_send_nothing(client: Client) -> None:
    """GIVEN a trail, a table, a queue and a KMS key
    WHEN they are described and read, an item is put, a message sent, data encrypted and
    the caller's identity asked for
    THEN no event is sent: read-only calls (STS and KMS cryptography among them) and data
    events are not management writes"""
    suffix = uuid.uuid4().hex[:8]
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName=f"t-{suffix}",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = client("sqs").create_queue(QueueName=f"q-{suffix}")["QueueUrl"]
    key = client("kms").create_key(Description="k")["KeyMetadata"]["KeyId"]
    poller = CloudTrailEvents()

    client("ec2").describe_security_groups()
    client("rds").describe_db_instances()
    dynamodb.put_item(TableName=f"t-{suffix}", Item={"pk": {"S": "1"}})
    dynamodb.get_item(TableName=f"t-{suffix}", Key={"pk": {"S": "1"}})
    client("sqs").send_message(QueueUrl=queue, MessageBody="hello")
    client("kms").encrypt(KeyId=key, Plaintext=b"secret")
    client("sts").get_caller_identity()

    assert poller.poll() == []


def test_a_failed_call_sends_nothing(client: Client) -> None:
    """GIVEN a trail
    WHEN ModifyDBInstance names an instance that does not exist
    THEN the call fails and no event is sent"""
    poller = CloudTrailEvents()

    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        client("rds").modify_db_instance(
            DBInstanceIdentifier=f"missing-{uuid.uuid4().hex[:8]}", BackupRetentionPeriod=7
        )

    assert poller.poll() == []


def test_an_account_without_a_trail_sends_nothing(client: Client) -> None:
    """GIVEN an account with no trail
    WHEN a security group is opened there
    THEN no event is sent: EventBridge gets CloudTrail's events only from a logging trail"""
    group = _security_group(client, NO_TRAIL)
    poller = CloudTrailEvents()

    client("ec2", account=NO_TRAIL).authorize_security_group_ingress(
        GroupId=group, IpPermissions=[OPEN_MYSQL]
    )

    assert poller.poll() == []


def test_the_resources_a_stack_creates_send_no_events_of_their_own(client: Client) -> None:
    """GIVEN a trail
    WHEN a stack with a log group is created
    THEN CreateStack is one event (aws.cloudformation); the log group CloudFormation makes
    is no request to the local AWS and sends none"""
    name = f"stack-{uuid.uuid4().hex[:8]}"
    template = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}}
    poller = CloudTrailEvents()

    client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))

    (event,) = poller.poll()
    assert (event["source"], event["detail"]["eventName"]) == ("aws.cloudformation", "CreateStack")
    assert event["detail"]["requestParameters"]["stackName"] == name


# --- who made the call, and where -------------------------------------------------------------


def test_a_role_session_is_an_assumed_role_with_its_role_as_session_issuer(
    client: Client,
) -> None:
    """GIVEN a trail and a role the home account may assume
    WHEN a session of it creates a log group
    THEN userIdentity is the AssumedRole session (principal AROA...:session, its
    assumed-role ARN and key) with the role as sessionIssuer"""
    name = f"deployer-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    role_arn, role_id = role["Role"]["Arn"], role["Role"]["RoleId"]
    session = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="gitops")
    credentials = session["Credentials"]
    poller = CloudTrailEvents()

    client(
        "logs",
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        },
    ).create_log_group(logGroupName=f"/{name}")

    identity = _only(poller.poll(), "CreateLogGroup")["detail"]["userIdentity"]
    attributes = identity["sessionContext"].pop("attributes")
    assert identity == {
        "type": "AssumedRole",
        "principalId": f"{role_id}:gitops",
        "arn": f"arn:aws:sts::{HOME}:assumed-role/{name}/gitops",
        "accountId": HOME,
        "accessKeyId": credentials["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn,
                "accountId": HOME,
                "userName": name,
            }
        },
    }
    assert attributes["mfaAuthenticated"] == "false"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", attributes["creationDate"])


def test_an_iam_user_key_is_the_iam_user(client: Client) -> None:
    """GIVEN a trail and an IAM user with an access key
    WHEN the user creates a log group
    THEN userIdentity is the IAMUser: its id, ARN, account, key and name"""
    name = f"operator-{uuid.uuid4().hex[:8]}"
    user = client("iam").create_user(UserName=name)["User"]
    key = client("iam").create_access_key(UserName=name)["AccessKey"]
    poller = CloudTrailEvents()

    client(
        "logs",
        {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]},
    ).create_log_group(logGroupName=f"/{name}")

    identity = _only(poller.poll(), "CreateLogGroup")["detail"]["userIdentity"]
    assert identity == {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": f"arn:aws:iam::{HOME}:user/{name}",
        "accountId": HOME,
        "accessKeyId": key["AccessKeyId"],
        "userName": name,
    }


def test_a_call_in_another_account_goes_to_that_account_bus(client: Client) -> None:
    """GIVEN trails in the home account and in 222222222222, and observers on both default
    buses
    WHEN a security group is opened in 222222222222
    THEN its event reaches 222222222222's bus only, with that account, and the caller is
    whoever GetCallerIdentity says makes calls there"""
    on_member = observe(client, INGRESS_PATTERN, MEMBER)
    on_home = observe(client, INGRESS_PATTERN)
    group = _security_group(client, MEMBER)

    client("ec2", account=MEMBER).authorize_security_group_ingress(
        GroupId=group, IpPermissions=[OPEN_MYSQL]
    )

    (event,) = on_member.received()
    assert (event["account"], event["detail"]["recipientAccountId"]) == (MEMBER, MEMBER)
    assert event["detail"]["requestParameters"]["groupId"] == group
    caller = client("sts", account=MEMBER).get_caller_identity()
    identity = event["detail"]["userIdentity"]
    assert (identity["type"], identity["arn"], identity["accountId"]) == (
        "IAMUser",
        caller["Arn"],
        caller["Account"],
    )
    assert on_home.received() == []
