"""ElastiCache subnet groups and replication groups deploy, update and delete through
CloudFormation on the local AWS (`localaws.cfn_elasticache`), backed by moto's elasticache
backend, through a real local AWS server. What ElastiCache refuses fails the resource and
rolls the stack back, as on AWS (`localaws.rollback`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from localaws import cfn_elasticache
from tests.functional.localaws_helpers import (
    REMOVE,
    StackUnderTest,
    handler_refusal,
    merged,
    network,
)

VALID_TOKEN = "Valid-Token-0123456789!&#$^<>"
ELASTICACHE_REFUSAL = handler_refusal("ElastiCache")

NETWORK = {
    **network("ab"),
    "CacheSubnets": {
        "Type": "AWS::ElastiCache::SubnetGroup",
        "Properties": {
            "Description": "pci cache subnets",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
        },
    },
}
BASE_CACHE = {
    "ReplicationGroupDescription": "pci session cache",
    "Engine": "redis",
    "EngineVersion": "7.1",
    "CacheNodeType": "cache.t4g.small",
    "NumCacheClusters": 2,
    "AutomaticFailoverEnabled": True,
    "MultiAZEnabled": True,
    "AtRestEncryptionEnabled": True,
    "TransitEncryptionEnabled": True,
    "AuthToken": {"Ref": "CacheToken"},
    "CacheSubnetGroupName": {"Ref": "CacheSubnets"},
    "SnapshotRetentionLimit": 7,
}
OUTPUTS = {
    "CacheId": {"Value": {"Ref": "Cache"}},
    "SubnetGroupName": {"Value": {"Ref": "CacheSubnets"}},
    "PrimaryAddress": {"Value": {"Fn::GetAtt": ["Cache", "PrimaryEndPoint.Address"]}},
    "PrimaryPort": {"Value": {"Fn::GetAtt": ["Cache", "PrimaryEndPoint.Port"]}},
    "ReaderAddress": {"Value": {"Fn::GetAtt": ["Cache", "ReaderEndPoint.Address"]}},
    "ReaderPort": {"Value": {"Fn::GetAtt": ["Cache", "ReaderEndPoint.Port"]}},
}


def template(cache: dict[str, Any] | None = None, secret: bool = False) -> str:
    """A cache stack in miniature: `cache` changes the replication group's base properties;
    the AUTH token comes in as a NoEcho parameter, as the product passes it."""
    properties = merged(BASE_CACHE, cache)
    resources: dict[str, Any] = {
        **NETWORK,
        "Cache": {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": properties},
    }
    if secret:
        resources["CacheSecret"] = {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"GenerateSecretString": {"ExcludePunctuation": True}},
        }
    return json.dumps(
        {
            "Parameters": {"CacheToken": {"Type": "String", "NoEcho": True}},
            "Resources": resources,
            "Outputs": OUTPUTS,
        }
    )


class Stack(StackUnderTest):
    """One test's stack and the clients that look behind it; the AUTH token is its
    CacheToken parameter."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "pci")
        self.elasticache = client("elasticache")
        self.secretsmanager = client("secretsmanager")

    def create(self, body: str, token: str = VALID_TOKEN) -> None:  # type: ignore[override]
        super().create(body, {"CacheToken": token})

    def update(self, body: str, token: str = VALID_TOKEN) -> None:  # type: ignore[override]
        super().update(body, {"CacheToken": token})

    def group(self) -> dict[str, Any]:
        group_id = self.physical_ids()["Cache"]
        groups = self.elasticache.describe_replication_groups(ReplicationGroupId=group_id)
        return groups["ReplicationGroups"][0]

    def group_ids(self) -> list[str]:
        """Every replication group of this stack's, found by the stack name in generated ids."""
        groups = self.elasticache.describe_replication_groups()["ReplicationGroups"]
        return [
            g["ReplicationGroupId"] for g in groups if g["ReplicationGroupId"].startswith(self.name)
        ]

    def subnet_group_names(self) -> list[str]:
        """Every cache subnet group of this stack's, found by the stack name as group_ids."""
        groups = self.elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
        return [
            g["CacheSubnetGroupName"]
            for g in groups
            if g["CacheSubnetGroupName"].startswith(self.name)
        ]

    def assert_rolled_back_create(self) -> None:
        """ROLLBACK_COMPLETE with nothing left: no stack resource, group or subnet group."""
        assert self.status() == "ROLLBACK_COMPLETE"
        assert self.physical_ids() == {}
        assert self.group_ids() == []
        assert self.subnet_group_names() == []


def _token(token: str) -> list[dict[str, str]]:
    return [{"ParameterKey": "CacheToken", "ParameterValue": token}]


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- create -------------------------------------------------------------------------------------


def test_stack_with_subnet_group_replication_group_and_secret_deploys(stack: Stack) -> None:
    """GIVEN a template with a cache subnet group, a replication group and a generated secret
    WHEN the stack is created
    THEN it is CREATE_COMPLETE and every resource has a physical id"""
    stack.create(template(secret=True))

    assert stack.status() == "CREATE_COMPLETE"
    ids = stack.physical_ids()
    assert all(ids[name] for name in ("CacheSubnets", "Cache", "CacheSecret"))


def test_replication_group_shows_its_security_settings(stack: Stack) -> None:
    """GIVEN a stack whose replication group has Multi-AZ, both encryptions and an AuthToken
    WHEN DescribeReplicationGroups is called
    THEN it reports MultiAZ, failover, AtRestEncryption, TransitEncryption and AuthTokenEnabled,
    with the two cache clusters asked for"""
    stack.create(template())

    group = stack.group()

    assert group["MultiAZ"] == "enabled"
    assert group["AutomaticFailover"] == "enabled"
    assert group["AtRestEncryptionEnabled"] is True
    assert group["TransitEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    assert group["CacheNodeType"] == "cache.t4g.small"
    assert len(group["MemberClusters"]) == 2


def test_outputs_with_endpoint_getatts_resolve(stack: Stack) -> None:
    """GIVEN outputs that Ref the groups and GetAtt the primary and reader endpoints
    WHEN the stack is created
    THEN they hold the group's id and the endpoints DescribeReplicationGroups reports"""
    stack.create(template())

    outputs = stack.outputs()

    node_group = stack.group()["NodeGroups"][0]
    assert outputs["CacheId"] == stack.physical_ids()["Cache"]
    assert outputs["PrimaryAddress"] == node_group["PrimaryEndpoint"]["Address"]
    assert outputs["ReaderAddress"] == node_group["ReaderEndpoint"]["Address"]
    assert outputs["PrimaryPort"] == outputs["ReaderPort"] == "6379"


def test_generated_names_are_lower_case_as_elasticache_stores_them(stack: Stack) -> None:
    """GIVEN a template that names neither the subnet group nor the replication group
    WHEN the stack is created
    THEN the generated names are lower case, the group id at most 40 characters, and the
    replication group is in the stack's subnet group"""
    stack.create(template())

    ids = stack.physical_ids()

    assert ids["Cache"] == ids["Cache"].lower() and len(ids["Cache"]) <= 40
    assert ids["CacheSubnets"] == ids["CacheSubnets"].lower()
    described = stack.elasticache.describe_cache_subnet_groups(
        CacheSubnetGroupName=ids["CacheSubnets"]
    )
    assert described["CacheSubnetGroups"][0]["VpcId"] == ids["Vpc"]


def test_tags_reach_the_replication_group(stack: Stack) -> None:
    """GIVEN a replication group with Tags
    WHEN ListTagsForResource is called on its ARN
    THEN the tags are there"""
    stack.create(template({"Tags": [{"Key": "compliance", "Value": "pci-dss"}]}))

    tags = stack.elasticache.list_tags_for_resource(ResourceName=stack.group()["ARN"])["TagList"]

    assert tags == [{"Key": "compliance", "Value": "pci-dss"}]


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "Forbidden@Token-0123456789",
        "Forbidden/Token-0123456789",
        'Forbidden"Token-0123456789',
        "Forbidden%Token-0123456789",
        "Forbidden Token-0123456789",
        "Short-Token-123",  # 15 characters
        "x" * 129,
    ],
    ids=["at", "slash", "quote", "percent", "space", "too-short", "too-long"],
)
def test_invalid_auth_token_fails_the_resource_and_rolls_back(stack: Stack, token: str) -> None:
    """GIVEN an AuthToken with a character ElastiCache forbids, or of the wrong length
    WHEN the stack is created
    THEN CreateStack succeeds, the replication group is CREATE_FAILED with ElastiCache's
    message (not the token) and the stack ends ROLLBACK_COMPLETE with nothing left behind"""
    stack.create(template(), token=token)

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Cache", "CREATE_FAILED")
    refusal = ELASTICACHE_REFUSAL.fullmatch(reason)
    assert refusal, reason
    assert refusal["message"] == "Invalid AuthToken provided."
    assert refusal["code"] == "InvalidRequest"
    assert token not in reason
    stack.assert_rolled_back_create()


def test_invalid_auth_token_rolls_back_an_executed_change_set(stack: Stack) -> None:
    """GIVEN a CREATE change set whose replication group has an invalid AuthToken
    WHEN the change set is executed
    THEN ExecuteChangeSet succeeds and the stack ends ROLLBACK_COMPLETE with the group's
    CREATE_FAILED reason, and no group is made"""
    stack.cloudformation.create_change_set(
        StackName=stack.name,
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=template(),
        Parameters=_token("Forbidden@Token-0123456789"),
    )

    stack.cloudformation.execute_change_set(StackName=stack.name, ChangeSetName="create")

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Cache", "CREATE_FAILED")
    assert "Invalid AuthToken provided." in reason
    stack.assert_rolled_back_create()


def test_token_generated_without_punctuation_is_accepted(stack: Stack) -> None:
    """GIVEN a secret generated with ExcludePunctuation in one stack
    WHEN its value is the AuthToken (a NoEcho parameter) of another stack's replication group
    THEN that stack is CREATE_COMPLETE with AUTH enabled"""
    secret_body = json.dumps(
        {
            "Resources": {
                "Token": {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {"GenerateSecretString": {"ExcludePunctuation": True}},
                }
            },
            "Outputs": {"TokenArn": {"Value": {"Ref": "Token"}}},
        }
    )
    stack.cloudformation.create_stack(StackName=f"{stack.name}-token", TemplateBody=secret_body)
    token_arn = stack.cloudformation.describe_stacks(StackName=f"{stack.name}-token")["Stacks"][0][
        "Outputs"
    ][0]["OutputValue"]
    token = stack.secretsmanager.get_secret_value(SecretId=token_arn, VersionStage="AWSCURRENT")

    stack.create(template(), token=token["SecretString"])

    assert stack.status() == "CREATE_COMPLETE"
    assert stack.group()["AuthTokenEnabled"] is True


REFUSED_GROUPS = [
    # (change to the base cache, ElastiCache's message)
    (
        {"TransitEncryptionEnabled": False},
        "The AuthToken parameter requires TransitEncryptionEnabled to be true.",
    ),
    (
        {"TransitEncryptionEnabled": REMOVE},
        "The AuthToken parameter requires TransitEncryptionEnabled to be true.",
    ),
    ({"AutomaticFailoverEnabled": False}, "Multi-AZ requires AutomaticFailoverEnabled to be true."),
    (
        {"NumCacheClusters": 1, "MultiAZEnabled": False},
        "When using automatic failover, there must be at least 2 cache clusters in the "
        "replication group.",
    ),
    ({"CacheSubnetGroupName": "no-such-group"}, "CacheSubnetGroup no-such-group not found."),
]


@pytest.mark.parametrize(
    ("change", "message"),
    REFUSED_GROUPS,
    ids=[
        "token-no-transit",
        "token-transit-absent",
        "multi-az-no-failover",
        "failover-1-node",
        "missing-subnet-group",
    ],
)
def test_refused_replication_group_fails_the_resource_and_rolls_back(
    stack: Stack, change: dict[str, Any], message: str
) -> None:
    """GIVEN a replication group with a parameter combination ElastiCache refuses, or in a
    cache subnet group that does not exist
    WHEN the stack is created
    THEN CreateStack succeeds, the group is CREATE_FAILED with ElastiCache's message, and the
    stack ends ROLLBACK_COMPLETE without the group or the stack's subnet group"""
    stack.create(template(change))

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Cache", "CREATE_FAILED")
    refusal = ELASTICACHE_REFUSAL.fullmatch(reason)
    assert refusal, reason
    assert refusal["message"] == message
    assert VALID_TOKEN not in reason
    stack.assert_rolled_back_create()


def test_missing_required_property_fails_the_resource(stack: Stack) -> None:
    """GIVEN a replication group without ReplicationGroupDescription (required)
    WHEN the stack is created
    THEN the group is CREATE_FAILED with CloudFormation's property validation message and
    the stack ends ROLLBACK_COMPLETE"""
    stack.create(template({"ReplicationGroupDescription": REMOVE}))

    assert stack.failure() == (
        "Cache",
        "CREATE_FAILED",
        "Properties validation failed for resource Cache with message: "
        "#: required key [ReplicationGroupDescription] not found",
    )
    stack.assert_rolled_back_create()


def test_auth_token_value_is_kept_nowhere_and_never_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a replication group created and then updated with an AuthToken
    WHEN moto's group, the stack's resource object and the logs are searched
    THEN the token's value is in none of them (DescribeReplicationGroups shows only
    AuthTokenEnabled)"""
    from moto.elasticache.models import elasticache_backends

    # botocore's own debug log holds the request, parameters and all: not looked at here.
    with caplog.at_level(logging.DEBUG, "localaws"), caplog.at_level(logging.DEBUG, "moto"):
        stack.create(template())
        stack.update(template({"CacheNodeType": "cache.r7g.large"}), token=f"{VALID_TOKEN}-2")

    group_id = stack.physical_ids()["Cache"]
    moto_group = elasticache_backends["123456789012"]["us-east-1"].replication_groups[group_id]
    resource = _stack_resource(stack, "Cache")
    for kept in (vars(moto_group), vars(resource), stack.group()):
        assert VALID_TOKEN not in json.dumps(kept, default=str)
    assert VALID_TOKEN not in caplog.text


def _stack_resource(stack: Stack, logical_id: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends["123456789012"]["us-east-1"]
    live = next(s for s in backend.stacks.values() if s.name == stack.name)
    return live.resource_map[logical_id]


# --- update -------------------------------------------------------------------------------------


def test_snapshot_retention_update_applies_in_place(stack: Stack) -> None:
    """GIVEN a replication group keeping snapshots 7 days
    WHEN an update sets SnapshotRetentionLimit to 35
    THEN the same group (same ReplicationGroupId) keeps them 35 days"""
    stack.create(template())
    group_id = stack.physical_ids()["Cache"]

    stack.update(template({"SnapshotRetentionLimit": 35}))

    assert stack.physical_ids()["Cache"] == group_id
    assert stack.group()["SnapshotRetentionLimit"] == 35
    assert stack.status() == "UPDATE_COMPLETE"


IN_PLACE_UPDATES = [
    # (template change, DescribeReplicationGroups field, expected value)
    ({"CacheNodeType": "cache.r7g.large"}, "CacheNodeType", "cache.r7g.large"),
    ({"ReplicationGroupDescription": "moved"}, "Description", "moved"),
    ({"MultiAZEnabled": False}, "MultiAZ", "disabled"),
    ({"MultiAZEnabled": False, "AutomaticFailoverEnabled": False}, "AutomaticFailover", "disabled"),
    ({"SnapshotWindow": "03:00-04:00"}, "SnapshotWindow", "03:00-04:00"),
]


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    IN_PLACE_UPDATES,
    ids=["node-type", "description", "multi-az", "failover", "snapshot-window"],
)
def test_updatable_property_is_modified_in_place(
    stack: Stack, change: dict[str, Any], field: str, expected: Any
) -> None:
    """GIVEN a replication group
    WHEN an update changes a property CloudFormation modifies in place
    THEN the same group shows the new value"""
    stack.create(template())
    group_id = stack.physical_ids()["Cache"]

    stack.update(template(change))

    assert stack.physical_ids()["Cache"] == group_id
    assert stack.group()[field] == expected


def test_changed_auth_token_is_rotated_in_place(stack: Stack) -> None:
    """GIVEN a replication group with an AuthToken
    WHEN an update gives a new token
    THEN the same group has AUTH enabled with a later AuthTokenLastModifiedDate"""
    stack.create(template())
    before = stack.group()

    stack.update(template(), token=f"{VALID_TOKEN}-2")

    after = stack.group()
    assert after["ReplicationGroupId"] == before["ReplicationGroupId"]
    assert after["AuthTokenEnabled"] is True
    assert after["AuthTokenLastModifiedDate"] > before["AuthTokenLastModifiedDate"]


def test_invalid_update_rolls_back_and_leaves_the_group_as_it_was(stack: Stack) -> None:
    """GIVEN a replication group with Multi-AZ
    WHEN an update turns automatic failover off but keeps Multi-AZ
    THEN UpdateStack succeeds, the group is UPDATE_FAILED with ElastiCache's message, the
    stack ends UPDATE_ROLLBACK_COMPLETE and failover stays enabled"""
    stack.create(template())

    stack.update(template({"AutomaticFailoverEnabled": False}))

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Cache", "UPDATE_FAILED")
    assert "Multi-AZ requires AutomaticFailoverEnabled to be true." in reason
    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.group()["AutomaticFailover"] == "enabled"


def test_update_to_an_invalid_token_rolls_back_and_keeps_the_group(stack: Stack) -> None:
    """GIVEN a replication group with a valid AuthToken
    WHEN an update gives a token ElastiCache refuses
    THEN UpdateStack succeeds, the group is UPDATE_FAILED with "Invalid AuthToken provided."
    (not the token), the stack ends UPDATE_ROLLBACK_COMPLETE, and the group is unchanged:
    same id, AUTH enabled, token not rotated; a later valid update still works"""
    stack.create(template())
    before = stack.group()
    invalid = "Forbidden@Token-0123456789"

    stack.update(template({"CacheNodeType": "cache.r7g.large"}), token=invalid)

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Cache", "UPDATE_FAILED")
    refusal = ELASTICACHE_REFUSAL.fullmatch(reason)
    assert refusal and refusal["message"] == "Invalid AuthToken provided.", reason
    assert invalid not in reason and VALID_TOKEN not in reason
    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.group() == before
    stack.update(template({"SnapshotRetentionLimit": 35}))
    assert stack.status() == "UPDATE_COMPLETE"
    assert stack.group()["SnapshotRetentionLimit"] == 35


def test_tags_update_sets_and_removes_stack_tags(stack: Stack) -> None:
    """GIVEN a replication group tagged team=cache
    WHEN an update replaces the tag with env=prod
    THEN the group carries env=prod only"""
    stack.create(template({"Tags": [{"Key": "team", "Value": "cache"}]}))

    stack.update(template({"Tags": [{"Key": "env", "Value": "prod"}]}))

    tags = stack.elasticache.list_tags_for_resource(ResourceName=stack.group()["ARN"])["TagList"]
    assert tags == [{"Key": "env", "Value": "prod"}]


def test_create_only_change_replaces_the_replication_group(stack: Stack) -> None:
    """GIVEN a replication group with a generated id, encrypted at rest
    WHEN an update turns AtRestEncryptionEnabled off (create-only)
    THEN a new group replaces it: the stack and its outputs point at the new one, the old
    one is gone"""
    stack.create(template())
    old_id = stack.physical_ids()["Cache"]

    stack.update(template({"AtRestEncryptionEnabled": False}))

    new = stack.group()
    assert new["ReplicationGroupId"] != old_id
    assert new["AtRestEncryptionEnabled"] is False
    assert stack.group_ids() == [new["ReplicationGroupId"]]
    assert stack.outputs()["CacheId"] == new["ReplicationGroupId"]


def test_create_only_change_of_a_custom_named_group_fails_the_update(stack: Stack) -> None:
    """GIVEN a replication group with a custom ReplicationGroupId
    WHEN an update changes Port (create-only) but keeps the id
    THEN the group is UPDATE_FAILED as on AWS, the stack ends UPDATE_ROLLBACK_COMPLETE and
    the group keeps its port"""
    custom = {"ReplicationGroupId": stack.name}
    stack.create(template(custom))

    stack.update(template({**custom, "Port": 6380}))

    assert stack.failure() == (
        "Cache",
        "UPDATE_FAILED",
        "CloudFormation cannot update a stack when a custom-named resource requires "
        f"replacing. Rename {stack.name} and update the stack again.",
    )
    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.group()["NodeGroups"][0]["PrimaryEndpoint"]["Port"] == 6379


def test_change_localaws_cannot_apply_is_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a replication group of two clusters
    WHEN an update asks for three (NumCacheClusters, not modelled)
    THEN the update completes and a warning names the property"""
    stack.create(template())

    with caplog.at_level(logging.WARNING, logger="localaws.cfn_elasticache"):
        stack.update(template({"NumCacheClusters": 3}))

    assert "NumCacheClusters" in caplog.text
    assert stack.status() == "UPDATE_COMPLETE"


# --- delete -------------------------------------------------------------------------------------


def test_stack_delete_removes_the_replication_group_and_subnet_group(stack: Stack) -> None:
    """GIVEN a stack with a replication group in the stack's cache subnet group
    WHEN the stack is deleted
    THEN neither the group nor the subnet group can be described any more"""
    stack.create(template())
    ids = stack.physical_ids()

    stack.cloudformation.delete_stack(StackName=stack.name)

    assert stack.group_ids() == []
    subnet_groups = stack.elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
    assert ids["CacheSubnets"] not in [g["CacheSubnetGroupName"] for g in subnet_groups]


# --- install() and in-process use ---------------------------------------------------------------


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN moto uses the same model classes and stacks still deploy"""
    before = cfn_elasticache.registered_models()
    assert before, "the local AWS did not install the extension"

    cfn_elasticache.install()

    stack.create(template())
    assert cfn_elasticache.registered_models() == before
    assert stack.status() == "CREATE_COMPLETE"


def test_replication_group_deploys_in_process_with_mock_aws(aws: None) -> None:
    """GIVEN moto in-process (mock_aws) with localaws's extensions installed
    WHEN a stack with a subnet group and a replication group is created
    THEN DescribeReplicationGroups shows the group the stack's output names"""
    import boto3

    from localaws import extensions

    extensions.install_all()
    cloudformation = boto3.client("cloudformation")
    elasticache = boto3.client("elasticache")

    cloudformation.create_stack(
        StackName="in-process", TemplateBody=template(), Parameters=_token(VALID_TOKEN)
    )

    outputs = cloudformation.describe_stacks(StackName="in-process")["Stacks"][0]["Outputs"]
    group_id = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "CacheId")
    groups = elasticache.describe_replication_groups(ReplicationGroupId=group_id)
    assert groups["ReplicationGroups"][0]["MultiAZ"] == "enabled"
