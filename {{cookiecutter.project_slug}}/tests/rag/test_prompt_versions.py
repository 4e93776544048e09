"""Prompt and settings edits make new model versions; an unchanged pipeline makes none."""

from __future__ import annotations

from dataclasses import replace

import mlflow
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.rag.prompts import prompt_text
from {{ cookiecutter.package_name }}.rag.steps import build, register_prompt
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tracking import tracking_uri


def test_prompt_edit_versions_and_unchanged_prompt(ctx):
    first = register_prompt.run(ctx)
    assert (first["version"], first["registered"]) == (1, True)
    model = build.run(ctx)
    assert (model["model_version"], model["registered"]) == (1, True)

    same = register_prompt.run(ctx)
    assert (same["version"], same["registered"]) == (1, False)
    assert build.run(ctx) == {**model, "registered": False, "run_id": None}

    edited = prompt_text().replace("Quote the documentation", "Quote the documentation verbatim")
    changed = register_prompt.run(ctx, text=edited)
    assert (changed["version"], changed["registered"]) == (2, True)
    rebuilt = build.run(ctx)
    assert (rebuilt["model_version"], rebuilt["prompt_version"]) == (2, 2)
    assert rebuilt["index_version"] == model["index_version"]

    client = MlflowClient(tracking_uri(ctx.settings), tracking_uri(ctx.settings))
    version = client.get_model_version(ctx.settings.model_name, "2")
    assert version.tags["prompt_version"] == "2"
    assert version.tags["index_version"] == model["index_version"]
    assert version.tags["pipeline_digest"] == model["pipeline_digest"]


def test_a_settings_only_change_registers_a_new_version_with_the_same_prompt_and_index(ctx):
    register_prompt.run(ctx)
    first = build.run(ctx)
    retrieval = ctx.settings.retrieval
    assert retrieval["min_score"] == 0.11  # conf/config.rag.yml, local
    # Only the abstention threshold changes (README.rag.md: it is stored with the model).
    stricter = Context(replace(ctx.settings, retrieval={**retrieval, "min_score": 0.2}))

    second = build.run(stricter)
    assert (second["model_version"], second["registered"]) == (2, True)
    assert (second["prompt_version"], second["index_version"]) == (1, first["index_version"])
    assert second["pipeline_digest"] != first["pipeline_digest"]
    assert build.run(stricter) == {**second, "registered": False, "run_id": None}

    # Back to the first settings: the newest version (2) differs, so a third is registered.
    third = build.run(ctx)
    assert (third["model_version"], third["pipeline_digest"]) == (3, first["pipeline_digest"])
    client = MlflowClient(tracking_uri(ctx.settings), tracking_uri(ctx.settings))
    logged = client.get_model_version(ctx.settings.model_name, "2")
    assert logged.tags["pipeline_digest"] == second["pipeline_digest"]
    config = mlflow.pyfunc.load_model(f"models:/{ctx.settings.model_name}/2").model_config
    assert config["retrieval"] == {**retrieval, "min_score": 0.2}
