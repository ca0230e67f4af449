"""ListChangeSets of one stack.

AWS behaviour (CloudFormation API reference, ListChangeSets): `StackName` is required, the
name or the unique id of the stack, and the answer lists that stack's change sets only.

moto 5.2.5 ignores `StackName` and lists every change set of the account and region, so a
caller that counts what a stack has left (a preview that must leave none, a test) sees
other stacks' change sets. `install()` keeps the change sets of the named stack: by name
for a live stack, or by stack id.
"""

from __future__ import annotations

from typing import Any

_INSTALLED_MARK = "_localaws_list_change_sets"


def install() -> None:
    """Filter ListChangeSets by its StackName. Safe to call again."""
    from moto.cloudformation import responses

    handler = responses.CloudFormationResponse
    if getattr(handler, _INSTALLED_MARK, False):
        return

    def list_change_sets(self: Any) -> Any:
        from moto.core.responses import ActionResult

        stack = self._get_param("StackName") or ""
        change_sets = [
            c
            for c in self.cloudformation_backend.list_change_sets()
            if stack in (c.stack_name, c.stack_id)
        ]
        return ActionResult({"Summaries": change_sets})

    handler.list_change_sets = list_change_sets
    setattr(handler, _INSTALLED_MARK, True)
