"""Push handler: a git push (or any event naming a ref) reconciles the branch head."""

from __future__ import annotations

import os

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.events import PushEvent
from handlers.runtime import logger, services
from reconciler.triggers import SourceConfig, on_push


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        push = parse(event=event, model=PushEvent)
    except ValidationError as err:
        logger.error("rejected push event", extra={"errors": err.errors(include_input=False)})
        return {"status": "rejected", "reason": "not a push event: " + str(err.errors()[0]["msg"])}
    source = SourceConfig.from_env(os.environ)
    outcome = on_push(push.repository, push.ref, source, services(), owner=context.aws_request_id)
    logger.info(
        "push handled", extra={**outcome.to_dict(), "status_store": services().status.description}
    )
    return outcome.to_dict()
