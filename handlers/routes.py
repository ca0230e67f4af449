"""How events reach the handlers: the EventBridge rules, in one table.

`infra/bootstrap.yml` must declare exactly these rules (names, patterns, schedule), and the
local event router (`harness/router.py`) creates them on the local AWS, so the demo is
routed by the same patterns as an account is. Patterns are filtered here rather than in the
handlers because every event a rule lets through is a billed Lambda invocation.

CloudFormation puts its events on the default bus of the stack's own region: the rules whose
`in_every_region` is true are needed in each region that holds a managed stack; the others
(pushes, previews, the schedule) once, in the reconciler's home region.

Pure: no AWS call; the patterns are plain dicts, as `json.dumps` gives them to PutRule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ReconcilerError

# Handler modules under handlers/, by the name the rules target.
PUSH = "push"
STACK_STATUS = "stack_status"
DRIFT = "drift"
SCHEDULE = "schedule"
PREVIEW = "preview"
CHANGE = "change"
HANDLERS = (PUSH, STACK_STATUS, DRIFT, SCHEDULE, PREVIEW, CHANGE)

DEFAULT_SCHEDULE = "rate(1 hour)"
# What the handlers are written for (Git Push is this product's own detail type).
GIT_PUSH = "Git Push"
GIT_PULL_REQUEST = "Git Pull Request"  # the webhook's, for a pull request to preview
CODECOMMIT_SOURCE = "aws.codecommit"
CODECOMMIT_CHANGE = "CodeCommit Repository State Change"
CLOUDFORMATION_SOURCE = "aws.cloudformation"
STACK_STATUS_CHANGE = "CloudFormation Stack Status Change"
DRIFT_STATUS_CHANGE = "CloudFormation Drift Detection Status Change"
API_CALL = "AWS API Call via CloudTrail"
# EventBridge's default limit on an event pattern, in characters (adjustable to 4096).
MAX_PATTERN = 2048

# A stack name: a letter, then letters, digits and hyphens (CloudFormation's rule). A prefix
# may also be empty (every stack); it never holds the wildcard's `*` or `\`.
_STACK_PREFIX = re.compile(r"([A-Za-z][-A-Za-z0-9]{0,127})?")
_CODECOMMIT_NAME = re.compile(r"[\w.-]{1,100}")
_SCHEDULE = re.compile(r"(rate|cron)\(.+\)")


@dataclass(frozen=True)
class Watched:
    """The mutating calls of one AWS service that the managed templates' resource types
    can be changed by (reconciler.change_rules): `service` is the IAM prefix (ec2), the
    call's EventBridge source aws.<service>, its CloudTrail eventSource `event_source`."""

    service: str
    event_source: str
    event_names: tuple[str, ...]


class RouteError(ReconcilerError):
    """A routing setting (stack prefix, repository name, schedule) cannot make a rule."""


@dataclass(frozen=True)
class Rule:
    """One EventBridge rule: events matching `event_pattern` (or the schedule's ticks) go
    to the handler module `handler`."""

    name: str
    handler: str
    event_pattern: dict[str, Any] | None = None
    schedule_expression: str | None = None
    in_every_region: bool = False

    def __post_init__(self) -> None:
        if self.handler not in HANDLERS:
            raise RouteError(f"rule {self.name}: unknown handler {self.handler!r}")
        if (self.event_pattern is None) == (self.schedule_expression is None):
            raise RouteError(f"rule {self.name}: give an event pattern or a schedule, not both")


def rules(
    stack_prefix: str,
    repository: str | None = None,
    schedule: str = DEFAULT_SCHEDULE,
    watched: tuple[Watched, ...] = (),
) -> list[Rule]:
    """The rules for stacks whose names start with `stack_prefix`; `repository` narrows the
    CodeCommit rule to one repository (None: any repository of the account); `watched`
    adds the change rules for those calls (`change_rules`)."""
    if not _STACK_PREFIX.fullmatch(stack_prefix):
        raise RouteError(
            f"stack prefix {stack_prefix!r} is not the start of a stack name "
            "(a letter, then letters, digits and hyphens)"
        )
    if repository is not None and not _CODECOMMIT_NAME.fullmatch(repository):
        raise RouteError(f"{repository!r} is not a CodeCommit repository name")
    if not _SCHEDULE.fullmatch(schedule):
        raise RouteError(f"schedule {schedule!r} is neither rate(...) nor cron(...)")

    def managed() -> dict[str, Any]:  # a fresh dict per rule: the rules share no state
        return {"stack-id": [{"wildcard": f"arn:aws:cloudformation:*:*:stack/{stack_prefix}*"}]}

    codecommit_detail: dict[str, Any] = {
        "event": ["referenceCreated", "referenceUpdated"],
        "referenceType": ["branch"],
    }
    if repository is not None:
        codecommit_detail["repositoryName"] = [repository]
    return [
        Rule(
            name="gitops-push-codecommit",
            handler=PUSH,
            event_pattern={
                "source": [CODECOMMIT_SOURCE],
                "detail-type": [CODECOMMIT_CHANGE],
                "detail": codecommit_detail,
            },
        ),
        # Any source: a git server, a CI job or the demo puts these on the bus.
        Rule(name="gitops-push-git", handler=PUSH, event_pattern={"detail-type": [GIT_PUSH]}),
        Rule(
            name="gitops-preview",
            handler=PREVIEW,
            event_pattern={"detail-type": [GIT_PULL_REQUEST]},
        ),
        Rule(
            name="gitops-stack-status",
            handler=STACK_STATUS,
            event_pattern={
                "source": [CLOUDFORMATION_SOURCE],
                "detail-type": [STACK_STATUS_CHANGE],
                "detail": {
                    **managed(),
                    # The handler waits for the end of an operation; a stack operation
                    # sends about as many *_IN_PROGRESS events as final ones.
                    "status-details": {"status": [{"anything-but": {"suffix": "_IN_PROGRESS"}}]},
                },
            },
            in_every_region=True,
        ),
        Rule(
            name="gitops-drift",
            handler=DRIFT,
            event_pattern={
                "source": [CLOUDFORMATION_SOURCE],
                "detail-type": [DRIFT_STATUS_CHANGE],
                "detail": {
                    **managed(),
                    "status-details": {"detection-status": ["DETECTION_COMPLETE"]},
                },
            },
            in_every_region=True,
        ),
        Rule(name="gitops-schedule", handler=SCHEDULE, schedule_expression=schedule),
        *change_rules(watched),
    ]


def change_rules(watched: tuple[Watched, ...]) -> list[Rule]:
    """One rule per service on "AWS API Call via CloudTrail" for its watched calls, split
    where a pattern would pass EventBridge's MAX_PATTERN characters (gitops-change-ec2,
    gitops-change-ec2-2, ...). CloudTrail puts each call on the default bus of the region
    it was made in (IAM's, a global service's, only in us-east-1): in every region."""
    found = []
    for item in sorted(watched, key=lambda w: w.service):
        if not re.fullmatch(r"[a-z0-9-]{1,40}", item.service):
            raise RouteError(f"{item.service!r} is not an AWS service prefix")
        chunks: list[list[str]] = [[]]
        for name in sorted(set(item.event_names)):
            if chunks[-1] and len(json.dumps(_api_call(item, [*chunks[-1], name]))) > MAX_PATTERN:
                chunks.append([])
            chunks[-1].append(name)
        for number, names in enumerate(c for c in chunks if c):
            suffix = f"-{number + 1}" if number else ""
            found.append(
                Rule(
                    name=f"gitops-change-{item.service}{suffix}",
                    handler=CHANGE,
                    event_pattern=_api_call(item, names),
                    in_every_region=True,
                )
            )
    return found


# Services whose CloudTrail eventName carries the API version after the operation's name
# (Lambda's UpdateFunctionConfiguration20150331v2, CloudFront's UpdateDistribution2020_05_31):
# their names are matched as prefixes.
VERSIONED_NAMES = frozenset({"lambda", "cloudfront"})


def _api_call(item: Watched, names: list[str]) -> dict[str, Any]:
    # `source` too: only AWS can put an aws.* source on a bus, so no one can forge these.
    matched: list[Any] = list(names)
    if item.service in VERSIONED_NAMES:
        matched = [{"prefix": name} for name in names]
    return {
        "source": [f"aws.{item.service}"],
        "detail-type": [API_CALL],
        "detail": {"eventSource": [item.event_source], "eventName": matched},
    }
