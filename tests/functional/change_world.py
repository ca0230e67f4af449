"""The world the change-detection tests share (test_change_detection, test_change_handler,
test_change_review): the managed DB stack pci-db-dev of the home account and its status
record, CloudFormation as a botocore Stubber per region (Cloud) with the answers the tests
queue, AWS's documented CloudTrail records (tests/events/cloudtrail) changed in code into
calls on that DB, and the services the tests act through."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handlers import change, runtime
from handlers.metrics import metrics
from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.api_calls import ApiCall, parse
from reconciler.audit import Event, Kept
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.dynamodb import DynamoStatusStore
from reconciler.aws.ssm import SsmOutputs
from reconciler.reconcile import Services
from reconciler.status import Health, StackStatus, Sync, precise
from tests.functional.handler_repo import handler_repo

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "events" / "cloudtrail"
HOME = "123456789012"  # the reconciler's account (localaws' LambdaContext's too)
MEMBER = "444455556666"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/gitops-member"
REGION = "us-east-1"
STACK = "pci-db-dev"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{HOME}:stack/{STACK}/1f0e9d8c-aaaa-4bbb-8ccc-000000000001"
)
APP_ID = f"arn:aws:cloudformation:{REGION}:{HOME}:stack/pci-app-dev/7f0e-8"  # see manage_app
DB = "pci-mysql-dev"
DB_LOGICAL = "Database"
DB_TYPE = "AWS::RDS::DBInstance"
CALLER = "arn:aws:iam::123456789012:user/johndoe"  # the RDS user guide record's
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


# --- calls ---------------------------------------------------------------------------------


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def now_seconds(delta: timedelta = timedelta()) -> str:
    """A time as CloudTrail writes eventTime: whole seconds."""
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def modify_db(
    at: str,
    *,
    event_id: str = "e-1",
    account: str = HOME,
    region: str = REGION,
    db: str = DB,
    identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The RDS user guide's CloudTrail record (CreateDBInstance by IAM user johndoe),
    changed in code into a ModifyDBInstance of `db` at `at`, in its envelope."""
    event = sample("rds-create-db-instance.json")
    event.update(account=account, region=region, time=at, id=f"env-{event_id}")
    event["detail"].update(
        eventName="ModifyDBInstance",
        eventTime=at,
        awsRegion=region,
        eventID=event_id,
        recipientAccountId=account,
        requestParameters={
            "dBInstanceIdentifier": db,
            "backupRetentionPeriod": 1,
            "applyImmediately": True,
        },
        responseElements=None,
    )
    if identity is not None:
        event["detail"]["userIdentity"] = identity
    return event


def call(**kwargs: Any) -> ApiCall:
    kwargs.setdefault("at", now_seconds())
    return parse(modify_db(**kwargs))


# --- CloudFormation ------------------------------------------------------------------------


def touched(
    logical_id: str, kind: str, physical_id: str = "x", status: str = "MODIFIED"
) -> dict[str, Any]:
    """The drift of the resource a call touched, no property said (a StackResourceDrift
    but for its StackId, which Cloud.resource_drift adds)."""
    return {
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": kind,
        "StackResourceDriftStatus": status,
        "Timestamp": T0,
    }


def db_drift() -> dict[str, Any]:
    """The DB's drift after the call (as `touched`): its backups cut from 7 days to 1."""
    difference = {
        "PropertyPath": "/BackupRetentionPeriod",
        "ExpectedValue": "7",
        "ActualValue": "1",
        "DifferenceType": "NOT_EQUAL",
    }
    return {**touched(DB_LOGICAL, DB_TYPE, DB), "PropertyDifferences": [difference]}


class Cloud:
    """One CloudFormation client per region, each behind a Stubber; `calls` lists every
    call tried (region, operation), stubbed or not."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        self.calls: list[tuple[str, str]] = []

    def client(self, service: str, region: str) -> Any:
        assert service == "cloudformation"
        if region not in self.clients:
            made = boto3.client("cloudformation", region_name=region)
            made.meta.events.register(
                "before-call.*.*", lambda model, **_: self.calls.append((region, model.name))
            )
            stubber = Stubber(made)
            stubber.activate()
            self.clients[region], self.stubbers[region] = made, stubber
        return self.clients[region]

    def stub(self, region: str = REGION) -> Stubber:
        self.client("cloudformation", region)
        return self.stubbers[region]

    def operations(self, name: str) -> int:
        return sum(1 for _, op in self.calls if op == name)

    def done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()

    # --- answers, queued -------------------------------------------------------------

    def owns(
        self,
        physical_id: str = DB,
        *,
        stack: str = STACK,
        stack_id: str = STACK_ID,
        logical_id: str = DB_LOGICAL,
        region: str = REGION,
        resource_type: str = DB_TYPE,
    ) -> None:
        self.stub(region).add_response(
            "describe_stack_resources",
            {
                "StackResources": [
                    {
                        "StackName": stack,
                        "StackId": stack_id,
                        "LogicalResourceId": logical_id,
                        "PhysicalResourceId": physical_id,
                        "ResourceType": resource_type,
                        "Timestamp": T0,
                        "ResourceStatus": "UPDATE_COMPLETE",
                    }
                ]
            },
            {"PhysicalResourceId": physical_id},
        )

    def lists(
        self,
        resources: list[tuple[str, str, str]],
        *,
        stack_id: str = STACK_ID,
        region: str = REGION,
        next_token: str = "",
        token: str = "",
    ) -> None:
        """ListStackResources of one stack (by its id): (logical id, physical id, type)
        each; `next_token` says more pages follow, `token` is the one this page is asked
        with."""
        answer: dict[str, Any] = {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": logical_id,
                    "PhysicalResourceId": physical_id,
                    "ResourceType": kind,
                    "LastUpdatedTimestamp": T0,
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
                for logical_id, physical_id, kind in resources
            ]
        }
        if next_token:
            answer["NextToken"] = next_token
        params = {"StackName": stack_id, **({"NextToken": token} if token else {})}
        self.stub(region).add_response("list_stack_resources", answer, params)

    def owns_nothing(self, physical_id: str, region: str = REGION) -> None:
        self.stub(region).add_client_error(
            "describe_stack_resources",
            service_error_code="ValidationError",
            service_message=f"Stack for {physical_id} does not exist",
            http_status_code=400,
            expected_params={"PhysicalResourceId": physical_id},
        )

    def lookup_refused(self, physical_id: str) -> None:
        """DescribeStackResources refused with AccessDenied (the functions may describe
        the managed stacks only, so another stack's resource is refused, not found)."""
        self.stub().add_client_error(
            "describe_stack_resources",
            service_error_code="AccessDenied",
            service_message="not authorized to perform: cloudformation:DescribeStackResources",
            http_status_code=403,
            expected_params={"PhysicalResourceId": physical_id},
        )

    def stack(
        self,
        status: str = "UPDATE_COMPLETE",
        *,
        name: str = STACK,
        stack_id: str = STACK_ID,
        region: str = REGION,
        desired: str = "h1",
    ) -> None:
        self.stub(region).add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "StackId": stack_id,
                        "CreationTime": T0,
                        "StackStatus": status,
                        "Tags": [
                            {"Key": MANAGED_TAG, "Value": "true"},
                            {"Key": HASH_TAG, "Value": desired},
                        ],
                    }
                ]
            },
            {"StackName": name},
        )

    def resource_drift(
        self,
        drift: dict[str, Any] | None = None,
        *,
        name: str = STACK,
        stack_id: str = STACK_ID,
        region: str = REGION,
    ) -> None:
        """DetectStackResourceDrift of the touched resource: `drift` (touched), else the
        DB with its backups cut (db_drift)."""
        drift = drift or db_drift()
        self.stub(region).add_response(
            "detect_stack_resource_drift",
            {"StackResourceDrift": {"StackId": stack_id, **drift}},
            {"StackName": name, "LogicalResourceId": drift["LogicalResourceId"]},
        )

    def detection(self, detection_id: str, *, name: str = STACK, region: str = REGION) -> None:
        self.stub(region).add_response(
            "detect_stack_drift", {"StackDriftDetectionId": detection_id}, {"StackName": name}
        )

    def detection_refused(
        self, code: str, status: int, message: str, *, name: str = STACK, region: str = REGION
    ) -> None:
        self.stub(region).add_client_error(
            "detect_stack_drift",
            service_error_code=code,
            service_message=message,
            http_status_code=status,
            expected_params={"StackName": name},
        )

    def drifts(self) -> None:
        """DescribeStackResourceDrifts after a detection: the DB's backups cut to 1 day."""
        self.stub().add_response(
            "describe_stack_resource_drifts",
            {"StackResourceDrifts": [{"StackId": STACK_ID, **db_drift()}]},
            {"StackName": STACK},
        )

    def started(self, detection_id: str, drift: dict[str, Any] | None = None, **where: Any) -> None:
        """What a started detection asks, in order: the stack, the touched resource
        (`drift`, else the DB), the stack's detection."""
        self._checked(drift, where)
        self.detection(detection_id, **{k: v for k, v in where.items() if k in ("name", "region")})

    def refused(
        self,
        code: str,
        status: int,
        message: str,
        drift: dict[str, Any] | None = None,
        **where: Any,
    ) -> None:
        """What a detection DetectStackDrift refuses asks, in order: the stack, the touched
        resource (`drift`, else the DB), then the stack's detection, answered `code`."""
        self._checked(drift, where)
        named = {k: v for k, v in where.items() if k in ("name", "region")}
        self.detection_refused(code, status, message, **named)

    def _checked(self, drift: dict[str, Any] | None, where: dict[str, Any]) -> None:
        self.stack(**where)
        self.resource_drift(drift, **{k: v for k, v in where.items() if k != "status"})


# --- the status record, the trail, the services --------------------------------------------


def managed(**fields: Any) -> StackStatus:
    """The managed DB stack as a pass left it: deployed, in sync, detected an hour ago."""
    base = StackStatus(
        STACK,
        region=REGION,
        stack_id=STACK_ID,
        outputs_path="/pci-db/dev",
        sync=Sync.SYNCED,
        health=Health.HEALTHY,
        desired_hash="h1",
        attempted_revision="rev1",
        applied_revision="rev1",
        drift_status="IN_SYNC",
        drift_detection_id="d-0",
        drift_started_at=precise(datetime.now(UTC) - timedelta(hours=1)),
    )
    return replace(base, **fields)


def detecting(services: Services, since: timedelta = timedelta(minutes=2)) -> str:
    """The managed stack's record says a detection that started `since` ago still runs;
    returns when it started."""
    started = precise(datetime.now(UTC) - since)
    services.status.put(managed(drift_status="DETECTING", drift_started_at=started))
    return started


def manage_app(services: Services) -> None:
    """A second managed stack in the region beside the DB's: pci-app-dev (APP_ID)."""
    services.status.put(StackStatus("pci-app-dev", region=REGION, stack_id=APP_ID))


def record(services: Services, name: str = STACK) -> StackStatus:
    found = services.status.get(name)
    assert found is not None
    return found


def out_of_band(services: Services) -> list[Any]:
    return [r for r in services.audit.records if r.event is Event.OUT_OF_BAND_CALL]


def record_calls() -> list[tuple[str, str]]:
    """(service, operation) of every call made from now on through
    reconciler.aws.session's clients (the status and idempotency tables, SSM): to be
    called before any of them is made."""
    made: list[tuple[str, str]] = []
    session.on_every_call(
        lambda model, **_: made.append((model.service_model.service_name, model.name))
    )
    return made


def build_services(cloud: Cloud, **fields: Any) -> Services:
    """Services with CloudFormation behind `cloud`, the status table (DynamoDB) holding
    the managed stack's record, and the trail in memory; `fields` set others."""
    built = Services(
        **{
            "cfn": CloudFormation(client_for=cloud.client),
            "outputs_for": SsmOutputs,
            "status": DynamoStatusStore("gitops-reconciler", REGION),
            "change_set_wait_seconds": 0,
            "audit": Kept(),
            "account": HOME,
            **fields,
        }
    )
    built.status.put(managed())
    return built


def behind_the_handler(services: Services, root: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    """`services` behind handlers.change.handler, with an empty desired-state repository
    at `root` and no metrics yet."""
    handler_repo(root, monkeypatch)
    metrics.clear_metrics()
    monkeypatch.setattr(runtime, "services", lambda: services)
    monkeypatch.setattr(change, "services", lambda: services)
    return services
