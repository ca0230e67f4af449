"""The CloudWatch metrics a handler printed: Powertools writes them to stdout as EMF
documents (JSON lines with `_aws`), beside its JSON log lines (without)."""

from __future__ import annotations

import json


def emf_blobs(stdout: str) -> list[dict]:
    """The EMF documents printed (log lines are JSON too, without `_aws`)."""
    blobs = []
    for line in stdout.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            blobs.append(doc)
    return blobs


def emf_metrics(stdout: str) -> list[str]:
    """The metric names printed."""
    return [
        metric["Name"]
        for doc in emf_blobs(stdout)
        for directive in doc["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    ]
