"""Settings of the rag use case, read from the same ``conf/config.yml`` as every step.

The file is merged by :func:`..settings_file.load_raw` (``common``, the environment, an
override file); this module reads it into the typed models of
:mod:`.settings_schema` (strict; unknown keys refused), checks the rules between
keys and returns :class:`RagSettings`.
The runtime (Spark, tables, MLflow) reads the same attribute names as for the
tabular use case: ``runtime``, ``local_root``, ``spark_conf``, ``experiment``,
``model_short_name``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..settings_file import (
    LOCAL_ROOT_VAR,
    ConfigError,
    load_raw,
    naming_environment,
    registry_aliases,
)
from ..settings_types import check_parts, distinct_names
from .settings_schema import RagCoreSettings, check_rag_settings


@dataclass(frozen=True)
class RagSettings:
    """Resolved settings of one environment for the rag use case.

    ``tables`` maps table keys to short names (see :meth:`table`). The sections are
    the typed sections of :mod:`.settings_schema` as dicts, defaults filled in.
    ``chunking``: size and overlap in characters. ``embedding``: kind (``hashing``
    locally, ``databricks_endpoint`` with ``endpoint`` and ``vector_search``
    settings on Databricks) and ``n_features``. ``retrieval``: kind, ``k`` and ``min_score``.
    ``generator``: kind (``extractive`` or ``chat_completions``) and endpoint
    settings. ``evaluation``: gates and mode. ``monitoring``: thresholds. ``raw`` is
    the whole merged mapping, for an optional part of the project that reads its own
    keys (online serving reads ``serving``).
    """

    gate_step: ClassVar[str] = "evaluate"  # the step that sets the challenger (messages)
    env: str
    runtime: str
    catalog: str
    schema: str
    tables: dict[str, str]
    model_short_name: str
    prompt_short_name: str
    experiment: str
    source: dict[str, Any]
    chunking: dict[str, int]
    embedding: dict[str, Any]
    retrieval: dict[str, Any]
    generator: dict[str, Any]
    evaluation: dict[str, Any]
    monitoring: dict[str, Any]
    spark_conf: dict[str, str]
    local_root: Path | None
    champion_alias: str
    challenger_alias: str
    raw: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str) -> str:
        """Full name ``<catalog>.<schema>.<table>`` of table ``key``; ConfigError if unknown."""
        if key not in self.tables:
            raise ConfigError(f"tables.{key}: no such table key (known: {', '.join(self.tables)})")
        return f"{self.catalog}.{self.schema}.{self.tables[key]}"

    @property
    def model_name(self) -> str:
        """Registered model name of the QA pipeline, ``<catalog>.<schema>.<model>``."""
        return f"{self.catalog}.{self.schema}.{self.model_short_name}"

    @property
    def prompt_name(self) -> str:
        """Prompt Registry name of the QA prompt, ``<catalog>.<schema>.<prompt>``."""
        return f"{self.catalog}.{self.schema}.{self.prompt_short_name}"


def _cross_key_rules(typed: RagCoreSettings) -> None:
    """The rules between keys the typed models cannot state; ConfigError naming the key."""
    size, overlap = typed.chunking.size, typed.chunking.overlap
    if overlap >= size:
        raise ConfigError(f"chunking.overlap: {overlap!r} must be an integer in [0, size={size})")
    source = typed.source
    if source.kind == "python_stdlib" and not source.modules:
        raise ConfigError("source.modules: list the standard-library modules to read")
    if source.kind == "files" and not source.path:
        raise ConfigError("source.path: a folder or volume path is required for kind files")
    if source.kind == "table" and not source.table:
        raise ConfigError("source.table: a table name is required for kind table")
    embedding = typed.embedding
    if embedding.kind == "hashing" and embedding.n_features is None:
        raise ConfigError("embedding.n_features: required for kind hashing")
    if embedding.kind == "databricks_endpoint":
        if typed.runtime != "databricks":
            raise ConfigError("embedding.kind: databricks_endpoint needs runtime databricks")
        if not embedding.endpoint or embedding.vector_search is None:
            raise ConfigError(
                "embedding.endpoint, embedding.vector_search: required for kind databricks_endpoint"
            )
        # The index is a Unity Catalog object of the same schema as the tables.
        names = {f"tables.{key}": name for key, name in dict(typed.tables).items() if name}
        names["embedding.vector_search.index"] = embedding.vector_search.index
        try:
            distinct_names(names)
        except ValueError as err:
            raise ConfigError(f"embedding.vector_search.index: {err}") from None
    if bool(typed.generator.secret_scope) != bool(typed.generator.secret_key):
        raise ConfigError(
            "generator.secret_scope, generator.secret_key: give both (a Databricks secret) "
            "or neither"
        )
    if typed.generator.kind == "chat_completions":
        for key in ("url", "model"):
            if not getattr(typed.generator, key):
                raise ConfigError(f"generator.{key}: required for kind chat_completions")


def load_rag_settings(
    env: str | None = None, override_file: str | Path | None = None
) -> RagSettings:
    """Settings of one environment, checked (arguments: see :func:`..settings_file.load_raw`).

    The merged mapping is first read into the typed models of :mod:`.settings_schema`
    (a missing, mistyped or unknown key: one ConfigError naming the environment and
    the key path), then the rules between keys are checked, then the rules of the
    optional parts' sections (:func:`..settings_types.check_parts`). Raises ConfigError
    before any step reads or writes anything.
    """
    env, raw = load_raw(env, override_file)
    with naming_environment(env):
        settings = _checked_rag_settings(env, raw)
        check_parts(settings)  # the optional parts' sections (serving)
        return settings


def _checked_rag_settings(env: str, raw: dict) -> RagSettings:
    """:class:`RagSettings` from the merged mapping of environment ``env``, checked.

    Raises ConfigError (the typed models name the environment; :func:`load_rag_settings`
    adds it to the other rules' messages).
    """
    if "api_key" in (raw.get("generator") or {}):
        raise ConfigError(
            "generator.api_key: credentials never go in the config; name an environment "
            "variable in generator.api_key_env or a Databricks secret in secret_scope/secret_key"
        )
    typed = check_rag_settings(raw, env, ConfigError)
    _cross_key_rules(typed)
    local_root = None
    if typed.runtime == "local":
        root = os.environ.get(LOCAL_ROOT_VAR) or typed.local_root or "local_runtime"
        local_root = Path(root).resolve()
    tables = typed.tables.model_dump(exclude_none=True)
    # The pipeline's sections keep only the keys the file sets (readers apply the
    # defaults): build's pipeline_digest hashes them, and a default spelled out by
    # the typed model must not change the digest of an unchanged pipeline.
    pipeline = {
        name: getattr(typed, name).model_dump(exclude_unset=True)
        for name in ("embedding", "retrieval", "generator")
    }
    return RagSettings(
        env=env,
        runtime=typed.runtime,
        catalog=typed.catalog,
        schema=typed.schema_name,
        tables=tables,
        model_short_name=typed.model.name,
        prompt_short_name=typed.model.prompt,
        experiment=typed.model.experiment,
        source=typed.source.model_dump(),
        chunking=typed.chunking.model_dump(),
        **pipeline,
        evaluation=typed.evaluation.model_dump(),
        monitoring=typed.monitoring.model_dump(),
        spark_conf=dict(typed.spark_conf),
        local_root=local_root,
        **registry_aliases(raw),
        raw=raw,
    )
