"""Schedule handler (EventBridge schedule): starts drift detection on managed stacks, at
most DRIFT_MAX_CONCURRENT (default 5) in flight at once."""

from __future__ import annotations

import os

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.runtime import logger, services
from reconciler.triggers import on_schedule


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    limit = int(os.environ.get("DRIFT_MAX_CONCURRENT", "5"))
    outcome = on_schedule(services(), limit)
    logger.info("schedule handled", extra=outcome.to_dict())
    return outcome.to_dict()
