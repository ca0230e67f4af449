"""Event models (pydantic). Unknown fields are ignored, as AWS adds fields to its events
over time.

The EventBridge envelope is declared here, field for field as Powertools' parser declares
it (EventBridgeModel), rather than imported: the parser's models package builds every
event model Powertools knows at import, tens of milliseconds of each cold start. Each
model is built (its pydantic schema) on its first validation, not at import
(`defer_build`), so a handler pays only for the models it reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
        return model.model_validate(event)
    except ValidationError as err:
        raise RejectedEvent(f"not {what}: {_summary(err)}") from None


def _summary(err: ValidationError) -> str:
    errors = err.errors(include_input=False, include_url=False)
    said = [
        f"{'.'.join(str(part) for part in e['loc']) or 'event'}: {e['msg']}" for e in errors[:3]
    ]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(said) + more


class _Model(BaseModel):
    """Built (its pydantic schema) on its first validation, not at import."""

    model_config = ConfigDict(defer_build=True)


class EventBridgeModel(_Model):
    """An EventBridge event's envelope, as Powertools' EventBridgeModel (3.x) declares it:
    the same fields, types and order, so an event is accepted, and a rejection worded, as
    it was when the parser read it. A subclass narrows `source`, `detail_type`, `detail`."""

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any] | type[BaseModel] | BaseModel
    replay_name: str | None = Field(None, alias="replay-name")

    @field_validator("detail", mode="before")
    @classmethod
    def _scheduler_detail(cls, value: Any, info: ValidationInfo) -> Any:
        # EventBridge Scheduler sends an empty detail as the string "{}".
        return {} if info.data.get("source") == "aws.scheduler" and value == "{}" else value


class PushEvent(_Model):
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


class PullRequestDetail(_Model):
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


class CodeCommitDetail(_Model):
    event: str  # referenceCreated, referenceUpdated, referenceDeleted
    repository_name: str = Field(alias="repositoryName")
    reference_type: str = Field(alias="referenceType")  # branch or tag
    reference_name: str = Field(alias="referenceName")
    commit_id: str = Field(default="", alias="commitId")


class CodeCommitEvent(EventBridgeModel):
    """ "CodeCommit Repository State Change" (source aws.codecommit)."""

    detail: CodeCommitDetail


class StatusDetails(_Model):
    status: str
    status_reason: str = Field(default="", alias="status-reason")


class _StackArn(_Model):
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


class DriftStatusDetails(_Model):
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
