"""The evidence pack (reconciler/evidence.py): records grouped into changes per stack,
each item mapped to the PCI DSS v4.0 requirements it evidences (and no claim where the
tool evidences nothing), JSON Lines that read back as records, and an HTML report that
is self-contained and escapes every string a record carries."""

from __future__ import annotations

import json
import re

import pytest

from reconciler import evidence
from reconciler.audit import AuditRecord, Event
from reconciler.evidence import REQUIREMENT, REQUIREMENTS, Coverage, gather, record_evidence

PROD = {
    "stack": "pci-db-prod",
    "region": "eu-west-2",
    "account": "111122223333",
    "author": "alice",
    "pull_request": "12",
}
COMMIT = "a1" * 20
NEWER = "b2" * 20
BOB = "arn:aws:sts::111122223333:assumed-role/Approvers/bob"
SG_CHANGE = {
    "logical_id": "DbSecurityGroup",
    "resource_type": "AWS::EC2::SecurityGroup",
    "action": "Modify",
    "replacement": "False",
    "properties": ["SecurityGroupIngress"],
}
DB_CHANGE = {
    "logical_id": "Database",
    "resource_type": "AWS::RDS::DBInstance",
    "action": "Modify",
    "replacement": "False",
    "properties": ["BackupRetentionPeriod"],
}


def at(minute: int, day: int = 1) -> str:
    return f"2026-03-{day:02d}T10:{minute:02d}:00.000000Z"


def record(event: Event, minute: int, day: int = 1, **fields) -> AuditRecord:
    values = {**PROD, "commit": COMMIT, **fields}
    return AuditRecord(event, time=at(minute, day), id=f"{day}-{minute}-{event.name}", **values)


def approved_change(author: str = "alice", approver: str = BOB) -> list[AuditRecord]:
    """Validated, planned (a security group change), held, approved, executed, completed."""
    cs = {"change_set": "gitops-a1a1a1a1", "author": author}
    return [
        record(
            Event.VALIDATED,
            0,
            author=author,
            detail={
                "findings": [
                    {
                        "path": "desired-state/pci-db-prod.yml",
                        "line": 4,
                        "rule": "PCI003",
                        "severity": "warning",
                        "message": "backups kept 7 days",
                    }
                ],
                "suppressions": [
                    {"rule": "PCI009", "message": "no Multi-AZ", "reason": "PCI-1234 waiver"}
                ],
            },
        ),
        record(Event.PLANNED, 1, detail={"verdict": "allowed", "changes": [SG_CHANGE]}, **cs),
        record(Event.HELD, 2, message="awaiting approval", **cs),
        record(Event.APPROVED, 30, actor=approver, **cs),
        record(Event.EXECUTED, 31, **cs),
        record(Event.COMPLETED, 40, message="UPDATE_COMPLETE", **cs),
    ]


def requirements(found) -> set[str]:
    return {e.requirement for e in found}


# --- grouping ----------------------------------------------------------------------------


def test_records_of_one_commit_form_one_change_and_stacks_are_kept_apart():
    """GIVEN two commits on prod and one on dev, records shuffled WHEN gathered THEN three
    changes, each with its own records in time order, grouped by stack"""
    dev = {"stack": "pci-db-dev", "region": "eu-west-2", "account": "444455556666"}
    records = [
        *approved_change(),
        record(Event.PLANNED, 50, commit=NEWER, change_set="gitops-b2"),
        record(Event.FAILED, 55, commit=NEWER, change_set="gitops-b2", message="rolled back"),
        record(Event.PLANNED, 5, **dev),
        record(Event.COMPLETED, 9, **dev),
    ]
    pack = gather(reversed(records))
    assert [(c.stack, c.commit, c.outcome) for c in pack.changes] == [
        ("pci-db-dev", COMMIT, "completed"),
        ("pci-db-prod", COMMIT, "completed"),
        ("pci-db-prod", NEWER, "failed"),
    ]
    first = pack.changes_of("pci-db-prod")[0]
    assert [r.event for r in first.records] == [
        Event.VALIDATED,
        Event.PLANNED,
        Event.HELD,
        Event.APPROVED,
        Event.EXECUTED,
        Event.COMPLETED,
    ]
    assert pack.stacks == ("pci-db-dev", "pci-db-prod")


def test_a_record_without_commit_joins_the_change_of_its_change_set():
    """GIVEN an approval recorded with the change set only WHEN gathered THEN it belongs
    to the change that planned that change set"""
    records = approved_change()
    records[3] = record(Event.APPROVED, 30, commit="", actor=BOB, change_set="gitops-a1a1a1a1")
    (change,) = gather(records).changes
    assert Event.APPROVED in [r.event for r in change.records]


@pytest.mark.parametrize(
    ("last", "outcome"),
    [
        (Event.HELD, "awaiting approval"),
        (Event.REJECTED, "rejected"),
        (Event.WAITING_FOR_WINDOW, "waiting for its change window"),
        (Event.BLOCKED, "blocked"),
        (Event.APPROVAL_INVALIDATED, "superseded: approval invalidated by a newer commit"),
    ],
)
def test_a_change_outcome_is_its_last_state(last, outcome):
    (change,) = gather([record(Event.PLANNED, 0), record(last, 1)]).changes
    assert change.outcome == outcome


def test_drift_suspensions_outputs_and_whole_pass_events_are_listed_apart_from_changes():
    """GIVEN a drift repair whose change set also completes, a suspension, outputs and an
    event received WHEN gathered THEN none of them is a change"""
    revert = {"change_set": "gitops-revert-drift-1a2b"}
    records = [
        AuditRecord(Event.RECEIVED, "", time=at(0), id="r", message="push to main"),
        record(Event.DRIFT_DETECTED, 1),
        record(Event.DRIFT_REPAIR_STARTED, 2, **revert),
        record(Event.COMPLETED, 3, **revert),
        record(Event.DRIFT_REPAIRED, 4, **revert),
        record(Event.SUSPENDED, 5, actor="carol", message="freeze"),
        record(Event.RESUMED, 6, actor="carol"),
        record(Event.OUTPUTS_PUBLISHED, 7),
    ]
    pack = gather(records)
    assert pack.changes == ()
    assert [r.event for r in pack.drift] == [
        Event.DRIFT_DETECTED,
        Event.DRIFT_REPAIR_STARTED,
        Event.COMPLETED,
        Event.DRIFT_REPAIRED,
    ]
    assert [r.event for r in pack.suspensions] == [Event.SUSPENDED, Event.RESUMED]
    assert [r.event for r in pack.outputs] == [Event.OUTPUTS_PUBLISHED]
    assert [r.event for r in pack.passes] == [Event.RECEIVED]
    counts = pack.counts()
    assert (counts["drift detected"], counts["drift repaired"], counts["suspensions"]) == (1, 1, 1)


# --- requirement mapping -----------------------------------------------------------------


def test_every_requirement_the_issue_names_is_in_the_table_with_a_title():
    assert [r.id for r in REQUIREMENTS] == [
        "1.2",
        "6.5.1",
        "6.5.2",
        "6.5.3",
        "6.5.4",
        "6.5.5",
        "6.5.6",
        "10.2",
        "11.5",
    ]
    assert all(r.title and r.shows for r in REQUIREMENTS)


def test_what_the_tool_cannot_evidence_is_said_not_claimed():
    """6.5.5 (live PANs) and 6.5.6 (test data) are beyond a deployer: no events, no item"""
    for rid in ("6.5.5", "6.5.6"):
        assert REQUIREMENT[rid].coverage is Coverage.NONE
        assert REQUIREMENT[rid].events == ()
    every = [*approved_change(), record(Event.DRIFT_REPAIRED, 50)]
    pack = gather(every)
    claimed = set().union(
        *(requirements(c.evidence()) for c in pack.changes),
        *(requirements(record_evidence(r)) for r in pack.drift),
    )
    assert not claimed & {"6.5.5", "6.5.6"}


def test_an_approved_change_evidences_change_control_checks_and_separation_of_duties():
    """GIVEN a change planned, validated, approved by bob (author alice) and completed
    THEN it evidences 6.5.1, 6.5.2, 6.5.3, 6.5.4, 1.2 (a security group) and 10.2"""
    (change,) = gather(approved_change()).changes
    found = {e.requirement: e.why for e in change.evidence()}
    assert set(found) == {"6.5.1", "6.5.2", "6.5.3", "6.5.4", "1.2", "10.2"}
    assert found["6.5.4"] == f"approved by {BOB} at {at(30)}, not the author alice"
    assert "1 finding(s), 1 suppressed with reasons" in found["6.5.2"]
    assert "guard verdict: allowed" in found["6.5.2"]
    assert found["6.5.3"] == "targets account 111122223333, eu-west-2"
    assert "DbSecurityGroup (AWS::EC2::SecurityGroup)" in found["1.2"]
    assert change.problems == []


def test_a_change_without_approval_does_not_evidence_separation_of_duties():
    (change,) = gather([record(Event.PLANNED, 0), record(Event.COMPLETED, 5)]).changes
    assert "6.5.4" not in requirements(change.evidence())


@pytest.mark.parametrize(
    "approver",
    ["alice", "ALICE", "arn:aws:sts::111122223333:assumed-role/Deployers/alice"],
)
def test_an_approval_by_the_author_is_not_counted_and_is_flagged(approver):
    """The comparison is conservative: an assumed role's session named after the author
    counts as the author"""
    (change,) = gather(approved_change(approver=approver)).changes
    assert "6.5.4" not in requirements(change.evidence())
    assert change.problems == [f"approved by {approver}, who appears to be the author"]


def test_an_approval_named_only_by_the_execution_record_counts():
    """GIVEN a change approved before the period (its `approved` record outside it) WHEN
    the execution's record names the approver THEN that is the approval shown"""
    executed = record(Event.EXECUTED, 5, detail={"approved_by": BOB, "approved_at": at(3)})
    (change,) = gather([record(Event.PLANNED, 0), executed]).changes
    assert [(a.approver, a.time) for a in change.approvals] == [(BOB, at(3))]
    assert "6.5.4" in requirements(change.evidence())


def test_a_refused_self_approval_evidences_separation_of_duties():
    records = [
        record(Event.HELD, 0),
        record(Event.APPROVAL_REFUSED, 1, actor="alice", message="alice wrote the commit"),
    ]
    (change,) = gather(records).changes
    assert [e.why for e in change.evidence() if e.requirement == "6.5.4"] == [
        f"approval refused at {at(1)}: alice wrote the commit"
    ]


def test_a_drift_repair_of_a_security_group_evidences_11_5_and_1_2():
    repaired = record(
        Event.DRIFT_REPAIRED,
        0,
        change_set="gitops-revert-drift-1",
        detail={
            "drifted": [
                {
                    "logical_id": "DbSecurityGroup",
                    "resource_type": "AWS::EC2::SecurityGroup",
                    "status": "MODIFIED",
                }
            ]
        },
    )
    assert requirements(record_evidence(repaired)) == {"11.5", "1.2", "10.2"}


def test_a_repaired_network_guardrail_violation_evidences_1_2():
    repaired = record(
        Event.DRIFT_REPAIRED,
        0,
        detail={"violations": [{"control": "rds-instance-public-access-check"}]},
    )
    assert "1.2" in requirements(record_evidence(repaired))


def test_a_drift_repair_of_a_database_setting_evidences_11_5_but_not_1_2():
    repaired = record(
        Event.DRIFT_REPAIRED,
        0,
        detail={"drifted": [{"logical_id": "Database", "resource_type": "AWS::RDS::DBInstance"}]},
    )
    assert requirements(record_evidence(repaired)) == {"11.5", "10.2"}


def test_a_database_change_does_not_evidence_1_2():
    (change,) = gather([record(Event.PLANNED, 0, detail={"changes": [DB_CHANGE]})]).changes
    assert "1.2" not in requirements(change.evidence())


# --- JSON Lines --------------------------------------------------------------------------


def test_json_lines_hold_one_record_per_line_oldest_first_and_read_back():
    records = [*approved_change(), record(Event.DRIFT_DETECTED, 0, day=2)]
    text = evidence.jsonl(reversed(records))
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == len(records)
    back = [AuditRecord.from_dict(json.loads(line)) for line in lines]
    assert back == sorted(records, key=lambda r: r.time)


def test_json_lines_of_no_records_is_empty():
    assert evidence.jsonl([]) == ""


# --- the HTML report ---------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script>'
SINCE, UNTIL = "2026-03-01T00:00:00.000000Z", "2026-04-01T00:00:00.000000Z"


def page(records, **extra) -> str:
    return evidence.report(records, SINCE, UNTIL, "2026-04-02T08:00:00.000000Z", **extra)


def test_the_report_escapes_every_string_a_record_carries():
    """GIVEN records whose stack, author, actor, commit, change set, message and detail
    (known keys, unknown keys and values) carry markup WHEN rendered THEN no markup from
    a record reaches the page"""
    hostile = {
        "stack": f"prod{HOSTILE}",
        "author": f'al"ice{HOSTILE}',
        "pull_request": HOSTILE,
        "region": HOSTILE,
        "account": HOSTILE,
    }
    cs = {"change_set": f"cs{HOSTILE}", "commit": f"{HOSTILE}{COMMIT}"}
    records = [
        record(Event.VALIDATED, 0, **hostile, **cs, detail={"findings": [{"message": HOSTILE}]}),
        record(
            Event.PLANNED,
            1,
            **hostile,
            **cs,
            message=HOSTILE,
            detail={
                "verdict": HOSTILE,
                "changes": [{**SG_CHANGE, "logical_id": HOSTILE}],
                HOSTILE: {"x": f"</pre>{HOSTILE}"},
            },
        ),
        record(Event.APPROVED, 2, **hostile, **cs, actor=HOSTILE, detail={"via": HOSTILE}),
        record(Event.DRIFT_REPAIRED, 3, **hostile, message=HOSTILE, detail={"v": [HOSTILE]}),
        record(Event.SUSPENDED, 4, **hostile, actor=HOSTILE, message=f"'{HOSTILE}'"),
        AuditRecord(Event.RECEIVED, "", time=at(5), id="r", message=HOSTILE),
    ]
    text = page(records, source=HOSTILE)
    assert "<script" not in text.lower()
    assert "&lt;script&gt;" in text
    assert 'al"ice' not in text and "al&quot;ice" in text


def test_unknown_detail_keys_are_shown_as_escaped_json_not_markup():
    planned = record(Event.PLANNED, 0, detail={"stack_events": [{"status": "<b>FAILED</b>"}]})
    text = page([planned])
    assert re.search(r"<pre>\{\s+&quot;stack_events&quot;", text)
    assert "<b>FAILED</b>" not in text


def test_the_report_is_self_contained():
    """Inline CSS, no script, nothing loaded from elsewhere"""
    text = page([*approved_change(), record(Event.DRIFT_REPAIRED, 50)])
    assert text.startswith("<!doctype html>")
    assert "<style>" in text
    for forbidden in ("<script", "<link", "src=", "url(", "@import", "http://", "https://"):
        assert forbidden not in text.lower()


def test_the_report_states_period_generation_time_counts_and_the_change():
    text = page(approved_change(), jsonl_sha256="f" * 64)
    assert f"<b>{SINCE}</b> (inclusive) to <b>{UNTIL}</b> (exclusive)" in text
    assert "Generated 2026-04-02T08:00:00.000000Z" in text
    assert "<td>changes</td><td>1</td>" in text and "<td>approvals</td><td>1</td>" in text
    assert "f" * 64 in text
    assert "<h3>pci-db-prod</h3>" in text
    assert f"<code>{COMMIT}</code>" in text
    assert "PCI-1234 waiver" in text  # the suppression's reason
    assert "DbSecurityGroup" in text and "allowed" in text
    assert f"<td>{BOB}</td><td>{at(30)}</td>" in text  # the approval: who, when


def test_the_report_says_what_is_not_evidenced():
    text = page(approved_change())
    section = text.split("<h2>Not evidenced by this tool</h2>", 1)[1]
    assert "6.5.5 Live PANs" in section and "6.5.6 Test data" in section


def test_a_report_of_an_empty_period_says_so():
    text = page([])
    assert "No audit records in this period." in text
    assert "No changes in this period." in text
    assert "<td>records</td><td>0</td>" in text


def test_a_self_approval_is_flagged_in_the_report():
    text = page(approved_change(approver="alice"))
    assert "Warning: </b>approved by alice, who appears to be the author" in text


def test_drift_repair_change_sets_are_recognised_by_the_reconciler_s_own_prefix():
    from reconciler.reconcile import REVERT_PREFIX

    assert evidence.REVERT_PREFIX == REVERT_PREFIX
