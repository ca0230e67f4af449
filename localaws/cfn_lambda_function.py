"""Stand-in for a Lambda function's DeadLetterConfig, TracingConfig and LoggingConfig, as
CloudFormation sets them and GetFunctionConfiguration reports them.

AWS behaviour: `DeadLetterConfig.TargetArn` names the SQS queue (or SNS topic) that gets an
asynchronous invocation's event once its retries are used up; `TracingConfig.Mode` Active
samples invocations into X-Ray; `LoggingConfig` (LogFormat, LogGroup, ApplicationLogLevel,
SystemLogLevel) says where and how the function logs. GetFunctionConfiguration reports all
three (TracingConfig PassThrough by default). A stack update changes them in place, and
one that removes a setting puts its default back.
infra/bootstrap.yml gives its EventBridge-invoked functions a dead-letter queue and active
tracing.

moto 5.2.5 passes none of the three from a template to the function: it reports TracingConfig
PassThrough, and GetFunctionConfiguration never reports DeadLetterConfig or LoggingConfig
(moto keeps neither, whatever the path).

`install()` makes moto's function keep the three from a template's create and update, and
report them. Nothing acts on them here (moto runs no code
without Docker): `harness.deployed` reads DeadLetterConfig back to dead-letter events as
Lambda would. Differences that remain: the target's existence and the role's permission to
send to it are not checked; logs go nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaws import cfn_models

_INSTALLED_MARK = "_localaws_cfn_lambda_function"
_DEAD_LETTER = "_localaws_dead_letter_config"
_LOGGING = "_localaws_logging_config"
_DEFAULT_TRACING = {"Mode": "PassThrough"}


def _apply(function: Any, properties: Mapping[str, Any]) -> None:
    """Keep the three settings of a template's properties; an absent one is the default."""
    target = (properties.get("DeadLetterConfig") or {}).get("TargetArn")
    setattr(function, _DEAD_LETTER, {"TargetArn": str(target)} if target else None)
    mode = (properties.get("TracingConfig") or {}).get("Mode")
    function.tracing_config = {"Mode": str(mode)} if mode else dict(_DEFAULT_TRACING)
    logging_config = properties.get("LoggingConfig")
    setattr(function, _LOGGING, _logging(function, logging_config) if logging_config else None)


def _logging(function: Any, given: Mapping[str, Any]) -> dict[str, str]:
    """LoggingConfig as Lambda reports it: the default format and group filled in."""
    reported = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}
    reported.update({key: str(value) for key, value in given.items() if value is not None})
    return reported


def install() -> None:
    """Keep and report the three settings. Safe to call again."""
    from moto.awslambda.models import LambdaFunction

    if LambdaFunction.__dict__.get(_INSTALLED_MARK):
        return
    cfn_models.extend_create(LambdaFunction, after=_apply)
    moto_update = LambdaFunction.update_from_cloudformation_json.__func__
    moto_get_configuration = LambdaFunction.get_configuration

    def update_from_cloudformation_json(
        cls: type[Any],
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        function = moto_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _apply(function, cloudformation_json.get("Properties") or {})
        return function

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = moto_get_configuration(self, on_create)
        for key, attribute in (("DeadLetterConfig", _DEAD_LETTER), ("LoggingConfig", _LOGGING)):
            value = getattr(self, attribute, None)
            if value:
                config[key] = dict(value)
        return config

    LambdaFunction.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    LambdaFunction.get_configuration = get_configuration
    setattr(LambdaFunction, _INSTALLED_MARK, True)
