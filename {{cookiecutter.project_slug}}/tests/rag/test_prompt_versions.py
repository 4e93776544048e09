"""Prompt edits and renames and settings edits make new model versions; an unchanged pipeline
makes none."""

from __future__ import annotations

from dataclasses import replace

import mlflow
import pytest
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag

from {{ cookiecutter.package_name }}.rag import prompts
from {{ cookiecutter.package_name }}.rag.champion_aliases import checked_prompt_version
from {{ cookiecutter.package_name }}.rag.prompts import (
    PROMPT_FILE,
    latest_prompt,
    prompt_by_alias,
    prompt_text,
)
from {{ cookiecutter.package_name }}.rag.steps import (
    build,
    deploy,
    evaluate,
    register_prompt,
    rollback,
)
from {{ cookiecutter.package_name }}.runtime.context import Context

from ..mlflow_stores import registry
from .conftest import slot


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

    client = registry(ctx)
    version = client.get_model_version(ctx.settings.model_name, "2")
    assert version.tags["prompt_version"] == "2"
    assert version.tags["index_version"] == model["index_version"]
    assert version.tags["pipeline_digest"] == model["pipeline_digest"]


def test_a_settings_only_change_registers_a_new_version_with_the_same_prompt_and_index(ctx):
    register_prompt.run(ctx)
    first = build.run(ctx)
    retrieval = ctx.settings.retrieval
    assert retrieval["min_score"] == 0.11  # conf/config.yml, local
    # Only the abstention threshold changes (README.md: it is stored with the model).
    stricter = Context(replace(ctx.settings, retrieval={**retrieval, "min_score": 0.2}))

    second = build.run(stricter)
    assert (second["model_version"], second["registered"]) == (2, True)
    assert (second["prompt_version"], second["index_version"]) == (1, first["index_version"])
    assert second["pipeline_digest"] != first["pipeline_digest"]
    assert build.run(stricter) == {**second, "registered": False, "run_id": None}

    # Back to the first settings: the newest version (2) differs, so a third is registered.
    third = build.run(ctx)
    assert (third["model_version"], third["pipeline_digest"]) == (3, first["pipeline_digest"])
    client = registry(ctx)
    logged = client.get_model_version(ctx.settings.model_name, "2")
    assert logged.tags["pipeline_digest"] == second["pipeline_digest"]
    config = mlflow.pyfunc.load_model(f"models:/{ctx.settings.model_name}/2").model_config
    assert config["retrieval"] == {**retrieval, "min_score": 0.2}


def test_a_renamed_prompt_registers_a_new_version_built_with_it(ctx):
    # A version number does not name a prompt: version 1 of the renamed prompt is not
    # version 1 of the old one, so build must not hand on the version built with it.
    register_prompt.run(ctx)
    first = build.run(ctx)
    renamed = Context(replace(ctx.settings, prompt_short_name="my_prompt"))
    assert register_prompt.run(renamed)["version"] == 1

    second = build.run(renamed)
    assert (second["model_version"], second["registered"], second["prompt_version"]) == (2, True, 1)
    assert (second["index_version"], second["pipeline_digest"]) == (
        first["index_version"],
        first["pipeline_digest"],
    )
    assert build.run(renamed) == {**second, "registered": False, "run_id": None}

    client = registry(ctx)
    name = ctx.settings.model_name
    tags = {v: client.get_model_version(name, v).tags["prompt_name"] for v in ("1", "2")}
    assert tags == {"1": ctx.settings.prompt_name, "2": renamed.settings.prompt_name}
    config = mlflow.pyfunc.load_model(f"models:/{name}/2").model_config
    assert config["prompt_name"] == renamed.settings.prompt_name
    # Deploy and rollback move the champion alias of the prompt a version was built with:
    # after the rename, rolling back to v1 moves the old prompt's, to its version 1.
    assert checked_prompt_version(renamed.settings, client.get_model_version(name, "1")) == 1
    disabled = {**ctx.settings.evaluation, "mode": "disabled"}
    quick = Context(replace(ctx.settings, evaluation=disabled))
    renamed_quick = Context(replace(quick.settings, prompt_short_name="my_prompt"))
    evaluate.run(quick, version=1)
    assert deploy.run(quick)["prompt_champion_version"] == 1
    evaluate.run(renamed_quick, version=2)
    assert deploy.run(renamed_quick)["champion_version"] == 2
    assert prompt_by_alias(renamed.settings.prompt_name, "champion").version == 1
    old_prompt = ctx.settings.prompt_name
    mlflow.genai.delete_prompt_alias(old_prompt, "champion")  # so the rollback must set it
    back = rollback.run(renamed_quick)
    assert (back["champion_version"], back["prompt_champion_version"]) == (1, 1)
    assert prompt_by_alias(old_prompt, "champion").version == 1


def test_a_prompt_version_tag_of_other_digits_than_ascii_is_a_lookup_error(store_ctx):
    store_ctx.mlflow()
    assert register_prompt.run(store_ctx)["version"] == 1
    settings = store_ctx.settings

    def built(tag: str) -> ModelVersion:
        return ModelVersion(
            settings.model_name, "1", 0, tags=[ModelVersionTag("prompt_version", tag)]
        )

    assert checked_prompt_version(settings, built("1")) == 1
    for tag in ("²", "١"):  # str.isdigit() says yes to both
        with pytest.raises(LookupError, match=f"v1: tag prompt_version is {tag}; build"):
            checked_prompt_version(settings, built(tag))


NO_QUESTION = "the template must contain the question placeholder"


def test_a_template_without_the_question_is_refused_before_a_version_is_registered(store_ctx):
    store_ctx.mlflow()
    without = prompt_text().replace(slot("question"), "the question")
    with pytest.raises(ValueError) as refused:
        register_prompt.run(store_ctx, text=without)
    assert str(refused.value) == f"text: {NO_QUESTION}"
    assert latest_prompt(store_ctx.settings.prompt_name) is None


def test_build_refuses_a_challenger_prompt_without_the_question_before_any_write(store_ctx):
    # Registered and put under the challenger alias by hand (the registry's UI, say), not
    # by register-prompt: build stops before it reads the index or logs a model.
    store_ctx.mlflow()
    name = store_ctx.settings.prompt_name
    without = prompt_text().replace(slot("question"), "the question")
    mlflow.genai.register_prompt(name, without)
    mlflow.genai.set_prompt_alias(name, "challenger", 1)
    with pytest.raises(ValueError) as refused:
        build.run(store_ctx)
    # The ValueError, raised before the index is read (there is none here: build would
    # otherwise stop on the missing chunk table), is the proof that nothing was written.
    assert str(refused.value) == f"prompt {name} version 1 ('challenger'): {NO_QUESTION}"


def test_build_refuses_a_chat_prompt_as_challenger_naming_the_version_and_the_rule(store_ctx):
    # A chat prompt (a list of messages) has the question placeholder, in its user message:
    # what it is not is a text template, the only kind the pipeline renders.
    store_ctx.mlflow()
    name = store_ctx.settings.prompt_name
    messages = [
        {"role": "system", "content": "Answer from these excerpts:\n" + slot("context")},
        {"role": "user", "content": slot("question")},
    ]
    mlflow.genai.register_prompt(name, messages)
    mlflow.genai.set_prompt_alias(name, "challenger", 1)
    with pytest.raises(ValueError) as refused:
        build.run(store_ctx)  # no chunk table here: the ValueError comes before any read
    assert str(refused.value) == (
        f"prompt {name} version 1 ('challenger'): the template must be text, "
        "not a chat prompt (a list of messages)"
    )


UNKNOWN = "unknown placeholder {}: the template may use only {} and {}"


def test_a_placeholder_other_than_context_and_question_is_refused_naming_it(store_ctx, monkeypatch):
    # A typo would reach the model as it is, the context never filled in. A template without
    # the context placeholder passes (the evaluation gate refuses it: tests/rag/test_gates.py).
    store_ctx.mlflow()
    name = store_ctx.settings.prompt_name
    typo = prompt_text().replace(slot("context"), slot("contxt"))
    allowed = (slot("context"), slot("question"))
    with pytest.raises(ValueError) as refused:
        register_prompt.run(store_ctx, text=typo)
    assert str(refused.value) == "text: " + UNKNOWN.format(slot("contxt"), *allowed)
    assert latest_prompt(name) is None

    two = typo + slot(" Question ")  # named as written, blanks around the name dropped
    monkeypatch.setattr(prompts, "packaged_prompt", lambda: two)
    with pytest.raises(ValueError) as refused:
        register_prompt.run(store_ctx)
    both = f"{slot('Question')}, {slot('contxt')}"
    assert str(refused.value) == f"{PROMPT_FILE}: " + UNKNOWN.format(both, *allowed)
    assert latest_prompt(name) is None

    # Set by hand in the registry: build names the version.
    mlflow.genai.register_prompt(name, typo)
    mlflow.genai.set_prompt_alias(name, "challenger", 1)
    with pytest.raises(ValueError) as refused:
        build.run(store_ctx)
    where = f"prompt {name} version 1 ('challenger')"
    assert str(refused.value) == f"{where}: " + UNKNOWN.format(slot("contxt"), *allowed)
