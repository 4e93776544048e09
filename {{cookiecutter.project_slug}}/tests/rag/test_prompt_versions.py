"""Prompt edits make new prompt and model versions; an unchanged prompt makes neither."""

from __future__ import annotations

from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.rag.prompts import prompt_text
from {{ cookiecutter.package_name }}.rag.steps import build, register_prompt
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
