"""UpdateStack that changes only the stack's tags, keeping every parameter's value.

AWS behaviour: UpdateStack with the previous template and parameters and new `Tags` is an
update (the stack goes UPDATE_IN_PROGRESS, then UPDATE_COMPLETE, and CloudFormation
propagates the tags to the resources that support them): "No updates are to be
performed" is the answer only when nothing at all differs, tags included
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html,
`Tags`: "Key-value pairs to associate with this stack ... If you don't specify this
parameter, CloudFormation doesn't modify the stack's tags").

`UsePreviousValue` keeps "the existing parameter value that the stack is using for a
given parameter key" (API_Parameter.html), whether the value was given or came from the
parameter's `Default`.

moto 5.2.5 compares the template and the parameters only, and refuses a tags-only update
as having nothing to do; it looks `UsePreviousValue` up among the values given when the
stack was made only, failing (KeyError, an HTTP 500) for a parameter left to its default;
and it runs every resource through its update path again, which fails on resources it
cannot re-read (the PCI stack's subnets: "The subnet ID 'None' does not exist").
`install()` lets a tags-only update through when the request's tags differ from the
stack's, takes a previous value from the values the stack resolved, and runs an update
with the previous template and every parameter's previous value as what it is on AWS: the
stack's tags change (UPDATE_IN_PROGRESS, then UPDATE_COMPLETE), no resource does. The
tags are not copied onto the resources (moto keeps few resource tags).
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.cloudformation import responses

    moto_validate = responses.CloudFormationResponse._validate_different_update

    def validate_different_update(
        self: Any, incoming_params: Any, stack_body: str, old_stack: Any
    ) -> None:
        if self._get_action() == "UpdateStack":
            tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", []) or []}
            if tags and tags != dict(old_stack.tags or {}):
                return
        moto_validate(self, incoming_params, stack_body, old_stack)

    responses.CloudFormationResponse._validate_different_update = validate_different_update

    from moto.cloudformation import models

    moto_resolve = models.CloudFormationBackend._resolve_update_parameters

    def resolve_update_parameters(self: Any, instance: Any, incoming_params: Any) -> Any:
        given = getattr(instance, "parameters", {})
        in_use = getattr(instance, "stack_parameters", None) or {}
        kept = [
            p
            for p in incoming_params
            if not (p.get("UsePreviousValue") and p["ParameterKey"] not in given)
        ]
        resolved = moto_resolve(self, instance, kept)
        for p in incoming_params:
            key = p["ParameterKey"]
            if p.get("UsePreviousValue") and key not in given and key in in_use:
                resolved[key] = in_use[key]
        return resolved

    models.CloudFormationBackend._resolve_update_parameters = resolve_update_parameters

    moto_update_stack = models.CloudFormationBackend.update_stack

    def update_stack(
        self: Any, name: str, template: str, role_arn: Any, parameters: Any, tags: Any
    ) -> Any:
        stack = self.get_stack(name)
        previous = all(p.get("UsePreviousValue") for p in parameters or [])
        if template == stack.template and previous and tags is not None:
            stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.tags = tags
            stack.role_arn = role_arn
            stack._add_stack_event("UPDATE_COMPLETE")
            stack.status = "UPDATE_COMPLETE"
            return stack
        return moto_update_stack(self, name, template, role_arn, parameters, tags)

    models.CloudFormationBackend.update_stack = update_stack
    _installed = True
