"""What every reconciling handler builds once per Lambda container: the edges (AWS
services, the desired-state source), built on the first event, with the logger
(handlers/log.py) and metrics; and how a handler runs its work: once per event, with
failures sorted into retried and reported. The tracer: handlers/tracing.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.idempotency import once
from handlers.log import logger
from handlers.metrics import MetricsNotifier, metrics
from reconciler import environment
from reconciler.errors import AwsError, PermanentAwsError, ReconcilerError
from reconciler.github import SourceUnavailableError

if TYPE_CHECKING:
    from reconciler.github_report import GitHubReporter
    from reconciler.reconcile import Services
    from reconciler.source import Source
    from reconciler.triggers import Outcome

DEPLOY_CONTEXT = "gitops-reconciler/deploy"  # the commit status a push's pass sets

# Failures a later attempt can get past: AWS after botocore's retries, GitHub down.
# A PermanentAwsError (AWS refused the request itself) is an AwsError that is not.
TRANSIENT = (AwsError, SourceUnavailableError)


@cache
def services() -> Services:
    """Built on the first event, not at import, with the reconcile core it loads (the
    AWS adapters, the pass, validation): a cold start does not pay for them, and an
    event that is rejected never loads them. Every notification is also counted as a
    metric."""
    from reconciler.aws.services import services_from_env
    from reconciler.notify import Fanout

    built = services_from_env()
    built.notifier = Fanout(built.notifier, MetricsNotifier(metrics))
    return built


@cache
def source() -> Source:
    from reconciler.aws.services import source_from_env

    return source_from_env()


@cache
def github_reporter() -> GitHubReporter | None:
    """None unless GitHub reporting is configured (aws.services.github_reporter_from_env)."""
    from reconciler.aws.services import github_reporter_from_env

    return github_reporter_from_env()


def report_pushed(outcome: Outcome) -> None:
    """After a push's pass: the deploy status of the pushed commit, from its stacks."""

    def status() -> tuple[str, str]:
        from reconciler.github_report import deploy_status

        return deploy_status(outcome.stacks)

    _report_deploy(outcome.revision, status)


def report_settled(stack_name: str) -> None:
    """After a stack's operation ended: the deploy status of the revision it attempted,
    from every stack that attempted it."""
    if github_reporter() is None:
        return
    record = services().status.get(stack_name)
    revision = record.attempted_revision if record else ""

    def status() -> tuple[str, str]:
        from reconciler.github_report import settled_status

        return settled_status(
            [s for s in services().status.all() if s.attempted_revision == revision]
        )

    _report_deploy(revision, status)


def _report_deploy(revision: str, status: Callable[[], tuple[str, str]]) -> None:
    """Set the deploy status on `revision` when GitHub reporting is configured; `status`
    gives (state, description). Optional and failure-tolerant: a status GitHub refuses is
    logged, and the event's work stands."""
    reporter = github_reporter()
    if reporter is None or not revision:
        return
    from reconciler.github_report import GitHubReportError

    try:
        state, description = status()
        reporter.set_status(revision, DEPLOY_CONTEXT, state, description)
    except (GitHubReportError, ReconcilerError) as err:
        logger.warning("deploy status not set", extra={"revision": revision, "error": str(err)})


def handle(
    scope: str, event: dict, context: LambdaContext, work: Callable[[], Outcome]
) -> dict[str, Any]:
    """Run `work` for a parsed event and return its outcome as a dict.

    A transient failure (TRANSIENT) is raised: Lambda retries the event, then puts it on
    the dead-letter queue, and no idempotency record is kept, so the retry does the work.
    Any other ReconcilerError is permanent (the same event would fail the same way): it
    is logged and returned as status "failed". Anything else is a bug and is raised.
    """

    def settled() -> dict[str, Any]:
        from reconciler.triggers import Outcome

        receipt = _receipt(scope, event, context) if _audited(scope) else None
        try:
            outcome = work()
        except PermanentAwsError as err:
            logger.error("permanent AWS failure", extra={"error": str(err), "code": err.code})
            outcome = Outcome("failed", str(err))
        except TRANSIENT as err:
            logger.error("transient failure, the event will be retried", extra={"error": str(err)})
            raise
        except ReconcilerError as err:
            logger.error("permanent failure", extra={"error": str(err)})
            outcome = Outcome("failed", str(err))
        if receipt is not None and outcome.status not in NOT_ACTED_ON:
            said = replace(receipt, message=f"{receipt.message}: {outcome.status}")
            services().audit.append([replace(said, commit=outcome.revision or said.commit)])
        return outcome.to_dict()

    if "id" not in event:
        # A direct invoke carries no event id: it is not deduplicated. Doing it twice is
        # safe anyway, as a reconcile reads the branch head and changes only what differs.
        return settled()
    return once(scope, event["id"], context, settled)


# The handlers that act on stacks, and so append to the audit trail (their roles may,
# infra/bootstrap.yml); the webhook and preview handlers change nothing.
AUDITED = ("push", "stack_status", "drift", "schedule", "stack_worker", "change")
# Outcomes of events that were not for this reconciler: not recorded (anyone who can put
# events on the bus could otherwise fill the trail).
NOT_ACTED_ON = ("rejected", "ignored", "skipped", "unmanaged")


def _audited(scope: str) -> bool:
    return scope.rsplit(".", 1)[-1] in AUDITED


def _receipt(scope: str, event: dict, context: LambdaContext):
    """Who acts in this invocation (set on the services, for every record it makes), and
    the `event received` record, stamped now and appended once the event proves to be
    one this reconciler acts on. Once per event: a duplicate delivery is answered by the
    idempotency record before this runs. No AWS call."""
    from reconciler.audit import AuditRecord, Event

    built = services()
    function = getattr(context, "function_name", "") or scope
    built.actor = f"lambda:{function}:{getattr(context, 'aws_request_id', '')}"
    arn = str(getattr(context, "invoked_function_arn", "") or "")
    built.account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    stack_id = str(detail.get("stack-id", ""))
    stack = stack_id.split(":stack/", 1)[-1].split("/", 1)[0] if ":stack/" in stack_id else ""
    kind = str(event.get("detail-type") or event.get("source") or "direct invoke")
    return AuditRecord(
        Event.RECEIVED,
        stack,
        region=str(event.get("region", "")),
        account=built.account,
        actor=built.actor,
        message=f"{scope.rsplit('.', 1)[-1]}: {kind}",
        detail={"event_id": str(event.get("id", "")), "source": str(event.get("source", ""))},
    ).stamped()


def check_environment() -> None:
    """Run at a handler's import (a cold start): a bad setting is one clear error, logged
    once and raised, so Lambda reports a failed init (and retries, then dead-letters, the
    event) instead of every event failing its own way."""
    try:
        environment.check()
    except environment.ConfigurationError as err:
        logger.error("configuration error", extra={"error": str(err)})
        raise


def rejected(what: str, err: Exception) -> dict[str, str]:
    """The answer to an event a handler cannot read, logged once with the reason."""
    logger.error(f"rejected {what}", extra={"reason": str(err)})
    return {"status": "rejected", "reason": str(err)}
