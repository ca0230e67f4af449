"""DS014: a template must fit in CreateChangeSet's TemplateBody (51,200 bytes); larger
ones need an S3 TemplateURL, which the reconciler does not upload."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error

TEMPLATE_BODY_LIMIT = 51_200


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    for template in state.templates.values():
        size = len(template.body.encode())
        if size > TEMPLATE_BODY_LIMIT:
            msg = (
                f"template is {size} bytes; CloudFormation takes at most {TEMPLATE_BODY_LIMIT} "
                "in a request: split it into nested stacks or shorten it"
            )
            yield error(template.path, 1, "DS014", msg)


RULE = Rule(("DS014",), "templates fit in a CreateChangeSet request", check)
