"""GitHub webhooks through a Lambda Function URL: a signed push is put on the
reconciler's EventBridge bus as a "Git Push", and the push handler reconciles it; a
signed pull request to the followed branch is put on it as a "Git Pull Request", and the
preview handler previews it. A signed approving review of a pull request merged into the
followed branch is put on it as a "Git Push" of that branch too: a change held for
approval (docs/change-control.md) then runs when approved on GitHub, not at the next
schedule.

GitHub gives up on a delivery after 10 seconds and a reconcile can take longer, so this
handler only authenticates, filters and forwards. The URL is public, so nothing of a
request is trusted before its signature is checked: first the body's size (413), then
X-Hub-Signature-256, an HMAC-SHA256 of the raw body with the webhook secret (401). Only a
signed body is parsed. A push or pull request is forwarded once per X-GitHub-Delivery
(GitHub keeps it on redelivery); a failed forward keeps no record, so a redelivery
forwards it. See
docs/webhooks.md for what each response code means.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import (
    LambdaFunctionUrlResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.idempotency import once
from handlers.log import logger
from handlers.metrics import metrics
from reconciler.aws.push_events import forward_pull_request, forward_push
from reconciler.aws.secrets import secret_string
from reconciler.errors import AwsError

if TYPE_CHECKING:
    from handlers.github_payloads import GitHubPullRequest, GitHubPullRequestReview, GitHubPush

MAX_BODY_BYTES = 1024 * 1024  # GitHub caps payloads at 25 MB; a push to this repo is far less
SECRET_ENV = "GITHUB_WEBHOOK_SECRET"
REPOSITORY_ENV = "DESIRED_STATE_REPOSITORY"
BRANCH_ENV = "DESIRED_STATE_BRANCH"
BUS_ENV = "PUSH_EVENT_BUS"
PREVIEW_FORKS_ENV = "PREVIEW_FORKS"
# What a pull request does that changes its head (or makes it previewable): the rest
# (closed, labeled, edited, ...) is ignored.
PREVIEWED_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
HANDLED_EVENTS = ("push", "pull_request", "pull_request_review")
REFUSED_METRIC = "WebhookRefused"  # unsigned or oversized: an alarm on it shows probing
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_GITHUB_REPOSITORY = re.compile(r"github:([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)")  # as GitHubSource
# Not "webhook": a record left by the webhook that reconciled in place holds an outcome,
# not a forward; its redelivery forwards the push (a reconcile can be repeated safely).
_IDEMPOTENCY_SCOPE = "webhook-forward"

# debug=False: Powertools' debug mode prints the whole event, signature included.
app = LambdaFunctionUrlResolver(debug=False)


class _Misconfigured(Exception):
    """The webhook secret or the followed repository is not set up."""


@dataclass(frozen=True)
class Followed:
    """The repository and branch this reconciler follows, read from the environment
    alone: filtering a push must stay cheap, so no GitHub source is built and GitHub is
    not asked."""

    repository: str  # OWNER/NAME
    branch: str

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def is_repository(self, name: str) -> bool:
        """GitHub's names are case-insensitive."""
        return name.casefold() == self.repository.casefold()


def followed(env: Mapping[str, str] = os.environ) -> Followed:
    """DESIRED_STATE_REPOSITORY (github:OWNER/NAME) and DESIRED_STATE_BRANCH (default
    main), as the push handler reads them."""
    value = env.get(REPOSITORY_ENV, "")
    match = _GITHUB_REPOSITORY.fullmatch(value)
    if not match:
        raise _Misconfigured(f"{REPOSITORY_ENV} must be github:OWNER/NAME, got {value!r}")
    return Followed(match[1], env.get(BRANCH_ENV) or "main")


def _answer(code: int, **body: object) -> Response:
    return Response(status_code=int(code), content_type=content_types.APPLICATION_JSON, body=body)


def _verified(app: LambdaFunctionUrlResolver, next_middleware: NextMiddleware) -> Response:
    """Size, then signature, before any route reads the body."""
    try:
        body = _body_of(app.current_event.raw_event)
    except OverflowError:
        logger.warning("webhook refused: body larger than 1 MiB")
        metrics.add_metric(name=REFUSED_METRIC, unit=MetricUnit.Count, value=1)
        return _answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message="payload larger than 1 MiB")
    except ValueError:
        logger.warning("webhook refused: body is not valid base64 or UTF-8")
        return _answer(HTTPStatus.BAD_REQUEST, message="body is not valid base64 or UTF-8")
    try:
        secret = _webhook_secret()
    except _Misconfigured as err:
        logger.error(f"webhook secret not configured: {err}")
        return _answer(HTTPStatus.INTERNAL_SERVER_ERROR, message=f"webhook not configured: {err}")
    except AwsError as err:
        logger.error(f"webhook secret cannot be read: {err}")
        return _answer(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            message="webhook secret cannot be read; see the function's log",
        )
    if not _signed(body, app.current_event.headers.get("x-hub-signature-256", ""), secret):
        logger.warning("webhook refused: X-Hub-Signature-256 missing or wrong")
        metrics.add_metric(name=REFUSED_METRIC, unit=MetricUnit.Count, value=1)
        return _answer(HTTPStatus.UNAUTHORIZED, message="signature missing or wrong")
    app.append_context(body=body)
    return next_middleware(app)


app.use(middlewares=[_verified])


def _body_of(event: dict) -> bytes:
    """The raw bytes GitHub signed. OverflowError when over MAX_BODY_BYTES (checked on
    the encoded length first, so a huge body is never decoded); ValueError when it cannot
    be decoded."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4:
            raise OverflowError
        raw = base64.b64decode(body, validate=True)
    else:
        if len(body) > MAX_BODY_BYTES:  # a character is at least one byte
            raise OverflowError
        raw = body.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise OverflowError
    return raw


def _webhook_secret() -> str:
    """GITHUB_WEBHOOK_SECRET names a secret whose value is the webhook secret, or JSON
    {"secret": ...}. An empty secret is refused: anyone could sign with it."""
    secret_id = os.environ.get(SECRET_ENV, "")
    if not secret_id:
        raise _Misconfigured(f"{SECRET_ENV} is not set")
    value = secret_string(secret_id)
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("secret"), str):
        value = parsed["secret"]
    if not value:
        raise _Misconfigured(f"the secret {SECRET_ENV} names is empty")
    return value


def _signed(body: bytes, header: str, secret: str) -> bool:
    given = _SIGNATURE.fullmatch(header.strip())
    if not given:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.group(1).lower())


@app.post("/")
def delivery() -> Response | dict:
    headers = app.current_event.headers
    event = headers.get("x-github-event", "")
    if event == "ping":
        return {"status": "pong"}
    if event not in HANDLED_EVENTS:
        reason = f"{event or 'unnamed'} event; only {', '.join(HANDLED_EVENTS)} are handled"
        return _answer(HTTPStatus.ACCEPTED, status="ignored", reason=reason)
    if "json" not in headers.get("content-type", "").lower():
        return _answer(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            message="set the webhook's content type to application/json",
        )
    # Loaded on the first signed delivery parsed (pydantic-core with it), not at import.
    from pydantic_core import ValidationError

    from handlers.github_payloads import PAYLOADS, GitHubPullRequest, GitHubPullRequestReview

    model, what = PAYLOADS[event]
    try:
        payload = model.model_validate_json(app.context["body"])
    except ValidationError as err:
        reason = "; ".join(e["msg"] for e in err.errors(include_input=False))
        logger.warning(f"{what} refused: not a GitHub {what} payload", extra={"reason": reason})
        return _answer(HTTPStatus.BAD_REQUEST, message=f"not a GitHub {what} payload: {reason}")
    delivery_id = headers.get("x-github-delivery", "")
    if not delivery_id:
        return _answer(HTTPStatus.BAD_REQUEST, message="X-GitHub-Delivery header missing")
    try:
        follows = followed()
    except _Misconfigured as err:
        logger.error(f"webhook not configured: {err}")
        return _answer(HTTPStatus.INTERNAL_SERVER_ERROR, message=f"webhook not configured: {err}")
    bus = os.environ.get(BUS_ENV) or "default"
    if isinstance(payload, GitHubPullRequestReview):
        unwanted = _unwanted_review(payload, follows)
        forward = lambda: _forward_review(payload, follows, delivery_id, bus)  # noqa: E731
    elif isinstance(payload, GitHubPullRequest):
        if payload.action not in PREVIEWED_ACTIONS:
            reason = f"pull_request {payload.action}; only {', '.join(PREVIEWED_ACTIONS)} preview"
            return _answer(HTTPStatus.ACCEPTED, status="ignored", reason=reason)
        unwanted = _unwanted_pull_request(payload, follows)
        forward = lambda: _forward_pull_request(payload, delivery_id, bus)  # noqa: E731
    else:
        unwanted = _unwanted(payload, follows)
        forward = lambda: _forward(payload, delivery_id, bus)  # noqa: E731
    if unwanted is not None:
        logger.info(f"{what} not forwarded", extra=unwanted)
        return unwanted
    answer = once(_IDEMPOTENCY_SCOPE, delivery_id, app.lambda_context, forward)
    logger.info(f"{what} forwarded", extra=answer)
    return _answer(HTTPStatus.ACCEPTED, **answer)


def _unwanted(push: GitHubPush, follows: Followed) -> dict | None:
    """Why a push is not forwarded (answered 200: redelivering it cannot change that), or
    None. Decided from the payload and the environment only."""
    repository = push.repository.full_name
    if not follows.is_repository(repository):
        reason = f"push is for {repository}, but this reconciler follows {follows.repository}"
        return {"status": "rejected", "reason": reason}
    if push.ref != follows.ref:
        return {
            "status": "skipped",
            "reason": f"push to {push.ref}; this reconciler follows {follows.ref}",
        }
    if push.deleted:
        return {
            "status": "skipped",
            "reason": f"{push.ref} was deleted; stacks are left as they are",
        }
    return None


def _unwanted_pull_request(pr: GitHubPullRequest, follows: Followed) -> dict | None:
    """Why a pull request is not previewed (answered 200), or None. A fork's head is
    code anyone can write: previewing it runs its templates through CloudFormation with
    the reconciler's role, so only PREVIEW_FORKS=true allows it."""
    base = pr.base_repository
    if not follows.is_repository(base):
        reason = f"pull request is for {base}, but this reconciler follows {follows.repository}"
        return {"status": "rejected", "reason": reason}
    if pr.pull_request.base.ref != follows.branch:
        reason = f"pull request into {pr.pull_request.base.ref}; previews are for {follows.branch}"
        return {"status": "skipped", "reason": reason}
    if pr.pull_request.draft:
        reason = "draft pull request: previewed when it is ready for review"
        return {"status": "skipped", "reason": reason}
    allow_forks = os.environ.get(PREVIEW_FORKS_ENV, "").strip().lower() == "true"
    if pr.from_fork and not allow_forks:
        reason = f"not previewed: head is in a fork (set {PREVIEW_FORKS_ENV}=true to allow)"
        return {"status": "skipped", "reason": reason}
    return None


def _unwanted_review(review: GitHubPullRequestReview, follows: Followed) -> dict | None:
    """Why a review starts no reconcile (answered 200, and logged), or None. Only an
    approval can release a change held for approval, and only once its pull request is
    merged into the followed branch: an approval before the merge is read when the
    merge's push is reconciled. Whether the approval counts (its reviewer, its commit)
    is decided by the reconcile, which reads the reviews from GitHub, not from here."""
    number = review.pull_request.number
    base = review.base_repository
    if not follows.is_repository(base):
        reason = f"review is for {base}, but this reconciler follows {follows.repository}"
        return {"status": "rejected", "reason": reason}
    if review.action != "submitted" or review.review.state.lower() != "approved":
        reason = (
            f"pull_request_review {review.action} ({review.review.state}); only a submitted "
            "approval starts a reconcile"
        )
        return {"status": "ignored", "reason": reason}
    into = review.pull_request.base.ref
    if into != follows.branch:
        reason = f"pull request #{number} is into {into}; this reconciler follows {follows.branch}"
        return {"status": "skipped", "reason": reason}
    if not review.pull_request.merged_at:
        reason = f"pull request #{number} is not merged: its approvals are read when it is"
        return {"status": "skipped", "reason": reason}
    return None


def _forward_review(
    review: GitHubPullRequestReview, follows: Followed, delivery_id: str, bus: str
) -> dict:
    """A "Git Push" of the followed branch, as a push's: the push handler reconciles the
    branch head, which reads the reviews. `after` names the merge the approval is for."""
    merged = review.pull_request.merge_commit_sha or ""
    event_id = forward_push(review.base_repository, follows.ref, merged, delivery_id, bus)
    return {"status": "accepted", "event_id": event_id, "delivery": delivery_id}


def _forward_pull_request(pr: GitHubPullRequest, delivery_id: str, bus: str) -> dict:
    detail = {
        "repository": pr.base_repository,
        "number": pr.number,
        "sha": pr.pull_request.head.sha,
        "base_ref": pr.pull_request.base.ref,
        "head_repository": pr.head_repository,
        "html_url": pr.pull_request.html_url,
        "action": pr.action,
        "delivery": delivery_id,
    }
    event_id = forward_pull_request(detail, bus)
    return {"status": "accepted", "event_id": event_id, "delivery": delivery_id}


def _forward(push: GitHubPush, delivery_id: str, bus: str) -> dict:
    event_id = forward_push(push.repository.full_name, push.ref, push.after, delivery_id, bus)
    return {"status": "accepted", "event_id": event_id, "delivery": delivery_id}


@app.exception_handler([AwsError, IdempotencyPersistenceLayerError])
def _unavailable(err: Exception) -> Response:
    """Transient: GitHub shows the delivery failed, and a redelivery forwards it."""
    logger.warning(f"push not forwarded, redeliver later: {err}")
    return _answer(HTTPStatus.SERVICE_UNAVAILABLE, message=str(err))


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _in_progress(err: Exception) -> Response:
    logger.info("delivery already in progress")
    return _answer(HTTPStatus.CONFLICT, message="this delivery is being handled; redeliver later")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracing.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    malformed = _not_a_request(event)
    if malformed:
        logger.warning("webhook refused: not a Function URL request", extra={"reason": malformed})
        return {
            "statusCode": HTTPStatus.BAD_REQUEST.value,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": f"not a Function URL request: {malformed}"}),
            "isBase64Encoded": False,
        }
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    logger.append_keys(
        delivery_id=str(headers.get("x-github-delivery", ""))[:64],
        github_event=str(headers.get("x-github-event", ""))[:64],
    )
    return app.resolve(event, context)


def _not_a_request(event: object) -> str:
    """What makes `event` something no Function URL sends ("" for a request): such an
    event is answered 400 before the resolver, which expects its shape, reads it."""
    if not isinstance(event, dict):
        return f"the event is {'null' if event is None else type(event).__name__}"
    context = event.get("requestContext")
    if not isinstance(context, dict) or not isinstance(context.get("http"), dict):
        return "requestContext.http missing"
    headers = event.get("headers")
    if headers is not None and not (
        isinstance(headers, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        return "headers must map names to strings"
    if not isinstance(event.get("body", ""), str | None):
        return "body must be a string"
    return ""
