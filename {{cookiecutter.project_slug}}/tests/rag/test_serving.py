"""Online serving of the QA champion: locally the scoring server answers as the model's
predict does and logs every request in the inference table; on Databricks deploy and
rollback keep the serving endpoint on the champion (a fake WorkspaceClient: no
workspace is reachable from the tests)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import databricks.sdk
import mlflow
import pandas as pd
import pytest
import requests
from databricks.sdk.errors import NotFound, PermissionDenied
from mlflow.models import infer_signature

from {{ cookiecutter.package_name }}.champion_move import follow_champion
from {{ cookiecutter.package_name }}.rag.eval_set import load_eval_set
from {{ cookiecutter.package_name }}.rag.prompts import prompt_text
from {{ cookiecutter.package_name }}.rag.serve import serve
from {{ cookiecutter.package_name }}.rag.settings import load_rag_settings
from {{ cookiecutter.package_name }}.rag.steps import (
    build,
    deploy,
    evaluate,
    monitor,
    register_prompt,
    rollback,
)
from {{ cookiecutter.package_name }}.registry import champion_version as registry_champion
from {{ cookiecutter.package_name }}.registry import model_uri, version_by_alias
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tracking import client, configure_mlflow
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR, ConfigError

from ..serving_checks import (
    check_log_batches,
    check_make_clean_keeps_requests_serve_kept,
    check_unwritten_rows_are_kept_for_the_next_log,
)
from .conftest import SLICE

TIMEOUT = 60


def quick(ctx: Context) -> Context:
    """``ctx`` with the evaluation gate disabled: these tests are about serving, not the gate."""
    settings = ctx.settings
    return Context(replace(settings, evaluation={**settings.evaluation, "mode": "disabled"}))


def candidate(ctx: Context) -> None:
    """Build and evaluate a candidate from the prompt's challenger (run register-prompt first)."""
    build.run(ctx)
    evaluate.run(ctx)


def post(url: str, body) -> requests.Response:
    """POST ``body`` (a dict as JSON, or raw text) to ``url``/invocations."""
    data = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{url}/invocations", data=data, headers=headers, timeout=TIMEOUT)


def test_served_answers_equal_predict_and_every_request_is_logged(ctx):
    served = quick(ctx)
    register_prompt.run(served)
    candidate(served)
    deployed = deploy.run(served)
    assert deployed["champion_version"] == 1
    assert deployed["serving_endpoint"]["action"] == "none"  # locally nothing is deployed
    settings = served.settings
    raw = {**settings.raw, "serving": {**settings.raw["serving"], "log_flush_seconds": 600}}
    served = Context(replace(settings, raw=raw))  # only stop() writes the log
    questions = [
        item["question"]
        for item in load_eval_set()
        if all(s.split(".")[0] in SLICE for s in item["expected_sources"])
    ][:3]
    model = mlflow.pyfunc.load_model(model_uri(settings.model_name, 1))
    expected = model.predict(pd.DataFrame({"question": questions}))
    # Unity Catalog registers a model only when its signature has inputs and outputs:
    # the logged ones are the question and the columns (and types) of the answers.
    signature = model.metadata.signature
    assert signature.inputs.input_names() == ["question"]
    declared = {spec.name: spec.type for spec in signature.outputs.inputs}
    inferred = infer_signature(pd.DataFrame({"question": questions}), expected).outputs
    assert list(declared) == list(expected[0])
    typed = {spec.name: spec.type for spec in inferred.inputs if spec.name != "metadata"}
    assert typed == {name: declared[name] for name in typed}  # metadata: a map of any values

    experiment = configure_mlflow(settings)
    traced = len(mlflow.search_traces(locations=[experiment], include_spans=False))
    running = server.start(served, port=0)
    try:
        single = post(running.url, {"dataframe_records": [{"question": questions[0]}]})
        assert single.status_code == 200, single.text
        assert single.json()["predictions"] == expected[:1]
        assert single.json()["predictions"][0]["sources"]  # retrieved chunks came with it
        block = post(running.url, {"dataframe_records": [{"question": q} for q in questions]})
        assert block.status_code == 200, block.text
        assert block.json()["predictions"] == expected
        # MLflow's other request formats, which Databricks Model Serving accepts too.
        for other in (
            {"dataframe_split": {"columns": ["question"], "data": [[q] for q in questions]}},
            {"instances": [{"question": q} for q in questions]},
            {"inputs": {"question": questions}},
        ):
            answer = post(running.url, other)
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == expected, other

        for malformed in (
            {"dataframe_records": [{"query": questions[0]}]},
            {"dataframe_records": [{"question": "  "}]},
            {"dataframe_records": [{"question": 5}]},
            "{not json",
        ):
            answer = post(running.url, malformed)
            assert answer.status_code == 400, answer.text
        assert "question" in post(running.url, {"dataframe_records": [{"q": "x"}]}).text
        empty = post(running.url, {"dataframe_records": []})
        assert empty.status_code == 400, empty.text
        assert empty.json()["message"].startswith("no rows to score: dataframe_records")
        again = post(running.url, {"dataframe_records": [{"question": questions[1]}]})
        assert again.status_code == 200 and again.json()["predictions"] == expected[1:2]
    finally:
        running.stop()

    assert running.log.commits == 1
    log = served.tables.read(settings.table("inference_table"))
    logged = sorted(log.collect(), key=lambda r: r["request_time"])
    assert [r["status_code"] for r in logged] == [200] * 5 + [400] * 6 + [200]
    assert {(r["served_model_name"], r["served_model_version"]) for r in logged} == {
        (settings.model_name, "1")
    }
    first = json.loads(logged[0]["request"])["dataframe_records"][0]["question"]
    assert first == questions[0]
    assert json.loads(logged[1]["response"])["predictions"] == expected

    # Each served answer is a trace in the experiment, not tagged as those of ask are: the
    # monitor counts it once, from the inference table (the HTTP 400 answers are none).
    per_answer = [
        (prediction["best_score"], row["execution_duration_ms"])
        for row in logged
        for prediction in json.loads(row["response"]).get("predictions", [])
    ]
    traces = mlflow.search_traces(locations=[experiment], include_spans=False)
    assert len(traces) - traced == len(per_answer) == 14
    watched = monitor.run(served)
    assert watched["answers"] == 14
    assert (watched["served"], watched["alarms"]) == (14, [])
    (day,) = watched["days"]
    assert (day["answers"], day["rated"]) == (14, 0)
    threshold = settings.monitoring["out_of_domain_score"]
    assert all(score >= threshold for score, _ in per_answer)  # evaluation questions
    assert day["out_of_domain_rate"] == 0.0
    durations = [ms for _, ms in per_answer]
    assert min(durations) <= day["latency_p50_ms"] <= day["latency_p95_ms"] <= max(durations)
    assert served.tables.count(settings.table("monitoring_metrics")) == 1
    # A window that ends before the requests were made counts none of them.
    earlier = monitor.run(served, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert (earlier["answers"], earlier["served"]) == (0, 0)


def test_serve_names_a_bad_port_and_a_missing_champion_in_one_line(ctx, monkeypatch, capsys):
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(ctx.settings.local_root))
    assert serve(["--env", "local", "--port", "70000"]) == 1
    assert capsys.readouterr().err.startswith("error: serving.port: must be an integer")
    assert serve(["--env", "local", "--port", "0"]) == 1  # an empty registry
    err = capsys.readouterr().err
    assert err.startswith("error: model ") and "has no 'champion' alias" in err
    assert err.count("\n") == 1
    assert not ctx.tables.exists(ctx.settings.table("inference_table"))


REFUSED_SERVING = [
    (
        "dev",
        "serving:\n  port: -1\n",
        "serving.port: must be an integer from 0 to 65535, got -1",
    ),
    (
        "prod",
        "serving:\n  endpoint_name: qa endpoint\n",
        "serving.endpoint_name: 'qa endpoint' must be 1-63 letters, digits, '-' or '_'",
    ),
    (
        "local",
        "tables:\n  inference_table: qa_requests\n",
        "tables.inference_table: 'qa_requests' must end with _payload (Databricks names the "
        "payload table <prefix>_payload)",
    ),
    (  # a key other tables may leave out
        "local",
        "tables:\n  inference_table: null\n",
        "tables.inference_table: required setting is missing",
    ),
    ("local", "serving: null\n", "serving: required section is missing"),
]


def test_the_serve_command_refuses_bad_serving_settings_in_one_line(tmp_path, capsys):
    override = tmp_path / "serving.yml"
    override.write_text("serving:\n  log_flush_rows: 0\n")
    assert serve(["--env", "local", "--config", str(override)]) == 1
    assert capsys.readouterr().err == (
        "error: settings of environment 'local': serving.log_flush_rows: must be a positive "
        "number, got 0\n"
    )


@pytest.mark.parametrize(("env", "text", "message"), REFUSED_SERVING)
def test_the_serving_rules_are_checked_when_the_settings_load(tmp_path, env, text, message):
    # Every command refuses them, before it reads or writes: not only serve.
    override = tmp_path / "serving.yml"
    override.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_rag_settings(env, override)
    assert str(refused.value) == f"settings of environment '{env}': {message}"


class FakeServingEndpoints:
    """``serving_endpoints`` of a workspace: records calls, serves what was last configured.

    ``pending``: (model, version) of an update under way; ``refused``: the error
    ``update_permissions`` raises (None: it grants)."""

    def __init__(self):
        self.served: tuple[str, str] | None = None
        self.pending: tuple[str, str] | None = None
        self.refused: Exception | None = None
        self.calls: list[str] = []

    def _endpoint(self):
        def config(served):
            entity = SimpleNamespace(entity_name=served[0], entity_version=served[1])
            return SimpleNamespace(served_entities=[entity])

        pending = config(self.pending) if self.pending else None
        return SimpleNamespace(id="qa-endpoint", config=config(self.served), pending_config=pending)

    def get(self, name):
        if self.served is None:
            raise NotFound(name)
        return self._endpoint()

    def create(self, name, config, ai_gateway):
        self.calls.append(f"create {ai_gateway.inference_table_config.table_name_prefix}")
        entity = config.served_entities[0]
        self.served = (entity.entity_name, entity.entity_version)

    def update_config(self, name, served_entities):
        self.calls.append("update_config")
        self.served = (served_entities[0].entity_name, served_entities[0].entity_version)

    def update_permissions(self, serving_endpoint_id, access_control_list):
        if self.refused is not None:
            raise self.refused
        self.calls.append(f"permissions {access_control_list[0].group_name}")


def on_databricks(ctx: Context, monkeypatch) -> tuple[Context, Context, FakeServingEndpoints]:
    """:func:`quick` ``ctx``, the same settings as a Databricks job would have (MLflow stays on
    the local store), and the fake endpoints its WorkspaceClient has."""
    local = quick(ctx)
    remote = Context(replace(local.settings, runtime="databricks"))
    monkeypatch.setattr(remote, "mlflow", local.mlflow)
    endpoints = FakeServingEndpoints()
    monkeypatch.setattr(
        databricks.sdk, "WorkspaceClient", lambda: SimpleNamespace(serving_endpoints=endpoints)
    )
    return local, remote, endpoints


def test_deploy_and_rollback_keep_the_databricks_endpoint_on_the_champion(ctx, monkeypatch):
    local, remote, endpoints = on_databricks(ctx, monkeypatch)
    settings = local.settings
    name = settings.raw["serving"]["endpoint_name"]
    prefix = settings.tables["inference_table"].removesuffix("_payload")
    group = settings.raw["serving"]["query_group"]
    none = {"endpoint": name, "served_version": None, "action": "none"}
    assert follow_champion(remote) == {"serving_endpoint": none}  # no champion: nothing made
    assert endpoints.calls == []

    register_prompt.run(local)
    candidate(local)
    first = deploy.run(remote)
    created = {"endpoint": name, "served_version": "1", "action": "created"}
    assert first["serving_endpoint"] == created
    assert endpoints.served == (settings.model_name, "1")
    assert endpoints.calls == [f"create {prefix}", f"permissions {group}"]
    assert deploy.run(remote)["serving_endpoint"]["action"] == "unchanged"
    assert endpoints.calls[2:] == [f"permissions {group}"]  # granted again, unchanged or not

    register_prompt.run(local, text=prompt_text().replace("Quote", "Please quote"))
    candidate(local)
    second = deploy.run(remote)
    assert (second["champion_version"], second["serving_endpoint"]["action"]) == (2, "updated")
    assert endpoints.served == (settings.model_name, "2")

    def tags() -> list[dict]:
        return [client().get_model_version(settings.model_name, v).tags for v in ("1", "2")]

    before, calls = tags(), len(endpoints.calls)
    # The update to v2 still under way: rollback fails, with the alias and tags as before.
    endpoints.served, endpoints.pending = (settings.model_name, "1"), endpoints.served
    with pytest.raises(RuntimeError, match=f"{name}: an update to another version is under way"):
        rollback.run(remote)
    assert (registry_champion(local), tags()) == (2, before)
    assert "update_config" not in endpoints.calls[calls:]
    endpoints.served, endpoints.pending = endpoints.pending, None  # the update has finished

    # The grant refused: put back too, and a note says the endpoint could not follow.
    endpoints.refused = PermissionDenied("injected: no MANAGE on the endpoint")
    with pytest.raises(PermissionDenied) as refused:
        rollback.run(remote)
    endpoints.refused = None
    assert (registry_champion(local), tags()) == (2, before)
    assert refused.value.__notes__ == [
        "the champion alias is back on v2, but what follows it (e.g. the serving endpoint) "
        "could not be brought back: injected: no MANAGE on the endpoint"
    ]
    assert endpoints.served == (settings.model_name, "2")

    # the prompt alias cannot move: the model alias goes back to v2, and so does the endpoint
    def refuse(*args, **kwargs):
        raise RuntimeError("injected: prompt registry unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(mlflow.genai, "set_prompt_alias", refuse)
        with pytest.raises(RuntimeError, match="injected"):
            rollback.run(remote)
    assert endpoints.served == (settings.model_name, "2")
    assert endpoints.calls[-2:] == ["update_config", f"permissions {group}"]
    assert registry_champion(local) == 2

    back = rollback.run(remote)
    assert (back["champion_version"], back["prompt_champion_version"]) == (1, 1)
    assert back["serving_endpoint"] == {**created, "action": "updated"}
    assert endpoints.served == (settings.model_name, "1")


def test_a_first_deploy_whose_grant_fails_leaves_no_champion_and_the_rerun_grants(ctx, monkeypatch):
    local, remote, endpoints = on_databricks(ctx, monkeypatch)
    settings = local.settings
    prefix = settings.tables["inference_table"].removesuffix("_payload")
    group = settings.raw["serving"]["query_group"]
    register_prompt.run(local)
    candidate(local)

    endpoints.refused = PermissionDenied("injected: no MANAGE on the endpoint")
    with pytest.raises(PermissionDenied, match="injected") as refused:
        deploy.run(remote)
    assert not getattr(refused.value, "__notes__", [])  # nothing to bring back: no champion
    assert version_by_alias(client(), settings.model_name, settings.champion_alias) is None
    # The endpoint it created keeps the new version, not granted, until the rerun.
    assert (endpoints.served, endpoints.calls) == ((settings.model_name, "1"), [f"create {prefix}"])

    endpoints.refused = None
    rerun = deploy.run(remote)
    assert (rerun["champion_version"], rerun["serving_endpoint"]["action"]) == (1, "unchanged")
    assert endpoints.calls == [f"create {prefix}", f"permissions {group}"]


def test_the_log_commits_a_batch_at_log_flush_rows_and_keeps_the_rows_of_a_failed_write(
    ctx, monkeypatch
):
    check_log_batches(ctx, monkeypatch)


def test_rows_the_closing_write_cannot_append_are_kept_and_appended_by_the_next_log(
    ctx, monkeypatch
):
    check_unwritten_rows_are_kept_for_the_next_log(ctx, monkeypatch)


def test_make_clean_refuses_while_serve_has_requests_kept(tmp_path):
    check_make_clean_keeps_requests_serve_kept(tmp_path)
