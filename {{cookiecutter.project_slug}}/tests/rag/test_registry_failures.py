"""Registry failures: only not-found means "no prompt", and a model version is never left
untagged by a build that failed after registering it."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED

from {{ cookiecutter.package_name }}.rag.prompts import (
    latest_prompt,
    prompt_by_alias,
    prompt_text,
)
from {{ cookiecutter.package_name }}.rag.steps import build, evaluate, register_prompt, rollback
from {{ cookiecutter.package_name }}.runtime.context import Context

from ..mlflow_stores import registry, seeded
from .conftest import slice_settings


def deny(*args, **kwargs):
    raise MlflowException("User does not have READ on the prompt", PERMISSION_DENIED)


def test_a_missing_prompt_or_alias_is_none(ctx):
    ctx.mlflow()
    name = ctx.settings.prompt_name
    assert latest_prompt(name) is None  # no prompt: RESOURCE_DOES_NOT_EXIST
    assert prompt_by_alias(name, "challenger") is None
    mlflow.genai.register_prompt(name, prompt_text())
    assert latest_prompt(name).version == 1
    # The local store answers INVALID_PARAMETER_VALUE "Prompt alias challenger not found."
    assert prompt_by_alias(name, "challenger") is None
    with pytest.raises(LookupError, match="run register-prompt first"):
        build.run(ctx)


def test_a_denied_prompt_read_propagates_and_registers_nothing(ctx, monkeypatch):
    assert register_prompt.run(ctx)["version"] == 1
    monkeypatch.setattr(mlflow.genai, "load_prompt", deny)
    with pytest.raises(MlflowException, match="READ on the prompt"):
        register_prompt.run(ctx)
    with pytest.raises(MlflowException, match="READ on the prompt"):
        build.run(ctx)
    monkeypatch.undo()
    assert latest_prompt(ctx.settings.prompt_name).version == 1  # no duplicate prompt version
    assert registry(ctx).search_model_versions(f"name = '{ctx.settings.model_name}'") == []


def test_a_build_that_fails_after_registering_leaves_a_tagged_version(ctx, monkeypatch):
    register_prompt.run(ctx)
    create = MlflowClient._create_model_version

    def create_then_fail(self, *args, **kwargs):
        create(self, *args, **kwargs)
        raise RuntimeError("the build stopped right after registering")

    monkeypatch.setattr(MlflowClient, "_create_model_version", create_then_fail)
    with pytest.raises(RuntimeError, match="right after registering"):
        build.run(ctx)
    monkeypatch.undo()
    name = ctx.settings.model_name
    versions = registry(ctx).search_model_versions(f"name = '{name}'")
    assert [str(v.version) for v in versions] == ["1"]
    assert set(build.VERSION_TAGS) <= set(versions[0].tags)

    rerun = build.run(ctx)
    assert (rerun["model_version"], rerun["registered"]) == (1, False)
    assert len(registry(ctx).search_model_versions(f"name = '{name}'")) == 1


def test_a_version_that_never_became_ready_is_not_handed_on(ctx, monkeypatch):
    """On Unity Catalog a version whose files failed to upload keeps its tags but stays
    PENDING_REGISTRATION (or FAILED_REGISTRATION): build registers a new one."""
    register_prompt.run(ctx)
    first = build.run(ctx)
    assert build.run(ctx)["registered"] is False  # READY, same tags: handed on
    newest = registry(ctx).get_model_version(ctx.settings.model_name, "1")
    pending = ModelVersion(
        newest.name,
        newest.version,
        newest.creation_timestamp,
        tags=[ModelVersionTag(k, v) for k, v in newest.tags.items()],
        status="PENDING_REGISTRATION",
    )
    monkeypatch.setattr(build, "latest_version", lambda registry, name, registered_by: pending)
    second = build.run(ctx)
    assert (first["model_version"], second["model_version"], second["registered"]) == (1, 2, True)


def test_rollback_refuses_a_previous_champion_that_is_not_a_version_number(tmp_path):
    """Checked before the restored version is looked up: no raw registry error, no move."""
    ctx = Context(slice_settings(seeded(tmp_path)))
    ctx.mlflow()
    store, name = registry(ctx), ctx.settings.model_name
    store.create_registered_model(name)
    for _ in range(2):
        store.create_model_version(name, source="file:///nowhere", run_id=None)
    store.set_registered_model_alias(name, "champion", "2")
    store.set_model_version_tag(name, "2", "previous_champion", "v1")

    with pytest.raises(ValueError, match="v2: tag previous_champion is 'v1', must be a version"):
        rollback.run(ctx)  # the shared step's rule, tested in full by the tabular use case
    assert int(store.get_model_version_by_alias(name, "champion").version) == 2
    tags = [store.get_model_version(name, number).tags for number in ("1", "2")]
    assert tags == [{}, {"previous_champion": "v1"}]


def test_evaluating_a_version_that_does_not_exist_is_one_line_and_tags_nothing(
    tmp_path,
):
    """``evaluate.run(ctx, version=N)`` (version 0 included, which once meant "the newest")
    names the model and the version; the versions that exist keep their tags."""
    ctx = Context(slice_settings(seeded(tmp_path)))
    ctx.mlflow()
    store, name = registry(ctx), ctx.settings.model_name
    store.create_registered_model(name)
    store.create_model_version(name, source="file:///nowhere", run_id=None)
    for missing in (7, 0):
        with pytest.raises(LookupError) as error:
            evaluate.run(ctx, version=missing)
        assert str(error.value) == f"model {name} has no version {missing}"
    assert store.get_model_version(name, "1").tags == {}
