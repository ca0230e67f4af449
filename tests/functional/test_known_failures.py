"""The first PCI stack's deploy failures, reproduced on the local AWS and seen through
the reconciler: the stack rolls back, the status records CloudFormation's reason (never
a secret value), and the next plan says the way out.

Validation refuses these templates before AWS is touched (tests/unit/
test_validation_known_failures.py); here the stack file suppresses those rules, as a
user could, to show that what reaches AWS anyway fails safely and is reported."""

from __future__ import annotations

import json

import boto3
import pytest

from localaws import extensions
from reconciler.aws.services import services_from_env
from reconciler.desired import load_desired_state
from reconciler.plan import Action
from reconciler.reconcile import apply, finish, make_plan
from reconciler.status import Health, Sync
from tests.repo import make_repo

extensions.install_all()

STACK = """\
template-file-path: templates/cache.yml
stack-name: cache-dev
region: us-east-1
suppress:
  AUTH001: reproducing the first version's refused token
  DYN004: reproducing the first version's unresolvable reference
  PCI001: a minimal cache, not the PCI stack
  PCI003: a minimal cache, not the PCI stack
  PCI004: a minimal cache, not the PCI stack
  PCI006: a minimal cache, not the PCI stack
"""


def cache_template(generate: dict, token_key: str = "token") -> str:
    return json.dumps(
        {
            "Resources": {
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}},
                "Subnet": {
                    "Type": "AWS::EC2::Subnet",
                    "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.1.1.0/24"},
                },
                "Subnets": {
                    "Type": "AWS::ElastiCache::SubnetGroup",
                    "Properties": {"Description": "cache", "SubnetIds": [{"Ref": "Subnet"}]},
                },
                "AuthSecret": {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {
                        "GenerateSecretString": {
                            "SecretStringTemplate": "{}",
                            "GenerateStringKey": "token",
                            "PasswordLength": 32,
                            **generate,
                        }
                    },
                },
                "Redis": {
                    "Type": "AWS::ElastiCache::ReplicationGroup",
                    "Properties": {
                        "ReplicationGroupDescription": "cache",
                        "Engine": "redis",
                        "CacheNodeType": "cache.t3.micro",
                        "NumCacheClusters": 2,
                        "AutomaticFailoverEnabled": True,
                        "TransitEncryptionEnabled": True,
                        "CacheSubnetGroupName": {"Ref": "Subnets"},
                        "AuthToken": {
                            "Fn::Sub": "{{resolve:secretsmanager:${AuthSecret}:SecretString:"
                            + token_key
                            + "}}"
                        },
                    },
                },
            }
        }
    )


@pytest.fixture
def services(aws):
    return services_from_env(change_set_wait_seconds=0)


def deploy(tmp_path, services, template: str):
    root = make_repo(
        tmp_path,
        {"templates/cache.yml": template, "desired-state/cache-dev.yml": STACK},
        defaults=False,
    )
    (result,) = apply(load_desired_state(root), "rev1", services, "test").stacks
    assert result.outcome == "executed"
    return root, finish("cache-dev", "us-east-1", services)


def secret_values() -> list[str]:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    return [
        json.loads(sm.get_secret_value(SecretId=s["ARN"])["SecretString"]).get("token", "")
        for s in sm.list_secrets()["SecretList"]
    ]


def test_punctuated_auth_token_rolls_the_stack_back_with_redis_reason(tmp_path, services):
    """GIVEN the first version's secret (every character type required, here with the
    punctuation Redis allows excluded, so the token always holds a refused character)
    WHEN deployed THEN the stack rolls back and status names Redis's refusal."""
    refused = {"RequireEachIncludedType": True, "ExcludeCharacters": "!&#$^<>-"}
    root, status = deploy(tmp_path, services, cache_template(refused))
    assert (status.sync, status.health) == (Sync.FAILED, Health.DEGRADED)
    assert status.message.startswith("ROLLBACK_COMPLETE")
    events = boto3.client("cloudformation", region_name="us-east-1").describe_stack_events(
        StackName="cache-dev"
    )["StackEvents"]
    reasons = [
        e.get("ResourceStatusReason", "") for e in events if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert any("Invalid AuthToken provided." in r for r in reasons)
    for token in secret_values():
        assert token not in status.message and all(token not in r for r in reasons)
    _, (plan,) = make_plan(load_desired_state(root), services.cfn)
    assert plan.action is Action.BLOCKED and "delete the stack" in plan.reason


def test_token_from_letters_and_digits_deploys(tmp_path, services):
    _, status = deploy(tmp_path, services, cache_template({"ExcludePunctuation": True}))
    assert (status.sync, status.health) == (Sync.SYNCED, Health.HEALTHY)
    groups = boto3.client("elasticache", region_name="us-east-1").describe_replication_groups()
    assert groups["ReplicationGroups"][0]["AuthTokenEnabled"] is True


def test_reference_to_a_key_the_secret_lacks_fails_without_leaking(tmp_path, services):
    """GIVEN an AuthToken reading a json-key the generated secret does not contain
    WHEN deployed THEN the stack rolls back naming the reference, not a value."""
    template = cache_template({"ExcludePunctuation": True}, token_key="password")
    _, status = deploy(tmp_path, services, template)
    assert status.sync is Sync.FAILED
    events = boto3.client("cloudformation", region_name="us-east-1").describe_stack_events(
        StackName="cache-dev"
    )["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed and "password" in failed[0]["ResourceStatusReason"]
    for token in secret_values():
        assert all(token not in e.get("ResourceStatusReason", "") for e in events)
