"""Change sets that take time to compute, as CloudFormation's do (an opt-in knob).

AWS behaviour (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html,
API_DescribeChangeSet.html, API_ExecuteChangeSet.html): CreateChangeSet returns at once and
CloudFormation then computes the change set. Until it is done, DescribeChangeSet and
ListChangeSets show `Status` CREATE_PENDING, then CREATE_IN_PROGRESS, with `ExecutionStatus`
UNAVAILABLE ("CloudFormation is still creating it") and no changes yet; then
CREATE_COMPLETE and AVAILABLE, or FAILED (a change set without changes, say).
ExecuteChangeSet on a change set still being created fails with InvalidChangeSetStatus
(HTTP 400). On AWS this takes seconds, longer for big stacks.

moto 5.2.5 computes a change set inside CreateChangeSet: it is CREATE_COMPLETE (or FAILED)
when the call returns, so a caller never waits, and work that scales with the change-set
time (the reconciler's benchmarks of fan-out, bench/fanout.py) cannot be measured.

`install()` lets the environment variable LOCALAWS_CHANGE_SET_SECONDS (a number of seconds,
read at each CreateChangeSet; unset or 0: off, moto's behaviour) set how long a new change
set stays being computed: CREATE_PENDING for the first half of that time, CREATE_IN_PROGRESS
for the second, then whatever moto computed. The change set is built at once, as before; only
what the APIs show is held back. Not modelled: DeleteChangeSet of a change set being computed
is allowed; the time does not depend on the template.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError

logger = logging.getLogger(__name__)

SECONDS = "LOCALAWS_CHANGE_SET_SECONDS"
_INSTALLED_MARK = "_localaws_change_set_latency"
# What moto sets after building the change set, held back while it is being computed.
_HELD = ("status", "execution_status", "status_reason", "changes")
_PENDING = {"execution_status": "UNAVAILABLE", "status_reason": None, "changes": []}

_now = time.monotonic  # tests move the clock


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


def latency_seconds(env: Mapping[str, str] = os.environ) -> float:
    """The configured change-set time; a value that is not a number >= 0 is said and ignored."""
    return seconds_setting(SECONDS, env)


def seconds_setting(name: str, env: Mapping[str, str] = os.environ) -> float:
    """A number of seconds >= 0 from the environment variable `name`; 0 when unset, and a
    value that is not such a number is said and ignored."""
    text = env.get(name, "").strip()
    if not text:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        logger.warning("localaws: %s=%r is not a number of seconds >= 0; ignored", name, text)
        return 0.0
    return seconds


def computing(change_set: Any) -> str:
    """CREATE_PENDING or CREATE_IN_PROGRESS while the change set is being computed, else ""."""
    started, ready = change_set.__dict__.get(_INSTALLED_MARK, (0.0, 0.0))
    now = _now()
    if now >= ready:
        return ""
    return "CREATE_PENDING" if now < started + (ready - started) / 2 else "CREATE_IN_PROGRESS"


def _held(name: str) -> property:
    stored = f"_localaws_{name}"

    def get(self: Any) -> Any:
        state = computing(self)
        if state:
            return state if name == "status" else _PENDING[name]
        return self.__dict__.get(stored)

    def set_(self: Any, value: Any) -> None:
        self.__dict__[stored] = value

    return property(get, set_)


def install() -> None:
    """Make change sets take LOCALAWS_CHANGE_SET_SECONDS to compute. Safe to call again."""
    from moto.cloudformation import models

    if models.ChangeSet.__dict__.get(_INSTALLED_MARK):
        return
    moto_init = models.ChangeSet.__init__
    moto_execute = models.CloudFormationBackend.execute_change_set

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        started = _now()
        self.__dict__[_INSTALLED_MARK] = (started, started + latency_seconds())
        moto_init(self, *args, **kwargs)

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (
                c
                for c in self.change_sets.values()
                if c.change_set_name == change_set_name
                and stack_name in (None, c.stack_name, c.stack_id)
            ),
            None,
        )
        if change_set is not None and (state := computing(change_set)):
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"status of [{state}]"
            )
        moto_execute(self, change_set_name, stack_name)

    for name in _HELD:
        setattr(models.ChangeSet, name, _held(name))
    models.ChangeSet.__init__ = __init__
    models.CloudFormationBackend.execute_change_set = execute_change_set
    setattr(models.ChangeSet, _INSTALLED_MARK, True)
