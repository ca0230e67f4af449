"""User-facing errors. Each one is shown as a single line, never as a traceback."""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base of every error the reconciler reports to a user."""


class SourceError(ReconcilerError):
    """The desired-state repository cannot be read (bad path, branch, or git failure)."""


class InvalidDesiredStateError(ReconcilerError):
    """Validation found errors; nothing was written to AWS."""

    def __init__(self, findings: list) -> None:
        self.findings = findings
        errors = sum(1 for f in findings if f.is_error)
        super().__init__(f"desired state has {errors} error(s); nothing was written to AWS")


class AwsError(ReconcilerError):
    """An AWS call failed in a way the user must act on (credentials, endpoint, permission).
    Transient unless it is a PermanentAwsError: a later attempt may get past it."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # AWS's error code, or the botocore exception's name


class PermanentAwsError(AwsError):
    """AWS refused the request itself (ValidationError, AccessDenied, AlreadyExists, a
    quota, ...): the same request fails the same way, so it is recorded, not retried."""


class LeaseHeldError(ReconcilerError):
    """Another operation holds the stack's lease."""


class UnknownStackError(ReconcilerError):
    """A stack name given on the command line is not in the desired state."""


class OutputsConflictError(ReconcilerError):
    """An output's SSM parameter name is taken by a parameter this stack does not own;
    it is left as it is and nothing of the stack's outputs is written."""

    def __init__(self, owners: dict[str, str | None]) -> None:
        self.owners = owners  # parameter name -> owning stack (None: not tagged by us)
        taken = "; ".join(
            f"{name} belongs to stack '{owner}'" if owner else f"{name} is not managed by us"
            for name, owner in sorted(owners.items())
        )
        super().__init__(f"outputs not published, SSM parameters are taken: {taken}")


class OutputsNotPublishedError(AwsError):
    """An SSM write failed past botocore's retries, part way through a stack's outputs.
    Transient: the next pass (or the event's retry) publishes what differs. Its message
    names the parameter and AWS's error code, never a value."""


class OutputsRefusedError(ReconcilerError):
    """SSM refused an output's write itself (access denied, a value over SSM's limit, a
    parameter quota): the same write fails the same way, so it is recorded, not retried.
    Its message names the parameter and AWS's error code, never a value."""
