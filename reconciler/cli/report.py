"""Text for people: plans, results and status tables. Computing is elsewhere; this only
formats (as Sceptre keeps DiffWriter apart from StackDiffer)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from reconciler.drift import not_checked
from reconciler.identity import account_of
from reconciler.plan import StackPlan
from reconciler.reconcile import StackResult
from reconciler.status import StackStatus
from reconciler.validation import Report

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """Text on one terminal line: control characters (escape sequences a hostile commit
    message or reason could carry) shown, not obeyed."""
    return CONTROL.sub(lambda m: " " if m[0] in "\n\r\t" else f"\\x{ord(m[0]):02x}", text)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [[plain(str(c)) for c in r] for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def validation(report: Report, files: int) -> str:
    items = report.findings
    errors = sum(f.is_error for f in items)
    summary = f"{files} stack file(s): {errors} error(s), {len(items) - errors} warning(s)"
    if report.suppressed:
        summary += f", {len(report.suppressed)} suppressed"
    lines = [*map(str, items), *(f"suppressed: {s}" for s in report.suppressed)]
    return "\n".join([*lines, *(f"note: {n}" for n in report.notes), summary])


def plan(plans: Sequence[StackPlan], gates: dict[str, str] | None = None) -> str:
    """`gates`: per stack, what change control will do with its change."""
    if not plans:
        return "no stacks declared"
    out = []
    for p in plans:
        after = f" (after {', '.join(p.after)})" if p.after else ""
        out.append(f"{p.stack_name} [{p.region}]: {p.action.value}{after} - {p.reason}")
        if gates and p.stack_name in gates:
            out.append(f"  change control: {gates[p.stack_name]}")
        out.extend(f"  refactor: {m}" for m in p.refactor)
        if p.changes:
            out.append(
                table(
                    ["  resource", "type", "action", "replacement"],
                    (
                        [f"  {c.logical_id}", c.resource_type, c.action.value, _replacement(c)]
                        for c in p.changes
                    ),
                )
            )
        out.extend(f"  change set differs from the prediction: {d}" for d in p.change_set)
    return "\n".join(out)


def _replacement(change) -> str:
    if change.refused:
        return "refused: " + "; ".join(f"{p} cannot change" for p, _ in change.refused)
    if change.action.value != "Modify":
        return "-"
    text = change.replacement.value
    return f"{text} ({'; '.join(change.causes)})" if change.causes else text


def results(items: Sequence[StackResult]) -> str:
    return table(
        ["stack", "action", "outcome", "message"],
        ([r.stack_name, r.action.value, r.outcome, r.message] for r in items),
    )


def status(items: Sequence[StackStatus]) -> str:
    return table(
        ["stack", "account", "region", "sync", "health", "phase", "applied revision", "message"],
        (
            [
                s.stack_name,
                s.account or account_of(s.stack_id) or "-",
                s.region or "-",
                s.sync.value,
                s.health.value,
                _phase(s),
                s.applied_revision[:12] or "-",
                _message(s),
            ]
            for s in items
        ),
    )


def _phase(s: StackStatus) -> str:
    if s.suspended_by:
        return "suspended"
    if s.phase.value == "waiting for window" and s.window_opens:
        return f"waiting for window (opens {s.window_opens})"
    return s.phase.value


def _message(s: StackStatus) -> str:
    """The record's message; a suspension by `reconciler suspend` first, who, when, why;
    an approval of the held change set after it."""
    message = s.message
    if s.suspended_by:
        suspended = f"suspended by {s.suspended_by} at {s.suspended_at}: {s.suspended_reason}"
        if suspended not in message:
            message = f"{suspended}; {message}" if message else suspended
    held = s.phase.value in ("awaiting approval", "waiting for window")
    if (
        held
        and s.approved_change_set == s.change_set
        and s.approved_revision == s.attempted_revision
    ):
        message += f" (approved by {s.approved_by} at {s.approved_at})"
    return message


def drift(reports) -> str:
    rows = [
        [r.stack_name, d.logical_id, d.resource_type, p.path, p.expected, p.actual]
        for r in reports
        for d in r.drifted
        for p in d.properties
    ]
    rows += [
        [r.stack_name, d.logical_id, d.resource_type, d.status.value, "-", "-"]
        for r in reports
        for d in r.drifted
        if not d.properties
    ]
    lines = (
        [table(["stack", "resource", "type", "property", "expected", "actual"], rows)]
        if rows
        else []
    )
    for r in reports:
        state = "in sync" if r.in_sync else f"{len(r.drifted)} drifted resource(s)"
        unchecked = f"; {not_checked(r)} (all in --json)" if r.not_checked else ""
        lines.append(f"{r.stack_name}: {state}{unchecked}")
        if r.ignored:
            lines.append(f"{r.stack_name}: ignored by drift-ignore: {', '.join(r.ignored)}")
    return "\n".join(lines)


def drift_dict(r, violations=()) -> dict:
    return {
        "pci_violations": [{**v.__dict__, "severity": str(v.severity)} for v in violations],
        "stack_name": r.stack_name,
        "in_sync": r.in_sync,
        "drifted": [
            {
                "logical_id": d.logical_id,
                "resource_type": d.resource_type,
                "status": d.status.value,
                "properties": [p.__dict__ for p in d.properties],
            }
            for d in r.drifted
        ],
        "not_checked": [d.logical_id for d in r.not_checked],
        "ignored": list(r.ignored),
    }


def iam_policy_summary(policy) -> str:
    from reconciler.iam_policy import policy_summary

    return policy_summary(policy)
