"""The Databricks Model Serving endpoint of the champion, kept in step by deploy and rollback.

The endpoint is not declared in the bundle with a fixed version: deploy and
rollback call :func:`sync` after moving the champion alias, and it creates or
updates the endpoint (databricks-sdk) whenever it does not serve the champion
version. So the first bundle deploy, before any model exists, has nothing to fail
on, and a rollback also rolls the endpoint back.

The endpoint (``serving.endpoint_name``, ``serving.workload_size``,
``serving.scale_to_zero``, per environment) logs payloads to an AI Gateway
inference table in the target's catalog and schema, named by
``tables.inference_table`` (Databricks appends ``_payload`` to the prefix it is
given, so the name must end with ``_payload``); ``serving.query_group`` gets
CAN_QUERY. Locally nothing is deployed: ``serve`` is the local endpoint.

Requests carry the model's input columns. Looking features up at request time
(online feature serving) is the next step and is not built: see docs/deployment.md.
"""

from __future__ import annotations

from ..registry import version_by_alias
from ..runtime.context import Context
from ..runtime.tracking import client
from ..settings_file import ConfigError, RuntimeSettings
from .settings import WORKLOAD_SIZES, endpoint_name, payload_prefix, query_group


def endpoint_settings(settings: RuntimeSettings) -> dict:
    """The checked endpoint settings: name, workload_size, scale_to_zero, query_group, prefix.

    ``prefix`` is the inference table's name without ``_payload``. The rules are those
    the settings are held to when they load (:mod:`.settings`), checked again here for
    settings built without loading. Raises ConfigError naming the key that breaks its rule.
    """
    serving = settings.raw.get("serving") or {}
    size = serving.get("workload_size")
    if size not in WORKLOAD_SIZES:
        raise ConfigError(
            f"serving.workload_size: {size!r} must be one of {', '.join(WORKLOAD_SIZES)}"
        )
    scale = serving.get("scale_to_zero")
    if not isinstance(scale, bool):
        raise ConfigError(f"serving.scale_to_zero: must be true or false, got {scale!r}")
    return {
        "name": endpoint_name(serving.get("endpoint_name")),
        "workload_size": size,
        "scale_to_zero": scale,
        "query_group": query_group(serving.get("query_group")),
        "prefix": payload_prefix(settings.tables.get("inference_table")),
    }


def _serves(config, model_name: str, version: str) -> bool:
    entities = (config.served_entities or []) if config is not None else []
    return any(e.entity_name == model_name and str(e.entity_version) == version for e in entities)


def sync_endpoint(settings: RuntimeSettings, champion: int | None, workspace) -> dict:
    """Make the endpoint serve version ``champion`` of the model; return what was done.

    ``workspace`` is a databricks-sdk ``WorkspaceClient``. Returns endpoint (name),
    served_version (str or None) and action: ``none`` (no champion yet: nothing to
    serve), ``created``, ``updated`` (it served another version), ``unchanged``
    (it serves the champion, or an update to it is under way). Then, with a champion,
    ``serving.query_group`` gets CAN_QUERY (``update_permissions`` adds it; again on every
    call, so a grant an earlier failed run did not make is made). Raises ConfigError for
    bad settings and RuntimeError when an update to another version is under way.
    """
    from databricks.sdk.errors import NotFound
    from databricks.sdk.service import serving as sdk

    wanted = endpoint_settings(settings)
    name = wanted["name"]
    if champion is None:
        return {"endpoint": name, "served_version": None, "action": "none"}
    version, model = str(champion), settings.model_name
    entity = sdk.ServedEntityInput(
        entity_name=model,
        entity_version=version,
        workload_size=wanted["workload_size"],
        scale_to_zero_enabled=wanted["scale_to_zero"],
    )
    try:
        current = workspace.serving_endpoints.get(name)
    except NotFound:
        current = None
    if current is None:
        workspace.serving_endpoints.create(
            name=name,
            config=sdk.EndpointCoreConfigInput(name=name, served_entities=[entity]),
            ai_gateway=sdk.AiGatewayConfig(
                inference_table_config=sdk.AiGatewayInferenceTableConfig(
                    catalog_name=settings.catalog,
                    schema_name=settings.schema,
                    table_name_prefix=wanted["prefix"],
                    enabled=True,
                )
            ),
        )
        action = "created"
    elif current.pending_config is not None:
        if not _serves(current.pending_config, model, version):
            raise RuntimeError(
                f"serving endpoint {name}: an update to another version is under way; "
                "rerun this step when it has finished"
            )
        action = "unchanged"
    elif _serves(current.config, model, version):
        action = "unchanged"
    else:
        workspace.serving_endpoints.update_config(name=name, served_entities=[entity])
        action = "updated"
    # Granted on every call, not only after a change: a run that moved the endpoint and
    # then failed to grant leaves it "unchanged" for the rerun, which must still grant.
    endpoint_id = workspace.serving_endpoints.get(name).id
    workspace.serving_endpoints.update_permissions(
        serving_endpoint_id=endpoint_id,
        access_control_list=[
            sdk.ServingEndpointAccessControlRequest(
                group_name=wanted["query_group"],
                permission_level=sdk.ServingEndpointPermissionLevel.CAN_QUERY,
            )
        ],
    )
    return {"endpoint": name, "served_version": version, "action": action}


def sync(ctx: Context) -> dict:
    """Keep the serving endpoint on the champion version (Databricks only).

    Locally returns ``{"action": "none", "reason": ...}`` without touching anything
    (``serve`` is the local endpoint). On Databricks resolves the champion alias and
    calls :func:`sync_endpoint` with a ``WorkspaceClient`` authenticated by the job.
    """
    settings = ctx.settings
    if settings.runtime != "databricks":
        return {"action": "none", "reason": "local runtime: `serve` runs the champion locally"}
    from databricks.sdk import WorkspaceClient

    ctx.mlflow()
    champion = version_by_alias(client(), settings.model_name, settings.champion_alias)
    return sync_endpoint(settings, int(champion.version) if champion else None, WorkspaceClient())
