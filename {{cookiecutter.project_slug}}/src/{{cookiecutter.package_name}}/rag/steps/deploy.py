"""Step 6, deploy: the model's champion alias moves as in the tabular use case; the prompt's too.

Both targets are checked before either alias moves: the candidate (the challenger,
or ``version``) exists and its gate verdict lets it pass (the shared
:func:`...steps.deploy.refusal`), and the prompt version it was built with (tag
``prompt_version``) is in the Prompt Registry. Then the model's champion alias
moves (the shared deploy step), then the prompt's; if the prompt move fails, the
model alias is put back (:mod:`..champion_aliases`), so the prompt serving answers
is always the one the champion was built and evaluated with. A refused candidate
moves no model alias; the prompt's champion is then (re)aligned with the current
champion's prompt version.
"""

from __future__ import annotations

from ...registry import version_by_alias
from ...runtime.context import Context
from ...runtime.tracking import client
from ...steps import deploy as model_deploy
from ..champion_aliases import move_both


def run(ctx: Context, version: int | None = None) -> dict:
    """The shared deploy result plus prompt_champion_version (None without a champion).

    Raises LookupError, before any alias moves, when there is no challenger (and no
    ``version``), the version does not exist, or the prompt version of the model
    version to be champion is missing (:func:`..champion_aliases.checked_prompt_version`).
    When the prompt alias cannot be set, the model's champion alias is restored and the
    error re-raised.
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    candidate = model_deploy.candidate_version(registry, settings, version)
    champion = version_by_alias(registry, name, settings.champion_alias)
    refused = model_deploy.refusal(candidate, champion, settings.gate_step)
    target = candidate if refused is None else champion
    if target is None:  # refused, and no champion: nothing moves
        return {**model_deploy.run(ctx, int(candidate.version)), "prompt_champion_version": None}
    touched = [v for v in (candidate, champion) if v is not None]
    return move_both(
        ctx, champion, touched, lambda: model_deploy.run(ctx, int(candidate.version)), target
    )
