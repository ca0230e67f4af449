"""Which API calls the change rules watch, for this repository's PCI database stacks
(desired-state/ and templates/), and the EventBridge rules made of them: the write
calls of each resource type's own service, nothing read-only, nothing of another
service, every pattern within EventBridge's size limit, in every region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from handlers.routes import API_CALL, CHANGE, MAX_PATTERN, RouteError, Watched, change_rules, rules
from reconciler.change_rules import type_calls, watched
from reconciler.desired import load_desired_state

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture(scope="module")
def pci() -> dict[str, Watched]:
    """The watched calls of the repository's own desired state, by service."""
    return {w.service: w for w in watched(load_desired_state(ROOT))}


@pytest.mark.parametrize(
    ("service", "name"),
    [
        ("rds", "ModifyDBInstance"),
        ("rds", "DeleteDBInstance"),
        ("ec2", "AuthorizeSecurityGroupIngress"),
        ("ec2", "RevokeSecurityGroupEgress"),
        ("logs", "PutRetentionPolicy"),
        ("logs", "DisassociateKmsKey"),
        ("kms", "ScheduleKeyDeletion"),
        ("kms", "DisableKeyRotation"),
        ("elasticache", "ModifyReplicationGroup"),
        ("secretsmanager", "UpdateSecret"),
    ],
)
def test_a_call_that_can_change_a_pci_resource_is_watched(pci, service, name):
    """GIVEN the PCI template's types (DB instance, security groups, log groups, KMS
    key, replication group, secrets) WHEN the watched calls are worked out THEN this
    write call of the type's own service is among them."""
    assert name in pci[service].event_names


def test_the_services_of_the_pci_template_and_their_event_sources(pci):
    """GIVEN the PCI template WHEN watched THEN each service it uses has its CloudTrail
    eventSource, <prefix>.amazonaws.com."""
    assert {s: w.event_source for s, w in pci.items()} == {
        "ec2": "ec2.amazonaws.com",
        "elasticache": "elasticache.amazonaws.com",
        "iam": "iam.amazonaws.com",
        "kms": "kms.amazonaws.com",
        "lambda": "lambda.amazonaws.com",
        "logs": "logs.amazonaws.com",
        "rds": "rds.amazonaws.com",
        "secretsmanager": "secretsmanager.amazonaws.com",
    }


@pytest.mark.parametrize(
    ("service", "name"),
    [
        ("rds", "DescribeDBInstances"),
        ("ec2", "DescribeSecurityGroups"),
        ("logs", "DescribeLogGroups"),
        ("kms", "DescribeKey"),
        ("secretsmanager", "DescribeSecret"),
    ],
)
def test_a_read_only_call_is_not_watched(pci, service, name):
    """GIVEN a read-only call the handlers also need WHEN watched THEN it is left out
    (CloudTrail does not send it to EventBridge either)."""
    assert name not in pci[service].event_names


def test_the_db_instances_read_call_is_in_its_schema_yet_not_watched():
    """GIVEN AWS::RDS::DBInstance, whose update handler needs rds:DescribeDBInstances
    WHEN its calls are worked out THEN that read call is not one of them."""
    permissions = _permissions("AWS::RDS::DBInstance")
    assert "rds:DescribeDBInstances" in permissions
    assert "rds:DescribeDBInstances" not in type_calls(REGION, "AWS::RDS::DBInstance")


@pytest.mark.parametrize(
    ("resource_type", "foreign"),
    [
        ("AWS::RDS::DBInstance", "kms:CreateGrant"),
        ("AWS::RDS::DBInstance", "iam:PassRole"),
        ("AWS::ElastiCache::ReplicationGroup", "kms:Decrypt"),
        ("AWS::ElastiCache::ReplicationGroup", "firehose:PutRecord"),
    ],
)
def test_another_services_call_a_handler_needs_is_not_watched(resource_type, foreign):
    """GIVEN a type whose handlers also need a write call of another service (a KMS
    grant for an RDS instance) WHEN its calls are worked out THEN only its own
    service's calls are watched."""
    assert foreign in _permissions(resource_type)
    own = resource_type.split("::")[1].lower()
    calls = type_calls(REGION, resource_type)
    assert calls and foreign not in calls
    assert {c.partition(":")[0] for c in calls} == {own}


@pytest.mark.parametrize("resource_type", ["Custom::Rotation", "AWS::CloudFormation::Nope"])
def test_a_type_without_a_schema_is_not_watched(resource_type):
    """GIVEN a custom resource or an unknown type WHEN its calls are worked out THEN
    there are none (no schema says which)."""
    assert type_calls(REGION, resource_type) == ()


def _permissions(resource_type: str) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    return {p for h in ("update", "delete") for p in schema["handlers"][h]["permissions"]}


# --- the rules --------------------------------------------------------------------------


def test_every_pci_rule_pattern_fits_eventbridge(pci):
    """GIVEN the PCI template's watched calls WHEN made into rules THEN each pattern,
    as json.dumps gives it to PutRule, is at most MAX_PATTERN (2048) characters."""
    made = change_rules(tuple(pci.values()))
    assert [r.name for r in made] == [f"gitops-change-{s}" for s in sorted(pci)]
    assert all(len(json.dumps(r.event_pattern)) <= MAX_PATTERN for r in made)


def test_a_rule_matches_the_api_calls_of_its_service(pci):
    """GIVEN the RDS calls WHEN made into a rule THEN it matches AWS API calls from
    aws.rds by eventSource and eventName, goes to the change handler, in every region."""
    (rule,) = change_rules((pci["rds"],))
    assert rule.event_pattern == {
        "source": ["aws.rds"],
        "detail-type": [API_CALL],
        "detail": {
            "eventSource": ["rds.amazonaws.com"],
            "eventName": list(pci["rds"].event_names),
        },
    }
    assert (rule.handler, rule.in_every_region) == (CHANGE, True)


def test_the_change_rules_are_among_the_reconcilers_rules(pci):
    """GIVEN the PCI watched calls WHEN the reconciler's rules are made THEN one
    change rule per service is among them, to the change handler, in every region."""
    made = rules("pci-db-", watched=tuple(pci.values()))
    change = [r for r in made if r.name.startswith("gitops-change-")]
    assert len(change) == len(pci)
    assert all(r.handler == CHANGE and r.in_every_region for r in change)


def test_a_service_with_too_many_names_is_split_into_numbered_rules():
    """GIVEN one service with 400 call names (far more than one 2048-character pattern
    holds) WHEN made into rules THEN they are gitops-change-ec2, -2, -3...: each
    within the limit, together every name once."""
    names = tuple(f"ModifySomethingRatherLong{i:04d}" for i in range(400))
    made = change_rules((Watched("ec2", "ec2.amazonaws.com", names),))
    assert len(made) > 2
    assert [r.name for r in made] == ["gitops-change-ec2"] + [
        f"gitops-change-ec2-{n}" for n in range(2, len(made) + 1)
    ]
    assert all(len(json.dumps(r.event_pattern)) <= MAX_PATTERN for r in made)
    split = [n for r in made for n in r.event_pattern["detail"]["eventName"]]
    assert sorted(split) == sorted(names)


def test_a_service_that_fits_is_one_rule_with_each_name_once():
    """GIVEN a service whose names fit one pattern, one name given twice WHEN made
    into rules THEN it is one unnumbered rule naming it once."""
    made = change_rules((Watched("kms", "kms.amazonaws.com", ("DisableKey", "DisableKey")),))
    assert [(r.name, r.event_pattern["detail"]["eventName"]) for r in made] == [
        ("gitops-change-kms", ["DisableKey"])
    ]


@pytest.mark.parametrize("prefix", ["EC2", "ec2 ", "ec2/x", "", "e" * 41, "aws.ec2", "ec2*"])
def test_a_bad_service_prefix_is_a_route_error(prefix):
    """GIVEN a Watched whose service is not an IAM service prefix WHEN made into rules
    THEN a RouteError names it, before any rule is made."""
    with pytest.raises(RouteError, match="is not an AWS service prefix"):
        change_rules((Watched(prefix, "x.amazonaws.com", ("DoIt",)),))


def test_no_watched_calls_make_no_rules():
    """GIVEN no watched calls WHEN made into rules THEN there are none."""
    assert change_rules(()) == []
