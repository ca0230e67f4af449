"""Live stacks as observed in CloudFormation, already translated to snake_case."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler import HASH_TAG, MANAGED_TAG

STABLE_OK = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
)
FAILED = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_FAILED",
        "IMPORT_ROLLBACK_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
# A stack in one of these can take a new change set.
UPDATABLE = STABLE_OK | {"IMPORT_ROLLBACK_COMPLETE"}
SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})


@dataclass(frozen=True)
class LiveStack:
    name: str
    stack_id: str
    region: str
    status: str
    status_reason: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    account: str = ""  # as the stack file names it: "" for the reconciler's own account
    role_arn: str = ""  # the role the reconciler assumes in `account`

    @property
    def managed(self) -> bool:
        return self.tags.get(MANAGED_TAG) == "true"

    @property
    def desired_hash(self) -> str | None:
        return self.tags.get(HASH_TAG)

    @property
    def in_progress(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.status in FAILED
