"""Model registry by aliases (no stages): a challenger (validated candidate) and a champion.

The alias names come from ``registry`` in the config (``Settings.champion_alias``,
``Settings.challenger_alias``); the constants below are their defaults.
"""

from __future__ import annotations

import logging

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)

from .runtime import tracking

CHALLENGER = "challenger"
CHAMPION = "champion"
VERDICT_PREFIX = "validation_"  # every tag of a validation verdict on a model version
STATUS_TAG = "validation_status"  # written last: set only on a version holding a whole verdict
VALIDATED_AGAINST_TAG = "validation_champion_version"  # the champion when validated, or "none"
PASSED, FAILED = "PASSED", "FAILED"
NONE = "none"
PREVIOUS_CHAMPION_TAG = "previous_champion"
ROLLED_BACK_FROM_TAG = "rolled_back_from"
ROLLED_BACK_TO_TAG = "rolled_back_to"
ROLLED_BACK_AT_TAG = "rolled_back_at"
_DOES_NOT_EXIST = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)
_INVALID_PARAMETER = ErrorCode.Name(INVALID_PARAMETER_VALUE)


def does_not_exist(err: MlflowException) -> bool:
    """Whether ``err`` says that the registered model or model version asked for does not
    exist: RESOURCE_DOES_NOT_EXIST. Every other error (permissions, network, a bad
    request) is not "missing". A prompt version is read with ``load_prompt``'s
    ``allow_missing`` instead: Unity Catalog's store answers None for a missing one."""
    return err.error_code == _DOES_NOT_EXIST


def alias_missing(err: MlflowException, alias: str) -> bool:
    """Whether ``err`` says that ``alias`` (or the whole model) does not exist.

    Unity Catalog, and every store for a model that does not exist, answer
    RESOURCE_DOES_NOT_EXIST; MLflow's own stores (SQLite, files, tracking server)
    answer INVALID_PARAMETER_VALUE "Registered model alias <alias> not found." (for a
    prompt: "Prompt alias <alias> not found."; the rag use case reads prompts by this rule)
    Every other error (permissions, network, a bad request) is not "missing".
    """
    if does_not_exist(err):
        return True
    return err.error_code == _INVALID_PARAMETER and f"alias {alias} not found" in err.message


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version of model ``name`` that ``alias`` points at, or None when it points nowhere.

    Only "alias (or model) not found" means None (see :func:`alias_missing`); any
    other registry error is raised as it came, so a step never mistakes a
    permission or network failure for "no champion".
    """
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as err:
        if alias_missing(err, alias):
            return None
        raise


def get_version(client: MlflowClient, name: str, version: str | int) -> ModelVersion:
    """Version ``version`` of model ``name``.

    Raises LookupError when it does not exist; other registry errors propagate.
    """
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as err:
        if does_not_exist(err):
            raise LookupError(f"model {name} has no version {version}") from err
        raise


def latest_version(client: MlflowClient, name: str, *, registered_by: str) -> ModelVersion:
    """The highest-numbered version of model ``name``.

    ``registered_by`` names the step of the caller's use case that registers versions
    (the train step; a rag project's build), as ``Tables.read``'s ``written_by`` does.
    Raises LookupError "model <name> has no registered version: run <registered_by>
    first" when the model has no version; other registry errors propagate.
    """
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        raise LookupError(f"model {name} has no registered version: run {registered_by} first")
    return max(versions, key=lambda v: int(v.version))


def write_verdict(client: MlflowClient, name: str, version: str | int, tags: dict[str, str]):
    """Make the ``validation_*`` tags of version ``version`` of model ``name`` exactly ``tags``.

    ``tags``: tag name (each starting with :data:`VERDICT_PREFIX`, :data:`STATUS_TAG` among
    them) to its string value. MLflow sets a model version's tags one call at a time, so
    they are written in an order that never shows a reader two verdicts mixed: the old
    :data:`STATUS_TAG` is deleted first, then every other ``validation_*`` tag that ``tags``
    lacks (a gate or figure of an earlier verdict), then ``tags`` are set, status last.
    A version with a status holds one whole verdict; when writing fails midway it has no
    status (deploy refuses it, :func:`verdict_tags` gives nothing) until validate runs again.
    Raises ValueError naming a key outside the prefix, or when STATUS_TAG is missing,
    before anything is written; registry errors propagate.
    """
    stray = sorted(k for k in tags if not k.startswith(VERDICT_PREFIX))
    if stray or STATUS_TAG not in tags:
        raise ValueError(
            f"verdict tags: must all start with {VERDICT_PREFIX!r} and include {STATUS_TAG!r}, "
            f"got {sorted(tags)}"
        )
    before = client.get_model_version(name, str(version)).tags
    if STATUS_TAG in before:  # first: from here on the version shows no verdict
        client.delete_model_version_tag(name, str(version), STATUS_TAG)
    for key in before:
        if key.startswith(VERDICT_PREFIX) and key not in tags:
            client.delete_model_version_tag(name, str(version), key)
    for key, value in tags.items():
        if key != STATUS_TAG:
            client.set_model_version_tag(name, str(version), key, value)
    client.set_model_version_tag(name, str(version), STATUS_TAG, tags[STATUS_TAG])


def verdict_tags(version: ModelVersion) -> dict[str, str]:
    """The ``validation_*`` tags of ``version``; {} when it has no :data:`STATUS_TAG`.

    Without a status the version was never validated, or its last validation stopped while
    writing its verdict (:func:`write_verdict`): what tags it has may belong to two verdicts.
    """
    tags = version.tags
    if STATUS_TAG not in tags:
        return {}
    return {k: v for k, v in tags.items() if k.startswith(VERDICT_PREFIX)}


def same_version(first: str | int, second: str | int) -> bool:
    """Whether two model version numbers name the same version. Compared as text: stores
    differ (one answers ``3``, another ``"3"``), and a tag holds a version as text."""
    return str(first) == str(second)


def is_version_number(text: str) -> bool:
    """Whether ``text`` (a tag's value) is a version number: a positive integer written in
    ASCII digits only (``²`` and ``١`` are digits to :meth:`str.isdigit`, not to MLflow)."""
    return text.isascii() and text.isdigit() and int(text) >= 1


def model_uri(name: str, version: str | int) -> str:
    """``models:/<name>/<version>``."""
    return f"models:/{name}/{version}"


def current_champion(ctx) -> int | None:
    """The version number the champion alias of ``ctx.settings.model_name`` points at, or
    None when there is no champion (no such alias, or no such model).

    ``ctx`` is a runtime Context (either use case); MLflow is pointed at its registry.
    Other registry errors are raised (:func:`version_by_alias`).
    """
    ctx.mlflow()
    champion = version_by_alias(
        tracking.client(), ctx.settings.model_name, ctx.settings.champion_alias
    )
    return None if champion is None else int(champion.version)


def champion_after_run(ctx, results: dict[str, dict]) -> int | None:
    """The champion version at the end of a ``run-all`` whose step results are ``results``
    ({step: its result}): what deploy's result says (``champion_version``) when deploy
    ran, else :func:`current_champion`, since a candidate rejected before deploy leaves
    the champion where it was. None when there is no champion, and when the registry
    cannot be read then (a warning names the error): the summary of steps that ran does
    not fail on it."""
    if "deploy" in results:
        return results["deploy"].get("champion_version")
    try:
        return current_champion(ctx)
    except MlflowException as err:
        logging.getLogger(__name__).warning("summary: champion version not read: %s", err)
        return None


def champion_version(ctx) -> int:
    """The version number the champion alias of ``ctx.settings.model_name`` points at.

    ``ctx`` is a runtime Context (either use case); MLflow is pointed at its registry.
    Resolved once per call, so a caller serves or scores one fixed version. Raises
    LookupError when no champion exists.
    """
    version = current_champion(ctx)
    if version is None:
        name, alias = ctx.settings.model_name, ctx.settings.champion_alias
        raise LookupError(f"model {name} has no '{alias}' alias: run deploy first")
    return version
