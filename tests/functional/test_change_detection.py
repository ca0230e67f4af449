"""Out-of-band API calls acted on (reconciler.change_detection): a call CloudTrail
reports on a managed stack's resource starts drift detection there, once for a burst,
in the stack's own account and region; CloudFormation's and the reconciler's own calls
start nothing; a call made after a detection started, or during a stack operation, gets
one more detection when that ends.

CloudFormation is a botocore Stubber per region (answers queued in order and checked
against the service model; a call not queued fails), the status store is DynamoDB on
moto (tests/functional/change_world). The calls are AWS's documented records
(tests/events/cloudtrail), changed in code where a test says so."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.api_calls import parse
from reconciler.aws.cloudformation import CloudFormation
from reconciler.change_detection import (
    DETECTION_TIMEOUT,
    detect_if_changed,
    on_api_call,
)
from reconciler.desired import load_desired_state
from reconciler.errors import AwsError, PermanentAwsError
from reconciler.fingerprint import desired_hash
from reconciler.reconcile import Services
from reconciler.source import GitSource
from reconciler.status import StackStatus, precise
from reconciler.triggers import on_drift_detected, on_stack_status
from tests.functional.change_world import (
    CALLER,
    DB,
    DB_LOGICAL,
    HOME,
    MEMBER,
    MEMBER_ROLE,
    REGION,
    ROOT,
    STACK,
    STACK_ID,
    T0,
    Cloud,
    build_services,
    call,
    detecting,
    manage_app,
    managed,
    modify_db,
    now_seconds,
    out_of_band,
    record,
    record_calls,
    sample,
    touched,
)
from tests.repo import commit, git


@pytest.fixture
def aws_calls(aws) -> list[tuple[str, str]]:
    """(service, operation) of every call through reconciler.aws.session's clients (the
    status table, SSM)."""
    return record_calls()


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


@pytest.fixture
def services(aws_calls, cloud) -> Services:
    built = build_services(cloud)
    aws_calls.clear()
    return built


# --- one detection for a burst ------------------------------------------------------------


def test_a_burst_of_fifty_calls_on_the_db_starts_one_detection(services, cloud):
    """GIVEN 50 ModifyDBInstance calls on the managed DB in the same second, all made
    before any detection started WHEN each is handled THEN exactly one DetectStackDrift
    is made (the Stubber holds one answer; a second would fail), the first says
    "detecting", the other 49 "covered" by it."""
    at = now_seconds()
    cloud.owns()
    cloud.started("d-burst")
    for _ in range(49):
        cloud.owns()
    found = [on_api_call(call(at=at, event_id=f"e-{i}"), services, ()) for i in range(50)]
    assert [f.status for f in found] == ["detecting"] + ["covered"] * 49
    assert found[0].stacks[0]["detection_id"] == "d-burst"
    assert "covered by the detection started at" in found[1].reason
    assert cloud.operations("DetectStackDrift") == 1
    assert cloud.operations("DetectStackResourceDrift") == 1
    cloud.done()
    now = record(services)
    assert (now.drift_status, now.drift_detection_id, now.changed_at) == (
        "DETECTING",
        "d-burst",
        at,
    )


def test_the_touched_resource_is_checked_first_and_said(services, cloud):
    """GIVEN a call on the DB WHEN the detection starts THEN the DB alone is checked at
    once (DetectStackResourceDrift) and its drift is in the answer, then the stack's
    detection starts."""
    cloud.owns()
    cloud.started("d-1")
    found = on_api_call(call(), services, ())
    assert found.status == "detecting"
    assert "detection d-1 started (Database MODIFIED /BackupRetentionPeriod)" in found.reason
    assert [op for _, op in cloud.calls] == [
        "DescribeStackResources",
        "DescribeStacks",
        "DetectStackResourceDrift",
        "DetectStackDrift",
    ]
    cloud.done()


def test_a_resource_type_drift_detection_refuses_is_said_not_checked(services, cloud):
    """GIVEN the touched resource's drift cannot be detected (CloudFormation refuses the
    type) WHEN the detection starts THEN the resource is said not checked and the
    stack's detection starts all the same."""
    cloud.owns()
    cloud.stack()
    cloud.stub().add_client_error(
        "detect_stack_resource_drift",
        service_error_code="ValidationError",
        service_message="Drift detection is not supported for resource type AWS::X::Y",
        http_status_code=400,
    )
    cloud.detection("d-2")
    found = on_api_call(call(), services, ())
    assert found.status == "detecting"
    assert "Database not checked (AWS DetectStackResourceDrift failed: ValidationError" in (
        found.reason
    )
    cloud.done()


# --- left out ---------------------------------------------------------------------------


def test_a_call_by_cloudformation_is_ignored_without_any_aws_call(services, cloud, aws_calls):
    """GIVEN a ModifyDBInstance that CloudFormation made (invokedBy, sourceIPAddress and
    userAgent cloudformation.amazonaws.com, as CloudTrail writes a stack operation's
    calls) WHEN handled THEN it is ignored, and no AWS call at all is made."""
    event = modify_db(now_seconds())
    event["detail"]["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    event["detail"]["sourceIPAddress"] = "cloudformation.amazonaws.com"
    event["detail"]["userAgent"] = "cloudformation.amazonaws.com"
    found = on_api_call(parse(event), services, ("gitops-change",))
    assert (found.status, found.reason) == (
        "ignored",
        "rds:ModifyDBInstance was made by CloudFormation (a stack operation)",
    )
    assert (cloud.calls, aws_calls) == ([], [])
    assert record(services).changed_at == ""


def test_a_call_in_the_reconcilers_own_role_is_ignored_without_any_aws_call(
    services, cloud, aws_calls
):
    """GIVEN a ModifyDBInstance made in a session of a role RECONCILER_ROLES names (the
    CloudTrail user guide's AssumedRole identity, role RoleToBeAssumed) WHEN handled
    THEN it is ignored, and no AWS call at all is made."""
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    found = on_api_call(call(identity=identity), services, ("gitops-push", "RoleToBeAssumed"))
    assert (found.status, found.reason) == (
        "ignored",
        "rds:ModifyDBInstance was made by the reconciler's own role RoleToBeAssumed",
    )
    assert (cloud.calls, aws_calls) == ([], [])


def test_a_call_in_the_reconcilers_role_in_a_member_account_is_ignored_after_the_scan(
    services, cloud, aws_calls
):
    """GIVEN a managed stack in member account 444455556666 and a ModifyDBInstance there
    made in a session of RoleToBeAssumed (RECONCILER_ROLES names it) issued in that
    account WHEN handled THEN it is ignored as the reconciler's own, once the status
    table's Scan shows a managed stack lives in that account: no CloudFormation call."""
    services.status.put(
        StackStatus(
            "pci-db-member",
            region=REGION,
            account=MEMBER,
            role_arn=MEMBER_ROLE,
            stack_id=f"arn:aws:cloudformation:{REGION}:{MEMBER}:stack/pci-db-member/3f0e-4",
        )
    )
    aws_calls.clear()
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    identity["accountId"] = MEMBER
    identity["sessionContext"]["sessionIssuer"]["accountId"] = MEMBER
    found = on_api_call(call(account=MEMBER, identity=identity), services, ("RoleToBeAssumed",))
    assert (found.status, found.reason) == (
        "ignored",
        "rds:ModifyDBInstance was made by the reconciler's own role RoleToBeAssumed",
    )
    assert aws_calls == [("dynamodb", "Scan")]
    assert cloud.calls == []


# --- not a managed stack's ---------------------------------------------------------------


def test_a_resource_no_stack_owns_is_unmanaged(services, cloud):
    """GIVEN DescribeStackResources answers "Stack for sg-0abc does not exist" (the
    made AuthorizeSecurityGroupIngress sample, group sg-0abc, in this account) WHEN
    handled THEN the group alone is looked up (not the response's requestId) and the
    call is unmanaged: nothing noted, nothing on the trail, no detection."""
    event = sample("made-ec2-authorize-security-group-ingress.json")
    event["account"] = HOME
    event["detail"]["requestParameters"]["groupId"] = "sg-0abc"
    cloud.owns_nothing("sg-0abc")
    found = on_api_call(parse(event), services, ())
    assert found.status == "unmanaged"
    assert found.reason == "ec2:AuthorizeSecurityGroupIngress on sg-0abc: no managed stack"
    assert cloud.operations("DescribeStackResources") == 1
    assert record(services).changed_at == "" and services.audit.records == []
    assert cloud.operations("DetectStackDrift") == 0
    cloud.done()


def test_a_resource_of_a_stack_that_is_not_managed_is_unmanaged(services, cloud):
    """GIVEN the DB is owned by a stack this reconciler does not manage WHEN handled
    THEN the call is unmanaged, naming that stack."""
    other = f"arn:aws:cloudformation:{REGION}:{HOME}:stack/hand-made/2f0e9d8c-0000-4000-8000-2"
    cloud.owns(stack="hand-made", stack_id=other)
    found = on_api_call(call(), services, ())
    assert found.status == "unmanaged"
    assert "owned by hand-made (not managed)" in found.reason
    assert record(services).changed_at == ""
    cloud.done()


def test_a_resource_of_another_stack_of_the_managed_name_is_unmanaged(services, cloud):
    """GIVEN the DB is owned by a stack named pci-db-dev but with another stack id (an
    older stack of the name, or one made since) WHEN handled THEN it is unmanaged."""
    older = f"arn:aws:cloudformation:{REGION}:{HOME}:stack/{STACK}/00000000-0000-4000-8000-0"
    cloud.owns(stack_id=older)
    found = on_api_call(call(), services, ())
    assert found.status == "unmanaged"
    assert "is another stack than the managed pci-db-dev" in found.reason
    assert cloud.operations("DetectStackDrift") == 0
    cloud.done()


def test_a_call_where_no_stack_is_managed_makes_no_cloudformation_call(services, cloud):
    """GIVEN a call in eu-north-1, where the reconciler manages no stack WHEN handled
    THEN it is unmanaged before any CloudFormation call."""
    found = on_api_call(call(region="eu-north-1"), services, ())
    assert (found.status, found.reason) == (
        "unmanaged",
        f"rds:ModifyDBInstance: no managed stack in account {HOME} eu-north-1",
    )
    assert cloud.calls == []


def test_a_stack_not_yet_deployed_by_the_reconciler_is_not_detected(services, cloud):
    """GIVEN the managed name's record has no stack id yet (never deployed by this
    reconciler), beside another deployed managed stack in the region (so the DB is
    looked up by its id) WHEN a call on a resource of a stack of that name comes THEN
    it is unmanaged, said not yet deployed: the reconciler cannot tell it is its
    stack."""
    manage_app(services)
    services.status.put(managed(stack_id=""))
    cloud.owns()
    found = on_api_call(call(), services, ())
    assert found.status == "unmanaged"
    assert "owned by pci-db-dev (not yet deployed by the reconciler)" in found.reason
    assert record(services).changed_at == ""
    cloud.done()


def test_where_no_managed_stack_is_deployed_nothing_is_looked_up(services, cloud):
    """GIVEN the region's only managed stack has no stack id yet WHEN a call on the DB
    comes THEN it is unmanaged with no CloudFormation call: no deployed stack there
    can own it."""
    services.status.put(managed(stack_id=""))
    found = on_api_call(call(), services, ())
    assert (found.status, found.reason) == (
        "unmanaged",
        f"rds:ModifyDBInstance on {DB}: no managed stack",
    )
    assert cloud.calls == []


def test_a_lookup_the_role_may_not_make_is_unmanaged_and_said(services, cloud):
    """GIVEN DescribeStackResources refused with AccessDenied (the functions may
    describe the managed stacks only, so another stack's resource is refused, not
    found) WHEN a call on it is handled THEN it is unmanaged, and the answer says the
    region's lookups were refused (a missing grant would show there)."""
    cloud.lookup_refused("other-db")
    found = on_api_call(call(db="other-db"), services, ())
    assert found.status == "unmanaged"
    assert f"lookups refused (not a managed stack?): {REGION}: AWS DescribeStackResources" in (
        found.reason
    )
    assert record(services).changed_at == ""
    cloud.done()


def test_of_resources_sharing_the_dbs_name_the_call_touched_the_instance(services, cloud):
    """GIVEN the DB instance, its subnet group and its parameter group all have the
    physical id pci-mysql-dev WHEN a ModifyDBInstance on it is handled THEN the DB
    instance alone is the touched resource, checked first and on the trail."""
    resources = [
        ("Database", "AWS::RDS::DBInstance"),
        ("DBSubnetGroup", "AWS::RDS::DBSubnetGroup"),
        ("DBParameterGroup", "AWS::RDS::DBParameterGroup"),
    ]
    cloud.stub().add_response(
        "describe_stack_resources",
        {
            "StackResources": [
                {
                    "StackName": STACK,
                    "StackId": STACK_ID,
                    "LogicalResourceId": logical_id,
                    "PhysicalResourceId": DB,
                    "ResourceType": kind,
                    "Timestamp": T0,
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
                for logical_id, kind in resources
            ]
        },
        {"PhysicalResourceId": DB},
    )
    cloud.started("d-1")
    found = on_api_call(call(), services, ())
    assert found.status == "detecting"
    (trail,) = out_of_band(services)
    assert trail.detail["resources"] == [DB_LOGICAL]
    cloud.done()


def test_a_retention_cut_on_a_managed_log_group_starts_a_detection(services, cloud):
    """GIVEN CloudWatch Logs' documented record changed in code into PutRetentionPolicy
    (1 day) on /aws/rds/instance/pci-mysql-dev/error, the DB error log group of the
    managed stack WHEN handled THEN a detection starts."""
    group = "/aws/rds/instance/pci-mysql-dev/error"
    event = sample("logs-create-export-task.json")
    event["detail"].update(
        eventName="PutRetentionPolicy",
        eventTime=now_seconds(),
        requestParameters={"logGroupName": group, "retentionInDays": 1},
        responseElements=None,
    )
    cloud.owns(group, logical_id="DBErrorLogGroup", resource_type="AWS::Logs::LogGroup")
    cloud.started("d-logs", touched("DBErrorLogGroup", "AWS::Logs::LogGroup", group))
    found = on_api_call(parse(event), services, ())
    assert found.status == "detecting"
    assert found.stacks[0]["detection_id"] == "d-logs"
    cloud.done()


def test_a_call_naming_more_resources_than_managed_stacks_lists_each_stack_once(services, cloud):
    """GIVEN EC2's TerminateInstances record changed in code into CreateTags, now, on
    three instances, the last the managed stack's bastion WHEN handled THEN no resource
    is looked up by its id: the one managed stack's resources are listed once (both
    pages of ListStackResources), the bastion is found on the second, and the stack's
    detection starts with the bastion checked first."""
    event = sample("ec2-terminate-instances.json")
    event.update(region=REGION, account=HOME, time=now_seconds())
    event["detail"].update(
        eventName="CreateTags",
        awsRegion=REGION,
        eventTime=event["time"],
        requestParameters={
            "resourcesSet": {
                "items": [
                    {"resourceId": "i-0aaaaaaa"},
                    {"resourceId": "i-0bbbbbbb"},
                    {"resourceId": "i-0bastion"},
                ]
            },
            "tagSet": {"items": [{"key": "owner", "value": "me"}]},
        },
        responseElements={"_return": True},
    )
    assert parse(event).identifiers == ("i-0aaaaaaa", "i-0bbbbbbb", "i-0bastion")
    cloud.lists([(DB_LOGICAL, DB, "AWS::RDS::DBInstance")], next_token="page-2")
    cloud.lists([("Bastion", "i-0bastion", "AWS::EC2::Instance")], token="page-2")
    cloud.started("d-tags", touched("Bastion", "AWS::EC2::Instance", "i-0bastion", "IN_SYNC"))
    found = on_api_call(parse(event), services, ())
    assert (found.status, found.stacks[0]["detection_id"]) == ("detecting", "d-tags")
    assert cloud.operations("DescribeStackResources") == 0
    assert cloud.operations("ListStackResources") == 2
    (trail,) = out_of_band(services)
    assert trail.detail["resources"] == ["Bastion"]
    cloud.done()


# --- in the stack's own account and region -------------------------------------------------


def test_a_call_in_a_member_account_is_detected_there(services, cloud):
    """GIVEN a managed stack in member account 444455556666 (reached through its role)
    beside the home one in the same region WHEN a ModifyDBInstance in that account
    comes THEN the owner lookup and the detection are made with the member account's
    client, none with the home one's, and the trail names the member account."""
    member_id = f"arn:aws:cloudformation:{REGION}:{MEMBER}:stack/pci-db-member/3f0e-4"
    services.status.put(
        StackStatus(
            "pci-db-member",
            region=REGION,
            account=MEMBER,
            role_arn=MEMBER_ROLE,
            stack_id=member_id,
            applied_revision="rev1",
        )
    )
    member_cloud = Cloud()
    reached: list[tuple[str, str]] = []

    def reach(role: str, revision: str) -> Services:
        reached.append((role, revision))
        return replace(
            services, cfn=CloudFormation(client_for=member_cloud.client), home=services, reach=None
        )

    services.reach = reach
    member_cloud.owns(stack="pci-db-member", stack_id=member_id)
    member_cloud.started("d-member", name="pci-db-member", stack_id=member_id)
    found = on_api_call(call(account=MEMBER), services, ())
    assert (found.status, found.stacks[0]["stack_name"]) == ("detecting", "pci-db-member")
    assert cloud.calls == []
    assert member_cloud.operations("DetectStackDrift") == 1
    assert {role for role, _ in reached} == {MEMBER_ROLE}
    (trail,) = out_of_band(services)
    assert (trail.stack, trail.account) == ("pci-db-member", MEMBER)
    member_cloud.done()


def test_a_call_in_another_region_is_detected_in_that_region(services, cloud):
    """GIVEN a managed stack of the home account in eu-west-1 WHEN a call comes from
    eu-west-1 THEN every CloudFormation call is made to eu-west-1."""
    west_id = f"arn:aws:cloudformation:eu-west-1:{HOME}:stack/pci-db-west/4f0e-5"
    services.status.put(
        StackStatus("pci-db-west", region="eu-west-1", stack_id=west_id, applied_revision="r")
    )
    cloud.owns(stack="pci-db-west", stack_id=west_id, region="eu-west-1")
    cloud.started("d-west", name="pci-db-west", stack_id=west_id, region="eu-west-1")
    found = on_api_call(call(region="eu-west-1"), services, ())
    assert found.status == "detecting"
    assert {region for region, _ in cloud.calls} == {"eu-west-1"}
    cloud.done()


# --- a call no running detection covers ------------------------------------------------------


def test_a_call_after_the_running_detection_started_is_noted_not_covered(services, cloud):
    """GIVEN a detection that started two minutes ago is still running WHEN a call on
    the DB comes now THEN it is not "covered" (that detection may not see it): it is
    noted on the stack (changed_at), and no second detection runs alongside."""
    detecting(services)
    at = now_seconds()
    cloud.owns()
    cloud.stack()
    found = on_api_call(call(at=at), services, ())
    assert found.status == "noted"
    assert record(services).changed_at == at
    assert cloud.operations("DetectStackDrift") == 0
    cloud.done()


def test_a_noted_call_is_not_said_to_be_covered(services, cloud):
    """GIVEN a detection running since two minutes ago WHEN a later call is noted THEN
    its message does not call it covered."""
    detecting(services)
    cloud.owns()
    cloud.stack()
    found = on_api_call(call(), services, ())
    assert found.status == "noted"
    assert "covered" not in found.reason


def test_nothing_more_starts_while_the_detection_still_runs(services, cloud):
    """GIVEN a call noted during a running detection WHEN detect_if_changed is asked
    before that detection completed THEN it starts nothing and calls nothing."""
    detecting(services)
    services.status.note_change(STACK, now_seconds())
    assert detect_if_changed(STACK, services) == ""
    assert cloud.calls == []


def test_a_late_call_is_covered_by_a_finished_detection_started_after_it(services, cloud):
    """GIVEN a detection that started a minute ago and has completed (IN_SYNC) WHEN a
    call made two minutes ago arrives only now THEN it is covered by that detection:
    noted, and no stack read and no second detection."""
    started = precise(datetime.now(UTC) - timedelta(minutes=1))
    services.status.put(managed(drift_status="IN_SYNC", drift_started_at=started))
    at = now_seconds(timedelta(minutes=-2))
    cloud.owns()
    found = on_api_call(call(at=at), services, ())
    assert found.status == "covered"
    assert f"covered by the detection started at {started}" in found.reason
    assert record(services).changed_at == at
    assert [op for _, op in cloud.calls] == ["DescribeStackResources"]
    cloud.done()


def test_a_stale_detection_does_not_hold_off_a_new_one(services, cloud):
    """GIVEN a DETECTING record whose detection started longer ago than
    DETECTION_TIMEOUT (its completion event never came) WHEN a call comes THEN a new
    detection starts."""
    detecting(services, since=DETECTION_TIMEOUT + timedelta(minutes=1))
    cloud.owns()
    cloud.started("d-new")
    found = on_api_call(call(), services, ())
    assert found.status == "detecting"
    assert record(services).drift_detection_id == "d-new"
    cloud.done()


def test_a_call_during_a_stack_operation_is_detected_when_it_ends(services, cloud):
    """GIVEN the stack is UPDATE_IN_PROGRESS WHEN a call on the DB comes THEN it is
    noted (no detection can start then); WHEN the operation's UPDATE_COMPLETE is
    handled (on_stack_status) THEN the detection starts."""
    at = now_seconds()
    cloud.owns()
    cloud.stack("UPDATE_IN_PROGRESS")
    found = on_api_call(call(at=at), services, ())
    assert found.status == "noted"
    assert "is UPDATE_IN_PROGRESS: detection once its operation ends" in found.reason
    assert (record(services).changed_at, record(services).drift_status) == (at, "IN_SYNC")

    cloud.stack("UPDATE_COMPLETE")  # finish() reads the stack
    cloud.stack("UPDATE_COMPLETE")  # the detection's start reads it again
    cloud.detection("d-after")
    ended = on_stack_status(
        STACK, REGION, "UPDATE_COMPLETE", None, services, "t", stack_id=STACK_ID
    )
    assert ended.status == "recorded"
    assert "changed out of band meanwhile: detection d-after started" in ended.reason
    assert record(services).drift_detection_id == "d-after"
    cloud.done()


# --- failures of DetectStackDrift ------------------------------------------------------------


def test_throttling_gives_the_claim_back_and_is_raised_for_a_retry(services, cloud):
    """GIVEN DetectStackDrift answers Throttling (transient) WHEN a call on the DB is
    handled THEN the error is raised as transient (Lambda retries the event), the
    claim is given back (the stack's drift status is as before) and the call is on the
    trail; the retry starts the detection, and the trail still holds the call once."""
    before = record(services)
    throttled = call(event_id="e-t")  # the retry is the same event, to the second
    cloud.owns()
    cloud.refused("Throttling", 400, "Rate exceeded")
    with pytest.raises(AwsError) as raised:
        on_api_call(throttled, services, ())
    assert not isinstance(raised.value, PermanentAwsError)
    after = record(services)
    assert (after.drift_status, after.drift_started_at, after.drift_detection_id) == (
        before.drift_status,
        before.drift_started_at,
        before.drift_detection_id,
    )
    assert [r.detail["event_id"] for r in out_of_band(services)] == ["e-t"]

    cloud.owns()
    cloud.started("d-retry")
    assert on_api_call(throttled, services, ()).status == "detecting"
    assert [r.detail["event_id"] for r in out_of_band(services)] == ["e-t"]
    cloud.done()


def test_access_denied_is_permanent_and_gives_the_claim_back(services, cloud):
    """GIVEN DetectStackDrift answers AccessDenied (the role may not detect drift)
    WHEN a call is handled THEN the call is on the trail, then a PermanentAwsError
    says so (the handler records it as failed, once;
    tests/functional/test_change_handler.py), and the claim is given back."""
    before = record(services)
    cloud.owns()
    cloud.refused("AccessDenied", 403, "not authorized to perform DetectStackDrift")
    with pytest.raises(PermanentAwsError, match="AccessDenied"):
        on_api_call(call(), services, ())
    assert record(services).drift_status == before.drift_status
    assert [r.stack for r in out_of_band(services)] == [STACK]
    cloud.done()


# --- the trail ---------------------------------------------------------------------------------


def test_the_trail_names_the_caller_and_the_resources(services, cloud):
    """GIVEN a ModifyDBInstance by IAM user johndoe on the DB WHEN handled THEN the
    audit trail has one "out-of-band call" record for the stack naming the caller, the
    logical id, the event and where it came from."""
    at = now_seconds()
    cloud.owns()
    cloud.started("d-1")
    on_api_call(call(at=at, event_id="e-trail"), services, ())
    (trail,) = out_of_band(services)
    assert (trail.stack, trail.region, trail.account, trail.commit) == (
        STACK,
        REGION,
        HOME,
        "rev1",
    )
    assert trail.message == f"rds:ModifyDBInstance by {CALLER} on {DB_LOGICAL}"
    assert trail.detail == {
        "caller": CALLER,
        "caller_type": "IAMUser",
        "event_time": at,
        "event_id": "e-trail",
        "source_ip": "192.0.2.0",
        "resources": [DB_LOGICAL],
    }
    cloud.done()


# --- reported, not repaired ----------------------------------------------------------------------


def pci_repo(root: Path, stack_file_extra: str = "", drift: str = "repair") -> Path:
    """A desired-state repository holding this repository's PCI template and its dev
    stack file, with `drift:` set and `stack_file_extra` added."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "--initial-branch=main")
    (root / "templates").mkdir()
    shutil.copy(ROOT / "templates" / "pci-database.yml", root / "templates")
    stack_file = (ROOT / "desired-state" / "pci-db-dev.yml").read_text()
    stack_file = stack_file.replace("drift: repair", f"drift: {drift}") + stack_file_extra
    commit(root, {"desired-state/pci-db-dev.yml": stack_file}, message="pci")
    return root


def live_hash(root: Path) -> str:
    """The hash the deployed stack's tag carries when it is at the branch head."""
    state = load_desired_state(root)
    spec = state.stack(STACK)
    return desired_hash(spec, state.templates[spec.template_file_path].body)


def detected_by_the_call(services: Services, cloud: Cloud) -> None:
    """A call on the DB has started a detection (the one whose completion comes next)."""
    cloud.owns()
    cloud.started("d-call")
    assert on_api_call(call(at=now_seconds(timedelta(seconds=-1))), services, ()).status == (
        "detecting"
    )


def test_a_drift_detect_stack_is_reported_not_repaired(services, cloud, tmp_path):
    """GIVEN a stack file with `drift: detect` and a detection a call started WHEN that
    detection completes with the DB's backups cut (on_drift_detected) THEN the drift is
    recorded and reported, and no REVERT_DRIFT change set is created."""
    root = pci_repo(tmp_path / "desired", drift="detect")
    detected_by_the_call(services, cloud)
    cloud.stack(desired=live_hash(root))
    cloud.drifts()
    done = on_drift_detected(STACK, REGION, GitSource(str(root)), services, "t", stack_id=STACK_ID)
    assert (done.status, done.stacks[0]["action"]) == ("recorded", "notify")
    assert "drift: drifted: Database /BackupRetentionPeriod" in done.reason
    assert cloud.operations("CreateChangeSet") == cloud.operations("ExecuteChangeSet") == 0
    assert record(services).drift_status == "DRIFTED"
    assert services.audit.events(STACK) == ["out-of-band call", "drift detected"]
    cloud.done()


def test_a_suspended_stack_is_reported_not_repaired(services, cloud, tmp_path):
    """GIVEN a `drift: repair` stack suspended by a person (reconciler suspend) and a
    detection a call started WHEN that detection completes with drift THEN the repair
    is refused for the suspension, on the trail, and no change set is created."""
    root = pci_repo(tmp_path / "desired")
    services.status.suspend(STACK, "alice", "incident 42")
    detected_by_the_call(services, cloud)
    cloud.stack(desired=live_hash(root))
    cloud.drifts()
    done = on_drift_detected(STACK, REGION, GitSource(str(root)), services, "t", stack_id=STACK_ID)
    assert done.stacks[0]["action"] == "repair"
    assert "drift not repaired: suspended by alice" in done.reason
    assert cloud.operations("CreateChangeSet") == cloud.operations("ExecuteChangeSet") == 0
    assert services.audit.events(STACK)[-1] == "drift not repaired"
    cloud.done()


def test_a_call_noted_during_a_detection_gets_one_more_when_it_completes(services, cloud, tmp_path):
    """GIVEN a detection started two minutes ago and a call on the DB since (noted)
    WHEN that detection completes (on_drift_detected, a `drift: detect` stack) THEN one
    more detection starts, for the noted call."""
    root = pci_repo(tmp_path / "desired", drift="detect")
    detecting(services)
    cloud.owns()
    cloud.stack()
    assert on_api_call(call(), services, ()).status == "noted"

    cloud.stack(desired=live_hash(root))
    cloud.drifts()
    cloud.stack()
    cloud.detection("d-again")
    done = on_drift_detected(STACK, REGION, GitSource(str(root)), services, "t", stack_id=STACK_ID)
    assert "changed out of band since: detection d-again started" in done.reason
    now = record(services)
    assert (now.drift_status, now.drift_detection_id) == ("DETECTING", "d-again")
    assert datetime.fromisoformat(now.drift_started_at) > datetime.fromisoformat(now.changed_at)
    assert cloud.operations("DetectStackDrift") == 1
    cloud.done()
