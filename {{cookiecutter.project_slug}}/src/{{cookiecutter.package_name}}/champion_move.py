"""Moving the champion alias: what follows it, and putting a failed move back.

deploy and rollback move the champion alias, tag the versions they move between
(:data:`MOVE_TAGS`), then call what follows the alias (:func:`follow_champion`, e.g.
a Databricks serving endpoint). When any of that raises, :func:`moved_together` puts
the alias and those tags back as they were and calls the followers again, so a failed
step (Ctrl-C included) leaves the registry as it found it and a rerun does the same
move again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.entities.model_registry import ModelVersion

from .parts import function, merged
from .registry import (
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_AT_TAG,
    ROLLED_BACK_FROM_TAG,
    ROLLED_BACK_TO_TAG,
    version_by_alias,
)
from .runtime.context import Context
from .runtime.tracking import client

# Set on an exception once a :func:`moved_together` block has put the alias back, so an
# outer block (the rag steps wrap the shared ones) re-raises it without doing it again.
RESTORED = "champion_alias_restored"
# Tags deploy and rollback write on the versions they move between.
MOVE_TAGS = (
    PREVIOUS_CHAMPION_TAG,
    "promoted_at",
    ROLLED_BACK_FROM_TAG,
    ROLLED_BACK_TO_TAG,
    ROLLED_BACK_AT_TAG,
)


def follow_champion(ctx: Context) -> dict:
    """Call what follows the champion alias: {result key: what it did}.

    The followers are the ``CHAMPION_FOLLOWERS`` that optional parts declare (see
    :mod:`.parts`), e.g. a serving endpoint kept on the champion version. deploy and
    rollback call this after they moved the alias (deploy also when it moved nothing,
    so a follower left behind catches up); with no follower it returns {}.
    """
    followers = merged("CHAMPION_FOLLOWERS")
    return {key: function(target)(ctx) for key, target in followers.items()}


def _restore(ctx: Context, champion: ModelVersion | None, before: dict[str, dict]) -> None:
    """Point the champion alias at ``champion`` (delete it for None) and give each version
    of ``before`` ({version: {move tag: value}}) exactly those move tags again."""
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
    """Undo the champion alias move of the block when the block raises.

    ``champion``: the version the champion alias points at before the block (None:
    no champion); ``touched``: the versions whose move tags (:data:`MOVE_TAGS`) the block
    may write. On an exception, Ctrl-C (KeyboardInterrupt) included, the alias and those
    tags are restored, the followers called again (:func:`follow_champion`: e.g. the
    serving endpoint back on the champion), and the exception re-raised, once: blocks
    nested around the same move restore it in the innermost only. When the restore or the
    followers fail too, a note on the exception says which (the exception itself, with its
    cause, stays the first).
    """
    before = {str(v.version): {k: v.tags[k] for k in MOVE_TAGS if k in v.tags} for v in touched}
    try:
        yield
    except (Exception, KeyboardInterrupt) as err:  # Ctrl-C: a rerun must make the same move
        if getattr(err, RESTORED, False):  # an inner block (the shared step) did it already
            raise
        setattr(err, RESTORED, True)
        try:
            _restore(ctx, champion, before)
        except Exception as restore_err:
            err.add_note(f"putting the champion alias back failed too: {restore_err}")
        else:
            try:
                follow_champion(ctx)
            except Exception as follow_err:
                where = f"back on v{champion.version}" if champion else "removed (as before)"
                err.add_note(
                    f"the champion alias is {where}, but what follows it (e.g. the "
                    f"serving endpoint) could not be brought back: {follow_err}"
                )
        raise
