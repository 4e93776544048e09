"""Step 5, deploy: move the champion alias to the challenger when validation let it pass.

Promotion is alias-based (no stages): the champion alias of
``registry.champion_alias`` moves to the version the challenger alias points at.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..registry import (
    PASSED,
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_TO_TAG,
    STATUS_TAG,
    version_by_alias,
)
from ..runtime.context import Context
from ..runtime.tracking import client
{%- if cookiecutter.include_online_serving %}
from ..serving.endpoint import sync as sync_serving_endpoint
{%- endif %}


def run(ctx: Context) -> dict:
    """Promote the challenger when its ``validation_status`` tag is ``PASSED``.

    A version that was rolled back (tag ``rolled_back_to``) is not promoted again
    by deploy: validate a new version, or move the alias by hand. The old
    champion's number (or ``none``) is kept as the tag ``previous_champion`` on the
    new one, which is what the rollback step returns to.

    Returns promoted (bool), challenger_version, challenger_status and the
    champion_version afterwards (None when there is none).
    Raises LookupError when no challenger exists (run the validate step first).
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    challenger = version_by_alias(registry, name, settings.challenger_alias)
    if challenger is None:
        raise LookupError(
            f"model {name} has no '{settings.challenger_alias}' alias: run the validate step first"
        )
    champion = version_by_alias(registry, name, settings.champion_alias)
    passed = challenger.tags.get(STATUS_TAG) == PASSED
    rolled_back = ROLLED_BACK_TO_TAG in challenger.tags
    promoted = (
        passed and not rolled_back and (champion is None or champion.version != challenger.version)
    )
    if promoted:
        previous = champion.version if champion else "none"
        registry.set_model_version_tag(name, challenger.version, PREVIOUS_CHAMPION_TAG, previous)
        registry.set_model_version_tag(
            name, challenger.version, "promoted_at", datetime.now(UTC).isoformat()
        )
        registry.set_registered_model_alias(name, settings.champion_alias, challenger.version)
        champion = registry.get_model_version(name, challenger.version)
    return {
        "promoted": promoted,
        "challenger_version": int(challenger.version),
        "challenger_status": challenger.tags.get(STATUS_TAG),
        "champion_version": int(champion.version) if champion else None,
{%- if cookiecutter.include_online_serving %}
        "serving_endpoint": sync_serving_endpoint(ctx),
{%- endif %}
    }
