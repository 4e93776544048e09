"""The Databricks serving endpoint follows the champion: tested with a fake WorkspaceClient
(no workspace is reachable from the tests). Also the local server's ASGI wrapper on an
exchange an exception ends, driven without a server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from types import SimpleNamespace

import databricks.sdk
import pytest
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service.serving import ServingEndpointPermissionLevel
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.config import ConfigError, load_settings
from {{ cookiecutter.package_name }}.registry import version_by_alias
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.serving.cli import serve
from {{ cookiecutter.package_name }}.serving.endpoint import endpoint_settings, sync, sync_endpoint
from {{ cookiecutter.package_name }}.serving.server import LoggedApp
from {{ cookiecutter.package_name }}.steps import deploy, rollback

from .conftest import refusal
from .mlflow_stores import registry, seeded


class FakeEndpoints:
    """The ``serving_endpoints`` API of a workspace holding at most one endpoint."""

    def __init__(self, served: str | None = None, pending: str | None = None, refusals: int = 0):
        self.endpoint = None
        self.calls: list[tuple] = []
        self.refusals = refusals  # the next this many permission updates raise
        if served is not None:
            self.endpoint = self._detailed(served, pending)

    @staticmethod
    def _config(version: str | None):
        if version is None:
            return None
        entity = SimpleNamespace(entity_name=STAGING.model_name, entity_version=version)
        return SimpleNamespace(served_entities=[entity])

    def _detailed(self, version, pending=None):
        return SimpleNamespace(
            id="ep-1", config=self._config(version), pending_config=self._config(pending)
        )

    def get(self, name):
        if self.endpoint is None:
            raise NotFound(f"endpoint {name} does not exist")
        return self.endpoint

    def create(self, name, config, ai_gateway):
        self.calls.append(("create", name, config, ai_gateway))
        self.endpoint = self._detailed(config.served_entities[0].entity_version)

    def update_config(self, name, served_entities):
        self.calls.append(("update_config", name, served_entities))
        self.endpoint = self._detailed(served_entities[0].entity_version)

    def update_permissions(self, serving_endpoint_id, access_control_list):
        if self.refusals:
            self.refusals -= 1
            raise PermissionDenied("injected: cannot manage the endpoint's permissions")
        self.calls.append(("update_permissions", serving_endpoint_id, access_control_list))

    def served(self) -> str | None:
        """The version the endpoint serves (None without an endpoint)."""
        if self.endpoint is None:
            return None
        return self.endpoint.config.served_entities[0].entity_version


def workspace(endpoints: FakeEndpoints):
    """A stand-in for databricks.sdk.WorkspaceClient with only ``serving_endpoints``."""
    return SimpleNamespace(serving_endpoints=endpoints)


STAGING = load_settings("staging")


def test_before_any_model_exists_nothing_is_created():
    endpoints = FakeEndpoints()
    result = sync_endpoint(STAGING, None, workspace(endpoints))
    name = STAGING.raw["serving"]["endpoint_name"]
    assert result == {"endpoint": name, "served_version": None, "action": "none"}
    assert endpoints.calls == []


def test_the_first_champion_creates_the_endpoint_with_payload_logging_and_query_rights():
    endpoints = FakeEndpoints()
    result = sync_endpoint(STAGING, 3, workspace(endpoints))
    assert result["action"] == "created" and result["served_version"] == "3"
    (kind, name, config, gateway), permissions = endpoints.calls[0], endpoints.calls[1]
    assert kind == "create" and name == STAGING.raw["serving"]["endpoint_name"]
    entity = config.served_entities[0]
    assert (entity.entity_name, entity.entity_version) == (STAGING.model_name, "3")
    assert entity.workload_size == STAGING.raw["serving"]["workload_size"]
    assert entity.scale_to_zero_enabled is STAGING.raw["serving"]["scale_to_zero"]
    table = gateway.inference_table_config
    assert (table.catalog_name, table.schema_name, table.enabled) == (
        STAGING.catalog,
        STAGING.schema,
        True,
    )
    assert f"{table.table_name_prefix}_payload" == STAGING.tables["inference_table"]
    assert permissions[0] == "update_permissions" and permissions[1] == "ep-1"
    grant = permissions[2][0]
    assert grant.group_name == STAGING.raw["serving"]["query_group"]
    assert grant.permission_level == ServingEndpointPermissionLevel.CAN_QUERY


def test_an_endpoint_on_the_champion_is_left_alone_and_the_grant_made_again():
    endpoints = FakeEndpoints(served="3")
    assert sync_endpoint(STAGING, 3, workspace(endpoints))["action"] == "unchanged"
    assert [call[0] for call in endpoints.calls] == ["update_permissions"]


@pytest.mark.parametrize("served, champion", [("3", 4), ("4", 3)], ids=["deploy", "rollback"])
def test_another_version_is_replaced_by_the_champion(served, champion):
    endpoints = FakeEndpoints(served=served)
    result = sync_endpoint(STAGING, champion, workspace(endpoints))
    assert result == {
        "endpoint": STAGING.raw["serving"]["endpoint_name"],
        "served_version": str(champion),
        "action": "updated",
    }
    kind, _, entities = endpoints.calls[0]
    assert kind == "update_config" and entities[0].entity_version == str(champion)
    assert sync_endpoint(STAGING, champion, workspace(endpoints))["action"] == "unchanged"


def test_an_update_under_way_to_another_version_is_refused():
    endpoints = FakeEndpoints(served="3", pending="5")
    with pytest.raises(RuntimeError, match="under way"):
        sync_endpoint(STAGING, 4, workspace(endpoints))
    assert sync_endpoint(STAGING, 5, workspace(endpoints))["action"] == "unchanged"
    assert [call[0] for call in endpoints.calls] == ["update_permissions"]


def test_environments_name_their_endpoints_and_only_prod_does_not_scale_to_zero():
    envs = ("dev", "staging", "prod", "test")
    serving = {env: load_settings(env).raw["serving"] for env in envs}
    assert len({s["endpoint_name"] for s in serving.values()}) == 4
    assert {env: s["scale_to_zero"] for env, s in serving.items()} == {
        "dev": True,
        "staging": True,
        "prod": False,
        "test": True,
    }


@pytest.mark.parametrize(
    "change, message",
    [
        ({"workload_size": "Huge"}, "serving.workload_size"),
        ({"endpoint_name": "a b"}, "serving.endpoint_name"),
        ({"scale_to_zero": "yes"}, "serving.scale_to_zero"),
        ({"query_group": ""}, "serving.query_group"),
    ],
)
def test_bad_endpoint_settings_are_named(change, message):
    serving = {**STAGING.raw["serving"], **change}
    with pytest.raises(ConfigError, match=message):
        endpoint_settings(replace(STAGING, raw={**STAGING.raw, "serving": serving}))


def test_a_bad_inference_table_name_is_named():
    tables = {**STAGING.tables, "inference_table": "log"}
    with pytest.raises(ConfigError, match="tables.inference_table"):
        endpoint_settings(replace(STAGING, tables=tables))


def test_locally_nothing_is_deployed():
    ctx = SimpleNamespace(settings=load_settings("local"))
    assert sync(ctx)["action"] == "none"


def test_serve_refuses_a_bad_port_in_one_line(capsys):
    assert serve(["--port", "70000"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: serving.port: must be an integer from 0 to 65535, got 70000"
    )


def test_the_serving_rules_are_checked_when_the_settings_load(tmp_path):
    # Not only when serve starts: deploy (which syncs the endpoint) and every other step
    # refuse them before writing.
    assert refusal(tmp_path, "serving:\n  port: 70000\n", "dev") == (
        "settings of environment 'dev': serving.port: must be an integer from 0 to 65535, got 70000"
    )
    assert refusal(tmp_path, "serving:\n  log_flush_seconds: 0\n", "dev") == (
        "settings of environment 'dev': serving.log_flush_seconds: must be a positive number, got 0"
    )


@pytest.mark.parametrize(
    "override, line",
    [
        (
            "serving:\n  endpoint_name: flight delays\n",
            "serving.endpoint_name: 'flight delays' must be 1-63 letters, digits, '-' or '_'",
        ),
        (
            f"serving:\n  endpoint_name: {'e' * 64}\n",
            f"serving.endpoint_name: '{'e' * 64}' must be 1-63 letters, digits, '-' or '_' "
            "(64 characters)",
        ),
        ("serving:\n  query_group: ' '\n", "serving.query_group: must be a group name, got ' '"),
        (
            "tables:\n  inference_table: request_log\n",
            "tables.inference_table: 'request_log' must end with _payload "
            "(Databricks names the payload table <prefix>_payload)",
        ),
        (
            "tables:\n  inference_table: _payload\n",
            "tables.inference_table: '_payload' must end with _payload "
            "(Databricks names the payload table <prefix>_payload)",
        ),
    ],
    ids=["space", "64_characters", "blank_group", "no_suffix", "suffix_only"],
)
@pytest.mark.parametrize("env", ["local", "prod"])
def test_the_endpoint_rules_are_checked_when_the_settings_load(tmp_path, override, line, env):
    # Deploy syncs the endpoint only after it has moved the champion alias: refused there,
    # a bad endpoint setting would leave the alias moved and the endpoint behind it.
    assert refusal(tmp_path, override, env) == f"settings of environment '{env}': {line}"


def test_the_query_group_is_granted_without_the_blanks_around_it(tmp_path):
    override = tmp_path / "override.yml"
    override.write_text("serving:\n  query_group: '  data-readers '\n")
    endpoints = FakeEndpoints()
    sync_endpoint(load_settings("staging", override), 3, workspace(endpoints))
    kind, _, access = endpoints.calls[1]
    assert kind == "update_permissions"
    assert [grant.group_name for grant in access] == ["data-readers"]


def test_the_endpoint_name_may_take_63_letters_digits_hyphens_and_underscores(tmp_path):
    # Boundary guard: the longest name the rule takes (64 is refused above).
    name = "Flight-delays_2" + "x" * 48
    override = tmp_path / "override.yml"
    override.write_text(f"serving:\n  endpoint_name: {name}\n")
    settings = load_settings("prod", override)
    assert endpoint_settings(settings)["name"] == name


def test_the_serving_section_is_typed_when_the_settings_load(tmp_path):
    assert refusal(tmp_path, "serving:\n  prot: 5055\n", "dev") == (
        "settings of environment 'dev': serving.prot: unknown key (did you mean port?)"
    )
    assert refusal(tmp_path, "serving:\n  scale_to_zero: 'no'\n", "dev") == (
        "settings of environment 'dev': serving.scale_to_zero: Input should be a valid "
        "boolean (got 'no')"
    )


def staging_job(
    tmp_path, monkeypatch, endpoints: FakeEndpoints, champion: bool = True
) -> tuple[Context, Context]:
    """(job, local): ``job`` has the staging settings as a Databricks job has them, with
    MLflow on the local store of ``local`` (under ``tmp_path``), which holds versions 1
    and 2 of the model, and ``endpoints`` as the workspace's serving endpoints. v1 is the
    champion and v2 passed validation against it; without ``champion``, there is none
    and v2 passed validation against none."""
    local = Context(replace(STAGING, runtime="local", local_root=seeded(tmp_path)))
    job = Context(STAGING)
    monkeypatch.setattr(job, "mlflow", local.mlflow)
    monkeypatch.setattr(databricks.sdk, "WorkspaceClient", lambda: workspace(endpoints))
    local.mlflow()
    store, name = registry(local), STAGING.model_name
    store.create_registered_model(name)
    for _ in range(2):
        store.create_model_version(name, source="file:///nowhere", run_id=None)
    if champion:
        store.set_registered_model_alias(name, "champion", "1")
    store.set_model_version_tag(name, "2", "validation_status", "PASSED")
    against = "1" if champion else "none"
    store.set_model_version_tag(name, "2", "validation_champion_version", against)
    return job, local


def registry_state(ctx: Context) -> tuple[int | None, dict]:
    """(champion version or None, {version: tags}) of the model of ``ctx``."""
    store, name = registry(ctx), ctx.settings.model_name
    champion = version_by_alias(store, name, "champion")
    tags = {n: store.get_model_version(name, n).tags for n in ("1", "2")}
    return (int(champion.version) if champion else None), tags


def test_deploy_and_rollback_put_the_alias_back_when_the_endpoint_cannot_follow(
    tmp_path, monkeypatch
):
    # An update of the endpoint to v5 is under way (started by hand, say): deploy cannot
    # move the endpoint, so it must not leave the champion alias moved either.
    endpoints = FakeEndpoints(served="1", pending="5")
    job, local = staging_job(tmp_path, monkeypatch, endpoints)
    before = registry_state(local)
    with pytest.raises(RuntimeError, match="under way") as failed:
        deploy.run(job, version=2)
    assert registry_state(local) == before  # alias on v1, no promotion tags on v2
    assert failed.value.__notes__ == [
        "the champion alias is back on v1, but what follows it (e.g. the serving endpoint) "
        f"could not be brought back: serving endpoint {STAGING.raw['serving']['endpoint_name']}: "
        "an update to another version is under way; rerun this step when it has finished"
    ]
    assert endpoints.calls == []

    # The update finished: the rerun promotes v2 and the endpoint follows.
    endpoints.endpoint = endpoints._detailed("5")
    promoted = deploy.run(job, version=2)
    assert (promoted["champion_version"], promoted["serving_endpoint"]["action"]) == (2, "updated")
    after_deploy = registry_state(local)
    assert after_deploy[0] == 2 and after_deploy[1]["2"]["previous_champion"] == "1"

    # Rollback with an update under way: the alias stays on v2, no version is tagged as
    # rolled back, and the rerun afterwards goes back one version (to v1), not two.
    endpoints.endpoint = endpoints._detailed("2", pending="5")
    with pytest.raises(RuntimeError, match="under way"):
        rollback.run(job)
    assert registry_state(local) == after_deploy
    endpoints.endpoint = endpoints._detailed("2")
    back = rollback.run(job)
    assert (back["rolled_back_from"], back["champion_version"]) == (2, 1)
    assert back["serving_endpoint"]["served_version"] == "1"
    champion, tags = registry_state(local)
    assert champion == 1 and tags["1"]["rolled_back_from"] == "2"
    assert tags["2"]["rolled_back_to"] == "1"


def test_a_failed_restore_is_named_on_the_first_error(tmp_path, monkeypatch):
    # The endpoint refuses, then the registry is lost before the alias can be put back.
    endpoints = FakeEndpoints(served="1", pending="5")
    job, _ = staging_job(tmp_path, monkeypatch, endpoints)

    def unreachable(*args, **kwargs):
        raise ConnectionError("registry unreachable")

    real = deploy.follow_champion

    def follow_then_lose_the_registry(ctx):
        try:
            return real(ctx)
        finally:
            monkeypatch.setattr(MlflowClient, "set_registered_model_alias", unreachable)

    monkeypatch.setattr(deploy, "follow_champion", follow_then_lose_the_registry)
    with pytest.raises(RuntimeError, match="under way") as failed:
        deploy.run(job, version=2)
    assert failed.value.__notes__ == [
        "putting the champion alias back failed too: registry unreachable"
    ]


@pytest.mark.parametrize("champion", [True, False], ids=["over_v1", "first_champion"])
def test_a_grant_that_fails_after_the_endpoint_moved_puts_alias_and_endpoint_back(
    tmp_path, monkeypatch, champion
):
    # The endpoint moves to v2 (or is created with it), then the permission update is
    # refused: deploy puts the alias back, and the endpoint back on the champion (v1).
    # Without a champion there is nothing to put the endpoint back on: the one just
    # created keeps v2, which the query group cannot query yet (no grant). The rerun
    # promotes v2 and grants, though the endpoint is "unchanged" by then.
    endpoints = FakeEndpoints(served="1" if champion else None, refusals=1)
    job, local = staging_job(tmp_path, monkeypatch, endpoints, champion=champion)
    before = registry_state(local)
    with pytest.raises(PermissionDenied, match="injected"):
        deploy.run(job, version=2)
    assert registry_state(local) == before
    assert endpoints.served() == ("1" if champion else "2")
    rerun = deploy.run(job, version=2)
    assert (rerun["promoted"], endpoints.served()) == (True, "2")
    assert endpoints.calls[-1][0] == "update_permissions"
    assert registry_state(local)[0] == 2


def logged_exchange(app, cancel: bool) -> tuple[type, list[dict]]:
    """Run one ``POST /invocations`` through :class:`LoggedApp` around the ASGI ``app``,
    cancelling it (as a stopping server does) once ``app`` has read the request when
    ``cancel``; return the exception that ended it and the rows it logged."""
    rows, read = [], asyncio.Event()
    body = json.dumps({"dataframe_records": [{"distance": 500.0}]}).encode()
    scope = {
        "type": "http",
        "path": "/invocations",
        "method": "POST",
        "headers": [(b"content-type", b"application/json")],
    }

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        pass

    async def reading(scope, receive, send):
        await receive()
        read.set()
        await app(send)

    async def exchange():
        logged = LoggedApp(reading, SimpleNamespace(add=rows.append), "m", 1, ["distance"])
        task = asyncio.create_task(logged(scope, receive, send))
        await read.wait()  # set, and ``app`` has run up to its first wait
        if cancel:
            task.cancel()
        try:
            await task
        except BaseException as error:  # the test compares its type
            return type(error)
        return None

    return asyncio.run(exchange()), rows


async def hangs(send):
    await asyncio.Event().wait()


async def starts_then_hangs(send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.Event().wait()


async def fails(send):
    raise RuntimeError("the model failed")


@pytest.mark.parametrize(
    "app, cancel, error, status",
    [
        (hangs, True, asyncio.CancelledError, 499),
        (starts_then_hangs, True, asyncio.CancelledError, 200),
        (fails, False, RuntimeError, 500),
    ],
    ids=["cancelled-unanswered", "cancelled-after-its-status", "failed"],
)
def test_a_cancelled_request_is_logged_499_not_as_the_servers_500(app, cancel, error, status):
    """A request cancelled before its answer started (a shutdown that stops waiting for
    it) is logged with 499, "client closed request"; one cancelled after its status was
    sent keeps that status; one the app failed on is a 500."""
    raised, rows = logged_exchange(app, cancel)
    assert raised is error
    assert [row["status_code"] for row in rows] == [status]
    assert json.loads(rows[0]["request"]) == {"dataframe_records": [{"distance": 500.0}]}
