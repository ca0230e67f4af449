"""The demo path end to end: `python -m harness demo` on a real local AWS server,
driving the real handlers through events routed by the EventBridge rules of
handlers/routes.py: a push, outputs, an update, drift, a pull request preview, the
guard and status."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_"))}
    return subprocess.run(
        [sys.executable, "-m", "harness", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_demo_exits_0_without_a_traceback(demo):
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stdout + demo.stderr


def test_push_deploys_the_dev_stack_and_outputs_are_read_back_from_ssm(demo):
    assert "pci-db-dev: create -> executed" in demo.stdout
    assert "/pci-db/dev/RDSEndpoint = pci-mysql-dev." in demo.stdout
    assert "/pci-db/dev/RDSPort = 3306" in demo.stdout


def test_parameter_change_is_planned_applied_and_visible_in_rds(demo):
    assert "Database  AWS::RDS::DBInstance  Modify  False" in demo.stdout
    assert "pci-db-dev: update -> executed" in demo.stdout
    assert "RDS pci-mysql-dev is now db.t3.large" in demo.stdout


def test_redelivered_push_changes_nothing(demo):
    assert "pci-db-dev: none -> unchanged" in demo.stdout


def test_replacing_the_database_is_blocked(demo):
    assert (
        "Database (AWS::RDS::DBInstance) would be replaced: DBInstanceIdentifier changes"
        in demo.stdout
    )


def test_the_rename_is_previewed_on_its_pull_request_before_the_merge(demo):
    """GIVEN the rename committed on branch rename-db WHEN it is previewed as pull request
    #1 against the live stacks THEN the plan status fails, the comment names the blocked
    Database replacement and its allow-replacement line, and nothing is executed."""
    step = demo.stdout[demo.stdout.index("== 7. ") : demo.stdout.index("== 8. ")]
    assert "committed on branch rename-db" in step
    assert "GitHub would post on pull request #1:" in step
    assert ": gitops-reconciler/plan: failure (3 blocked;" in step
    assert "| ### :no_entry: pci-db-dev \\[us-east-1\\]: blocked" in step
    assert "| - Database \\(AWS::RDS::DBInstance\\) would be replaced" in step
    assert "| allow-replacement: [Database]" in step
    assert "preview -> blocked: 3 blocked" in step
    assert "after the preview: 0 change set(s) left; stacks unchanged: True" in step
    assert "checked: FAILED" not in step
    assert "nothing executed" in step
    assert "-> reconciled" not in step  # no push: main is not touched


def test_status_table_ends_the_run_with_every_stack_synced(demo):
    table = demo.stdout[demo.stdout.index("$ reconciler status") :].splitlines()
    rows = {line.split()[0]: line.split()[1:3] for line in table if line.startswith("pci-db-")}
    assert rows == {
        "pci-db-dev": ["Synced", "Healthy"],
        "pci-db-prod": ["Synced", "Healthy"],
        "pci-db-staging": ["Synced", "Healthy"],
    }


def test_demo_request_logs_are_quiet(demo):
    assert '"POST / HTTP/1.1"' not in demo.stderr


def test_mysql_8_0_35_is_refused_before_anything_is_written(demo):
    assert "mysql 8.0.35 is not offered in us-east-1" in demo.stdout
    assert "nothing was written to AWS" in demo.stdout


def test_drift_is_detected_repaired_and_read_back(demo):
    reverted = "DBSecurityGroup /SecurityGroupIngress/2; Database /BackupRetentionPeriod"
    assert (
        f"gitops-drift => drift: pci-db-dev DRIFTED -> recorded: reverting drifted: {reverted}"
        in demo.stdout
    )
    assert "read back: BackupRetentionPeriod=7, 3306 open to 0.0.0.0/0: False" in demo.stdout


def test_deliveries_are_routed_by_rule_name(demo):
    """GIVEN the demo's pushes, stack operations in two regions and a schedule tick
    WHEN they go through the buses THEN each reaches its handler by its rule's name."""
    routed = [
        "gitops-push-git => push: Git Push refs/heads/main ",
        "gitops-stack-status => stack_status: pci-db-dev CREATE_COMPLETE -> recorded",
        "gitops-stack-status => stack_status: pci-db-staging CREATE_COMPLETE -> recorded",
        "gitops-schedule => schedule: Scheduled Event -> detecting",
        "gitops-drift => drift: pci-db-staging IN_SYNC -> recorded",
    ]
    assert [line for line in routed if line not in demo.stdout] == []


def test_no_delivery_went_to_the_dead_letters(demo):
    assert "\ndead letters: 0\n" in demo.stdout
    assert "dead-lettered" not in demo.stdout
