"""The model's and the prompt's champion aliases move together, or neither moves.

Deploy and rollback check both targets first (the model version, its
``prompt_name`` and ``prompt_version`` tags and that prompt version in the Prompt
Registry), then move the model's champion alias (the shared tabular step, which
also tags the versions and syncs a Databricks serving endpoint), then the
prompt's. When the prompt move fails, :func:`..champion_move.moved_together` puts
the model alias and the tags the model move wrote back as they were (and re-syncs the
serving endpoint, when the project has one), then re-raises: both aliases end
where they started.
"""

from __future__ import annotations

from collections.abc import Callable

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..champion_move import moved_together
from ..runtime.context import Context

PROMPT_VERSION_TAG = "prompt_version"
PROMPT_NAME_TAG = "prompt_name"


def checked_prompt_version(settings, version: ModelVersion) -> int:
    """The prompt version model ``version`` was built with (its ``prompt_version`` tag).

    Raises LookupError when the tag is missing or not a number, when the version's
    ``prompt_name`` tag names another prompt than ``settings.prompt_name`` (it was
    built before ``model.prompt`` was renamed: that number is a version of the other
    prompt), or when that version of ``settings.prompt_name`` is not in the Prompt
    Registry.
    """
    built_with = version.tags.get(PROMPT_NAME_TAG)
    if built_with is not None and built_with != settings.prompt_name:
        raise LookupError(
            f"model {settings.model_name} v{version.version} was built with prompt "
            f"{built_with}, not {settings.prompt_name} (model.prompt): its prompt version "
            "is not a version of that prompt"
        )
    tag = version.tags.get(PROMPT_VERSION_TAG, "")
    if not tag.isdigit():
        raise LookupError(
            f"model {settings.model_name} v{version.version}: tag {PROMPT_VERSION_TAG} "
            f"is {tag or 'missing'}; build registers versions with it"
        )
    try:
        mlflow.genai.load_prompt(f"prompts:/{settings.prompt_name}/{tag}")
    except MlflowException as err:
        raise LookupError(
            f"prompt {settings.prompt_name} has no version {tag} "
            f"(model {settings.model_name} v{version.version} was built with it)"
        ) from err
    return int(tag)


def set_prompt_champion(settings, version: int) -> None:
    """Point the prompt's champion alias at prompt ``version``."""
    mlflow.genai.set_prompt_alias(settings.prompt_name, settings.champion_alias, version)


def move_both(
    ctx: Context,
    champion: ModelVersion | None,
    touched: list[ModelVersion],
    move_model: Callable[[], dict],
    prompt_version: int,
) -> dict:
    """``move_model()`` (the shared step), then the prompt's champion to ``prompt_version``.

    Returns the shared step's result plus ``prompt_champion_version``. When either
    move raises, both aliases are as before (:func:`..champion_move.moved_together`).
    """
    with moved_together(ctx, champion, touched):
        result = move_model()
        set_prompt_champion(ctx.settings, prompt_version)
    return {**result, "prompt_champion_version": prompt_version}
