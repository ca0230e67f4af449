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
        record(Event.EXECUTED, 31, detail={"approved_by": approver, "approved_at": at(30)}, **cs),
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
        (Event.WAITING_FOR_WINDOW, "waiting for window"),
        (Event.BLOCKED, "blocked"),
        (Event.APPROVAL_INVALIDATED, "superseded"),
        (Event.SUPERSEDED, "superseded"),
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
    assert found["6.5.4"] == (
        f"approved by {BOB} at {at(30)} through reconciler approve, not the author alice; "
        f"executed at {at(31)}"
    )
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


def test_a_github_approval_named_only_by_the_execution_record_counts():
    """GIVEN an execution under an approving GitHub review (which has no `approved`
    record, by design) THEN it is the approval shown, through GitHub review, and it
    evidences 6.5.4"""
    executed = record(Event.EXECUTED, 5, detail={"approved_by": "github:bob", "approved_at": at(3)})
    (change,) = gather([record(Event.PLANNED, 0), executed]).changes
    assert [(a.approver, a.time, a.through) for a in change.approvals] == [
        ("github:bob", at(3), "GitHub review")
    ]
    assert "6.5.4" in requirements(change.evidence())
    assert change.problems == []


def test_an_iam_approval_with_no_approved_record_is_a_warning_not_evidence():
    """GIVEN an execution naming an IAM approver, and no `approved` record of that change
    set and commit in the trail (an approval written to the status table outside
    `reconciler approve`) THEN it is not 6.5.4 evidence but a warning"""
    executed = record(
        Event.EXECUTED, 5, change_set="cs-1", detail={"approved_by": BOB, "approved_at": at(3)}
    )
    other = record(Event.APPROVED, 2, commit=NEWER, change_set="cs-1", actor=BOB)
    pack = gather([record(Event.HELD, 0, change_set="cs-1"), other, executed])
    change = pack.changes_of("pci-db-prod")[0]
    assert change.commit == COMMIT
    assert "6.5.4" not in requirements(change.evidence())
    assert change.problems == [
        f"approval not on record: executed at {at(5)} under an approval by {BOB} (at "
        f"{at(3)}) that has no `approved` record: an approval written to the status table "
        "outside `reconciler approve`"
    ]
    assert pack.counts()["approvals not on record"] == 1
    assert pack.counts()["approvals"] == 0
    text = page([record(Event.HELD, 0, change_set="cs-1"), executed])
    assert "Warning: </b>approval not on record: " in text


def test_an_approval_missing_from_the_period_may_predate_it_and_the_warning_says_so():
    executed = record(Event.EXECUTED, 5, detail={"approved_by": BOB, "approved_at": at(3)})
    (change,) = gather([executed], since=at(4)).changes
    (problem,) = change.problems
    assert problem.startswith("approval not on record: ")
    assert f"or one given before the period began ({at(4)})" in problem


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


# --- events received are context, not changes ---------------------------------------------


def received(minute: int, **fields) -> AuditRecord:
    """A stack-level `event received`: a stack (and maybe the branch head), no change set."""
    return record(
        Event.RECEIVED,
        minute,
        actor="lambda:gitops-stack_status:1",
        message="stack_status: CloudFormation Stack Status Change: recorded",
        detail={"event_id": "e1", "source": "aws.cloudformation"},
        **fields,
    )


def test_a_stack_level_event_received_never_forms_or_joins_a_change():
    """GIVEN events received naming pci-db-prod (one with no commit, one with the commit
    of a change) WHEN gathered THEN they are listed apart and the one change holds none"""
    records = [*approved_change(), received(35, commit=""), received(36)]
    pack = gather(records)
    (change,) = pack.changes
    assert Event.RECEIVED not in [r.event for r in change.records]
    assert [r.time for r in pack.passes] == [at(35), at(36)]
    assert pack.counts()["changes"] == 1
    assert pack.counts()["events received"] == 2


def test_an_event_received_alone_is_no_change_in_any_count_or_table():
    pack = gather([received(0, commit="")])
    assert pack.changes == ()
    counts = pack.counts()
    assert counts["changes"] == 0 and counts["other outcomes"] == 0
    text = page([received(0, commit="")])
    assert "No changes in this period." in text
    assert "<td>pci-db-prod</td><td>111122223333</td><td>eu-west-2</td><td>0</td><td>1</td>" in text
    assert "6.5.3" not in requirements(record_evidence(received(0)))


@pytest.mark.parametrize(
    "last",
    [*evidence.OUTCOME, Event.APPROVAL_REFUSED],
)
def test_the_outcome_counts_add_up_to_the_changes(last):
    """Whatever state a change is left in, it is counted once among the outcomes"""
    records = [
        record(Event.PLANNED, 0),
        record(last, 1),
        record(Event.PLANNED, 2, commit=NEWER),
        record(Event.COMPLETED, 3, commit=NEWER),
        received(4),
    ]
    counts = gather(records).counts()
    outcomes = (*evidence.COUNTED, "other outcomes")
    assert counts["changes"] == 2
    assert sum(counts[k] for k in outcomes) == counts["changes"]


def test_a_rejected_change_is_counted_rejected_whatever_is_recorded_after_the_rejection():
    """GIVEN two changes rejected, one of them then superseded by a newer commit THEN
    both count as rejected: as many as the `rejected` records"""
    records = [
        record(Event.HELD, 0, change_set="cs-a"),
        record(Event.REJECTED, 1, change_set="cs-a", actor=BOB),
        record(Event.SUPERSEDED, 2, change_set="cs-a"),
        record(Event.HELD, 3, commit=NEWER, change_set="cs-b"),
        record(Event.REJECTED, 4, commit=NEWER, change_set="cs-b", actor=BOB),
    ]
    counts = gather(records).counts()
    assert counts["rejected"] == 2 == sum(1 for r in records if r.event is Event.REJECTED)
    assert counts["superseded"] == 0


# --- approvals that did not lead to an execution -------------------------------------------


def test_an_approval_invalidated_by_a_newer_commit_is_shown_and_not_counted():
    """GIVEN a change held and approved, then its approval invalidated and the change set
    superseded by a newer commit (records at the old commit and change set) THEN its
    outcome is superseded, the approval is shown as invalidated and evidences nothing"""
    cs = {"change_set": "gitops-a1"}
    records = [
        record(Event.PLANNED, 0, **cs),
        record(Event.HELD, 1, **cs),
        record(Event.APPROVED, 2, actor=BOB, **cs),
        record(Event.APPROVAL_INVALIDATED, 3, message="approval by bob no longer counts", **cs),
        record(Event.SUPERSEDED, 3, message="change set gitops-a1 deleted: a newer commit", **cs),
        record(Event.PLANNED, 4, commit=NEWER, change_set="gitops-b2"),
        record(Event.HELD, 5, commit=NEWER, change_set="gitops-b2"),
    ]
    pack = gather(records)
    old = pack.changes_of("pci-db-prod")[0]
    assert old.outcome == "superseded"
    assert [a.given for a in old.approvals] == [evidence.Given.INVALIDATED]
    assert "6.5.4" not in requirements(old.evidence())
    counts = pack.counts()
    assert (counts["approvals"], counts["approvals not executed"]) == (0, 1)
    assert (counts["superseded"], counts["awaiting approval"]) == (1, 1)
    assert "approved, then invalidated by a newer commit" in page(records)


def test_an_approval_never_executed_is_shown_and_not_counted():
    """GIVEN an approval followed by nothing executed (expired, or the period ended)"""
    records = [record(Event.HELD, 0), record(Event.APPROVED, 1, actor=BOB)]
    (change,) = gather(records).changes
    assert [a.given for a in change.approvals] == [evidence.Given.NOT_EXECUTED]
    assert "6.5.4" not in requirements(change.evidence())
    assert gather(records).counts()["approvals"] == 0
    assert "approved, not executed" in page(records)


def test_an_approval_followed_by_an_execution_of_another_change_set_is_not_counted():
    records = [
        record(Event.APPROVED, 1, actor=BOB, change_set="cs-old"),
        record(Event.EXECUTED, 2, change_set="cs-new"),
    ]
    (change,) = gather(records).changes
    assert [a.given for a in change.approvals] == [evidence.Given.NOT_EXECUTED]


# --- the author, as change control names them ---------------------------------------------

DANA = "Dana Developer <dana@example.com>"


@pytest.mark.parametrize(
    "approver",
    [
        "arn:aws:iam::123456789012:user/dana",
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver/dana@example.com",
        "arn:aws:iam::123456789012:user/Dana Developer",
        "github:dana",
    ],
)
def test_an_approver_named_as_the_git_author_is_the_author(approver):
    """The name, the email and the email's local part of "Name <email>" are the author's,
    as reconciler.change_control compares them"""
    assert evidence.same_person(approver, DANA)
    (change,) = gather(approved_change(author=DANA, approver=approver)).changes
    assert "6.5.4" not in requirements(change.evidence())
    assert change.problems == [f"approved by {approver}, who appears to be the author"]


def test_another_person_approving_a_git_author_s_change_is_evidence():
    assert not evidence.same_person("arn:aws:iam::123456789012:user/alex", DANA)
    (change,) = gather(approved_change(author=DANA)).changes
    assert "6.5.4" in requirements(change.evidence())


def test_the_author_check_is_change_control_s_own():
    from reconciler import change_control
    from reconciler.source import CommitInfo

    info = CommitInfo(author=DANA, author_name="Dana Developer", author_email="dana@example.com")
    assert evidence.author_names(DANA) == info.identities()
    for who in ("arn:aws:iam::1:user/dana", "github:alex", "dana@example.com"):
        assert evidence.same_person(who, DANA) == change_control.is_author(who, info)


# --- the stack file's change control at the commit -----------------------------------------


def policy(approval: str) -> dict:
    return {
        "suspended": False,
        "approval": approval,
        "approvers": ["bob"] if approval == "required" else [],
        "window": "none",
        "next_window": "",
    }


@pytest.mark.parametrize(
    ("detail", "said"),
    [
        ({"change_control": policy("required")}, "approval required at this commit"),
        ({"change_control": policy("none")}, "approval not required at this commit (stack file)"),
        ({}, "policy not recorded"),
    ],
)
def test_each_change_says_whether_its_stack_file_required_approval(detail, said):
    records = [record(Event.PLANNED, 0, detail=detail), record(Event.COMPLETED, 1)]
    (change,) = gather(records).changes
    assert change.policy_text.startswith(said)
    assert f"<dt>Change control</dt><dd>{evidence.esc(change.policy_text)}</dd>" in page(records)


def test_a_change_executed_without_an_approval_its_stack_file_required_is_flagged():
    records = [
        record(Event.PLANNED, 0, detail={"change_control": policy("required")}),
        record(Event.EXECUTED, 1),
    ]
    (change,) = gather(records).changes
    assert change.problems == [
        "approval required at this commit, but executed with no approval on record"
    ]
    not_required = [record(Event.PLANNED, 0, detail={"change_control": policy("none")})]
    (change,) = gather([*not_required, record(Event.EXECUTED, 1)]).changes
    assert change.problems == []


# --- stack events not available --------------------------------------------------------------


@pytest.mark.parametrize(
    "detail",
    [
        {"stack_status": "UPDATE_COMPLETE", "resources": {}, "failures": []},
        {"stack_status": "UPDATE_COMPLETE"},
    ],
)
@pytest.mark.parametrize("event", [Event.COMPLETED, Event.DRIFT_REPAIRED])
def test_an_end_without_resource_events_says_they_are_not_available(event, detail):
    text = page([record(Event.PLANNED, 0), record(event, 1, detail=detail)])
    assert '<h5>Resources by final status</h5><p class="none">resource events not available' in text


def test_an_end_with_resource_events_lists_them():
    detail = {"stack_status": "UPDATE_COMPLETE", "resources": {"UPDATE_COMPLETE": 2}}
    text = page([record(Event.PLANNED, 0), record(Event.COMPLETED, 1, detail=detail)])
    assert "resource events not available" not in text
    assert "UPDATE_COMPLETE" in text


# --- 10.2 in part -----------------------------------------------------------------------------


def test_10_2_is_evidenced_in_part_and_says_what_the_trail_does_not_hold():
    requirement = REQUIREMENT["10.2"]
    assert requirement.coverage is Coverage.PARTLY
    assert "who read the trail" in requirement.shows
    assert "access to cardholder data" in requirement.shows
    section = page([]).split("<h2>Not evidenced by this tool</h2>", 1)[1]
    assert "10.2</b> beyond what is shown" in section


# --- drift repairs of network controls ------------------------------------------------------


def test_a_drift_repair_of_a_security_group_evidences_1_2_with_its_changes_and_verdict():
    """GIVEN a drift detected on a security group, a repair started (its revert change
    set's changes and verdict) and repaired (stack-level detail only) THEN each of the
    repair's records evidences 1.2, and the report shows the changes and the verdict"""
    revert = {"change_set": "gitops-revert-drift-1"}
    records = [
        record(
            Event.DRIFT_DETECTED,
            0,
            detail={
                "drifted": [
                    {
                        "logical_id": "DbSecurityGroup",
                        "type": "AWS::EC2::SecurityGroup",
                        "status": "MODIFIED",
                    }
                ]
            },
        ),
        record(
            Event.DRIFT_REPAIR_STARTED,
            1,
            detail={"changes": [SG_CHANGE], "verdict": "allowed", "outside_window": False},
            **revert,
        ),
        record(Event.DRIFT_REPAIRED, 2, detail={"stack_status": "UPDATE_COMPLETE"}, **revert),
    ]
    pack = gather(records)
    for r in pack.drift:
        assert "1.2" in requirements(pack.record_evidence(r)), r.event
    started = {e.requirement: e.why for e in pack.record_evidence(pack.drift[1])}
    assert started["11.5"] == "drift repair started: 1 resource change(s), guard verdict allowed"
    assert "DbSecurityGroup (AWS::EC2::SecurityGroup)" in started["1.2"]
    text = page(records)
    assert "<h5>Guard verdict</h5><p>allowed</p>" in text
    assert "<td>DbSecurityGroup</td><td>AWS::EC2::SecurityGroup</td>" in text


def test_a_drift_repair_of_a_database_only_does_not_borrow_1_2_from_another_stack():
    revert = {"change_set": "gitops-revert-drift-2"}
    sg = {"drifted": [{"logical_id": "Sg", "type": "AWS::EC2::SecurityGroup"}]}
    records = [
        record(Event.DRIFT_DETECTED, 0, stack="pci-db-dev", detail=sg),
        record(Event.DRIFT_DETECTED, 1, detail={"drifted": [{"type": "AWS::RDS::DBInstance"}]}),
        record(Event.DRIFT_REPAIR_STARTED, 2, detail={"changes": [DB_CHANGE]}, **revert),
        record(Event.DRIFT_REPAIRED, 3, **revert),
    ]
    pack = gather(records)
    repaired = pack.drift[-1]
    assert requirements(pack.record_evidence(repaired)) == {"11.5", "10.2"}


def test_a_network_guardrail_violation_cited_in_a_repair_evidences_1_2():
    started = record(
        Event.DRIFT_REPAIR_STARTED,
        0,
        change_set="gitops-revert-drift-3",
        detail={
            "violations": [
                "Db (db-1): error: publicly accessible [rds-instance-public-access-check]"
            ]
        },
    )
    assert "1.2" in requirements(record_evidence(started))


# --- the approvals table ----------------------------------------------------------------------


def test_the_approvals_table_derives_through_from_the_approver():
    """An IAM ARN approved through `reconciler approve`, `github:` through a review"""
    text = page(approved_change())
    assert (
        f"<td>{BOB}</td><td>{at(30)}</td><td>reconciler approve</td><td>gitops-a1a1a1a1</td>"
        f"<td>executed under this approval at {at(31)}</td>"
    ) in text
    assert evidence.through("github:bob") == "GitHub review"
    assert evidence.through("bob") == "not known"
