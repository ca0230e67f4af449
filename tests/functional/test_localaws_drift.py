"""Drift detection, drift events and REVERT_DRIFT change sets on the local AWS
(`localaws.drift`, `localaws.drift_events`), through a real local AWS server: a small stack
(RDS instance, security groups, log group, KMS key, replication group) is changed behind
CloudFormation's back with the services' own calls, as a console user would."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws import drift, extensions
from localaws.drift_events import DETAIL_TYPE, DriftEvents
from tests.functional.localaws_helpers import MYSQL_INSTANCE, StackUnderTest, network

NOT_COMPARED = {"Vpc", "SubnetA", "SubnetB", "CacheSubnets"}
COMPARED = {
    "AppSecurityGroup",
    "DBSecurityGroup",
    "EncryptionKey",
    "AuditLogs",
    "Database",
    "Cache",
}
# MySQL opened to the world, as AuthorizeSecurityGroupIngress takes it.
OPEN_MYSQL = {
    "IpProtocol": "tcp",
    "FromPort": 3306,
    "ToPort": 3306,
    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
}
FROM_APP = {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "Description": "from app"}
NO_EGRESS = {"IpProtocol": "-1", "CidrIp": "127.0.0.1/32", "Description": "no egress"}
PARAMETERS = {"BackupRetentionDays": "7", "LogRetentionDays": "365"}


def template() -> str:
    """The stack: retention periods come in as parameters (resolved values are compared)."""
    resources: dict[str, Any] = {
        **network("ab"),
        "AppSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "app", "VpcId": {"Ref": "Vpc"}},
        },
        "DBSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "db",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupIngress": [
                    {**FROM_APP, "SourceSecurityGroupId": {"Ref": "AppSecurityGroup"}}
                ],
                "SecurityGroupEgress": [NO_EGRESS],
            },
        },
        "EncryptionKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {"Description": "drift test", "EnableKeyRotation": True},
        },
        "AuditLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "RetentionInDays": {"Ref": "LogRetentionDays"},
                "KmsKeyId": {"Fn::GetAtt": ["EncryptionKey", "Arn"]},
            },
        },
        "Database": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                **MYSQL_INSTANCE,
                "BackupRetentionPeriod": {"Ref": "BackupRetentionDays"},
                "MultiAZ": True,
                "StorageEncrypted": True,
                "KmsKeyId": {"Ref": "EncryptionKey"},
                "PubliclyAccessible": False,
                "DeletionProtection": False,
                "VPCSecurityGroups": [{"Ref": "DBSecurityGroup"}],
            },
        },
        "CacheSubnets": {
            "Type": "AWS::ElastiCache::SubnetGroup",
            "Properties": {
                "Description": "cache",
                "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            },
        },
        "Cache": {
            "Type": "AWS::ElastiCache::ReplicationGroup",
            "Properties": {
                "ReplicationGroupDescription": "cache",
                "NumCacheClusters": 2,
                "AutomaticFailoverEnabled": True,
                "MultiAZEnabled": True,
                "AtRestEncryptionEnabled": True,
                "TransitEncryptionEnabled": True,
                "KmsKeyId": {"Ref": "EncryptionKey"},
                "SnapshotRetentionLimit": 7,
                "CacheSubnetGroupName": {"Ref": "CacheSubnets"},
            },
        },
    }
    parameters = {name: {"Type": "Number"} for name in PARAMETERS}
    return json.dumps({"Parameters": parameters, "Resources": resources})


class DriftStack(StackUnderTest):
    """The stack, its resources' physical ids, and the services behind them."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "drift")
        self.client = client
        self.create(template(), PARAMETERS)
        self.ids = self.physical_ids()

    def tamper(self) -> None:
        """The five changes made behind CloudFormation's back."""
        self.client("rds").modify_db_instance(
            DBInstanceIdentifier=self.ids["Database"],
            BackupRetentionPeriod=1,
            ApplyImmediately=True,
        )
        self.client("ec2").authorize_security_group_ingress(
            GroupId=self.ids["DBSecurityGroup"], IpPermissions=[OPEN_MYSQL]
        )
        self.client("logs").put_retention_policy(
            logGroupName=self.ids["AuditLogs"], retentionInDays=1
        )
        self.client("kms").disable_key_rotation(KeyId=self.ids["EncryptionKey"])
        self.client("elasticache").modify_replication_group(
            ReplicationGroupId=self.ids["Cache"], SnapshotRetentionLimit=0, ApplyImmediately=True
        )

    def detect(self) -> dict[str, Any]:
        detection_id = self.cloudformation.detect_stack_drift(StackName=self.name)[
            "StackDriftDetectionId"
        ]
        return self.cloudformation.describe_stack_drift_detection_status(
            StackDriftDetectionId=detection_id
        )

    def drifts(self, **kwargs: Any) -> dict[str, dict[str, Any]]:
        answer = self.cloudformation.describe_stack_resource_drifts(StackName=self.name, **kwargs)
        return {d["LogicalResourceId"]: d for d in answer["StackResourceDrifts"]}

    def revert_drift(self, name: str) -> dict[str, Any]:
        """A REVERT_DRIFT change set, asked for as the reconciler asks: the deployed template,
        every parameter's previous value, the stack's tags (none here)."""
        body = self.cloudformation.get_template(StackName=self.name)["TemplateBody"]
        self.cloudformation.create_change_set(
            StackName=self.name,
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            DeploymentMode="REVERT_DRIFT",
            TemplateBody=body if isinstance(body, str) else json.dumps(body),
            Parameters=[{"ParameterKey": key, "UsePreviousValue": True} for key in PARAMETERS],
            Tags=[],
        )
        return self.cloudformation.describe_change_set(StackName=self.name, ChangeSetName=name)


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> DriftStack:
    return DriftStack(local_aws_client)


def _difference(path: str, expected: str, actual: str, kind: str = "NOT_EQUAL") -> dict[str, str]:
    return {
        "PropertyPath": path,
        "ExpectedValue": expected,
        "ActualValue": actual,
        "DifferenceType": kind,
    }


TAMPERED = {
    "Database": [_difference("/BackupRetentionPeriod", "7", "1")],
    "DBSecurityGroup": [
        _difference(
            "/SecurityGroupIngress/1",
            "null",
            '{"CidrIp":"0.0.0.0/0","FromPort":3306,"IpProtocol":"tcp","ToPort":3306}',
            "ADD",
        )
    ],
    "AuditLogs": [_difference("/RetentionInDays", "365", "1")],
    "EncryptionKey": [_difference("/EnableKeyRotation", "true", "false")],
    "Cache": [_difference("/SnapshotRetentionLimit", "7", "0")],
}


def test_the_installer_is_listed() -> None:
    assert drift.install in extensions.INSTALLERS


def test_a_fresh_stack_is_in_sync_and_uncompared_types_are_not_checked(stack: DriftStack) -> None:
    """GIVEN a stack just deployed
    WHEN its drift is detected
    THEN the detection is complete and IN_SYNC, every compared resource is IN_SYNC, and the
    types the local AWS does not compare are NOT_CHECKED with a reason, never IN_SYNC"""
    status = stack.detect()
    drifts = stack.drifts()

    assert (status["DetectionStatus"], status["StackDriftStatus"]) == (
        "DETECTION_COMPLETE",
        "IN_SYNC",
    )
    assert status["DriftedStackResourceCount"] == 0
    assert status["StackId"] == stack.described()["StackId"]
    assert {k for k, d in drifts.items() if d["StackResourceDriftStatus"] == "IN_SYNC"} == COMPARED
    assert {
        k for k, d in drifts.items() if d["StackResourceDriftStatus"] == "NOT_CHECKED"
    } == NOT_COMPARED
    assert "does not compare AWS::EC2::VPC" in drifts["Vpc"]["DriftStatusReason"]
    assert json.loads(drifts["Database"]["ExpectedProperties"])["BackupRetentionPeriod"] == 7
    assert drifts["Database"]["PhysicalResourceId"] == stack.ids["Database"]
    assert stack.described()["DriftInformation"]["StackDriftStatus"] == "IN_SYNC"


def test_security_groups_are_created_with_their_egress_rules_and_descriptions(
    stack: DriftStack,
) -> None:
    """GIVEN a security group whose template sets SecurityGroupEgress and rule descriptions
    THEN the group has exactly those egress rules (the default allow-all rule is gone) and
    its ingress rule keeps its description"""
    group = stack.client("ec2").describe_security_groups(GroupIds=[stack.ids["DBSecurityGroup"]])[
        "SecurityGroups"
    ][0]

    assert [(p["IpProtocol"], p["IpRanges"]) for p in group["IpPermissionsEgress"]] == [
        ("-1", [{"CidrIp": "127.0.0.1/32", "Description": "no egress"}])
    ]
    (ingress,) = group["IpPermissions"]
    assert ingress["UserIdGroupPairs"][0]["Description"] == "from app"


def test_changes_behind_cloudformation_are_reported_property_by_property(stack: DriftStack) -> None:
    """GIVEN backup retention cut to 1, MySQL opened to 0.0.0.0/0, log retention cut to 1,
    key rotation disabled and cache snapshots turned off, all outside CloudFormation
    WHEN drift is detected
    THEN the stack is DRIFTED with five drifted resources and each shows exactly its
    property difference, with expected and actual properties and no secret"""
    stack.tamper()

    status = stack.detect()
    drifts = stack.drifts()

    assert (status["StackDriftStatus"], status["DriftedStackResourceCount"]) == ("DRIFTED", 5)
    modified = {
        k: d["PropertyDifferences"]
        for k, d in drifts.items()
        if d["StackResourceDriftStatus"] == "MODIFIED"
    }
    assert modified == TAMPERED
    assert drifts["AppSecurityGroup"]["StackResourceDriftStatus"] == "IN_SYNC"
    assert json.loads(drifts["Database"]["ActualProperties"])["BackupRetentionPeriod"] == 1
    assert "not-a-secret" not in json.dumps(drifts, default=str)
    resources = stack.cloudformation.describe_stack_resources(StackName=stack.name)[
        "StackResources"
    ]
    statuses = {
        r["LogicalResourceId"]: r["DriftInformation"]["StackResourceDriftStatus"] for r in resources
    }
    assert statuses["Database"] == "MODIFIED"
    assert stack.described()["DriftInformation"]["StackDriftStatus"] == "DRIFTED"


def test_drifts_can_be_filtered_by_status_and_paged(stack: DriftStack) -> None:
    """GIVEN a drifted stack
    WHEN its resource drifts are asked for by status, or two at a time
    THEN the filter keeps only those statuses and the pages hold every resource once, in
    template order"""
    stack.tamper()
    stack.detect()

    modified = stack.drifts(StackResourceDriftStatusFilters=["MODIFIED"])
    pages: list[list[str]] = []
    kwargs: dict[str, Any] = {"StackName": stack.name, "MaxResults": 2}
    while True:
        page = stack.cloudformation.describe_stack_resource_drifts(**kwargs)
        pages.append([d["LogicalResourceId"] for d in page["StackResourceDrifts"]])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]

    assert set(modified) == set(TAMPERED)
    assert [name for page in pages for name in page] == list(json.loads(template())["Resources"])
    assert [len(page) for page in pages] == [2, 2, 2, 2, 2]


def test_one_resource_can_be_checked_alone(stack: DriftStack) -> None:
    """GIVEN log retention cut behind CloudFormation's back
    WHEN only that resource is checked (and then an uncompared one, and an unknown one)
    THEN it is MODIFIED, the uncompared one NOT_CHECKED, the unknown one refused, and the
    stack's own drift status is not touched"""
    stack.client("logs").put_retention_policy(
        logGroupName=stack.ids["AuditLogs"], retentionInDays=1
    )
    cloudformation = stack.cloudformation

    checked = cloudformation.detect_stack_resource_drift(
        StackName=stack.name, LogicalResourceId="AuditLogs"
    )
    vpc = cloudformation.detect_stack_resource_drift(StackName=stack.name, LogicalResourceId="Vpc")
    with pytest.raises(ClientError, match="Nowhere"):
        cloudformation.detect_stack_resource_drift(
            StackName=stack.name, LogicalResourceId="Nowhere"
        )

    assert checked["StackResourceDrift"]["StackResourceDriftStatus"] == "MODIFIED"
    assert checked["StackResourceDrift"]["PropertyDifferences"] == TAMPERED["AuditLogs"]
    assert vpc["StackResourceDrift"]["StackResourceDriftStatus"] == "NOT_CHECKED"
    assert set(stack.drifts()) == {"AuditLogs", "Vpc"}
    assert stack.described()["DriftInformation"]["StackDriftStatus"] == "NOT_CHECKED"


def test_a_rule_added_by_a_separate_ingress_resource_counts_as_drift_as_on_aws(
    local_aws_client: Callable[[str], Any],
) -> None:
    """GIVEN a group whose second rule comes from an AWS::EC2::SecurityGroupIngress resource
    WHEN drift is detected
    THEN the group is MODIFIED by that rule, as AWS reports it (a known false positive)"""
    body = json.loads(template())
    body["Resources"]["ExtraIngress"] = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Ref": "DBSecurityGroup"},
            "IpProtocol": "tcp",
            "FromPort": 3306,
            "ToPort": 3306,
            "CidrIp": "10.0.0.0/16",
        },
    }
    stack = StackUnderTest(local_aws_client, "drift-ingress")
    stack.create(json.dumps(body), PARAMETERS)
    cloudformation = stack.cloudformation

    cloudformation.detect_stack_drift(StackName=stack.name)
    drifts = cloudformation.describe_stack_resource_drifts(
        StackName=stack.name, StackResourceDriftStatusFilters=["MODIFIED"]
    )["StackResourceDrifts"]

    assert [
        (d["LogicalResourceId"], d["PropertyDifferences"][0]["PropertyPath"]) for d in drifts
    ] == [("DBSecurityGroup", "/SecurityGroupIngress/1")]


def test_a_detection_puts_its_event_on_the_default_bus_and_in_the_poll(
    stack: DriftStack, local_aws_client: Callable[[str], Any]
) -> None:
    """GIVEN an EventBridge rule on the default bus that sends this stack's drift detection
    events to an SQS queue, and a DriftEvents poller
    WHEN a drifted stack is checked
    THEN the queue receives the "CloudFormation Drift Detection Status Change" event with
    the stack, detection, statuses and count, and the poller returns the same event once"""
    sqs, eventbridge = local_aws_client("sqs"), local_aws_client("events")
    queue_url = sqs.create_queue(QueueName=f"{stack.name}-drift")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    stack_id = stack.described()["StackId"]
    pattern = {
        "source": ["aws.cloudformation"],
        "detail-type": [DETAIL_TYPE],
        "resources": [stack_id],
    }
    eventbridge.put_rule(Name=stack.name, EventPattern=json.dumps(pattern))
    eventbridge.put_targets(Rule=stack.name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    poller = DriftEvents()
    stack.tamper()

    status = stack.detect()

    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    delivered = json.loads(message["Body"])
    expected_detail = {
        "stack-id": stack_id,
        "stack-drift-detection-id": status["StackDriftDetectionId"],
        "status-details": {
            "stack-drift-status": "DRIFTED",
            "detection-status": "DETECTION_COMPLETE",
        },
        "drift-detection-details": {"drifted-stack-resource-count": 5},
    }
    assert (delivered["source"], delivered["detail-type"]) == ("aws.cloudformation", DETAIL_TYPE)
    assert delivered["detail"] == expected_detail
    polled = [e for e in poller.poll() if e["detail"]["stack-id"] == stack_id]
    assert [(e["id"], e["detail"], e["resources"]) for e in polled] == [
        (delivered["id"], expected_detail, [stack_id])
    ]
    assert (polled[0]["account"], polled[0]["region"]) == ("123456789012", "us-east-1")
    assert poller.poll() == []


def test_a_revert_drift_change_set_lists_and_reverts_the_drift(stack: DriftStack) -> None:
    """GIVEN the five changes behind CloudFormation's back
    WHEN a REVERT_DRIFT change set is created and executed
    THEN it lists each drifted resource as an in-place Modify with the actual and template
    values, execution puts the template's values back in the services, and a new detection
    is IN_SYNC"""
    stack.tamper()

    described = stack.revert_drift("repair")

    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert (described["DeploymentMode"], described["StackDriftStatus"]) == (
        "REVERT_DRIFT",
        "DRIFTED",
    )
    changes = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]
    }
    assert set(changes) == set(TAMPERED)
    assert {
        (c["Action"], c["Replacement"], c["ResourceDriftStatus"]) for c in changes.values()
    } == {("Modify", "False", "MODIFIED")}
    (target,) = [d["Target"] for d in changes["Database"]["Details"]]
    assert (target["Name"], target["BeforeValue"], target["AfterValue"]) == (
        "BackupRetentionPeriod",
        "1",
        "7",
    )
    assert (target["BeforeValueFrom"], target["AfterValueFrom"]) == ("ACTUAL_STATE", "TEMPLATE")

    stack.cloudformation.execute_change_set(StackName=stack.name, ChangeSetName="repair")

    assert stack.status() == "UPDATE_COMPLETE"
    parameters = stack.described()["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in parameters} == PARAMETERS
    client, ids = stack.client, stack.ids
    db = client("rds").describe_db_instances(DBInstanceIdentifier=ids["Database"])["DBInstances"][0]
    group = client("ec2").describe_security_groups(GroupIds=[ids["DBSecurityGroup"]])[
        "SecurityGroups"
    ][0]
    logs = client("logs").describe_log_groups(logGroupNamePrefix=ids["AuditLogs"])["logGroups"][0]
    rotation = client("kms").get_key_rotation_status(KeyId=ids["EncryptionKey"])
    cache = client("elasticache").describe_replication_groups(ReplicationGroupId=ids["Cache"])
    assert db["BackupRetentionPeriod"] == 7
    assert [r for p in group["IpPermissions"] for r in p["IpRanges"]] == []
    assert logs["retentionInDays"] == 365
    assert rotation["KeyRotationEnabled"] is True
    assert cache["ReplicationGroups"][0]["SnapshotRetentionLimit"] == 7
    assert stack.detect()["StackDriftStatus"] == "IN_SYNC"


def test_a_revert_drift_change_set_without_drift_fails_as_on_aws(stack: DriftStack) -> None:
    """GIVEN a stack in sync
    WHEN a REVERT_DRIFT change set is created with the deployed template and parameters
    THEN it FAILED with "didn't contain changes" and cannot be executed"""
    described = stack.revert_drift("nothing-to-do")

    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert "didn't contain changes" in described["StatusReason"]
    assert described["StackDriftStatus"] == "IN_SYNC"
    assert described["Changes"] == []


def test_a_resource_deleted_behind_cloudformation_is_deleted_and_recreated(
    stack: DriftStack,
) -> None:
    """GIVEN the log group deleted outside CloudFormation
    WHEN drift is detected, then a REVERT_DRIFT change set runs
    THEN the log group is DELETED, the change set recreates it, and the stack is IN_SYNC"""
    stack.client("logs").delete_log_group(logGroupName=stack.ids["AuditLogs"])

    assert stack.detect()["DriftedStackResourceCount"] == 1
    assert stack.drifts()["AuditLogs"]["StackResourceDriftStatus"] == "DELETED"
    described = stack.revert_drift("recreate")
    (change,) = [c["ResourceChange"] for c in described["Changes"]]
    assert (change["LogicalResourceId"], change["Replacement"], change["ResourceDriftStatus"]) == (
        "AuditLogs",
        "True",
        "DELETED",
    )
    stack.cloudformation.execute_change_set(StackName=stack.name, ChangeSetName="recreate")

    assert stack.drifts()["AuditLogs"]["StackResourceDriftStatus"] == "IN_SYNC"
    assert stack.detect()["StackDriftStatus"] == "IN_SYNC"


def test_drift_of_a_create_only_property_is_a_replacement_the_local_aws_refuses(
    stack: DriftStack,
) -> None:
    """GIVEN a create-only property drifted (no service call can do that: the backend is
    changed directly)
    WHEN a REVERT_DRIFT change set is created and executed
    THEN it reports the resource as replaced (what the data-loss guard reads), and its
    execution fails the resource and rolls the stack back instead of replacing it"""
    from moto.rds.models import rds_backends

    rds_backends["123456789012"]["us-east-1"].databases[
        stack.ids["Database"]
    ].storage_encrypted = False

    described = stack.revert_drift("replace")
    (change,) = [c["ResourceChange"] for c in described["Changes"]]
    (target,) = [d["Target"] for d in change["Details"]]
    stack.cloudformation.execute_change_set(StackName=stack.name, ChangeSetName="replace")

    assert (change["LogicalResourceId"], change["Replacement"]) == ("Database", "True")
    assert (target["Name"], target["RequiresRecreation"]) == ("StorageEncrypted", "Always")
    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Database", "UPDATE_FAILED")
    assert "StorageEncrypted requires replacing the resource" in reason


def test_drift_calls_work_in_process_too(aws: None) -> None:
    """GIVEN moto in-process (no server) with the extensions installed
    WHEN a log group's retention is cut and drift is detected
    THEN the same answers come back"""
    extensions.install_all()
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    properties = {"LogGroupName": "/drift/in-process", "RetentionInDays": 30}
    body = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": properties}}}
    cloudformation.create_stack(StackName="in-process", TemplateBody=json.dumps(body))
    boto3.client("logs", region_name="us-east-1").put_retention_policy(
        logGroupName="/drift/in-process", retentionInDays=1
    )

    detection = cloudformation.detect_stack_drift(StackName="in-process")
    status = cloudformation.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection["StackDriftDetectionId"]
    )
    drifts = cloudformation.describe_stack_resource_drifts(StackName="in-process")

    assert status["StackDriftStatus"] == "DRIFTED"
    (found,) = drifts["StackResourceDrifts"]
    assert found["PropertyDifferences"] == [_difference("/RetentionInDays", "30", "1")]


def test_unknown_detections_and_modes_are_refused(stack: DriftStack) -> None:
    cloudformation = stack.cloudformation
    with pytest.raises(ClientError, match="ValidationError"):
        cloudformation.describe_stack_drift_detection_status(StackDriftDetectionId="no-such-id")
    with pytest.raises(ClientError, match="ValidationError"):
        cloudformation.detect_stack_drift(StackName="no-such-stack")
    with pytest.raises(ClientError, match="REVERT_DRIFT"):
        cloudformation.create_change_set(
            StackName=f"{stack.name}-new",
            ChangeSetName="new",
            ChangeSetType="CREATE",
            DeploymentMode="REVERT_DRIFT",
            TemplateBody=template(),
        )
