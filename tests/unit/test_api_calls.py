"""CloudTrail records as AWS documents them (tests/events/cloudtrail, SOURCES.md says
where each comes from), read into ApiCall values: who called what on which resources,
and which calls the reconciler leaves out before any AWS call. Hostile input never
raises and never makes the handler look up more than MAX_IDENTIFIERS identifiers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.api_calls import MAX_IDENTIFIERS, excluded, identifiers, parse

SAMPLES = Path(__file__).parent.parent / "events" / "cloudtrail"
CLOUDFORMATION = "cloudformation.amazonaws.com"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def with_identity(name: str, identity: dict[str, Any]) -> dict[str, Any]:
    """A sample record with another userIdentity (as CloudTrail writes one elsewhere)."""
    event = sample(name)
    event["detail"]["userIdentity"] = identity
    return event


# --- AWS's samples, read ----------------------------------------------------------------

# file -> (account, region, action, caller, caller type, role name)
WHO = {
    "rds-create-db-instance.json": (
        "123456789012",
        "us-east-1",
        "rds:CreateDBInstance",
        "arn:aws:iam::123456789012:user/johndoe",
        "IAMUser",
        "",
    ),
    "made-ec2-authorize-security-group-ingress.json": (
        "123456789",
        "us-east-1",
        "ec2:AuthorizeSecurityGroupIngress",
        "arn:aws:sts::123456789:assumed-role/123456789/Bob",
        "AssumedRole",
        "Bob",  # the sessionIssuer's name wins over the session ARN's role (AWS's sample)
    ),
    "ec2-terminate-instances.json": (
        "123456789012",
        "us-west-2",
        "ec2:TerminateInstances",
        "arn:aws:iam::123456789012:root",
        "Root",
        "",
    ),
    "rbin-update-rule-assumed-role.json": (
        "123456789012",
        "us-west-2",
        "rbin:UpdateRule",
        "arn:aws:iam::123456789012:root",
        "AssumedRole",
        "Admin",
    ),
    "kms-schedule-key-deletion.json": (
        "111122223333",
        "us-east-1",
        "kms:ScheduleKeyDeletion",
        "arn:aws:iam::111122223333:user/Alice",
        "IAMUser",
        "",
    ),
    "logs-create-export-task.json": (
        "123456789012",
        "us-east-1",
        "logs:CreateExportTask",
        "arn:aws:iam::123456789012:user/someuser",
        "IAMUser",
        "",
    ),
    "secretsmanager-delete-secret.json": (
        "123456789012",
        "us-east-2",
        "secretsmanager:DeleteSecret",
        "arn:aws:iam::123456789012:root",
        "Root",
        "",
    ),
    "elasticache-modify-cache-cluster.json": (
        "123456789012",  # no recipientAccountId in AWS's record: the envelope's
        "us-west-2",
        "elasticache:ModifyCacheCluster",
        "arn:aws:iam::123456789012:user/elasticache-allow",
        "IAMUser",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(WHO))
def test_a_documented_record_says_where_what_and_who(name):
    """GIVEN an AWS-documented CloudTrail record in its EventBridge envelope WHEN parsed
    THEN account, region, action, caller, caller type and role name are AWS's values."""
    call = parse(sample(name))
    assert (
        call.account,
        call.region,
        call.action,
        call.caller,
        call.caller_type,
        call.role_name,
    ) == WHO[name]


def test_authorize_security_group_ingress_names_the_group_and_not_the_cidr():
    """GIVEN AuthorizeSecurityGroupIngress opening TCP 998 from 192.168.0.0/32 WHEN its
    identifiers are read THEN the group id is the only one: neither the CIDR, the port
    nor the response's requestId is taken for a resource."""
    found = parse(sample("made-ec2-authorize-security-group-ingress.json")).identifiers
    assert found == ("sg-123456789",)


def test_an_instance_in_an_items_list_is_found():
    """GIVEN EC2's TerminateInstances record (instancesSet.items[].instanceId) WHEN
    parsed THEN the instance id is the first identifier."""
    assert parse(sample("ec2-terminate-instances.json")).identifiers[0] == "i-1a2b3c4d"


def test_a_db_instance_is_found_first_and_what_it_refers_to_is_not():
    """GIVEN RDS's CreateDBInstance record, whose response also names the subnet group's
    subnets, VPC and zones (nested in dBSubnetGroup) WHEN parsed THEN the instance
    identifier comes first and its ARN is there; the items of a top-level list are read
    (vpcSecurityGroups[].vpcSecurityGroupId), nothing deeper is."""
    found = parse(sample("rds-create-db-instance.json")).identifiers
    assert found[0] == "test-instance"
    assert "arn:aws:rds:us-east-1:123456789012:db:test-instance" in found
    assert "sg-f839b688" in found
    assert not {"vpc-136a4c6a", "subnet-cbfff283", "us-east-1b", "default"} & set(found)


def test_a_modify_db_instance_identifier_is_also_found_lower_cased():
    """GIVEN RDS's record changed in code to a ModifyDBInstance naming "PCI-MySQL-Dev"
    (RDS stores instance identifiers lower-case, and CloudFormation reports them so)
    WHEN parsed THEN both the given and the lower-case identifier are looked up."""
    event = sample("rds-create-db-instance.json")
    event["detail"].update(
        eventName="ModifyDBInstance",
        requestParameters={"dBInstanceIdentifier": "PCI-MySQL-Dev", "applyImmediately": True},
        responseElements=None,
    )
    call = parse(event)
    assert call.action == "rds:ModifyDBInstance"
    assert call.identifiers == ("PCI-MySQL-Dev", "pci-mysql-dev")


def test_ids_of_other_services_keep_their_case():
    """GIVEN a KMS record naming a mixed-case value WHEN parsed THEN it is not also
    lower-cased: only RDS and ElastiCache ids are case-insensitive."""
    event = sample("kms-disable-key.json")
    event["detail"]["requestParameters"] = {"keyId": "alias/MyKey"}
    assert parse(event).identifiers == ("alias/MyKey",)


def test_a_kms_key_id_is_taken_from_a_key_arn():
    """GIVEN KMS's ScheduleKeyDeletion record whose keyId is the key ARN WHEN parsed
    THEN the key id (CloudFormation's physical id of an AWS::KMS::Key) is found too."""
    found = parse(sample("kms-schedule-key-deletion-key-arn.json")).identifiers
    assert found == (
        "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
        "0987dcba-09fe-87dc-65ba-ab0987654321",
    )


def test_a_kms_key_id_given_plainly_comes_first():
    """GIVEN KMS's ScheduleKeyDeletion record naming the key by id (its response by
    ARN) WHEN parsed THEN the key id is looked up first."""
    found = parse(sample("kms-schedule-key-deletion.json")).identifiers
    assert found[0] == "1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_secret_is_found_by_name_and_by_arn():
    """GIVEN Secrets Manager's DeleteSecret record WHEN parsed THEN the secret's name,
    its ARN (CloudFormation's physical id of a secret) and the ARN's last part are all
    looked up."""
    assert parse(sample("secretsmanager-delete-secret.json")).identifiers == (
        "MyDatabaseSecret",
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MyDatabaseSecret-a1b2c3",
        "MyDatabaseSecret-a1b2c3",
    )


def test_a_log_group_name_and_numbers_beside_it():
    """GIVEN CloudWatch Logs' CreateExportTask record ("to": 123456789012, a number)
    WHEN parsed THEN the log group name is found and the numbers are not."""
    found = parse(sample("logs-create-export-task.json")).identifiers
    assert found[0] == "yourloggroup"
    assert "123456789012" not in found and "0" not in found


def test_a_log_group_name_is_taken_from_its_arn():
    """GIVEN a log group ARN (arn:...:log-group:NAME) in the request WHEN its
    identifiers are read THEN the group name, CloudFormation's physical id, is too."""
    found = identifiers(
        [{"logGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:pci-app-logs"}]
    )
    assert found == ("arn:aws:logs:us-east-1:111122223333:log-group:pci-app-logs", "pci-app-logs")


def test_a_log_group_name_starting_with_a_slash_is_looked_up():
    """GIVEN CloudWatch Logs' record changed in code to PutRetentionPolicy on
    /aws/rds/instance/pci-mysql-dev/error WHEN parsed THEN that name is an identifier
    and the call is not left out."""
    event = sample("logs-create-export-task.json")
    event["detail"].update(
        eventName="PutRetentionPolicy",
        requestParameters={
            "logGroupName": "/aws/rds/instance/pci-mysql-dev/error",
            "retentionInDays": 1,
        },
        responseElements=None,
    )
    call = parse(event)
    assert call.identifiers == ("/aws/rds/instance/pci-mysql-dev/error",)
    assert excluded(call, ()) == ""


def test_a_log_group_arn_ending_in_star_gives_the_group_name():
    """GIVEN a log group ARN as IAM and DescribeLogGroups write it, ending in :* WHEN
    its identifiers are read THEN the group name is among them."""
    found = identifiers([], ["arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/x:*"])
    assert "/aws/lambda/x" in found


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "arn:aws:lambda:us-east-1:123456789012:function:pci-rotation:PROD",
            ("arn:aws:lambda:us-east-1:123456789012:function:pci-rotation:PROD", "pci-rotation"),
        ),
        (
            "123456789012:function:pci-rotation",
            ("123456789012:function:pci-rotation", "pci-rotation"),
        ),
        (
            "123456789012:function:pci-rotation:7",
            ("123456789012:function:pci-rotation:7", "pci-rotation"),
        ),
    ],
)
def test_a_functions_name_is_taken_from_its_arn_or_partial_arn(name, expected):
    """GIVEN a Lambda function named by its ARN with a qualifier, or by its partial ARN
    (ACCOUNT:function:NAME[:QUALIFIER], a documented name format) WHEN its identifiers
    are read THEN the function's name, CloudFormation's physical id, is too."""
    assert identifiers([{"functionName": name}]) == expected


def test_ids_of_the_request_and_of_accounts_are_not_resources():
    """GIVEN a response naming requestId, ownerId, accountId and clientRequestId beside a
    group id WHEN its identifiers are read THEN only the group id is taken."""
    found = identifiers(
        [
            {"clientRequestId": "c-0a1b2c3d", "groupId": "sg-1"},
            {"requestId": "r-4e5f", "ownerId": "o-1x", "accountId": "a-2y"},
        ]
    )
    assert found == ("sg-1",)


def test_what_a_rule_refers_to_deeper_in_the_request_is_not_acted_on():
    """GIVEN an AuthorizeSecurityGroupIngress-shaped request and response whose rule
    references another group (ipPermissions.items[].groups.items[].groupId, and the
    rule's referencedGroupInfo.groupId) WHEN its identifiers are read THEN the target
    group and the rule are taken, the referenced group is not."""
    request = {
        "groupId": "sg-target",
        "ipPermissions": {"items": [{"groups": {"items": [{"groupId": "sg-referenced"}]}}]},
    }
    response = {
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupId": "sg-target",
                    "securityGroupRuleId": "sgr-1",
                    "referencedGroupInfo": {"groupId": "sg-referenced"},
                }
            ]
        }
    }
    assert identifiers([request, response]) == ("sg-target", "sgr-1")


def test_an_s3_event_as_aws_delivers_it_names_the_bucket():
    """GIVEN the Step Functions guide's whole EventBridge event (PutObject, invoked by
    the console's sign-in service) WHEN parsed THEN the bucket is found, the invoker
    is kept, and nothing leaves the call out."""
    call = parse(sample("s3-put-object-eventbridge.json"))
    assert (call.action, call.invoked_by) == ("s3:PutObject", "signin.amazonaws.com")
    assert "username-sfn-tutorial" in call.identifiers
    assert excluded(call, ()) == ""


# --- left out ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["invokedBy", "sourceIPAddress"])
def test_a_call_cloudformation_made_is_left_out(where):
    """GIVEN RDS's record with `cloudformation.amazonaws.com` put (in code) where AWS
    writes it for a call a stack operation made WHEN judged THEN it is left out as
    CloudFormation's, whatever roles the reconciler has."""
    event = sample("rds-create-db-instance.json")
    if where == "invokedBy":
        event["detail"]["userIdentity"]["invokedBy"] = CLOUDFORMATION
    else:
        event["detail"][where] = CLOUDFORMATION
    why = excluded(parse(event), ())
    assert why == "rds:CreateDBInstance was made by CloudFormation (a stack operation)"


def test_a_user_agent_naming_cloudformation_does_not_leave_a_call_out():
    """GIVEN RDS's record (by IAM user johndoe from 192.0.2.0) whose userAgent reads
    cloudformation.amazonaws.com (the caller's client chooses it) WHEN judged THEN it
    is not left out."""
    event = sample("rds-create-db-instance.json")
    event["detail"]["userAgent"] = CLOUDFORMATION
    call = parse(event)
    assert call.user_agent == CLOUDFORMATION
    assert excluded(call, ("gitops-push",)) == ""


def test_a_call_another_aws_service_made_is_not_left_out_for_that():
    """GIVEN KMS GenerateDataKey invoked by secretsmanager.amazonaws.com (AWS's sample)
    WHEN judged THEN it is not taken for CloudFormation's."""
    call = parse(sample("kms-generate-data-key-invoked-by-secretsmanager.json"))
    assert call.invoked_by == "secretsmanager.amazonaws.com"
    assert excluded(call, ("gitops-reconciler-change",)) == ""


def test_a_call_in_the_reconcilers_role_is_left_out_by_its_session_issuer():
    """GIVEN Recycle Bin's UpdateRule record, made in a session of role Admin WHEN
    judged with RECONCILER_ROLES naming Admin THEN it is left out as the reconciler's
    own; with other role names it is not."""
    call = parse(sample("rbin-update-rule-assumed-role.json"))
    assert excluded(call, ("gitops-push", "Admin")) == (
        "rbin:UpdateRule was made by the reconciler's own role Admin"
    )
    assert excluded(call, ("gitops-push", "Admi", "admin")) == ""


def test_an_assumed_role_session_without_session_context_is_known_by_its_arn():
    """GIVEN CloudTrail's documented AssumedRole userIdentity with its sessionContext
    taken away (in code) WHEN judged THEN the role is read from the session ARN
    (assumed-role/RoleToBeAssumed/MySessionName) and the call is left out."""
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    del identity["sessionContext"]
    call = parse(with_identity("kms-disable-key.json", identity))
    assert call.role_name == "RoleToBeAssumed"
    assert "own role RoleToBeAssumed" in excluded(call, ("RoleToBeAssumed",))


def test_the_same_role_name_counts_only_in_an_account_the_reconciler_knows():
    """GIVEN the documented AssumedRole identity, its role session in member account
    444455556666 WHEN judged THEN it is the reconciler's own when that account is among
    the known ones (or none are given), and anyone's when it is not."""
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    identity["accountId"] = "444455556666"
    identity["sessionContext"]["sessionIssuer"]["accountId"] = "444455556666"
    call = parse(with_identity("kms-disable-key.json", identity))
    assert call.caller_account == "444455556666"
    own = "kms:DisableKey was made by the reconciler's own role RoleToBeAssumed"
    assert excluded(call, ("RoleToBeAssumed",), ("111122223333", "444455556666")) == own
    assert excluded(call, ("RoleToBeAssumed",)) == own
    assert excluded(call, ("RoleToBeAssumed",), ("111122223333",)) == ""


def test_the_callers_account_is_the_session_issuers_when_the_identity_has_none():
    """GIVEN the documented AssumedRole identity without its accountId (in code) WHEN
    parsed THEN the caller's account is the session issuer's."""
    identity = sample("user-identity-assumed-role.json")["userIdentity"]
    del identity["accountId"]
    identity["sessionContext"]["sessionIssuer"]["accountId"] = "444455556666"
    call = parse(with_identity("kms-disable-key.json", identity))
    assert call.caller_account == "444455556666"
    assert excluded(call, ("RoleToBeAssumed",), ("111122223333",)) == ""


def test_an_iam_user_named_like_a_reconciler_role_is_not_left_out():
    """GIVEN CloudTrail's documented IAMUser identity (Alice) WHEN the reconciler's
    roles include "Alice" THEN the call is not left out: only role sessions are."""
    identity = sample("user-identity-iam-user.json")["userIdentity"]
    call = parse(with_identity("kms-disable-key.json", identity))
    assert call.role_name == ""
    assert excluded(call, ("Alice",)) == ""


def test_a_failed_call_is_left_out():
    """GIVEN CloudTrail's UpdateTrail record that failed with TrailNotFoundException
    WHEN judged THEN it is left out: nothing changed."""
    why = excluded(parse(sample("cloudtrail-update-trail-failed.json")), ())
    assert why == "cloudtrail:UpdateTrail failed (TrailNotFoundException): nothing changed"


def test_a_call_naming_no_resource_is_left_out():
    """GIVEN Secrets Manager's RotationFailed record (requestParameters null) WHEN
    judged THEN it is left out for naming no resource."""
    call = parse(sample("secretsmanager-rotation-failed-service-event.json"))
    assert call.identifiers == ()
    assert excluded(call, ()) == "secretsmanager:RotationFailed names no resource"


def test_a_documented_call_by_someone_else_is_looked_at():
    """GIVEN KMS's DisableKey by IAM user Alice WHEN judged with the reconciler's roles
    THEN nothing leaves it out."""
    assert excluded(parse(sample("kms-disable-key.json")), ("gitops-push",)) == ""


# --- hostile input ----------------------------------------------------------------------


def hostile(**detail: Any) -> dict[str, Any]:
    """DisableKey's record with `detail` fields replaced."""
    event = sample("kms-disable-key.json")
    event["detail"].update(detail)
    return event


@pytest.mark.parametrize("identity", ["arn:aws:iam::1:user/x", ["a"], None, 7, True])
def test_a_user_identity_that_is_not_an_object_is_no_caller(identity):
    """GIVEN userIdentity a string, list, null, number WHEN parsed THEN nothing
    raises; the caller is unknown and no role can match."""
    call = parse(hostile(userIdentity=identity))
    assert (call.caller, call.caller_type, call.role_name, call.invoked_by) == ("", "", "", "")
    assert call.who == "unknown caller"
    assert excluded(call, ("x",)) == ""


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ([{"keyId": "k-1"}, {"keyId": "k-2"}], ()),
        ("keyId=k-1", ()),
        (12, ()),
        ([[["keyId"]]], ()),
    ],
)
def test_request_parameters_of_another_shape_do_not_raise(parameters, expected):
    """GIVEN requestParameters a list of objects, a string, a number or nested lists
    WHEN parsed THEN nothing raises and nothing is taken: only the members of an object
    (CloudTrail's shape) name resources."""
    call = parse(hostile(requestParameters=parameters, responseElements=None))
    assert call.identifiers == expected


@pytest.mark.parametrize("detail", ["x", None, [], 5])
def test_a_detail_that_is_not_an_object_gives_an_empty_call(detail):
    """GIVEN an envelope whose detail is not an object WHEN parsed THEN nothing raises
    and the call names nothing (the envelope's account is kept)."""
    event = sample("kms-disable-key.json")
    event["detail"] = detail
    call = parse(event)
    assert (call.event_name, call.identifiers) == ("", ())
    assert call.account == "111122223333"  # the envelope's


def test_ten_thousand_identifiers_are_cut_to_max_identifiers():
    """GIVEN a request naming 10,000 groups in a list and 10,000 id keys WHEN parsed
    THEN at most MAX_IDENTIFIERS are kept: a hostile event cannot make thousands of
    DescribeStackResources calls."""
    many = {f"groupId{i}": f"sg-{i:05d}" for i in range(10_000)}
    items = [{"groupId": f"sg-x{i:05d}"} for i in range(10_000)]
    call = parse(hostile(requestParameters={"items": items, **many}, responseElements=many))
    assert call.identifiers == tuple(f"sg-x{i:05d}" for i in range(MAX_IDENTIFIERS))


def test_deep_nesting_is_bounded():
    """GIVEN requestParameters nested 5,000 levels deep (deeper than Python's
    recursion limit) WHEN parsed THEN nothing raises; an id near the top is found,
    one at the bottom is not read."""
    deep: dict[str, Any] = {"keyId": "bottom"}
    for _ in range(5_000):
        deep = {"next": deep}
    call = parse(hostile(requestParameters={"keyId": "top", "nested": deep}))
    assert call.identifiers == ("top",)


def test_values_that_are_not_strings_are_not_taken():
    """GIVEN identifier keys holding numbers, null, booleans and objects WHEN parsed
    THEN none of them is taken; a string in a named list is."""
    parameters = {
        "keyId": 1234,
        "groupId": None,
        "dBInstanceIdentifier": True,
        "vpcId": {"inner": "vpc-1"},
        "subnetIds": ["subnet-1", 5, None, {"x": "y"}],
        "name": 3.5,
    }
    assert parse(hostile(requestParameters=parameters)).identifiers == ("subnet-1",)


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.0/16",
        "2001:db8::/32",
        "123456789012",
        "0",
        "has space",
        "line\nbreak",
        "x" * 600,  # longer than any physical id (a log group's name: 512)
        "",
        "-leading-dash",
        "sg-١٢٣",  # not ASCII digits
    ],
)
def test_cidrs_numbers_and_odd_strings_are_not_taken(value):
    """GIVEN an identifier key holding a CIDR, a number, a string with spaces or a line
    break, an over-long or empty one WHEN parsed THEN it is not looked up."""
    assert parse(hostile(requestParameters={"groupId": value})).identifiers == ()


def test_envelope_resources_of_any_shape_do_not_raise():
    """GIVEN envelope resources mixing an ARN with a number, null and an object, or a
    string instead of a list WHEN parsed THEN the ARN (and its key id) alone is taken."""
    event = hostile(requestParameters=None)
    event["resources"] = ["arn:aws:kms:us-east-1:111122223333:key/k-1", 5, None, {"ARN": 7}]
    assert parse(event).identifiers == ("arn:aws:kms:us-east-1:111122223333:key/k-1", "k-1")
    event["resources"] = "arn:aws:kms:us-east-1:111122223333:key/k-2"
    assert parse(event).identifiers == ()


def test_parsing_leaves_the_event_as_it_was():
    """GIVEN RDS's record WHEN parsed THEN the event is unchanged (the handler logs it
    and the idempotency layer hashes it)."""
    event = sample("rds-create-db-instance.json")
    before = copy.deepcopy(event)
    parse(event)
    assert event == before
