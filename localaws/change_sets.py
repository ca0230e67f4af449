"""Change sets that execute as CloudFormation's do.

On AWS, executing a change set gives the stack the change set's template, parameters,
tags and outputs, and deletes every change set of that stack; creating a change set
under a name the stack already has fails with AlreadyExistsException. moto 5.2.5 applies
the resources only: the stack keeps its old tags (so the reconciler's desired-hash tag
never moves) and its outputs stay as they were (none at all after a CREATE change set),
executed change sets linger and can run again, and a duplicate name makes a second
change set. This module makes execution and naming behave as on AWS.
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import AlreadyExistsException

    def apply(self: Any) -> None:
        stack = self.stack
        stack.resource_map.update(self.template_dict, self.parameters)
        stack.template = self.template
        stack._parse_template()
        stack.parameters = self.parameters
        if self.tags is not None:
            stack.tags = self.tags
        stack.output_map = stack._create_output_map()

    original_create = models.CloudFormationBackend.create_change_set
    original_execute = models.CloudFormationBackend.execute_change_set

    def create_change_set(
        self: Any, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        for change_set in self.change_sets.values():
            if change_set.change_set_name == change_set_name and stack_name in (
                change_set.stack_name,
                change_set.stack_id,
            ):
                raise AlreadyExistsException(f"ChangeSet {change_set_name} already exists")
        return original_create(self, stack_name, change_set_name, *args, **kwargs)

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original_execute(self, change_set_name, stack_name)
        executed = self.change_sets.get(change_set_name) or next(
            c
            for c in self.change_sets.values()
            if c.change_set_name == change_set_name
            and stack_name in (None, c.stack_name, c.stack_id)
        )
        for arn in [a for a, c in self.change_sets.items() if c.stack_id == executed.stack_id]:
            del self.change_sets[arn]

    models.ChangeSet.apply = apply
    models.CloudFormationBackend.create_change_set = create_change_set
    models.CloudFormationBackend.execute_change_set = execute_change_set
    _installed = True
