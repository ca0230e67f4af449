"""infra/bootstrap.yml, read as text: the contract other code relies on (parameters,
resources, environment, outputs), the EventBridge rules of handlers/routes.py, and least
privilege: each function's role grants exactly the calls its handler's code makes (the
table CALLS), each scoped to its resources, with a `*` resource only where the API offers
nothing narrower and the template says so on that line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import cfn_yaml

from handlers.metrics import NAMESPACE
from handlers.routes import API_CALL, CHANGE, DEFAULT_SCHEDULE, MAX_PATTERN, rules
from reconciler.change_rules import watched
from reconciler.desired import load_desired_state

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "bootstrap.yml"
STAR_COMMENT = "# no resource-level permissions:"
# The rules of handlers/routes.py for this repository's templates: the change rules watch
# the calls that can change their resource types (reconciler.change_rules).
ROUTES = rules("pci-db-", "my-repo", watched=watched(load_desired_state(ROOT)))

# Function -> its handler module under handlers/.
FUNCTIONS = {
    "PushFunction": "push",
    "StackStatusFunction": "stack_status",
    "DriftFunction": "drift",
    "ScheduleFunction": "schedule",
    "WebhookFunction": "webhook",
    "PreviewFunction": "preview",
    "StackWorkerFunction": "stack_worker",  # SQS-invoked: its work queues' dead letters
    "ChangeFunction": "change",
}
EVENTBRIDGE_INVOKED = (
    "PushFunction",
    "StackStatusFunction",
    "DriftFunction",
    "ScheduleFunction",
    "PreviewFunction",
    "ChangeFunction",
)

# CloudFormation assumes this role to build the managed stacks' resources: its policy is
# computed from the resource schemas (reconciler.iam_policy), checked by its own tests
# below; the call-by-call least-privilege checks walk the function roles.
EXEMPT_ROLES = {"CloudFormationExecutionRole"}

# APIs that accept no resource narrower than "*" (AWS's Service Authorization Reference).
NO_RESOURCE_LEVEL = frozenset(
    {
        "cloudformation:DescribeStacks",  # without a StackName it lists every stack
        "ssm:DescribeParameters",
        "rds:DescribeDBEngineVersions",
        "rds:DescribeDBMajorEngineVersions",
        "elasticache:DescribeCacheEngineVersions",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "kms:ListAliases",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "logs:DescribeIndexPolicies",
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcEncryptionControls",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcs",
        "ec2:DescribeVpnGateways",
    }
)

# --- what each handler's code calls -------------------------------------------------------

# Every function: the Lambda runtime and Powertools.
RUNTIME = {
    "logs:CreateLogStream",  # Lambda writes the function's log to its log group
    "logs:PutLogEvents",
    "xray:PutTraceSegments",  # handlers.tracing (Tracing parameter Active, the default)
    "xray:PutTelemetryRecords",
}
IDEMPOTENCY = {
    "dynamodb:DescribeTable",  # reconciler.aws.idempotency.ensure_table
    "dynamodb:GetItem",  # Powertools DynamoDBPersistenceLayer._get_record
    "dynamodb:PutItem",  # ..._put_record
    "dynamodb:UpdateItem",  # ..._update_record
    "dynamodb:DeleteItem",  # ..._delete_record (work that raised keeps no record)
}
# An EventBridge-invoked function: Lambda dead-letters an event once its retries are used up.
DEAD_LETTER = {"sqs:SendMessage"}
# One reconcile pass (reconciler.triggers.reconcile_head): push, stack_status, schedule
# and drift each may run one, and the stack worker one stack's step of it, so each calls
# all of this.
PASS = {
    # aws.cloudformation.CloudFormation:
    "cloudformation:DescribeStacks",  # list_stacks (reconcile.observe), describe_stack
    "cloudformation:GetTemplate",  # get_template (plan.plan_all)
    "cloudformation:CreateChangeSet",  # create_change_set
    "cloudformation:DescribeChangeSet",  # describe_change_set and the create_complete waiter
    "cloudformation:ExecuteChangeSet",  # execute_change_set
    "cloudformation:DeleteChangeSet",  # delete_change_set (a failed or blocked change set)
    "cloudformation:UpdateStack",  # update_tags (a change set without resource changes)
    "cloudformation:ListStackResources",  # retained_resources (reconcile._recreate)
    "cloudformation:DeleteStack",  # delete_stack (reconcile._recreate)
    "cloudformation:ListStackRefactors",  # find_stack_refactor (reconcile._run_refactor)
    "cloudformation:CreateStackRefactor",  # create_stack_refactor
    "cloudformation:DescribeStackRefactor",  # describe_stack_refactor
    "cloudformation:ListStackRefactorActions",  # stack_refactor_actions
    "cloudformation:ExecuteStackRefactor",  # execute_stack_refactor
    "iam:PassRole",  # RoleARN on CreateChangeSet, UpdateStack and DeleteStack
    # aws.catalog.AwsCatalog (validation, online):
    "rds:DescribeDBEngineVersions",  # _db_engine_version
    "rds:DescribeDBMajorEngineVersions",  # _db_lifecycles
    "elasticache:DescribeCacheEngineVersions",  # _cache_engine_versions
    "secretsmanager:DescribeSecret",  # _secret_exists (dynamic references, DYN003)
    # aws.dynamodb.DynamoStatusStore:
    "dynamodb:Scan",  # all
    "dynamodb:GetItem",  # get
    "dynamodb:UpdateItem",  # put, acquire, release, defer
    # aws.audit.DynamoAuditLog.append (RECONCILER_AUDIT_TABLE, RECONCILER_AUDIT_BUCKET):
    "dynamodb:PutItem",  # _put_item, with attribute_not_exists: append only
    "s3:PutObject",  # _put_copy, the Object Lock copy (AuditBucketName given)
    # aws.notifications:
    "events:PutEvents",  # EventBridgeNotifier (NOTIFY_EVENT_BUS)
    "sns:Publish",  # SnsNotifier (NOTIFY_TOPIC_ARN)
    # The desired-state source (aws.services.source_from_env), by repository kind:
    # github: the token, through aws.secrets.secret_string; push and stack status also the
    # GitHub App's credentials (GitHubAppSecretArn), for the deploy status they report
    "secretsmanager:GetSecretValue",
    "codecommit:GetBranch",  # codecommit: aws.codecommit.CodeCommitSource.head_revision
    "codecommit:GetFolder",  # CodeCommitSource._walk
    "codecommit:GetCommit",  # CodeCommitSource.commit: the author, for change control
    "codecommit:GetFile",  # CodeCommitSource._file
    # A stack file's account: the member role of that account (MEMBER_EXTERNAL_ID).
    "sts:AssumeRole",
    # aws.ssm.SsmOutputs.publish: the stack status function when an operation ends, and any
    # pass finding a stack up to date whose outputs SSM lacks (reconcile._up_to_date).
    "ssm:DescribeParameters",  # SsmOutputs._owned
    "ssm:GetParameters",  # SsmOutputs._values
    "ssm:PutParameter",  # SsmOutputs.publish, _create
    "ssm:AddTagsToResource",  # PutParameter with Tags (SsmOutputs._create)
    "ssm:DeleteParameters",  # SsmOutputs.publish (outputs gone from the stack)
    "ssm:ListTagsForResource",  # SsmOutputs._owner (a name taken by another owner)
}
PASS |= RUNTIME | IDEMPOTENCY
# Fan-out (WORK_QUEUE_PREFIX): a pass puts one work item per stack on its region's queue.
DISPATCH = {
    "sqs:GetQueueUrl",  # the queue of the stack's region, by name (<prefix>-<region>.fifo)
    "sqs:SendMessage",  # the work item
}
# handlers/stack_worker.py, consuming its queues through their event source mappings.
CONSUME = {
    "sqs:ReceiveMessage",  # the event source mapping polls as the function's role
    "sqs:DeleteMessage",  # ... and deletes the items the worker did not report failed
    "sqs:GetQueueAttributes",  # ... and reads the queue's settings
    "sqs:ChangeMessageVisibility",  # a retried item comes back sooner than the timeout
    "sqs:GetQueueUrl",  # ... the queue's URL, from the record's eventSourceARN
}
# DetectStackDrift reads every resource of the stack with the caller's credentials, not
# the stack's service role: the read handlers' permissions of the types in templates/
# (cfn-lint's resource schemas), checked against them below.
DRIFT_DETECTION_READS = {
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEncryptionControls",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpnGateways",
    "elasticache:DescribeCacheSubnetGroups",
    "elasticache:DescribeReplicationGroups",
    "elasticache:ListTagsForResource",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionRecursionConfig",
    "lambda:GetFunctionScalingConfig",
    "lambda:GetPolicy",
    "lambda:GetRuntimeManagementConfig",
    "logs:DescribeIndexPolicies",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetDataProtectionPolicy",
    "logs:ListTagsForResource",
    "rds:DescribeDBInstances",
    "rds:DescribeDBParameterGroups",
    "rds:DescribeDBParameters",
    "rds:DescribeDBSubnetGroups",
    "rds:DescribeOptionGroups",
    "rds:ListTagsForResource",
    "secretsmanager:DescribeSecret",
}
# Starting drift detection (DriftDetectionPolicy): the schedule every stack
# (drift_actions.start_detections), the change function a stack whose resource a call
# touched (change_detection.start), and the stack status and drift functions a stack
# changed during its operation or detection (change_detection.detect_if_changed).
DETECTION = {
    "cloudformation:DetectStackDrift",  # CloudFormation.detect_drift
    "cloudformation:DetectStackResourceDrift",  # resource_drift; authorized with DetectStackDrift
} | DRIFT_DETECTION_READS
# Read-handler permissions the schedule role is not given, and why.
DRIFT_READS_LEFT_OUT = {
    "secretsmanager:GetSecretValue": "secret values: the database passwords",
    "kms:Decrypt": "decrypts secret values and function environments",
    "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation": "no service-network endpoint",
}
CALLS: dict[str, set[str]] = {
    "push": PASS
    | DEAD_LETTER
    | DISPATCH
    | {"events:PutEvents"},  # forward_push: the stacks handed on near the timeout
    "stack_status": PASS | DEAD_LETTER | DISPATCH | DETECTION,
    "schedule": PASS
    | DEAD_LETTER
    | DISPATCH
    | DETECTION
    | {"ssm:GetParametersByPath"},  # outputs_drift.repair_outputs_drift: SsmOutputs.under
    "drift": PASS
    | DEAD_LETTER
    | DISPATCH
    | DETECTION
    | {
        "cloudformation:DescribeStackResourceDrifts",  # CloudFormation.resource_drifts
        # aws.live_settings.LiveSettings (drift_actions.pci_violations):
        "rds:DescribeDBInstances",  # LiveSettings._database
        "elasticache:DescribeReplicationGroups",  # LiveSettings._cache
        "ec2:DescribeSecurityGroups",  # LiveSettings._security_groups
        "logs:DescribeLogGroups",  # LiveSettings._log_group
        "kms:DescribeKey",  # LiveSettings._key
        "kms:GetKeyRotationStatus",  # LiveSettings._key
    },
    # One stack's step; it puts no item itself (the stack status event of its stack does).
    "stack_worker": PASS | CONSUME,
    # reconciler.preview.run_preview: a pass's reads, and change sets it never executes.
    "preview": RUNTIME
    | IDEMPOTENCY
    | {
        "sqs:SendMessage",  # Lambda dead-letters an event once its retries are used up
        "cloudformation:DescribeStacks",  # reconcile.observe
        "cloudformation:GetTemplate",  # plan.plan_all
        "cloudformation:CreateChangeSet",  # reconcile.preview
        "cloudformation:DescribeChangeSet",  # reconcile.preview
        "cloudformation:DeleteChangeSet",  # reconcile.preview
        "iam:PassRole",  # RoleARN on CreateChangeSet
        "rds:DescribeDBEngineVersions",  # aws.catalog.AwsCatalog (validation)
        "rds:DescribeDBMajorEngineVersions",
        "elasticache:DescribeCacheEngineVersions",
        "secretsmanager:DescribeSecret",  # DYN003
        "dynamodb:Scan",  # status.all: regions, drifted stacks
        "secretsmanager:GetSecretValue",  # the GitHub token and App (source and reporter)
        "sts:AssumeRole",  # a stack file's account: its preview role (MEMBER_ROLE_NAME)
    },
    "webhook": RUNTIME
    | IDEMPOTENCY
    | {
        "secretsmanager:GetSecretValue",  # webhook._webhook_secret via aws.secrets.secret_string
        "events:PutEvents",  # aws.push_events.forward_push (PUSH_EVENT_BUS)
    },
    # reconciler.change_detection.on_api_call: no pass, no source, no notification.
    "change": RUNTIME
    | IDEMPOTENCY
    | DEAD_LETTER
    | DETECTION
    | {
        "cloudformation:DescribeStackResources",  # CloudFormation.owner_of
        "cloudformation:DescribeStacks",  # describe_stack (change_detection.start)
        "dynamodb:Scan",  # status.all (the call's region and account hold a managed stack?)
        "dynamodb:GetItem",  # status.get
        "dynamodb:UpdateItem",  # status.note_change, claim_detection, put
        "dynamodb:PutItem",  # aws.audit.DynamoAuditLog.append: the out-of-band call
        "s3:PutObject",  # ... and its Object Lock copy (AuditBucketName given)
        "sts:AssumeRole",  # a call in a member account: its MemberRoleName (services.at)
    },
}

# --- the contract ------------------------------------------------------------------------

PARAMETERS = {
    "CodeBucket": None,
    "ReconcilerCodeKey": None,
    "DesiredStateRepository": None,
    "DesiredStateBranch": "main",
    "ManagedStackPrefix": "pci-db-",
    "ScheduleRate": DEFAULT_SCHEDULE,
    "NotificationEmail": "",
    "GitHubTokenSecretArn": "",
    "GitHubAppSecretArn": "",
    "GitHubWebhookSecretArn": "",
    "LogRetentionDays": 365,
    "DriftMaxConcurrent": 5,
    "Tracing": "Active",
    "AuditBucketName": "",
    "AuditRetentionDays": 365,
    "RegionConcurrency": 10,
    "OrganizationId": "",
    "MemberExternalId": "",
    "MemberRoleName": "gitops-reconciler-member",
    "MemberExecutionRoleName": "gitops-reconciler-member-execution",
    "MemberPreviewRoleName": "gitops-reconciler-member-preview",
}
RESOURCES = {
    "StatusTable": "AWS::DynamoDB::Table",
    "IdempotencyTable": "AWS::DynamoDB::Table",
    "AuditTable": "AWS::DynamoDB::Table",
    "AuditBucket": "AWS::S3::Bucket",
    "NotificationBus": "AWS::Events::EventBus",
    "NotificationTopic": "AWS::SNS::Topic",
    "CloudFormationExecutionRole": "AWS::IAM::Role",
    "WebhookUrl": "AWS::Lambda::Url",
    "WorkQueue": "AWS::SQS::Queue",
    "WorkDeadLetterQueue": "AWS::SQS::Queue",
    "StackWorkerEventSourceMapping": "AWS::Lambda::EventSourceMapping",
    "WorkDispatchPolicy": "AWS::IAM::ManagedPolicy",
    "DriftDetectionPolicy": "AWS::IAM::ManagedPolicy",
    "OrganizationBusPolicy": "AWS::Events::EventBusPolicy",
    "OrganizationChangeBusPolicy": "AWS::Events::EventBusPolicy",
    **{fn: "AWS::Lambda::Function" for fn in FUNCTIONS},
    **{fn.replace("Function", "Role"): "AWS::IAM::Role" for fn in FUNCTIONS},
    **{fn.replace("Function", "LogGroup"): "AWS::Logs::LogGroup" for fn in FUNCTIONS},
    **{fn.replace("Function", "DeadLetterQueue"): "AWS::SQS::Queue" for fn in EVENTBRIDGE_INVOKED},
}
OUTPUTS = (
    "WebhookUrl",
    "StatusTableName",
    "IdempotencyTableName",
    "AuditTableName",
    "AuditBucketName",
    "NotificationBusName",
    "NotificationTopicArn",
    "CloudFormationExecutionRoleArn",
    "WorkQueueUrl",
    *(f"{fn}Arn" for fn in FUNCTIONS),
)
ENVIRONMENT = {
    "DESIRED_STATE_REPOSITORY": {"Ref": "DesiredStateRepository"},
    "DESIRED_STATE_BRANCH": {"Ref": "DesiredStateBranch"},
    "RECONCILER_TABLE": {"Ref": "StatusTable"},
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "NOTIFY_EVENT_BUS": {"Ref": "NotificationBus"},
    "NOTIFY_TOPIC_ARN": {"Ref": "NotificationTopic"},
    "CLOUDFORMATION_ROLE_ARN": {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]},
    "RECONCILER_AUDIT_TABLE": {"Ref": "AuditTable"},
    "RECONCILER_AUDIT_BUCKET": {
        "Fn::If": ["HasAuditBucket", {"Ref": "AuditBucket"}, {"Ref": "AWS::NoValue"}]
    },
    "GITHUB_TOKEN_SECRET": {
        "Fn::If": ["HasGitHubToken", {"Ref": "GitHubTokenSecretArn"}, {"Ref": "AWS::NoValue"}]
    },
    "POWERTOOLS_SERVICE_NAME": "gitops-reconciler",
    "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    # Tracing PassThrough: no Tracer, no X-Ray SDK (tests/unit/test_tracing_template.py)
    "POWERTOOLS_TRACE_DISABLED": {
        "Fn::If": ["TracingPassThrough", "true", {"Ref": "AWS::NoValue"}]
    },
}
# The GitHub App's secret goes only to the functions that report to GitHub
# (handlers.runtime.github_reporter): the preview, a push's and a settled stack's status.
APP_SECRET = {
    "GITHUB_APP_SECRET": {
        "Fn::If": ["HasGitHubApp", {"Ref": "GitHubAppSecretArn"}, {"Ref": "AWS::NoValue"}]
    }
}
# The functions that run a pass or a stack's step: where work items go, and how a stack
# file's account is reached.
FANOUT = {
    "WORK_QUEUE_PREFIX": {"Fn::Sub": "${AWS::StackName}-work"},
    "MEMBER_EXTERNAL_ID": {"Ref": "MemberExternalId"},
    "MEMBER_EXECUTION_ROLE_NAME": {"Ref": "MemberExecutionRoleName"},
}
ENVIRONMENT_OF = {
    "PushFunction": {"PUSH_EVENT_BUS": "default", **APP_SECRET, **FANOUT},
    # A preview reaches a member stack through the member account's preview role, never
    # the stack file's (reconciler.aws.accounts: MEMBER_ROLE_NAME).
    "PreviewFunction": {
        **APP_SECRET,
        "MEMBER_EXTERNAL_ID": {"Ref": "MemberExternalId"},
        "MEMBER_EXECUTION_ROLE_NAME": {"Ref": "MemberExecutionRoleName"},
        "MEMBER_ROLE_NAME": {"Ref": "MemberPreviewRoleName"},
    },
    "StackStatusFunction": {**APP_SECRET, **FANOUT},
    "DriftFunction": FANOUT,
    "ScheduleFunction": {"DRIFT_MAX_CONCURRENT": {"Ref": "DriftMaxConcurrent"}, **FANOUT},
    "StackWorkerFunction": {**APP_SECRET, **FANOUT},
    # No WORK_QUEUE_PREFIX: the change function runs no pass. RECONCILER_ROLES: below.
    "ChangeFunction": {
        "MEMBER_EXTERNAL_ID": {"Ref": "MemberExternalId"},
        "MEMBER_EXECUTION_ROLE_NAME": {"Ref": "MemberExecutionRoleName"},
        "RECONCILER_ROLES": {
            "Fn::Join": [
                ",",
                [
                    *({"Ref": r} for r in ("PushRole", "PreviewRole", "StackStatusRole")),
                    *({"Ref": r} for r in ("DriftRole", "ScheduleRole", "StackWorkerRole")),
                    {"Ref": "ChangeRole"},
                    {"Fn::If": ["HasWebhook", {"Ref": "WebhookRole"}, {"Ref": "ChangeRole"}]},
                    {"Ref": "CloudFormationExecutionRole"},
                    *({"Ref": f"Member{r}RoleName"} for r in ("", "Execution", "Preview")),
                ],
            ]
        },
    },
    "WebhookFunction": {
        "GITHUB_WEBHOOK_SECRET": {"Ref": "GitHubWebhookSecretArn"},
        "PUSH_EVENT_BUS": "default",
    },
}
# Every work queue of the installation: this region's, and one per other region
# (infra/work-queue.yml), all in this region.
WORK_QUEUES = {
    "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-work-*"
}
MEMBER_ROLE = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
MEMBER_PREVIEW_ROLE = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberPreviewRoleName}"}
STACK_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/"
    "${ManagedStackPrefix}*/*"
}
# A CodeCommit installation named "gitops" managing pci-db-* stacks.
VALUES = {
    "AWS::StackName": "gitops",
    "AWS::Partition": "aws",
    "ManagedStackPrefix": "pci-db-",
    "DesiredStateRepository": "codecommit:my-repo",
    "ScheduleRate": DEFAULT_SCHEDULE,
}


# --- reading the template ------------------------------------------------------------------


@cache
def template() -> Mapping[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


def resources(of_type: str | None = None) -> dict[str, Mapping[str, Any]]:
    found = template()["Resources"]
    return {k: v for k, v in found.items() if of_type is None or v["Type"] == of_type}


def props(logical_id: str) -> Mapping[str, Any]:
    return template()["Resources"][logical_id].get("Properties", {})


def resolve(node: Any, values: Mapping[str, Any]) -> Any:
    """The intrinsic functions the rules and conditions use, evaluated for `values`."""
    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref":
            return values[arg]
        if key == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            names = {**values, **{k: resolve(v, values) for k, v in local.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(names[m[1]]), text)
        if key == "Fn::Select":
            return resolve(arg[1], values)[int(arg[0])]
        if key == "Fn::Split":
            return resolve(arg[1], values).split(arg[0])
        if key == "Fn::Equals":
            return resolve(arg[0], values) == resolve(arg[1], values)
        if key == "Fn::Not":
            return not resolve(arg[0], values)
    return {key: resolve(value, values) for key, value in node.items()}


def condition(name: str, values: Mapping[str, Any]) -> bool:
    return resolve(template()["Conditions"][name], values)


def _listed(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [node]


def _branches(statements: list[Any]) -> Iterator[Mapping[str, Any]]:
    """Statements, each branch of an Fn::If taken (every condition true)."""
    for statement in statements:
        if "Fn::If" in statement:
            yield from _branches(
                [b for b in statement["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}]
            )
        else:
            yield statement


def statements(role: str) -> list[Mapping[str, Any]]:
    """Every statement the role gets: inline, its ManagedPolicyArns, and managed policies
    that name it in `Roles`."""
    found: list[Any] = []
    for policy in props(role).get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    attached = {arn["Ref"] for arn in props(role).get("ManagedPolicyArns", [])}
    for name, managed in resources("AWS::IAM::ManagedPolicy").items():
        if name in attached or {"Ref": role} in managed["Properties"].get("Roles", []):
            found += managed["Properties"]["PolicyDocument"]["Statement"]
    return list(_branches(found))


def actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in _listed(statement["Action"])]


def role_of(function: str) -> str:
    return props(function)["Role"]["Fn::GetAtt"][0]


def granted(role: str) -> set[str]:
    return {action for s in statements(role) for action in actions(s)}


def star_resource_problems(statement: Mapping[str, Any], lines: list[str]) -> list[str]:
    """Why a statement's "*" resource is not allowed: its YAML line lacks the comment, or
    an action of it has resource-level permissions."""
    problems = []
    for resource in _listed(statement["Resource"]):
        if resource != "*":
            continue
        line = lines[resource.start_mark.line]
        if STAR_COMMENT not in line:
            problems.append(f"line {resource.start_mark.line + 1}: '*' without {STAR_COMMENT!r}")
        scopable = [a for a in actions(statement) if a not in NO_RESOURCE_LEVEL]
        problems += [f"{a} has resource-level permissions" for a in scopable]
    return problems


FUNCTION_ROLES = sorted(role_of(fn) for fn in FUNCTIONS)
ALL_STATEMENTS = [(role, s) for role in FUNCTION_ROLES for s in statements(role)]


def _statement_id(item: tuple[str, Mapping[str, Any]]) -> str:
    return f"{item[0]}.{item[1].get('Sid', '?')}"


# --- lint and shape --------------------------------------------------------------------------


def test_cfn_lint_reports_nothing_not_even_informational():
    """GIVEN the bootstrap template WHEN cfn-lint checks it in the demo's regions, with its
    informational rules too THEN it reports nothing."""
    matches = lint_file(
        TEMPLATE, ManualArgs(regions=["us-east-1", "eu-central-1"], include_checks=["I"])
    )
    assert [f"{m.linenumber}: {m.rule.id} {m.message}" for m in matches] == []


def test_template_is_plain_cloudformation_without_transform():
    """GIVEN the bootstrap template WHEN its top level is read THEN it has no Transform
    (no SAM), so it deploys on the local AWS too."""
    assert "Transform" not in template()
    assert not [k for k, v in resources().items() if v["Type"].startswith("AWS::Serverless")]


@pytest.mark.parametrize("name", PARAMETERS)
def test_contract_parameter_is_declared_with_its_default(name):
    """GIVEN the contract's parameters WHEN the template declares one THEN its default is
    the contract's (none for the required ones)."""
    declared = template()["Parameters"][name]
    assert declared.get("Default") == PARAMETERS[name]


@pytest.mark.parametrize("logical_id", RESOURCES)
def test_contract_resource_is_declared_with_its_type(logical_id):
    """GIVEN the contract's logical ids WHEN the template declares one THEN with its type."""
    assert resources()[logical_id]["Type"] == RESOURCES[logical_id]


def test_contract_outputs_are_declared():
    """GIVEN the contract's outputs WHEN the template's outputs are listed THEN each is."""
    assert sorted(template()["Outputs"]) == sorted(OUTPUTS)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("github:octo/desired-state", True),
        ("codecommit:desired-state", True),
        ("https://github.com/octo/desired-state", False),  # the Lambda runtime has no git
        ("github:octo", False),
        ("codecommit:", False),
        ("", False),
    ],
)
def test_repository_parameter_accepts_only_the_sources_lambda_can_read(value, accepted):
    """GIVEN DesiredStateRepository's AllowedPattern WHEN a value is matched THEN only
    github:OWNER/NAME and codecommit:NAME pass."""
    pattern = template()["Parameters"]["DesiredStateRepository"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


@pytest.mark.parametrize(("value", "accepted"), [("pci-db-", True), ("", False), ("pci*", False)])
def test_stack_prefix_parameter_refuses_empty_and_wildcards(value, accepted):
    """GIVEN ManagedStackPrefix's AllowedPattern WHEN a value is matched THEN an empty
    prefix (every stack of the account) and a wildcard are refused."""
    pattern = template()["Parameters"]["ManagedStackPrefix"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_runs_its_handler_on_python313_x86_64_traced_as_the_parameter_says(function):
    """GIVEN a function WHEN its properties are read THEN it runs its handler module from
    the uploaded zip on python3.13, x86_64, with X-Ray tracing as the Tracing parameter
    says (Active by default)."""
    p = props(function)
    assert p["Handler"] == f"handlers.{FUNCTIONS[function]}.handler"
    assert (p["Runtime"], p["Architectures"], p["TracingConfig"]) == (
        "python3.13",
        ["x86_64"],
        {"Mode": {"Ref": "Tracing"}},
    )
    assert p["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "ReconcilerCodeKey"}}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_logs_to_its_own_group_kept_log_retention_days(function):
    """GIVEN a function WHEN its log group is read THEN it is /aws/lambda/<FunctionName>,
    kept LogRetentionDays, and the function logs there."""
    group = function.replace("Function", "LogGroup")
    assert props(group)["LogGroupName"] == {
        "Fn::Sub": f"/aws/lambda/{props(function)['FunctionName']['Fn::Sub']}"
    }
    assert props(group)["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert props(function)["LoggingConfig"]["LogGroup"] == {"Ref": group}


@pytest.mark.parametrize("function", EVENTBRIDGE_INVOKED)
def test_eventbridge_invoked_function_retries_twice_then_dead_letters_to_an_encrypted_queue(
    function,
):
    """GIVEN a function EventBridge invokes WHEN its failure handling is read THEN two
    retries, then its own SSE queue, which its role may send to."""
    queue = function.replace("Function", "DeadLetterQueue")
    assert props(function)["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue, "Arn"]}}
    assert props(queue)["SqsManagedSseEnabled"] is True
    configs = [
        p["Properties"]
        for p in resources("AWS::Lambda::EventInvokeConfig").values()
        if p["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert [(c["Qualifier"], c["MaximumRetryAttempts"]) for c in configs] == [("$LATEST", 2)]
    sends = [s for s in statements(role_of(function)) if "sqs:SendMessage" in actions(s)]
    dead_letters = [s["Resource"] for s in sends if s["Resource"] != WORK_QUEUES]
    assert dead_letters == [{"Fn::GetAtt": [queue, "Arn"]}]


@pytest.mark.parametrize("table", ["StatusTable", "IdempotencyTable", "AuditTable"])
def test_table_has_point_in_time_recovery_and_encryption(table):
    """GIVEN a table WHEN its properties are read THEN PITR and SSE are on, on demand."""
    p = props(table)
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"] == {"SSEEnabled": True}
    assert p["BillingMode"] == "PAY_PER_REQUEST"


def test_tables_are_keyed_as_the_code_reads_them_and_idempotency_records_expire():
    """GIVEN the three tables WHEN their keys are read THEN stack_name, id, and stack and
    at for the audit trail: the code's keys; idempotency records expire on `expiration`
    (TTL)."""
    from reconciler.aws.audit import SORT_KEY, STACK_KEY

    tables = ("StatusTable", "IdempotencyTable", "AuditTable")
    keys = {t: [(k["AttributeName"], k["KeyType"]) for k in props(t)["KeySchema"]] for t in tables}
    assert keys == {
        "StatusTable": [("stack_name", "HASH")],
        "IdempotencyTable": [("id", "HASH")],
        "AuditTable": [(STACK_KEY, "HASH"), (SORT_KEY, "RANGE")],
    }
    ttl = props("IdempotencyTable")["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiration", "Enabled": True}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_environment_has_the_contract_variables(function):
    """GIVEN a function WHEN its environment is read THEN it holds exactly the contract's
    variables: the common ones plus the schedule's and the webhook's own."""
    expected = {**ENVIRONMENT, **ENVIRONMENT_OF.get(function, {})}
    assert props(function)["Environment"]["Variables"] == expected


def test_audit_table_outlives_the_stack_and_cannot_be_deleted():
    """GIVEN the audit table WHEN its policies are read THEN a stack delete or a replacement
    keeps it, and DynamoDB refuses DeleteTable (deletion protection) and it has no TTL."""
    audit = resources()["AuditTable"]
    assert (audit["DeletionPolicy"], audit["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props("AuditTable")["DeletionProtectionEnabled"] is True
    assert "TimeToLiveSpecification" not in props("AuditTable")


def test_audit_bucket_exists_only_with_a_name_and_locks_records_in_compliance_mode():
    """GIVEN AuditBucketName WHEN it is empty THEN no bucket and none of its policies are
    made; when set, the bucket outlives the stack, is versioned, private, encrypted, and its
    default retention is COMPLIANCE for AuditRetentionDays, which cannot be under 365."""
    conditional = {k for k, r in resources().items() if r.get("Condition") == "HasAuditBucket"}
    assert conditional == {"AuditBucket", "AuditCopyPolicy", "AuditBucketGuardPolicy"}
    assert condition("HasAuditBucket", {"AuditBucketName": ""}) is False
    assert condition("HasAuditBucket", {"AuditBucketName": "acme-audit"}) is True
    bucket = resources()["AuditBucket"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    p = props("AuditBucket")
    assert p["ObjectLockEnabled"] is True
    assert p["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": {"Ref": "AuditRetentionDays"}}},
    }
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(p["PublicAccessBlockConfiguration"].values()) == {True}
    assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert template()["Parameters"]["AuditRetentionDays"]["MinValue"] == 365


@pytest.mark.parametrize(
    ("name", "accepted"), [("", True), ("acme-audit", True), ("Acme_Audit", False)]
)
def test_audit_bucket_parameter_takes_an_s3_bucket_name_or_nothing(name, accepted):
    """GIVEN AuditBucketName's AllowedPattern WHEN a value is matched THEN an empty value
    (no bucket) or an S3 bucket name passes."""
    pattern = template()["Parameters"]["AuditBucketName"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, name)) is accepted


def test_webhook_exists_only_with_a_webhook_secret_and_its_url_is_public():
    """GIVEN GitHubWebhookSecretArn WHEN it is empty THEN no webhook function, role, log
    group, URL or permission is made; when set, the URL's auth is NONE (the HMAC is)."""
    webhook = [k for k in resources() if k.startswith("Webhook")]
    assert {resources()[k].get("Condition") for k in webhook} == {"HasWebhook"}
    assert condition("HasWebhook", {"GitHubWebhookSecretArn": ""}) is False
    assert props("WebhookUrl")["AuthType"] == "NONE"
    permission = [
        p for k, p in resources("AWS::Lambda::Permission").items() if k.startswith("Webhook")
    ]
    # Anyone may call the URL, and only the URL: a public InvokeFunction is refused.
    assert {
        (p["Properties"]["Action"], p["Properties"].get("InvokedViaFunctionUrl"))
        for p in permission
    } == {("lambda:InvokeFunctionUrl", None), ("lambda:InvokeFunction", True)}


# --- the routes -------------------------------------------------------------------------------


def _rule_named(name: str) -> tuple[str, Mapping[str, Any]]:
    found = [
        (k, r["Properties"])
        for k, r in resources("AWS::Events::Rule").items()
        if resolve(r["Properties"]["Name"], VALUES) == name
    ]
    assert len(found) == 1, f"{len(found)} rules named {name}"
    return found[0]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_route_has_a_rule_with_its_pattern_invoking_its_handler(route):
    """GIVEN a rule of handlers/routes.py (prefix pci-db-, CodeCommit repository my-repo,
    the change rules of this repository's templates) WHEN the template's rule of the same
    name is resolved for that installation THEN it has the same pattern or schedule,
    targets the function running the route's handler, and EventBridge may invoke that
    function for this rule only."""
    logical_id, rule = _rule_named(f"gitops-{route.name.removeprefix('gitops-')}")
    if route.schedule_expression is not None:
        assert rule["ScheduleExpression"] == {"Ref": "ScheduleRate"}
        assert "EventPattern" not in rule
    else:
        assert resolve(rule["EventPattern"], VALUES) == route.event_pattern
    (target,) = rule["Targets"]
    function = target["Arn"]["Fn::GetAtt"][0]
    assert props(function)["Handler"] == f"handlers.{route.handler}.handler"
    permissions = [
        p["Properties"]
        for p in resources("AWS::Lambda::Permission").values()
        if p["Properties"].get("SourceArn") == {"Fn::GetAtt": [logical_id, "Arn"]}
    ]
    assert [(p["FunctionName"], p["Principal"]) for p in permissions] == [
        ({"Ref": function}, "events.amazonaws.com")
    ]


def test_template_has_no_rule_beyond_the_routes():
    """GIVEN the routes WHEN the template's rules are counted THEN there is one per route."""
    assert len(resources("AWS::Events::Rule")) == len(ROUTES)


def test_change_rules_are_the_ones_computed_for_this_repositorys_templates():
    """GIVEN the desired state of this repository WHEN the change rules are computed again
    THEN infra/bootstrap.yml holds exactly their generated block (else: regenerate)."""
    from reconciler import change_rules_block

    expected = change_rules_block.bootstrap_block(
        change_rules_block.bootstrap_rules(load_desired_state(ROOT))
    )
    assert change_rules_block.generated_block(TEMPLATE.read_text()) == expected, (
        "infra/bootstrap.yml's change rules are stale: run "
        "`reconciler iam-policy --bootstrap infra/bootstrap.yml`"
    )


@pytest.mark.parametrize("logical_id", sorted(resources("AWS::Events::Rule")))
def test_every_rule_pattern_fits_eventbridges_limit_as_cloudformation_sends_it(logical_id):
    """GIVEN a rule of the template WHEN its pattern is resolved for an installation and
    serialised as CloudFormation gives it to PutRule THEN it is at most 2048 characters."""
    pattern = props(logical_id).get("EventPattern")
    if pattern is not None:
        assert len(json.dumps(resolve(pattern, VALUES))) <= MAX_PATTERN


def test_change_rule_names_fit_eventbridge_and_bootstrap_refuses_a_stack_name_too_long():
    """GIVEN the generated change rules, named <stack>-change-<service> WHEN the default
    stack name is put in front THEN each fits EventBridge's 64 characters; with a 51-character
    stack name the longest do not, and bootstrap's check says which."""
    from reconciler.change_rules_block import rule_name_problems

    assert rule_name_problems("gitops-reconciler", TEMPLATE.read_text()) == []
    too_long = rule_name_problems("g" * 51, TEMPLATE.read_text())
    assert too_long and all("EventBridge allows 64" in p for p in too_long)


def test_organisation_may_forward_the_change_rules_calls_only():
    """GIVEN OrganizationId WHEN set THEN a second bus statement admits, from the
    organisation's principals only, "AWS API Call via CloudTrail" events of exactly the
    change rules' sources (aws.* sources only AWS can put); none without OrganizationId."""
    policy = resources()["OrganizationChangeBusPolicy"]
    assert policy["Condition"] == "HasOrganization"
    statement = policy["Properties"]["Statement"]
    sources = sorted({r.event_pattern["source"][0] for r in ROUTES if r.handler == CHANGE})
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
        "ForAllValues:StringEquals": {"events:source": sources, "events:detail-type": [API_CALL]},
    }
    assert all(s.startswith("aws.") for s in sources)
    assert resolve(policy["Properties"]["StatementId"], {"AWS::StackName": "x" * 51}) != (
        resolve(props("OrganizationBusPolicy")["StatementId"], {"AWS::StackName": "x" * 51})
    )
    assert len(resolve(policy["Properties"]["StatementId"], {"AWS::StackName": "x" * 51})) <= 64


def test_change_function_ignores_calls_made_in_every_role_of_the_reconciler():
    """GIVEN the change function's RECONCILER_ROLES WHEN its names are listed (each branch
    of an Fn::If taken) THEN they are every function's role, the managed stacks' service
    role and the three member role names; a conditional role only under its condition."""
    joined = props("ChangeFunction")["Environment"]["Variables"]["RECONCILER_ROLES"]["Fn::Join"]
    assert joined[0] == ","
    named, conditional = set(), {}
    for item in joined[1]:
        if "Fn::If" in item:
            condition_name, *branches = item["Fn::If"]
            for branch in branches:
                named.add(branch["Ref"])
                conditional[branch["Ref"]] = condition_name
        else:
            named.add(item["Ref"])
    assert named == set(FUNCTION_ROLES) | {
        "CloudFormationExecutionRole",
        "MemberRoleName",
        "MemberExecutionRoleName",
        "MemberPreviewRoleName",
    }
    made_if = {k: r.get("Condition") for k, r in resources().items()}
    assert {k for k in named if made_if.get(k)} == {
        k for k, c in conditional.items() if made_if.get(k) == c
    }


@pytest.mark.parametrize(("repository", "made"), [("codecommit:r", True), ("github:o/n", False)])
def test_codecommit_rule_exists_only_for_a_codecommit_repository(repository, made):
    """GIVEN a desired-state repository WHEN IsCodeCommit is evaluated THEN only a
    codecommit: one makes the CodeCommit rule, its permission and its read policy."""
    conditional = {k for k, r in resources().items() if r.get("Condition") == "IsCodeCommit"}
    assert conditional == {
        "PushCodeCommitRule",
        "PushCodeCommitPermission",
        "CodeCommitSourcePolicy",
    }
    assert condition("IsCodeCommit", {"DesiredStateRepository": repository}) is made


# --- least privilege ----------------------------------------------------------------------------


def test_each_function_has_a_role_of_its_own_that_is_not_the_execution_role():
    """GIVEN the functions WHEN their roles are read THEN no two share one, and none is the
    CloudFormation execution role."""
    assert len(set(FUNCTION_ROLES)) == len(FUNCTIONS)
    assert not EXEMPT_ROLES & set(FUNCTION_ROLES)


def test_execution_role_is_assumed_by_cloudformation_only():
    """GIVEN CloudFormationExecutionRole WHEN its trust policy is read THEN only the
    CloudFormation service may assume it."""
    (trust,) = props("CloudFormationExecutionRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"


def test_execution_role_holds_the_policy_computed_for_this_repositorys_templates():
    """GIVEN the desired state of this repository WHEN the execution role's policy is
    computed again THEN infra/bootstrap.yml holds exactly it (else: regenerate)."""
    from reconciler.desired import load_desired_state
    from reconciler.iam_policy import bootstrap_block, bootstrap_policy, generated_block

    expected = bootstrap_block(bootstrap_policy(load_desired_state(ROOT)))
    assert generated_block(TEMPLATE.read_text()) == expected, (
        "infra/bootstrap.yml's execution role policy is stale: run "
        "`reconciler iam-policy --bootstrap infra/bootstrap.yml`"
    )


def test_execution_role_has_no_wildcard_action_and_unique_sids():
    """GIVEN CloudFormationExecutionRole WHEN its statements are read THEN no action it
    allows holds a wildcard (its denials of the audit trail do: all of it) and each Sid is
    alphanumeric and unique."""
    found = statements("CloudFormationExecutionRole")
    allowed = [s for s in found if s["Effect"] == "Allow"]
    assert [a for s in allowed for a in actions(s) if "*" in a] == []
    sids = [s["Sid"] for s in found]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    assert len(sids) == len(set(sids))


def test_execution_role_deletes_only_what_the_managed_stacks_tagged():
    """GIVEN CloudFormationExecutionRole WHEN a statement allows a Delete action on "*"
    THEN it holds the managed stacks' stack-name tag condition, or says why not."""
    lines = TEMPLATE.read_text().splitlines()
    for s in statements("CloudFormationExecutionRole"):
        deletes = [a for a in actions(s) if a.split(":")[1].startswith("Delete")]
        if not deletes or _listed(s["Resource"]) != ["*"]:
            continue
        tag = (s.get("Condition") or {}).get("StringLike", {})
        said = (
            "no aws:ResourceTag" in lines[s.start_mark.line - 2] + lines[s.start_mark.line - 1]
            or "no resource-level" in lines[s.start_mark.line - 2]
        )
        assert tag.get("aws:ResourceTag/aws:cloudformation:stack-name") or said, s["Sid"]


@pytest.mark.parametrize("handler", sorted(CALLS))
def test_role_grants_exactly_what_its_handler_calls(handler):
    """GIVEN the IAM actions a handler's code calls (CALLS) WHEN its function's role is
    read THEN it grants each of them and nothing else."""
    function = next(fn for fn, h in FUNCTIONS.items() if h == handler)
    role = role_of(function)
    assert {"missing": CALLS[handler] - granted(role), "extra": granted(role) - CALLS[handler]} == {
        "missing": set(),
        "extra": set(),
    }


def test_schedule_role_reads_what_drift_detection_reads_of_the_managed_templates():
    """GIVEN the resource types of templates/*.yml WHEN their read handlers' permissions are
    taken from cfn-lint's resource schemas THEN they are DRIFT_DETECTION_READS plus the
    reads left out on purpose, which the schedule role gets on no resource of the stacks."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    types = {
        r["Type"]
        for path in ROOT.glob("templates/*.yml")
        for r in cfn_yaml.load(str(path))["Resources"].values()
        if r["Type"].startswith("AWS::")
    }
    reads = {
        permission
        for region in ("us-east-1", "eu-central-1")
        for t in types
        for permission in PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, t)
        .schema.get("handlers", {})
        .get("read", {})
        .get("permissions", [])
    }
    assert reads - set(DRIFT_READS_LEFT_OUT) == DRIFT_DETECTION_READS
    # GetSecretValue stays, on the GitHub token alone (the source's read, in PASS).
    left_out = {
        (action, str(resource))
        for s in statements("ScheduleRole")
        for action in set(actions(s)) & set(DRIFT_READS_LEFT_OUT)
        for resource in _listed(s["Resource"])
    }
    assert left_out == {("secretsmanager:GetSecretValue", str({"Ref": "GitHubTokenSecretArn"}))}


@pytest.mark.parametrize("item", ALL_STATEMENTS, ids=_statement_id)
def test_statement_has_a_sid_and_no_wildcard_action(item):
    """GIVEN a statement of a function role WHEN it is read THEN it names its concern (Sid),
    allows, and no action holds a wildcard ("*", "service:*" or "Describe*")."""
    _, statement = item
    assert statement["Effect"] == "Allow"
    assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
    assert re.fullmatch(r"[A-Za-z0-9]+", statement.get("Sid", ""))
    assert [a for a in actions(statement) if "*" in a] == []


@pytest.mark.parametrize("role", FUNCTION_ROLES)
def test_role_sids_are_unique(role):
    """GIVEN a function role WHEN its statements' Sids are listed THEN none repeats."""
    sids = [s["Sid"] for s in statements(role)]
    assert len(sids) == len(set(sids))


@pytest.mark.parametrize("item", ALL_STATEMENTS, ids=_statement_id)
def test_star_resource_only_where_the_api_allows_nothing_narrower(item):
    """GIVEN a statement of a function role WHEN a resource is "*" THEN its line says
    `# no resource-level permissions:` and each action is one that has none."""
    _, statement = item
    assert star_resource_problems(statement, TEMPLATE.read_text().splitlines()) == []


def test_star_resource_check_refuses_an_uncommented_line_and_a_scopable_action():
    """GIVEN a statement granting DescribeStackResourceDrifts on "*" without the comment
    WHEN it is checked THEN both faults are reported."""
    text = 'Statement:\n  Action: cloudformation:DescribeStackResourceDrifts\n  Resource: "*"\n'
    statement = cfn_yaml.loads(text)["Statement"]
    assert star_resource_problems(statement, text.splitlines()) == [
        f"line 3: '*' without {STAR_COMMENT!r}",
        "cloudformation:DescribeStackResourceDrifts has resource-level permissions",
    ]


# Action -> the resources it may name: the managed stacks, the tables, the audit records'
# prefix, the given secrets, the buses, the topic, the execution role, the outputs path.
SCOPES: dict[str, list[Any]] = {
    "cloudformation:": [STACK_ARN],
    "dynamodb:": [
        {"Fn::GetAtt": ["StatusTable", "Arn"]},
        {"Fn::GetAtt": ["IdempotencyTable", "Arn"]},
        {"Fn::GetAtt": ["AuditTable", "Arn"]},
    ],
    "s3:PutObject": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${AuditBucket}/audit/*"}],
    "secretsmanager:GetSecretValue": [
        {"Ref": "GitHubTokenSecretArn"},
        {"Ref": "GitHubAppSecretArn"},  # push, stack status and preview: the reporter
        {"Ref": "GitHubWebhookSecretArn"},
    ],
    "events:PutEvents": [
        {"Fn::GetAtt": ["NotificationBus", "Arn"]},
        {
            "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/"
            "default"
        },
    ],
    "sns:Publish": [{"Ref": "NotificationTopic"}],
    "sqs:": [
        *(
            {"Fn::GetAtt": [fn.replace("Function", "DeadLetterQueue"), "Arn"]}
            for fn in EVENTBRIDGE_INVOKED
        ),
        WORK_QUEUES,
    ],
    "sts:AssumeRole": [MEMBER_ROLE, MEMBER_PREVIEW_ROLE],  # which one: below
    "iam:PassRole": [{"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}],
    "ssm:": [
        {
            "Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/"
            "${ManagedStackPrefix}*"
        },
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter${OutputsPathPrefix}*"},
    ],
    "codecommit:": [
        {
            "Fn::Sub": [
                "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${Name}",
                {
                    "Name": {
                        "Fn::Select": [1, {"Fn::Split": [":", {"Ref": "DesiredStateRepository"}]}]
                    }
                },
            ]
        }
    ],
}


@pytest.mark.parametrize("prefix", SCOPES)
def test_actions_name_only_their_own_resources(prefix):
    """GIVEN the actions of one concern (the managed stacks, the tables, the secrets, the
    buses, the topic, the execution role, the outputs path, the repository) WHEN a function
    role grants one THEN only on those resources (APIs without resource-level permissions
    aside)."""
    granting = [
        (role, s)
        for role, s in ALL_STATEMENTS
        if any(a.startswith(prefix) and a not in NO_RESOURCE_LEVEL for a in actions(s))
    ]
    assert granting, f"no function role grants {prefix}"
    wrong = [
        (_statement_id(item), resource)
        for item in granting
        for resource in _listed(item[1]["Resource"])
        if resource not in SCOPES[prefix]
    ]
    assert wrong == []


def test_pass_role_only_to_cloudformation():
    """GIVEN the statements granting iam:PassRole WHEN read THEN each passes the execution
    role to CloudFormation only, and grants nothing else."""
    passes = [s for _, s in ALL_STATEMENTS if "iam:PassRole" in actions(s)]
    assert passes
    assert {(tuple(actions(s)), str(s["Condition"])) for s in passes} == {
        (
            ("iam:PassRole",),
            str({"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
        )
    }


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_writes_only_its_own_log_group(function):
    """GIVEN a function's role WHEN its log-writing statement is read THEN it names the
    function's own log group."""
    group = function.replace("Function", "LogGroup")
    writes = [s for s in statements(role_of(function)) if "logs:PutLogEvents" in actions(s)]
    assert [s["Resource"] for s in writes] == [{"Fn::GetAtt": [group, "Arn"]}]


def test_preview_role_may_not_execute_or_change_a_stack():
    """GIVEN PreviewRole WHEN every policy it holds is read THEN no statement allows
    ExecuteChangeSet, UpdateStack, CreateStack or DeleteStack: a preview cannot deploy."""
    forbidden = {
        "cloudformation:ExecuteChangeSet",
        "cloudformation:UpdateStack",
        "cloudformation:CreateStack",
        "cloudformation:DeleteStack",
    }
    assert granted(role_of("PreviewFunction")) & forbidden == set()


# --- fan-out and member accounts ---------------------------------------------------------------

HOME = {**VALUES, "AWS::Region": "eu-west-1"}


def test_work_queue_is_the_one_work_queue_prefix_names_for_this_region():
    """GIVEN the functions' WORK_QUEUE_PREFIX WHEN this region's queue name is resolved THEN
    it is <prefix>-<region>.fifo, the name the dispatch looks up, and its dead-letter queue's
    name is outside the prefix (no worker consumes dead letters)."""
    prefix = resolve(FANOUT["WORK_QUEUE_PREFIX"], HOME)
    assert resolve(props("WorkQueue")["QueueName"], HOME) == f"{prefix}-eu-west-1.fifo"
    dead = resolve(props("WorkDeadLetterQueue")["QueueName"], HOME)
    assert dead.endswith(".fifo") and not dead.startswith(f"{prefix}-")


def test_work_queue_is_fifo_encrypted_and_dead_letters_to_a_fifo_queue_after_five_receives():
    """GIVEN the work queue WHEN its settings are read THEN it is FIFO without content-based
    deduplication (the sender gives stack@revision's digest), encrypted, and an item received
    five times goes to its FIFO dead-letter queue, kept 14 days."""
    queue, dead = props("WorkQueue"), props("WorkDeadLetterQueue")
    assert (queue["FifoQueue"], queue["ContentBasedDeduplication"]) == (True, False)
    assert queue["SqsManagedSseEnabled"] is True and dead["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dead["FifoQueue"] is True
    assert dead["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_work_queue_visibility_is_six_times_the_workers_timeout():
    """GIVEN the stack worker's timeout WHEN the work queue's visibility timeout is read THEN
    it is at least six times as long (AWS's advice for a queue a function consumes), and the
    timeout stays under the stack lease."""
    from reconciler.reconcile import LEASE_SECONDS

    timeout = props("StackWorkerFunction")["Timeout"]
    assert props("WorkQueue")["VisibilityTimeout"] >= 6 * timeout
    assert timeout < LEASE_SECONDS


def test_stack_worker_takes_one_item_at_a_time_reports_failures_and_is_capped_per_region():
    """GIVEN the event source mapping WHEN read THEN it feeds the stack worker from this
    region's queue one item per invocation, retries only the items the worker reports
    failed, and runs at most RegionConcurrency workers."""
    (mapping,) = resources("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"] == {
        "EventSourceArn": {"Fn::GetAtt": ["WorkQueue", "Arn"]},
        "FunctionName": {"Ref": "StackWorkerFunction"},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "RegionConcurrency"}},
    }
    assert "DeadLetterConfig" not in props("StackWorkerFunction")  # the queue's redrive is


def test_region_concurrency_is_the_range_lambda_allows_for_maximum_concurrency():
    """GIVEN RegionConcurrency WHEN its bounds are read THEN 2 to 1000 (Lambda's range for an
    SQS event source's MaximumConcurrency), 10 by default."""
    declared = template()["Parameters"]["RegionConcurrency"]
    assert (declared["Type"], declared["MinValue"], declared["MaxValue"]) == ("Number", 2, 1000)


def test_work_queues_are_fed_by_the_passes_and_consumed_by_the_worker_only():
    """GIVEN every function role WHEN its SQS actions on the work queues are listed THEN the
    four functions that run a pass may look a queue up and send to it, the stack worker may
    only consume, and no other role touches them."""
    on_queues = {
        role: {a for s in statements(role) if s["Resource"] == WORK_QUEUES for a in actions(s)}
        for role in FUNCTION_ROLES
    }
    dispatchers = {role_of(fn) for fn in ("PushFunction", "StackStatusFunction")}
    dispatchers |= {role_of(fn) for fn in ("DriftFunction", "ScheduleFunction")}
    assert on_queues == {
        role: DISPATCH if role in dispatchers else CONSUME if role == "StackWorkerRole" else set()
        for role in FUNCTION_ROLES
    }


def test_member_roles_may_be_assumed_by_the_pass_functions_only():
    """GIVEN the function roles WHEN the roles their sts:AssumeRole names are read THEN the
    four pass functions, the stack worker and the change function may assume MemberRoleName
    in any account, the preview (which may not deploy) only MemberPreviewRoleName, and the
    webhook nothing."""
    assumes = {
        role: [
            r
            for s in statements(role)
            if "sts:AssumeRole" in actions(s)
            for r in _listed(s["Resource"])
        ]
        for role in FUNCTION_ROLES
    }
    expected = {fn: [MEMBER_ROLE] for fn in FUNCTIONS}
    expected |= {"PreviewFunction": [MEMBER_PREVIEW_ROLE], "WebhookFunction": []}
    assert assumes == {role_of(fn): roles for fn, roles in expected.items()}


def test_the_preview_role_cannot_be_named_as_the_member_role():
    """GIVEN the template's rules WHEN MemberPreviewRoleName equals MemberRoleName THEN the
    deploy fails: the preview would otherwise be allowed the role that executes change
    sets."""
    (rule,) = template()["Rules"].values()
    (assertion,) = rule["Assertions"]
    assert "RuleCondition" not in rule  # whatever the other parameters
    same = {"MemberRoleName": "deployer", "MemberPreviewRoleName": "deployer"}
    assert resolve(assertion["Assert"], same) is False
    assert resolve(assertion["Assert"], PARAMETERS) is True


def test_organization_bus_policy_exists_only_with_an_organization_and_admits_only_it():
    """GIVEN OrganizationId WHEN it is empty THEN no bus policy; when set, the default bus
    accepts PutEvents from principals of that organisation only, and only CloudFormation's
    stack status and drift events (the push and preview rules would take anything else)."""
    bus_policy = resources()["OrganizationBusPolicy"]
    assert bus_policy["Condition"] == "HasOrganization"
    assert condition("HasOrganization", {"OrganizationId": ""}) is False
    assert condition("HasOrganization", {"OrganizationId": "o-a1b2c3d4e5"}) is True
    p = bus_policy["Properties"]
    assert p["EventBusName"] == "default"
    statement = p["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Allow",
        "*",
        "events:PutEvents",
    )
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
        "ForAllValues:StringEquals": {
            "events:source": "aws.cloudformation",
            "events:detail-type": [
                "CloudFormation Stack Status Change",
                "CloudFormation Drift Detection Status Change",
            ],
        },
    }


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("OrganizationId", "", True),
        ("OrganizationId", "o-a1b2c3d4e5", True),
        ("OrganizationId", "o-short", False),
        ("OrganizationId", "r-a1b2c3d4e5", False),
        ("MemberExternalId", "", True),
        ("MemberExternalId", "gitops:acme/prod-2026", True),
        ("MemberExternalId", "x", False),
        ("MemberExternalId", "with space", False),
        ("MemberRoleName", "gitops-reconciler-member", True),
        ("MemberRoleName", "", False),
        ("MemberExecutionRoleName", "a/b", False),
        ("MemberPreviewRoleName", "gitops-reconciler-member-preview", True),
        ("MemberPreviewRoleName", "preview*", False),
    ],
)
def test_member_account_parameters_take_what_iam_and_organizations_accept(name, value, accepted):
    """GIVEN the member-account parameters' AllowedPattern WHEN a value is matched THEN an
    organisation id, an external id (2 to 1224 of IAM's characters) or a role name passes,
    or nothing where nothing is allowed."""
    pattern = template()["Parameters"][name]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted
