"""The PCI database stack deployed whole on the local AWS by the reconciler's CLI, then
checked resource by resource through the services' own APIs, with the deployment's
outputs read from the flat file `reconciler outputs --flat` writes
(cfn-outputs/flat-outputs.json), as integration tests against AWS would."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws.server import LocalAws
from reconciler.aws import session
from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.iam_policy import chunks, execution_policy

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]
OUTPUT_KEYS = {
    "RDSEndpoint", "RDSPort", "RedisEndpoint", "RedisPort", "DBSecretArn",
    "RedisAuthSecretArn", "VpcId", "PrivateSubnetIds", "AppSecurityGroupId", "KmsKeyArn",
}  # fmt: skip


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    saved = dict(os.environ)
    with LocalAws() as local:
        for name in [
            n
            for n in os.environ
            if n.startswith(("AWS_", "RECONCILER_")) and n != "RECONCILER_CACHE_DIR"
        ]:
            del os.environ[name]
        os.environ.update(local.env())
        session.reset_clients()
        yield local
    os.environ.clear()
    os.environ.update(saved)
    session.reset_clients()


@pytest.fixture(scope="module")
def client(aws):
    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=aws.endpoint_url, region_name="us-east-1")

    return make


@pytest.fixture(scope="module")
def outputs(aws, client, tmp_path_factory) -> dict[str, str]:
    """Deploy pci-db-dev with `reconciler apply --wait`, then read its outputs back."""
    repo = tmp_path_factory.mktemp("repo")
    for folder in ("desired-state", "templates"):
        shutil.copytree(PROJECT / folder, repo / folder)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("rotation_lambda/__init__.py", "")
    client("s3").create_bucket(Bucket="pci-platform-artifacts-us-east-1")
    client("s3").put_object(
        Bucket="pci-platform-artifacts-us-east-1",
        Key="rotation_lambda.zip",
        Body=archive.getvalue(),
    )
    os.environ["CLOUDFORMATION_ROLE_ARN"] = narrowed_role(client, repo)
    try:
        assert main(["apply", "--stack", "pci-db-dev", "--wait", str(repo)]) == 0
    finally:
        del os.environ["CLOUDFORMATION_ROLE_ARN"]
    flat = repo / "cfn-outputs" / "flat-outputs.json"
    assert main(["outputs", "pci-db-dev", str(repo), "--flat", str(flat)]) == 0
    return json.loads(flat.read_text())


def narrowed_role(client, repo: Path) -> str:
    """The execution role as bootstrap makes it: the policy `reconciler iam-policy`
    computes for these templates, in managed policies of IAM's size (moto enforces no IAM,
    so this proves the wiring and the policy's shape, not each call's permission)."""
    iam = client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudformation.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="pci-execution", AssumeRolePolicyDocument=json.dumps(trust))
    policy = execution_policy(load_desired_state(repo), stack_prefix="pci-db-")
    for number, statements in enumerate(chunks(policy), 1):
        document = {"Version": "2012-10-17", "Statement": [s.document() for s in statements]}
        arn = iam.create_policy(
            PolicyName=f"pci-execution-{number}", PolicyDocument=json.dumps(document)
        )["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="pci-execution", PolicyArn=arn)
    return role["Role"]["Arn"]


def test_the_stack_was_deployed_with_the_narrowed_execution_role(client, outputs):
    """GIVEN the execution role holding only the computed policy WHEN pci-db-dev is pushed
    THEN CloudFormation was handed that role (RoleARN), whose policies hold no wildcard
    action."""
    (stack,) = client("cloudformation").describe_stacks(StackName="pci-db-dev")["Stacks"]
    assert stack["RoleARN"].endswith(":role/pci-execution")
    iam = client("iam")
    attached = iam.list_attached_role_policies(RoleName="pci-execution")["AttachedPolicies"]
    assert attached
    for item in attached:
        version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)
        for statement in document["PolicyVersion"]["Document"]["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert all("*" not in a for a in actions), statement["Sid"]


@pytest.fixture(scope="module")
def db(client, outputs) -> dict:
    return client("rds").describe_db_instances(DBInstanceIdentifier="pci-mysql-dev")["DBInstances"][
        0
    ]


@pytest.fixture(scope="module")
def redis(client, outputs) -> dict:
    groups = client("elasticache").describe_replication_groups(ReplicationGroupId="pci-redis-dev")
    return groups["ReplicationGroups"][0]


def private_subnets(outputs) -> list[str]:
    return outputs["PrivateSubnetIds"].split(",")


def group_rules(client, group_id: str) -> dict:
    return client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def group_id_by_name(client, name: str) -> str:
    found = client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}]
    )
    return found["SecurityGroups"][0]["GroupId"]


# --- Outputs ----------------------------------------------------------------------------


def test_every_output_is_resolved_and_published(outputs):
    assert set(outputs) == OUTPUT_KEYS
    assert all(outputs.values())


def test_outputs_match_the_live_endpoints(outputs, db, redis):
    assert outputs["RDSEndpoint"] == db["Endpoint"]["Address"]
    assert outputs["RDSPort"] == str(db["Endpoint"]["Port"]) == "3306"
    primary = redis["NodeGroups"][0]["PrimaryEndpoint"]
    assert (outputs["RedisEndpoint"], outputs["RedisPort"]) == (primary["Address"], "6379")


# --- Network ----------------------------------------------------------------------------


def test_vpc_resolves_dns(client, outputs):
    ec2 = client("ec2")
    for attribute, key in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        answer = ec2.describe_vpc_attribute(VpcId=outputs["VpcId"], Attribute=attribute)
        assert answer[key]["Value"] is True


def test_private_subnets_span_two_zones_and_give_no_public_addresses(client, outputs):
    subnets = client("ec2").describe_subnets(SubnetIds=private_subnets(outputs))["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert all(s["VpcId"] == outputs["VpcId"] and not s["MapPublicIpOnLaunch"] for s in subnets)


def test_private_route_table_has_no_route_out(client, outputs):
    tables = client("ec2").describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": private_subnets(outputs)}]
    )["RouteTables"]
    assert tables
    for table in tables:
        assert [r.get("GatewayId") for r in table["Routes"]] == ["local"]


def test_default_security_group_has_no_rules(client, outputs):
    (default,) = client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [outputs["VpcId"]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    assert (default["IpPermissions"], default["IpPermissionsEgress"]) == ([], [])


@pytest.mark.parametrize(("group", "port"), [("pci-mysql-dev", 3306), ("pci-redis-dev", 6379)])
def test_data_ports_are_open_to_the_app_and_rotation_groups_only(client, outputs, group, port):
    rules = group_rules(client, group_id_by_name(client, group))["IpPermissions"]
    assert {(r["FromPort"], r["ToPort"]) for r in rules} == {(port, port)}
    sources = {pair["GroupId"] for r in rules for pair in r["UserIdGroupPairs"]}
    assert sources == {
        outputs["AppSecurityGroupId"],
        group_id_by_name(client, "pci-secret-rotation-dev"),
    }
    assert all(not r["IpRanges"] for r in rules)


def test_no_security_group_in_the_vpc_admits_the_internet(client, outputs):
    groups = client("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}]
    )["SecurityGroups"]
    assert len(groups) >= 5
    for group in groups:
        ranges = [r["CidrIp"] for rule in group["IpPermissions"] for r in rule["IpRanges"]]
        assert "0.0.0.0/0" not in ranges, group["GroupName"]


def test_flow_logs_capture_the_vpc(client, outputs):
    logs = client("ec2").describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [outputs["VpcId"]]}]
    )["FlowLogs"]
    assert [(f["TrafficType"], f["LogGroupName"]) for f in logs] == [
        ("ALL", "/pci/dev/vpc-flow-logs")
    ]


def test_interface_endpoints_serve_the_private_subnets(client, outputs):
    endpoints = client("ec2").describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}]
    )["VpcEndpoints"]
    services = {e["ServiceName"].rsplit(".", 1)[1]: e for e in endpoints}
    assert set(services) == {"secretsmanager", "elasticache"}
    for endpoint in services.values():
        assert sorted(endpoint["SubnetIds"]) == sorted(private_subnets(outputs))
        assert endpoint["PrivateDnsEnabled"] is True


# --- Encryption -------------------------------------------------------------------------


def test_kms_key_rotates(client, outputs):
    assert client("kms").get_key_rotation_status(KeyId=outputs["KmsKeyArn"])["KeyRotationEnabled"]


# --- RDS --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("MultiAZ", True),
        ("StorageEncrypted", True),
        ("PubliclyAccessible", False),
        ("DeletionProtection", True),
        ("Engine", "mysql"),
    ],
)
def test_database_setting(db, key, expected):
    assert db[key] == expected


def test_database_is_encrypted_with_the_stack_key(db, outputs):
    assert db["KmsKeyId"] == outputs["KmsKeyArn"]


def test_database_keeps_backups_a_week(db):
    assert db["BackupRetentionPeriod"] >= 7


def test_database_exports_its_logs(db):
    assert sorted(db["EnabledCloudwatchLogsExports"]) == ["audit", "error", "slowquery"]


def test_database_requires_tls(client, db):
    (group,) = db["DBParameterGroups"]
    parameters = client("rds").describe_db_parameters(
        DBParameterGroupName=group["DBParameterGroupName"]
    )
    values = {p["ParameterName"]: p.get("ParameterValue") for p in parameters["Parameters"]}
    assert values["require_secure_transport"] == "1"


def test_database_lives_in_the_private_subnets(db, outputs):
    subnets = {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]}
    assert subnets == set(private_subnets(outputs))


def test_database_carries_the_compliance_tags(db):
    tags = {t["Key"]: t["Value"] for t in db["TagList"]}
    assert (tags["compliance"], tags["environment"], tags["data-classification"]) == (
        "pci-dss",
        "dev",
        "cardholder-data",
    )


def test_database_secret_holds_the_connection_the_attachment_wrote(client, outputs):
    value = client("secretsmanager").get_secret_value(
        SecretId=outputs["DBSecretArn"], VersionStage="AWSCURRENT"
    )
    secret = json.loads(value["SecretString"])
    assert secret["username"] == "dbadmin" and len(secret["password"]) == 32
    assert (secret["host"], str(secret["port"]), secret["engine"]) == (
        outputs["RDSEndpoint"],
        "3306",
        "mysql",
    )


# --- ElastiCache ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("MultiAZ", "enabled"),
        ("AutomaticFailover", "enabled"),
        ("AtRestEncryptionEnabled", True),
        ("TransitEncryptionEnabled", True),
        ("AuthTokenEnabled", True),
    ],
)
def test_redis_setting(redis, key, expected):
    assert redis[key] == expected


def test_redis_runs_two_nodes_encrypted_with_the_stack_key(redis, outputs):
    assert len(redis["MemberClusters"]) >= 2
    assert redis["KmsKeyId"] == outputs["KmsKeyArn"]


def test_redis_keeps_snapshots(redis):
    assert redis["SnapshotRetentionLimit"] >= 1


def test_redis_auth_token_is_made_of_characters_redis_accepts(client, outputs):
    value = client("secretsmanager").get_secret_value(
        SecretId=outputs["RedisAuthSecretArn"], VersionStage="AWSCURRENT"
    )
    token = json.loads(value["SecretString"])["token"]
    assert len(token) == 64 and re.fullmatch(r"[A-Za-z0-9]+", token)


# --- Secrets and rotation ---------------------------------------------------------------


@pytest.mark.parametrize("output", ["DBSecretArn", "RedisAuthSecretArn"])
def test_secret_is_encrypted_with_the_stack_key_and_rotated(client, outputs, output):
    secret = client("secretsmanager").describe_secret(SecretId=outputs[output])
    assert secret["KmsKeyId"] in (outputs["KmsKeyArn"], outputs["KmsKeyArn"].rsplit("/", 1)[1])
    assert secret["RotationEnabled"] is True
    assert secret["RotationLambdaARN"].endswith(":function:pci-secret-rotation-dev")
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == 30


def test_rotation_lambda_runs_in_the_private_subnets(client, outputs):
    config = client("lambda").get_function_configuration(FunctionName="pci-secret-rotation-dev")
    assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(private_subnets(outputs))
    assert config["VpcConfig"]["SecurityGroupIds"] == [
        group_id_by_name(client, "pci-secret-rotation-dev")
    ]


# --- Logs -------------------------------------------------------------------------------


def test_every_log_group_is_kept_a_year_and_encrypted(client, outputs):
    groups = [
        g
        for prefix in ("/pci/dev/", "/aws/rds/instance/pci-mysql-dev/", "/aws/lambda/pci-")
        for g in client("logs").describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
    ]
    assert len(groups) >= 7
    for group in groups:
        assert group["retentionInDays"] >= 365, group["logGroupName"]
        assert group.get("kmsKeyId") == outputs["KmsKeyArn"], group["logGroupName"]
