"""Preview handler: a "Git Pull Request" from the webhook is previewed at its head
commit, and the plan is said on the pull request. Nothing is executed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.events import GitPullRequestEvent, RejectedEvent, parse_as
from handlers.runtime import (
    check_environment,
    github_reporter,
    handle,
    logger,
    metrics,
    rejected,
    services,
    source,
)

if TYPE_CHECKING:
    from reconciler.triggers import Outcome

check_environment()  # at cold start: a bad setting fails once, clearly


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracing.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        detail = parse_as(event, GitPullRequestEvent, "a pull request event").detail
    except RejectedEvent as err:
        return rejected("pull request event", err)
    logger.append_keys(pull_request=detail.number, sha=detail.sha)

    def work() -> Outcome:
        # The preview machinery is loaded by the first pull request previewed.
        from reconciler.github import GitHubSource
        from reconciler.preview import PullRequest, run_preview
        from reconciler.triggers import Outcome

        pr = PullRequest(detail.repository, detail.number, detail.sha, detail.html_url)
        followed, reporter = source(), github_reporter()
        if not isinstance(followed, GitHubSource) or reporter is None:
            return Outcome("skipped", "previews need a github: repository and GitHub reporting")
        if not followed.is_repository(pr.repository):
            reason = (
                f"pull request of {pr.repository}; this reconciler follows {followed.repository}"
            )
            return Outcome("rejected", reason)
        return run_preview(pr, followed, services(), reporter)

    result = handle(__name__, event, context, work)
    logger.info("pull request previewed", extra=result)
    return result
