"""Secrets Manager secrets, secret target attachments and rotation schedules deploy, update
and delete through CloudFormation on the local AWS (`localaws.cfn_secretsmanager`), backed by
moto's secretsmanager backend, through a real local AWS server. What fails one of them fails
the resource and rolls the stack back, as on AWS (`localaws.rollback`)."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from typing import Any

import pytest

from localaws import cfn_secretsmanager
from tests.functional.localaws_helpers import (
    LAMBDA_ROLE,
    MYSQL_INSTANCE,
    REMOVE,
    StackUnderTest,
    handler_refusal,
    lambda_function,
    merged,
)

# Printable characters ElastiCache refuses in an AUTH token (shared/notes/aws-facts.md).
ELASTICACHE_FORBIDDEN = "\"%'()*+,./:;=?@[\\]_`{|}~"
GENERATIONS = 30  # secrets per template when a test looks at the character rules

DATABASE = {"Type": "AWS::RDS::DBInstance", "Properties": MYSQL_INSTANCE}
ROTATION_LAMBDA = {
    "RotatorRole": LAMBDA_ROLE,
    "Rotator": lambda_function("RotatorRole", "python3.12"),
}


def secret(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SecretsManager::Secret", "Properties": properties}


def generated(count: int = 1, **options: Any) -> dict[str, Any]:
    """`count` secrets Secret0..SecretN, each generated with these GenerateSecretString options."""
    return {f"Secret{n}": secret(GenerateSecretString=options) for n in range(count)}


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    return json.dumps({"Resources": resources, "Outputs": outputs or {}})


class Stack(StackUnderTest):
    """One test's stack and the clients that look behind it."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        super().__init__(client, "pci")
        self.secretsmanager = client("secretsmanager")
        self.rds = client("rds")

    def value(self, logical_id: str) -> str:
        return self._current(self.physical_ids()[logical_id])

    def values(self) -> list[str]:
        return [self._current(arn) for arn in self.physical_ids().values()]

    def _current(self, arn: str) -> str:
        current = self.secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        return current["SecretString"]

    def describe(self, logical_id: str) -> dict[str, Any]:
        return self.secretsmanager.describe_secret(SecretId=self.physical_ids()[logical_id])

    def secret_arns(self) -> list[str]:
        """Every secret still there, scheduled deletions included."""
        listed = self.secretsmanager.list_secrets(IncludePlannedDeletion=True)["SecretList"]
        return [s["ARN"] for s in listed]

    def assert_rolled_back_create(self, secrets_before: list[str]) -> None:
        """ROLLBACK_COMPLETE with no stack resource, and no secret made by the stack."""
        assert self.status() == "ROLLBACK_COMPLETE"
        assert self.physical_ids() == {}
        assert self.secret_arns() == secrets_before


@pytest.fixture
def stack(local_aws_client: Callable[[str], Any]) -> Stack:
    return Stack(local_aws_client)


# --- AWS::SecretsManager::Secret: create --------------------------------------------------------


def test_secret_without_name_gets_logical_id_and_random_suffix(stack: Stack) -> None:
    """GIVEN a secret without Name, and outputs that Ref it and GetAtt its Id
    WHEN the stack is created
    THEN its name is `<LogicalId>-<12 random characters>` and both outputs are its ARN"""
    stack.create(
        template(
            {"DbCredentials": secret(SecretString="s3cr3t", Description="db")},
            {
                "Ref": {"Value": {"Ref": "DbCredentials"}},
                "Id": {"Value": {"Fn::GetAtt": ["DbCredentials", "Id"]}},
            },
        )
    )

    described = stack.describe("DbCredentials")

    assert re.fullmatch(r"DbCredentials-[A-Za-z0-9]{12}", described["Name"])
    assert stack.outputs() == {"Ref": described["ARN"], "Id": described["ARN"]}
    assert described["Description"] == "db"
    assert stack.value("DbCredentials") == "s3cr3t"


def test_secret_with_name_tags_and_kms_key_is_described_so(stack: Stack) -> None:
    """GIVEN a secret with Name, Tags and KmsKeyId
    WHEN the stack is created
    THEN DescribeSecret shows all three"""
    name = f"{stack.name}/db"
    tags = [{"Key": "compliance", "Value": "pci-dss"}]
    stack.create(template({"Db": secret(Name=name, Tags=tags, KmsKeyId="alias/pci")}))

    described = stack.describe("Db")

    assert (described["Name"], described["Tags"], described["KmsKeyId"]) == (
        name,
        tags,
        "alias/pci",
    )


def test_exclude_punctuation_is_honoured_over_many_generations(stack: Stack) -> None:
    """GIVEN 30 secrets generated with ExcludePunctuation
    WHEN the stack is created
    THEN no value has punctuation, and each is 32 characters (the default length)"""
    stack.create(template(generated(GENERATIONS, ExcludePunctuation=True)))

    values = stack.values()

    assert len(values) == GENERATIONS
    assert all(not set(v) & set(string.punctuation) for v in values)
    assert {len(v) for v in values} == {32}


def test_exclude_characters_leaves_no_forbidden_character(stack: Stack) -> None:
    """GIVEN 30 secrets generated with ExcludeCharacters listing every printable character
    ElastiCache refuses in an AUTH token
    WHEN the stack is created
    THEN no value has any of them (each is a valid AUTH token), and other punctuation is used"""
    stack.create(template(generated(GENERATIONS, ExcludeCharacters=ELASTICACHE_FORBIDDEN)))

    values = stack.values()

    assert all(not set(v) & set(ELASTICACHE_FORBIDDEN) for v in values)
    assert all(re.fullmatch(r"[A-Za-z0-9!&#$^<>-]{32}", v) for v in values)
    assert set("".join(values)) & set("!&#$^<>-")


def test_password_length_is_honoured(stack: Stack) -> None:
    """GIVEN secrets generated with PasswordLength 128 and 4
    WHEN the stack is created
    THEN their values have exactly those lengths"""
    stack.create(
        template(
            {
                "Long": secret(GenerateSecretString={"PasswordLength": 128}),
                "Short": secret(GenerateSecretString={"PasswordLength": "4"}),  # a parameter
            }
        )
    )

    assert (len(stack.value("Long")), len(stack.value("Short"))) == (128, 4)


def test_require_each_included_type_puts_every_type_in_each_value(stack: Stack) -> None:
    """GIVEN 30 secrets of 4 characters, RequireEachIncludedType left at its default (true)
    WHEN the stack is created
    THEN every value has exactly one lower-case letter, upper-case letter, digit and
    punctuation character"""
    stack.create(template(generated(GENERATIONS, PasswordLength=4)))

    for value in stack.values():
        kinds = [
            sum(c in kind for c in value)
            for kind in (
                string.ascii_lowercase,
                string.ascii_uppercase,
                string.digits,
                string.punctuation,
            )
        ]
        assert kinds == [1, 1, 1, 1], value


CHARACTER_OPTIONS = [
    # (GenerateSecretString options, characters every value must be drawn from)
    ({"ExcludeLowercase": True}, string.ascii_uppercase + string.digits + string.punctuation),
    ({"ExcludeUppercase": "true"}, string.ascii_lowercase + string.digits + string.punctuation),
    ({"ExcludeNumbers": True}, string.ascii_letters + string.punctuation),
    (
        {"ExcludePunctuation": True, "ExcludeNumbers": True, "RequireEachIncludedType": False},
        string.ascii_letters,
    ),
    (
        {"IncludeSpace": True, "ExcludePunctuation": True},
        string.ascii_letters + string.digits + " ",
    ),
]


@pytest.mark.parametrize(
    ("options", "alphabet"),
    CHARACTER_OPTIONS,
    ids=["no-lower", "no-upper", "no-numbers", "letters-only", "space"],
)
def test_character_options_limit_the_alphabet(
    stack: Stack, options: dict[str, Any], alphabet: str
) -> None:
    """GIVEN 30 secrets generated with character options
    WHEN the stack is created
    THEN every value is drawn from the characters the options leave"""
    stack.create(template(generated(GENERATIONS, **options)))

    assert all(set(value) <= set(alphabet) for value in stack.values())


def test_include_space_puts_a_space_in_each_value(stack: Stack) -> None:
    """GIVEN secrets generated with IncludeSpace (RequireEachIncludedType at its default)
    WHEN the stack is created
    THEN every value has a space"""
    stack.create(template(generated(5, IncludeSpace=True)))

    assert all(" " in value for value in stack.values())


def test_secret_string_template_gets_the_generated_key(stack: Stack) -> None:
    """GIVEN a secret generated into SecretStringTemplate {"username": "admin", "ssl": true}
    under GenerateStringKey password, without punctuation
    WHEN the stack is created
    THEN the value is that JSON with the template's keys and a 32-character password"""
    stack.create(
        template(
            generated(
                SecretStringTemplate=json.dumps({"username": "admin", "ssl": True}),
                GenerateStringKey="password",
                ExcludePunctuation=True,
            )
        )
    )

    value = json.loads(stack.value("Secret0"))

    assert set(value) == {"username", "ssl", "password"}
    assert (value["username"], value["ssl"]) == ("admin", True)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", value["password"])


@pytest.mark.parametrize(
    "options",
    [
        {"SecretStringTemplate": '{"username": "admin"}'},
        {"GenerateStringKey": "password"},
    ],
    ids=["template-only", "key-only"],
)
def test_template_and_key_without_each_other_fail_the_resource(
    stack: Stack, options: dict[str, Any]
) -> None:
    """GIVEN GenerateSecretString with only one of SecretStringTemplate and GenerateStringKey
    WHEN the stack is created
    THEN CreateStack succeeds, the secret is CREATE_FAILED with a property validation
    message naming both, and the stack ends ROLLBACK_COMPLETE with no secret made"""
    before = stack.secret_arns()

    stack.create(template(generated(**options)))

    assert stack.failure() == (
        "Secret0",
        "CREATE_FAILED",
        "Properties validation failed for resource Secret0 with message: "
        "#/GenerateSecretString: SecretStringTemplate and GenerateStringKey must be "
        "specified together",
    )
    stack.assert_rolled_back_create(before)


def test_secret_string_with_generate_secret_string_fails_without_quoting_the_value(
    stack: Stack,
) -> None:
    """GIVEN a secret with both SecretString and GenerateSecretString (exclusive)
    WHEN the stack is created
    THEN the secret is CREATE_FAILED with a property validation message that does not quote
    the SecretString, and the stack ends ROLLBACK_COMPLETE"""
    before = stack.secret_arns()
    value = "do-not-show-0123456789"

    stack.create(template({"Db": secret(SecretString=value, GenerateSecretString={})}))

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Db", "CREATE_FAILED")
    assert reason.startswith("Properties validation failed for resource Db with message: ")
    assert "exclusive" in reason and value not in reason
    stack.assert_rolled_back_create(before)


# --- AWS::SecretsManager::Secret: update and delete -----------------------------------------------


def test_description_and_tags_update_in_place_without_a_new_value(stack: Stack) -> None:
    """GIVEN a generated secret with a description and tag team=db
    WHEN an update changes the description and the tags
    THEN the same secret (same ARN) has both changes and its value is not regenerated"""
    options = {"ExcludePunctuation": True}
    stack.create(
        template(
            {
                "Db": secret(
                    Description="old",
                    Tags=[{"Key": "team", "Value": "db"}],
                    GenerateSecretString=options,
                )
            }
        )
    )
    arn, value = stack.physical_ids()["Db"], stack.value("Db")

    stack.update(
        template(
            {
                "Db": secret(
                    Description="new",
                    Tags=[{"Key": "env", "Value": "prod"}],
                    GenerateSecretString=options,
                )
            }
        )
    )

    described = stack.describe("Db")
    assert described["ARN"] == arn
    assert described["Description"] == "new"
    assert described["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert stack.value("Db") == value


def test_changed_generate_secret_string_makes_a_new_current_version(stack: Stack) -> None:
    """GIVEN a generated 32-character secret
    WHEN an update changes GenerateSecretString to 64 characters
    THEN the same secret has a new AWSCURRENT value of 64 characters, the old one AWSPREVIOUS
    (CloudFormation: "When you make a change to this property, a new secret version is
    created")"""
    stack.create(template(generated(ExcludePunctuation=True)))
    old = stack.value("Secret0")

    stack.update(template(generated(ExcludePunctuation=True, PasswordLength=64)))

    assert len(stack.value("Secret0")) == 64
    previous = stack.secretsmanager.get_secret_value(
        SecretId=stack.physical_ids()["Secret0"], VersionStage="AWSPREVIOUS"
    )
    assert previous["SecretString"] == old


def test_name_change_replaces_the_secret(stack: Stack) -> None:
    """GIVEN a secret named <stack>/a
    WHEN an update renames it <stack>/b (create-only)
    THEN <stack>/b replaces it in the stack and <stack>/a is deleted"""
    stack.create(template({"Db": secret(Name=f"{stack.name}/a", SecretString="x")}))
    old_arn = stack.physical_ids()["Db"]

    stack.update(template({"Db": secret(Name=f"{stack.name}/b", SecretString="x")}))

    assert stack.describe("Db")["Name"] == f"{stack.name}/b"
    assert old_arn not in stack.secret_arns()


def test_stack_delete_removes_the_secrets_without_recovery_window(stack: Stack) -> None:
    """GIVEN a stack with two secrets, an attachment and a rotation schedule
    WHEN the stack is deleted
    THEN the secrets are gone at once, not scheduled for deletion"""
    stack.create(template({**generated(2), **_attached_and_rotated()}))
    arns = {stack.physical_ids()[name] for name in ("Secret0", "Secret1", "Db")}

    stack.cloudformation.delete_stack(StackName=stack.name)

    assert not arns & set(stack.secret_arns())


# --- AWS::SecretsManager::SecretTargetAttachment ------------------------------------------------


def _attached_and_rotated(rules: dict[str, Any] | None = None) -> dict[str, Any]:
    """A database secret attached to an RDS instance and rotated by a Lambda, all in one stack."""
    return {
        "Db": secret(
            GenerateSecretString={
                "SecretStringTemplate": '{"username": "admin"}',
                "GenerateStringKey": "password",
                "ExcludeCharacters": '"@/\\',
            }
        ),
        "Database": DATABASE,
        "Attachment": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {
                "SecretId": {"Ref": "Db"},
                "TargetId": {"Ref": "Database"},
                "TargetType": "AWS::RDS::DBInstance",
            },
        },
        **ROTATION_LAMBDA,
        "Rotation": {
            "Type": "AWS::SecretsManager::RotationSchedule",
            "Properties": {
                "SecretId": {"Ref": "Attachment"},
                "RotationLambdaARN": {"Fn::GetAtt": ["Rotator", "Arn"]},
                "RotationRules": rules or {"AutomaticallyAfterDays": 30},
            },
        },
    }


def test_attachment_adds_the_instance_connection_fields(stack: Stack) -> None:
    """GIVEN a username/password secret attached to an RDS instance in the same stack
    WHEN the stack is created
    THEN the secret's current JSON keeps username and password and adds the instance's
    engine, host, port and identifier, as a new AWSCURRENT version"""
    stack.create(template(_attached_and_rotated(), {"Attached": {"Value": {"Ref": "Attachment"}}}))

    value = json.loads(stack.value("Db"))

    instance_id = stack.physical_ids()["Database"]
    endpoint = stack.rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0][
        "Endpoint"
    ]
    assert value["username"] == "admin" and len(value["password"]) == 32
    assert (value["engine"], value["host"], value["port"]) == (
        "mysql",
        endpoint["Address"],
        endpoint["Port"],
    )
    assert value["dbInstanceIdentifier"] == instance_id
    assert stack.outputs()["Attached"] == stack.physical_ids()["Db"]
    stages = sorted(stack.describe("Db")["VersionIdsToStages"].values())
    assert stages == [["AWSCURRENT"], ["AWSPREVIOUS"]]


def test_attachment_to_an_unknown_instance_fails_the_resource(stack: Stack) -> None:
    """GIVEN an attachment whose TargetId names no RDS instance, after a secret
    WHEN the stack is created
    THEN CreateStack succeeds, the attachment is CREATE_FAILED with RDS's DBInstanceNotFound
    message, and the stack ends ROLLBACK_COMPLETE with the secret deleted"""
    before = stack.secret_arns()
    value = '{"username": "admin", "password": "do-not-show-0123456789"}'
    resources = {
        "Db": secret(SecretString=value),
        "Attachment": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {
                "SecretId": {"Ref": "Db"},
                "TargetId": "no-such-db",
                "TargetType": "AWS::RDS::DBInstance",
            },
        },
    }

    stack.create(template(resources))

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Attachment", "CREATE_FAILED")
    refusal = handler_refusal("Rds", 404).fullmatch(reason)
    assert refusal, reason
    assert (refusal["message"], refusal["code"]) == ("DBInstance no-such-db not found.", "NotFound")
    assert "do-not-show" not in reason
    stack.assert_rolled_back_create(before)


# --- AWS::SecretsManager::RotationSchedule ------------------------------------------------------


def test_rotation_schedule_is_shown_by_describe_secret(stack: Stack) -> None:
    """GIVEN a rotation schedule of 30 days with a Lambda in the same stack
    WHEN the stack is created
    THEN DescribeSecret shows rotation enabled, the Lambda's ARN, the rules and a next
    rotation date; Ref of the schedule is the secret's ARN"""
    stack.create(template(_attached_and_rotated(), {"Rotation": {"Value": {"Ref": "Rotation"}}}))

    described = stack.describe("Db")

    function_name = stack.physical_ids()["Rotator"]
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"].endswith(f":function:{function_name}")
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert "NextRotationDate" in described
    assert stack.outputs()["Rotation"] == described["ARN"]


def test_schedule_expression_and_duration_are_recorded(stack: Stack) -> None:
    """GIVEN a rotation schedule with a cron ScheduleExpression and a Duration
    WHEN the stack is created
    THEN DescribeSecret reports those rules as given"""
    rules = {"ScheduleExpression": "cron(0 4 ? * SUN *)", "Duration": "2h"}
    stack.create(template(_attached_and_rotated(rules)))

    assert stack.describe("Db")["RotationRules"] == rules


def test_rotation_rules_update_in_place(stack: Stack) -> None:
    """GIVEN a 30-day rotation schedule
    WHEN an update makes it 7 days
    THEN DescribeSecret reports 7 days, rotation still enabled"""
    stack.create(template(_attached_and_rotated()))

    stack.update(template(_attached_and_rotated({"AutomaticallyAfterDays": 7})))

    described = stack.describe("Db")
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 7}
    assert described["RotationEnabled"] is True


def test_removing_the_schedule_cancels_rotation(stack: Stack) -> None:
    """GIVEN a secret with a rotation schedule
    WHEN an update removes the schedule
    THEN DescribeSecret shows rotation disabled"""
    stack.create(template(_attached_and_rotated()))
    resources = _attached_and_rotated()
    del resources["Rotation"]

    stack.update(template(resources))

    assert stack.describe("Db")["RotationEnabled"] is False


MISSING_LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:missing"


@pytest.mark.parametrize(
    ("change", "message", "code"),
    [
        (
            {"RotationLambdaARN": REMOVE},
            "No Lambda rotation function ARN is associated with this secret.",
            "InvalidRequest",
        ),
        (
            {"RotationLambdaARN": MISSING_LAMBDA},
            f"Resource not found for ARN '{MISSING_LAMBDA}'.",
            "NotFound",
        ),
        (
            {"RotationRules": {"AutomaticallyAfterDays": 1001}},
            "RotationRules.AutomaticallyAfterDays must be within 1-1000.",
            "InvalidRequest",
        ),
    ],
    ids=["no-lambda", "unknown-lambda", "days-out-of-range"],
)
def test_invalid_rotation_schedule_fails_the_resource_and_rolls_back(
    stack: Stack, change: dict[str, Any], message: str, code: str
) -> None:
    """GIVEN a rotation schedule without a Lambda, with a Lambda that does not exist, or with
    too many days, after a secret, a database, an attachment and a Lambda
    WHEN the stack is created
    THEN CreateStack succeeds, the schedule is CREATE_FAILED with Secrets Manager's message,
    and the stack ends ROLLBACK_COMPLETE with everything it made deleted"""
    before = stack.secret_arns()
    resources = _attached_and_rotated()
    resources["Rotation"]["Properties"] = merged(resources["Rotation"]["Properties"], change)

    stack.create(template(resources))

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Rotation", "CREATE_FAILED")
    refusal = handler_refusal("SecretsManager").fullmatch(reason)
    assert refusal, reason
    assert (refusal["message"], refusal["code"]) == (message, code)
    stack.assert_rolled_back_create(before)
    instances = stack.rds.describe_db_instances()["DBInstances"]
    assert not [i for i in instances if i["DBInstanceIdentifier"].startswith(stack.name)]


def test_invalid_rotation_rules_update_rolls_back_and_keeps_the_rules(stack: Stack) -> None:
    """GIVEN a 30-day rotation schedule
    WHEN an update asks for 1001 days
    THEN UpdateStack succeeds, the schedule is UPDATE_FAILED with Secrets Manager's message,
    the stack ends UPDATE_ROLLBACK_COMPLETE and DescribeSecret still shows 30 days"""
    stack.create(template(_attached_and_rotated()))

    stack.update(template(_attached_and_rotated({"AutomaticallyAfterDays": 1001})))

    logical_id, status, reason = stack.failure()
    assert (logical_id, status) == ("Rotation", "UPDATE_FAILED")
    assert "RotationRules.AutomaticallyAfterDays must be within 1-1000." in reason
    assert stack.status() == "UPDATE_ROLLBACK_COMPLETE"
    described = stack.describe("Db")
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert described["RotationEnabled"] is True


# --- install() and in-process use ---------------------------------------------------------------


def test_install_twice_changes_nothing(stack: Stack) -> None:
    """GIVEN the extension installed by the running local AWS
    WHEN install() is called again
    THEN moto uses the same model classes and secrets still deploy"""
    before = cfn_secretsmanager.registered_models()
    assert before, "the local AWS did not install the extension"

    cfn_secretsmanager.install()

    stack.create(template(generated()))
    assert cfn_secretsmanager.registered_models() == before
    assert stack.status() == "CREATE_COMPLETE"


def test_secret_deploys_in_process_with_mock_aws(aws: None) -> None:
    """GIVEN moto in-process (mock_aws) with localaws's extensions installed
    WHEN a stack with a generated secret is created
    THEN GetSecretValue on the stack's output returns the generated JSON"""
    import boto3

    from localaws import extensions

    extensions.install_all()
    cloudformation = boto3.client("cloudformation")
    body = template(
        generated(SecretStringTemplate='{"username": "app"}', GenerateStringKey="password"),
        {"Arn": {"Value": {"Ref": "Secret0"}}},
    )

    cloudformation.create_stack(StackName="in-process", TemplateBody=body)

    arn = cloudformation.describe_stacks(StackName="in-process")["Stacks"][0]["Outputs"][0]
    value = boto3.client("secretsmanager").get_secret_value(SecretId=arn["OutputValue"])
    assert json.loads(value["SecretString"])["username"] == "app"
