"""Resources created through CloudFormation with the properties the template gives
(`localaws.cfn_create_fixes`), read back through the services' own APIs on a real local
AWS server."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from localaws import cfn_create_fixes
from tests.functional.localaws_helpers import (
    DB_SECURITY_GROUP,
    LAMBDA_ROLE,
    StackUnderTest,
    lambda_function,
    network,
)

KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
NETWORK = {**network("ab"), "DbSecurityGroup": DB_SECURITY_GROUP}
DB = {
    "Engine": "mysql",
    "EngineVersion": "8.4.8",
    "DBInstanceClass": "db.t3.micro",
    "AllocatedStorage": "20",
    "MasterUsername": "dbadmin",
    "MasterUserPassword": "not-a-secret-1",
}


class Stack(StackUnderTest):
    """One test's stack of `resources`; `client` gives the clients that look behind it."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "fix")
        self.client = client

    def create(  # type: ignore[override]
        self, resources: dict[str, Any], parameters: dict[str, str] | None = None
    ) -> dict[str, str | None]:
        """Create the stack; the physical ids of its resources by logical id."""
        template: dict[str, Any] = {"Resources": resources}
        if parameters:
            template["Parameters"] = {name: {"Type": "String"} for name in parameters}
        super().create(json.dumps(template), parameters)
        return self.physical_ids()

    def update(self, resources: dict[str, Any]) -> None:  # type: ignore[override]
        super().update(json.dumps({"Resources": resources}))

    def db(self, instance_id: str | None) -> dict[str, Any]:
        described = self.client("rds").describe_db_instances(DBInstanceIdentifier=instance_id)
        return described["DBInstances"][0]


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- AWS::KMS::Key ------------------------------------------------------------------------------


def _key(**properties: Any) -> dict[str, Any]:
    return {"Key": {"Type": "AWS::KMS::Key", "Properties": properties}}


def test_key_policy_given_as_an_object_is_stored_as_a_document(stack: Stack) -> None:
    """GIVEN a KMS key whose KeyPolicy is a JSON object, as templates usually write it
    WHEN the stack is created
    THEN DescribeKey works and GetKeyPolicy returns that policy"""
    key_id = stack.create(_key(KeyPolicy=KEY_POLICY))["Key"]

    kms = stack.client("kms")
    stored = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert json.loads(stored) == KEY_POLICY


def test_key_without_policy_gets_the_default_key_policy(stack: Stack) -> None:
    """GIVEN a KMS key with no KeyPolicy (optional on AWS)
    WHEN the stack is created
    THEN the key exists with KMS's default policy"""
    key_id = stack.create(_key(Description="no policy"))["Key"]

    stored = stack.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert json.loads(stored)["Statement"]


def test_key_tags_are_set_at_create(stack: Stack) -> None:
    """GIVEN a KMS key with Tags in CloudFormation's Key/Value form
    WHEN the stack is created
    THEN the key carries those tags"""
    tags = [{"Key": "compliance", "Value": "pci-dss"}, {"Key": "env", "Value": "dev"}]

    key_id = stack.create(_key(KeyPolicy=KEY_POLICY, Tags=tags))["Key"]

    listed = stack.client("kms").list_resource_tags(KeyId=key_id)["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in listed} == {"compliance": "pci-dss", "env": "dev"}


def test_key_tag_removed_by_a_later_update_is_removed(stack: Stack) -> None:
    """GIVEN a KMS key created with two tags
    WHEN an update keeps only one
    THEN the other is removed (the update knows what the create set)"""
    tags = [{"Key": "compliance", "Value": "pci-dss"}, {"Key": "env", "Value": "dev"}]
    key_id = stack.create(_key(KeyPolicy=KEY_POLICY, Tags=tags))["Key"]

    stack.update(_key(KeyPolicy=KEY_POLICY, Tags=tags[:1]))

    listed = stack.client("kms").list_resource_tags(KeyId=key_id)["Tags"]
    assert [t["TagKey"] for t in listed] == ["compliance"]


def test_key_rotation_from_a_string_parameter_is_enabled(stack: Stack) -> None:
    """GIVEN a KMS key whose EnableKeyRotation is a parameter passed as "true"
    WHEN the stack is created
    THEN GetKeyRotationStatus reports the boolean True"""
    resources = _key(KeyPolicy=KEY_POLICY, EnableKeyRotation={"Ref": "Rotate"})

    key_id = stack.create(resources, parameters={"Rotate": "true"})["Key"]

    status = stack.client("kms").get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True


def test_key_created_disabled_is_disabled(stack: Stack) -> None:
    """GIVEN a KMS key with Enabled: "false" (a parameter's string)
    WHEN the stack is created
    THEN DescribeKey reports it disabled"""
    resources = _key(KeyPolicy=KEY_POLICY, Enabled={"Ref": "On"})

    key_id = stack.create(resources, parameters={"On": "false"})["Key"]

    metadata = stack.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["Enabled"], metadata["KeyState"]) == (False, "Disabled")


# --- AWS::RDS::DBInstance -----------------------------------------------------------------------


def _db(**changes: Any) -> dict[str, Any]:
    return {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {**DB, **changes}}}


DB_CREATE_PROPERTIES = [
    # (template properties, DescribeDBInstances field, expected)
    ({"DeletionProtection": True}, "DeletionProtection", True),
    ({"DeletionProtection": "true"}, "DeletionProtection", True),
    (
        {"EnableCloudwatchLogsExports": ["audit", "error", "slowquery"]},
        "EnabledCloudwatchLogsExports",
        ["audit", "error", "slowquery"],
    ),
    ({"MaxAllocatedStorage": 200}, "MaxAllocatedStorage", 200),
    ({"StorageType": "gp3", "StorageThroughput": 500}, "StorageThroughput", 500),
    ({"EnableIAMDatabaseAuthentication": True}, "IAMDatabaseAuthenticationEnabled", True),
    (
        {"CACertificateIdentifier": "rds-ca-rsa2048-g1"},
        "CACertificateIdentifier",
        "rds-ca-rsa2048-g1",
    ),
]


@pytest.mark.parametrize(
    ("properties", "field", "expected"),
    DB_CREATE_PROPERTIES,
    ids=[",".join(f"{k}={v!r}" for k, v in row[0].items()) for row in DB_CREATE_PROPERTIES],
)
def test_db_instance_property_is_applied_at_create(
    stack: Stack, properties: dict[str, Any], field: str, expected: Any
) -> None:
    """GIVEN an RDS instance with a property moto's create ignores
    WHEN the stack is created
    THEN DescribeDBInstances shows the property's value"""
    ids = stack.create(_db(**properties))

    assert stack.db(ids["Db"])[field] == expected


def test_db_instance_is_in_the_security_groups_of_vpc_security_groups(stack: Stack) -> None:
    """GIVEN an RDS instance whose VPCSecurityGroups is the stack's own group
    WHEN the stack is created
    THEN the instance is in exactly that group, not the default VPC's default group"""
    resources = {**NETWORK, **_db(VPCSecurityGroups=[{"Ref": "DbSecurityGroup"}])}

    ids = stack.create(resources)

    groups = [g["VpcSecurityGroupId"] for g in stack.db(ids["Db"])["VpcSecurityGroups"]]
    assert groups == [ids["DbSecurityGroup"]]


def test_db_instance_kms_key_id_is_reported_as_the_key_arn(stack: Stack) -> None:
    """GIVEN an encrypted RDS instance whose KmsKeyId is !Ref of a key (its id)
    WHEN the stack is created
    THEN DescribeDBInstances reports the key's ARN, as RDS does"""
    resources = {
        **_key(KeyPolicy=KEY_POLICY),
        **_db(StorageEncrypted=True, KmsKeyId={"Ref": "Key"}),
    }

    ids = stack.create(resources)

    arn = stack.client("kms").describe_key(KeyId=ids["Key"])["KeyMetadata"]["Arn"]
    instance = stack.db(ids["Db"])
    assert (instance["StorageEncrypted"], instance["KmsKeyId"]) == (True, arn)


def test_db_instance_managed_master_password_gets_a_secret(stack: Stack) -> None:
    """GIVEN an RDS instance with ManageMasterUserPassword and no password
    WHEN the stack is created
    THEN the instance reports the Secrets Manager secret RDS made for it"""
    properties = {k: v for k, v in DB.items() if k != "MasterUserPassword"}

    ids = stack.create(
        {
            "Db": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {**properties, "ManageMasterUserPassword": True},
            }
        }
    )

    secret_arn = stack.db(ids["Db"])["MasterUserSecret"]["SecretArn"]
    assert stack.client("secretsmanager").describe_secret(SecretId=secret_arn)["ARN"] == secret_arn


def test_postgres_instance_without_port_listens_on_5432(stack: Stack) -> None:
    """GIVEN a PostgreSQL RDS instance with no Port
    WHEN the stack is created
    THEN its endpoint port is PostgreSQL's 5432 (moto's create said 3306 for every engine)"""
    ids = stack.create(_db(Engine="postgres", EngineVersion="16.4"))

    assert stack.db(ids["Db"])["Endpoint"]["Port"] == 5432


# --- AWS::RDS::DBParameterGroup and AWS::RDS::DBSubnetGroup -------------------------------------

PARAMETER_GROUP = {
    "Type": "AWS::RDS::DBParameterGroup",
    "Properties": {
        "Description": "TLS required",
        "Family": "mysql8.4",
        "Parameters": {"require_secure_transport": "1"},
    },
}
SUBNET_GROUP = {
    "Type": "AWS::RDS::DBSubnetGroup",
    "Properties": {
        "DBSubnetGroupDescription": "private",
        "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
    },
}


def test_instance_uses_a_parameter_group_from_the_same_template(stack: Stack) -> None:
    """GIVEN a parameter group and an instance whose DBParameterGroupName is !Ref of it
    WHEN the stack is created
    THEN the instance uses the group, whose parameters require TLS"""
    resources = {"Params": PARAMETER_GROUP, **_db(DBParameterGroupName={"Ref": "Params"})}

    ids = stack.create(resources)

    rds = stack.client("rds")
    names = [g["DBParameterGroupName"] for g in stack.db(ids["Db"])["DBParameterGroups"]]
    parameters = rds.describe_db_parameters(DBParameterGroupName=ids["Params"])["Parameters"]
    assert names == [ids["Params"]]
    assert {"ParameterName": "require_secure_transport", "ParameterValue": "1"} in [
        {k: p[k] for k in ("ParameterName", "ParameterValue")} for p in parameters
    ]


def test_parameter_group_custom_name_is_its_name_and_physical_id(stack: Stack) -> None:
    """GIVEN a parameter group with DBParameterGroupName set
    WHEN the stack is created
    THEN the group has that name, and the stack lists it as the physical id"""
    name = f"{stack.name}-mysql84"
    group = {
        **PARAMETER_GROUP,
        "Properties": {**PARAMETER_GROUP["Properties"], "DBParameterGroupName": name},
    }

    ids = stack.create({"Params": group})

    described = stack.client("rds").describe_db_parameter_groups(DBParameterGroupName=name)
    assert ids["Params"] == name
    assert described["DBParameterGroups"][0]["DBParameterGroupFamily"] == "mysql8.4"


def test_subnet_group_physical_id_is_its_name_and_the_instance_uses_it(stack: Stack) -> None:
    """GIVEN a subnet group and an instance whose DBSubnetGroupName is !Ref of it
    WHEN the stack is created
    THEN the stack lists the group's name as its physical id and the instance is in it"""
    resources = {**NETWORK, "Subnets": SUBNET_GROUP, **_db(DBSubnetGroupName={"Ref": "Subnets"})}

    ids = stack.create(resources)

    assert ids["Subnets"]
    assert stack.db(ids["Db"])["DBSubnetGroup"]["DBSubnetGroupName"] == ids["Subnets"]


# --- AWS::Logs::LogGroup ------------------------------------------------------------------------


def test_log_group_is_created_encrypted_with_its_kms_key(stack: Stack) -> None:
    """GIVEN a log group whose KmsKeyId is a key's ARN
    WHEN the stack is created
    THEN DescribeLogGroups reports that key"""
    logs_group = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": f"/{stack.name}/audit",
            "RetentionInDays": 365,
            "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
        },
    }

    ids = stack.create({**_key(KeyPolicy=KEY_POLICY), "Logs": logs_group})

    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=f"/{stack.name}/")
    arn = stack.client("kms").describe_key(KeyId=ids["Key"])["KeyMetadata"]["Arn"]
    assert groups["logGroups"][0]["kmsKeyId"] == arn


# --- AWS::Lambda::Function ----------------------------------------------------------------------


def _function(bucket: str, key: str, **extra: Any) -> dict[str, Any]:
    return lambda_function(code={"S3Bucket": bucket, "S3Key": key}, **extra)


@pytest.fixture
def code_bucket(stack: Stack) -> str:
    """A bucket holding a function zip under `function.zip`."""
    bucket = stack.name
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", "def handler(event, context):\n    return None\n")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="function.zip", Body=archive.getvalue())
    return bucket


def test_function_in_a_vpc_reports_the_vpc_of_its_subnets(stack: Stack, code_bucket: str) -> None:
    """GIVEN a Lambda function from S3 code with VpcConfig over the stack's subnets
    WHEN the stack is created
    THEN GetFunction shows those subnets and group, and the VPC they belong to"""
    vpc_config = {
        "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
        "SecurityGroupIds": [{"Ref": "DbSecurityGroup"}],
    }
    resources = {
        **NETWORK,
        "Role": LAMBDA_ROLE,
        "Fn": _function(code_bucket, "function.zip", VpcConfig=vpc_config),
    }

    ids = stack.create(resources)

    config = stack.client("lambda").get_function(FunctionName=ids["Fn"])["Configuration"]
    assert config["VpcConfig"] == {
        "SubnetIds": [ids["SubnetA"], ids["SubnetB"]],
        "SecurityGroupIds": [ids["DbSecurityGroup"]],
        "VpcId": ids["Vpc"],
    }
    assert config["CodeSize"] > 0


def test_function_kms_key_and_tags_are_applied(stack: Stack, code_bucket: str) -> None:
    """GIVEN a Lambda function with KmsKeyArn and Tags
    WHEN the stack is created
    THEN GetFunction reports the key and ListTags the tags"""
    extra = {
        "KmsKeyArn": {"Fn::GetAtt": ["Key", "Arn"]},
        "Tags": [{"Key": "compliance", "Value": "pci-dss"}],
    }
    resources = {
        **_key(KeyPolicy=KEY_POLICY),
        "Role": LAMBDA_ROLE,
        "Fn": _function(code_bucket, "function.zip", **extra),
    }

    ids = stack.create(resources)

    awslambda = stack.client("lambda")
    config = awslambda.get_function(FunctionName=ids["Fn"])["Configuration"]
    key_arn = stack.client("kms").describe_key(KeyId=ids["Key"])["KeyMetadata"]["Arn"]
    assert config["KMSKeyArn"] == key_arn
    assert awslambda.list_tags(Resource=config["FunctionArn"])["Tags"]["compliance"] == "pci-dss"


def test_function_whose_code_object_is_missing_fails_and_rolls_back(
    stack: Stack, code_bucket: str
) -> None:
    """GIVEN a Lambda function whose S3Key does not exist in the bucket
    WHEN the stack is created
    THEN the function fails with S3's NoSuchKey and the stack ends ROLLBACK_COMPLETE"""
    stack.create({"Role": LAMBDA_ROLE, "Fn": _function(code_bucket, "missing.zip")})

    events = stack.cloudformation.describe_stack_events(StackName=stack.name)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert failed["LogicalResourceId"] == "Fn"
    assert "NoSuchKey" in failed["ResourceStatusReason"]


# --- install() ----------------------------------------------------------------------------------


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN the replaced creates are the same functions and a tagged key still creates"""
    from moto.awslambda.models import LambdaFunction
    from moto.kms.models import Key
    from moto.logs.models import LogGroup
    from moto.rds.models import DBInstance

    models = [Key, DBInstance, LogGroup, LambdaFunction]
    before = [m.create_from_cloudformation_json for m in models]

    cfn_create_fixes.install()

    ids = stack.create(_key(KeyPolicy=KEY_POLICY, Tags=[{"Key": "a", "Value": "b"}]))
    assert [m.create_from_cloudformation_json for m in models] == before
    assert stack.client("kms").list_resource_tags(KeyId=ids["Key"])["Tags"]
