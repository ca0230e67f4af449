"""The data-loss guard refuses to replace or remove stateful resources unless allowed."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from reconciler import guard
from reconciler.diff import ChangeAction, Replacement, ResourceChange
from reconciler.schemas import is_stateful

DB = "AWS::RDS::DBInstance"
FILE = "desired-state/pci-db-dev.yml"


def replaced(logical_id="Database", kind=DB, how=Replacement.TRUE):
    return ResourceChange(
        logical_id, kind, ChangeAction.MODIFY, how, ("DBName",), ("DBName changes",)
    )


@pytest.mark.parametrize(
    "kind",
    [
        DB,
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
    ],
)
def test_replacing_a_stateful_resource_is_refused(kind):
    (violation,) = guard.check([replaced(kind=kind)], [], FILE)
    assert violation.logical_id == "Database"
    assert "would be replaced: DBName changes" in violation.message
    assert f"list 'Database' under allow-replacement in {FILE}" in violation.message


def test_possible_replacement_is_refused_too():
    (violation,) = guard.check([replaced(how=Replacement.CONDITIONAL)], [], FILE)
    assert "may be replaced" in violation.message


def test_removing_a_stateful_resource_is_refused():
    removed = ResourceChange("Database", DB, ChangeAction.REMOVE)
    (violation,) = guard.check([removed], [], FILE)
    assert "would be deleted" in violation.message


def test_allow_replacement_lets_the_named_resource_through():
    assert guard.check([replaced()], ["Database"], FILE) == []


def test_allow_replacement_names_one_resource_only():
    changes = [replaced("Database"), replaced("Replica")]
    assert [v.logical_id for v in guard.check(changes, ["Database"], FILE)] == ["Replica"]


@pytest.mark.parametrize(
    "change",
    [
        ResourceChange("Sg", "AWS::EC2::SecurityGroup", ChangeAction.MODIFY, Replacement.TRUE),
        ResourceChange(
            "Database", DB, ChangeAction.MODIFY, Replacement.FALSE, ("DBInstanceClass",)
        ),
        ResourceChange("Database", DB, ChangeAction.ADD),
    ],
    ids=["stateless-replaced", "stateful-modified-in-place", "stateful-added"],
)
def test_changes_that_lose_no_data_pass(change):
    assert guard.check([change], [], FILE) == []


@pytest.mark.parametrize(
    "resource_type",
    [
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::EFS::FileSystem",
        "AWS::OpenSearchService::Domain",
    ],
)
def test_stateful_means_stateful(resource_type):
    """The types docs/guard.md promises to protect are protected: their removal blocks."""
    removal = ResourceChange("Thing", resource_type, ChangeAction.REMOVE)
    (violation,) = guard.check([removal], [], "desired-state/app.yml")
    assert "would be deleted" in violation.message


def test_every_type_of_cfn_lint_stateful_list_is_protected():
    spec = resources.files("cfnlint.data.AdditionalSpecs").joinpath("StatefulResources.json")
    listed = json.loads(spec.read_text())["ResourceTypes"]
    assert listed and all(is_stateful(t) for t in listed)
