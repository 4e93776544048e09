"""Rollback (by hand): the champion alias goes back as in the tabular use case; the prompt's too.

The version to return to (the champion's ``previous_champion``) and its prompt
version are checked before either alias moves; if the prompt move fails, the
model's champion alias is put back (:mod:`..champion_aliases`).
"""

from __future__ import annotations

from ...registry import get_version, version_by_alias
from ...runtime.context import Context
from ...runtime.tracking import client
from ...steps import rollback as model_rollback
from ..champion_aliases import move_both


def run(ctx: Context) -> dict:
    """The shared rollback result plus prompt_champion_version (the restored model's prompt).

    Raises LookupError, before any alias moves, when there is nothing to roll back to
    (the shared step's messages) or the restored version's prompt version is missing
    (:func:`..champion_aliases.checked_prompt_version`); ValueError when the champion's
    ``previous_champion`` is not a version number
    (:func:`...steps.rollback.previous_champion`). When the prompt alias cannot be set,
    the model's champion alias is restored and the error re-raised.
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    alias = settings.champion_alias
    current = version_by_alias(registry, name, alias)
    try:  # a tag that is not a version number raises its ValueError here, moving nothing
        number = model_rollback.previous_champion(name, alias, current) if current else None
        previous = get_version(registry, name, number) if number else None
    except LookupError:
        previous = None
    if previous is None:  # the shared step raises its LookupError, moving nothing
        return model_rollback.run(ctx)
    return move_both(ctx, current, [current, previous], lambda: model_rollback.run(ctx), previous)
