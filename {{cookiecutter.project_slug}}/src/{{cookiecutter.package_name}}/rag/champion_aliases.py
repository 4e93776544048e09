"""The model's and the prompt's champion aliases move together, or neither moves.

Deploy and rollback check both targets first (the model version, its
``prompt_name`` and ``prompt_version`` tags and that prompt version in the Prompt
Registry), then move the model's champion alias (the shared tabular step, which
also tags the versions and syncs a Databricks serving endpoint), then the champion
alias of the prompt that version was built with (after a ``model.prompt`` rename, a
rollback to a version built before it moves the old prompt's alias). When the
prompt move fails, :func:`..champion_move.moved_together` puts the model alias and
the tags the model move wrote back as they were (and re-syncs the serving endpoint,
when the project has one), then re-raises: both aliases end where they started.
"""

from __future__ import annotations

from collections.abc import Callable

import mlflow
from mlflow.entities.model_registry import ModelVersion

from ..champion_move import moved_together
from ..registry import is_version_number
from ..runtime.context import Context

PROMPT_VERSION_TAG = "prompt_version"
PROMPT_NAME_TAG = "prompt_name"


def built_with(settings, version: ModelVersion) -> str:
    """The prompt model ``version`` was built with: its ``prompt_name`` tag (``model.prompt``
    at build time, so the old name after a rename), else ``settings.prompt_name``."""
    return version.tags.get(PROMPT_NAME_TAG) or settings.prompt_name


def checked_prompt_version(settings, version: ModelVersion) -> int:
    """The prompt version model ``version`` was built with (its ``prompt_version`` tag), a
    version of the prompt :func:`built_with` names.

    Raises LookupError when the tag is missing or not a number (ASCII digits only: ``²``
    is refused too), or when that version of that prompt is not in the Prompt Registry:
    ``load_prompt(..., allow_missing=True)`` answers None, as MLflow does for the codes
    its stores give a missing version (RESOURCE_DOES_NOT_EXIST locally, NOT_FOUND) and as
    Unity Catalog's store answers. Any other registry error (permissions, network)
    propagates as it came: taken for "no version", it would make deploy leave the
    prompt's champion alias where it is, silently.
    """
    prompt = built_with(settings, version)
    tag = version.tags.get(PROMPT_VERSION_TAG, "")
    if not is_version_number(tag):
        raise LookupError(
            f"model {settings.model_name} v{version.version}: tag {PROMPT_VERSION_TAG} "
            f"is {tag or 'missing'}; build registers versions with it"
        )
    if mlflow.genai.load_prompt(f"prompts:/{prompt}/{tag}", allow_missing=True) is None:
        raise LookupError(
            f"prompt {prompt} has no version {tag} "
            f"(model {settings.model_name} v{version.version} was built with it)"
        )
    return int(tag)


def set_prompt_champion(settings, prompt: str, version: int) -> None:
    """Point the champion alias of prompt ``prompt`` at its version ``version``."""
    mlflow.genai.set_prompt_alias(prompt, settings.champion_alias, version)


def move_both(
    ctx: Context,
    champion: ModelVersion | None,
    touched: list[ModelVersion],
    move_model: Callable[[], dict],
    target: ModelVersion,
) -> dict:
    """``move_model()`` (the shared step), then the champion alias of the prompt ``target``
    (the model version that is champion afterwards) was built with, to its version.

    Returns the shared step's result plus ``prompt_champion_version``. When either
    move raises, both aliases are as before (:func:`..champion_move.moved_together`).
    Raises LookupError, before anything moves, when ``target``'s prompt version is not
    in the Prompt Registry (:func:`checked_prompt_version`).
    """
    prompt = built_with(ctx.settings, target)
    prompt_version = checked_prompt_version(ctx.settings, target)
    with moved_together(ctx, champion, touched):
        result = move_model()
        set_prompt_champion(ctx.settings, prompt, prompt_version)
    return {**result, "prompt_champion_version": prompt_version}
