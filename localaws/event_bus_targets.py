"""Stand-in for EventBridge rules whose target is an event bus of another account or region,
and for the event a rule hands its targets.

AWS behaviour:

- A rule whose target is an event bus ARN (another account, another region, or both; the
  target names a RoleArn when the sender needs one) sends each event it matches to that
  bus, where the bus's own rules match it in turn. The event arrives as it was sent: the
  same `id`, `time`, `resources` and `detail`, and the `account` and `region` it came from,
  which is how the receiving account's rules tell the sender apart
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html).
- An event that reached a bus from another bus is not sent on to a third bus: "If a
  receiver account sets up a rule that sends events received from a sender account on to a
  third account, these events are not sent to the third account" (same page), and the same
  holds for buses of one account.
- The event a target receives carries every top-level field of the event, `account`
  included; a disabled rule sends nothing.

moto 5.2.5 delivers to a bus target by calling PutEvents on the target bus: the event gets a
new id, the target's account and region, no `resources` and the current time, and it can
be forwarded again. Its default input (no InputTransformer) leaves `account` out of what a
queue or log group target receives, and a DISABLED rule still sends to its targets.

`install()` makes moto's rules send to event bus targets as AWS does (the event as it is,
to the rules of the target bus, once), put `account` in every target's event, and skip
disabled rules. Not modelled: the receiving bus's resource policy and the RoleArn are not
checked (every bus accepts every sender), an InputTransformer on a bus target is not
applied, and a queue target in another account still gets moto's handling (a queue of that
name in the rule's own account).
"""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED_MARK = "_localaws_event_bus_targets"
# The input moto gives a target without an InputTransformer, with `account`, in AWS's order.
DEFAULT_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)
_hop = threading.local()  # set while an event is delivered from one bus to another


def event_bus_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, region, bus name) of an event bus ARN; None for any other ARN."""
    parts = arn.split(":", 5)  # arn:<partition>:events:<region>:<account>:event-bus/<name>
    if len(parts) != 6 or parts[2] != "events" or not parts[5].startswith("event-bus/"):
        return None
    return parts[4], parts[3], parts[5].removeprefix("event-bus/")


class _WithoutBusTargets:
    """The rule as moto's sending sees it: the same, with its event bus targets left out."""

    def __init__(self, rule: Any) -> None:
        self._rule = rule
        self.targets = [t for t in rule.targets if event_bus_arn(str(t.get("Arn", ""))) is None]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rule, name)


def _forward(rule: Any, event: dict[str, Any], target: dict[str, Any]) -> None:
    """The event, as it is, to the rules of the bus `target` names."""
    from moto.events.models import events_backends

    account, region, name = event_bus_arn(str(target["Arn"])) or ("", "", "")
    if (account, region, name) == (rule.account_id, rule.region_name, rule.event_bus_name):
        return  # its own bus: it is there already
    bus = events_backends[account][region].event_buses.get(name)
    if bus is None:  # AWS counts a failed invocation; the sender's PutEvents still succeeds
        logger.warning("localaws: rule %s: no event bus %s", rule.name, target["Arn"])
        return
    _hop.forwarded = True
    try:
        for receiving in list(bus.rules.values()):
            receiving.send_to_targets(copy.deepcopy(event))
    finally:
        _hop.forwarded = False


def install() -> None:
    """Send to event bus targets as AWS does, with `account` in every target's event, and
    nothing from a disabled rule. Safe to call again."""
    from moto.events.models import EventTemplateParser, Rule

    if Rule.__dict__.get(_INSTALLED_MARK):
        return
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = DEFAULT_INPUT_TEMPLATE
    moto_send_to_targets = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if getattr(self, "state", "ENABLED") != "ENABLED":
            return
        buses = [t for t in self.targets if event_bus_arn(str(t.get("Arn", ""))) is not None]
        if not buses:
            return moto_send_to_targets(self, original_event, transform_input)
        moto_send_to_targets(_WithoutBusTargets(self), original_event, transform_input)
        if getattr(_hop, "forwarded", False) or not self.event_pattern.matches_event(
            original_event
        ):
            return  # one hop only
        for target in buses:
            _forward(self, dict(original_event), target)

    Rule.send_to_targets = send_to_targets
    setattr(Rule, _INSTALLED_MARK, True)
