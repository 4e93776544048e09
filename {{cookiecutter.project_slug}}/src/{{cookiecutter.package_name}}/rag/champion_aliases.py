"""The model's and the prompt's champion aliases move together, or neither moves.

Deploy and rollback check both targets first (the model version, its
``prompt_version`` tag and that prompt version in the Prompt Registry), then move
the model's champion alias (the shared tabular step, which also tags the versions
and syncs a Databricks serving endpoint), then the prompt's. When the prompt move
fails, :func:`moved_together` puts the model alias and the tags the model move
wrote back as they were (and re-syncs the serving endpoint, when the project has
one), then re-raises: both aliases end where they started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..registry import (
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_AT_TAG,
    ROLLED_BACK_FROM_TAG,
    ROLLED_BACK_TO_TAG,
    version_by_alias,
)
from ..runtime.context import Context
from ..runtime.tracking import client
from ..steps.deploy import follow_champion

PROMPT_VERSION_TAG = "prompt_version"
# Tags the shared deploy and rollback steps write on the versions they move between.
MOVE_TAGS = (
    PREVIOUS_CHAMPION_TAG,
    "promoted_at",
    ROLLED_BACK_FROM_TAG,
    ROLLED_BACK_TO_TAG,
    ROLLED_BACK_AT_TAG,
)


def checked_prompt_version(settings, version: ModelVersion) -> int:
    """The prompt version model ``version`` was built with (its ``prompt_version`` tag).

    Raises LookupError when the tag is missing or not a number, or when that version
    of ``settings.prompt_name`` is not in the Prompt Registry.
    """
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


def _restore(ctx: Context, champion: ModelVersion | None, before: dict[str, dict]) -> None:
    settings = ctx.settings
    registry = client()
    name, alias = settings.model_name, settings.champion_alias
    now = version_by_alias(registry, name, alias)
    if champion is None and now is not None:
        registry.delete_registered_model_alias(name, alias)
    elif champion is not None and (now is None or str(now.version) != str(champion.version)):
        registry.set_registered_model_alias(name, alias, champion.version)
    for version, tags in before.items():
        now = registry.get_model_version(name, version).tags
        for key in MOVE_TAGS:
            if key in tags and now.get(key) != tags[key]:
                registry.set_model_version_tag(name, version, key, tags[key])
            elif key not in tags and key in now:
                registry.delete_model_version_tag(name, version, key)


@contextmanager
def moved_together(
    ctx: Context, champion: ModelVersion | None, touched: list[ModelVersion]
) -> Iterator[None]:
    """Undo the model alias move of the block when the block raises.

    ``champion``: the version the champion alias points at before the block (None:
    no champion); ``touched``: the versions whose move tags (``MOVE_TAGS``) the block
    may write. On an exception the alias and those tags are restored, the serving
    endpoint re-synced, and the exception re-raised (a failure of the restore is
    added to it as a note).
    """
    before = {str(v.version): {k: v.tags[k] for k in MOVE_TAGS if k in v.tags} for v in touched}
    try:
        yield
    except Exception as err:
        try:
            _restore(ctx, champion, before)
            follow_champion(ctx)  # e.g. the serving endpoint back on the champion
        except Exception as restore_err:  # keep the first failure; say what is left
            err.add_note(f"restoring the model's champion alias failed too: {restore_err}")
        raise


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
    move raises, both aliases are as before (:func:`moved_together`).
    """
    with moved_together(ctx, champion, touched):
        result = move_model()
        set_prompt_champion(ctx.settings, prompt_version)
    return {**result, "prompt_champion_version": prompt_version}
