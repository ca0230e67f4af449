"""Review of issue 21 (drift found from "AWS API Call via CloudTrail"), tried as a new user
would: with records other people published (tests/events/cloudtrail/review/SOURCES.md),
hostile events, faults and races. What works is proven by an ordinary test; what does not
is an xfail(strict) test naming the bug.

CloudFormation is a botocore Stubber per region and the status table DynamoDB on moto, as
in tests/functional/test_change_detection.py; both use tests/functional/change_world."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from handlers import change
from handlers.routes import VERSIONED_NAMES, Watched, change_rules
from localaws.lambda_context import LambdaContext
from reconciler.api_calls import MAX_IDENTIFIERS, excluded, parse
from reconciler.change_detection import detect_if_changed, on_api_call
from reconciler.change_rules import type_calls
from reconciler.errors import AwsError
from reconciler.reconcile import Services
from reconciler.status import StackStatus
from reconciler.triggers import on_stack_status
from tests.functional.change_world import (
    APP_ID,
    HOME,
    REGION,
    SAMPLES,
    STACK,
    STACK_ID,
    Cloud,
    behind_the_handler,
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
from tests.functional.emf import emf_metrics

REVIEW = SAMPLES / "review"
SG = "sg-01f414f5313452cd1"  # the kuali sample's group
REFERENCED_SG = "sg-0e4d6b8a99395a608"  # "an rds instance created in another stack"


def review(name: str) -> dict[str, Any]:
    return json.loads((REVIEW / name).read_text())


@pytest.fixture
def aws_calls(aws) -> list[tuple[str, str]]:
    return record_calls()


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


@pytest.fixture
def services(aws_calls, cloud) -> Services:
    built = build_services(cloud)
    aws_calls.clear()
    return built


@pytest.fixture
def handled(services, tmp_path, monkeypatch) -> Services:
    """`services` behind handlers.change.handler, as test_change_handler builds them."""
    return behind_the_handler(services, tmp_path / "desired", monkeypatch)


def one_line(answer: dict[str, Any]) -> None:
    assert "\n" not in answer["reason"] and "Traceback" not in answer["reason"]


# --- real artefacts -----------------------------------------------------------------------


def test_cloudformations_own_call_from_a_console_session_is_ignored(handled, cloud, aws_calls):
    """GIVEN a real AuthorizeSecurityGroupIngress that CloudFormation made with a person's
    console session (kuali-cloudformation's recorded event: invokedBy
    cloudformation.amazonaws.com, sourceIPAddress "AWS Internal",
    sessionCredentialFromConsole) WHEN handled THEN it is ignored as a stack operation's,
    with no CloudFormation call and nothing on the trail."""
    answer = change.handler(
        review("ec2-authorize-security-group-ingress-by-cloudformation.json"), LambdaContext()
    )
    assert (answer["status"], answer["reason"]) == (
        "ignored",
        "ec2:AuthorizeSecurityGroupIngress was made by CloudFormation (a stack operation)",
    )
    assert cloud.calls == [] and handled.audit.records == []


def test_the_same_call_by_the_person_detects_the_group_it_changed(handled, cloud):
    """GIVEN the kuali event without invokedBy (the person made the call in the
    console), in the home account, on a group of the managed stack WHEN handled THEN the
    group is found among the managed stack's resources (the call names two ids, the
    group and its new rule, more than the one managed stack: that stack's resources are
    listed once, nothing is looked up by id), the stack's detection starts and the trail
    names the console user's session."""
    event = review("ec2-authorize-security-group-ingress-by-cloudformation.json")
    del event["detail"]["userIdentity"]["invokedBy"]
    event.update(account=HOME, time=now_seconds())
    event["detail"]["eventTime"] = event["time"]
    # The group and the rule; not an account id, the request id or the referenced group.
    assert parse(event).identifiers == (SG, "sgr-052f232f61106d4c4")
    cloud.lists(
        [
            ("Database", "pci-mysql-dev", "AWS::RDS::DBInstance"),
            ("AppSecurityGroup", SG, "AWS::EC2::SecurityGroup"),
        ]
    )
    cloud.started("d-sg", touched("AppSecurityGroup", "AWS::EC2::SecurityGroup"))
    answer = change.handler(event, LambdaContext())
    assert answer["status"] == "detecting"
    assert cloud.operations("DescribeStackResources") == 0
    (trail,) = out_of_band(handled)
    assert trail.detail["caller"] == (
        "arn:aws:sts::770203350335:assumed-role/Shibboleth-InfraMgt/wrh@bu.edu"
    )
    cloud.done()


def test_a_group_a_rule_only_references_is_not_said_changed(services, cloud):
    """GIVEN the kuali event by the person, its target group in one managed stack and
    the group its rule references in another managed stack WHEN handled THEN the
    referenced group is not among the ids looked up (each by its id: two ids, two
    managed stacks), and only the target group's stack is detected and has an
    out-of-band call on its trail."""
    other_id = f"arn:aws:cloudformation:{REGION}:{HOME}:stack/pci-db-other/5f0e-6"
    services.status.put(StackStatus("pci-db-other", region=REGION, stack_id=other_id))
    event = review("ec2-authorize-security-group-ingress-by-cloudformation.json")
    del event["detail"]["userIdentity"]["invokedBy"]
    event.update(account=HOME)
    event["detail"]["eventTime"] = now_seconds()
    assert REFERENCED_SG not in parse(event).identifiers
    cloud.owns(SG, logical_id="AppSecurityGroup", resource_type="AWS::EC2::SecurityGroup")
    cloud.owns_nothing("sgr-052f232f61106d4c4")
    cloud.started("d-sg", touched("AppSecurityGroup", "AWS::EC2::SecurityGroup"))
    found = on_api_call(parse(event), services, ())
    assert [(s["stack_name"], s["outcome"]) for s in found.stacks] == [(STACK, "detecting")]
    assert [r.stack for r in out_of_band(services)] == [STACK]
    cloud.done()


def test_a_console_sign_in_is_rejected_as_not_an_api_call(handled, cloud, aws_calls):
    """GIVEN the IAM user guide's ConsoleLogin record as EventBridge delivers sign-ins
    ("AWS Console Sign In via CloudTrail") WHEN it reaches the change handler THEN it is
    rejected in one line naming the detail-type, with no AWS call."""
    answer = change.handler(review("signin-console-login-success.json"), LambdaContext())
    assert answer["status"] == "rejected"
    assert "detail-type: Input should be 'AWS API Call via CloudTrail'" in answer["reason"]
    one_line(answer)
    assert (cloud.calls, aws_calls) == ([], [])


def test_a_cross_account_call_is_looked_at_in_the_recipient_account(handled, cloud):
    """GIVEN the IAM user guide's cross-account AssumeRole (JohnDoe of 777788889999
    assumes a role of 111122223333; recipientAccountId 111122223333) WHEN handled THEN
    the call is the recipient account's, where no stack is managed: unmanaged, with no
    CloudFormation call."""
    event = review("sts-assume-role-cross-account.json")
    found = parse(event)
    assert (found.account, found.caller) == (
        "111122223333",
        "arn:aws:iam::777788889999:user/JohnDoe",
    )
    answer = change.handler(event, LambdaContext())
    assert (answer["status"], answer["reason"]) == (
        "unmanaged",
        "sts:AssumeRole: no managed stack in account 111122223333 us-east-2",
    )
    assert cloud.calls == []


def test_an_iam_console_call_is_not_taken_for_cloudformations():
    """GIVEN the IAM user guide's console call (invokedBy, sourceIPAddress and
    userAgent signin.amazonaws.com) WHEN judged THEN nothing leaves it out: a person's
    console call is looked at."""
    found = parse(review("iam-get-user-policy-console.json"))
    assert found.identifiers == ("JaneDoe", "ReadOnlyAccess-JaneDoe-201407151307")
    assert excluded(found, ("gitops-push",)) == ""


def test_an_iam_call_on_a_role_of_a_stack_in_another_region_is_detected(services, cloud):
    """GIVEN the IAM user guide's record changed in code into PutRolePolicy on the flow
    log role of a managed stack in eu-central-1 (IAM's calls arrive in us-east-1) WHEN
    handled THEN the managed stacks of both regions are searched (role and policy name:
    more ids than the one stack in each, so each stack's resources are listed) and a
    detection starts on that stack, in eu-central-1."""
    staging_id = f"arn:aws:cloudformation:eu-central-1:{HOME}:stack/pci-db-staging/6f0e-7"
    services.status.put(StackStatus("pci-db-staging", region="eu-central-1", stack_id=staging_id))
    role = "pci-db-staging-FlowLogRole-1ABCDEF"
    event = review("iam-get-user-policy-console.json")
    event.update(account=HOME, region="us-east-1")
    event["detail"].update(
        eventName="PutRolePolicy",
        awsRegion="us-east-1",
        eventTime=now_seconds(),
        requestParameters={"roleName": role, "policyName": "admin", "policyDocument": "{}"},
    )
    assert parse(event).identifiers == (role, "admin")
    cloud.lists([("Database", "pci-mysql-dev", "AWS::RDS::DBInstance")])  # us-east-1
    cloud.lists(
        [("FlowLogRole", role, "AWS::IAM::Role")], stack_id=staging_id, region="eu-central-1"
    )
    cloud.started(
        "d-iam",
        touched("FlowLogRole", "AWS::IAM::Role"),
        name="pci-db-staging",
        stack_id=staging_id,
        region="eu-central-1",
    )
    found = on_api_call(parse(event), services, ())
    assert (found.status, [s["stack_name"] for s in found.stacks]) == (
        "detecting",
        ["pci-db-staging"],
    )
    assert ("eu-central-1", "DetectStackDrift") in cloud.calls
    cloud.done()


# --- Lambda's and CloudFront's versioned event names --------------------------------------


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for the parts the change rules use (the user guide's
    "Content filtering in Amazon EventBridge event patterns"): a list of values matches
    one of them exactly; {"prefix": p} matches a string starting with p; a nested object
    matches the event's field of that name."""

    def value(want: list[Any], got: Any) -> bool:
        return any(
            (isinstance(w, dict) and isinstance(got, str) and got.startswith(w["prefix"]))
            or w == got
            for w in want
        )

    return all(
        matches(want, event.get(key) or {})
        if isinstance(want, dict)
        else value(want, event.get(key))
        for key, want in pattern.items()
    )


TYPES = {"lambda": "AWS::Lambda::Function", "cloudfront": "AWS::CloudFront::Distribution"}


def routed(service: str, event: dict[str, Any]) -> bool:
    names = tuple(a.partition(":")[2] for a in type_calls(REGION, TYPES[service]))
    watched = Watched(service, f"{service}.amazonaws.com", names)
    return any(matches(rule.event_pattern or {}, event) for rule in change_rules((watched,)))


def lambda_call(event_name: str, function_name: str) -> dict[str, Any]:
    """The Lambda guide's DeleteFunction record, in the home account, with this
    eventName and functionName (changed in code)."""
    event = review("lambda-delete-function.json")
    event.update(account=HOME, time=now_seconds())
    event["detail"].update(
        eventName=event_name,
        eventTime=event["time"],
        recipientAccountId=HOME,
        requestParameters={"functionName": function_name},
    )
    return event


@pytest.mark.parametrize(
    "name",
    [
        "UpdateFunctionConfiguration20150331v2",
        "UpdateFunctionCode20150331v2",
        "DeleteFunction20150331",
        "TagResource20170331v2",
        "PutFunctionConcurrency20171031",
    ],
)
def test_lambdas_versioned_event_names_are_routed_and_read(handled, cloud, name):
    """GIVEN a Lambda call with the versioned eventName CloudTrail writes WHEN matched
    against the change rules as EventBridge matches a prefix, and handled THEN a rule
    routes it and the handler acts on it: the managed function's stack is detected."""
    assert "lambda" in VERSIONED_NAMES
    event = lambda_call(name, "pci-rotation")
    assert routed("lambda", event)
    cloud.owns("pci-rotation", logical_id="RotationFunction", resource_type="AWS::Lambda::Function")
    cloud.started("d-fn", touched("RotationFunction", "AWS::Lambda::Function"))
    assert change.handler(event, LambdaContext())["status"] == "detecting"
    cloud.done()


def test_a_lambda_read_with_a_versioned_name_is_not_routed():
    """GIVEN GetFunction20150331v2 (a read) WHEN matched THEN no change rule routes it."""
    assert not routed("lambda", lambda_call("GetFunction20150331v2", "pci-rotation"))


def test_a_function_named_by_its_arn_is_found_by_its_name():
    """GIVEN DeleteFunction naming the managed function by its full ARN (a documented
    name format) WHEN parsed THEN its ARN and its name are the ids looked up."""
    arn = f"arn:aws:lambda:{REGION}:{HOME}:function:pci-rotation"
    assert parse(lambda_call("DeleteFunction20150331", arn)).identifiers == (arn, "pci-rotation")


def test_a_function_named_by_its_partial_arn_is_found_by_its_name():
    """GIVEN DeleteFunction naming the managed function by its partial ARN WHEN parsed
    THEN the partial ARN and the function's name are the identifiers looked up."""
    partial = f"{HOME}:function:pci-rotation"
    event = lambda_call("DeleteFunction20150331", partial)
    assert parse(event).identifiers == (partial, "pci-rotation")


def cloudfront_call() -> dict[str, Any]:
    """The CloudFront guide's CreateInvalidation2014_01_31 record, with the eventSource
    AWS's example leaves out put in (in code)."""
    event = review("cloudfront-create-invalidation.json")
    event["detail"]["eventSource"] = "cloudfront.amazonaws.com"
    return event


def test_cloudfronts_update_event_name_is_routed_by_its_prefix():
    """GIVEN UpdateDistribution2014_01_31, the eventName the CloudFront guide gives for a
    distribution update WHEN matched against the change rules THEN a rule routes it."""
    assert "cloudfront" in VERSIONED_NAMES
    event = cloudfront_call()
    event["detail"]["eventName"] = "UpdateDistribution2014_01_31"
    assert routed("cloudfront", event)


def test_a_cloudfront_call_is_not_rejected(handled, cloud):
    """GIVEN the CloudFront guide's CreateInvalidation2014_01_31 record WHEN handled
    THEN it is not rejected (it is in another account: unmanaged)."""
    answer = change.handler(cloudfront_call(), LambdaContext())
    assert answer["status"] == "unmanaged", answer["reason"]


# --- who made the call --------------------------------------------------------------------


def test_a_user_agent_the_caller_chose_does_not_pass_for_cloudformation(services, cloud):
    """GIVEN a ModifyDBInstance by IAM user johndoe from 192.0.2.0 (no invokedBy) whose
    userAgent reads cloudformation.amazonaws.com WHEN handled THEN it is looked at: a
    detection starts."""
    event = modify_db(now_seconds())
    event["detail"]["userAgent"] = "cloudformation.amazonaws.com"
    cloud.owns()
    cloud.started("d-ua")
    assert on_api_call(parse(event), services, ("gitops-push",)).status == "detecting"
    cloud.done()


def test_a_role_named_like_the_reconcilers_in_a_stranger_account_is_looked_at(services, cloud):
    """GIVEN the KMS guide's DisableKey on the managed key, in the home account, made in
    a session of role RoleToBeAssumed issued in 999988887777 (no account of this
    reconciler) WHEN handled with RECONCILER_ROLES naming RoleToBeAssumed THEN it is
    looked at: a detection starts."""
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    identity["sessionContext"]["sessionIssuer"]["accountId"] = "999988887777"
    identity["accountId"] = "999988887777"
    event = sample("kms-disable-key.json")
    event.update(account=HOME)
    event["detail"].update(userIdentity=identity, eventTime=now_seconds())
    cloud.owns(key, logical_id="EncryptionKey", resource_type="AWS::KMS::Key")
    cloud.started("d-key", touched("EncryptionKey", "AWS::KMS::Key"))
    assert on_api_call(parse(event), services, ("RoleToBeAssumed",)).status == "detecting"
    cloud.done()


def test_a_repairs_calls_by_the_execution_role_never_start_a_detection(services, cloud, aws_calls):
    """GIVEN the calls a repair makes: CloudFormation acting in the managed stacks'
    service role (RECONCILER_ROLES names it), as CloudTrail writes them (invokedBy,
    sourceIPAddress and userAgent cloudformation.amazonaws.com), on the DB, its log group
    and its key WHEN each is handled THEN each is ignored with no AWS call at all."""
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    identity["sessionContext"]["sessionIssuer"]["userName"] = "gitops-cfn-exec"
    identity["arn"] = f"arn:aws:sts::{HOME}:assumed-role/gitops-cfn-exec/AWSCloudFormation"
    identity["invokedBy"] = "cloudformation.amazonaws.com"
    events = [modify_db(now_seconds(), identity=identity), sample("kms-disable-key.json")]
    events[1]["detail"]["userIdentity"] = identity
    for event in events:
        event["detail"].update(
            sourceIPAddress="cloudformation.amazonaws.com",
            userAgent="cloudformation.amazonaws.com",
        )
        found = on_api_call(parse(event), services, ("gitops-push", "gitops-cfn-exec"))
        assert found.status == "ignored"
    assert (cloud.calls, aws_calls, services.audit.records) == ([], [], [])


# --- hostile events -----------------------------------------------------------------------


def test_a_ten_megabyte_request_is_answered_at_once_with_one_lookup(handled, cloud):
    """GIVEN a ModifyDBInstance whose requestParameters hold 100,000 members of 100
    characters (10 MB; EventBridge's limit is 256 KB) besides the DB's identifier WHEN
    handled THEN it is answered in well under a second of parsing, with one lookup."""
    event = modify_db(now_seconds(), db="someone-elses-db")
    params = event["detail"]["requestParameters"]
    params.update({f"description{i}": "x" * 100 for i in range(100_000)})
    assert len(json.dumps(event)) > 10_000_000
    cloud.owns_nothing("someone-elses-db")
    started = time.perf_counter()
    answer = change.handler(event, LambdaContext())
    assert time.perf_counter() - started < 5
    assert answer["status"] == "unmanaged"
    assert cloud.operations("DescribeStackResources") == 1
    cloud.done()


HOSTILE = {
    "unicode look-alikes": {
        "dBInstanceIdentifier": "\uff50\uff43\uff49-mysql-dev\u200b",
        "x": "🦀" * 50,
    },
    "an ARN of another partition": {
        "dBInstanceIdentifier": "arn:aws-cn:rds:cn-north-1:999999999999:db:foreign-db"
    },
    "an ARN of another account": {
        "dBInstanceIdentifier": "arn:aws:rds:us-east-1:999999999999:db:foreign-db"
    },
    "control characters": {"dBInstanceIdentifier": "db\x00\x1b[31m"},
    "a list of lists": {"dBInstanceIdentifiers": [[["a"]], {"b": "c"}]},
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_request_parameters_get_a_clear_one_line_answer(handled, cloud, kind):
    """GIVEN a ModifyDBInstance with hostile requestParameters WHEN handled THEN the
    answer is ignored or unmanaged, in one line, and only plausible ids are looked up
    (each by its id, or, an ARN giving two ids for the one managed stack, by listing
    that stack's resources, which hold none of them)."""
    event = modify_db(now_seconds())
    event["detail"]["requestParameters"] = HOSTILE[kind]
    ids = parse(event).identifiers
    for physical_id in ids:
        assert physical_id.isascii() and physical_id.isprintable()
    if len(ids) <= 1:
        for physical_id in ids:
            cloud.owns_nothing(physical_id)
    else:
        cloud.lists([("Database", "pci-mysql-dev", "AWS::RDS::DBInstance")])
    answer = change.handler(event, LambdaContext())
    assert answer["status"] in ("ignored", "unmanaged")
    one_line(answer)
    cloud.done()


def two_instances() -> dict[str, Any]:
    """The EC2 guide's TerminateInstances by the account's root user, changed in code:
    now, in the home region, on two instances."""
    event = sample("ec2-terminate-instances.json")
    event.update(region=REGION, time=now_seconds())
    event["detail"].update(awsRegion=REGION, eventTime=event["time"])
    items = event["detail"]["requestParameters"]["instancesSet"]["items"]
    items.append({"instanceId": "i-5e6f7a8b"})
    return event


def owns_both(cloud: Cloud) -> None:
    """The owners of two_instances' instances, in order: the DB stack's Bastion, then
    AppHost of the second managed stack (manage_app)."""
    cloud.owns("i-1a2b3c4d", logical_id="Bastion", resource_type="AWS::EC2::Instance")
    cloud.owns(
        "i-5e6f7a8b",
        stack="pci-app-dev",
        stack_id=APP_ID,
        logical_id="AppHost",
        resource_type="AWS::EC2::Instance",
    )


def test_a_call_on_resources_of_two_managed_stacks_detects_both(services, cloud):
    """GIVEN TerminateInstances on an instance of the managed DB stack and one of a
    second managed stack WHEN handled THEN both stacks are noted, both on the trail, and
    each gets its own detection."""
    manage_app(services)
    event = two_instances()
    owns_both(cloud)
    assert parse(event).identifiers == ("i-1a2b3c4d", "i-5e6f7a8b")  # not the states' names
    cloud.started("d-db", touched("Bastion", "AWS::EC2::Instance"))
    cloud.started(
        "d-app", touched("AppHost", "AWS::EC2::Instance"), name="pci-app-dev", stack_id=APP_ID
    )
    found = on_api_call(parse(event), services, ())
    assert [(s["stack_name"], s["outcome"]) for s in found.stacks] == [
        (STACK, "detecting"),
        ("pci-app-dev", "detecting"),
    ]
    assert [r.stack for r in out_of_band(services)] == [STACK, "pci-app-dev"]
    assert record(services, "pci-app-dev").changed_at == event["time"]
    cloud.done()


def create_tags(resource_ids: list[str]) -> dict[str, Any]:
    """TerminateInstances' record changed in code into CreateTags on these resources."""
    event = two_instances()
    event["detail"]["eventName"] = "CreateTags"
    event["detail"]["responseElements"] = {"_return": True}
    event["detail"]["requestParameters"] = {
        "resourcesSet": {"items": [{"resourceId": r} for r in resource_ids]},
        "tagSet": {"items": [{"key": "compliance", "value": "none"}]},
    }
    return event


def test_a_managed_resource_named_after_a_dozen_others_is_detected(services, cloud):
    """GIVEN TerminateInstances' record changed in code into CreateTags on 12 unmanaged
    instances and then the managed security group WHEN handled THEN the managed stack's
    resources are listed once (13 ids, one managed stack), the group is found among
    them and a detection starts."""
    event = create_tags([f"i-{n:08x}" for n in range(12)] + ["sg-0managed"])
    assert parse(event).identifiers[-1] == "sg-0managed"
    cloud.lists(
        [
            ("Database", "pci-mysql-dev", "AWS::RDS::DBInstance"),
            ("AppSecurityGroup", "sg-0managed", "AWS::EC2::SecurityGroup"),
        ]
    )
    cloud.started("d-tags", touched("AppSecurityGroup", "AWS::EC2::SecurityGroup"))
    assert on_api_call(parse(event), services, ()).status == "detecting"
    assert cloud.operations("ListStackResources") == 1
    cloud.done()


def test_a_refused_lookup_beside_a_managed_resource_does_not_hide_it(services, cloud):
    """GIVEN two managed stacks in the region and CreateTags on a group of one of them and
    on a group of a hand-made stack (its lookup refused with AccessDenied: the functions
    may describe the managed stacks only) WHEN handled THEN the managed group's stack is
    detected all the same."""
    manage_app(services)
    event = create_tags(["sg-0managed", "sg-0handmade"])
    cloud.owns(
        "sg-0managed", logical_id="AppSecurityGroup", resource_type="AWS::EC2::SecurityGroup"
    )
    cloud.lookup_refused("sg-0handmade")
    cloud.started("d-tags", touched("AppSecurityGroup", "AWS::EC2::SecurityGroup"))
    assert on_api_call(parse(event), services, ()).status == "detecting"


def test_a_managed_resource_named_last_of_many_is_still_detected(services, cloud):
    """GIVEN TerminateInstances' record changed in code into CreateTags on as many
    resources as EC2 takes (1,000): 999 unmanaged instances, then the managed security
    group WHEN handled THEN a detection starts (the stack's resources listed once)."""
    assert MAX_IDENTIFIERS >= 1000  # EC2's CreateTags limit
    event = create_tags([f"i-{n:08x}" for n in range(999)] + ["sg-0managed"])
    cloud.lists(
        [
            ("Database", "pci-mysql-dev", "AWS::RDS::DBInstance"),
            ("AppSecurityGroup", "sg-0managed", "AWS::EC2::SecurityGroup"),
        ]
    )
    cloud.started("d-tags", touched("AppSecurityGroup", "AWS::EC2::SecurityGroup"))
    assert on_api_call(parse(event), services, ()).status == "detecting"


def test_a_call_dated_in_the_future_does_not_keep_detections_going(services, cloud):
    """GIVEN a call whose eventTime is 2099-01-01 started a detection WHEN that detection
    completes with no later call THEN the call was noted at the time it was handled,
    not in 2099, and no further detection starts."""
    cloud.owns()
    cloud.started("d-1")
    assert on_api_call(call(at="2099-01-01T00:00:00Z"), services, ()).status == "detecting"
    assert record(services).changed_at <= now_seconds()
    services.status.put(record(services).but(drift_status="IN_SYNC"))  # it completed
    cloud.stack()
    cloud.detection("d-2")  # what a further detection would ask
    assert detect_if_changed(STACK, services) == ""


def test_a_call_whose_time_cannot_be_read_is_not_said_covered(services, cloud):
    """GIVEN a detection running since two minutes ago WHEN a call on the DB comes with
    eventTime "not-a-time" (on_api_call called directly: the handler's schema rejects
    it) THEN it is not said covered by that detection: it is noted, at the time it was
    handled."""
    detecting(services)
    cloud.owns()
    cloud.stack()
    before = now_seconds()
    assert on_api_call(call(at="not-a-time"), services, ()).status == "noted"
    assert before <= record(services).changed_at <= now_seconds()
    cloud.done()


def test_a_call_delivered_late_is_covered_by_a_detection_started_since(services, cloud):
    """GIVEN a detection running since two minutes ago WHEN the RDS guide's record comes
    with its own eventTime (2014, delivered very late) THEN it is covered, and the noted
    time of a later call is not moved back (the conditional write keeps the latest)."""
    detecting(services)
    services.status.note_change(STACK, now_seconds(timedelta(minutes=-1)))
    later = record(services).changed_at
    cloud.owns()
    found = on_api_call(call(at="2014-06-20T15:30:00Z"), services, ())
    assert found.status == "covered"
    assert record(services).changed_at == later
    cloud.done()


# --- races and faults ---------------------------------------------------------------------


def test_two_handlers_racing_for_the_claim_start_one_detection(services, cloud):
    """GIVEN two calls on the DB in the same second, the second's handler running whole
    between the first's read of the stack and its claim WHEN both are handled THEN the
    conditional write lets one claim: one DetectStackDrift; the first call starts none,
    is said covered by the other's detection (it came before it), and is not followed
    by another detection."""
    at = now_seconds(timedelta(seconds=-1))
    store = services.status
    claim = store.claim_detection
    other: dict[str, Any] = {}

    def the_other_handler_first(name: str, started: str, stale: str) -> bool:
        store.claim_detection = claim
        other["found"] = on_api_call(call(at=at, event_id="e-b"), services, ())
        return claim(name, started, stale)

    store.claim_detection = the_other_handler_first
    cloud.owns()
    cloud.stack()
    cloud.owns()
    cloud.started("d-b")
    first = on_api_call(call(at=at, event_id="e-a"), services, ())
    assert other["found"].status == "detecting"
    assert first.status == "covered"  # the other's detection started after it
    assert cloud.operations("DetectStackDrift") == 1
    assert record(services).drift_detection_id == "d-b"
    services.status.put(record(services).but(drift_status="IN_SYNC"))  # d-b completed
    assert detect_if_changed(STACK, services) == ""
    cloud.done()


CLIENT_ERRORS = {
    "ThrottlingException": (400, True),
    "RequestLimitExceeded": (400, True),
    "ServiceUnavailable": (503, True),
    "InternalFailure": (500, True),
    "ValidationError": (400, False),
}


@pytest.mark.parametrize("code", sorted(CLIENT_ERRORS))
def test_each_detect_stack_drift_refusal_is_retried_or_failed_and_gives_the_claim_back(
    handled, cloud, code
):
    """GIVEN DetectStackDrift answers `code` WHEN the handler acts on a call THEN a
    transient error is raised for Lambda's retry, a permanent one answered "failed" in
    one line; either way the call is on the trail (once: a retry puts the same record),
    the claim is given back and the call stays noted."""
    status, transient = CLIENT_ERRORS[code]
    before = record(handled)
    at = now_seconds()
    cloud.owns()
    cloud.refused(code, status, f"{code} from CloudFormation")
    if transient:
        with pytest.raises(AwsError, match=code):
            change.handler(modify_db(at), LambdaContext())
    else:
        answer = change.handler(modify_db(at), LambdaContext())
        assert answer["status"] == "failed" and code in answer["reason"]
        one_line(answer)
    after = record(handled)
    assert (after.drift_status, after.drift_started_at) == (
        before.drift_status,
        before.drift_started_at,
    )
    assert after.changed_at == at
    assert len(out_of_band(handled)) == 1
    cloud.done()


def test_a_detection_refused_for_a_running_operation_starts_when_it_ends(handled, cloud):
    """GIVEN the stack read as UPDATE_COMPLETE, then an update started before
    DetectStackDrift, which answers "Drift detection cannot be performed on a stack that
    is in progress" WHEN the call is handled THEN it is answered failed, the call stays
    noted; WHEN the operation's end is handled THEN the detection starts."""
    at = now_seconds()
    cloud.owns()
    cloud.refused(
        "ValidationError", 400, "Drift detection cannot be performed on a stack that is in progress"
    )
    assert change.handler(modify_db(at), LambdaContext())["status"] == "failed"
    assert record(handled).changed_at == at
    cloud.stack("UPDATE_COMPLETE")  # finish() reads the stack
    cloud.stack("UPDATE_COMPLETE")  # the detection's start reads it again
    cloud.detection("d-after")
    ended = on_stack_status(STACK, REGION, "UPDATE_COMPLETE", None, handled, "t", stack_id=STACK_ID)
    assert "changed out of band meanwhile: detection d-after started" in ended.reason
    cloud.done()


def test_a_lookup_refused_for_another_stack_is_unmanaged_not_failed(handled, cloud, capsys):
    """GIVEN DescribeStackResources refused with AccessDenied (the functions may describe
    the managed stacks only) WHEN the handler gets a call on that resource THEN it answers
    unmanaged (not failed), counts UnmanagedApiCalls and puts nothing on the trail."""
    cloud.lookup_refused("other-db")
    answer = change.handler(modify_db(now_seconds(), db="other-db"), LambdaContext())
    assert answer["status"] == "unmanaged"
    assert "UnmanagedApiCalls" in emf_metrics(capsys.readouterr().out)
    assert handled.audit.records == []
    cloud.done()


def test_a_throttled_then_retried_event_puts_one_out_of_band_record(handled, cloud):
    """GIVEN DetectStackDrift throttled once WHEN the event is delivered again (Lambda's
    retry) and the detection starts THEN the trail holds one out-of-band record for the
    call."""
    event = modify_db(now_seconds(), event_id="e-retried")
    cloud.owns()
    cloud.refused("Throttling", 400, "Rate exceeded")
    with pytest.raises(AwsError):
        change.handler(event, LambdaContext())
    cloud.owns()
    cloud.started("d-retried")
    assert change.handler(event, LambdaContext())["status"] == "detecting"
    assert len(out_of_band(handled)) == 1
    cloud.done()


def test_a_call_on_two_stacks_retried_after_throttling_puts_one_record_per_stack(services, cloud):
    """GIVEN TerminateInstances on an instance of each of two managed stacks, the second
    stack's DetectStackDrift throttled once WHEN the event is handled again (Lambda's
    retry) THEN each stack has one out-of-band record for the call."""
    manage_app(services)
    event = two_instances()
    owns_both(cloud)
    cloud.started("d-db", touched("Bastion", "AWS::EC2::Instance"))
    app_host = touched("AppHost", "AWS::EC2::Instance", "i-5e6f7a8b", "IN_SYNC")
    cloud.refused("Throttling", 400, "Rate exceeded", app_host, name="pci-app-dev", stack_id=APP_ID)
    with pytest.raises(AwsError, match="Throttling"):
        on_api_call(parse(event), services, ())
    owns_both(cloud)
    cloud.started(
        "d-app", touched("AppHost", "AWS::EC2::Instance"), name="pci-app-dev", stack_id=APP_ID
    )
    found = on_api_call(parse(event), services, ())
    assert [(s["stack_name"], s["outcome"]) for s in found.stacks] == [
        (STACK, "covered"),
        ("pci-app-dev", "detecting"),
    ]
    cloud.done()
    assert [r.stack for r in out_of_band(services)] == [STACK, "pci-app-dev"]


# --- secrets ------------------------------------------------------------------------------

SECRETS = ("Sup3r-S3cret-Passw0rd!", "sk_live_51ExampleSecretKey", "aut0-t0ken-4-redis")


def secret_calls() -> list[dict[str, Any]]:
    """Calls carrying secret values as a careless client or a redaction gap would leave
    them: a ModifyDBInstance with masterUserPassword, a Lambda configuration with secret
    environment variables, and the IAM guide's role chaining AssumeRole, whose response
    holds a session token."""
    db = modify_db(now_seconds(), event_id="e-db")
    db["detail"]["requestParameters"]["masterUserPassword"] = SECRETS[0]
    fn = lambda_call("UpdateFunctionConfiguration20150331v2", "someone-elses-fn")
    fn["detail"]["requestParameters"]["environment"] = {
        "variables": {"STRIPE_SECRET_KEY": SECRETS[1], "REDIS_AUTH": SECRETS[2]}
    }
    return [db, fn, review("sts-assume-role-chaining-session-token.json")]


def test_no_secret_reaches_the_answer_the_logs_the_trail_or_the_tables(
    handled, cloud, capsys, caplog
):
    """GIVEN calls carrying a password, API keys and a session token WHEN handled (the
    DB's call detected, the others unmanaged) THEN none of those values is in the
    handler's answers, its logs, the audit trail or any DynamoDB table."""
    caplog.set_level(logging.DEBUG)
    token = review("sts-assume-role-chaining-session-token.json")["detail"]["responseElements"][
        "credentials"
    ]["sessionToken"]
    cloud.owns()
    cloud.started("d-secret")
    cloud.owns_nothing("someone-elses-fn")
    answers = [change.handler(e, LambdaContext()) for e in secret_calls()]
    assert [a["status"] for a in answers] == ["detecting", "unmanaged", "unmanaged"]
    tables = boto3.client("dynamodb", region_name=REGION)
    items = [tables.scan(TableName=t)["Items"] for t in tables.list_tables()["TableNames"]]
    seen = json.dumps(
        [answers, items, [repr(r) for r in handled.audit.records], caplog.text]
    ) + "".join(capsys.readouterr())
    for secret in (*SECRETS, token):
        assert secret not in seen
    cloud.done()


# --- records without a stack id -----------------------------------------------------------


def test_a_status_record_with_no_stack_id_starts_nothing_after_a_detection(services, cloud):
    """GIVEN a managed name's record without a stack id but with a noted call WHEN a
    detection or an operation ends (detect_if_changed) THEN nothing starts and no AWS
    call is made: the reconciler cannot tell the stack is its own."""
    services.status.put(replace(managed(), stack_id=""))
    services.status.note_change(STACK, now_seconds())
    assert detect_if_changed(STACK, services) == ""
    assert cloud.calls == []
