"""Rollback (by hand): the champion alias goes back as in the tabular use case; the prompt's too."""

from __future__ import annotations

from ...runtime.context import Context
from ...steps import rollback as model_rollback
from .deploy import align_prompt_champion


def run(ctx: Context) -> dict:
    """The shared rollback result plus prompt_champion_version (the restored model's prompt)."""
    result = model_rollback.run(ctx)
    return {**result, "prompt_champion_version": align_prompt_champion(ctx)}
