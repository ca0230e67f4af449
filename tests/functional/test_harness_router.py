"""The local event path (`harness.router`, `localaws.bus_emitter`, `handlers.routes`) on a
real local AWS server: the rules of `handlers/routes.py` on the buses, moto matching their
patterns, and the router handing what matched to the handlers as EventBridge would.

Most tests give the router fake handlers that record the events they get; the last one runs
the real push and stack status handlers."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto.cloudformation.models import cloudformation_backends

from handlers import idempotency, runtime
from handlers.routes import HANDLERS, RouteError, rules
from harness.router import EventRouter, RouterError, RouterTimeoutError
from localaws.server import LocalAws
from reconciler.aws import session
from tests.repo import make_repo

EVENTS = Path(__file__).parent.parent / "events"
HOME, OTHER = "us-east-1", "eu-central-1"
PREFIX = "app-"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def _template() -> str:
    parameter = {"Type": "String", "Name": f"/router/{uuid.uuid4().hex}", "Value": "v"}
    return json.dumps(
        {"Resources": {"Parameter": {"Type": "AWS::SSM::Parameter", "Properties": parameter}}}
    )


class FakeHandlers:
    """Handler functions that record the events they get; `fail(name, times)` makes the
    first `times` calls of one raise, as a handler with a transient failure does."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {name: [] for name in HANDLERS}
        self._failures: dict[str, int] = {}

    def fail(self, name: str, times: int) -> None:
        self._failures[name] = times

    def functions(self) -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
        return {name: self._function(name) for name in HANDLERS}

    def _function(self, name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            self.events[name].append(event)
            if self._failures.get(name, 0) > 0:
                self._failures[name] -= 1
                raise RuntimeError("the status table is throttled")
            return {"status": "handled", "reason": f"by the fake {name} handler"}

        return handler

    def statuses(self) -> list[tuple[str, str]]:
        """(stack name, status) of the stack status events the fake got."""
        return [
            (e["detail"]["stack-id"].split("/")[1], e["detail"]["status-details"]["status"])
            for e in self.events["stack_status"]
        ]


@pytest.fixture
def fakes() -> FakeHandlers:
    return FakeHandlers()


@pytest.fixture
def router(fresh_local_aws: LocalAws, fakes: FakeHandlers) -> EventRouter:
    """A router for stacks named app-*, in two regions, on an empty local AWS."""
    return EventRouter(
        fresh_local_aws.endpoint_url, (HOME, OTHER), stack_prefix=PREFIX, handlers=fakes.functions()
    )


@pytest.fixture
def regional(local_aws: LocalAws) -> Callable[[str, str], Any]:
    """boto3 clients for the local AWS in any region."""
    import boto3

    def client(service: str, region: str = HOME) -> Any:
        return boto3.client(
            service,
            endpoint_url=local_aws.endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


def _put(events: Any, source: str, detail_type: str, detail: dict[str, Any]) -> str:
    """Put one event on the default bus; returns the id the bus gave it."""
    entries = events.put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )["Entries"]
    return entries[0]["EventId"]


# --- the rules ----------------------------------------------------------------------------------


def test_the_home_region_bus_gets_every_rule_with_the_pattern_routes_gives_it(
    router: EventRouter, regional: Callable[..., Any]
) -> None:
    """GIVEN a router made for stacks named app-*
    WHEN the home region's default bus is listed
    THEN it has every rule of handlers.routes, with the same pattern or schedule"""
    listed = regional("events").list_rules()["Rules"]

    created = {
        r["Name"]: json.loads(r["EventPattern"]) if "EventPattern" in r else r["ScheduleExpression"]
        for r in listed
    }
    assert created == {
        r.name: r.event_pattern if r.event_pattern is not None else r.schedule_expression
        for r in rules(PREFIX)
    }


def test_other_regions_get_only_the_cloudformation_rules(
    router: EventRouter, regional: Callable[..., Any]
) -> None:
    """GIVEN a router following a second region
    WHEN that region's default bus is listed
    THEN it has the stack status and drift rules only: pushes and the schedule are home's"""
    listed = regional("events", OTHER).list_rules()["Rules"]

    assert sorted(r["Name"] for r in listed) == ["gitops-drift", "gitops-stack-status"]


def test_every_pattern_rule_targets_one_queue(
    router: EventRouter, regional: Callable[..., Any]
) -> None:
    """GIVEN a router
    WHEN the targets of its pattern rules are listed
    THEN each rule sends its events to one SQS queue of its own"""
    events = regional("events")
    names = [r.name for r in rules(PREFIX) if r.event_pattern is not None]

    targets = {name: events.list_targets_by_rule(Rule=name)["Targets"] for name in names}

    arns = [t["Arn"] for found in targets.values() for t in found]
    assert all(len(found) == 1 for found in targets.values())
    assert all(arn.startswith("arn:aws:sqs:us-east-1:") for arn in arns)
    assert len(set(arns)) == len(names)


def test_a_prefix_that_is_not_the_start_of_a_stack_name_is_refused(
    fresh_local_aws: LocalAws, fakes: FakeHandlers
) -> None:
    """GIVEN a stack prefix holding a wildcard
    WHEN a router is made with it
    THEN it is refused in one line before any rule is made"""
    with pytest.raises(RouteError, match=r"stack prefix 'app\*' is not the start of a stack name"):
        EventRouter(fresh_local_aws.endpoint_url, stack_prefix="app*", handlers=fakes.functions())


def test_a_router_without_every_handler_is_refused(fresh_local_aws: LocalAws) -> None:
    """GIVEN handler functions for some of the handlers only
    WHEN a router is made with them
    THEN it is refused, naming the missing ones"""
    only_push = {"push": lambda event, context: {}}

    with pytest.raises(
        RouterError, match="no handler function for: drift, preview, schedule, stack_status"
    ):
        EventRouter(fresh_local_aws.endpoint_url, stack_prefix=PREFIX, handlers=only_push)


def test_a_router_without_a_region_is_refused(
    fresh_local_aws: LocalAws, fakes: FakeHandlers
) -> None:
    """GIVEN an empty list of regions
    WHEN a router is made with it
    THEN it is refused: there would be no bus to route from"""
    with pytest.raises(RouterError, match="the event router needs at least one region"):
        EventRouter(
            fresh_local_aws.endpoint_url, (), stack_prefix=PREFIX, handlers=fakes.functions()
        )


# --- stack status events ------------------------------------------------------------------------


def test_the_end_of_a_stack_operation_reaches_the_stack_status_handler(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack that was created
    WHEN the router runs until idle
    THEN the stack status handler gets its CREATE_COMPLETE, by the stack status rule"""
    regional("cloudformation").create_stack(StackName="app-dev", TemplateBody=_template())

    deliveries = router.run_until_idle()

    assert fakes.statuses() == [("app-dev", "CREATE_COMPLETE")]
    assert [(d.rule, d.handler, d.status) for d in deliveries] == [
        ("gitops-stack-status", "stack_status", "handled")
    ]


def test_in_progress_statuses_are_not_routed(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack created, then updated (each with an *_IN_PROGRESS status first)
    WHEN the router runs until idle
    THEN only the final statuses reach the handler: the pattern leaves *_IN_PROGRESS out"""
    cloudformation = regional("cloudformation")
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template())
    cloudformation.update_stack(StackName="app-dev", TemplateBody=_template())

    router.run_until_idle()

    assert fakes.statuses() == [("app-dev", "CREATE_COMPLETE"), ("app-dev", "UPDATE_COMPLETE")]


def test_a_stack_outside_the_prefix_is_not_routed(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack (app-dev) and another one (billing-dev), both created
    WHEN the router runs until idle
    THEN only the managed stack's event reaches the handler: the pattern filters by stack"""
    cloudformation = regional("cloudformation")
    cloudformation.create_stack(StackName="billing-dev", TemplateBody=_template())
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template())

    router.run_until_idle()

    assert fakes.statuses() == [("app-dev", "CREATE_COMPLETE")]


def test_a_stack_in_another_followed_region_is_routed_from_that_region(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack created in the second region
    WHEN the router runs until idle
    THEN its event comes through that region's stack status rule, with that region in it"""
    regional("cloudformation", OTHER).create_stack(StackName="app-stg", TemplateBody=_template())

    deliveries = router.run_until_idle()

    assert [(d.rule, d.region, d.subject) for d in deliveries] == [
        ("gitops-stack-status", OTHER, "app-stg CREATE_COMPLETE")
    ]
    assert fakes.events["stack_status"][0]["region"] == OTHER


def test_stacks_that_existed_before_the_router_send_no_past_events(
    fresh_local_aws: LocalAws, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack created before the router was made
    WHEN the router runs until idle
    THEN nothing is delivered: a rule made now would not have seen that event"""
    regional("cloudformation").create_stack(StackName="app-dev", TemplateBody=_template())
    router = EventRouter(
        fresh_local_aws.endpoint_url, stack_prefix=PREFIX, handlers=fakes.functions()
    )

    assert router.run_until_idle() == []


# --- pushes -------------------------------------------------------------------------------------


def test_a_git_push_reaches_the_push_handler_as_eventbridge_delivers_it(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a "Git Push" event put on the home region's default bus
    WHEN the router runs until idle
    THEN the push handler gets it once, whole, with the id the bus gave it and the account"""
    push = _fixture("git_push.json")
    events = regional("events")
    time = datetime.strptime(push["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    event_id = events.put_events(
        Entries=[
            {
                "Source": push["source"],
                "DetailType": push["detail-type"],
                "Detail": json.dumps(push["detail"]),
                "Time": time,
            }
        ]
    )["Entries"][0]["EventId"]

    router.run_until_idle()

    account = regional("sts").get_caller_identity()["Account"]
    assert fakes.events["push"] == [
        {
            "version": "0",
            "id": event_id,
            "detail-type": "Git Push",
            "source": "gitops.git",
            "account": account,
            "time": push["time"],
            "region": HOME,
            "resources": [],
            "detail": push["detail"],
        }
    ]


def test_a_codecommit_branch_update_reaches_the_push_handler(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a CodeCommit "referenceUpdated" of a branch on the bus
    WHEN the router runs until idle
    THEN the push handler gets it, by the CodeCommit rule"""
    change = _fixture("codecommit_push.json")
    event_id = _put(regional("events"), change["source"], change["detail-type"], change["detail"])

    deliveries = router.run_until_idle()

    assert [(d.rule, d.handler, d.event_id) for d in deliveries] == [
        ("gitops-push-codecommit", "push", event_id)
    ]
    assert fakes.events["push"][0]["detail"] == change["detail"]


def test_a_codecommit_tag_is_not_routed(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a CodeCommit tag creation, and a branch update, on the bus
    WHEN the router runs until idle
    THEN only the branch update reaches the push handler"""
    change = _fixture("codecommit_push.json")
    tag = {**change["detail"], "event": "referenceCreated", "referenceType": "tag"}
    tag.update(referenceName="v1.0", referenceFullName="refs/tags/v1.0")
    events = regional("events")
    _put(events, change["source"], change["detail-type"], tag)
    _put(events, change["source"], change["detail-type"], change["detail"])

    router.run_until_idle()

    assert [e["detail"]["referenceType"] for e in fakes.events["push"]] == ["branch"]


def test_a_codecommit_push_to_another_repository_is_not_routed(
    fresh_local_aws: LocalAws, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a router for the repository gitops-desired-state
    WHEN branch updates of it and of another repository are put on the bus
    THEN only the one of gitops-desired-state reaches the push handler"""
    router = EventRouter(
        fresh_local_aws.endpoint_url,
        stack_prefix=PREFIX,
        repository="gitops-desired-state",
        handlers=fakes.functions(),
    )
    change = _fixture("codecommit_push.json")
    events = regional("events")
    other = {**change["detail"], "repositoryName": "website"}
    _put(events, change["source"], change["detail-type"], other)
    _put(events, change["source"], change["detail-type"], change["detail"])

    router.run_until_idle()

    assert [e["detail"]["repositoryName"] for e in fakes.events["push"]] == ["gitops-desired-state"]


# --- drift and the schedule ---------------------------------------------------------------------


def test_a_drift_detection_of_the_local_aws_reaches_the_drift_handler(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack whose drift is detected by the local AWS
    WHEN the router runs until idle
    THEN the drift handler gets the detection's "Drift Detection Status Change" event"""
    cloudformation = regional("cloudformation")
    cloudformation.create_stack(StackName="app-dev", TemplateBody=_template())
    detection = cloudformation.detect_stack_drift(StackName="app-dev")["StackDriftDetectionId"]

    deliveries = router.run_until_idle()

    (drift,) = fakes.events["drift"]
    assert drift["detail"]["stack-drift-detection-id"] == detection
    assert drift["detail"]["status-details"]["detection-status"] == "DETECTION_COMPLETE"
    assert ("gitops-drift", "drift") in {(d.rule, d.handler) for d in deliveries}


def test_a_drift_event_of_a_stack_outside_the_prefix_is_not_routed(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN drift detection events of a managed stack and of another one on the bus
    WHEN the router runs until idle
    THEN only the managed stack's event reaches the drift handler"""
    event = _fixture("drift_detection_complete.json")  # app-dev
    other = json.loads(json.dumps(event["detail"]).replace("stack/app-dev/", "stack/billing/"))
    events = regional("events")
    _put(events, event["source"], event["detail-type"], other)
    _put(events, event["source"], event["detail-type"], event["detail"])

    router.run_until_idle()

    assert [e["detail"]["stack-id"] for e in fakes.events["drift"]] == [event["detail"]["stack-id"]]


def test_a_schedule_tick_reaches_the_schedule_handler(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a router
    WHEN the schedule fires and the router runs until idle
    THEN the schedule handler gets a "Scheduled Event" from aws.events naming the rule"""
    fired = router.fire_schedule()

    deliveries = router.run_until_idle()

    rule_arn = regional("events").describe_rule(Name="gitops-schedule")["Arn"]
    (tick,) = fakes.events["schedule"]
    assert tick == fired
    assert (tick["source"], tick["detail-type"], tick["resources"]) == (
        "aws.events",
        "Scheduled Event",
        [rule_arn],
    )
    assert [(d.rule, d.handler) for d in deliveries] == [("gitops-schedule", "schedule")]


def test_each_schedule_tick_has_its_own_id(router: EventRouter, fakes: FakeHandlers) -> None:
    """GIVEN a router
    WHEN the schedule fires twice
    THEN the handler gets two events with different ids, so neither is taken for a repeat"""
    router.fire_schedule()
    router.fire_schedule()

    router.run_until_idle()

    assert len({tick["id"] for tick in fakes.events["schedule"]}) == 2


# --- failures -----------------------------------------------------------------------------------


def test_a_handler_that_raises_once_gets_the_same_event_again(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a push handler that raises on its first call
    WHEN a Git Push is routed
    THEN the same event (same id) is delivered again and nothing is dead-lettered"""
    fakes.fail("push", times=1)
    _put(regional("events"), "gitops.git", "Git Push", _fixture("git_push.json")["detail"])

    deliveries = router.run_until_idle()

    assert [d.status for d in deliveries] == ["error", "handled"]
    first, second = fakes.events["push"]
    assert first["id"] == second["id"]
    assert router.dead_letters == []


def test_a_handler_that_keeps_raising_is_dead_lettered_after_three_attempts(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a push handler that always raises
    WHEN a Git Push is routed
    THEN it is tried three times, then the event goes to the dead letters with the error"""
    fakes.fail("push", times=99)
    event_id = _put(
        regional("events"), "gitops.git", "Git Push", _fixture("git_push.json")["detail"]
    )

    deliveries = router.run_until_idle()

    assert [(d.attempt, d.status) for d in deliveries] == [
        (1, "error"),
        (2, "error"),
        (3, "dead-lettered"),
    ]
    (letter,) = router.dead_letters
    assert (letter.rule, letter.event["id"], letter.attempts) == ("gitops-push-git", event_id, 3)
    assert letter.error == "RuntimeError: the status table is throttled"


def test_a_message_that_is_no_event_is_dead_lettered_without_a_handler_call(
    router: EventRouter, fakes: FakeHandlers, regional: Callable[..., Any]
) -> None:
    """GIVEN a message that is not an EventBridge event in the push rule's queue
    WHEN the router runs until idle
    THEN it is dead-lettered at once and no handler sees it"""
    (target,) = regional("events").list_targets_by_rule(Rule="gitops-push-git")["Targets"]
    sqs = regional("sqs")
    queue_url = sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[1])["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="not json")

    router.run_until_idle()

    assert fakes.events["push"] == []
    assert [letter.error for letter in router.dead_letters] == [
        "the message is not an EventBridge event"
    ]


def test_waiting_for_a_stack_that_stays_in_progress_times_out_naming_it(
    router: EventRouter, fresh_local_aws: LocalAws, regional: Callable[..., Any]
) -> None:
    """GIVEN a managed stack that stays UPDATE_IN_PROGRESS (a long operation)
    WHEN the router runs until idle with a short timeout
    THEN it gives up with an error naming the stack, its status and its region"""
    stack_id = regional("cloudformation").create_stack(
        StackName="app-dev", TemplateBody=_template()
    )["StackId"]
    router.run_until_idle()
    cloudformation_backends["123456789012"][HOME].stacks[stack_id].status = "UPDATE_IN_PROGRESS"

    with pytest.raises(RouterTimeoutError) as raised:
        router.run_until_idle(timeout_s=0.2)

    assert str(raised.value) == (
        "events still in flight after 0.2 s: stack app-dev UPDATE_IN_PROGRESS in us-east-1"
    )


# --- the real handlers --------------------------------------------------------------------------


@pytest.fixture
def handler_env(
    fresh_local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The real handlers' environment pointing at the local AWS, and a desired-state
    repository with the stack app-dev (us-east-1); the handlers' cached edges rebuilt."""
    repo = make_repo(tmp_path / "desired")
    for args in (["init", "-q", "--initial-branch=main"], ["add", "-A"], ["commit", "-qm", "1"]):
        _git(repo, *args)
    for name, value in fresh_local_aws.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(repo))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    def rebuild() -> None:
        session.reset_clients()
        runtime.services.cache_clear()
        runtime.source.cache_clear()
        idempotency.reset()

    rebuild()
    yield repo
    rebuild()


def test_real_handlers_deploy_a_pushed_stack_and_publish_its_outputs(
    handler_env: Path, fresh_local_aws: LocalAws, regional: Callable[..., Any]
) -> None:
    """GIVEN the real handlers and a repository with the stack app-dev
    WHEN a Git Push is put on the bus and the router runs until idle
    THEN the push handler deploys the stack, and its CREATE_COMPLETE, routed to the stack
    status handler, publishes the outputs to SSM"""
    router = EventRouter(fresh_local_aws.endpoint_url, stack_prefix=PREFIX)
    head = _git(handler_env, "rev-parse", "HEAD")
    detail = {**_fixture("git_push.json")["detail"], "repository": str(handler_env), "after": head}
    _put(regional("events"), "gitops.git", "Git Push", detail)

    deliveries = router.run_until_idle()

    assert [(d.rule, d.subject, d.status) for d in deliveries] == [
        ("gitops-push-git", f"Git Push refs/heads/main {head[:12]}", "reconciled"),
        ("gitops-stack-status", "app-dev CREATE_COMPLETE", "recorded"),
    ]
    parameter = regional("ssm").get_parameter(Name="/app-dev/LogGroup")["Parameter"]
    assert parameter["Value"] == "/test/dev/logs"
