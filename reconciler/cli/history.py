"""`reconciler history` and `reconciler evidence`: the audit trail read back, as lines for
a person, as JSON, or as the evidence pack an assessor is given (reconciler/evidence.py).

The trail comes from `reconciler.aws.services.audit_from_env`, imported when a command
runs, so `reconciler --help` needs no AWS.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.audit import AuditLog, AuditRecord
from reconciler.cli import report

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the records' own: bounds compare lexically
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
RELATIVE = re.compile(r"(\d{1,6})([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DATE_HELP = "YYYY-MM-DD, an ISO 8601 time (UTC unless it has an offset) or a relative 7d, 12h"


class DateError(ValueError):
    """A --since or --until the command cannot read."""


def parse_when(text: str, now: datetime, end_of_day: bool = False) -> str:
    """A bound in the records' time format. A bare date is its day's start, or with
    `end_of_day` the next day's start, so `--until 2026-03-31` includes March 31."""
    value = text.strip()
    relative = RELATIVE.fullmatch(value)
    try:
        if relative:
            moment = now - timedelta(**{UNITS[relative[2]]: int(relative[1])})
        elif DAY.fullmatch(value):
            moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
            moment += timedelta(days=1) if end_of_day else timedelta(0)
        elif "T" in value or " " in value:
            moment = datetime.fromisoformat(value.replace("z", "Z"))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        else:
            raise ValueError(value)
        moment = moment.astimezone(UTC)
        # %Y does not pad a year before 1000 ("999-..." would sort after "2026-...").
        return f"{moment.year:04d}" + moment.strftime(TIME_FORMAT.removeprefix("%Y"))
    except (ValueError, OverflowError):
        raise DateError(f"{text!r} is not a date: give {DATE_HELP}") from None


def _plain(text: str) -> str:
    return report.plain(text)


def line(record: AuditRecord) -> str:
    fields = (
        record.time[:19] + "Z" if record.time else "-",
        record.stack or "-",
        str(record.event),
        record.actor or "-",
        record.commit[:12] or "-",
        record.change_set or "-",
        record.message,
    )
    return "  ".join(_plain(f) for f in fields).rstrip()


def _trail() -> AuditLog:
    from reconciler.aws.services import audit_from_env

    return audit_from_env()


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_history(args: argparse.Namespace) -> int:
    from reconciler.cli import err, out

    try:
        since = parse_when(args.since, _now()) if args.since else ""
    except DateError as error:
        err(f"error: --since {error}")
        return EXIT_USAGE
    log = _trail()
    err(f"audit: {log.description}")
    records = log.read(args.stack, since=since)
    if args.json:
        out(json.dumps([r.to_dict() for r in records], indent=2, sort_keys=True, default=str))
        return EXIT_OK
    for record in records:
        out(line(record))
    if not records:
        where = f" for stack {args.stack}" if args.stack else ""
        err(f"no audit records{where}" + (f" since {since}" if since else ""))
    return EXIT_OK


def cmd_evidence(args: argparse.Namespace) -> int:
    from reconciler import evidence
    from reconciler.cli import err, out

    now = _now()
    try:
        since = parse_when(args.since, now)
    except DateError as error:
        err(f"error: --since {error}")
        return EXIT_USAGE
    try:
        until = (
            parse_when(args.until, now, end_of_day=True)
            if args.until
            else now.strftime(TIME_FORMAT)
        )
    except DateError as error:
        err(f"error: --until {error}")
        return EXIT_USAGE
    if until <= since:
        err(f"error: --until ({until}) must come after --since ({since})")
        return EXIT_USAGE
    folder: Path = args.out
    try:
        a_file = folder.exists() and not folder.is_dir()
    except OSError as error:  # a name too long, a loop of links...
        err(f"error: --out {folder}: {error.strerror or error}")
        return EXIT_USAGE
    if a_file:
        err(f"error: --out {folder}: exists and is not a directory; give a directory to write")
        return EXIT_USAGE
    log = _trail()
    err(f"audit: {log.description}")
    records = _read(log, args.stacks, since, until)
    lines = evidence.jsonl(records)
    page = evidence.report(
        records,
        since,
        until,
        generated=now.strftime(TIME_FORMAT),
        source=log.description,
        jsonl_sha256=evidence.digest(lines),
    )
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in (("audit.jsonl", lines), ("report.html", page)):
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as error:
        err(f"error: cannot write the evidence pack in {folder}: {error.strerror or error}")
        return EXIT_FAILED
    counts = evidence.gather(records, since).counts()
    if not records:
        out(f"no audit records from {since} to {until}: the pack says so")
    out(f"wrote {written[0]}: {counts['records']} record(s)")
    out(f"wrote {written[1]}: {_summary(counts)}")
    return EXIT_OK


def _read(log: AuditLog, stacks: list[str], since: str, until: str) -> list[AuditRecord]:
    if not stacks:
        return log.read(None, since=since, until=until)
    found = {r.id or id(r): r for s in dict.fromkeys(stacks) for r in log.read(s, since, until)}
    return sorted(found.values(), key=lambda r: (r.time, r.id))


def _summary(counts: dict[str, int]) -> str:
    """The report's counts on one line: the outcomes add up to the changes (completed,
    failed, rejected and blocked always said, the others when there are any); approvals
    are those a change set was executed under, then those that were not."""
    from reconciler.evidence import COUNTED

    always = ("completed", "failed", "rejected", "blocked")
    rest = [k for k in COUNTED if k not in always] + ["other outcomes"]
    outcomes = [f"{counts[k]} {k}" for k in always]
    outcomes += [f"{counts[k]} {k}" for k in rest if counts[k]]
    approvals = [f"{counts['approvals']} approval(s)"]
    if counts["approvals not executed"]:
        approvals.append(f"{counts['approvals not executed']} approval(s) not executed")
    if counts["approvals not on record"]:
        approvals.append(f"WARNING {counts['approvals not on record']} approval(s) not on record")
    return (
        f"{counts['changes']} change(s) in {counts['stacks']} stack(s) "
        f"({', '.join(outcomes)}), {', '.join(approvals)}, "
        f"drift {counts['drift detected']} detected / "
        f"{counts['drift repaired']} repaired, {counts['suspensions']} suspension(s), "
        f"{counts['resumptions']} resumption(s), {counts['outputs published']} output "
        f"publication(s), {counts['events received']} event(s) received"
    )


def register(sub: Any) -> None:
    """Add `history` and `evidence` to the CLI's subcommands."""
    c = sub.add_parser(
        "history",
        help="the audit trail, oldest first",
        description="List the audit trail (docs/change-control.md): one line per record, "
        "oldest first: time, stack, event, actor, commit, change set, message.",
    )
    c.add_argument("stack", nargs="?", metavar="STACK", help="only this stack")
    c.add_argument("--since", metavar="DATE", help=f"records from DATE: {DATE_HELP}")
    c.add_argument("--json", action="store_true", help="the records as a JSON list")
    c.set_defaults(func=cmd_history)
    c = sub.add_parser(
        "evidence",
        help="write an evidence pack: the trail as JSON Lines and an HTML report",
        description="Write DIR/audit.jsonl (the period's records) and DIR/report.html "
        "(changes per stack, mapped to PCI DSS v4.0 requirements).",
    )
    c.add_argument("stacks", nargs="*", metavar="STACK", help="only these stacks")
    c.add_argument("--since", required=True, metavar="DATE", help=f"from DATE: {DATE_HELP}")
    c.add_argument(
        "--until",
        metavar="DATE",
        help="up to DATE, exclusive; a bare date includes that day (default: now)",
    )
    c.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write")
    c.set_defaults(func=cmd_evidence)
