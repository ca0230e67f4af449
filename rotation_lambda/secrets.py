"""The Secrets Manager side of a rotation: read a version by stage, put the pending
version, move AWSCURRENT. Values are dicts parsed from the secret's JSON; they are never
logged and never put in an exception's message."""

from __future__ import annotations

import json
from typing import Any

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"


class RotationError(Exception):
    """A rotation step cannot go on; Secrets Manager retries the rotation later. The
    message names the secret and the step's problem, never a secret value."""


class Secret:
    """One secret being rotated, through a Secrets Manager client."""

    def __init__(self, client: Any, secret_id: str) -> None:
        self.client, self.id = client, secret_id
        self._metadata: dict[str, Any] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            self._metadata = self.client.describe_secret(SecretId=self.id)
        return self._metadata

    @property
    def arn(self) -> str:
        return self.metadata["ARN"]

    def stages(self) -> dict[str, list[str]]:
        """Version id -> its staging labels."""
        return self.metadata.get("VersionIdsToStages", {})

    def version_with(self, stage: str) -> str | None:
        return next((v for v, labels in self.stages().items() if stage in labels), None)

    def value(self, stage: str, version: str | None = None) -> dict[str, Any] | None:
        """The version's JSON as a dict; None when no such version (or value) exists."""
        kwargs: dict[str, Any] = {"SecretId": self.id, "VersionStage": stage}
        if version:
            kwargs["VersionId"] = version
        try:
            answer = self.client.get_secret_value(**kwargs)
        except self.client.exceptions.ResourceNotFoundException:
            return None
        try:
            data = json.loads(answer["SecretString"])
        except (KeyError, ValueError):
            raise RotationError(f"{self.id}: the {stage} version is not a JSON object") from None
        if not isinstance(data, dict):
            raise RotationError(f"{self.id}: the {stage} version is not a JSON object")
        return data

    def put_pending(self, token: str, value: dict[str, Any]) -> None:
        self.client.put_secret_value(
            SecretId=self.id,
            ClientRequestToken=token,
            SecretString=json.dumps(value),
            VersionStages=[PENDING],
        )

    def make_current(self, token: str) -> bool:
        """Move AWSCURRENT to `token` (Secrets Manager then labels the old one
        AWSPREVIOUS). False when it is there already."""
        current = self.version_with(CURRENT)
        if current == token:
            return False
        self.client.update_secret_version_stage(
            SecretId=self.id,
            VersionStage=CURRENT,
            MoveToVersionId=token,
            RemoveFromVersionId=current,
        )
        self._metadata = None
        return True

    def random_password(self, length: int, exclude_characters: str = "", **flags: bool) -> str:
        answer = self.client.get_random_password(
            PasswordLength=length, ExcludeCharacters=exclude_characters, **flags
        )
        return answer["RandomPassword"]
