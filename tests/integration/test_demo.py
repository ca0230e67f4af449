"""The demo path end to end: `python -m harness demo` on a real local AWS server,
driving the real handlers through events routed by the EventBridge rules of
handlers/routes.py: a push, outputs, an update, drift, a pull request preview, the
guard, a production change held for approval and approved, the audit trail and its
evidence pack, and status."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "RECONCILER_")) or k == "RECONCILER_CACHE_DIR"
    }
    done = subprocess.run(
        [sys.executable, "-m", "harness", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    yield done
    kept = evidence_folder(done.stdout)
    if kept is not None and kept.name.startswith("reconciler-demo-evidence-"):
        shutil.rmtree(kept, ignore_errors=True)  # the demo keeps it for its reader


def evidence_folder(stdout: str) -> Path | None:
    found = re.search(r"evidence pack kept: open (\S+)/report\.html", stdout)
    return Path(found[1]) if found else None


def section(stdout: str, start: str, end: str) -> str:
    return stdout[stdout.index(start) : stdout.index(end)]


def test_demo_exits_0_without_a_traceback(demo):
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stdout + demo.stderr


def test_push_deploys_the_dev_stack_and_outputs_are_read_back_from_ssm(demo):
    assert "pci-db-dev: create -> queued: queued for a stack worker" in demo.stdout
    assert "gitops-reconciler-work-us-east-1.fifo => stack_worker: pci-db-dev@" in demo.stdout
    assert "pci-db-dev now: idle: CREATE_COMPLETE; outputs: 10 written" in demo.stdout
    assert "/pci-db/dev/RDSEndpoint = pci-mysql-dev." in demo.stdout
    assert "/pci-db/dev/RDSPort = 3306" in demo.stdout


def test_parameter_change_is_planned_applied_and_visible_in_rds(demo):
    assert "Database  AWS::RDS::DBInstance  Modify  False" in demo.stdout
    assert "pci-db-dev: update -> queued" in demo.stdout
    assert "pci-db-dev now: idle: UPDATE_COMPLETE" in demo.stdout
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


def test_the_data_loss_step_shows_the_refactor_next_to_the_blocked_replacement(demo):
    """GIVEN the replacement refused on push and reverted WHEN only the logical ids of the
    database and its key are renamed THEN the plan says refactor with the mapping, the
    push moves the same RDS instance and KMS key (read back), and each stack notifies."""
    step = demo.stdout[demo.stdout.index("== 8. ") : demo.stdout.index("== 9. ")]
    blocked = step.index("pci-db-dev: blocked -> blocked: Database (AWS::RDS::DBInstance) would")
    planned = step.index(
        "pci-db-dev [us-east-1]: refactor - refactor (Database -> PrimaryDatabase "
        "(AWS::RDS::DBInstance, pci-db-dev); EncryptionKey -> DataKey (AWS::KMS::Key, "
        "pci-db-dev)), then no resource changes"
    )
    assert blocked < planned
    assert "pci-db-dev: refactor -> queued" in step
    assert "pci-db-dev now: idle: UPDATE_COMPLETE" in step
    assert "notification on the gitops-notifications bus: Stack Refactored pci-db-dev" in step
    assert "checked: the same RDS instance and KMS key (DbiResourceId, key id)" in step
    assert "checked: FAILED" not in step


def test_status_table_ends_the_run_with_every_stack_synced(demo):
    final = demo.stdout[demo.stdout.index("== 13. Status") :]
    table = final[final.index("$ reconciler status") :].splitlines()
    rows = {line.split()[0]: line.split()[1:5] for line in table if line.startswith("pci-db-")}
    assert rows == {
        "pci-db-dev": ["123456789012", "us-east-1", "Synced", "Healthy"],
        "pci-db-eu": ["222222222222", "eu-west-1", "Synced", "Healthy"],
        "pci-db-prod": ["123456789012", "us-east-1", "Synced", "Healthy"],
        "pci-db-staging": ["123456789012", "eu-central-1", "Synced", "Healthy"],
    }


def test_a_stack_in_a_second_account_and_region_is_deployed_through_the_same_events(demo):
    """GIVEN infra/member-account.yml deployed in account 222222222222 (roles in the home
    region, forwarding in eu-west-1) WHEN a commit adds a stack file naming that account
    and region and is pushed THEN its work item is applied by the stack worker there, the
    stack's CREATE_COMPLETE is forwarded to the central bus and handled, and its outputs
    are published to the member account's SSM."""
    step = section(demo.stdout, "== 11. ", "== 12. ")
    assert "infra/member-account.yml in 222222222222/us-east-1: CREATE_COMPLETE" in step
    assert "infra/member-account.yml in 222222222222/eu-west-1: CREATE_COMPLETE" in step
    assert "pci-db-eu: create -> queued" in step
    assert re.search(r"stack_worker: pci-db-eu@\w+ in 222222222222/eu-west-1 -> done", step)
    assert (
        "gitops-stack-status => stack_status: pci-db-eu CREATE_COMPLETE in "
        "222222222222/eu-west-1 -> recorded: pci-db-eu: Synced: CREATE_COMPLETE"
    ) in step
    assert "stack id arn:aws:cloudformation:eu-west-1:222222222222:stack/pci-db-eu/" in step
    assert "/pci-db/eu/RDSEndpoint in 222222222222's SSM = pci-mysql-eu." in step
    assert "checked: FAILED" not in step


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


def test_out_of_band_calls_start_one_detection_through_their_cloudtrail_events(demo):
    """GIVEN an operator's two calls behind the reconciler's back WHEN CloudTrail's events
    of them are routed THEN the change handler starts one detection for both, names the
    caller and the touched resources, and the schedule never fires."""
    step = section(demo.stdout, "== 6. ", "== 7. ")
    operator = "arn:aws:iam::123456789012:user/ops-console"
    assert (
        "gitops-change-ec2 => change: ec2:AuthorizeSecurityGroupIngress (CloudTrail) -> "
        f"detecting: pci-db-dev: ec2:AuthorizeSecurityGroupIngress by {operator} on "
        "DBSecurityGroup: detection "
    ) in step
    assert (
        "gitops-change-rds => change: rds:ModifyDBInstance (CloudTrail) -> covered: pci-db-dev: "
        f"rds:ModifyDBInstance by {operator} on Database: covered by the detection started at"
    ) in step
    assert "gitops-schedule" not in step
    assert "checked: both calls reached the change handler; one detection" in step


def test_deliveries_are_routed_by_rule_name(demo):
    """GIVEN the demo's pushes, stack operations in two regions and CloudTrail's events of
    an operator's calls WHEN they go through the buses THEN each reaches its handler by its
    rule's name."""
    routed = [
        "gitops-push-git => push: Git Push refs/heads/main ",
        "gitops-stack-status => stack_status: pci-db-dev CREATE_COMPLETE -> recorded",
        "gitops-stack-status => stack_status: pci-db-staging CREATE_COMPLETE -> recorded",
        "gitops-change-ec2 => change: ec2:AuthorizeSecurityGroupIngress (CloudTrail) -> detecting",
        "gitops-change-rds => change: rds:ModifyDBInstance (CloudTrail) -> covered",
        "gitops-drift => drift: pci-db-dev DRIFTED -> recorded",
    ]
    assert [line for line in routed if line not in demo.stdout] == []


def test_no_delivery_went_to_the_dead_letters(demo):
    assert "\ndead letters: 0\n" in demo.stdout
    assert "dead-lettered" not in demo.stdout


def test_a_production_change_is_held_for_approval_with_its_plan_notified(demo):
    """GIVEN `approval: required` in pci-db-prod.yml and Dana's commit growing its
    database WHEN the push is reconciled THEN the guarded change set is kept, not run,
    the stack awaits approval, and an Approval Required notification carries the plan."""
    step = section(demo.stdout, "== 10. ", "== 11. ")
    assert "committed by Dana Developer <dana@example.com>: DBAllocatedStorage 200 -> 300" in step
    assert "pci-db-prod: update -> queued" in step
    assert "pci-db-prod now: awaiting approval: change set gitops-" in step
    assert re.search(r"change set gitops-\w+ kept, not run: AVAILABLE; RDS storage 200 GB", step)
    assert "notification on the gitops-notifications bus: Approval Required pci-db-prod" in step
    assert "| plan: update pci-db-prod (us-east-1)" in step
    # The database is PrimaryDatabase since step 8 renamed it by a stack refactor.
    assert (
        "|   Modify PrimaryDatabase (AWS::RDS::DBInstance), replacement False [AllocatedStorage]"
        in step
    )
    assert re.search(r"\npci-db-prod +123456789012 +us-east-1 +OutOfSync +Healthy +awaiting ", step)


def test_the_author_cannot_approve_her_own_change(demo):
    """GIVEN the held change set authored by Dana WHEN `reconciler approve` runs with
    Dana's credentials (STS says arn:aws:iam::123456789012:user/dana) THEN it is refused,
    exit 1, and nothing runs."""
    step = section(demo.stdout, "== 10. ", "== 11. ")
    refused = step[step.index("dana, the author") : step.index("alex, signed in")]
    assert "$ reconciler approve pci-db-prod " in refused
    assert "-> exit 1" in refused
    assert (
        "error: approval refused: arn:aws:iam::123456789012:user/dana is the author of the "
        "change (Dana Developer <dana@example.com>); another person must approve"
    ) in demo.stderr


def test_another_persons_approval_runs_the_held_change_set_to_completion(demo):
    """GIVEN the refused self-approval WHEN Alex approves THEN the approval is recorded
    by Alex's identity, the held change set is executed, its stack status event is
    routed, the outputs are published and RDS has the new storage."""
    step = section(demo.stdout, "== 10. ", "== 11. ")
    approved = step[step.index("alex, signed in") :]
    assert "approved by arn:aws:iam::123456789012:user/alex" in approved
    assert "pci-db-prod: executed: change set gitops-" in approved
    assert "-> exit 0" in approved
    assert (
        "gitops-stack-status => stack_status: pci-db-prod UPDATE_COMPLETE -> recorded: "
        "pci-db-prod: Synced: UPDATE_COMPLETE; outputs:"
    ) in approved
    assert "RDS pci-mysql-prod now has 300 GB" in approved
    assert "checked: FAILED" not in step


def test_history_lists_the_hold_the_refusal_and_the_approval(demo):
    step = section(demo.stdout, "== 12. ", "== 13. ")
    listed = step[
        step.index("$ reconciler history pci-db-prod") : step.index("$ reconciler evidence")
    ]
    for event in ("held for approval", "approval refused", "approved", "executed", "completed"):
        assert f"  pci-db-prod  {event}  " in listed, event
    assert "approval refused  arn:aws:iam::123456789012:user/dana  " in listed
    assert "approved  arn:aws:iam::123456789012:user/alex  " in listed


def test_the_evidence_pack_is_written_and_maps_the_approval_to_pci_6_5_4(demo):
    """GIVEN the day's trail WHEN `reconciler evidence` writes the pack THEN audit.jsonl
    holds the approval by Alex and the refusal of Dana, and report.html names pci-db-prod
    and requirement 6.5.4."""
    step = section(demo.stdout, "== 12. ", "== 13. ")
    assert re.search(r"\$ reconciler evidence --since \d{4}-\d\d-\d\d --until \d{4}-", step)
    assert re.search(r"wrote \S+/audit\.jsonl: \d+ record\(s\)", step)
    assert re.search(r"wrote \S+/report\.html: \d+ change\(s\) in 4 stack\(s\)", step)
    assert "checked: FAILED" not in step
    folder = evidence_folder(demo.stdout)
    assert folder is not None
    page = (folder / "report.html").read_text()
    assert "pci-db-prod" in page
    assert "6.5.4" in page
    records = [json.loads(line) for line in (folder / "audit.jsonl").read_text().splitlines()]
    decisions = {
        (r["event"], r["actor"].rsplit("/", 1)[-1])
        for r in records
        if r["stack"] == "pci-db-prod" and r["event"] in ("approved", "approval refused")
    }
    assert decisions == {("approval refused", "dana"), ("approved", "alex")}
