"""`reconciler history` and `reconciler evidence` over an in-memory trail: the listing,
the period, the files written, and every bad date or --out answered in one line with
the usage exit code, never a traceback.

The trail is `reconciler.aws.services.audit_from_env()`, replaced here by a `Kept`. The
commands are run through a parser holding only this module's `register`, and through
`reconciler.cli.main` once the CLI registers them."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime

import pytest

from reconciler.audit import AuditRecord, Event, Kept
from reconciler.cli import history
from reconciler.cli.history import DateError, parse_when

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
COMMIT = "c0ffee" * 6 + "abcd"


def at(day: int, hour: int = 10) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00.000000Z"


def rec(event: Event, day: int, stack: str = "pci-db-prod", **fields) -> AuditRecord:
    return AuditRecord(
        event,
        stack,
        region="eu-west-2",
        commit=fields.pop("commit", COMMIT),
        author="alice",
        time=at(day, fields.pop("hour", 10)),
        id=f"{stack}-{day}-{event.name}",
        **fields,
    )


BOB = "arn:aws:iam::1:user/bob"
TRAIL = [
    rec(Event.PLANNED, 2, change_set="gitops-1", message="2 resource change(s)"),
    rec(Event.APPROVED, 3, hour=9, change_set="gitops-1", actor=BOB),
    rec(Event.EXECUTED, 3, change_set="gitops-1", detail={"approved_by": BOB}),
    rec(Event.COMPLETED, 3, hour=11, change_set="gitops-1", message="UPDATE_COMPLETE"),
    rec(Event.DRIFT_REPAIRED, 15, change_set="gitops-revert-drift-9"),
    rec(Event.PLANNED, 16, stack="pci-db-dev", message="1 resource change(s)"),
]


@pytest.fixture
def trail(monkeypatch) -> Kept:
    import reconciler.aws.services as services

    kept = Kept()
    kept.append(list(reversed(TRAIL)))
    monkeypatch.setattr(services, "audit_from_env", lambda: kept, raising=False)
    monkeypatch.setattr(history, "_now", lambda: NOW)
    return kept


@pytest.fixture
def no_trail(monkeypatch):
    """For commands that must stop before reading anything."""
    import reconciler.aws.services as services

    def refuse():
        raise AssertionError("the trail was read")

    monkeypatch.setattr(services, "audit_from_env", refuse, raising=False)
    monkeypatch.setattr(history, "_now", lambda: NOW)


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="reconciler")
    history.register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return args.func(args)


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end_of_day", "bound"),
    [
        ("2026-03-01", False, "2026-03-01T00:00:00.000000Z"),
        ("2026-03-01", True, "2026-03-02T00:00:00.000000Z"),
        ("2026-03-01T10:30:00Z", False, "2026-03-01T10:30:00.000000Z"),
        ("2026-03-01T10:30:00", False, "2026-03-01T10:30:00.000000Z"),
        ("2026-03-01T10:30:00+02:00", True, "2026-03-01T08:30:00.000000Z"),
        ("2026-03-01 10:30", False, "2026-03-01T10:30:00.000000Z"),
        ("7d", False, "2026-03-13T12:00:00.000000Z"),
        ("12h", False, "2026-03-20T00:00:00.000000Z"),
        ("90m", False, "2026-03-20T10:30:00.000000Z"),
        ("2w", False, "2026-03-06T12:00:00.000000Z"),
    ],
)
def test_dates_are_read_as_utc_bounds_in_the_records_format(text, end_of_day, bound):
    assert parse_when(text, NOW, end_of_day) == bound


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2026-13-01", "2026-02-30", "7", "-7d", "7y", "2026-3-1", "10:30", "1e9d"],
)
def test_a_bad_date_is_refused(text):
    with pytest.raises(DateError, match="is not a date: give YYYY-MM-DD"):
        parse_when(text, NOW)


# --- history -----------------------------------------------------------------------------


def test_history_lists_the_trail_oldest_first_one_line_per_record(trail, capsys):
    assert run(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(TRAIL)
    assert lines[0] == (
        f"2026-03-02T10:00:00Z  pci-db-prod  planned  -  {COMMIT[:12]}  gitops-1  "
        "2 resource change(s)"
    )
    assert lines[1].split("  ")[:4] == [
        "2026-03-03T09:00:00Z",
        "pci-db-prod",
        "approved",
        "arn:aws:iam::1:user/bob",
    ]
    assert lines[-1].startswith("2026-03-16T10:00:00Z  pci-db-dev  planned")


def test_history_of_one_stack_since_a_date(trail, capsys):
    assert run(["history", "pci-db-prod", "--since", "2026-03-03"]) == 0
    events = [line.split("  ")[2] for line in capsys.readouterr().out.splitlines()]
    assert events == ["approved", "executed", "completed", "drift repaired"]


def test_history_since_a_relative_time(trail, capsys):
    assert run(["history", "--since", "7d"]) == 0  # NOW is March 20, noon
    assert [line[:10] for line in capsys.readouterr().out.splitlines()] == [
        "2026-03-15",
        "2026-03-16",
    ]


def test_history_json_is_a_list_of_records(trail, capsys):
    assert run(["history", "--json", "pci-db-dev"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert AuditRecord.from_dict(only) == TRAIL[-1]


def test_history_with_nothing_to_show_says_so(trail, capsys):
    assert run(["history", "pci-db-test"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no audit records for stack pci-db-test" in captured.err


def test_history_shows_control_characters_of_a_message_instead_of_obeying_them(trail, capsys):
    trail.append([rec(Event.FAILED, 18, message="bad\x1b[2J\nnews")])
    run(["history", "--since", "2026-03-18"])
    assert capsys.readouterr().out.splitlines() == [
        f"2026-03-18T10:00:00Z  pci-db-prod  failed  -  {COMMIT[:12]}  -  bad\\x1b[2J news"
    ]


def test_history_bad_date_is_a_one_line_usage_error(no_trail, capsys):
    assert run(["history", "--since", "last tuesday"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "error: --since 'last tuesday' is not a date: give YYYY-MM-DD, an ISO 8601 time "
        "(UTC unless it has an offset) or a relative 7d, 12h"
    ]
    assert "Traceback" not in captured.err


# --- evidence ----------------------------------------------------------------------------


def test_evidence_writes_the_records_of_the_period_and_the_report(trail, tmp_path, capsys):
    """GIVEN records from March 2 to 16 WHEN the pack is asked for March 1-3 (a bare
    --until includes its day) THEN the three records of March 2-3, as JSON Lines, and a
    report of one completed change, approved by bob"""
    out = tmp_path / "pack" / "2026-q1"
    assert (
        run(["evidence", "--since", "2026-03-01", "--until", "2026-03-03", "--out", str(out)]) == 0
    )
    lines = (out / "audit.jsonl").read_text().splitlines()
    assert [AuditRecord.from_dict(json.loads(x)) for x in lines] == TRAIL[:4]
    page = (out / "report.html").read_text()
    assert "<b>2026-03-01T00:00:00.000000Z</b> (inclusive)" in page
    assert "<b>2026-03-04T00:00:00.000000Z</b> (exclusive)" in page
    assert "<h3>pci-db-prod</h3>" in page
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"wrote {out / 'audit.jsonl'}: 4 record(s)",
        f"wrote {out / 'report.html'}: 1 change(s) in 1 stack(s) (1 completed, 0 failed, "
        "0 rejected, 0 blocked), 1 approval(s), drift 0 detected / 0 repaired, "
        "0 suspension(s), 0 resumption(s), 0 output publication(s), 0 event(s) received",
    ]


def test_evidence_summary_outcomes_add_up_and_events_received_are_not_changes(
    trail, tmp_path, capsys
):
    """GIVEN a stack-level event received, and a change held, approved and not executed
    WHEN the pack is written THEN the event received is counted apart, not as a change,
    the change is counted among the other outcomes, and its approval is not counted as
    one a change ran under"""
    trail.append(
        [
            rec(Event.RECEIVED, 17, commit="", message="stack_status: recorded"),
            rec(Event.PLANNED, 17, hour=11, commit="d" * 40, change_set="gitops-2"),
            rec(Event.HELD, 17, hour=12, commit="d" * 40, change_set="gitops-2"),
            rec(Event.APPROVED, 17, hour=13, commit="d" * 40, change_set="gitops-2", actor=BOB),
        ]
    )
    out = tmp_path / "pack"
    assert (
        run(["evidence", "--since", "2026-03-17", "--until", "2026-03-17", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out.splitlines()[-1]
    assert printed.endswith(
        ": 1 change(s) in 1 stack(s) (0 completed, 0 failed, 0 rejected, 0 blocked, "
        "1 other outcomes), 0 approval(s), 1 approval(s) not executed, drift 0 detected / "
        "0 repaired, 0 suspension(s), 0 resumption(s), 0 output publication(s), "
        "1 event(s) received"
    )


def test_evidence_for_named_stacks_only(trail, tmp_path):
    out = tmp_path / "pack"
    args = ["evidence", "--since", "2026-03-01", "--until", "2026-03-31", "--out", str(out)]
    assert run([*args, "pci-db-dev"]) == 0
    stacks = {json.loads(x)["stack"] for x in (out / "audit.jsonl").read_text().splitlines()}
    assert stacks == {"pci-db-dev"}


def test_evidence_until_defaults_to_now(trail, tmp_path):
    assert run(["evidence", "--since", "2026-03-15", "--out", str(tmp_path)]) == 0
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == 2


def test_evidence_of_an_empty_period_writes_both_files_and_says_so(trail, tmp_path, capsys):
    out = tmp_path / "empty"
    assert (
        run(["evidence", "--since", "2025-01-01", "--until", "2025-01-31", "--out", str(out)]) == 0
    )
    assert (out / "audit.jsonl").read_text() == ""
    assert "No audit records in this period." in (out / "report.html").read_text()
    printed = capsys.readouterr().out
    assert printed.startswith(
        "no audit records from 2025-01-01T00:00:00.000000Z to 2025-02-01T00:00:00.000000Z"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--since", "2026-03-10", "--until", "2026-03-01"],
            "error: --until (2026-03-02T00:00:00.000000Z) must come after --since "
            "(2026-03-10T00:00:00.000000Z)",
        ),
        (["--since", "2026-03-40"], "error: --since '2026-03-40' is not a date"),
        (["--since", "2026-03-01", "--until", "soon"], "error: --until 'soon' is not a date"),
    ],
)
def test_evidence_bad_period_is_a_one_line_usage_error(no_trail, tmp_path, capsys, argv, message):
    assert run(["evidence", *argv, "--out", str(tmp_path / "pack")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(message)
    assert not (tmp_path / "pack").exists()


def test_evidence_refuses_an_out_path_that_is_a_file(no_trail, tmp_path, capsys):
    taken = tmp_path / "report"
    taken.write_text("keep me")
    assert run(["evidence", "--since", "7d", "--out", str(taken)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: --out {taken}: exists and is not a directory; give a directory to write"
    ]
    assert taken.read_text() == "keep me"


def test_evidence_under_a_file_is_one_line_not_a_traceback(trail, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "pack"
    assert run(["evidence", "--since", "7d", "--out", str(out)]) == 1
    (line,) = capsys.readouterr().err.splitlines()[1:]  # after the "audit: ..." line
    assert line.startswith(f"error: cannot write the evidence pack in {out}: ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_evidence_in_an_unwritable_folder_is_one_line_not_a_traceback(trail, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert run(["evidence", "--since", "7d", "--out", str(locked / "pack")]) == 1
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err
    assert f"error: cannot write the evidence pack in {locked / 'pack'}: Permission denied" in err
    assert "Traceback" not in err


# --- through the CLI's own parser --------------------------------------------------------


def _registered() -> bool:
    from reconciler.cli import parser

    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {"history", "evidence"} <= set(sub.choices)


@pytest.mark.skipif(not _registered(), reason="reconciler.cli.parser() does not register history")
def test_reconciler_main_runs_history_and_evidence(trail, tmp_path, capsys):
    from reconciler.cli import main

    assert main(["history", "pci-db-dev"]) == 0
    assert "pci-db-dev  planned" in capsys.readouterr().out
    assert main(["evidence", "--since", "2026-03-01", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file()
    assert main(["history", "--since", "someday"]) == 2


def test_a_year_before_1000_sorts_before_every_record():
    """%Y does not pad 999: the bound must, or it would sort after 2026."""
    assert parse_when("0999-01-01", NOW) == "0999-01-01T00:00:00.000000Z"


def test_evidence_into_a_name_too_long_is_one_line_not_a_traceback(no_trail, tmp_path, capsys):
    out = tmp_path / ("a" * 300)
    assert run(["evidence", "--since", "1d", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and "Traceback" not in err
