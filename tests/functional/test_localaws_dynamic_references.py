"""Dynamic references (`{{resolve:...}}`) resolved as CloudFormation resolves them
(`localaws.dynamic_references`), and failures rolled back (`localaws.rollback`), through a
real local AWS server.

An SSM parameter created by the stack is the window onto a resolved value: its Value is
the property under test, and GetParameter shows what CloudFormation handed the service.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import dynamic_references
from tests.functional.localaws_helpers import StackUnderTest

PASSWORD = "pw-Kx81-unique"  # a secret value that must never show up outside the resource
CREDENTIALS = {"username": "dbadmin", "password": PASSWORD, "port": 3306}


class Stack(StackUnderTest):
    """One test's stack and its own uniquely named secret and SSM parameters."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "dyn")
        self.ssm = client("ssm")
        self.secrets = client("secretsmanager")

    # --- what the references point at

    def secret(self, value: str | dict[str, Any] = CREDENTIALS) -> dict[str, Any]:
        text = value if isinstance(value, str) else json.dumps(value)
        return self.secrets.create_secret(Name=f"{self.name}/db", SecretString=text)

    def parameter(self, suffix: str, value: str, kind: str = "String") -> str:
        name = f"/{self.name}/{suffix}"
        self.ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)
        return name

    # --- the stack

    def sink(self, value: Any, description: str = "sink") -> dict[str, Any]:
        """An SSM parameter resource whose Value is `value`, named after the stack."""
        return {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": {"Fn::Sub": "/${AWS::StackName}/out/" + description},
                "Type": "String",
                "Value": value,
                "Description": description,
            },
        }

    def create(self, resources: dict[str, Any], **template: Any) -> None:  # type: ignore[override]
        super().create(body(resources, **template))

    def update(self, resources: dict[str, Any], **template: Any) -> None:  # type: ignore[override]
        super().update(body(resources, **template))

    def change_set(self, kind: str, resources: dict[str, Any]) -> None:
        self.cloudformation.create_change_set(
            StackName=self.name,
            ChangeSetName="next",
            ChangeSetType=kind,
            TemplateBody=body(resources),
        )
        self.cloudformation.execute_change_set(StackName=self.name, ChangeSetName="next")

    def out(self, description: str = "sink") -> str:
        name = f"/{self.name}/out/{description}"
        return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]

    def out_exists(self, description: str) -> bool:
        try:
            self.out(description)
        except ClientError:
            return False
        return True

    def events(self) -> list[dict[str, Any]]:
        return self.cloudformation.describe_stack_events(StackName=self.name)["StackEvents"][::-1]

    def failed_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["ResourceStatus"].endswith("_FAILED")]

    def everything_shown(self) -> str:
        """All that CloudFormation shows about the stack, as one text."""
        described = self.cloudformation.describe_stacks(StackName=self.name)["Stacks"]
        template = self.cloudformation.get_template(StackName=self.name)["TemplateBody"]
        resources = self.cloudformation.describe_stack_resources(StackName=self.name)
        shown = [described, template, self.events(), resources["StackResources"]]
        return json.dumps(shown, default=str)


def body(
    resources: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> str:
    template: dict[str, Any] = {"Resources": resources}
    if outputs is not None:
        template["Outputs"] = outputs
    if parameters is not None:
        template["Parameters"] = parameters
    return json.dumps(template)


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- Secrets Manager ----------------------------------------------------------------------------


def test_secret_json_key_is_resolved_into_the_property(stack: Stack) -> None:
    """GIVEN a secret holding JSON credentials
    WHEN a stack's property is {{resolve:secretsmanager:<name>:SecretString:password}}
    THEN the resource receives the password"""
    stack.secret()

    stack.create(
        {
            "Sink": stack.sink(
                f"{{{{resolve:secretsmanager:{stack.name}/db:SecretString:password}}}}"
            )
        }
    )

    assert stack.out() == PASSWORD


def test_secret_without_json_key_resolves_to_the_whole_secret_string(stack: Stack) -> None:
    """GIVEN a secret
    WHEN the reference names no json-key
    THEN the resource receives the whole SecretString"""
    stack.secret("plain-token-value")

    stack.create({"Sink": stack.sink(f"{{{{resolve:secretsmanager:{stack.name}/db}}}}")})

    assert stack.out() == "plain-token-value"


def test_secret_referenced_by_arn_is_resolved(stack: Stack) -> None:
    """GIVEN a secret
    WHEN the reference names it by ARN (which has colons of its own)
    THEN the json-key after the ARN is resolved"""
    arn = stack.secret()["ARN"]

    stack.create(
        {"Sink": stack.sink(f"{{{{resolve:secretsmanager:{arn}:SecretString:username}}}}")}
    )

    assert stack.out() == "dbadmin"


def test_reference_without_stage_reads_the_current_version_after_a_rotation(stack: Stack) -> None:
    """GIVEN a secret whose value was replaced (the new version is AWSCURRENT)
    WHEN the reference names neither version-stage nor version-id
    THEN the resource receives the current value, not the previous one"""
    secret = stack.secret()
    stack.secrets.put_secret_value(
        SecretId=secret["ARN"], SecretString=json.dumps({**CREDENTIALS, "password": "rotated"})
    )

    stack.create(
        {
            "Sink": stack.sink(
                f"{{{{resolve:secretsmanager:{stack.name}/db:SecretString:password}}}}"
            )
        }
    )

    assert stack.out() == "rotated"


def test_version_stage_and_version_id_select_that_version(stack: Stack) -> None:
    """GIVEN a secret with a previous and a current version
    WHEN one reference asks for AWSPREVIOUS and another for the current version's id
    THEN each resource receives its version's value"""
    secret = stack.secret()
    current = stack.secrets.put_secret_value(
        SecretId=secret["ARN"], SecretString=json.dumps({**CREDENTIALS, "password": "rotated"})
    )
    prefix = f"{{{{resolve:secretsmanager:{stack.name}/db:SecretString:password"

    stack.create(
        {
            "Previous": stack.sink(f"{prefix}:AWSPREVIOUS}}}}", "previous"),
            "ById": stack.sink(f"{prefix}::{current['VersionId']}}}}}", "by-id"),
        }
    )

    assert (stack.out("previous"), stack.out("by-id")) == (PASSWORD, "rotated")


def test_secret_created_in_the_same_stack_is_resolved_through_sub(stack: Stack) -> None:
    """GIVEN a template with an AWS::SecretsManager::Secret and a resource whose property is
    !Sub '{{resolve:secretsmanager:${DBSecret}:SecretString:password}}'
    WHEN the stack is created
    THEN the resource receives the password generated into that secret"""
    db_secret = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}/generated"},
            "GenerateSecretString": {
                "SecretStringTemplate": '{"username": "dbadmin"}',
                "GenerateStringKey": "password",
                "ExcludePunctuation": True,
            },
        },
    }
    reference = {"Fn::Sub": "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"}

    stack.create({"DBSecret": db_secret, "Sink": stack.sink(reference)})

    generated = stack.secrets.get_secret_value(SecretId=f"{stack.name}/generated")
    assert stack.out() == json.loads(generated["SecretString"])["password"]


# --- Systems Manager Parameter Store ------------------------------------------------------------


def test_ssm_references_resolve_the_latest_or_the_pinned_version(stack: Stack) -> None:
    """GIVEN an SSM String parameter at version 2
    WHEN one reference names no version and another pins version 1
    THEN they receive version 2's and version 1's value"""
    name = stack.parameter("engine", "8.0.40")
    stack.parameter("engine", "8.4.8")

    stack.create(
        {
            "Latest": stack.sink(f"{{{{resolve:ssm:{name}}}}}", "latest"),
            "Pinned": stack.sink(f"{{{{resolve:ssm:{name}:1}}}}", "pinned"),
        }
    )

    assert (stack.out("latest"), stack.out("pinned")) == ("8.4.8", "8.0.40")


def test_ssm_secure_reference_resolves_the_decrypted_secure_string(stack: Stack) -> None:
    """GIVEN an SSM SecureString parameter
    WHEN a property is {{resolve:ssm-secure:<name>}}
    THEN the resource receives the plaintext"""
    name = stack.parameter("token", PASSWORD, kind="SecureString")

    stack.create({"Sink": stack.sink(f"{{{{resolve:ssm-secure:{name}}}}}")})

    assert stack.out() == PASSWORD


def test_several_references_in_one_string_are_all_resolved(stack: Stack) -> None:
    """GIVEN a secret and an SSM parameter
    WHEN one property holds a reference to each between literal text
    THEN both are replaced and the text around them kept"""
    stack.secret()
    host = stack.parameter("host", "db.internal")
    value = (
        f"mysql://{{{{resolve:secretsmanager:{stack.name}/db:SecretString:username}}}}"
        f"@{{{{resolve:ssm:{host}}}}}:{{{{resolve:secretsmanager:{stack.name}/db:SecretString:port}}}}"
    )

    stack.create({"Sink": stack.sink(value)})

    assert stack.out() == "mysql://dbadmin@db.internal:3306"


def test_sub_built_reference_to_a_parameter_of_the_same_stack_is_resolved(stack: Stack) -> None:
    """GIVEN a template with an SSM parameter and a resource whose property is
    !Sub '{{resolve:ssm:${Setting}}}'
    WHEN the stack is created
    THEN the resource receives the parameter's value (Sub made it wait for the parameter)"""
    setting = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {
            "Name": {"Fn::Sub": "/${AWS::StackName}/setting"},
            "Type": "String",
            "Value": "from-the-same-stack",
        },
    }

    stack.create(
        {"Sink": stack.sink({"Fn::Sub": "{{resolve:ssm:${Setting}}}"}), "Setting": setting}
    )

    assert stack.out() == "from-the-same-stack"


# --- what CloudFormation shows ------------------------------------------------------------------


def test_template_and_stack_show_the_literal_reference_and_no_value(stack: Stack) -> None:
    """GIVEN a stack whose parameter value is a dynamic reference used by a resource
    WHEN the stack is described, its template read and its events listed
    THEN the literal reference shows and the resolved secret never does"""
    stack.secret()
    reference = f"{{{{resolve:secretsmanager:{stack.name}/db:SecretString:password}}}}"
    stack.cloudformation.create_stack(
        StackName=stack.name,
        TemplateBody=body(
            {"Sink": stack.sink({"Ref": "Password"})},
            parameters={"Password": {"Type": "String"}},
            outputs={"SinkName": {"Value": {"Ref": "Sink"}}},
        ),
        Parameters=[{"ParameterKey": "Password", "ParameterValue": reference}],
    )

    shown = stack.everything_shown()

    assert stack.out() == PASSWORD
    assert reference in shown
    assert PASSWORD not in shown


def test_a_changed_secret_reaches_a_resource_only_when_an_update_touches_it(stack: Stack) -> None:
    """GIVEN a resource that received a secret, and the secret changed since
    WHEN one update changes another resource, and a second one the resource itself
    THEN the resource keeps the old value after the first and has the new after the second"""
    secret = stack.secret()
    reference = f"{{{{resolve:secretsmanager:{stack.name}/db:SecretString:password}}}}"
    stack.create({"Sink": stack.sink(reference)})
    stack.secrets.put_secret_value(
        SecretId=secret["ARN"], SecretString=json.dumps({**CREDENTIALS, "password": "rotated"})
    )

    stack.update({"Sink": stack.sink(reference), "Other": stack.sink("x", "other")})
    untouched = stack.out()
    touched_sink = stack.sink(reference)
    touched_sink["Properties"]["AllowedPattern"] = ".*"
    stack.update({"Sink": touched_sink, "Other": stack.sink("x", "other")})

    assert (untouched, stack.out()) == (PASSWORD, "rotated")


# --- references that do not resolve -------------------------------------------------------------


def test_missing_secret_rolls_the_create_back_naming_the_reference(stack: Stack) -> None:
    """GIVEN no secret of that name, and a template whose second resource refers to it
    WHEN the stack is created
    THEN the call succeeds, the stack ends ROLLBACK_COMPLETE, the resource's CREATE_FAILED
    reason names the reference, and the resource created first is deleted"""
    reference = f"{{{{resolve:secretsmanager:{stack.name}/missing:SecretString:password}}}}"
    second = {**stack.sink(reference, "second"), "DependsOn": "First"}

    stack.create({"First": stack.sink("created-first", "first"), "Second": second})

    assert stack.status() == "ROLLBACK_COMPLETE"
    [failed] = stack.failed_events()
    assert (failed["LogicalResourceId"], failed["ResourceStatus"]) == ("Second", "CREATE_FAILED")
    assert reference in failed["ResourceStatusReason"]
    assert "can't find the specified secret" in failed["ResourceStatusReason"]
    assert not stack.out_exists("first")


def test_missing_json_key_fails_the_resource_without_revealing_the_secret(stack: Stack) -> None:
    """GIVEN a secret without the key 'pasword'
    WHEN a stack refers to {{resolve:secretsmanager:<name>:SecretString:pasword}}
    THEN the stack rolls back, the reason names the missing key and no secret value shows"""
    stack.secret()

    stack.create(
        {"Sink": stack.sink(f"{{{{resolve:secretsmanager:{stack.name}/db:SecretString:pasword}}}}")}
    )

    [failed] = stack.failed_events()
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert "no key 'pasword'" in failed["ResourceStatusReason"]
    shown = stack.everything_shown()
    assert PASSWORD not in shown
    assert "dbadmin" not in shown


def test_missing_ssm_parameter_rolls_the_create_back(stack: Stack) -> None:
    """GIVEN no SSM parameter of that name
    WHEN a stack refers to it with {{resolve:ssm:...}}
    THEN the stack ends ROLLBACK_COMPLETE and the reason names the parameter"""
    stack.create({"Sink": stack.sink(f"{{{{resolve:ssm:/{stack.name}/missing}}}}")})

    [failed] = stack.failed_events()
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert f"/{stack.name}/missing" in failed["ResourceStatusReason"]


def test_failed_reference_in_a_create_change_set_rolls_the_stack_back(stack: Stack) -> None:
    """GIVEN a CREATE change set whose second resource refers to a missing SSM parameter
    WHEN it is executed
    THEN the stack ends ROLLBACK_COMPLETE with no resources, the first one deleted"""
    second = {
        **stack.sink(f"{{{{resolve:ssm:/{stack.name}/missing}}}}", "second"),
        "DependsOn": "First",
    }

    stack.change_set("CREATE", {"First": stack.sink("created-first", "first"), "Second": second})

    listed = stack.cloudformation.describe_stack_resources(StackName=stack.name)
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert listed["StackResources"] == []
    assert not stack.out_exists("first")


def _update_scenario(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """v1: Kept, Changed and Removed. v2 changes Changed, adds Added, drops Removed, and
    gives Failing a reference that does not resolve."""
    v1 = {
        "Changed": stack.sink("v1", "changed"),
        "Failing": stack.sink("v1", "failing"),
        "Removed": stack.sink("v1", "removed"),
    }
    v2 = {
        "Changed": stack.sink("v2", "changed"),
        "Failing": stack.sink(f"{{{{resolve:ssm:/{stack.name}/missing}}}}", "failing"),
        "Added": stack.sink("v2", "added"),
    }
    return v1, v2


def test_failed_reference_in_an_update_rolls_back_to_the_previous_resources(stack: Stack) -> None:
    """GIVEN a stack of three resources
    WHEN an update changes one, adds one, removes one, and fails on a fourth's reference
    THEN the stack ends UPDATE_ROLLBACK_COMPLETE: the changed one has its old value, the
    added one is gone, the removed one is still there, and the template is the old one"""
    v1, v2 = _update_scenario(stack)
    stack.create(v1)
    ids_before = stack.cloudformation.describe_stack_resources(StackName=stack.name)

    stack.update(v2)

    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    assert [stack.out(d) for d in ("changed", "failing", "removed")] == ["v1", "v1", "v1"]
    assert not stack.out_exists("added")
    ids_after = stack.cloudformation.describe_stack_resources(StackName=stack.name)
    assert _ids(ids_after) == _ids(ids_before)
    template = stack.cloudformation.get_template(StackName=stack.name)["TemplateBody"]
    assert set(template["Resources"]) == set(v1)


def test_failed_update_names_the_resource_and_its_reference(stack: Stack) -> None:
    """GIVEN a stack
    WHEN an update fails on a reference
    THEN the events show the resource UPDATE_FAILED with the reference, then the stack's
    rollback statuses in AWS's order"""
    v1, v2 = _update_scenario(stack)
    stack.create(v1)

    stack.update(v2)

    statuses = [e["ResourceStatus"] for e in stack.events()]
    [failed] = stack.failed_events()
    assert (failed["LogicalResourceId"], failed["ResourceStatus"]) == ("Failing", "UPDATE_FAILED")
    assert f"{{{{resolve:ssm:/{stack.name}/missing}}}}" in failed["ResourceStatusReason"]
    assert statuses[-4:] == [
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]


def test_failed_reference_in_an_update_change_set_rolls_back(stack: Stack) -> None:
    """GIVEN a stack
    WHEN an UPDATE change set that fails on a reference is executed
    THEN the stack ends UPDATE_ROLLBACK_COMPLETE with its old values and its change sets gone"""
    v1, v2 = _update_scenario(stack)
    stack.create(v1)

    stack.change_set("UPDATE", v2)

    change_sets = stack.cloudformation.list_change_sets(StackName=stack.name)["Summaries"]
    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.out("changed") == "v1"
    assert change_sets == []


def _ids(described: dict[str, Any]) -> dict[str, str]:
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in described["StackResources"]}


# --- where references are not allowed -----------------------------------------------------------


def test_reference_in_outputs_is_refused(stack: Stack) -> None:
    """GIVEN a template whose output holds a dynamic reference
    WHEN the stack is created
    THEN the call fails with a ValidationError naming Outputs, and no stack exists"""
    outputs = {"Password": {"Value": f"{{{{resolve:ssm:/{stack.name}/x}}}}"}}

    with pytest.raises(ClientError, match="not supported in Outputs"):
        stack.create({"Sink": stack.sink("x")}, outputs=outputs)

    with pytest.raises(ClientError, match="does not exist"):
        stack.status()


def test_reference_in_resource_metadata_is_refused(stack: Stack) -> None:
    """GIVEN a template whose resource Metadata holds a dynamic reference
    WHEN a change set is created from it
    THEN the call fails with a ValidationError naming Metadata"""
    sink = {**stack.sink("x"), "Metadata": {"Note": f"{{{{resolve:ssm:/{stack.name}/x}}}}"}}

    with pytest.raises(ClientError, match="not supported in Metadata"):
        stack.cloudformation.create_change_set(
            StackName=stack.name,
            ChangeSetName="c",
            ChangeSetType="CREATE",
            TemplateBody=body({"Sink": sink}),
        )


def test_secure_reference_in_a_custom_resource_fails_it(stack: Stack) -> None:
    """GIVEN a secret and a custom resource whose property refers to it
    WHEN the stack is created
    THEN the custom resource fails (AWS passes no secure values to custom resources)"""
    stack.secret()
    custom = {
        "Type": "Custom::DefaultSecurityGroupRestriction",
        "Properties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:none",
            "DefaultSecurityGroupId": f"{{{{resolve:secretsmanager:{stack.name}/db}}}}",
        },
    }

    stack.create({"Custom": custom})

    [failed] = stack.failed_events()
    assert stack.status() == "ROLLBACK_COMPLETE"
    assert "not supported in custom resources" in failed["ResourceStatusReason"]


# --- install() ----------------------------------------------------------------------------------


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN moto's resource parsing is the same function and references still resolve once"""
    from moto.cloudformation import parsing

    before = parsing.parse_resource
    name = stack.parameter("value", "once")

    dynamic_references.install()

    stack.create({"Sink": stack.sink(f"{{{{resolve:ssm:{name}}}}}")})
    assert parsing.parse_resource is before
    assert stack.out() == "once"
