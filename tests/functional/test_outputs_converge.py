"""Outputs converge: a stack is Synced only when SSM holds exactly its outputs. A write
failing part way is never recorded as Synced, the next push or stack status event
republishes what differs, and the schedule puts back parameters changed or deleted
behind the reconciler's back, notifying it once. No output value is ever logged,
recorded or notified. Faults are made at botocore's before-send hook."""

from __future__ import annotations

import io
import json
import logging
import uuid
from pathlib import Path

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse

from handlers import idempotency, push, runtime, schedule, stack_status
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.aws import session
from reconciler.aws.services import services_from_env
from reconciler.cli import main
from reconciler.errors import AwsError
from reconciler.notify import Kind
from reconciler.source import GitSource
from reconciler.status import Sync
from reconciler.triggers import on_push, on_stack_status
from tests.repo import STACK, TEMPLATE, commit, git, git_repo

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
REF = "refs/heads/main"
SECRET = "tok-5ecret-Zq9x81"  # an output value that must never be said anywhere
SECRET_TEMPLATE = TEMPLATE.replace(
    "Outputs:\n", "Outputs:\n  ApiToken:\n    Value: !Ref Greeting\n", 1
)
SECRET_STACK = STACK.replace("dev\n", f"dev\n  Greeting: {SECRET}\n", 1)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


class SsmFault:
    """A before-send hook on SSM's PutParameter: the first `allow` calls go to moto, the
    others get a 500 whose message echoes the value (as some AWS errors do), until
    `healed`. botocore's standard mode retries the 500 and then raises. botocore hands
    before-send to moto too, whatever this hook answers, so a refused request is first
    renamed to a reserved name moto refuses without writing anything."""

    def __init__(self, allow: int = 1, status: int = 500, code: str = "InternalServerError"):
        self.allow, self.seen, self.healed = allow, 0, False
        self.status, self.code = status, code
        session.client("ssm", "us-east-1").meta.events.register(
            "before-send.ssm.PutParameter", self
        )

    def __call__(self, request, **_):
        self.seen += 1
        if self.healed or self.seen <= self.allow:
            return None
        payload = json.loads(request.body)
        value = payload["Value"]
        request.body = json.dumps({**payload, "Name": "/aws/refused"}).encode()
        body = json.dumps({"__type": self.code, "message": f"cannot store {value}"})
        return AWSResponse(request.url, self.status, {}, _Raw(body.encode()))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _: None)


@pytest.fixture
def calls():
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def services(aws, calls):
    return services_from_env(change_set_wait_seconds=0)


@pytest.fixture
def repo(tmp_path):
    return git_repo(tmp_path / "desired")


def ssm_values(path: str = "/app-dev") -> dict[str, str]:
    pages = boto3.client("ssm", region_name="us-east-1").get_parameters_by_path(Path=path)
    return {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in pages["Parameters"]}


def stack_event(status: str, repo: Path, services) -> object:
    return on_stack_status("app-dev", "us-east-1", status, GitSource(str(repo)), services, "e")


def pushed(repo: Path, services):
    return on_push(None, REF, GitSource(str(repo)), services, "push")


EXPECTED = {"GreetingName": "/test/dev/greeting", "LogGroup": "/test/dev/logs"}


# --- a write failing part way -------------------------------------------------------


def test_a_put_failing_after_one_of_two_outputs_is_never_synced_and_the_next_push_republishes(
    repo, services, calls
):
    """GIVEN a created stack whose CREATE_COMPLETE publish fails after one of its two
    outputs WHEN the same commit is pushed again THEN the record said outputs pending
    (not Synced) until that push republished the missing output, and only then Synced;
    a further push writes nothing."""
    assert pushed(repo, services).stacks[0]["outcome"] == "executed"
    fault = SsmFault(allow=1)
    with pytest.raises(AwsError, match="outputs not fully published"):
        stack_event("CREATE_COMPLETE", repo, services)
    status = services.status.get("app-dev")
    assert status.sync is not Sync.SYNCED
    assert "outputs not fully published" in status.message
    assert len(ssm_values()) == 1

    with pytest.raises(AwsError):  # still failing: a push of the same commit is not Synced
        pushed(repo, services)
    assert services.status.get("app-dev").sync is not Sync.SYNCED

    fault.healed = True
    (again,) = pushed(repo, services).stacks
    assert again["outcome"] == "unchanged" and "outputs republished: 1 written" in again["message"]
    assert ssm_values() == EXPECTED
    assert services.status.get("app-dev").sync is Sync.SYNCED

    calls.clear()
    (settled,) = pushed(repo, services).stacks
    assert settled["outcome"] == "unchanged"
    assert not {"PutParameter", "DescribeParameters", "GetParameters"} & set(calls)


def test_a_stack_status_event_republishes_and_then_notifies_success(repo, services):
    """GIVEN a publish that failed part way on CREATE_COMPLETE WHEN the event is delivered
    again (Lambda's retry) THEN the missing output is written, the stack is Synced and
    one Reconcile Succeeded is sent."""
    pushed(repo, services)
    fault = SsmFault(allow=1)
    with pytest.raises(AwsError):
        stack_event("CREATE_COMPLETE", repo, services)
    assert [n for n in services.notifier.sent if n.kind is Kind.SUCCEEDED] == []

    fault.healed = True
    outcome = stack_event("CREATE_COMPLETE", repo, services)
    assert outcome.status == "recorded"
    assert ssm_values() == EXPECTED
    assert services.status.get("app-dev").sync is Sync.SYNCED
    assert len([n for n in services.notifier.sent if n.kind is Kind.SUCCEEDED]) == 1


def test_a_write_ssm_refuses_is_failed_notified_once_and_crashes_no_pass(repo, services):
    """GIVEN SSM refusing an output's write (a 4xx: retrying cannot help) WHEN the
    CREATE_COMPLETE event and then two pushes of the same commit come THEN nothing raises,
    the stack is Failed naming the parameter, one Reconcile Failed is sent; once SSM
    takes the write, the next push publishes and records Synced."""
    pushed(repo, services)
    fault = SsmFault(allow=1, status=400, code="AccessDeniedException")
    assert stack_event("CREATE_COMPLETE", repo, services).status == "recorded"
    for _ in range(2):
        (again,) = pushed(repo, services).stacks
        assert again["outcome"] == "failed"
    status = services.status.get("app-dev")
    assert status.sync is Sync.FAILED
    assert "/app-dev/LogGroup failed (AccessDeniedException)" in status.message
    assert len([n for n in services.notifier.sent if n.kind is Kind.FAILED]) == 1

    fault.healed = True
    pushed(repo, services)
    assert services.status.get("app-dev").sync is Sync.SYNCED
    assert ssm_values() == EXPECTED


# --- the schedule, through the handlers -----------------------------------------------


@pytest.fixture
def deployed(tmp_path, monkeypatch, aws, calls):
    """Two stacks deployed through the push and stack status handlers; logs at INFO."""
    root = git_repo(tmp_path / "desired")
    base = STACK.replace("app-dev", "base").replace("dev\n", "base\n", 1)
    commit(
        root,
        {
            "templates/app.yml": SECRET_TEMPLATE,
            "desired-state/app-dev.yml": SECRET_STACK,
            "desired-state/base.yml": base,
        },
    )
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(root))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    event = json.loads((EVENTS / "push.json").read_text())
    event.update(repository=str(root), ref=REF, after=git(root, "rev-parse", "HEAD"))
    assert push.handler(event, LambdaContext())["status"] == "reconciled"
    for name in ("app-dev", "base"):
        finished(name)
    return root


def finished(name: str) -> dict:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    stack_id = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    event = json.loads((EVENTS / "stack_status_create_complete.json").read_text())
    event["id"] = str(uuid.uuid4())  # each call a new delivery (a Lambda retry keeps its id)
    event["detail"]["stack-id"] = stack_id
    event["resources"] = [stack_id]
    return stack_status.handler(event, LambdaContext())


def notes(kind: Kind) -> list:
    return [n for n in runtime.services().notifier.notifiers[0].sent if n.kind is kind]


def test_the_schedule_puts_back_outputs_changed_or_deleted_behind_its_back_once(
    deployed, calls, capsys
):
    """GIVEN deployed stacks WHEN one output's parameter is overwritten and another
    deleted by hand, and the schedule runs twice THEN the first run puts both back,
    `reconciler status` says "outputs drift", one Outputs Drift Repaired is sent; SSM is
    read with one GetParametersByPath per stack; the second run changes and sends
    nothing."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/app-dev/ApiToken", Value="changed", Type="String", Overwrite=True)
    ssm.delete_parameter(Name="/app-dev/LogGroup")

    calls.clear()
    result = schedule.handler({}, LambdaContext())
    assert "outputs drift repaired on 1 stack(s)" in result["reason"]
    assert ssm_values() == {**EXPECTED, "ApiToken": SECRET}
    assert calls.count("GetParametersByPath") == 2  # two stacks, six outputs
    (note,) = notes(Kind.OUTPUTS_DRIFT_REPAIRED)
    assert note.stack_name == "app-dev"
    assert "ApiToken changed, LogGroup deleted" in note.message

    capsys.readouterr()
    assert main(["status", str(deployed)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("app-dev"))
    assert "Synced" in row and "outputs drift repaired: ApiToken changed, LogGroup deleted" in row

    calls.clear()
    again = schedule.handler({}, LambdaContext())
    assert "outputs drift" not in again["reason"]
    assert "PutParameter" not in calls
    assert len(notes(Kind.OUTPUTS_DRIFT_REPAIRED)) == 1


@pytest.fixture
def logged():
    """What the handlers log, as the Lambda's log would have it (JSON, extra keys too)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(runtime.logger.registered_formatter)
    underlying = logging.getLogger(runtime.logger.name)
    level = underlying.level
    underlying.addHandler(handler)
    underlying.setLevel("DEBUG")
    yield stream
    underlying.removeHandler(handler)
    underlying.setLevel(level)


def test_an_output_value_is_never_logged_recorded_or_notified(deployed, logged, caplog):
    """GIVEN a stack output holding a secret-looking value WHEN its publish fails with an
    AWS error echoing the value, is retried, and its parameter is later changed by hand
    and put back by the schedule THEN the value is in SSM and nowhere else: not in the
    handlers' logs or results, the status table, or any notification."""
    caplog.set_level("INFO")  # botocore's DEBUG log shows every request: not ours
    caplog.set_level("DEBUG", logger="reconciler")
    caplog.set_level("DEBUG", logger="handlers")
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.delete_parameter(Name="/app-dev/ApiToken")
    services = runtime.services()
    fault = SsmFault(allow=0)
    results = []
    with pytest.raises(AwsError) as raised:
        finished("app-dev")  # a late CREATE_COMPLETE republishes, and fails
    assert services.status.get("app-dev").sync is Sync.OUT_OF_SYNC
    fault.healed = True
    results.append(finished("app-dev"))
    ssm.put_parameter(Name="/app-dev/ApiToken", Value="changed", Type="String", Overwrite=True)
    results.append(schedule.handler({}, LambdaContext()))

    assert ssm_values()["ApiToken"] == SECRET
    said = [
        str(raised.value),
        json.dumps(results),
        logged.getvalue(),
        caplog.text,
        json.dumps([n.detail() for n in runtime.services().notifier.notifiers[0].sent]),
        json.dumps([s.__dict__ for s in services.status.all()], default=str),
    ]
    assert "ApiToken" in said[4] and "transient failure" in said[2]  # keys and errors are said
    assert [i for i, text in enumerate(said) if SECRET in text] == []  # where it leaked


# --- orphans in a region no stack file names any more ----------------------------------

EU = (
    STACK.replace("app-dev", "app-eu").replace("dev\n", "eu\n", 1).replace("us-east-1", "eu-west-1")
)


def test_the_last_stack_file_of_a_region_removed_leaves_its_stack_orphaned(
    tmp_path, capsys, aws, calls
):
    """GIVEN stacks in us-east-1 and eu-west-1 WHEN eu-west-1's only stack file is
    removed THEN `plan` and `apply` still list that stack, as orphaned, and never delete
    it; the pass looks in eu-west-1 with one DescribeStacks, reading the status table
    once as before."""
    root = git_repo(tmp_path / "desired")
    commit(root, {"desired-state/app-eu.yml": EU})
    assert main(["apply", "--wait", str(root)]) == 0
    commit(root, {"desired-state/app-eu.yml": None})
    capsys.readouterr()

    assert main(["plan", str(root)]) == 0
    assert "app-eu [eu-west-1]: orphaned - no stack file declares it" in capsys.readouterr().out

    calls.clear()
    assert main(["apply", str(root)]) == 0
    rows = {line.split()[0]: line.split()[1:3] for line in capsys.readouterr().out.splitlines()}
    assert rows["app-eu"] == ["orphaned", "orphaned"]
    assert rows["app-dev"] == ["none", "unchanged"]
    assert (calls.count("Scan"), calls.count("DescribeStacks")) == (1, 2)
    eu = boto3.client("cloudformation", region_name="eu-west-1")
    assert eu.describe_stacks(StackName="app-eu")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
