"""Step 6, deploy: the model's champion alias moves as in the tabular use case; the prompt's too.

The model alias moves with the shared deploy step (a passed challenger that was
not rolled back). Then the prompt's champion alias is pointed at the
``prompt_version`` tag of the champion model version, so the prompt serving
answers is always the one the champion was built and evaluated with.
"""

from __future__ import annotations

import mlflow

from ...registry import version_by_alias
from ...runtime.context import Context
from ...runtime.tracking import client
from ...steps import deploy as model_deploy


def align_prompt_champion(ctx: Context) -> int | None:
    """Point the prompt's champion alias at the champion model's prompt version; return it.

    Returns None (and moves nothing) when the model has no champion.
    """
    settings = ctx.settings
    champion = version_by_alias(client(), settings.model_name, settings.champion_alias)
    if champion is None:
        return None
    version = int(champion.tags["prompt_version"])
    mlflow.genai.set_prompt_alias(settings.prompt_name, settings.champion_alias, version)
    return version


def run(ctx: Context) -> dict:
    """The shared deploy result plus prompt_champion_version (None without a champion)."""
    result = model_deploy.run(ctx)
    return {**result, "prompt_champion_version": align_prompt_champion(ctx)}
