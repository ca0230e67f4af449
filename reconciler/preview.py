"""A pull request's preview: what merging it would do to the managed stacks, said on
the pull request before anyone merges it.

The pull request's head commit is read, validated and planned against the live stacks;
each live update is confirmed by CloudFormation with a preview change set that is
created, described, guarded and deleted (reconcile.preview), never executed. The report
is one comment on the pull request (edited on each new push) and one check on its head
commit. A newer push supersedes a running preview: the head is compared before each
change set and before posting, and a stale preview posts nothing. GitHub failing to take
the report is logged and said in the outcome; it never fails the plan.

Pure apart from its ports: the source, the AWS services and the reporter are handed in.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reconciler.desired import load_desired_state
from reconciler.errors import InvalidDesiredStateError, SourceError
from reconciler.github_report import Annotation, GitHubReportError
from reconciler.plan import Action, StackPlan
from reconciler.reconcile import Services, make_plan, preview, previewed, with_plan_findings
from reconciler.report_markdown import Links, markdown_report
from reconciler.source import Checkout
from reconciler.triggers import Outcome
from reconciler.validation import Report

log = logging.getLogger(__name__)

DRIFTED = "DRIFTED"


@dataclass(frozen=True)
class PullRequest:
    repository: str  # OWNER/NAME, the base repository
    number: int
    sha: str  # the head commit the event named
    html_url: str = ""

    @property
    def repository_url(self) -> str:
        """Where the report's file links point: the pull request's own host."""
        base, sep, _ = self.html_url.rpartition("/pull/")
        return base if sep else f"https://github.com/{self.repository}"


class PullRequestSource(Protocol):
    """What a preview reads of the repository (reconciler.github.GitHubSource)."""

    def checkout_at(self, dest: Path, sha: str) -> Checkout: ...

    def pull_request_head(self, number: int) -> str: ...


class Reporter(Protocol):
    """Where a preview is said (reconciler.github_report.GitHubReporter)."""

    def upsert_comment(self, pr_number: int, body: str) -> Any: ...

    def report_plan(
        self, sha: str, *, ok: bool, summary: str, annotations: Sequence[Annotation] = ()
    ) -> Any: ...


def run_preview(
    pr: PullRequest,
    source: PullRequestSource,
    services: Services,
    reporter: Reporter,
) -> Outcome:
    """Preview `pr` at its head: no stack is created, updated or deleted."""
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        checkout = source.checkout_at(Path(tmp) / "repo", pr.sha)
        state = load_desired_state(checkout.root)
        try:
            report, plans = make_plan(
                state,
                services,
                services.catalog,
                services.status.all,
                services.role,
                partial=True,
            )
        except InvalidDesiredStateError as err:
            # Findings only: nothing is asked of CloudFormation for an invalid state.
            report, plans = Report(findings=tuple(sorted(err.findings))), []
        confirmed: list[StackPlan] = []
        for plan in plans:
            if previewed(plan):
                if moved := _moved_on(pr, source):
                    return _superseded(pr, moved)
                (plan,) = preview([plan], state, services, services.change_set_wait_seconds)
            confirmed.append(plan)
    report = with_plan_findings(report, confirmed)
    ok = not report.has_errors and not any(p.action is Action.BLOCKED for p in confirmed)
    summary = _summary(confirmed, report)
    if moved := _moved_on(pr, source):
        return _superseded(pr, moved)
    body = markdown_report(
        confirmed,
        report,
        revision=pr.sha,
        links=Links(pr.repository_url, pr.sha),
        drifted=_drifted(services),
    )
    problems = _post(pr, reporter, body, ok, summary, report)
    reason = summary + "".join(f"; not reported: {p}" for p in problems)
    status = "invalid" if report.has_errors else "previewed" if ok else "blocked"
    return Outcome(
        status,
        reason,
        pr.sha,
        stacks=[
            {"stack_name": p.stack_name, "action": str(p.action), "reason": p.reason}
            for p in confirmed
        ],
        findings=[str(f) for f in report.findings],
    )


def _moved_on(pr: PullRequest, source: PullRequestSource) -> str:
    """The pull request's new head when it is no longer `pr.sha`, else "". Not knowing
    (GitHub did not answer) goes on: the preview is at worst one push late."""
    try:
        head = source.pull_request_head(pr.number)
    except SourceError as err:
        log.warning("pull request #%s: head not read, preview goes on: %s", pr.number, err)
        return ""
    return head if head != pr.sha else ""


def _superseded(pr: PullRequest, head: str) -> Outcome:
    reason = f"pull request #{pr.number} moved on to {head[:12]}; its preview says the rest"
    log.info("preview of %s superseded: %s", pr.sha[:12], reason)
    return Outcome("superseded", reason, pr.sha)


def _drifted(services: Services) -> dict[str, str]:
    return {
        s.stack_name: s.drift_checked_at or DRIFTED
        for s in services.status.all()
        if s.drift_status == DRIFTED
    }


def _summary(plans: list[StackPlan], report: Report) -> str:
    counts: dict[str, int] = {}
    for plan in plans:
        counts[str(plan.action)] = counts.get(str(plan.action), 0) + 1
    said = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no stack"
    errors = sum(1 for f in report.findings if f.is_error)
    return f"{said}; {errors} error finding(s), {len(report.findings) - errors} warning(s)"


def annotations(report: Report) -> list[Annotation]:
    """The findings, at their files and lines, for the check run: errors as failure,
    warnings as warning. A finding about no file has no place to be annotated (GitHub
    refuses an annotation without a path); the summary and the comment still count it."""
    return [
        Annotation(
            f.path,
            max(f.line, 1),
            "failure" if f.is_error else "warning",
            f.message,
            title=f.rule,
        )
        for f in report.findings
        if f.path
    ]


def _post(
    pr: PullRequest, reporter: Reporter, body: str, ok: bool, summary: str, report: Report
) -> list[str]:
    """Comment, then check; what GitHub refused, logged and returned (never raised)."""
    problems = []
    try:
        reporter.upsert_comment(pr.number, body)
    except GitHubReportError as err:
        log.error("preview comment not posted on #%s: %s", pr.number, err)
        problems.append(f"comment: {err}")
    try:
        reporter.report_plan(pr.sha, ok=ok, summary=summary, annotations=annotations(report))
    except GitHubReportError as err:
        log.error("preview check not reported on %s: %s", pr.sha[:12], err)
        problems.append(f"check: {err}")
    return problems
