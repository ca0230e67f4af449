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


class StatusDetails(BaseModel):
    status: str
    status_reason: str = Field(default="", alias="status-reason")


class StackStatusDetail(BaseModel):
    stack_id: str = Field(alias="stack-id")
    status_details: StatusDetails = Field(alias="status-details")
    client_request_token: str = Field(default="", alias="client-request-token")

    @property
    def stack_name(self) -> str:
        # arn:aws:cloudformation:us-east-1:123456789012:stack/NAME/uuid
        return self.stack_id.split(":", 5)[-1].split("/")[1]

    @property
    def region(self) -> str:
        return self.stack_id.split(":")[3]


class StackStatusEvent(EventBridgeModel):
    detail: StackStatusDetail
