"""DescribeChangeSet on the local AWS lists each resource change as CloudFormation does:
Action, PhysicalResourceId, Replacement, Scope, Details and PolicyAction, from the resource
schemas and both templates evaluated with their parameters
(`localaws.change_set_details`), through a real local AWS server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.localaws_helpers import MYSQL_INSTANCE, StackUnderTest


def template(
    resources: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    conditions: dict[str, Any] | None = None,
    mappings: dict[str, Any] | None = None,
) -> str:
    body: dict[str, Any] = {"Resources": resources}
    if parameters:
        body["Parameters"] = parameters
    if conditions:
        body["Conditions"] = conditions
    if mappings:
        body["Mappings"] = mappings
    return json.dumps(body)


def log_group(name: Any, retention: int = 7, **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": retention},
        **attributes,
    }


def parameter(name: Any, value: Any = "v", **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": name, "Type": "String", "Value": value},
        **attributes,
    }


def detail(
    name: str | None,
    requires: str,
    source: str = "DirectModification",
    evaluation: str = "Static",
    entity: str | None = None,
    attribute: str = "Properties",
) -> dict[str, Any]:
    target: dict[str, Any] = {"Attribute": attribute}
    if name is not None:
        target["Name"] = name
    target["RequiresRecreation"] = requires
    expected: dict[str, Any] = {
        "Target": target,
        "Evaluation": evaluation,
        "ChangeSource": source,
    }
    if entity is not None:
        expected["CausingEntity"] = entity
    return expected


ENV = {"Env": {"Type": "String"}}
IS_PROD = {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}}


class Stack(StackUnderTest):
    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "csd")

    def changes(self, body: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
        """The ResourceChanges of an UPDATE change set, by logical id."""
        self.cloudformation.create_change_set(
            StackName=self.name,
            ChangeSetName="next",
            ChangeSetType="UPDATE",
            TemplateBody=body,
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
            ],
        )
        described = self.cloudformation.describe_change_set(
            StackName=self.name, ChangeSetName="next"
        )
        self.cloudformation.delete_change_set(StackName=self.name, ChangeSetName="next")
        return {
            c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
            for c in described["Changes"]
        }


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


def test_create_only_change_is_a_replacement_with_its_detail(stack: Stack) -> None:
    """GIVEN a log group named /<stack>/a
    WHEN a change set renames it (LogGroupName is create-only)
    THEN the change is a Modify of that physical resource, Replacement True, with the detail
    AWS gives and the default replace policy"""
    stack.create(template({"Logs": log_group(f"/{stack.name}/a")}))

    changes = stack.changes(template({"Logs": log_group(f"/{stack.name}/b")}))

    assert changes == {
        "Logs": {
            "PolicyAction": "ReplaceAndDelete",
            "Action": "Modify",
            "LogicalResourceId": "Logs",
            "PhysicalResourceId": f"/{stack.name}/a",
            "ResourceType": "AWS::Logs::LogGroup",
            "Replacement": "True",
            "Scope": ["Properties"],
            "Details": [detail("LogGroupName", "Always")],
        }
    }


def test_updatable_property_change_is_not_a_replacement(stack: Stack) -> None:
    """GIVEN a log group keeping events 7 days
    WHEN a change set sets RetentionInDays to 365 (updatable in place)
    THEN Replacement is False, the detail never requires recreation, and no PolicyAction"""
    stack.create(template({"Logs": log_group(f"/{stack.name}/a")}))

    change = stack.changes(template({"Logs": log_group(f"/{stack.name}/a", 365)}))["Logs"]

    assert change["Replacement"] == "False"
    assert change["Details"] == [detail("RetentionInDays", "Never")]
    assert "PolicyAction" not in change


def test_conditionally_create_only_change_is_a_conditional_replacement(stack: Stack) -> None:
    """GIVEN an RDS instance
    WHEN a change set sets DBSnapshotIdentifier (conditionalCreateOnlyProperties)
    THEN Replacement is Conditional and the detail requires recreation Conditionally"""
    db = {"Type": "AWS::RDS::DBInstance", "Properties": dict(MYSQL_INSTANCE)}
    stack.create(template({"Db": db}))
    restored = {**db, "Properties": {**MYSQL_INSTANCE, "DBSnapshotIdentifier": "nightly"}}

    change = stack.changes(template({"Db": restored}))["Db"]

    assert change["Replacement"] == "Conditional"
    assert change["Details"] == [detail("DBSnapshotIdentifier", "Conditionally")]


def test_condition_turning_false_removes_the_resource(stack: Stack) -> None:
    """GIVEN a parameter that exists only when Env is prod, deployed with Env=prod
    WHEN a change set keeps the template and sets Env=dev
    THEN the resource is a Remove of its physical resource, deleted by default"""
    name = f"/{stack.name}/prod-only"
    body = template(
        {"Keep": parameter(f"/{stack.name}/keep"), "ProdOnly": parameter(name, Condition="IsProd")},
        ENV,
        IS_PROD,
    )
    stack.create(body, {"Env": "prod"})

    changes = stack.changes(body, {"Env": "dev"})

    assert changes == {
        "ProdOnly": {
            "PolicyAction": "Delete",
            "Action": "Remove",
            "LogicalResourceId": "ProdOnly",
            "PhysicalResourceId": name,
            "ResourceType": "AWS::SSM::Parameter",
        }
    }


def test_condition_turning_true_adds_the_resource(stack: Stack) -> None:
    """GIVEN a parameter that exists only when Env is prod, deployed with Env=dev
    WHEN a change set sets Env=prod
    THEN the resource is an Add"""
    body = template(
        {
            "Keep": parameter(f"/{stack.name}/keep"),
            "ProdOnly": parameter(f"/{stack.name}/p", Condition="IsProd"),
        },
        ENV,
        IS_PROD,
    )
    stack.create(body, {"Env": "dev"})

    changes = stack.changes(body, {"Env": "prod"})

    assert changes == {
        "ProdOnly": {
            "Action": "Add",
            "LogicalResourceId": "ProdOnly",
            "ResourceType": "AWS::SSM::Parameter",
        }
    }


def test_identifier_chosen_by_fn_if_is_replaced_when_the_parameter_flips(stack: Stack) -> None:
    """GIVEN a log group named by Fn::If on the IsProd condition, deployed with Env=prod
    WHEN a change set keeps the template and sets Env=dev
    THEN the log group is replaced, caused by the parameter"""
    name = {"Fn::If": ["IsProd", f"/{stack.name}/prod", f"/{stack.name}/dev"]}
    body = template({"Logs": log_group(name)}, ENV, IS_PROD)
    stack.create(body, {"Env": "prod"})

    change = stack.changes(body, {"Env": "dev"})["Logs"]

    assert change["Replacement"] == "True"
    assert change["Details"] == [
        detail("LogGroupName", "Always", "ParameterReference", entity="Env")
    ]


def test_mapping_edit_behind_find_in_map_replaces_the_resource(stack: Stack) -> None:
    """GIVEN a log group named by Fn::FindInMap [Names, <region>, Group]
    WHEN a change set edits that mapping entry only
    THEN the log group is replaced (the template changed, not the resource's text)"""
    name = {"Fn::FindInMap": ["Names", {"Ref": "AWS::Region"}, "Group"]}
    stack.create(
        template({"Logs": log_group(name)}, mappings=_names(f"/{stack.name}/one")),
    )

    changes = stack.changes(
        template({"Logs": log_group(name)}, mappings=_names(f"/{stack.name}/two"))
    )

    assert changes["Logs"]["Replacement"] == "True"
    assert changes["Logs"]["Details"] == [detail("LogGroupName", "Always")]


def _names(group: str) -> dict[str, Any]:
    return {"Names": {"us-east-1": {"Group": group}, "eu-west-1": {"Group": "/other"}}}


def test_fn_sub_of_region_and_parameter_is_replaced_when_the_parameter_changes(
    stack: Stack,
) -> None:
    """GIVEN a log group named !Sub /<stack>/${AWS::Region}/${Env}
    WHEN a change set changes Env only
    THEN the log group is replaced, caused by Env"""
    body = template(
        {"Logs": log_group({"Fn::Sub": f"/{stack.name}/${{AWS::Region}}/${{Env}}"})}, ENV
    )
    stack.create(body, {"Env": "blue"})

    changes = stack.changes(body, {"Env": "green"})

    assert changes["Logs"]["PhysicalResourceId"] == f"/{stack.name}/us-east-1/blue"
    assert changes["Logs"]["Replacement"] == "True"
    assert changes["Logs"]["Details"] == [
        detail("LogGroupName", "Always", "ParameterReference", entity="Env")
    ]


def test_create_only_reference_to_a_replaced_resource_is_a_conditional_replacement(
    stack: Stack,
) -> None:
    """GIVEN an SSM parameter whose Name (create-only) and Value use a Ref to a log group
    WHEN a change set renames the log group (replacing it) and nothing else
    THEN the parameter is Modify, Replacement Conditional, with dynamic details caused by the
    log group"""
    ssm = parameter({"Fn::Sub": "/ref${Logs}"}, {"Ref": "Logs"})
    stack.create(template({"Logs": log_group(f"/{stack.name}/a"), "Param": ssm}))

    changes = stack.changes(template({"Logs": log_group(f"/{stack.name}/b"), "Param": ssm}))

    assert changes["Logs"]["Replacement"] == "True"
    assert changes["Param"]["Replacement"] == "Conditional"
    assert changes["Param"]["Details"] == [
        detail("Name", "Always", "ResourceReference", "Dynamic", "Logs"),
        detail("Value", "Never", "ResourceReference", "Dynamic", "Logs"),
    ]


def test_attribute_of_a_modified_resource_is_a_dynamic_resource_attribute(stack: Stack) -> None:
    """GIVEN an SSM parameter whose Value is the GetAtt Arn of a log group
    WHEN a change set changes the log group's retention (updated in place)
    THEN the parameter is listed with a dynamic ResourceAttribute detail, no replacement"""
    ssm = parameter(f"/{stack.name}/arn", {"Fn::GetAtt": ["Logs", "Arn"]})
    stack.create(template({"Logs": log_group(f"/{stack.name}/a"), "Param": ssm}))

    changes = stack.changes(template({"Logs": log_group(f"/{stack.name}/a", 30), "Param": ssm}))

    assert changes["Param"]["Replacement"] == "False"
    assert changes["Param"]["Details"] == [
        detail("Value", "Never", "ResourceAttribute", "Dynamic", "Logs.Arn")
    ]


def test_dynamodb_key_schema_change_is_a_replacement(stack: Stack) -> None:
    """GIVEN a DynamoDB table keyed by pk
    WHEN a change set keys it by id instead
    THEN Replacement is True (AWS documents KeySchema as requiring replacement)"""
    stack.create(template({"Table": _table("pk")}))

    change = stack.changes(template({"Table": _table("id")}))["Table"]

    assert change["Replacement"] == "True"
    assert detail("KeySchema", "Always") in change["Details"]


def _table(key: str) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        },
    }


def test_kms_multi_region_change_is_reported_as_a_replacement(stack: Stack) -> None:
    """GIVEN a KMS key
    WHEN a change set sets MultiRegion (AWS: "Update requires: Replacement", and the update
    then fails)
    THEN the change set reports Replacement True"""
    stack.create(template({"Key": {"Type": "AWS::KMS::Key", "Properties": {}}}))

    change = stack.changes(
        template({"Key": {"Type": "AWS::KMS::Key", "Properties": {"MultiRegion": True}}})
    )["Key"]

    assert change["Replacement"] == "True"
    assert change["Details"] == [detail("MultiRegion", "Always")]


def test_renamed_logical_id_is_a_removal_and_an_addition(stack: Stack) -> None:
    """GIVEN a stack with a parameter under logical id Old
    WHEN a change set has the same resource under logical id New
    THEN Old is removed and New added"""
    ssm = parameter(f"/{stack.name}/renamed")
    stack.create(template({"Old": ssm}))

    changes = stack.changes(template({"New": ssm}))

    assert {k: c["Action"] for k, c in changes.items()} == {"Old": "Remove", "New": "Add"}


def test_tag_change_has_the_tags_scope(stack: Stack) -> None:
    """GIVEN a log group without tags
    WHEN a change set tags it
    THEN the change's scope is Tags, with a Tags detail that never requires recreation"""
    stack.create(template({"Logs": log_group(f"/{stack.name}/a")}))
    tagged = log_group(f"/{stack.name}/a")
    tagged["Properties"]["Tags"] = [{"Key": "team", "Value": "db"}]

    change = stack.changes(template({"Logs": tagged}))["Logs"]

    assert change["Replacement"] == "False"
    assert change["Scope"] == ["Tags"]
    assert change["Details"] == [detail(None, "Never", attribute="Tags")]


def test_policy_attribute_change_has_its_scope(stack: Stack) -> None:
    """GIVEN a log group without a DeletionPolicy
    WHEN a change set adds DeletionPolicy Retain and nothing else
    THEN the change's scope is DeletionPolicy"""
    stack.create(template({"Logs": log_group(f"/{stack.name}/a")}))

    change = stack.changes(
        template({"Logs": log_group(f"/{stack.name}/a", DeletionPolicy="Retain")})
    )["Logs"]

    assert change["Scope"] == ["DeletionPolicy"]
    assert change["Details"] == [detail(None, "Never", attribute="DeletionPolicy")]


def test_replace_and_removal_policies_are_reported(stack: Stack) -> None:
    """GIVEN a log group with UpdateReplacePolicy Retain and a parameter with DeletionPolicy
    Retain
    WHEN a change set renames the log group and drops the parameter
    THEN their PolicyActions are ReplaceAndRetain and Retain"""
    stack.create(
        template(
            {
                "Logs": log_group(f"/{stack.name}/a", UpdateReplacePolicy="Retain"),
                "Param": parameter(f"/{stack.name}/p", DeletionPolicy="Retain"),
            }
        )
    )

    changes = stack.changes(
        template({"Logs": log_group(f"/{stack.name}/b", UpdateReplacePolicy="Retain")})
    )

    assert changes["Logs"]["PolicyAction"] == "ReplaceAndRetain"
    assert changes["Param"]["PolicyAction"] == "Retain"


def test_removed_db_instance_is_snapshot_by_default(stack: Stack) -> None:
    """GIVEN an RDS instance without a DeletionPolicy (AWS's default for one outside a
    cluster is Snapshot)
    WHEN a change set removes it
    THEN its PolicyAction is Snapshot"""
    stack.create(
        template(
            {
                "Db": {"Type": "AWS::RDS::DBInstance", "Properties": dict(MYSQL_INSTANCE)},
                "Param": parameter(f"/{stack.name}/p"),
            }
        )
    )

    changes = stack.changes(template({"Param": parameter(f"/{stack.name}/p")}))

    assert changes["Db"]["Action"] == "Remove"
    assert changes["Db"]["PolicyAction"] == "Snapshot"


def test_unchanged_resources_are_not_listed(stack: Stack) -> None:
    """GIVEN a log group and an SSM parameter
    WHEN a change set changes only the parameter's value
    THEN only the parameter is listed"""
    logs = log_group(f"/{stack.name}/a")
    stack.create(template({"Logs": logs, "Param": parameter(f"/{stack.name}/p", "1")}))

    changes = stack.changes(template({"Logs": logs, "Param": parameter(f"/{stack.name}/p", "2")}))

    assert list(changes) == ["Param"]
    assert changes["Param"]["Details"] == [detail("Value", "Never")]


def test_create_change_set_lists_additions_only(stack: Stack) -> None:
    """GIVEN no stack
    WHEN a CREATE change set is made for a log group
    THEN its one change is an Add, without replacement fields"""
    stack.cloudformation.create_change_set(
        StackName=stack.name,
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=template({"Logs": log_group(f"/{stack.name}/a")}),
    )

    described = stack.cloudformation.describe_change_set(
        StackName=stack.name, ChangeSetName="first"
    )

    assert [c["ResourceChange"] for c in described["Changes"]] == [
        {"Action": "Add", "LogicalResourceId": "Logs", "ResourceType": "AWS::Logs::LogGroup"}
    ]


def test_parameter_kept_with_use_previous_value_is_no_change(stack: Stack) -> None:
    """GIVEN a log group named from Env and keeping events Days days (a Number)
    WHEN a change set keeps Env with UsePreviousValue and sets Days to 30
    THEN the log group is modified in place, caused by Days alone"""
    logs = log_group({"Fn::Sub": f"/{stack.name}/${{Env}}"})
    logs["Properties"]["RetentionInDays"] = {"Ref": "Days"}
    body = template({"Logs": logs}, {**ENV, "Days": {"Type": "Number"}})
    stack.create(body, {"Env": "blue", "Days": "7"})

    stack.cloudformation.create_change_set(
        StackName=stack.name,
        ChangeSetName="longer",
        ChangeSetType="UPDATE",
        TemplateBody=body,
        Parameters=[
            {"ParameterKey": "Env", "UsePreviousValue": True},
            {"ParameterKey": "Days", "ParameterValue": "30"},
        ],
    )
    described = stack.cloudformation.describe_change_set(
        StackName=stack.name, ChangeSetName="longer"
    )

    (change,) = [c["ResourceChange"] for c in described["Changes"]]
    assert change["Replacement"] == "False"
    assert change["Details"] == [
        detail("RetentionInDays", "Never", "ParameterReference", entity="Days")
    ]
