"""What an ECS task needs before its containers start, decided as AWS decides it.

- **Roles**: a task role or execution role must trust ``ecs-tasks.amazonaws.com`` (else
  RunTask answers AWS's "ECS was unable to assume the role ..."); the execution role's identity
  policies, asked of the one policy engine, decide the image pull (``ecr:GetAuthorizationToken``,
  ``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer``), the log stream
  (``logs:CreateLogStream``, ``logs:PutLogEvents``, and ``logs:CreateLogGroup`` with
  ``awslogs-create-group``) and each secret (``ssm:GetParameters``,
  ``secretsmanager:GetSecretValue``). A refusal stops the task with the reason AWS gives
  (``ResourceInitializationError: ...``, ``CannotPullContainerError: ...``).
- **Images**: only the sandbox's ECR serves images; the app behind a tag or digest is the one
  :func:`labkit.services.ecr.deploy.push_image` pushed.
- **Secrets**: ``valueFrom`` is a parameter name or ARN (SSM) or a secret ARN, optionally with
  ``:json-key::`` (Secrets Manager).
- **Logs**: the ``awslogs`` stream is ``prefix/container/task-id``; a missing group fails the
  task unless ``awslogs-create-group`` is ``"true"``.

Sources: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moto.ecs.exceptions import InvalidParameterException

from labkit import policy as engine
from labkit.sandbox import signers
from labkit.services.ecr.deploy import ECR_URI, app_for_digest

TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
#: How long task-role credentials last before the sandbox issues new ones (modelled).
CREDENTIAL_SECONDS = 3600


# -- roles -------------------------------------------------------------------------------------
def _role(role_arn: str) -> Any | None:
    from moto.iam.models import iam_backends

    account = engine.arn_account(role_arn)
    if not account or account not in iam_backends:
        return None
    try:
        return iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return None


def check_trust(role_arn: str | None) -> None:
    """AWS's answer when ECS cannot assume a task (or execution) role."""
    if not role_arn:
        return
    role = _role(role_arn)
    trusted = False
    if role is not None:
        request = engine.Request(
            engine.Principal.service(TASKS_PRINCIPAL),
            "sts:AssumeRole",
            role_arn,
            resource_account=engine.arn_account(role_arn),
        )
        document = role.assume_role_policy_document
        trusted = engine.evaluate(
            request,
            resource_policy=engine.load_policy(document, name=f"trust policy of {role.name}"),
        ).allowed
    if not trusted:
        raise InvalidParameterException(
            f"ECS was unable to assume the role '{role_arn}' that was provided for this task. "
            "Please verify that the role being passed has the proper trust relationship and "
            "permissions and that your IAM user has permissions to pass this role."
        )


def session_of(role_arn: str, session_name: str, region: str) -> Any:
    return signers.issue(role_arn, session_name, CREDENTIAL_SECONDS, {}, region=region)


def _may(session: Any, action: str, resource: str) -> engine.Decision:
    """Whether the role session may do ``action`` on ``resource`` (its identity policies)."""
    probe = {"Authorization": f"AWS4-HMAC-SHA256 Credential={session.access_key_id}/"}
    signer = signers.signer_of(probe)
    if signer is None:
        return engine.Decision(False, "implicit-deny", "the role's session no longer exists")
    owner = engine.arn_account(resource) or signer.principal.account
    request = engine.Request(signer.principal, action, resource, resource_account=owner)
    return engine.evaluate(request, identity_policies=signer.policies)


def _denied(session: Any, role_arn: str, action: str, resource: str) -> str | None:
    decision = _may(session, action, resource)
    if decision.allowed:
        return None
    role = role_arn.rsplit("/", 1)[-1]
    account = engine.arn_account(role_arn)
    return (
        f"AccessDeniedException: User: arn:aws:sts::{account}:assumed-role/{role}/"
        f"{session.session_name} is not authorized to perform: {action} on resource: "
        f"{resource} ({decision.reason})"
    )


class StartFailure(Exception):
    """A task cannot start: its stopped reason."""


# -- pulling, secrets, logs --------------------------------------------------------------------
def pull(image: str, account: str, region: str, exec_session: Any | None, role: str) -> Any:
    """The app behind ``image`` in ECR, or :class:`StartFailure` with AWS's reason."""
    from moto.ecr.models import ecr_backends

    found = ECR_URI.match(image)
    if found is None:
        raise StartFailure(
            f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed "
            f"to resolve ref {image}: not found (the sandbox reaches no registry but its own "
            "ECR: push the app with labkit's push_image and use the URI it returns)"
        )
    repo_name = found["repo"]
    repo_arn = f"arn:aws:ecr:{found['region']}:{found['account']}:repository/{repo_name}"
    if exec_session is not None:
        for action, resource in (
            ("ecr:GetAuthorizationToken", "*"),
            ("ecr:BatchGetImage", repo_arn),
            ("ecr:GetDownloadUrlForLayer", repo_arn),
        ):
            denied = _denied(exec_session, role, action, resource)
            if denied:
                raise StartFailure(
                    "ResourceInitializationError: unable to pull secrets or registry auth: "
                    f"execution resource retrieval failed: unable to retrieve ecr registry "
                    f"auth: service call has been retried 1 time(s): {denied}"
                )
    backend = ecr_backends[found["account"]][found["region"]]
    repo = backend.repositories.get(repo_name)
    wanted = found["digest"] or found["tag"] or "latest"
    for img in repo.images if repo is not None else []:
        if wanted == img.get_image_digest() or wanted in img.image_tags:
            app = app_for_digest(img.get_image_digest())
            if app is not None:
                return app
    raise StartFailure(
        f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to "
        f"resolve ref {image}: {image}: not found"
    )


def secrets(
    container: dict[str, Any], account: str, region: str, exec_session: Any | None, role: str
) -> dict[str, str]:
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    values: dict[str, str] = {}
    for item in container.get("secrets") or []:
        name, ref = str(item["name"]), str(item["valueFrom"])
        if exec_session is None:
            raise StartFailure(
                "ResourceInitializationError: unable to pull secrets or registry auth: the task "
                "definition has no execution role (executionRoleArn), which ECS uses to read "
                f"secret {name}"
            )
        if ref.startswith("arn:") and ":secretsmanager:" in ref:
            parts = ref.split(":")
            secret_id = ":".join(parts[:7])
            json_key = parts[7] if len(parts) > 7 else ""
            denied = _denied(exec_session, role, "secretsmanager:GetSecretValue", secret_id)
            if denied:
                raise StartFailure(
                    "ResourceInitializationError: unable to pull secrets or registry auth: "
                    "execution resource retrieval failed: unable to retrieve secret from asm: "
                    f"service call has been retried 1 time(s): {denied}"
                )
            try:
                store: Any = secretsmanager_backends[account][region]
                answer = store.get_secret_value(secret_id, None, None)
                text = str(answer["SecretString"])
            except Exception:
                raise StartFailure(
                    "ResourceInitializationError: unable to pull secrets or registry auth: "
                    "execution resource retrieval failed: unable to retrieve secret from asm: "
                    f"ResourceNotFoundException: Secrets Manager can't find the specified "
                    f"secret. ({secret_id})"
                ) from None
            if json_key:
                try:
                    text = str(json.loads(text)[json_key])
                except Exception:
                    raise StartFailure(
                        "ResourceInitializationError: unable to pull secrets or registry auth: "
                        f"retrieved secret from Secrets Manager did not contain json key "
                        f"{json_key}"
                    ) from None
            values[name] = text
            continue
        param_name = ref.split(":parameter", 1)[1] if ref.startswith("arn:") else ref
        arn_name = param_name if param_name.startswith("/") else f"/{param_name}"
        param_arn = f"arn:aws:ssm:{region}:{account}:parameter{arn_name}"
        denied = _denied(exec_session, role, "ssm:GetParameters", param_arn)
        if denied:
            raise StartFailure(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution "
                "resource retrieval failed: unable to retrieve secrets from ssm: service call "
                f"has been retried 1 time(s): {denied}"
            )
        try:
            param = ssm_backends[account][region].get_parameter(param_name)
        except Exception:
            param = None
        if param is None:
            raise StartFailure(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution "
                "resource retrieval failed: unable to retrieve secrets from ssm: service call "
                f"has been retried 1 time(s): invalid parameters: {ref}"
            )
        # ECS reads parameters decrypted (WithDecryption): a SecureString arrives as plain text.
        values[name] = str(param.decrypt(param.value))
    return values


@dataclass
class LogTarget:
    group: str
    stream: str
    backend: Any


def log_target(
    container: dict[str, Any],
    task_id: str,
    account: str,
    region: str,
    exec_session: Any | None,
    role: str,
) -> LogTarget | None:
    from moto.logs.models import logs_backends

    config = container.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None
    options = config.get("options") or {}
    group = str(options.get("awslogs-group", ""))
    log_region = str(options.get("awslogs-region") or region)
    prefix = options.get("awslogs-stream-prefix")
    stream = f"{prefix}/{container['name']}/{task_id}" if prefix else task_id
    backend = logs_backends[account][log_region]
    group_arn = f"arn:aws:logs:{log_region}:{account}:log-group:{group}:*"
    create = str(options.get("awslogs-create-group", "false")).lower() == "true"
    if exec_session is not None:
        actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
        if create:
            actions.insert(0, "logs:CreateLogGroup")
        for action in actions:
            denied = _denied(exec_session, role, action, group_arn)
            if denied:
                raise StartFailure(
                    "ResourceInitializationError: failed to validate logger args: create stream "
                    f"has been retried 1 times: failed to create Cloudwatch log stream: {denied}"
                )
    if group not in backend.groups:
        if not create:
            raise StartFailure(
                "ResourceInitializationError: failed to validate logger args: create stream has "
                "been retried 1 times: failed to create Cloudwatch log stream: "
                "ResourceNotFoundException: The specified log group does not exist. : exit "
                "status 1"
            )
        backend.create_log_group(group, {})
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    return LogTarget(group, stream, backend)
