"""Event models (Powertools parser, pydantic). Unknown fields are ignored, as AWS adds
fields to its events over time."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field, field_validator, model_validator

from reconciler.identity import StackRef

M = TypeVar("M", bound=BaseModel)


class RejectedEvent(Exception):
    """An event a handler cannot act on: not an object, fields missing or of the wrong
    type, another kind of event. Its message is the reason answered and logged."""


def parse_as(event: Any, model: type[M], what: str) -> M:
    """`event` as `model`, or RejectedEvent saying why not, in one line."""
    if not isinstance(event, dict):
        kind = "null" if event is None else type(event).__name__
        raise RejectedEvent(f"not {what}: the event is {kind}, not a JSON object")
    if not isinstance(event.get("id", ""), str):
        raise RejectedEvent(f"not {what}: id: must be a string")
    try:
        return parse(event=event, model=model)
    except ValidationError as err:
        raise RejectedEvent(f"not {what}: {_summary(err)}") from None


def _summary(err: ValidationError) -> str:
    errors = err.errors(include_input=False, include_url=False)
    said = [
        f"{'.'.join(str(part) for part in e['loc']) or 'event'}: {e['msg']}" for e in errors[:3]
    ]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(said) + more


class PushEvent(BaseModel):
    """A generic push: {"repository": ..., "ref": "refs/heads/main", "after": sha}."""

    repository: str | None = None
    ref: str
    after: str | None = None
    # Set when a push Lambda near its timeout handed these stacks on (push_events.py).
    stacks: list[str] | None = None


class GitPushEvent(EventBridgeModel):
    """A generic push put on an EventBridge bus (detail-type "Git Push") by any git
    server or CI job; the local event router delivers the demo's pushes this way."""

    detail_type: Literal["Git Push"] = Field(alias="detail-type")
    detail: PushEvent


class PullRequestDetail(BaseModel):
    """A pull request to preview, as the webhook forwards it (push_events.py)."""

    repository: str
    number: int = Field(gt=0)
    sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    base_ref: str = ""
    html_url: str = ""
    action: str = ""
    delivery: str = ""


class GitPullRequestEvent(EventBridgeModel):
    """ "Git Pull Request" on the reconciler's bus: the webhook's, for the preview handler."""

    detail_type: Literal["Git Pull Request"] = Field(alias="detail-type")
    detail: PullRequestDetail


class CodeCommitDetail(BaseModel):
    event: str  # referenceCreated, referenceUpdated, referenceDeleted
    repository_name: str = Field(alias="repositoryName")
    reference_type: str = Field(alias="referenceType")  # branch or tag
    reference_name: str = Field(alias="referenceName")
    commit_id: str = Field(default="", alias="commitId")


class CodeCommitEvent(EventBridgeModel):
    """ "CodeCommit Repository State Change" (source aws.codecommit)."""

    detail: CodeCommitDetail


class StatusDetails(BaseModel):
    status: str
    status_reason: str = Field(default="", alias="status-reason")


class _StackArn(BaseModel):
    stack_id: str = Field(alias="stack-id")

    @field_validator("stack_id")
    @classmethod
    def _arn_shaped(cls, value: str) -> str:
        StackRef.parse(value)  # ValueError names the expected form
        return value

    @property
    def ref(self) -> StackRef:
        return StackRef.parse(self.stack_id)

    @property
    def stack_name(self) -> str:
        return self.ref.name

    @property
    def region(self) -> str:
        return self.ref.region


class _CloudFormationEvent(EventBridgeModel):
    """CloudFormation puts an event in the stack's own account and region: an event
    whose `account` or `region` is not its stack id's is not one AWS sent."""

    source: Literal["aws.cloudformation"]

    @model_validator(mode="after")
    def _from_the_stacks_place(self) -> _CloudFormationEvent:
        ref = self.detail.ref
        if self.account != ref.account:
            raise ValueError(f"account {self.account} is not the stack id's ({ref.account})")
        if self.region != ref.region:
            raise ValueError(f"region {self.region} is not the stack id's ({ref.region})")
        return self


class StackStatusDetail(_StackArn):
    status_details: StatusDetails = Field(alias="status-details")
    client_request_token: str = Field(default="", alias="client-request-token")


class StackStatusEvent(_CloudFormationEvent):
    detail_type: Literal["CloudFormation Stack Status Change"] = Field(alias="detail-type")
    detail: StackStatusDetail


class DriftStatusDetails(BaseModel):
    stack_drift_status: str = Field(default="", alias="stack-drift-status")
    detection_status: str = Field(alias="detection-status")


class DriftDetectionDetail(_StackArn):
    stack_drift_detection_id: str = Field(alias="stack-drift-detection-id")
    status_details: DriftStatusDetails = Field(alias="status-details")


class DriftDetectionEvent(_CloudFormationEvent):
    detail_type: Literal["CloudFormation Drift Detection Status Change"] = Field(
        alias="detail-type"
    )
    detail: DriftDetectionDetail


class ScheduledEvent(EventBridgeModel):
    """An EventBridge schedule's tick; the schedule handler takes `{}` too (a direct
    invoke), as nothing in the event changes what it does."""

    source: Literal["aws.events", "aws.scheduler"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
