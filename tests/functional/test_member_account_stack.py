"""infra/member-account.yml created on moto as a StackSet would create it: one stack per
region of a member account. The named roles are made once, in the home region; every
region gets its forwarding rules to the central bus, with a role of its own."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from handlers.routes import change_rules
from localaws import extensions
from reconciler.change_rules import watched
from reconciler.desired import load_desired_state

extensions.install_all()

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "member-account.yml"
CENTRAL, HOME, OTHER = "111122223333", "us-east-1", "eu-west-1"
CENTRAL_BUS = f"arn:aws:events:{HOME}:{CENTRAL}:event-bus/default"
NAMED = (
    "gitops-reconciler-member",
    "gitops-reconciler-member-preview",
    "gitops-reconciler-member-execution",
)
PARAMETERS = {
    "CentralAccountId": CENTRAL,
    "HomeRegion": HOME,
    "ExternalId": "acme-gitops-2026",
}


def create(region: str, **parameters: str) -> dict:
    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(
        StackName="gitops-member",
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v}
            for k, v in {**PARAMETERS, **parameters}.items()
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    return cloudformation.describe_stacks(StackName="gitops-member")["Stacks"][0]


def roles() -> dict[str, dict]:
    listed = boto3.client("iam").list_roles()["Roles"]
    return {r["RoleName"]: r for r in listed}


# The stack status and drift rules, and one per change rule of this repository's templates.
FORWARDED = 2 + len(change_rules(watched(load_desired_state(ROOT))))


def forwarding(region: str) -> list[tuple[dict, list[dict]]]:
    events = boto3.client("events", region_name=region)
    return [
        (rule, events.list_targets_by_rule(Rule=rule["Name"])["Targets"])
        for rule in events.list_rules()["Rules"]
    ]


def test_instances_in_two_regions_make_the_roles_once_and_forward_from_both(aws):
    """GIVEN a member account WHEN the template is created in its home region and in another
    (as a StackSet does) THEN both complete, the three named roles exist once, trusted as the
    template says, and each region has its forwarding rules (stack status, drift and the
    change rules) putting on the central bus, each region with its own forwarder role."""
    home = create(HOME)
    other = create(OTHER)

    assert (home["StackStatus"], other["StackStatus"]) == ("CREATE_COMPLETE", "CREATE_COMPLETE")
    found = roles()
    assert set(NAMED) <= set(found)
    for name in ("gitops-reconciler-member", "gitops-reconciler-member-preview"):
        trust = found[name]["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        assert trust["Statement"][0]["Condition"]["StringEquals"] == {
            "sts:ExternalId": "acme-gitops-2026"
        }
    outputs = {o["OutputKey"] for o in home.get("Outputs", [])}
    assert outputs == {"MemberRoleArn", "MemberPreviewRoleArn", "MemberExecutionRoleArn"}
    assert not other.get("Outputs")
    forwarder_roles = set()
    for region in (HOME, OTHER):
        rules = forwarding(region)
        assert len(rules) == FORWARDED, region
        for _, targets in rules:
            (target,) = targets
            assert target["Arn"] == CENTRAL_BUS
            forwarder_roles.add(target["RoleArn"])
    assert len(forwarder_roles) == 2  # one per region: instances never share a role


def test_forwarding_only_makes_no_role_but_the_forwarders(aws):
    """GIVEN CreateRoles=false, no external id (what `reconciler bootstrap --regions` deploys
    in the central account's other regions) WHEN created THEN it completes with the
    forwarding rules and their role, and no named role."""
    stack = create(OTHER, CreateRoles="false", ExternalId="")

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert not set(NAMED) & set(roles())
    assert len(forwarding(OTHER)) == FORWARDED
