"""CloudFormation model for `AWS::SNS::Subscription`.

AWS behaviour: CloudFormation subscribes the endpoint to the topic (Subscribe with TopicArn,
Protocol, Endpoint) and sets the subscription attributes the template gives
(RawMessageDelivery, FilterPolicy, FilterPolicyScope, RedrivePolicy, DeliveryPolicy).
`Ref` and GetAtt Arn give the subscription's ARN. A new TopicArn, Protocol or Endpoint
replaces the subscription; the attributes are updated in place; deleting it unsubscribes.
infra/bootstrap.yml subscribes NotificationEmail to the notification topic when it is set.

moto 5.2.5 has no CloudFormation model for the type: the resource is skipped with a warning,
has no physical id, and ListSubscriptions shows nothing.

`install()` registers a model backed by moto's SNS backend. Differences that remain: an email
subscription is confirmed at once (AWS waits for the recipient to confirm, and until then
lists its ARN as "PendingConfirmation"); ReplayPolicy, SubscriptionRoleArn and Region are
not applied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import SNSException

from localaws import cfn_models
from localaws.cfn_models import ABSENT, require
from localaws.rollback import service_failure

logger = logging.getLogger(__name__)

_REPLACED_BY = ("TopicArn", "Protocol", "Endpoint")
_ATTRIBUTES = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
_ATTRIBUTES += ("DeliveryPolicy",)
_NOT_APPLIED = ("ReplayPolicy", "SubscriptionRoleArn", "Region")


class SubscriptionResource(cfn_models.Resource):
    """AWS::SNS::Subscription over moto's Subscription (Ref and GetAtt Arn: its ARN)."""

    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)

    def __init__(self, arn: str, account_id: str, region_name: str) -> None:
        self.arn = arn
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        return super().get_cfn_attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubscriptionResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("TopicArn", "Protocol"), logical_id)
        topic_arn = str(properties["TopicArn"])
        backend = _backend(account_id, topic_arn, region_name)
        try:
            subscription = backend.subscribe(
                topic_arn, str(properties.get("Endpoint", "")), str(properties["Protocol"])
            )
        except SNSException as err:  # no such topic, an endpoint SNS refuses
            status = 404 if err.code == "NotFound" else 400
            raise service_failure("Sns", err.code, err.message, status) from None
        resource = cls(subscription.arn, account_id, _region_of(topic_arn, region_name))
        resource._set_attributes({}, properties)
        cfn_models.remember(resource, properties)
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SubscriptionResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubscriptionResource:
        properties = cloudformation_json.get("Properties") or {}
        if cfn_models.create_only_changed(original_resource, properties, _REPLACED_BY):
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        original_resource._set_attributes(cfn_models.deployed(original_resource) or {}, properties)
        cfn_models.remember(original_resource, properties)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(self.account_id, self.arn, self.region_name).unsubscribe(self.arn)

    def _set_attributes(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """SetSubscriptionAttributes for each attribute the template changed; a removed one
        goes back to SNS's default."""
        backend = _backend(self.account_id, self.arn, self.region_name)
        for name, value in cfn_models.diff(old, new).items():
            if name in _NOT_APPLIED:
                logger.warning("localaws: AWS::SNS::Subscription property %s is not applied", name)
            if name not in _ATTRIBUTES:
                continue
            backend.set_subscription_attributes(self.arn, name, _attribute_value(name, value))


def _attribute_value(name: str, value: Any) -> str:
    """Attributes are strings on the API; policies given as objects become JSON."""
    if value is ABSENT:
        return "false" if name == "RawMessageDelivery" else ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def _backend(account_id: str, arn: str, fallback_region: str) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[account_id][_region_of(arn, fallback_region)]


def _region_of(arn: str, fallback: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else fallback


# --- registration -------------------------------------------------------------------------------

RESOURCES: tuple[type[Any], ...] = (SubscriptionResource,)
_registration = cfn_models.Registration(__name__, RESOURCES)


def install() -> None:
    """Give moto's CloudFormation the subscription model. Safe to call again; importing this
    module changes nothing in moto (`cfn_models.Registration`)."""
    _registration.install()


def registered_models() -> dict[str, type[CloudFormationModel]]:
    """CloudFormation type -> the model class moto uses for it (empty before install())."""
    return _registration.models()
