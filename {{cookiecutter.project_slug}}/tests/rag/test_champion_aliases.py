"""Deploy and rollback move the model's and the prompt's champion aliases together, or neither."""

from __future__ import annotations

from dataclasses import replace

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED

from {{ cookiecutter.package_name }}.rag.champion_aliases import checked_prompt_version
from {{ cookiecutter.package_name }}.rag.prompts import prompt_by_alias, prompt_text
from {{ cookiecutter.package_name }}.rag.steps import (
    build,
    deploy,
    evaluate,
    register_prompt,
    rollback,
)
from {{ cookiecutter.package_name }}.registry import version_by_alias
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tracking import client
from {{ cookiecutter.package_name }}.steps import rollback as model_rollback

from ..mlflow_stores import registry

EDITED = prompt_text().replace("Quote the documentation", "Quote the documentation verbatim")

# The tags deploy and rollback write on the versions they move between.
MOVE_TAGS = (
    "previous_champion",
    "promoted_at",
    "rolled_back_from",
    "rolled_back_to",
    "rolled_back_at",
)


@pytest.fixture
def quick(ctx) -> Context:
    """The fresh context with evaluation disabled (these tests are about the aliases)."""
    disabled = {**ctx.settings.evaluation, "mode": "disabled"}
    return Context(replace(ctx.settings, evaluation=disabled))


def _candidate(ctx, prompt: str | None = None) -> int:
    register_prompt.run(ctx, **({"text": prompt} if prompt else {}))
    build.run(ctx)
    return evaluate.run(ctx)["model_version"]


def _state(ctx) -> dict:
    """Model champion, prompt champion, and the move tags on every model version."""
    settings = ctx.settings
    registry = client()
    champion = version_by_alias(registry, settings.model_name, "champion")
    prompt = prompt_by_alias(settings.prompt_name, "champion")
    versions = registry.search_model_versions(f"name = '{settings.model_name}'")
    return {
        "model": int(champion.version) if champion else None,
        "prompt": int(prompt.version) if prompt else None,
        "tags": {
            int(v.version): {k: v.tags[k] for k in MOVE_TAGS if k in v.tags} for v in versions
        },
    }


def _fails_with_a_broken_prompt_move(ctx, monkeypatch, step) -> dict:
    """Run ``step`` while setting a prompt alias raises; assert it raised and moved nothing.

    Returns the state before (and after) the failed run.
    """

    def refuse(*args, **kwargs):
        raise RuntimeError("injected: prompt registry unavailable")

    before = _state(ctx)
    with monkeypatch.context() as patch:
        patch.setattr(mlflow.genai, "set_prompt_alias", refuse)
        with pytest.raises(RuntimeError, match="injected"):
            step.run(ctx)
    assert _state(ctx) == before
    return before


def test_a_failed_prompt_move_leaves_both_champions_as_they_were(quick, monkeypatch):

    # no champion yet
    assert _candidate(quick) == 1
    before = _fails_with_a_broken_prompt_move(quick, monkeypatch, deploy)
    assert before["model"] is None and before["prompt"] is None
    first = deploy.run(quick)
    assert (first["champion_version"], first["prompt_champion_version"]) == (1, 1)

    # with a champion: v2 built with prompt version 2
    assert _candidate(quick, EDITED) == 2
    before = _fails_with_a_broken_prompt_move(quick, monkeypatch, deploy)
    assert (before["model"], before["prompt"]) == (1, 1)
    second = deploy.run(quick)
    assert (second["champion_version"], second["prompt_champion_version"]) == (2, 2)
    assert _state(quick)["tags"][2]["previous_champion"] == "1"


def test_a_failed_prompt_move_undoes_the_rollback(quick, monkeypatch):
    _candidate(quick)
    deploy.run(quick)
    _candidate(quick, EDITED)
    deploy.run(quick)
    before = _fails_with_a_broken_prompt_move(quick, monkeypatch, rollback)
    assert (before["model"], before["prompt"]) == (2, 2)
    back = rollback.run(quick)
    assert (back["champion_version"], back["prompt_champion_version"]) == (1, 1)
    assert _state(quick)["tags"][2]["rolled_back_to"] == "1"
    done = _state(quick)

    # killed between the two moves: the prompt alias still on v2's prompt; a rerun finishes
    registry(quick).set_prompt_alias(quick.settings.prompt_name, "champion", 2)
    assert _state(quick) == {**done, "prompt": 2}
    again = rollback.run(quick)
    assert again == {**back, "prompt_champion_version": 1}
    assert _state(quick) == done
    with pytest.raises(LookupError, match="nothing to roll back to"):  # v1 was the first
        rollback.run(quick)

    # v1 promoted again by deploy since (a later promoted_at) and the prompt alias
    # elsewhere: not taken for a half-done rollback, so rollback acts as on any champion
    # (v1 has no previous_champion: nothing to roll back to) and moves no alias
    later = back["rolled_back_at"].replace(back["rolled_back_at"][:4], "2999", 1)
    client().set_model_version_tag(quick.settings.model_name, "1", "promoted_at", later)
    registry(quick).set_prompt_alias(quick.settings.prompt_name, "champion", 2)
    with pytest.raises(LookupError, match="nothing to roll back to"):
        rollback.run(quick)
    assert _state(quick)["prompt"] == 2


def test_a_missing_prompt_version_stops_deploy_before_any_alias_moves(quick):
    _candidate(quick)
    registry = client()
    name = quick.settings.model_name
    registry.set_model_version_tag(name, "1", "prompt_version", "7")
    with pytest.raises(LookupError, match="has no version 7"):
        deploy.run(quick)
    registry.delete_model_version_tag(name, "1", "prompt_version")
    with pytest.raises(LookupError, match="tag prompt_version is missing"):
        deploy.run(quick)
    with pytest.raises(LookupError, match="has no version 5"):
        deploy.run(quick, version=5)
    assert _state(quick) == {"model": None, "prompt": None, "tags": {1: {}}}


def _hand_built(ctx, prompt_version: int, **tags) -> None:
    """A model version made by hand (no Spark), with the prompt tags build writes and ``tags``
    (evaluate's verdict, say); the registered model is created with the first."""
    settings, store = ctx.settings, registry(ctx)
    if not store.search_registered_models(f"name = '{settings.model_name}'"):
        store.create_registered_model(settings.model_name)
    built = {"prompt_name": settings.prompt_name, "prompt_version": str(prompt_version)}
    store.create_model_version(
        settings.model_name, source="file:///nowhere", run_id=None, tags={**built, **tags}
    )


def _refused_over_champion(ctx):
    """Prompt versions 1 and 2; model v1 (built with prompt 1) the champion, v2 (also built
    with it) a challenger the gate refused; the prompt's champion alias on version 2.
    Returns the store's client."""
    ctx.mlflow()
    settings, store = ctx.settings, registry(ctx)
    register_prompt.run(ctx)
    register_prompt.run(ctx, text=EDITED)
    for status in ("PASSED", "FAILED"):
        _hand_built(ctx, 1, validation_status=status)
    store.set_registered_model_alias(settings.model_name, "champion", "1")
    store.set_registered_model_alias(settings.model_name, "challenger", "2")
    store.set_prompt_alias(settings.prompt_name, "champion", 2)
    return store


def test_a_refused_candidate_needs_no_prompt_version_of_the_champion(store_ctx):
    store = _refused_over_champion(store_ctx)
    name, prompt = store_ctx.settings.model_name, store_ctx.settings.prompt_name

    # The champion's prompt version is there: the prompt's champion alias follows it.
    kept = deploy.run(store_ctx)
    assert (kept["promoted"], kept["champion_version"]) == (False, 1)
    assert kept["reason"] == "v2 has validation_status FAILED"
    assert kept["prompt_champion_version"] == 1 == prompt_by_alias(prompt, "champion").version

    # Deleted since (a registry clean-up): nothing would move, so nothing is missing.
    store.delete_prompt_version(prompt, "1")
    for version in (None, 1):  # the refused challenger; the champion itself
        again = deploy.run(store_ctx, version=version)
        assert (again["promoted"], again["champion_version"]) == (False, 1)
        assert again["prompt_champion_version"] is None  # the alias went with the version
    assert again["reason"] == "v1 is already the champion"
    assert int(store.get_model_version_by_alias(name, "champion").version) == 1


def test_a_registry_error_reading_a_prompt_version_stops_deploy_not_read_as_missing(
    store_ctx, monkeypatch
):
    # Taken for "no such version", a denied read made deploy leave the prompt's champion
    # alias on version 2, beside a model champion built with version 1, and say nothing.
    store = _refused_over_champion(store_ctx)
    name, prompt = store_ctx.settings.model_name, store_ctx.settings.prompt_name
    load = mlflow.genai.load_prompt

    def denied(uri, *args, **kwargs):
        if "@" not in uri:  # a version read (prompts:/<name>/<version>), not an alias read
            raise MlflowException("injected: permission denied", error_code=PERMISSION_DENIED)
        return load(uri, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(mlflow.genai, "load_prompt", denied)
        for version in (None, 1):  # the refused challenger; the champion again
            with pytest.raises(MlflowException, match="injected: permission denied"):
                deploy.run(store_ctx, version=version)
        store.set_model_version_tag(name, "2", "validation_status", "PASSED")
        store.set_model_version_tag(name, "2", "validation_champion_version", "1")
        with pytest.raises(MlflowException, match="injected"):  # a candidate the gate passed
            deploy.run(store_ctx)
    assert int(store.get_model_version_by_alias(name, "champion").version) == 1
    assert prompt_by_alias(prompt, "champion").version == 2  # nothing moved


def test_a_store_answering_none_for_a_prompt_version_reads_as_missing(store_ctx, monkeypatch):
    # Unity Catalog's store answers a missing prompt version with None, not an error; read
    # as present, deploy went on to move the prompt's champion alias onto that version.
    store = _refused_over_champion(store_ctx)
    champion = store.get_model_version(store_ctx.settings.model_name, "1")
    assert checked_prompt_version(store_ctx.settings, champion) == 1
    load = mlflow.genai.load_prompt

    def none_for_versions(uri, *args, **kwargs):
        return None if "@" not in uri else load(uri, *args, **kwargs)

    monkeypatch.setattr(mlflow.genai, "load_prompt", none_for_versions)
    prompt = store_ctx.settings.prompt_name
    with pytest.raises(LookupError, match=f"^prompt {prompt} has no version 1 "):
        checked_prompt_version(store_ctx.settings, champion)


def _killed_rollback(ctx, champions: int) -> dict:
    """Versions 1 to ``champions`` made by hand (:func:`_hand_built`), each with its own prompt
    version, deployed in turn; then a rollback killed between its two moves: the model's
    champion alias moved back one version (the shared step's result is returned), the
    prompt's did not."""
    texts = [prompt_text() + "\n" * number for number in range(champions)]
    for number, text in enumerate(texts, start=1):
        assert register_prompt.run(ctx, text=text)["version"] == number
        previous = str(number - 1) if number > 1 else "none"
        _hand_built(ctx, number, validation_status="PASSED", validation_champion_version=previous)
        assert deploy.run(ctx, version=number)["champion_version"] == number
    return model_rollback.run(ctx)


def test_a_half_done_rollback_whose_prompt_has_no_champion_alias_is_finished(store_ctx):
    # Not one version further back: that would be a second move, asked for once.
    store_ctx.mlflow()
    killed = _killed_rollback(store_ctx, 3)
    assert (killed["rolled_back_from"], killed["champion_version"]) == (3, 2)
    registry(store_ctx).delete_prompt_alias(store_ctx.settings.prompt_name, "champion")
    done = {"model": 2, "prompt": 2, "tags": _state(store_ctx)["tags"]}

    assert rollback.run(store_ctx) == {**killed, "prompt_champion_version": 2}
    assert _state(store_ctx) == done


def test_a_rolled_back_from_edited_by_hand_stops_the_rerun_in_one_line(store_ctx):
    store_ctx.mlflow()
    _killed_rollback(store_ctx, 2)
    name = store_ctx.settings.model_name
    registry(store_ctx).set_model_version_tag(name, "1", "rolled_back_from", "v2")
    before = _state(store_ctx)
    assert (before["model"], before["prompt"]) == (1, 2)  # half done
    with pytest.raises(ValueError) as refused:
        rollback.run(store_ctx)
    assert str(refused.value) == (
        f"model {name} v1: tag rolled_back_from is 'v2', must be a version number "
        "(a positive integer); nothing was rolled back"
    )
    assert _state(store_ctx) == before
