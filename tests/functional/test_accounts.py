"""Stacks in other accounts on moto (issue 18): a stack file naming `account:` is applied
through a role assumed there (reconciler.aws.accounts), its events are told apart from
those of a stack of the same name elsewhere, and an account whose role cannot be assumed
fails its own stacks only, said once.

moto in-process accepts any sts:AssumeRole, and credentials it hands out act in the
role's account. A role that cannot be assumed is made by answering AssumeRole for that
role with AWS's AccessDenied at botocore's before-call (as botocore's Stubber does)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest

from handlers import runtime, stack_status
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.audit import Kept
from reconciler.aws import session
from reconciler.cli import main
from reconciler.cli.report import status as status_table
from reconciler.desired import load_desired_state
from reconciler.errors import PermanentAwsError
from reconciler.fanout import Collected as CollectedItems
from reconciler.fanout import WorkItem
from reconciler.notify import Collected, Kind
from reconciler.reconcile import apply, make_plan
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from reconciler.triggers import on_work_item, reconcile_head
from tests.functional.handler_repo import handler_repo
from tests.repo import STACK, commit

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
HOME_ACCOUNT, MEMBER, UNREACHABLE, STRANGER = (
    "123456789012", "222222222222", "333333333333", "444444444444",
)  # fmt: skip
HOME, MEMBER_REGION = "us-east-1", "eu-west-1"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/gitops-reconciler-member"
UNREACHABLE_ROLE = f"arn:aws:iam::{UNREACHABLE}:role/gitops-reconciler-member"
EXTERNAL_ID = "pci-estate-7f3a"


def stack_file(name: str, region: str = HOME, account: str = "") -> str:
    text = STACK.replace("app-dev", name).replace(
        "EnvironmentSuffix: dev", f"EnvironmentSuffix: {name}"
    )
    text = text.replace(f"region: {HOME}", f"region: {region}")
    return text + (f'account: "{account}"\n' if account else "")


ESTATE = {
    "desired-state/app-home.yml": stack_file("app-home"),
    "desired-state/app-good.yml": stack_file("app-good", MEMBER_REGION, MEMBER),
    "desired-state/app-bad.yml": stack_file("app-bad", MEMBER_REGION, UNREACHABLE),
}


class Refusing:
    """sts:AssumeRole of the reconciler's own STS client, refused with AWS's AccessDenied
    for the roles in `refused`; every AssumeRole asked is kept."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)
        self.asked: list[dict] = []
        session.client("sts").meta.events.register("before-call.sts.AssumeRole", self.answer)

    def answer(self, params, **_):
        body = params["body"]
        self.asked.append(dict(body))
        if body.get("RoleArn") not in self.refused:
            return None
        message = (
            f"User: arn:aws:sts::{HOME_ACCOUNT}:assumed-role/gitops-reconciler-push/worker is "
            f"not authorized to perform: sts:AssumeRole on resource: {body['RoleArn']}"
        )
        error = {"Error": {"Code": "AccessDenied", "Message": message, "Type": "Sender"}}
        return _Answer(403), {**error, "ResponseMetadata": {"HTTPStatusCode": 403}}


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code, self.headers, self.content = status_code, {}, b""


def assumed(service: str, account: str, region: str):
    """A client acting in `account` (moto: any role there can be assumed)."""
    sts = boto3.client("sts", region_name=HOME)
    role = f"arn:aws:iam::{account}:role/gitops-reconciler-member"
    answer = sts.assume_role(RoleArn=role, RoleSessionName="test-reader")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=answer["AccessKeyId"],
        aws_secret_access_key=answer["SecretAccessKey"],
        aws_session_token=answer["SessionToken"],
    )


@pytest.fixture
def repo(tmp_path, monkeypatch, aws):
    return handler_repo(tmp_path / "desired", monkeypatch, MEMBER_EXTERNAL_ID=EXTERNAL_ID)


@pytest.fixture
def services(repo):
    """The handlers' services (handlers.runtime), without a work queue: each pass
    changes its stacks itself, as the CLI does."""
    built = runtime.services()
    built.notifier = Collected()
    built.audit = Kept()
    built.change_set_wait_seconds = 0
    return built


def outcomes(outcome) -> dict[str, str]:
    return {s["stack_name"]: s["outcome"] for s in outcome.stacks}


# --- a role that cannot be assumed ----------------------------------------------------------


def test_an_account_whose_role_cannot_be_assumed_fails_its_stack_and_the_others_go_on(
    repo, services
):
    """GIVEN a home stack and stacks in two member accounts, one of whose role cannot be
    assumed WHEN a pass runs THEN that account's stack is recorded Failed with a message
    naming the role and notified once; the home and the other member's stacks are
    executed, the member's in its own account."""
    Refusing(UNREACHABLE_ROLE)
    commit(repo, ESTATE)

    done = outcomes(reconcile_head(GitSource(str(repo)), services, "push"))

    assert done == {"app-home": "executed", "app-good": "executed", "app-bad": "failed"}
    bad = services.status.get("app-bad")
    assert (bad.sync, bad.phase, bad.account) == (Sync.FAILED, Phase.FAILED, UNREACHABLE)
    assert f"cannot assume {UNREACHABLE_ROLE}" in bad.message
    assert "AccessDenied" in bad.message
    (note,) = services.notifier.sent
    assert (note.kind, note.stack_name) == (Kind.FAILED, "app-bad")
    assert UNREACHABLE_ROLE in note.message
    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    assert member.describe_stacks(StackName="app-good")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    home = boto3.client("cloudformation", region_name=MEMBER_REGION)
    assert home.describe_stacks()["Stacks"] == []  # nothing landed in the home account


def test_a_second_pass_says_nothing_new_about_the_unreachable_account(repo, services):
    """GIVEN the unreachable account's stack recorded Failed WHEN another event's pass
    runs THEN nothing more is notified or appended to the trail about it."""
    Refusing(UNREACHABLE_ROLE)
    commit(repo, ESTATE)
    reconcile_head(GitSource(str(repo)), services, "push")

    again = outcomes(reconcile_head(GitSource(str(repo)), services, "schedule"))

    assert again["app-bad"] == "failed"
    assert [n.kind for n in services.notifier.sent if n.stack_name == "app-bad"] == [Kind.FAILED]
    assert services.audit.events("app-bad") == ["failed"]


def test_once_the_role_can_be_assumed_apply_applies_the_failed_stack(repo, services):
    """GIVEN the stack Failed because its role could not be assumed WHEN the role is
    fixed (the member account's StackSet deployed) and `reconciler apply` runs THEN the
    stack is created in its account."""
    refusing = Refusing(UNREACHABLE_ROLE)
    revision = commit(repo, ESTATE)
    reconcile_head(GitSource(str(repo)), services, "push")
    refusing.refused.clear()

    result = apply(load_desired_state(repo), revision, services, "cli", only={"app-bad"})

    assert [s.outcome for s in result.stacks] == ["executed"]
    there = assumed("cloudformation", UNREACHABLE, MEMBER_REGION)
    assert there.describe_stacks(StackName="app-bad")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )


def test_a_fanned_out_pass_fails_the_unreachable_accounts_stack_and_queues_the_others(
    repo, services
):
    """GIVEN a work queue WHEN the push's pass cannot assume one account's role THEN that
    stack is recorded Failed (its account cannot even be read) and not queued; the home
    and the reachable member's stacks are queued."""
    Refusing(UNREACHABLE_ROLE)
    revision = commit(repo, ESTATE)
    services.queue = CollectedItems()

    done = outcomes(reconcile_head(GitSource(str(repo)), services, "push"))

    assert done == {"app-home": "queued", "app-good": "queued", "app-bad": "failed"}
    assert sorted(services.queue.items, key=lambda i: i.stack) == [
        WorkItem("app-good", revision, MEMBER, MEMBER_REGION),
        WorkItem("app-home", revision, "", HOME),
    ]
    assert [n.stack_name for n in services.notifier.sent] == ["app-bad"]


def test_a_work_item_for_an_unreachable_account_is_recorded_failed_once(repo, services):
    """GIVEN a work item for a stack whose account's role cannot be assumed WHEN the
    worker handles it (twice) THEN the stack is Failed, naming the role, notified once."""
    refusing = Refusing()
    revision = commit(repo, ESTATE)
    refusing.refused.add(UNREACHABLE_ROLE)
    item = WorkItem("app-bad", revision, UNREACHABLE, MEMBER_REGION)

    first = on_work_item(item, GitSource(str(repo)), services, "worker")
    on_work_item(item, GitSource(str(repo)), services, "worker")

    assert outcomes(first) == {"app-bad": "failed"}
    assert UNREACHABLE_ROLE in services.status.get("app-bad").message
    assert [(n.kind, n.stack_name) for n in services.notifier.sent] == [(Kind.FAILED, "app-bad")]


def test_plan_refuses_with_the_role_it_cannot_assume(repo, services):
    """GIVEN a stack in an account whose role cannot be assumed WHEN the plan is made
    THEN it stops with a PermanentAwsError naming the role (a plan shows all or none)."""
    Refusing(UNREACHABLE_ROLE)
    commit(repo, ESTATE)
    with pytest.raises(PermanentAwsError, match=f"cannot assume {UNREACHABLE_ROLE}"):
        make_plan(load_desired_state(repo), services)


def test_the_plan_command_says_which_role_it_cannot_assume_in_one_line(repo, capsys):
    """GIVEN the same WHEN `reconciler plan` runs THEN it exits 1 with one line naming
    the role, no traceback."""
    Refusing(UNREACHABLE_ROLE)
    commit(repo, ESTATE)
    assert main(["plan", str(repo)]) == 1
    err = capsys.readouterr().err
    assert UNREACHABLE_ROLE in err
    assert "Traceback" not in err


# --- the assumed role -------------------------------------------------------------------------


def test_a_member_stack_is_reached_with_the_external_id_and_a_session_named_after_the_commit(
    repo, services
):
    """GIVEN a member account's stack WHEN a pass applies it THEN the role it assumes is
    the member role, with MEMBER_EXTERNAL_ID and the session name
    gitops-reconciler-<commit's first 12 characters>; the home stack assumes nothing."""
    refusing = Refusing()
    revision = commit(repo, {k: v for k, v in ESTATE.items() if "bad" not in k})
    reconcile_head(GitSource(str(repo)), services, "push")
    assert {(a["RoleArn"], a["ExternalId"], a["RoleSessionName"]) for a in refusing.asked} == {
        (MEMBER_ROLE, EXTERNAL_ID, f"gitops-reconciler-{revision[:12]}")
    }


def test_a_member_stacks_work_item_is_applied_in_its_own_account(repo, services):
    """GIVEN a work item for a member account's stack WHEN the worker handles it THEN the
    stack is created in that account (not the home one), recorded with its account."""
    revision = commit(repo, {k: v for k, v in ESTATE.items() if "bad" not in k})
    item = WorkItem("app-good", revision, MEMBER, MEMBER_REGION)

    done = on_work_item(item, GitSource(str(repo)), services, "worker")

    assert outcomes(done) == {"app-good": "executed"}
    assert member_stack_id().split(":")[4] == MEMBER
    home = boto3.client("cloudformation", region_name=MEMBER_REGION)
    assert home.describe_stacks()["Stacks"] == []
    assert services.status.get("app-good").account == MEMBER


@pytest.mark.parametrize(
    ("account", "region"),
    [
        pytest.param("", MEMBER_REGION, id="the-home-account"),
        pytest.param(STRANGER, MEMBER_REGION, id="another-account"),
        pytest.param(MEMBER, HOME, id="another-region"),
    ],
)
def test_a_work_item_naming_another_place_than_the_stack_file_is_ignored(
    repo, services, account, region
):
    """GIVEN a work item whose account or region is not the stack file's (a file moved
    to another account since, or a forged message) WHEN the worker handles it THEN it is
    ignored: nothing is created anywhere, nothing recorded."""
    revision = commit(repo, {k: v for k, v in ESTATE.items() if "bad" not in k})
    item = WorkItem("app-good", revision, account, region)

    done = on_work_item(item, GitSource(str(repo)), services, "worker")

    assert done.status == "ignored"
    assert services.status.get("app-good") is None
    for where in (HOME, MEMBER_REGION):
        assert boto3.client("cloudformation", region_name=where).describe_stacks()["Stacks"] == []


# --- events from a member account -------------------------------------------------------------


def member_stack_id(name: str = "app-good") -> str:
    member = assumed("cloudformation", MEMBER, MEMBER_REGION)
    return member.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def status_event(stack_id: str, token: str) -> dict:
    """tests/events' CREATE_COMPLETE, as the stack's own account and region put it (and
    its forwarding rule passed it on to the home account's bus)."""
    event = json.loads((EVENTS / "stack_status_create_complete.json").read_text())
    _, _, _, region, account, _ = stack_id.split(":", 5)
    event.update(id=str(uuid.uuid4()), account=account, region=region, resources=[stack_id])
    event["detail"] |= {"stack-id": stack_id, "client-request-token": token}
    return event


@pytest.fixture
def deployed(repo, services):
    """app-home and the member's app-good executed at the head; the head."""
    revision = commit(repo, {k: v for k, v in ESTATE.items() if "bad" not in k})
    done = outcomes(reconcile_head(GitSource(str(repo)), services, "push"))
    assert done == {"app-home": "executed", "app-good": "executed"}
    return revision


def test_a_member_accounts_stack_event_completes_it_with_outputs_in_its_own_account(
    repo, services, deployed
):
    """GIVEN the member's stack executed WHEN its CREATE_COMPLETE event (account
    222222222222) arrives THEN the record is Synced at the commit, with the account and
    role; its outputs are published to SSM in the member account, not the home one."""
    record = services.status.get("app-good")
    event = status_event(member_stack_id(), record.operation_token)

    answer = stack_status.handler(event, LambdaContext())

    assert answer["status"] == "recorded", answer
    status = services.status.get("app-good")
    assert (status.sync, status.phase, status.applied_revision) == (
        Sync.SYNCED, Phase.IDLE, deployed,
    )  # fmt: skip
    assert (status.account, status.role_arn) == (MEMBER, MEMBER_ROLE)
    assert status.stack_id == member_stack_id()
    ssm = assumed("ssm", MEMBER, MEMBER_REGION)
    value = ssm.get_parameter(Name="/app-good/LogGroup")["Parameter"]["Value"]
    assert value == "/test/app-good/logs"
    home_ssm = boto3.client("ssm", region_name=MEMBER_REGION)
    assert home_ssm.get_parameters_by_path(Path="/app-good")["Parameters"] == []
    assert [(n.kind, n.stack_name) for n in services.notifier.sent] == [
        (Kind.SUCCEEDED, "app-good")
    ]


def same_name_elsewhere(client) -> str:
    """A stack named app-good made directly (not by the reconciler) with `client`."""
    body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    return client.create_stack(StackName="app-good", TemplateBody=body)["StackId"]


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("home", id="the-home-account"),
        pytest.param(UNREACHABLE, id="a-third-account"),
    ],
)
def test_an_event_for_a_stack_of_the_same_name_in_another_account_changes_nothing(
    repo, services, deployed, where
):
    """GIVEN the member's app-good executed and a stack named app-good in another account
    (same region) WHEN that stack's event arrives THEN it is ignored: the record, SSM
    and the notifications are unchanged."""
    if where == "home":
        client = boto3.client("cloudformation", region_name=MEMBER_REGION)
    else:
        client = assumed("cloudformation", where, MEMBER_REGION)
    other = same_name_elsewhere(client)
    before = services.status.get("app-good")

    answer = stack_status.handler(status_event(other, "made-by-hand"), LambdaContext())

    assert answer["status"] == "ignored", answer
    assert services.status.get("app-good") == before
    assert services.notifier.sent == []
    ssm = assumed("ssm", MEMBER, MEMBER_REGION)
    assert ssm.get_parameters_by_path(Path="/app-good")["Parameters"] == []
    assert (
        boto3.client("ssm", region_name=MEMBER_REGION).get_parameters_by_path(Path="/app-good")[
            "Parameters"
        ]
        == []
    )


def rows(table: str) -> dict[str, list[str]]:
    """stack -> its cells, from a table of the CLI (a header, a rule, rows)."""
    lines = [line.split() for line in table.splitlines() if line.strip() and "---" not in line]
    header, *body = lines
    assert [h.lower() for h in header[:3]] == ["stack", "account", "region"]
    return {cells[0]: cells[1:3] for cells in body}


def test_the_status_table_shows_each_stacks_account_and_region(repo, services, deployed):
    """GIVEN a home and a member stack recorded WHEN the status table is made THEN each
    row shows the stack's account (the home one from its stack id) and region."""
    table = rows(status_table(services.status.all()))
    assert table == {"app-good": [MEMBER, MEMBER_REGION], "app-home": [HOME_ACCOUNT, HOME]}


def test_the_status_command_shows_the_account_of_a_stack_never_applied(
    repo, services, deployed, capsys
):
    """GIVEN a member stack file added but not yet applied WHEN `reconciler status` runs
    THEN its row shows the account and region its stack file names, as the others do."""
    commit(repo, {"desired-state/app-later.yml": stack_file("app-later", MEMBER_REGION, STRANGER)})
    capsys.readouterr()
    assert main(["status", str(repo)]) == 0
    table = rows(capsys.readouterr().out)
    assert table["app-good"] == [MEMBER, MEMBER_REGION]
    assert table["app-later"] == [STRANGER, MEMBER_REGION]
