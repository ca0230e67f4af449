"""Drift reports: drift-ignore, secret masking, honest coverage, and the decision by
the stack file's drift mode."""

from __future__ import annotations

import pytest

from reconciler.desired import DriftMode
from reconciler.drift import (
    MASK,
    DriftAction,
    PropertyDrift,
    ResourceDrift,
    ResourceDriftStatus,
    decide,
    report,
    summary,
)

DB = ResourceDrift(
    "Database",
    "AWS::RDS::DBInstance",
    "pci-mysql-dev",
    ResourceDriftStatus.MODIFIED,
    (
        PropertyDrift("/BackupRetentionPeriod", "7", "1", "NOT_EQUAL"),
        PropertyDrift("/Tags/2/Value", "dev", "qa", "NOT_EQUAL"),
        PropertyDrift("/MasterUserPassword", "hunter2-old", "hunter2-new", "NOT_EQUAL"),
    ),
)
SG = ResourceDrift(
    "DBSecurityGroup",
    "AWS::EC2::SecurityGroup",
    "sg-1",
    ResourceDriftStatus.MODIFIED,
    (PropertyDrift("/SecurityGroupIngress/1", "", '{"CidrIp": "0.0.0.0/0"}', "ADD"),),
)
ENDPOINT = ResourceDrift(
    "SecretsManagerEndpoint", "AWS::EC2::VPCEndpoint", "vpce-1", ResourceDriftStatus.NOT_CHECKED
)
IN_SYNC = ResourceDrift("Vpc", "AWS::EC2::VPC", "vpc-1", ResourceDriftStatus.IN_SYNC)


def test_drifted_resources_are_reported_with_their_properties():
    found = report("pci-db-dev", [DB, SG, IN_SYNC], {})
    assert [d.logical_id for d in found.drifted] == ["Database", "DBSecurityGroup"]
    assert not found.in_sync


def test_secret_values_are_masked_in_both_directions():
    found = report("pci-db-dev", [DB], {})
    (password,) = [p for p in found.drifted[0].properties if p.path == "/MasterUserPassword"]
    assert (password.expected, password.actual) == (MASK, MASK)
    assert "hunter2" not in repr(found)


def test_drift_ignore_leaves_out_a_path_and_everything_below_it():
    found = report("pci-db-dev", [DB], {"Database": ["/Tags", "/MasterUserPassword"]})
    assert [p.path for p in found.drifted[0].properties] == ["/BackupRetentionPeriod"]
    assert found.ignored == ("Database/Tags/2/Value", "Database/MasterUserPassword")


def test_a_resource_whose_every_drift_is_ignored_is_in_sync():
    found = report("pci-db-dev", [SG], {"DBSecurityGroup": ["/SecurityGroupIngress"]})
    assert found.in_sync


def test_unchecked_resources_are_listed_never_hidden_behind_in_sync():
    found = report("pci-db-dev", [IN_SYNC, ENDPOINT], {})
    assert found.in_sync
    assert [d.logical_id for d in found.not_checked] == ["SecretsManagerEndpoint"]
    assert summary(found) == "in sync (1 resource(s) not checked: SecretsManagerEndpoint)"


@pytest.mark.parametrize(
    ("mode", "changed", "expected"),
    [
        (DriftMode.REPAIR, False, DriftAction.REPAIR),
        (DriftMode.REPAIR, True, DriftAction.UPDATE),
        (DriftMode.DETECT, False, DriftAction.NOTIFY),
        (DriftMode.IGNORE, False, DriftAction.RECORD),
    ],
)
def test_the_drift_mode_decides(mode, changed, expected):
    assert decide(mode, report("s", [DB], {}), changed) is expected


def test_nothing_to_do_when_in_sync():
    assert decide(DriftMode.REPAIR, report("s", [IN_SYNC], {}), False) is DriftAction.NONE
