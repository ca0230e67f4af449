"""Event models (Powertools parser, pydantic). Unknown fields are ignored, as AWS adds
fields to its events over time."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field


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

    detail: PushEvent


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

    @property
    def stack_name(self) -> str:
        # arn:aws:cloudformation:us-east-1:123456789012:stack/NAME/uuid
        return self.stack_id.split(":", 5)[-1].split("/")[1]

    @property
    def region(self) -> str:
        return self.stack_id.split(":")[3]


class StackStatusDetail(_StackArn):
    status_details: StatusDetails = Field(alias="status-details")
    client_request_token: str = Field(default="", alias="client-request-token")


class StackStatusEvent(EventBridgeModel):
    detail: StackStatusDetail


class DriftStatusDetails(BaseModel):
    stack_drift_status: str = Field(default="", alias="stack-drift-status")
    detection_status: str = Field(alias="detection-status")


class DriftDetectionDetail(_StackArn):
    stack_drift_detection_id: str = Field(alias="stack-drift-detection-id")
    status_details: DriftStatusDetails = Field(alias="status-details")


class DriftDetectionEvent(EventBridgeModel):
    detail: DriftDetectionDetail
