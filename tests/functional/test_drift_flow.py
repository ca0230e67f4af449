"""Drift through the reconciler on the local AWS (moto with localaws's drift extension):
the schedule starts detections, the drift event is acted on by the stack file's mode,
and `reconciler drift` shows and repairs it."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest

from localaws import extensions
from reconciler.aws.services import services_from_env
from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.drift import DriftAction
from reconciler.drift_actions import on_detection, start_detections
from reconciler.reconcile import apply, finish
from tests.repo import STACK, make_repo

extensions.install_all()


@pytest.fixture
def services(aws):
    return services_from_env(change_set_wait_seconds=0)


@pytest.fixture
def deployed(tmp_path, services):
    """app-dev deployed, its log group's retention then cut behind the reconciler's back."""

    def make(stack_text: str = STACK):
        root = make_repo(tmp_path, {"desired-state/app-dev.yml": stack_text})
        state = load_desired_state(root)
        apply(state, "rev1", services, "test")
        finish("app-dev", "us-east-1", services)
        boto3.client("logs", region_name="us-east-1").put_retention_policy(
            logGroupName="/test/dev/logs", retentionInDays=1
        )
        services.cfn.detect_drift("app-dev", "us-east-1")  # the event follows a detection
        return root, state.stack("app-dev")

    return make


def retention() -> int:
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups(
        logGroupNamePrefix="/test/dev/logs"
    )["logGroups"]
    return groups[0]["retentionInDays"]


def test_schedule_starts_detection_and_records_it(deployed, services):
    deployed()
    ((stack, detection),) = start_detections(services, limit=5)
    status = services.status.get("app-dev")
    assert (stack, status.drift_status, status.drift_detection_id) == (
        "app-dev",
        "DETECTING",
        detection,
    )


def test_schedule_keeps_to_its_limit_of_detections_in_flight(deployed, services):
    deployed()
    assert start_detections(services, limit=0) == []


def test_repair_mode_reverts_the_drift_through_a_change_set(deployed, services):
    _, spec = deployed()
    outcome = on_detection(spec, desired_changed=False, services=services, owner="t")
    assert outcome.action is DriftAction.REPAIR
    assert "Logs /RetentionInDays" in outcome.message
    assert retention() == 365
    finish("app-dev", "us-east-1", services)
    assert services.status.get("app-dev").drift_status == "REVERTED"


def test_detect_mode_records_and_does_not_touch_the_stack(deployed, services):
    _, spec = deployed(STACK + "drift: detect\n")
    outcome = on_detection(spec, desired_changed=False, services=services, owner="t")
    assert outcome.action is DriftAction.NOTIFY
    assert retention() == 1
    status = services.status.get("app-dev")
    assert status.drift_status == "DRIFTED" and "Logs /RetentionInDays" in status.message


def test_drift_ignore_leaves_a_known_difference_alone(deployed, services):
    _, spec = deployed(STACK + "drift-ignore:\n  Logs: [/RetentionInDays]\n")
    outcome = on_detection(spec, desired_changed=False, services=services, owner="t")
    assert outcome.action is DriftAction.NONE
    assert retention() == 1


def test_when_the_desired_state_moved_on_the_update_runs_instead(deployed, services):
    _, spec = deployed()
    outcome = on_detection(spec, desired_changed=True, services=services, owner="t")
    assert outcome.action is DriftAction.UPDATE
    assert retention() == 1  # nothing reverted here: the normal update will


def test_cli_drift_shows_the_drift_and_exits_1(deployed, capsys):
    root, _ = deployed()
    assert main(["drift", "--json", str(root)]) == 1
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    (drifted,) = stack["drifted"]
    assert drifted["logical_id"] == "Logs"
    assert drifted["properties"][0] | {"kind": ""} == {
        "path": "/RetentionInDays",
        "expected": "365",
        "actual": "1",
        "kind": "",
    }


NOT_PCI = STACK.replace("  compliance: pci-dss\n", "  team: payments\n")


def test_cli_drift_repair_reverts_and_exits_0(deployed, capsys):
    root, _ = deployed(NOT_PCI)
    assert main(["drift", "--repair", str(root)]) == 0
    assert retention() == 365
    assert "app-dev: in sync" in capsys.readouterr().out


def test_cli_drift_on_a_pci_stack_also_reports_live_pci_violations(deployed, capsys):
    """The sample log group has no KMS key: drift cannot see that (the template does not
    set one); the live guardrails do, and the command exits 1."""
    root, _ = deployed()
    assert main(["drift", "--repair", str(root)]) == 1
    out = capsys.readouterr().out
    assert "app-dev: in sync" in out
    assert "PCI: Logs (/test/dev/logs): error:" in out and "[cloudwatch-log-group-encrypted]" in out


def test_a_detection_whose_event_never_came_stops_holding_its_slot(deployed, services):
    deployed()
    ((_, first),) = start_detections(services, limit=1)
    assert start_detections(services, limit=1) == []  # still in flight
    stale = services.status.get("app-dev")
    services.status.put(replace(stale, updated_at="2026-01-01T00:00:00Z"))
    ((_, second),) = start_detections(services, limit=1)
    assert second != first
