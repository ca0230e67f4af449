"""CloudFormation model for `AWS::Lambda::EventInvokeConfig`.

AWS behaviour: CloudFormation calls PutFunctionEventInvokeConfig for the function and
qualifier: how often Lambda retries an asynchronous invocation that failed
(MaximumRetryAttempts, 0-2, default 2), how old an event may get (MaximumEventAgeInSeconds)
and where results go (DestinationConfig). GetFunctionEventInvokeConfig then reports them.
`Ref` gives the primary identifier, `<FunctionName>|<Qualifier>`. An update replaces the
settings; a new FunctionName or Qualifier replaces the resource; deleting it deletes the
configuration. infra/bootstrap.yml gives each EventBridge-invoked function one.

moto 5.2.5 implements the API but has no CloudFormation model for the type: the resource is
skipped with a warning and the function reports no configuration.

`install()` registers a model that stores the settings on moto's function, where
GetFunctionEventInvokeConfig reads them (and `harness.deployed` reads them back to retry
as Lambda would). Differences that remain: the settings belong to the function whatever the
qualifier (moto has one configuration per function).
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.core.common_models import CloudFormationModel

from localaws import cfn_models
from localaws.cfn_models import require
from localaws.rollback import service_failure

_SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
_INTEGERS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")


class EventInvokeConfigResource(cfn_models.Resource):
    """AWS::Lambda::EventInvokeConfig over moto's function (Ref: FunctionName|Qualifier)."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    def __init__(self, function: Any, qualifier: str) -> None:
        self.function = function
        self.qualifier = qualifier

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function.function_name}|{self.qualifier}"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EventInvokeConfigResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("FunctionName", "Qualifier"), logical_id)
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[account_id][region_name]
        try:
            function = backend.get_function(str(properties["FunctionName"]))
            backend.put_function_event_invoke_config(function.function_name, _settings(properties))
        except LambdaClientError as err:
            raise service_failure("Lambda", err.error_type, err.message, err.code) from None
        resource = cls(function, str(properties["Qualifier"]))
        cfn_models.remember(resource, properties)
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: EventInvokeConfigResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EventInvokeConfigResource:
        # Put replaces the settings; a new function or qualifier replaces the resource.
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        self.function.event_invoke_config = []


def _settings(properties: dict[str, Any]) -> dict[str, Any]:
    """The API's request from the template's properties (parameters arrive as strings)."""
    settings = {key: properties[key] for key in _SETTINGS if properties.get(key) is not None}
    for key in _INTEGERS:
        if key in settings:
            settings[key] = int(settings[key])
    return settings


# --- registration -------------------------------------------------------------------------------

RESOURCES: tuple[type[Any], ...] = (EventInvokeConfigResource,)
_registration = cfn_models.Registration(__name__, RESOURCES)


def install() -> None:
    """Give moto's CloudFormation the model. Safe to call again; importing this module
    changes nothing in moto (`cfn_models.Registration`)."""
    _registration.install()


def registered_models() -> dict[str, type[CloudFormationModel]]:
    """CloudFormation type -> the model class moto uses for it (empty before install())."""
    return _registration.models()
