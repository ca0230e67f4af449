"""Stand-in for `AWS::NoValue` inside a list of a template.

AWS behaviour: `!Ref AWS::NoValue` removes what it stands for. As a property value it
removes the property; as an item of a list (usually `!If [Cond, Item, !Ref AWS::NoValue]`)
it removes the item. infra/bootstrap.yml adds policy statements this way (the GitHub token
and CodeCommit statements of ReconcilePassPolicy).

moto 5.2.5 removes a property whose value is NoValue, but keeps a list item as null: an IAM
policy with `!If [..., !Ref AWS::NoValue]` among its statements fails the whole create with
"MalformedPolicyDocument: Syntax errors in policy." (CreateStack answers the error, and the
stack is left half made).

`install()` makes moto's template parsing drop a list item that is `!Ref AWS::NoValue`, or
an `Fn::If` that chose it.
"""

from __future__ import annotations

from typing import Any

_INSTALLED_MARK = "_localaws_cfn_no_value"


def _may_be_no_value(item: Any) -> bool:
    return isinstance(item, dict) and (item.get("Ref") == "AWS::NoValue" or "Fn::If" in item)


def install() -> None:
    """Drop NoValue list items when moto resolves a template. Safe to call again."""
    from moto.cloudformation import parsing

    if getattr(parsing, _INSTALLED_MARK, False):
        return
    moto_clean_json = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        # moto's clean_json calls this module attribute for nested values, so lists at
        # every depth come through here.
        if not isinstance(resource_json, list):
            return moto_clean_json(resource_json, resources_map)
        cleaned = []
        for item in resource_json:
            value = clean_json(item, resources_map)
            if value is None and _may_be_no_value(item):
                continue
            cleaned.append(value)
        return cleaned

    parsing.clean_json = clean_json
    setattr(parsing, _INSTALLED_MARK, True)
