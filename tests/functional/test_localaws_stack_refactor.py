"""CloudFormation stack refactoring on the local AWS (`localaws.stack_refactor`), in-process
through boto3: resources renamed or moved between stacks keep their physical resources,
every refusal the user guide lists ends the refactor CREATE_FAILED with its reason, and the
moved resources take updates and drift detection afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws import extensions, stack_refactor
from localaws.stack_events import StackStatusEvents
from tests.functional.localaws_helpers import MYSQL_INSTANCE, Clock

extensions.install_all()

LOG_GROUP_NAME = "/refactor/app"
LOGS = {
    "Type": "AWS::Logs::LogGroup",
    "Properties": {"LogGroupName": LOG_GROUP_NAME, "RetentionInDays": 7},
}
TOPIC = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "keeps the stack"}}
KEY = {
    "Type": "AWS::KMS::Key",
    "Properties": {
        "Description": "database key",
        "KeyPolicy": json.dumps({"Version": "2012-10-17", "Statement": []}),
    },
}


def body(resources: dict[str, Any], **sections: Any) -> str:
    return json.dumps({**sections, "Resources": resources})


BY_PARAMETER = {"Ref": "Retention"}


def database(key: str, retention: Any = BY_PARAMETER) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            **MYSQL_INSTANCE,
            "StorageEncrypted": True,
            "KmsKeyId": {"Ref": key},
            "BackupRetentionPeriod": retention,
        },
    }


RETENTION = {"Retention": {"Type": "Number", "Default": "7"}}


def db_stack(key: str = "Key", db: str = "Db", retention: Any = BY_PARAMETER) -> str:
    return body(
        {key: KEY, db: database(key, retention)},
        Parameters=RETENTION,
        Outputs={"DbId": {"Value": {"Ref": db}}},
    )


def mapping(source: str, source_id: str, destination: str, destination_id: str) -> dict:
    return {
        "Source": {"StackName": source, "LogicalResourceId": source_id},
        "Destination": {"StackName": destination, "LogicalResourceId": destination_id},
    }


class Cfn:
    """The CloudFormation calls the tests make."""

    def __init__(self) -> None:
        self.client = boto3.client("cloudformation")

    def create(self, name: str, template: str, **kwargs: Any) -> str:
        return self.client.create_stack(StackName=name, TemplateBody=template, **kwargs)["StackId"]

    def refactor(self, templates: dict[str, str], *mappings: dict, **kwargs: Any) -> str:
        definitions = [{"StackName": n, "TemplateBody": t} for n, t in templates.items()]
        if mappings:
            kwargs["ResourceMappings"] = list(mappings)
        return self.client.create_stack_refactor(StackDefinitions=definitions, **kwargs)[
            "StackRefactorId"
        ]

    def described(self, refactor_id: str) -> dict[str, Any]:
        answer = self.client.describe_stack_refactor(StackRefactorId=refactor_id)
        answer.pop("ResponseMetadata")
        return answer

    def refused(self, templates: dict[str, str], *mappings: dict, **kwargs: Any) -> str:
        """The reason of a refactor that validation refused."""
        described = self.described(self.refactor(templates, *mappings, **kwargs))
        assert (described["Status"], described["ExecutionStatus"]) == (
            "CREATE_FAILED",
            "UNAVAILABLE",
        )
        return described["StatusReason"]

    def actions(self, refactor_id: str) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("list_stack_refactor_actions").paginate(
            StackRefactorId=refactor_id
        )
        return [action for page in pages for action in page["StackRefactorActions"]]

    def execute(self, refactor_id: str) -> None:
        self.client.execute_stack_refactor(StackRefactorId=refactor_id)

    def stack(self, name: str) -> dict[str, Any]:
        return self.client.describe_stacks(StackName=name)["Stacks"][0]

    def resources(self, name: str) -> dict[str, tuple[str, str]]:
        answer = self.client.describe_stack_resources(StackName=name)["StackResources"]
        return {
            r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"]) for r in answer
        }

    def template(self, name: str) -> dict[str, Any]:
        found = self.client.get_template(StackName=name)["TemplateBody"]
        return found if isinstance(found, dict) else json.loads(found)

    def change_set(self, name: str, change_set: str, template: str) -> dict[str, Any]:
        self.client.create_change_set(
            StackName=name, ChangeSetName=change_set, TemplateBody=template, ChangeSetType="UPDATE"
        )
        return self.client.describe_change_set(StackName=name, ChangeSetName=change_set)

    def drift(self, name: str) -> dict[str, str]:
        detection = self.client.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
        self.client.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        drifts = self.client.describe_stack_resource_drifts(StackName=name)
        return {
            d["LogicalResourceId"]: d["StackResourceDriftStatus"]
            for d in drifts["StackResourceDrifts"]
        }


@pytest.fixture
def cfn(aws: None) -> Cfn:
    return Cfn()


@pytest.fixture
def two_stacks(cfn: Cfn) -> dict[str, str]:
    """Stack `source` with the log group and a topic, stack `target` with a topic: their ids."""
    return {
        "source": cfn.create("source", body({"Logs": LOGS, "Topic": TOPIC})),
        "target": cfn.create("target", body({"Topic": TOPIC})),
    }


MOVED = {"source": body({"Topic": TOPIC}), "target": body({"Topic": TOPIC, "Logs": LOGS})}


def log_groups() -> list[dict[str, Any]]:
    return boto3.client("logs").describe_log_groups()["logGroups"]


# --- installation -------------------------------------------------------------------------------


def test_the_installer_is_listed_before_the_change_set_latency() -> None:
    installers = extensions.INSTALLERS
    assert installers.index(stack_refactor.install) < installers.index(
        extensions.change_set_latency.install
    )


# --- renaming within one stack ------------------------------------------------------------------


def test_renaming_a_db_instance_and_its_key_keeps_both_physical_resources(cfn: Cfn) -> None:
    """GIVEN a stack with a KMS key and an encrypted RDS instance using it
    WHEN a refactor renames both (Key -> DbKey, Db -> Database) and is executed
    THEN the same instance and key carry the new logical ids: nothing is created or deleted,
    GetTemplate shows the new ids, and a change set of the same template has no changes"""
    stack_id = cfn.create("db", db_stack())
    rds, kms = boto3.client("rds"), boto3.client("kms")
    (instance_before,) = rds.describe_db_instances()["DBInstances"]
    keys_before = kms.list_keys()["Keys"]
    physical = cfn.resources("db")

    refactor_id = cfn.refactor(
        {"db": db_stack("DbKey", "Database")},
        mapping("db", "Key", "db", "DbKey"),
        mapping("db", "Db", "db", "Database"),
        Description="rename the database",
    )
    created = cfn.described(refactor_id)
    cfn.execute(refactor_id)

    assert created == {
        "StackRefactorId": refactor_id,
        "Description": "rename the database",
        "StackIds": [stack_id],
        "Status": "CREATE_COMPLETE",
        "ExecutionStatus": "AVAILABLE",
    }
    assert cfn.described(refactor_id)["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert cfn.described(refactor_id)["Status"] == "CREATE_COMPLETE"
    (instance_after,) = rds.describe_db_instances()["DBInstances"]
    for field in ("DBInstanceIdentifier", "DbiResourceId", "DBInstanceArn", "KmsKeyId"):
        assert instance_after[field] == instance_before[field]
    assert kms.list_keys()["Keys"] == keys_before
    assert cfn.resources("db") == {"DbKey": physical["Key"], "Database": physical["Db"]}
    assert set(cfn.template("db")["Resources"]) == {"DbKey", "Database"}
    assert cfn.stack("db")["Outputs"][0]["OutputValue"] == physical["Db"][1]
    same = cfn.change_set("db", "same", db_stack("DbKey", "Database"))
    assert same["Changes"] == []
    assert "didn't contain changes" in same["StatusReason"]


def test_a_renamed_db_instance_is_updated_in_place_and_stays_in_sync(cfn: Cfn) -> None:
    """GIVEN the renamed database of a refactor just executed
    WHEN drift is detected, then a change set raises its backup retention and runs
    THEN both resources are IN_SYNC, and the change is a Modify of the instance that changes
    it in place (same identifier, one instance)"""
    cfn.create("db", db_stack())
    refactor_id = cfn.refactor(
        {"db": db_stack("DbKey", "Database")},
        mapping("db", "Key", "db", "DbKey"),
        mapping("db", "Db", "db", "Database"),
    )
    cfn.execute(refactor_id)
    identifier = cfn.resources("db")["Database"][1]

    drift = cfn.drift("db")
    changes = cfn.change_set("db", "retention", db_stack("DbKey", "Database", 14))["Changes"]
    cfn.client.execute_change_set(StackName="db", ChangeSetName="retention")

    assert drift == {"DbKey": "IN_SYNC", "Database": "IN_SYNC"}
    (change,) = [c["ResourceChange"] for c in changes]
    assert (change["Action"], change["LogicalResourceId"], change["PhysicalResourceId"]) == (
        "Modify",
        "Database",
        identifier,
    )
    (instance,) = boto3.client("rds").describe_db_instances()["DBInstances"]
    assert (instance["DBInstanceIdentifier"], instance["BackupRetentionPeriod"]) == (identifier, 14)
    assert cfn.stack("db")["StackStatus"] == "UPDATE_COMPLETE"


def test_a_literal_equal_to_the_resolved_parameter_is_no_configuration_change(cfn: Cfn) -> None:
    """GIVEN a database whose BackupRetentionPeriod comes from a Number parameter given 7
    WHEN the refactor's template writes "7" instead of the Ref while renaming it
    THEN the refactor is valid: resolved values are compared, not template text"""
    cfn.create("db", db_stack(), Parameters=[{"ParameterKey": "Retention", "ParameterValue": "7"}])

    refactor_id = cfn.refactor(
        {"db": db_stack("Key", "Database", "7")}, mapping("db", "Db", "db", "Database")
    )

    assert cfn.described(refactor_id)["ExecutionStatus"] == "AVAILABLE"


# --- moving between stacks ----------------------------------------------------------------------


def test_a_log_group_moves_to_another_stack_and_keeps_its_arn(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """GIVEN a log group in stack `source`
    WHEN a refactor moves it to stack `target` (found without a mapping) and is executed
    THEN `target` lists the same log group, `source` no longer does, each stack has its new
    template, and both stacks are UPDATE_COMPLETE"""
    (group_before,) = log_groups()

    refactor_id = cfn.refactor(MOVED)
    cfn.execute(refactor_id)

    assert log_groups() == [group_before]
    assert cfn.resources("target")["Logs"] == ("AWS::Logs::LogGroup", LOG_GROUP_NAME)
    assert "Logs" not in cfn.resources("source")
    assert cfn.template("source") == json.loads(MOVED["source"])
    assert cfn.template("target") == json.loads(MOVED["target"])
    assert [cfn.stack(n)["StackStatus"] for n in two_stacks] == ["UPDATE_COMPLETE"] * 2


def test_a_moved_log_group_takes_updates_in_place_and_drift_detection(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """GIVEN a log group moved from `source` to `target`
    WHEN drift is detected on `target`, then a change set sets RetentionInDays to 30
    THEN the log group is IN_SYNC, and the update changes the same log group in place"""
    cfn.execute(cfn.refactor(MOVED))

    drift = cfn.drift("target")
    logs = {**LOGS, "Properties": {**LOGS["Properties"], "RetentionInDays": 30}}
    changes = cfn.change_set("target", "retention", body({"Topic": TOPIC, "Logs": logs}))["Changes"]
    cfn.client.execute_change_set(StackName="target", ChangeSetName="retention")

    assert drift["Logs"] == "IN_SYNC"
    (change,) = [c["ResourceChange"] for c in changes]
    assert (change["Action"], change["LogicalResourceId"], change["Replacement"]) == (
        "Modify",
        "Logs",
        "False",
    )
    (group,) = log_groups()
    assert (group["logGroupName"], group["retentionInDays"]) == (LOG_GROUP_NAME, 30)


def test_actions_name_the_stacks_by_arn_and_set_the_destinations_system_tags(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """GIVEN a log group that leaves `source` and appears in `target`
    THEN ListStackRefactorActions has one automatic MOVE with the physical id, stack ARNs in
    the mapping and the three aws:cloudformation tags with the destination's values"""
    (action,) = cfn.actions(cfn.refactor(MOVED))

    assert action == {
        "Action": "MOVE",
        "Entity": "RESOURCE",
        "PhysicalResourceId": LOG_GROUP_NAME,
        "Description": "No configuration changes detected.",
        "Detection": "AUTO",
        "DetectionReason": action["DetectionReason"],
        "TagResources": [
            {"Key": "aws:cloudformation:stack-name", "Value": "target"},
            {"Key": "aws:cloudformation:logical-id", "Value": "Logs"},
            {"Key": "aws:cloudformation:stack-id", "Value": two_stacks["target"]},
        ],
        "UntagResources": [
            "aws:cloudformation:stack-name",
            "aws:cloudformation:logical-id",
            "aws:cloudformation:stack-id",
        ],
        "ResourceMapping": {
            "Source": {"StackName": two_stacks["source"], "LogicalResourceId": "Logs"},
            "Destination": {"StackName": two_stacks["target"], "LogicalResourceId": "Logs"},
        },
    }


def test_a_mapping_moves_and_renames_at_once_and_actions_are_paginated(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """GIVEN a mapping source:Logs -> target:AppLogs and the source's topic moved too
    THEN the actions are one MANUAL and one AUTO move, one per page with MaxResults=1"""
    cfn.create("third", body({"Topic": TOPIC}))
    refactor_id = cfn.refactor(
        {
            "source": body({"Other": TOPIC}),
            "target": body({"Topic": TOPIC, "AppLogs": LOGS}),
            "third": body({"Topic": TOPIC}),
        },
        mapping("source", "Logs", "target", "AppLogs"),
        mapping("source", "Topic", "source", "Other"),
    )
    first = cfn.client.list_stack_refactor_actions(StackRefactorId=refactor_id, MaxResults=1)

    assert len(first["StackRefactorActions"]) == 1 and first["NextToken"]
    assert [
        (a["Detection"], a["ResourceMapping"]["Destination"]["LogicalResourceId"])
        for a in cfn.actions(refactor_id)
    ] == [("MANUAL", "AppLogs"), ("MANUAL", "Other")]


def test_a_refactor_reads_a_template_from_s3(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="target.json", Body=MOVED["target"].encode())
    refactor_id = cfn.client.create_stack_refactor(
        StackDefinitions=[
            {"StackName": "source", "TemplateBody": MOVED["source"]},
            {
                "StackName": "target",
                "TemplateURL": "https://templates.s3.amazonaws.com/target.json",
            },
        ]
    )["StackRefactorId"]

    assert cfn.described(refactor_id)["ExecutionStatus"] == "AVAILABLE"


def test_a_refactor_creates_a_destination_stack_when_enabled(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """GIVEN EnableStackCreation and a stack `logs` that does not exist
    WHEN the log group moves there
    THEN the new stack's ARN is among StackIds at once, a CREATE/STACK action says so, and
    after execution the stack is CREATE_COMPLETE with the same log group"""
    refactor_id = cfn.refactor(
        {"source": MOVED["source"], "logs": body({"Logs": LOGS})}, EnableStackCreation=True
    )
    new_stack_id = cfn.described(refactor_id)["StackIds"][1]
    actions = cfn.actions(refactor_id)
    cfn.execute(refactor_id)

    assert new_stack_id.split("/")[1] == "logs"
    assert [(a["Action"], a["Entity"]) for a in actions] == [
        ("CREATE", "STACK"),
        ("MOVE", "RESOURCE"),
    ]
    assert actions[0]["Description"] == f"Stack {new_stack_id} created."
    assert cfn.stack("logs")["StackId"] == new_stack_id
    assert cfn.stack("logs")["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.resources("logs") == {"Logs": ("AWS::Logs::LogGroup", LOG_GROUP_NAME)}
    assert len(log_groups()) == 1


def test_execution_sends_stack_status_changes_without_a_client_request_token(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """GIVEN two stacks whose past events were already polled
    WHEN a refactor between them is executed
    THEN each stack sends UPDATE_IN_PROGRESS then UPDATE_COMPLETE, with no client request
    token, and the destination records IMPORT_COMPLETE for the resource it received"""
    poller = StackStatusEvents(cfn.client)
    poller.poll()

    cfn.execute(cfn.refactor(MOVED))
    events = poller.poll()

    statuses = {
        name: [e["detail"]["status-details"]["status"] for e in events if e["resources"] == [arn]]
        for name, arn in two_stacks.items()
    }
    assert statuses == {
        "source": ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"],
        "target": ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"],
    }
    assert {e["detail"]["client-request-token"] for e in events} == {""}
    target_events = cfn.client.describe_stack_events(StackName="target")["StackEvents"]
    assert ("Logs", "IMPORT_COMPLETE") in [
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in target_events
    ]


def test_a_failed_execution_leaves_everything_as_it_was(
    cfn: Cfn, two_stacks: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a refactor whose execution fails half-way
    THEN the stacks keep their templates and resources and end UPDATE_ROLLBACK_COMPLETE,
    and the refactor ends ROLLBACK_COMPLETE with the reason"""
    refactor_id = cfn.refactor(MOVED)

    def fail(*args: Any) -> None:
        raise RuntimeError("tagging failed")

    monkeypatch.setattr(stack_refactor, "_retag", fail)
    cfn.execute(refactor_id)

    described = cfn.described(refactor_id)
    assert described["ExecutionStatus"] == "ROLLBACK_COMPLETE"
    assert "tagging failed" in described["ExecutionStatusReason"]
    assert cfn.resources("source")["Logs"] == ("AWS::Logs::LogGroup", LOG_GROUP_NAME)
    assert "Logs" not in cfn.resources("target")
    assert set(cfn.template("source")["Resources"]) == {"Logs", "Topic"}
    assert [cfn.stack(n)["StackStatus"] for n in two_stacks] == ["UPDATE_ROLLBACK_COMPLETE"] * 2


# --- refusals -----------------------------------------------------------------------------------


def test_a_configuration_change_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    logs = {**LOGS, "Properties": {**LOGS["Properties"], "RetentionInDays": 14}}

    reason = cfn.refused(
        {"source": MOVED["source"], "target": body({"Topic": TOPIC, "Logs": logs})}
    )

    assert reason == (
        f"{two_stacks['target']}: Resource [Logs] changes its configuration (RetentionInDays): "
        "stack refactoring cannot modify resource configurations. Update the stack first, "
        "then refactor it."
    )


def test_a_new_resource_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    reason = cfn.refused(
        {"source": MOVED["source"], "target": body({"Topic": TOPIC, "Logs": LOGS, "New": TOPIC})}
    )

    assert reason == (
        f"{two_stacks['target']}: Resource [New] is not a resource of the stack nor the "
        "destination of a resource mapping: stack refactoring cannot create resources."
    )


def test_a_deleted_resource_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    reason = cfn.refused({"source": MOVED["source"], "target": body({"Topic": TOPIC})})

    assert reason == (
        f"{two_stacks['source']}: Resource [Logs] is neither in the stack's new template nor "
        "moved to another stack: stack refactoring cannot delete resources."
    )


def test_a_rename_without_a_mapping_is_a_deletion(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    reason = cfn.refused({"source": body({"Topic": TOPIC, "AppLogs": LOGS})})

    assert "Resource [Logs] is neither in the stack's new template" in reason


def test_a_mapping_onto_an_existing_resource_is_a_deletion(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    """The destination's own Topic would be replaced by the source's log group."""
    reason = cfn.refused(
        {"source": MOVED["source"], "target": body({"Topic": LOGS})},
        mapping("source", "Logs", "target", "Topic"),
    )

    assert reason.startswith(f"{two_stacks['target']}: Resource [Topic] is neither in the stack")


def test_a_reference_rewritten_as_an_import_of_a_new_export_is_no_change(cfn: Cfn) -> None:
    """GIVEN a topic whose DisplayName is `!Ref Logs`, in the log group's stack
    WHEN the log group moves to `target`, which exports its name, and the topic imports it
    (the launch blog's pattern)
    THEN the refactor is valid, and after execution `target` exports the same name"""
    named = {**TOPIC, "Properties": {"DisplayName": {"Ref": "Logs"}}}
    imported = {**TOPIC, "Properties": {"DisplayName": {"Fn::ImportValue": "app-logs"}}}
    exported = {"Name": {"Value": {"Ref": "Logs"}, "Export": {"Name": "app-logs"}}}
    cfn.create("source", body({"Logs": LOGS, "Named": named}))
    cfn.create("target", body({"Topic": TOPIC}))

    refactor_id = cfn.refactor(
        {
            "source": body({"Named": imported}),
            "target": body({"Topic": TOPIC, "Logs": LOGS}, Outputs=exported),
        }
    )
    created = cfn.described(refactor_id)
    cfn.execute(refactor_id)

    assert created["ExecutionStatus"] == "AVAILABLE", created.get("StatusReason")
    exports = cfn.client.list_exports()["Exports"]
    assert [(e["Name"], e["Value"]) for e in exports] == [("app-logs", LOG_GROUP_NAME)]
    assert exports[0]["ExportingStackId"] == cfn.stack("target")["StackId"]


def test_a_type_change_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    reason = cfn.refused(
        {"source": MOVED["source"], "target": body({"Topic": TOPIC, "Logs": TOPIC})},
        mapping("source", "Logs", "target", "Logs"),
    )

    assert reason == (
        f"{two_stacks['target']}: Resource [Logs] of type AWS::Logs::LogGroup cannot become "
        "[Logs] of type AWS::SNS::Topic: stack refactoring cannot change a resource's type."
    )


def test_a_resource_into_several_stacks_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    cfn.create("third", body({"Topic": TOPIC}))

    reason = cfn.refused(
        {
            "source": MOVED["source"],
            "target": MOVED["target"],
            "third": body({"Topic": TOPIC, "Logs": LOGS}),
        }
    )

    assert reason == (
        f"{two_stacks['source']}: Resource [Logs] is in the templates of several stacks "
        "(target, third): you can't refactor the same resource into multiple stacks."
    )


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_an_unsupported_resource_type_is_refused(cfn: Cfn) -> None:
    """AWS::CloudFormation::WaitConditionHandle is on AWS's list of types stack refactoring
    does not support."""
    handle = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    source_id = cfn.create("source", body({"Handle": handle, "Topic": TOPIC}))
    cfn.create("target", body({"Topic": TOPIC}))

    reason = cfn.refused(
        {"source": body({"Topic": TOPIC}), "target": body({"Topic": TOPIC, "Handle": handle})}
    )

    assert reason == (
        f"{source_id}: Stack Refactor does not support AWS::CloudFormation::WaitConditionHandle: "
        "resource [Handle] cannot be refactored."
    )
    assert "AWS::ElastiCache::ReplicationGroup" in stack_refactor.UNSUPPORTED_TYPES
    assert len(stack_refactor.UNSUPPORTED_TYPES) == 132


def test_an_added_parameter_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    parameters = {"Stage": {"Type": "String", "Default": "prod"}}

    reason = cfn.refused(
        {
            "source": MOVED["source"],
            "target": body({"Topic": TOPIC, "Logs": LOGS}, Parameters=parameters),
        }
    )

    assert reason == (
        f"{two_stacks['target']}: Parameters [Stage] are added, changed or removed: stack "
        "refactoring cannot change or add parameters, conditions, or mappings. Update the "
        "stack first, then refactor it."
    )


def test_a_moved_resource_using_the_stack_name_is_refused(cfn: Cfn) -> None:
    logs = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": {"Fn::Sub": "/refactor/${AWS::StackName}"}},
    }
    source_id = cfn.create("source", body({"Logs": logs, "Topic": TOPIC}))
    cfn.create("target", body({"Topic": TOPIC}))

    reason = cfn.refused(
        {"source": body({"Topic": TOPIC}), "target": body({"Topic": TOPIC, "Logs": logs})}
    )

    assert reason == (
        f"{source_id}: Resource [Logs] refers to AWS::StackName, whose value differs between "
        "the source and destination stacks: it cannot be moved to stack target."
    )


def test_a_stack_left_empty_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    cfn.create("lonely", body({"Logs2": {**LOGS, "Properties": {"LogGroupName": "/other"}}}))

    reason = cfn.refused({"lonely": body({}), "target": body({"Topic": TOPIC})})

    assert reason.endswith(
        ": CloudFormation doesn't support empty stacks. If refactoring would leave a stack "
        "with no resources, you must first add at least one resource to that stack before "
        "you run create-stack-refactor."
    )


def test_an_export_in_use_must_keep_its_value(cfn: Cfn) -> None:
    """GIVEN stack `source` exporting the log group's name, which stack `user` imports
    WHEN the refactor moves the log group away and drops the output
    THEN it is refused; moving the export along with it is accepted"""
    exported = {"Name": {"Value": {"Ref": "Logs"}, "Export": {"Name": "app-logs"}}}
    source_id = cfn.create("source", body({"Logs": LOGS, "Topic": TOPIC}, Outputs=exported))
    cfn.create("target", body({"Topic": TOPIC}))
    imported = {**TOPIC, "Properties": {"DisplayName": {"Fn::ImportValue": "app-logs"}}}
    cfn.create("user", body({"Topic": imported}))

    reason = cfn.refused(MOVED)
    kept = cfn.refactor(
        {
            "source": MOVED["source"],
            "target": body({"Topic": TOPIC, "Logs": LOGS}, Outputs=exported),
        }
    )

    assert reason == (
        f"{source_id}: Export app-logs is imported by stack(s) user: it must stay exported "
        "with the same value."
    )
    assert cfn.described(kept)["ExecutionStatus"] == "AVAILABLE"


def test_a_stack_with_a_stack_policy_is_refused(cfn: Cfn) -> None:
    policy = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
            ]
        }
    )
    source_id = cfn.create("source", body({"Logs": LOGS, "Topic": TOPIC}), StackPolicyBody=policy)
    cfn.create("target", body({"Topic": TOPIC}))

    reason = cfn.refused(MOVED)

    assert reason == (
        f"{source_id}: Stack refactor doesn't support stacks that have stack policies attached, "
        "regardless of what the policies allow or deny."
    )


def test_a_stack_in_review_is_refused(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    """A stack made by a CREATE change set stays REVIEW_IN_PROGRESS until it is executed."""
    cfn.client.create_change_set(
        StackName="pending",
        ChangeSetName="first",
        TemplateBody=body({"Topic": TOPIC}),
        ChangeSetType="CREATE",
    )
    pending_id = cfn.stack("pending")["StackId"]

    reason = cfn.refused({"pending": body({"Topic": TOPIC}), "target": body({"Topic": TOPIC})})

    assert reason == (
        f"{pending_id}: Stack pending is in REVIEW_IN_PROGRESS state and can not be refactored."
    )


def test_a_missing_stack_is_refused_without_stack_creation(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    reason = cfn.refused({"source": MOVED["source"], "logs": body({"Logs": LOGS})})

    assert reason == "logs: Stack with id logs does not exist"


def test_a_template_body_over_51200_bytes_is_refused_as_aws_reports_it(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    big = json.dumps({"Description": "x" * 51_200, "Resources": {"Topic": TOPIC, "Logs": LOGS}})

    reason = cfn.refused({"source": MOVED["source"], "target": big})

    assert reason == (
        f"{two_stacks['target']}:  1 validation error detected: Value '{big}' at "
        "'templateBody' failed to satisfy constraint: Member must have length less than or "
        "equal to 51200"
    )


@pytest.mark.parametrize(
    ("definitions", "mappings", "message"),
    [
        ([], [], "at least one stack"),
        ([f"s{n}" for n in range(6)], [], "at most 5 stacks"),
        (["source"], [mapping("source", "Logs", "target", "Logs")], "not one of the stack"),
    ],
)
def test_malformed_requests_are_validation_errors(
    cfn: Cfn, definitions: list[str], mappings: list[dict], message: str
) -> None:
    with pytest.raises(ClientError, match=message) as raised:
        cfn.client.create_stack_refactor(
            StackDefinitions=[{"StackName": n, "TemplateBody": "{}"} for n in definitions],
            ResourceMappings=mappings,
        )
    assert raised.value.response["Error"]["Code"] == "ValidationError"


# --- execution status ---------------------------------------------------------------------------


def test_only_an_available_refactor_can_be_executed(cfn: Cfn, two_stacks: dict[str, str]) -> None:
    failed = cfn.refactor({"source": MOVED["source"], "target": body({"Topic": TOPIC})})
    executed = cfn.refactor(MOVED)
    cfn.execute(executed)

    for refactor_id, status in ((failed, "UNAVAILABLE"), (executed, "EXECUTE_COMPLETE")):
        with pytest.raises(ClientError, match=rf"current execution status of \[{status}\]") as e:
            cfn.execute(refactor_id)
        assert e.value.response["Error"]["Code"] == "ValidationError"


def test_a_refactor_is_obsolete_once_one_of_its_stacks_was_updated(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    refactor_id = cfn.refactor(MOVED)
    cfn.client.update_stack(StackName="target", TemplateBody=body({"Topic": TOPIC, "Other": TOPIC}))

    with pytest.raises(ClientError, match=r"current execution status of \[OBSOLETE\]"):
        cfn.execute(refactor_id)
    described = cfn.described(refactor_id)
    assert described["ExecutionStatus"] == "OBSOLETE"
    assert two_stacks["target"] in described["ExecutionStatusReason"]
    assert cfn.resources("source")["Logs"] == ("AWS::Logs::LogGroup", LOG_GROUP_NAME)


def test_an_unknown_refactor_is_not_found(cfn: Cfn) -> None:
    with pytest.raises(cfn.client.exceptions.StackRefactorNotFoundException) as raised:
        cfn.client.describe_stack_refactor(StackRefactorId="4a3f7e2c-0000-4000-8000-000000000000")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_stack_refactors_filters_by_execution_status(
    cfn: Cfn, two_stacks: dict[str, str]
) -> None:
    failed = cfn.refactor({"source": MOVED["source"], "target": body({"Topic": TOPIC})})
    available = cfn.refactor(MOVED)
    executed = cfn.refactor(MOVED)
    cfn.execute(executed)

    def listed(*statuses: str) -> list[str]:
        pages = cfn.client.get_paginator("list_stack_refactors").paginate(
            ExecutionStatusFilter=list(statuses), PaginationConfig={"PageSize": 1}
        )
        return [s["StackRefactorId"] for page in pages for s in page["StackRefactorSummaries"]]

    assert listed() == [failed, available, executed]
    assert listed("UNAVAILABLE") == [failed]
    assert listed("EXECUTE_COMPLETE", "AVAILABLE") == [available, executed]


# --- latency ------------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(stack_refactor, "_now", clock)
    monkeypatch.setenv(stack_refactor.SECONDS, "30")
    yield clock


def test_latency_holds_creation_then_execution_in_progress(
    cfn: Cfn, two_stacks: dict[str, str], clock: Clock
) -> None:
    """GIVEN LOCALAWS_STACK_REFACTOR_SECONDS=30
    THEN a new refactor is CREATE_IN_PROGRESS, without actions and not executable, for 30 s;
    an executed one is EXECUTE_IN_PROGRESS for 30 s, then EXECUTE_COMPLETE"""
    refactor_id = cfn.refactor(MOVED)

    creating = cfn.described(refactor_id)
    no_actions = cfn.actions(refactor_id)
    with pytest.raises(ClientError, match=r"\[UNAVAILABLE\]"):
        cfn.execute(refactor_id)
    clock.now += 30
    created = cfn.described(refactor_id)
    cfn.execute(refactor_id)
    executing = cfn.described(refactor_id)
    clock.now += 30
    executed = cfn.described(refactor_id)

    assert (creating["Status"], creating["ExecutionStatus"]) == (
        "CREATE_IN_PROGRESS",
        "UNAVAILABLE",
    )
    assert no_actions == []
    assert (created["Status"], created["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert (executing["Status"], executing["ExecutionStatus"]) == (
        "CREATE_COMPLETE",
        "EXECUTE_IN_PROGRESS",
    )
    assert executed["ExecutionStatus"] == "EXECUTE_COMPLETE"


# --- the server ---------------------------------------------------------------------------------


def test_the_calls_work_on_the_local_aws_server(local_aws_client: Any) -> None:
    """GIVEN the local AWS server (not moto in-process)
    WHEN a log group moves between two stacks
    THEN the refactor validates, lists its action, executes, and an unknown id is a 404"""
    cloudformation = local_aws_client("cloudformation")
    suffix = uuid.uuid4().hex[:8]
    source, target = f"source-{suffix}", f"target-{suffix}"
    logs = {**LOGS, "Properties": {**LOGS["Properties"], "LogGroupName": f"/refactor/{suffix}"}}
    cloudformation.create_stack(StackName=source, TemplateBody=body({"Logs": logs, "Topic": TOPIC}))
    cloudformation.create_stack(StackName=target, TemplateBody=body({"Topic": TOPIC}))

    refactor_id = cloudformation.create_stack_refactor(
        StackDefinitions=[
            {"StackName": source, "TemplateBody": body({"Topic": TOPIC})},
            {"StackName": target, "TemplateBody": body({"Topic": TOPIC, "Logs": logs})},
        ]
    )["StackRefactorId"]
    (action,) = cloudformation.list_stack_refactor_actions(StackRefactorId=refactor_id)[
        "StackRefactorActions"
    ]
    cloudformation.execute_stack_refactor(StackRefactorId=refactor_id)

    assert action["PhysicalResourceId"] == f"/refactor/{suffix}"
    described = cloudformation.describe_stack_refactor(StackRefactorId=refactor_id)
    assert (described["Status"], described["ExecutionStatus"]) == (
        "CREATE_COMPLETE",
        "EXECUTE_COMPLETE",
    )
    resources = cloudformation.describe_stack_resources(StackName=target)["StackResources"]
    assert {r["LogicalResourceId"] for r in resources} == {"Topic", "Logs"}
    with pytest.raises(cloudformation.exceptions.StackRefactorNotFoundException) as raised:
        cloudformation.describe_stack_refactor(StackRefactorId=str(uuid.uuid4()))
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
