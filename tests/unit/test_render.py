"""A template rendered for one stack: each intrinsic function with known inputs gives
CloudFormation's value; what only deploy can tell stays an `Unknown` naming the resources
it depends on; and no template shape, however wrong, raises."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cfnlint.helpers import AVAILABILITY_ZONES

from reconciler.render import Pseudo, Unknown, evaluate, parameter_values, render
from reconciler.yamlfile import parse

ROOT = Path(__file__).resolve().parents[2]
PSEUDO = Pseudo("us-east-1", "app-dev", "123456789012")

TEMPLATE = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "dev"},
        "Size": {"Type": "Number", "Default": 20},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
        "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "subnet-1,subnet-2"},
        "Nothing": {"Type": "CommaDelimitedList", "Default": ""},
        "Flag": {"Type": "String", "Default": True},
        "Password": {"Type": "String", "NoEcho": True, "Default": "hunter2"},
        "Ami": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/aws/service/ami"},
    },
    "Mappings": {
        "Engine": {
            "us-east-1": {"Version": "8.4.8"},
            "eu-central-1": {"Version": "8.0.40"},
        },
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        "ProdOrUsEast1": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "InUsEast1"}]},
        "ProdAndUsEast1": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "InUsEast1"}]},
        "Nested": {
            "Fn::And": [
                {"Condition": "IsDev"},
                {"Fn::Or": [{"Fn::Not": [{"Condition": "IsProd"}]}, {"Fn::Equals": ["a", "b"]}]},
            ]
        },
        "FlagOn": {"Fn::Equals": [{"Ref": "Flag"}, True]},
        "Never": {"Fn::Equals": ["a", "b"]},
        "OnBucketName": {"Fn::Equals": [{"Ref": "Bucket"}, "x"]},
        "UnknownOrProd": {"Fn::Or": [{"Condition": "OnBucketName"}, {"Condition": "IsProd"}]},
        "UnknownAndNever": {"Fn::And": [{"Condition": "OnBucketName"}, {"Condition": "Never"}]},
        "Loop1": {"Fn::And": [{"Condition": "Loop2"}, {"Condition": "InUsEast1"}]},
        "Loop2": {"Fn::Or": [{"Condition": "Loop1"}, {"Condition": "Never"}]},
        "Itself": {"Fn::Not": [{"Condition": "Itself"}]},
        "OnUndeclared": {"Fn::Not": [{"Condition": "NotDeclared"}]},
        "Malformed": {"Fn::Equals": ["only one"]},
    },
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Key": {"Type": "AWS::KMS::Key"},
        "ProdOnly": {"Type": "AWS::SNS::Topic", "Condition": "IsProd"},
        "DevOnly": {"Type": "AWS::SNS::Topic", "Condition": "IsDev"},
        "Undecided": {"Type": "AWS::SNS::Topic", "Condition": "OnBucketName"},
    },
}


def value_of(node, given=None, pseudo=PSEUDO, template=TEMPLATE):
    return evaluate(node, template, parameter_values(template, given or {}), pseudo)


def rendered(given=None, pseudo=PSEUDO, template=TEMPLATE):
    return render(template, parameter_values(template, given or {}), pseudo)


def sub(text, variables=None):
    return {"Fn::Sub": [text, variables] if variables is not None else text}


# id, the node as written, the stack's parameter values, the rendered value
KNOWN = [
    # Ref to parameters: strings as given or defaulted; list types become lists
    ("ref-string-default", {"Ref": "Env"}, {}, "dev"),
    ("ref-string-given", {"Ref": "Env"}, {"Env": "prod"}, "prod"),
    ("ref-number-is-a-string", {"Ref": "Size"}, {}, "20"),
    ("ref-yaml-true-default-is-true", {"Ref": "Flag"}, {}, "true"),
    ("ref-comma-delimited-list", {"Ref": "Zones"}, {}, ["a", "b", "c"]),
    ("ref-list-type", {"Ref": "Subnets"}, {}, ["subnet-1", "subnet-2"]),
    ("ref-list-given-as-list", {"Ref": "Zones"}, {"Zones": ["x", "y"]}, ["x", "y"]),
    ("ref-empty-list", {"Ref": "Nothing"}, {}, []),
    ("ref-no-echo-unmasked", {"Ref": "Password"}, {}, "hunter2"),
    # pseudo parameters
    ("pseudo-region", {"Ref": "AWS::Region"}, {}, "us-east-1"),
    ("pseudo-account", {"Ref": "AWS::AccountId"}, {}, "123456789012"),
    ("pseudo-partition", {"Ref": "AWS::Partition"}, {}, "aws"),
    ("pseudo-url-suffix", {"Ref": "AWS::URLSuffix"}, {}, "amazonaws.com"),
    ("pseudo-stack-name", {"Ref": "AWS::StackName"}, {}, "app-dev"),
    # AWS::NoValue removes the key, or the list item
    ("no-value-key", {"A": "1", "B": {"Ref": "AWS::NoValue"}}, {}, {"A": "1"}),
    ("no-value-item", ["a", {"Ref": "AWS::NoValue"}, "b"], {}, ["a", "b"]),
    ("no-value-top-level", {"Ref": "AWS::NoValue"}, {}, None),
    # Fn::If
    ("if-true-branch", {"Fn::If": ["IsProd", "big", "small"]}, {"Env": "prod"}, "big"),
    ("if-false-branch", {"Fn::If": ["IsProd", "big", "small"]}, {}, "small"),
    (
        "if-no-value-removes-key",
        {"A": "1", "B": {"Fn::If": ["IsProd", "2", {"Ref": "AWS::NoValue"}]}},
        {},
        {"A": "1"},
    ),
    (
        "if-no-value-removes-item",
        ["a", {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}],
        {},
        ["a"],
    ),
    ("if-nested-condition", {"Fn::If": ["Nested", "yes", "no"]}, {}, "yes"),
    # Fn::FindInMap
    ("findinmap-found", {"Fn::FindInMap": ["Engine", "us-east-1", "Version"]}, {}, "8.4.8"),
    (
        "findinmap-keyed-by-region",
        {"Fn::FindInMap": ["Engine", {"Ref": "AWS::Region"}, "Version"]},
        {},
        "8.4.8",
    ),
    (
        "findinmap-default-used",
        {"Fn::FindInMap": ["Engine", "ap-south-1", "Version", {"DefaultValue": "8.0.36"}]},
        {},
        "8.0.36",
    ),
    (
        "findinmap-default-unused",
        {"Fn::FindInMap": ["Engine", "us-east-1", "Version", {"DefaultValue": "x"}]},
        {},
        "8.4.8",
    ),
    # Fn::Sub
    ("sub-string", sub("db-${Env}-${Size}"), {}, "db-dev-20"),
    ("sub-list-form", sub("${Name}-${Env}", {"Name": "orders"}), {}, "orders-dev"),
    (
        "sub-list-form-variable-is-evaluated",
        sub("${Name}", {"Name": {"Fn::If": ["IsProd", "p", "d"]}}),
        {},
        "d",
    ),
    (
        "sub-pseudo",
        sub("arn:${AWS::Partition}:s3:::x-${AWS::Region}"),
        {},
        "arn:aws:s3:::x-us-east-1",
    ),
    ("sub-literal", sub("${!Literal}-${Env}"), {}, "${Literal}-dev"),
    ("sub-no-variables", sub("plain"), {}, "plain"),
    # dynamic references stay as written, also inside Fn::Sub
    ("dynamic-reference", "{{resolve:ssm:/app/db}}", {}, "{{resolve:ssm:/app/db}}"),
    (
        "dynamic-reference-in-sub",
        sub("{{resolve:secretsmanager:db-${Env}:SecretString:password}}"),
        {},
        "{{resolve:secretsmanager:db-dev:SecretString:password}}",
    ),
    # the list functions
    ("join", {"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]}, {}, "a-dev-3"),
    ("join-a-list-parameter", {"Fn::Join": [",", {"Ref": "Zones"}]}, {}, "a,b,c"),
    ("join-empty", {"Fn::Join": ["-", []]}, {}, ""),
    ("select", {"Fn::Select": [1, ["a", "b", "c"]]}, {}, "b"),
    ("select-string-index", {"Fn::Select": ["2", {"Ref": "Zones"}]}, {}, "c"),
    ("split", {"Fn::Split": [",", "a,b,,c"]}, {}, ["a", "b", "", "c"]),
    (
        "select-of-split",
        {"Fn::Select": [0, {"Fn::Split": [":", "codecommit:repo"]}]},
        {},
        "codecommit",
    ),
    (
        "base64",
        {"Fn::Base64": {"Fn::Sub": "#!/bin/sh\necho ${Env}"}},
        {},
        "IyEvYmluL3NoCmVjaG8gZGV2",
    ),
    ("length-of-list", {"Fn::Length": ["a", "b", {"Ref": "AWS::NoValue"}]}, {}, 2),
    ("length-of-list-parameter", {"Fn::Length": {"Ref": "Subnets"}}, {}, 2),
    (
        "to-json-string",
        {"Fn::ToJsonString": {"a": [1, "x"], "b": {"Ref": "Env"}}},
        {},
        '{"a":[1,"x"],"b":"dev"}',
    ),
    (
        "to-json-string-yaml-date",
        {"Fn::ToJsonString": {"Version": date(2012, 10, 17)}},
        {},
        '{"Version":"2012-10-17"}',
    ),
    # Fn::Cidr
    (
        "cidr-three-24s",
        {"Fn::Cidr": ["10.0.0.0/16", 3, 8]},
        {},
        ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"],
    ),
    (
        "cidr-string-arguments",
        {"Fn::Cidr": ["10.1.0.0/16", "2", "4"]},
        {},
        ["10.1.0.0/28", "10.1.0.16/28"],
    ),
    (
        "cidr-ipv6",
        {"Fn::Cidr": ["2001:db8::/56", 2, 64]},
        {},
        ["2001:db8::/64", "2001:db8:0:1::/64"],
    ),
]


@pytest.mark.parametrize(
    ("node", "given", "expected"), [c[1:] for c in KNOWN], ids=[c[0] for c in KNOWN]
)
def test_known_inputs_render_to_cloudformations_value(node, given, expected):
    """GIVEN a part of a template whose inputs are all known before deploy
    WHEN it is rendered for a stack in us-east-1
    THEN it is the value CloudFormation would give it."""
    assert value_of(node, given) == expected


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("eu-central-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_partition_and_url_suffix_follow_the_region(region, partition, suffix):
    """GIVEN a stack in `region`
    WHEN AWS::Partition and AWS::URLSuffix are rendered, alone and in Fn::Sub
    THEN they are the region's partition and domain."""
    pseudo = Pseudo(region, "app")
    assert value_of({"Ref": "AWS::Partition"}, pseudo=pseudo) == partition
    assert value_of({"Ref": "AWS::URLSuffix"}, pseudo=pseudo) == suffix
    assert value_of(sub("arn:${AWS::Partition}:s3:::b"), pseudo=pseudo) == f"arn:{partition}:s3:::b"


def test_get_azs_lists_the_regions_zones_from_cfn_lint_data():
    """GIVEN Fn::GetAZs of "" (the stack's region), of AWS::Region and of a named region
    WHEN rendered in us-east-1
    THEN each is the zone list cfn-lint ships for that region."""
    east = list(AVAILABILITY_ZONES["us-east-1"])
    assert east[0] == "us-east-1a"
    assert value_of({"Fn::GetAZs": ""}) == east
    assert value_of({"Fn::GetAZs": {"Ref": "AWS::Region"}}) == east
    assert value_of({"Fn::GetAZs": "eu-central-1"}) == list(AVAILABILITY_ZONES["eu-central-1"])
    assert value_of({"Fn::Select": [1, {"Fn::GetAZs": ""}]}) == "us-east-1b"
    # null, as AWS's own Config.json sample writes it, is the stack's region too
    assert value_of({"Fn::GetAZs": None}) == east


# --- values known only at deploy time --------------------------------------------------

# id, the node as written, the Unknown it renders to
UNKNOWN = [
    ("ref-resource", {"Ref": "Bucket"}, Unknown("Ref Bucket", frozenset({"Bucket"}))),
    (
        "getatt-list-form",
        {"Fn::GetAtt": ["Key", "Arn"]},
        Unknown("GetAtt Key.Arn", frozenset({"Key"})),
    ),
    (
        "getatt-string-form",
        {"Fn::GetAtt": "Key.Arn"},
        Unknown("GetAtt Key.Arn", frozenset({"Key"})),
    ),
    ("import-value", {"Fn::ImportValue": "shared-vpc-id"}, Unknown("ImportValue shared-vpc-id")),
    (
        "import-value-of-sub",
        {"Fn::ImportValue": {"Fn::Sub": "${Env}-vpc-id"}},
        Unknown("ImportValue dev-vpc-id"),
    ),
    ("stack-id-before-create", {"Ref": "AWS::StackId"}, Unknown("AWS::StackId")),
    ("notification-arns", {"Ref": "AWS::NotificationARNs"}, Unknown("AWS::NotificationARNs")),
    ("ssm-parameter-type", {"Ref": "Ami"}, Unknown("SSM parameter /aws/service/ami")),
    (
        "findinmap-missing-key-without-default",
        {"Fn::FindInMap": ["Engine", "ap-south-1", "Version"]},
        Unknown("Fn::FindInMap (no such key)"),
    ),
    (
        "findinmap-missing-map",
        {"Fn::FindInMap": ["NoSuchMap", "us-east-1", "Version"]},
        Unknown("Fn::FindInMap (no such key)"),
    ),
    (
        "sub-resource-attribute",
        sub("arn:${Key.Arn}"),
        Unknown("Fn::Sub arn:${Key.Arn}", frozenset({"Key"})),
    ),
    (
        "sub-resource-ref",
        sub("s3://${Bucket}/${Env}"),
        Unknown("Fn::Sub s3://${Bucket}/${Env}", frozenset({"Bucket"})),
    ),
    (
        "sub-list-form-variable-getatt",
        sub("${KeyArn}", {"KeyArn": {"Fn::GetAtt": ["Key", "Arn"]}}),
        Unknown("Fn::Sub ${KeyArn}", frozenset({"Key"})),
    ),
    (
        "join-with-an-unknown-item",
        {"Fn::Join": [",", ["a", {"Ref": "Bucket"}]]},
        Unknown("Fn::Join", frozenset({"Bucket"})),
    ),
    (
        "if-on-an-unknown-condition",
        {"Fn::If": ["OnBucketName", {"Fn::GetAtt": ["Key", "Arn"]}, "none"]},
        Unknown("Fn::If OnBucketName", frozenset({"Key"})),
    ),
    (
        "base64-of-unknown",
        {"Fn::Base64": {"Ref": "Bucket"}},
        Unknown("Fn::Base64", frozenset({"Bucket"})),
    ),
    ("undeclared-ref", {"Ref": "NotDeclared"}, Unknown("Ref NotDeclared")),
    ("transform", {"Fn::Transform": {"Name": "AWS::Include"}}, Unknown("Fn::Transform")),
    ("get-azs-unknown-region", {"Fn::GetAZs": "xx-nowhere-1"}, Unknown("Fn::GetAZs xx-nowhere-1")),
    ("cidr-invalid-block", {"Fn::Cidr": ["not-a-cidr", 3, 8]}, Unknown("Fn::Cidr (invalid)")),
    ("cidr-too-many-bits", {"Fn::Cidr": ["10.0.0.0/24", 3, 16]}, Unknown("Fn::Cidr (invalid)")),
]


@pytest.mark.parametrize(
    ("node", "expected"), [c[1:] for c in UNKNOWN], ids=[c[0] for c in UNKNOWN]
)
def test_values_known_only_at_deploy_are_unknown_naming_what_they_depend_on(node, expected):
    """GIVEN a part of a template that depends on a resource, an import, an SSM parameter
    or a missing key
    WHEN it is rendered
    THEN it is an Unknown whose refs name the resources it depends on."""
    assert value_of(node) == expected


def test_unknown_inside_a_mapping_keeps_the_known_parts():
    """GIVEN properties mixing known values and a resource attribute
    WHEN rendered
    THEN only the attribute is unknown."""
    node = {"Name": {"Fn::Sub": "${Env}-db"}, "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    assert value_of(node) == {
        "Name": "dev-db",
        "KmsKeyId": Unknown("GetAtt Key.Arn", frozenset({"Key"})),
    }


def test_masked_no_echo_parameter_is_unknown_and_masked():
    """GIVEN a NoEcho parameter read back from a live stack as ****
    WHEN its values are taken with masked=True
    THEN the parameter is an Unknown marked masked (a value exists, AWS hides it)."""
    values = parameter_values(TEMPLATE, {"Password": "****"}, masked=True)
    assert values["Password"] == Unknown("NoEcho parameter Password", masked=True)
    assert evaluate({"Ref": "Password"}, TEMPLATE, values, PSEUDO).masked


def test_unmasked_parameters_take_four_stars_literally():
    """GIVEN **** given as a desired value (masked=False)
    WHEN the values are taken
    THEN it is the text ****, not an unknown."""
    assert parameter_values(TEMPLATE, {"Password": "****"})["Password"] == "****"


def test_unknown_pseudo_parameters_when_the_stack_is_not_known():
    """GIVEN no account id and no stack name (a stack not yet created)
    WHEN AWS::AccountId and AWS::StackName are rendered
    THEN both are unknown."""
    pseudo = Pseudo("us-east-1")
    assert value_of({"Ref": "AWS::AccountId"}, pseudo=pseudo) == Unknown("AWS::AccountId")
    assert value_of({"Ref": "AWS::StackName"}, pseudo=pseudo) == Unknown("AWS::StackName")
    assert (
        value_of({"Ref": "AWS::StackId"}, pseudo=Pseudo("us-east-1", stack_id="arn:x")) == "arn:x"
    )


# --- conditions ------------------------------------------------------------------------

# id, condition, the stack's parameter values, region, the condition's value
CONDITIONS = [
    ("equals-false", "IsProd", {}, "us-east-1", False),
    ("equals-true", "IsProd", {"Env": "prod"}, "us-east-1", True),
    ("not-of-condition", "IsDev", {}, "us-east-1", True),
    ("not-of-condition-prod", "IsDev", {"Env": "prod"}, "us-east-1", False),
    ("equals-pseudo", "InUsEast1", {}, "us-east-1", True),
    ("equals-pseudo-elsewhere", "InUsEast1", {}, "eu-central-1", False),
    ("or-one-true", "ProdOrUsEast1", {}, "us-east-1", True),
    ("or-none-true", "ProdOrUsEast1", {}, "eu-central-1", False),
    ("and-one-false", "ProdAndUsEast1", {}, "us-east-1", False),
    ("and-all-true", "ProdAndUsEast1", {"Env": "prod"}, "us-east-1", True),
    ("nested-and-or-not", "Nested", {}, "us-east-1", True),
    ("nested-and-or-not-prod", "Nested", {"Env": "prod"}, "us-east-1", False),
    ("equals-yaml-true", "FlagOn", {}, "us-east-1", True),
    ("equals-given-false", "FlagOn", {"Flag": "false"}, "us-east-1", False),
    ("never", "Never", {"Env": "prod"}, "us-east-1", False),
    ("or-decided-despite-unknown", "UnknownOrProd", {"Env": "prod"}, "us-east-1", True),
    ("and-decided-despite-unknown", "UnknownAndNever", {}, "us-east-1", False),
]


@pytest.mark.parametrize(
    ("name", "given", "region", "expected"),
    [c[1:] for c in CONDITIONS],
    ids=[c[0] for c in CONDITIONS],
)
def test_conditions_evaluate_from_parameters_and_pseudo_parameters(name, given, region, expected):
    """GIVEN a condition built from Fn::Equals, And, Or, Not and Condition
    WHEN the template is rendered for these parameters in `region`
    THEN the condition has CloudFormation's value."""
    assert rendered(given, Pseudo(region, "app")).conditions[name] is expected


@pytest.mark.parametrize(
    "name",
    ["OnBucketName", "UnknownOrProd", "Loop1", "Loop2", "Itself", "OnUndeclared", "Malformed"],
)
def test_conditions_that_cannot_be_decided_are_unknown(name):
    """GIVEN a condition on a resource's value, a circular one, one on an undeclared
    condition, or a malformed one
    WHEN the template is rendered
    THEN the condition is Unknown: no exception, no recursion error (cfn-lint reports
    the template's mistakes)."""
    assert isinstance(rendered().conditions[name], Unknown)


def test_fn_if_on_an_undeclared_condition_is_unknown():
    """GIVEN Fn::If naming a condition the template does not declare
    WHEN rendered
    THEN the value is unknown."""
    assert isinstance(value_of({"Fn::If": ["NotDeclared", "a", "b"]}), Unknown)


@pytest.mark.parametrize(
    ("given", "present", "absent"),
    [
        ({}, {"DevOnly"}, {"ProdOnly"}),
        ({"Env": "prod"}, {"ProdOnly"}, {"DevOnly"}),
    ],
    ids=["dev", "prod"],
)
def test_a_resource_is_present_exactly_when_its_condition_holds(given, present, absent):
    """GIVEN resources conditional on IsProd and IsDev
    WHEN the template is rendered for dev and for prod
    THEN the resource whose condition is false is absent, the one whose condition is
    true is present."""
    resources = rendered(given).resources
    assert present <= set(resources)
    assert not absent & set(resources)
    assert {"Bucket", "Key"} <= set(resources)


def test_a_resource_whose_condition_is_unknown_is_kept_as_uncertain():
    """GIVEN a resource conditional on a resource's value
    WHEN rendered
    THEN it is present, marked uncertain (absent only when the condition is false)."""
    resource = rendered().resources["Undecided"]
    assert resource.uncertain and resource.condition == "OnBucketName"
    assert not rendered().resources["Bucket"].uncertain


def test_a_rendered_resource_keeps_its_type_and_node_as_written():
    """GIVEN a resource with policies and properties
    WHEN rendered
    THEN its type, rendered properties and the attributes as written are kept."""
    template = {
        "Resources": {
            "Db": {
                "Type": "AWS::RDS::DBInstance",
                "DeletionPolicy": "Snapshot",
                "Properties": {"DBName": {"Fn::Sub": "${AWS::Region}db"}},
            }
        }
    }
    db = render(template, {}, PSEUDO).resources["Db"]
    assert (db.type, db.properties, db.policy("DeletionPolicy")) == (
        "AWS::RDS::DBInstance",
        {"DBName": "us-east-1db"},
        "Snapshot",
    )
    assert db.policy("UpdateReplacePolicy") == ""


# --- hostile shapes --------------------------------------------------------------------

HOSTILE = [
    ("if-with-two-args", {"Fn::If": ["IsProd", "a"]}),
    ("if-condition-not-a-string", {"Fn::If": [["IsProd"], "a", "b"]}),
    ("if-not-a-list", {"Fn::If": "IsProd"}),
    ("select-out-of-range", {"Fn::Select": [5, ["a", "b"]]}),
    ("select-negative-index", {"Fn::Select": [-1, ["a", "b"]]}),
    ("select-index-not-a-number", {"Fn::Select": ["first", ["a", "b"]]}),
    ("select-from-a-string", {"Fn::Select": [0, "ab"]}),
    ("select-one-arg", {"Fn::Select": [0]}),
    ("join-non-list", {"Fn::Join": ["-", "abc"]}),
    ("join-not-a-list", {"Fn::Join": "abc"}),
    ("sub-non-string", {"Fn::Sub": 42}),
    ("sub-mapping", {"Fn::Sub": {"a": "b"}}),
    ("sub-list-of-three", {"Fn::Sub": ["${A}", {"A": "x"}, "extra"]}),
    ("sub-list-variable", sub("${Zones}")),
    ("sub-no-value", sub("${AWS::NoValue}")),
    ("split-of-a-list", {"Fn::Split": [",", ["a"]]}),
    ("split-one-arg", {"Fn::Split": [","]}),
    ("base64-of-a-mapping", {"Fn::Base64": {"a": "b"}}),
    ("findinmap-two-args", {"Fn::FindInMap": ["Engine", "us-east-1"]}),
    ("findinmap-list-key", {"Fn::FindInMap": ["Engine", ["us-east-1"], "Version"]}),
    ("findinmap-bad-default", {"Fn::FindInMap": ["Engine", "x", "y", "not-a-mapping"]}),
    ("getatt-one-part", {"Fn::GetAtt": "Key"}),
    ("getatt-three-parts", {"Fn::GetAtt": ["Key", "Arn", "More"]}),
    ("getatt-mapping", {"Fn::GetAtt": {"a": "b"}}),
    ("ref-list", {"Ref": ["Env"]}),
    ("ref-mapping", {"Ref": {"Ref": "Env"}}),
    ("cidr-two-args", {"Fn::Cidr": ["10.0.0.0/16", 3]}),
    ("cidr-count-not-a-number", {"Fn::Cidr": ["10.0.0.0/16", "many", 8]}),
    ("cidr-mapping-block", {"Fn::Cidr": [{"a": "b"}, 3, 8]}),
    ("length-of-a-string", {"Fn::Length": "abc"}),
    ("getazs-list", {"Fn::GetAZs": ["us-east-1"]}),
    ("condition-in-a-value", {"Condition": "IsProd"}),
    ("condition-of-a-mapping", {"Condition": {"a": "b"}}),
    ("equals-in-a-value", {"Fn::Equals": ["a", "a"]}),
    ("unknown-function", {"Fn::NoSuchThing": 1}),
    ("import-value-mapping", {"Fn::ImportValue": {"a": "b"}}),
    ("to-json-string-of-an-object", {"Fn::ToJsonString": {"a": object()}}),
]


@pytest.mark.parametrize("node", [c[1] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_shapes_never_raise(node):
    """GIVEN an intrinsic function written wrongly
    WHEN it is rendered
    THEN it does not raise (cfn-lint reports the mistake; the value is unknown or as
    CloudFormation's loose reading gives it)."""
    value_of(node)


@pytest.mark.parametrize(
    "node",
    [
        {"Fn::If": ["IsProd", "a"]},
        {"Fn::Select": [5, ["a", "b"]]},
        {"Fn::Select": [-1, ["a", "b"]]},
        {"Fn::Join": ["-", "abc"]},
        {"Fn::Sub": 42},
    ],
    ids=["if-two-args", "select-out-of-range", "select-negative", "join-non-list", "sub-int"],
)
def test_hostile_shapes_named_in_the_issue_are_unknown(node):
    """GIVEN Fn::If with two arguments, Fn::Select out of range (either end), Fn::Join
    of a non-list, Fn::Sub of a non-string
    WHEN rendered
    THEN each is Unknown (CloudFormation refuses them; no value is guessed)."""
    assert isinstance(value_of(node), Unknown)


@pytest.mark.parametrize(
    "template",
    [
        None,
        {},
        {"Resources": ["not", "a", "mapping"]},
        {"Resources": {"A": "not a mapping", "B": ["list"], "C": None}},
        {"Resources": {"A": {"Type": "AWS::S3::Bucket", "Properties": ["a", "list"]}}},
        {"Resources": {"A": {"Type": "AWS::S3::Bucket", "Properties": "text"}}},
        {"Resources": {"A": {"Properties": {"Ref": "AWS::NoValue"}}}},
        {"Resources": {"A": {"Type": "AWS::S3::Bucket", "Condition": ["IsProd"]}}},
        {"Resources": {"A": {"Type": "AWS::S3::Bucket", "Condition": "Undeclared"}}},
        {"Conditions": ["x"], "Resources": {}},
        {"Conditions": {"A": "text", "B": None, "C": {"Fn::And": "x"}}, "Resources": {}},
        {"Parameters": {"P": "not a mapping", "Q": None}, "Resources": {}},
        {
            "Mappings": ["x"],
            "Resources": {"A": {"Properties": {"V": {"Fn::FindInMap": ["M", "a", "b"]}}}},
        },
    ],
)
def test_hostile_templates_render_without_raising(template):
    """GIVEN a template with entries of the wrong shape
    WHEN its parameters are taken and it is rendered
    THEN nothing raises; resources that are not mappings are left out, Properties that
    are not a mapping render as none."""
    result = render(template, parameter_values(template or {}, {"P": "x"}), PSEUDO)
    for resource in result.resources.values():
        assert isinstance(resource.properties, dict)


def test_properties_that_are_a_list_render_as_empty():
    """GIVEN a resource whose Properties is a list
    WHEN rendered
    THEN the resource is kept with no properties."""
    template = {"Resources": {"A": {"Type": "AWS::S3::Bucket", "Properties": ["x"]}, "B": "x"}}
    resources = render(template, {}, PSEUDO).resources
    assert set(resources) == {"A"} and resources["A"].properties == {}


# --- Unknown as a value ----------------------------------------------------------------


def test_unknowns_from_the_same_expression_are_equal():
    """GIVEN two renderings of the same GetAtt
    WHEN compared
    THEN they are equal (the same value before and after, unless the diff sees the
    resource replaced)."""
    assert value_of({"Fn::GetAtt": ["Key", "Arn"]}) == value_of({"Fn::GetAtt": "Key.Arn"})
    assert hash(Unknown("x", frozenset({"A"}))) == hash(Unknown("x", frozenset({"A"})))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Unknown("x", frozenset({"A"})), Unknown("x", frozenset({"B"}))),
        (Unknown("x", frozenset({"A"})), Unknown("x")),
        (Unknown("x"), Unknown("y")),
        (Unknown("x"), Unknown("x", masked=True)),
        (Unknown("x"), "x"),
    ],
    ids=["differing-refs", "refs-and-none", "differing-expression", "masked", "a-string"],
)
def test_unknowns_differ_when_expression_refs_or_masking_differ(a, b):
    """GIVEN two unknowns that differ in expression, refs or masking (or an unknown and
    a string)
    WHEN compared
    THEN they are not equal."""
    assert a != b


def test_an_unknown_reads_as_its_expression():
    assert str(Unknown("GetAtt Key.Arn")) == "<GetAtt Key.Arn>"


# --- real templates --------------------------------------------------------------------


def load(rel_path):
    data, error = parse((ROOT / rel_path).read_text())
    assert error is None, error
    return data


def test_the_pci_template_renders_every_resource_for_dev_and_staging():
    """GIVEN templates/pci-database.yml (no conditions) with the dev and staging values
    WHEN rendered in us-east-1 and eu-central-1
    THEN every resource is present, parameters and zones are filled in, and values that
    depend on resources are unknown naming them."""
    template = load("templates/pci-database.yml")
    for given, region in (
        ({"EnvironmentSuffix": "dev", "DBInstanceClass": "db.t3.medium"}, "us-east-1"),
        ({"EnvironmentSuffix": "staging", "DBInstanceClass": "db.r6g.large"}, "eu-central-1"),
    ):
        result = render(template, parameter_values(template, given), Pseudo(region, "pci-db"))
        assert set(result.resources) == set(template["Resources"])
        db = result.resources["Database"].properties
        assert db["EngineVersion"] == "8.4.8"
        assert db["DBInstanceClass"] == given["DBInstanceClass"]
        assert db["DBInstanceIdentifier"] == f"pci-mysql-{given['EnvironmentSuffix']}"
        assert db["KmsKeyId"] == Unknown("Ref EncryptionKey", frozenset({"EncryptionKey"}))
        assert db["StorageEncrypted"] is True
        subnet = result.resources["PublicSubnetA"].properties
        assert subnet["AvailabilityZone"] == f"{region}a"


BOOTSTRAP_GIVEN = {
    "CodeBucket": "artifacts",
    "ReconcilerCodeKey": "reconciler.zip",
    "DesiredStateRepository": "github:acme/desired",
}


@pytest.mark.parametrize(
    ("given", "holding"),
    [
        ({}, set()),
        (
            {
                "DesiredStateRepository": "codecommit:desired",
                "NotificationEmail": "ops@example.com",
            },
            {"IsCodeCommit", "HasEmail"},
        ),
        (
            {
                "GitHubTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t",
                "GitHubWebhookSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:w",
            },
            {"HasGitHubToken", "HasWebhook"},
        ),
        (
            {"GitHubAppSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a"},
            {"HasGitHubApp"},
        ),
    ],
    ids=[
        "github-public",
        "codecommit-with-email",
        "github-with-token-and-webhook",
        "github-with-app",
    ],
)
def test_the_bootstrap_template_has_the_resources_its_conditions_select(given, holding):
    """GIVEN infra/bootstrap.yml with realistic parameters
    WHEN rendered
    THEN exactly the conditions the parameters select hold, and a conditional resource is
    present exactly when its condition holds."""
    template = load("infra/bootstrap.yml")
    values = parameter_values(template, {**BOOTSTRAP_GIVEN, **given})
    result = render(template, values, Pseudo("us-east-1", "gitops-reconciler", "123456789012"))
    assert {name for name, holds in result.conditions.items() if holds is True} == holding
    assert all(isinstance(holds, bool) for holds in result.conditions.values())
    for logical_id, node in template["Resources"].items():
        condition = node.get("Condition")
        assert (logical_id in result.resources) == (condition is None or condition in holding)


def test_function_names_are_case_sensitive_as_in_cloudformation():
    """GIVEN `Fn::GETATT` (no function CloudFormation knows) WHEN rendered THEN it is not
    evaluated as a GetAtt: an unknown function, depending on nothing it could name."""
    assert value_of({"Fn::GETATT": ["Db", "Port"]}) == Unknown("Fn::GETATT")
    assert value_of({"fn::if": ["IsProd", "a", "b"]}) == {"fn::if": ["IsProd", "a", "b"]}
