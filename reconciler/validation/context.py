"""What rules see: the desired state, a catalog of engine versions (AWS's answer, or
cfn-lint's shipped data when AWS cannot be asked), the CloudFormation execution role's
permissions when they can be read, and today's date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from reconciler.desired import DesiredState
from reconciler.permissions import Permissions


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    status: str  # available | deprecated


@dataclass(frozen=True)
class Lifecycle:
    name: str  # e.g. open-source-rds-standard-support
    start: date | None
    end: date | None


class VersionCatalog(Protocol):
    """Engine versions a region offers. `source` says where the answers come from."""

    source: str
    offline: bool

    def db_engine_version(self, region: str, engine: str, version: str) -> EngineVersion | None:
        """The version if the region offers it (deprecated included), else None."""
        ...

    def db_lifecycles(self, region: str, engine: str, major: str) -> list[Lifecycle]: ...

    def cache_engine_versions(self, region: str, engine: str) -> list[str]: ...

    def secret_exists(self, region: str, secret_id: str) -> bool | None:
        """Whether the account holds the secret; None when that cannot be known."""
        ...


class ExecutionRole(Protocol):
    """The role CloudFormation assumes for the stacks (CLOUDFORMATION_ROLE_ARN), whose
    policies IAM001 reads. `permissions()` is None when they cannot be read (offline, no
    role named, access denied); `unreadable` then says why."""

    arn: str
    unreadable: str

    def permissions(self) -> Permissions | None: ...


@dataclass(frozen=True)
class NoRole:
    """No execution role to read: IAM001 is skipped, and the report says why."""

    unreadable: str
    arn: str = ""

    def permissions(self) -> Permissions | None:
        return None


@dataclass(frozen=True)
class Context:
    state: DesiredState
    catalog: VersionCatalog
    today: date = field(default_factory=date.today)
    role: ExecutionRole = field(default_factory=lambda: NoRole("no execution role given"))
    # A stack's own account's secret_exists(region, id) for a stack file naming another
    # account (None: not asked there, so not checked).
    secrets_at: Callable[[Any], Callable[[str, str], bool | None]] | None = None
    # Each stack's rendered view, made once and read by every rule.
    views: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
