"""A hostile review of stacks in other accounts (issue 18) on moto: every call for a
member account's stack goes to that account, from the CLI's commands too; AssumeRole's
answers (a throttled STS, a missing external id, a token AWS calls expired) are told
apart as AWS means them; and events of the same stack name elsewhere change nothing.

moto in-process accepts any sts:AssumeRole and acts in the role's account with what it
hands out; AWS's refusals are answered at botocore's before-call (as botocore's Stubber
does), and an expired token at before-send, ahead of moto."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from handlers import drift as drift_handler
from handlers import runtime, stack_status
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.audit import Kept
from reconciler.aws import accounts as aws_accounts
from reconciler.aws import session
from reconciler.aws.services import services_from_env
from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.drift_actions import start_detections
from reconciler.github import GitHubSource
from reconciler.github_report import GitHubReporter
from reconciler.notify import Collected, Kind
from reconciler.outputs_drift import repair_outputs_drift
from reconciler.preview import PullRequest, run_preview
from reconciler.reconcile import finish, observe
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from reconciler.triggers import reconcile_head
from tests.functional.fake_github import FakeGitHub
from tests.functional.handler_repo import handler_repo
from tests.functional.test_accounts import (
    EXTERNAL_ID,
    HOME,
    MEMBER,
    MEMBER_REGION,
    MEMBER_ROLE,
    STRANGER,
    UNREACHABLE,
    Refusing,
    assumed,
    member_stack_id,
    outcomes,
    same_name_elsewhere,
    stack_file,
    status_event,
)
from tests.repo import TEMPLATE, commit, make_repo

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
NOT_PCI = ("  compliance: pci-dss\n", "  team: payments\n")
MEMBER_ONLY = {
    "desired-state/app-home.yml": stack_file("app-home"),
    "desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER),
}


@pytest.fixture
def repo(tmp_path, monkeypatch, aws):
    return handler_repo(tmp_path / "desired", monkeypatch, MEMBER_EXTERNAL_ID=EXTERNAL_ID)


@pytest.fixture
def services(repo):
    """The handlers' services, without a work queue (each pass changes its stacks)."""
    built = runtime.services()
    built.notifier = Collected()
    built.audit = Kept()
    built.change_set_wait_seconds = 0
    return built


@pytest.fixture
def deployed(repo, services):
    """app-home and the member's app-good created, the member's outputs published by its
    CREATE_COMPLETE event (in the member account's SSM); the head."""
    revision = commit(repo, MEMBER_ONLY)
    done = outcomes(reconcile_head(GitSource(str(repo)), services, "push"))
    assert done == {"app-home": "executed", "app-good": "executed"}
    token = services.status.get("app-good").operation_token
    answer = stack_status.handler(status_event(member_stack_id(), token), LambdaContext())
    assert answer["status"] == "recorded", answer
    return revision


class StsAnswers:
    """sts:AssumeRole of the reconciler's own STS client answered with AWS's error `code`
    for the next `times` calls (all of them: None), or when `when(params)` says so; every
    AssumeRole asked is kept."""

    def __init__(self, code: str, status: int, times: int | None = None, when=None) -> None:
        self.code, self.status, self.times, self.when = code, status, times, when
        self.asked: list[dict] = []
        session.client("sts").meta.events.register("before-call.sts.AssumeRole", self.answer)

    def answer(self, params, **_):
        body = params["body"]
        self.asked.append(dict(body))
        if self.when is not None and not self.when(body):
            return None
        if self.times is not None:
            if self.times <= 0:
                return None
            self.times -= 1
        error = {"Error": {"Code": self.code, "Message": f"{self.code} (test)", "Type": "Sender"}}
        return _Answer(self.status), {**error, "ResponseMetadata": {"HTTPStatusCode": self.status}}


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code, self.headers, self.content = status_code, {}, b""


def run(repo, services) -> dict[str, str]:
    return outcomes(reconcile_head(GitSource(str(repo)), services, "push"))


# --- the CLI's commands on a member account's stack -------------------------------------------


def test_the_drift_command_reads_a_member_stacks_drift_and_pci_settings_in_its_account(
    repo, services, deployed, capsys
):
    """GIVEN the member's app-good deployed, its log group's retention cut in the member
    account WHEN `reconciler drift --stack app-good` runs THEN the drift is read there (the
    log group drifted) and so are the PCI guardrails' live settings (its log group has no
    KMS key): nothing is asked of the home account, where no app-good exists."""
    logs = assumed("logs", MEMBER, MEMBER_REGION)
    logs.put_retention_policy(logGroupName="/test/app-good/logs", retentionInDays=1)
    capsys.readouterr()

    code = main(["drift", "--json", "--stack", "app-good", str(repo)])

    captured = capsys.readouterr()
    assert "error" not in captured.err, captured.err
    assert code == 1
    (stack,) = json.loads(captured.out)["stacks"]
    assert [d["logical_id"] for d in stack["drifted"]] == ["Logs"]
    assert ("Logs", "/test/app-good/logs") in {
        (v["logical_id"], v["physical_id"]) for v in stack["pci_violations"]
    }


def test_the_drift_command_repairs_a_member_stacks_drift_in_its_own_account(repo, services, capsys):
    """GIVEN a member's (non-PCI) stack whose log group retention was cut in its account
    WHEN `reconciler drift --repair` runs THEN the drift is reverted there and the command
    says the stack is in sync."""
    commit(repo, {"desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER)})
    stack_text = stack_file("app-good", MEMBER_REGION, MEMBER).replace(*NOT_PCI)
    commit(repo, {"desired-state/app-good.yml": stack_text})
    assert run(repo, services) == {"app-good": "executed"}
    logs = assumed("logs", MEMBER, MEMBER_REGION)
    logs.put_retention_policy(logGroupName="/test/app-good/logs", retentionInDays=1)
    capsys.readouterr()

    code = main(["drift", "--repair", "--stack", "app-good", str(repo)])

    captured = capsys.readouterr()
    assert (code, "error" in captured.err) == (0, False), captured.err
    assert "app-good: in sync" in captured.out
    group = logs.describe_log_groups(logGroupNamePrefix="/test/app-good/logs")["logGroups"][0]
    assert group["retentionInDays"] == 365


def test_the_outputs_command_reads_a_member_stacks_outputs_in_its_own_account(
    repo, services, deployed, capsys
):
    """GIVEN the member's outputs published in its account's SSM, and a stale parameter of
    the same name in the home account (tagged as app-good's: the stack lived there once)
    WHEN `reconciler outputs app-good` runs THEN it prints the member account's value, not
    the home account's."""
    home_ssm = boto3.client("ssm", region_name=MEMBER_REGION)
    home_ssm.put_parameter(
        Name="/app-good/LogGroup",
        Value="stale-from-the-home-account",
        Type="String",
        Tags=[{"Key": "gitops-reconciler:stack", "Value": "app-good"}],
    )
    capsys.readouterr()

    assert main(["outputs", "app-good", str(repo)]) == 0

    out = capsys.readouterr().out
    assert "/app-good/LogGroup = /test/app-good/logs" in out
    assert "stale-from-the-home-account" not in out


def test_the_validate_command_asks_a_member_stacks_secret_in_its_own_account(
    repo, services, capsys
):
    """GIVEN a member stack whose template names a secret by dynamic reference, the secret
    existing in the home account only WHEN `reconciler validate` runs THEN DYN003 says it
    does not exist (the pass, asking the member account, would refuse it): the command
    and the pass agree."""
    template = TEMPLATE.replace(
        "      Value: !Ref Greeting\n",
        "      Value: '{{resolve:secretsmanager:app-good-token:SecretString:token}}'\n",
    )
    boto3.client("secretsmanager", region_name=MEMBER_REGION).create_secret(
        Name="app-good-token", SecretString='{"token": "x"}'
    )
    commit(
        repo,
        {
            "templates/app.yml": template,
            "desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER),
        },
    )
    capsys.readouterr()

    code = main(["validate", str(repo)])

    out = capsys.readouterr().out
    assert "DYN003" in out and "app-good-token" in out
    assert code == 1


# --- AssumeRole's answers -----------------------------------------------------------------------


def test_an_expired_member_token_is_fetched_again_and_the_call_retried(repo, services, monkeypatch):
    """GIVEN the member account's first CloudFormation call answered ExpiredToken (a clock
    ahead of AWS's, a session revoked) WHEN a pass runs THEN the role is assumed again, the
    call retried with the new credentials, and the stack executed: never recorded
    Failed for credentials AWS no longer takes."""
    asked = StsAnswers("Unused", 400, times=0)
    expired = ExpireOnce(monkeypatch)
    commit(repo, MEMBER_ONLY)

    done = run(repo, services)

    assert expired.answered == 1
    assert done == {"app-home": "executed", "app-good": "executed"}
    assert services.status.get("app-good").sync is not Sync.FAILED
    assert [a["RoleArn"] for a in asked.asked] == [MEMBER_ROLE, MEMBER_ROLE]


class ExpireOnce:
    """The first call of each member client made by reconciler.aws.accounts is answered
    ExpiredToken, ahead of moto (as AWS answers a session token past its end)."""

    BODY = (
        b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
        b"<Error><Type>Sender</Type><Code>ExpiredToken</Code>"
        b"<Message>The security token included in the request is expired</Message></Error>"
        b"<RequestId>expired-1</RequestId></ErrorResponse>"
    )

    def __init__(self, monkeypatch) -> None:
        self.answered = 0
        made = aws_accounts.Accounts.clients

        def clients(accounts, role_arn, revision):
            client_for = made(accounts, role_arn, revision)

            def wrapped(service, region=None):
                client = client_for(service, region)
                if service == "cloudformation" and not getattr(client, "_expiring", False):
                    client._expiring = True
                    client.meta.events.register_first("before-send", self.send)
                return client

            return wrapped

        monkeypatch.setattr(aws_accounts.Accounts, "clients", clients)

    def send(self, request, **_):
        if self.answered:
            return None
        self.answered += 1
        return AWSResponse(request.url, 403, {}, MockRawResponse(self.BODY))


def test_without_a_member_external_id_the_refusal_says_to_set_it(repo, services, monkeypatch):
    """GIVEN MEMBER_EXTERNAL_ID unset and a member role that asks for one (AWS refuses
    AssumeRole without it) WHEN a pass runs THEN the member's stack is Failed with a
    message naming MEMBER_EXTERNAL_ID, the home stack executed."""
    monkeypatch.delenv("MEMBER_EXTERNAL_ID")
    runtime.services.cache_clear()
    services = runtime.services()
    services.notifier, services.audit, services.change_set_wait_seconds = Collected(), Kept(), 0
    StsAnswers("AccessDenied", 403, when=lambda body: "ExternalId" not in body)
    commit(repo, MEMBER_ONLY)

    done = run(repo, services)

    assert done == {"app-home": "executed", "app-good": "failed"}
    assert "MEMBER_EXTERNAL_ID" in services.status.get("app-good").message


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("Throttling", 400, id="throttled"),
        pytest.param("InternalFailure", 500, id="5xx"),
    ],
)
def test_a_transient_assume_role_failure_is_retried_and_never_recorded_failed(
    repo, services, code, status
):
    """GIVEN STS throttling (or failing) AssumeRole past botocore's retries WHEN a pass
    runs THEN it stops with a transient error (the event is retried) and no stack is
    recorded Failed or notified; the retried pass applies the member's stack."""
    StsAnswers(code, status, times=1)
    commit(repo, MEMBER_ONLY)

    from reconciler.errors import AwsError, PermanentAwsError

    with pytest.raises(AwsError) as raised:
        run(repo, services)
    assert not isinstance(raised.value, PermanentAwsError)
    assert all(s.sync is not Sync.FAILED for s in services.status.all())
    assert services.notifier.sent == []

    assert run(repo, services)["app-good"] == "executed"


def test_no_credentials_nor_the_external_id_are_logged(repo, services, caplog):
    """GIVEN a pass assuming a member role, one account refusing it WHEN logs are kept at
    DEBUG for the reconciler THEN no log record, status message or notification holds the
    assumed credentials or the external id."""
    caplog.set_level(logging.DEBUG, logger="reconciler")
    caplog.set_level(logging.DEBUG, logger="handlers")
    StsAnswers("AccessDenied", 403, when=lambda body: UNREACHABLE in body["RoleArn"])
    commit(
        repo,
        {**MEMBER_ONLY, "desired-state/app-bad.yml": stack_file("app-bad", HOME, UNREACHABLE)},
    )
    sts = boto3.client("sts", region_name=HOME)
    secret = sts.assume_role(RoleArn=MEMBER_ROLE, RoleSessionName="probe")["Credentials"]

    run(repo, services)

    said = [r.getMessage() for r in caplog.records]
    said += [s.message for s in services.status.all()]
    said += [n.message for n in services.notifier.sent]
    assert any("cannot assume" in text for text in said)
    for text in said:
        assert EXTERNAL_ID not in text
        assert secret["SecretAccessKey"][:8] not in text


# --- events: identity by stack id -------------------------------------------------------------


def drift_event(stack_id: str) -> dict:
    """AWS's sample drift detection event, as the stack's own account and region put it."""
    event = json.loads((EVENTS / "drift_detection_complete.json").read_text())
    _, _, _, region, account, _ = stack_id.split(":", 5)
    event.update(account=account, region=region, resources=[stack_id])
    event["detail"]["stack-id"] = stack_id
    return event


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "before-its-record"])
def test_a_drift_event_for_the_same_name_in_another_account_changes_nothing(
    repo, services, deployed, recorded
):
    """GIVEN the member's app-good deployed, and a stack named app-good in a third account
    WHEN that stack's drift detection event arrives (with app-good's record, or before it
    exists) THEN it is ignored: no detection is read, nothing recorded or notified."""
    other = same_name_elsewhere(assumed("cloudformation", STRANGER, MEMBER_REGION))
    if not recorded:
        table = services.status.table_name
        boto3.client("dynamodb", region_name=HOME).delete_item(
            TableName=table, Key={"stack_name": {"S": "app-good"}}
        )
    before = services.status.get("app-good")
    sent = list(services.notifier.sent)

    answer = drift_handler.handler(drift_event(other), LambdaContext())

    assert answer["status"] == "ignored", answer
    assert services.status.get("app-good") == before
    assert services.notifier.sent == sent


def test_the_schedule_puts_back_a_member_stacks_deleted_output_in_its_own_account(
    repo, services, deployed
):
    """GIVEN the member's outputs published, then one deleted in the member account WHEN
    the schedule's outputs drift repair runs THEN it is written again there, and nothing is
    written to the home account's SSM."""
    ssm = assumed("ssm", MEMBER, MEMBER_REGION)
    ssm.delete_parameter(Name="/app-good/LogGroup")

    repaired = repair_outputs_drift(services, "schedule")

    assert [r.stack_name for r in repaired] == ["app-good"]
    assert ssm.get_parameter(Name="/app-good/LogGroup")["Parameter"]["Value"] == (
        "/test/app-good/logs"
    )
    home_ssm = boto3.client("ssm", region_name=MEMBER_REGION)
    assert home_ssm.get_parameters_by_path(Path="/app-good")["Parameters"] == []


def test_a_member_stacks_drift_event_repairs_it_in_its_own_account(repo, services):
    """GIVEN a member's (non-PCI) stack deployed, its log group's retention cut there WHEN
    its own drift detection event arrives THEN the drift is reverted in the member account
    through a REVERT_DRIFT change set, and the repair is recorded."""
    stack_text = stack_file("app-good", MEMBER_REGION, MEMBER).replace(*NOT_PCI)
    commit(repo, {"desired-state/app-good.yml": stack_text})
    assert run(repo, services) == {"app-good": "executed"}
    logs = assumed("logs", MEMBER, MEMBER_REGION)
    logs.put_retention_policy(logGroupName="/test/app-good/logs", retentionInDays=1)
    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    member.detect_stack_drift(StackName="app-good")

    answer = drift_handler.handler(drift_event(member_stack_id()), LambdaContext())

    assert answer["status"] == "recorded", answer
    group = logs.describe_log_groups(logGroupNamePrefix="/test/app-good/logs")["logGroups"][0]
    assert group["retentionInDays"] == 365
    status = services.status.get("app-good")
    assert (status.phase, status.account) == (Phase.APPLYING, MEMBER)
    assert status.change_set.startswith("gitops-revert-")


# --- a stack moved to another account -----------------------------------------------------------


def test_a_stack_moved_to_another_account_keeps_the_record_of_its_new_place(repo, services):
    """GIVEN app-good created and Synced in the member account WHEN its stack file drops
    `account:` (the stack moves to the home account) and a pass runs THEN the new stack is
    created at home and app-good's one record describes it (account "", applying), not
    the old member stack left in place (orphaned)."""
    commit(repo, {"desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER)})
    assert run(repo, services) == {"app-good": "executed"}
    token = services.status.get("app-good").operation_token
    stack_status.handler(status_event(member_stack_id(), token), LambdaContext())
    commit(repo, {"desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION)})

    run(repo, services)

    home = boto3.client("cloudformation", region_name=MEMBER_REGION)
    assert home.describe_stacks(StackName="app-good")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    status = services.status.get("app-good")
    assert (status.account, status.sync, status.phase) == ("", Sync.OUT_OF_SYNC, Phase.APPLYING)
    assert [n.kind for n in services.notifier.sent] == [Kind.SUCCEEDED]


# --- a pull request's preview ------------------------------------------------------------------


@pytest.fixture
def github(tmp_path):
    fake = FakeGitHub(make_repo(tmp_path / "pr"), sha=PR_HEAD)
    yield fake
    fake.close()


def test_a_preview_with_a_member_stack_it_cannot_reach_still_previews_the_others(aws, github):
    """GIVEN a pull request adding a member account's stack, whose role the preview cannot
    assume (the deployed PreviewRole may assume no member role, and has no
    MEMBER_EXTERNAL_ID) WHEN it is previewed THEN the preview is still posted: the home
    stack planned, the member's stack said to be unreachable with the role, not a
    preview that fails without a word on the pull request."""
    Refusing(MEMBER_ROLE)
    make_repo(
        github.files,
        {"desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER)},
        defaults=False,
    )
    github.open_pull(2, PR_HEAD)
    services = services_from_env(change_set_wait_seconds=0)
    pull = PullRequest("owner/repo", 2, PR_HEAD, "https://github.com/owner/repo/pull/2")
    reporter = GitHubReporter(
        "owner/repo", api_url=github.api_url, token=lambda: "t0ken", sleep=lambda _: None
    )

    outcome = run_preview(
        pull, GitHubSource("owner/repo", api_url=github.api_url), services, reporter
    )

    (comment,) = github.issue_comments(2)
    assert "app-dev" in comment["body"]
    assert MEMBER_ROLE in comment["body"] or MEMBER_ROLE in outcome.reason
    assert {s["stack_name"] for s in outcome.stacks} >= {"app-dev"}


# --- change control and the schedule on a member account's stack -------------------------------

GATED = stack_file("app-good", MEMBER_REGION, MEMBER) + "approval: required\n"


def member_change_sets() -> list[str]:
    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    try:
        summaries = member.list_change_sets(StackName="app-good")["Summaries"]
    except member.exceptions.ClientError:
        return []
    return [c["ChangeSetName"] for c in summaries if c["Status"] != "DELETE_COMPLETE"]


@pytest.fixture
def held(repo, services, monkeypatch):
    """app-good, in the member account, held for approval; its change set there."""
    monkeypatch.setattr("reconciler.aws.services.audit_from_env", lambda *a, **k: Kept())
    commit(repo, {"desired-state/app-good.yml": GATED})
    assert run(repo, services) == {"app-good": "awaiting approval"}
    change_set = services.status.get("app-good").change_set
    assert member_change_sets() == [change_set]
    return change_set


def test_approve_runs_a_member_stacks_held_change_set_in_its_own_account(
    repo, services, held, capsys
):
    """GIVEN a member stack's change set held for approval in its account WHEN another
    person runs `reconciler approve` THEN the change set is executed there: the stack is
    created in the member account, none in the home one."""
    assert main(["approve", "app-good", str(repo), "--change-set", held]) == 0, (
        capsys.readouterr().err
    )
    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    assert member.describe_stacks(StackName="app-good")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    home = boto3.client("cloudformation", region_name=MEMBER_REGION)
    assert home.describe_stacks()["Stacks"] == []


def test_reject_deletes_a_member_stacks_held_change_set_in_its_own_account(
    repo, services, held, capsys
):
    """GIVEN the same WHEN `reconciler reject` runs THEN the change set is deleted in the
    member account and the stack recorded Rejected."""
    assert main(["reject", "app-good", str(repo), "--reason", "not now"]) == 0, (
        capsys.readouterr().err
    )
    assert member_change_sets() == []
    assert services.status.get("app-good").phase is Phase.REJECTED


def test_the_schedule_starts_a_member_stacks_drift_detection_in_its_own_account(
    repo, services, deployed
):
    """GIVEN the member's app-good deployed WHEN the schedule starts detections THEN the
    detection runs in the member account (its id is known there)."""
    started = dict(start_detections(services, limit=5))

    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    status = member.describe_stack_drift_detection_status(StackDriftDetectionId=started["app-good"])
    assert status["StackId"] == member_stack_id()


def test_every_role_a_pass_assumes_carries_its_commit_even_for_a_secrets_check(repo, services):
    """GIVEN a member stack whose template names a secret of its account by dynamic
    reference WHEN a pass applies it THEN every AssumeRole of the pass (the secret's
    DescribeSecret in validation included) has the session name of the commit, so the
    member account's CloudTrail ties each call to it (no gitops-reconciler-no-commit)."""
    template = TEMPLATE.replace(
        "      Value: !Ref Greeting\n",
        "      Value: '{{resolve:secretsmanager:app-good-token:SecretString:token}}'\n",
    )
    assumed("secretsmanager", MEMBER, MEMBER_REGION).create_secret(
        Name="app-good-token", SecretString='{"token": "x"}'
    )
    asked = StsAnswers("Unused", 400, times=0)
    revision = commit(
        repo,
        {
            "templates/app.yml": template,
            "desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER),
        },
    )

    assert run(repo, services) == {"app-good": "executed"}

    assert {a["RoleSessionName"] for a in asked.asked} == {f"gitops-reconciler-{revision[:12]}"}


def test_a_refused_drift_detection_in_one_account_leaves_the_others_started(
    repo, services, monkeypatch
):
    """GIVEN the home and the member's stacks deployed, and the member account refusing
    DetectStackDrift (an SCP, a stack outside the member role's prefix) WHEN the schedule
    starts detections THEN the home stack's starts; the member's is logged and skipped,
    not an error that stops every detection of the schedule."""
    RefuseInMember(monkeypatch, "DetectStackDrift")
    commit(repo, MEMBER_ONLY)
    assert run(repo, services) == {"app-home": "executed", "app-good": "executed"}
    finish("app-home", HOME, services)  # both operations ended (as their events say)
    finish("app-good", MEMBER_REGION, services)

    started = dict(start_detections(services, limit=5))

    assert set(started) == {"app-home"}
    assert services.status.get("app-good").drift_status != "DETECTING"


class RefuseInMember:
    """Calls of `operation` by the member clients of reconciler.aws.accounts answered with
    AWS's AccessDenied (at botocore's before-call, as the Stubber does)."""

    def __init__(self, monkeypatch, operation: str) -> None:
        self.operation = operation
        made = aws_accounts.Accounts.clients

        def clients(accounts, role_arn, revision):
            client_for = made(accounts, role_arn, revision)

            def wrapped(service, region=None):
                client = client_for(service, region)
                if not getattr(client, "_refusing", False):
                    client._refusing = True
                    client.meta.events.register(f"before-call.{service}.{operation}", self.answer)
                return client

            return wrapped

        monkeypatch.setattr(aws_accounts.Accounts, "clients", clients)

    def answer(self, **_):
        message = f"not authorized to perform: cloudformation:{self.operation}"
        error = {"Error": {"Code": "AccessDenied", "Message": message, "Type": "Sender"}}
        return _Answer(403), {**error, "ResponseMetadata": {"HTTPStatusCode": 403}}


def test_a_stack_workers_narrow_read_asks_each_account_for_its_own_stacks_only(repo, services):
    """GIVEN a member stack (app-good) and a home stack (app-dep) in the same region, and
    stacks of the same names the other way round (app-good at home, app-dep in the
    member account) WHEN a stack worker's narrow read observes them THEN each account is
    asked for its own stack files' stacks only: the others' namesakes are never read."""
    commit(
        repo,
        {
            "desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER),
            "desired-state/app-dep.yml": stack_file("app-dep", MEMBER_REGION),
        },
    )
    same_name_elsewhere(boto3.client("cloudformation", region_name=MEMBER_REGION))
    body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    member.create_stack(StackName="app-dep", TemplateBody=body)
    member.create_stack(StackName="app-good", TemplateBody=body)
    boto3.client("cloudformation", region_name=MEMBER_REGION).create_stack(
        StackName="app-dep", TemplateBody=body
    )

    live = observe(load_desired_state(repo), services, narrow=True)

    assert set(live) == {(MEMBER, MEMBER_REGION, "app-good"), ("", MEMBER_REGION, "app-dep")}
