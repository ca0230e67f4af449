"""The audit trail is append-only by the roles of infra/bootstrap.yml (issue 17, PCI DSS
10.3.2: audit logs protected from modification).

Every role of the template, with every policy it gets (inline, attached by
ManagedPolicyArns, or naming it in a managed policy's `Roles`), every managed policy
attached to none, and every resource policy is read. An Allow statement reaches the audit
table or the audit bucket when one of its resources, as an installation resolves it,
matches one of their ARNs with IAM's wildcards ("*" included); its actions are expanded
the same way ("dynamodb:*", "dynamodb:Delete*", "*") against AWS's action list. On those
resources an action is allowed only if it appends (dynamodb:PutItem, s3:PutObject) or only
reads (access level Read or List in AWS's service authorization reference); anything else
must be denied to that role by an unconditional Deny. Conditions on an Allow are not
weighed (a condition may hold), NotAction and NotResource are refused, and a policy the
template does not hold (an AWS managed one) cannot be read, so it is refused too.

PutItem is an append only because the code puts with attribute_not_exists
(reconciler/aws/audit.py): IAM has no condition key for a condition expression, so a role
with PutItem could overwrite an item. That limit is why the S3 copy sits under Object Lock
in COMPLIANCE mode (docs/change-control.md).
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from reconciler.iam_actions import expand, facts

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "bootstrap.yml"

STACK, REGION, ACCOUNT = "gitops-reconciler", "us-east-1", "123456789012"
# An installation with every optional part on, the audit bucket included.
VALUES = {
    "AWS::StackName": STACK,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AuditBucketName": "acme-audit",
    "DesiredStateRepository": "codecommit:desired-state",
    "GitHubTokenSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:gh-AbCdEf",
    "GitHubAppSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app-AbCdEf",
    "GitHubWebhookSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hook-AbCdEf",
}
# What the trail allows besides reading: appending.
APPENDS = {"dynamodb": "dynamodb:PutItem", "s3": "s3:PutObject"}  # compared in lower case
READ_ONLY = ("Read", "List")
# The issue's list of what must never be granted on the trail: each is refused by the rule
# above (test_the_rule_refuses_every_action_that_changes_or_removes_a_record).
FORBIDDEN = {
    "dynamodb": (
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLInsert",  # PartiQLSelect only reads
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
        "dynamodb:DeleteTable",
        "dynamodb:UpdateTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:RestoreTable*",
        "dynamodb:PutResourcePolicy",
        "dynamodb:DeleteResourcePolicy",
    ),
    "s3": (
        "s3:DeleteObject*",
        "s3:PutObjectRetention",
        "s3:PutObjectLegalHold",
        "s3:BypassGovernanceRetention",
        "s3:PutBucketObjectLockConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketVersioning",
        "s3:DeleteBucket",
    ),
}


# --- reading the template as an installation resolves it ---------------------------------------


@cache
def _loaded() -> str:
    return json.dumps(cfn_yaml.load(str(TEMPLATE)))


def template() -> dict[str, Any]:
    """A plain copy (a test may change it)."""
    return json.loads(_loaded())


class Unreadable(AssertionError):
    """A policy value this test cannot resolve: a failure, never a pass."""


def _physical_name(logical_id: str, resource: Mapping[str, Any], t: Mapping[str, Any]) -> str:
    props = resource.get("Properties") or {}
    for key in ("BucketName", "TableName"):
        if key in props:
            (name,) = _candidates(props[key], t)
            return name
    return f"{STACK}-{logical_id}-1A2B3C4D5E6F"  # CloudFormation's generated name


def _arn(logical_id: str, t: Mapping[str, Any]) -> str:
    resource = t["Resources"][logical_id]
    name = _physical_name(logical_id, resource, t)
    if resource["Type"] == "AWS::DynamoDB::Table":
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    if resource["Type"] == "AWS::S3::Bucket":
        return f"arn:aws:s3:::{name}"
    return f"arn:aws:{resource['Type'].split('::')[1].lower()}:{REGION}:{ACCOUNT}:{name}"


def _ref(name: str, t: Mapping[str, Any]) -> list[str]:
    if name == "AWS::NoValue":
        return []
    if name in VALUES:
        return [VALUES[name]]
    if name in t.get("Parameters", {}):
        return [str(t["Parameters"][name].get("Default", name))]
    if name in t["Resources"]:
        if t["Resources"][name]["Type"] == "AWS::S3::Bucket":
            return [_physical_name(name, t["Resources"][name], t)]
        return [name]
    raise Unreadable(f"!Ref {name}: neither a parameter nor a resource")


def _candidates(node: Any, t: Mapping[str, Any]) -> list[str]:
    """Every string `node` may resolve to (both branches of an Fn::If)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [value for item in node for value in _candidates(item, t)]
    if not (isinstance(node, dict) and len(node) == 1):
        raise Unreadable(f"cannot resolve {node!r}")
    ((key, arg),) = node.items()
    if key == "Ref":
        return _ref(arg, t)
    if key == "Fn::GetAtt":
        name, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        if attribute != "Arn":
            raise Unreadable(f"GetAtt {name}.{attribute} in a policy")
        return [_arn(name, t)]
    if key == "Fn::If":
        return _candidates(arg[1], t) + _candidates(arg[2], t)
    if key == "Fn::Sub":
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        names = sorted(set(re.findall(r"\$\{([^}!]+)\}", text)))
        choices = [[(name, v) for v in _variable(name, local, t)] for name in names]
        return [_substitute(text, dict(combo)) for combo in itertools.product(*choices)]
    if key == "Fn::Select":
        index, items = arg
        listed = _split(items, t)
        return [listed[int(index)]]
    raise Unreadable(f"cannot resolve {key}")


def _substitute(text: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\$\{([^}!]+)\}", lambda m: values[m[1]], text)


def _split(node: Any, t: Mapping[str, Any]) -> list[str]:
    if isinstance(node, dict) and "Fn::Split" in node:
        separator, text = node["Fn::Split"]
        (value,) = _candidates(text, t)
        return value.split(separator)
    return _candidates(node, t)


def _variable(name: str, local: Mapping[str, Any], t: Mapping[str, Any]) -> list[str]:
    if name in local:
        return _candidates(local[name], t)
    if "." in name:
        return _candidates({"Fn::GetAtt": name.split(".", 1)}, t)
    return _ref(name, t)


def _listed(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [node]


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A document's statements, every branch of an Fn::If taken."""
    found = []
    for statement in _listed(document.get("Statement") or []):
        if isinstance(statement, dict) and "Fn::If" in statement:
            branches = statement["Fn::If"][1:]
            found += _statements(
                {"Statement": [b for b in branches if b != {"Ref": "AWS::NoValue"}]}
            )
        else:
            found.append(statement)
    return found


# --- who holds which statements ------------------------------------------------------------------

PRINCIPALS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
# Resource policies: where they sit in the resource's properties.
RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::DynamoDB::Table": ("ResourcePolicy", "PolicyDocument"),
}


def holders(t: Mapping[str, Any]) -> Iterator[tuple[str, list[Mapping[str, Any]], list[str]]]:
    """(who, their statements, what cannot be read) for every principal, every managed
    policy attached to none, and every resource policy."""
    resources = t["Resources"]
    managed = {
        k: r
        for k, r in resources.items()
        if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
    }
    attached: set[str] = set()
    for name, principal in resources.items():
        if principal["Type"] not in PRINCIPALS:
            continue
        props = principal.get("Properties") or {}
        found, unreadable = [], []
        for inline in _branch_items(props.get("Policies") or []):
            found += _statements(inline["PolicyDocument"])
        for arn in _branch_items(props.get("ManagedPolicyArns") or []):
            if isinstance(arn, dict) and arn.get("Ref") in managed:
                attached.add(arn["Ref"])
                found += _statements(managed[arn["Ref"]]["Properties"]["PolicyDocument"])
            else:
                unreadable.append(f"{name}: managed policy {arn!r} is not in the template")
        kind = {"AWS::IAM::Role": "Roles", "AWS::IAM::User": "Users", "AWS::IAM::Group": "Groups"}
        for policy_name, policy in managed.items():
            if {"Ref": name} in _branch_items(
                policy["Properties"].get(kind[principal["Type"]]) or []
            ):
                attached.add(policy_name)
                found += _statements(policy["Properties"]["PolicyDocument"])
        yield name, found, unreadable
    for policy_name, policy in managed.items():
        if policy_name not in attached:
            yield policy_name, _statements(policy["Properties"]["PolicyDocument"]), []
    for name, resource in resources.items():
        path = RESOURCE_POLICIES.get(resource["Type"])
        document: Any = resource.get("Properties") or {}
        for key in path or ():
            document = document.get(key) if isinstance(document, dict) else None
        if path and document:
            yield f"{name} (resource policy)", _statements(document), []


def _branch_items(items: Any) -> list[Any]:
    found = []
    for item in _listed(items):
        if isinstance(item, dict) and "Fn::If" in item:
            found += [b for b in _branch_items(item["Fn::If"][1:]) if b != {"Ref": "AWS::NoValue"}]
        else:
            found.append(item)
    return found


# --- the rule ------------------------------------------------------------------------------------


def audit_arns(t: Mapping[str, Any]) -> dict[str, list[str]]:
    """Service -> the ARNs of the trail: the table and what lies under it (indexes,
    streams, backups, exports), the bucket and its objects."""
    table = _arn("AuditTable", t)
    bucket = _arn("AuditBucket", t)
    return {
        "dynamodb": [
            table,
            *(f"{table}/{kind}/x" for kind in ("index", "stream", "backup", "export")),
        ],
        "s3": [
            bucket,
            f"{bucket}/audit/2026/01/31/pci-db-prod/2026-01-31T10:00:00Z-ab.json",
            f"{bucket}/x",
        ],
    }


def _actions(statement: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for action in _listed(statement["Action"]):
        if action == "*":
            found |= expand("dynamodb:*") | expand("s3:*")
        else:
            found |= expand(str(action))
    return found


def allowed_on_trail(action: str) -> bool:
    action = action.lower()
    service = action.split(":")[0].lower()
    if action == APPENDS.get(service, "").lower():
        return True
    known = facts(action)
    return known is not None and known.access_level in READ_ONLY


def reaches(statement: Mapping[str, Any], t: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(action in lower case, ARN of the trail) pairs the statement names."""
    arns = audit_arns(t)
    patterns = _candidates(statement["Resource"], t)
    found = set()
    for action in _actions(statement):
        service = action.split(":")[0].lower()
        for arn in arns.get(service, []):
            if any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns):
                found.add((action.lower(), arn))
    return found


def violations(t: Mapping[str, Any]) -> list[str]:
    """What lets some principal change or remove an audit record; [] when nothing does."""
    found = []
    for who, statements, unreadable in holders(t):
        found += unreadable
        denied: set[tuple[str, str]] = set()
        for s in statements:
            if (
                s.get("Effect") == "Deny"
                and not s.get("Condition")
                and "Action" in s
                and "Resource" in s
            ):
                denied |= reaches(s, t)
        for s in statements:
            if s.get("Effect") != "Allow":
                continue
            sid = s.get("Sid", "?")
            if {"NotAction", "NotResource"} & set(s):
                found.append(
                    f"{who}.{sid}: NotAction/NotResource cannot be proven to spare the trail"
                )
                continue
            for action, arn in sorted(reaches(s, t) - denied):
                if not allowed_on_trail(action):
                    found.append(f"{who}.{sid}: {action} on {arn}")
    return found


def granted_on_trail(t: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(principal, action) for every action some principal is allowed on the trail."""
    return {
        (who, action)
        for who, statements, _ in holders(t)
        for s in statements
        if s.get("Effect") == "Allow" and "Action" in s
        for action, _ in reaches(s, t)
    }


# --- the proof -----------------------------------------------------------------------------------


def test_no_role_of_the_bootstrap_template_can_change_or_remove_an_audit_record():
    """GIVEN every role, managed policy and resource policy of infra/bootstrap.yml WHEN
    their statements are matched against the audit table and bucket THEN none allows more
    than appending (PutItem, PutObject) and reading."""
    found = violations(template())
    assert found == [], "the audit trail is not append-only:\n" + "\n".join(found)


def test_the_reconcile_functions_can_append_to_the_trail():
    """GIVEN the same reading WHEN the actions allowed on the trail are listed THEN the four
    functions that run a pass and the stack worker may PutItem and PutObject there (the
    reading sees the trail: the proof above is not vacuous)."""
    granted = granted_on_trail(template())
    for role in ("PushRole", "StackStatusRole", "DriftRole", "ScheduleRole", "StackWorkerRole"):
        assert {(role, "dynamodb:putitem"), (role, "s3:putobject")} <= granted, role
    assert not {who for who, _ in granted} & {"PreviewRole", "WebhookRole"}


def test_the_managed_stacks_role_is_denied_the_whole_trail():
    """GIVEN CloudFormationExecutionRole (its generated policy holds s3:PutBucketPolicy on
    "*" for the managed stacks' buckets) WHEN its statements are read THEN unconditional
    Denies cover every DynamoDB and S3 action on the trail."""
    t = template()
    (statements,) = [s for who, s, _ in holders(t) if who == "CloudFormationExecutionRole"]
    denied = set()
    for s in statements:
        if s["Effect"] == "Deny" and not s.get("Condition"):
            denied |= reaches(s, t)
    arns = audit_arns(t)
    for service, pattern in (("dynamodb", "dynamodb:*"), ("s3", "s3:*")):
        everything = {(a.lower(), arn) for a in expand(pattern) for arn in arns[service]}
        assert everything <= denied, service


@pytest.mark.parametrize("service", sorted(FORBIDDEN))
def test_the_rule_refuses_every_action_that_changes_or_removes_a_record(service):
    """GIVEN the issue's list of actions that update or delete records, or loosen the lock
    WHEN the rule judges each THEN none is allowed on the trail."""
    actions = {a for pattern in FORBIDDEN[service] for a in expand(pattern)}
    assert len(actions) > len(FORBIDDEN[service])  # the wildcards expanded
    assert sorted(a for a in actions if allowed_on_trail(a)) == []


# --- the proof fails on a regression (each a statement someone might add) ------------------------

AUDIT_TABLE_ARN = {"Fn::GetAtt": ["AuditTable", "Arn"]}
AUDIT_OBJECTS = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${AuditBucket}/*"}
ANY_TABLE = {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*"}


def _allow(action: Any, resource: Any, sid: str = "Regression") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}


def _add_to_pass_policy(t: dict[str, Any], statement: dict[str, Any]) -> None:
    t["Resources"]["ReconcilePassPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        statement
    )


def _add_inline(t: dict[str, Any], role: str, statement: dict[str, Any]) -> None:
    policies = t["Resources"][role]["Properties"]["Policies"]
    policies[0]["PolicyDocument"]["Statement"].append(statement)


def _condition_on_the_deny(t: dict[str, Any]) -> None:
    guard = t["Resources"]["AuditBucketGuardPolicy"]["Properties"]["PolicyDocument"]
    guard["Statement"][0]["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}


def _aws_managed_policy(t: dict[str, Any]) -> None:
    t["Resources"]["DriftRole"]["Properties"]["ManagedPolicyArns"].append(
        "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
    )


def _bucket_policy(t: dict[str, Any]) -> None:
    t["Resources"]["AuditBucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "AuditBucket"},
            "PolicyDocument": {"Statement": [_allow("s3:DeleteObjectVersion", AUDIT_OBJECTS)]},
        },
    }


REGRESSIONS = {
    "UpdateItem on the table": lambda t: _add_to_pass_policy(
        t, _allow("dynamodb:UpdateItem", AUDIT_TABLE_ARN)
    ),
    "DeleteItem in a list": lambda t: _add_inline(
        t, "PushRole", _allow(["dynamodb:GetItem", "dynamodb:DeleteItem"], AUDIT_TABLE_ARN)
    ),
    "dynamodb:* on *": lambda t: _add_to_pass_policy(t, _allow("dynamodb:*", "*")),
    "dynamodb:Delete* on every table": lambda t: _add_inline(
        t, "ScheduleRole", _allow("dynamodb:Delete*", ANY_TABLE)
    ),
    "PartiQL on the table": lambda t: _add_inline(
        t, "DriftRole", _allow("dynamodb:PartiQLUpdate", AUDIT_TABLE_ARN)
    ),
    "* on *": lambda t: _add_inline(t, "PreviewRole", _allow("*", "*")),
    "DeleteObjectVersion on the bucket": lambda t: _add_inline(
        t, "StackStatusRole", _allow("s3:DeleteObjectVersion", AUDIT_OBJECTS)
    ),
    "PutObjectRetention on *": lambda t: _add_to_pass_policy(
        t, _allow("s3:PutObjectRetention", "*")
    ),
    "lifecycle via Fn::If": lambda t: _add_to_pass_policy(
        t,
        {
            "Fn::If": [
                "HasAuditBucket",
                _allow("s3:PutLifecycleConfiguration", "arn:aws:s3:::acme-*"),
                {"Ref": "AWS::NoValue"},
            ]
        },
    ),
    "NotAction": lambda t: _add_inline(
        t,
        "WebhookRole",
        {"Sid": "Regression", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    ),
    "a condition on the execution role's Deny": _condition_on_the_deny,
    "an AWS managed policy": _aws_managed_policy,
    "a bucket policy allowing deletes": _bucket_policy,
}


@pytest.mark.parametrize("change", REGRESSIONS)
def test_the_proof_fails_when_a_role_could_change_or_remove_a_record(change):
    """GIVEN infra/bootstrap.yml with one statement added (or a Deny weakened) that would
    let some principal change or remove an audit record WHEN the proof runs on it THEN it
    reports that principal."""
    changed = copy.deepcopy(template())
    REGRESSIONS[change](changed)

    assert violations(changed) != []
