"""Rollback (run by hand, not part of run-all): return the champion alias to the previous champion.

deploy tags every promoted version with ``previous_champion`` (a version number,
or ``none`` for the first champion). Rollback moves the champion alias to that
version and records the move on both versions: ``rolled_back_from`` and
``rolled_back_at`` on the restored one, ``rolled_back_to`` and ``rolled_back_at``
on the one taken out of service. deploy does not promote a rolled-back version
again. Repeated rollbacks walk further back along the ``previous_champion`` chain.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion

from ..champion_move import follow_champion, moved_together
from ..registry import (
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_AT_TAG,
    ROLLED_BACK_FROM_TAG,
    ROLLED_BACK_TO_TAG,
    get_version,
    is_version_number,
    version_by_alias,
)
from ..runtime.context import Context
from ..runtime.tracking import client


def previous_champion(name: str, alias: str, current: ModelVersion) -> str:
    """The version number (digits) that the ``previous_champion`` tag of ``current``, the
    version ``alias`` of model ``name`` points at, names.

    Raises LookupError when the tag is missing, ``none`` or empty (nothing to roll back
    to); ValueError naming the tag, the version and the rule when it is anything else but
    a positive integer (edited by hand, e.g. ``v3``), or names ``current`` itself (deploy
    never writes that: the move would go nowhere and mark the champion rolled back).
    """
    previous = current.tags.get(PREVIOUS_CHAMPION_TAG, "none")
    if previous in ("", "none"):
        raise LookupError(
            f"model {name} v{current.version} ('{alias}') has no {PREVIOUS_CHAMPION_TAG}: "
            "nothing to roll back to"
        )
    if not is_version_number(previous):
        raise ValueError(
            f"model {name} v{current.version}: tag {PREVIOUS_CHAMPION_TAG} is {previous!r}, "
            "must be a version number (a positive integer) or 'none'; nothing was rolled back"
        )
    if int(previous) == int(current.version):
        raise ValueError(
            f"model {name} v{current.version}: tag {PREVIOUS_CHAMPION_TAG} is {previous!r}, "
            "the champion itself; nothing was rolled back"
        )
    return previous


def run(ctx: Context) -> dict:
    """Move the champion alias back to the version named by the champion's ``previous_champion``.

    Returns rolled_back_from (the former champion's version, int), champion_version
    (the restored version, int), rolled_back_at (ISO timestamp, UTC), and one entry per
    champion follower (:func:`..champion_move.follow_champion`).
    Raises LookupError when the model has no champion, when the champion has no
    previous champion to return to (first champion, or promoted by hand), or when
    that version no longer exists; ValueError, before anything is changed, when the
    tag is neither ``none`` nor a positive integer (edited by hand, e.g. ``v3``), or
    names the champion itself.
    Other registry errors propagate. When the move or a
    follower fails, the alias and the tags are put back first
    (:func:`..champion_move.moved_together`), so a rerun makes the same move.
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    alias = settings.champion_alias
    current = version_by_alias(registry, name, alias)
    if current is None:
        raise LookupError(f"model {name} has no '{alias}' alias: nothing to roll back")
    previous = previous_champion(name, alias, current)
    try:
        restored = get_version(registry, name, previous)
    except LookupError as err:
        raise LookupError(
            f"model {name}: {PREVIOUS_CHAMPION_TAG} v{previous} of v{current.version} "
            "does not exist any more"
        ) from err
    stamp = datetime.now(UTC).isoformat()
    with moved_together(ctx, current, [restored, current]):
        registry.set_model_version_tag(name, previous, ROLLED_BACK_FROM_TAG, current.version)
        registry.set_model_version_tag(name, previous, ROLLED_BACK_AT_TAG, stamp)
        registry.set_model_version_tag(name, current.version, ROLLED_BACK_TO_TAG, previous)
        registry.set_model_version_tag(name, current.version, ROLLED_BACK_AT_TAG, stamp)
        registry.set_registered_model_alias(name, alias, previous)
        followers = follow_champion(ctx)
    return {
        "rolled_back_from": int(current.version),
        "champion_version": int(previous),
        "rolled_back_at": stamp,
        **followers,
    }
