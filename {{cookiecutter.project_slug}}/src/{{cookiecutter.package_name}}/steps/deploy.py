"""Step 5, deploy: move the champion alias to the version validation passed, compare-and-set.

The version: ``--model-version`` (``run-all`` passes the one validate just
judged; the Databricks job passes the train task's task value ``model_version``,
the same one its validate task judged); without it, the version the challenger
alias points at (the last one validated).

Promotion is alias-based (no stages). The registry has no atomic
compare-and-set, so deploy checks right before it sets the alias: it promotes only
when the version's ``validation_status`` is ``PASSED``, it was not rolled back, and
the champion is still the version validation compared it against (tag
``validation_champion_version``). Otherwise the aliases stay as they are and the
result's ``reason`` says why: a stale or repeated deploy never demotes a champion
promoted since. One training run at a time per target (the job's
``max_concurrent_runs: 1``) keeps the window between check and set uncontended.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..champion_move import follow_champion, moved_together
from ..registry import (
    NONE,
    PASSED,
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_TO_TAG,
    STATUS_TAG,
    VALIDATED_AGAINST_TAG,
    get_version,
    same_version,
    version_by_alias,
)
from ..runtime.context import Context
from ..runtime.tracking import client


def refusal(candidate, champion, gate_step: str) -> str | None:
    """Why ``candidate`` must not replace ``champion`` (ModelVersion or None), or None if it may.

    ``gate_step`` (the settings' ``gate_step``) names the step that sets the challenger
    in the reasons that ask to run it again.
    """
    tags = candidate.tags
    status = tags.get(STATUS_TAG)
    if status != PASSED:
        unset = f"unset (never validated, or its last validation did not finish: {gate_step} again)"
        return f"v{candidate.version} has validation_status {status or unset}"
    if ROLLED_BACK_TO_TAG in tags:
        return (
            f"v{candidate.version} was rolled back (to v{tags[ROLLED_BACK_TO_TAG]}): "
            f"{gate_step} a new version, or move the alias by hand"
        )
    current = str(champion.version) if champion else NONE  # stores differ: int or str
    if champion is not None and same_version(champion.version, candidate.version):
        return f"v{candidate.version} is already the champion"
    validated_against = tags.get(VALIDATED_AGAINST_TAG)
    if validated_against != current:
        against = "no champion" if validated_against == NONE else f"v{validated_against}"
        now = "there is no champion" if current == NONE else f"the champion is v{current}"
        return (
            f"v{candidate.version} was validated against {against}, but {now}: "
            f"the champion changed since validation; {gate_step} again"
        )
    return None


def candidate_version(registry, settings, version: int | None = None):
    """The ModelVersion deploy acts on: ``version``, else the one the challenger alias names.

    Raises LookupError when the version does not exist, or, without ``version``, when
    no challenger exists (run ``settings.gate_step`` first).
    """
    name = settings.model_name
    if version is not None:
        return get_version(registry, name, version)
    candidate = version_by_alias(registry, name, settings.challenger_alias)
    if candidate is None:
        raise LookupError(
            f"model {name} has no '{settings.challenger_alias}' alias: "
            f"run the {settings.gate_step} step first"
        )
    return candidate


def run(ctx: Context, version: int | None = None) -> dict:
    """Promote model ``version`` (default: the challenger) when validation let it pass.

    The old champion's number (or ``none``) is kept as the tag ``previous_champion``
    on the new one, which is what the rollback step returns to.

    Returns promoted (bool), challenger_version (the version acted on),
    challenger_status (its ``validation_status``), validated_against (its
    ``validation_champion_version``), champion_version afterwards (None when there
    is none), reason (why nothing was promoted; None when promoted), and one entry per
    champion follower (:func:`follow_champion`).
    Raises LookupError when the version does not exist, or, without ``version``, when
    no challenger exists (run the validate step first). Other registry errors propagate.
    When the promotion or a follower fails, the alias and the tags are put back first
    (:func:`..champion_move.moved_together`), so a rerun makes the same move.
    """
    ctx.mlflow()
    registry = client()
    settings = ctx.settings
    name = settings.model_name
    candidate = candidate_version(registry, settings, version)
    champion = version_by_alias(registry, name, settings.champion_alias)
    reason = refusal(candidate, champion, settings.gate_step)
    if reason is not None:
        followers = follow_champion(ctx)
    else:
        with moved_together(ctx, champion, [candidate]):
            previous = str(champion.version) if champion else NONE
            registry.set_model_version_tag(name, candidate.version, PREVIOUS_CHAMPION_TAG, previous)
            registry.set_model_version_tag(
                name, candidate.version, "promoted_at", datetime.now(UTC).isoformat()
            )
            registry.set_registered_model_alias(name, settings.champion_alias, candidate.version)
            followers = follow_champion(ctx)
        champion = candidate
    return {
        "promoted": reason is None,
        "challenger_version": int(candidate.version),
        "challenger_status": candidate.tags.get(STATUS_TAG),
        "validated_against": candidate.tags.get(VALIDATED_AGAINST_TAG),
        "champion_version": int(champion.version) if champion else None,
        "reason": reason,
        **followers,
    }
