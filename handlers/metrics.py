"""CloudWatch metrics (EMF, printed to the Lambda log and turned into metrics by CloudWatch):
one count per notification, so a dashboard or an alarm needs no subscription to the bus."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from reconciler.notify import Notification

NAMESPACE = "GitOpsReconciler"
DURATION = "StackOperationDuration"

metrics = Metrics(namespace=NAMESPACE, service="gitops-reconciler")

# Most events notify nothing; an empty flush is normal, not worth a warning per container.
warnings.filterwarnings("ignore", "No application metrics to publish")


def metric_name(notification: Notification) -> str:
    """ "Reconcile Blocked" -> ReconcileBlocked."""
    return str(notification.kind).replace(" ", "")


class MetricsNotifier:
    """A Notifier that counts. No per-stack dimension: one metric per kind stays cheap
    however many stacks there are; the event or the log says which stack."""

    def __init__(self, sink: Metrics) -> None:
        self.sink = sink

    def send(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            self.sink.add_metric(name=metric_name(n), unit=MetricUnit.Count, value=1)
            if n.duration_seconds is not None:
                self.sink.add_metric(
                    name=DURATION, unit=MetricUnit.Seconds, value=n.duration_seconds
                )
