"""infra/bootstrap.yml deployed whole on the local AWS, then one GitHub push driven through the
deployed wiring: the webhook function behind the function URL, the push rule, the push
function, its work item on the work queue and the stack worker its event source mapping
feeds, the managed stack's change set (run as the execution role), the stack status rule
and function, and the outputs in SSM.

The functions run in this process with the environment the template gave them
(`harness.deployed.DeployedRouter`), plus one variable the template has no parameter for:
GITHUB_API_URL, pointing the GitHub source at the fake GitHub of tests/functional/fake_github.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers.routes import change_rules
from harness.deployed import DeployedRouter, HttpResponse
from harness.router import Delivery
from localaws.server import LocalAws
from reconciler.aws import session
from reconciler.bundle import reconciler_zip
from reconciler.change_rules import watched
from reconciler.desired import load_desired_state
from reconciler.yamlfile import parse
from tests.functional.fake_github import SHA, FakeGitHub
from tests.repo import make_repo

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATE = PROJECT / "infra" / "bootstrap.yml"
EVENTS = PROJECT / "tests" / "events"
REGION = "us-east-1"
STACK = "gitops"
MANAGED = "app-dev"  # the stack tests/repo.py's desired state describes
BUCKET = "gitops-code"
WEBHOOK_SECRET = "not-a-real-webhook-secret"
PARAMETERS = {
    "CodeBucket": BUCKET,
    "DesiredStateRepository": "github:owner/repo",
    "ManagedStackPrefix": "app-",
    "NotificationEmail": "platform@example.com",
    "AuditBucketName": "gitops-audit-trail",
}


@pytest.fixture(scope="module")
def environment(local_aws: LocalAws) -> Iterator[None]:
    """This process pointed at an empty local AWS (moto's state is per process: other modules'
    stacks would still be there), as a Lambda's runtime points its SDK at AWS; nothing of
    the reconciler's own configuration is set here."""
    local_aws.reset()
    saved = dict(os.environ)
    for name in [
        n
        for n in os.environ
        if n.startswith(("AWS_", "RECONCILER_")) and n != "RECONCILER_CACHE_DIR"
    ]:
        del os.environ[name]
    os.environ.update(local_aws.env(REGION))
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    session.reset_clients()
    yield
    os.environ.clear()
    os.environ.update(saved)
    session.reset_clients()


@pytest.fixture(scope="module")
def client(local_aws: LocalAws, environment: None) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=local_aws.endpoint_url, region_name=REGION)

    return make


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGitHub]:
    """owner/repo at main: templates/app.yml and desired-state/app-dev.yml (tests/repo.py)."""
    fake = FakeGitHub(make_repo(tmp_path_factory.mktemp("desired-state")))
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def bootstrap(client, tmp_path_factory) -> dict[str, Any]:
    """The bootstrap stack as an operator deploys it: the code zip uploaded, the webhook and
    token secrets in Secrets Manager. Returns DescribeStacks' answer."""
    built = reconciler_zip(tmp_path_factory.mktemp("dist") / "reconciler-local.zip", local=True)
    key = f"reconciler/{built.sha256}.zip"
    client("s3").create_bucket(Bucket=BUCKET)
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=built.path.read_bytes())
    secrets = client("secretsmanager")
    webhook = secrets.create_secret(Name="gitops/webhook", SecretString=WEBHOOK_SECRET)["ARN"]
    token = secrets.create_secret(Name="gitops/github-token", SecretString="ghp_fake")["ARN"]
    parameters = {
        **PARAMETERS,
        "ReconcilerCodeKey": key,
        "GitHubWebhookSecretArn": webhook,
        "GitHubTokenSecretArn": token,
    }
    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    return cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]


@pytest.fixture(scope="module")
def outputs(bootstrap) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in bootstrap.get("Outputs", [])}


@pytest.fixture(scope="module")
def router(local_aws, bootstrap, github) -> DeployedRouter:
    # GITHUB_API_URL: the template has no parameter for GitHub's address; the fake's is
    # added to every function's environment.
    return DeployedRouter(
        local_aws.endpoint_url, STACK, REGION, environment={"GITHUB_API_URL": github.api_url}
    )


@pytest.fixture(scope="module")
def notifications(client, outputs) -> str:
    """A queue receiving what the reconciler puts on the deployed NotificationBus."""
    sqs, events = client("sqs"), client("events")
    url = sqs.create_queue(QueueName="notifications-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    bus = outputs["NotificationBusName"]
    events.put_rule(
        Name="notifications-tap",
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["gitops.reconciler"]}),
    )
    events.put_targets(
        Rule="notifications-tap",
        EventBusName=bus,
        Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}],
    )
    return url


@pytest.fixture(scope="module")
def pushed(router, notifications) -> tuple[HttpResponse, list[Delivery]]:
    """A signed GitHub push delivered to the function URL, then everything it set off."""
    body = (EVENTS / "github_push.json").read_bytes()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/7e4c1d2",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    answer = router.post_webhook(body, headers)
    return answer, router.run_until_idle(timeout_s=30)


def _deliveries(pushed, handler: str) -> list[Delivery]:
    return [d for d in pushed[1] if d.handler == handler]


def _template_resources() -> dict[str, dict[str, Any]]:
    template, error = parse(TEMPLATE.read_text())
    assert error is None, error
    return template["Resources"]


# --- the bootstrap stack ----------------------------------------------------------------


def test_the_bootstrap_stack_is_created_with_every_resource_its_parameters_ask_for(
    client, bootstrap
):
    """GIVEN infra/bootstrap.yml with a GitHub repository, a webhook secret, a token and an
    e-mail address WHEN it is created on the local AWS THEN the stack is CREATE_COMPLETE with
    every resource of the template but the CodeCommit, GitHub App and organisation bus policy
    ones (their conditions are false: no CodeCommit repository, no App secret, no
    organisation)"""
    listed = client("cloudformation").list_stack_resources(StackName=STACK)
    statuses = {
        r["LogicalResourceId"]: r["ResourceStatus"] for r in listed["StackResourceSummaries"]
    }

    expected = {
        name
        for name, resource in _template_resources().items()
        if resource.get("Condition") not in ("IsCodeCommit", "HasGitHubApp", "HasOrganization")
    }
    assert bootstrap["StackStatus"] == "CREATE_COMPLETE"
    assert statuses == dict.fromkeys(expected, "CREATE_COMPLETE")


def test_the_tables_keep_point_in_time_recovery_and_encryption(client, outputs):
    """GIVEN the deployed stack WHEN its two tables are described THEN both have point-in-time
    recovery and KMS encryption on, and the idempotency table expires records by TTL"""
    dynamodb = client("dynamodb")
    for output in ("StatusTableName", "IdempotencyTableName"):
        table = outputs[output]
        backups = dynamodb.describe_continuous_backups(TableName=table)
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert recovery["PointInTimeRecoveryStatus"] == "ENABLED", output
        assert dynamodb.describe_table(TableName=table)["Table"]["SSEDescription"]["Status"] == (
            "ENABLED"
        )
    ttl = dynamodb.describe_time_to_live(TableName=outputs["IdempotencyTableName"])
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expiration",
    }


def test_the_audit_table_is_protected_and_the_audit_bucket_locks_in_compliance_mode(
    client, outputs
):
    """GIVEN the deployed stack with an audit bucket WHEN the trail's table and bucket are
    described THEN the table refuses deletion and keeps point-in-time recovery, and the
    bucket is versioned, private, and locks each new object in COMPLIANCE mode for 365 days"""
    dynamodb, s3 = client("dynamodb"), client("s3")
    table = dynamodb.describe_table(TableName=outputs["AuditTableName"])["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=outputs["AuditTableName"])
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    bucket = outputs["AuditBucketName"]
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]

    assert table["DeletionProtectionEnabled"] is True
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert (lock["Rule"]["DefaultRetention"]["Mode"], lock["Rule"]["DefaultRetention"]["Days"]) == (
        "COMPLIANCE",
        365,
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert set(block.values()) == {True}


def test_the_router_routes_by_the_deployed_rules(router):
    """GIVEN the deployed stack WHEN the router reads it THEN it routes from the stack's own
    rules (named after the stack), not from handlers/routes.py's"""
    # The change rules of infra/bootstrap.yml, generated from this repository's templates.
    desired = load_desired_state(PROJECT)
    changes = [r.name.removeprefix("gitops-") for r in change_rules(watched(desired))]
    assert sorted(router.rule_names(REGION)) == sorted(
        [
            f"{STACK}-drift",
            f"{STACK}-preview",
            f"{STACK}-push-git",
            f"{STACK}-schedule",
            f"{STACK}-stack-status",
            *(f"{STACK}-{name}" for name in changes),
        ]
    )


# --- one push through the deployed wiring ---------------------------------------------------


def test_the_function_url_accepts_a_signed_push(pushed):
    """GIVEN a GitHub push signed with the webhook secret WHEN it is posted to the function
    URL THEN the webhook function answers 202: the push was forwarded to the bus"""
    answer, _ = pushed

    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")


def test_the_push_reaches_the_push_function_by_the_deployed_push_rule(pushed):
    """GIVEN the forwarded "Git Push" on the default bus WHEN the router pumps THEN the
    deployed push rule delivers it, once, to the push function, which reconciles"""
    (push,) = _deliveries(pushed, "push")

    assert (push.rule, push.status, push.attempt) == (f"{STACK}-push-git", "reconciled", 1)


def test_the_push_function_reads_the_branch_head_from_github(pushed, github):
    """GIVEN the push function's environment (github:owner/repo, the token secret) WHEN it
    reconciles THEN it read the branch head and its tarball from GitHub, with the token,
    and put the stack to change on the work queue (WORK_QUEUE_PREFIX)"""
    (push,) = _deliveries(pushed, "push")
    paths = [request.path for request in github.seen("api")]

    # (the stack status function reads the head again afterwards: is the stack behind?)
    assert paths[:2] == ["/repos/owner/repo/branches/main", f"/repos/owner/repo/tarball/{SHA}"]
    assert {r.headers.get("authorization") for r in github.seen("api")} == {"Bearer ghp_fake"}
    assert [(s["stack_name"], s["outcome"]) for s in push.result["stacks"]] == [(MANAGED, "queued")]


def test_the_work_item_reaches_the_stack_worker_through_the_deployed_queue(pushed):
    """GIVEN the push's work item WHEN the router pumps THEN the deployed event source
    mapping of <stack>-work-<region>.fifo hands it, once, to the stack worker, which reports
    no item to retry"""
    (worker,) = _deliveries(pushed, "stack_worker")

    assert (worker.rule, worker.status, worker.attempt) == (
        f"{STACK}-work-{REGION}.fifo",
        "done",
        1,
    )
    assert worker.result == {"batchItemFailures": []}


def test_the_managed_stack_is_deployed_as_the_execution_role(client, pushed, outputs):
    """GIVEN the stack worker's CLOUDFORMATION_ROLE_ARN WHEN it deploys app-dev through a
    change set THEN the stack exists, and CloudFormation acts as the execution role"""
    (stack,) = client("cloudformation").describe_stacks(StackName=MANAGED)["Stacks"]

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["RoleARN"] == outputs["CloudFormationExecutionRoleArn"]


def test_the_stack_status_event_reaches_the_stack_status_function(pushed):
    """GIVEN app-dev's CREATE_COMPLETE on the default bus WHEN the router pumps THEN the
    deployed stack status rule delivers it to the stack status function, which records it"""
    (status,) = _deliveries(pushed, "stack_status")

    assert (status.rule, status.subject, status.status) == (
        f"{STACK}-stack-status",
        f"{MANAGED} CREATE_COMPLETE",
        "recorded",
    )


def test_the_outputs_land_in_ssm_under_the_stack_name(client, pushed):
    """GIVEN app-dev created WHEN the stack status function ran THEN each of its outputs is an
    SSM parameter under /app-dev"""
    found = client("ssm").get_parameters_by_path(Path=f"/{MANAGED}")["Parameters"]

    assert {p["Name"]: p["Value"] for p in found} == {
        f"/{MANAGED}/GreetingName": "/test/dev/greeting",
        f"/{MANAGED}/LogGroup": "/test/dev/logs",
    }


def test_the_status_is_recorded_in_the_deployed_status_table(client, pushed, outputs):
    """GIVEN the functions' RECONCILER_TABLE WHEN the push was applied THEN app-dev's status,
    applied at the pushed head, is in the stack's StatusTable and no default table was made"""
    dynamodb = client("dynamodb")
    item = dynamodb.get_item(
        TableName=outputs["StatusTableName"], Key={"stack_name": {"S": MANAGED}}
    )["Item"]

    assert item["applied_revision"]["S"] == SHA
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(
        [outputs["StatusTableName"], outputs["IdempotencyTableName"], outputs["AuditTableName"]]
    )


def test_the_events_were_handled_once_by_the_deployed_idempotency_table(client, pushed, outputs):
    """GIVEN the functions' IDEMPOTENCY_TABLE WHEN the webhook, push and stack status functions
    ran THEN each kept its record in the stack's IdempotencyTable"""
    scanned = client("dynamodb").scan(TableName=outputs["IdempotencyTableName"])

    assert scanned["Count"] == 3


def test_a_reconcile_succeeded_notification_reaches_the_notification_bus(
    client, pushed, notifications
):
    """GIVEN the functions' NOTIFY_EVENT_BUS WHEN app-dev was created THEN a "Reconcile
    Succeeded" event for it was put on the deployed NotificationBus"""
    received = client("sqs").receive_message(QueueUrl=notifications, MaxNumberOfMessages=10)
    events = [json.loads(m["Body"]) for m in received.get("Messages", [])]

    succeeded = [e for e in events if e["detail-type"] == "Reconcile Succeeded"]
    assert [e["detail"]["stack_name"] for e in succeeded] == [MANAGED]


def test_nothing_was_dead_lettered(router, pushed):
    """GIVEN the push and everything it set off WHEN the router went idle THEN no delivery
    failed for good"""
    assert [d.status for d in pushed[1] if d.status in ("error", "dead-lettered")] == []
    assert router.dead_letters == []


# --- the audit trail, as a function's environment names it -----------------------------------


def test_a_record_appended_with_a_functions_environment_is_kept_and_locked(client, outputs):
    """GIVEN the push function's RECONCILER_AUDIT_TABLE and RECONCILER_AUDIT_BUCKET WHEN an
    audit record is appended through them THEN it reads back from the deployed table, and its
    copy in the deployed bucket is locked in COMPLIANCE mode and cannot be deleted"""
    from botocore.exceptions import ClientError

    from reconciler.audit import AuditRecord, Event
    from reconciler.aws.audit import object_key
    from reconciler.aws.services import audit_from_env

    function = client("lambda").get_function_configuration(FunctionName=outputs["PushFunctionArn"])
    env = function["Environment"]["Variables"]
    trail = audit_from_env({**env, "AWS_REGION": REGION}, create_if_missing=False)
    record = AuditRecord(Event.SUSPENDED, "app-audit-check", actor="test", message="freeze")
    trail.append([record])

    (kept,) = trail.read("app-audit-check")
    s3 = client("s3")
    head = s3.head_object(Bucket=outputs["AuditBucketName"], Key=object_key(kept))
    with pytest.raises(ClientError):
        s3.delete_object(
            Bucket=outputs["AuditBucketName"], Key=object_key(kept), VersionId=head["VersionId"]
        )
    assert (env["RECONCILER_AUDIT_TABLE"], env["RECONCILER_AUDIT_BUCKET"]) == (
        outputs["AuditTableName"],
        outputs["AuditBucketName"],
    )
    assert (kept.event, kept.message) == (Event.SUSPENDED, "freeze")
    assert head["ObjectLockMode"] == "COMPLIANCE"
