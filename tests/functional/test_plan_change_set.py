"""The change set is the last word: `plan --change-set` and `apply` block on what the
local AWS's change set reports even when the offline prediction saw nothing, and an update
AWS would refuse is an error in `validate` and `plan` before any change set exists."""

from __future__ import annotations

import json

import boto3
import pytest

from localaws import extensions
from reconciler import plan as plan_module
from reconciler.cli import main
from tests.repo import STACK, TEMPLATE, make_repo

extensions.install_all()

RENAMED = TEMPLATE.replace("/test/${EnvironmentSuffix}/logs", "/test/${EnvironmentSuffix}/audit")
KEY_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  EnvironmentSuffix:
    Type: String
Resources:
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      EnableKeyRotation: true
      KeyPolicy: '{"Version": "2012-10-17", "Statement": []}'
"""
MULTI_REGION = KEY_TEMPLATE + "      MultiRegion: true\n"


@pytest.fixture
def deployed(tmp_path, aws, capsys):
    """GIVEN app-dev deployed from the test template."""
    root = make_repo(tmp_path)
    assert main(["apply", str(root)]) == 0
    capsys.readouterr()
    return root


@pytest.fixture
def no_prediction(monkeypatch):
    """The offline prediction switched off: only the change set can tell."""
    monkeypatch.setattr(plan_module, "predict_changes", lambda old, new, region: [])


def change_sets(stack: str = "app-dev") -> list[dict]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return cfn.list_change_sets(StackName=stack)["Summaries"]


def test_without_a_change_set_a_blind_prediction_would_let_the_rename_through(
    deployed, no_prediction, capsys
):
    """The control for the next test: with no prediction, plan alone says update."""
    (deployed / "templates/app.yml").write_text(RENAMED)
    assert main(["plan", "--json", str(deployed)]) == 0
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert stack["action"] == "update"


def test_plan_change_set_blocks_on_the_change_set_replacement_alone(
    deployed, no_prediction, capsys
):
    """GIVEN the log group's create-only name changes and no offline prediction WHEN
    `plan --change-set --json` THEN the preview change set's Replacement blocks it, both
    views are shown, and the preview change set is deleted."""
    (deployed / "templates/app.yml").write_text(RENAMED)
    assert main(["plan", "--change-set", "--json", str(deployed)]) == 1
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert stack["action"] == "blocked"
    assert "Logs (AWS::Logs::LogGroup) would be replaced" in stack["reason"]
    assert "allow-replacement" in stack["reason"]
    (logs,) = [c for c in stack["changes"] if c["logical_id"] == "Logs"]
    assert logs["replacement"] == "True"
    assert any(d.startswith("Logs: change set says Modify") for d in stack["change_set_differs"])
    assert change_sets() == []


def test_apply_blocks_on_the_change_set_replacement_alone_and_keeps_the_log_group(
    deployed, no_prediction, capsys
):
    """GIVEN the same rename WHEN applied with no offline prediction THEN the change set's
    Replacement blocks it: nothing executes and the log group is still there."""
    (deployed / "templates/app.yml").write_text(RENAMED)
    assert main(["apply", str(deployed)]) == 1
    assert "would be replaced" in capsys.readouterr().out
    logs = boto3.client("logs", region_name="us-east-1")
    names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "/test/dev/logs" in names and "/test/dev/audit" not in names
    assert change_sets() == []


def test_prediction_and_change_set_agreeing_show_no_difference(deployed, capsys):
    (deployed / "templates/app.yml").write_text(TEMPLATE.replace("365", "400"))
    assert main(["plan", "--change-set", "--json", str(deployed)]) == 0
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert (stack["action"], stack["change_set_differs"]) == ("update", [])
    assert change_sets() == []


@pytest.fixture
def key_deployed(tmp_path, aws, capsys):
    root = make_repo(
        tmp_path, {"templates/app.yml": KEY_TEMPLATE, "desired-state/app-dev.yml": STACK}
    )
    assert main(["apply", str(root)]) == 0
    capsys.readouterr()
    return root


def test_validate_refuses_multi_region_on_an_existing_key_at_its_line(key_deployed, capsys):
    """GIVEN a deployed single-Region key WHEN the template adds MultiRegion: true and
    `validate` runs THEN an UPD001 error names the file and line, exit 1, nothing written."""
    (key_deployed / "templates/app.yml").write_text(MULTI_REGION)
    assert main(["validate", str(key_deployed)]) == 1
    out = capsys.readouterr().out
    line = MULTI_REGION.splitlines().index("      MultiRegion: true") + 1
    (finding,) = [x for x in out.splitlines() if "[UPD001]" in x]
    assert finding.startswith(f"templates/app.yml:{line}: error: Key.MultiRegion (AWS::KMS::Key)")
    assert "Traceback" not in out
    assert change_sets() == []


def test_plan_and_apply_block_a_refused_update_before_any_change_set(key_deployed, capsys):
    (key_deployed / "templates/app.yml").write_text(MULTI_REGION)
    assert main(["plan", "--json", str(key_deployed)]) == 1
    captured = capsys.readouterr()
    (stack,) = json.loads(captured.out)["stacks"]
    assert stack["action"] == "blocked"
    assert [f["rule"] for f in stack["findings"]] == ["UPD001"]
    assert "[UPD001]" in captured.err
    assert main(["apply", str(key_deployed)]) == 1
    assert change_sets() == []
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    key_id = cfn.describe_stack_resource(StackName="app-dev", LogicalResourceId="Key")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    kms = boto3.client("kms", region_name="us-east-1")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegion"] is False


def test_offline_validate_does_not_look_at_the_deployed_stacks(key_deployed, capsys):
    (key_deployed / "templates/app.yml").write_text(MULTI_REGION)
    assert main(["validate", "--offline", str(key_deployed)]) == 0
