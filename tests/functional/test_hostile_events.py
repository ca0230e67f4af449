"""No event can crash a handler or mislead it (issue 14, points 2 and 4), through the
handlers themselves on moto:

- a malformed event (not an object, fields missing or of the wrong type, another detail
  type, a stack id without the ARN shape) is answered `rejected` with the reason, with no
  AWS call and no traceback;
- a stack status or drift event for another stack than the managed one (a same-named
  stack in another region or account, an older stack of the name) is `ignored`: no record
  changes, nothing is written to SSM;
- a late or replayed success of an operation the reconciler did not start leaves a
  Blocked or Failed record as it is.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from pathlib import Path

import boto3
import pytest

from handlers import drift, idempotency, push, runtime, schedule, stack_status, webhook
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.aws import session
from reconciler.status import Phase, StackStatus, Sync
from tests.repo import STACK, commit, git_repo

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
# Writes: none may follow a rejected or ignored event (idempotency's own are not counted).
WRITES = {
    "PutParameter",
    "DeleteParameters",
    "AddTagsToResource",
    "CreateChangeSet",
    "ExecuteChangeSet",
    "UpdateStack",
    "DeleteStack",
    "DetectStackDrift",
    "PutEvents",
    "Publish",
}


def fixture(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def calls():
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def repo(tmp_path, monkeypatch, aws, calls):
    root = git_repo(tmp_path / "desired")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(root))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    return root


def with_stack_id(event: dict, stack_id: str) -> dict:
    """`event` about another stack id, its account and region made consistent with it."""
    event = copy.deepcopy(event)
    _, _, _, region, account, _ = stack_id.split(":", 5)
    event.update(account=account, region=region, resources=[stack_id], id=str(uuid.uuid4()))
    event["detail"]["stack-id"] = stack_id
    return event


# --- malformed events: rejected, with the reason, before any AWS call -----------------

STATUS = fixture("stack_status_create_complete.json")
DRIFT = fixture("drift_detection_complete.json")
GIT_PUSH = fixture("git_push.json")
CODECOMMIT = fixture("codecommit_push.json")
ARN = STATUS["detail"]["stack-id"]
REQUEST = fixture("function_url_github_webhook.json")


def changed(event: dict, path: str, value: object) -> dict:
    """A copy of `event` with `path` ("detail.status-details.status") set, or removed
    when `value` is DELETE."""
    event = copy.deepcopy(event)
    *parents, last = path.split(".")
    here = event
    for key in parents:
        here = here[key]
    if value is DELETE:
        del here[last]
    else:
        here[last] = value
    return event


DELETE = object()

NOT_OBJECTS = [None, [], [STATUS], "", "hello", json.dumps(STATUS), 42, True, 1.5]
BAD_STACK_IDS = [
    "",
    "app-dev",
    "arn:aws:cloudformation:us-east-1:1:stack/app-dev/x",  # account not 12 digits
    "arn:aws:cloudformation:us-east-1:123456789012:stackset/app-dev:x",
    "arn:aws:s3:us-east-1:123456789012:stack/app-dev/x",
    "arn:aws:cloudformation:useast1:123456789012:stack/app-dev/x",
    "arn:aws:cloudformation:us-east-1:123456789012:stack/1app/x",  # a name starts with a letter
    "arn:aws:cloudformation:us-east-1:123456789012:stack/app dev/x",
    "arn:aws:cloudformation:us-east-1:123456789012:stack/app-dev/x/y",
    ARN + "\n",
    42,
    None,
    ["arn"],
    {"arn": ARN},
]


def cloudformation_cases(event: dict, detail_type: str) -> list[tuple[str, object]]:
    cases: list[tuple[str, object]] = [(f"not an object: {v!r:.20}", v) for v in NOT_OBJECTS]
    cases += [
        ("empty object", {}),
        ("detail missing", changed(event, "detail", DELETE)),
        ("detail null", changed(event, "detail", None)),
        ("detail a string", changed(event, "detail", "{}")),
        ("detail a list", changed(event, "detail", [event["detail"]])),
        ("detail empty", changed(event, "detail", {})),
        ("stack-id missing", changed(event, "detail.stack-id", DELETE)),
        ("status-details missing", changed(event, "detail.status-details", DELETE)),
        ("status-details a string", changed(event, "detail.status-details", "COMPLETE")),
        ("detail-type missing", changed(event, "detail-type", DELETE)),
        ("detail-type null", changed(event, "detail-type", None)),
        ("Resource Status Change", changed(event, "detail-type", RESOURCE_STATUS_CHANGE)),
        ("another detail type", changed(event, "detail-type", detail_type)),
        ("another source", changed(event, "source", "aws.ec2")),
        ("source missing", changed(event, "source", DELETE)),
        ("id a number", changed(event, "id", 7)),
        ("id a list", changed(event, "id", ["x"])),
        ("id missing", changed(event, "id", DELETE)),
        ("account missing", changed(event, "account", DELETE)),
        ("account not the stack id's", changed(event, "account", OTHER_ACCOUNT)),
        ("region not the stack id's", changed(event, "region", "eu-west-1")),
        ("time not a time", changed(event, "time", "yesterday")),
        ("resources a string", changed(event, "resources", ARN)),
    ]
    cases += [(f"stack id {v!r:.60}", changed(event, "detail.stack-id", v)) for v in BAD_STACK_IDS]
    return cases


RESOURCE_STATUS_CHANGE = "CloudFormation Resource Status Change"
STATUS_CASES = [
    *cloudformation_cases(STATUS, DRIFT["detail-type"]),
    ("status a number", changed(STATUS, "detail.status-details.status", 5)),
    ("status missing", changed(STATUS, "detail.status-details.status", DELETE)),
    ("token a list", changed(STATUS, "detail.client-request-token", ["t"])),
    # A Resource Status Change has the same detail keys and a logical id: still refused.
    (
        "Resource Status Change with resource fields",
        changed(
            changed(STATUS, "detail-type", RESOURCE_STATUS_CHANGE),
            "detail.logical-resource-id",
            "Database",
        ),
    ),
]
DRIFT_CASES = [
    *cloudformation_cases(DRIFT, STATUS["detail-type"]),
    ("detection id missing", changed(DRIFT, "detail.stack-drift-detection-id", DELETE)),
    ("detection-status missing", changed(DRIFT, "detail.status-details.detection-status", DELETE)),
    ("detection-status a number", changed(DRIFT, "detail.status-details.detection-status", 1)),
]
PUSH_CASES = [(f"not an object: {v!r:.20}", v) for v in NOT_OBJECTS] + [
    ("empty object", {}),
    ("ref missing", {"repository": "x"}),
    ("ref a number", {"ref": 5}),
    ("ref null", {"ref": None}),
    ("repository a list", {"ref": "refs/heads/main", "repository": ["x"]}),
    ("id a number", {"ref": "refs/heads/main", "id": 5}),
    ("Git Push without detail", changed(GIT_PUSH, "detail", DELETE)),
    ("Git Push detail a string", changed(GIT_PUSH, "detail", "refs/heads/main")),
    ("Git Push detail null", changed(GIT_PUSH, "detail", None)),
    ("Git Push without ref", changed(GIT_PUSH, "detail.ref", DELETE)),
    ("Git Push of another detail type", changed(GIT_PUSH, "detail-type", "Git Tag")),
    ("a stack status event", STATUS),
    ("a drift event", DRIFT),
    ("CodeCommit without detail", changed(CODECOMMIT, "detail", DELETE)),
    ("CodeCommit detail a list", changed(CODECOMMIT, "detail", [])),
    ("CodeCommit without referenceName", changed(CODECOMMIT, "detail.referenceName", DELETE)),
    ("CodeCommit referenceType a number", changed(CODECOMMIT, "detail.referenceType", 1)),
]
SCHEDULE_TICK = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2026-12-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/gitops-schedule"],
    "detail": {},
}
SCHEDULE_CASES = [(f"not an object: {v!r:.20}", v) for v in NOT_OBJECTS] + [
    ("a stack status event", STATUS),
    ("a drift event", DRIFT),
    ("a push", GIT_PUSH),
    ("tick without detail-type", changed(SCHEDULE_TICK, "detail-type", DELETE)),
    ("tick without source", changed(SCHEDULE_TICK, "source", DELETE)),
    ("tick from another source", changed(SCHEDULE_TICK, "source", "aws.ec2")),
    ("tick without id", changed(SCHEDULE_TICK, "id", DELETE)),
    ("tick id a number", changed(SCHEDULE_TICK, "id", 3)),
    ("only an id", {"id": "x"}),
]
HANDLERS = {"stack_status": stack_status, "drift": drift, "push": push, "schedule": schedule}
TABLE = [
    pytest.param(handler, event, id=f"{handler}: {name}")
    for handler, cases in (
        ("stack_status", STATUS_CASES),
        ("drift", DRIFT_CASES),
        ("push", PUSH_CASES),
        ("schedule", SCHEDULE_CASES),
    )
    for name, event in cases
]


@pytest.mark.parametrize(("handler", "event"), TABLE)
def test_a_malformed_event_is_rejected_with_its_reason_before_any_aws_call(
    repo, calls, handler, event
):
    """GIVEN an event that is not what the handler takes WHEN it is handled THEN the
    answer is `rejected` with a reason saying what is wrong; no AWS call is made, so no
    record changes and nothing is published."""
    answer = HANDLERS[handler].handler(copy.deepcopy(event), LambdaContext())
    assert answer["status"] == "rejected"
    assert answer["reason"].startswith("not a")
    assert ":" in answer["reason"]  # what is wrong follows
    assert calls == []


def test_a_rejected_event_is_logged_with_its_reason(repo, caplog):
    with caplog.at_level(logging.ERROR, logger="gitops-reconciler"):
        answer = stack_status.handler(
            changed(STATUS, "detail-type", RESOURCE_STATUS_CHANGE), LambdaContext()
        )
    (entry,) = [r for r in caplog.records if r.getMessage() == "rejected stack status event"]
    assert entry.levelname == "ERROR" and entry.reason == answer["reason"]
    assert "CloudFormation Stack Status Change" in entry.reason
    assert entry.exc_info is None  # a reason, not a traceback


@pytest.mark.parametrize(
    ("name", "event"),
    [(f"not an object: {v!r:.20}", v) for v in NOT_OBJECTS]
    + [
        ("empty object", {}),
        ("headers a string", changed(REQUEST, "headers", "x-github-event: push")),
        ("headers a list", changed(REQUEST, "headers", [])),
        ("a header value not a string", changed(REQUEST, "headers.x-github-event", 5)),
        ("body a number", changed(REQUEST, "body", 5)),
        ("body an object", changed(REQUEST, "body", {"ref": "refs/heads/main"})),
        ("requestContext missing", changed(REQUEST, "requestContext", DELETE)),
        ("requestContext.http missing", changed(REQUEST, "requestContext.http", DELETE)),
        ("requestContext a string", changed(REQUEST, "requestContext", "x")),
        ("a stack status event", STATUS),
    ],
)
def test_the_webhook_answers_a_malformed_request_with_a_4xx_and_never_raises(
    aws, calls, monkeypatch, name, event
):
    """The webhook's contract is HTTP: a request it cannot read is a 4xx, never a crash."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    answer = webhook.handler(copy.deepcopy(event), LambdaContext())
    assert 400 <= answer["statusCode"] < 500
    assert "message" in json.loads(answer["body"])
    assert not WRITES & set(calls)


# --- events about another stack than the managed one: ignored, nothing changes ------


def deploy(repo: Path) -> str:
    """app-dev created through the push handler and its CREATE_COMPLETE event; its id."""
    push.handler({"repository": str(repo), "ref": "refs/heads/main"}, LambdaContext())
    stack_id = live_stack_id("app-dev", "us-east-1")
    done = stack_status.handler(with_stack_id(STATUS, stack_id), LambdaContext())
    assert done["status"] == "recorded"
    return stack_id


def live_stack_id(name: str, region: str) -> str:
    cfn = boto3.client("cloudformation", region_name=region)
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def record() -> StackStatus:
    return runtime.services().status.get("app-dev")


def outputs_in(region: str) -> dict[str, str]:
    ssm = boto3.client("ssm", region_name=region)
    found = ssm.get_parameters_by_path(Path="/app-dev", Recursive=True)["Parameters"]
    return {p["Name"]: p["Value"] for p in found}


def unmanaged_twin(repo: Path, region: str, greeting: str) -> str:
    """A stack named app-dev in `region`, made by someone else (no reconciler tags), with
    other output values than the managed one."""
    cfn = boto3.client("cloudformation", region_name=region)
    cfn.create_stack(
        StackName="app-dev",
        TemplateBody=(repo / "templates" / "app.yml").read_text(),
        Parameters=[{"ParameterKey": "EnvironmentSuffix", "ParameterValue": greeting}],
    )
    return live_stack_id("app-dev", region)


def test_the_managed_stack_records_its_stack_id(repo):
    stack_id = deploy(repo)
    assert record().stack_id == stack_id
    assert stack_id.startswith(f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/app-dev/")


def test_a_same_named_unmanaged_stack_in_another_region_publishes_nothing(repo, calls):
    """GIVEN the managed app-dev in us-east-1 and an unmanaged app-dev in eu-west-1 (real
    stacks on moto) WHEN the eu-west-1 stack's CREATE_COMPLETE and UPDATE_COMPLETE events
    arrive THEN they are ignored: the record is as it was and neither region's SSM holds
    the other stack's outputs."""
    deploy(repo)
    before, managed_outputs = record(), outputs_in("us-east-1")
    twin = unmanaged_twin(repo, "eu-west-1", "intruder")
    calls.clear()
    for status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        event = with_stack_id(changed(STATUS, "detail.status-details.status", status), twin)
        event["id"] = f"twin-{status}"
        answer = stack_status.handler(event, LambdaContext())
        assert answer["status"] == "ignored"
        assert "eu-west-1 is not the managed stack, which is in us-east-1" in answer["reason"]
    assert record() == before
    assert outputs_in("us-east-1") == managed_outputs
    assert outputs_in("eu-west-1") == {}
    assert not WRITES & set(calls)
    assert "DescribeStacks" not in calls  # the record alone tells it is not ours


@pytest.mark.parametrize(
    ("kind", "stack_id", "says"),
    [
        (
            "another account",
            f"arn:aws:cloudformation:us-east-1:{OTHER_ACCOUNT}:stack/app-dev/"
            "11111111-2222-3333-4444-555555555555",
            f"app-dev of account {OTHER_ACCOUNT} is not the managed stack ({ACCOUNT})",
        ),
        (
            "another region",
            f"arn:aws:cloudformation:eu-central-1:{ACCOUNT}:stack/app-dev/"
            "11111111-2222-3333-4444-555555555555",
            "app-dev in eu-central-1 is not the managed stack, which is in us-east-1",
        ),
        (
            "an older stack of the name",
            f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/app-dev/"
            "00000000-0000-0000-0000-000000000000",
            "an older stack of the same name",
        ),
    ],
)
@pytest.mark.parametrize(
    "status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "DELETE_COMPLETE"]
)
def test_a_status_event_for_another_stack_id_changes_nothing(
    repo, calls, kind, stack_id, says, status
):
    deploy(repo)
    before, managed_outputs = record(), outputs_in("us-east-1")
    calls.clear()
    event = with_stack_id(changed(STATUS, "detail.status-details.status", status), stack_id)
    event["id"] = f"{kind}-{status}"
    answer = stack_status.handler(event, LambdaContext())
    assert answer == {"status": "ignored", "reason": answer["reason"]}
    assert says in answer["reason"]
    assert record() == before
    assert outputs_in("us-east-1") == managed_outputs
    assert not WRITES & set(calls)


def test_an_older_stack_id_is_ignored_for_a_record_made_before_stack_ids(repo, calls):
    """GIVEN a record written by a version that kept no stack id WHEN an event for an
    older stack of the name arrives THEN the live stack's id tells it apart."""
    stack_id = deploy(repo)
    store = runtime.services().status
    store.put(StackStatus(**{**record().__dict__, "stack_id": ""}))
    before = record()
    older = stack_id.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    calls.clear()
    answer = stack_status.handler(
        with_stack_id(changed(STATUS, "detail.status-details.status", "UPDATE_COMPLETE"), older),
        LambdaContext(),
    )
    assert answer["status"] == "ignored" and "an older stack of the same name" in answer["reason"]
    assert record() == before
    assert not WRITES & set(calls)


def test_the_managed_stacks_own_event_fills_in_a_missing_stack_id(repo):
    stack_id = deploy(repo)
    store = runtime.services().status
    store.put(StackStatus(**{**record().__dict__, "stack_id": ""}))
    event = with_stack_id(
        changed(STATUS, "detail.status-details.status", "UPDATE_COMPLETE"), stack_id
    )
    event["id"] = "own-event"
    assert stack_status.handler(event, LambdaContext())["status"] == "recorded"
    assert record().stack_id == stack_id


@pytest.mark.parametrize("where", ["eu-west-1", "older", OTHER_ACCOUNT])
def test_a_drift_event_for_another_stack_id_changes_nothing(repo, calls, where):
    """GIVEN the managed app-dev WHEN a drift detection completes on a same-named stack
    elsewhere (a real one in eu-west-1, an older id, another account) THEN nothing is
    read, recorded or repaired."""
    stack_id = deploy(repo)
    if where == "eu-west-1":
        other = unmanaged_twin(repo, "eu-west-1", "intruder")
    elif where == "older":
        other = stack_id.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    else:
        other = stack_id.replace(f":{ACCOUNT}:", f":{where}:")
    before = record()
    calls.clear()
    answer = drift.handler(with_stack_id(DRIFT, other), LambdaContext())
    assert answer["status"] == "ignored"
    assert record() == before
    assert not WRITES & set(calls)
    assert "DescribeStackResourceDrifts" not in calls


def test_an_older_stack_id_drift_event_is_ignored_for_a_record_without_stack_id(repo, calls):
    stack_id = deploy(repo)
    runtime.services().status.put(StackStatus(**{**record().__dict__, "stack_id": ""}))
    before = record()
    older = stack_id.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    calls.clear()
    answer = drift.handler(with_stack_id(DRIFT, older), LambdaContext())
    assert answer["status"] == "ignored" and "older stack" in answer["reason"]
    assert record() == before
    assert "DescribeStackResourceDrifts" not in calls


# --- successes of operations the reconciler did not start ---------------------------


def replayed(stack_id: str, token: str, status: str = "UPDATE_COMPLETE", n: int = 0) -> dict:
    event = with_stack_id(changed(STATUS, "detail.status-details.status", status), stack_id)
    event["detail"]["client-request-token"] = token
    event["id"] = f"replayed-{token}-{n}"
    return event


FOREIGN_TOKENS = [
    "Console-UpdateStack-7b1c0a52-4d1e-4bb4-9a8f-111111111111",
    "",
    "gitops-0000000000000000",  # an older change set of ours
    "gitops-recreate-0000000000000000",
]


@pytest.mark.parametrize("token", FOREIGN_TOKENS)
def test_a_replayed_success_leaves_a_blocked_record_blocked(repo, calls, token):
    """GIVEN app-dev deployed, then Blocked by an invalid head WHEN an UPDATE_COMPLETE of
    an operation the reconciler did not start arrives THEN the record stays Blocked, with
    its message, and no output is written."""
    stack_id = deploy(repo)
    commit(repo, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    push.handler({"repository": str(repo), "ref": "refs/heads/main"}, LambdaContext())
    blocked = record()
    assert blocked.sync is Sync.BLOCKED
    calls.clear()
    answer = stack_status.handler(replayed(stack_id, token), LambdaContext())
    assert answer["status"] == "ignored"
    assert "did not start" in answer["reason"] and "stays Blocked" in answer["reason"]
    assert record() == blocked
    assert not WRITES & set(calls)


@pytest.mark.parametrize("token", FOREIGN_TOKENS)
@pytest.mark.parametrize("phase", [Phase.FAILED, Phase.APPLYING])
def test_a_replayed_success_leaves_a_failed_record_failed(repo, calls, token, phase):
    """GIVEN a Failed record (its last operation rolled back, or a re-create under way)
    WHEN a success carrying another token arrives THEN it stays Failed."""
    stack_id = deploy(repo)
    store = runtime.services().status
    failed = record().but(
        sync=Sync.FAILED,
        phase=phase,
        operation_token="gitops-1111111111111111",
        change_set="gitops-1111111111111111",
        message="UPDATE_ROLLBACK_COMPLETE: The following resource(s) failed to update: [Logs].",
    )
    store.put(failed)
    calls.clear()
    answer = stack_status.handler(replayed(stack_id, token), LambdaContext())
    assert answer["status"] == "ignored" and "stays Failed" in answer["reason"]
    assert record() == failed
    assert not WRITES & set(calls)


def test_a_replayed_success_of_the_failed_operation_itself_leaves_it_failed(repo):
    """Its own token, but the operation is over (FAILED, not APPLYING): still Failed."""
    stack_id = deploy(repo)
    failed = record().but(
        sync=Sync.FAILED, phase=Phase.FAILED, operation_token="gitops-1111111111111111"
    )
    runtime.services().status.put(failed)
    answer = stack_status.handler(replayed(stack_id, "gitops-1111111111111111"), LambdaContext())
    assert answer["status"] == "ignored"
    assert record() == failed


def test_the_success_of_the_operation_the_reconciler_started_ends_a_failed_record(repo):
    """GIVEN a Failed record on which the reconciler started an operation (tags update,
    token T) WHEN the success with token T arrives THEN the stack is Synced."""
    stack_id = deploy(repo)
    runtime.services().status.put(
        record().but(sync=Sync.FAILED, phase=Phase.APPLYING, operation_token="gitops-2222")
    )
    answer = stack_status.handler(replayed(stack_id, "gitops-2222"), LambdaContext())
    assert answer["status"] == "recorded"
    assert (record().sync, record().phase) == (Sync.SYNCED, Phase.IDLE)


def test_a_record_without_an_operation_token_falls_back_to_its_change_set(repo):
    stack_id = deploy(repo)
    runtime.services().status.put(
        record().but(
            sync=Sync.BLOCKED, phase=Phase.APPLYING, operation_token="", change_set="gitops-3333"
        )
    )
    assert (
        stack_status.handler(replayed(stack_id, "other", n=1), LambdaContext())["status"]
        == "ignored"
    )
    answer = stack_status.handler(replayed(stack_id, "gitops-3333", n=2), LambdaContext())
    assert answer["status"] == "recorded" and record().sync is Sync.SYNCED


def test_an_update_the_reconciler_executes_records_its_token(repo):
    """The token a change set is executed with is the one recorded (and the one its
    status event carries)."""
    deploy(repo)
    commit(repo, {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)})
    answer = push.handler({"repository": str(repo), "ref": "refs/heads/main"}, LambdaContext())
    (stack,) = answer["stacks"]
    assert stack["outcome"] == "executed"
    assert record().operation_token == stack["change_set"] == record().change_set


def test_a_record_written_before_stack_ids_and_tokens_is_read_with_them_empty(repo):
    """Items in the status table from an earlier version lack the new attributes."""
    store = runtime.services().status
    store.all()  # the table is made on first use
    boto3.client("dynamodb", region_name="us-east-1").put_item(
        TableName=store.table_name,
        Item={
            "stack_name": {"S": "old-stack"},
            "region": {"S": "us-east-1"},
            "sync": {"S": "Blocked"},
            "change_set": {"S": "gitops-4444"},
        },
    )
    old = store.get("old-stack")
    assert (old.sync, old.stack_id, old.operation_token) == (Sync.BLOCKED, "", "")
