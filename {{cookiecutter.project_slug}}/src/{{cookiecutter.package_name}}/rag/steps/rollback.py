"""Rollback (by hand): the champion alias goes back as in the tabular use case; the prompt's too.

The version to return to (the champion's ``previous_champion``) and its prompt
version are checked before either alias moves; if the prompt move fails, the
model's champion alias is put back (:mod:`..champion_aliases`).

A rollback killed between its two moves (SIGKILL, power loss: no exception handler
runs) leaves the model's champion alias on the restored version and the prompt's on
the prompt of the version rolled back from. Rerunning rollback finishes that rollback
(the prompt's champion alias follows the restored version) instead of going one
version further back: see :func:`half_done`. When the prompt's champion alias is
already on the restored version's prompt version (both versions built with the same
one, or the prompt renamed since), the half-done rollback is the finished one, and a
rerun goes further back. When the prompt has no champion alias at all (deleted by hand),
the rollback is taken for a half-done one too: the rerun sets the alias and moves no
model alias (run rollback again to go further back).
"""

from __future__ import annotations

from mlflow.entities.model_registry import ModelVersion

from ...champion_move import follow_champion
from ...registry import (
    ROLLED_BACK_AT_TAG,
    ROLLED_BACK_FROM_TAG,
    get_version,
    is_version_number,
    version_by_alias,
)
from ...runtime.context import Context
from ...runtime.tracking import client
from ...steps import rollback as model_rollback
from ..champion_aliases import PROMPT_VERSION_TAG, built_with, move_both
from ..prompts import prompt_by_alias


def half_done(settings, champion: ModelVersion) -> bool:
    """True when a rollback made ``champion`` (the model's champion version) champion and
    stopped before the prompt's champion alias followed.

    That is: its last move was a rollback (tags ``rolled_back_from`` and
    ``rolled_back_at``, the latter not older than its ``promoted_at``, if any: ISO UTC
    timestamps as deploy and rollback write them) and the champion alias of the prompt
    it was built with is on another version than its ``prompt_version``. A champion
    promoted by deploy is never taken for one (a rollback then undoes that deploy, as it
    would anyway), nor one without a ``prompt_version`` of ASCII digits (the rollback then
    goes on, and says what is missing). A prompt without a champion alias counts as
    "another version": a finished rollback always leaves one.
    """
    tags = champion.tags
    restored_at = tags.get(ROLLED_BACK_AT_TAG)
    if ROLLED_BACK_FROM_TAG not in tags or restored_at is None:
        return False
    if restored_at < tags.get("promoted_at", ""):  # promoted again by deploy since
        return False
    tag = tags.get(PROMPT_VERSION_TAG, "")
    if not is_version_number(tag):
        return False
    prompt = prompt_by_alias(built_with(settings, champion), settings.champion_alias)
    return prompt is None or str(prompt.version) != tag


def rolled_back_from(name: str, restored: ModelVersion) -> int:
    """The version number in the ``rolled_back_from`` tag of ``restored`` (model ``name``).

    Raises ValueError naming the tag, the version and the rule when it is not a positive
    integer (edited by hand, e.g. ``v3``).
    """
    tag = restored.tags[ROLLED_BACK_FROM_TAG]
    if not is_version_number(tag):
        raise ValueError(
            f"model {name} v{restored.version}: tag {ROLLED_BACK_FROM_TAG} is {tag!r}, must be "
            "a version number (a positive integer); nothing was rolled back"
        )
    return int(tag)


def _finished(ctx: Context, restored: ModelVersion, source: int) -> dict:
    """The result of the rollback that restored ``restored`` from version ``source`` (the
    other values from its tags), after calling the champion followers again (the killed
    run may not have reached them)."""
    return {
        "rolled_back_from": source,
        "champion_version": int(restored.version),
        "rolled_back_at": restored.tags[ROLLED_BACK_AT_TAG],
        **follow_champion(ctx),
    }


def run(ctx: Context) -> dict:
    """The shared rollback result plus prompt_champion_version (the restored model's prompt).

    After a half-done rollback (:func:`half_done`) it moves no model alias: it points
    the prompt's champion alias at the champion's prompt version and returns that
    rollback's result (rolled_back_from and rolled_back_at from the champion's tags).
    Raises LookupError, before any alias moves, when there is nothing to roll back to
    (the shared step's messages) or the restored version's prompt version is missing
    (:func:`..champion_aliases.checked_prompt_version`); ValueError when the champion's
    ``previous_champion`` is not a version number
    (:func:`...steps.rollback.previous_champion`), nor, after a half-done rollback, its
    ``rolled_back_from`` (:func:`rolled_back_from`). When the prompt alias cannot be set,
    the model's champion alias is restored and the error re-raised.
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    alias = settings.champion_alias
    current = version_by_alias(registry, name, alias)
    if current is not None and half_done(settings, current):
        source = rolled_back_from(name, current)  # checked before anything moves
        return move_both(ctx, current, [current], lambda: _finished(ctx, current, source), current)
    try:  # a tag that is not a version number raises its ValueError here, moving nothing
        number = model_rollback.previous_champion(name, alias, current) if current else None
        previous = get_version(registry, name, number) if number else None
    except LookupError:
        previous = None
    if previous is None:  # the shared step raises its LookupError, moving nothing
        return model_rollback.run(ctx)
    return move_both(ctx, current, [current, previous], lambda: model_rollback.run(ctx), previous)
