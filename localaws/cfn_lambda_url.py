"""CloudFormation model for `AWS::Lambda::Url`, a Lambda function URL.

AWS behaviour: CloudFormation calls CreateFunctionUrlConfig for TargetFunctionArn (a name
or ARN, with an optional Qualifier) with AuthType (NONE or AWS_IAM), Cors and InvokeMode;
`Ref` and GetAtt FunctionArn give the function's ARN, GetAtt FunctionUrl the URL
(`https://<id>.lambda-url.<region>.on.aws`). AuthType, Cors and InvokeMode are updated in
place; a new TargetFunctionArn or Qualifier replaces the URL; deleting it deletes the
configuration. infra/bootstrap.yml gives the webhook function one (AuthType NONE: GitHub
cannot sign AWS requests, the webhook's HMAC is the authentication) and outputs the URL.

moto 5.2.5 implements the API but has no CloudFormation model for the type: the resource is
skipped, and an output that reads `!GetAtt WebhookUrl.FunctionUrl` crashes the create
(HTTP 500).

`install()` registers a model over moto's function URL configuration, so
GetFunctionUrlConfig answers with what the template set. Nothing listens at the URL (moto
serves no function URLs, and its Lambda runs no code without Docker):
`harness.deployed.DeployedRouter.post_webhook` calls the function's handler with the event
a request to the URL would make. Differences that remain: the Qualifier is not applied
(moto keeps one URL per function).
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.core.common_models import CloudFormationModel

from localaws import cfn_models
from localaws.cfn_models import require
from localaws.rollback import service_failure

_REPLACED_BY = ("TargetFunctionArn", "Qualifier")
_SETTINGS = ("AuthType", "Cors", "InvokeMode")


class UrlResource(cfn_models.Resource):
    """AWS::Lambda::Url over moto's FunctionUrlConfig (Ref: the function's ARN)."""

    TYPE = "AWS::Lambda::Url"
    ATTRIBUTES = ("FunctionArn", "FunctionUrl")

    def __init__(self, function: Any) -> None:
        self.function = function

    @property
    def physical_resource_id(self) -> str:
        return str(self.function.function_arn)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "FunctionArn":
            return self.function.function_arn
        if attribute_name == "FunctionUrl":
            return self.function.get_url_config().url
        return super().get_cfn_attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UrlResource:
        properties = cloudformation_json.get("Properties") or {}
        logical_id = cfn_models.created_logical_id(kwargs, resource_name)
        require(properties, ("TargetFunctionArn", "AuthType"), logical_id)
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[account_id][region_name]
        target = str(properties["TargetFunctionArn"])
        config = {key: properties[key] for key in _SETTINGS if properties.get(key) is not None}
        try:
            function = backend.get_function(target)
            backend.create_function_url_config(function.function_arn, config)
        except LambdaClientError as err:
            raise service_failure("Lambda", err.error_type, err.message, err.code) from None
        resource = cls(function)
        cfn_models.remember(resource, properties)
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: UrlResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UrlResource:
        properties = cloudformation_json.get("Properties") or {}
        if cfn_models.create_only_changed(original_resource, properties, _REPLACED_BY):
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        # moto's UpdateFunctionUrlConfig applies only AuthType and Cors: set them all here.
        config = original_resource.function.get_url_config().config
        for key in _SETTINGS:
            if properties.get(key) is None:
                config.pop(key, None)
            else:
                config[key] = properties[key]
        cfn_models.remember(original_resource, properties)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        self.function.delete_url_config()


# --- registration -------------------------------------------------------------------------------

RESOURCES: tuple[type[Any], ...] = (UrlResource,)
_registration = cfn_models.Registration(__name__, RESOURCES)


def install() -> None:
    """Give moto's CloudFormation the function URL model. Safe to call again; importing
    this module changes nothing in moto (`cfn_models.Registration`)."""
    _registration.install()


def registered_models() -> dict[str, type[CloudFormationModel]]:
    """CloudFormation type -> the model class moto uses for it (empty before install())."""
    return _registration.models()
