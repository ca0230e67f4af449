"""How `reconciler apply` drives a CloudFormation stack refactor (docs/guard.md section 4)
through the AWS behaviours the local AWS cannot show: a refactor still being validated or
executed, refused, failing to execute, an action list with more than was asked, the
stacks still UPDATE_IN_PROGRESS after EXECUTE_COMPLETE, and AWS's errors on each of the
five calls. The stacks live in in-process moto (the plan reads them there, change sets
run there); the refactor calls are answered by botocore's Stubber, which checks every
request and every answer against CloudFormation's service model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from localaws import extensions
from reconciler.audit import Event, Kept
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.services import services_from_env
from reconciler.deadline import Deadline
from reconciler.desired import load_desired_state
from reconciler.errors import AwsError, PermanentAwsError
from reconciler.notify import Collected, Kind
from reconciler.plan import Action, StackPlan
from reconciler.reconcile import Services, StackResult, apply, finish, make_plan
from reconciler.status import Health, Phase, Sync
from tests.repo import TEMPLATE, make_repo

extensions.install_all()

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
# The deployed `Logs` log group (LogGroupName /test/dev/logs) renamed `AppLogs`: a refactor.
RENAMED = TEMPLATE.replace("  Logs:\n", "  AppLogs:\n").replace("!Ref Logs", "!Ref AppLogs")
# The same rename with a retention change: a refactor, then a change set (Modify).
RENAMED_AND_RETAINED = RENAMED.replace("RetentionInDays: 365", "RetentionInDays: 400")
MOVE = "Logs -> AppLogs (AWS::Logs::LogGroup, app-dev)"
# Refactor ids as AWS shows them (the CLI examples).
FIRST = "9c384f70-4e07-4ed7-a65d-fee5eb430841"
SECOND = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OTHER = "0f3e2d1c-4b5a-4f6e-9d8c-7b6a5f4e3d2c"

# The five refactor calls, as the adapter makes them (two through paginators).
REFACTOR_CALLS = frozenset(
    {
        "create_stack_refactor",
        "describe_stack_refactor",
        "execute_stack_refactor",
        "list_stack_refactors",
        "list_stack_refactor_actions",
    }
)
REFACTOR_OPERATIONS = frozenset(
    {
        "CreateStackRefactor",
        "DescribeStackRefactor",
        "ExecuteStackRefactor",
        "ListStackRefactors",
        "ListStackRefactorActions",
    }
)
# What would change or delete a stack: none of it may happen before the refactor is done.
STACK_WRITES = frozenset(
    {"CreateChangeSet", "ExecuteChangeSet", "DeleteChangeSet", "DeleteStack", "UpdateStack"}
)


# --- the wiring: moto for the stacks, the Stubber for what moto cannot show ------------------


class Routing:
    """Which client answers which of the adapter's calls: `methods` and `paginators` (by
    their Python names) go to the stubbed client, everything else to moto."""

    def __init__(self, stubbed: Any) -> None:
        self.stubbed = stubbed
        self.methods: set[str] = set(REFACTOR_CALLS)
        self.paginators: set[str] = set(REFACTOR_CALLS)

    def client_for(self, service: str, region: str) -> Routed:
        return Routed(session.client(service, region), self)


class Routed:
    """The CloudFormation client the adapter is given."""

    def __init__(self, real: Any, routing: Routing) -> None:
        self._real, self._routing = real, routing

    def __getattr__(self, name: str) -> Any:
        stubbed = name in self._routing.methods
        return getattr(self._routing.stubbed if stubbed else self._real, name)

    def get_paginator(self, name: str) -> Any:
        stubbed = name in self._routing.paginators
        return (self._routing.stubbed if stubbed else self._real).get_paginator(name)


class Leases:
    """The status store, keeping every lease taken and given back, in order."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.log: list[tuple[str, str, str]] = []

    def acquire(self, stack_name: str, owner: str, seconds: int) -> bool:
        taken = self.store.acquire(stack_name, owner, seconds)
        self.log.append(("acquire" if taken else "refused", stack_name, owner))
        return taken

    def release(self, stack_name: str, owner: str) -> bool:
        self.log.append(("release", stack_name, owner))
        return self.store.release(stack_name, owner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def calls(aws) -> list[str]:
    """Every AWS operation called, moto's and the Stubber's, in order."""
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def stub(calls) -> Any:
    client = boto3.session.Session().client("cloudformation", region_name=REGION)
    client.meta.events.register(
        "provide-client-params.cloudformation", lambda model, **_: calls.append(model.name)
    )
    with Stubber(client) as stubber:
        yield stubber


@pytest.fixture
def routing(stub) -> Routing:
    return Routing(stub.client)


@pytest.fixture
def services(routing, calls, monkeypatch) -> Services:
    monkeypatch.delenv("LOCALAWS_STACK_REFACTOR_SECONDS", raising=False)
    built = services_from_env(change_set_wait_seconds=0, fan_out=False)
    built.notifier, built.audit = Collected(), Kept()
    built.status = Leases(built.status)
    built.cfn = CloudFormation(client_for=routing.client_for)
    return built


def deploy(root: Path, services: Services, names: tuple[str, ...]) -> None:
    """The stacks created through the reconciler (moto answers), their ends handled."""
    created = apply(load_desired_state(root), "rev1", services, "deploy").stacks
    assert {r.stack_name: r.outcome for r in created} == dict.fromkeys(names, "executed")
    for name in names:
        assert finish(name, REGION, services).sync is Sync.SYNCED
    services.notifier.sent.clear()
    services.audit.records.clear()
    services.status.log.clear()


@pytest.fixture
def renamed(tmp_path, services) -> Path:
    """app-dev deployed with its log group `Logs`; the repository now names it `AppLogs`."""
    root = make_repo(tmp_path / "desired")
    deploy(root, services, ("app-dev",))
    make_repo(root, {"templates/app.yml": RENAMED}, defaults=False)
    return root


def planned(root: Path, services: Services, name: str = "app-dev") -> StackPlan:
    """The plan apply will make for the stack (the refactor's description and templates)."""
    _, plans = make_plan(load_desired_state(root), services)
    (plan,) = [p for p in plans if p.stack_name == name]
    assert plan.action is Action.REFACTOR, plan.reason
    return plan


def event(root: Path, services: Services, **kwargs: Any) -> tuple[StackResult, ...]:
    """A pass as a Lambda makes it: no retry of a failed attempt, leases that end with
    the invocation."""
    return apply(
        load_desired_state(root), "rev2", services, "lambda-request",
        retry_failed=False, deadline=Deadline(lambda: 600.0), **kwargs,
    ).stacks  # fmt: skip


def reconciler_apply(root: Path, services: Services) -> tuple[StackResult, ...]:
    """`reconciler apply`: a failed attempt at the same inputs is tried again."""
    return apply(load_desired_state(root), "rev2", services, "cli:host").stacks


def stack_id(name: str = "app-dev") -> str:
    cfn = boto3.client("cloudformation", region_name=REGION)
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def refactor_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if c in REFACTOR_OPERATIONS]


def sent(services: Services, kind: Kind) -> list[Any]:
    return [n for n in services.notifier.sent if n.kind is kind]


def trail(services: Services, stack: str = "app-dev") -> list[Any]:
    return services.audit.read(stack)


# --- what CloudFormation answers ---------------------------------------------------------------


class Answers:
    """CloudFormation's answers to the refactor calls, queued on the Stubber in the order
    the reconciler asks; each request is checked as well."""

    def __init__(self, stub: Any, plan: StackPlan) -> None:
        self.stub, self.plan = stub, plan

    def summary(self, refactor_id: str, status: str, execution: str, **reasons: str) -> dict:
        description = reasons.pop("description", self.plan.refactor_description)
        return {
            "StackRefactorId": refactor_id,
            "Description": description,
            "Status": status,
            "ExecutionStatus": execution,
            **reasons,
        }

    def listed(self, *summaries: dict, token: str | None = None, after: str | None = None):
        answer: dict[str, Any] = {"StackRefactorSummaries": list(summaries)}
        if token:
            answer["NextToken"] = token
        self.stub.add_response(
            "list_stack_refactors", answer, {"NextToken": after} if after else {}
        )

    def created(self, refactor_id: str) -> None:
        plan = self.plan
        self.stub.add_response(
            "create_stack_refactor",
            {"StackRefactorId": refactor_id},
            {
                "Description": plan.refactor_description,
                "EnableStackCreation": False,
                "StackDefinitions": [
                    {"StackName": name, "TemplateBody": plan.refactor_templates[name]}
                    for name in plan.refactor_stacks
                ],
                "ResourceMappings": [
                    {
                        "Source": {
                            "StackName": m.source.stack_name,
                            "LogicalResourceId": m.source.logical_id,
                        },
                        "Destination": {
                            "StackName": m.destination.stack_name,
                            "LogicalResourceId": m.destination.logical_id,
                        },
                    }
                    for m in plan.refactor
                ],
            },
        )

    def described(self, refactor_id: str, status: str, execution: str, **reasons: str) -> None:
        answer = self.summary(refactor_id, status, execution, **reasons)
        answer["StackIds"] = [stack_id(name) for name in self.plan.refactor_stacks]
        self.stub.add_response("describe_stack_refactor", answer, {"StackRefactorId": refactor_id})

    def actions(self, refactor_id: str, *extra: dict) -> None:
        """The plan's moves as AWS lists them (stack ARNs in the mapping), then `extra`."""
        moves = [
            move_action(
                (m.source.stack_name, m.source.logical_id),
                (m.destination.stack_name, m.destination.logical_id),
            )
            for m in self.plan.refactor
        ]
        self.stub.add_response(
            "list_stack_refactor_actions",
            {"StackRefactorActions": [*moves, *extra]},
            {"StackRefactorId": refactor_id},
        )

    def executed(self, refactor_id: str) -> None:
        self.stub.add_response("execute_stack_refactor", {}, {"StackRefactorId": refactor_id})

    def refused(self, method: str, code: str, message: str, http_status: int) -> None:
        self.stub.add_client_error(
            method, service_error_code=code, service_message=message, http_status_code=http_status
        )

    def created_and_available(self, refactor_id: str = FIRST) -> None:
        """No refactor yet: one is created, and validated at once."""
        self.listed()
        self.created(refactor_id)
        self.described(refactor_id, "CREATE_COMPLETE", "AVAILABLE")


def move_action(source: tuple[str, str], destination: tuple[str, str]) -> dict[str, Any]:
    """A MOVE of a RESOURCE as ListStackRefactorActions shows it (the user guide's
    example: the mapping names the stacks by ARN; the system tags move)."""
    target = stack_id(destination[0])
    return {
        "Action": "MOVE",
        "Entity": "RESOURCE",
        "PhysicalResourceId": "/test/dev/logs",
        "Description": "No configuration changes detected.",
        "Detection": "MANUAL",
        "DetectionReason": "The resource mapping names this resource.",
        "TagResources": [
            {"Key": "aws:cloudformation:stack-name", "Value": destination[0]},
            {"Key": "aws:cloudformation:logical-id", "Value": destination[1]},
            {"Key": "aws:cloudformation:stack-id", "Value": target},
        ],
        "UntagResources": [
            "aws:cloudformation:stack-name",
            "aws:cloudformation:logical-id",
            "aws:cloudformation:stack-id",
        ],
        "ResourceMapping": {
            "Source": {"StackName": stack_id(source[0]), "LogicalResourceId": source[1]},
            "Destination": {"StackName": target, "LogicalResourceId": destination[1]},
        },
    }


@pytest.fixture
def answers(stub, renamed, services, calls) -> Answers:
    found = Answers(stub, planned(renamed, services))
    calls.clear()
    return found


@pytest.fixture
def no_sleeping(monkeypatch) -> None:
    """A pass that would sleep fails the test instead."""

    def sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called during a pass")

    monkeypatch.setattr(time, "sleep", sleep)


# --- 1. a refactor still being validated: the next event, never a sleep ----------------------


def test_a_refactor_still_validating_is_left_waiting_for_the_next_event_without_sleeping(
    renamed, services, answers, stub, calls, no_sleeping
):
    """GIVEN CloudFormation takes the refactor and is still validating it
    (DescribeStackRefactor: CREATE_IN_PROGRESS) WHEN an event's pass runs THEN the stack
    is WAITING with a message naming the refactor, nothing sleeps, nothing is executed."""
    answers.listed()
    answers.created(FIRST)
    answers.described(FIRST, "CREATE_IN_PROGRESS", "UNAVAILABLE")
    calls.clear()

    (result,) = event(renamed, services)

    assert (result.action, result.outcome) == (Action.REFACTOR, "waiting")
    assert result.message == (
        f"stack refactor {FIRST} ({MOVE}) is CREATE_IN_PROGRESS; resumed by the next event"
    )
    recorded = services.status.get("app-dev")
    assert recorded.phase is Phase.WAITING
    assert FIRST in recorded.message
    assert refactor_calls(calls) == [
        "ListStackRefactors",
        "CreateStackRefactor",
        "DescribeStackRefactor",
    ]
    assert not set(calls) & {"ExecuteStackRefactor", "ListStackRefactorActions", *STACK_WRITES}
    stub.assert_no_pending_responses()
    assert services.notifier.sent == []


# --- 2. the next event finds the same refactor --------------------------------------------------


def test_the_next_event_finds_the_refactor_by_its_description_and_executes_it(
    renamed, services, answers, stub, calls
):
    """GIVEN an event left the refactor validating WHEN the next event lists refactors
    (two pages: another description's, an obsolete earlier one of the same description,
    then this one CREATE_COMPLETE/AVAILABLE) THEN no second refactor is created, the
    actions (stack ARNs in the mapping, as AWS shows them) are the moves asked for, and
    ExecuteStackRefactor is called with that refactor's id."""
    answers.listed()
    answers.created(FIRST)
    answers.described(FIRST, "CREATE_IN_PROGRESS", "UNAVAILABLE")
    assert event(renamed, services)[0].outcome == "waiting"

    calls.clear()
    answers.listed(
        answers.summary(OTHER, "CREATE_COMPLETE", "AVAILABLE", description="made by a human"),
        answers.summary(SECOND, "CREATE_COMPLETE", "OBSOLETE"),
        token="page-2",
    )
    answers.listed(answers.summary(FIRST, "CREATE_COMPLETE", "AVAILABLE"), after="page-2")
    answers.actions(FIRST)
    answers.executed(FIRST)
    answers.described(FIRST, "CREATE_COMPLETE", "EXECUTE_IN_PROGRESS")

    (result,) = event(renamed, services)

    stub.assert_no_pending_responses()  # ExecuteStackRefactor was asked for FIRST
    assert refactor_calls(calls) == [
        "ListStackRefactors",
        "ListStackRefactors",
        "ListStackRefactorActions",
        "ExecuteStackRefactor",
        "DescribeStackRefactor",
    ]
    assert (result.outcome, result.message) == (
        "waiting",
        f"stack refactor {FIRST} ({MOVE}) is EXECUTE_IN_PROGRESS; resumed by the next event",
    )


# --- 3. CloudFormation would do more than was asked ---------------------------------------------


def extra_move() -> dict[str, Any]:
    """CloudFormation also detected a move nobody asked for."""
    action = move_action(("app-dev", "Param"), ("app-dev", "GreetingParameter"))
    return action | {"PhysicalResourceId": "/test/dev/greeting", "Detection": "AUTO"}


def new_stack() -> dict[str, Any]:
    """CloudFormation would create a stack (the launch blog's CREATE/STACK action)."""
    arn = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/app-dev-logs/7c2d0b9e-1f3a-4c5d"
    return {
        "Action": "CREATE",
        "Entity": "STACK",
        "Description": f"Stack {arn} created.",
        "Detection": "MANUAL",
        "DetectionReason": "EnableStackCreation is set and the stack does not exist.",
        "TagResources": [],
        "UntagResources": [],
    }


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        pytest.param(
            extra_move,
            ("CloudFormation would also MOVE app-dev/Param -> app-dev/GreetingParameter",),
            id="an-extra-move",
        ),
        pytest.param(
            new_stack,
            ("CloudFormation would also ", ":stack/app-dev-logs/7c2d0b9e-1f3a-4c5d created"),
            id="a-new-stack",
        ),
    ],
)
def test_actions_beyond_the_moves_block_the_refactor_unexecuted_and_notify_once(
    renamed, services, answers, stub, calls, extra, said
):
    """GIVEN ListStackRefactorActions lists more than the moves asked for WHEN an event's
    pass runs (twice, with the same answers) THEN the refactor is not executed, the stack
    is Blocked with a message saying what CloudFormation would also do, the trail has a
    `blocked` record and one Reconcile Blocked is sent in all."""
    answers.created_and_available()
    answers.actions(FIRST, extra())
    answers.listed(answers.summary(FIRST, "CREATE_COMPLETE", "AVAILABLE"))
    answers.actions(FIRST, extra())
    calls.clear()

    (first,) = event(renamed, services)
    records = len(trail(services))
    (again,) = event(renamed, services)

    stub.assert_no_pending_responses()
    assert "ExecuteStackRefactor" not in calls
    assert not set(calls) & STACK_WRITES
    assert first == again
    assert first.outcome == "blocked"
    assert first.message.startswith(f"stack refactor {FIRST} ({MOVE}) not executed: ")
    assert all(part in first.message for part in said)
    assert "CloudFormation does not list the move" not in first.message
    recorded = services.status.get("app-dev")
    assert (recorded.sync, recorded.phase) == (Sync.BLOCKED, Phase.BLOCKED)
    assert recorded.message == first.message
    blocked = [r for r in trail(services) if r.event is Event.BLOCKED]
    assert [r.message for r in blocked] == [first.message]
    assert blocked[0].detail["refactor_id"] == FIRST
    assert len(trail(services)) == records  # the second pass appended nothing
    (note,) = services.notifier.sent
    assert (note.kind, note.stack_name, note.message) == (Kind.BLOCKED, "app-dev", first.message)


# --- 4. refused by CloudFormation's validation --------------------------------------------------


def test_a_refused_refactor_blocks_with_cloudformations_reason_and_nothing_is_deleted(
    renamed, services, answers, stub, calls
):
    """GIVEN CloudFormation's validation refuses the refactor (CREATE_FAILED, its
    StatusReason prefixed by the stack's ARN as AWS words it) WHEN an event's pass runs
    THEN the stack is Blocked quoting that reason; nothing is executed, deleted or
    changed, and the log group is still `Logs` in the stack."""
    arn = stack_id()
    reason = (
        f"{arn}: Resource AppLogs in stack {arn} has configuration changes that stack "
        "refactoring does not support: RetentionInDays"
    )
    answers.listed()
    answers.created(FIRST)
    answers.described(FIRST, "CREATE_FAILED", "UNAVAILABLE", StatusReason=reason)
    calls.clear()

    (result,) = event(renamed, services)

    stub.assert_no_pending_responses()
    assert result.outcome == "blocked"
    assert result.message == (
        f"stack refactor {FIRST} ({MOVE}) refused: {reason}; nothing was moved or deleted"
    )
    recorded = services.status.get("app-dev")
    assert (recorded.sync, recorded.phase) == (Sync.BLOCKED, Phase.BLOCKED)
    assert not set(calls) & {"ExecuteStackRefactor", "ListStackRefactorActions", *STACK_WRITES}
    cfn = boto3.client("cloudformation", region_name=REGION)
    resources = cfn.describe_stack_resources(StackName="app-dev")["StackResources"]
    assert {r["LogicalResourceId"] for r in resources} == {"Param", "Logs"}
    assert [n.kind for n in services.notifier.sent] == [Kind.BLOCKED]
    assert reason in services.notifier.sent[0].message


# --- 5. the execution fails ---------------------------------------------------------------------

EXECUTION_REASON = (
    'Resource handler returned message: "User: arn:aws:sts::123456789012:assumed-role/'
    "gitops-reconciler-push/worker is not authorized to perform: logs:TagResource on "
    'resource: arn:aws:logs:us-east-1:123456789012:log-group:/test/dev/logs"'
)


@pytest.mark.parametrize("failed", ["EXECUTE_FAILED", "ROLLBACK_COMPLETE"])
def test_a_failed_execution_is_recorded_failed_left_by_events_and_retried_by_apply(
    renamed, services, answers, stub, calls, failed
):
    """GIVEN an event executed the refactor and CloudFormation then reports its execution
    failed (with ExecutionStatusReason) WHEN the next event runs THEN every stack is
    Failed with that reason, notified once; a further event does not try again at the
    same inputs; `reconciler apply` creates a new refactor, which the next event finds
    rather than the failed one."""
    answers.created_and_available()
    answers.actions(FIRST)
    answers.executed(FIRST)
    answers.described(FIRST, "CREATE_COMPLETE", "EXECUTE_IN_PROGRESS")
    assert event(renamed, services)[0].outcome == "waiting"

    answers.listed(
        answers.summary(FIRST, "CREATE_COMPLETE", failed, ExecutionStatusReason=EXECUTION_REASON)
    )
    (result,) = event(renamed, services)
    stub.assert_no_pending_responses()
    assert result.outcome == "failed"
    assert result.message == (
        f"stack refactor {FIRST} ({MOVE}) failed ({failed}): {EXECUTION_REASON}; "
        "nothing was moved or deleted"
    )
    recorded = services.status.get("app-dev")
    assert (recorded.sync, recorded.phase, recorded.health) == (
        Sync.FAILED,
        Phase.FAILED,
        Health.DEGRADED,
    )
    assert recorded.message == result.message
    (note,) = sent(services, Kind.FAILED)
    assert EXECUTION_REASON in note.message
    (record,) = [r for r in trail(services) if r.event is Event.FAILED]
    assert record.detail["refactor_id"] == FIRST

    calls.clear()
    (left,) = event(renamed, services)
    assert left.outcome == "failed"
    assert left.message.startswith("not retried: the last attempt at these inputs failed")
    assert refactor_calls(calls) == []
    assert len(sent(services, Kind.FAILED)) == 1

    answers.listed(
        answers.summary(FIRST, "CREATE_COMPLETE", failed, ExecutionStatusReason=EXECUTION_REASON)
    )
    answers.created(SECOND)
    answers.described(SECOND, "CREATE_IN_PROGRESS", "UNAVAILABLE")
    (retried,) = reconciler_apply(renamed, services)
    stub.assert_no_pending_responses()
    assert (retried.outcome, services.status.get("app-dev").phase) == ("waiting", Phase.WAITING)
    assert SECOND in retried.message
    assert refactor_calls(calls).count("CreateStackRefactor") == 1

    answers.listed(
        answers.summary(FIRST, "CREATE_COMPLETE", failed, ExecutionStatusReason=EXECUTION_REASON),
        answers.summary(SECOND, "CREATE_COMPLETE", "AVAILABLE"),
    )
    answers.actions(SECOND)
    answers.executed(SECOND)
    answers.described(SECOND, "CREATE_COMPLETE", "EXECUTE_IN_PROGRESS")
    (resumed,) = event(renamed, services)
    stub.assert_no_pending_responses()  # SECOND executed, FIRST left alone
    assert resumed.outcome == "waiting"
    assert len(sent(services, Kind.FAILED)) == 1


# --- 6. still executing -------------------------------------------------------------------------


@pytest.mark.parametrize("executing", ["EXECUTE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"])
def test_a_refactor_still_executing_waits_and_makes_no_change_set(
    renamed, services, answers, stub, calls, executing
):
    """GIVEN CloudFormation is still executing the refactor after ExecuteStackRefactor
    WHEN the pass describes it THEN the stack is WAITING, no change set is created and
    no Stack Refactored is sent yet."""
    answers.created_and_available()
    answers.actions(FIRST)
    answers.executed(FIRST)
    answers.described(FIRST, "CREATE_COMPLETE", executing)
    calls.clear()

    (result,) = event(renamed, services)

    stub.assert_no_pending_responses()
    assert result.outcome == "waiting"
    assert f"stack refactor {FIRST} ({MOVE}) is {executing}" in result.message
    assert services.status.get("app-dev").phase is Phase.WAITING
    assert not set(calls) & STACK_WRITES
    assert services.notifier.sent == []


# --- 7. executed, but the stack is still UPDATE_IN_PROGRESS -------------------------------------


def described_stack(status: str) -> dict[str, Any]:
    """DescribeStacks' answer for app-dev in `status` (moto ends every operation inside
    the call, so it never shows a stack in progress)."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    stack = cfn.describe_stacks(StackName="app-dev")["Stacks"][0]
    kept = ("StackName", "StackId", "CreationTime", "Parameters", "Tags", "Outputs")
    return {"Stacks": [{k: stack[k] for k in kept if k in stack} | {"StackStatus": status}]}


def test_after_execute_complete_the_change_set_waits_until_the_stack_settles(
    tmp_path, services, routing, stub, calls
):
    """GIVEN a rename with a retention change, the refactor run by the local AWS and
    executed at once WHEN DescribeStacks then still says UPDATE_IN_PROGRESS (AWS CDK
    issue 1804: the stacks settle seconds after EXECUTE_COMPLETE) THEN the pass records
    the refactor, creates no change set and waits; WHEN the next event finds the stack
    UPDATE_COMPLETE THEN the change set is created and executed."""
    root = make_repo(tmp_path / "desired")
    deploy(root, services, ("app-dev",))
    make_repo(root, {"templates/app.yml": RENAMED_AND_RETAINED}, defaults=False)
    routing.methods, routing.paginators = {"describe_stacks"}, set()  # refactors: moto
    stub.add_response(
        "describe_stacks", described_stack("UPDATE_IN_PROGRESS"), {"StackName": "app-dev"}
    )
    calls.clear()

    (first,) = event(root, services)

    stub.assert_no_pending_responses()
    assert (first.outcome, first.message) == (
        "waiting",
        "refactored; app-dev is UPDATE_IN_PROGRESS: its change set follows once it settles",
    )
    assert "ExecuteStackRefactor" in calls
    assert not set(calls) & STACK_WRITES
    recorded = services.status.get("app-dev")
    assert recorded.phase is Phase.WAITING
    assert recorded.refactor.endswith(f": {MOVE}")
    assert [n.kind for n in services.notifier.sent] == [Kind.REFACTORED]

    routing.methods = set()  # the stack has settled: moto says UPDATE_COMPLETE
    calls.clear()
    (second,) = event(root, services)

    assert (second.action, second.outcome) == (Action.UPDATE, "executed")
    assert "CreateChangeSet" in calls and "ExecuteChangeSet" in calls
    assert refactor_calls(calls) == []
    assert finish("app-dev", REGION, services).sync is Sync.SYNCED
    logs = boto3.client("logs", region_name=REGION)
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/test/dev/logs")["logGroups"]
    assert group["retentionInDays"] == 400
    assert [n.kind for n in services.notifier.sent].count(Kind.REFACTORED) == 1


# --- 8. AWS's errors on each refactor call ------------------------------------------------------

DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/gitops-reconciler-push/worker is not "
    "authorized to perform: cloudformation:{action} because no identity-based policy "
    "allows the cloudformation:{action} action"
)
PATH = [
    "ListStackRefactors",
    "CreateStackRefactor",
    "DescribeStackRefactor",
    "ListStackRefactorActions",
    "ExecuteStackRefactor",
]
METHOD = {
    "ListStackRefactors": "list_stack_refactors",
    "CreateStackRefactor": "create_stack_refactor",
    "DescribeStackRefactor": "describe_stack_refactor",
    "ListStackRefactorActions": "list_stack_refactor_actions",
    "ExecuteStackRefactor": "execute_stack_refactor",
}


def answered_until(answers: Answers, operation: str) -> None:
    """CloudFormation answers every call before `operation` on the way to executing."""
    before = PATH[: PATH.index(operation)]
    if "ListStackRefactors" in before:
        answers.listed()
    if "CreateStackRefactor" in before:
        answers.created(FIRST)
    if "DescribeStackRefactor" in before:
        answers.described(FIRST, "CREATE_COMPLETE", "AVAILABLE")
    if "ListStackRefactorActions" in before:
        answers.actions(FIRST)


PERMANENT = [
    pytest.param(op, "AccessDenied", DENIED.format(action=op), 403, id=f"AccessDenied-{op}")
    for op in PATH
] + [
    pytest.param(
        "DescribeStackRefactor",
        "StackRefactorNotFoundException",
        f"The specified stack refactor can't be found: {FIRST}",
        404,
        id="StackRefactorNotFoundException-DescribeStackRefactor",
    ),
    pytest.param(
        "ExecuteStackRefactor",
        "ValidationError",
        f"StackRefactor [{FIRST}] cannot be executed in its current execution status of "
        "[EXECUTE_COMPLETE]",
        400,
        id="ValidationError-ExecuteStackRefactor",
    ),
]


@pytest.mark.parametrize(("operation", "code", "message", "http_status"), PERMANENT)
def test_a_permanent_error_on_a_refactor_call_is_recorded_failed_and_notified_once(
    renamed, services, answers, stub, calls, operation, code, message, http_status
):
    """GIVEN CloudFormation refuses one of the refactor calls WHEN an event's pass runs
    (then another event, then `reconciler apply` meeting the same refusal) THEN the pass
    returns, the stack is Failed with one line naming the call, the code and AWS's
    message, and one Reconcile Failed is sent in all."""
    answered_until(answers, operation)
    answers.refused(METHOD[operation], code, message, http_status)

    (result,) = event(renamed, services)

    stub.assert_no_pending_responses()
    assert result.outcome == "failed"
    assert result.message == f"AWS {operation} failed: {code}: {message}"
    assert "\n" not in result.message and "Traceback" not in result.message
    recorded = services.status.get("app-dev")
    assert (recorded.sync, recorded.phase, recorded.message) == (
        Sync.FAILED,
        Phase.FAILED,
        result.message,
    )
    assert refactor_calls(calls)[-1] == operation
    assert not set(calls) & STACK_WRITES
    if operation != "ExecuteStackRefactor":
        assert "ExecuteStackRefactor" not in calls

    calls.clear()
    (left,) = event(renamed, services)
    assert left.message.startswith("not retried: ")
    assert refactor_calls(calls) == []

    answered_until(answers, operation)
    answers.refused(METHOD[operation], code, message, http_status)
    (again,) = reconciler_apply(renamed, services)
    stub.assert_no_pending_responses()
    assert again.message == result.message
    (note,) = services.notifier.sent
    assert (note.kind, note.message) == (Kind.FAILED, result.message)


@pytest.mark.parametrize("operation", PATH)
def test_throttling_on_a_refactor_call_is_raised_for_a_retry_and_records_nothing(
    renamed, services, answers, stub, calls, operation
):
    """GIVEN CloudFormation throttles one of the refactor calls (past botocore's own
    retries) WHEN an event's pass runs THEN a transient AwsError of one line is raised
    (Lambda retries the event), the stack is not recorded Failed, nobody is notified,
    and the next event goes on where it stopped."""
    before = services.status.get("app-dev")
    answered_until(answers, operation)
    answers.refused(METHOD[operation], "Throttling", "Rate exceeded", 400)

    with pytest.raises(AwsError) as raised:
        event(renamed, services)

    stub.assert_no_pending_responses()
    assert not isinstance(raised.value, PermanentAwsError)
    assert str(raised.value) == f"AWS {operation} failed: Throttling: Rate exceeded"
    after = services.status.get("app-dev")
    assert (after.sync, after.phase, after.message) == (before.sync, before.phase, before.message)
    assert services.notifier.sent == []
    assert not set(calls) & STACK_WRITES

    calls.clear()
    if operation in ("ListStackRefactors", "CreateStackRefactor"):  # none was made
        answers.created_and_available()
    else:  # it was made: the retried event finds it by its description
        answers.listed(answers.summary(FIRST, "CREATE_COMPLETE", "AVAILABLE"))
    answers.actions(FIRST)
    answers.executed(FIRST)
    answers.described(FIRST, "CREATE_COMPLETE", "EXECUTE_IN_PROGRESS")
    (retried,) = event(renamed, services)
    stub.assert_no_pending_responses()
    assert retried.outcome == "waiting"
    assert refactor_calls(calls)[-2:] == ["ExecuteStackRefactor", "DescribeStackRefactor"]


CONNECTION_ERRORS = [
    pytest.param(
        lambda url: botocore.exceptions.EndpointConnectionError(endpoint_url=url),
        "cannot reach AWS: Could not connect to the endpoint URL: ",
        id="EndpointConnectionError",
    ),
    pytest.param(
        lambda url: botocore.exceptions.ReadTimeoutError(endpoint_url=url),
        "AWS call failed: ReadTimeoutError: Read timeout on endpoint URL: ",
        id="ReadTimeoutError",
    ),
]


@pytest.mark.parametrize(("error", "said"), CONNECTION_ERRORS)
@pytest.mark.parametrize("operation", PATH)
def test_a_connection_error_on_a_refactor_call_is_raised_for_a_retry_after_botocores(
    renamed, services, answers, routing, stub, calls, monkeypatch, operation, error, said
):
    """GIVEN the network fails on one of the refactor calls (the calls before it answered
    by the Stubber; this one sent, and failing at botocore's before-send, so its real retry
    handler sees the failure) WHEN an event's pass runs THEN botocore tried it five times
    and a transient AwsError of one line is raised; the stack is not recorded Failed."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # botocore's backoffs, not slept
    routing.methods.discard(METHOD[operation])
    routing.paginators.discard(METHOD[operation])
    attempts: list[str] = []

    def fail(request: Any, **_: Any) -> None:
        attempts.append(request.url)
        raise error(request.url)

    real = session.client("cloudformation", REGION)
    real.meta.events.register(f"before-send.cloudformation.{operation}", fail)
    answered_until(answers, operation)

    with pytest.raises(AwsError) as raised:
        event(renamed, services)

    stub.assert_no_pending_responses()
    assert not isinstance(raised.value, PermanentAwsError)
    assert str(raised.value).startswith(said)
    assert "\n" not in str(raised.value)
    assert len(attempts) == session.DEFAULT_MAX_ATTEMPTS and len(slept) == len(attempts) - 1
    assert services.status.get("app-dev").phase is Phase.IDLE
    assert services.notifier.sent == []
    assert not set(calls) & STACK_WRITES


# --- 9. the leases of every stack the refactor touches ---------------------------------------

KEEPER = """\
Resources:
  Keep:
    Type: AWS::CloudFormation::WaitConditionHandle
"""
AUDIT = """\
  Audit:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: /test/audit
      RetentionInDays: 365
"""
LOGS_STACK = "template-file-path: templates/logs.yml\nstack-name: app-logs\nregion: us-east-1\n"


@pytest.fixture
def moved(tmp_path, services) -> Path:
    """app-logs holds the log group `Audit`; the repository moves it to app-dev."""
    root = make_repo(
        tmp_path / "desired",
        {"templates/logs.yml": KEEPER + AUDIT, "desired-state/app-logs.yml": LOGS_STACK},
    )
    deploy(root, services, ("app-dev", "app-logs"))
    after = TEMPLATE.replace("Outputs:", AUDIT + "Outputs:")
    make_repo(root, {"templates/app.yml": after, "templates/logs.yml": KEEPER}, defaults=False)
    return root


@pytest.fixture
def across(stub, moved, services, calls) -> Answers:
    plan = planned(moved, services, "app-logs")
    assert plan.refactor_stacks == ("app-dev", "app-logs")  # plan order
    calls.clear()
    return Answers(stub, plan)


def leases(services: Services) -> list[tuple[str, str]]:
    return [(what, name) for what, name, _ in services.status.log]


def free(services: Services, *names: str) -> bool:
    """Whether another operation can take each lease now (then gives it back)."""
    for name in names:
        if not services.status.store.acquire(name, "someone-else", 60):
            return False
        services.status.store.release(name, "someone-else")
    return True


TAKEN_AND_GIVEN_BACK = [
    ("acquire", "app-dev"),
    ("acquire", "app-logs"),
    ("release", "app-logs"),
    ("release", "app-dev"),
]


def test_every_stack_the_refactor_touches_is_leased_in_plan_order_and_released(
    moved, services, across, stub, calls
):
    """GIVEN a log group moving from app-logs to app-dev WHEN an event's pass runs both
    stacks THEN each stack's step holds both leases, taken in plan order whichever
    stack it is for, and gives both back; the second step finds the first's refactor."""
    across.listed()
    across.created(FIRST)
    across.described(FIRST, "CREATE_IN_PROGRESS", "UNAVAILABLE")
    across.listed(across.summary(FIRST, "CREATE_IN_PROGRESS", "UNAVAILABLE"))

    results = event(moved, services)

    stub.assert_no_pending_responses()
    assert {r.stack_name: r.outcome for r in results} == {
        "app-dev": "waiting",
        "app-logs": "waiting",
    }
    assert refactor_calls(calls).count("CreateStackRefactor") == 1
    assert leases(services) == TAKEN_AND_GIVEN_BACK * 2
    assert free(services, "app-dev", "app-logs")


@pytest.mark.parametrize(
    ("code", "http_status", "raised"),
    [("Throttling", 400, AwsError), ("AccessDenied", 403, None)],
    ids=["transient", "permanent"],
)
def test_the_leases_are_released_when_a_refactor_call_raises(
    moved, services, across, stub, code, http_status, raised
):
    """GIVEN CloudFormation refuses CreateStackRefactor WHEN a pass for app-logs only
    runs (a stack event's pass) THEN both leases were taken, in plan order, and both
    are given back, whether the error is raised for a retry or recorded."""
    across.listed()
    across.refused("create_stack_refactor", code, "refused", http_status)

    if raised is not None:
        with pytest.raises(raised):
            event(moved, services, only={"app-logs"})
    else:
        (result,) = event(moved, services, only={"app-logs"})
        assert result.outcome == "failed"
        assert services.status.get("app-logs").phase is Phase.FAILED

    stub.assert_no_pending_responses()
    assert leases(services) == TAKEN_AND_GIVEN_BACK
    assert free(services, "app-dev", "app-logs")


def test_a_refactor_whose_stack_is_leased_elsewhere_is_deferred_untouched(
    moved, services, across, stub, calls
):
    """GIVEN another operation holds app-dev's lease WHEN a pass for app-logs runs THEN
    no refactor call is made, app-logs's lease is never taken (app-dev comes first), and
    the result is deferred."""
    assert services.status.store.acquire("app-dev", "other-operation", 300)
    calls.clear()

    (result,) = event(moved, services, only={"app-logs"})

    assert result.outcome == "deferred"
    assert "another operation holds the lease of app-dev" in result.message
    assert refactor_calls(calls) == []
    assert leases(services) == [("refused", "app-dev")]


def test_a_refactor_deferred_by_another_stacks_lease_is_handed_to_that_leases_holder(
    moved, services, across, stub, calls
):
    """GIVEN another operation holds app-logs's lease WHEN a pass for app-dev runs THEN
    it is deferred: not run again at once (the lease is still held), and the holder,
    releasing app-logs, learns of the deferred work (as for a stack's own lease)."""
    assert services.status.store.acquire("app-logs", "other-operation", 300)

    (result,) = event(moved, services, only={"app-dev"})

    assert result.outcome == "deferred"
    assert refactor_calls(calls) == []
    assert leases(services) == [
        ("acquire", "app-dev"),
        ("refused", "app-logs"),
        ("release", "app-dev"),
    ]
    assert result.rerun is False
    assert services.status.store.release("app-logs", "other-operation") is True


def test_a_refused_refactor_across_stacks_blocks_every_stack_it_touches(
    moved, services, across, stub, calls
):
    """GIVEN CloudFormation refuses a move between app-logs and app-dev WHEN a pass for
    app-logs only runs THEN both stacks are Blocked with CloudFormation's reason, each
    notified once and each with a `blocked` record; nothing is executed."""
    reason = f"{stack_id('app-dev')}: Resource Audit has configuration changes"
    across.listed()
    across.created(FIRST)
    across.described(FIRST, "CREATE_FAILED", "UNAVAILABLE", StatusReason=reason)

    (result,) = event(moved, services, only={"app-logs"})

    stub.assert_no_pending_responses()
    assert result.outcome == "blocked" and reason in result.message
    for name in ("app-dev", "app-logs"):
        recorded = services.status.get(name)
        assert (recorded.sync, recorded.phase, recorded.message) == (
            Sync.BLOCKED,
            Phase.BLOCKED,
            result.message,
        )
        assert [r.event for r in trail(services, name) if r.event is Event.BLOCKED] == [
            Event.BLOCKED
        ]
    assert sorted((n.kind, n.stack_name) for n in services.notifier.sent) == [
        (Kind.BLOCKED, "app-dev"),
        (Kind.BLOCKED, "app-logs"),
    ]
    assert not set(calls) & {"ExecuteStackRefactor", *STACK_WRITES}
