"""A stand-in for the context object Lambda hands a handler, for running handlers in
this process (the demo, tests). Powertools reads these attributes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    function_name: str = "gitops-reconciler-local"
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 900
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)
    # Where the function runs: its ARN names the region and account the function is in.
    region: str = "us-east-1"
    account: str = "123456789012"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
