"""templates/pci-database.yml, read as data (cfn-flip turns the short forms into the long
ones): one test per property the PCI stack must have. cfn-lint runs over it in
test_repository_templates.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import pytest
from cfn_flip import load_yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from rotation_lambda.handler import redis_groups
from rotation_lambda.package import CA_IN_ZIP

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "templates" / "pci-database.yml"
REDIS_ALLOWED = re.compile(r"^[A-Za-z0-9!&#$^<>\-]+$")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_yaml(TEMPLATE_PATH.read_text())


@pytest.fixture(scope="module")
def resources_(template) -> dict[str, dict]:
    return template["Resources"]


def of_type(resources_: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in resources_.items() if v["Type"] == kind}


def props(resource: dict) -> dict:
    return resource.get("Properties", {})


def ref(name: str) -> dict:
    return {"Ref": name}


def getatt(name: str, attribute: str) -> dict:
    return {"Fn::GetAtt": [name, attribute]}


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def param_default(template, name: str) -> Any:
    return template["Parameters"][name].get("Default")


# --- Parameters and names ---------------------------------------------------------------


def test_environment_suffix_is_a_constrained_parameter(template):
    spec = template["Parameters"]["EnvironmentSuffix"]
    assert spec["Type"] == "String" and "AllowedPattern" in spec and "Default" not in spec


NAME_PROPERTIES = (
    "Name", "LogGroupName", "DBInstanceIdentifier", "DBSubnetGroupName", "DBParameterGroupName",
    "ReplicationGroupId", "CacheSubnetGroupName", "FunctionName", "GroupName", "AliasName",
)  # fmt: skip


def test_every_resource_name_carries_the_environment_suffix(resources_):
    named = [
        (logical_id, key, value)
        for logical_id, resource in resources_.items()
        for key, value in props(resource).items()
        if key in NAME_PROPERTIES and not {"Ref", "Fn::GetAtt"} & set(value)  # those refer
    ]
    assert len(named) >= 20
    for logical_id, key, value in named:
        assert "${EnvironmentSuffix}" in value["Fn::Sub"], (logical_id, key)


@pytest.mark.parametrize(
    ("parameter", "property_of"),
    [
        ("DBInstanceClass", ("Database", "DBInstanceClass")),
        ("DBEngineVersion", ("Database", "EngineVersion")),
        ("CacheNodeType", ("Redis", "CacheNodeType")),
        ("RedisEngineVersion", ("Redis", "EngineVersion")),
    ],
)
def test_instance_classes_and_engine_versions_are_parameters(resources_, parameter, property_of):
    logical_id, key = property_of
    assert props(resources_[logical_id])[key] == ref(parameter)


def test_default_mysql_is_an_8_4_release_not_deprecated_in_us_east_1(template):
    version = param_default(template, "DBEngineVersion")
    assert re.fullmatch(r"8\.4\.\d+", version)
    data = resources.files("cfnlint.data.schemas.extensions.aws_rds_dbinstance")
    deprecated = json.loads(data.joinpath("engine_version_deprecated.json").read_text())
    mysql = next(
        c["if"]["properties"]["EngineVersion"]["enum"]
        for c in deprecated["allOf"]
        if c["if"]["properties"].get("Engine", {}).get("const") == "mysql"
    )
    assert "8.0.35" in mysql  # the data does know the failed version
    assert version not in mysql


# --- Network ----------------------------------------------------------------------------


def test_subnets_span_two_availability_zones_from_get_azs(resources_):
    subnets = of_type(resources_, "AWS::EC2::Subnet")
    zones = {json.dumps(props(s)["AvailabilityZone"]) for s in subnets.values()}
    assert zones == {
        json.dumps({"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        json.dumps({"Fn::Select": [1, {"Fn::GetAZs": ""}]}),
    }


def test_no_availability_zone_is_hard_coded(template):
    text = json.dumps(template)
    assert not re.search(r"\b[a-z]{2}-[a-z]+-\d[a-f]\b", text)


def test_no_subnet_gives_public_addresses(resources_):
    for subnet in of_type(resources_, "AWS::EC2::Subnet").values():
        assert props(subnet)["MapPublicIpOnLaunch"] is False


def test_private_subnets_have_no_route_out_of_the_vpc(resources_):
    routes = of_type(resources_, "AWS::EC2::Route").values()
    assert all(props(r)["RouteTableId"] != ref("PrivateRouteTable") for r in routes)
    associations = of_type(resources_, "AWS::EC2::SubnetRouteTableAssociation").values()
    private = {
        json.dumps(props(a)["SubnetId"])
        for a in associations
        if props(a)["RouteTableId"] == ref("PrivateRouteTable")
    }
    assert private == {json.dumps(ref("PrivateSubnetA")), json.dumps(ref("PrivateSubnetB"))}


PRIVATE = [ref("PrivateSubnetA"), ref("PrivateSubnetB")]


@pytest.mark.parametrize(
    ("logical_id", "path"),
    [
        ("DBSubnetGroup", ("SubnetIds",)),
        ("RedisSubnetGroup", ("SubnetIds",)),
        ("RotationFunction", ("VpcConfig", "SubnetIds")),
        ("SecretsManagerEndpoint", ("SubnetIds",)),
    ],
)
def test_data_and_rotation_live_in_the_private_subnets(resources_, logical_id, path):
    value = props(resources_[logical_id])
    for key in path:
        value = value[key]
    assert value == PRIVATE


def test_vpc_flow_logs_capture_all_traffic_to_a_log_group(resources_):
    (flow_log,) = of_type(resources_, "AWS::EC2::FlowLog").values()
    p = props(flow_log)
    assert (p["ResourceId"], p["ResourceType"], p["TrafficType"]) == (ref("Vpc"), "VPC", "ALL")
    assert p["LogGroupName"] == ref("FlowLogGroup")


def test_the_default_security_group_is_closed_by_a_custom_resource(resources_):
    restriction = resources_["DefaultSecurityGroupRestriction"]
    assert props(restriction)["DefaultSecurityGroupId"] == getatt("Vpc", "DefaultSecurityGroup")
    code = props(resources_["DefaultSecurityGroupRestrictionFunction"])["Code"]["ZipFile"]
    assert "revoke_security_group_ingress" in code and "revoke_security_group_egress" in code


# --- Security groups --------------------------------------------------------------------


def ingress_rules(resources_, group: str) -> list[dict]:
    inline = props(resources_[group]).get("SecurityGroupIngress", [])
    separate = [
        props(r)
        for r in of_type(resources_, "AWS::EC2::SecurityGroupIngress").values()
        if props(r)["GroupId"] == ref(group)
    ]
    return [*inline, *separate]


@pytest.mark.parametrize(
    ("group", "port"), [("DBSecurityGroup", 3306), ("RedisSecurityGroup", 6379)]
)
def test_data_ports_are_open_only_to_the_app_and_rotation_groups(resources_, group, port):
    rules = ingress_rules(resources_, group)
    assert {(r["FromPort"], r["ToPort"]) for r in rules} == {(port, port)}
    sources = sorted(r["SourceSecurityGroupId"]["Ref"] for r in rules)
    assert sources == ["AppSecurityGroup", "RotationSecurityGroup"]
    assert all("CidrIp" not in r and "CidrIpv6" not in r for r in rules)


def test_no_ingress_from_anywhere(resources_):
    groups = of_type(resources_, "AWS::EC2::SecurityGroup")
    rules = [rule for name in groups for rule in ingress_rules(resources_, name)]
    assert rules
    assert all(r.get("CidrIp") != "0.0.0.0/0" and r.get("CidrIpv6") != "::/0" for r in rules)


def test_data_security_groups_allow_no_egress(resources_):
    for group in ("DBSecurityGroup", "RedisSecurityGroup", "EndpointSecurityGroup"):
        (egress,) = props(resources_[group])["SecurityGroupEgress"]
        assert egress["CidrIp"] == "127.0.0.1/32", group


# --- Encryption -------------------------------------------------------------------------


def test_customer_managed_key_rotates(resources_):
    (key,) = of_type(resources_, "AWS::KMS::Key").values()
    assert props(key)["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain" and key["UpdateReplacePolicy"] == "Retain"


def uses_key(value: Any) -> bool:
    return value in (ref("EncryptionKey"), getatt("EncryptionKey", "Arn"))


@pytest.mark.parametrize(
    "kind",
    [
        "AWS::RDS::DBInstance",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
    ],
)
def test_the_key_encrypts_every_store_of_this_kind(resources_, kind):
    found = of_type(resources_, kind)
    assert found
    for logical_id, resource in found.items():
        assert uses_key(props(resource).get("KmsKeyId")), logical_id


def test_cloudwatch_logs_may_use_the_key_for_this_accounts_log_groups_only(resources_):
    statements = props(resources_["EncryptionKey"])["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s["Principal"].get("Service")]
    assert logs["Principal"]["Service"] == {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]


# --- RDS MySQL --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(resources_) -> dict:
    return props(resources_["Database"])


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("Engine", "mysql"),
        ("MultiAZ", True),
        ("StorageEncrypted", True),
        ("PubliclyAccessible", False),
        ("DeletionProtection", True),
        ("KmsKeyId", {"Ref": "EncryptionKey"}),
        ("DBSubnetGroupName", {"Ref": "DBSubnetGroup"}),
        ("DBParameterGroupName", {"Ref": "DBParameterGroup"}),
        ("VPCSecurityGroups", [{"Ref": "DBSecurityGroup"}]),
    ],
)
def test_database_property(database, key, expected):
    assert database[key] == expected


def test_backups_are_kept_at_least_seven_days(template, database):
    assert database["BackupRetentionPeriod"] == ref("BackupRetentionDays")
    spec = template["Parameters"]["BackupRetentionDays"]
    assert spec["MinValue"] >= 7 and spec["Default"] >= 7


@pytest.mark.parametrize("logical_id", ["Database", "Redis"])
def test_data_stores_are_snapshotted_on_delete_and_on_replacement(resources_, logical_id):
    resource = resources_[logical_id]
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")


def test_parameter_group_requires_tls(resources_):
    parameters = props(resources_["DBParameterGroup"])["Parameters"]
    assert parameters["require_secure_transport"] == "1"
    assert props(resources_["DBParameterGroup"])["Family"] == "mysql8.4"


def test_audit_error_and_slow_query_logs_are_exported(resources_, database):
    assert sorted(database["EnableCloudwatchLogsExports"]) == ["audit", "error", "slowquery"]
    options = props(resources_["DBOptionGroup"])["OptionConfigurations"]
    assert [o["OptionName"] for o in options] == ["MARIADB_AUDIT_PLUGIN"]
    assert database["OptionGroupName"] == ref("DBOptionGroup")


def test_master_credentials_come_from_the_generated_secret(resources_, database):
    generated = props(resources_["DBSecret"])["GenerateSecretString"]
    keys = {generated["GenerateStringKey"], *json.loads(generated["SecretStringTemplate"])}
    for key in ("MasterUsername", "MasterUserPassword"):
        value = database[key]["Fn::Sub"]  # under Fn::Sub, so ${DBSecret} is the Ref
        match = re.fullmatch(
            r"\{\{resolve:secretsmanager:\$\{DBSecret\}:SecretString:(\w+)\}\}", value
        )
        assert match and match.group(1) in keys


def test_no_plaintext_password_anywhere(template):
    for node in walk(template["Resources"]):
        if isinstance(node, dict):
            for key in ("MasterUserPassword", "AuthToken", "Password"):
                if key in node:
                    assert "{{resolve:secretsmanager:" in json.dumps(node[key]), key


def test_secret_is_attached_to_the_database(resources_):
    attachment = props(resources_["DBSecretAttachment"])
    assert attachment == {
        "SecretId": ref("DBSecret"),
        "TargetId": ref("Database"),
        "TargetType": "AWS::RDS::DBInstance",
    }


# --- ElastiCache Redis ------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis(resources_) -> dict:
    return props(resources_["Redis"])


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("Engine", "redis"),
        ("MultiAZEnabled", True),
        ("AutomaticFailoverEnabled", True),
        ("AtRestEncryptionEnabled", True),
        ("TransitEncryptionEnabled", True),
        ("CacheSubnetGroupName", {"Ref": "RedisSubnetGroup"}),
        ("SecurityGroupIds", [{"Ref": "RedisSecurityGroup"}]),
    ],
)
def test_redis_property(redis, key, expected):
    assert redis[key] == expected


def test_redis_runs_two_or_more_nodes(template, redis):
    assert redis["NumCacheClusters"] == ref("RedisNumCacheClusters")
    spec = template["Parameters"]["RedisNumCacheClusters"]
    assert spec["MinValue"] >= 2 and spec["Default"] >= 2


def test_redis_keeps_snapshots(redis):
    assert redis["SnapshotRetentionLimit"] >= 1


def test_auth_token_is_resolved_from_its_secret_by_an_existing_key(resources_, redis):
    value = redis["AuthToken"]["Fn::Sub"]
    match = re.fullmatch(
        r"\{\{resolve:secretsmanager:\$\{RedisAuthSecret\}:SecretString:(\w+)\}\}", value
    )
    generated = props(resources_["RedisAuthSecret"])["GenerateSecretString"]
    assert match and match.group(1) == generated["GenerateStringKey"]


def test_auth_token_is_generated_from_characters_redis_accepts(resources_):
    generated = props(resources_["RedisAuthSecret"])["GenerateSecretString"]
    assert generated["ExcludePunctuation"] is True  # letters and digits only
    assert 16 <= generated["PasswordLength"] <= 128
    assert not generated.get("IncludeSpace", False)
    assert REDIS_ALLOWED.match("".join(sorted(set("abcXYZ019"))))


# --- Rotation ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["DBSecret", "RedisAuthSecret"])
def test_each_secret_has_a_rotation_schedule_on_the_rotation_function(resources_, secret):
    schedules = [
        props(r)
        for r in of_type(resources_, "AWS::SecretsManager::RotationSchedule").values()
        if props(r)["SecretId"] == ref(secret)
    ]
    (schedule,) = schedules
    assert schedule["RotationLambdaARN"] == getatt("RotationFunction", "Arn")
    assert schedule["RotationRules"]["AutomaticallyAfterDays"] == ref("SecretRotationDays")


def test_rotation_function_code_location_is_a_parameter(resources_):
    code = props(resources_["RotationFunction"])["Code"]
    assert code == {"S3Bucket": ref("RotationLambdaS3Bucket"), "S3Key": ref("RotationLambdaS3Key")}


def test_rotation_function_reads_the_rds_ca_bundle_where_the_package_puts_it(resources_):
    """GIVEN the rotation function WHEN its environment is read THEN DB_TLS_CA_FILE names the
    CA bundle's path in the zip `make package` builds, under Lambda's /var/task."""
    env = props(resources_["RotationFunction"])["Environment"]["Variables"]
    assert env["DB_TLS_CA_FILE"] == f"/var/task/{CA_IN_ZIP}"


def test_rotation_function_maps_the_redis_auth_secret_to_its_replication_group(resources_):
    """GIVEN the rotation function WHEN REDIS_AUTH_SECRETS is resolved as CloudFormation
    would (the secret's Ref is its ARN, the group's Ref its id) THEN the handler reads it
    as the Redis AUTH secret of that replication group."""
    env = props(resources_["RotationFunction"])["Environment"]["Variables"]
    assert env["REDIS_AUTH_SECRETS"] == {"Fn::Sub": "${RedisAuthSecret}=${Redis}"}
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pci-database-dev/redis-auth-AbCdEf"
    resolved = Template(env["REDIS_AUTH_SECRETS"]["Fn::Sub"]).substitute(
        RedisAuthSecret=arn, Redis="pci-redis-dev"
    )
    assert redis_groups(resolved) == {arn: "pci-redis-dev"}


def test_rotation_reaches_secrets_manager_through_an_interface_endpoint(resources_):
    endpoint = props(resources_["SecretsManagerEndpoint"])
    assert endpoint["VpcEndpointType"] == "Interface" and endpoint["PrivateDnsEnabled"] is True
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"}
    assert not of_type(resources_, "AWS::EC2::NatGateway")


def test_secrets_manager_may_invoke_the_rotation_function(resources_):
    permission = props(resources_["RotationInvokePermission"])
    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["SourceAccount"] == ref("AWS::AccountId")


# --- Logs -------------------------------------------------------------------------------


def test_log_groups_are_kept_at_least_a_year(template, resources_):
    spec = template["Parameters"]["LogRetentionDays"]
    assert spec["Default"] >= 365 and min(spec["AllowedValues"]) >= 365
    for logical_id, group in of_type(resources_, "AWS::Logs::LogGroup").items():
        assert props(group)["RetentionInDays"] == ref("LogRetentionDays"), logical_id
        assert group["DeletionPolicy"] == "Retain", logical_id


def test_rds_log_exports_land_in_groups_the_template_owns(resources_):
    names = {
        props(g)["LogGroupName"]["Fn::Sub"]
        for g in of_type(resources_, "AWS::Logs::LogGroup").values()
    }
    for log in ("audit", "error", "slowquery"):
        assert f"/aws/rds/instance/pci-mysql-${{EnvironmentSuffix}}/{log}" in names


# --- Tags -------------------------------------------------------------------------------


def taggable(kind: str) -> bool:
    if kind.startswith("Custom::"):
        return False
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", kind).schema
    return "Tags" in schema.get("properties", {})


def test_every_taggable_resource_carries_the_compliance_tags(resources_):
    tagged = 0
    for logical_id, resource in resources_.items():
        if not taggable(resource["Type"]):
            continue
        tags = {t["Key"]: t["Value"] for t in props(resource).get("Tags", [])}
        assert tags.get("compliance") == "pci-dss", logical_id
        assert tags.get("environment") == ref("EnvironmentSuffix"), logical_id
        assert tags.get("data-classification") == ref("DataClassification"), logical_id
        tagged += 1
    assert tagged >= 25


# --- Outputs ----------------------------------------------------------------------------


def test_outputs_are_exactly_the_documented_ones(template):
    assert sorted(template["Outputs"]) == sorted(
        [
            "RDSEndpoint", "RDSPort", "RedisEndpoint", "RedisPort", "DBSecretArn",
            "RedisAuthSecretArn", "VpcId", "PrivateSubnetIds", "AppSecurityGroupId", "KmsKeyArn",
        ]
    )  # fmt: skip


def test_no_output_carries_a_secret_value(template):
    text = json.dumps(template["Outputs"])
    assert "{{resolve:" not in text
    assert "SecretString" not in text
