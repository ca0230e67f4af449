"""Stand-in for an EventBridge rule whose target is a Lambda function, as the bootstrap
stack's rules are.

AWS behaviour: PutEvents accepts the events; each rule whose pattern matches invokes its
Lambda targets asynchronously (the function's retries and dead-letter queue handle a
failure), and sends to its other targets (queues, buses, log groups) as usual.

moto 5.2.5 creates such rules (from a template too), but PutEvents fails with HTTP 500 ("Expr
not defined for <class 'moto.events.models.Rule'>") as soon as an event matches a rule with a
Lambda target: moto sends to queues, buses, log groups, archives and API destinations only.
So once infra/bootstrap.yml is deployed, every "Git Push" and every stack status event of a
managed stack fails to be put on the bus.

`install()` makes moto's rules pass over their Lambda targets and send to the others. moto
would need Docker to run the function; `harness.deployed.DeployedRouter` adds a queue
target beside each Lambda target and runs the function's handler in its place.
"""

from __future__ import annotations

from typing import Any

_INSTALLED_MARK = "_localaws_cfn_event_rule_targets"


def _is_lambda(arn: str) -> bool:
    parts = arn.split(":")  # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    return len(parts) > 5 and parts[2] == "lambda" and parts[5] == "function"


class _WithoutLambdaTargets:
    """The rule as moto's sending sees it: the same, with its Lambda targets left out. (The
    rule itself is not changed: ListTargetsByRule may be answering at the same time.)"""

    def __init__(self, rule: Any) -> None:
        self._rule = rule
        self.targets = [t for t in rule.targets if not _is_lambda(str(t.get("Arn", "")))]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rule, name)


def install() -> None:
    """Let rules with Lambda targets match events without failing PutEvents. Safe to call
    again."""
    from moto.events.models import Rule

    if Rule.__dict__.get(_INSTALLED_MARK):
        return
    moto_send_to_targets = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if not any(_is_lambda(str(t.get("Arn", ""))) for t in self.targets):
            return moto_send_to_targets(self, original_event, transform_input)
        return moto_send_to_targets(_WithoutLambdaTargets(self), original_event, transform_input)

    Rule.send_to_targets = send_to_targets
    setattr(Rule, _INSTALLED_MARK, True)
