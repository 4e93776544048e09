"""Step 5, deploy: move the ``champion`` alias to the challenger if it passed validation."""

from __future__ import annotations

from datetime import UTC, datetime

from ..registry import CHALLENGER, CHAMPION, PASSED, STATUS_TAG, version_by_alias
from ..runtime.context import Context
from ..runtime.tracking import client


def run(ctx: Context) -> dict:
    """Promote the challenger when its ``validation_status`` tag is ``PASSED``.

    Returns whether it was promoted and the champion version afterwards. The old
    champion's number is kept as the tag ``previous_champion`` on the new one.
    Raises LookupError when no challenger exists (run the validate step first).
    """
    ctx.mlflow()
    registry = client()
    name = ctx.settings.model_name
    challenger = version_by_alias(registry, name, CHALLENGER)
    if challenger is None:
        raise LookupError(f"model {name} has no '{CHALLENGER}' alias: run the validate step first")
    champion = version_by_alias(registry, name, CHAMPION)
    passed = challenger.tags.get(STATUS_TAG) == PASSED
    promoted = passed and (champion is None or champion.version != challenger.version)
    if promoted:
        previous = champion.version if champion else "none"
        registry.set_model_version_tag(name, challenger.version, "previous_champion", previous)
        registry.set_model_version_tag(
            name, challenger.version, "promoted_at", datetime.now(UTC).isoformat()
        )
        registry.set_registered_model_alias(name, CHAMPION, challenger.version)
        champion = registry.get_model_version(name, challenger.version)
    return {
        "promoted": promoted,
        "challenger_version": int(challenger.version),
        "challenger_status": challenger.tags.get(STATUS_TAG),
        "champion_version": int(champion.version) if champion else None,
    }
