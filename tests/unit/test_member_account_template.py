"""infra/member-account.yml and infra/work-queue.yml, read as text.

member-account.yml is deployed as a StackSet into every region of every member account:
its three named roles only where the home region is (IAM is global) and only with
CreateRoles; the role the reconciler assumes is trusted by the central account's
bootstrap roles with the external id only, and grants what a reconcile pass does to a
stack of that account (the bootstrap template's CALLS, without what stays central);
the execution role carries the bootstrap template's generated policy; the forwarding rules
have the central rules' patterns and reach the central bus only. work-queue.yml is the
bootstrap template's work queue for one more region."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import cfn_yaml

from reconciler.cli.bootstrap import with_member_policy
from reconciler.iam_actions import facts
from tests.unit.test_bootstrap_template import (
    CALLS,
    NO_RESOURCE_LEVEL,
    ROUTES,
    RUNTIME,
    STAR_COMMENT,
)

ROOT = Path(__file__).resolve().parents[2]
MEMBER = ROOT / "infra" / "member-account.yml"
WORK_QUEUE = ROOT / "infra" / "work-queue.yml"
BOOTSTRAP = ROOT / "infra" / "bootstrap.yml"

CENTRAL, MEMBER_ACCOUNT, HOME = "111122223333", "444455556666", "eu-west-1"
# A member account's instance in the home region, of an installation named "gitops".
VALUES = {
    "AWS::Partition": "aws",
    "AWS::AccountId": MEMBER_ACCOUNT,
    "AWS::Region": HOME,
    "CentralAccountId": CENTRAL,
    "HomeRegion": HOME,
    "ReconcilerStackName": "gitops",
    "ExternalId": "acme-gitops-2026",
    "ManagedStackPrefix": "pci-db-",
    "OutputsPathPrefix": "/pci-db/",
    "MemberRoleName": "gitops-reconciler-member",
    "MemberExecutionRoleName": "gitops-reconciler-member-execution",
    "MemberPreviewRoleName": "gitops-reconciler-member-preview",
    "CreateRoles": "true",
}
CENTRAL_BUS = {
    "Fn::Sub": "arn:${AWS::Partition}:events:${HomeRegion}:${CentralAccountId}:event-bus/default"
}
# The central handlers that act on a stack of a member account as its MemberRole: what they
# do to a stack, the member role does (the change handler: find a changed resource's stack,
# detect its drift).
PASS_HANDLERS = ("push", "stack_status", "drift", "schedule", "stack_worker", "change")
# What stays in the central account: its tables, queues, buses, topic, traces, audit
# bucket, repository, GitHub secrets and logs, and the AssumeRole itself.
CENTRAL_SERVICES = ("dynamodb", "sqs", "events", "sns", "xray", "s3", "codecommit", "sts")
CENTRAL_ONLY = RUNTIME | {"secretsmanager:GetSecretValue"}
# Calls of the CLI following a member stack (reconciler/cli/follow.py): the Lambdas never
# wait, the CLI may run as a role of the bootstrap stack's name.
CLI_READS = {
    "cloudformation:DescribeStackEvents",  # CloudFormation.events (apply --wait)
    "cloudformation:DescribeStackDriftDetectionStatus",  # CloudFormation.drift_detection
}
MEMBER_NO_RESOURCE_LEVEL = NO_RESOURCE_LEVEL | {"cloudformation:DescribeStackDriftDetectionStatus"}


@cache
def template(path: Path = MEMBER) -> Mapping[str, Any]:
    return cfn_yaml.load(str(path))


def resources(of_type: str | None = None, path: Path = MEMBER) -> dict[str, Mapping[str, Any]]:
    found = template(path)["Resources"]
    return {k: v for k, v in found.items() if of_type is None or v["Type"] == of_type}


def props(logical_id: str, path: Path = MEMBER) -> Mapping[str, Any]:
    return template(path)["Resources"][logical_id].get("Properties", {})


def resolve(node: Any, values: Mapping[str, Any]) -> Any:
    """The intrinsic functions of the conditions, the rules and the ARNs, for `values`."""
    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref":
            return values[arg]
        if key == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(values[m[1]]), arg)
        if key == "Fn::GetAtt" and arg[1] == "Arn":  # a named role of this template
            name = resolve(props(arg[0])["RoleName"], values)
            return f"arn:aws:iam::{values['AWS::AccountId']}:role/{name}"
        if key in ("Fn::Equals", "Condition::Equals"):
            return resolve(arg[0], values) == resolve(arg[1], values)
        if key == "Fn::Not":
            return not resolve(arg[0], values)
        if key == "Fn::And":
            return all(resolve(item, values) for item in arg)
    return {key: resolve(value, values) for key, value in node.items()}


def condition(name: str, **changed: str) -> bool:
    return resolve(template()["Conditions"][name], {**VALUES, **changed})


def listed(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [node]


def statements(role: str) -> list[Mapping[str, Any]]:
    """The role's inline statements and those of the managed policies naming it."""
    found: list[Any] = []
    for policy in props(role).get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    for managed in resources("AWS::IAM::ManagedPolicy").values():
        if {"Ref": role} in managed["Properties"].get("Roles", []):
            found += managed["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in listed(statement["Action"])]


def granted(role: str) -> set[str]:
    return {a for s in statements(role) for a in actions(s)}


ROLES = sorted(resources("AWS::IAM::Role"))
ALL_STATEMENTS = [(role, s) for role in ROLES for s in statements(role)]


def _statement_id(item: tuple[str, Mapping[str, Any]]) -> str:
    return f"{item[0]}.{item[1].get('Sid', '?')}"


# --- lint and shape -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MEMBER, WORK_QUEUE], ids=lambda p: p.name)
def test_cfn_lint_reports_nothing_not_even_informational(path):
    """GIVEN the template WHEN cfn-lint checks it in two regions, informational rules too
    THEN it reports nothing."""
    matches = lint_file(
        path, ManualArgs(regions=["us-east-1", "eu-central-1"], include_checks=["I"])
    )
    assert [f"{m.linenumber}: {m.rule.id} {m.message}" for m in matches] == []


@pytest.mark.parametrize("path", [MEMBER, WORK_QUEUE], ids=lambda p: p.name)
def test_template_is_plain_cloudformation_that_a_stackset_can_carry(path):
    """GIVEN the template WHEN its text is read THEN it has no Transform and names no file
    (no Code, TemplateURL or local path): a StackSet carries the template alone."""
    text = path.read_text()
    assert "Transform" not in template(path)
    assert not re.search(r"TemplateURL|S3Key|CodeUri|file://|\./", text)


def test_every_allowed_action_is_named_without_a_wildcard():
    """GIVEN every role of the member template, the generated execution policy included
    WHEN its Allow statements are read THEN no action holds "*" ("*", "service:*",
    "Describe*") and none is a NotAction or NotResource."""
    for role, s in ALL_STATEMENTS:
        assert s["Effect"] == "Allow", _statement_id((role, s))
        assert not {"NotAction", "NotResource"} & set(s)
        assert [a for a in actions(s) if "*" in a] == [], _statement_id((role, s))


@pytest.mark.parametrize("item", ALL_STATEMENTS, ids=_statement_id)
def test_star_resource_only_where_the_api_allows_nothing_narrower(item):
    """GIVEN a statement of MemberRole, MemberPreviewRole or ForwarderRole WHEN a resource is
    "*" THEN its line says so and each action is one without resource-level permissions."""
    role, statement = item
    if role == "MemberExecutionRole":  # generated: tests/unit/test_bootstrap_template.py
        return
    lines = MEMBER.read_text().splitlines()
    for resource in listed(statement["Resource"]):
        if resource == "*":
            assert STAR_COMMENT in lines[resource.start_mark.line]
            assert set(actions(statement)) <= MEMBER_NO_RESOURCE_LEVEL


def test_the_drift_detection_status_read_has_no_resource_level_permissions():
    """GIVEN the action this template adds to the bootstrap test's list of "*"-only APIs
    WHEN AWS's service authorization reference is read THEN it has no resource type."""
    added = MEMBER_NO_RESOURCE_LEVEL - NO_RESOURCE_LEVEL
    assert [facts(a).resource_types for a in sorted(added)] == [()]


# --- where the roles are made ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("create_roles", "region", "made"),
    [("true", HOME, True), ("true", "us-east-1", False), ("false", HOME, False)],
)
def test_named_roles_are_made_only_in_the_home_region_and_only_with_create_roles(
    create_roles, region, made
):
    """GIVEN an instance of the template in a region WHEN CreatesRoles is evaluated THEN it
    holds only in HomeRegion with CreateRoles=true: IAM is global, and another instance per
    region of the account must not make the same named roles."""
    assert condition("CreatesRoles", CreateRoles=create_roles, **{"AWS::Region": region}) is made


def test_every_named_iam_resource_and_output_depends_on_creates_roles():
    """GIVEN the template WHEN its IAM resources and outputs are listed THEN every one but
    the forwarder's role is made only with CreatesRoles, and the forwarder's role has no
    name (CloudFormation makes one per stack instance, so regions never collide)."""
    iam = {
        k: r.get("Condition")
        for k, r in resources().items()
        if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")
    }
    assert iam.pop("ForwarderRole") == "Forwards"
    assert set(iam.values()) == {"CreatesRoles"}
    assert {"MemberRole", "MemberPreviewRole", "MemberExecutionRole"} <= set(iam)
    assert "RoleName" not in props("ForwarderRole")
    assert {o.get("Condition") for o in template()["Outputs"].values()} == {"CreatesRoles"}


@pytest.mark.parametrize(
    ("account", "region", "forwards"),
    [(CENTRAL, HOME, False), (CENTRAL, "us-east-1", True), (MEMBER_ACCOUNT, HOME, True)],
)
def test_every_region_forwards_but_the_central_bus_own(account, region, forwards):
    """GIVEN an instance WHEN Forwards is evaluated THEN every region of every account
    forwards, except the central account's home region, whose rules hear it directly."""
    assert condition("Forwards", **{"AWS::AccountId": account, "AWS::Region": region}) is forwards


def test_roles_cannot_be_made_without_an_external_id():
    """GIVEN the template's rules WHEN CreateRoles is true THEN an empty ExternalId fails the
    deploy; forwarding alone needs none."""
    (rule,) = template()["Rules"].values()
    assert resolve(rule["RuleCondition"], VALUES) is True
    assert resolve(rule["RuleCondition"], {**VALUES, "CreateRoles": "false"}) is False
    (assertion,) = rule["Assertions"]
    assert resolve(assertion["Assert"], {**VALUES, "ExternalId": ""}) is False
    assert resolve(assertion["Assert"], VALUES) is True


# --- who may assume what --------------------------------------------------------------------


def test_member_role_is_assumed_by_the_central_bootstrap_roles_with_the_external_id_only():
    """GIVEN MemberRole's trust policy WHEN resolved THEN one statement lets the central
    account assume it, only from a role named after the bootstrap stack, and only with the
    external id."""
    (trust,) = props("MemberRole")["AssumeRolePolicyDocument"]["Statement"]
    assert resolve(trust, VALUES) == {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"sts:ExternalId": "acme-gitops-2026"},
            "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{CENTRAL}:role/gitops-*"},
        },
    }
    assert resolve(props("MemberRole")["RoleName"], VALUES) == "gitops-reconciler-member"


def test_execution_role_is_assumed_by_cloudformation_only_and_passed_to_it_only():
    """GIVEN MemberExecutionRole WHEN its trust and the statements passing it are read THEN
    only CloudFormation assumes it, and MemberRole may pass it to CloudFormation only."""
    (trust,) = props("MemberExecutionRole")["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == (
        {"Service": "cloudformation.amazonaws.com"},
        "sts:AssumeRole",
    )
    passes = [s for s in statements("MemberRole") if "iam:PassRole" in actions(s)]
    assert [(actions(s), s["Resource"], s["Condition"]) for s in passes] == [
        (
            ["iam:PassRole"],
            {"Fn::GetAtt": ["MemberExecutionRole", "Arn"]},
            {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        )
    ]


def test_member_role_does_to_a_stack_what_a_central_pass_does_and_nothing_central():
    """GIVEN what the central pass functions' code calls (the bootstrap test's CALLS) WHEN
    the calls on the stacks, their outputs, the catalog and drift are kept (the tables,
    queues, buses, logs, repository and secrets' values stay central) THEN MemberRole grants
    exactly those, plus the CLI's two reads."""
    central = {a for h in PASS_HANDLERS for a in CALLS[h]}
    expected = {a for a in central - CENTRAL_ONLY if a.split(":")[0] not in CENTRAL_SERVICES}
    expected |= CLI_READS
    assert {
        "missing": expected - granted("MemberRole"),
        "extra": granted("MemberRole") - expected,
    } == {
        "missing": set(),
        "extra": set(),
    }


MEMBER_STACKS = "arn:aws:cloudformation:*:444455556666:stack/pci-db-*/*"


def test_member_role_acts_only_in_its_own_account_and_on_the_managed_stacks():
    """GIVEN MemberRole's statements WHEN their resources are resolved THEN each is "*" (the
    APIs without resource-level permissions) or in this account; CloudFormation changes only
    the managed stacks, and SSM writes only under the outputs paths."""
    for s in statements("MemberRole"):
        arns = [resolve(r, VALUES) for r in listed(s["Resource"])]
        assert all(a == "*" or f":{MEMBER_ACCOUNT}:" in a for a in arns), s["Sid"]
        if any(a.startswith("cloudformation:") for a in actions(s)) and arns != ["*"]:
            assert arns == [MEMBER_STACKS], s["Sid"]
        if any(a.startswith("ssm:") for a in actions(s)) and arns != ["*"]:
            assert arns == [
                f"arn:aws:ssm:*:{MEMBER_ACCOUNT}:parameter/pci-db-*",
                f"arn:aws:ssm:*:{MEMBER_ACCOUNT}:parameter/pci-db/*",
            ]


def test_member_role_never_reads_a_secret_value_or_decrypts():
    """GIVEN MemberRole WHEN its actions are listed THEN neither GetSecretValue nor
    kms:Decrypt is among them (the drift reads left out on purpose, docs/deploy.md)."""
    assert granted("MemberRole") & {"secretsmanager:GetSecretValue", "kms:Decrypt"} == set()


# --- the execution policy -------------------------------------------------------------------


def test_execution_policy_is_the_bootstrap_templates_generated_policy():
    """GIVEN infra/bootstrap.yml's generated execution policy and change rules WHEN
    member-account.yml's are compared THEN the text is that policy for MemberExecutionRole
    and those rules as forwarding rules (else: run `python -m reconciler.cli.bootstrap`
    after `reconciler iam-policy --bootstrap infra/bootstrap.yml`)."""
    text = MEMBER.read_text()
    assert text == with_member_policy(text, BOOTSTRAP.read_text()), (
        "infra/member-account.yml's execution policy differs from infra/bootstrap.yml's: "
        "run `.venv/bin/python -m reconciler.cli.bootstrap`"
    )


def test_execution_policy_documents_equal_the_bootstrap_ones_and_are_made_with_the_role():
    """GIVEN both templates parsed WHEN the execution role's managed policies are paired
    THEN each member policy holds the same document, names MemberExecutionRole, and is made
    only with it (CreatesRoles); the inline dynamic-references policy is the same too."""
    central = resources("AWS::IAM::ManagedPolicy", BOOTSTRAP)
    ours = resources("AWS::IAM::ManagedPolicy")
    generated = sorted(k for k in central if k.startswith("CloudFormationExecutionRolePolicy"))
    assert generated
    assert sorted(ours) == [k.replace("CloudFormation", "Member") for k in generated]
    for name in generated:
        mine = ours[name.replace("CloudFormation", "Member")]
        assert mine["Condition"] == "CreatesRoles"
        assert mine["Properties"]["Roles"] == [{"Ref": "MemberExecutionRole"}]
        assert mine["Properties"]["PolicyDocument"] == central[name]["Properties"]["PolicyDocument"]
    inline = props("CloudFormationExecutionRole", BOOTSTRAP)["Policies"]
    assert props("MemberExecutionRole")["Policies"] == [
        p for p in inline if p["PolicyName"] == "dynamic-references"
    ]


# --- forwarding -----------------------------------------------------------------------------

# The central rules that hear every region: stack status, drift, and the change rules of
# this repository's templates (infra/bootstrap.yml's generated block, copied here).
FORWARDED = [r for r in ROUTES if r.in_every_region]


@pytest.mark.parametrize("route", FORWARDED, ids=lambda r: r.name)
def test_each_forwarding_rule_has_its_central_rules_pattern(route):
    """GIVEN a central rule that must hear every region (handlers/routes.py) WHEN the member
    template's rules are resolved THEN one has exactly its pattern: only what the central
    rules act on crosses (an event forwarded costs)."""
    patterns = [
        resolve(r["Properties"]["EventPattern"], VALUES)
        for r in resources("AWS::Events::Rule").values()
    ]
    assert patterns.count(route.event_pattern) == 1


def test_forwarding_rules_target_the_central_bus_only_through_the_forwarder_role():
    """GIVEN the member template's rules WHEN their targets are read THEN each has one: the
    central account's default bus in the home region, put on as ForwarderRole; there is one
    rule per forwarded route."""
    found = resources("AWS::Events::Rule")
    assert len(found) == len(FORWARDED)
    for rule in found.values():
        assert rule["Condition"] == "Forwards"
        (target,) = rule["Properties"]["Targets"]
        assert (target["Arn"], target["RoleArn"]) == (
            CENTRAL_BUS,
            {"Fn::GetAtt": ["ForwarderRole", "Arn"]},
        )
    assert resolve(CENTRAL_BUS, VALUES) == f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/default"


def test_forwarder_role_may_only_put_events_on_the_central_bus_for_this_account():
    """GIVEN ForwarderRole WHEN its trust and statements are read THEN EventBridge assumes it
    for this account's rules only, and it may put events on the central bus and nothing
    else."""
    (trust,) = props("ForwarderRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert [(actions(s), s["Resource"]) for s in statements("ForwarderRole")] == [
        (["events:PutEvents"], CENTRAL_BUS)
    ]


# --- the parameters agree with the bootstrap template's -------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("ManagedStackPrefix", "ManagedStackPrefix"),
        ("OutputsPathPrefix", "OutputsPathPrefix"),
        ("MemberRoleName", "MemberRoleName"),
        ("MemberExecutionRoleName", "MemberExecutionRoleName"),
        ("MemberPreviewRoleName", "MemberPreviewRoleName"),
    ],
)
def test_shared_parameters_have_the_bootstrap_templates_default_and_pattern(ours, theirs):
    """GIVEN a parameter both templates take WHEN declared THEN with the same default and
    pattern: an installation with the defaults matches its members'."""
    mine, central = template()["Parameters"][ours], template(BOOTSTRAP)["Parameters"][theirs]
    assert (mine.get("Default"), mine["AllowedPattern"]) == (
        central.get("Default"),
        central["AllowedPattern"],
    )


def test_the_external_id_takes_what_the_bootstrap_stack_may_give():
    """GIVEN ExternalId and the bootstrap stack's MemberExternalId WHEN their patterns are
    compared THEN they are the same (empty only allowed without roles, by the rule)."""
    assert (
        template()["Parameters"]["ExternalId"]["AllowedPattern"]
        == template(BOOTSTRAP)["Parameters"]["MemberExternalId"]["AllowedPattern"]
    )


# --- work-queue.yml -------------------------------------------------------------------------

# How one region's names differ between the two templates.
RENAMED = {"${AWS::StackName}": "${ReconcilerStackName}", "${AWS::Region}": "${TargetRegion}"}


def _renamed(node: Any) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"}:
            text = node["Fn::Sub"]
            for old, new in RENAMED.items():
                text = text.replace(old, new)
            return {"Fn::Sub": text}
        return {k: _renamed(v) for k, v in node.items()}
    return node


@pytest.mark.parametrize("queue", ["WorkQueue", "WorkDeadLetterQueue"])
def test_another_regions_queue_has_the_bootstrap_queues_settings(queue):
    """GIVEN the bootstrap template's work queue and its dead-letter queue WHEN the work
    queue template's are read THEN they are the same but for naming TargetRegion's."""
    assert props(queue, WORK_QUEUE) == _renamed(dict(props(queue, BOOTSTRAP)))


def test_another_regions_queue_feeds_the_stack_worker_with_a_cap_of_its_own():
    """GIVEN the two templates' event source mappings WHEN compared THEN the same but for the
    function (given by its ARN); the cap is the region's own parameter, with the same
    bounds."""
    (central,) = resources("AWS::Lambda::EventSourceMapping", BOOTSTRAP).values()
    (mine,) = resources("AWS::Lambda::EventSourceMapping", WORK_QUEUE).values()
    assert mine["Properties"] == {
        **central["Properties"],
        "FunctionName": {"Ref": "WorkerFunctionArn"},
    }
    bounds = ("Type", "Default", "MinValue", "MaxValue")
    mine_cap = template(WORK_QUEUE)["Parameters"]["RegionConcurrency"]
    central_cap = template(BOOTSTRAP)["Parameters"]["RegionConcurrency"]
    assert [mine_cap[k] for k in bounds] == [central_cap[k] for k in bounds]


def test_another_regions_queue_is_named_as_the_dispatch_looks_it_up():
    """GIVEN ReconcilerStackName gitops and TargetRegion ap-southeast-2 WHEN the queue's name
    is resolved THEN it is gitops-work-ap-southeast-2.fifo (WORK_QUEUE_PREFIX-<region>)."""
    values = {"ReconcilerStackName": "gitops", "TargetRegion": "ap-southeast-2"}
    name = resolve(props("WorkQueue", WORK_QUEUE)["QueueName"], values)
    assert name == "gitops-work-ap-southeast-2.fifo"
