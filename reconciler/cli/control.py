"""`reconciler approve | reject | suspend | resume`: the human side of change control
(docs/change-control.md). The acting person is read from STS (GetCallerIdentity), never
from an argument, and every decision is appended to the audit trail."""

from __future__ import annotations

import argparse
import os
import socket

from reconciler.cli import EXIT_FAILED, EXIT_OK, _acting, _state, err, out
from reconciler.errors import ReconcilerError, UnknownStackError
from reconciler.status import HELD, Phase


def register(sub) -> None:
    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.add_argument("stack", help="stack name")
        c.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
        c.set_defaults(func=func)
        return c

    c = command("approve", cmd_approve, "approve a change set held for approval, then run it")
    c.add_argument("--change-set", metavar="NAME", help="the held change set you reviewed")
    c.add_argument(
        "--no-execute",
        action="store_true",
        help="only record the approval; the reconciler's next pass runs the change set",
    )
    c = command("reject", cmd_reject, "reject a held change set: it is deleted, not run")
    c.add_argument("--change-set", metavar="NAME", help="the held change set you reviewed")
    c.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    c = command("suspend", cmd_suspend, "stop every change and repair of a stack")
    c.add_argument("--reason", required=True, help="why (shown in status, kept in the trail)")
    command("resume", cmd_resume, "let a suspended stack be changed again")


def _context(args: argparse.Namespace):
    """(stack file, services with the caller as actor); the stack must be in the desired
    state at PATH (its windows are read there; approval rules come from the hold)."""
    from reconciler.aws.services import audit_from_env, services_from_env

    state = _state(args)
    spec = state.stack(args.stack)
    if spec is None:
        raise UnknownStackError(f"no stack file in {args.path} declares stack {args.stack!r}")
    services = services_from_env(change_set_wait_seconds=0, fan_out=False)
    services.audit = audit_from_env()
    err(f"status: {services.status.description}; audit trail: {services.audit.description}")
    _acting(services)
    return spec, services


def _held(services, args) -> object:
    """The stack's record, which must hold a change set (the one named, if any)."""
    status = services.status.get(args.stack)
    if status is None or status.phase not in HELD or not status.change_set:
        now = f"it is {status.phase.value}: {status.message}" if status else "it has no record"
        raise ReconcilerError(f"{args.stack} holds no change set awaiting a decision ({now})")
    if args.change_set is not None and args.change_set != status.change_set:
        raise ReconcilerError(
            f"{args.stack} now holds change set {status.change_set}, not {args.change_set} "
            "(a newer commit replaced it): review the new one"
        )
    return status


MAX_REASON = 1000


def _reason(args: argparse.Namespace) -> str:
    """--reason, said in status and kept in the trail: one line of printable text."""
    reason = " ".join(args.reason.split())
    if not reason:
        raise ReconcilerError("--reason must say why")
    if len(reason) > MAX_REASON or not reason.isprintable():
        raise ReconcilerError(f"--reason must be printable text of at most {MAX_REASON} characters")
    return reason


def _record(services, status, event, message: str, **detail):
    from reconciler.audit import of_stack

    return of_stack(
        status, event, message, actor=services.actor, account=services.account, **detail
    )


def _approved(services, status):
    """The `approved` record of the approval on `status`, the same however often it is
    made (its time is the approval's, its id a digest of what was approved by whom), so
    that running `approve` again after the trail failed appends it once."""
    import hashlib
    from dataclasses import replace

    from reconciler.audit import Event

    message = f"change set {status.change_set} approved by {status.approved_by}"
    what = "|".join(
        (status.stack_name, status.change_set, status.approved_revision, status.approved_by)
    )
    return replace(
        _record(services, status, Event.APPROVED, message),
        time=status.approved_at,
        id=hashlib.sha256(what.encode()).hexdigest()[:32],
    )


def cmd_approve(args: argparse.Namespace) -> int:
    from reconciler import change_control
    from reconciler.audit import Event, timestamp
    from reconciler.reconcile import run_held

    spec, services = _context(args)
    status = _held(services, args)
    rules = change_control.rules_of(spec, status)  # as recorded from the reviewed commit
    commit = change_control.commit_of(status)
    change_set, revision = status.change_set, status.attempted_revision
    valid, _ = change_control.approval(
        rules, status, change_set, revision, commit, (), change_control.current_time()
    )
    if rules.approval and not valid:
        refused = change_control.refusal(services.actor, rules, commit)
        if refused:
            services.audit.append([_record(services, status, Event.APPROVAL_REFUSED, refused)])
            err(f"error: approval refused: {refused}")
            return EXIT_FAILED
        at = timestamp()  # to the microsecond: the record sorts after the hold's
        if not services.status.approve(args.stack, services.actor, change_set, revision, at):
            err(
                f"error: {args.stack} changed while you approved (a newer commit, a reject, "
                "or another approval ran it); run `reconciler status` and review again"
            )
            return EXIT_FAILED
        status = services.status.get(args.stack) or status
        services.audit.append([_approved(services, status)])
        out(f"{args.stack}: change set {change_set} approved by {services.actor}")
    elif valid:
        if valid == services.actor and valid == status.approved_by:
            # Run again after the trail failed: the same record, which DynamoDB keeps once.
            services.audit.append([_approved(services, status)])
        out(f"{args.stack}: change set {change_set} is already approved by {valid}")
    if args.no_execute:
        out(f"{args.stack}: the reconciler's next pass runs it (a push, or the schedule)")
        return EXIT_OK
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    result = run_held(spec, services, owner)
    out(f"{args.stack}: {result.outcome}: {result.message}")
    return EXIT_OK if result.outcome in ("executed", "waiting for window") else EXIT_FAILED


def cmd_reject(args: argparse.Namespace) -> int:
    from reconciler.audit import Event
    from reconciler.notify import Kind, Notification
    from reconciler.reconcile import LEASE_SECONDS
    from reconciler.status import Sync

    reason = _reason(args)
    _, services = _context(args)
    # Under the stack's lease, so that no pass or approval runs the change set meanwhile.
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    if not services.status.acquire(args.stack, owner, LEASE_SECONDS):
        raise ReconcilerError(
            f"{args.stack} is busy (a pass or an approval holds its lease); try again shortly"
        )
    try:
        status = _held(services, args)
        message = f"change set {status.change_set} rejected by {services.actor}: {reason}"
        record = _record(services, status, Event.REJECTED, message, reason=reason)
        services.audit.append([record])
        there = services.at(status, status.attempted_revision).cfn  # the stack's account
        there.discard_change_set(status.change_set, status.stack_name, status.region)
        services.status.put(status.but(phase=Phase.REJECTED, sync=Sync.BLOCKED, message=message))
    finally:
        services.status.release(args.stack, owner)
    services.notifier.send(
        [
            Notification(
                Kind.CHANGE_REJECTED,
                status.stack_name,
                status.region,
                message,
                status.attempted_revision,
                status.change_set,
            )
        ]
    )
    out(f"{args.stack}: {message}; a new commit proposes a change again")
    return EXIT_OK


def cmd_suspend(args: argparse.Namespace) -> int:
    from reconciler.audit import Event
    from reconciler.status import StackStatus

    reason = _reason(args)
    spec, services = _context(args)
    status = services.status.get(args.stack) or StackStatus(args.stack, spec.region)
    message = f"suspended by {services.actor}: {reason}"
    services.audit.append([_record(services, status, Event.SUSPENDED, message, reason=reason)])
    services.status.suspend(args.stack, services.actor, reason)
    out(f"{args.stack}: {message}; drift is still detected and reported")
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    from reconciler.audit import Event

    spec, services = _context(args)
    status = services.status.get(args.stack)
    if status is None or not status.suspended_by:
        why = " (its stack file says suspended: true)" if spec.suspended else ""
        raise ReconcilerError(f"{args.stack} is not suspended by `reconciler suspend`{why}")
    message = f"resumed by {services.actor} (suspended by {status.suspended_by}: "
    message += f"{status.suspended_reason})"
    services.audit.append([_record(services, status, Event.RESUMED, message)])
    services.status.resume(args.stack)
    still = "; its stack file still says suspended: true" if spec.suspended else ""
    out(f"{args.stack}: {message}{still}; the next pass (a push, the schedule) changes it again")
    return EXIT_OK
