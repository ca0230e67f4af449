"""SsmOutputs against moto's SSM."""

from __future__ import annotations

import boto3
import pytest

from reconciler.aws.ssm import OWNER_TAG, SsmOutputs
from reconciler.errors import OutputsConflictError

pytestmark = pytest.mark.usefixtures("aws")

PATH = "/pci-db/prod"
STACK = "pci-db-prod"
OUTPUTS = {"DbEndpoint": "db.prod.internal", "DbPort": "3306"}


@pytest.fixture
def ssm():
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def outputs() -> SsmOutputs:
    return SsmOutputs("us-east-1")


def parameter(ssm, name: str) -> dict:
    return ssm.get_parameter(Name=name)["Parameter"]


def names(ssm) -> list[str]:
    pages = ssm.get_paginator("describe_parameters").paginate()
    return sorted(p["Name"] for page in pages for p in page["Parameters"])


def owner_tags(ssm, name: str) -> list[dict]:
    return ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]


def test_first_publish_writes_every_output_as_a_string_tagged_with_the_stack(ssm, outputs):
    """GIVEN no parameters WHEN a stack's outputs are published THEN each is a String
    parameter under the outputs path, tagged as the stack's."""
    change = outputs.publish(PATH, STACK, OUTPUTS)

    assert sorted(change.put) == ["/pci-db/prod/DbEndpoint", "/pci-db/prod/DbPort"]
    for key, value in OUTPUTS.items():
        written = parameter(ssm, f"{PATH}/{key}")
        assert (written["Type"], written["Value"]) == ("String", value)
        assert owner_tags(ssm, f"{PATH}/{key}") == [{"Key": OWNER_TAG, "Value": STACK}]


def test_read_returns_the_values_the_stack_published(outputs):
    """GIVEN published outputs WHEN read THEN parameter name -> value comes back."""
    outputs.publish(PATH, STACK, OUTPUTS)

    assert outputs.read(PATH, STACK) == {
        "/pci-db/prod/DbEndpoint": "db.prod.internal",
        "/pci-db/prod/DbPort": "3306",
    }


def test_publishing_the_same_values_again_writes_nothing(ssm, outputs):
    """GIVEN published outputs WHEN the same outputs are published again THEN the change
    is empty and no parameter gets a new version."""
    outputs.publish(PATH, STACK, OUTPUTS)

    change = outputs.publish(PATH, STACK, OUTPUTS)

    assert change.empty and change.unchanged == 2
    assert [parameter(ssm, f"{PATH}/{key}")["Version"] for key in OUTPUTS] == [1, 1]


def test_a_changed_value_is_overwritten_as_a_new_version(ssm, outputs):
    """GIVEN published outputs WHEN one value changes THEN only that parameter moves to
    version 2, with the new value, and keeps its owner tag."""
    outputs.publish(PATH, STACK, OUTPUTS)

    outputs.publish(PATH, STACK, {**OUTPUTS, "DbEndpoint": "db2.prod.internal"})

    endpoint, port = parameter(ssm, f"{PATH}/DbEndpoint"), parameter(ssm, f"{PATH}/DbPort")
    assert (endpoint["Version"], endpoint["Value"]) == (2, "db2.prod.internal")
    assert port["Version"] == 1
    assert owner_tags(ssm, f"{PATH}/DbEndpoint") == [{"Key": OWNER_TAG, "Value": STACK}]


def test_an_output_that_vanished_is_deleted(ssm, outputs):
    """GIVEN published outputs WHEN a later publish lacks one THEN its parameter is gone."""
    outputs.publish(PATH, STACK, OUTPUTS)

    change = outputs.publish(PATH, STACK, {"DbEndpoint": "db.prod.internal"})

    assert change.delete == ("/pci-db/prod/DbPort",)
    assert names(ssm) == ["/pci-db/prod/DbEndpoint"]


def test_more_than_ten_outputs_are_read_and_deleted_in_batches(ssm, outputs):
    """GIVEN 23 published outputs (over the 10-name batch limit) WHEN all vanish THEN
    every one is deleted."""
    many = {f"Output{i:02}": str(i) for i in range(23)}
    outputs.publish(PATH, STACK, many)
    assert outputs.read(PATH, STACK) == {f"{PATH}/{k}": v for k, v in many.items()}

    outputs.publish(PATH, STACK, {})

    assert names(ssm) == []


def test_an_empty_output_value_is_left_out(ssm, outputs):
    """GIVEN an output whose value is empty (SSM cannot store it) WHEN published THEN the
    other outputs are written and no parameter exists for the empty one."""
    outputs.publish(PATH, STACK, {**OUTPUTS, "ReaderEndpoint": ""})

    assert names(ssm) == ["/pci-db/prod/DbEndpoint", "/pci-db/prod/DbPort"]


def test_a_foreign_parameter_under_the_path_is_never_deleted(ssm, outputs):
    """GIVEN an untagged parameter under the outputs path WHEN the stack publishes outputs
    without that key THEN the foreign parameter is untouched."""
    ssm.put_parameter(Name=f"{PATH}/ManualNote", Value="keep me", Type="String")

    outputs.publish(PATH, STACK, OUTPUTS)
    outputs.publish(PATH, STACK, {})

    kept = parameter(ssm, f"{PATH}/ManualNote")
    assert (kept["Value"], kept["Version"]) == ("keep me", 1)


def test_a_foreign_parameter_is_not_read_as_the_stacks(ssm, outputs):
    """GIVEN an untagged parameter under the outputs path WHEN the stack's outputs are read
    THEN it is not among them."""
    ssm.put_parameter(Name=f"{PATH}/ManualNote", Value="keep me", Type="String")
    outputs.publish(PATH, STACK, OUTPUTS)

    assert f"{PATH}/ManualNote" not in outputs.read(PATH, STACK)


def test_an_output_named_like_an_untagged_parameter_is_a_conflict_and_nothing_is_written(
    ssm, outputs
):
    """GIVEN an untagged parameter at an output's name WHEN published THEN a conflict names
    it, it keeps its value, and no other output is written either."""
    ssm.put_parameter(Name=f"{PATH}/DbPort", Value="5432", Type="String")

    with pytest.raises(OutputsConflictError, match="/pci-db/prod/DbPort is not managed by us"):
        outputs.publish(PATH, STACK, OUTPUTS)

    kept = parameter(ssm, f"{PATH}/DbPort")
    assert (kept["Value"], kept["Version"]) == ("5432", 1)
    assert names(ssm) == ["/pci-db/prod/DbPort"]


def test_a_conflict_with_another_stacks_parameter_names_that_stack(ssm, outputs):
    """GIVEN stack pci-db-dr published to the same path WHEN pci-db-prod publishes an
    output with the same key THEN the conflict names pci-db-dr and its value stays."""
    outputs.publish(PATH, "pci-db-dr", {"DbEndpoint": "db.dr.internal"})

    with pytest.raises(OutputsConflictError) as raised:
        outputs.publish(PATH, STACK, OUTPUTS)

    assert raised.value.owners == {"/pci-db/prod/DbEndpoint": "pci-db-dr"}
    assert "belongs to stack 'pci-db-dr'" in str(raised.value)
    assert parameter(ssm, f"{PATH}/DbEndpoint")["Value"] == "db.dr.internal"


def test_parameters_below_the_path_are_not_the_stacks_outputs(ssm, outputs):
    """GIVEN a parameter one level deeper than the outputs path, tagged with the stack
    WHEN the stack publishes no outputs THEN it is neither read nor deleted."""
    ssm.put_parameter(
        Name=f"{PATH}/nested/Value",
        Value="v",
        Type="String",
        Tags=[{"Key": OWNER_TAG, "Value": STACK}],
    )

    assert outputs.read(PATH, STACK) == {}
    outputs.publish(PATH, STACK, {})
    assert names(ssm) == ["/pci-db/prod/nested/Value"]


def test_two_stacks_with_different_outputs_paths_do_not_touch_each_other(ssm, outputs):
    """GIVEN prod and staging published to their own paths WHEN staging's outputs change
    and vanish THEN prod's parameters keep their values and versions."""
    outputs.publish("/pci-db/prod", "pci-db-prod", OUTPUTS)
    outputs.publish("/pci-db/staging", "pci-db-staging", OUTPUTS)

    outputs.publish("/pci-db/staging", "pci-db-staging", {"DbEndpoint": "db.staging.internal"})

    assert names(ssm) == [
        "/pci-db/prod/DbEndpoint",
        "/pci-db/prod/DbPort",
        "/pci-db/staging/DbEndpoint",
    ]
    assert outputs.read("/pci-db/prod", "pci-db-prod") == {
        "/pci-db/prod/DbEndpoint": "db.prod.internal",
        "/pci-db/prod/DbPort": "3306",
    }
    assert [parameter(ssm, f"/pci-db/prod/{k}")["Version"] for k in OUTPUTS] == [1, 1]
