"""Step 6, deploy: the model's champion alias moves as in the tabular use case; the prompt's too.

Both targets are checked before either alias moves: the candidate (the challenger,
or ``version``) exists and its gate verdict lets it pass (the shared
:func:`...steps.deploy.refusal`), and the prompt version it was built with (tag
``prompt_version``) is in the Prompt Registry. Then the model's champion alias
moves (the shared deploy step), then the prompt's; if the prompt move fails, the
model alias is put back (:mod:`..champion_aliases`), so the prompt serving answers
is always the one the champion was built and evaluated with. A refused candidate
moves no model alias; the prompt's champion is then (re)aligned with the current
champion's prompt version, when that version is still in the Prompt Registry (when it
is not, or the champion has no ``prompt_version`` tag, the prompt's alias stays where it
is: nothing moves, and nothing is missing for a move). A registry error other than
not-found while reading that version (a denied permission, the network) stops deploy, with
no alias moved: it is not taken for a missing version.
"""

from __future__ import annotations

from ...registry import version_by_alias
from ...runtime.context import Context
from ...runtime.tracking import client
from ...steps import deploy as model_deploy
from ..champion_aliases import built_with, checked_prompt_version, move_both
from ..prompts import prompt_by_alias


def _prompt_champion(settings, champion) -> int | None:
    """The version the champion alias of the prompt ``champion`` was built with points at
    (None without a model champion or without that alias)."""
    if champion is None:
        return None
    prompt = prompt_by_alias(built_with(settings, champion), settings.champion_alias)
    return None if prompt is None else int(prompt.version)


def _realigns(settings, champion) -> bool:
    """Whether the prompt's champion alias can follow ``champion`` (a model version or None):
    its prompt version is in the Prompt Registry
    (:func:`..champion_aliases.checked_prompt_version` raises no LookupError; its other
    registry errors propagate)."""
    if champion is None:
        return False
    try:
        checked_prompt_version(settings, champion)
    except LookupError:
        return False
    return True


def run(ctx: Context, version: int | None = None) -> dict:
    """The shared deploy result plus prompt_champion_version (where the prompt's champion
    alias is afterwards; None when it has none).

    Raises LookupError, before any alias moves, when there is no challenger (and no
    ``version``), the version does not exist, or the prompt version of the candidate
    the gate lets pass is missing (:func:`..champion_aliases.checked_prompt_version`).
    A refused candidate needs no prompt version: the prompt's champion alias follows the
    model's champion when it can, else stays. Other registry errors propagate, before any
    alias moves. When the prompt alias cannot be set, the model's champion alias is
    restored and the error re-raised.
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    candidate = model_deploy.candidate_version(registry, settings, version)
    champion = version_by_alias(registry, name, settings.champion_alias)
    refused = model_deploy.refusal(candidate, champion, settings.gate_step)
    if refused is not None and not _realigns(settings, champion):  # nothing moves
        result = model_deploy.run(ctx, int(candidate.version))
        return {**result, "prompt_champion_version": _prompt_champion(settings, champion)}
    target = candidate if refused is None else champion
    touched = [v for v in (candidate, champion) if v is not None]
    return move_both(
        ctx, champion, touched, lambda: model_deploy.run(ctx, int(candidate.version)), target
    )
