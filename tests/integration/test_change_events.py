"""Drift repaired in minutes, not at the next schedule (issue 21), end to end on a local
AWS server: an operator's out-of-band call on a managed resource becomes CloudTrail's
"AWS API Call via CloudTrail" event on the bus (`localaws.cloudtrail_events`, while a
trail logs), the real router (`harness.router.EventRouter`) routes it by its
`gitops-change-<service>` rule to the real change handler, which starts drift detection;
the detection's event goes to the real drift handler, which repairs, reports or leaves
the drift by the stack file.

One module-scoped world: a desired-state repository of small stacks (a security group
with one inline rule and a log group each), deployed once by one push through the
handlers, which run under the reconciler's own role (RECONCILER_ROLES). Every test
tampers with a stack of its own, so no test depends on another's drift.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws.server import LocalAws
from tests.repo import commit, git

pytestmark = pytest.mark.integration

HOME, EU = "us-east-1", "eu-central-1"
PREFIX = "chg-"
FUNCTIONS_ROLE = "gitops-reconciler-functions"  # the role the handlers run as
OPERATOR = "ops-console"
NOTIFICATIONS = "change-events-notifications"
TRAIL = "management-events"
PRIVATE = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}
RETENTION = 365

# One stack per test, each tampered with by that test only.
REPAIRED = "chg-repair"  # drift: repair
BURST = "chg-burst"
OWN = "chg-own"
WATCHED = "chg-watch"  # drift: detect
HELD = "chg-held"  # suspended by `reconciler suspend`
LATE = "chg-late"  # called again while its detection runs
LATER = "chg-later"  # called again after its repair started
QUIET = "chg-quiet"  # the trail stopped
ABROAD = "chg-eu"  # in eu-central-1
STACKS = {
    REPAIRED: (HOME, "repair"),
    BURST: (HOME, "repair"),
    OWN: (HOME, "repair"),
    WATCHED: (HOME, "detect"),
    HELD: (HOME, "repair"),
    LATE: (HOME, "repair"),
    LATER: (HOME, "repair"),
    QUIET: (HOME, "repair"),
    ABROAD: (EU, "repair"),
}

TEMPLATE = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Name:
    Type: String
Resources:
  Firewall:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupName: !Ref Name
      GroupDescription: HTTPS from the private network only
      SecurityGroupIngress:
        - IpProtocol: {PRIVATE["IpProtocol"]}
          FromPort: {PRIVATE["FromPort"]}
          ToPort: {PRIVATE["ToPort"]}
          CidrIp: {PRIVATE["CidrIp"]}
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: !Sub /chg/${{Name}}/logs
      RetentionInDays: {RETENTION}
"""


def stack_file(name: str, region: str, drift: str) -> str:
    body = {
        "template-file-path": "templates/guarded.yml",
        "stack-name": name,
        "region": region,
        "parameters": {"Name": name},
        "drift": drift,
    }
    return json.dumps(body, indent=2)  # JSON is YAML


def log_group(stack: str) -> str:
    return f"/chg/{stack}/logs"


def anywhere(port: int) -> dict[str, Any]:
    return {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    }


# --- the handlers, with a hook after one delivery -------------------------------------------


@dataclass
class Handlers:
    """The real handlers; `after[name]`, when set, runs once after that handler's next
    invocation: what happens while the work it started is under way."""

    after: dict[str, Callable[[], None]] = field(default_factory=dict)

    def functions(self) -> dict[str, Callable[..., Any]]:
        from harness.router import real_handlers

        return {name: self._hooked(name, fn) for name, fn in real_handlers().items()}

    def _hooked(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def handler(event: dict[str, Any], context: Any) -> Any:
            result = function(event, context)
            if hook := self.after.pop(name, None):
                hook()
            return result

        return handler


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    aws: LocalAws
    repo: Path
    router: Any
    handlers: Handlers
    operator: boto3.Session  # an IAM user of their own, as in the console
    operator_arn: str
    reconciler: boto3.Session  # the handlers' role, as run_as_central_role assumed it
    inbox: Any

    def client(self, service: str, region: str = HOME, session: Any = None) -> Any:
        """A client of the local AWS; by default in the handlers' role."""
        return (session or self.reconciler).client(
            service, endpoint_url=self.aws.endpoint_url, region_name=region
        )

    def as_operator(self, service: str, region: str = HOME) -> Any:
        return self.client(service, region, self.operator)

    def group_id(self, stack: str) -> str:
        region = STACKS[stack][0]
        found = self.client("ec2", region).describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [stack]}]
        )
        return found["SecurityGroups"][0]["GroupId"]

    def ingress(self, stack: str) -> list[tuple[int, str]]:
        """(port, CIDR) of every ingress rule of the stack's group, read from EC2."""
        region = STACKS[stack][0]
        group = self.client("ec2", region).describe_security_groups(
            GroupIds=[self.group_id(stack)]
        )["SecurityGroups"][0]
        return sorted(
            (rule["FromPort"], cidr["CidrIp"])
            for rule in group["IpPermissions"]
            for cidr in rule["IpRanges"]
        )

    def retention(self, stack: str) -> int | None:
        region = STACKS[stack][0]
        groups = self.client("logs", region).describe_log_groups(
            logGroupNamePrefix=log_group(stack)
        )["logGroups"]
        return groups[0].get("retentionInDays")

    def open_to_all(self, stack: str, port: int, session: Any = None) -> None:
        region = STACKS[stack][0]
        self.client("ec2", region, session or self.operator).authorize_security_group_ingress(
            GroupId=self.group_id(stack), IpPermissions=[anywhere(port)]
        )

    def route(self) -> list[Any]:
        return self.router.run_until_idle(timeout_s=30)

    def status(self, stack: str) -> Any:
        from handlers.runtime import services

        return services().status.get(stack)

    def history(self, stack: str) -> list[dict[str, Any]]:
        """`reconciler history STACK --json`: the audit trail as an operator reads it."""
        out = cli("history", stack, "--json")
        return json.loads(out)


def cli(*args: str) -> str:
    from reconciler.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    assert code == 0, f"reconciler {' '.join(args)} -> {code}: {err.getvalue()}"
    return out.getvalue()


def of(deliveries: list[Any], handler: str, stack: str = "") -> list[Any]:
    """The deliveries to `handler` (whose event is about `stack`, when given: a drift or
    stack status event's subject starts with the stack's name)."""
    return [
        d
        for d in deliveries
        if d.handler == handler and (not stack or d.subject.split()[0] == stack)
    ]


@pytest.fixture(scope="module")
def world(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The stacks deployed by one push through the router and the real handlers, which run
    in the reconciler's own role; a trail logging every region; an operator with an IAM
    user of their own; the notifications received on a bus."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [
            n
            for n in os.environ
            if n.startswith(("AWS_", "RECONCILER_", "NOTIFY_", "LOCALAWS_", "WORK_QUEUE"))
            and n != "RECONCILER_CACHE_DIR"
        ]:
            patch.delenv(name)
        for name, value in local_aws.env().items():
            patch.setenv(name, value)
        patch.setenv("AWS_SESSION_TOKEN", "")  # put back after run_as_central_role
        patch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        repo = tmp_path_factory.mktemp("change-events") / "desired"
        repo.mkdir()
        git(repo, "init", "-q", "--initial-branch=main")
        files = {"templates/guarded.yml": TEMPLATE}
        for stack, (region, drift) in STACKS.items():
            files[f"desired-state/{stack}.yml"] = stack_file(stack, region, drift)
        commit(repo, files, "guarded stacks")
        for name, value in {
            "DESIRED_STATE_REPOSITORY": str(repo),
            "DESIRED_STATE_BRANCH": "main",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "RECONCILER_ROLES": FUNCTIONS_ROLE,
            "NOTIFY_EVENT_BUS": NOTIFICATIONS,
            "DRIFT_MAX_CONCURRENT": "20",
        }.items():
            patch.setenv(name, value)
        from handlers import idempotency, runtime
        from harness.demo import run_as_central_role, sign_up, watched_calls
        from harness.inbox import NotificationInbox
        from harness.router import EventRouter
        from reconciler.aws import session

        session.reset_clients()
        runtime.services.cache_clear()
        runtime.source.cache_clear()
        idempotency.reset()
        try:
            run_as_central_role(local_aws)  # the handlers' credentials, in the environment
            reconciler = boto3.Session(
                os.environ["AWS_ACCESS_KEY_ID"],
                os.environ["AWS_SECRET_ACCESS_KEY"],
                os.environ["AWS_SESSION_TOKEN"],
            )

            def client(service: str, region: str = HOME) -> Any:
                return reconciler.client(
                    service, endpoint_url=local_aws.endpoint_url, region_name=region
                )

            client("s3").create_bucket(Bucket="change-events-trail")
            client("cloudtrail").create_trail(
                Name=TRAIL, S3BucketName="change-events-trail", IsMultiRegionTrail=True
            )
            client("cloudtrail").start_logging(Name=TRAIL)
            (key,) = sign_up(client("iam"), (OPERATOR,)).values()
            operator = boto3.Session(key["AccessKeyId"], key["SecretAccessKey"])
            operator_arn = operator.client(
                "sts", endpoint_url=local_aws.endpoint_url, region_name=HOME
            ).get_caller_identity()["Arn"]
            inbox = NotificationInbox(client, NOTIFICATIONS)
            handlers = Handlers()
            router = EventRouter(
                local_aws.endpoint_url,
                (HOME, EU),
                stack_prefix=PREFIX,
                handlers=handlers.functions(),
                watched=watched_calls(repo),
            )
            head = git(repo, "rev-parse", "HEAD")
            client("events").put_events(
                Entries=[
                    {
                        "Source": "gitops.git",
                        "DetailType": "Git Push",
                        "Detail": json.dumps(
                            {"repository": str(repo), "ref": "refs/heads/main", "after": head}
                        ),
                    }
                ]
            )
            deployed = router.run_until_idle(timeout_s=60)
            world = World(
                local_aws, repo, router, handlers, operator, operator_arn, reconciler, inbox
            )
            missing = [s for s in STACKS if not (world.status(s) and world.status(s).stack_id)]
            assert not missing, [d.line() for d in deployed]
            inbox.receive()  # the deployment's notifications: no test's
            yield world
        finally:
            # moto's backends outlive this module: a trail left logging would put CloudTrail
            # events on the buses another module's observers listen to.
            with contextlib.suppress(Exception):
                boto3.client(
                    "cloudtrail", endpoint_url=local_aws.endpoint_url, region_name=HOME
                ).delete_trail(Name=TRAIL)
            runtime.services.cache_clear()
            runtime.source.cache_clear()
            idempotency.reset()
            session.reset_clients()
    session.reset_clients()


# --- 1. an operator's call is repaired at once ----------------------------------------------


def test_an_operators_call_starts_a_detection_that_repairs_the_drift(world: World) -> None:
    """GIVEN a managed stack whose stack file says `drift: repair`
    WHEN an operator, signed in as an IAM user, opens its security group to 0.0.0.0/0, and
    the router runs (no schedule tick)
    THEN the call is routed by the gitops-change-ec2 rule to the change handler, which
    starts a detection; its drift event repairs the group (read back from EC2); the status
    record notes the call's time and the audit trail holds an "out-of-band call" record
    naming the operator's ARN"""
    world.open_to_all(REPAIRED, 22)
    assert (22, "0.0.0.0/0") in world.ingress(REPAIRED)  # the tamper took

    deliveries = world.route()

    (change,) = of(deliveries, "change")
    assert change.rule == "gitops-change-ec2"
    assert change.subject == "ec2:AuthorizeSecurityGroupIngress (CloudTrail)"
    assert change.status == "detecting", change.reason
    assert f"{REPAIRED}: ec2:AuthorizeSecurityGroupIngress by {world.operator_arn}" in change.reason
    assert not of(deliveries, "schedule")
    (drift,) = of(deliveries, "drift", REPAIRED)
    assert drift.subject == f"{REPAIRED} DRIFTED"
    assert drift.reason.startswith("reverting drifted: Firewall /SecurityGroupIngress/"), drift
    assert world.ingress(REPAIRED) == [(443, "10.0.0.0/8")]
    called = [r for r in world.history(REPAIRED) if r["event"] == "out-of-band call"]
    assert len(called) == 1
    assert called[0]["detail"]["caller"] == world.operator_arn
    assert called[0]["detail"]["caller_type"] == "IAMUser"
    assert world.status(REPAIRED).changed_at == called[0]["detail"]["event_time"]


# --- 2. a burst of calls, one detection -----------------------------------------------------


def test_a_burst_of_calls_makes_one_detection(world: World) -> None:
    """GIVEN a managed stack
    WHEN an operator makes 50 calls on its security group (tags added and removed, the
    rule opened and closed again) before any of their events is routed
    THEN the first call starts the one DetectStackDrift (one drift event, one detection
    id) and the 49 others are answered covered"""
    group, ec2 = world.group_id(BURST), world.as_operator("ec2")
    for number in range(20):
        ec2.create_tags(Resources=[group], Tags=[{"Key": "ticket", "Value": f"OPS-{number}"}])
        ec2.delete_tags(Resources=[group], Tags=[{"Key": "ticket"}])
    for _ in range(5):
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[anywhere(8080)])
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[anywhere(8080)])

    deliveries = world.route()

    changes = of(deliveries, "change")
    assert len(changes) == 50
    assert sorted(d.status for d in changes) == ["covered"] * 49 + ["detecting"]
    detections = {
        s["detection_id"] for d in changes for s in d.result["stacks"] if "detection_id" in s
    }
    assert len(detections) == 1
    assert len(of(deliveries, "drift", BURST)) == 1
    assert world.ingress(BURST) == [(443, "10.0.0.0/8")]


# --- 3. the reconciler's own calls, and calls on what no stack owns -------------------------


def test_a_call_in_the_reconcilers_own_role_is_ignored(world: World) -> None:
    """GIVEN a managed stack
    WHEN its security group is opened in the reconciler's own role (RECONCILER_ROLES)
    THEN the change handler answers "ignored", naming the role, and starts nothing: no
    drift event, the stack's drift status unchanged, the rule still open"""
    before = world.status(OWN)

    world.open_to_all(OWN, 5432, session=world.reconciler)
    deliveries = world.route()

    (change,) = of(deliveries, "change")
    assert change.status == "ignored"
    assert f"the reconciler's own role {FUNCTIONS_ROLE}" in change.reason
    assert [d.handler for d in deliveries] == ["change"]
    after = world.status(OWN)
    assert (after.drift_status, after.drift_detection_id, after.changed_at) == (
        before.drift_status,
        before.drift_detection_id,
        before.changed_at,
    )
    assert (5432, "0.0.0.0/0") in world.ingress(OWN)


def test_a_call_on_a_group_no_managed_stack_owns_is_unmanaged(world: World) -> None:
    """GIVEN a security group an operator made outside any stack
    WHEN they open it to 0.0.0.0/0
    THEN the change handler answers "unmanaged" and starts nothing"""
    ec2 = world.as_operator("ec2")
    group = ec2.create_security_group(GroupName="chg-outsider", Description="made by hand")
    world.route()  # CreateSecurityGroup is no watched call: nothing to route

    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[anywhere(22)])
    deliveries = world.route()

    (change,) = of(deliveries, "change")
    assert change.status == "unmanaged", change.reason
    assert group["GroupId"] in change.reason
    assert [d.handler for d in deliveries] == ["change"]


# --- 4. drift: detect, and a suspended stack: reported, not repaired ------------------------


def test_a_stack_whose_drift_mode_is_detect_is_reported_not_repaired(world: World) -> None:
    """GIVEN a managed stack whose stack file says `drift: detect`
    WHEN an operator opens its security group
    THEN the detection the call started reports it (status DRIFTED, a Drift Detected
    notification, a "drift detected" record) and the open rule stays"""
    world.open_to_all(WATCHED, 3389)

    deliveries = world.route()

    (change,) = of(deliveries, "change")
    assert change.status == "detecting", change.reason
    (drift,) = of(deliveries, "drift", WATCHED)
    assert drift.reason.startswith("drift: drifted: Firewall /SecurityGroupIngress/"), drift
    assert world.status(WATCHED).drift_status == "DRIFTED"
    notified = [n for n in world.inbox.receive() if n.stack == WATCHED]
    assert [n.kind for n in notified] == ["Drift Detected"]
    events = [r["event"] for r in world.history(WATCHED)]
    assert "drift detected" in events and "drift repair started" not in events
    assert (3389, "0.0.0.0/0") in world.ingress(WATCHED)


def test_a_suspended_stack_is_reported_not_repaired(world: World) -> None:
    """GIVEN a managed stack (`drift: repair`) suspended with `reconciler suspend`
    WHEN an operator cuts its log group's retention
    THEN the detection the call started reports it (status DRIFTED, "drift not repaired"
    saying it is suspended) and the retention stays cut"""
    cli("suspend", HELD, str(world.repo), "--reason", "incident 42: hands off")
    world.as_operator("logs").put_retention_policy(logGroupName=log_group(HELD), retentionInDays=1)

    deliveries = world.route()

    (change,) = of(deliveries, "change")
    assert change.rule == "gitops-change-logs"
    assert change.status == "detecting", change.reason
    assert len(of(deliveries, "drift", HELD)) == 1
    assert world.status(HELD).drift_status == "DRIFTED"
    records = {r["event"]: r["message"] for r in world.history(HELD)}
    assert "suspended" in records["drift not repaired"]
    assert "drift repair started" not in records
    assert world.retention(HELD) == 1


# --- 5. a call made after the detection started is not lost ---------------------------------


def next_second() -> None:
    """Wait for CloudTrail's next whole second: a call in the same second as a detection's
    start counts as covered by it (reconciler.change_detection)."""
    time.sleep(1.02 - time.time() % 1)


def test_a_call_while_the_detection_runs_gets_one_more_detection(world: World) -> None:
    """GIVEN an operator's call on a managed stack whose change event started a detection
    WHEN, before that detection's event is delivered, they cut the stack's log group
    retention (in a later second than the detection's start), and the router runs
    THEN the second call is noted, not covered; when the first detection's event comes,
    the drift handler starts one more detection for it; the security group and the log
    group both end repaired"""

    def tamper_again() -> None:
        next_second()
        world.as_operator("logs").put_retention_policy(
            logGroupName=log_group(LATE), retentionInDays=3
        )

    world.open_to_all(LATE, 25)
    world.handlers.after["change"] = tamper_again  # the detection started, its event queued

    deliveries = world.route()

    first, second = of(deliveries, "change")
    assert (first.subject, first.status) == (
        "ec2:AuthorizeSecurityGroupIngress (CloudTrail)",
        "detecting",
    )
    assert (second.subject, second.status) == ("logs:PutRetentionPolicy (CloudTrail)", "noted")
    drifts = of(deliveries, "drift", LATE)
    assert len(drifts) == 2, [d.line() for d in deliveries]
    assert "changed out of band since: detection " in drifts[0].reason
    assert world.ingress(LATE) == [(443, "10.0.0.0/8")]
    assert world.retention(LATE) == RETENTION


def test_a_call_after_the_repair_started_gets_one_more_detection(world: World) -> None:
    """GIVEN an operator's call on a managed stack whose detection's event started the
    repair of its security group
    WHEN, before the repair's stack event is delivered, they cut the stack's log group
    retention, and the router runs until idle
    THEN that call gets one more detection, whose repair puts the retention back: both
    values end repaired (the local AWS completes the repair inside its API call, so the
    detection starts at once rather than at the operation's end)"""

    def tamper_during_repair() -> None:
        next_second()
        world.as_operator("logs").put_retention_policy(
            logGroupName=log_group(LATER), retentionInDays=5
        )

    world.open_to_all(LATER, 110)
    world.handlers.after["drift"] = tamper_during_repair

    deliveries = world.route()

    drifts = of(deliveries, "drift", LATER)
    assert [d.subject for d in drifts] == [f"{LATER} DRIFTED", f"{LATER} DRIFTED"]
    assert "Firewall" in drifts[0].reason and "Logs /RetentionInDays" in drifts[1].reason
    assert world.ingress(LATER) == [(443, "10.0.0.0/8")]
    assert world.retention(LATER) == RETENTION


# --- 6. another region ----------------------------------------------------------------------


def test_a_call_in_another_region_starts_the_detection_there(world: World) -> None:
    """GIVEN a managed stack in eu-central-1
    WHEN an operator opens its security group there
    THEN the call's event, on the eu-central-1 bus, reaches the change handler, which
    starts the detection on that stack in eu-central-1; its drift event repairs it"""
    world.open_to_all(ABROAD, 22)

    deliveries = world.route()

    (change,) = of(deliveries, "change")
    assert (change.rule, change.region, change.status) == ("gitops-change-ec2", EU, "detecting")
    (detected,) = change.result["stacks"]
    assert detected["stack_name"] == ABROAD
    (drift,) = of(deliveries, "drift", ABROAD)
    assert drift.region == EU
    described = world.client("cloudformation", EU).describe_stack_drift_detection_status(
        StackDriftDetectionId=detected["detection_id"]
    )
    assert described["StackId"] == world.status(ABROAD).stack_id
    assert world.ingress(ABROAD) == [(443, "10.0.0.0/8")]


# --- 7. no trail, no change events ----------------------------------------------------------


def test_without_a_trail_logging_no_call_is_routed_and_the_schedule_repairs(
    world: World,
) -> None:
    """GIVEN the trail stopped
    WHEN an operator cuts a managed log group's retention
    THEN no change event is routed and the drift stays; the schedule's tick, the safety
    net, repairs it"""
    trail = world.client("cloudtrail")
    trail.stop_logging(Name=TRAIL)
    try:
        world.as_operator("logs").put_retention_policy(
            logGroupName=log_group(QUIET), retentionInDays=7
        )
        deliveries = world.route()
    finally:
        trail.start_logging(Name=TRAIL)

    assert deliveries == []
    assert world.retention(QUIET) == 7

    world.router.fire_schedule()
    world.route()

    assert world.retention(QUIET) == RETENTION
